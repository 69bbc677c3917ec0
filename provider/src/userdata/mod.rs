//! Generates the user-data an app instance boots with: a bash script that
//! installs Docker from the image's own packages, writes the release's
//! files, a run script that starts the app and its sidecars with the Docker
//! engine itself (no Compose plugin: Amazon Linux 2023 and Debian 12 ship
//! none), systemd units (start on boot) and berth's instance agent.
//!
//! Guarantees:
//! - The instance needs bash, python3 (every supported image has it:
//!   cloud-init is written in Python) and Docker, which the script installs
//!   when missing (`dnf install docker` on Amazon Linux, `apt-get install
//!   docker.io` on Debian and Ubuntu). No AWS CLI, curl or jq: the agent
//!   (`agent.py`, standard library only) signs its own AWS calls.
//! - Secret values never appear: only their references (SSM parameter
//!   names, Secrets Manager ARNs), in `/etc/berth/<app>/secrets.json`. The
//!   agent fetches them at every start into `/run/berth/<app>/secrets.env`
//!   (tmpfs, root only, mode 0600) and never prints them.
//! - Private registries: the logins in `/etc/berth/<app>/registries.json`
//!   (a password by reference, or Amazon ECR through the instance profile)
//!   are made by the agent at every start of the app, before any pull,
//!   into a Docker client config on tmpfs (`/run/berth/<app>/docker`), the
//!   password on the login's standard input; an ECR token (12 h) is
//!   therefore fresh after every restart and reboot. A pull the registry
//!   refuses is reported as `pull <image> denied: <registry's answer>`.
//! - Every file is written with a quoted heredoc whose delimiter does not
//!   occur in the content, so nothing is expanded by the shell; values on
//!   `docker run` lines are single-quoted, so `$` stays `$`.
//! - A bootstrap that cannot finish says so where the health gate reads it:
//!   the instance tags itself `berth:health = unhealthy: bootstrap: <what
//!   failed>` (package install, Docker start, secret not readable, image
//!   pull, container start), and the agent keeps reporting it.
//! - With a log group, every container (the release command's too) logs
//!   through Docker's `awslogs` driver to the stream
//!   `<instance id>/<container>`, and the bootstrap's own log goes to
//!   `<instance id>/bootstrap` once it ends (done or failed); without one,
//!   to rotated local files (`json-file`, 5 × 10 MB).
//! - Containers run with restart policy `always`; the app unit is enabled,
//!   so the app serves again after a crash and after a reboot.
//! - The output is deterministic: the same spec gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

pub mod compact;

/// berth's instance agent (Python 3, standard library only).
pub const AGENT: &str = include_str!("agent.py");

/// Where the agent lives on an instance.
const AGENT_PATH: &str = "/usr/local/libexec/berth/agent";

/// The agent as a module the scripts beside it import (`berth_agent`): a
/// link to [`AGENT_PATH`].
const AGENT_MODULE_PATH: &str = "/usr/local/libexec/berth/berth_agent.py";

/// The release command gate (Python 3, beside the agent, whose calls it
/// uses); written only for an app with a release command.
pub const RELEASE_GATE: &str = include_str!("release.py");

/// The agent as instances get it (see [`compact`]).
pub fn shipped_agent() -> String {
    compact::python(AGENT)
}

/// The release command gate as instances get it.
pub fn shipped_release_gate() -> String {
    compact::python(RELEASE_GATE)
}

/// berth's telemetry (Python 3, beside the agent): ships the bootstrap's
/// log; written only for an app with a log group.
pub const TELEMETRY: &str = include_str!("telemetry.py");

/// Where the telemetry script lives on an instance.
const TELEMETRY_PATH: &str = "/usr/local/libexec/berth/telemetry";

/// The telemetry script as instances get it.
pub fn shipped_telemetry() -> String {
    compact::python(TELEMETRY)
}

/// Where the release command gate lives on an instance.
const RELEASE_GATE_PATH: &str = "/usr/local/libexec/berth/release";

/// Where a secret's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// An SSM parameter (SecureString or String), by name or ARN.
    Ssm(String),
    /// A Secrets Manager secret, by ARN or name (its string value).
    SecretsManager(String),
}

/// How an instance logs in to a registry before it pulls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryLogin {
    /// A user and a password held as a secret reference.
    Password {
        /// Registry host (`registry.example.com`, `docker.io`).
        server: String,
        /// The user.
        username: String,
        /// Where the password comes from.
        password: SecretSource,
    },
    /// Amazon ECR, with the token `ecr:GetAuthorizationToken` gives the
    /// instance profile.
    Ecr {
        /// `<account>.dkr.ecr.<region>.amazonaws.com`.
        server: String,
        /// The registry's account id.
        registry_id: String,
        /// The registry's region.
        region: String,
    },
}

/// Where the containers' output goes: a CloudWatch Logs group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logs {
    /// The log group (it exists: the provider makes it).
    pub group: String,
    /// Its region (the app's).
    pub region: String,
}

/// A container besides the app (e.g. an nginx front).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sidecar {
    /// Its name: the other containers reach it by this name.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Command override (empty: the image's default).
    pub command: Vec<String>,
    /// `host:container` port mappings.
    pub ports: Vec<(u16, u16)>,
    /// Files to write on the host and mount read-only: container path → content.
    pub files: BTreeMap<String, String>,
    /// Memory limit in MiB (0: none).
    pub memory_mib: u32,
    /// Plain environment variables of this container.
    pub env: BTreeMap<String, String>,
}

/// The health check the instance runs on itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// HTTP path, e.g. `/up`.
    pub path: String,
    /// Host port to check.
    pub port: u16,
    /// Seconds between checks.
    pub interval_secs: u32,
    /// Seconds before one check times out.
    pub timeout_secs: u32,
    /// Seconds after its containers start during which a failing answer
    /// of a release that never answered healthy reports `starting:` (an
    /// app still booting behind its front), not `unhealthy:`.
    pub start_period_secs: u32,
}

/// A command run once per release, before the release takes traffic
/// (migrations): in a container of the release's image with the app's
/// environment and secrets, on the one new instance that wins the
/// release's marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseCommand {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// Seconds it may run before it counts as failed.
    pub timeout_secs: u32,
    /// The SSM parameter that elects the instance running it and records
    /// its verdict (`/berth/<app>/release/<release>-<fingerprint hex>`).
    pub marker: String,
}

/// Everything one release of an app needs on an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSpec {
    /// App name (lowercase letters, digits, hyphens).
    pub app: String,
    /// Release number.
    pub release: u64,
    /// AWS region (the agent reads the instance's own from its metadata).
    pub region: String,
    /// The app's image.
    pub image: String,
    /// Command override (empty: the image's default).
    pub command: Vec<String>,
    /// Port the app listens on inside its container.
    pub container_port: u16,
    /// Port published on the instance.
    pub host_port: u16,
    /// Plain environment variables.
    pub env: BTreeMap<String, String>,
    /// Secret environment variables by reference.
    pub secrets: BTreeMap<String, SecretSource>,
    /// Memory limit of the app container in MiB (0: none).
    pub memory_mib: u32,
    /// Extra containers.
    pub sidecars: Vec<Sidecar>,
    /// The local health check.
    pub health: HealthCheck,
    /// Run once per release before it takes traffic, if set.
    pub release_command: Option<ReleaseCommand>,
    /// Registry logins made before the images are pulled.
    pub registry_logins: Vec<RegistryLogin>,
    /// The log group the containers write to, if any.
    pub logs: Option<Logs>,
    /// Seconds between two publications of the app's metrics, if it
    /// publishes them.
    pub metrics_interval: Option<u32>,
}

/// Seconds a container gets to stop before it is killed.
const STOP_GRACE_SECS: u32 = 30;

/// The Docker container name of `container` (`app` or a sidecar) of `app`.
pub fn container_name(app: &str, container: &str) -> String {
    format!("berth-{app}-{container}")
}

/// The release manifest (`/etc/berth/<app>/release.json`): what runs, for
/// the agent (containers to watch, the health check) and for people and
/// tools on the instance. References only, never a secret value.
pub fn manifest(spec: &AppSpec) -> String {
    let mut containers = vec![json!({
        "name": "app",
        "container": container_name(&spec.app, "app"),
        "image": spec.image,
    })];
    for s in &spec.sidecars {
        containers.push(json!({
            "name": s.name,
            "container": container_name(&spec.app, &s.name),
            "image": s.image,
        }));
    }
    let mut doc = json!({
        "app": spec.app,
        "release": spec.release,
        "image": spec.image,
        "containers": containers,
        "health": {
            "path": spec.health.path,
            "port": spec.health.port,
            "interval": spec.health.interval_secs.max(1),
            "timeout": spec.health.timeout_secs.max(1),
            "start_period": spec.health.start_period_secs,
        },
    });
    if let Some(rc) = &spec.release_command {
        doc["release_command"] = json!({
            "command": rc.command,
            "timeout": rc.timeout_secs.max(1),
            "marker": rc.marker,
        });
    }
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// The secret references (`/etc/berth/<app>/secrets.json`) the agent reads.
fn secrets_file(spec: &AppSpec) -> String {
    let refs: serde_json::Map<String, serde_json::Value> = spec
        .secrets
        .iter()
        .map(|(k, src)| {
            let r = match src {
                SecretSource::Ssm(p) => json!({ "ssm": p }),
                SecretSource::SecretsManager(id) => json!({ "secretsmanager": id }),
            };
            (k.clone(), r)
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&refs).unwrap_or_default();
    text.push('\n');
    text
}

/// The registry logins (`/etc/berth/<app>/registries.json`) the agent
/// makes: references only, never a password.
fn registries_file(spec: &AppSpec) -> String {
    let logins: Vec<serde_json::Value> = spec
        .registry_logins
        .iter()
        .map(|l| match l {
            RegistryLogin::Password {
                server,
                username,
                password,
            } => json!({
                "server": server,
                "username": username,
                "password": match password {
                    SecretSource::Ssm(p) => json!({ "ssm": p }),
                    SecretSource::SecretsManager(id) => json!({ "secretsmanager": id }),
                },
            }),
            RegistryLogin::Ecr {
                server,
                registry_id,
                region,
            } => json!({
                "server": server,
                "ecr": { "registry_id": registry_id, "region": region },
            }),
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&logins).unwrap_or_default();
    text.push('\n');
    text
}

fn run_dir(app: &str) -> String {
    format!("/run/berth/{app}")
}

fn sidecar_file_path(app: &str, sidecar: &str, i: usize) -> String {
    format!("/etc/berth/{app}/files/{sidecar}-{i}")
}

/// Single-quotes `s` for bash.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Writes `content` to `path` with mode `mode` through a quoted heredoc.
fn write_file(out: &mut String, path: &str, mode: &str, content: &str) {
    let mut delim = "BERTH_EOF".to_string();
    let mut n = 0;
    while content.lines().any(|l| l == delim) {
        n += 1;
        delim = format!("BERTH_EOF_{n}");
    }
    let body = if content.ends_with('\n') {
        content.to_string()
    } else {
        format!("{content}\n")
    };
    let _ = writeln!(out, "install -d -m 0755 {}", sh_quote(parent(path)));
    let _ = writeln!(out, "cat > {} <<'{delim}'", sh_quote(path));
    out.push_str(&body);
    let _ = writeln!(out, "{delim}");
    let _ = writeln!(out, "chmod {mode} {}", sh_quote(path));
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/')
        .map_or("/", |(p, _)| if p.is_empty() { "/" } else { p })
}

/// One `start NAME ARGS…` line of the run script: the `docker run` options
/// of one container, its image and command, each word single-quoted.
fn start_line(name: &str, args: &[String], image: &str, command: &[String]) -> String {
    let mut words = vec![sh_quote(name)];
    words.extend(args.iter().map(|a| sh_quote(a)));
    words.push(sh_quote(image));
    words.extend(command.iter().map(|c| sh_quote(c)));
    format!("start {}\n", words.join(" "))
}

/// The options every container of the release gets.
fn common_args(spec: &AppSpec, name: &str, memory_mib: u32) -> Vec<String> {
    let mut a = vec![
        format!("--network=berth-{}", spec.app),
        format!("--network-alias={name}"),
        "--restart=always".to_string(),
        format!("--stop-timeout={STOP_GRACE_SECS}"),
        format!("--label=berth.app={}", spec.app),
        format!("--label=berth.release={}", spec.release),
        format!("--label=berth.container={name}"),
    ];
    if spec.logs.is_none() {
        // With a log group, `start` adds the awslogs options.
        a.extend(
            [
                "--log-driver=json-file",
                "--log-opt=max-size=10m",
                "--log-opt=max-file=5",
            ]
            .map(String::from),
        );
    }
    if memory_mib > 0 {
        a.push(format!("--memory={memory_mib}m"));
    }
    a
}

/// The run script (`/usr/local/libexec/berth/<app>-run up|down`).
fn run_script(spec: &AppSpec) -> String {
    let app = &spec.app;
    let run = run_dir(app);
    let mut names: Vec<String> = vec![container_name(app, "app")];
    names.extend(spec.sidecars.iter().map(|s| container_name(app, &s.name)));
    // Stopped in reverse order: the sidecars in front of the app go first.
    let stop_order = names
        .iter()
        .rev()
        .map(|n| sh_quote(n))
        .collect::<Vec<_>>()
        .join(" ");
    let mut s = format!(
        r#"#!/bin/bash
# Runs app {app}, release {release}, with this instance's Docker engine: one
# network, the app, then its sidecars. Generated by berth; do not edit.
#   {app}-run up     (re)creates the containers, pulling images not yet here
#   {app}-run down   stops them ({grace} s grace) and removes them
set -euo pipefail
run={run_q}
fail() {{ install -d -m 0700 "$run"; printf '%s
' "$*" > "$run/failure"; echo "berth: $*" >&2; exit 1; }}
{docker_config}pull() {{
  docker image inspect "$1" >/dev/null 2>&1 && return 0
  local out='' try
  for try in 1 2 3; do
    echo "berth: pulling $1"
    out=$(docker pull "$1" 2>&1) && return 0
    sleep $((try * 2))
  done
  out=$(tail -n 1 <<<"$out")
  out=${{out#Error response from daemon: }}
  if grep -qiE 'denied|unauthorized|authentication required|no basic auth credentials' <<<"$out"; then
    fail "pull $1 denied: $out"
  fi
  fail "pull $1: $out"
}}
{log_env}start() {{
  local name=$1 out
  shift
  echo "berth: starting container $name"
  out=$(docker run --detach --name "berth-{app}-$name" {log_opts}"$@" 2>&1) || fail "start container $name: $(tail -n 1 <<<"$out")"
}}
down() {{
  docker stop --time {grace} {stop_order} >/dev/null 2>&1 || true
  docker rm --force {stop_order} >/dev/null 2>&1 || true
}}
{release_fn}case ${{1:-}} in
up) ;;
down) down; exit 0 ;;
{release_cases}*) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
rm -f "$run/failure"
"#,
        release = spec.release,
        grace = STOP_GRACE_SECS,
        run_q = sh_quote(&run),
        docker_config = if spec.registry_logins.is_empty() {
            ""
        } else {
            "# The registry logins the agent made at this start (tmpfs).\nexport DOCKER_CONFIG=\"$run/docker\"\n"
        },
        log_env = if spec.logs.is_some() {
            "# Each container logs to the stream <instance id>/<container>.\n. \"$run/instance.env\"\n"
        } else {
            ""
        },
        log_opts = log_options(spec, "$name"),
        release_fn = release_function(spec),
        release_cases = if spec.release_command.is_some() {
            format!(
                "release-run) release_run ;;\nrelease-kill) docker kill {} >/dev/null 2>&1 || true; exit 0 ;;\n",
                sh_quote(&container_name(app, "release"))
            )
        } else {
            String::new()
        },
    );
    let mut images: Vec<&str> = vec![spec.image.as_str()];
    for sc in &spec.sidecars {
        if !images.contains(&sc.image.as_str()) {
            images.push(&sc.image);
        }
    }
    for image in images {
        let _ = writeln!(s, "pull {}", sh_quote(image));
    }
    let net = sh_quote(&format!("berth-{app}"));
    let _ = writeln!(
        s,
        "docker network inspect {net} >/dev/null 2>&1 || docker network create {net} >/dev/null || fail \"create network berth-{app}\""
    );
    if spec.release_command.is_some() {
        // Once per release, before any container of it starts: the agent
        // runs `release-run` here or waits for the instance that does.
        let _ = writeln!(
            s,
            "python3 {RELEASE_GATE_PATH} {} \"$run\" {} || exit 1",
            sh_quote(&format!("/etc/berth/{app}")),
            sh_quote(&format!("/usr/local/libexec/berth/{app}-run"))
        );
    }
    let _ = writeln!(s, "down");
    let mut a = common_args(spec, "app", spec.memory_mib);
    a.push(format!(
        "--publish={}:{}",
        spec.host_port, spec.container_port
    ));
    a.push(format!("--env-file={run}/instance.env"));
    if !spec.secrets.is_empty() {
        a.push(format!("--env-file={run}/secrets.env"));
    }
    a.extend(spec.env.iter().map(|(k, v)| format!("--env={k}={v}")));
    s.push_str(&start_line("app", &a, &spec.image, &spec.command));
    for sc in &spec.sidecars {
        let mut a = common_args(spec, &sc.name, sc.memory_mib);
        a.extend(sc.ports.iter().map(|(h, c)| format!("--publish={h}:{c}")));
        a.extend(
            sc.files
                .keys()
                .enumerate()
                .map(|(i, p)| format!("--volume={}:{p}:ro", sidecar_file_path(app, &sc.name, i))),
        );
        a.extend(sc.env.iter().map(|(k, v)| format!("--env={k}={v}")));
        s.push_str(&start_line(&sc.name, &a, &sc.image, &sc.command));
    }
    let _ = writeln!(
        s,
        "echo \"berth: app {app} release {} is up\"",
        spec.release
    );
    s
}

/// The `docker run` options that send container `name`'s output (a shell
/// word, expanded when the container starts) to the app's log group, each
/// followed by a space; empty without one.
fn log_options(spec: &AppSpec, name: &str) -> String {
    let Some(l) = &spec.logs else {
        return String::new();
    };
    format!(
        "--log-driver=awslogs {} {} \"--log-opt=awslogs-stream=$BERTH_INSTANCE_ID/{name}\" --log-opt=mode=non-blocking ",
        sh_quote(&format!("--log-opt=awslogs-region={}", l.region)),
        sh_quote(&format!("--log-opt=awslogs-group={}", l.group)),
    )
}

/// The run script's `release_run` function: the release command in a
/// container of the release's image with the app's environment, secrets
/// and memory limit, removed when it exits (empty without a command).
fn release_function(spec: &AppSpec) -> String {
    let Some(rc) = &spec.release_command else {
        return String::new();
    };
    let app = &spec.app;
    let run = run_dir(app);
    let mut a = vec![
        "--rm".to_string(),
        format!("--name={}", container_name(app, "release")),
        format!("--network=berth-{app}"),
        format!("--label=berth.app={app}"),
        format!("--label=berth.release={}", spec.release),
        "--label=berth.container=release".to_string(),
        format!("--env-file={run}/instance.env"),
    ];
    if !spec.secrets.is_empty() {
        a.push(format!("--env-file={run}/secrets.env"));
    }
    a.extend(spec.env.iter().map(|(k, v)| format!("--env={k}={v}")));
    if spec.memory_mib > 0 {
        a.push(format!("--memory={}m", spec.memory_mib));
    }
    let mut words: Vec<String> = vec!["docker".into(), "run".into()];
    words.extend(a.iter().map(|w| sh_quote(w)));
    let logs = log_options(spec, "release");
    if !logs.is_empty() {
        words.push(logs.trim_end().to_string());
    }
    words.push(sh_quote(&spec.image));
    words.extend(rc.command.iter().map(|c| sh_quote(c)));
    format!(
        "release_run() {{\n  echo {}\n  exec {}\n}}\n",
        sh_quote(&format!("berth: release command: {}", rc.command.join(" "))),
        words.join(" ")
    )
}

fn unit(spec: &AppSpec) -> String {
    format!(
        "[Unit]\nDescription=berth app {app} (release {release})\nAfter=docker.service network-online.target\nWants=docker.service network-online.target\n\n\
         [Service]\nType=oneshot\nRemainAfterExit=yes\n\
         ExecStartPre=/usr/bin/env python3 {AGENT_PATH} prepare /etc/berth/{app} {run}\n\
         ExecStart=/usr/local/libexec/berth/{app}-run up\nExecStop=/usr/local/libexec/berth/{app}-run down\n\
         TimeoutStartSec=900\nTimeoutStopSec=120\n\n[Install]\nWantedBy=multi-user.target\n",
        app = spec.app,
        release = spec.release,
        run = run_dir(&spec.app),
    )
}

/// The metrics publisher's unit (`berth-<app>-metrics.service`).
fn metrics_unit(spec: &AppSpec, interval: u32) -> String {
    format!(
        "[Unit]\nDescription=berth metrics of {app}\nAfter=docker.service network-online.target\nWants=network-online.target\n\n\
         [Service]\nType=simple\nExecStart=/usr/bin/env python3 {TELEMETRY_PATH} metrics /etc/berth/{app} {run} {interval}\nRestart=always\nRestartSec=10\n\n\
         [Install]\nWantedBy=multi-user.target\n",
        app = spec.app,
        run = run_dir(&spec.app),
    )
}

fn health_unit(spec: &AppSpec) -> String {
    format!(
        "[Unit]\nDescription=berth health reporter for {app}\nAfter=network-online.target\nWants=network-online.target\n\n\
         [Service]\nType=simple\nExecStart=/usr/bin/env python3 {AGENT_PATH} health /etc/berth/{app} {run}\nRestart=always\nRestartSec=5\n\n\
         [Install]\nWantedBy=multi-user.target\n",
        app = spec.app,
        run = run_dir(&spec.app),
    )
}

/// The bootstrap's first lines: logging, and the failure report every
/// later step leads to.
fn prologue(spec: &AppSpec) -> String {
    format!(
        r#"set -euo pipefail
exec > >(tee -a /var/log/berth-bootstrap.log) 2>&1
run={run_q}
# A failed step is reported where the health gate reads it (the instance's
# berth:health tag) and kept in $run/failure, which the agent reports on.
fail() {{
  local why="$*"
  install -d -m 0700 "$run"
  if [[ -s $run/failure ]]; then why=$(tr '
' ' ' < "$run/failure"); else printf '%s
' "$why" > "$run/failure"; fi
  echo "berth: bootstrap failed: $why" >&2
  [[ -f {agent} ]] && python3 {agent} tag "unhealthy: bootstrap: $why" || true
{ship}  exit 1
}}
step() {{
  local what=$1 out rc=0
  shift
  echo "berth: $what"
  out=$("$@" 2>&1) || rc=$?
  [[ -z $out ]] || printf '%s
' "$out"
  (( rc == 0 )) || fail "$what failed (exit $rc): $( (grep -E '^(E:|Error|error|Failed|failed)' <<<"$out" || tail -n 1 <<<"$out") | tail -n 1)"
}}
trap 'fail "line $LINENO failed (exit $?)"' ERR
command -v python3 >/dev/null || {{ echo 'berth: python3 is missing; berth needs it (every supported image has it)' >&2; exit 1; }}
rm -f "$run/failure"
"#,
        run_q = sh_quote(&run_dir(&spec.app)),
        agent = AGENT_PATH,
        ship = ship_bootstrap_log(spec)
            .map(|l| format!("  {l}\n"))
            .unwrap_or_default(),
    )
}

/// Installs and starts Docker where it is missing, from the image's own
/// packages (see docs/guides/images.md for the package of each image).
const INSTALL_DOCKER: &str = r#"
# Docker, from the image's own packages.
if ! command -v docker >/dev/null 2>&1; then
  . /etc/os-release
  case " ${ID:-} ${ID_LIKE:-} " in
  *" amzn "* | *" fedora "* | *" rhel "*)
    step 'installing Docker (dnf install docker)' dnf install -y docker ;;
  *" debian "* | *" ubuntu "*)
    step 'updating package lists (apt-get update)' apt-get -o DPkg::Lock::Timeout=600 update
    step 'installing Docker (apt-get install docker.io)' env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y docker.io ;;
  *)
    fail "no known way to install Docker on ${PRETTY_NAME:-this image}: use an image with Docker or one of Amazon Linux 2023, Debian 12, Ubuntu 22.04/24.04" ;;
  esac
fi
step 'starting Docker (systemctl enable --now docker)' systemctl enable --now docker.service
"#;

/// The complete user-data script for `spec`.
pub fn render(spec: &AppSpec) -> String {
    let app = &spec.app;
    let mut out = String::new();
    let _ = writeln!(out, "#!/bin/bash");
    let _ = writeln!(
        out,
        "# berth user-data: app {app}, release {} ({}). Generated; do not edit.",
        spec.release, spec.image
    );
    out.push_str(&prologue(spec));
    let _ = writeln!(out, "\n# berth's instance agent and the release's files.");
    write_file(&mut out, AGENT_PATH, "0755", &shipped_agent());
    let telemetry = spec.logs.is_some() || spec.metrics_interval.is_some();
    if spec.release_command.is_some() || telemetry {
        // The scripts beside the agent import it under this name.
        let _ = writeln!(out, "ln -sf agent {}", sh_quote(AGENT_MODULE_PATH));
    }
    if spec.release_command.is_some() {
        write_file(&mut out, RELEASE_GATE_PATH, "0755", &shipped_release_gate());
    }
    if telemetry {
        write_file(&mut out, TELEMETRY_PATH, "0755", &shipped_telemetry());
    }
    write_file(
        &mut out,
        &format!("/etc/berth/{app}/release.json"),
        "0644",
        &manifest(spec),
    );
    if !spec.secrets.is_empty() {
        write_file(
            &mut out,
            &format!("/etc/berth/{app}/secrets.json"),
            "0600",
            &secrets_file(spec),
        );
    }
    if !spec.registry_logins.is_empty() {
        write_file(
            &mut out,
            &format!("/etc/berth/{app}/registries.json"),
            "0600",
            &registries_file(spec),
        );
    }
    for s in &spec.sidecars {
        for (i, content) in s.files.values().enumerate() {
            write_file(
                &mut out,
                &sidecar_file_path(app, &s.name, i),
                "0644",
                content,
            );
        }
    }
    write_file(
        &mut out,
        &format!("/usr/local/libexec/berth/{app}-run"),
        "0755",
        &run_script(spec),
    );
    write_file(
        &mut out,
        &format!("/etc/systemd/system/berth-{app}.service"),
        "0644",
        &unit(spec),
    );
    write_file(
        &mut out,
        &format!("/etc/systemd/system/berth-{app}-health.service"),
        "0644",
        &health_unit(spec),
    );
    if let Some(interval) = spec.metrics_interval {
        write_file(
            &mut out,
            &format!("/etc/systemd/system/berth-{app}-metrics.service"),
            "0644",
            &metrics_unit(spec, interval),
        );
    }
    out.push_str(INSTALL_DOCKER);
    let _ = writeln!(
        out,
        "\n# Report health from now on; start the app now and on every boot."
    );
    let _ = writeln!(out, "systemctl daemon-reload");
    let _ = writeln!(
        out,
        "step 'starting the health reporter' systemctl enable --now berth-{app}-health.service"
    );
    let _ = writeln!(
        out,
        "step 'starting the app (berth-{app}.service)' systemctl enable --now berth-{app}.service"
    );
    if spec.metrics_interval.is_some() {
        let _ = writeln!(
            out,
            "step 'starting the metrics publisher' systemctl enable --now berth-{app}-metrics.service"
        );
    }
    let _ = writeln!(out, "echo 'berth: bootstrap done'");
    if let Some(line) = ship_bootstrap_log(spec) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// The line that sends the bootstrap's log to the app's log group (never
/// failing the bootstrap), if it has one.
fn ship_bootstrap_log(spec: &AppSpec) -> Option<String> {
    let l = spec.logs.as_ref()?;
    Some(format!(
        "[[ -f {TELEMETRY_PATH} ]] && python3 {TELEMETRY_PATH} ship-log {} bootstrap /var/log/berth-bootstrap.log || true",
        sh_quote(&l.group)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Story 1: a Ruby app behind an nginx front, databases by env, one
    /// secret from SSM and one from Secrets Manager.
    pub(crate) fn story_one() -> AppSpec {
        AppSpec {
            app: "web".into(),
            release: 7,
            region: "us-east-1".into(),
            image: "registry.example.com/shop:2026-11-23T10-00".into(),
            command: vec![
                "bundle".into(),
                "exec".into(),
                "puma".into(),
                "-p".into(),
                "3000".into(),
            ],
            container_port: 3000,
            host_port: 3000,
            env: [
                ("RAILS_ENV".to_string(), "production".to_string()),
                (
                    "MONGO_URL".to_string(),
                    "mongodb://db.internal:27017/shop".to_string(),
                ),
                (
                    "GREETING".to_string(),
                    "it's $HOME & \"quotes\"".to_string(),
                ),
            ]
            .into(),
            secrets: [
                (
                    "SECRET_KEY_BASE".to_string(),
                    SecretSource::Ssm("/shop/secret_key_base".into()),
                ),
                (
                    "REDIS_URL".to_string(),
                    SecretSource::SecretsManager(
                        "arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-AbCdEf".into(),
                    ),
                ),
            ]
            .into(),
            memory_mib: 768,
            sidecars: vec![Sidecar {
                name: "nginx".into(),
                image: "nginx:1.27".into(),
                command: vec![],
                ports: vec![(80, 80)],
                files: [(
                    "/etc/nginx/conf.d/default.conf".to_string(),
                    "server { listen 80; location / { proxy_pass http://app:3000; } }\nBERTH_EOF\n"
                        .to_string(),
                )]
                .into(),
                memory_mib: 64,
                env: BTreeMap::new(),
            }],
            health: HealthCheck {
                path: "/up".into(),
                port: 80,
                interval_secs: 5,
                timeout_secs: 3,
                start_period_secs: 150,
            },
            release_command: None,
            registry_logins: vec![],
            logs: None,
            metrics_interval: None,
        }
    }

    #[test]
    fn registry_logins_are_written_as_references_and_pulls_use_their_config() {
        let mut spec = story_one();
        spec.registry_logins = vec![
            RegistryLogin::Password {
                server: "registry.example.com".into(),
                username: "deploy".into(),
                password: SecretSource::Ssm("/shop/registry_password".into()),
            },
            RegistryLogin::Ecr {
                server: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
                registry_id: "123456789012".into(),
                region: "us-east-1".into(),
            },
        ];
        let all = render(&spec);
        bash_syntax("user-data with registry logins", &all);
        let logins: serde_json::Value = serde_json::from_str(&registries_file(&spec)).unwrap();
        assert_eq!(logins[0]["server"], "registry.example.com");
        assert_eq!(logins[0]["username"], "deploy");
        assert_eq!(logins[0]["password"]["ssm"], "/shop/registry_password");
        assert_eq!(logins[1]["ecr"]["registry_id"], "123456789012");
        assert_eq!(logins[1]["ecr"]["region"], "us-east-1");
        assert!(all.contains("chmod 0600 '/etc/berth/web/registries.json'"));
        // The pulls read the logins the agent made at this start, on tmpfs.
        let run = run_script(&spec);
        let config = run.find("export DOCKER_CONFIG=\"$run/docker\"").unwrap();
        assert!(config < run.find("pull '").unwrap(), "{run}");
        // Without logins nothing of it is there.
        let plain = render(&story_one());
        assert!(
            !plain.contains("/etc/berth/web/registries.json")
                && !plain.contains("export DOCKER_CONFIG")
        );
    }

    #[test]
    fn with_a_log_group_every_container_and_the_bootstrap_log_to_cloudwatch() {
        let mut spec = with_migration();
        spec.logs = Some(Logs {
            group: "/berth/web".into(),
            region: "us-east-1".into(),
        });
        let all = render(&spec);
        bash_syntax("user-data with logs", &all);
        let run = run_script(&spec);
        bash_syntax("run script with logs", &run);
        // The stream names the instance, read from instance.env.
        let sourced = run
            .find(". \"$run/instance.env\"")
            .expect("instance.env sourced");
        let start = run.find("start() {").unwrap();
        assert!(sourced < start, "{run}");
        let starter = run[start..].lines().nth(4).unwrap();
        for want in [
            "--log-driver=awslogs",
            "'--log-opt=awslogs-region=us-east-1'",
            "'--log-opt=awslogs-group=/berth/web'",
            "\"--log-opt=awslogs-stream=$BERTH_INSTANCE_ID/$name\"",
            "--log-opt=mode=non-blocking",
        ] {
            assert!(starter.contains(want), "{want} in {starter}");
        }
        assert!(
            !run.contains("json-file"),
            "no local log options beside awslogs"
        );
        // The release command's output too.
        let release = run
            .lines()
            .find(|l| l.trim_start().starts_with("exec docker run"))
            .unwrap();
        assert!(
            release.contains("\"--log-opt=awslogs-stream=$BERTH_INSTANCE_ID/release\""),
            "{release}"
        );
        // The bootstrap's own log, when it ends either way.
        let ship = "python3 /usr/local/libexec/berth/telemetry ship-log '/berth/web' bootstrap /var/log/berth-bootstrap.log || true";
        assert_eq!(all.matches(ship).count(), 2, "in fail() and at the end");
        assert!(all.trim_end().ends_with(ship));
        assert!(all.contains("cat > '/usr/local/libexec/berth/telemetry'"));
        // Without a group: local rotated files, no telemetry.
        let plain = render(&story_one());
        assert!(plain.contains("'--log-driver=json-file'"));
        assert!(!plain.contains("awslogs") && !plain.contains("libexec/berth/telemetry"));
    }

    #[test]
    fn with_metrics_a_publisher_unit_starts_after_the_app() {
        let mut spec = story_one();
        spec.metrics_interval = Some(30);
        let all = render(&spec);
        bash_syntax("user-data with metrics", &all);
        assert!(all.contains("cat > '/usr/local/libexec/berth/telemetry'"));
        assert!(all.contains(
            "ExecStart=/usr/bin/env python3 /usr/local/libexec/berth/telemetry metrics /etc/berth/web /run/berth/web 30"
        ));
        let app = all
            .find("systemctl enable --now berth-web.service")
            .unwrap();
        let metrics = all
            .find("systemctl enable --now berth-web-metrics.service")
            .unwrap();
        assert!(app < metrics, "the app first");
        let plain = render(&story_one());
        assert!(!plain.contains("berth-web-metrics") && !plain.contains("libexec/berth/telemetry"));
    }

    #[test]
    fn a_refused_pull_is_reported_as_denied() {
        let run = run_script(&story_one());
        let pull = &run[run.find("pull() {").unwrap()..run.find("start() {").unwrap()];
        let script = format!(
            "set -u\nrun=$(mktemp -d)\nfail() {{ echo \"$*\"; exit 1; }}\n\
             docker() {{ [[ $1 == pull ]] && {{ echo \"$DOCKER_SAYS\" >&2; return 1; }}; return 1; }}\n\
             sleep() {{ :; }}\n{pull}\npull registry.example.com/shop:1\n"
        );
        let says = |msg: &str| {
            let out = std::process::Command::new("bash")
                .args(["-c", &script])
                .env("DOCKER_SAYS", msg)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            text.lines().last().unwrap_or_default().to_string()
        };
        assert_eq!(
            says(
                "Error response from daemon: Head \"https://registry.example.com/v2/shop/manifests/1\": no basic auth credentials"
            ),
            "pull registry.example.com/shop:1 denied: Head \"https://registry.example.com/v2/shop/manifests/1\": no basic auth credentials"
        );
        assert_eq!(
            says(
                "Error response from daemon: pull access denied for shop, repository does not exist or may require 'docker login'"
            ),
            "pull registry.example.com/shop:1 denied: pull access denied for shop, repository does not exist or may require 'docker login'"
        );
        assert_eq!(
            says(
                "Error response from daemon: manifest for registry.example.com/shop:1 not found: manifest unknown"
            ),
            "pull registry.example.com/shop:1: manifest for registry.example.com/shop:1 not found: manifest unknown"
        );
    }

    /// Story 1 with a migration as its release command.
    fn with_migration() -> AppSpec {
        let mut spec = story_one();
        spec.release_command = Some(ReleaseCommand {
            command: vec!["bin/rails".into(), "db:migrate".into()],
            timeout_secs: 1800,
            marker: "/berth/web/release/7-0123456789abcdef01234567".into(),
        });
        spec
    }

    #[test]
    fn a_release_command_runs_in_the_releases_image_with_its_env_before_any_container() {
        let spec = with_migration();
        let run = run_script(&spec);
        bash_syntax("run script with a release command", &run);
        bash_syntax("user-data with a release command", &render(&spec));
        let docker = run
            .lines()
            .find(|l| l.trim_start().starts_with("exec docker run"))
            .expect("release_run's docker run");
        for want in [
            "'--rm'",
            "'--name=berth-web-release'",
            "'--network=berth-web'",
            "'--env-file=/run/berth/web/instance.env'",
            "'--env-file=/run/berth/web/secrets.env'",
            "'--env=RAILS_ENV=production'",
            "'--memory=768m'",
            "'registry.example.com/shop:2026-11-23T10-00' 'bin/rails' 'db:migrate'",
        ] {
            assert!(docker.contains(want), "{want} missing from {docker}");
        }
        assert!(!docker.contains("--restart"), "a one-off, never restarted");
        assert!(!docker.contains("--publish"), "it takes no traffic");
        // The gate runs after the pulls and the network, before any start.
        let gate = run
            .find("python3 /usr/local/libexec/berth/release '/etc/berth/web' \"$run\" '/usr/local/libexec/berth/web-run' || exit 1")
            .expect("the gate line");
        let pulled = run
            .find("pull 'registry.example.com/shop:2026-11-23T10-00'")
            .unwrap();
        let first_start = run.find("start 'app'").unwrap();
        assert!(pulled < gate && gate < first_start, "{run}");
        assert!(run.contains("release-run) release_run ;;"));
        assert!(
            render(&spec).contains("cat > '/usr/local/libexec/berth/release'"),
            "the gate itself is written"
        );
        assert!(run.contains("release-kill) docker kill 'berth-web-release'"));
        // The agent finds the command, its timeout and its marker.
        let m: serde_json::Value = serde_json::from_str(&manifest(&spec)).unwrap();
        assert_eq!(m["release_command"]["command"][1], "db:migrate");
        assert_eq!(m["release_command"]["timeout"], 1800);
        assert_eq!(
            m["release_command"]["marker"],
            "/berth/web/release/7-0123456789abcdef01234567"
        );
    }

    #[test]
    fn without_a_release_command_nothing_of_it_is_written() {
        let spec = story_one();
        let run = run_script(&spec);
        assert!(
            !run.contains("release_run") && !run.contains("libexec/berth/release"),
            "{run}"
        );
        assert!(
            !render(&spec).contains("libexec/berth/release"),
            "the gate is written only for an app with a release command"
        );
        assert!(!manifest(&spec).contains("release_command"));
    }

    #[test]
    fn user_data_matches_the_golden_file() {
        let got = render(&story_one());
        let golden =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/userdata/story_one.sh");
        if std::env::var_os("BERTH_UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &got).unwrap();
        }
        let want = std::fs::read_to_string(&golden)
            .expect("golden file (BERTH_UPDATE_GOLDEN=1 to create)");
        assert_eq!(
            got, want,
            "user-data changed; review and run with BERTH_UPDATE_GOLDEN=1"
        );
    }

    /// Runs `bash -n` on `script`.
    fn bash_syntax(what: &str, script: &str) {
        let out = std::process::Command::new("bash")
            .args(["-n", "-c", script])
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn user_data_is_valid_bash_and_every_embedded_script_too() {
        let spec = story_one();
        bash_syntax("user-data", &render(&spec));
        bash_syntax("run script", &run_script(&spec));
        for (name, source) in [
            ("agent.py", AGENT),
            ("release.py", RELEASE_GATE),
            ("telemetry.py", TELEMETRY),
        ] {
            let out = std::process::Command::new("python3")
                .args(["-c", "import ast,sys; ast.parse(sys.stdin.read())"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write as _;
                    c.stdin
                        .take()
                        .expect("stdin")
                        .write_all(source.as_bytes())?;
                    c.wait_with_output()
                })
                .expect("python3");
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn secret_values_never_appear_only_references() {
        let text = render(&story_one());
        let refs: serde_json::Value = serde_json::from_str(&secrets_file(&story_one())).unwrap();
        assert_eq!(refs["SECRET_KEY_BASE"]["ssm"], "/shop/secret_key_base");
        assert!(
            refs["REDIS_URL"]["secretsmanager"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:secretsmanager:")
        );
        assert!(text.contains("cat > '/etc/berth/web/secrets.json'"));
        assert!(text.contains("chmod 0600 '/etc/berth/web/secrets.json'"));
        // The app reads them from tmpfs; the run script never names a value.
        let run = run_script(&story_one());
        assert!(run.contains("'--env-file=/run/berth/web/secrets.env'"));
        assert!(!run.contains("SECRET_KEY_BASE"));
    }

    #[test]
    fn a_sidecar_gets_its_own_environment_and_no_secrets() {
        let mut spec = story_one();
        spec.sidecars[0].env = [
            ("WORKERS".to_string(), "4".to_string()),
            ("PROMPT".to_string(), "$USER> ".to_string()),
        ]
        .into();
        let run = run_script(&spec);
        let nginx = run
            .lines()
            .find(|l| l.starts_with("start 'nginx'"))
            .expect("a start line for nginx");
        assert!(nginx.contains("'--env=WORKERS=4'"));
        assert!(nginx.contains("'--env=PROMPT=$USER> '"), "{nginx}");
        assert!(!nginx.contains("secrets.env"), "a sidecar gets no secrets");
        assert!(!nginx.contains("instance.env"));
        let app = run.lines().find(|l| l.starts_with("start 'app'")).unwrap();
        assert!(!app.contains("WORKERS"), "not shared with the app");
    }

    #[test]
    fn containers_get_a_network_limits_restart_logs_and_read_only_files() {
        let run = run_script(&story_one());
        let app = run.lines().find(|l| l.starts_with("start 'app'")).unwrap();
        for want in [
            "'--network=berth-web'",
            "'--network-alias=app'",
            "'--restart=always'",
            "'--stop-timeout=30'",
            "'--memory=768m'",
            "'--publish=3000:3000'",
            "'--log-opt=max-size=10m'",
            "'--label=berth.release=7'",
            "'--env=GREETING=it'\\''s $HOME & \"quotes\"'",
            "'registry.example.com/shop:2026-11-23T10-00' 'bundle' 'exec' 'puma' '-p' '3000'",
        ] {
            assert!(app.contains(want), "{want} missing from {app}");
        }
        let nginx = run
            .lines()
            .find(|l| l.starts_with("start 'nginx'"))
            .unwrap();
        assert!(nginx.contains("'--memory=64m'"));
        assert!(
            nginx.contains(
                "'--volume=/etc/berth/web/files/nginx-0:/etc/nginx/conf.d/default.conf:ro'"
            )
        );
        // The app starts before the sidecars that front it and stops after them.
        assert!(run.find("start 'app'") < run.find("start 'nginx'"));
        assert!(run.contains("docker stop --time 30 'berth-web-nginx' 'berth-web-app'"));
    }

    #[test]
    fn the_run_script_passes_values_to_docker_exactly() {
        // Run the script's quoting through bash with `docker` replaced by a
        // function that prints its arguments one per line.
        let mut spec = story_one();
        spec.sidecars.clear();
        spec.secrets.clear();
        spec.env = [("ODD".to_string(), "a'b $c `d` \"e\"\nline2".to_string())].into();
        let script = run_script(&spec).replace(
            "set -euo pipefail",
            "set -euo pipefail\nexec 9>&2\ndocker() { [[ $1 != run ]] || printf '%s\\n' \"$@\" >&9; }",
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &script, "run", "up"])
            .env("PATH", "/usr/bin:/bin")
            .output()
            .expect("bash");
        let args = String::from_utf8_lossy(&out.stderr);
        assert!(
            args.contains("--env=ODD=a'b $c `d` \"e\"\nline2\n"),
            "{args}"
        );
    }

    #[test]
    fn the_manifest_names_containers_and_the_health_check() {
        let m: serde_json::Value = serde_json::from_str(&manifest(&story_one())).unwrap();
        assert_eq!(m["app"], "web");
        assert_eq!(m["release"], 7);
        assert_eq!(m["containers"][0]["name"], "app");
        assert_eq!(m["containers"][0]["container"], "berth-web-app");
        assert_eq!(
            m["containers"][0]["image"],
            "registry.example.com/shop:2026-11-23T10-00"
        );
        assert_eq!(m["containers"][1]["container"], "berth-web-nginx");
        assert_eq!(m["health"]["port"], 80);
        assert_eq!(m["health"]["path"], "/up");
    }

    #[test]
    fn heredoc_delimiters_never_collide_with_content() {
        let text = render(&story_one());
        // The nginx config contains a line "BERTH_EOF": its heredoc uses another delimiter.
        assert!(text.contains("<<'BERTH_EOF_1'"));
    }

    #[test]
    fn the_app_starts_on_boot_and_docker_comes_from_the_images_packages() {
        let u = unit(&story_one());
        assert!(u.contains("Type=oneshot"));
        assert!(u.contains("RemainAfterExit=yes"));
        assert!(u.contains("WantedBy=multi-user.target"));
        assert!(u.contains("ExecStartPre=/usr/bin/env python3 /usr/local/libexec/berth/agent prepare /etc/berth/web /run/berth/web"));
        // A restart of Docker must not stop (and so remove) the app.
        assert!(!u.contains("Requires=docker"));
        let text = render(&story_one());
        assert!(text.contains("systemctl enable --now berth-web.service"));
        assert!(text.contains("dnf install -y docker"));
        assert!(text.contains("apt-get -o DPkg::Lock::Timeout=600 install -y docker.io"));
        assert!(!text.contains("compose"), "no Compose plugin anywhere");
        assert!(
            !text.contains("awscli") && !text.contains("aws "),
            "no AWS CLI"
        );
    }

    /// What the Docker install step runs on an image whose
    /// `/etc/os-release` is `os_release` and which has no Docker.
    fn install_steps(os_release: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("os-release");
        std::fs::write(&path, os_release).unwrap();
        let script = format!(
            "step() {{ echo \"STEP $1: ${{*:2}}\"; }}\nfail() {{ echo \"FAIL $*\"; }}\n{}",
            INSTALL_DOCKER
                .replace("command -v docker >/dev/null 2>&1", "false")
                .replace("/etc/os-release", &path.to_string_lossy())
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &script])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn each_supported_image_installs_docker_from_its_own_packages() {
        let al2023 = install_steps(
            "NAME=\"Amazon Linux\"\nVERSION_ID=\"2023\"\nID=\"amzn\"\nID_LIKE=\"fedora\"\n",
        );
        assert!(
            al2023.contains("STEP installing Docker (dnf install docker): dnf install -y docker"),
            "{al2023}"
        );
        assert!(!al2023.contains("apt-get"), "{al2023}");
        for os in [
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
            "PRETTY_NAME=\"Ubuntu 22.04.5 LTS\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n",
            "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n",
        ] {
            let steps = install_steps(os);
            assert!(
                steps.contains("STEP updating package lists (apt-get update)"),
                "{steps}"
            );
            assert!(steps.contains("install -y docker.io"), "{os}: {steps}");
            assert!(!steps.contains("FAIL"), "{steps}");
        }
        let alpine = install_steps("PRETTY_NAME=\"Alpine Linux v3.20\"\nID=alpine\n");
        assert!(
            alpine.contains("FAIL no known way to install Docker on Alpine Linux v3.20"),
            "{alpine}"
        );
        // Every supported image starts Docker the same way.
        assert!(al2023.contains("STEP starting Docker (systemctl enable --now docker): systemctl enable --now docker.service"));
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        let out = std::process::Command::new("bash")
            .args(["-c", &format!("printf %s {}", sh_quote("a'b $c"))])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a'b $c");
    }
}

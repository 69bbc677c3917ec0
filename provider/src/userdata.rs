//! Generates the user-data an app instance boots with: a bash script that
//! installs Docker, writes the compose file, a secrets fetcher, a systemd
//! unit (restart on failure and on reboot) and a health reporter.
//!
//! Guarantees:
//! - Secret values never appear: only their references (SSM parameter
//!   names, Secrets Manager ARNs). The instance fetches them at boot into
//!   `/run/berth/<app>/secrets.env` (tmpfs, root only, mode 0600).
//!   Write-only values (`secret_values_wo`) arrive here as references too:
//!   the SSM parameters berth stored them in.
//! - Every file is written with a quoted heredoc whose delimiter does not
//!   occur in the content, so nothing is expanded by the shell.
//! - The compose file is JSON (valid YAML); `$` in values is escaped as
//!   `$$` so compose does not interpolate it.
//! - The instance reports readiness by tagging itself `berth:health` =
//!   `healthy` / `unhealthy: <why>` after its local health check, so the
//!   health gate needs no network path from Terraform to the instance.
//! - The output is deterministic: the same spec gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

/// Where a secret's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// An SSM parameter (SecureString or String), by name or ARN.
    Ssm(String),
    /// A Secrets Manager secret, by ARN or name (its string value).
    SecretsManager(String),
}

/// A container besides the app (e.g. an nginx front).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sidecar {
    /// Service name in the compose file.
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
}

/// Everything one release of an app needs on an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSpec {
    /// App name (lowercase letters, digits, hyphens).
    pub app: String,
    /// Release number.
    pub release: u64,
    /// AWS region (for the secrets fetch and self-tagging).
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
}

/// The compose file (as JSON text) for `spec`.
pub fn compose_file(spec: &AppSpec) -> String {
    let esc = |s: &str| s.replace('$', "$$");
    let mut services = serde_json::Map::new();
    let mut app = json!({
        "image": spec.image,
        "restart": "always",
        "ports": [format!("{}:{}", spec.host_port, spec.container_port)],
        "environment": spec.env.iter().map(|(k, v)| (k.clone(), json!(esc(v)))).collect::<serde_json::Map<_, _>>(),
        "labels": { "berth.app": spec.app, "berth.release": spec.release.to_string() },
        "logging": { "driver": "json-file", "options": { "max-size": "10m", "max-file": "5" } },
    });
    if !spec.command.is_empty() {
        app["command"] = json!(spec.command.iter().map(|c| esc(c)).collect::<Vec<_>>());
    }
    if !spec.secrets.is_empty() {
        app["env_file"] = json!([secrets_env_path(&spec.app)]);
    }
    if spec.memory_mib > 0 {
        app["mem_limit"] = json!(format!("{}m", spec.memory_mib));
    }
    services.insert("app".into(), app);
    for s in &spec.sidecars {
        let mut svc = json!({
            "image": s.image,
            "restart": "always",
            "depends_on": ["app"],
            "labels": { "berth.app": spec.app, "berth.release": spec.release.to_string() },
        });
        if !s.command.is_empty() {
            svc["command"] = json!(s.command.iter().map(|c| esc(c)).collect::<Vec<_>>());
        }
        if !s.env.is_empty() {
            svc["environment"] = json!(
                s.env
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(esc(v))))
                    .collect::<serde_json::Map<_, _>>()
            );
        }
        if !s.ports.is_empty() {
            svc["ports"] = json!(
                s.ports
                    .iter()
                    .map(|(h, c)| format!("{h}:{c}"))
                    .collect::<Vec<_>>()
            );
        }
        if !s.files.is_empty() {
            svc["volumes"] = json!(
                s.files
                    .keys()
                    .enumerate()
                    .map(|(i, path)| format!(
                        "{}:{path}:ro",
                        sidecar_file_path(&spec.app, &s.name, i)
                    ))
                    .collect::<Vec<_>>()
            );
        }
        if s.memory_mib > 0 {
            svc["mem_limit"] = json!(format!("{}m", s.memory_mib));
        }
        services.insert(s.name.clone(), svc);
    }
    let doc = json!({ "name": format!("berth-{}", spec.app), "services": services });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn secrets_env_path(app: &str) -> String {
    format!("/run/berth/{app}/secrets.env")
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

fn secrets_script(spec: &AppSpec) -> String {
    let mut s = String::from(
        "#!/bin/bash\n# Fetches the app's secrets into a root-only env file on tmpfs. Generated by berth.\nset -euo pipefail\numask 077\n",
    );
    let target = secrets_env_path(&spec.app);
    let _ = writeln!(s, "install -d -m 0700 {}", sh_quote(parent(&target)));
    let _ = writeln!(s, "tmp=$(mktemp {}.XXXXXX)", sh_quote(&target));
    let _ = writeln!(s, "trap 'rm -f \"$tmp\"' EXIT");
    let _ = writeln!(s, "region={}", sh_quote(&spec.region));
    for (name, src) in &spec.secrets {
        let fetch = match src {
            SecretSource::Ssm(p) => format!(
                "aws ssm get-parameter --region \"$region\" --with-decryption --name {} --query Parameter.Value --output text",
                sh_quote(p)
            ),
            SecretSource::SecretsManager(id) => format!(
                "aws secretsmanager get-secret-value --region \"$region\" --secret-id {} --query SecretString --output text",
                sh_quote(id)
            ),
        };
        // One line per variable; newlines in values are not representable in env files.
        let _ = writeln!(s, "value=$({fetch})");
        let _ = writeln!(
            s,
            "printf '%s=%s\\n' {} \"${{value//$'\\n'/ }}\" >> \"$tmp\"",
            sh_quote(name)
        );
    }
    let _ = writeln!(s, "mv -f \"$tmp\" {}", sh_quote(&target));
    let _ = writeln!(s, "trap - EXIT");
    s
}

fn health_script(spec: &AppSpec) -> String {
    let h = &spec.health;
    let url = format!("http://127.0.0.1:{}{}", h.port, h.path);
    format!(
        r#"#!/bin/bash
# Checks the app locally and tags this instance berth:health. Generated by berth.
set -uo pipefail
region={region}
token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token || true)
id=$(curl -sf -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
last=""
while true; do
  if code=$(curl -s -o /dev/null -w '%{{http_code}}' --max-time {timeout} {url}) && [[ "$code" == 2* || "$code" == 3* ]]; then
    now="healthy"
  else
    now="unhealthy: GET {path} answered ${{code:-nothing}}"
  fi
  if [[ "$now" != "$last" ]]; then
    aws ec2 create-tags --region "$region" --resources "$id" --tags "Key=berth:health,Value=$now" && last="$now"
  fi
  sleep {interval}
done
"#,
        region = sh_quote(&spec.region),
        timeout = h.timeout_secs,
        interval = h.interval_secs,
        url = sh_quote(&url),
        path = h.path.replace(['\'', '"', '$', '`', '\\'], ""),
    )
}

fn unit(spec: &AppSpec, compose: &str) -> String {
    let pre = if spec.secrets.is_empty() {
        String::new()
    } else {
        format!(
            "ExecStartPre=/usr/local/libexec/berth/{}-secrets\n",
            spec.app
        )
    };
    format!(
        "[Unit]\nDescription=berth app {app} (release {release})\nAfter=docker.service network-online.target\nWants=network-online.target\nRequires=docker.service\n\n\
         [Service]\nType=simple\n{pre}ExecStart=/usr/bin/docker compose -f {compose} up --remove-orphans\nExecStop=/usr/bin/docker compose -f {compose} down --timeout 30\n\
         Restart=always\nRestartSec=5\nTimeoutStartSec=900\n\n[Install]\nWantedBy=multi-user.target\n",
        app = spec.app,
        release = spec.release,
    )
}

fn health_unit(spec: &AppSpec) -> String {
    format!(
        "[Unit]\nDescription=berth health reporter for {app}\nAfter=berth-{app}.service\n\n[Service]\nType=simple\nExecStart=/usr/local/libexec/berth/{app}-health\nRestart=always\nRestartSec=5\n\n[Install]\nWantedBy=multi-user.target\n",
        app = spec.app
    )
}

/// The complete user-data script for `spec`.
pub fn render(spec: &AppSpec) -> String {
    let app = &spec.app;
    let compose_path = format!("/etc/berth/{app}/compose.yaml");
    let mut out = String::new();
    let _ = writeln!(out, "#!/bin/bash");
    let _ = writeln!(
        out,
        "# berth user-data: app {app}, release {} ({}). Generated; do not edit.",
        spec.release, spec.image
    );
    out.push_str(
        "set -euo pipefail\nexec > >(tee -a /var/log/berth-bootstrap.log) 2>&1\n\n\
         # Docker and the compose plugin, from the distribution's packages.\n\
         if ! command -v docker >/dev/null 2>&1; then\n\
         \x20 if command -v dnf >/dev/null 2>&1; then dnf install -y docker awscli;\n\
         \x20 elif command -v apt-get >/dev/null 2>&1; then apt-get update -y && DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io awscli curl;\n\
         \x20 else echo 'berth: no supported package manager' >&2; exit 1; fi\n\
         fi\n\
         if ! docker compose version >/dev/null 2>&1; then\n\
         \x20 install -d /usr/local/lib/docker/cli-plugins\n\
         \x20 (command -v dnf >/dev/null 2>&1 && dnf install -y docker-compose-plugin) || (command -v apt-get >/dev/null 2>&1 && apt-get install -y docker-compose-v2) || true\n\
         fi\n\
         systemctl enable --now docker\n\n",
    );
    let _ = writeln!(out, "# The app's files.");
    write_file(&mut out, &compose_path, "0644", &compose_file(spec));
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
    if !spec.secrets.is_empty() {
        write_file(
            &mut out,
            &format!("/usr/local/libexec/berth/{app}-secrets"),
            "0700",
            &secrets_script(spec),
        );
    }
    write_file(
        &mut out,
        &format!("/usr/local/libexec/berth/{app}-health"),
        "0755",
        &health_script(spec),
    );
    write_file(
        &mut out,
        &format!("/etc/systemd/system/berth-{app}.service"),
        "0644",
        &unit(spec, &compose_path),
    );
    write_file(
        &mut out,
        &format!("/etc/systemd/system/berth-{app}-health.service"),
        "0644",
        &health_unit(spec),
    );
    let _ = writeln!(
        out,
        "\n# Start now and on every boot; systemd restarts the app if it fails."
    );
    let _ = writeln!(out, "systemctl daemon-reload");
    let _ = writeln!(
        out,
        "systemctl enable --now berth-{app}.service berth-{app}-health.service"
    );
    out
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
            },
        }
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

    #[test]
    fn user_data_is_valid_bash_and_every_embedded_script_too() {
        let spec = story_one();
        for (what, script) in [
            ("user-data", render(&spec)),
            ("secrets", secrets_script(&spec)),
            ("health", health_script(&spec)),
        ] {
            let out = std::process::Command::new("bash")
                .args(["-n", "-c", &script])
                .output()
                .expect("bash");
            assert!(
                out.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn secret_values_never_appear_only_references() {
        let text = render(&story_one());
        assert!(text.contains("/shop/secret_key_base"));
        assert!(text.contains("--with-decryption"));
        assert!(text.contains("/run/berth/web/secrets.env"));
        assert!(text.contains("umask 077"));
        // Only the reference is there: nothing resembling a value assignment.
        assert!(
            !text.contains("SECRET_KEY_BASE=")
                || text.contains("printf '%s=%s\\n' 'SECRET_KEY_BASE'")
        );
    }

    #[test]
    fn a_sidecar_gets_its_own_environment_escaped_and_none_when_empty() {
        let mut spec = story_one();
        let c: serde_json::Value = serde_json::from_str(&compose_file(&spec)).unwrap();
        assert!(c["services"]["nginx"].get("environment").is_none());
        spec.sidecars[0].env = [
            ("WORKERS".to_string(), "4".to_string()),
            ("PROMPT".to_string(), "$USER> ".to_string()),
        ]
        .into();
        let c: serde_json::Value = serde_json::from_str(&compose_file(&spec)).unwrap();
        let env = &c["services"]["nginx"]["environment"];
        assert_eq!(env["WORKERS"], "4");
        assert_eq!(env["PROMPT"], "$$USER> ");
        assert!(
            c["services"]["app"]["environment"].get("WORKERS").is_none(),
            "not shared with the app"
        );
    }

    #[test]
    fn compose_file_is_json_with_escaped_dollars_and_limits() {
        let c: serde_json::Value = serde_json::from_str(&compose_file(&story_one())).unwrap();
        let app = &c["services"]["app"];
        assert_eq!(app["environment"]["GREETING"], "it's $$HOME & \"quotes\"");
        assert_eq!(app["mem_limit"], "768m");
        assert_eq!(app["env_file"][0], "/run/berth/web/secrets.env");
        assert_eq!(c["services"]["nginx"]["mem_limit"], "64m");
        assert_eq!(
            c["services"]["nginx"]["volumes"][0],
            "/etc/berth/web/files/nginx-0:/etc/nginx/conf.d/default.conf:ro"
        );
    }

    #[test]
    fn heredoc_delimiters_never_collide_with_content() {
        let text = render(&story_one());
        // The nginx config contains a line "BERTH_EOF": its heredoc uses another delimiter.
        assert!(text.contains("<<'BERTH_EOF_1'"));
    }

    #[test]
    fn the_unit_restarts_the_app_and_starts_on_boot() {
        let u = unit(&story_one(), "/etc/berth/web/compose.yaml");
        assert!(u.contains("Restart=always"));
        assert!(u.contains("WantedBy=multi-user.target"));
        assert!(u.contains("ExecStartPre=/usr/local/libexec/berth/web-secrets"));
        assert!(render(&story_one()).contains("systemctl enable --now berth-web.service"));
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

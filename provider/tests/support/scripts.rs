//! What the agent tests share: berth's instance scripts laid out in a
//! directory as the bootstrap writes them (`agent`, its module link
//! `berth_agent.py`, `release`, `telemetry`), and a Python harness that
//! loads one of them as on an instance whose AWS calls go to moto, with
//! the instance metadata and the credentials stubbed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Loads script `argv[3]` from directory `argv[1]` as on instance
/// `argv[4]` of us-east-1 (zone us-east-1a) whose HTTPS calls go to
/// `argv[2]`; binds `script` (the module), `agent` and `args` (the rest).
const PRELUDE: &str = r#"
import importlib.machinery, importlib.util, os, sys, time, urllib.request
tools, endpoint, name, instance = sys.argv[1:5]
args = sys.argv[5:]
loader = importlib.machinery.SourceFileLoader(name, os.path.join(tools, name))
script = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
loader.exec_module(script)
agent = script if name == "agent" else script.agent
real_urlopen = urllib.request.urlopen
def urlopen(req, timeout=None):
    req.full_url = endpoint + "/"
    return real_urlopen(req, timeout=timeout)
agent.urllib.request.urlopen = urlopen
agent.metadata = lambda path: {
    "instance-id": instance,
    "placement/region": "us-east-1",
    "placement/availability-zone": "us-east-1a",
}[path]
class Creds:
    access_key, secret_key, token = "testing", "testing", None
agent.CREDENTIALS.get = lambda: Creds()
"#;

/// berth's instance scripts in a directory of their own (removed on drop).
pub struct Scripts {
    dir: tempfile::TempDir,
}

impl Scripts {
    /// The scripts as instances get them.
    pub fn new() -> Scripts {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        use terraform_provider_berth::userdata as u;
        std::fs::write(p.join("agent"), u::shipped_agent()).unwrap();
        std::fs::write(p.join("release"), u::shipped_release_gate()).unwrap();
        std::fs::write(p.join("telemetry"), u::shipped_telemetry()).unwrap();
        std::os::unix::fs::symlink("agent", p.join("berth_agent.py")).unwrap();
        Scripts { dir }
    }

    /// The directory (tests put their app's files in it too).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` under the directory, created as a directory.
    pub fn dir(&self, rel: &str) -> PathBuf {
        let d = self.path().join(rel);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// An executable `name` running `body`, found before the system's on
    /// the harness's `PATH`.
    pub fn stand_in(&self, name: &str, body: &str) {
        let path = self.dir("bin").join(name);
        std::fs::write(&path, body).unwrap();
        Command::new("chmod")
            .args(["+x", &path.to_string_lossy()])
            .status()
            .unwrap();
    }

    /// `python3` running `call` (Python, after the prelude) with script
    /// `name` loaded as instance `instance`, calls going to `endpoint`.
    pub fn python(
        &self,
        endpoint: &str,
        name: &str,
        instance: &str,
        call: &str,
        args: &[&str],
    ) -> Command {
        let mut c = Command::new("python3");
        c.args(["-c", &format!("{PRELUDE}{call}")])
            .arg(self.path())
            .args([endpoint, name, instance])
            .args(args)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.path().join("bin").display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            );
        c
    }
}

/// A process's stdout and stderr, one after the other.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

//! The release command gate (`provider/src/userdata/release.py`, beside
//! the instance agent whose calls it uses) against a real SSM API (moto): new
//! instances of a release race to create its marker, exactly one runs the
//! command, the others wait for its verdict; a failure, a timeout or a
//! runner that stopped reporting fails every instance of the release with
//! the exit code and the command's last lines; a release whose command
//! succeeded never runs it again. Each "instance" is an agent process with
//! its metadata stubbed and its HTTPS calls sent to moto; the command is a
//! stand-in for `RUN_SCRIPT release-run` that records each run in a file.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use berth_testbed::Moto;

#[path = "support/scripts.rs"]
mod scripts;
use scripts::{Scripts, text};

/// The gate's call, its clock `args[3]` seconds ahead of the real one.
const GATE: &str = r#"
app_dir, run_dir, run_script, ahead = args
real_time = time.time
agent.time.time = lambda: real_time() + float(ahead)
sys.exit(script.release(app_dir, run_dir, run_script))
"#;

/// One app's files on a shared disk: berth's scripts, the release
/// manifest, a run script whose `release-run` appends to `runs` and then
/// does `body`.
struct Bed {
    scripts: Scripts,
}

impl Bed {
    fn new(marker: &str, timeout: u32, body: &str) -> Bed {
        let scripts = Scripts::new();
        let p = scripts.path();
        let manifest = serde_json::json!({
            "app": "web",
            "release": 7,
            "release_command": {"command": ["migrate"], "timeout": timeout, "marker": marker},
        });
        std::fs::write(
            scripts.dir("app").join("release.json"),
            manifest.to_string(),
        )
        .unwrap();
        let script = format!(
            "#!/bin/bash\ncase $1 in\nrelease-run)\n  echo \"$INSTANCE\" >> {runs}\n  echo $$ > {pid}\n  {body}\n  ;;\nrelease-kill) kill $(cat {pid}) ;;\nesac\n",
            runs = p.join("runs").display(),
            pid = p.join("pid").display(),
        );
        scripts.stand_in("run", &script);
        Bed { scripts }
    }

    fn path(&self) -> &Path {
        self.scripts.path()
    }

    /// Starts instance `id`'s gate (`ahead`: its clock's lead, seconds).
    fn instance(&self, moto: &Moto, id: &str, ahead: u32) -> Child {
        let run_dir = self.run_dir(id);
        std::fs::create_dir_all(&run_dir).unwrap();
        self.scripts
            .python(
                &moto.endpoint(),
                "release",
                id,
                GATE,
                &[
                    &self.path().join("app").to_string_lossy(),
                    &run_dir.to_string_lossy(),
                    &self.path().join("bin/run").to_string_lossy(),
                    &ahead.to_string(),
                ],
            )
            .env("INSTANCE", id)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn run_dir(&self, id: &str) -> PathBuf {
        self.path().join("run-dirs").join(id)
    }

    /// The instances that ran the command, in order.
    fn runs(&self) -> Vec<String> {
        std::fs::read_to_string(self.path().join("runs"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// What instance `id` wrote to its failure file (what its health
    /// reporter then reports).
    fn failure(&self, id: &str) -> String {
        std::fs::read_to_string(self.run_dir(id).join("failure")).unwrap_or_default()
    }
}

/// Waits for `child`; its exit code and output.
fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), text(&out))
}

/// The marker's value in moto.
fn marker(moto: &Moto, name: &str) -> String {
    moto.with_clients(|clients| async move {
        berth_aws::ssm::parameter(&clients, name)
            .await
            .unwrap()
            .map(|(v, _)| v)
            .unwrap_or_default()
    })
}

#[test]
fn instances_racing_for_a_release_run_its_command_exactly_once_and_never_again() {
    let moto = Moto::start().unwrap();
    let name = "/berth/web/release/7-aaaa";
    let bed = Bed::new(name, 60, "sleep 2; echo migrated");
    let racers: Vec<Child> = ["i-1", "i-2", "i-3"]
        .iter()
        .map(|id| bed.instance(&moto, id, 0))
        .collect();
    for (i, child) in racers.into_iter().enumerate() {
        let (code, out) = finish(child);
        assert_eq!(code, 0, "instance {i}: {out}");
    }
    let runs = bed.runs();
    assert_eq!(runs.len(), 1, "exactly one run: {runs:?}");
    let verdict = marker(&moto, name);
    assert!(
        verdict.starts_with(&format!("ok on {}", runs[0])),
        "{verdict}"
    );
    // A reboot, a restart or a later instance of the release: no new run.
    let (code, out) = finish(bed.instance(&moto, "i-4", 0));
    assert_eq!(code, 0, "{out}");
    assert_eq!(bed.runs().len(), 1, "never run again after it succeeded");
}

#[test]
fn a_failing_command_fails_every_instance_with_its_exit_code_and_last_lines() {
    let moto = Moto::start().unwrap();
    let name = "/berth/web/release/7-bbbb";
    let bed = Bed::new(
        name,
        60,
        "echo step 1; echo step 2; echo 'ERROR: relation \"users\" does not exist'; exit 3",
    );
    let a = bed.instance(&moto, "i-1", 0);
    let b = bed.instance(&moto, "i-2", 0);
    let (ca, oa) = finish(a);
    let (cb, ob) = finish(b);
    assert_eq!((ca, cb), (1, 1), "{oa}\n{ob}");
    assert_eq!(bed.runs().len(), 1);
    let want = "release command failed: exit 3: step 1 / step 2 / ERROR: relation \"users\" does not exist";
    for id in ["i-1", "i-2"] {
        let f = bed.failure(id);
        assert_eq!(f.trim(), want, "{id}");
    }
    assert!(marker(&moto, name).starts_with("failed: exit 3"));
}

#[test]
fn a_command_past_its_timeout_is_stopped_and_fails_the_release() {
    let moto = Moto::start().unwrap();
    let name = "/berth/web/release/7-cccc";
    let bed = Bed::new(name, 1, "echo waiting for a lock; exec sleep 60");
    let started = std::time::Instant::now();
    let (code, out) = finish(bed.instance(&moto, "i-1", 0));
    assert_eq!(code, 1, "{out}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "stopped at its timeout, not after the command's own 60 s"
    );
    assert_eq!(
        bed.failure("i-1").trim(),
        "release command failed: timed out after 1 s: waiting for a lock"
    );
}

#[test]
fn a_runner_that_stopped_reporting_fails_the_instances_waiting_for_it() {
    let moto = Moto::start().unwrap();
    let name = "/berth/web/release/8-eeee";
    let bed = Bed::new(name, 60, "exec sleep 60");
    let mut runner = bed.instance(&moto, "i-dead", 0);
    // Once it holds the marker, it dies with its instance.
    for _ in 0..100 {
        if marker(&moto, name).starts_with("running") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(marker(&moto, name), "running on i-dead");
    runner.kill().unwrap();
    let _ = runner.wait();
    if let Ok(pid) = std::fs::read_to_string(bed.path().join("pid")) {
        let _ = Command::new("kill").arg(pid.trim()).status();
    }
    // A waiter whose clock is 200 s later sees a marker unchanged that long.
    let (code, out) = finish(bed.instance(&moto, "i-2", 200));
    assert_eq!(code, 1, "{out}");
    let f = bed.failure("i-2");
    assert!(
        f.starts_with("release command failed: runner i-dead stopped reporting"),
        "{f}"
    );
    assert_eq!(
        bed.runs(),
        vec!["i-dead".to_string()],
        "not run a second time"
    );
}

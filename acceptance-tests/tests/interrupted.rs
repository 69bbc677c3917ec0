//! Interrupted applies, driven by real Terraform against moto and the fleet
//! simulator: Terraform SIGKILLed at seeded-random points of an image
//! rollout (launching, gating, shifting the origin, draining) and of a
//! progressive weighted shift, then applied again; and Ctrl-C (SIGINT →
//! StopProvider) in the middle of a rollout.
//!
//! After each kill: the provider process exits at once (it must not keep
//! changing the cloud behind the next apply), the state still holds the
//! old release and no lock is left; the next plain apply converges to the
//! declared release, the origin answers with healthy instances of that one
//! release only, nothing tagged exists beyond what the state records, the
//! plan after it is empty, and a load generator running across kill and
//! re-apply counts no failed request.
//!
//! The kill points come from a seed printed by each test; set
//! `BERTH_INTERRUPT_SEED=<n>` to replay a run.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use berth_acceptance_tests::bed::{Bed, ZONE};
use berth_acceptance_tests::loadgen::LoadReport;
use berth_acceptance_tests::{PROVIDER, TfVersion, Workspace, flat, leftovers};

/// How long the provider may outlive a SIGKILLed Terraform.
const PROVIDER_EXIT_LIMIT: Duration = Duration::from_millis(1000);

// ---------------------------------------------------------------------------
// Seeded randomness.

/// splitmix64: small, seedable, good enough to pick kill points.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn millis(&mut self, max: u64) -> Duration {
        Duration::from_millis(self.below(max + 1))
    }
}

/// The seed of `test` (printed; `BERTH_INTERRUPT_SEED` replays one).
fn seed(test: &str) -> Rng {
    let seed = std::env::var("BERTH_INTERRUPT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("{test}: seed {seed} (replay with BERTH_INTERRUPT_SEED={seed})");
    Rng(seed)
}

// ---------------------------------------------------------------------------
// The emulator and what berth left in it.

/// The shared bed with a simulator that boots in `boot`.
fn bed(boot: Duration) -> Bed {
    Bed::booting_in(boot).unwrap()
}

/// Every record set of the zone but SOA/NS, as (name, type, set id) →
/// values (weighted sets: `weight=<n>` first).
fn records(bed: &Bed) -> BTreeMap<(String, String, String), Vec<String>> {
    bed.block_on(async {
        let out = bed
            .r53
            .list_resource_record_sets()
            .hosted_zone_id(&bed.zone_id)
            .send()
            .await
            .unwrap();
        out.resource_record_sets()
            .iter()
            .filter(|r| !matches!(r.r#type().as_str(), "SOA" | "NS"))
            .map(|r| {
                let mut values: Vec<String> = r
                    .resource_records()
                    .iter()
                    .map(|x| x.value().to_string())
                    .collect();
                values.sort();
                if let Some(w) = r.weight() {
                    values.insert(0, format!("weight={w}"));
                }
                (
                    (
                        r.name().to_string(),
                        r.r#type().as_str().to_string(),
                        r.set_identifier().unwrap_or_default().to_string(),
                    ),
                    values,
                )
            })
            .collect()
    })
}

/// Every instance of `app` with its state, for failure messages.
fn all_instances(bed: &Bed, app: &str) -> String {
    use aws_sdk_ec2::types::Filter;
    bed.block_on(async {
        let out = bed
            .ec2
            .describe_instances()
            .filters(Filter::builder().name("tag:berth:app").values(app).build())
            .send()
            .await
            .unwrap();
        out.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .map(|i| {
                format!(
                    "{} {:?} {:?}",
                    i.instance_id().unwrap_or_default(),
                    i.state().and_then(|s| s.name()),
                    i.state_transition_reason()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// What a running provider could change: instances and records.
fn snapshot(bed: &Bed, app: &str) -> String {
    format!("{:?} {:?}", bed.live_of(app), records(bed))
}

// ---------------------------------------------------------------------------
// Terraform processes.

/// A Terraform apply running in the background with provider logs at INFO
/// in `log`.
struct Apply {
    child: Child,
    log: PathBuf,
    out: PathBuf,
}

impl Apply {
    fn start(ws: &Workspace, name: &str) -> Apply {
        let log = ws.path().join(format!("{name}.log"));
        let out = ws.path().join(format!("{name}.out"));
        let file = std::fs::File::create(&out).unwrap();
        let child = ws
            .command(&["apply", "-auto-approve", "-no-color"])
            .env("TF_LOG_PROVIDER", "info")
            .env("TF_LOG_PATH", &log)
            // Its own process group: SIGINT reaches Terraform as Ctrl-C in
            // a terminal does, and cleanup can reach every process.
            .process_group(0)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Apply { child, log, out }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Waits until `marker` occurs `n` times in the provider log; false
    /// when the apply ended first.
    fn wait_for(&mut self, marker: &str, n: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if self.log_text().matches(marker).count() >= n {
                return true;
            }
            if self.child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The last rollout/shift progress line logged (which phase a kill
    /// landed in).
    fn last_step(&self) -> String {
        let log = self.log_text();
        let steps = [
            "launch: ",
            "gate: ",
            "shift: ",
            "drain: ",
            "retire: ",
            "rollback: ",
            "weights",
            "bake",
        ];
        log.lines()
            .rev()
            .find_map(|l| {
                let i = steps.iter().filter_map(|s| l.find(s)).min()?;
                Some(l[i..].chars().take(70).collect::<String>())
            })
            .unwrap_or_else(|| "(no step yet)".into())
    }

    /// Waits for the process to end (killing the group after 60 s).
    fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                signal_group(self.child.id(), "KILL");
                return self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Apply {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal_group(self.child.id(), "KILL");
            let _ = self.child.wait();
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{sig} {pid}");
}

fn signal_group(pgid: u32, sig: &str) {
    let _ = std::process::Command::new("kill")
        .args([format!("-{sig}"), "--".into(), format!("-{pgid}")])
        .status();
}

/// (state, parent pid) of a process, `None` once it is gone or a zombie.
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    (state != 'Z' && state != 'X').then_some((state, ppid))
}

/// The berth provider process serving Terraform in `dir`.
fn provider_pid(dir: &Path) -> Option<u32> {
    let want = std::fs::canonicalize(dir).ok()?;
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("terraform-provider-berth"))
                && std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|d| d == want)
                && proc_stat(*pid).is_some()
        })
}

/// What a SIGKILL of Terraform left.
#[derive(Debug)]
struct Killed {
    /// The last progress line before the kill.
    landed: String,
    /// How long the provider outlived Terraform.
    provider_exit: Duration,
}

/// SIGKILLs the Terraform process that runs the provider of `apply` (the
/// process itself for the newest Terraform, the panicwrap child for
/// 1.0.3) and checks that the provider exits at once and changes nothing
/// afterwards.
fn kill_terraform(bed: &Bed, ws: &Workspace, apply: &mut Apply, app: &str) -> Killed {
    let provider = provider_pid(&ws.path()).expect("the provider is running");
    let (_, terraform) = proc_stat(provider).unwrap();
    let landed = apply.last_step();
    signal(terraform, "KILL");
    let killed_at = Instant::now();
    while proc_stat(provider).is_some() {
        assert!(
            killed_at.elapsed() < Duration::from_secs(10),
            "the provider (pid {provider}) keeps running after Terraform was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let provider_exit = killed_at.elapsed();
    let status = apply.wait();
    assert!(!status.success(), "killed Terraform reported success");
    assert!(
        provider_exit < PROVIDER_EXIT_LIMIT,
        "the provider outlived Terraform by {provider_exit:?} (landed at {landed})"
    );
    // Nobody changes the cloud any more.
    let before = snapshot(bed, app);
    std::thread::sleep(Duration::from_millis(700));
    let after = snapshot(bed, app);
    assert_eq!(
        after,
        before,
        "something changed the cloud after the provider died (landed at {landed}):\n{}\n{}",
        all_instances(bed, app),
        apply.log_text()
    );
    Killed {
        landed,
        provider_exit,
    }
}

/// The state of the single resource `addr` (`type.name`) in the local
/// state file.
fn state_attrs(ws: &Workspace, addr: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(ws.path().join("terraform.tfstate")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (ty, name) = addr.split_once('.').unwrap();
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == ty && r["name"] == name)
        .map(|r| r["instances"][0]["attributes"].clone())
        .unwrap_or(serde_json::Value::Null)
}

/// After a kill: the state lock is gone with the process (the local
/// backend's lock is an fcntl lock), and `state_release` is what the
/// state still says.
fn check_no_lock(ws: &Workspace) {
    let r = ws
        .run(&["plan", "-no-color", "-lock-timeout=0s", "-refresh=false"])
        .unwrap();
    assert!(
        r.code == 0 && !r.all().contains("Error acquiring the state lock"),
        "the killed apply left the state locked:\n{}",
        r.all()
    );
}

// ---------------------------------------------------------------------------
// berth_container_app rollouts killed at random points.

fn app_config(name: &str, image: &str) -> String {
    format!(
        r#"{PROVIDER}

resource "berth_container_app" "web" {{
  name     = "{name}"
  image    = "{image}"
  port     = 3000
  replicas = 2

  health_check {{
    path              = "/up"
    interval          = 1
    healthy_threshold = 1
    deadline          = 60
  }}

  origin {{
    zone = "{ZONE}"
    name = "{name}"
    ttl  = 3
  }}

  rollout {{
    batch_size = 1
    drain      = 1
  }}
}}

output "release" {{
  value = berth_container_app.web.release
}}
output "history" {{
  value = berth_container_app.web.release_history
}}
"#
    )
}

/// Where a rollout is killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Launching,
    Gating,
    Shifting,
    Draining,
}

impl Phase {
    const ALL: [Phase; 4] = [
        Phase::Launching,
        Phase::Gating,
        Phase::Shifting,
        Phase::Draining,
    ];

    /// The progress line that starts the phase, how many times it occurs
    /// in a 2-replica rollout with batches of 1, and the longest extra
    /// delay after it.
    fn marker(self) -> (&'static str, usize, u64) {
        match self {
            Phase::Launching => ("launch: ", 2, 250),
            Phase::Gating => ("gate: waiting for", 2, 1200),
            // expose batch 1, expose batch 2, cut over
            Phase::Shifting => ("shift: origin", 3, 300),
            // Early in the drain: resolvers may still hold the old answer, so a
            // re-apply that retired the old release at once would fail requests.
            Phase::Draining => ("drain: waiting", 1, 600),
        }
    }
}

/// The app converged to `release` of `image`: the origin answers with
/// exactly the live instances, all of that release and serving; nothing
/// tagged beyond the state; an empty plan.
fn assert_converged(bed: &Bed, ws: &Workspace, app: &str, release: u64, image: &str) {
    let out = ws.outputs().unwrap();
    assert_eq!(out["release"]["value"], release, "{out}");
    assert_eq!(out["history"]["value"][0]["image"], image, "{out}");
    let state = state_attrs(ws, "berth_container_app.web");
    let live = bed.live_of(app);
    assert_eq!(live.len(), 2, "two replicas: {live:?}");
    assert!(
        live.iter().all(|i| i.release == release.to_string()),
        "one release: {live:?}"
    );
    let mut state_ids: Vec<String> = state["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    state_ids.sort();
    let live_ids: Vec<String> = live.iter().map(|i| i.id.clone()).collect();
    assert_eq!(state_ids, live_ids, "the state records every live instance");
    let record = bed.a_record(app);
    assert_eq!(record.len(), 2, "{record:?}");
    let serving: Vec<String> = bed.sim().serving().into_iter().map(|b| b.id).collect();
    for a in &record {
        let inst = live
            .iter()
            .find(|i| i.ips.contains(a))
            .unwrap_or_else(|| panic!("origin {a} is no live instance: {live:?}"));
        assert!(
            serving.contains(&inst.id),
            "origin {a} ({}) is not healthy",
            inst.id
        );
    }
    assert_eq!(
        bed.security_groups_of(app),
        vec![state["security_group_id"].as_str().unwrap().to_string()],
        "one security group, the one in state"
    );
    let names: Vec<String> = records(bed)
        .keys()
        .map(|(n, t, _)| format!("{n} {t}"))
        .collect();
    assert_eq!(names, vec![format!("{app}.{ZONE}. A")], "only the origin");
    ws.assert_plan_empty().unwrap();
}

/// One line of the figures each test prints.
#[derive(Debug)]
struct Figure {
    phase: Phase,
    extra: Duration,
    killed: Killed,
    state_release: i64,
    reapply: Duration,
}

/// `kills` image rollouts of one app, each SIGKILLed at a seeded-random
/// point and finished by a plain apply, under continuous load.
fn rollouts_killed_at_random_points(v: TfVersion, test: &str, kills: usize) {
    let mut rng = seed(test);
    let bed = bed(Duration::from_millis(500));
    let ws = bed.workspace(v);
    let app = "kill";
    ws.write("main.tf", &app_config(app, "shop:1")).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let load = bed.load(app);

    // Every phase equally often, in a seeded order.
    let offset = rng.below(4) as usize;
    let mut phases: Vec<Phase> = (0..kills).map(|i| Phase::ALL[(i + offset) % 4]).collect();
    for i in (1..phases.len()).rev() {
        phases.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut figures = Vec::new();
    for (run, phase) in phases.into_iter().enumerate() {
        let release = run as u64 + 2;
        let image = format!("shop:{release}");
        let (marker, times, max_extra) = phase.marker();
        let nth = rng.below(times as u64) as usize + 1;
        let extra = rng.millis(max_extra);
        ws.write("main.tf", &app_config(app, &image)).unwrap();
        let mut apply = Apply::start(&ws, &format!("run{run}"));
        assert!(
            apply.wait_for(marker, nth),
            "run {run}: {marker:?} ×{nth} never logged:\n{}\n{}",
            apply.output(),
            apply.log_text()
        );
        std::thread::sleep(extra);
        assert!(
            apply.child.try_wait().unwrap().is_none(),
            "run {run}: the apply ended before the kill:\n{}",
            apply.output()
        );
        let killed = kill_terraform(&bed, &ws, &mut apply, app);
        let state_release = state_attrs(&ws, "berth_container_app.web")["release"]
            .as_i64()
            .unwrap();
        assert_eq!(
            state_release,
            release as i64 - 1,
            "a killed apply records nothing"
        );
        check_no_lock(&ws);

        let t = Instant::now();
        let r = ws.run(&["apply", "-auto-approve", "-no-color"]).unwrap();
        let reapply = t.elapsed();
        assert_eq!(
            r.code,
            0,
            "run {run} ({phase:?}): re-apply failed:\n{}",
            r.all()
        );
        assert!(
            flat(&r.all()).contains(&format!(
                "{app}: release {release} ({image}) healthy on 2/2"
            )),
            "{}",
            r.all()
        );
        assert_converged(&bed, &ws, app, release, &image);
        println!(
            "run {run}: {phase:?} #{nth} +{extra:?}: landed at {:?}; provider gone after {:?}; state release {state_release}; re-apply {reapply:?}",
            killed.landed, killed.provider_exit
        );
        figures.push(Figure {
            phase,
            extra,
            killed,
            state_release,
            reapply,
        });
    }
    std::thread::sleep(Duration::from_millis(2500));
    let report: LoadReport = load.stop();
    println!(
        "{test}: {} kills; load: {} requests, {} failed {:?}",
        figures.len(),
        report.requests,
        report.failures,
        report.failure_reasons
    );
    assert!(
        report.requests > 100 && report.error.is_none(),
        "{report:?}"
    );
    assert_eq!(
        report.failures, 0,
        "failed requests across kills and re-applies: {report:?}"
    );
    for p in Phase::ALL {
        let of: Vec<&Figure> = figures.iter().filter(|f| f.phase == p).collect();
        let n = of.len();
        assert!(n * 4 + 3 >= kills, "{p:?} killed only {n} times");
        println!(
            "{p:?}: {n} kill(s) (extra delays {:?}); provider gone after ≤ {:?}; state still on the old release: {:?}; re-apply ≤ {:?}",
            of.iter().map(|f| f.extra).collect::<Vec<_>>(),
            of.iter().map(|f| f.killed.provider_exit).max(),
            of.iter().map(|f| f.state_release).collect::<Vec<_>>(),
            of.iter().map(|f| f.reapply).max()
        );
    }

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    let left = bed
        .rt
        .block_on(leftovers::leftovers(&bed.moto.endpoint(), &["us-east-1"]))
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn image_rollouts_killed_at_random_points_converge_on_the_next_apply() {
    rollouts_killed_at_random_points(
        TfVersion::Latest,
        "image_rollouts_killed_at_random_points_converge_on_the_next_apply",
        12,
    );
}

#[test]
fn image_rollouts_killed_at_random_points_converge_on_the_next_apply_terraform_1_0() {
    rollouts_killed_at_random_points(
        TfVersion::V1_0,
        "image_rollouts_killed_at_random_points_converge_on_the_next_apply_terraform_1_0",
        2,
    );
}

// ---------------------------------------------------------------------------
// A progressive weighted shift killed mid-way.

fn route_config(paas: u32, green: u32, bake: Option<u32>) -> String {
    let app = |name: &str, image: &str| {
        format!(
            r#"
resource "berth_container_app" "{name}" {{
  name     = "{name}"
  image    = "{image}"
  port     = 8080
  replicas = 1
  health_check {{
    interval          = 1
    healthy_threshold = 1
    deadline          = 60
  }}
  origin {{
    zone = "{ZONE}"
    name = "{name}"
    ttl  = 1
  }}
  rollout {{
    drain = 1
  }}
}}
"#
        )
    };
    let shift = bake
        .map(|b| {
            format!(
                "\n  shift {{\n    to    = \"green\"\n    steps = [10, 25, 50, 100]\n    bake  = {b}\n  }}"
            )
        })
        .unwrap_or_default();
    format!(
        r#"{PROVIDER}
{paas_app}{green_app}
resource "berth_weighted_route" "api" {{
  zone = "{ZONE}"
  name = "api"
  ttl  = 1

  target {{
    id       = "paas"
    hostname = berth_container_app.paas.origin_fqdn
    weight   = {paas}
  }}
  target {{
    id       = "green"
    hostname = berth_container_app.green.origin_fqdn
    app      = berth_container_app.green.name
    weight   = {green}
  }}{shift}
}}
"#,
        paas_app = app("paas", "old-platform:1"),
        green_app = app("green", "shop:2"),
    )
}

#[test]
fn a_progressive_shift_killed_mid_way_ends_at_the_declared_weights() {
    let mut rng = seed("a_progressive_shift_killed_mid_way_ends_at_the_declared_weights");
    let bed = bed(Duration::from_millis(300));
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &route_config(100, 0, None)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let load = bed.load("api");
    std::thread::sleep(Duration::from_millis(300));
    let mut lines = Vec::new();
    for (run, step) in [10, 25, 50].into_iter().enumerate() {
        // Back to the old platform in one step, then shift and kill.
        ws.write("main.tf", &route_config(100, 0, None)).unwrap();
        ws.apply().unwrap();
        assert_eq!(bed.weights("api")["green"], 0);
        ws.write("main.tf", &route_config(0, 100, Some(2))).unwrap();
        let mut apply = Apply::start(&ws, &format!("shift{run}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while bed.weights("api").get("green").copied() != Some(step) {
            assert!(
                Instant::now() < deadline && apply.child.try_wait().unwrap().is_none(),
                "step {step} never came:\n{}",
                apply.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let extra = rng.millis(1900);
        std::thread::sleep(extra);
        let at_kill = bed.weights("api")["green"];
        let killed = kill_terraform(&bed, &ws, &mut apply, "green");
        check_no_lock(&ws);
        assert_eq!(
            state_attrs(&ws, "berth_weighted_route.api")["target"][1]["weight"],
            0,
            "the state still has the weights from before"
        );

        let r = ws.run(&["apply", "-auto-approve", "-no-color"]).unwrap();
        assert_eq!(r.code, 0, "{}", r.all());
        assert_eq!(
            bed.weights("api"),
            [("green".to_string(), 100), ("paas".to_string(), 0)].into(),
            "the declared weights"
        );
        ws.assert_plan_empty().unwrap();
        let names: Vec<String> = records(&bed)
            .keys()
            .map(|(n, t, s)| format!("{n} {t} {s}"))
            .collect();
        assert_eq!(
            names,
            vec![
                format!("api.{ZONE}. CNAME green"),
                format!("api.{ZONE}. CNAME paas"),
                format!("green.{ZONE}. A "),
                format!("paas.{ZONE}. A "),
            ],
            "nothing left over"
        );
        assert_eq!(bed.health_checks(), 0);
        for app in ["paas", "green"] {
            assert_eq!(bed.live_of(app).len(), 1, "{app}");
            assert_eq!(bed.security_groups_of(app).len(), 1, "{app}");
        }
        lines.push(format!(
            "run {run}: killed {extra:?} after green={step} (green={at_kill} at the kill, {}); provider gone after {:?}",
            killed.landed, killed.provider_exit
        ));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let report = load.stop();
    for l in &lines {
        println!("{l}");
    }
    println!(
        "load: {} requests, {} failed {:?}, by image {:?}",
        report.requests, report.failures, report.failure_reasons, report.by_image
    );
    assert_eq!(report.failures, 0, "{report:?}");
    assert!(report.by_image.contains_key("shop:2"), "{report:?}");

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    let left = bed
        .rt
        .block_on(leftovers::leftovers(&bed.moto.endpoint(), &["us-east-1"]))
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

// ---------------------------------------------------------------------------
// Ctrl-C: Terraform relays StopProvider.

/// SIGINT to Terraform's process group at `marker` (×`nth`): berth stops
/// waiting within seconds, the app keeps serving healthy instances, the
/// error says what it left, and a plain apply converges.
fn ctrl_c_at(v: TfVersion, app: &str, marker: &str, nth: usize) -> String {
    let bed = bed(Duration::from_millis(500));
    let ws = bed.workspace(v);
    // A long drain, so a stop that did not stop waiting would show.
    let config = |image: &str| app_config(app, image).replace("drain      = 1", "drain = 60");
    ws.write("main.tf", &config("shop:1")).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let load = bed.load(app);

    ws.write("main.tf", &config("shop:2")).unwrap();
    let mut apply = Apply::start(&ws, "stop");
    assert!(apply.wait_for(marker, nth), "{}", apply.output());
    std::thread::sleep(Duration::from_millis(200));
    let sent = Instant::now();
    signal_group(apply.child.id(), "INT");
    let status = apply.wait();
    let stopped = sent.elapsed();
    let text = flat(&apply.output());
    assert!(!status.success(), "{text}");
    assert!(
        stopped < Duration::from_secs(10),
        "berth stopped waiting only after {stopped:?}: {text}"
    );
    assert!(text.contains("interrupted during"), "{text}");
    // The app keeps serving: the origin answers with healthy instances.
    let record = bed.a_record(app);
    let live = bed.live_of(app);
    let serving: Vec<String> = bed.sim().serving().into_iter().map(|b| b.id).collect();
    assert!(!record.is_empty());
    for a in &record {
        let inst = live.iter().find(|i| i.ips.contains(a)).unwrap();
        assert!(serving.contains(&inst.id), "{a} not healthy");
    }
    let left: Vec<String> = live
        .iter()
        .filter(|i| i.release == "2")
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(left.len(), 2, "nothing terminated: {live:?}");
    for id in &left {
        assert!(text.contains(id.as_str()), "names {id}: {text}");
    }
    std::thread::sleep(Duration::from_millis(2500));
    let during = load.report();
    assert_eq!(during.failures, 0, "{during:?}");

    // Without the long drain, a plain apply finishes the rollout with the
    // instances left running.
    ws.write("main.tf", &app_config(app, "shop:2")).unwrap();
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]).unwrap();
    assert_eq!(r.code, 0, "{}", r.all());
    assert_converged(&bed, &ws, app, 2, "shop:2");
    let now: Vec<String> = bed.live_of(app).into_iter().map(|i| i.id).collect();
    assert_eq!(now, left, "adopted, not launched again");
    let report = load.stop();
    assert_eq!(report.failures, 0, "{report:?}");
    println!("Ctrl-C at {marker:?}: stopped after {stopped:?}; said: {text}");
    text
}

#[test]
fn ctrl_c_while_draining_stops_at_once_and_says_what_serves() {
    let text = ctrl_c_at(TfVersion::Latest, "stopdrain", "drain: waiting", 1);
    assert!(
        text.contains(
            "interrupted during drain; release 1 keeps serving (2 target(s)); origin restored to 2 target(s); 2 instance(s) of release 2 left running out of DNS"
        ),
        "{text}"
    );
    assert!(text.contains("nothing terminated"), "{text}");
}

#[test]
fn ctrl_c_while_a_second_batch_boots_stops_at_once_and_says_what_serves() {
    // Batch 1 of release 2 already serves beside release 1; batch 2 boots.
    let text = ctrl_c_at(TfVersion::Latest, "stopgate", "gate: waiting for", 2);
    assert!(
        text.contains(
            "interrupted during gate; release 1 keeps serving (2 target(s)); origin restored to 2 target(s); 2 instance(s) of release 2 left running out of DNS"
        ),
        "{text}"
    );
    assert!(text.contains("nothing terminated"), "{text}");
}

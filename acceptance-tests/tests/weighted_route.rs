//! `berth_weighted_route` driven by real Terraform against moto and the
//! fleet simulator: a migration from the old platform to a berth app in
//! 10/25/50/100 steps observed by a watcher sampling Route53 (0 failed
//! requests), a failed gate that reverts, drift, import, health checks and
//! a destroy that leaves no record or health check.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_acceptance_tests::bed::{Bed, ZONE, fqdn};
use berth_acceptance_tests::{PROVIDER, TfVersion, clients, flat};

/// The shared bed with a simulator whose instances boot in 300 ms.
fn bed() -> Bed {
    Bed::booting_in(Duration::from_millis(300)).unwrap()
}

/// Weighted sets of `name` as set id → weight, read on `rt` (the watcher's
/// thread has its own).
fn weights(
    endpoint: &str,
    zone_id: &str,
    name: &str,
    rt: &tokio::runtime::Runtime,
) -> BTreeMap<String, i64> {
    rt.block_on(clients::weighted_sets(endpoint, zone_id, &fqdn(name)))
        .unwrap()
}

/// Samples the weights of `name` every 50 ms and keeps each change; the
/// last sample is taken after `stop`.
struct Watcher {
    seen: Arc<Mutex<Vec<BTreeMap<String, i64>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn start(bed: &Bed, name: &str) -> Watcher {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (seen.clone(), stop.clone());
        let (endpoint, zone, name) = (bed.moto.endpoint(), bed.zone_id.clone(), name.to_string());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            loop {
                // A stop seen before the sample: this sample is later than
                // every change made before `stop`, so the last one is kept.
                let stopping = st.load(Ordering::Relaxed);
                let w = weights(&endpoint, &zone, &name, &rt);
                let mut v = s.lock().unwrap();
                if v.last() != Some(&w) {
                    v.push(w);
                }
                drop(v);
                if stopping {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Watcher {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> Vec<BTreeMap<String, i64>> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.seen.lock().unwrap().clone()
    }
}

fn app(name: &str, image: &str) -> String {
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
}

/// The migration config; `bake` (seconds) adds the 10/25/50/100 shift.
fn migration(paas: u32, green: u32, bake: Option<u32>) -> String {
    let shift = match bake {
        Some(bake) => format!(
            r#"
  shift {{
    to    = "green"
    steps = [10, 25, 50, 100]
    bake  = {bake}
  }}"#
        ),
        None => String::new(),
    };
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
  }}
{shift}
}}

output "shift_plan" {{
  value = berth_weighted_route.api.shift_plan
}}
"#,
        paas_app = app("paas", "old-platform:1"),
        green_app = app("green", "shop:2"),
    )
}

fn migration_in_steps(v: TfVersion) {
    let bed = bed();
    let ws = bed.workspace(v);
    ws.write("main.tf", &migration(100, 0, None)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(
        bed.weights("api"),
        [("green".to_string(), 0), ("paas".to_string(), 100)].into()
    );

    ws.write("main.tf", &migration(0, 100, Some(2))).unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    assert!(
        plan.stdout.contains("weights: green=10, paas=90")
            && plan.stdout.contains("weights: green=50, paas=50")
            && plan.stdout.contains("bake: 2 s"),
        "the plan shows the steps:\n{}",
        plan.stdout
    );
    let load = bed.load("api");
    std::thread::sleep(Duration::from_millis(500));
    let watcher = Watcher::start(&bed, "api");
    let r = ws.apply().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let seen = watcher.stop();
    let report = load.stop();
    assert!(
        flat(&r.all()).contains("traffic shifted in 4 steps"),
        "{}",
        r.all()
    );
    let green: Vec<i64> = seen.iter().map(|w| w["green"]).collect();
    assert_eq!(green, vec![0, 10, 25, 50, 100], "{seen:?}");
    assert_eq!(report.failures, 0, "{report:?}");
    assert!(
        report.by_image.contains_key("old-platform:1") && report.by_image.contains_key("shop:2"),
        "{report:?}"
    );
    ws.assert_plan_empty().unwrap();

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(bed.weights("api").is_empty());
    assert_eq!(bed.health_checks(), 0);
}

#[test]
fn migration_from_the_old_platform_in_steps_with_zero_failures_latest() {
    migration_in_steps(TfVersion::Latest);
}

#[test]
fn migration_from_the_old_platform_in_steps_with_zero_failures_terraform_1_0() {
    migration_in_steps(TfVersion::V1_0);
}

#[test]
fn a_failed_gate_reverts_and_leaves_the_old_target_at_100() {
    let bed = bed();
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &migration(100, 0, None)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();

    // A bake long enough that the break below always lands inside it
    // (health is watched during the bake), however loaded the machine.
    ws.write("main.tf", &migration(0, 100, Some(8))).unwrap();
    let watcher = Watcher::start(&bed, "api");
    let child = ws
        .command(&["apply", "-auto-approve", "-no-color"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first step is in, the green app turns unhealthy.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while bed.weights("api").get("green").copied() != Some(10) {
        assert!(
            std::time::Instant::now() < deadline,
            "first step never came"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    bed.rt.block_on(async {
        let ec2 = &bed.ec2;
        let out = ec2
            .describe_instances()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag:berth:app")
                    .values("green")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        for r in out.reservations() {
            for i in r.instances() {
                ec2.create_tags()
                    .resources(i.instance_id().unwrap())
                    .tags(
                        aws_sdk_ec2::types::Tag::builder()
                            .key("berth:health")
                            .value("unhealthy: GET / answered 503")
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    let seen = watcher.stop();
    let text = flat(&format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("Traffic shift on api.berth.test failed"),
        "{text}"
    );
    assert!(
        text.contains("target green failed its health gate before step 2"),
        "{text}"
    );
    assert!(text.contains("GET / answered 503"), "{text}");
    assert!(text.contains("reverted to green=0, paas=100"), "{text}");
    assert_eq!(
        bed.weights("api"),
        [("green".to_string(), 0), ("paas".to_string(), 100)].into()
    );
    let green: Vec<i64> = seen.iter().map(|w| w["green"]).collect();
    assert_eq!(green, vec![0, 10, 0], "{seen:?}");
}

fn static_route(a: u32, b: u32, health_check: bool) -> String {
    let hc = if health_check {
        r#"
    health_check {
      protocol = "HTTPS"
      path     = "/up"
    }"#
    } else {
        ""
    };
    format!(
        r#"{PROVIDER}

resource "berth_weighted_route" "ab" {{
  zone = "{ZONE}"
  name = "ab"

  target {{
    id       = "a"
    hostname = "a.example.net"
    weight   = {a}
  }}
  target {{
    id       = "b"
    hostname = "b.example.net"
    weight   = {b}{hc}
  }}
}}
"#
    )
}

#[test]
fn drift_import_health_checks_and_destroy() {
    let bed = bed();
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &static_route(70, 30, true)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(bed.health_checks(), 1, "one health check for target b");

    // Weights changed outside Terraform: drift, and apply puts them back.
    bed.rt.block_on(async {
        use aws_sdk_route53::types::*;
        let rs = ResourceRecordSet::builder()
            .name(format!("ab.{ZONE}."))
            .r#type(RrType::Cname)
            .set_identifier("a")
            .weight(10)
            .ttl(60)
            .resource_records(
                ResourceRecord::builder()
                    .value("a.example.net")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        bed.r53
            .change_resource_record_sets()
            .hosted_zone_id(&bed.zone_id)
            .change_batch(
                ChangeBatch::builder()
                    .changes(
                        Change::builder()
                            .action(ChangeAction::Upsert)
                            .resource_record_set(rs)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let plan = ws
        .run(&["plan", "-detailed-exitcode", "-no-color"])
        .unwrap();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("~ weight"), "{}", plan.stdout);
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(bed.weights("ab")["a"], 70);

    // Removing the health check deletes it.
    ws.write("main.tf", &static_route(70, 30, false)).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(bed.health_checks(), 0);

    // Import by zone / name / type into a fresh workspace, on both versions.
    for v in [TfVersion::Latest, TfVersion::V1_0] {
        let other = bed.workspace(v);
        other
            .write("main.tf", &static_route(70, 30, false))
            .unwrap();
        other.init().unwrap();
        other
            .ok(&[
                "import",
                "-no-color",
                "berth_weighted_route.ab",
                &format!("{ZONE}/ab/CNAME"),
            ])
            .unwrap();
        other.assert_plan_empty().unwrap();
    }

    // Bad input is a diagnostic on the attribute, before any API call.
    let bad = static_route(70, 40, false);
    ws.write("main.tf", &bad).unwrap();
    let r = ws.run(&["plan", "-no-color"]).unwrap();
    assert_ne!(r.code, 0);
    assert!(
        flat(&r.all()).contains("add up to 110 (") && flat(&r.all()).contains("), not 100"),
        "{}",
        r.all()
    );

    ws.write("main.tf", &static_route(70, 30, false)).unwrap();
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(bed.weights("ab").is_empty());
    assert_eq!(bed.health_checks(), 0);
}

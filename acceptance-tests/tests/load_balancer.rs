//! `berth_container_app` in load-balancer mode, driven by real Terraform
//! against moto (ELBv2, Auto Scaling, EC2), the fleet simulator and the
//! bed's load balancer: a rollout under continuous load through the
//! load balancer, capacity Auto Scaling moved that is no change in the
//! plan, a broken release that never gets weight and is removed, two apps
//! on one listener rolled out independently, and a destroy that leaves no
//! group, target group, template or rule behind.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth_acceptance_tests::alb::{Alb, users_listener, users_target_group};
use berth_acceptance_tests::bed::Bed;
use berth_acceptance_tests::loadgen::{LoadGen, LoadOptions};
use berth_acceptance_tests::{PROVIDER, TfVersion, Workspace, flat};

const HOST: &str = "shop.example.com";

fn config(listener: &str, image: &str) -> String {
    format!(
        r#"{PROVIDER}

resource "berth_container_app" "web" {{
  name     = "web"
  image    = "{image}"
  port     = 3000
  replicas = 2

  load_balancer {{
    listener_arn = "{listener}"
    hosts        = ["{HOST}"]
    priority     = 10
  }}

  capacity {{
    min = 1
    max = 4
    schedule {{
      name       = "business-hours"
      recurrence = "0 8 * * MON-FRI"
      time_zone  = "Europe/Berlin"
      desired    = 3
    }}
    target_tracking {{
      metric = "cpu"
      target = 60
    }}
  }}

  health_check {{
    path              = "/up"
    interval          = 5
    timeout           = 2
    healthy_threshold = 2
    deadline          = 60
  }}

  rollout {{
    drain = 1
  }}
}}

output "serving" {{
  value = berth_container_app.web.origin_addresses
}}
"#
    )
}

/// What every scenario here stands on: the bed with the simulator
/// (instances boot in 0.5 s), clients for ELBv2 and Auto Scaling, the
/// user's ALB listener, and the bed's load balancer playing it.
struct Stage {
    bed: Bed,
    c: berth_aws::Clients,
    listener: String,
    alb: Alb,
}

impl Stage {
    fn new() -> Stage {
        let bed = Bed::booting_in(Duration::from_millis(500)).unwrap();
        let c = bed
            .block_on(berth_aws::config::load(&berth_aws::Settings::emulator(
                bed.moto.endpoint(),
            )))
            .unwrap();
        let (_, listener) = bed.block_on(users_listener(&c, "shop")).unwrap();
        let alb = Alb::start(
            &bed.moto.endpoint(),
            &listener,
            "127.0.0.1",
            bed.sim().resolver(),
        )
        .unwrap();
        Stage {
            bed,
            c,
            listener,
            alb,
        }
    }

    /// A workspace on `v` that has applied `main_tf` (app `web`), once the
    /// bed's load balancer forwards to release 1; release 1's group ARN.
    fn created(&self, v: TfVersion, main_tf: &str) -> (Workspace, String) {
        let ws = self.bed.workspace(v);
        ws.write("main.tf", main_tf).unwrap();
        ws.init().unwrap();
        ws.apply().unwrap();
        let first = target_group(&self.bed, &self.c, "berth-web-1").unwrap();
        forwarding(&self.alb, &first);
        (ws, first)
    }
}

fn groups(bed: &Bed, c: &berth_aws::Clients) -> Vec<String> {
    bed.block_on(berth_aws::asg::app_groups(c, "web")).unwrap()
}

fn target_group(bed: &Bed, c: &berth_aws::Clients, name: &str) -> Option<String> {
    bed.block_on(berth_aws::lb::target_group_arn(c, name))
        .unwrap()
}

fn rollout_through_the_load_balancer(v: TfVersion) {
    let Stage {
        bed,
        c,
        listener,
        alb,
    } = Stage::new();
    let ws = bed.workspace(v);
    ws.write("main.tf", &config(&listener, "shop:1")).unwrap();
    ws.init().unwrap();
    let created = ws.apply().unwrap();
    assert!(
        created
            .all()
            .contains("web: release 1 (shop:1) healthy on 2/2"),
        "{}",
        created.all()
    );
    ws.assert_plan_empty().unwrap();
    assert_eq!(groups(&bed, &c), vec!["berth-web-1".to_string()]);
    let rule = bed
        .block_on(berth_aws::lb::app_rule(&c, &listener, "web"))
        .unwrap()
        .expect("the app's rule");
    assert_eq!(rule.priority, 10);
    assert_eq!(rule.hosts, vec![HOST.to_string()]);
    let first = target_group(&bed, &c, "berth-web-1").expect("release 1's target group");
    assert_eq!(rule.weights.get(&first), Some(&1), "{rule:?}");
    let schedules = bed
        .block_on(berth_aws::asg::schedules(&c, "berth-web-1"))
        .unwrap();
    assert_eq!(schedules.len(), 1, "{schedules:?}");
    assert_eq!(schedules[0].desired, Some(3));
    let policies = bed
        .block_on(berth_aws::asg::target_tracking(&c, "berth-web-1"))
        .unwrap();
    assert_eq!(
        policies.values().next().map(|(m, t)| (m.as_str(), *t)),
        Some(("ASGAverageCPUUtilization", 60.0)),
        "{policies:?}"
    );

    // Continuous load through the load balancer while release 2 rolls out.
    forwarding(&alb, &first);
    let load = LoadGen::through(alb.addr(), HOST, LoadOptions::default()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while load.report().successes() < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "no traffic through the load balancer: {:?}",
            load.report()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    ws.write("main.tf", &config(&listener, "shop:2")).unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    assert!(
        flat(&plan.stdout).contains("launch 2 × release 2 (shop:2)"),
        "{}",
        plan.stdout
    );
    let updated = ws.apply().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let report = load.stop();
    eprintln!(
        "through the load balancer during the rollout: {} requests, {} failed, by image {:?}",
        report.requests, report.failures, report.by_image
    );
    assert_eq!(report.failures, 0, "{report:?}\n{}", updated.all());
    assert!(
        report.by_image.get("shop:2").is_some_and(|n| *n > 0),
        "{report:?}"
    );
    assert!(
        updated.all().contains("release 1 retired"),
        "{}",
        updated.all()
    );
    ws.assert_plan_empty().unwrap();
    assert_eq!(groups(&bed, &c), vec!["berth-web-2".to_string()]);
    assert_eq!(target_group(&bed, &c, "berth-web-1"), None);
    let second = target_group(&bed, &c, "berth-web-2").unwrap();
    let rule = bed
        .block_on(berth_aws::lb::app_rule(&c, &listener, "web"))
        .unwrap()
        .unwrap();
    assert_eq!(rule.weights.len(), 1, "{rule:?}");
    assert_eq!(rule.weights.get(&second), Some(&1));
    let seen = alb.weights_seen();
    assert!(
        seen.iter()
            .any(|(_, _, w)| w.contains(&(first.clone(), 1)) && w.contains(&(second.clone(), 0))),
        "the new target group joined at weight 0 before the cutover: {seen:?}"
    );

    // Auto Scaling moves the desired count: the plan stays empty.
    bed.block_on(berth_aws::asg::set_capacity(
        &c,
        "berth-web-2",
        1,
        4,
        Some(3),
    ))
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while bed.live_of("web").len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            bed.live_of("web")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    ws.assert_plan_empty().unwrap();

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(groups(&bed, &c).is_empty());
    assert_eq!(target_group(&bed, &c, "berth-web-2"), None);
    assert!(
        bed.block_on(berth_aws::lb::app_rule(&c, &listener, "web"))
            .unwrap()
            .is_none()
    );
    assert!(bed.live_of("web").is_empty(), "{:?}", bed.live_of("web"));
}

#[test]
fn a_rollout_behind_the_load_balancer_moves_the_rule_with_zero_failed_requests() {
    rollout_through_the_load_balancer(TfVersion::Latest);
}

#[test]
fn a_rollout_behind_the_load_balancer_works_on_terraform_1_0() {
    rollout_through_the_load_balancer(TfVersion::V1_0);
}

/// A small app `name` on `host` at `priority`, without capacity blocks.
fn plain(listener: &str, name: &str, host: &str, priority: u32, image: &str) -> String {
    format!(
        r#"
resource "berth_container_app" "{name}" {{
  name     = "{name}"
  image    = "{image}"
  port     = 3000
  replicas = 1

  load_balancer {{
    listener_arn = "{listener}"
    hosts        = ["{host}"]
    priority     = {priority}
  }}

  health_check {{
    path              = "/up"
    interval          = 5
    timeout           = 2
    healthy_threshold = 2
    unhealthy_threshold = 2
    deadline          = 60
  }}

  rollout {{
    drain = 1
  }}
}}
"#
    )
}

/// Waits until the bed's load balancer forwards to group `arn` at weight
/// 1 (it reads moto every 200 ms, as an ALB takes a moment to apply a
/// rule change): traffic from before the app first served is not a
/// rollout's.
fn forwarding(alb: &Alb, arn: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !alb
        .weights_seen()
        .iter()
        .any(|(_, _, w)| w.contains(&(arn.to_string(), 1)))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            alb.weights_seen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `load` has `n` successes.
fn warm(load: &LoadGen, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while load.report().successes() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "no traffic through the load balancer: {:?}",
            load.report()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `holds`, failing with `what` after `within`.
fn until(what: &str, within: Duration, holds: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !holds() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_broken_release_never_gets_weight_and_is_removed() {
    let stage = Stage::new();
    let Stage {
        bed,
        c,
        listener,
        alb,
    } = &stage;
    let cfg = |image: &str| format!("{PROVIDER}{}", plain(listener, "web", HOST, 10, image));
    let (ws, good) = stage.created(TfVersion::Latest, &cfg("shop:1"));
    let load = LoadGen::through(alb.addr(), HOST, LoadOptions::default()).unwrap();
    warm(&load, 20);

    ws.write("main.tf", &cfg("shop:broken")).unwrap();
    let failed = ws.run(&["apply", "-auto-approve", "-no-color"]).unwrap();
    let report = load.stop();
    assert_ne!(failed.code, 0, "{}", failed.all());
    assert!(
        flat(&failed.all()).contains("release 2 failed its health gate"),
        "{}",
        failed.all()
    );
    assert_eq!(report.failures, 0, "{report:?}\n{:?}", alb.weights_seen());
    assert_eq!(report.by_image.keys().collect::<Vec<_>>(), vec!["shop:1"]);
    // The broken release's group, target group and template are gone, and
    // the rule forwards to release 1 alone; its weight never moved.
    assert_eq!(groups(bed, c), vec!["berth-web-1".to_string()]);
    assert_eq!(target_group(bed, c, "berth-web-2"), None);
    let rule = bed
        .block_on(berth_aws::lb::app_rule(c, listener, "web"))
        .unwrap()
        .unwrap();
    assert_eq!(rule.weights, [(good.clone(), 1)].into_iter().collect());
    for (_, _, w) in alb.weights_seen() {
        assert!(
            w.iter().all(|(g, n)| g == &good || *n == 0),
            "a forward gave the broken release weight: {w:?}"
        );
    }
    // Back to the good image: nothing to do.
    ws.write("main.tf", &cfg("shop:1")).unwrap();
    ws.assert_plan_empty().unwrap();
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(groups(bed, c).is_empty());
}

#[test]
fn two_apps_on_one_listener_by_host_name_roll_out_independently() {
    let Stage {
        bed,
        c,
        listener,
        alb,
    } = Stage::new();
    let ws = bed.workspace(TfVersion::Latest);
    let cfg = |web: &str| {
        format!(
            "{PROVIDER}{}{}",
            plain(&listener, "web", "www.example.com", 10, web),
            plain(&listener, "api", "api.example.com", 20, "api:1")
        )
    };
    ws.write("main.tf", &cfg("web:1")).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let api_rule = bed
        .block_on(berth_aws::lb::app_rule(&c, &listener, "api"))
        .unwrap()
        .unwrap();
    for app in ["web", "api"] {
        let arn = target_group(&bed, &c, &format!("berth-{app}-1")).unwrap();
        forwarding(&alb, &arn);
    }
    let web_load = LoadGen::through(alb.addr(), "www.example.com", LoadOptions::default()).unwrap();
    let api_load = LoadGen::through(alb.addr(), "api.example.com", LoadOptions::default()).unwrap();
    warm(&web_load, 10);
    warm(&api_load, 10);

    ws.write("main.tf", &cfg("web:2")).unwrap();
    ws.apply().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let (web, api) = (web_load.stop(), api_load.stop());
    eprintln!(
        "web: {} requests, {} failed, {:?}; api: {} requests, {} failed, {:?}",
        web.requests, web.failures, web.by_image, api.requests, api.failures, api.by_image
    );
    assert_eq!(web.failures, 0, "{web:?}");
    assert!(web.by_image.contains_key("web:2"), "{web:?}");
    assert_eq!(api.failures, 0, "{api:?}");
    assert_eq!(api.by_image.keys().collect::<Vec<_>>(), vec!["api:1"]);
    // The other app's rule did not move.
    let after = bed
        .block_on(berth_aws::lb::app_rule(&c, &listener, "api"))
        .unwrap()
        .unwrap();
    assert_eq!(after, api_rule);
    let mut all = groups(&bed, &c);
    all.extend(bed.block_on(berth_aws::asg::app_groups(&c, "api")).unwrap());
    assert_eq!(
        all,
        vec!["berth-web-2".to_string(), "berth-api-1".to_string()]
    );
    ws.assert_plan_empty().unwrap();
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
}

#[test]
fn an_instance_that_dies_between_applies_is_replaced_and_traffic_recovers_without_terraform() {
    let stage = Stage::new();
    let Stage {
        bed,
        c: _,
        listener,
        alb,
    } = &stage;
    alb.play_auto_scaling();
    let cfg = format!(
        "{PROVIDER}{}",
        plain(listener, "web", HOST, 10, "shop:1").replace("replicas = 1", "replicas = 2")
    );
    let (ws, arn) = stage.created(TfVersion::Latest, &cfg);
    let before: Vec<String> = bed.live_of("web").into_iter().map(|i| i.id).collect();
    assert_eq!(before.len(), 2);
    let load = LoadGen::through(alb.addr(), HOST, LoadOptions::default()).unwrap();
    warm(&load, 20);

    // One instance dies; EC2 still says it runs.
    let dead = before[0].clone();
    let died = std::time::Instant::now();
    assert!(bed.sim().crash(&dead));
    // The load balancer stops sending it requests once its checks fail
    // (2 in a row, 5 s apart: within 15 s of the death)...
    while alb.health(&arn, &dead) != Some(berth_acceptance_tests::alb::TargetHealth::Unhealthy) {
        assert!(died.elapsed() < Duration::from_secs(16), "not detected");
        std::thread::sleep(Duration::from_millis(20));
    }
    let detected = died.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let at_detection = load.report();
    // ... and Auto Scaling replaces it.
    let deadline = died + Duration::from_secs(60);
    let replacement = loop {
        let live: Vec<String> = bed.live_of("web").into_iter().map(|i| i.id).collect();
        let new: Vec<&String> = live.iter().filter(|i| !before.contains(i)).collect();
        if !live.contains(&dead)
            && let Some(id) = new.first()
            && alb.health(&arn, id) == Some(berth_acceptance_tests::alb::TargetHealth::Healthy)
        {
            break (*id).clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no healthy replacement: live {live:?}, replaced {:?}",
            alb.replaced()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let recovered = died.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    let report = load.stop();
    eprintln!(
        "instance {dead} died: the load balancer failed it after {:.1} s, {} of {} requests failed until then; its replacement {replacement} served {:.1} s after the death; {} failed after the detection ({} requests in all)",
        detected.as_secs_f64(),
        at_detection.failures,
        at_detection.requests,
        recovered.as_secs_f64(),
        report.failures - at_detection.failures,
        report.requests
    );
    // Failed requests stop with the detection; none while it is replaced.
    assert_eq!(report.failures, at_detection.failures, "{report:?}");
    assert!(
        at_detection.failures < at_detection.requests / 2,
        "{at_detection:?}"
    );
    // Capacity is back without Terraform, and the plan says nothing.
    assert_eq!(bed.live_of("web").len(), 2);
    ws.assert_plan_empty().unwrap();
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(bed.live_of("web").is_empty());
}

/// App `web` on `image` whose rollouts shift the rule 10%, 50%, 100%
/// with `bake` seconds between steps.
fn stepped(listener: &str, image: &str, bake: u32) -> String {
    let app = plain(listener, "web", HOST, 10, image).replace(
        "    priority     = 10\n",
        &format!(
            "    priority     = 10\n    shift {{\n      steps = [10, 50]\n      bake  = {bake}\n    }}\n"
        ),
    );
    format!("{PROVIDER}{app}")
}

#[test]
fn a_stepped_shift_moves_the_rule_through_the_declared_weights_under_load() {
    let stage = Stage::new();
    let Stage {
        bed,
        c,
        listener,
        alb,
    } = &stage;
    let cfg = |image: &str| stepped(listener, image, 2);
    let (ws, first) = stage.created(TfVersion::Latest, &cfg("shop:1"));
    let load = LoadGen::through(alb.addr(), HOST, LoadOptions::default()).unwrap();
    warm(&load, 20);

    ws.write("main.tf", &cfg("shop:2")).unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    for line in [
        "shift: release 2 gets 10% of the rule's traffic",
        "bake: 2 s",
        "shift: release 2 gets 50% of the rule's traffic",
        "shift: release 2 gets 100% of the rule's traffic",
    ] {
        assert!(plan.stdout.contains(line), "{line}:\n{}", plan.stdout);
    }
    ws.apply().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let report = load.stop();
    assert_eq!(report.failures, 0, "{report:?}");
    let second = target_group(bed, c, "berth-web-2").unwrap();
    // The bed's load balancer saw each declared split, in order.
    let seen: Vec<(u32, u32)> = alb
        .weights_seen()
        .iter()
        .filter(|(_, p, _)| *p == 10)
        .map(|(_, _, w)| {
            let of = |arn: &str| w.iter().find(|(g, _)| g == arn).map_or(0, |(_, n)| *n);
            (of(&first), of(&second))
        })
        .collect();
    eprintln!("forwards seen (release 1, release 2): {seen:?}");
    let mut steps: Vec<(u32, u32)> = seen.iter().copied().filter(|(a, b)| a + b == 100).collect();
    steps.dedup();
    assert_eq!(steps, vec![(90, 10), (50, 50), (0, 100)], "{seen:?}");
    assert!(
        seen.contains(&(1, 0)),
        "release 2 joined at weight 0: {seen:?}"
    );
    assert_eq!(
        seen.last(),
        Some(&(0, 100)),
        "release 1 left the rule: {seen:?}"
    );
    ws.assert_plan_empty().unwrap();
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
}

#[test]
fn with_keep_previous_a_rollback_is_a_weight_change_and_import_plans_empty() {
    let stage = Stage::new();
    let Stage {
        bed,
        c,
        listener,
        alb,
    } = &stage;
    let cfg = |image: &str| {
        let app = plain(listener, "web", HOST, 10, image).replace(
            "    drain = 1\n",
            "    drain = 1\n    keep_previous = true\n",
        );
        format!("{PROVIDER}{app}")
    };
    let (ws, first) = stage.created(TfVersion::Latest, &cfg("shop:1"));
    ws.write("main.tf", &cfg("shop:2")).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    // Release 1 stays scaled and registered, at weight 0.
    assert_eq!(
        target_group(bed, c, "berth-web-1").as_ref(),
        Some(&first),
        "release 1 kept"
    );
    let second = target_group(bed, c, "berth-web-2").unwrap();
    let weights = |bed: &Bed| {
        bed.block_on(berth_aws::lb::app_rule(c, listener, "web"))
            .unwrap()
            .unwrap()
            .weights
    };
    assert_eq!(
        weights(bed),
        [(first.clone(), 0), (second.clone(), 1)]
            .into_iter()
            .collect()
    );
    forwarding(alb, &second);
    let load = LoadGen::through(alb.addr(), HOST, LoadOptions::default()).unwrap();
    warm(&load, 20);

    // Roll back: the plan launches nothing, the apply moves the weights.
    ws.write("main.tf", &cfg("shop:1")).unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    assert!(!plan.stdout.contains("+ \"launch"), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("already on release 3's configuration (kept warm"),
        "{}",
        plan.stdout
    );
    let started = std::time::Instant::now();
    ws.apply().unwrap();
    let took = started.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let report = load.stop();
    eprintln!("rollback by weight: apply {took:?}; {report:?}");
    assert_eq!(report.failures, 0, "{report:?}");
    assert!(report.by_image.contains_key("shop:1"), "{report:?}");
    assert_eq!(
        weights(bed),
        [(first.clone(), 1), (second.clone(), 0)]
            .into_iter()
            .collect()
    );
    let mut all = groups(bed, c);
    all.sort();
    assert_eq!(
        all,
        vec!["berth-web-1".to_string(), "berth-web-2".to_string()]
    );
    ws.assert_plan_empty().unwrap();

    // A new deregistration delay changes in place: no release launches,
    // both groups (serving and warm) take it.
    let delay = |arn: &str| {
        bed.block_on(
            c.elb
                .describe_target_group_attributes()
                .target_group_arn(arn)
                .send(),
        )
        .unwrap()
        .attributes()
        .iter()
        .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
        .and_then(|a| a.value().map(str::to_string))
    };
    assert_eq!(delay(&first).as_deref(), Some("30"));
    let slower = cfg("shop:1").replace(
        "    priority     = 10\n",
        "    priority     = 10\n    deregistration_delay = 45\n",
    );
    ws.write("main.tf", &slower).unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap().stdout;
    assert!(plan.contains("~ deregistration_delay = 30 -> 45"), "{plan}");
    assert!(!plan.contains("\"launch"), "{plan}");
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(delay(&first).as_deref(), Some("45"), "serving group");
    assert_eq!(delay(&second).as_deref(), Some("45"), "warm group");
    assert_eq!(groups(bed, c).len(), 2);

    // Import from the instances: the same state, an empty plan.
    ws.ok(&["state", "rm", "-no-color", "berth_container_app.web"])
        .unwrap();
    ws.ok(&[
        "import",
        "-no-color",
        "berth_container_app.web",
        "us-east-1/web",
    ])
    .unwrap();
    ws.assert_plan_empty().unwrap();
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(groups(bed, c).is_empty());
    assert_eq!(target_group(bed, c, "berth-web-1"), None);
    assert_eq!(target_group(bed, c, "berth-web-2"), None);
}

/// Starts `terraform apply` of `ws` in its own process group.
fn apply_in_background(ws: &Workspace) -> std::process::Child {
    apply_logged(ws, "killed").0
}

/// SIGKILLs `child`'s whole process group (Terraform and the provider).
fn kill_group(child: &mut std::process::Child) {
    kill(child, "KILL");
    let _ = child.wait();
}

#[test]
fn applies_killed_before_and_after_the_cutover_are_finished_by_the_next_apply() {
    let stage = Stage::new();
    let Stage {
        bed,
        c,
        listener,
        alb,
    } = &stage;
    let cfg = |image: &str| format!("{PROVIDER}{}", plain(listener, "web", HOST, 10, image));
    let (ws, first) = stage.created(TfVersion::Latest, &cfg("shop:1"));
    let load = LoadGen::through(alb.addr(), HOST, LoadOptions::default()).unwrap();
    warm(&load, 20);
    let rule = |bed: &Bed| {
        bed.block_on(berth_aws::lb::app_rule(c, listener, "web"))
            .unwrap()
            .unwrap()
            .weights
    };

    // Killed while release 2 waits for its gate (in the rule at weight 0).
    ws.write("main.tf", &cfg("shop:2")).unwrap();
    let mut apply = apply_in_background(&ws);
    until(
        "release 2 in the rule at weight 0",
        Duration::from_secs(60),
        || target_group(bed, c, "berth-web-2").is_some_and(|g| rule(bed).get(&g) == Some(&0)),
    );
    kill_group(&mut apply);
    assert_eq!(rule(bed).get(&first), Some(&1), "release 1 still serves");
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let second = target_group(bed, c, "berth-web-2").unwrap();
    assert_eq!(rule(bed), [(second.clone(), 1)].into_iter().collect());
    assert_eq!(groups(bed, c), vec!["berth-web-2".to_string()]);

    // Killed right after the cutover, before release 2 retires.
    ws.write("main.tf", &cfg("shop:3")).unwrap();
    let mut apply = apply_in_background(&ws);
    until("the cutover to release 3", Duration::from_secs(60), || {
        target_group(bed, c, "berth-web-3")
            .is_some_and(|g| rule(bed).get(&g) == Some(&1) && rule(bed).get(&second) == Some(&0))
    });
    kill_group(&mut apply);
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let report = load.stop();
    eprintln!("two killed applies and their successors: {report:?}");
    assert_eq!(report.failures, 0, "{report:?}");
    let third = target_group(bed, c, "berth-web-3").unwrap();
    assert_eq!(rule(bed), [(third, 1)].into_iter().collect());
    assert_eq!(groups(bed, c), vec!["berth-web-3".to_string()]);
    assert_eq!(target_group(bed, c, "berth-web-2"), None);
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(groups(bed, c).is_empty());
}

// ---------------------------------------------------------------------------
// berth_weighted_route in listener-rule mode: one rule of the user's
// listener split across target groups of the user's stack.

const API: &str = "api.example.com";

/// Apps `blue` (shop:1) and `green` (shop:2), one instance each, with no
/// traffic mode of their own: the route's target groups hold them.
fn blue_green() -> String {
    let app = |name: &str, image: &str| {
        format!(
            r#"
resource "berth_container_app" "{name}" {{
  name     = "{name}"
  image    = "{image}"
  port     = 3000
  replicas = 1

  health_check {{
    path     = "/up"
    deadline = 60
  }}
}}
"#
        )
    };
    format!(
        "{PROVIDER}{}{}",
        app("blue", "shop:1"),
        app("green", "shop:2")
    )
}

/// The user's target group `name` holding app `app`'s instances.
fn users_group(bed: &Bed, c: &berth_aws::Clients, name: &str, app: &str) -> String {
    let ids: Vec<String> = bed.live_of(app).into_iter().map(|i| i.id).collect();
    assert!(!ids.is_empty(), "{app} runs");
    bed.block_on(users_target_group(c, name, &ids)).unwrap()
}

/// The route `api` on `listener`: blue and green at the given weights,
/// with `extra` (a `shift` block) inside.
fn rule_route(listener: &str, groups: &(String, String), w: (u32, u32), extra: &str) -> String {
    let (blue, green) = groups;
    let (wb, wg) = w;
    format!(
        r#"
resource "berth_weighted_route" "api" {{
  name = "{API}"

  listener_rule {{
    listener_arn = "{listener}"
    hosts        = ["{API}"]
    priority     = 5
  }}

  target {{
    id               = "blue"
    target_group_arn = "{blue}"
    weight           = {wb}
  }}
  target {{
    id               = "green"
    target_group_arn = "{green}"
    weight           = {wg}
  }}
{extra}}}
"#
    )
}

/// The forward of the route's rule as (blue, green).
fn route_weights(
    bed: &Bed,
    c: &berth_aws::Clients,
    listener: &str,
    groups: &(String, String),
) -> (u32, u32) {
    let rule = bed
        .block_on(berth_aws::lb::tagged_rule(
            c,
            listener,
            berth_aws::lb::ROUTE_TAG,
            API,
        ))
        .unwrap()
        .unwrap();
    let of = |g: &str| rule.weights.get(g).copied().unwrap_or(0);
    (of(&groups.0), of(&groups.1))
}

/// The forwards of priority 5 the bed's load balancer saw, as (blue, green).
fn seen_at_5(alb: &Alb, groups: &(String, String)) -> Vec<(u32, u32)> {
    alb.weights_seen()
        .iter()
        .filter(|(_, p, _)| *p == 5)
        .map(|(_, _, w)| {
            let of = |arn: &str| w.iter().find(|(g, _)| g == arn).map_or(0, |(_, n)| *n);
            (of(&groups.0), of(&groups.1))
        })
        .collect()
}

/// The stage with blue and green running and the user's two groups; the
/// route created at blue 100, green 0, and forwarding.
fn route_stage() -> (Stage, Workspace, (String, String)) {
    let stage = Stage::new();
    let ws = stage.bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &blue_green()).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let groups = (
        users_group(&stage.bed, &stage.c, "blue", "blue"),
        users_group(&stage.bed, &stage.c, "green", "green"),
    );
    let cfg = format!(
        "{}{}",
        blue_green(),
        rule_route(&stage.listener, &groups, (100, 0), "")
    );
    ws.write("main.tf", &cfg).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    until("forwarding", Duration::from_secs(10), || {
        seen_at_5(&stage.alb, &groups).contains(&(100, 0))
    });
    (stage, ws, groups)
}

#[test]
fn a_weighted_route_shifts_a_listener_rule_between_target_groups_under_load() {
    let (stage, ws, groups) = route_stage();
    let Stage {
        bed,
        c,
        listener,
        alb,
    } = &stage;
    let load = LoadGen::through(alb.addr(), API, LoadOptions::default()).unwrap();
    warm(&load, 20);

    let shift = "  shift {\n    to    = \"green\"\n    steps = [10, 50]\n    bake  = 2\n  }\n";
    let cfg = format!(
        "{}{}",
        blue_green(),
        rule_route(listener, &groups, (0, 100), shift)
    );
    ws.write("main.tf", &cfg).unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    for line in [
        "\"weights: blue=90, green=10\"",
        "\"bake: 2 s\"",
        "\"weights: blue=50, green=50\"",
        "\"weights: blue=0, green=100\"",
    ] {
        assert!(plan.stdout.contains(line), "{line}:\n{}", plan.stdout);
    }
    let applied = ws.apply().unwrap();
    assert!(
        flat(&applied.all()).contains("api.example.com: traffic shifted in 3 steps"),
        "{}",
        applied.all()
    );
    std::thread::sleep(Duration::from_secs(1));
    let report = load.stop();
    eprintln!("listener-rule shift under load: {report:?}");
    assert_eq!(report.failures, 0, "{report:?}");
    let mut steps = seen_at_5(alb, &groups);
    steps.dedup();
    eprintln!("forwards seen (blue, green): {steps:?}");
    assert_eq!(steps, vec![(100, 0), (90, 10), (50, 50), (0, 100)]);
    ws.assert_plan_empty().unwrap();

    // Drift: the forward and the priority changed outside Terraform.
    let arn = bed
        .block_on(berth_aws::lb::tagged_rule(
            c,
            listener,
            berth_aws::lb::ROUTE_TAG,
            API,
        ))
        .unwrap()
        .unwrap()
        .arn;
    bed.block_on(async {
        let w = [(groups.0.clone(), 70), (groups.1.clone(), 30)].into();
        berth_aws::lb::modify_rule(c, &arn, None, &w).await.unwrap();
        berth_aws::lb::set_priority(c, &arn, 7).await.unwrap();
    });
    let drift = ws
        .run(&["plan", "-no-color", "-detailed-exitcode"])
        .unwrap();
    assert_eq!(drift.code, 2, "drift shows: {}", drift.all());
    for s in ["~ priority", "~ weight"] {
        assert!(drift.stdout.contains(s), "{s}: {}", drift.stdout);
    }
    ws.apply().unwrap();
    assert_eq!(route_weights(bed, c, listener, &groups), (0, 100));
    ws.assert_plan_empty().unwrap();

    // Deleted outside Terraform: created again.
    bed.block_on(berth_aws::lb::delete_rule(c, &arn)).unwrap();
    let gone = ws
        .run(&["plan", "-no-color", "-detailed-exitcode"])
        .unwrap();
    assert_eq!(gone.code, 2, "{}", gone.all());
    assert!(gone.stdout.contains("will be created"), "{}", gone.stdout);
    ws.apply().unwrap();
    assert_eq!(route_weights(bed, c, listener, &groups), (0, 100));
    ws.assert_plan_empty().unwrap();

    // Import by the rule's ARN.
    let arn = bed
        .block_on(berth_aws::lb::tagged_rule(
            c,
            listener,
            berth_aws::lb::ROUTE_TAG,
            API,
        ))
        .unwrap()
        .unwrap()
        .arn;
    ws.ok(&["state", "rm", "-no-color", "berth_weighted_route.api"])
        .unwrap();
    ws.ok(&["import", "-no-color", "berth_weighted_route.api", &arn])
        .unwrap();
    // The `shift` block lives in the configuration only: it shows as
    // added once, and applying that moves nothing.
    let plan = ws.ok(&["plan", "-no-color"]).unwrap().stdout;
    assert!(plan.contains("+ shift {"), "{plan}");
    for s in [
        "~ weight",
        "~ priority",
        "~ target_group_arn",
        "must be replaced",
    ] {
        assert!(!plan.contains(s), "{s}: {plan}");
    }
    let applied = ws.apply().unwrap();
    assert!(
        !applied.all().contains("traffic shifted"),
        "{}",
        applied.all()
    );
    assert_eq!(route_weights(bed, c, listener, &groups), (0, 100));
    ws.assert_plan_empty().unwrap();

    // Destroy removes the rule; the user's groups stay.
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert_eq!(
        bed.block_on(berth_aws::lb::rule(c, &arn)).unwrap(),
        None,
        "rule deleted"
    );
    for g in [&groups.0, &groups.1] {
        assert!(
            bed.block_on(berth_aws::lb::target_health(c, g)).is_ok(),
            "the user's group {g} is left alone"
        );
    }
}

/// Starts `terraform apply` of `ws` in its own process group, its output
/// in `<name>.out`.
fn apply_logged(ws: &Workspace, name: &str) -> (std::process::Child, std::path::PathBuf) {
    use std::os::unix::process::CommandExt;
    let out = ws.path().join(format!("{name}.out"));
    let file = std::fs::File::create(&out).unwrap();
    let child = ws
        .command(&["apply", "-auto-approve", "-no-color"])
        .process_group(0)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    (child, out)
}

#[test]
fn a_listener_rule_shift_stopped_by_ctrl_c_or_a_failing_group_mid_bake_reverts() {
    let (stage, ws, groups) = route_stage();
    let Stage {
        bed,
        c,
        listener,
        alb,
    } = &stage;
    let shift = "  shift {\n    to    = \"green\"\n    steps = [10, 50]\n    bake  = 30\n  }\n";
    let cfg = format!(
        "{}{}",
        blue_green(),
        rule_route(listener, &groups, (0, 100), shift)
    );
    ws.write("main.tf", &cfg).unwrap();
    let at_first_step = |what: &str| {
        until(what, Duration::from_secs(60), || {
            route_weights(bed, c, listener, &groups) == (90, 10)
        });
    };

    // Ctrl-C (SIGINT to Terraform's process group) while baking at 10%.
    let (mut child, out) = apply_logged(&ws, "ctrl-c");
    at_first_step("at 90/10 before Ctrl-C");
    let sent = std::time::Instant::now();
    kill(&child, "INT");
    let status = child.wait().unwrap();
    let stopped = sent.elapsed();
    let text = flat(&std::fs::read_to_string(&out).unwrap());
    eprintln!("Ctrl-C mid-bake: stopped after {stopped:?}: {text}");
    assert!(!status.success(), "{text}");
    assert!(stopped < Duration::from_secs(10), "{stopped:?}");
    assert!(
        text.contains("weights reverted to blue=100, green=0"),
        "{text}"
    );
    assert_eq!(route_weights(bed, c, listener, &groups), (100, 0));

    // Green fails mid-bake (its instance stops: the load balancer reports
    // it out of service): the bake's watch reverts at once.
    let (mut child, out) = apply_logged(&ws, "failing");
    at_first_step("at 90/10 before green fails");
    let green: Vec<String> = bed.live_of("green").into_iter().map(|i| i.id).collect();
    bed.block_on(c.ec2.stop_instances().set_instance_ids(Some(green)).send())
        .unwrap();
    let status = child.wait().unwrap();
    let text = flat(&std::fs::read_to_string(&out).unwrap());
    eprintln!("green failing mid-bake: {text}");
    assert!(!status.success(), "{text}");
    for s in [
        "Traffic shift on listener rule api.example.com failed",
        "Target.InvalidState",
        "weights reverted to blue=100, green=0",
    ] {
        assert!(text.contains(s), "{s}: {text}");
    }
    assert_eq!(route_weights(bed, c, listener, &groups), (100, 0));
    until(
        "the bed's load balancer back at (100, 0)",
        Duration::from_secs(10),
        || seen_at_5(alb, &groups).last() == Some(&(100, 0)),
    );
    let mut seen = seen_at_5(alb, &groups);
    seen.dedup();
    assert!(
        seen.iter().all(|(_, g)| *g <= 10),
        "never past the first step: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&(100, 0)), "{seen:?}");
    ws.write(
        "main.tf",
        &format!(
            "{}{}",
            blue_green(),
            rule_route(listener, &groups, (100, 0), "")
        ),
    )
    .unwrap();
    let plan = ws
        .run(&[
            "plan",
            "-no-color",
            "-detailed-exitcode",
            "-target=berth_weighted_route.api",
        ])
        .unwrap();
    assert_eq!(
        plan.code,
        0,
        "the rule is as before the apply: {}",
        plan.all()
    );
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
}

fn kill(child: &std::process::Child, sig: &str) {
    let _ = std::process::Command::new("kill")
        .args([format!("-{sig}"), "--".into(), format!("-{}", child.id())])
        .status();
}

#[test]
fn ctrl_c_during_a_stepped_shift_behind_the_load_balancer_reverts_and_the_next_apply_finishes() {
    let stage = Stage::new();
    let Stage {
        bed,
        c,
        listener,
        alb,
    } = &stage;
    let cfg = |image: &str| stepped(listener, image, 5);
    let (ws, first) = stage.created(TfVersion::Latest, &cfg("shop:1"));
    let load = LoadGen::through(alb.addr(), HOST, LoadOptions::default()).unwrap();
    warm(&load, 20);
    let rule = || {
        bed.block_on(berth_aws::lb::app_rule(c, listener, "web"))
            .unwrap()
            .unwrap()
            .weights
    };

    ws.write("main.tf", &cfg("shop:2")).unwrap();
    let (mut child, out) = apply_logged(&ws, "ctrl-c");
    until("release 2 at 10%", Duration::from_secs(60), || {
        target_group(bed, c, "berth-web-2").is_some_and(|g| rule().get(&g) == Some(&10))
    });
    let second = target_group(bed, c, "berth-web-2").unwrap();
    let sent = std::time::Instant::now();
    kill(&child, "INT");
    let status = child.wait().unwrap();
    let stopped = sent.elapsed();
    let text = flat(&std::fs::read_to_string(&out).unwrap());
    eprintln!("Ctrl-C at 10% behind the load balancer: stopped after {stopped:?}: {text}");
    assert!(!status.success(), "{text}");
    assert!(stopped < Duration::from_secs(10), "{stopped:?}");
    for s in [
        "interrupted during shift; release 1 keeps serving",
        "listener rule restored to 1 target(s)",
        "1 instance(s) of release 2 left running without traffic from the listener rule",
        "nothing terminated",
        "cut over: listener rule → release 2 only",
        "drain: wait 1 s (requests in flight)",
    ] {
        assert!(text.contains(s), "{s}: {text}");
    }
    let now = rule();
    assert_eq!(
        now.get(&second).copied().unwrap_or(0),
        0,
        "reverted: {now:?}"
    );
    assert!(now.get(&first).is_some_and(|w| *w > 0), "{now:?}");

    // The next apply finishes the rollout.
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let report = load.stop();
    eprintln!("Ctrl-C mid-shift and the next apply, under load: {report:?}");
    assert_eq!(report.failures, 0, "{report:?}");
    assert_eq!(groups(bed, c), vec!["berth-web-2".to_string()]);
    let now = rule();
    assert_eq!(now.get(&second), Some(&100), "{now:?}");
    assert_eq!(now.len(), 1, "{now:?}");
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
}

#[test]
fn a_rule_or_group_setting_changed_or_deleted_outside_terraform_is_put_back() {
    let stage = Stage::new();
    let Stage {
        bed,
        c,
        listener,
        alb,
    } = &stage;
    let cfg = format!("{PROVIDER}{}", plain(listener, "web", HOST, 10, "shop:1"));
    let (ws, first) = stage.created(TfVersion::Latest, &cfg);
    let rule = || {
        bed.block_on(berth_aws::lb::app_rule(c, listener, "web"))
            .unwrap()
    };
    let drifted = |what: &str, shows: &[&str]| {
        let plan = ws
            .run(&["plan", "-no-color", "-detailed-exitcode"])
            .unwrap();
        assert_eq!(plan.code, 2, "{what} shows in the plan: {}", plan.all());
        for s in shows {
            assert!(plan.stdout.contains(s), "{what}: {s}: {}", plan.stdout);
        }
        assert!(
            !plan.stdout.contains("+ \"launch"),
            "{what}: nothing launches: {}",
            plan.stdout
        );
        ws.apply().unwrap();
        ws.assert_plan_empty().unwrap();
    };

    // Priority and host names changed, deregistration delay changed.
    let arn = rule().unwrap().arn;
    bed.block_on(async {
        berth_aws::lb::set_priority(c, &arn, 12).await.unwrap();
        let m = berth_aws::lb::RuleMatch {
            hosts: vec!["other.example.com".into()],
            paths: vec![],
            priority: 12,
        };
        let w = [(first.clone(), 1)].into();
        berth_aws::lb::modify_rule(c, &arn, Some(&m), &w)
            .await
            .unwrap();
        berth_aws::lb::set_deregistration_delay(c, &first, 300)
            .await
            .unwrap();
    });
    drifted(
        "rule and group settings",
        &[
            "~ priority",
            "12 -> 10",
            "other.example.com",
            "~ deregistration_delay = 300 -> 30",
        ],
    );
    let now = rule().unwrap();
    assert_eq!(
        (now.priority, now.hosts.clone()),
        (10, vec![HOST.to_string()])
    );
    assert_eq!(
        bed.block_on(berth_aws::lb::deregistration_delay(c, &first))
            .unwrap(),
        Some(30)
    );

    // The rule deleted: the next apply puts it back, on the same release.
    bed.block_on(berth_aws::lb::delete_rule(c, &arn)).unwrap();
    drifted(
        "a deleted rule",
        &["cut over: listener rule → release 1 only"],
    );
    let back = rule().unwrap();
    assert_ne!(back.arn, arn, "a new rule");
    assert_eq!(back.weights, [(first.clone(), 1)].into_iter().collect());
    assert_eq!(groups(bed, c), vec!["berth-web-1".to_string()]);
    forwarding(alb, &first);
    let load = LoadGen::through(alb.addr(), HOST, LoadOptions::default()).unwrap();
    warm(&load, 10);
    assert_eq!(load.stop().failures, 0);

    // The release's Auto Scaling group deleted (its instances go with it):
    // the plan launches the release again and the apply restores it.
    let gone: Vec<String> = bed.live_of("web").into_iter().map(|i| i.id).collect();
    bed.block_on(berth_aws::asg::delete_group(c, "berth-web-1"))
        .unwrap();
    until(
        "the group's instances gone",
        Duration::from_secs(20),
        || bed.live_of("web").is_empty(),
    );
    let plan = ws
        .run(&["plan", "-no-color", "-detailed-exitcode"])
        .unwrap();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout.contains("+ \"launch 1 × release 1 (shop:1)"),
        "{}",
        plan.stdout
    );
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(groups(bed, c), vec!["berth-web-1".to_string()]);
    let now: Vec<String> = bed.live_of("web").into_iter().map(|i| i.id).collect();
    assert_eq!(now.len(), 1);
    assert!(!gone.contains(&now[0]), "a new instance: {now:?}");
    let load = LoadGen::through(alb.addr(), HOST, LoadOptions::default()).unwrap();
    warm(&load, 10);
    assert_eq!(load.stop().failures, 0);
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert_eq!(rule(), None);
}

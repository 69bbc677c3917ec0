//! `berth_container_app` driven by real Terraform (newest and 1.0.3)
//! against moto plus the fleet simulator: create, an image update under
//! continuous load with zero failed requests, a broken image that rolls
//! back, an interrupted rollout that the next apply finishes, drift,
//! import, and a destroy that leaves no tagged object.
#![allow(clippy::unwrap_used)]

use std::os::unix::process::CommandExt;
use std::time::Duration;

use berth_acceptance_tests::bed::{Bed, ZONE};
use berth_acceptance_tests::sim::SimOptions;
use berth_acceptance_tests::{Moto, PROVIDER, TfVersion, Workspace, flat};
const SECRET_VALUE: &str = "s3cr3t-value-that-must-never-leak";

/// The shared bed with a simulator that boots in `boot` and refuses to
/// serve an instance whose user-data holds the secret.
fn bed(boot: Duration) -> Bed {
    Bed::start(Some(SimOptions {
        boot_delay: boot,
        forbidden: vec![SECRET_VALUE.to_string()],
        ..SimOptions::default()
    }))
    .unwrap()
}

fn config(name: &str, image: &str, replicas: u32) -> String {
    format!(
        r#"{PROVIDER}

resource "berth_container_app" "web" {{
  name     = "{name}"
  image    = "{image}"
  port     = 3000
  replicas = {replicas}
  env = {{
    RAILS_ENV = "production"
  }}
  secrets = {{
    API_KEY = "ssm:/shop/api_key"
  }}
  tags = {{
    team = "shop"
  }}

  sidecar {{
    name  = "nginx"
    image = "nginx:1.27"
    ports = ["80:80"]
    files = {{
      "/etc/nginx/conf.d/default.conf" = "server {{ listen 80; location / {{ proxy_pass http://app:3000; }} }}"
    }}
  }}

  health_check {{
    path              = "/up"
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

output "release" {{
  value = berth_container_app.web.release
}}
output "instances" {{
  value = berth_container_app.web.instances
}}
output "rollout_plan" {{
  value = berth_container_app.web.rollout_plan
}}
output "history" {{
  value = berth_container_app.web.release_history
}}
"#
    )
}

/// The configuration without its outputs (an imported state has none).
fn without_outputs(cfg: &str) -> String {
    cfg[..cfg.find("output \"").unwrap_or(cfg.len())].to_string()
}

fn serving_count(ws: &Workspace) -> usize {
    let out = ws.outputs().unwrap();
    out["instances"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["serving"] == true)
        .count()
}

fn create_update_under_load_and_destroy(v: TfVersion) {
    let bed = bed(Duration::from_millis(800));
    let ws = bed.workspace(v);
    ws.write("main.tf", &config("web", "shop:1", 2)).unwrap();
    ws.init().unwrap();

    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    assert!(
        plan.stdout.contains("launch 2 × release 1 (shop:1)"),
        "the plan shows the rollout steps:\n{}",
        plan.stdout
    );
    assert!(
        flat(&plan.stdout).contains(r#"+ origin_fqdn = "web.berth.test.""#),
        "a zone given by name makes the record's name known at plan:\n{}",
        plan.stdout
    );
    let created = ws.apply().unwrap();
    assert!(
        created
            .all()
            .contains("web: release 1 (shop:1) healthy on 2/2"),
        "one-line summary:\n{}",
        created.all()
    );
    ws.assert_plan_empty().unwrap();
    let out = ws.outputs().unwrap();
    assert_eq!(out["release"]["value"], 1);
    assert_eq!(serving_count(&ws), 2);
    assert_eq!(bed.live().len(), 2);
    assert_eq!(bed.a_record("web").len(), 2);
    // Without subnet_ids the replicas spread over the default subnets, one
    // availability zone each.
    let zones: std::collections::BTreeSet<String> =
        bed.live().into_iter().map(|i| i.zone).collect();
    assert_eq!(zones.len(), 2, "two zones: {zones:?}");
    assert!(
        bed.sim().problems().is_empty(),
        "{:?}",
        bed.sim().problems()
    );

    // An image update under continuous load.
    let load = bed.load("web");
    std::thread::sleep(Duration::from_millis(500));
    ws.write("main.tf", &config("web", "shop:2", 2)).unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    assert!(
        plan.stdout.contains("launch 2 × release 2 (shop:2)")
            && plan.stdout.contains("retire 2 instance(s): old release"),
        "{}",
        plan.stdout
    );
    let updated = ws.apply().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let report = load.stop();
    assert_eq!(
        report.failures, 0,
        "zero failed requests during the rollout: {report:?}"
    );
    assert!(
        report.by_image.get("shop:1").copied().unwrap_or(0) > 0
            && report.by_image.get("shop:2").copied().unwrap_or(0) > 0,
        "traffic moved from shop:1 to shop:2: {report:?}"
    );
    assert!(
        flat(&updated.all()).contains("; traffic moved; release 1 retired"),
        "{}",
        updated.all()
    );
    ws.assert_plan_empty().unwrap();
    let live = bed.live();
    assert_eq!(live.len(), 2, "{live:?}");
    assert!(live.iter().all(|i| i.release == "2"), "{live:?}");
    assert_eq!(serving_count(&ws), 2);
    let history = &ws.outputs().unwrap()["history"]["value"];
    assert_eq!(history[0]["image"], "shop:2");
    assert_eq!(history[1]["image"], "shop:1");

    // Secrets: only references anywhere.
    let state = std::fs::read_to_string(ws.path().join("terraform.tfstate")).unwrap();
    assert!(!state.contains(SECRET_VALUE));
    assert!(!updated.all().contains(SECRET_VALUE));
    for b in bed.sim().booted() {
        let ud = bed.sim().user_data(&b.id).unwrap();
        assert!(ud.contains("/shop/api_key"), "user-data fetches the secret");
        assert!(!ud.contains(SECRET_VALUE));
    }
    assert!(
        bed.sim().problems().is_empty(),
        "{:?}",
        bed.sim().problems()
    );

    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(bed.live().is_empty(), "{:?}", bed.live());
    assert_eq!(bed.security_groups().len(), 0);
    assert!(bed.a_record("web").is_empty());
}

#[test]
fn create_update_under_load_and_destroy_latest() {
    create_update_under_load_and_destroy(TfVersion::Latest);
}

#[test]
fn create_update_under_load_and_destroy_terraform_1_0() {
    create_update_under_load_and_destroy(TfVersion::V1_0);
}

#[test]
fn broken_image_fails_clearly_and_the_old_release_keeps_serving() {
    let bed = bed(Duration::from_millis(500));
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("api", "shop:1", 2)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let before = bed.live();
    let record = bed.a_record("api");

    let load = bed.load("api");
    ws.write("main.tf", &config("api", "shop:broken", 2))
        .unwrap();
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]).unwrap();
    let report = load.stop();
    assert_ne!(r.code, 0);
    let text = flat(&r.all());
    assert!(text.contains("Rollout of api release 2 failed"), "{text}");
    assert!(text.contains("failed its health gate"), "{text}");
    assert!(
        text.contains("GET /up answered 500"),
        "says which check: {text}"
    );
    assert!(text.contains("terminated new instance(s)"), "{text}");
    assert_eq!(bed.live(), before, "new instances gone, old ones kept");
    assert_eq!(bed.a_record("api"), record, "origin untouched");
    assert_eq!(report.failures, 0, "{report:?}");

    // Fixing the image rolls out normally.
    ws.write("main.tf", &config("api", "shop:3", 2)).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert!(bed.live().iter().all(|i| i.release == "2"));
}

#[test]
fn an_app_without_an_origin_plans_empty_after_apply_and_rolls_out() {
    let bed = bed(Duration::from_millis(300));
    let ws = bed.workspace(TfVersion::Latest);
    let cfg = |image: &str| {
        let c = config("noorigin", image, 2);
        let start = c.find("  origin {").unwrap();
        let end = start + c[start..].find("  }\n").unwrap() + 4;
        format!("{}{}", &c[..start], &c[end..])
    };
    assert!(!cfg("shop:1").contains("origin {"));
    ws.write("main.tf", &cfg("shop:1")).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(bed.live().len(), 2);
    assert!(bed.a_record("noorigin").is_empty());
    assert_eq!(serving_count(&ws), 2, "gated and kept instances serve");

    ws.write("main.tf", &cfg("shop:2")).unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap().stdout;
    assert!(
        plan.contains("cut over: release 2 only serves (no origin record to change)")
            && !plan.contains("origin →"),
        "{plan}"
    );
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let live = bed.live();
    assert_eq!(live.len(), 2, "{live:?}");
    assert!(live.iter().all(|i| i.release == "2"), "{live:?}");
    assert_eq!(serving_count(&ws), 2);
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    assert!(bed.live().is_empty());
}

#[test]
fn drift_is_planned_and_the_next_apply_restores_capacity() {
    let bed = bed(Duration::from_millis(300));
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("drift", "shop:1", 2)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let live = bed.live();
    bed.terminate(&live[0].id);

    let plan = ws
        .run(&["plan", "-detailed-exitcode", "-no-color"])
        .unwrap();
    assert_eq!(plan.code, 2, "drift shows in the plan:\n{}", plan.all());
    assert!(
        plan.stdout.contains("launch 1 × release 1"),
        "{}",
        plan.stdout
    );
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let now = bed.live();
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(!now.iter().any(|i| i.id == live[0].id));
    assert_eq!(serving_count(&ws), 2);
    assert_eq!(bed.a_record("drift").len(), 2);
}

#[test]
fn import_by_name_plans_empty() {
    let bed = bed(Duration::from_millis(300));
    let a = bed.workspace(TfVersion::Latest);
    a.write("main.tf", &config("imp", "shop:1", 2)).unwrap();
    a.init().unwrap();
    a.apply().unwrap();

    for v in [TfVersion::Latest, TfVersion::V1_0] {
        let b = bed.workspace(v);
        b.write("main.tf", &without_outputs(&config("imp", "shop:1", 2)))
            .unwrap();
        b.init().unwrap();
        b.ok(&[
            "import",
            "-no-color",
            "berth_container_app.web",
            "us-east-1/imp",
        ])
        .unwrap();
        b.assert_plan_empty().unwrap();
        let missing = b
            .run(&["import", "-no-color", "berth_container_app.web", "nope"])
            .unwrap();
        assert_ne!(missing.code, 0);
    }
    let b = bed.workspace(TfVersion::Latest);
    b.write("main.tf", &config("ghost", "shop:1", 2)).unwrap();
    b.init().unwrap();
    let r = b
        .run(&["import", "-no-color", "berth_container_app.web", "ghost"])
        .unwrap();
    assert_ne!(r.code, 0);
    assert!(
        r.all()
            .contains("no running instances tagged berth:app=ghost"),
        "{}",
        r.all()
    );
}

#[test]
fn an_interrupted_rollout_is_finished_by_the_next_apply() {
    let bed = bed(Duration::from_secs(4));
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("intr", "shop:1", 2)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();

    ws.write("main.tf", &config("intr", "shop:2", 2)).unwrap();
    let mut child = ws
        .command(&["apply", "-auto-approve", "-no-color"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the new release has been launched, then kill the
    // provider mid-gate (as an OOM kill or a lost CI runner would).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while bed.live().iter().filter(|i| i.release == "2").count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "release 2 never launched"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = std::process::Command::new("pkill")
        .args([
            "-KILL",
            "-P",
            &child.id().to_string(),
            "-f",
            "terraform-provider-berth",
        ])
        .status()
        .unwrap();
    assert!(
        killed.success(),
        "the provider was running: {}",
        String::from_utf8_lossy(
            &std::process::Command::new("ps")
                .args(["-eo", "pid,args"])
                .output()
                .unwrap()
                .stdout
        )
    );
    let status = child.wait().unwrap();
    assert!(!status.success());
    let mid = bed.live();
    assert_eq!(mid.len(), 4, "old and new both running: {mid:?}");

    // The next apply adopts the two new instances instead of launching more.
    let r = ws.apply().unwrap();
    assert!(flat(&r.all()).contains("healthy on 2/2"), "{}", r.all());
    ws.assert_plan_empty().unwrap();
    let after = bed.live();
    assert_eq!(after.len(), 2, "{after:?}");
    let new_ids: Vec<&String> = mid
        .iter()
        .filter(|i| i.release == "2")
        .map(|i| &i.id)
        .collect();
    assert!(
        after.iter().all(|i| new_ids.contains(&&i.id)),
        "adopted, not duplicated: {after:?} vs {mid:?}"
    );
}

#[test]
fn bad_input_names_the_attribute() {
    let moto = Moto::start().unwrap();
    let ws = Workspace::new(TfVersion::Latest, Some(&moto)).unwrap();
    let bad = config("web", "shop:1", 2)
        .replace("ssm:/shop/api_key", "plaintext-password")
        .replace("replicas = 2", "replicas = 0");
    ws.write("main.tf", &bad).unwrap();
    ws.init().unwrap();
    let r = ws.run(&["plan", "-no-color"]).unwrap();
    assert_ne!(r.code, 0);
    let text = r.all();
    assert!(text.contains("Invalid secret reference"), "{text}");
    assert!(
        text.contains("secrets[\"API_KEY\"]") || text.contains("API_KEY"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    assert!(text.contains("replicas"), "{text}");
}

fn tags_of(bed: &Bed, id: &str) -> std::collections::BTreeMap<String, String> {
    bed.rt.block_on(async {
        let out = bed
            .ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .unwrap();
        out.reservations()[0].instances()[0]
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    })
}

#[test]
fn scaling_and_tag_changes_apply_in_place_without_a_new_release() {
    let bed = bed(Duration::from_millis(300));
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("scale", "shop:1", 2)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let first = bed.live();

    // Scale out: one more instance of the same release, nobody replaced.
    ws.write("main.tf", &config("scale", "shop:1", 3)).unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    assert!(
        plan.stdout.contains("launch 1 × release 1"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("release           = 1 -> 2"),
        "{}",
        plan.stdout
    );
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    let out = ws.outputs().unwrap();
    assert_eq!(out["release"]["value"], 1);
    let three = bed.live();
    assert_eq!(three.len(), 3);
    assert!(
        first.iter().all(|i| three.contains(i)),
        "kept the first two"
    );
    assert_eq!(bed.a_record("scale").len(), 3);

    // Scale in: drain, then retire one.
    ws.write("main.tf", &config("scale", "shop:1", 2)).unwrap();
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(bed.live().len(), 2);
    assert_eq!(bed.a_record("scale").len(), 2);

    // Tags: changed on the running instances, no rollout.
    let before = bed.live();
    ws.write(
        "main.tf",
        &config("scale", "shop:1", 2).replace("team = \"shop\"", "team = \"checkout\""),
    )
    .unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    assert!(!plan.stdout.contains("+ \"launch"), "{}", plan.stdout);
    ws.apply().unwrap();
    ws.assert_plan_empty().unwrap();
    assert_eq!(bed.live(), before, "same instances");
    for i in &before {
        assert_eq!(tags_of(&bed, &i.id)["team"], "checkout");
    }
}

#[test]
fn rollback_to_the_warm_previous_release_is_a_dns_flip() {
    let bed = bed(Duration::from_millis(300));
    let ws = bed.workspace(TfVersion::Latest);
    let warm = |image: &str| {
        config("flip", image, 2).replace(
            "rollout {\n    drain = 1\n  }",
            "rollout {\n    drain         = 1\n    keep_previous = true\n  }",
        )
    };
    ws.write("main.tf", &warm("shop:1")).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let v1 = bed.live();
    let v1_record = bed.a_record("flip");

    ws.write("main.tf", &warm("shop:2")).unwrap();
    let r = ws.apply().unwrap();
    assert!(
        flat(&r.all()).contains("previous release kept warm"),
        "{}",
        r.all()
    );
    ws.assert_plan_empty().unwrap();
    assert_eq!(bed.live().len(), 4, "release 1 kept warm beside release 2");
    assert_ne!(bed.a_record("flip"), v1_record);

    // Back to shop:1: the warm instances take over, nothing boots.
    ws.write("main.tf", &warm("shop:1")).unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    assert!(
        !plan.stdout.contains("+ \"launch"),
        "no launch: {}",
        plan.stdout
    );
    assert!(plan.stdout.contains("kept warm"), "{}", plan.stdout);
    let load = bed.load("flip");
    std::thread::sleep(Duration::from_millis(300));
    ws.apply().unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let report = load.stop();
    assert_eq!(report.failures, 0, "{report:?}");
    ws.assert_plan_empty().unwrap();
    assert_eq!(
        bed.a_record("flip"),
        v1_record,
        "origin back on release 1's instances"
    );
    let now = bed.live();
    assert!(
        v1.iter().all(|i| now.iter().any(|n| n.id == i.id)),
        "{now:?} vs {v1:?}"
    );
    assert_eq!(ws.outputs().unwrap()["release"]["value"], 3);
}

#[test]
fn ctrl_c_during_a_rollout_keeps_the_old_release_and_the_next_apply_finishes() {
    let bed = bed(Duration::from_secs(5));
    // Terraform 1.0.3 is a plain Go binary; like Ctrl-C in a terminal, the
    // SIGINT goes to its whole process group (its panicwrap parent ignores a
    // SIGINT sent to it alone), and Terraform calls StopProvider.
    let ws = bed.workspace(TfVersion::V1_0);
    ws.write("main.tf", &config("stop", "shop:1", 2)).unwrap();
    ws.init().unwrap();
    ws.apply().unwrap();
    let record = bed.a_record("stop");

    ws.write("main.tf", &config("stop", "shop:2", 2)).unwrap();
    let child = ws
        .command(&["apply", "-auto-approve", "-no-color"])
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while bed.live().iter().filter(|i| i.release == "2").count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "release 2 never launched"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let text = flat(&format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    assert!(!out.status.success(), "{text}");
    // The stop lands while RunInstances answers or while the gate waits.
    assert!(
        text.contains("interrupted during gate") || text.contains("interrupted during launch"),
        "{text}"
    );
    assert!(text.contains("left running"), "says what is left: {text}");
    assert_eq!(bed.a_record("stop"), record, "the old release still serves");

    let r = ws.apply().unwrap();
    assert!(flat(&r.all()).contains("healthy on 2/2"), "{}", r.all());
    ws.assert_plan_empty().unwrap();
    let live = bed.live();
    assert_eq!(live.len(), 2, "{live:?}");
    assert!(live.iter().all(|i| i.release == "2"), "{live:?}");
    assert_eq!(serving_count(&ws), 2);
}

/// The role, its inline policy and the profile's roles of `name` in moto.
fn berth_role(bed: &Bed, name: &str) -> Option<(String, String, Vec<String>)> {
    bed.rt.block_on(async {
        let iam = berth_acceptance_tests::clients::iam(&bed.moto.endpoint()).await;
        let role = iam.get_role().role_name(name).send().await.ok()?;
        let role = role.role()?;
        let tags: Vec<String> = role
            .tags()
            .iter()
            .map(|t| format!("{}={}", t.key(), t.value()))
            .collect();
        let policy = iam
            .get_role_policy()
            .role_name(name)
            .policy_name("berth-instance")
            .send()
            .await
            .ok()?;
        let doc = policy.policy_document().to_string();
        let doc = berth_acceptance_tests::clients::percent_decode(&doc);
        let profile = iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .ok()?;
        let roles = profile
            .instance_profile()
            .map(|p| {
                p.roles()
                    .iter()
                    .map(|r| r.role_name().to_string())
                    .collect()
            })
            .unwrap_or_default();
        Some((format!("{} {}", role.path(), tags.join(",")), doc, roles))
    })
}

/// The instance profile ARN of each live instance of `app`.
fn profiles_of(bed: &Bed, app: &str) -> Vec<String> {
    let all = bed
        .rt
        .block_on(berth_acceptance_tests::sim::managed_instances(&bed.ec2))
        .unwrap();
    all.into_iter()
        .filter(|i| i.alive && i.app == app)
        .map(|i| i.profile.unwrap_or_else(|| "none".into()))
        .collect()
}

#[test]
fn without_an_instance_profile_berth_manages_a_role_with_only_the_apps_secrets() {
    let bed = bed(Duration::from_millis(300));
    let ws = bed.workspace(TfVersion::Latest);
    let role_output =
        "\noutput \"instance_role\" {\n  value = berth_container_app.web.instance_role\n}\n";
    ws.write("main.tf", &(config("iamapp", "shop:1", 2) + role_output))
        .unwrap();
    ws.init().unwrap();
    let plan = ws.ok(&["plan", "-no-color"]).unwrap();
    assert!(
        plan.stdout
            .contains(r#"instance_role     = "berth-iamapp-us-east-1""#)
            || plan.stdout.contains("berth-iamapp-us-east-1"),
        "the plan shows the role's name: {}",
        plan.stdout
    );
    ws.apply().unwrap();
    let name = "berth-iamapp-us-east-1";
    assert_eq!(ws.outputs().unwrap()["instance_role"]["value"], name);
    let (meta, doc, roles) = berth_role(&bed, name).expect("berth's role and profile");
    assert!(meta.starts_with("/berth/ "), "{meta}");
    assert!(
        meta.contains("berth:app=iamapp") && meta.contains("team=shop"),
        "{meta}"
    );
    assert_eq!(roles, [name]);
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let st = doc["Statement"].as_array().unwrap();
    assert_eq!(st.len(), 2, "{doc}");
    assert_eq!(st[0]["Action"], "ec2:CreateTags");
    assert_eq!(
        st[0]["Condition"]["StringEquals"]["aws:ResourceTag/berth:app"],
        "iamapp"
    );
    assert_eq!(st[1]["Action"], "ssm:GetParameter");
    assert_eq!(
        st[1]["Resource"],
        serde_json::json!(["arn:aws:ssm:us-east-1:123456789012:parameter/shop/api_key"]),
        "exactly the app's parameter"
    );
    let profiles = profiles_of(&bed, "iamapp");
    assert_eq!(profiles.len(), 2);
    assert!(
        profiles
            .iter()
            .all(|p| p.ends_with(&format!(":instance-profile/berth/{name}"))),
        "{profiles:?}"
    );
    ws.assert_plan_empty().unwrap();

    // A profile of the user's: a rollout onto it, and berth's role goes.
    bed.rt.block_on(async {
        let iam = berth_acceptance_tests::clients::iam(&bed.moto.endpoint()).await;
        iam.create_role()
            .role_name("shop-instance")
            .assume_role_policy_document("{}")
            .send()
            .await
            .unwrap();
        iam.create_instance_profile()
            .instance_profile_name("shop-instance")
            .send()
            .await
            .unwrap();
        iam.add_role_to_instance_profile()
            .instance_profile_name("shop-instance")
            .role_name("shop-instance")
            .send()
            .await
            .unwrap();
    });
    let own = config("iamapp", "shop:1", 2).replace(
        "  replicas = 2\n",
        "  replicas = 2\n  instance_profile = \"shop-instance\"\n",
    ) + role_output;
    ws.write("main.tf", &own).unwrap();
    ws.apply().unwrap();
    assert!(ws.outputs().unwrap()["instance_role"]["value"].is_null());
    let profiles = profiles_of(&bed, "iamapp");
    assert!(
        profiles.len() == 2
            && profiles
                .iter()
                .all(|p| p.ends_with(":instance-profile/shop-instance")),
        "{profiles:?}"
    );
    assert!(berth_role(&bed, name).is_none(), "berth's role is deleted");
    ws.assert_plan_empty().unwrap();

    // Back to berth's role, then destroy: nothing of berth's is left.
    ws.write("main.tf", &(config("iamapp", "shop:2", 2) + role_output))
        .unwrap();
    ws.apply().unwrap();
    assert!(berth_role(&bed, name).is_some());
    ws.ok(&["destroy", "-auto-approve", "-no-color"]).unwrap();
    let left = bed
        .rt
        .block_on(berth_acceptance_tests::leftovers::leftovers(
            &bed.moto.endpoint(),
            &["us-east-1"],
        ))
        .unwrap();
    assert!(
        !left.iter().any(|l| l.contains("IAM")),
        "berth's IAM objects left: {left:?}"
    );
}

#[test]
fn a_role_of_berths_name_that_is_not_berths_is_never_taken_over() {
    let bed = bed(Duration::from_millis(300));
    bed.rt.block_on(async {
        let iam = berth_acceptance_tests::clients::iam(&bed.moto.endpoint()).await;
        iam.create_role()
            .role_name("berth-taken-us-east-1")
            .assume_role_policy_document("{}")
            .send()
            .await
            .unwrap();
    });
    let ws = bed.workspace(TfVersion::Latest);
    ws.write("main.tf", &config("taken", "shop:1", 1)).unwrap();
    ws.init().unwrap();
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]).unwrap();
    assert_ne!(r.code, 0);
    let text = flat(&r.all());
    assert!(
        text.contains("berth-taken-us-east-1 exists but is not berth's")
            && text.contains("instance_profile"),
        "{text}"
    );
    assert!(bed.live_of("taken").is_empty(), "nothing was launched");
    assert!(
        bed.security_groups_of("taken").is_empty(),
        "{:?}",
        bed.security_groups_of("taken")
    );
}

//! `berth_container_app`'s glue (plan, apply, refresh, destroy, import)
//! driven in process by the tfplugin harness against a fake AWS account
//! behind its cloud port (`berth_testbed::fake_cloud::FakeAws`): no
//! emulator, no network, a paused clock. The fake launches what the
//! launch payload says and reports health from the payload's image, so
//! these tests pin what the provider does between Terraform and the port;
//! the moto and real-instance suites prove the port's SDK side.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use berth_testbed::fake_cloud::FakeAws;
use terraform_provider_berth::BerthProvider;
use tfplugin::harness::Harness;
use tfplugin::value::Value;

const FQDN: &str = "web.example.com.";

async fn provider(cloud: &FakeAws) -> Harness {
    support::configured(BerthProvider::new().with_app_cloud(Arc::new(cloud.clone()))).await
}

fn app(image: &str) -> Value {
    Value::object([
        ("name", Value::string("web")),
        ("image", Value::string(image)),
        ("replicas", Value::int(2)),
        (
            "origin",
            Value::object([
                ("zone", Value::string("example.com")),
                ("name", Value::string("web")),
                ("ttl", Value::int(30)),
            ]),
        ),
    ])
}

const ADDR: &str = "berth_container_app.web";
const TYPE: &str = "berth_container_app";

fn strings(v: &Value) -> Vec<String> {
    v.as_elements()
        .unwrap_or_default()
        .iter()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn live_addresses(cloud: &FakeAws, release: u64) -> Vec<String> {
    let mut out: Vec<String> = cloud
        .account()
        .live("web")
        .iter()
        .filter(|i| i.instance.release == release)
        .filter_map(|i| i.instance.public_ip.clone())
        .collect();
    out.sort();
    out
}

#[tokio::test(start_paused = true)]
async fn create_launches_the_release_from_one_payload_and_points_the_origin_at_it() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    let applied = h.apply(ADDR, TYPE, app("registry.example/web:1")).await;
    let applied = applied.unwrap_or_else(|d| panic!("apply: {d:?}"));
    let s = &applied.state;
    assert_eq!(s.attr("release").as_i64(), Some(1));
    assert_eq!(s.attr("id").as_str(), Some("us-east-1/web"));
    assert_eq!(s.attr("ami").as_str(), Some("ami-0000000000000086"));
    assert_eq!(s.attr("security_group_id").as_str(), Some("sg-web"));
    assert_eq!(
        s.attr("instance_role").as_str(),
        Some("berth-web-us-east-1")
    );
    assert_eq!(s.attr("origin_fqdn").as_str(), Some(FQDN));

    let w = cloud.account();
    assert_eq!(
        w.launches,
        vec![(1, "registry.example/web:1".to_string())],
        "one launch of release 1, its image from the payload"
    );
    let live = w.live("web");
    assert_eq!(live.len(), 2);
    assert!(
        live.iter()
            .all(|i| i.script.contains("registry.example/web:1")),
        "the user-data the instances run names the image"
    );
    let zones: std::collections::BTreeSet<&str> =
        live.iter().map(|i| i.instance.zone.as_str()).collect();
    assert_eq!(zones.len(), 2, "spread over both zones: {zones:?}");
    drop(w);
    let mut record = cloud.account().record(FQDN);
    record.sort();
    assert_eq!(record, live_addresses(&cloud, 1));
    assert_eq!(strings(s.attr("origin_addresses")), record);
    let serving = s
        .attr("instances")
        .as_elements()
        .unwrap()
        .iter()
        .filter(|i| i.attr("serving").as_bool() == Some(true))
        .count();
    assert_eq!(serving, 2);
    let summary = applied
        .warnings
        .iter()
        .find(|d| d.summary == "Rollout finished")
        .map(|d| d.detail.clone())
        .unwrap_or_default();
    assert!(
        summary.starts_with("web: release 1 (registry.example/web:1) healthy on 2/2"),
        "{summary}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_image_change_rolls_out_release_2_and_retires_release_1() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    h.apply(ADDR, TYPE, app("registry.example/web:1"))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    let old = live_addresses(&cloud, 1);
    let applied = h
        .apply(ADDR, TYPE, app("registry.example/web:2"))
        .await
        .unwrap_or_else(|d| panic!("update: {d:?}"));
    let s = &applied.state;
    assert_eq!(s.attr("release").as_i64(), Some(2));
    let history: Vec<i64> = s
        .attr("release_history")
        .as_elements()
        .unwrap()
        .iter()
        .filter_map(|h| h.attr("release").as_i64())
        .collect();
    assert_eq!(history, vec![2, 1]);
    assert!(live_addresses(&cloud, 1).is_empty(), "release 1 retired");
    let new = live_addresses(&cloud, 2);
    assert_eq!(new.len(), 2);
    let mut record = cloud.account().record(FQDN);
    record.sort();
    assert_eq!(record, new, "the origin moved to release 2");
    assert!(old.iter().all(|a| !record.contains(a)));
    let summary = applied
        .warnings
        .iter()
        .find(|d| d.summary == "Rollout finished")
        .map(|d| d.detail.clone())
        .unwrap_or_default();
    assert!(
        summary.contains("traffic moved; release 1 retired"),
        "{summary}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_broken_image_fails_the_gate_and_leaves_release_1_serving() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    h.apply(ADDR, TYPE, app("registry.example/web:1"))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    let before = live_addresses(&cloud, 1);
    let err = h
        .apply(ADDR, TYPE, app("registry.example/broken:2"))
        .await
        .expect_err("the gate fails");
    let text = format!("{err:?}");
    assert!(text.contains("Rollout of web release 2 failed"), "{text}");
    assert!(
        text.contains("bootstrap: pull registry.example/broken:2 denied"),
        "{text}"
    );
    assert!(live_addresses(&cloud, 2).is_empty(), "release 2 terminated");
    assert_eq!(live_addresses(&cloud, 1), before, "release 1 untouched");
    let mut record = cloud.account().record(FQDN);
    record.sort();
    assert_eq!(record, before, "the origin never moved");
    assert_eq!(
        h.state(ADDR).and_then(|s| s.attr("release").as_i64()),
        Some(1),
        "state still says release 1"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_create_leaves_no_security_group_role_or_instance() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    let err = h
        .apply(ADDR, TYPE, app("registry.example/broken:1"))
        .await
        .expect_err("the gate fails");
    assert!(format!("{err:?}").contains("release 1 failed"), "{err:?}");
    let w = cloud.account();
    assert!(w.live("web").is_empty());
    assert!(w.security_groups.is_empty(), "{:?}", w.security_groups);
    assert!(w.roles.is_empty(), "{:?}", w.roles);
    assert!(w.records.is_empty(), "{:?}", w.records);
}

#[tokio::test(start_paused = true)]
async fn destroy_removes_instances_record_security_group_and_role() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    h.apply(ADDR, TYPE, app("registry.example/web:1"))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    assert!(!cloud.account().records.is_empty());
    h.destroy(ADDR)
        .await
        .unwrap_or_else(|d| panic!("destroy: {d:?}"));
    let w = cloud.account();
    assert!(w.live("web").is_empty());
    assert!(w.records.is_empty(), "{:?}", w.records);
    assert!(w.security_groups.is_empty(), "{:?}", w.security_groups);
    assert!(w.roles.is_empty(), "{:?}", w.roles);
}

#[tokio::test(start_paused = true)]
async fn import_rebuilds_the_state_from_the_running_release() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    let created = h
        .apply(ADDR, TYPE, app("registry.example/web:1"))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    let imported = h
        .import("berth_container_app.copy", TYPE, "us-east-1/web")
        .await
        .unwrap_or_else(|d| panic!("import: {d:?}"));
    for attr in [
        "image",
        "name",
        "fingerprint",
        "release",
        "security_group_id",
    ] {
        assert_eq!(
            imported.attr(attr),
            created.state.attr(attr),
            "{attr} after import"
        );
    }
}

fn with_migration(image: &str) -> Value {
    let mut v = app(image);
    v.set_attr(
        "release_command",
        Value::List(vec![
            Value::string("bin/rails"),
            Value::string("db:migrate"),
        ]),
    );
    v
}

#[tokio::test(start_paused = true)]
async fn a_release_command_is_a_plan_step_and_its_markers_are_kept_tidy() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    let (planned, _) = h
        .plan(ADDR, TYPE, with_migration("registry.example/web:1"))
        .await
        .unwrap_or_else(|d| panic!("plan: {d:?}"));
    let steps = strings(planned.attr("rollout_plan"));
    let at = steps
        .iter()
        .position(|s| s.starts_with("launch"))
        .expect("a launch");
    assert_eq!(
        steps[at + 1],
        "release command: bin/rails db:migrate on 1 new instance, before traffic (at most 1800 s)",
        "{steps:?}"
    );
    let fp = planned.attr("fingerprint").as_str().unwrap().to_string();
    let marker = format!("/berth/web/release/1-{}", fp.trim_start_matches("sha256:"));
    // A run of release 1 that failed in an earlier apply is forgotten, so
    // this apply's instances run the command again.
    cloud
        .account()
        .markers
        .insert(marker.clone(), ("failed: exit 1".into(), 0.0));
    h.apply(ADDR, TYPE, with_migration("registry.example/web:1"))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    assert!(!cloud.account().markers.contains_key(&marker));
    assert!(
        cloud.account().roles["web"].release_markers,
        "berth's role may write the markers"
    );
    // The instances recorded release 1's run; after release 2 only its
    // marker remains.
    cloud
        .account()
        .markers
        .insert(marker.clone(), ("ok on i-0001 in 3 s".into(), 0.0));
    let updated = h
        .apply(ADDR, TYPE, with_migration("registry.example/web:2"))
        .await
        .unwrap_or_else(|d| panic!("update: {d:?}"));
    assert!(
        !cloud.account().markers.contains_key(&marker),
        "release 1's marker removed"
    );
    let fp2 = updated
        .state
        .attr("fingerprint")
        .as_str()
        .unwrap()
        .to_string();
    let marker2 = format!("/berth/web/release/2-{}", fp2.trim_start_matches("sha256:"));
    cloud
        .account()
        .markers
        .insert(marker2.clone(), ("ok on i-0003 in 2 s".into(), 0.0));
    h.destroy(ADDR)
        .await
        .unwrap_or_else(|d| panic!("destroy: {d:?}"));
    assert!(cloud.account().markers.is_empty(), "destroy removes them");
}

#[tokio::test(start_paused = true)]
async fn adding_a_release_command_rolls_out_a_new_release() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    let created = h
        .apply(ADDR, TYPE, app("registry.example/web:1"))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    let (planned, _) = h
        .plan(ADDR, TYPE, with_migration("registry.example/web:1"))
        .await
        .unwrap_or_else(|d| panic!("plan: {d:?}"));
    assert_ne!(
        planned.attr("fingerprint"),
        created.state.attr("fingerprint"),
        "the command is part of the release"
    );
    assert_eq!(planned.attr("release").as_i64(), Some(2));
}

fn with_logs(image: &str, retention: i64) -> Value {
    let mut v = app(image);
    v.set_attr(
        "logs",
        Value::object([("retention_days", Value::int(retention))]),
    );
    v
}

#[tokio::test(start_paused = true)]
async fn the_log_group_is_made_before_the_launch_and_its_retention_changes_in_place() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    let applied = h
        .apply(ADDR, TYPE, with_logs("registry.example/web:1", 7))
        .await
        .unwrap_or_else(|d| panic!("apply: {d:?}"));
    assert_eq!(
        applied.state.attr("logs").attr("group").as_str(),
        Some("/berth/web"),
        "the default group, known at plan"
    );
    {
        let a = cloud.account();
        let g = &a.log_groups["/berth/web"];
        assert_eq!(g.retention_days, Some(7));
        assert!(g.is_apps("web"), "tagged as the app's: {g:?}");
    }
    // The retention alone: no new release, no launch.
    let launches = cloud.account().launches.len();
    let applied = h
        .apply(ADDR, TYPE, with_logs("registry.example/web:1", 90))
        .await
        .unwrap_or_else(|d| panic!("apply: {d:?}"));
    assert_eq!(applied.state.attr("release").as_i64(), Some(1));
    assert_eq!(cloud.account().launches.len(), launches);
    assert_eq!(
        cloud.account().log_groups["/berth/web"].retention_days,
        Some(90)
    );
    // Destroyed, the app leaves its logs (delete_on_destroy defaults to false).
    h.destroy(ADDR).await.unwrap();
    assert!(cloud.account().log_groups.contains_key("/berth/web"));
}

fn with_alarm(threshold: i64) -> Value {
    let mut v = app("registry.example/web:1");
    v.set_attr(
        "alarm",
        Value::List(vec![Value::object([
            ("name", Value::string("hot")),
            ("metric", Value::string("cpu")),
            ("threshold", Value::int(threshold)),
            (
                "alarm_actions",
                Value::List(vec![Value::string(
                    "arn:aws:sns:us-east-1:123456789012:ops",
                )]),
            ),
        ])]),
    );
    v
}

#[tokio::test(start_paused = true)]
async fn alarms_are_created_changed_in_place_and_deleted_with_the_app() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    h.apply(ADDR, TYPE, with_alarm(80))
        .await
        .unwrap_or_else(|d| panic!("apply: {d:?}"));
    {
        let a = cloud.account();
        let alarm = &a.alarms["berth.web.hot"];
        assert_eq!(alarm.metric, "CPUUtilization");
        assert_eq!(alarm.threshold, 80.0);
        assert_eq!(alarm.dimensions["App"], "web");
        assert_eq!(
            alarm.alarm_actions,
            ["arn:aws:sns:us-east-1:123456789012:ops"]
        );
    }
    // A new threshold: the alarm is updated in place; no new release.
    let launches = cloud.account().launches.len();
    let applied = h
        .apply(ADDR, TYPE, with_alarm(90))
        .await
        .unwrap_or_else(|d| panic!("apply: {d:?}"));
    assert_eq!(applied.state.attr("release").as_i64(), Some(1));
    assert_eq!(cloud.account().launches.len(), launches);
    assert_eq!(cloud.account().alarms["berth.web.hot"].threshold, 90.0);
    // Changed outside Terraform: refresh shows it, and the plan puts it back.
    cloud
        .account()
        .alarms
        .get_mut("berth.web.hot")
        .unwrap()
        .threshold = 50.0;
    let refreshed = h.refresh(ADDR).await.unwrap();
    assert_eq!(
        refreshed.attr("alarm").as_elements().unwrap()[0]
            .attr("threshold")
            .as_i64(),
        Some(50)
    );
    h.apply(ADDR, TYPE, with_alarm(90)).await.unwrap();
    assert_eq!(cloud.account().alarms["berth.web.hot"].threshold, 90.0);
    h.destroy(ADDR).await.unwrap();
    assert!(cloud.account().alarms.is_empty());
}

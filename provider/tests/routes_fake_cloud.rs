//! `berth_weighted_route`'s and `berth_region_pool`'s glue (plan, apply
//! with its shift and health checks, refresh, import, destroy) driven in
//! process by the tfplugin harness against a fake AWS account behind their
//! cloud port (`berth_testbed::fake_cloud::FakeAws`): records and health
//! checks in memory, a paused clock. The moto suites prove the port's SDK
//! side.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_aws::routing::RecordSet;
use berth_testbed::fake_cloud::FakeAws;
use terraform_provider_berth::BerthProvider;
use tfplugin::harness::Harness;
use tfplugin::value::Value;

async fn provider(cloud: &FakeAws) -> Harness {
    support::configured(BerthProvider::new().with_route_cloud(Arc::new(cloud.clone()))).await
}

const ROUTE: &str = "berth_weighted_route.api";
const ROUTE_TYPE: &str = "berth_weighted_route";
const FQDN: &str = "api.example.com.";

/// paas / green at the given weights; with `steps`, a shift to green.
fn route(paas: i64, green: i64, steps: Option<&[i64]>) -> Value {
    let mut attrs = vec![
        ("zone", Value::string("example.com")),
        ("name", Value::string("api")),
        (
            "target",
            Value::List(vec![
                Value::object([
                    ("id", Value::string("paas")),
                    ("hostname", Value::string("api.old-paas.example")),
                    ("weight", Value::int(paas)),
                ]),
                Value::object([
                    ("id", Value::string("green")),
                    ("hostname", Value::string("green.example.net")),
                    ("weight", Value::int(green)),
                    (
                        "health_check",
                        Value::object([("path", Value::string("/up"))]),
                    ),
                ]),
            ]),
        ),
    ];
    if let Some(steps) = steps {
        attrs.push((
            "shift",
            Value::object([
                ("to", Value::string("green")),
                (
                    "steps",
                    Value::List(steps.iter().map(|s| Value::int(*s)).collect()),
                ),
                ("bake", Value::int(60)),
            ]),
        ));
    }
    Value::object(attrs)
}

/// The id of the green target's health check in a route's state.
fn green_check(state: &Value) -> Option<String> {
    state
        .attr("health_check_ids")
        .as_entries()?
        .get("green")?
        .as_str()
        .map(str::to_string)
}

fn weights(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test(start_paused = true)]
async fn a_stepped_shift_writes_each_step_in_order_then_plans_empty() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    let created = h
        .apply(ROUTE, ROUTE_TYPE, route(100, 0, None))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    assert_eq!(created.state.attr("fqdn").as_str(), Some(FQDN));
    let hc = green_check(&created.state);
    assert!(
        hc.as_ref()
            .is_some_and(|id| cloud.account().checks.contains_key(id)),
        "{hc:?}"
    );
    assert_eq!(
        cloud.account().weights(FQDN),
        weights(&[("paas", 100), ("green", 0)])
    );

    cloud.account().weight_changes.clear();
    let shifted = h
        .apply(ROUTE, ROUTE_TYPE, route(0, 100, Some(&[10, 25, 50, 100])))
        .await
        .unwrap_or_else(|d| panic!("shift: {d:?}"));
    let seen: Vec<i64> = cloud
        .account()
        .weight_changes
        .iter()
        .map(|w| w["green"])
        .collect();
    assert_eq!(seen, vec![10, 25, 50, 100], "one change per step, in order");
    assert_eq!(
        cloud.account().weights(FQDN),
        weights(&[("paas", 0), ("green", 100)])
    );
    let summary = shifted
        .warnings
        .iter()
        .find(|d| d.summary == "Traffic shift finished")
        .map(|d| d.detail.clone())
        .unwrap_or_default();
    assert!(summary.contains("in 4 steps"), "{summary}");
    assert_eq!(
        green_check(&shifted.state),
        hc,
        "an unchanged health check is kept"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_gate_reverts_the_weights_and_keeps_the_state() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    h.apply(ROUTE, ROUTE_TYPE, route(100, 0, None))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    cloud.account().failing.insert("green.example.net".into());
    let err = h
        .apply(ROUTE, ROUTE_TYPE, route(0, 100, Some(&[10, 50, 100])))
        .await
        .expect_err("the gate fails");
    let text = format!("{err:?}");
    assert!(
        text.contains("Traffic shift on api.example.com failed"),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");
    assert_eq!(
        cloud.account().weights(FQDN),
        weights(&[("paas", 100), ("green", 0)]),
        "the weights are back where they were"
    );
    let state = h.state(ROUTE).unwrap();
    assert_eq!(
        state.attr("target").as_elements().unwrap()[0]
            .attr("weight")
            .as_i64(),
        Some(100),
        "state keeps the prior weights"
    );
}

#[tokio::test(start_paused = true)]
async fn a_route_is_imported_and_destroyed_with_its_health_checks() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    let created = h
        .apply(ROUTE, ROUTE_TYPE, route(70, 30, None))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    let imported = h
        .import("berth_weighted_route.copy", ROUTE_TYPE, "example.com/api")
        .await
        .unwrap_or_else(|d| panic!("import: {d:?}"));
    for attr in ["fqdn", "zone_id", "record_type"] {
        assert_eq!(imported.attr(attr), created.state.attr(attr), "{attr}");
    }
    h.destroy(ROUTE)
        .await
        .unwrap_or_else(|d| panic!("destroy: {d:?}"));
    let r = cloud.account();
    assert!(r.weighted.is_empty(), "{:?}", r.weighted);
    assert!(r.checks.is_empty(), "{:?}", r.checks);
}

const POOL: &str = "berth_region_pool.global";
const POOL_TYPE: &str = "berth_region_pool";

fn pool(regions: &[(&str, bool)]) -> Value {
    Value::object([
        ("zone", Value::string("example.com")),
        ("name", Value::string("global")),
        ("primary", Value::string("us-east-1")),
        (
            "region",
            Value::Set(
                regions
                    .iter()
                    .map(|(r, drained)| {
                        let short = r.split('-').next().unwrap();
                        Value::object([
                            ("name", Value::string(*r)),
                            ("hostname", Value::string(format!("{short}.example.net"))),
                            ("drained", Value::Bool(*drained)),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

#[tokio::test(start_paused = true)]
async fn a_region_pool_is_created_drained_and_destroyed() {
    let cloud = FakeAws::new();
    let mut h = provider(&cloud).await;
    let created = h
        .apply(
            POOL,
            POOL_TYPE,
            pool(&[("us-east-1", false), ("eu-west-1", false)]),
        )
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    let described = |c: &FakeAws| -> Vec<String> {
        let mut v: Vec<String> = c.account().sets.values().map(RecordSet::describe).collect();
        v.sort();
        v
    };
    let mut planned: Vec<String> = created
        .state
        .attr("records")
        .as_elements()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect();
    planned.sort();
    assert_eq!(
        described(&cloud),
        planned,
        "the records are what state says"
    );
    assert_eq!(
        planned.len(),
        5,
        "2 latency aliases, 2 primaries, 1 secondary"
    );
    assert_eq!(
        cloud.account().checks.len(),
        2,
        "one health check per region"
    );

    h.apply(
        POOL,
        POOL_TYPE,
        pool(&[("us-east-1", false), ("eu-west-1", true)]),
    )
    .await
    .unwrap_or_else(|d| panic!("drain: {d:?}"));
    let drained = described(&cloud);
    assert!(
        drained.contains(
            &"global.example.com [latency eu-west-1] alias → us-east-1.pool.global.example.com."
                .to_string()
        ),
        "a drained region's users go to the primary: {drained:?}"
    );

    h.destroy(POOL)
        .await
        .unwrap_or_else(|d| panic!("destroy: {d:?}"));
    let r = cloud.account();
    assert!(r.sets.is_empty(), "{:?}", r.sets);
    assert!(r.checks.is_empty(), "{:?}", r.checks);
}

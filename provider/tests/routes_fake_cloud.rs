//! `berth_weighted_route`'s and `berth_region_pool`'s glue (plan, apply
//! with its shift and health checks, refresh, import, destroy) driven in
//! process by the tfplugin harness against a fake of their cloud port
//! (`berth_aws::ports::RouteCloud`): a Route53 of records and health
//! checks in memory, a paused clock. The moto suites prove the port's SDK
//! side.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use berth_aws::AwsError;
use berth_aws::dns::{HostedZone, canonical};
use berth_aws::fleet::AddressKind;
use berth_aws::ports::{Reads, RouteCloud};
use berth_aws::routing::{HealthCheckSpec, RecordSet, WeightedRecord, ZoneRecords};
use berth_rollout::Instance;
use terraform_provider_berth::BerthProvider;
use tfplugin::harness::Harness;
use tfplugin::value::Value;

const ZONE_ID: &str = "ZFAKE2";

/// One health check.
#[derive(Clone, Debug)]
struct Check {
    reference: String,
    spec: HealthCheckSpec,
}

/// The fake's Route53.
#[derive(Debug, Default)]
struct Route53 {
    next: u32,
    /// Weighted records by canonical name.
    weighted: BTreeMap<String, Vec<WeightedRecord>>,
    /// Region pool record sets by (name, set id).
    sets: BTreeMap<(String, String), RecordSet>,
    checks: BTreeMap<String, Check>,
    /// Host names whose health checks fail.
    failing: BTreeSet<String>,
    /// Set id → weight after each weighted change, in order.
    changes: Vec<BTreeMap<String, i64>>,
}

#[derive(Clone, Debug, Default)]
struct FakeRoute53 {
    r53: Arc<Mutex<Route53>>,
}

impl FakeRoute53 {
    fn r53(&self) -> std::sync::MutexGuard<'_, Route53> {
        self.r53.lock().unwrap()
    }

    fn weights(&self, fqdn: &str) -> BTreeMap<String, i64> {
        self.r53()
            .weighted
            .get(&canonical(fqdn))
            .into_iter()
            .flatten()
            .map(|r| (r.set_id.clone(), r.weight))
            .collect()
    }
}

#[async_trait]
impl Reads for FakeRoute53 {
    fn region(&self) -> &str {
        "us-east-1"
    }

    async fn inventory(&self) -> Result<BTreeMap<String, Vec<Instance>>, AwsError> {
        Ok(BTreeMap::new())
    }

    async fn app_instances(
        &self,
        _app: &str,
        _kind: AddressKind,
    ) -> Result<Vec<Instance>, AwsError> {
        Ok(vec![])
    }

    async fn find_zone(&self, zone: &str) -> Result<HostedZone, AwsError> {
        support::example_zone(zone, ZONE_ID)
    }

    async fn zone_records(&self, zone_id: &str) -> Result<ZoneRecords, AwsError> {
        let r = self.r53();
        let weighted: Vec<(String, WeightedRecord)> = r
            .weighted
            .iter()
            .flat_map(|(name, recs)| recs.iter().map(|w| (name.clone(), w.clone())))
            .collect();
        ZoneRecords::from_records(zone_id, [], weighted, r.sets.values().cloned())
    }
}

#[async_trait]
impl RouteCloud for FakeRoute53 {
    async fn weighted_records(
        &self,
        _zone_id: &str,
        fqdn: &str,
    ) -> Result<Vec<WeightedRecord>, AwsError> {
        Ok(self
            .r53()
            .weighted
            .get(&canonical(fqdn))
            .cloned()
            .unwrap_or_default())
    }

    async fn set_weighted(
        &self,
        _zone_id: &str,
        fqdn: &str,
        desired: &[WeightedRecord],
        current: &[WeightedRecord],
    ) -> Result<(), AwsError> {
        let mut r = self.r53();
        let name = canonical(fqdn);
        let now = r.weighted.get(&name).cloned().unwrap_or_default();
        assert_eq!(now, current, "the change is computed against what is there");
        if desired.is_empty() {
            r.weighted.remove(&name);
        } else {
            r.weighted.insert(name, desired.to_vec());
        }
        let w = desired
            .iter()
            .map(|d| (d.set_id.clone(), d.weight))
            .collect();
        r.changes.push(w);
        Ok(())
    }

    async fn pool_record_sets(
        &self,
        _zone_id: &str,
        fqdn: &str,
    ) -> Result<Vec<RecordSet>, AwsError> {
        let name = canonical(fqdn);
        let member = format!(".pool.{name}");
        Ok(self
            .r53()
            .sets
            .values()
            .filter(|s| s.name == name || s.name.ends_with(&member))
            .cloned()
            .collect())
    }

    async fn apply_record_sets(
        &self,
        _zone_id: &str,
        desired: &[RecordSet],
        current: &[RecordSet],
    ) -> Result<(), AwsError> {
        let mut r = self.r53();
        for s in current {
            r.sets.remove(&(s.name.clone(), s.set_id.clone()));
        }
        for s in desired {
            if let Some(alias) = &s.alias {
                let target_exists = desired.iter().any(|d| &d.name == alias);
                assert!(target_exists, "alias {alias} of {} has a target", s.name);
            }
            r.sets.insert((s.name.clone(), s.set_id.clone()), s.clone());
        }
        Ok(())
    }

    async fn owned_health_checks(&self, owner: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let prefix = berth_aws::health_check_ref::owner_prefix(owner);
        Ok(self
            .r53()
            .checks
            .iter()
            .filter(|(_, c)| c.reference.starts_with(&prefix))
            .map(|(id, c)| (id.clone(), c.reference.clone()))
            .collect())
    }

    async fn create_health_check(
        &self,
        spec: &HealthCheckSpec,
        caller_reference: &str,
        _tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        let mut r = self.r53();
        if let Some((id, _)) = r
            .checks
            .iter()
            .find(|(_, c)| c.reference == caller_reference)
        {
            return Ok(id.clone());
        }
        r.next += 1;
        let id = format!("hc-{:04}", r.next);
        r.checks.insert(
            id.clone(),
            Check {
                reference: caller_reference.into(),
                spec: spec.clone(),
            },
        );
        Ok(id)
    }

    async fn tag_health_check(
        &self,
        _id: &str,
        _tags: &[(String, String)],
    ) -> Result<(), AwsError> {
        Ok(())
    }

    async fn delete_health_check(&self, id: &str) -> Result<(), AwsError> {
        self.r53().checks.remove(id);
        Ok(())
    }

    async fn health_check_status(&self, id: &str) -> Result<Result<(), String>, AwsError> {
        let r = self.r53();
        let Some(c) = r.checks.get(id) else {
            return Err(AwsError::Config(format!("no health check {id}")));
        };
        let host = c.spec.fqdn.clone().unwrap_or_default();
        Ok(if r.failing.contains(&host) {
            Err(format!("{host}: connection refused"))
        } else {
            Ok(())
        })
    }
}

async fn provider(cloud: &FakeRoute53) -> Harness {
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
    let cloud = FakeRoute53::default();
    let mut h = provider(&cloud).await;
    let created = h
        .apply(ROUTE, ROUTE_TYPE, route(100, 0, None))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    assert_eq!(created.state.attr("fqdn").as_str(), Some(FQDN));
    let hc = green_check(&created.state);
    assert!(
        hc.as_ref()
            .is_some_and(|id| cloud.r53().checks.contains_key(id)),
        "{hc:?}"
    );
    assert_eq!(cloud.weights(FQDN), weights(&[("paas", 100), ("green", 0)]));

    cloud.r53().changes.clear();
    let shifted = h
        .apply(ROUTE, ROUTE_TYPE, route(0, 100, Some(&[10, 25, 50, 100])))
        .await
        .unwrap_or_else(|d| panic!("shift: {d:?}"));
    let seen: Vec<i64> = cloud.r53().changes.iter().map(|w| w["green"]).collect();
    assert_eq!(seen, vec![10, 25, 50, 100], "one change per step, in order");
    assert_eq!(cloud.weights(FQDN), weights(&[("paas", 0), ("green", 100)]));
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
    let cloud = FakeRoute53::default();
    let mut h = provider(&cloud).await;
    h.apply(ROUTE, ROUTE_TYPE, route(100, 0, None))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    cloud.r53().failing.insert("green.example.net".into());
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
        cloud.weights(FQDN),
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
    let cloud = FakeRoute53::default();
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
    let r = cloud.r53();
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
    let cloud = FakeRoute53::default();
    let mut h = provider(&cloud).await;
    let created = h
        .apply(
            POOL,
            POOL_TYPE,
            pool(&[("us-east-1", false), ("eu-west-1", false)]),
        )
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    let described = |c: &FakeRoute53| -> Vec<String> {
        let mut v: Vec<String> = c.r53().sets.values().map(RecordSet::describe).collect();
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
    assert_eq!(cloud.r53().checks.len(), 2, "one health check per region");

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
    let r = cloud.r53();
    assert!(r.sets.is_empty(), "{:?}", r.sets);
    assert!(r.checks.is_empty(), "{:?}", r.checks);
}

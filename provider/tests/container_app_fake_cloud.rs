//! `berth_container_app`'s glue (plan, apply, refresh, destroy) driven in
//! process by the tfplugin harness against a fake of its cloud port
//! (`berth_aws::ports::AppCloud`): no emulator, no network, a paused
//! clock. The fake launches what the launch payload says and reports
//! health from the payload's image, so these tests pin what the provider
//! does between Terraform and the port; the moto and real-instance suites
//! prove the port's SDK side.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use berth_aws::AwsError;
use berth_aws::dns::{ARecord, HostedZone};
use berth_aws::ec2::Ingress;
use berth_aws::fleet::{AddressKind, LaunchSpec, TagProbe};
use berth_aws::iam::{InstanceRole, Needs};
use berth_aws::ports::{AppCloud, Reads};
use berth_aws::routing::ZoneRecords;
use berth_rollout::{Compute, Dns, Instance, InstanceState, PortError, Probe, Release};
use terraform_provider_berth::BerthProvider;
use tfplugin::harness::Harness;
use tfplugin::value::Value;

const REGION: &str = "us-east-1";
const ZONE_ID: &str = "ZFAKE1";
const FQDN: &str = "web.example.com.";

/// One instance the fake started.
#[derive(Clone, Debug)]
struct FakeInstance {
    app: String,
    image: String,
    script: String,
    instance: Instance,
}

/// Everything the fake cloud holds.
#[derive(Debug, Default)]
struct World {
    next: u32,
    instances: BTreeMap<String, FakeInstance>,
    records: BTreeMap<String, (i64, Vec<String>)>,
    security_groups: BTreeMap<String, String>,
    roles: BTreeMap<String, Needs>,
    /// (release, image) of every launch call that started instances.
    launches: Vec<(u64, String)>,
}

impl World {
    fn live(&self, app: &str) -> Vec<&FakeInstance> {
        self.instances
            .values()
            .filter(|i| i.app == app && i.instance.is_live())
            .collect()
    }

    fn record(&self) -> Vec<String> {
        self.records
            .get(FQDN)
            .map(|r| r.1.clone())
            .unwrap_or_default()
    }
}

/// The fake cloud: one region, one hosted zone `example.com`.
#[derive(Clone, Debug, Default)]
struct FakeCloud {
    world: Arc<Mutex<World>>,
}

impl FakeCloud {
    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }
}

/// Health an instance of `image` reports once running.
fn health_of(image: &str) -> String {
    if image.contains("broken") {
        format!("unhealthy: bootstrap: pull {image} denied")
    } else {
        "healthy".into()
    }
}

#[async_trait]
impl Reads for FakeCloud {
    fn region(&self) -> &str {
        REGION
    }

    async fn inventory(&self) -> Result<BTreeMap<String, Vec<Instance>>, AwsError> {
        let w = self.world();
        let mut out: BTreeMap<String, Vec<Instance>> = BTreeMap::new();
        for i in w.instances.values().filter(|i| i.instance.is_live()) {
            let mut raw = i.instance.clone();
            raw.address = None;
            out.entry(i.app.clone()).or_default().push(raw);
        }
        Ok(out)
    }

    async fn find_zone(&self, zone: &str) -> Result<HostedZone, AwsError> {
        support::example_zone(zone, ZONE_ID)
    }

    async fn zone_records(&self, zone_id: &str) -> Result<ZoneRecords, AwsError> {
        let w = self.world();
        let a = w.records.iter().map(|(name, (ttl, values))| {
            (
                name.clone(),
                ARecord {
                    ttl: *ttl,
                    values: values.clone(),
                },
            )
        });
        ZoneRecords::from_records(zone_id, a, [], [])
    }

    async fn app_instances(&self, app: &str, kind: AddressKind) -> Result<Vec<Instance>, AwsError> {
        Ok(self
            .world()
            .live(app)
            .into_iter()
            .map(|i| kind.apply(i.instance.clone()))
            .collect())
    }
}

#[async_trait]
impl AppCloud for FakeCloud {
    async fn default_ami(&self, arch: &str) -> Result<String, AwsError> {
        Ok(if arch == "arm64" {
            "ami-0000000000000a64".into()
        } else {
            "ami-0000000000000086".into()
        })
    }

    async fn default_subnets(&self) -> Result<Vec<String>, AwsError> {
        Ok(vec!["subnet-a".into(), "subnet-b".into()])
    }

    async fn vpc_for(&self, _subnet: Option<&str>) -> Result<String, AwsError> {
        Ok("vpc-default".into())
    }

    async fn ensure_app_security_group(
        &self,
        app: &str,
        _vpc: &str,
        _ingress: &Ingress,
        _tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let mut w = self.world();
        let id = format!("sg-{app}");
        w.security_groups.insert(app.into(), id.clone());
        Ok(id)
    }

    async fn find_app_security_group(&self, app: &str) -> Result<Option<String>, AwsError> {
        Ok(self.world().security_groups.get(app).cloned())
    }

    async fn delete_security_group(&self, id: &str, _patience: Duration) -> Result<(), AwsError> {
        self.world().security_groups.retain(|_, sg| sg != id);
        Ok(())
    }

    async fn user_data(&self, id: &str) -> Result<String, AwsError> {
        self.world()
            .instances
            .get(id)
            .map(|i| i.script.clone())
            .ok_or_else(|| AwsError::Config(format!("no instance {id}")))
    }

    async fn retag(
        &self,
        _ids: &[String],
        _tags: &BTreeMap<String, String>,
        _remove: &[String],
    ) -> Result<(), AwsError> {
        Ok(())
    }

    fn compute(&self, spec: LaunchSpec) -> Box<dyn Compute> {
        Box::new(FakeCompute {
            world: self.world.clone(),
            spec,
        })
    }

    fn probe(&self) -> Box<dyn Probe> {
        Box::new(TagProbe)
    }

    async fn a_record(&self, _zone_id: &str, fqdn: &str) -> Result<Option<Vec<String>>, AwsError> {
        Ok(self.world().records.get(fqdn).map(|r| r.1.clone()))
    }

    async fn set_a_record(
        &self,
        _zone_id: &str,
        fqdn: &str,
        ttl: i64,
        values: &[String],
    ) -> Result<(), AwsError> {
        let mut w = self.world();
        if values.is_empty() {
            w.records.remove(fqdn);
        } else {
            w.records.insert(fqdn.into(), (ttl, values.to_vec()));
        }
        Ok(())
    }

    fn origin(&self, _zone_id: &str, fqdn: &str, ttl: i64) -> Box<dyn Dns> {
        Box::new(FakeDns {
            cloud: self.clone(),
            fqdn: fqdn.into(),
            ttl,
        })
    }

    async fn ensure_instance_role(
        &self,
        app: &str,
        needs: &Needs,
        _tags: &BTreeMap<String, String>,
    ) -> Result<InstanceRole, AwsError> {
        self.world().roles.insert(app.into(), needs.clone());
        let name = berth_aws::iam::role_name(app, REGION);
        Ok(InstanceRole {
            arn: format!("arn:aws:iam::123456789012:role/berth/{name}"),
            name,
        })
    }

    async fn put_role_policy(
        &self,
        _role: &InstanceRole,
        app: &str,
        needs: &Needs,
    ) -> Result<(), AwsError> {
        self.world().roles.insert(app.into(), needs.clone());
        Ok(())
    }

    async fn delete_instance_role(&self, app: &str) -> Result<bool, AwsError> {
        Ok(self.world().roles.remove(app).is_some())
    }
}

/// Launches what the spec's payload says; instances report health from
/// their image once refreshed (booted).
struct FakeCompute {
    world: Arc<Mutex<World>>,
    spec: LaunchSpec,
}

#[async_trait]
impl Compute for FakeCompute {
    async fn launch(
        &self,
        release: &Release,
        count: u32,
        batch: u32,
    ) -> Result<Vec<Instance>, PortError> {
        let payload = self.spec.payload_for(release)?;
        let mut w = self.world.lock().unwrap();
        let image = payload.release().image.clone();
        w.launches.push((release.number, image.clone()));
        let mut out = Vec::new();
        for k in 0..count {
            w.next += 1;
            let n = w.next;
            let instance = Instance {
                id: format!("i-{n:04}"),
                release: release.number,
                fingerprint: release.fingerprint.clone(),
                zone: format!("{REGION}{}", ["a", "b"][((k + batch) % 2) as usize]),
                address: None,
                private_ip: Some(format!("10.0.0.{n}")),
                public_ip: Some(format!("203.0.113.{n}")),
                state: InstanceState::Pending,
                reported_health: None,
            };
            let launched = self.spec.address.apply(instance.clone());
            w.instances.insert(
                instance.id.clone(),
                FakeInstance {
                    app: self.spec.app.clone(),
                    image: image.clone(),
                    script: payload.script(),
                    instance,
                },
            );
            out.push(launched);
        }
        Ok(out)
    }

    async fn refresh(&self, ids: &[String]) -> Result<Vec<Instance>, PortError> {
        let mut w = self.world.lock().unwrap();
        let mut out = Vec::new();
        for id in ids {
            if let Some(i) = w.instances.get_mut(id) {
                if i.instance.state == InstanceState::Pending {
                    i.instance.state = InstanceState::Running;
                    i.instance.reported_health = Some(health_of(&i.image));
                }
                out.push(self.spec.address.apply(i.instance.clone()));
            }
        }
        Ok(out)
    }

    async fn terminate(&self, ids: &[String]) -> Result<(), PortError> {
        let mut w = self.world.lock().unwrap();
        for id in ids {
            if let Some(i) = w.instances.get_mut(id) {
                i.instance.state = InstanceState::Terminated;
            }
        }
        Ok(())
    }
}

/// The origin record in the fake zone.
struct FakeDns {
    cloud: FakeCloud,
    fqdn: String,
    ttl: i64,
}

#[async_trait]
impl Dns for FakeDns {
    async fn point(&self, targets: &[String]) -> Result<(), PortError> {
        self.cloud
            .set_a_record(ZONE_ID, &self.fqdn, self.ttl, targets)
            .await
            .map_err(|e| PortError::new("origin", e.to_string()))
    }
}

async fn provider(cloud: &FakeCloud) -> Harness {
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

fn live_addresses(cloud: &FakeCloud, release: u64) -> Vec<String> {
    let mut out: Vec<String> = cloud
        .world()
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
    let cloud = FakeCloud::default();
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

    let w = cloud.world();
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
    let mut record = cloud.world().record();
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
    let cloud = FakeCloud::default();
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
    let mut record = cloud.world().record();
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
    let cloud = FakeCloud::default();
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
    let mut record = cloud.world().record();
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
    let cloud = FakeCloud::default();
    let mut h = provider(&cloud).await;
    let err = h
        .apply(ADDR, TYPE, app("registry.example/broken:1"))
        .await
        .expect_err("the gate fails");
    assert!(format!("{err:?}").contains("release 1 failed"), "{err:?}");
    let w = cloud.world();
    assert!(w.live("web").is_empty());
    assert!(w.security_groups.is_empty(), "{:?}", w.security_groups);
    assert!(w.roles.is_empty(), "{:?}", w.roles);
    assert!(w.records.is_empty(), "{:?}", w.records);
}

#[tokio::test(start_paused = true)]
async fn destroy_removes_instances_record_security_group_and_role() {
    let cloud = FakeCloud::default();
    let mut h = provider(&cloud).await;
    h.apply(ADDR, TYPE, app("registry.example/web:1"))
        .await
        .unwrap_or_else(|d| panic!("create: {d:?}"));
    assert!(!cloud.world().records.is_empty());
    h.destroy(ADDR)
        .await
        .unwrap_or_else(|d| panic!("destroy: {d:?}"));
    let w = cloud.world();
    assert!(w.live("web").is_empty());
    assert!(w.records.is_empty(), "{:?}", w.records);
    assert!(w.security_groups.is_empty(), "{:?}", w.security_groups);
    assert!(w.roles.is_empty(), "{:?}", w.roles);
}

#[tokio::test(start_paused = true)]
async fn import_rebuilds_the_state_from_the_running_release() {
    let cloud = FakeCloud::default();
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

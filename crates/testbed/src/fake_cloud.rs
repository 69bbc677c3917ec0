//! A fake AWS account behind berth's cloud ports (`berth_aws::ports`):
//! instances, security groups, IAM roles, one hosted zone `example.com`
//! with simple A, weighted and region pool records, and Route53 health
//! checks, all in memory. The provider's tests build a provider on it
//! (`BerthProvider::new().with_app_cloud(…).with_route_cloud(…)`) and run
//! its glue in process on a paused clock; the moto and real-instance
//! suites prove the ports' SDK side.
//!
//! Behaviour worth knowing:
//! - Launches take the image from the launch payload; an instance is
//!   `pending` until the engine first refreshes it, then `running` and
//!   reports `healthy`, or `unhealthy: bootstrap: pull <image> denied` when
//!   the image name contains `broken`.
//! - A health check fails while its host name is in
//!   [`Account::failing`].
//! - Weighted changes must be computed against what the zone holds (it
//!   panics otherwise, as Route53 would refuse the batch), and every alias
//!   a record set change leaves must have a target.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use berth_aws::AwsError;
use berth_aws::alarms::AlarmSpec;
use berth_aws::dns::{ARecord, HostedZone, canonical};
use berth_aws::ec2::Ingress;
use berth_aws::fleet::{AddressKind, LaunchSpec, TagProbe};
use berth_aws::iam::{InstanceRole, Needs};
use berth_aws::lb_fleet::{Capacity, LbLaunchSpec, LbShift, LbTarget};
use berth_aws::logs::LogGroup;
use berth_aws::ports::{AppCloud, Reads, RouteCloud};
use berth_aws::routing::{HealthCheckSpec, RecordSet, WeightedRecord, ZoneRecords};
use berth_rollout::{Compute, Dns, Instance, InstanceState, PortError, Probe, Release};

/// The fake's region.
pub const REGION: &str = "us-east-1";
/// The id of its one hosted zone, `example.com`.
pub const ZONE_ID: &str = "ZFAKE";

/// One instance the fake started.
#[derive(Clone, Debug)]
pub struct FakeInstance {
    /// The app it belongs to.
    pub app: String,
    /// The image its payload named.
    pub image: String,
    /// The user-data script it runs.
    pub script: String,
    /// The engine's view of it.
    pub instance: Instance,
}

/// One health check.
#[derive(Clone, Debug)]
pub struct Check {
    /// Its caller reference.
    pub reference: String,
    /// What it checks.
    pub spec: HealthCheckSpec,
}

/// Everything the fake account holds.
#[derive(Debug, Default)]
pub struct Account {
    next: u32,
    /// Instances by id (terminated ones stay, as on EC2 for a while).
    pub instances: BTreeMap<String, FakeInstance>,
    /// Simple A records: canonical name → (TTL, addresses).
    pub records: BTreeMap<String, (i64, Vec<String>)>,
    /// Weighted records by canonical name.
    pub weighted: BTreeMap<String, Vec<WeightedRecord>>,
    /// Region pool record sets by (name, set id).
    pub sets: BTreeMap<(String, String), RecordSet>,
    /// Health checks by id.
    pub checks: BTreeMap<String, Check>,
    /// Host names whose health checks fail.
    pub failing: BTreeSet<String>,
    /// Security groups berth made: app → id.
    pub security_groups: BTreeMap<String, String>,
    /// berth's IAM roles: app → what the policy allows.
    pub roles: BTreeMap<String, Needs>,
    /// (release, image) of every launch call that started instances.
    pub launches: Vec<(u64, String)>,
    /// Set id → weight after each weighted change, in order.
    pub weight_changes: Vec<BTreeMap<String, i64>>,
    /// Release command markers (SSM parameters): name → (value, when it
    /// last changed, seconds since the Unix epoch).
    pub markers: BTreeMap<String, (String, f64)>,
    /// Log groups by name.
    pub log_groups: BTreeMap<String, LogGroup>,
    /// CloudWatch alarms by name.
    pub alarms: BTreeMap<String, AlarmSpec>,
    /// How many times an alarm was put (created or updated).
    pub alarm_puts: usize,
}

impl Account {
    /// The live instances of `app`.
    pub fn live(&self, app: &str) -> Vec<&FakeInstance> {
        self.instances
            .values()
            .filter(|i| i.app == app && i.instance.is_live())
            .collect()
    }

    /// The addresses of the A record `fqdn` (none: empty).
    pub fn record(&self, fqdn: &str) -> Vec<String> {
        self.records
            .get(&canonical(fqdn))
            .map(|r| r.1.clone())
            .unwrap_or_default()
    }

    /// Set id → weight of the weighted records of `fqdn`.
    pub fn weights(&self, fqdn: &str) -> BTreeMap<String, i64> {
        self.weighted
            .get(&canonical(fqdn))
            .into_iter()
            .flatten()
            .map(|r| (r.set_id.clone(), r.weight))
            .collect()
    }

    /// Adds a running instance of `app` (as if an earlier apply launched
    /// it) and returns it.
    pub fn add_instance(&mut self, app: &str, release: u64, image: &str, script: &str) -> Instance {
        self.next += 1;
        let n = self.next;
        let instance = Instance {
            id: format!("i-{n:04}"),
            release,
            fingerprint: format!("fp{release}"),
            zone: format!("{REGION}a"),
            address: None,
            private_ip: Some(format!("10.0.0.{n}")),
            public_ip: Some(format!("203.0.113.{n}")),
            state: InstanceState::Running,
            reported_health: Some(health_of(image)),
        };
        self.instances.insert(
            instance.id.clone(),
            FakeInstance {
                app: app.into(),
                image: image.into(),
                script: script.into(),
                instance: instance.clone(),
            },
        );
        instance
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

/// The fake account; clones share it.
#[derive(Clone, Debug, Default)]
pub struct FakeAws {
    account: Arc<Mutex<Account>>,
}

impl FakeAws {
    /// A new, empty account.
    pub fn new() -> FakeAws {
        FakeAws::default()
    }

    /// What the account holds (locked while the guard lives).
    ///
    /// # Panics
    /// When a holder of the lock panicked.
    pub fn account(&self) -> MutexGuard<'_, Account> {
        self.account.lock().expect("fake account lock")
    }
}

fn no_such(what: &str) -> AwsError {
    AwsError::Config(format!("fake AWS: {what}"))
}

#[async_trait]
impl Reads for FakeAws {
    fn region(&self) -> &str {
        REGION
    }

    async fn inventory(&self) -> Result<BTreeMap<String, Vec<Instance>>, AwsError> {
        let a = self.account();
        let mut out: BTreeMap<String, Vec<Instance>> = BTreeMap::new();
        for i in a.instances.values().filter(|i| i.instance.is_live()) {
            let mut raw = i.instance.clone();
            raw.address = None;
            out.entry(i.app.clone()).or_default().push(raw);
        }
        Ok(out)
    }

    async fn app_instances(&self, app: &str, kind: AddressKind) -> Result<Vec<Instance>, AwsError> {
        Ok(self
            .account()
            .live(app)
            .into_iter()
            .map(|i| kind.apply(i.instance.clone()))
            .collect())
    }

    async fn find_zone(&self, zone: &str) -> Result<HostedZone, AwsError> {
        if zone.trim_end_matches('.') == "example.com" || zone == ZONE_ID {
            Ok(HostedZone {
                id: ZONE_ID.into(),
                name: "example.com.".into(),
            })
        } else {
            Err(no_such(&format!("no hosted zone {zone}")))
        }
    }

    async fn zone_records(&self, zone_id: &str) -> Result<ZoneRecords, AwsError> {
        let a = self.account();
        let simple = a.records.iter().map(|(name, (ttl, values))| {
            (
                name.clone(),
                ARecord {
                    ttl: *ttl,
                    values: values.clone(),
                },
            )
        });
        let weighted: Vec<(String, WeightedRecord)> = a
            .weighted
            .iter()
            .flat_map(|(name, recs)| recs.iter().map(|w| (name.clone(), w.clone())))
            .collect();
        ZoneRecords::from_records(zone_id, simple, weighted, a.sets.values().cloned())
    }
}

#[async_trait]
impl AppCloud for FakeAws {
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
        let id = format!("sg-{app}");
        self.account()
            .security_groups
            .insert(app.into(), id.clone());
        Ok(id)
    }

    async fn find_app_security_group(&self, app: &str) -> Result<Option<String>, AwsError> {
        Ok(self.account().security_groups.get(app).cloned())
    }

    async fn delete_security_group(&self, id: &str, _patience: Duration) -> Result<(), AwsError> {
        self.account().security_groups.retain(|_, sg| sg != id);
        Ok(())
    }

    async fn user_data(&self, id: &str) -> Result<String, AwsError> {
        self.account()
            .instances
            .get(id)
            .map(|i| i.script.clone())
            .ok_or_else(|| no_such(&format!("no instance {id}")))
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
            aws: self.clone(),
            spec,
        })
    }

    fn probe(&self) -> Box<dyn Probe> {
        Box::new(TagProbe)
    }

    fn lb_compute(&self, _spec: LbLaunchSpec) -> Box<dyn Compute> {
        Box::new(NoLoadBalancer)
    }

    fn lb_rule(&self, _target: LbTarget, _shift: Option<LbShift>) -> Box<dyn Dns> {
        Box::new(NoLoadBalancer)
    }

    fn lb_probe(&self) -> Box<dyn Probe> {
        Box::new(TagProbe)
    }

    async fn serving_groups(
        &self,
        _listener_arn: &str,
        _app: &str,
    ) -> Result<Option<Vec<String>>, AwsError> {
        Err(no_load_balancer("DescribeRules"))
    }

    async fn sync_capacity(
        &self,
        _target: &LbTarget,
        _group: &str,
        _cap: &Capacity,
    ) -> Result<(), AwsError> {
        Err(no_load_balancer("UpdateAutoScalingGroup"))
    }

    async fn lb_settings(
        &self,
        _listener_arn: &str,
        _app: &str,
    ) -> Result<berth_aws::lb_fleet::LbSettings, AwsError> {
        Err(no_load_balancer("DescribeRules"))
    }

    async fn set_deregistration_delay(&self, _group: &str, _seconds: u32) -> Result<(), AwsError> {
        Err(no_load_balancer("ModifyTargetGroupAttributes"))
    }

    async fn delete_lb_app(
        &self,
        _listener_arn: Option<&str>,
        _app: &str,
        _known: &[String],
    ) -> Result<Vec<String>, AwsError> {
        Err(no_load_balancer("DeleteAutoScalingGroup"))
    }

    async fn a_record(&self, _zone_id: &str, fqdn: &str) -> Result<Option<Vec<String>>, AwsError> {
        Ok(self
            .account()
            .records
            .get(&canonical(fqdn))
            .map(|r| r.1.clone()))
    }

    async fn set_a_record(
        &self,
        _zone_id: &str,
        fqdn: &str,
        ttl: i64,
        values: &[String],
    ) -> Result<(), AwsError> {
        let mut a = self.account();
        if values.is_empty() {
            a.records.remove(&canonical(fqdn));
        } else {
            a.records.insert(canonical(fqdn), (ttl, values.to_vec()));
        }
        Ok(())
    }

    fn origin(&self, _zone_id: &str, fqdn: &str, ttl: i64) -> Box<dyn Dns> {
        Box::new(FakeOrigin {
            aws: self.clone(),
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
        self.account().roles.insert(app.into(), needs.clone());
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
        self.account().roles.insert(app.into(), needs.clone());
        Ok(())
    }

    async fn delete_instance_role(&self, app: &str) -> Result<bool, AwsError> {
        Ok(self.account().roles.remove(app).is_some())
    }

    async fn marker(&self, name: &str) -> Result<Option<(String, Option<f64>)>, AwsError> {
        Ok(self
            .account()
            .markers
            .get(name)
            .map(|(v, at)| (v.clone(), Some(*at))))
    }

    async fn markers_under(&self, path: &str) -> Result<Vec<String>, AwsError> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        Ok(self
            .account()
            .markers
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect())
    }

    async fn delete_marker(&self, name: &str) -> Result<(), AwsError> {
        self.account().markers.remove(name);
        Ok(())
    }

    async fn ensure_log_group(
        &self,
        name: &str,
        retention_days: i32,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let mut account = self.account();
        let group = account
            .log_groups
            .entry(name.to_string())
            .or_insert_with(|| LogGroup {
                name: name.to_string(),
                retention_days: None,
                tags: tags.clone(),
            });
        group.retention_days = Some(retention_days);
        Ok(())
    }

    async fn log_group(&self, name: &str) -> Result<Option<LogGroup>, AwsError> {
        // Tags are read only on request, as the real call does.
        Ok(self.account().log_groups.get(name).map(|g| LogGroup {
            tags: BTreeMap::new(),
            ..g.clone()
        }))
    }

    async fn log_group_with_tags(&self, name: &str) -> Result<Option<LogGroup>, AwsError> {
        Ok(self.account().log_groups.get(name).cloned())
    }

    async fn delete_log_group(&self, name: &str) -> Result<(), AwsError> {
        self.account().log_groups.remove(name);
        Ok(())
    }

    async fn put_alarm(
        &self,
        spec: &AlarmSpec,
        _tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let mut a = self.account();
        a.alarm_puts += 1;
        a.alarms.insert(spec.name.clone(), spec.clone());
        Ok(())
    }

    async fn app_alarms(&self, app: &str) -> Result<Vec<AlarmSpec>, AwsError> {
        let prefix = berth_aws::alarms::prefix(app);
        Ok(self
            .account()
            .alarms
            .values()
            .filter(|a| a.name.starts_with(&prefix))
            .cloned()
            .collect())
    }

    async fn delete_alarms(&self, names: &[String]) -> Result<(), AwsError> {
        let mut a = self.account();
        for n in names {
            a.alarms.remove(n);
        }
        Ok(())
    }
}

#[async_trait]
impl RouteCloud for FakeAws {
    async fn weighted_records(
        &self,
        _zone_id: &str,
        fqdn: &str,
    ) -> Result<Vec<WeightedRecord>, AwsError> {
        Ok(self
            .account()
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
        let mut a = self.account();
        let name = canonical(fqdn);
        let now = a.weighted.get(&name).cloned().unwrap_or_default();
        assert_eq!(now, current, "the change is computed against what is there");
        if desired.is_empty() {
            a.weighted.remove(&name);
        } else {
            a.weighted.insert(name, desired.to_vec());
        }
        let w = desired
            .iter()
            .map(|d| (d.set_id.clone(), d.weight))
            .collect();
        a.weight_changes.push(w);
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
            .account()
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
        let mut a = self.account();
        for s in current {
            a.sets.remove(&(s.name.clone(), s.set_id.clone()));
        }
        for s in desired {
            if let Some(alias) = &s.alias {
                let has_target = desired.iter().any(|d| &d.name == alias);
                assert!(has_target, "alias {alias} of {} has a target", s.name);
            }
            a.sets.insert((s.name.clone(), s.set_id.clone()), s.clone());
        }
        Ok(())
    }

    async fn owned_health_checks(&self, owner: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let prefix = berth_aws::health_check_ref::owner_prefix(owner);
        Ok(self
            .account()
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
        let mut a = self.account();
        if let Some((id, _)) = a
            .checks
            .iter()
            .find(|(_, c)| c.reference == caller_reference)
        {
            return Ok(id.clone());
        }
        a.next += 1;
        let id = format!("hc-{:04}", a.next);
        a.checks.insert(
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
        self.account().checks.remove(id);
        Ok(())
    }

    async fn health_check_status(&self, id: &str) -> Result<Result<(), String>, AwsError> {
        let a = self.account();
        let c = a
            .checks
            .get(id)
            .ok_or_else(|| no_such(&format!("no health check {id}")))?;
        let host = c.spec.fqdn.clone().unwrap_or_default();
        Ok(if a.failing.contains(&host) {
            Err(format!("{host}: connection refused"))
        } else {
            Ok(())
        })
    }
}

/// Launches what the spec's payload says; instances report health from
/// their image once refreshed (booted).
/// The fake cloud has no load balancer or Auto Scaling: load-balancer
/// mode is tested against moto (`acceptance-tests`), and a test that
/// reaches here by mistake fails with this error.
fn no_load_balancer(operation: &'static str) -> AwsError {
    AwsError::Service {
        operation,
        code: "Unsupported".into(),
        message: "the fake cloud has no load balancer (load-balancer mode runs against moto)"
            .into(),
    }
}

struct NoLoadBalancer;

#[async_trait]
impl Compute for NoLoadBalancer {
    async fn launch(&self, _r: &Release, _c: u32, _b: u32) -> Result<Vec<Instance>, PortError> {
        Err(PortError::new(
            "launch",
            no_load_balancer("CreateAutoScalingGroup").to_string(),
        ))
    }
    async fn refresh(&self, _ids: &[String]) -> Result<Vec<Instance>, PortError> {
        Err(PortError::new(
            "refresh",
            no_load_balancer("DescribeInstances").to_string(),
        ))
    }
    async fn terminate(&self, _ids: &[String]) -> Result<(), PortError> {
        Err(PortError::new(
            "terminate",
            no_load_balancer("DeleteAutoScalingGroup").to_string(),
        ))
    }
}

#[async_trait]
impl Dns for NoLoadBalancer {
    async fn point(&self, _targets: &[String]) -> Result<(), PortError> {
        Err(PortError::new(
            "point",
            no_load_balancer("ModifyRule").to_string(),
        ))
    }
}

struct FakeCompute {
    aws: FakeAws,
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
        let image = payload.release().image.clone();
        let mut a = self.aws.account();
        a.launches.push((release.number, image.clone()));
        let mut out = Vec::new();
        for k in 0..count {
            a.next += 1;
            let n = a.next;
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
            out.push(self.spec.address.apply(instance.clone()));
            a.instances.insert(
                instance.id.clone(),
                FakeInstance {
                    app: self.spec.app.clone(),
                    image: image.clone(),
                    script: payload.script(),
                    instance,
                },
            );
        }
        Ok(out)
    }

    async fn refresh(&self, ids: &[String]) -> Result<Vec<Instance>, PortError> {
        let mut a = self.aws.account();
        let mut out = Vec::new();
        for id in ids {
            if let Some(i) = a.instances.get_mut(id) {
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
        let mut a = self.aws.account();
        for id in ids {
            if let Some(i) = a.instances.get_mut(id) {
                i.instance.state = InstanceState::Terminated;
            }
        }
        Ok(())
    }
}

/// The app's origin record in the fake zone.
struct FakeOrigin {
    aws: FakeAws,
    fqdn: String,
    ttl: i64,
}

#[async_trait]
impl Dns for FakeOrigin {
    async fn point(&self, targets: &[String]) -> Result<(), PortError> {
        self.aws
            .set_a_record(ZONE_ID, &self.fqdn, self.ttl, targets)
            .await
            .map_err(|e| PortError::new("origin", e.to_string()))
    }
}

//! The rollout engine's ports in load-balancer mode: a release is a target
//! group, a launch template and an Auto Scaling group of one name
//! ([`LbCompute`]); "the origin" is the weighted forward of the app's rule
//! on the user's listener, whose targets are the releases' target group
//! names ([`LbRule`]); an instance is healthy when it says so and the load
//! balancer agrees ([`LbProbe`]).
//!
//! Guarantees:
//! - An instance's address in this mode is its release's target group
//!   name ([`group_name`]), so the engine's plan (which instances serve,
//!   what to cut over to) works unchanged: an instance the Auto Scaling
//!   group replaced serves as the one it replaced did.
//! - [`LbCompute::launch`] is idempotent: what an interrupted launch made
//!   under the release's name is adopted, and the group's capacity is
//!   never reset. The new target group joins the app's rule at weight 0
//!   before the gate, so the load balancer health-checks its targets (a
//!   target group no rule uses is `unused`, never `healthy`).
//! - A release retires as a whole: [`LbCompute::terminate`] takes the
//!   release's target group out of the rule, deletes its group (which
//!   terminates its instances), its target group and its launch template;
//!   when no target group is left the rule goes too. Instances of no group
//!   (from before the app used a load balancer) are terminated.
//! - [`LbRule::point`] changes the forward in one `ModifyRule` call: the
//!   named target groups at equal weight, the others the rule holds at 0.
//!
//! Errors: [`PortError`]s that name the call and the object.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use berth_rollout::shift::{
    ShiftSpec, Shifter, TargetHealth as ShiftHealth, WeightPort, Weights, plan_shift,
};
use berth_rollout::{Compute, Dns, Health, Instance, PortError, Probe, Progress, Release};
use tokio::sync::Mutex;

use crate::asg::{self, GroupSpec, LaunchTemplateSpec, Schedule, Tracked};
use crate::config::Clients;
use crate::error::AwsError;
use crate::fleet::{Ec2Compute, LaunchSpec, TagProbe, tags};
use crate::lb::{self, RuleMatch, TargetCheck, TargetGroupSpec};

/// How often a launch looks for the group's instances.
const LAUNCH_POLL: Duration = Duration::from_secs(2);
/// How long a launch waits for the group to start its instances.
const LAUNCH_PATIENCE: Duration = Duration::from_secs(600);
/// How long a retire retries deleting a target group a rule still uses.
const DELETE_PATIENCE: Duration = Duration::from_secs(60);

/// The name of `app`'s release `number` (with fingerprint `fp`): its
/// target group, launch template and Auto Scaling group share it.
pub fn group_name(app: &str, number: u64, fp: &str) -> String {
    lb::target_group_name(app, number, fp)
}

/// Sets each instance's address to its release's target group name.
pub fn address_by_group(app: &str, instances: Vec<Instance>) -> Vec<Instance> {
    instances
        .into_iter()
        .map(|mut i| {
            i.address = Some(group_name(app, i.release, &i.fingerprint));
            i
        })
        .collect()
}

/// The name in a target group ARN (`…:targetgroup/<name>/<id>`).
pub fn name_of_arn(arn: &str) -> &str {
    arn.rsplit('/').nth(1).unwrap_or(arn)
}

/// Where the app takes traffic: its rule on the user's listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbTarget {
    /// App name (the rule's `berth:app` tag).
    pub app: String,
    /// The user's listener.
    pub listener_arn: String,
    /// When the rule matches.
    pub rule: RuleMatch,
    /// Tags of the rule (berth's and the user's).
    pub tags: BTreeMap<String, String>,
}

/// A release's capacity and its target group's settings.
#[derive(Clone, Debug)]
pub struct LbLaunchSpec {
    /// What every instance boots (AMI, type, subnets, groups, profile,
    /// payload, tags).
    pub launch: LaunchSpec,
    /// Where the app takes traffic.
    pub target: LbTarget,
    /// The VPC of the subnets.
    pub vpc_id: String,
    /// The instance port the load balancer sends requests to.
    pub port: u16,
    /// How the load balancer checks a target.
    pub check: TargetCheck,
    /// Seconds a deregistered target keeps its in-flight requests.
    pub deregistration_delay: u32,
    /// The group's bounds, schedules and tracking policy (its desired
    /// count is the launch's).
    pub capacity: Capacity,
    /// Seconds after launch before the load balancer's verdict counts.
    pub grace_period: u32,
}

/// Auto Scaling compute: one group per release.
pub struct LbCompute {
    clients: Clients,
    spec: LbLaunchSpec,
    ec2: Ec2Compute,
}

impl LbCompute {
    /// Compute for `spec.launch.app` through `clients`.
    pub fn new(clients: Clients, spec: LbLaunchSpec) -> LbCompute {
        let ec2 = Ec2Compute::new(clients.clone(), spec.launch.clone());
        LbCompute { clients, spec, ec2 }
    }

    fn tags(&self, release: &Release) -> BTreeMap<String, String> {
        let s = &self.spec.launch;
        let mut t: BTreeMap<String, String> = s
            .tags
            .iter()
            .filter(|(k, _)| !k.starts_with("berth:") && k.as_str() != "Name")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        t.insert(tags::MANAGED_BY.into(), "berth".into());
        t.insert(tags::APP.into(), s.app.clone());
        t.insert(tags::RELEASE.into(), release.number.to_string());
        t.insert(tags::FINGERPRINT.into(), release.fingerprint.clone());
        t.insert("Name".into(), format!("{}-r{}", s.app, release.number));
        t
    }

    /// The group's instances once it has `count`, as the engine sees them.
    async fn wait_for_instances(&self, name: &str, count: u32) -> Result<Vec<Instance>, PortError> {
        let started = tokio::time::Instant::now();
        loop {
            let group = asg::group(&self.clients, name)
                .await
                .map_err(|e| port("DescribeAutoScalingGroups", &e))?;
            let ids: Vec<String> = group
                .iter()
                .flat_map(|g| g.instances.iter())
                .filter(|i| !i.lifecycle.starts_with("Terminat"))
                .map(|i| i.id.clone())
                .collect();
            if ids.len() >= count as usize {
                let found = self.refresh(&ids).await?;
                if found.len() >= count as usize {
                    return Ok(found);
                }
            }
            if started.elapsed() > LAUNCH_PATIENCE {
                return Err(PortError::new(
                    format!("launch of {name}"),
                    format!(
                        "the Auto Scaling group started {} of {count} instances in {} s (see its scaling activities)",
                        ids.len(),
                        LAUNCH_PATIENCE.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(LAUNCH_POLL).await;
        }
    }

    /// Retires the release named `name`: out of the rule, then its group,
    /// target group and launch template.
    async fn retire(&self, name: &str) -> Result<(), PortError> {
        let arn = lb::target_group_arn(&self.clients, name)
            .await
            .map_err(|e| port("DescribeTargetGroups", &e))?;
        if let Some(arn) = &arn {
            detach(&self.clients, &self.spec.target, arn).await?;
        }
        asg::delete_group(&self.clients, name)
            .await
            .map_err(|e| port("DeleteAutoScalingGroup", &e))?;
        if let Some(arn) = &arn {
            delete_target_group_patiently(&self.clients, arn).await?;
        }
        asg::delete_launch_template(&self.clients, name)
            .await
            .map_err(|e| port("DeleteLaunchTemplate", &e))?;
        Ok(())
    }
}

fn port(call: &str, e: &AwsError) -> PortError {
    PortError::new(call, e.to_string())
}

/// Deletes a target group, retrying while a rule still uses it (a
/// `ModifyRule` moments ago may not be seen everywhere yet).
async fn delete_target_group_patiently(clients: &Clients, arn: &str) -> Result<(), PortError> {
    let started = tokio::time::Instant::now();
    loop {
        match lb::delete_target_group(clients, arn).await {
            Ok(()) => return Ok(()),
            Err(AwsError::Service { code, .. })
                if code == "ResourceInUse" && started.elapsed() < DELETE_PATIENCE =>
            {
                tokio::time::sleep(LAUNCH_POLL).await;
            }
            Err(e) => return Err(port("DeleteTargetGroup", &e)),
        }
    }
}

/// The ARN of target group `name`, which a forward is about to name.
async fn existing_group(clients: &Clients, name: &str) -> Result<String, PortError> {
    lb::target_group_arn(clients, name)
        .await
        .map_err(|e| port("DescribeTargetGroups", &e))?
        .ok_or_else(|| PortError::new("ModifyRule", format!("target group {name} does not exist")))
}

/// Adds target group `arn` to the app's rule at weight 0 (creating the
/// rule when there is none), so the load balancer checks its targets.
async fn attach(clients: &Clients, t: &LbTarget, arn: &str) -> Result<(), PortError> {
    let rule = lb::app_rule(clients, &t.listener_arn, &t.app)
        .await
        .map_err(|e| port("DescribeRules", &e))?;
    match rule {
        Some(r) if r.weights.contains_key(arn) => Ok(()),
        Some(r) => {
            let mut w = r.weights.clone();
            w.insert(arn.to_string(), 0);
            lb::modify_rule(clients, &r.arn, None, &w)
                .await
                .map_err(|e| port("ModifyRule", &e))
        }
        None => {
            let w = BTreeMap::from([(arn.to_string(), 0)]);
            lb::create_rule(clients, &t.listener_arn, &t.rule, &w, &t.tags)
                .await
                .map(|_| ())
                .map_err(|e| port("CreateRule", &e))
        }
    }
}

/// Takes target group `arn` out of the app's rule; a rule left with no
/// target group is deleted.
async fn detach(clients: &Clients, t: &LbTarget, arn: &str) -> Result<(), PortError> {
    let Some(r) = lb::app_rule(clients, &t.listener_arn, &t.app)
        .await
        .map_err(|e| port("DescribeRules", &e))?
    else {
        return Ok(());
    };
    if !r.weights.contains_key(arn) {
        return Ok(());
    }
    let mut w = r.weights.clone();
    w.remove(arn);
    if w.is_empty() {
        lb::delete_rule(clients, &r.arn)
            .await
            .map_err(|e| port("DeleteRule", &e))
    } else {
        lb::modify_rule(clients, &r.arn, None, &w)
            .await
            .map_err(|e| port("ModifyRule", &e))
    }
}

#[async_trait]
impl Compute for LbCompute {
    async fn launch(
        &self,
        release: &Release,
        count: u32,
        _batch: u32,
    ) -> Result<Vec<Instance>, PortError> {
        let s = &self.spec;
        let app = &s.launch.app;
        let name = group_name(app, release.number, &release.fingerprint);
        let payload = s.launch.payload_for(release)?;
        let tags = self.tags(release);
        let tg = lb::ensure_target_group(
            &self.clients,
            &TargetGroupSpec {
                name: name.clone(),
                vpc_id: s.vpc_id.clone(),
                port: s.port,
                check: s.check.clone(),
                deregistration_delay: s.deregistration_delay,
                tags: tags.clone(),
            },
        )
        .await
        .map_err(|e| port(&format!("CreateTargetGroup {name}"), &e))?;
        attach(&self.clients, &s.target, &tg).await?;
        let template = asg::ensure_launch_template(
            &self.clients,
            &LaunchTemplateSpec {
                name: name.clone(),
                ami: s.launch.ami.clone(),
                instance_type: s.launch.instance_type.clone(),
                user_data: payload.encoded_user_data().to_string(),
                instance_profile: s.launch.instance_profile.clone(),
                security_groups: s.launch.security_groups.clone(),
                tags: tags.clone(),
            },
        )
        .await
        .map_err(|e| port(&format!("CreateLaunchTemplate {name}"), &e))?;
        let group = asg::ensure_group(
            &self.clients,
            &GroupSpec {
                name: name.clone(),
                launch_template_id: template,
                min: s.capacity.min.min(count),
                max: s.capacity.max.max(count),
                desired: count,
                subnets: s.launch.subnets.clone(),
                target_groups: vec![tg],
                grace_period: s.grace_period,
                tags,
            },
        )
        .await
        .map_err(|e| port(&format!("CreateAutoScalingGroup {name}"), &e))?;
        // Its schedules and policy before it takes traffic; an adopted
        // group keeps the capacity it has.
        let cap = Capacity {
            desired: None,
            min: group.min,
            max: group.max,
            ..s.capacity.clone()
        };
        sync_capacity(&self.clients, &s.target, &name, &cap)
            .await
            .map_err(|e| port(&format!("capacity of {name}"), &e))?;
        self.wait_for_instances(&name, group.desired.min(count))
            .await
    }

    async fn refresh(&self, ids: &[String]) -> Result<Vec<Instance>, PortError> {
        let found = self.ec2.refresh(ids).await?;
        Ok(address_by_group(&self.spec.launch.app, found))
    }

    async fn terminate(&self, ids: &[String]) -> Result<(), PortError> {
        let found = self.refresh(ids).await?;
        let names: BTreeSet<String> = found.into_iter().filter_map(|i| i.address).collect();
        for name in names {
            self.retire(&name).await?;
        }
        // Instances of no group (launched before the app moved to this
        // mode) go too; those of a deleted group are already going.
        self.ec2.terminate(ids).await
    }
}

/// How the forward moves to a new release in steps, as
/// `berth_weighted_route`'s shift does between DNS targets.
#[derive(Clone, Debug)]
pub struct LbShift {
    /// The new release's share at each step, percent, increasing (100 is
    /// appended when missing).
    pub steps: Vec<u32>,
    /// Wait after each step but the last, watching the new release.
    pub bake: Duration,
    /// Time between health checks of the new release.
    pub interval: Duration,
    /// Consecutive healthy checks before each step.
    pub healthy_checks: u32,
    /// Longest wait for the new release to be healthy before a step.
    pub deadline: Duration,
    /// Fires on StopProvider: the shift reverts and stops.
    pub cancel: tokio_util::sync::CancellationToken,
}

/// The app's rule as the engine's "origin": its targets are target group
/// names.
pub struct LbRule {
    clients: Clients,
    target: LbTarget,
    shift: Option<LbShift>,
}

impl LbRule {
    /// The rule of `target` through `clients`; with `shift`, a cutover to
    /// one new release moves in its steps.
    pub fn new(clients: Clients, target: LbTarget, shift: Option<LbShift>) -> LbRule {
        LbRule {
            clients,
            target,
            shift,
        }
    }

    /// Sets the forward to `weights` by target group name.
    async fn set_names(&self, weights: &Weights) -> Result<(), PortError> {
        let t = &self.target;
        let rule = lb::app_rule(&self.clients, &t.listener_arn, &t.app)
            .await
            .map_err(|e| port("DescribeRules", &e))?
            .ok_or_else(|| PortError::new("ModifyRule", "the app's rule is gone"))?;
        let mut by_arn = BTreeMap::new();
        for (name, w) in weights {
            by_arn.insert(existing_group(&self.clients, name).await?, *w);
        }
        lb::modify_rule(&self.clients, &rule.arn, Some(&t.rule), &by_arn)
            .await
            .map_err(|e| port("ModifyRule", &e))
    }

    /// The stepped move from the forward as found to `to` alone, or None
    /// when this cutover is not one (no shift, or no other release
    /// serving).
    async fn stepped(
        &self,
        to: &str,
    ) -> Result<Option<(Weights, Vec<Weights>, ShiftSpec)>, PortError> {
        let Some(shift) = &self.shift else {
            return Ok(None);
        };
        let t = &self.target;
        let Some(rule) = lb::app_rule(&self.clients, &t.listener_arn, &t.app)
            .await
            .map_err(|e| port("DescribeRules", &e))?
        else {
            return Ok(None);
        };
        let before: Weights = rule
            .weights
            .iter()
            .map(|(arn, w)| (name_of_arn(arn).to_string(), *w))
            .collect();
        let others_serving = before.iter().any(|(n, w)| n != to && *w > 0);
        if !others_serving || before.get(to).copied().unwrap_or(0) > 0 {
            return Ok(None);
        }
        let after: Weights = before
            .keys()
            .map(|n| (n.clone(), if n == to { 100 } else { 0 }))
            .chain(std::iter::once((to.to_string(), 100)))
            .collect();
        let spec = ShiftSpec {
            to: to.to_string(),
            steps: shift.steps.clone(),
            bake: shift.bake,
        };
        let steps = plan_shift(&before, &after, Some(&spec));
        Ok(Some((before, steps, spec)))
    }
}

#[async_trait]
impl WeightPort for LbRule {
    async fn set(&self, weights: &Weights) -> Result<(), PortError> {
        self.set_names(weights).await
    }
}

/// A release's health as the shift's gate and bake see it: every instance
/// of the release reports healthy itself, and the load balancer fails
/// none of them.
struct ReleaseHealth<'a> {
    clients: &'a Clients,
    app: &'a str,
    probe: LbProbe,
}

#[async_trait]
impl ShiftHealth for ReleaseHealth<'_> {
    async fn check(&self, target: &str) -> Health {
        let Ok(all) = crate::fleet::app_instances(self.clients, self.app, Default::default()).await
        else {
            return Health::Starting;
        };
        let of_release: Vec<Instance> = address_by_group(self.app, all)
            .into_iter()
            .filter(|i| i.address.as_deref() == Some(target))
            .collect();
        if of_release.is_empty() {
            return Health::Unhealthy(format!("{target} has no instances"));
        }
        for i in &of_release {
            match self.probe.check(i).await {
                Health::Healthy => {}
                Health::Unhealthy(why) => return Health::Unhealthy(format!("{}: {why}", i.id)),
                Health::Starting => return Health::Starting,
            }
        }
        Health::Healthy
    }
}

/// Shift progress as log lines of the app.
struct Logged<'a>(&'a str);

impl Progress for Logged<'_> {
    fn report(&self, message: &str) {
        tracing::info!(app = %self.0, "{}: {message}", self.0);
    }
}

/// The target group names `app`'s rule on `listener_arn` forwards to with
/// a weight above 0 (None: there is no rule).
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn serving_groups(
    clients: &Clients,
    listener_arn: &str,
    app: &str,
) -> Result<Option<Vec<String>>, AwsError> {
    Ok(lb::app_rule(clients, listener_arn, app)
        .await?
        .map(|r| serving_names(&r.weights)))
}

/// The names of the groups a forward gives weight to.
fn serving_names(weights: &BTreeMap<String, u32>) -> Vec<String> {
    weights
        .iter()
        .filter(|(_, w)| **w > 0)
        .map(|(arn, _)| name_of_arn(arn).to_string())
        .collect()
}

/// What apply changes in place on an app in load-balancer mode, as the
/// cloud has it (refresh and import read it: the state line in an
/// instance's user-data is from its launch). The groups' bounds are not
/// read: scheduled actions move them between applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LbSettings {
    /// The app's rule: hosts, paths, priority (None: no rule).
    pub rule: Option<lb::RuleMatch>,
    /// The groups the rule forwards to with weight, by name.
    pub serving: Vec<String>,
    /// The deregistration delay of the serving group with the most weight.
    pub deregistration_delay: Option<u32>,
}

/// [`LbSettings`] of `app` on `listener_arn`.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn lb_settings(
    clients: &Clients,
    listener_arn: &str,
    app: &str,
) -> Result<LbSettings, AwsError> {
    let Some(r) = lb::app_rule(clients, listener_arn, app).await? else {
        return Ok(LbSettings::default());
    };
    let serving = serving_names(&r.weights);
    let main = r
        .weights
        .iter()
        .filter(|(_, w)| **w > 0)
        .max_by_key(|(arn, w)| (**w, name_of_arn(arn).to_string()))
        .map(|(arn, _)| arn.clone());
    let deregistration_delay = match main {
        Some(arn) => lb::deregistration_delay(clients, &arn).await?,
        None => None,
    };
    Ok(LbSettings {
        rule: Some(lb::RuleMatch {
            hosts: r.hosts,
            paths: r.paths,
            priority: r.priority,
        }),
        serving,
        deregistration_delay,
    })
}

#[async_trait]
impl Dns for LbRule {
    async fn point(&self, targets: &[String]) -> Result<(), PortError> {
        let t = &self.target;
        let wanted: BTreeSet<&str> = targets.iter().map(String::as_str).collect();
        if let (Some(shift), [to]) = (
            &self.shift,
            wanted.iter().copied().collect::<Vec<_>>().as_slice(),
        ) && let Some((before, steps, spec)) = self.stepped(to).await?
        {
            let health = ReleaseHealth {
                clients: &self.clients,
                app: &t.app,
                probe: LbProbe::new(self.clients.clone()),
            };
            let shifter = Shifter {
                weights: self,
                health: &health,
                progress: &Logged(&t.app),
                cancel: shift.cancel.clone(),
                healthy_checks: shift.healthy_checks,
                interval: shift.interval,
                gate_deadline: shift.deadline,
            };
            return shifter
                .run(&before, &steps, Some(&spec))
                .await
                .map_err(|e| PortError::new("shift", e.to_string()));
        }
        let rule = lb::app_rule(&self.clients, &t.listener_arn, &t.app)
            .await
            .map_err(|e| port("DescribeRules", &e))?;
        let mut weights: BTreeMap<String, u32> = rule
            .as_ref()
            .map(|r| r.weights.keys().map(|arn| (arn.clone(), 0)).collect())
            .unwrap_or_default();
        for name in &wanted {
            weights.insert(existing_group(&self.clients, name).await?, 1);
        }
        match rule {
            None if wanted.is_empty() => Ok(()),
            None => lb::create_rule(&self.clients, &t.listener_arn, &t.rule, &weights, &t.tags)
                .await
                .map(|_| ())
                .map_err(|e| port("CreateRule", &e)),
            Some(r) => {
                if r.priority != t.rule.priority {
                    lb::set_priority(&self.clients, &r.arn, t.rule.priority)
                        .await
                        .map_err(|e| port("SetRulePriorities", &e))?;
                }
                lb::modify_rule(&self.clients, &r.arn, Some(&t.rule), &weights)
                    .await
                    .map_err(|e| port("ModifyRule", &e))
            }
        }
    }
}

/// Healthy when the instance says so and its target group's health check
/// agrees.
pub struct LbProbe {
    clients: Clients,
    own: TagProbe,
    arns: Mutex<BTreeMap<String, String>>,
}

impl LbProbe {
    /// A probe through `clients`.
    pub fn new(clients: Clients) -> LbProbe {
        LbProbe {
            clients,
            own: TagProbe,
            arns: Mutex::new(BTreeMap::new()),
        }
    }

    async fn arn(&self, name: &str) -> Option<String> {
        let mut known = self.arns.lock().await;
        if let Some(a) = known.get(name) {
            return Some(a.clone());
        }
        let arn = lb::target_group_arn(&self.clients, name).await.ok()??;
        known.insert(name.to_string(), arn.clone());
        Some(arn)
    }
}

#[async_trait]
impl Probe for LbProbe {
    async fn check(&self, instance: &Instance) -> Health {
        let own = self.own.check(instance).await;
        if own != Health::Healthy {
            return own;
        }
        let Some(name) = instance.address.as_deref() else {
            return Health::Starting;
        };
        let Some(arn) = self.arn(name).await else {
            return Health::Starting;
        };
        let Ok(states) = lb::target_health(&self.clients, &arn).await else {
            return Health::Starting;
        };
        match states.iter().find(|s| s.id == instance.id) {
            Some(s) if s.state == "healthy" => Health::Healthy,
            Some(s) if s.state == "unhealthy" => Health::Unhealthy(format!(
                "healthy by its own check, but the load balancer's health check of {name} fails ({})",
                s.reason
            )),
            // Registering (initial), not checked yet (unused), or not yet
            // registered by the group.
            _ => Health::Starting,
        }
    }
}

/// A group's capacity as the configuration declares it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capacity {
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// The desired count to set now (None: keep what schedules and
    /// policies made of it, within the bounds).
    pub desired: Option<u32>,
    /// Scheduled actions, by name.
    pub schedules: Vec<Schedule>,
    /// The target-tracking policy: what it tracks and its target.
    pub tracking: Option<(TrackedMetric, f64)>,
}

/// What a target-tracking policy tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackedMetric {
    /// The group's average CPU, percent.
    Cpu,
    /// Requests per target of the release's target group, per minute.
    RequestsPerTarget,
}

/// The name of berth's target-tracking policy on a group.
pub const TRACKING_POLICY: &str = "berth-target-tracking";

/// The resource label of requests per target for target group `tg_arn`
/// behind the load balancer of `listener_arn`:
/// `app/<lb name>/<lb id>/targetgroup/<tg name>/<tg id>`.
pub fn request_label(listener_arn: &str, tg_arn: &str) -> Option<String> {
    let lb = listener_arn.split(":listener/").nth(1)?;
    let lb: Vec<&str> = lb.split('/').take(3).collect();
    let tg = tg_arn.split(':').next_back()?;
    (lb.len() == 3 && tg.starts_with("targetgroup/")).then(|| format!("{}/{tg}", lb.join("/")))
}

/// Takes group `name`'s bounds, schedules and tracking policy to `cap`;
/// schedules and policies berth no longer declares are deleted.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn sync_capacity(
    clients: &Clients,
    target: &LbTarget,
    name: &str,
    cap: &Capacity,
) -> Result<(), AwsError> {
    asg::set_capacity(clients, name, cap.min, cap.max, cap.desired).await?;
    let found = asg::schedules(clients, name).await?;
    for s in &cap.schedules {
        if !found.contains(s) {
            asg::put_schedule(clients, name, s).await?;
        }
    }
    for s in found {
        if !cap.schedules.iter().any(|d| d.name == s.name) {
            asg::delete_schedule(clients, name, &s.name).await?;
        }
    }
    let policies = asg::target_tracking(clients, name).await?;
    if let Some((metric, value)) = &cap.tracking {
        let tracked = match metric {
            TrackedMetric::Cpu => Tracked::Cpu,
            TrackedMetric::RequestsPerTarget => {
                let arn = lb::target_group_arn(clients, name)
                    .await?
                    .unwrap_or_default();
                Tracked::RequestsPerTarget(
                    request_label(&target.listener_arn, &arn).unwrap_or_default(),
                )
            }
        };
        asg::put_target_tracking(clients, name, TRACKING_POLICY, &tracked, *value).await?;
    }
    for p in policies.keys() {
        if cap.tracking.is_none() || p != TRACKING_POLICY {
            asg::delete_policy(clients, name, p).await?;
        }
    }
    Ok(())
}

/// Deletes every load-balancer object of `app`: its rule on
/// `listener_arn`, and for each of its groups (found by tag, plus the
/// release names in `known`) the group with its instances, the target
/// group and the launch template. Returns the release names deleted.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn delete_app(
    clients: &Clients,
    listener_arn: Option<&str>,
    app: &str,
    known: &[String],
) -> Result<Vec<String>, AwsError> {
    if let Some(l) = listener_arn
        && let Some(r) = lb::app_rule(clients, l, app).await?
    {
        lb::delete_rule(clients, &r.arn).await?;
    }
    let mut names: BTreeSet<String> = asg::app_groups(clients, app).await?.into_iter().collect();
    names.extend(known.iter().cloned());
    for name in &names {
        asg::delete_group(clients, name).await?;
        if let Some(arn) = lb::target_group_arn(clients, name).await? {
            lb::delete_target_group(clients, &arn).await?;
        }
        asg::delete_launch_template(clients, name).await?;
    }
    Ok(names.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_group_arn_names_its_group() {
        assert_eq!(
            name_of_arn(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/berth-web-3/73e2d6bc24d8a067"
            ),
            "berth-web-3"
        );
    }

    #[test]
    fn requests_per_target_are_labelled_by_load_balancer_and_target_group() {
        assert_eq!(
            request_label(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2",
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/berth-web-3/73e2d6bc24d8a067"
            )
            .as_deref(),
            Some("app/shop/50dc6c495c0c9188/targetgroup/berth-web-3/73e2d6bc24d8a067")
        );
        assert_eq!(request_label("nonsense", "also"), None);
    }

    #[test]
    fn instances_are_addressed_by_their_releases_group() {
        let i = Instance {
            id: "i-1".into(),
            release: 3,
            fingerprint: "abc".into(),
            zone: "eu-west-1a".into(),
            address: Some("10.0.0.1".into()),
            private_ip: Some("10.0.0.1".into()),
            public_ip: None,
            state: berth_rollout::InstanceState::Running,
            reported_health: None,
        };
        let out = address_by_group("web", vec![i]);
        assert_eq!(out[0].address.as_deref(), Some("berth-web-3"));
    }
}

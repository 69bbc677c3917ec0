//! The cloud ports the provider's resources work through: [`Reads`] (the
//! reads every resource makes, which one refresh shares), [`AppCloud`]
//! (every call a `berth_container_app` apply, refresh, import or delete
//! makes) and [`RouteCloud`] (the Route53 records and health checks of
//! `berth_weighted_route` and `berth_region_pool`). [`Clients`] implements
//! them with the AWS SDK; the provider's tests implement them with fakes,
//! so the glue above them runs without an emulator.
//!
//! Contracts every implementation must keep (the SDK one does):
//! - Reads return what the cloud holds now; writes are idempotent (a
//!   retried `ensure_*` adopts what the first call made, a delete of what
//!   is gone succeeds).
//! - [`AppCloud::compute`] keeps [`berth_rollout::Compute`]'s contract and
//!   launches only the release of the spec's [`LaunchPayload`].
//! - Record changes ([`AppCloud::set_a_record`],
//!   [`RouteCloud::set_weighted`], [`RouteCloud::apply_record_sets`])
//!   return once the change is in sync.
//!
//! [`LaunchPayload`]: crate::fleet::LaunchPayload

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use berth_rollout::{Compute, Dns, Instance, Probe};

use crate::alarms::AlarmSpec;
use crate::config::Clients;
use crate::dns::HostedZone;
use crate::ec2::Ingress;
use crate::error::AwsError;
use crate::fleet::{AddressKind, LaunchSpec};
use crate::iam::{InstanceRole, Needs};
use crate::lb_fleet::{Capacity, LbCompute, LbLaunchSpec, LbProbe, LbRule, LbShift, LbTarget};
use crate::logs::LogGroup;
use crate::routing::{HealthCheckSpec, RecordSet, WeightedRecord, ZoneRecords};

/// How often a Route53 change is polled until in sync.
const CHANGE_POLL: Duration = Duration::from_secs(2);

/// The reads every resource makes; a refresh shares the listings across
/// the resources of a region.
#[async_trait]
pub trait Reads: Send + Sync + std::fmt::Debug {
    /// The region the calls go to.
    fn region(&self) -> &str;
    /// Every live berth instance of the region, by app.
    async fn inventory(&self) -> Result<BTreeMap<String, Vec<Instance>>, AwsError>;
    /// The app's live instances, `address` set to the `kind` wanted.
    async fn app_instances(&self, app: &str, kind: AddressKind) -> Result<Vec<Instance>, AwsError>;
    /// The hosted zone named (`example.com`) or identified (`Z…`) by `zone`.
    async fn find_zone(&self, zone: &str) -> Result<HostedZone, AwsError>;
    /// One indexed listing of a hosted zone.
    async fn zone_records(&self, zone_id: &str) -> Result<ZoneRecords, AwsError>;
}

/// Every call `berth_container_app` makes, grouped by what it serves.
#[async_trait]
pub trait AppCloud: Reads {
    // Placement.
    /// The default AMI (Amazon Linux 2023) for `arch` (`x86_64`, `arm64`).
    async fn default_ami(&self, arch: &str) -> Result<String, AwsError>;
    /// One default subnet per availability zone.
    async fn default_subnets(&self) -> Result<Vec<String>, AwsError>;
    /// The VPC of `subnet` (the default VPC without one).
    async fn vpc_for(&self, subnet: Option<&str>) -> Result<String, AwsError>;
    /// Makes or updates the app's security group; returns its id.
    async fn ensure_app_security_group(
        &self,
        app: &str,
        vpc: &str,
        ingress: &Ingress,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError>;
    /// The app's security group, if berth made one.
    async fn find_app_security_group(&self, app: &str) -> Result<Option<String>, AwsError>;
    /// Deletes a security group, retrying while instances still hold it
    /// for up to `patience`; one already gone counts as deleted.
    async fn delete_security_group(&self, id: &str, patience: Duration) -> Result<(), AwsError>;

    // The fleet.
    /// The user-data script instance `id` runs.
    async fn user_data(&self, id: &str) -> Result<String, AwsError>;
    /// Sets `tags` on `ids` and removes the keys in `remove`.
    async fn retag(
        &self,
        ids: &[String],
        tags: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<(), AwsError>;
    /// The rollout engine's compute for the app of `spec`.
    fn compute(&self, spec: LaunchSpec) -> Box<dyn Compute>;
    /// The rollout engine's health probe.
    fn probe(&self) -> Box<dyn Probe>;

    // The origin record.
    /// The addresses of the simple A record `fqdn` in `zone_id`, if any.
    async fn a_record(&self, zone_id: &str, fqdn: &str) -> Result<Option<Vec<String>>, AwsError>;
    /// Makes the A record answer `values` (none: deletes it), in sync.
    async fn set_a_record(
        &self,
        zone_id: &str,
        fqdn: &str,
        ttl: i64,
        values: &[String],
    ) -> Result<(), AwsError>;
    /// The rollout engine's DNS for the record `fqdn` in `zone_id`.
    fn origin(&self, zone_id: &str, fqdn: &str, ttl: i64) -> Box<dyn Dns>;

    // The instances' IAM role.
    /// Makes or adopts berth's role and instance profile for `app`,
    /// allowed `needs`.
    async fn ensure_instance_role(
        &self,
        app: &str,
        needs: &Needs,
        tags: &BTreeMap<String, String>,
    ) -> Result<InstanceRole, AwsError>;
    /// Sets the role's policy to the one for `needs`.
    async fn put_role_policy(
        &self,
        role: &InstanceRole,
        app: &str,
        needs: &Needs,
    ) -> Result<(), AwsError>;
    /// Deletes berth's role and profile of `app`; `false` when none was there.
    async fn delete_instance_role(&self, app: &str) -> Result<bool, AwsError>;

    // The release command's markers (SSM parameters the instances write).
    /// A marker's value and when it last changed (seconds since the Unix
    /// epoch), or None.
    async fn marker(&self, name: &str) -> Result<Option<(String, Option<f64>)>, AwsError>;
    /// The names of the markers under `path`.
    async fn markers_under(&self, path: &str) -> Result<Vec<String>, AwsError>;
    /// Deletes a marker (one already gone counts as deleted).
    async fn delete_marker(&self, name: &str) -> Result<(), AwsError>;

    // The app's log group (CloudWatch Logs).
    /// Creates the group with `tags` unless it exists; sets its retention.
    async fn ensure_log_group(
        &self,
        name: &str,
        retention_days: i32,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError>;
    /// The group with its retention (no tags: one call), or None.
    async fn log_group(&self, name: &str) -> Result<Option<LogGroup>, AwsError>;
    /// The group with its retention and tags, or None.
    async fn log_group_with_tags(&self, name: &str) -> Result<Option<LogGroup>, AwsError>;
    /// Deletes the group (one already gone counts as deleted).
    async fn delete_log_group(&self, name: &str) -> Result<(), AwsError>;

    // Load-balancer mode: a target group and an Auto Scaling group per
    // release, the app's rule on the user's listener.
    /// The rollout engine's compute in load-balancer mode.
    fn lb_compute(&self, spec: LbLaunchSpec) -> Box<dyn Compute>;
    /// The rollout engine's "origin" in load-balancer mode: the rule.
    fn lb_rule(&self, target: LbTarget, shift: Option<LbShift>) -> Box<dyn Dns>;
    /// The probe in load-balancer mode (own report and target health).
    fn lb_probe(&self) -> Box<dyn Probe>;
    /// The target group names the app's rule forwards to with weight
    /// above 0 (None: no rule).
    async fn serving_groups(
        &self,
        listener_arn: &str,
        app: &str,
    ) -> Result<Option<Vec<String>>, AwsError>;
    /// Takes a release's group to `cap` (bounds, schedules, policy).
    async fn sync_capacity(
        &self,
        target: &LbTarget,
        group: &str,
        cap: &Capacity,
    ) -> Result<(), AwsError>;
    /// What apply changes in place on `app` in load-balancer mode (its
    /// rule, the serving group's deregistration delay), as the cloud has it.
    async fn lb_settings(
        &self,
        listener_arn: &str,
        app: &str,
    ) -> Result<crate::lb_fleet::LbSettings, AwsError>;
    /// Sets the deregistration delay of release group `group`'s target
    /// group (a group that is gone is left alone).
    async fn set_deregistration_delay(&self, group: &str, seconds: u32) -> Result<(), AwsError>;
    /// Deletes the app's rule and every release's group, target group
    /// and launch template; the release names deleted.
    async fn delete_lb_app(
        &self,
        listener_arn: Option<&str>,
        app: &str,
        known: &[String],
    ) -> Result<Vec<String>, AwsError>;

    // The app's CloudWatch alarms.
    /// Creates or updates an alarm (tagged with `tags` when created).
    async fn put_alarm(
        &self,
        spec: &AlarmSpec,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError>;
    /// The app's alarms (`berth.<app>.*`), by name.
    async fn app_alarms(&self, app: &str) -> Result<Vec<AlarmSpec>, AwsError>;
    /// Deletes alarms by name (gone ones are fine).
    async fn delete_alarms(&self, names: &[String]) -> Result<(), AwsError>;
}

/// The Route53 records and health checks of weighted routes and region
/// pools.
#[async_trait]
pub trait RouteCloud: Reads {
    /// The weighted record sets named `fqdn`, by set identifier.
    async fn weighted_records(
        &self,
        zone_id: &str,
        fqdn: &str,
    ) -> Result<Vec<WeightedRecord>, AwsError>;
    /// Takes the weighted records of `fqdn` from `current` to `desired`
    /// in one atomic change (none desired: deletes them).
    async fn set_weighted(
        &self,
        zone_id: &str,
        fqdn: &str,
        desired: &[WeightedRecord],
        current: &[WeightedRecord],
    ) -> Result<(), AwsError>;
    /// The record sets of the region pool at `fqdn` (its own and its
    /// members').
    async fn pool_record_sets(&self, zone_id: &str, fqdn: &str)
    -> Result<Vec<RecordSet>, AwsError>;
    /// Takes record sets from `current` to `desired` so that every alias
    /// always points at an existing record.
    async fn apply_record_sets(
        &self,
        zone_id: &str,
        desired: &[RecordSet],
        current: &[RecordSet],
    ) -> Result<(), AwsError>;
    /// Health checks made for `owner`: id → caller reference.
    async fn owned_health_checks(&self, owner: &str) -> Result<BTreeMap<String, String>, AwsError>;
    /// Creates a health check (idempotent per `caller_reference`); its id.
    async fn create_health_check(
        &self,
        spec: &HealthCheckSpec,
        caller_reference: &str,
        tags: &[(String, String)],
    ) -> Result<String, AwsError>;
    /// Sets `tags` on health check `id`.
    async fn tag_health_check(&self, id: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
    /// Deletes health check `id` (one already gone counts as deleted).
    async fn delete_health_check(&self, id: &str) -> Result<(), AwsError>;
    /// Whether health check `id` passes now (`Err(why)` when it fails).
    async fn health_check_status(&self, id: &str) -> Result<Result<(), String>, AwsError>;
}

#[async_trait]
impl Reads for Clients {
    fn region(&self) -> &str {
        &self.region
    }

    async fn inventory(&self) -> Result<BTreeMap<String, Vec<Instance>>, AwsError> {
        crate::fleet::inventory(self).await
    }

    async fn find_zone(&self, zone: &str) -> Result<HostedZone, AwsError> {
        crate::dns::find_zone(self, zone).await
    }

    async fn zone_records(&self, zone_id: &str) -> Result<ZoneRecords, AwsError> {
        crate::routing::zone_records(self, zone_id).await
    }

    async fn app_instances(&self, app: &str, kind: AddressKind) -> Result<Vec<Instance>, AwsError> {
        crate::fleet::app_instances(self, app, kind).await
    }
}

#[async_trait]
impl AppCloud for Clients {
    async fn default_ami(&self, arch: &str) -> Result<String, AwsError> {
        crate::ec2::default_ami(self, arch).await
    }

    async fn default_subnets(&self) -> Result<Vec<String>, AwsError> {
        crate::ec2::default_subnets(self).await
    }

    async fn vpc_for(&self, subnet: Option<&str>) -> Result<String, AwsError> {
        crate::ec2::vpc_for(self, subnet).await
    }

    async fn ensure_app_security_group(
        &self,
        app: &str,
        vpc: &str,
        ingress: &Ingress,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        crate::ec2::ensure_app_security_group(self, app, vpc, ingress, tags).await
    }

    async fn find_app_security_group(&self, app: &str) -> Result<Option<String>, AwsError> {
        crate::ec2::find_app_security_group(self, app).await
    }

    async fn delete_security_group(&self, id: &str, patience: Duration) -> Result<(), AwsError> {
        crate::ec2::delete_security_group(self, id, patience).await
    }

    async fn user_data(&self, id: &str) -> Result<String, AwsError> {
        crate::fleet::user_data(self, id).await
    }

    async fn retag(
        &self,
        ids: &[String],
        tags: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<(), AwsError> {
        crate::fleet::retag(self, ids, tags, remove).await
    }

    fn compute(&self, spec: LaunchSpec) -> Box<dyn Compute> {
        Box::new(crate::fleet::Ec2Compute::new(self.clone(), spec))
    }

    fn probe(&self) -> Box<dyn Probe> {
        Box::new(crate::fleet::TagProbe)
    }

    async fn a_record(&self, zone_id: &str, fqdn: &str) -> Result<Option<Vec<String>>, AwsError> {
        Ok(crate::dns::a_record(self, zone_id, fqdn)
            .await?
            .map(|r| r.values))
    }

    async fn set_a_record(
        &self,
        zone_id: &str,
        fqdn: &str,
        ttl: i64,
        values: &[String],
    ) -> Result<(), AwsError> {
        crate::dns::set_a_record(self, zone_id, fqdn, ttl, values, CHANGE_POLL).await
    }

    fn origin(&self, zone_id: &str, fqdn: &str, ttl: i64) -> Box<dyn Dns> {
        Box::new(crate::dns::Route53Origin::new(
            self.clone(),
            zone_id,
            fqdn,
            ttl,
            CHANGE_POLL,
        ))
    }

    async fn ensure_instance_role(
        &self,
        app: &str,
        needs: &Needs,
        tags: &BTreeMap<String, String>,
    ) -> Result<InstanceRole, AwsError> {
        crate::iam::ensure_instance_role(self, app, needs, tags).await
    }

    async fn put_role_policy(
        &self,
        role: &InstanceRole,
        app: &str,
        needs: &Needs,
    ) -> Result<(), AwsError> {
        crate::iam::put_policy(self, role, app, needs).await
    }

    async fn delete_instance_role(&self, app: &str) -> Result<bool, AwsError> {
        crate::iam::delete_instance_role(self, app).await
    }

    async fn marker(&self, name: &str) -> Result<Option<(String, Option<f64>)>, AwsError> {
        crate::ssm::parameter(self, name).await
    }

    async fn markers_under(&self, path: &str) -> Result<Vec<String>, AwsError> {
        crate::ssm::names_under(self, path).await
    }

    async fn delete_marker(&self, name: &str) -> Result<(), AwsError> {
        crate::ssm::delete_parameter(self, name).await
    }

    async fn ensure_log_group(
        &self,
        name: &str,
        retention_days: i32,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        crate::logs::ensure_log_group(self, name, retention_days, tags).await
    }

    async fn log_group(&self, name: &str) -> Result<Option<LogGroup>, AwsError> {
        crate::logs::log_group(self, name).await
    }

    async fn log_group_with_tags(&self, name: &str) -> Result<Option<LogGroup>, AwsError> {
        crate::logs::log_group_with_tags(self, name).await
    }

    async fn delete_log_group(&self, name: &str) -> Result<(), AwsError> {
        crate::logs::delete_log_group(self, name).await
    }

    fn lb_compute(&self, spec: LbLaunchSpec) -> Box<dyn Compute> {
        Box::new(LbCompute::new(self.clone(), spec))
    }

    fn lb_rule(&self, target: LbTarget, shift: Option<LbShift>) -> Box<dyn Dns> {
        Box::new(LbRule::new(self.clone(), target, shift))
    }

    fn lb_probe(&self) -> Box<dyn Probe> {
        Box::new(LbProbe::new(self.clone()))
    }

    async fn serving_groups(
        &self,
        listener_arn: &str,
        app: &str,
    ) -> Result<Option<Vec<String>>, AwsError> {
        crate::lb_fleet::serving_groups(self, listener_arn, app).await
    }

    async fn sync_capacity(
        &self,
        target: &LbTarget,
        group: &str,
        cap: &Capacity,
    ) -> Result<(), AwsError> {
        crate::lb_fleet::sync_capacity(self, target, group, cap).await
    }

    async fn lb_settings(
        &self,
        listener_arn: &str,
        app: &str,
    ) -> Result<crate::lb_fleet::LbSettings, AwsError> {
        crate::lb_fleet::lb_settings(self, listener_arn, app).await
    }

    async fn set_deregistration_delay(&self, group: &str, seconds: u32) -> Result<(), AwsError> {
        match crate::lb::target_group_arn(self, group).await? {
            Some(arn) => crate::lb::set_deregistration_delay(self, &arn, seconds).await,
            None => Ok(()),
        }
    }

    async fn delete_lb_app(
        &self,
        listener_arn: Option<&str>,
        app: &str,
        known: &[String],
    ) -> Result<Vec<String>, AwsError> {
        crate::lb_fleet::delete_app(self, listener_arn, app, known).await
    }

    async fn put_alarm(
        &self,
        spec: &AlarmSpec,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        crate::alarms::put_alarm(self, spec, tags).await
    }

    async fn app_alarms(&self, app: &str) -> Result<Vec<AlarmSpec>, AwsError> {
        crate::alarms::app_alarms(self, app).await
    }

    async fn delete_alarms(&self, names: &[String]) -> Result<(), AwsError> {
        crate::alarms::delete_alarms(self, names).await
    }
}

#[async_trait]
impl RouteCloud for Clients {
    async fn weighted_records(
        &self,
        zone_id: &str,
        fqdn: &str,
    ) -> Result<Vec<WeightedRecord>, AwsError> {
        crate::routing::weighted_records(self, zone_id, fqdn).await
    }

    async fn set_weighted(
        &self,
        zone_id: &str,
        fqdn: &str,
        desired: &[WeightedRecord],
        current: &[WeightedRecord],
    ) -> Result<(), AwsError> {
        crate::routing::set_weighted(self, zone_id, fqdn, desired, current, CHANGE_POLL).await
    }

    async fn pool_record_sets(
        &self,
        zone_id: &str,
        fqdn: &str,
    ) -> Result<Vec<RecordSet>, AwsError> {
        crate::routing::pool_record_sets(self, zone_id, fqdn).await
    }

    async fn apply_record_sets(
        &self,
        zone_id: &str,
        desired: &[RecordSet],
        current: &[RecordSet],
    ) -> Result<(), AwsError> {
        crate::routing::apply_record_sets(self, zone_id, desired, current, CHANGE_POLL).await
    }

    async fn owned_health_checks(&self, owner: &str) -> Result<BTreeMap<String, String>, AwsError> {
        crate::routing::owned_health_checks(self, owner).await
    }

    async fn create_health_check(
        &self,
        spec: &HealthCheckSpec,
        caller_reference: &str,
        tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        crate::routing::create_health_check(self, spec, caller_reference, tags).await
    }

    async fn tag_health_check(&self, id: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        crate::routing::tag_health_check(self, id, tags).await
    }

    async fn delete_health_check(&self, id: &str) -> Result<(), AwsError> {
        crate::routing::delete_health_check(self, id).await
    }

    async fn health_check_status(&self, id: &str) -> Result<Result<(), String>, AwsError> {
        crate::routing::health_check_status(self, id).await
    }
}

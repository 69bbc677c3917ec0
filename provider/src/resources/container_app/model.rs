//! `berth_container_app`'s configuration, plan and state as typed models:
//! one field per attribute and block of [`super::schema::schema`], read
//! from Terraform's value once per request and written back once.
//!
//! Numbers are kept as [`Number`] so the checks can name a value that is
//! out of range or not whole in the words they always used; lists and maps
//! the configuration writes hold [`Attr`] elements, since one element may
//! be unknown while the others are known.

use std::collections::BTreeMap;

use tfplugin::model::{Attr, Model};
use tfplugin::value::Number;

pub use crate::resources::{Strings, known_strings};
/// A map of strings written in configuration.
pub type StringMap = Attr<BTreeMap<String, Attr<String>>>;

/// The resource.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct AppModel {
    /// `<region>/<name>` (computed).
    pub id: Attr<String>,
    /// App name.
    pub name: Attr<String>,
    /// Container image.
    pub image: Attr<String>,
    /// Command override.
    pub command: Strings,
    /// Run once per release before it takes traffic.
    pub release_command: Strings,
    /// Seconds the release command may run.
    pub release_command_timeout: Attr<Number>,
    /// Container port.
    pub port: Attr<Number>,
    /// Port published on the instance.
    pub host_port: Attr<Number>,
    /// Plain environment.
    pub env: StringMap,
    /// Secret environment by reference.
    pub secrets: StringMap,
    /// Write-only secret values (null in plan and state).
    pub secret_values_wo: StringMap,
    /// Version of the write-only values.
    pub secret_values_wo_version: Attr<Number>,
    /// Variable → SSM parameter berth stored a write-only value in.
    pub secret_value_parameters: StringMap,
    /// Memory limit of the app container (MiB).
    pub memory: Attr<Number>,
    /// Instances.
    pub replicas: Attr<Number>,
    /// EC2 instance type.
    pub instance_type: Attr<String>,
    /// AMI.
    pub ami: Attr<String>,
    /// Subnets.
    pub subnet_ids: Strings,
    /// Security groups.
    pub security_group_ids: Strings,
    /// Who may reach the published ports.
    pub ingress_cidrs: Strings,
    /// Key pair.
    pub key_name: Attr<String>,
    /// Instance profile.
    pub instance_profile: Attr<String>,
    /// User tags.
    pub tags: StringMap,
    /// Region (computed from the provider when unset).
    pub region: Attr<String>,
    /// Release number (computed).
    pub release: Attr<Number>,
    /// Digest of what defines a release (computed).
    pub fingerprint: Attr<String>,
    /// berth's IAM role for the instances (computed).
    pub instance_role: Attr<String>,
    /// The managed security group (computed).
    pub security_group_id: Attr<String>,
    /// The origin record's name (computed).
    pub origin_fqdn: Attr<String>,
    /// The origin record's addresses (computed).
    pub origin_addresses: Strings,
    /// The instances (computed).
    pub instances: Attr<Vec<InstanceModel>>,
    /// The release history (computed).
    pub release_history: Attr<Vec<HistoryModel>>,
    /// The rollout's steps (computed).
    pub rollout_plan: Strings,
    /// The `health_check` block.
    pub health_check: Attr<HealthModel>,
    /// The `origin` block.
    pub origin: Attr<OriginModel>,
    /// The `rollout` block.
    pub rollout: Attr<RolloutModel>,
    /// The `sidecar` blocks.
    pub sidecar: Attr<Vec<SidecarModel>>,
    /// The `registry_credentials` blocks.
    pub registry_credentials: Attr<Vec<RegistryCredentialsModel>>,
    /// The `logs` block.
    pub logs: Attr<LogsModel>,
    /// The `metrics` block.
    pub metrics: Attr<MetricsModel>,
    /// The `alarm` blocks.
    pub alarm: Attr<Vec<AlarmModel>>,
    /// The `load_balancer` block.
    pub load_balancer: Attr<LoadBalancerModel>,
    /// The `capacity` block.
    pub capacity: Attr<CapacityModel>,
    /// The `timeouts` block.
    pub timeouts: Attr<TimeoutsModel>,
}

/// One entry of `instances`.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct InstanceModel {
    /// Instance id.
    pub id: Attr<String>,
    /// Availability zone.
    pub zone: Attr<String>,
    /// Private address.
    pub private_ip: Attr<String>,
    /// Public address.
    pub public_ip: Attr<String>,
    /// Its release.
    pub release: Attr<Number>,
    /// Its release's fingerprint.
    pub fingerprint: Attr<String>,
    /// Whether it takes traffic.
    pub serving: Attr<bool>,
}

/// One entry of `release_history`.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct HistoryModel {
    /// Release number.
    pub release: Attr<Number>,
    /// Image.
    pub image: Attr<String>,
    /// Fingerprint.
    pub fingerprint: Attr<String>,
    /// When it was deployed.
    pub deployed_at: Attr<String>,
}

/// The `health_check` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct HealthModel {
    /// HTTP path.
    pub path: Attr<String>,
    /// Host port.
    pub port: Attr<Number>,
    /// Seconds between checks.
    pub interval: Attr<Number>,
    /// Seconds per check.
    pub timeout: Attr<Number>,
    /// Passes that make an instance healthy.
    pub healthy_threshold: Attr<Number>,
    /// Failures that fail an instance.
    pub unhealthy_threshold: Attr<Number>,
    /// Longest a batch may take.
    pub deadline: Attr<Number>,
}

/// The `origin` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct OriginModel {
    /// Hosted zone id or name.
    pub zone: Attr<String>,
    /// Record name.
    pub name: Attr<String>,
    /// TTL.
    pub ttl: Attr<Number>,
    /// `public` or `private`.
    pub address: Attr<String>,
}

/// The `rollout` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct RolloutModel {
    /// Instances per batch (0: all).
    pub batch_size: Attr<Number>,
    /// Seconds of drain.
    pub drain: Attr<Number>,
    /// Keep the previous release warm.
    pub keep_previous: Attr<bool>,
    /// Terminate failed instances.
    pub auto_rollback: Attr<bool>,
}

/// One `sidecar` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct SidecarModel {
    /// Name.
    pub name: Attr<String>,
    /// Image.
    pub image: Attr<String>,
    /// Command override.
    pub command: Strings,
    /// `HOST:CONTAINER` port mappings.
    pub ports: Strings,
    /// Files (path → content).
    pub files: StringMap,
    /// Environment.
    pub env: StringMap,
    /// Memory limit (MiB).
    pub memory: Attr<Number>,
}

/// One `registry_credentials` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct RegistryCredentialsModel {
    /// Registry host.
    pub server: Attr<String>,
    /// User name.
    pub username: Attr<String>,
    /// Secret reference of the password.
    pub password: Attr<String>,
}

/// The `logs` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct LogsModel {
    /// Log group name (computed default `/berth/<name>`).
    pub group: Attr<String>,
    /// Days events are kept.
    pub retention_days: Attr<Number>,
    /// Delete the group with the app.
    pub delete_on_destroy: Attr<bool>,
}

/// The `metrics` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct MetricsModel {
    /// Seconds between two publications.
    pub interval: Attr<Number>,
}

/// One `alarm` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct AlarmModel {
    /// Name (the alarm is `berth.<app>.<name>`).
    pub name: Attr<String>,
    /// `cpu`, `memory` or `unhealthy_instances`.
    pub metric: Attr<String>,
    /// The container (cpu, memory).
    pub container: Attr<String>,
    /// CloudWatch statistic.
    pub statistic: Attr<String>,
    /// `>=`, `>`, `<=` or `<`.
    pub comparison: Attr<String>,
    /// The threshold.
    pub threshold: Attr<Number>,
    /// Seconds per period.
    pub period: Attr<Number>,
    /// Periods the condition must hold.
    pub evaluation_periods: Attr<Number>,
    /// SNS topics (or other actions) when it fires.
    pub alarm_actions: Strings,
    /// When it recovers.
    pub ok_actions: Strings,
}

/// The `load_balancer` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct LoadBalancerModel {
    /// The user's ALB listener.
    pub listener_arn: Attr<String>,
    /// Host names the rule matches.
    pub hosts: Strings,
    /// Path patterns the rule matches.
    pub paths: Strings,
    /// The rule's priority on the listener.
    pub priority: Attr<Number>,
    /// The instance port the load balancer sends requests to.
    pub port: Attr<Number>,
    /// Seconds a deregistered target keeps its in-flight requests.
    pub deregistration_delay: Attr<Number>,
    /// The `shift` block.
    pub shift: Attr<LbShiftModel>,
}

/// The `load_balancer.shift` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct LbShiftModel {
    /// The new release's share at each step, percent.
    pub steps: Attr<Vec<Attr<Number>>>,
    /// Seconds after each step.
    pub bake: Attr<Number>,
}

/// The `capacity` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct CapacityModel {
    /// Fewest instances.
    pub min: Attr<Number>,
    /// Most instances.
    pub max: Attr<Number>,
    /// The `schedule` blocks.
    pub schedule: Attr<Vec<ScheduleModel>>,
    /// The `target_tracking` block.
    pub target_tracking: Attr<TrackingModel>,
}

/// One `schedule` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct ScheduleModel {
    /// Name in the group.
    pub name: Attr<String>,
    /// Cron expression.
    pub recurrence: Attr<String>,
    /// IANA time zone.
    pub time_zone: Attr<String>,
    /// New lower bound.
    pub min: Attr<Number>,
    /// New upper bound.
    pub max: Attr<Number>,
    /// New desired count.
    pub desired: Attr<Number>,
}

/// The `target_tracking` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct TrackingModel {
    /// `cpu` or `requests_per_target`.
    pub metric: Attr<String>,
    /// The value kept near.
    pub target: Attr<Number>,
}

/// The `timeouts` block.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct TimeoutsModel {
    /// Create.
    pub create: Attr<String>,
    /// Update.
    pub update: Attr<String>,
    /// Delete.
    pub delete: Attr<String>,
}

/// The entries of a map whose values are known.
pub fn known_map(map: &StringMap) -> BTreeMap<String, String> {
    map.known()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_deref()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_model_covers_the_schema() {
        tfplugin::model::assert_covers::<super::AppModel>(&super::super::schema::schema().block);
    }
}

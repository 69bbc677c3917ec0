//! EC2 Auto Scaling pieces of an app in load-balancer mode: a launch
//! template and an Auto Scaling group per release (registered with the
//! release's target group, replaced on the load balancer's health), its
//! scheduled actions and target-tracking policies.
//!
//! Guarantees:
//! - [`ensure_launch_template`] and [`ensure_group`] are idempotent: what
//!   exists under the name (an earlier, interrupted apply) is adopted, and
//!   a group's capacity is never reset by adopting it.
//! - [`delete_group`] deletes the group with its instances; one that is
//!   gone counts as deleted, as does a gone launch template.
//!
//! Assumes the caller may call `autoscaling:CreateAutoScalingGroup`,
//! `UpdateAutoScalingGroup`, `DescribeAutoScalingGroups`,
//! `DeleteAutoScalingGroup`, `PutScheduledUpdateGroupAction`,
//! `DescribeScheduledActions`, `DeleteScheduledAction`, `PutScalingPolicy`,
//! `DescribePolicies`, `DeletePolicy`, `ec2:CreateLaunchTemplate`,
//! `ec2:DescribeLaunchTemplates`, `ec2:DeleteLaunchTemplate` (and
//! `iam:PassRole` for the instance profile).

use std::collections::BTreeMap;

use aws_sdk_autoscaling::types::{
    LaunchTemplateSpecification, MetricType, PredefinedMetricSpecification, Tag,
    TargetTrackingConfiguration,
};
use aws_sdk_ec2::types::{
    LaunchTemplateIamInstanceProfileSpecificationRequest, RequestLaunchTemplateData, ResourceType,
    TagSpecification,
};

use crate::config::Clients;
use crate::error::AwsError;

/// What a release's instances are launched from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchTemplateSpec {
    /// Its name (`berth-<app>-<release>`).
    pub name: String,
    /// The AMI.
    pub ami: String,
    /// The instance type.
    pub instance_type: String,
    /// User-data, base64 (as RunInstances takes it).
    pub user_data: String,
    /// The instance profile's name, if any.
    pub instance_profile: Option<String>,
    /// Security groups.
    pub security_groups: Vec<String>,
    /// Tags of the template, its instances and their volumes.
    pub tags: BTreeMap<String, String>,
}

fn ec2_tags(kind: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// Creates the launch template `spec` unless one of that name exists;
/// returns its id.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn ensure_launch_template(
    clients: &Clients,
    spec: &LaunchTemplateSpec,
) -> Result<String, AwsError> {
    if let Some(id) = launch_template_id(clients, &spec.name).await? {
        return Ok(id);
    }
    let mut data = RequestLaunchTemplateData::builder()
        .image_id(&spec.ami)
        .instance_type(aws_sdk_ec2::types::InstanceType::from(
            spec.instance_type.as_str(),
        ))
        .user_data(&spec.user_data)
        .set_security_group_ids(Some(spec.security_groups.clone()))
        .tag_specifications(
            aws_sdk_ec2::types::LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ResourceType::Instance)
                .set_tags(Some(
                    spec.tags
                        .iter()
                        .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .build(),
        );
    if let Some(p) = &spec.instance_profile {
        data = data.iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .name(p)
                .build(),
        );
    }
    let created = clients
        .ec2
        .create_launch_template()
        .launch_template_name(&spec.name)
        .launch_template_data(data.build())
        .tag_specifications(ec2_tags(ResourceType::LaunchTemplate, &spec.tags))
        .send()
        .await;
    match created {
        Ok(out) => Ok(out
            .launch_template()
            .and_then(|t| t.launch_template_id())
            .unwrap_or_default()
            .to_string()),
        Err(e) => match AwsError::from_sdk("CreateLaunchTemplate", e) {
            AwsError::Service { code, .. }
                if code == "InvalidLaunchTemplateName.AlreadyExistsException" =>
            {
                Ok(launch_template_id(clients, &spec.name)
                    .await?
                    .unwrap_or_default())
            }
            other => Err(other),
        },
    }
}

/// The id of the launch template `name`, or None.
///
/// # Errors
/// [`AwsError`] when the call fails otherwise.
pub async fn launch_template_id(clients: &Clients, name: &str) -> Result<Option<String>, AwsError> {
    match clients
        .ec2
        .describe_launch_templates()
        .launch_template_names(name)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .launch_templates()
            .first()
            .and_then(|t| t.launch_template_id())
            .map(str::to_string)),
        Err(e) => match AwsError::from_sdk("DescribeLaunchTemplates", e) {
            AwsError::Service { code, .. }
                if code.starts_with("InvalidLaunchTemplateName.NotFound") =>
            {
                Ok(None)
            }
            other => Err(other),
        },
    }
}

/// Deletes the launch template `name`; one that is gone counts as deleted.
///
/// # Errors
/// [`AwsError`] when the call fails otherwise.
pub async fn delete_launch_template(clients: &Clients, name: &str) -> Result<(), AwsError> {
    let Some(id) = launch_template_id(clients, name).await? else {
        return Ok(());
    };
    match clients
        .ec2
        .delete_launch_template()
        .launch_template_id(id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match AwsError::from_sdk("DeleteLaunchTemplate", e) {
            AwsError::Service { code, .. }
                if code.starts_with("InvalidLaunchTemplateName.NotFound")
                    || code == "InvalidLaunchTemplateId.NotFound" =>
            {
                Ok(())
            }
            other => Err(other),
        },
    }
}

/// One release's Auto Scaling group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSpec {
    /// Its name (`berth-<app>-<release>`).
    pub name: String,
    /// The launch template's id (its `$Latest` version).
    pub launch_template_id: String,
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// Instances to start with.
    pub desired: u32,
    /// Subnets, spread over their zones.
    pub subnets: Vec<String>,
    /// Target groups its instances are registered with.
    pub target_groups: Vec<String>,
    /// Seconds after launch before the load balancer's health counts.
    pub grace_period: u32,
    /// Tags, also given to its instances.
    pub tags: BTreeMap<String, String>,
}

/// One instance of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInstance {
    /// Its id.
    pub id: String,
    /// `Pending`, `InService`, `Terminating`, …
    pub lifecycle: String,
    /// `Healthy` or `Unhealthy`, as Auto Scaling sees it.
    pub health: String,
    /// Its availability zone.
    pub zone: String,
}

/// A group as Auto Scaling describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// Instances it keeps now (schedules and policies move it).
    pub desired: u32,
    /// Its instances, by id.
    pub instances: Vec<GroupInstance>,
    /// The target groups it registers with.
    pub target_groups: Vec<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

fn count(n: Option<i32>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The group `name`, or None.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn group(clients: &Clients, name: &str) -> Result<Option<Group>, AwsError> {
    let out = clients
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeAutoScalingGroups", e))?;
    let Some(g) = out
        .auto_scaling_groups()
        .iter()
        .find(|g| g.auto_scaling_group_name() == Some(name))
    else {
        return Ok(None);
    };
    let mut instances: Vec<GroupInstance> = g
        .instances()
        .iter()
        .filter_map(|i| {
            Some(GroupInstance {
                id: i.instance_id()?.to_string(),
                lifecycle: i
                    .lifecycle_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                health: i.health_status().unwrap_or_default().to_string(),
                zone: i.availability_zone().unwrap_or_default().to_string(),
            })
        })
        .collect();
    instances.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Some(Group {
        name: name.to_string(),
        min: count(g.min_size()),
        max: count(g.max_size()),
        desired: count(g.desired_capacity()),
        instances,
        target_groups: g.target_group_arns().to_vec(),
        tags: g
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect(),
    }))
}

/// Creates the group `spec` unless it exists (then it is left as it is:
/// its capacity may have moved by schedule or policy); returns it.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn ensure_group(clients: &Clients, spec: &GroupSpec) -> Result<Group, AwsError> {
    if group(clients, &spec.name).await?.is_none() {
        let created = clients
            .autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(&spec.name)
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .launch_template_id(&spec.launch_template_id)
                    .version("$Latest")
                    .build(),
            )
            .min_size(int(spec.min))
            .max_size(int(spec.max))
            .desired_capacity(int(spec.desired))
            .vpc_zone_identifier(spec.subnets.join(","))
            .set_target_group_arns(Some(spec.target_groups.clone()))
            .health_check_type("ELB")
            .health_check_grace_period(int(spec.grace_period))
            .set_tags(Some(
                spec.tags
                    .iter()
                    .map(|(k, v)| {
                        Tag::builder()
                            .key(k)
                            .value(v)
                            .propagate_at_launch(true)
                            .resource_id(&spec.name)
                            .resource_type("auto-scaling-group")
                            .build()
                    })
                    .collect(),
            ))
            .send()
            .await;
        if let Err(e) = created {
            match AwsError::from_sdk("CreateAutoScalingGroup", e) {
                AwsError::Service { code, .. } if code == "AlreadyExists" => {}
                other => return Err(other),
            }
        }
    }
    group(clients, &spec.name)
        .await?
        .ok_or_else(|| AwsError::Service {
            operation: "DescribeAutoScalingGroups",
            code: "NotFound".into(),
            message: format!("group {} was created and is not there", spec.name),
        })
}

/// Sets the group's bounds, and its desired count when given (None keeps
/// what schedules and policies made of it, within the new bounds).
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn set_capacity(
    clients: &Clients,
    name: &str,
    min: u32,
    max: u32,
    desired: Option<u32>,
) -> Result<(), AwsError> {
    clients
        .autoscaling
        .update_auto_scaling_group()
        .auto_scaling_group_name(name)
        .min_size(int(min))
        .max_size(int(max))
        .set_desired_capacity(desired.map(int))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("UpdateAutoScalingGroup", e))?;
    Ok(())
}

/// Deletes the group `name` and terminates its instances; one that is
/// gone counts as deleted.
///
/// # Errors
/// [`AwsError`] when the call fails otherwise.
pub async fn delete_group(clients: &Clients, name: &str) -> Result<(), AwsError> {
    match clients
        .autoscaling
        .delete_auto_scaling_group()
        .auto_scaling_group_name(name)
        .force_delete(true)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match AwsError::from_sdk("DeleteAutoScalingGroup", e) {
            AwsError::Service { code, message, .. }
                if code == "ValidationError" && message.contains("not found") =>
            {
                Ok(())
            }
            other => Err(other),
        },
    }
}

/// A scheduled change of a group's capacity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Its name in the group.
    pub name: String,
    /// Cron expression (`0 8 * * MON-FRI`).
    pub recurrence: String,
    /// IANA time zone of the expression (`Europe/Berlin`); None: UTC.
    pub time_zone: Option<String>,
    /// New lower bound.
    pub min: Option<u32>,
    /// New upper bound.
    pub max: Option<u32>,
    /// New desired count.
    pub desired: Option<u32>,
}

/// Creates or replaces the scheduled action `s` of group `group`.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn put_schedule(clients: &Clients, group: &str, s: &Schedule) -> Result<(), AwsError> {
    clients
        .autoscaling
        .put_scheduled_update_group_action()
        .auto_scaling_group_name(group)
        .scheduled_action_name(&s.name)
        .recurrence(&s.recurrence)
        .set_time_zone(s.time_zone.clone())
        .set_min_size(s.min.map(int))
        .set_max_size(s.max.map(int))
        .set_desired_capacity(s.desired.map(int))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("PutScheduledUpdateGroupAction", e))?;
    Ok(())
}

/// The scheduled actions of group `group`, by name.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn schedules(clients: &Clients, group: &str) -> Result<Vec<Schedule>, AwsError> {
    let out = clients
        .autoscaling
        .describe_scheduled_actions()
        .auto_scaling_group_name(group)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeScheduledActions", e))?;
    let mut list: Vec<Schedule> = out
        .scheduled_update_group_actions()
        .iter()
        .filter_map(|a| {
            Some(Schedule {
                name: a.scheduled_action_name()?.to_string(),
                recurrence: a.recurrence().unwrap_or_default().to_string(),
                time_zone: a.time_zone().map(str::to_string),
                min: a.min_size().and_then(|n| u32::try_from(n).ok()),
                max: a.max_size().and_then(|n| u32::try_from(n).ok()),
                desired: a.desired_capacity().and_then(|n| u32::try_from(n).ok()),
            })
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list)
}

/// What a target-tracking policy keeps near its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tracked {
    /// Average CPU of the group's instances, percent.
    Cpu,
    /// Requests per target of the release's target group; the label is
    /// `app/<alb name>/<alb id>/targetgroup/<tg name>/<tg id>`.
    RequestsPerTarget(String),
}

/// Creates or replaces the target-tracking policy `name` of group `group`
/// that keeps `tracked` near `target`.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn put_target_tracking(
    clients: &Clients,
    group: &str,
    name: &str,
    tracked: &Tracked,
    target: f64,
) -> Result<(), AwsError> {
    let metric = match tracked {
        Tracked::Cpu => PredefinedMetricSpecification::builder()
            .predefined_metric_type(MetricType::AsgAverageCpuUtilization)
            .build(),
        Tracked::RequestsPerTarget(label) => PredefinedMetricSpecification::builder()
            .predefined_metric_type(MetricType::AlbRequestCountPerTarget)
            .resource_label(label)
            .build(),
    };
    clients
        .autoscaling
        .put_scaling_policy()
        .auto_scaling_group_name(group)
        .policy_name(name)
        .policy_type("TargetTrackingScaling")
        .target_tracking_configuration(
            TargetTrackingConfiguration::builder()
                .predefined_metric_specification(metric)
                .target_value(target)
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("PutScalingPolicy", e))?;
    Ok(())
}

/// The target-tracking policies of group `group`: name → (predefined
/// metric type, target value).
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn target_tracking(
    clients: &Clients,
    group: &str,
) -> Result<BTreeMap<String, (String, f64)>, AwsError> {
    let out = clients
        .autoscaling
        .describe_policies()
        .auto_scaling_group_name(group)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribePolicies", e))?;
    Ok(out
        .scaling_policies()
        .iter()
        .filter_map(|p| {
            let c = p.target_tracking_configuration()?;
            let metric = c
                .predefined_metric_specification()
                .and_then(|m| m.predefined_metric_type())
                .map(|t| t.as_str().to_string())
                .unwrap_or_default();
            Some((p.policy_name()?.to_string(), (metric, c.target_value()?)))
        })
        .collect())
}

/// Deletes the scheduled action `name` of group `group` (gone: fine).
///
/// # Errors
/// [`AwsError`] when the call fails otherwise.
pub async fn delete_schedule(clients: &Clients, group: &str, name: &str) -> Result<(), AwsError> {
    match clients
        .autoscaling
        .delete_scheduled_action()
        .auto_scaling_group_name(group)
        .scheduled_action_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match AwsError::from_sdk("DeleteScheduledAction", e) {
            AwsError::Service { code, .. } if code == "ValidationError" => Ok(()),
            other => Err(other),
        },
    }
}

/// Deletes the scaling policy `name` of group `group` (gone: fine).
///
/// # Errors
/// [`AwsError`] when the call fails otherwise.
pub async fn delete_policy(clients: &Clients, group: &str, name: &str) -> Result<(), AwsError> {
    match clients
        .autoscaling
        .delete_policy()
        .auto_scaling_group_name(group)
        .policy_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match AwsError::from_sdk("DeletePolicy", e) {
            AwsError::Service { code, .. } if code == "ValidationError" => Ok(()),
            other => Err(other),
        },
    }
}

/// The names of the groups tagged `berth:app = app`.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn app_groups(clients: &Clients, app: &str) -> Result<Vec<String>, AwsError> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = clients
            .autoscaling
            .describe_auto_scaling_groups()
            .filters(
                aws_sdk_autoscaling::types::Filter::builder()
                    .name(format!("tag:{}", crate::fleet::tags::APP))
                    .values(app)
                    .build(),
            )
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeAutoScalingGroups", e))?;
        names.extend(
            out.auto_scaling_groups()
                .iter()
                .filter_map(|g| g.auto_scaling_group_name().map(str::to_string)),
        );
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    names.sort();
    Ok(names)
}

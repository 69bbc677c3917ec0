//! Application Load Balancer pieces of an app in load-balancer mode: a
//! target group per release, the app's rule on the user's listener with a
//! weighted forward to those groups, and what the load balancer thinks of
//! each target.
//!
//! Guarantees:
//! - [`ensure_target_group`] is idempotent: a group of that name that
//!   exists (an earlier, interrupted apply) is adopted, its settings and
//!   deregistration delay set again.
//! - [`app_rule`] finds the app's rule by its `berth:app` tag, never by
//!   priority or conditions, so a rule the user made is never taken (a
//!   weighted route's rule likewise, by [`tagged_rule`] on `berth:route`).
//! - [`modify_rule`] replaces the rule's forward in one `ModifyRule` call:
//!   the load balancer moves from one split to the next atomically.
//! - Deleting a target group or rule that is gone succeeds.
//!
//! Assumes the caller may call `elasticloadbalancing:CreateTargetGroup`,
//! `ModifyTargetGroup`, `ModifyTargetGroupAttributes`,
//! `DescribeTargetGroups`, `DescribeTargetGroupAttributes`,
//! `DescribeTargetHealth`, `DeleteTargetGroup`,
//! `CreateRule`, `ModifyRule`, `SetRulePriorities`, `DescribeRules`, `DeleteRule`, `AddTags`
//! and `DescribeTags` (the resource's IAM docs).

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, HostHeaderConditionConfig, Matcher,
    PathPatternConditionConfig, ProtocolEnum, RuleCondition, Tag, TargetGroupAttribute,
    TargetGroupTuple, TargetTypeEnum,
};

use crate::config::Clients;
use crate::error::AwsError;

/// The tag that marks an object as an app's.
pub const APP_TAG: &str = "berth:app";

/// The tag that marks a listener rule as a `berth_weighted_route`'s.
pub const ROUTE_TAG: &str = "berth:route";

/// Longest target group name ELBv2 accepts.
pub const MAX_TARGET_GROUP_NAME: usize = 32;

/// How the load balancer checks a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetCheck {
    /// HTTP path.
    pub path: String,
    /// Port on the instance.
    pub port: u16,
    /// Seconds between checks (5–300).
    pub interval: u32,
    /// Seconds before a check counts as failed (2–120, below `interval`).
    pub timeout: u32,
    /// Passes in a row before a target is healthy (2–10).
    pub healthy_threshold: u32,
    /// Failures in a row before a target is unhealthy (2–10).
    pub unhealthy_threshold: u32,
}

/// One release's target group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetGroupSpec {
    /// Its name (at most [`MAX_TARGET_GROUP_NAME`] characters).
    pub name: String,
    /// The VPC of the instances.
    pub vpc_id: String,
    /// The port traffic goes to on each instance.
    pub port: u16,
    /// The health check.
    pub check: TargetCheck,
    /// Seconds a deregistered target keeps its requests in flight.
    pub deregistration_delay: u32,
    /// Tags (the app's `berth:app` among them).
    pub tags: BTreeMap<String, String>,
}

/// The name of `app`'s target group for `release` (with its fingerprint
/// `fp`): `berth-<app>-<release>` when that fits, else the app's name cut
/// short and a hash of the whole, so two apps never share a name.
pub fn target_group_name(app: &str, release: u64, fp: &str) -> String {
    let plain = format!("berth-{app}-{release}");
    if plain.len() <= MAX_TARGET_GROUP_NAME && !plain.ends_with('-') {
        return plain;
    }
    let hash = short_hash(&format!("{app}/{release}/{fp}"));
    let tail = format!("-{release}-{hash}");
    let room = MAX_TARGET_GROUP_NAME.saturating_sub(tail.len() + "b-".len());
    let cut: String = app.chars().take(room).collect();
    format!("b-{}{tail}", cut.trim_end_matches('-'))
}

fn short_hash(s: &str) -> String {
    // FNV-1a, 32 bits: stable across releases of berth and of Rust.
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

fn tags(map: &BTreeMap<String, String>) -> Vec<Tag> {
    map.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Creates the target group `spec` unless one of that name exists, sets
/// its deregistration delay, and returns its ARN.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn ensure_target_group(
    clients: &Clients,
    spec: &TargetGroupSpec,
) -> Result<String, AwsError> {
    let arn = match target_group_arn(clients, &spec.name).await? {
        Some(arn) => arn,
        None => {
            let c = &spec.check;
            let created = clients
                .elb
                .create_target_group()
                .name(&spec.name)
                .protocol(ProtocolEnum::Http)
                .port(i32::from(spec.port))
                .vpc_id(&spec.vpc_id)
                .target_type(TargetTypeEnum::Instance)
                .health_check_enabled(true)
                .health_check_protocol(ProtocolEnum::Http)
                .health_check_path(&c.path)
                .health_check_port(c.port.to_string())
                .health_check_interval_seconds(i32::try_from(c.interval).unwrap_or(30))
                .health_check_timeout_seconds(i32::try_from(c.timeout).unwrap_or(5))
                .healthy_threshold_count(i32::try_from(c.healthy_threshold).unwrap_or(5))
                .unhealthy_threshold_count(i32::try_from(c.unhealthy_threshold).unwrap_or(2))
                .matcher(Matcher::builder().http_code("200-399").build())
                .set_tags(Some(tags(&spec.tags)))
                .send()
                .await;
            match created {
                Ok(out) => out
                    .target_groups()
                    .first()
                    .and_then(|g| g.target_group_arn())
                    .map(str::to_string)
                    .ok_or_else(|| AwsError::Service {
                        operation: "CreateTargetGroup",
                        code: "NoTargetGroup".into(),
                        message: "the answer named no target group".into(),
                    })?,
                Err(e) => match AwsError::from_sdk("CreateTargetGroup", e) {
                    // Made at the same moment by a retried call.
                    AwsError::Service { code, .. } if code == "DuplicateTargetGroupName" => {
                        target_group_arn(clients, &spec.name)
                            .await?
                            .ok_or_else(|| AwsError::Service {
                                operation: "DescribeTargetGroups",
                                code: "TargetGroupNotFound".into(),
                                message: format!("{} exists and does not", spec.name),
                            })?
                    }
                    other => return Err(other),
                },
            }
        }
    };
    set_deregistration_delay(clients, &arn, spec.deregistration_delay).await?;
    Ok(arn)
}

/// How long group `arn` lets a leaving target finish its requests, as
/// the load balancer has it.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn deregistration_delay(clients: &Clients, arn: &str) -> Result<Option<u32>, AwsError> {
    let out = clients
        .elb
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeTargetGroupAttributes", e))?;
    Ok(out
        .attributes()
        .iter()
        .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
        .and_then(|a| a.value())
        .and_then(|v| v.parse().ok()))
}

/// Sets how long group `arn` lets a leaving target finish its requests.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn set_deregistration_delay(
    clients: &Clients,
    arn: &str,
    seconds: u32,
) -> Result<(), AwsError> {
    clients
        .elb
        .modify_target_group_attributes()
        .target_group_arn(arn)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value(seconds.to_string())
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ModifyTargetGroupAttributes", e))?;
    Ok(())
}

/// The ARN of the target group `name`, or None.
///
/// # Errors
/// [`AwsError`] when the call fails otherwise.
pub async fn target_group_arn(clients: &Clients, name: &str) -> Result<Option<String>, AwsError> {
    match clients
        .elb
        .describe_target_groups()
        .names(name)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .map(str::to_string)),
        Err(e) => match AwsError::from_sdk("DescribeTargetGroups", e) {
            AwsError::Service { code, .. } if code == "TargetGroupNotFound" => Ok(None),
            other => Err(other),
        },
    }
}

/// Deletes the target group `arn`; one that is gone counts as deleted.
///
/// # Errors
/// [`AwsError`] when the call fails otherwise (`ResourceInUse` while a
/// rule still forwards to it).
pub async fn delete_target_group(clients: &Clients, arn: &str) -> Result<(), AwsError> {
    match clients
        .elb
        .delete_target_group()
        .target_group_arn(arn)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match AwsError::from_sdk("DeleteTargetGroup", e) {
            AwsError::Service { code, .. } if code == "TargetGroupNotFound" => Ok(()),
            other => Err(other),
        },
    }
}

/// What the load balancer thinks of one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetState {
    /// The instance id.
    pub id: String,
    /// `initial`, `healthy`, `unhealthy`, `draining`, `unused`, …
    pub state: String,
    /// Why, when it is not healthy (`Target.FailedHealthChecks`, …).
    pub reason: String,
}

/// The targets of group `arn` and their health, by instance id.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn target_health(clients: &Clients, arn: &str) -> Result<Vec<TargetState>, AwsError> {
    let out = clients
        .elb
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeTargetHealth", e))?;
    let mut list: Vec<TargetState> = out
        .target_health_descriptions()
        .iter()
        .filter_map(|d| {
            let id = d.target()?.id()?.to_string();
            let h = d.target_health();
            Some(TargetState {
                id,
                state: h
                    .and_then(|h| h.state())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: h
                    .and_then(|h| h.reason())
                    .map(|r| r.as_str().to_string())
                    .unwrap_or_default(),
            })
        })
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(list)
}

/// When the app's rule matches a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleMatch {
    /// Host names (any of them; `*` and `?` wildcards as ELBv2 takes them).
    pub hosts: Vec<String>,
    /// Path patterns (any of them).
    pub paths: Vec<String>,
    /// The rule's priority on the listener (1–50000; lower goes first).
    pub priority: u32,
}

/// The app's rule on a listener as the load balancer has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppRule {
    /// Its ARN.
    pub arn: String,
    /// Its priority.
    pub priority: u32,
    /// Its host names.
    pub hosts: Vec<String>,
    /// Its path patterns.
    pub paths: Vec<String>,
    /// The forward's weights, target group ARN → weight (0–999).
    pub weights: BTreeMap<String, u32>,
}

fn forward(weights: &BTreeMap<String, u32>) -> Action {
    let groups = weights
        .iter()
        .map(|(arn, w)| {
            TargetGroupTuple::builder()
                .target_group_arn(arn)
                .weight(i32::try_from(*w).unwrap_or(999))
                .build()
        })
        .collect();
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .set_target_groups(Some(groups))
                .build(),
        )
        .build()
}

fn conditions(m: &RuleMatch) -> Vec<RuleCondition> {
    let mut out = Vec::new();
    if !m.hosts.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(m.hosts.clone()))
                        .build(),
                )
                .build(),
        );
    }
    if !m.paths.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(m.paths.clone()))
                        .build(),
                )
                .build(),
        );
    }
    out
}

/// Creates `app`'s rule on `listener_arn` matching `m`, forwarding by
/// `weights`, tagged with `tags` (which must hold `berth:app`); returns
/// its ARN.
///
/// # Errors
/// [`AwsError`] when the call fails (`PriorityInUse` when another rule
/// has the priority).
pub async fn create_rule(
    clients: &Clients,
    listener_arn: &str,
    m: &RuleMatch,
    weights: &BTreeMap<String, u32>,
    tags_: &BTreeMap<String, String>,
) -> Result<String, AwsError> {
    let out = clients
        .elb
        .create_rule()
        .listener_arn(listener_arn)
        .priority(i32::try_from(m.priority).unwrap_or(50_000))
        .set_conditions(Some(conditions(m)))
        .actions(forward(weights))
        .set_tags(Some(tags(tags_)))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("CreateRule", e))?;
    out.rules()
        .first()
        .and_then(|r| r.rule_arn())
        .map(str::to_string)
        .ok_or_else(|| AwsError::Service {
            operation: "CreateRule",
            code: "NoRule".into(),
            message: "the answer named no rule".into(),
        })
}

/// Moves the rule's forward to `weights` and, when `m` is given, its
/// conditions to `m`, in one call (the priority is not changed here).
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn modify_rule(
    clients: &Clients,
    rule_arn: &str,
    m: Option<&RuleMatch>,
    weights: &BTreeMap<String, u32>,
) -> Result<(), AwsError> {
    clients
        .elb
        .modify_rule()
        .rule_arn(rule_arn)
        .set_conditions(m.map(conditions))
        .actions(forward(weights))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ModifyRule", e))?;
    Ok(())
}

/// Moves the rule `arn` to `priority`.
///
/// # Errors
/// [`AwsError`] when the call fails (`PriorityInUse` when another rule
/// has it).
pub async fn set_priority(clients: &Clients, arn: &str, priority: u32) -> Result<(), AwsError> {
    clients
        .elb
        .set_rule_priorities()
        .rule_priorities(
            aws_sdk_elasticloadbalancingv2::types::RulePriorityPair::builder()
                .rule_arn(arn)
                .priority(i32::try_from(priority).unwrap_or(50_000))
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("SetRulePriorities", e))?;
    Ok(())
}

/// The rule on `listener_arn` tagged `berth:app=<app>`, or None.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn app_rule(
    clients: &Clients,
    listener_arn: &str,
    app: &str,
) -> Result<Option<AppRule>, AwsError> {
    tagged_rule(clients, listener_arn, APP_TAG, app).await
}

/// The rule on `listener_arn` tagged `key=value`, or None.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn tagged_rule(
    clients: &Clients,
    listener_arn: &str,
    key: &str,
    value: &str,
) -> Result<Option<AppRule>, AwsError> {
    let mut rules = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = clients
            .elb
            .describe_rules()
            .listener_arn(listener_arn)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeRules", e))?;
        rules.extend(
            page.rules()
                .iter()
                .filter(|r| r.is_default() != Some(true))
                .cloned(),
        );
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    let arns: Vec<String> = rules
        .iter()
        .filter_map(|r| r.rule_arn().map(str::to_string))
        .collect();
    let mut ours: Option<String> = None;
    // DescribeTags takes at most 20 ARNs a call.
    for chunk in arns.chunks(20) {
        let out = clients
            .elb
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeTags", e))?;
        ours = out
            .tag_descriptions()
            .iter()
            .find(|d| {
                d.tags()
                    .iter()
                    .any(|t| t.key() == Some(key) && t.value() == Some(value))
            })
            .and_then(|d| d.resource_arn().map(str::to_string));
        if ours.is_some() {
            break;
        }
    }
    Ok(ours.and_then(|arn| {
        rules
            .iter()
            .find(|r| r.rule_arn() == Some(arn.as_str()))
            .map(|r| parse_rule(arn.clone(), r))
    }))
}

/// The rule `arn`, or None when it is gone.
///
/// # Errors
/// [`AwsError`] when the call fails otherwise.
pub async fn rule(clients: &Clients, arn: &str) -> Result<Option<AppRule>, AwsError> {
    match clients.elb.describe_rules().rule_arns(arn).send().await {
        Ok(out) => Ok(out.rules().first().map(|r| parse_rule(arn.to_string(), r))),
        Err(e) => match AwsError::from_sdk("DescribeRules", e) {
            AwsError::Service { code, .. } if code == "RuleNotFound" => Ok(None),
            other => Err(other),
        },
    }
}

/// The tags of the load-balancer object `arn`.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn tags_of(clients: &Clients, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let out = clients
        .elb
        .describe_tags()
        .resource_arns(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeTags", e))?;
    Ok(out
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect())
}

/// A rule as berth reads it: conditions, priority and forward weights.
fn parse_rule(arn: String, r: &aws_sdk_elasticloadbalancingv2::types::Rule) -> AppRule {
    let values = |field: &str| -> Vec<String> {
        r.conditions()
            .iter()
            .filter(|c| c.field() == Some(field))
            .flat_map(|c| match field {
                "host-header" => c
                    .host_header_config()
                    .map(|h| h.values().to_vec())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| c.values().to_vec()),
                _ => c
                    .path_pattern_config()
                    .map(|p| p.values().to_vec())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| c.values().to_vec()),
            })
            .collect()
    };
    let mut weights = BTreeMap::new();
    for a in r.actions() {
        if let Some(f) = a.forward_config() {
            for g in f.target_groups() {
                if let Some(tg) = g.target_group_arn() {
                    let w = g.weight().and_then(|w| u32::try_from(w).ok()).unwrap_or(1);
                    weights.insert(tg.to_string(), w);
                }
            }
        } else if let Some(tg) = a.target_group_arn() {
            weights.insert(tg.to_string(), 1);
        }
    }
    AppRule {
        arn,
        priority: r.priority().and_then(|p| p.parse().ok()).unwrap_or(0),
        hosts: values("host-header"),
        paths: values("path-pattern"),
        weights,
    }
}

/// Deletes the rule `arn`; one that is gone counts as deleted.
///
/// # Errors
/// [`AwsError`] when the call fails otherwise.
pub async fn delete_rule(clients: &Clients, arn: &str) -> Result<(), AwsError> {
    match clients.elb.delete_rule().rule_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) => match AwsError::from_sdk("DeleteRule", e) {
            AwsError::Service { code, .. } if code == "RuleNotFound" => Ok(()),
            other => Err(other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_group_names_fit_elbv2_and_never_collide() {
        assert_eq!(target_group_name("web", 7, "abc"), "berth-web-7");
        let long = "a-very-long-application-name-for-the-shop";
        let a = target_group_name(long, 12, "fp1");
        let b = target_group_name(&format!("{long}2"), 12, "fp1");
        for n in [&a, &b] {
            assert!(n.len() <= MAX_TARGET_GROUP_NAME, "{n}");
            assert!(
                n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'),
                "{n}"
            );
            assert!(!n.starts_with('-') && !n.ends_with('-'), "{n}");
        }
        assert_ne!(a, b, "two long names that share a prefix");
        assert!(a.contains("-12-"), "the release shows: {a}");
    }
}

//! The traffic shift's ports on an ALB listener rule: the weights of the
//! rule's forward across target groups ([`RuleWeights`]) and the health
//! of a target group by the load balancer's own checks ([`GroupHealth`]);
//! used by `berth_weighted_route`'s `listener_rule` mode.
//!
//! Guarantees:
//! - [`RuleWeights::open`] leaves the rule ready for a gated shift: it
//!   exists (created, or adopted by its `berth:route` tag after an
//!   interrupted apply), its conditions and priority are the declared
//!   ones, and every declared target group is in its forward (a group new
//!   to the rule joins at weight 0: an ALB checks only the groups a rule
//!   uses, so the gate could never pass otherwise).
//! - Setting the weights the shift started from writes back the forward
//!   exactly as it was after opening, so a reverted shift leaves the rule
//!   as it was; every change is one `ModifyRule` (atomic at the ALB).
//!
//! Assumes the ALB health-checks a target group that is in a forward at
//! weight 0 (AWS reports a group that no rule uses as `unused`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use berth_rollout::shift::{TargetHealth, WeightPort, Weights};
use berth_rollout::{Health, PortError};

use crate::config::Clients;
use crate::error::AwsError;
use crate::lb::{self, AppRule, ROUTE_TAG, RuleMatch, TargetState};

/// What the route declares for its rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRoute {
    /// The user's listener.
    pub listener_arn: String,
    /// The route's name (its rule's `berth:route` tag).
    pub name: String,
    /// Hosts, paths and priority.
    pub rule: RuleMatch,
    /// Target id → target group ARN, in the configuration's order.
    pub groups: Vec<(String, String)>,
    /// Tags the rule carries (with `berth:route`).
    pub tags: BTreeMap<String, String>,
}

/// The rule's forward, by target id.
pub struct RuleWeights<'a> {
    clients: &'a Clients,
    route: &'a RuleRoute,
    arn: String,
    created: bool,
    before: Weights,
    restore: BTreeMap<String, u32>,
}

/// Target id → weight of a forward (target group ARN → weight); groups
/// that are no target's are left out.
pub fn weights_by_id(route: &RuleRoute, forward: &BTreeMap<String, u32>) -> Weights {
    route
        .groups
        .iter()
        .filter_map(|(id, arn)| Some((id.clone(), *forward.get(arn)?)))
        .collect()
}

/// The route's rule: the one in `arn` when it still exists, else the one
/// on its listener tagged with its name, else None.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn find(
    clients: &Clients,
    route: &RuleRoute,
    arn: Option<&str>,
) -> Result<Option<AppRule>, AwsError> {
    if let Some(arn) = arn
        && let Some(r) = lb::rule(clients, arn).await?
    {
        return Ok(Some(r));
    }
    lb::tagged_rule(clients, &route.listener_arn, ROUTE_TAG, &route.name).await
}

impl<'a> RuleWeights<'a> {
    /// Opens the route's rule for a shift (see the module's guarantees):
    /// `found` is what [`find`] returned; `start` the weights to create
    /// it with when there is none.
    ///
    /// # Errors
    /// [`AwsError`] when a call fails (`PriorityInUse` when another rule
    /// has the priority).
    pub async fn open(
        clients: &'a Clients,
        route: &'a RuleRoute,
        found: Option<AppRule>,
        start: &Weights,
    ) -> Result<RuleWeights<'a>, AwsError> {
        let Some(found) = found else {
            let forward = forward(route, start);
            let arn = lb::create_rule(
                clients,
                &route.listener_arn,
                &route.rule,
                &forward,
                &route.tags,
            )
            .await?;
            return Ok(RuleWeights {
                clients,
                route,
                arn,
                created: true,
                before: weights_by_id(route, &forward),
                restore: forward,
            });
        };
        let mut restore = found.weights.clone();
        for (_, arn) in &route.groups {
            restore.entry(arn.clone()).or_insert(0);
        }
        let conditions_differ = found.hosts != route.rule.hosts || found.paths != route.rule.paths;
        if conditions_differ || restore != found.weights {
            lb::modify_rule(
                clients,
                &found.arn,
                conditions_differ.then_some(&route.rule),
                &restore,
            )
            .await?;
        }
        if found.priority != route.rule.priority {
            lb::set_priority(clients, &found.arn, route.rule.priority).await?;
        }
        Ok(RuleWeights {
            clients,
            route,
            before: weights_by_id(route, &restore),
            arn: found.arn,
            created: false,
            restore,
        })
    }

    /// The rule's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// Whether [`RuleWeights::open`] created the rule.
    pub fn created(&self) -> bool {
        self.created
    }

    /// The weights after opening: where a shift starts and reverts to.
    pub fn before(&self) -> &Weights {
        &self.before
    }

    /// Whether the forward is exactly `weights` (no group of a target
    /// that was removed, none someone else added).
    pub fn holds_only(&self, weights: &Weights) -> bool {
        self.restore == forward(self.route, weights)
    }

    /// Sets the forward to exactly `weights`, outside a shift (to drop
    /// groups that are no target's when the weights stay as they are).
    ///
    /// # Errors
    /// [`AwsError`] when the call fails.
    pub async fn settle(&self, weights: &Weights) -> Result<(), AwsError> {
        lb::modify_rule(self.clients, &self.arn, None, &forward(self.route, weights)).await
    }
}

/// The forward for `weights` (target id → weight).
fn forward(route: &RuleRoute, weights: &Weights) -> BTreeMap<String, u32> {
    route
        .groups
        .iter()
        .filter_map(|(id, arn)| Some((arn.clone(), *weights.get(id)?)))
        .collect()
}

#[async_trait]
impl WeightPort for RuleWeights<'_> {
    async fn set(&self, weights: &Weights) -> Result<(), PortError> {
        let forward = if *weights == self.before {
            self.restore.clone()
        } else {
            forward(self.route, weights)
        };
        lb::modify_rule(self.clients, &self.arn, None, &forward)
            .await
            .map_err(|e| {
                PortError::new(format!("listener rule {}", self.route.name), e.to_string())
            })
    }
}

/// A target group's health as a gate sees it: healthy when at least one
/// target is `healthy` and none is `unhealthy` or out of service;
/// starting while targets are `initial`, the group is not in use yet or
/// has no targets; draining targets do not count.
pub fn group_health(group: &str, targets: &[TargetState]) -> Health {
    let serving: Vec<&TargetState> = targets.iter().filter(|t| t.state != "draining").collect();
    if let Some(bad) = serving.iter().find(|t| {
        t.state == "unhealthy"
            || t.state == "unavailable"
            || (t.state == "unused" && t.reason != "Target.NotInUse")
    }) {
        return Health::Unhealthy(format!(
            "target group {group}: target {} is {} ({})",
            bad.id,
            bad.state,
            if bad.reason.is_empty() {
                "no reason given"
            } else {
                &bad.reason
            }
        ));
    }
    if serving.iter().any(|t| t.state == "healthy") {
        Health::Healthy
    } else {
        Health::Starting
    }
}

/// The health of the route's targets: first `inner` (an app's instances'
/// reports, when the target names an app), then the load balancer's
/// target health of its group.
pub struct GroupHealth<'a> {
    clients: &'a Clients,
    groups: BTreeMap<&'a str, &'a str>,
    inner: Option<&'a dyn TargetHealth>,
}

impl<'a> GroupHealth<'a> {
    /// The health of `route`'s targets, asking `inner` first.
    pub fn new(
        clients: &'a Clients,
        route: &'a RuleRoute,
        inner: Option<&'a dyn TargetHealth>,
    ) -> GroupHealth<'a> {
        GroupHealth {
            clients,
            groups: route
                .groups
                .iter()
                .map(|(id, arn)| (id.as_str(), arn.as_str()))
                .collect(),
            inner,
        }
    }
}

#[async_trait]
impl TargetHealth for GroupHealth<'_> {
    async fn check(&self, target: &str) -> Health {
        if let Some(inner) = self.inner {
            match inner.check(target).await {
                Health::Healthy => {}
                other => return other,
            }
        }
        let Some(arn) = self.groups.get(target) else {
            return Health::Unhealthy(format!("no target {target}"));
        };
        let name = crate::lb_fleet::name_of_arn(arn);
        match lb::target_health(self.clients, arn).await {
            Ok(list) => group_health(name, &list),
            Err(e) => Health::Unhealthy(format!("target group {name}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, state: &str, reason: &str) -> TargetState {
        TargetState {
            id: id.into(),
            state: state.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn a_group_is_healthy_only_with_a_healthy_target_and_none_failing() {
        assert_eq!(group_health("g", &[]), Health::Starting);
        assert_eq!(
            group_health("g", &[t("i-1", "initial", "Elb.RegistrationInProgress")]),
            Health::Starting
        );
        assert_eq!(
            group_health("g", &[t("i-1", "unused", "Target.NotInUse")]),
            Health::Starting,
            "a group no rule uses yet is not checked yet"
        );
        assert_eq!(
            group_health(
                "g",
                &[
                    t("i-1", "healthy", ""),
                    t("i-2", "draining", "Target.DeregistrationInProgress")
                ]
            ),
            Health::Healthy
        );
        let Health::Unhealthy(why) = group_health(
            "g",
            &[
                t("i-1", "healthy", ""),
                t("i-2", "unhealthy", "Target.Timeout"),
            ],
        ) else {
            panic!("one failing target fails the gate");
        };
        assert!(
            why.contains("i-2") && why.contains("Target.Timeout"),
            "{why}"
        );
        assert!(matches!(
            group_health("g", &[t("i-1", "unused", "Target.InvalidState")]),
            Health::Unhealthy(_)
        ));
    }

    #[test]
    fn weights_map_between_target_ids_and_groups() {
        let route = RuleRoute {
            listener_arn: "l".into(),
            name: "api".into(),
            rule: RuleMatch {
                hosts: vec!["api.example.com".into()],
                paths: vec![],
                priority: 5,
            },
            groups: vec![
                ("blue".into(), "arn:b".into()),
                ("green".into(), "arn:g".into()),
            ],
            tags: BTreeMap::new(),
        };
        let w: Weights = [("blue".to_string(), 90), ("green".to_string(), 10)].into();
        let f = forward(&route, &w);
        assert_eq!(
            f,
            [("arn:b".to_string(), 90), ("arn:g".to_string(), 10)].into()
        );
        let mut with_other = f.clone();
        with_other.insert("arn:someone-elses".into(), 5);
        assert_eq!(weights_by_id(&route, &with_other), w);
    }
}

//! `berth_weighted_route` in listener-rule mode: one rule on the user's
//! ALB listener whose weighted forward splits requests across target
//! groups. Apply opens the rule (created, or adopted by its
//! `berth:route` tag), then sets the weights at once or shifts them step
//! by step through the shift engine on the ports of
//! `berth_aws::rule_shift`, reverting on failure (and removing a rule
//! this apply created); refresh, import and destroy read or delete the
//! rule by its ARN.

use std::collections::BTreeMap;

use berth_aws::lb::{self, ROUTE_TAG};
use berth_aws::rule_shift::{self, GroupHealth, RuleRoute, RuleWeights};
use berth_aws::shift::TargetChecks;
use berth_rollout::shift;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::{Attr, ToValue};
use tfplugin::provider::{ApplyResponse, Ctx};
use tfplugin::value::{Number, Value};

use super::apply::{finished, run_shift, shift_targets};
use super::model::{ListenerRuleModel, RouteModel, TargetModel};
use super::plan::{RouteConfig, RuleSpec};
use crate::provider_data::ProviderData;
use crate::resources::{error, strings_as_declared};

/// The rule the configuration declares.
fn route(data: &ProviderData, cfg: &RouteConfig, spec: &RuleSpec) -> RuleRoute {
    let mut tags = data.default_tags.clone();
    tags.insert(berth_aws::fleet::tags::MANAGED_BY.into(), "berth".into());
    tags.insert(ROUTE_TAG.into(), cfg.name.clone());
    RuleRoute {
        listener_arn: spec.listener_arn.clone(),
        name: cfg.name.clone(),
        rule: spec.rule.clone(),
        groups: cfg
            .targets
            .iter()
            .filter_map(|t| Some((t.id.clone(), t.group.clone()?)))
            .collect(),
        tags,
    }
}

/// Creates or updates the rule to `state` (the planned model); on failure
/// the state stays `prior` (null on create).
pub(super) async fn converge(
    ctx: &Ctx,
    data: &ProviderData,
    prior: Option<&Value>,
    mut state: RouteModel,
    cfg: &RouteConfig,
    spec: &RuleSpec,
) -> ApplyResponse {
    let failed = |diagnostics: Diagnostics| ApplyResponse {
        new_state: prior.cloned().unwrap_or(Value::Null),
        diagnostics,
        ..Default::default()
    };
    let clients = &data.aws;
    let route = route(data, cfg, spec);
    let prior_arn = prior.and_then(|p| p.attr("id").as_str().map(str::to_string));
    let found = match rule_shift::find(clients, &route, prior_arn.as_deref()).await {
        Ok(f) => f,
        Err(e) => return failed(error("Cannot read the listener rule", e.to_string())),
    };
    let after = cfg.weights();
    let start = shift::opening(&after, cfg.shift.as_ref());
    let port = match RuleWeights::open(clients, &route, found, &start).await {
        Ok(p) => p,
        Err(e) => {
            return failed(
                Diagnostic::error(
                    "Cannot set up the listener rule",
                    format!(
                        "{e} (listener {}, priority {})",
                        spec.listener_arn, spec.rule.priority
                    ),
                )
                .at(tfplugin::path::AttributePath::attr("listener_rule").then_attr("priority"))
                .into(),
            );
        }
    };
    let before = port.before().clone();
    let steps = shift::plan_shift(&before, &after, cfg.shift.as_ref());
    if steps.is_empty()
        && !port.holds_only(&after)
        && let Err(e) = port.settle(&after).await
    {
        // Same weights, but groups that are no longer targets are left.
        return failed(error("Cannot update the listener rule", e.to_string()));
    }
    let apps = shift_targets(cfg, &BTreeMap::new());
    let cloud = data.route_cloud();
    let reports = TargetChecks::new(cloud.as_ref(), &apps);
    let gate = GroupHealth::new(clients, &route, Some(&reports));
    let started = tokio::time::Instant::now();
    if let Err(e) = run_shift(ctx, cfg, &cfg.name, &port, &gate, &before, &steps).await {
        let mut detail = e.to_string();
        if port.created() {
            detail.push_str(&match lb::delete_rule(clients, port.arn()).await {
                Ok(()) => "; the rule this apply created was deleted".to_string(),
                Err(e2) => format!(
                    "; the rule this apply created ({}) could NOT be deleted: {e2}",
                    port.arn()
                ),
            });
        }
        return failed(error(
            &format!("Traffic shift on listener rule {} failed", cfg.name),
            detail,
        ));
    }
    state.id = Attr::Known(port.arn().to_string());
    state.fqdn = Attr::Null;
    state.zone_id = Attr::Null;
    state.record_type = Attr::Null;
    state.health_check_ids = Attr::Known(BTreeMap::new());
    if state.shift_plan.is_unknown() {
        state.shift_plan = Attr::Known(shift::describe(&steps, cfg.shift.as_ref()));
    }
    let diagnostics = finished(&cfg.name, &steps, &after, started, " at the load balancer");
    ApplyResponse {
        new_state: state.to_value(),
        diagnostics,
        ..Default::default()
    }
}

/// The route as the load balancer has it; `None` when its rule is gone.
///
/// # Errors
/// Why the rule could not be read.
pub(super) async fn refresh(
    data: &ProviderData,
    state: &RouteModel,
) -> Result<Option<RouteModel>, String> {
    let arn = state.id.as_deref().unwrap_or_default();
    let Some(rule) = lb::rule(&data.aws, arn).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let known: &[TargetModel] = state.target.known().map_or(&[], Vec::as_slice);
    let mut targets: Vec<TargetModel> = rule
        .weights
        .iter()
        .map(|(group, w)| {
            let mut t = known
                .iter()
                .find(|t| t.target_group_arn.as_deref() == Some(group.as_str()))
                .cloned()
                .unwrap_or_else(|| TargetModel {
                    id: Attr::Known(berth_aws::lb_fleet::name_of_arn(group).to_string()),
                    target_group_arn: Attr::Known(group.clone()),
                    ..TargetModel::default()
                });
            t.weight = Attr::Known(i64::from(*w));
            t
        })
        .collect();
    // The configuration's order for targets that still exist.
    targets.sort_by_key(|t| {
        known
            .iter()
            .position(|k| k.target_group_arn == t.target_group_arn)
            .unwrap_or(usize::MAX)
    });
    let mut out = state.clone();
    out.target = Attr::Known(targets);
    let mut lr = state.listener_rule.known().cloned().unwrap_or_default();
    lr.hosts = strings_as_declared(&lr.hosts, &rule.hosts);
    lr.paths = strings_as_declared(&lr.paths, &rule.paths);
    lr.priority = Attr::Known(Number::from(i64::from(rule.priority)));
    out.listener_rule = Attr::Known(lr);
    Ok(Some(out))
}

/// The listener of rule `arn`
/// (`…:listener-rule/app/<lb>/<id>/<listener id>/<rule id>`).
fn listener_of(arn: &str) -> Option<String> {
    let (head, path) = arn.split_once(":listener-rule/")?;
    let (listener, _rule) = path.rsplit_once('/')?;
    Some(format!("{head}:listener/{listener}"))
}

/// `terraform import berth_weighted_route.x <rule ARN>`: the route whose
/// rule it is (it must carry a `berth:route` tag, as berth's rules do).
///
/// # Errors
/// Why it cannot be imported.
pub(super) async fn import(data: &ProviderData, arn: &str) -> Result<RouteModel, String> {
    let listener = listener_of(arn).ok_or_else(|| {
        format!("{arn:?} is not a listener rule's ARN (`arn:aws:elasticloadbalancing:<region>:<account>:listener-rule/app/<lb>/<id>/<id>/<id>`)")
    })?;
    let tags = lb::tags_of(&data.aws, arn)
        .await
        .map_err(|e| e.to_string())?;
    let Some(name) = tags.get(ROUTE_TAG) else {
        return Err(format!(
            "rule {arn} has no `{ROUTE_TAG}` tag: it is not a berth_weighted_route's rule (tag it `{ROUTE_TAG} = <name>` to hand it over)"
        ));
    };
    let start = RouteModel {
        id: Attr::Known(arn.to_string()),
        name: Attr::Known(name.clone()),
        ttl: Attr::Known(60),
        target: Attr::Known(vec![]),
        listener_rule: Attr::Known(ListenerRuleModel {
            listener_arn: Attr::Known(listener),
            ..ListenerRuleModel::default()
        }),
        health_check_ids: Attr::Known(BTreeMap::new()),
        shift_plan: Attr::Known(vec![]),
        ..RouteModel::default()
    };
    refresh(data, &start)
        .await?
        .ok_or_else(|| format!("no listener rule {arn}"))
}

#[cfg(test)]
mod tests {
    use super::listener_of;

    #[test]
    fn a_rules_listener_is_read_from_its_arn() {
        assert_eq!(
            listener_of(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
            )
            .as_deref(),
            Some(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
            )
        );
        assert_eq!(listener_of("example.com/api"), None);
    }
}

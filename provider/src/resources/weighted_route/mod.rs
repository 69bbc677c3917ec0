//! `berth_weighted_route`: one DNS name split across targets by weight
//! (Route53 weighted record sets, changed in one atomic batch), with
//! optional health checks and a progressive, health-gated shift inside one
//! apply that reverts on failure.

pub mod spec;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use berth_aws::routing::{self, RecordValue, WeightedRecord};
use berth_rollout::shift::{self, Shifter, TargetHealth, WeightPort, Weights};
use berth_rollout::{Health, PortError, Progress};
use tfplugin::configured::ConfiguredResource;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::provider::{
    ApplyResponse, CreateRequest, Ctx, DeleteRequest, DeleteResponse, ImportRequest,
    ImportResponse, ModifyPlan, ModifyPlanRequest, ModifyPlanResponse, ReadRequest, ReadResponse,
    UpdateRequest, ValidateRequest,
};
use tfplugin::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use tfplugin::types::Type;
use tfplugin::value::Value;

use super::{error, health_checks};
use crate::provider_data::ProviderData;
use spec::{RouteConfig, parse};

/// The resource type.
#[derive(Debug, Default)]
pub struct WeightedRoute;

/// The IAM permissions `berth_weighted_route` needs, rendered into its docs
/// page; `acceptance-tests/tests/iam.rs` runs its lifecycle through a
/// recording proxy and fails on any AWS call not listed here.
pub const IAM: crate::permissions::Permissions = crate::permissions::Permissions {
    actions: &[
        "route53:ChangeResourceRecordSets",
        "route53:ChangeTagsForResource",
        "route53:CreateHealthCheck",
        "route53:DeleteHealthCheck",
        "route53:GetChange",
        "route53:GetHealthCheckStatus",
        "route53:GetHostedZone",
        "route53:ListHealthChecks",
        "route53:ListHostedZonesByName",
        "route53:ListResourceRecordSets",
    ],
    conditional: &[crate::permissions::Grant {
        when: "a target sets `app`",
        why: "a shift towards it is gated on the app's instances, read by their tags",
        actions: &["ec2:DescribeInstances"],
        resource: "*",
        condition: None,
    }],
    instance_role: &[],
};

/// The resource schema.
pub fn schema() -> Schema {
    let health = health_checks::block(
        "A Route53 health check for this target, created and deleted with the route. Route53 stops answering with an unhealthy target, and a shift towards it is gated on it.",
        "Request path for HTTP(S), e.g. `/up`.",
    );
    let target = Block::new()
        .description("One destination of the name.")
        .attribute(Attribute::string("id").required().description("Unique id of the target (the Route53 set identifier), e.g. `paas` or `green`."))
        .attribute(Attribute::string("hostname").optional().description("A hostname: the old platform's app host, or a berth app's `origin_fqdn` (CNAME)."))
        .attribute(
            Attribute::new("addresses", Type::list(Type::String))
                .optional()
                .description("IPv4 addresses (A), instead of `hostname`."),
        )
        .attribute(Attribute::number("weight").required().description("Percent of traffic, 0–100; the targets' weights sum to 100. Written to Route53 as the weight itself, so each target's share is exactly its percentage."))
        .attribute(Attribute::string("app").optional().description("Name of a `berth_container_app` in the provider's region: a shift towards this target waits until the app's instances report healthy."))
        .block(NestedBlock::new("health_check", Nesting::Single, health));
    let shift = Block::new()
        .description("Move traffic progressively in one apply: the `to` target's weight goes through `steps`, with `bake` seconds between steps and a health gate before each; the target's health is also watched during each bake (every 2 s). A failed gate or a target turning unhealthy mid-bake reverts to the weights from before the apply.")
        .attribute(Attribute::string("to").required().description("The target that receives traffic."))
        .attribute(
            Attribute::new("steps", Type::list(Type::Number))
                .required()
                .description("Increasing percentages for `to`, e.g. `[10, 25, 50, 100]`; its configured weight is always the last step."),
        )
        .attribute(
            Attribute::number("bake")
                .optional()
                .computed()
                .default(Value::int(60))
                .description("Seconds to wait after each step while watching the target's health. Default 60."),
        )
        .attribute(
            Attribute::number("gate_deadline")
                .optional()
                .computed()
                .default(Value::int(300))
                .description("Longest time in seconds a gate waits for a target that is still starting. Default 300."),
        );
    Schema::new(
        Block::new()
            .description("One DNS name split across targets by weight: Route53 weighted record sets changed in one atomic batch, optionally shifted step by step with health gates.")
            .attribute(Attribute::string("id").computed().use_state_for_unknown().description("`<zone id>/<fqdn>/<type>`."))
            .attribute(Attribute::string("zone").required().requires_replace().description("Route53 hosted zone id or name."))
            .attribute(Attribute::string("name").required().requires_replace().description("Record name, relative to the zone or fully qualified."))
            .attribute(
                Attribute::number("ttl")
                    .optional()
                    .computed()
                    .default(Value::int(60))
                    .description("TTL of the records in seconds. Default 60."),
            )
            .attribute(Attribute::string("fqdn").computed().use_state_for_unknown().description("The fully qualified name."))
            .attribute(Attribute::string("zone_id").computed().use_state_for_unknown().description("The hosted zone id."))
            .attribute(Attribute::string("record_type").computed().description("`CNAME` (hostname targets) or `A` (address targets)."))
            .attribute(
                Attribute::new("health_check_ids", Type::map(Type::String))
                    .computed()
                    .description("Target id → the Route53 health check berth created for it."),
            )
            .attribute(
                Attribute::new("shift_plan", Type::list(Type::String))
                    .computed()
                    .description("The steps this plan will take (or the last apply took): gates, weights, bakes."),
            )
            .block(NestedBlock::new("target", Nesting::List, target).items(1, 0))
            .block(NestedBlock::new("shift", Nesting::Single, shift)),
    )
}

struct LogProgress(String);

impl Progress for LogProgress {
    fn report(&self, message: &str) {
        tracing::info!(route = %self.0, "{}: {message}", self.0);
    }
}

/// Sets weights on the route: `before` writes back the records as found.
struct RouteWeights<'a> {
    clients: &'a berth_aws::Clients,
    zone_id: String,
    fqdn: String,
    ttl: i64,
    cfg: &'a RouteConfig,
    hc_ids: &'a BTreeMap<String, String>,
    found: Vec<WeightedRecord>,
    before: Weights,
    current: Mutex<Vec<WeightedRecord>>,
}

#[async_trait]
impl WeightPort for RouteWeights<'_> {
    async fn set(&self, weights: &Weights) -> Result<(), PortError> {
        let desired: Vec<WeightedRecord> = if *weights == self.before {
            self.found.clone()
        } else {
            self.cfg
                .targets
                .iter()
                .map(|t| WeightedRecord {
                    set_id: t.id.clone(),
                    value: t.value.clone(),
                    weight: i64::from(weights.get(&t.id).copied().unwrap_or(0)),
                    ttl: self.ttl,
                    health_check_id: self.hc_ids.get(&t.id).cloned(),
                })
                .collect()
        };
        let current = self.current.lock().map(|c| c.clone()).unwrap_or_default();
        routing::set_weighted(
            self.clients,
            &self.zone_id,
            &self.fqdn,
            &desired,
            &current,
            Duration::from_secs(2),
        )
        .await
        .map_err(|e| PortError::new(format!("Route53 {}", self.fqdn), e.to_string()))?;
        if let Ok(mut c) = self.current.lock() {
            *c = desired;
        }
        Ok(())
    }
}

/// Health of a target: its app's instances and/or its health check.
struct Gate<'a> {
    data: &'a ProviderData,
    cfg: &'a RouteConfig,
    hc_ids: &'a BTreeMap<String, String>,
}

#[async_trait]
impl TargetHealth for Gate<'_> {
    async fn check(&self, target: &str) -> Health {
        let Some(t) = self.cfg.targets.iter().find(|t| t.id == target) else {
            return Health::Unhealthy(format!("no target {target}"));
        };
        if let Some(app) = &t.app {
            match berth_aws::fleet::app_instances(&self.data.aws, app, Default::default()).await {
                Err(e) => return Health::Unhealthy(format!("cannot list app {app}: {e}")),
                Ok(live) if live.is_empty() => {
                    return Health::Unhealthy(format!("app {app} has no running instances"));
                }
                Ok(live) => {
                    if let Some(bad) = live.iter().find(|i| {
                        i.reported_health
                            .as_deref()
                            .is_some_and(|h| h.starts_with("unhealthy"))
                    }) {
                        return Health::Unhealthy(format!(
                            "app {app}: instance {} reports {}",
                            bad.id,
                            bad.reported_health.as_deref().unwrap_or_default()
                        ));
                    }
                    if !live
                        .iter()
                        .any(|i| i.reported_health.as_deref() == Some("healthy"))
                    {
                        return Health::Starting;
                    }
                }
            }
        }
        if let Some(id) = self.hc_ids.get(target) {
            match routing::health_check_status(&self.data.aws, id).await {
                Ok(Ok(())) => {}
                Ok(Err(why)) => return Health::Unhealthy(format!("health check {id}: {why}")),
                Err(e) => return Health::Unhealthy(format!("health check {id}: {e}")),
            }
        }
        Health::Healthy
    }
}

fn weights_of(records: &[WeightedRecord]) -> Weights {
    records
        .iter()
        .map(|r| (r.set_id.clone(), u32::try_from(r.weight).unwrap_or(0)))
        .collect()
}

async fn converge(
    ctx: &Ctx,
    data: &ProviderData,
    prior: Option<&Value>,
    planned: &Value,
) -> ApplyResponse {
    let failed = |diagnostics: Diagnostics| ApplyResponse {
        new_state: prior.cloned().unwrap_or(Value::Null),
        diagnostics,
        ..Default::default()
    };
    let (cfg, diags) = parse(planned);
    if diags.has_errors() {
        return failed(diags);
    }
    let aws = &data.aws;
    let zone = match data.inventory.zone(aws, &cfg.zone).await {
        Ok(z) => z,
        Err(e) => {
            return failed(
                Diagnostic::error("Cannot find the hosted zone", e.to_string())
                    .at(tfplugin::path::AttributePath::attr("zone"))
                    .into(),
            );
        }
    };
    let fqdn = berth_aws::dns::record_name(&zone, &cfg.name);
    let found = match routing::weighted_records(aws, &zone.id, &fqdn).await {
        Ok(r) => r,
        Err(e) => return failed(error("Cannot read the route's records", e.to_string())),
    };

    // Health checks: keep the ones whose configuration is unchanged.
    let prior_ids = prior.map(health_checks::ids_of).unwrap_or_default();
    let prior_specs: BTreeMap<String, routing::HealthCheckSpec> = prior
        .map(|p| parse(p).0.targets)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.id, t.health_check?)))
        .collect();
    let wanted: Vec<(String, routing::HealthCheckSpec)> = cfg
        .targets
        .iter()
        .filter_map(|t| Some((t.id.clone(), t.health_check.clone()?)))
        .collect();
    let owner = format!("route/{fqdn}");
    let checks =
        match health_checks::reconcile(aws, &owner, &fqdn, &wanted, &prior_ids, &prior_specs).await
        {
            Ok(c) => c,
            Err((target, e)) => {
                return failed(error(
                    &format!("Cannot create the health check for target {target}"),
                    e.to_string(),
                ));
            }
        };
    let (hc_ids, created, stale) = (checks.ids, checks.created, checks.stale);

    let before = weights_of(&found);
    let after = cfg.weights();
    let mut steps = shift::plan_shift(&before, &after, cfg.shift.as_ref());
    let desired_values: Vec<(String, RecordValue, Option<String>)> = cfg
        .targets
        .iter()
        .map(|t| (t.id.clone(), t.value.clone(), hc_ids.get(&t.id).cloned()))
        .collect();
    let found_values: Vec<(String, RecordValue, Option<String>)> = found
        .iter()
        .map(|r| (r.set_id.clone(), r.value.clone(), r.health_check_id.clone()))
        .collect();
    let ttl_changed = found.iter().any(|r| r.ttl != cfg.ttl);
    if steps.is_empty() && (desired_values != found_values || ttl_changed) {
        steps = vec![after.clone()];
    }
    let port = RouteWeights {
        clients: aws,
        zone_id: zone.id.clone(),
        fqdn: fqdn.clone(),
        ttl: cfg.ttl,
        cfg: &cfg,
        hc_ids: &hc_ids,
        found: found.clone(),
        before: before.clone(),
        current: Mutex::new(found.clone()),
    };
    let gate = Gate {
        data,
        cfg: &cfg,
        hc_ids: &hc_ids,
    };
    let progress = LogProgress(fqdn.trim_end_matches('.').to_string());
    let shifter = Shifter {
        weights: &port,
        health: &gate,
        progress: &progress,
        cancel: ctx.cancel.child_token(),
        healthy_checks: 1,
        interval: Duration::from_secs(2),
        gate_deadline: cfg.gate_deadline,
    };
    let started = tokio::time::Instant::now();
    if let Err(e) = shifter.run(&before, &steps, cfg.shift.as_ref()).await {
        health_checks::discard(aws, &created).await;
        return failed(error(
            &format!("Traffic shift on {} failed", fqdn.trim_end_matches('.')),
            e.to_string(),
        ));
    }
    // Health checks no longer referenced.
    if let Err((id, e)) = health_checks::delete_unused(aws, &prior_ids, &hc_ids, &stale).await {
        return failed(error(
            "Cannot delete an old health check",
            format!("{id}: {e}"),
        ));
    }
    let mut state = planned.clone();
    state.set_attr(
        "id",
        Value::string(format!("{}/{}/{}", zone.id, fqdn, cfg.record_type())),
    );
    state.set_attr("fqdn", Value::string(&fqdn));
    state.set_attr("zone_id", Value::string(&zone.id));
    state.set_attr("record_type", Value::string(cfg.record_type()));
    state.set_attr("health_check_ids", health_checks::ids_value(&hc_ids));
    if state.attr("shift_plan").is_unknown() {
        state.set_attr(
            "shift_plan",
            Value::List(
                shift::describe(&steps, cfg.shift.as_ref())
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            ),
        );
    }
    let mut diagnostics = Diagnostics::new();
    if steps.len() > 1 {
        let final_w = after
            .iter()
            .map(|(k, v)| format!("{k} {v}%"))
            .collect::<Vec<_>>()
            .join(", ");
        let summary = format!(
            "{}: traffic shifted in {} steps in {} s; now {final_w}",
            fqdn.trim_end_matches('.'),
            steps.len(),
            started.elapsed().as_secs()
        );
        tracing::info!("{summary}");
        diagnostics.push(Diagnostic::warning("Traffic shift finished", summary));
    }
    data.inventory.invalidate().await;
    ApplyResponse {
        new_state: state,
        diagnostics,
        ..Default::default()
    }
}

/// Reads the route back; `None` when none of its records exist.
async fn refresh(data: &ProviderData, state: &Value) -> Result<Option<Value>, String> {
    let aws = &data.aws;
    let zone_id = match state.attr("zone_id").as_str() {
        Some(z) => z.to_string(),
        None => {
            data.inventory
                .zone(aws, state.attr("zone").as_str().unwrap_or_default())
                .await
                .map_err(|e| e.to_string())?
                .id
        }
    };
    let fqdn = state.attr("fqdn").as_str().unwrap_or_default().to_string();
    // The zone's shared listing: a refresh of many routes lists it once.
    let found = data
        .inventory
        .records(aws, &zone_id)
        .await
        .map_err(|e| e.to_string())?
        .weighted(&fqdn);
    if found.is_empty() {
        return Ok(None);
    }
    let mut out = state.clone();
    let mut targets: Vec<Value> = Vec::new();
    let known: Vec<Value> = state
        .attr("target")
        .as_elements()
        .unwrap_or_default()
        .to_vec();
    for r in &found {
        let mut t = known
            .iter()
            .find(|t| t.attr("id").as_str() == Some(r.set_id.as_str()))
            .cloned()
            .unwrap_or_else(|| {
                Value::object([
                    ("id", Value::string(&r.set_id)),
                    ("hostname", Value::Null),
                    ("addresses", Value::Null),
                    ("weight", Value::int(0)),
                    ("app", Value::Null),
                    ("health_check", Value::Null),
                ])
            });
        match &r.value {
            RecordValue::Cname(h) => {
                // Keep the configuration's spelling (a trailing dot or not).
                let same = t.attr("hostname").as_str().is_some_and(|c| {
                    c.trim_end_matches('.')
                        .eq_ignore_ascii_case(h.trim_end_matches('.'))
                });
                if !same {
                    t.set_attr("hostname", Value::string(h.trim_end_matches('.')));
                }
                t.set_attr("addresses", Value::Null);
            }
            RecordValue::A(a) => {
                t.set_attr("hostname", Value::Null);
                t.set_attr(
                    "addresses",
                    Value::List(a.iter().map(Value::string).collect()),
                );
            }
        }
        t.set_attr("weight", Value::int(r.weight));
        targets.push(t);
    }
    // Keep the configuration's order for targets that still exist.
    targets.sort_by_key(|t| {
        known
            .iter()
            .position(|k| k.attr("id") == t.attr("id"))
            .unwrap_or(usize::MAX)
    });
    out.set_attr("target", Value::List(targets));
    if let Some(first) = found.first()
        && let Some(ttl) = Some(first.ttl)
    {
        out.set_attr("ttl", Value::int(ttl));
    }
    Ok(Some(out))
}

#[async_trait]
impl ConfiguredResource for WeightedRoute {
    type Data = ProviderData;

    fn type_name(&self) -> &str {
        "berth_weighted_route"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Ctx, req: ValidateRequest) -> Diagnostics {
        let mut d = parse(&req.config).1;
        d.extend(crate::validation::read_only_set(
            &schema().block,
            &req.config,
        ));
        d
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest) -> ApplyResponse {
        converge(ctx, data, None, &req.planned).await
    }

    async fn update(&self, ctx: &Ctx, data: &ProviderData, req: UpdateRequest) -> ApplyResponse {
        converge(ctx, data, Some(&req.prior), &req.planned).await
    }

    async fn read(&self, _ctx: &Ctx, data: &ProviderData, req: ReadRequest) -> ReadResponse {
        match refresh(data, &req.state).await {
            Ok(s) => ReadResponse {
                new_state: s.unwrap_or(Value::Null),
                private: req.private,
                diagnostics: Diagnostics::new(),
            },
            Err(e) => req.unchanged(error("Cannot read berth_weighted_route", e)),
        }
    }

    async fn delete(&self, _ctx: &Ctx, data: &ProviderData, req: DeleteRequest) -> DeleteResponse {
        let aws = &data.aws;
        let zone_id = req
            .prior
            .attr("zone_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let fqdn = req
            .prior
            .attr("fqdn")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let work = async {
            let found = routing::weighted_records(aws, &zone_id, &fqdn).await?;
            routing::set_weighted(aws, &zone_id, &fqdn, &[], &found, Duration::from_secs(2))
                .await?;
            health_checks::delete_all(aws, &req.prior, &format!("route/{fqdn}")).await?;
            Ok::<(), berth_aws::AwsError>(())
        };
        let done = work.await;
        data.inventory.invalidate().await;
        DeleteResponse {
            diagnostics: match done {
                Ok(()) => Diagnostics::new(),
                Err(e) => error(&format!("Cannot delete route {fqdn}"), e.to_string()),
            },
        }
    }

    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        Some(self)
    }

    fn imports(&self) -> bool {
        true
    }

    async fn import(&self, _ctx: &Ctx, data: &ProviderData, req: ImportRequest) -> ImportResponse {
        self.import_by_id(data, req).await
    }
}

#[async_trait]
impl ModifyPlan for WeightedRoute {
    async fn modify_plan(&self, _ctx: &Ctx, req: ModifyPlanRequest) -> ModifyPlanResponse {
        let mut resp = ModifyPlanResponse {
            planned: req.planned.clone(),
            ..Default::default()
        };
        if req.planned.is_null() {
            return resp;
        }
        let (cfg, diags) = parse(&req.planned);
        if diags.has_errors() {
            resp.diagnostics = diags;
            return resp;
        }
        let planned = &mut resp.planned;
        if planned.attr("target").is_wholly_known() {
            planned.set_attr("record_type", Value::string(cfg.record_type()));
        }
        if !planned.attr("target").is_wholly_known() || !planned.attr("shift").is_wholly_known() {
            planned.set_attr("shift_plan", Value::unknown());
            return resp;
        }
        let prior = &req.prior;
        let prior_cfg = (!prior.is_null()).then(|| parse(prior).0);
        let before: Weights = prior_cfg
            .as_ref()
            .map(RouteConfig::weights)
            .unwrap_or_default();
        let steps = shift::plan_shift(&before, &cfg.weights(), cfg.shift.as_ref());
        if let Some(old) = prior_cfg.filter(|_| steps.is_empty()) {
            planned.set_attr("shift_plan", prior.attr("shift_plan").clone());
            let same_checks = old
                .targets
                .iter()
                .map(|t| &t.health_check)
                .eq(cfg.targets.iter().map(|t| &t.health_check));
            if same_checks {
                planned.set_attr("health_check_ids", prior.attr("health_check_ids").clone());
            }
        } else {
            planned.set_attr(
                "shift_plan",
                Value::List(
                    shift::describe(&steps, cfg.shift.as_ref())
                        .into_iter()
                        .map(Value::String)
                        .collect(),
                ),
            );
        }
        resp
    }
}

impl WeightedRoute {
    /// `terraform import` by the id `req.id`.
    async fn import_by_id(&self, data: &ProviderData, req: ImportRequest) -> ImportResponse {
        let (zone, name) = match super::import_id::route(&req.id) {
            Ok(id) => (id.zone, id.name),
            Err(e) => {
                return ImportResponse {
                    diagnostics: error("Invalid import id", e),
                    ..Default::default()
                };
            }
        };
        let z = match data.inventory.zone(&data.aws, zone).await {
            Ok(z) => z,
            Err(e) => {
                return ImportResponse {
                    diagnostics: error("Cannot import berth_weighted_route", e.to_string()),
                    ..Default::default()
                };
            }
        };
        let fqdn = berth_aws::dns::record_name(&z, name);
        let mut state = Value::object([
            ("zone", Value::string(zone)),
            ("name", Value::string(name)),
            ("ttl", Value::int(60)),
            ("fqdn", Value::string(&fqdn)),
            ("zone_id", Value::string(&z.id)),
            ("target", Value::List(vec![])),
            ("shift", Value::Null),
            ("health_check_ids", Value::Map(BTreeMap::new())),
            ("shift_plan", Value::List(vec![])),
        ]);
        match refresh(data, &state).await {
            Ok(Some(s)) => {
                state = s;
                let (cfg, _) = parse(&state);
                state.set_attr("record_type", Value::string(cfg.record_type()));
                state.set_attr(
                    "id",
                    Value::string(format!("{}/{}/{}", z.id, fqdn, cfg.record_type())),
                );
                ImportResponse {
                    state,
                    ..Default::default()
                }
            }
            Ok(None) => ImportResponse {
                diagnostics: error(
                    "Cannot import berth_weighted_route",
                    format!("no weighted records named {fqdn} in zone {}", z.id),
                ),
                ..Default::default()
            },
            Err(e) => ImportResponse {
                diagnostics: error("Cannot import berth_weighted_route", e),
                ..Default::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_passes_terraform_rules() {
        let d = super::schema().check();
        assert!(d.is_empty(), "{d:?}");
    }
}

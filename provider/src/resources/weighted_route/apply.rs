//! Applying `berth_weighted_route`: health checks reconciled, then the
//! weights set at once or shifted step by step through the shift engine
//! (on the Route53 ports of `berth_aws::shift`), reverting on failure;
//! and the destroy.

use std::collections::BTreeMap;
use std::time::Duration;

use berth_aws::routing;
use berth_aws::shift::{Route53Weights, ShiftTarget, TargetChecks};
use berth_rollout::Progress;
use berth_rollout::shift::{self, Shifter, TargetHealth, WeightPort};
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::{Attr, ToValue};
use tfplugin::path::AttributePath;
use tfplugin::provider::{ApplyResponse, Ctx, DeleteResponse};
use tfplugin::value::Value;

use super::model::RouteModel;
use super::plan::{RouteConfig, check};
use crate::provider_data::ProviderData;
use crate::resources::{error, health_checks};

/// Logs a shift's steps under the route's name.
struct LogProgress(String);

impl Progress for LogProgress {
    fn report(&self, message: &str) {
        tracing::info!(route = %self.0, "{}: {message}", self.0);
    }
}

/// The Route53 health check owner tag of the route at `fqdn`.
pub(super) fn owner(fqdn: &str) -> String {
    format!("route/{fqdn}")
}

/// Creates or updates the route to `planned`; on failure the state stays
/// `prior` (null on create).
pub(super) async fn converge(
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
    let mut state: RouteModel = match planned.get() {
        Ok(m) => m,
        Err(d) => return failed(d),
    };
    let (cfg, diags) = check(&state);
    if diags.has_errors() {
        return failed(diags);
    }
    if let Some(spec) = &cfg.rule {
        return super::rule::converge(ctx, data, prior, state, &cfg, spec).await;
    }
    let prior: Option<RouteModel> = prior.and_then(|p| p.get().ok());
    let cloud = data.route_cloud();
    let cloud = cloud.as_ref();
    let zone = match data.inventory.zone(cloud, &cfg.zone).await {
        Ok(z) => z,
        Err(e) => {
            return failed(
                Diagnostic::error("Cannot find the hosted zone", e.to_string())
                    .at(AttributePath::attr("zone"))
                    .into(),
            );
        }
    };
    let fqdn = berth_aws::dns::record_name(&zone, &cfg.name);
    let found = match cloud.weighted_records(&zone.id, &fqdn).await {
        Ok(r) => r,
        Err(e) => return failed(error("Cannot read the route's records", e.to_string())),
    };

    // Health checks: keep the ones whose configuration is unchanged.
    let prior_ids: BTreeMap<String, String> = prior
        .as_ref()
        .and_then(|p| p.health_check_ids.known().cloned())
        .unwrap_or_default();
    let prior_specs: BTreeMap<String, routing::HealthCheckSpec> = prior
        .as_ref()
        .map(|p| check(p).0.targets)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.id, t.health_check?)))
        .collect();
    let wanted: Vec<(String, routing::HealthCheckSpec)> = cfg
        .targets
        .iter()
        .filter_map(|t| Some((t.id.clone(), t.health_check.clone()?)))
        .collect();
    let checks = match health_checks::reconcile(
        cloud,
        &owner(&fqdn),
        &fqdn,
        &wanted,
        &prior_ids,
        &prior_specs,
    )
    .await
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

    let targets = shift_targets(&cfg, &hc_ids);
    let port = Route53Weights::new(cloud, &zone.id, &fqdn, cfg.ttl, &targets, found.clone());
    let before = port.before().clone();
    let after = cfg.weights();
    let mut steps = shift::plan_shift(&before, &after, cfg.shift.as_ref());
    let desired_values: Vec<_> = targets
        .iter()
        .map(|t| (&t.id, &t.value, t.health_check_id.as_ref()))
        .collect();
    let found_values: Vec<_> = found
        .iter()
        .map(|r| (&r.set_id, &r.value, r.health_check_id.as_ref()))
        .collect();
    let ttl_changed = found.iter().any(|r| r.ttl != cfg.ttl);
    if steps.is_empty() && (desired_values != found_values || ttl_changed) {
        steps = vec![after.clone()];
    }
    let gate = TargetChecks::new(cloud, &targets);
    let shown = fqdn.trim_end_matches('.').to_string();
    let started = tokio::time::Instant::now();
    if let Err(e) = run_shift(ctx, &cfg, &shown, &port, &gate, &before, &steps).await {
        health_checks::discard(cloud, &created).await;
        return failed(error(
            &format!("Traffic shift on {shown} failed"),
            e.to_string(),
        ));
    }
    // Health checks no longer referenced.
    if let Err((id, e)) = health_checks::delete_unused(cloud, &prior_ids, &hc_ids, &stale).await {
        return failed(error(
            "Cannot delete an old health check",
            format!("{id}: {e}"),
        ));
    }
    state.id = Attr::Known(format!("{}/{}/{}", zone.id, fqdn, cfg.record_type()));
    state.fqdn = Attr::Known(fqdn.clone());
    state.zone_id = Attr::Known(zone.id.clone());
    state.record_type = Attr::Known(cfg.record_type().to_string());
    state.health_check_ids = Attr::Known(hc_ids);
    if state.shift_plan.is_unknown() {
        state.shift_plan = Attr::Known(shift::describe(&steps, cfg.shift.as_ref()));
    }
    let diagnostics = finished(&shown, &steps, &after, started, "");
    data.inventory.invalidate().await;
    ApplyResponse {
        new_state: state.to_value(),
        diagnostics,
        ..Default::default()
    }
}

/// Takes the route from `before` through `steps` on `weights`, gated by
/// `health`, paced by the route's `shift` (checks every 2 s, one healthy
/// check per gate, `gate_deadline`); stops and reverts on StopProvider.
pub(super) async fn run_shift(
    ctx: &Ctx,
    cfg: &RouteConfig,
    shown: &str,
    weights: &dyn WeightPort,
    health: &dyn TargetHealth,
    before: &shift::Weights,
    steps: &[shift::Weights],
) -> Result<(), shift::ShiftError> {
    Shifter {
        weights,
        health,
        progress: &LogProgress(shown.to_string()),
        cancel: ctx.cancel.child_token(),
        healthy_checks: 1,
        interval: Duration::from_secs(2),
        gate_deadline: cfg.gate_deadline,
    }
    .run(before, steps, cfg.shift.as_ref())
    .await
}

/// The one-line summary of a shift of more than one step (`at` says
/// where traffic moved, e.g. " at the load balancer"), logged and shown
/// as a warning Terraform prints without `TF_LOG`.
pub(super) fn finished(
    shown: &str,
    steps: &[shift::Weights],
    after: &shift::Weights,
    started: tokio::time::Instant,
    at: &str,
) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    if steps.len() > 1 {
        let now = after
            .iter()
            .map(|(k, v)| format!("{k} {v}%"))
            .collect::<Vec<_>>()
            .join(", ");
        let summary = format!(
            "{shown}: traffic shifted in {} steps in {} s{at}; now {now}",
            steps.len(),
            started.elapsed().as_secs()
        );
        tracing::info!("{summary}");
        diagnostics.push(Diagnostic::warning("Traffic shift finished", summary));
    }
    diagnostics
}

/// The route's targets as the shift's ports see them.
pub(super) fn shift_targets(
    cfg: &RouteConfig,
    hc_ids: &BTreeMap<String, String>,
) -> Vec<ShiftTarget> {
    cfg.targets
        .iter()
        .map(|t| ShiftTarget {
            id: t.id.clone(),
            value: t.value.clone(),
            app: t.app.clone(),
            health_check_id: hc_ids.get(&t.id).cloned(),
        })
        .collect()
}

/// Deletes the route's records and every health check it owns (in
/// listener-rule mode, its rule).
pub(super) async fn delete(data: &ProviderData, prior: &Value) -> DeleteResponse {
    if !prior.attr("listener_rule").is_null() {
        let arn = prior.attr("id").as_str().unwrap_or_default();
        return DeleteResponse {
            diagnostics: match berth_aws::lb::delete_rule(&data.aws, arn).await {
                Ok(()) => Diagnostics::new(),
                Err(e) => error(&format!("Cannot delete listener rule {arn}"), e.to_string()),
            },
        };
    }
    let cloud = data.route_cloud();
    let cloud = cloud.as_ref();
    let zone_id = prior.attr("zone_id").as_str().unwrap_or_default();
    let fqdn = prior.attr("fqdn").as_str().unwrap_or_default();
    let work = async {
        let found = cloud.weighted_records(zone_id, fqdn).await?;
        cloud.set_weighted(zone_id, fqdn, &[], &found).await?;
        health_checks::delete_all(cloud, prior, &owner(fqdn)).await?;
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

#[cfg(test)]
mod tests {
    use berth_aws::health_check_ref;
    use berth_aws::ports::RouteCloud;
    use berth_aws::routing::{HealthCheckSpec, RecordValue, WeightedRecord};
    use berth_testbed::fake_cloud::{FakeAws, ZONE_ID};
    use tfplugin::model::{Attr, ToValue};

    use super::super::model::RouteModel;
    use super::{delete, owner};
    use crate::provider_data::testing::on_fake;

    fn spec(host: &str) -> HealthCheckSpec {
        HealthCheckSpec {
            protocol: "HTTPS".into(),
            fqdn: Some(host.into()),
            ip: None,
            port: 443,
            path: Some("/".into()),
            interval: 30,
            failure_threshold: 3,
        }
    }

    #[tokio::test]
    async fn delete_removes_the_records_and_every_check_the_route_owns() {
        let fake = FakeAws::new();
        let fqdn = "api.example.com.";
        fake.account().weighted.insert(
            fqdn.into(),
            vec![WeightedRecord {
                set_id: "paas".into(),
                value: RecordValue::Cname("api.old-paas.example".into()),
                weight: 100,
                ttl: 60,
                health_check_id: None,
            }],
        );
        let s = spec("green.example.net");
        // One recorded in state, one an interrupted apply left, one not ours.
        let recorded = fake
            .create_health_check(&s, &health_check_ref::fresh(&owner(fqdn), "green", &s), &[])
            .await
            .unwrap();
        let left = fake
            .create_health_check(&s, &health_check_ref::fresh(&owner(fqdn), "green", &s), &[])
            .await
            .unwrap();
        let other = fake
            .create_health_check(
                &s,
                &health_check_ref::fresh(&owner("web.example.com."), "green", &s),
                &[],
            )
            .await
            .unwrap();
        let prior = RouteModel {
            zone_id: Attr::Known(ZONE_ID.into()),
            fqdn: Attr::Known(fqdn.into()),
            health_check_ids: Attr::Known([("green".to_string(), recorded.clone())].into()),
            ..RouteModel::default()
        };
        let data = on_fake(&fake).await;
        let resp = delete(&data, &prior.to_value()).await;
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        let a = fake.account();
        assert!(a.weighted.is_empty(), "{:?}", a.weighted);
        assert!(!a.checks.contains_key(&recorded) && !a.checks.contains_key(&left));
        assert!(a.checks.contains_key(&other), "another owner's check stays");
    }
}

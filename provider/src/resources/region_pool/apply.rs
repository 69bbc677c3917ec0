//! Applying `berth_region_pool`: health checks reconciled, then the
//! designed record sets written in three batches (pools, aliases, removal
//! of unused pools); and the destroy.

use std::collections::BTreeMap;

use berth_aws::routing::{HealthCheckSpec, RecordSet};
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::{Attr, ToValue};
use tfplugin::path::AttributePath;
use tfplugin::provider::{ApplyResponse, DeleteResponse};
use tfplugin::value::Value;

use super::model::PoolModel;
use super::plan::{check, design};
use crate::provider_data::ProviderData;
use crate::resources::{error, health_checks};

/// The Route53 health check owner tag of the pool at `fqdn`.
fn owner(fqdn: &str) -> String {
    format!("pool/{fqdn}")
}

/// Creates or updates the pool to `planned`; on failure the state stays
/// `prior` (null on create).
pub(super) async fn converge(
    data: &ProviderData,
    prior: Option<&Value>,
    planned: &Value,
) -> ApplyResponse {
    let failed = |diagnostics: Diagnostics| ApplyResponse {
        new_state: prior.cloned().unwrap_or(Value::Null),
        diagnostics,
        ..Default::default()
    };
    let mut state: PoolModel = match planned.get() {
        Ok(m) => m,
        Err(d) => return failed(d),
    };
    let (cfg, diags) = check(&state);
    if diags.has_errors() {
        return failed(diags);
    }
    let prior: Option<PoolModel> = prior.and_then(|p| p.get().ok());
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
    let prior_ids: BTreeMap<String, String> = prior
        .as_ref()
        .and_then(|p| p.health_check_ids.known().cloned())
        .unwrap_or_default();
    let prior_specs: BTreeMap<String, HealthCheckSpec> = prior
        .as_ref()
        .map(|p| check(p).0.members)
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.region, m.health_check))
        .collect();
    let wanted: Vec<(String, HealthCheckSpec)> = cfg
        .members
        .iter()
        .map(|m| (m.region.clone(), m.health_check.clone()))
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
        Err((region, e)) => {
            return failed(error(
                &format!("Cannot create the health check for region {region}"),
                e.to_string(),
            ));
        }
    };
    let (hc, created, stale) = (checks.ids, checks.created, checks.stale);
    let desired = design(&cfg, &fqdn, &hc);
    let current = match cloud.pool_record_sets(&zone.id, &fqdn).await {
        Ok(c) => c,
        Err(e) => return failed(error("Cannot read the pool's records", e.to_string())),
    };
    let shown = fqdn.trim_end_matches('.');
    tracing::info!(pool = %fqdn, "{shown}: {} record set(s) wanted, {} found", desired.len(), current.len());
    let applied = cloud.apply_record_sets(&zone.id, &desired, &current).await;
    data.inventory.invalidate().await;
    if let Err(e) = applied {
        health_checks::discard(cloud, &created).await;
        return failed(error(
            &format!("Cannot update the records of {shown}"),
            e.to_string(),
        ));
    }
    if let Err((id, e)) = health_checks::delete_unused(cloud, &prior_ids, &hc, &stale).await {
        return failed(error(
            "Cannot delete an old health check",
            format!("{id}: {e}"),
        ));
    }
    state.id = Attr::Known(format!("{}/{}", zone.id, fqdn));
    state.fqdn = Attr::Known(fqdn.clone());
    state.zone_id = Attr::Known(zone.id.clone());
    state.health_check_ids = Attr::Known(hc);
    state.records = Attr::Known(desired.iter().map(RecordSet::describe).collect());
    ApplyResponse {
        new_state: state.to_value(),
        ..Default::default()
    }
}

/// Deletes the pool's record sets and every health check it owns.
pub(super) async fn delete(data: &ProviderData, prior: &Value) -> DeleteResponse {
    let cloud = data.route_cloud();
    let cloud = cloud.as_ref();
    let zone_id = prior.attr("zone_id").as_str().unwrap_or_default();
    let fqdn = prior.attr("fqdn").as_str().unwrap_or_default();
    let work = async {
        let found = cloud.pool_record_sets(zone_id, fqdn).await?;
        cloud.apply_record_sets(zone_id, &[], &found).await?;
        health_checks::delete_all(cloud, prior, &owner(fqdn)).await?;
        Ok::<(), berth_aws::AwsError>(())
    };
    let done = work.await;
    data.inventory.invalidate().await;
    DeleteResponse {
        diagnostics: match done {
            Ok(()) => Diagnostics::new(),
            Err(e) => error(&format!("Cannot delete region pool {fqdn}"), e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use berth_aws::routing::{RecordSet, RecordValue};
    use berth_testbed::fake_cloud::{FakeAws, ZONE_ID};
    use tfplugin::model::{Attr, ToValue};

    use super::super::model::PoolModel;
    use super::delete;
    use crate::provider_data::testing::on_fake;

    fn set(name: &str, set_id: &str) -> RecordSet {
        RecordSet {
            name: name.into(),
            set_id: set_id.into(),
            region: None,
            failover: Some("PRIMARY".into()),
            alias: None,
            value: Some(RecordValue::Cname("us.example.net".into())),
            ttl: 60,
            health_check_id: None,
        }
    }

    #[tokio::test]
    async fn delete_removes_the_pools_records_and_leaves_other_names() {
        let fake = FakeAws::new();
        {
            let mut a = fake.account();
            for s in [
                set("us-east-1.pool.global.example.com.", "us-east-1-primary"),
                set("us-east-1.pool.other.example.com.", "us-east-1-primary"),
            ] {
                a.sets.insert((s.name.clone(), s.set_id.clone()), s);
            }
        }
        let prior = PoolModel {
            zone_id: Attr::Known(ZONE_ID.into()),
            fqdn: Attr::Known("global.example.com.".into()),
            ..PoolModel::default()
        };
        let data = on_fake(&fake).await;
        let resp = delete(&data, &prior.to_value()).await;
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        let names: Vec<String> = fake.account().sets.keys().map(|k| k.0.clone()).collect();
        assert_eq!(names, vec!["us-east-1.pool.other.example.com.".to_string()]);
    }
}

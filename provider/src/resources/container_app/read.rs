//! Reading `berth_container_app` back: what berth computes (instances,
//! origin addresses) re-read from the shared inventory; arguments never
//! change, so drift shows as a rollout in the next plan.

use berth_rollout::Instance;
use tfplugin::value::Value;

use super::spec::AppConfig;
use super::state::{instances_value, served_without_origin, strings_value};
use crate::provider_data::ProviderData;

/// Re-reads what berth computes for `state` from the shared inventory.
///
/// # Errors
/// A message when an AWS call fails.
pub(super) async fn refresh(data: &ProviderData, state: &Value) -> Result<Value, String> {
    let (cfg, _) = AppConfig::from_value(state);
    let kind = cfg.origin.as_ref().map(|o| o.address).unwrap_or_default();
    let cloud = data
        .app_cloud(state.attr("region").as_str())
        .await
        .map_err(|e| e.to_string())?;
    let cloud = cloud.as_ref();
    let apps = data
        .inventory
        .instances(cloud)
        .await
        .map_err(|e| e.to_string())?;
    let live: Vec<Instance> = apps
        .get(&cfg.name)
        .map(|v| v.iter().cloned().map(|i| kind.apply(i)).collect())
        .unwrap_or_default();
    let mut out = state.clone();
    let serving = if let Some(o) = &cfg.origin {
        let zone = data
            .inventory
            .zone(cloud, &o.zone)
            .await
            .map_err(|e| format!("origin zone {:?}: {e}", o.zone))?;
        let fqdn = berth_aws::dns::record_name(&zone, &o.name);
        let records = data
            .inventory
            .records(cloud, &zone.id)
            .await
            .map_err(|e| e.to_string())?;
        let origin = records
            .a_record(&fqdn)
            .map(|r| r.values.clone())
            .unwrap_or_default();
        out.set_attr("origin_fqdn", Value::string(fqdn));
        out.set_attr("origin_addresses", strings_value(&origin));
        origin
    } else {
        out.set_attr("origin_addresses", Value::List(vec![]));
        served_without_origin(state, &live)
    };
    out.set_attr("instances", instances_value(&live, &serving));
    Ok(out)
}

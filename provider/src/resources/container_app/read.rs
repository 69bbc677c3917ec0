//! Reading `berth_container_app` back: what berth computes (instances,
//! origin addresses) re-read from the shared inventory; arguments never
//! change, so drift shows as a rollout in the next plan.

use berth_rollout::Instance;
use tfplugin::model::{Attr, ToValue};
use tfplugin::value::Value;

use super::model::AppModel;
use super::spec::AppConfig;
use super::state::{instances_model, served_without_origin, strings_attr};
use crate::provider_data::ProviderData;

/// Re-reads what berth computes for `state` from the shared inventory.
///
/// # Errors
/// A message when the state does not fit the schema or an AWS call fails.
pub(super) async fn refresh(data: &ProviderData, state: &Value) -> Result<Value, String> {
    let mut m: AppModel = state.get().map_err(|d| d.to_string())?;
    let (cfg, _) = AppConfig::from_model(&m);
    let kind = cfg.origin.as_ref().map(|o| o.address).unwrap_or_default();
    let cloud = data
        .app_cloud(m.region.as_deref())
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
        m.origin_fqdn = Attr::Known(fqdn);
        m.origin_addresses = strings_attr(&origin);
        origin
    } else {
        m.origin_addresses = strings_attr(&[]);
        served_without_origin(&m, &live)
    };
    m.instances = Attr::Known(instances_model(&live, &serving));
    Ok(m.to_value())
}

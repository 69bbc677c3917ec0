//! Reading `berth_weighted_route` back from Route53: targets, weights and
//! TTL as the records are now (drift), in the configuration's order and
//! spelling.

use berth_aws::routing::RecordValue;
use tfplugin::model::Attr;

use super::model::{RouteModel, TargetModel};
use crate::provider_data::ProviderData;

/// The route as Route53 has it; `None` when none of its records exist.
///
/// # Errors
/// Why the zone or its records could not be read.
pub(super) async fn refresh(
    data: &ProviderData,
    state: &RouteModel,
) -> Result<Option<RouteModel>, String> {
    let cloud = data.route_cloud();
    let cloud = cloud.as_ref();
    let zone_id = match state.zone_id.as_deref() {
        Some(z) => z.to_string(),
        None => {
            data.inventory
                .zone(cloud, state.zone.as_deref().unwrap_or_default())
                .await
                .map_err(|e| e.to_string())?
                .id
        }
    };
    let fqdn = state.fqdn.as_deref().unwrap_or_default();
    // The zone's shared listing: a refresh of many routes lists it once.
    let found = data
        .inventory
        .records(cloud, &zone_id)
        .await
        .map_err(|e| e.to_string())?
        .weighted(fqdn);
    if found.is_empty() {
        return Ok(None);
    }
    let known: &[TargetModel] = state.target.known().map_or(&[], Vec::as_slice);
    let mut targets: Vec<TargetModel> = Vec::new();
    for r in &found {
        let mut t = known
            .iter()
            .find(|t| t.id.as_deref() == Some(r.set_id.as_str()))
            .cloned()
            .unwrap_or_else(|| TargetModel {
                id: Attr::Known(r.set_id.clone()),
                weight: Attr::Known(0),
                ..TargetModel::default()
            });
        match &r.value {
            RecordValue::Cname(h) => {
                // Keep the configuration's spelling (a trailing dot or not).
                let same = t.hostname.as_deref().is_some_and(|c| {
                    c.trim_end_matches('.')
                        .eq_ignore_ascii_case(h.trim_end_matches('.'))
                });
                if !same {
                    t.hostname = Attr::Known(h.trim_end_matches('.').to_string());
                }
                t.addresses = Attr::Null;
            }
            RecordValue::A(a) => {
                t.hostname = Attr::Null;
                t.addresses = Attr::Known(a.iter().cloned().map(Attr::Known).collect());
            }
        }
        t.weight = Attr::Known(r.weight);
        targets.push(t);
    }
    // Keep the configuration's order for targets that still exist.
    targets.sort_by_key(|t| {
        known
            .iter()
            .position(|k| k.id == t.id)
            .unwrap_or(usize::MAX)
    });
    let mut out = state.clone();
    out.target = Attr::Known(targets);
    if let Some(first) = found.first() {
        out.ttl = Attr::Known(first.ttl);
    }
    Ok(Some(out))
}

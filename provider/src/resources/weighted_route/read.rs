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

#[cfg(test)]
mod tests {
    use berth_aws::routing::{RecordValue, WeightedRecord};
    use berth_testbed::fake_cloud::{FakeAws, ZONE_ID};
    use tfplugin::model::Attr;

    use super::super::model::{RouteModel, TargetModel};
    use super::refresh;
    use crate::provider_data::testing::on_fake;

    fn record(id: &str, host: &str, weight: i64) -> WeightedRecord {
        WeightedRecord {
            set_id: id.into(),
            value: RecordValue::Cname(host.into()),
            weight,
            ttl: 60,
            health_check_id: None,
        }
    }

    fn target(id: &str, host: &str, weight: i64) -> TargetModel {
        TargetModel {
            id: Attr::Known(id.into()),
            hostname: Attr::Known(host.into()),
            weight: Attr::Known(weight),
            ..TargetModel::default()
        }
    }

    fn state() -> RouteModel {
        RouteModel {
            zone: Attr::Known("example.com".into()),
            zone_id: Attr::Known(ZONE_ID.into()),
            fqdn: Attr::Known("api.example.com.".into()),
            target: Attr::Known(vec![
                target("paas", "api.old-paas.example", 100),
                target("green", "green.example.net", 0),
            ]),
            ..RouteModel::default()
        }
    }

    #[tokio::test]
    async fn a_route_whose_records_are_gone_reads_as_gone() {
        let fake = FakeAws::new();
        let data = on_fake(&fake).await;
        assert_eq!(refresh(&data, &state()).await.unwrap(), None);
    }

    #[tokio::test]
    async fn weights_changed_outside_terraform_read_back_in_the_configurations_order() {
        let fake = FakeAws::new();
        fake.account().weighted.insert(
            "api.example.com.".into(),
            vec![
                record("green", "green.example.net.", 60),
                record("paas", "api.old-paas.example.", 40),
            ],
        );
        let data = on_fake(&fake).await;
        let out = refresh(&data, &state()).await.unwrap().unwrap();
        let got: Vec<(String, i64, String)> = out
            .target
            .known()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t.id.as_deref().unwrap().to_string(),
                    *t.weight.known().unwrap(),
                    t.hostname.as_deref().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("paas".into(), 40, "api.old-paas.example".into()),
                ("green".into(), 60, "green.example.net".into()),
            ],
            "drift in weights; the configuration's spelling and order kept"
        );
    }
}

//! Reading `berth_region_pool` back from Route53: regions, their targets,
//! drained regions, the primary, TTL and the record listing as they are
//! now (drift), in the configuration's spelling.

use berth_aws::routing::{RecordSet, RecordValue};
use tfplugin::model::{Attr, Set};

use super::model::{PoolModel, RegionModel};
use crate::provider_data::ProviderData;

/// The pool as Route53 has it; `None` when none of its records exist.
///
/// # Errors
/// Why the zone's records could not be read.
pub(super) async fn refresh(
    data: &ProviderData,
    state: &PoolModel,
) -> Result<Option<PoolModel>, String> {
    let cloud = data.route_cloud();
    let cloud = cloud.as_ref();
    let zone_id = state.zone_id.as_deref().unwrap_or_default();
    let fqdn = state.fqdn.as_deref().unwrap_or_default();
    // The zone's shared listing: a refresh of many pools lists it once.
    let found = data
        .inventory
        .records(cloud, zone_id)
        .await
        .map_err(|e| e.to_string())?
        .pool(fqdn);
    if found.is_empty() {
        return Ok(None);
    }
    let canon = berth_aws::dns::canonical(fqdn);
    // Primary: the region whose pool has no secondary; members from the
    // latency records, values from each pool's primary record.
    let latency: Vec<&RecordSet> = found
        .iter()
        .filter(|r| r.name == canon && r.region.is_some())
        .collect();
    let primary_of = |region: &str| {
        found
            .iter()
            .find(|r| r.set_id == format!("{region}-primary"))
    };
    let known = state.regions();
    let primary_region = latency
        .iter()
        .filter_map(|l| l.region.clone())
        .find(|r| !found.iter().any(|x| x.set_id == format!("{r}-secondary")));
    let mut members = Vec::new();
    for l in &latency {
        let Some(region) = l.region.clone() else {
            continue;
        };
        let mut m = known
            .iter()
            .find(|k| k.name.as_deref() == Some(region.as_str()))
            .cloned()
            .unwrap_or_else(|| RegionModel {
                name: Attr::Known(region.clone()),
                drained: Attr::Known(false),
                ..RegionModel::default()
            });
        if let Some(p) = primary_of(&region) {
            match &p.value {
                Some(RecordValue::Cname(h)) => {
                    let same = m.hostname.as_deref().is_some_and(|c| {
                        c.trim_end_matches('.')
                            .eq_ignore_ascii_case(h.trim_end_matches('.'))
                    });
                    if !same {
                        m.hostname = Attr::Known(h.trim_end_matches('.').to_string());
                    }
                    m.addresses = Attr::Null;
                }
                Some(RecordValue::A(a)) => {
                    m.hostname = Attr::Null;
                    m.addresses = Attr::Known(a.iter().cloned().map(Attr::Known).collect());
                }
                None => {}
            }
        }
        let own = format!("{region}.pool.{canon}");
        m.drained = Attr::Known(l.alias.as_deref() != Some(own.as_str()));
        members.push(m);
    }
    let mut out = state.clone();
    out.region = Attr::Known(Set(members));
    if let Some(p) = primary_region
        && out.primary.known().is_none()
    {
        out.primary = Attr::Known(p);
    }
    if let Some(ttl) = found.iter().find(|r| r.alias.is_none()).map(|r| r.ttl) {
        out.ttl = Attr::Known(ttl);
    }
    // The record listing as it exists (a plan compares it to the design).
    out.records = Attr::Known(found.iter().map(RecordSet::describe).collect());
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use berth_testbed::fake_cloud::{FakeAws, ZONE_ID};
    use tfplugin::model::Attr;

    use super::super::model::PoolModel;
    use super::refresh;
    use crate::provider_data::testing::on_fake;

    #[tokio::test]
    async fn a_pool_whose_records_are_gone_reads_as_gone() {
        let fake = FakeAws::new();
        let data = on_fake(&fake).await;
        let state = PoolModel {
            zone_id: Attr::Known(ZONE_ID.into()),
            fqdn: Attr::Known("global.example.com.".into()),
            primary: Attr::Known("us-east-1".into()),
            ..PoolModel::default()
        };
        assert_eq!(refresh(&data, &state).await.unwrap(), None);
    }
}

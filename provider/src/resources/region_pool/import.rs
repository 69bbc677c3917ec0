//! `terraform import berth_region_pool.x <zone>/<name>`: the pool read from
//! its records, health check ids from its pools' primary records.

use std::collections::BTreeMap;

use tfplugin::model::{Attr, Set, ToValue};
use tfplugin::provider::{ImportRequest, ImportResponse};

use super::model::PoolModel;
use super::read::refresh;
use crate::provider_data::ProviderData;
use crate::resources::{error, import_id};

fn failed(summary: &str, detail: impl Into<String>) -> ImportResponse {
    ImportResponse {
        diagnostics: error(summary, detail),
        ..Default::default()
    }
}

/// Imports the pool named by `req.id`.
pub(super) async fn import(data: &ProviderData, req: ImportRequest) -> ImportResponse {
    let (zone, name) = match import_id::pool(&req.id) {
        Ok(id) => (id.zone, id.name),
        Err(e) => return failed("Invalid import id", e),
    };
    let z = match data.inventory.zone(data.route_cloud().as_ref(), zone).await {
        Ok(z) => z,
        Err(e) => return failed("Cannot import berth_region_pool", e.to_string()),
    };
    let fqdn = berth_aws::dns::record_name(&z, name);
    // Health check ids come from the pools' primary records.
    let found = match data.route_cloud().pool_record_sets(&z.id, &fqdn).await {
        Ok(f) => f,
        Err(e) => return failed("Cannot import berth_region_pool", e.to_string()),
    };
    let hc: BTreeMap<String, String> = found
        .iter()
        .filter_map(|r| {
            let region = r.set_id.strip_suffix("-primary")?;
            Some((region.to_string(), r.health_check_id.clone()?))
        })
        .collect();
    let start = PoolModel {
        id: Attr::Known(format!("{}/{}", z.id, fqdn)),
        zone: Attr::Known(zone.to_string()),
        name: Attr::Known(name.to_string()),
        ttl: Attr::Known(60),
        primary: Attr::Null,
        fqdn: Attr::Known(fqdn.clone()),
        zone_id: Attr::Known(z.id.clone()),
        health_check_ids: Attr::Known(hc),
        records: Attr::Known(vec![]),
        region: Attr::Known(Set(vec![])),
    };
    match refresh(data, &start).await {
        Ok(Some(s)) => ImportResponse {
            state: s.to_value(),
            ..Default::default()
        },
        Ok(None) => failed(
            "Cannot import berth_region_pool",
            format!("no region pool records named {fqdn}"),
        ),
        Err(e) => failed("Cannot import berth_region_pool", e),
    }
}

#[cfg(test)]
mod tests {
    use berth_testbed::fake_cloud::FakeAws;
    use tfplugin::provider::ImportRequest;

    use super::import;
    use crate::provider_data::testing::on_fake;

    #[tokio::test]
    async fn an_unknown_zone_and_a_missing_pool_are_clear_errors() {
        let fake = FakeAws::new();
        let data = on_fake(&fake).await;
        let resp = import(
            &data,
            ImportRequest {
                id: "nowhere.test/global".into(),
            },
        )
        .await;
        let err = format!("{:?}", resp.diagnostics);
        assert!(err.contains("no hosted zone nowhere.test"), "{err}");
        let resp = import(
            &data,
            ImportRequest {
                id: "example.com/global".into(),
            },
        )
        .await;
        assert!(
            resp.diagnostics.has_errors(),
            "no records, nothing to import"
        );
    }
}

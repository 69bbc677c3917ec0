//! `terraform import berth_weighted_route.x <zone>/<name>`: the route read
//! from its weighted records; `… <listener rule ARN>`: a listener-rule
//! route read from its rule.

use std::collections::BTreeMap;

use tfplugin::model::{Attr, ToValue};
use tfplugin::provider::{ImportRequest, ImportResponse};

use super::model::RouteModel;
use super::plan::check;
use super::read::refresh;
use crate::provider_data::ProviderData;
use crate::resources::{error, import_id};

fn failed(summary: &str, detail: impl Into<String>) -> ImportResponse {
    ImportResponse {
        diagnostics: error(summary, detail),
        ..Default::default()
    }
}

/// Imports the route named by `req.id`.
pub(super) async fn import(data: &ProviderData, req: ImportRequest) -> ImportResponse {
    if req.id.starts_with("arn:") {
        return match super::rule::import(data, &req.id).await {
            Ok(state) => ImportResponse {
                state: state.to_value(),
                ..Default::default()
            },
            Err(e) => failed("Cannot import berth_weighted_route", e),
        };
    }
    let (zone, name) = match import_id::route(&req.id) {
        Ok(id) => (id.zone, id.name),
        Err(e) => return failed("Invalid import id", e),
    };
    let z = match data.inventory.zone(data.route_cloud().as_ref(), zone).await {
        Ok(z) => z,
        Err(e) => return failed("Cannot import berth_weighted_route", e.to_string()),
    };
    let fqdn = berth_aws::dns::record_name(&z, name);
    let start = RouteModel {
        zone: Attr::Known(zone.to_string()),
        name: Attr::Known(name.to_string()),
        ttl: Attr::Known(60),
        fqdn: Attr::Known(fqdn.clone()),
        zone_id: Attr::Known(z.id.clone()),
        target: Attr::Known(vec![]),
        shift: Attr::Null,
        health_check_ids: Attr::Known(BTreeMap::new()),
        shift_plan: Attr::Known(vec![]),
        ..RouteModel::default()
    };
    match refresh(data, &start).await {
        Ok(Some(mut state)) => {
            let record_type = check(&state).0.record_type();
            state.record_type = Attr::Known(record_type.to_string());
            state.id = Attr::Known(format!("{}/{}/{}", z.id, fqdn, record_type));
            ImportResponse {
                state: state.to_value(),
                ..Default::default()
            }
        }
        Ok(None) => failed(
            "Cannot import berth_weighted_route",
            format!("no weighted records named {fqdn} in zone {}", z.id),
        ),
        Err(e) => failed("Cannot import berth_weighted_route", e),
    }
}

#[cfg(test)]
mod tests {
    use berth_aws::routing::{RecordValue, WeightedRecord};
    use berth_testbed::fake_cloud::FakeAws;
    use tfplugin::provider::ImportRequest;

    use super::super::model::RouteModel;
    use super::import;
    use crate::provider_data::testing::on_fake;

    #[tokio::test]
    async fn an_unknown_zone_and_a_missing_route_are_clear_errors() {
        let fake = FakeAws::new();
        let data = on_fake(&fake).await;
        let resp = import(
            &data,
            ImportRequest {
                id: "nowhere.test/api".into(),
            },
        )
        .await;
        let err = format!("{:?}", resp.diagnostics);
        assert!(err.contains("no hosted zone nowhere.test"), "{err}");
        let resp = import(
            &data,
            ImportRequest {
                id: "example.com/api".into(),
            },
        )
        .await;
        assert!(
            resp.diagnostics.has_errors(),
            "no records, nothing to import"
        );
    }

    #[tokio::test]
    async fn the_records_become_the_targets() {
        let fake = FakeAws::new();
        fake.account().weighted.insert(
            "api.example.com.".into(),
            vec![WeightedRecord {
                set_id: "paas".into(),
                value: RecordValue::Cname("api.old-paas.example.".into()),
                weight: 100,
                ttl: 30,
                health_check_id: None,
            }],
        );
        let data = on_fake(&fake).await;
        let resp = import(
            &data,
            ImportRequest {
                id: "example.com/api".into(),
            },
        )
        .await;
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        let m: RouteModel = resp.state.get().unwrap();
        assert_eq!(m.fqdn.as_deref(), Some("api.example.com."));
        assert_eq!(m.ttl.known(), Some(&30));
        let t = &m.target.known().unwrap()[0];
        assert_eq!(t.hostname.as_deref(), Some("api.old-paas.example"));
        assert_eq!(t.weight.known(), Some(&100));
    }
}

//! Health checks a resource owns, against a real moto server: what an apply
//! adopts, creates and deletes when an earlier apply lost an answer or was
//! interrupted, and what a destroy finds.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use berth_aws::routing::{self, HealthCheckSpec};
use berth_aws::{Clients, Settings, health_check_ref};
use berth_testbed::Moto;
use terraform_provider_berth::resources::health_checks;
use tfplugin::value::Value;

const OWNER: &str = "route/api.example.com.";

async fn clients(moto: &Moto) -> Clients {
    berth_aws::config::load(&Settings::emulator(moto.endpoint()))
        .await
        .unwrap()
}

fn spec(port: i32) -> HealthCheckSpec {
    HealthCheckSpec {
        protocol: "HTTPS".into(),
        fqdn: Some("green.example.net".into()),
        ip: None,
        port,
        path: Some("/up".into()),
        interval: 30,
        failure_threshold: 3,
    }
}

/// Every check in moto: id → caller reference.
async fn all_checks(c: &Clients) -> BTreeMap<String, String> {
    c.route53
        .list_health_checks()
        .send()
        .await
        .unwrap()
        .health_checks()
        .iter()
        .map(|h| (h.id().to_string(), h.caller_reference().to_string()))
        .collect()
}

async fn owner_tag(c: &Clients, id: &str) -> Option<String> {
    let out = c
        .route53
        .list_tags_for_resource()
        .resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck)
        .resource_id(id)
        .send()
        .await
        .unwrap();
    out.resource_tag_set()
        .unwrap()
        .tags()
        .iter()
        .find(|t| t.key() == Some("berth:owner"))
        .and_then(|t| t.value().map(str::to_string))
}

/// A check as a create whose answer was lost leaves it: made with berth's
/// reference, never tagged.
async fn lost_create(c: &Clients, owner: &str, key: &str, spec: &HealthCheckSpec) -> String {
    routing::create_health_check(c, spec, &health_check_ref::fresh(owner, key, spec), &[])
        .await
        .unwrap()
}

/// An apply of target `green` on port 443, from `prior` (key → id; the
/// prior settings are the same).
async fn apply_green(c: &Clients, prior: &BTreeMap<String, String>) -> health_checks::Reconciled {
    let prior_specs = prior.keys().map(|k| (k.clone(), spec(443))).collect();
    let wanted = [("green".to_string(), spec(443))];
    health_checks::reconcile(c, OWNER, "api.example.com.", &wanted, prior, &prior_specs)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_apply_adopts_the_check_a_lost_answer_made_and_deletes_the_owners_other_leftovers() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let lost = lost_create(&c, OWNER, "green", &spec(443)).await;
    // An interrupted apply made one for settings no longer wanted.
    let outdated = lost_create(&c, OWNER, "green", &spec(8443)).await;
    // Another owner's leftover is not this apply's business.
    let foreign = lost_create(&c, "route/www.example.com.", "green", &spec(443)).await;

    let got = apply_green(&c, &BTreeMap::new()).await;
    assert_eq!(got.ids.get("green"), Some(&lost), "adopted, not duplicated");
    assert_eq!(
        got.created,
        vec![lost.clone()],
        "discarded if the apply fails"
    );
    assert_eq!(got.stale, vec![outdated.clone()]);
    assert_eq!(all_checks(&c).await.len(), 3, "nothing created");
    assert_eq!(
        owner_tag(&c, &lost).await.as_deref(),
        Some(OWNER),
        "adopted and tagged"
    );

    health_checks::delete_unused(&c, &BTreeMap::new(), &got.ids, &got.stale)
        .await
        .unwrap();
    let left: Vec<String> = all_checks(&c).await.into_keys().collect();
    let mut expected = vec![lost.clone(), foreign.clone()];
    expected.sort();
    assert_eq!(left, expected);

    // The next apply with the same settings keeps it and lists nothing.
    let again = apply_green(&c, &got.ids).await;
    assert_eq!(again.ids, got.ids);
    assert!(again.created.is_empty() && again.stale.is_empty());
}

#[tokio::test]
async fn recreating_a_check_with_the_same_settings_never_reuses_a_reference() {
    // Route53 refuses the caller reference of a deleted check, so a route
    // destroyed and applied again must not send the same one.
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let mut references = Vec::new();
    for _ in 0..2 {
        let got = apply_green(&c, &BTreeMap::new()).await;
        let id = got.ids["green"].clone();
        assert_eq!(got.created, vec![id.clone()]);
        let all = all_checks(&c).await;
        assert_eq!(all.len(), 1);
        let reference = all[&id].clone();
        assert!(
            reference.starts_with(&health_check_ref::intent_prefix(OWNER, "green", &spec(443))),
            "{reference}"
        );
        references.push(reference);
        health_checks::delete_all(&c, &Value::Null, OWNER)
            .await
            .unwrap();
        assert!(all_checks(&c).await.is_empty());
    }
    assert_ne!(references[0], references[1]);
}

#[tokio::test]
async fn a_destroy_deletes_the_owners_checks_whether_state_or_reference_alone_names_them() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    // Named by the state only (its reference is not berth's).
    let recorded = routing::create_health_check(&c, &spec(443), "made-elsewhere", &[])
        .await
        .unwrap();
    // Named by its reference only (untagged, in no state).
    let untagged = lost_create(&c, OWNER, "blue", &spec(443)).await;
    let foreign = lost_create(&c, "route/www.example.com.", "green", &spec(443)).await;
    let users_own = routing::create_health_check(&c, &spec(443), "someone-else", &[])
        .await
        .unwrap();

    let state = Value::object([(
        "health_check_ids",
        Value::Map(BTreeMap::from([(
            "green".to_string(),
            Value::string(&recorded),
        )])),
    )]);
    health_checks::delete_all(&c, &state, OWNER).await.unwrap();
    let left: Vec<String> = all_checks(&c).await.into_keys().collect();
    let mut expected = vec![foreign, users_own];
    expected.sort();
    assert_eq!(left, expected, "deleted {recorded} and {untagged}");
}

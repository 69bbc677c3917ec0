//! Weighted record sets and health checks against a real moto server.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth_acceptance_tests::Moto;
use berth_aws::routing::{self, HealthCheckSpec, RecordValue, WeightedRecord};
use berth_aws::{Clients, Settings};

async fn clients(moto: &Moto) -> Clients {
    berth_aws::config::load(&Settings {
        region: Some("us-east-1".into()),
        access_key: Some("testing".into()),
        secret_key: Some("testing".into()),
        endpoint: Some(moto.endpoint()),
        max_attempts: 1,
        ..Settings::default()
    })
    .await
    .unwrap()
}

fn rec(id: &str, host: &str, weight: i64, hc: Option<&str>) -> WeightedRecord {
    WeightedRecord {
        set_id: id.into(),
        value: RecordValue::Cname(host.into()),
        weight,
        ttl: 30,
        health_check_id: hc.map(str::to_string),
    }
}

#[tokio::test]
async fn weighted_sets_change_together_and_read_back() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let z = c
        .route53
        .create_hosted_zone()
        .name("example.com")
        .caller_reference("t")
        .send()
        .await
        .unwrap();
    let zone = z
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let fqdn = "api.example.com";
    // An unrelated record next to it is never touched.
    routing::set_weighted(
        &c,
        &zone,
        "apx.example.com",
        &[rec("x", "x.test", 1, None)],
        &[],
        Duration::from_millis(1),
    )
    .await
    .unwrap();

    let hc = routing::create_health_check(
        &c,
        &HealthCheckSpec {
            protocol: "HTTPS".into(),
            fqdn: Some("green.example.net".into()),
            ip: None,
            port: 443,
            path: Some("/up".into()),
            interval: 10,
            failure_threshold: 3,
        },
        "berth-api-green-1",
        &[("berth:owner".into(), "route/api.example.com".into())],
    )
    .await
    .unwrap();
    assert_eq!(routing::health_check_status(&c, &hc).await.unwrap(), Ok(()));
    assert_eq!(
        routing::health_checks_owned_by(&c, "route/api.example.com")
            .await
            .unwrap(),
        vec![hc.clone()]
    );

    let first = vec![
        rec("paas", "app.herokuapp.com", 90, None),
        rec("green", "green.example.net", 10, Some(&hc)),
    ];
    routing::set_weighted(&c, &zone, fqdn, &first, &[], Duration::from_millis(1))
        .await
        .unwrap();
    let got = routing::weighted_records(&c, &zone, fqdn).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], first[1]);
    assert_eq!(got[1], first[0]);

    let second = vec![rec("green", "green.example.net", 100, Some(&hc))];
    routing::set_weighted(&c, &zone, fqdn, &second, &got, Duration::from_millis(1))
        .await
        .unwrap();
    let got = routing::weighted_records(&c, &zone, fqdn).await.unwrap();
    assert_eq!(got, second, "paas removed, green at 100 in one batch");

    routing::set_weighted(&c, &zone, fqdn, &[], &got, Duration::from_millis(1))
        .await
        .unwrap();
    assert!(
        routing::weighted_records(&c, &zone, fqdn)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        routing::weighted_records(&c, &zone, "apx.example.com")
            .await
            .unwrap()
            .len(),
        1
    );

    routing::delete_health_check(&c, &hc).await.unwrap();
    routing::delete_health_check(&c, &hc).await.unwrap();
    assert!(
        routing::health_checks_owned_by(&c, "route/api.example.com")
            .await
            .unwrap()
            .is_empty()
    );
}

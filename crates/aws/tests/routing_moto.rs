//! Weighted record sets and health checks against a real moto server.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth_aws::routing::{self, HealthCheckSpec, RecordValue, WeightedRecord};
use berth_aws::{Clients, Settings};
use berth_testbed::Moto;
use berth_testbed::clients::create_zone;

async fn clients(moto: &Moto) -> Clients {
    clients_at(moto.endpoint()).await
}

/// berth's clients for `endpoint` (moto, or a proxy in front of it).
async fn clients_at(endpoint: String) -> Clients {
    berth_aws::config::load(&Settings::emulator(endpoint))
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
    let zone = create_zone(&moto.endpoint(), "example.com").await.unwrap();
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

    let https = HealthCheckSpec {
        protocol: "HTTPS".into(),
        fqdn: Some("green.example.net".into()),
        ip: None,
        port: 443,
        path: Some("/up".into()),
        interval: 10,
        failure_threshold: 3,
    };
    let hc = routing::create_health_check(
        &c,
        &https,
        &berth_aws::health_check_ref::fresh("route/api.example.com", "green", &https),
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

#[tokio::test]
async fn one_zone_listing_answers_every_reader_like_its_own_read() {
    use berth_aws::routing::RecordSet;
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let zone = create_zone(&moto.endpoint(), "example.com").await.unwrap();
    let poll = Duration::from_millis(1);
    let api = vec![
        rec("blue", "blue.example.net", 90, None),
        rec("green", "green.example.net", 10, None),
    ];
    routing::set_weighted(&c, &zone, "api.example.com", &api, &[], poll)
        .await
        .unwrap();
    routing::set_weighted(
        &c,
        &zone,
        "apx.example.com",
        &[rec("x", "x.test", 1, None)],
        &[],
        poll,
    )
    .await
    .unwrap();
    berth_aws::dns::set_a_record(
        &c,
        &zone,
        "web.example.com",
        30,
        &["10.0.0.9".to_string(), "10.0.0.8".to_string()],
        poll,
    )
    .await
    .unwrap();
    let member = RecordSet {
        name: "us-east-1.pool.glob.example.com.".into(),
        set_id: "us-east-1-primary".into(),
        region: None,
        failover: Some("PRIMARY".into()),
        alias: None,
        value: Some(RecordValue::A(vec!["10.1.0.1".into()])),
        ttl: 30,
        health_check_id: None,
    };
    let latency = RecordSet {
        name: "glob.example.com.".into(),
        set_id: "us-east-1".into(),
        region: Some("us-east-1".into()),
        failover: None,
        alias: Some("us-east-1.pool.glob.example.com.".into()),
        value: None,
        ttl: 0,
        health_check_id: None,
    };
    routing::apply_record_sets(&c, &zone, &[member.clone(), latency.clone()], &[], poll)
        .await
        .unwrap();

    let shared = routing::zone_records(&c, &zone).await.unwrap();
    for name in [
        "api.example.com",
        "apx.example.com.",
        "API.example.com",
        "none.example.com",
    ] {
        assert_eq!(
            shared.weighted(name),
            routing::weighted_records(&c, &zone, name).await.unwrap(),
            "{name}"
        );
    }
    assert_eq!(
        shared.weighted("api.example.com"),
        vec![api[0].clone(), api[1].clone()]
    );
    assert_eq!(shared.pool("glob.example.com"), vec![latency, member]);
    assert!(
        shared.weighted("glob.example.com").is_empty(),
        "latency sets are not weighted"
    );
    let web = shared.a_record("web.example.com").unwrap();
    assert_eq!(web.values, vec!["10.0.0.8", "10.0.0.9"]);
    assert_eq!(web.ttl, 30);
    assert!(shared.a_record("api.example.com").is_none());
}

#[tokio::test]
async fn a_zone_longer_than_a_page_lists_every_weighted_set_once() {
    // 150 weighted pairs and a few plain records: the 300-set page ends
    // inside a pair for one of two offsets, whatever the emulator's order.
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let zone = create_zone(&moto.endpoint(), "example.com").await.unwrap();
    let poll = Duration::from_millis(1);
    let pairs = 150;
    for i in 0..pairs {
        let pair = vec![
            rec("blue", &format!("blue-{i}.test"), 50, None),
            rec("green", &format!("green-{i}.test"), 50, None),
        ];
        routing::set_weighted(
            &c,
            &zone,
            &format!("w-{i:03}.example.com"),
            &pair,
            &[],
            poll,
        )
        .await
        .unwrap();
    }
    for offset in 0..2 {
        berth_aws::dns::set_a_record(
            &c,
            &zone,
            &format!("plain-{offset}.example.com"),
            30,
            &["10.0.0.1".to_string()],
            poll,
        )
        .await
        .unwrap();
        let shared = routing::zone_records(&c, &zone).await.unwrap();
        for i in 0..pairs {
            let got = shared.weighted(&format!("w-{i:03}.example.com"));
            let ids: Vec<&str> = got.iter().map(|r| r.set_id.as_str()).collect();
            assert_eq!(ids, ["blue", "green"], "offset {offset}, pair {i}");
        }
        assert_eq!(shared.a_records().len(), offset + 1);
    }
}

#[tokio::test]
async fn a_pool_reads_only_its_own_names_however_large_the_zone() {
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    use berth_aws::routing::RecordSet;
    use berth_testbed::proxy::CountingProxy;
    let moto = Moto::start().unwrap();
    let proxy = CountingProxy::start(([127, 0, 0, 1], moto.port).into())
        .await
        .unwrap();
    let c = clients_at(proxy.endpoint()).await;
    let zone = create_zone(&moto.endpoint(), "example.com").await.unwrap();
    // 900 unrelated names before and after the pools: three pages of them.
    let plain: Vec<Change> = (0..900)
        .map(|i| {
            let name = format!("{}-{i:03}.example.com", if i % 2 == 0 { "a" } else { "z" });
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(
                    ResourceRecordSet::builder()
                        .name(name)
                        .r#type(RrType::A)
                        .ttl(30)
                        .resource_records(
                            ResourceRecord::builder().value("10.0.0.1").build().unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        })
        .collect();
    c.route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(
            ChangeBatch::builder()
                .set_changes(Some(plain))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let pool = |fqdn: &str, ip: &str| -> Vec<RecordSet> {
        ["us-east-1", "eu-west-1"]
            .iter()
            .flat_map(|region| {
                let member = format!("{region}.pool.{fqdn}.");
                [
                    RecordSet {
                        name: member.clone(),
                        set_id: format!("{region}-primary"),
                        region: None,
                        failover: Some("PRIMARY".into()),
                        alias: None,
                        value: Some(RecordValue::A(vec![ip.into()])),
                        ttl: 30,
                        health_check_id: None,
                    },
                    RecordSet {
                        name: format!("{fqdn}."),
                        set_id: (*region).to_string(),
                        region: Some((*region).to_string()),
                        failover: None,
                        alias: Some(member),
                        value: None,
                        ttl: 0,
                        health_check_id: None,
                    },
                ]
            })
            .collect()
    };
    // Siblings whose names sort inside the pool's range or right after it.
    let names = [
        "glob.example.com",
        "glob-2.example.com",
        "glob2.example.com",
        "x.glob.example.com",
    ];
    let poll = Duration::from_millis(1);
    for (i, fqdn) in names.iter().enumerate() {
        let sets = pool(fqdn, &format!("10.1.0.{i}"));
        routing::apply_record_sets(&c, &zone, &sets, &[], poll)
            .await
            .unwrap();
    }
    let shared = routing::zone_records(&c, &zone).await.unwrap();
    proxy.take();
    for (i, fqdn) in names.iter().enumerate() {
        let got = routing::pool_record_sets(&c, &zone, fqdn).await.unwrap();
        assert_eq!(got.len(), 4, "{fqdn}: {got:?}");
        assert_eq!(got, shared.pool(fqdn), "{fqdn}");
        let mut want = pool(fqdn, &format!("10.1.0.{i}"));
        want.sort_by(|a, b| (&a.name, &a.set_id).cmp(&(&b.name, &b.set_id)));
        let mut sorted = got.clone();
        sorted.sort_by(|a, b| (&a.name, &a.set_id).cmp(&(&b.name, &b.set_id)));
        assert_eq!(sorted, want, "{fqdn}");
    }
    let calls = proxy.take();
    assert_eq!(
        calls.with_prefix("ListResourceRecordSets"),
        names.len() as u64,
        "one page per pool, not the zone's four: {calls:?}"
    );
}

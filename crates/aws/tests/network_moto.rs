//! Route53 origin records, zone lookup, the managed security group and the
//! default AMI against a real moto server.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth_aws::dns::{self, Route53Origin};
use berth_aws::ec2::{self, Ingress};
use berth_aws::{Clients, Settings};
use berth_rollout::Dns;
use berth_testbed::Moto;

async fn clients(moto: &Moto) -> Clients {
    berth_aws::config::load(&Settings::emulator(moto.endpoint()))
        .await
        .unwrap()
}

/// The zone's simple A records, from the shared listing.
async fn zone_a_records(c: &Clients, id: &str) -> std::collections::BTreeMap<String, dns::ARecord> {
    berth_aws::routing::zone_records(c, id)
        .await
        .unwrap()
        .a_records()
        .clone()
}

async fn zone(c: &Clients, name: &str) -> String {
    let out = c
        .route53
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("test-{name}"))
        .send()
        .await
        .unwrap();
    out.hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string()
}

#[tokio::test]
async fn origin_record_is_upserted_read_back_and_deleted() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let id = zone(&c, "example.com").await;

    let by_name = dns::find_zone(&c, "example.com").await.unwrap();
    assert_eq!(by_name.id, id);
    assert_eq!(by_name.name, "example.com.");
    let by_id = dns::find_zone(&c, &id).await.unwrap();
    assert_eq!(by_id, by_name);
    let missing = dns::find_zone(&c, "nowhere.test").await.unwrap_err();
    assert!(
        missing.to_string().contains("NoSuchHostedZone"),
        "{missing}"
    );

    let fqdn = dns::record_name(&by_name, "web");
    let origin = Route53Origin::new(c.clone(), &id, &fqdn, 30, Duration::from_millis(10));
    origin
        .point(&["10.0.0.2".into(), "10.0.0.1".into()])
        .await
        .unwrap();
    let rec = dns::a_record(&c, &id, &fqdn).await.unwrap().unwrap();
    assert_eq!(rec.values, vec!["10.0.0.1", "10.0.0.2"]);
    assert_eq!(rec.ttl, 30);

    // Upsert replaces the whole set in one change.
    origin.point(&["10.0.0.3".into()]).await.unwrap();
    let all = zone_a_records(&c, &id).await;
    assert_eq!(all[&fqdn].values, vec!["10.0.0.3"]);

    origin.point(&[]).await.unwrap();
    assert_eq!(dns::a_record(&c, &id, &fqdn).await.unwrap(), None);
    // Deleting what is gone is fine.
    origin.point(&[]).await.unwrap();
}

#[tokio::test]
async fn zone_listing_pages_through_many_records() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let id = zone(&c, "many.test").await;
    for n in 0..320 {
        dns::set_a_record(
            &c,
            &id,
            &format!("app{n}.many.test"),
            60,
            &[format!("10.1.{}.{}", n / 200, n % 200 + 1)],
            Duration::from_millis(1),
        )
        .await
        .unwrap();
    }
    let all = zone_a_records(&c, &id).await;
    assert_eq!(all.len(), 320);
    assert_eq!(all["app319.many.test."].values, vec!["10.1.1.120"]);
}

#[tokio::test]
async fn managed_security_group_is_created_once_and_reconciled() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let vpc = ec2::vpc_for(&c, None).await.unwrap();
    assert!(vpc.starts_with("vpc-"), "{vpc}");
    let want = Ingress {
        ports: [80, 443].into(),
        cidrs: ["0.0.0.0/0".to_string()].into(),
    };
    let sg = ec2::ensure_app_security_group(&c, "web", &vpc, &want, &Default::default())
        .await
        .unwrap();
    let again = ec2::ensure_app_security_group(&c, "web", &vpc, &want, &Default::default())
        .await
        .unwrap();
    assert_eq!(sg, again, "a second apply must find the same group");
    assert_eq!(
        ec2::find_app_security_group(&c, "web").await.unwrap(),
        Some(sg.clone())
    );

    let narrower = Ingress {
        ports: [8080].into(),
        cidrs: ["10.0.0.0/8".to_string()].into(),
    };
    ec2::ensure_app_security_group(&c, "web", &vpc, &narrower, &Default::default())
        .await
        .unwrap();
    let g = c
        .ec2
        .describe_security_groups()
        .group_ids(&sg)
        .send()
        .await
        .unwrap();
    let perms = g.security_groups()[0].ip_permissions();
    let rules: Vec<(i32, String)> = perms
        .iter()
        .flat_map(|p| {
            p.ip_ranges()
                .iter()
                .map(|r| (p.from_port().unwrap(), r.cidr_ip().unwrap().to_string()))
        })
        .collect();
    assert_eq!(rules, vec![(8080, "10.0.0.0/8".to_string())]);

    ec2::delete_security_group(&c, &sg, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(ec2::find_app_security_group(&c, "web").await.unwrap(), None);
    // Already gone: still fine.
    ec2::delete_security_group(&c, &sg, Duration::from_secs(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn default_ami_is_the_newest_amazon_linux_2023_for_the_architecture() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let ami = ec2::default_ami(&c, "x86_64").await.unwrap();
    let img = c
        .ec2
        .describe_images()
        .image_ids(&ami)
        .send()
        .await
        .unwrap();
    let name = img.images()[0].name().unwrap().to_string();
    assert!(name.starts_with("al2023-ami-2023"), "{name}");
    assert!(
        name.ends_with("x86_64") && !name.contains("minimal"),
        "{name}"
    );
    let arm = ec2::default_ami(&c, "arm64").await.unwrap();
    assert_ne!(arm, ami);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_to_one_zone_all_land() {
    // Terraform deletes independent apps of one zone in parallel; every
    // change must take effect (moto applies concurrent changes as racing
    // rewrites of the zone, Route53 refuses them: berth submits one at a
    // time per zone).
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let id = zone(&c, "busy.test").await;
    let names: Vec<String> = (0..40).map(|n| format!("app{n}.busy.test")).collect();
    let mut writes = tokio::task::JoinSet::new();
    for (n, name) in names.iter().enumerate() {
        let (c, id, name) = (c.clone(), id.clone(), name.clone());
        writes.spawn(async move {
            dns::set_a_record(
                &c,
                &id,
                &name,
                60,
                &[format!("10.2.{}.{}", n / 200, n % 200 + 1)],
                Duration::from_millis(1),
            )
            .await
        });
    }
    while let Some(r) = writes.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(zone_a_records(&c, &id).await.len(), 40);
    let mut deletes = tokio::task::JoinSet::new();
    for name in &names {
        let (c, id, name) = (c.clone(), id.clone(), name.clone());
        deletes.spawn(async move {
            dns::set_a_record(&c, &id, &name, 0, &[], Duration::from_millis(1)).await
        });
    }
    while let Some(r) = deletes.join_next().await {
        r.unwrap().unwrap();
    }
    let left = zone_a_records(&c, &id).await;
    assert!(
        left.is_empty(),
        "{} record(s) came back: {:?}",
        left.len(),
        left.keys()
    );
}

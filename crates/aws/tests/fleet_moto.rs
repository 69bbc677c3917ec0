//! The EC2 fleet adapter against a real moto server: launch with tags and
//! user-data, find by inventory, idempotent retries, self-reported health,
//! terminate.
#![allow(clippy::unwrap_used)]

use berth_aws::fleet::{Ec2Compute, LaunchPayload, LaunchSpec, TagProbe, inventory, tags};
use berth_aws::{Clients, Settings};
use berth_rollout::{Compute, Health, InstanceState, Probe, Release};
use berth_testbed::Moto;

async fn clients(moto: &Moto) -> Clients {
    berth_aws::config::load(&Settings::emulator(moto.endpoint()))
        .await
        .unwrap()
}

async fn ami(c: &Clients) -> String {
    let imgs = c
        .ec2
        .describe_images()
        .owners("amazon")
        .send()
        .await
        .unwrap();
    imgs.images()[0].image_id().unwrap().to_string()
}

/// A spec launching `release` of `app`.
fn spec(app: &str, ami: &str, release: Release) -> LaunchSpec {
    LaunchSpec {
        app: app.into(),
        ami: ami.into(),
        instance_type: "t3.micro".into(),
        payload: Some(LaunchPayload::new(release, "#!/bin/bash\necho hello\n").unwrap()),
        tags: [("team".to_string(), "web".to_string())].into(),
        rollout_id: "r1".into(),
        ..LaunchSpec::default()
    }
}

fn release(n: u64, fp: &str) -> Release {
    Release {
        number: n,
        image: format!("app:{n}"),
        fingerprint: fp.into(),
    }
}

#[tokio::test]
async fn launch_tag_inventory_health_and_terminate() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let ami = ami(&c).await;
    let web = Ec2Compute::new(c.clone(), spec("web", &ami, release(3, "fp3")));
    let api = Ec2Compute::new(c.clone(), spec("api", &ami, release(1, "fpa")));
    let launched = web.launch(&release(3, "fp3"), 2, 0).await.unwrap();
    assert_eq!(launched.len(), 2);
    assert!(
        launched
            .iter()
            .all(|i| i.release == 3 && i.fingerprint == "fp3")
    );
    api.launch(&release(1, "fpa"), 1, 0).await.unwrap();

    // A retry of the same call (same client token) creates nothing new.
    let again = web.launch(&release(3, "fp3"), 2, 0).await.unwrap();
    let inv = inventory(&c).await.unwrap();
    assert_eq!(inv["web"].len(), 2, "idempotent launch: {again:?}");
    assert_eq!(inv["api"].len(), 1);

    // Tags and user-data are on the instance.
    let id = launched[0].id.clone();
    let d = c
        .ec2
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    let inst = &d.reservations()[0].instances()[0];
    let keys: Vec<&str> = inst.tags().iter().filter_map(|t| t.key()).collect();
    for k in [
        tags::MANAGED_BY,
        tags::APP,
        tags::RELEASE,
        tags::FINGERPRINT,
        tags::BATCH,
        "Name",
        "team",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    let ud = c
        .ec2
        .describe_instance_attribute()
        .instance_id(&id)
        .attribute("userData".into())
        .send()
        .await
        .unwrap();
    assert_eq!(
        ud.user_data().and_then(|u| u.value()),
        Some("IyEvYmluL2Jhc2gKZWNobyBoZWxsbwo=")
    );

    // Health as the instance reports it through its tag.
    let view = web.refresh(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(TagProbe.check(&view[0]).await, Health::Starting);
    c.ec2
        .create_tags()
        .resources(&id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key(tags::HEALTH)
                .value("healthy")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let view = web.refresh(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(TagProbe.check(&view[0]).await, Health::Healthy);
    assert!(view[0].address.is_some());
    assert_eq!(view[0].state, InstanceState::Running);

    let ids: Vec<String> = launched.iter().map(|i| i.id.clone()).collect();
    web.terminate(&ids).await.unwrap();
    web.terminate(&ids).await.unwrap(); // terminating twice is fine
    let inv = inventory(&c).await.unwrap();
    assert!(
        !inv.contains_key("web"),
        "terminated instances leave the inventory"
    );
}

#[tokio::test]
async fn launches_spread_round_robin_over_subnets_in_different_zones() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let ami = ami(&c).await;
    let subnets = c
        .ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut by_zone: Vec<(String, String)> = subnets
        .subnets()
        .iter()
        .map(|s| {
            (
                s.availability_zone().unwrap().to_string(),
                s.subnet_id().unwrap().to_string(),
            )
        })
        .collect();
    by_zone.sort();
    let chosen: Vec<String> = by_zone.iter().take(3).map(|(_, id)| id.clone()).collect();
    let web = Ec2Compute::new(
        c.clone(),
        LaunchSpec {
            subnets: chosen.clone(),
            ..spec("web", &ami, release(1, "fp1"))
        },
    );
    let launched = web.launch(&release(1, "fp1"), 5, 0).await.unwrap();
    assert_eq!(launched.len(), 5);
    let mut zones: Vec<&str> = launched.iter().map(|i| i.zone.as_str()).collect();
    zones.sort_unstable();
    let counts: Vec<usize> = by_zone
        .iter()
        .take(3)
        .map(|(z, _)| zones.iter().filter(|x| **x == z).count())
        .collect();
    assert_eq!(counts, vec![2, 2, 1], "round-robin over 3 zones: {zones:?}");

    // The user-data comes back byte for byte (import reads it).
    let ud = berth_aws::fleet::user_data(&c, &launched[0].id)
        .await
        .unwrap();
    assert_eq!(ud, "#!/bin/bash\necho hello\n");

    // Retagging changes user tags, never berth's own.
    let ids: Vec<String> = launched.iter().map(|i| i.id.clone()).collect();
    berth_aws::fleet::retag(
        &c,
        &ids,
        &[("owner".to_string(), "shop".to_string())].into(),
        &["team".to_string(), "berth:app".to_string()],
    )
    .await
    .unwrap();
    let d = c
        .ec2
        .describe_instances()
        .instance_ids(&ids[0])
        .send()
        .await
        .unwrap();
    let tags: Vec<(String, String)> = d.reservations()[0].instances()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().into(), t.value().unwrap().into()))
        .collect();
    assert!(tags.contains(&("owner".into(), "shop".into())), "{tags:?}");
    assert!(!tags.iter().any(|(k, _)| k == "team"), "{tags:?}");
    assert!(tags.contains(&(tags::APP.into(), "web".into())), "{tags:?}");
}

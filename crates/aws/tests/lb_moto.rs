//! The load-balancer adapter against a real ELBv2 API (moto): on a
//! listener the user made (as their AWS provider stack would), two
//! releases' target groups are created (a second ensure adopts the first),
//! the app's rule forwards by weight and is found by its tag among the
//! user's own rules, the weights move in one call, instances registered
//! show in the target health, and everything is deleted (twice: the
//! second is a no-op).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use berth_aws::lb::{self, RuleMatch, TargetCheck, TargetGroupSpec};
use berth_aws::{Clients, Settings};
use berth_testbed::Moto;

async fn clients(moto: &Moto) -> Clients {
    berth_aws::config::load(&Settings::emulator(moto.endpoint()))
        .await
        .unwrap()
}

fn spec(vpc: &str, release: u64) -> TargetGroupSpec {
    TargetGroupSpec {
        name: lb::target_group_name("web", release, "fp"),
        vpc_id: vpc.to_string(),
        port: 80,
        check: TargetCheck {
            path: "/up".into(),
            port: 80,
            interval: 5,
            timeout: 2,
            healthy_threshold: 2,
            unhealthy_threshold: 2,
        },
        deregistration_delay: 15,
        tags: [
            ("berth:app".to_string(), "web".to_string()),
            ("berth:release".to_string(), release.to_string()),
        ]
        .into(),
    }
}

#[tokio::test]
async fn an_apps_rule_forwards_by_weight_to_its_releases_target_groups() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let (vpc, listener) = berth_testbed::alb::users_listener(&c, "shop")
        .await
        .unwrap();

    let one = lb::ensure_target_group(&c, &spec(&vpc, 1)).await.unwrap();
    let again = lb::ensure_target_group(&c, &spec(&vpc, 1)).await.unwrap();
    assert_eq!(one, again, "an existing group is adopted");
    let two = lb::ensure_target_group(&c, &spec(&vpc, 2)).await.unwrap();
    assert_ne!(one, two);
    let attrs = c
        .elb
        .describe_target_group_attributes()
        .target_group_arn(&one)
        .send()
        .await
        .unwrap();
    assert!(
        attrs.attributes().iter().any(|a| {
            a.key() == Some("deregistration_delay.timeout_seconds") && a.value() == Some("15")
        }),
        "{attrs:?}"
    );

    // A rule of the user's own on the same listener, never taken for ours.
    let m = |priority| RuleMatch {
        hosts: vec!["shop.example.com".into()],
        paths: vec![],
        priority,
    };
    let theirs: BTreeMap<String, u32> = [(one.clone(), 1)].into();
    lb::create_rule(&c, &listener, &m(5), &theirs, &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(lb::app_rule(&c, &listener, "web").await.unwrap(), None);

    let weights: BTreeMap<String, u32> = [(one.clone(), 100), (two.clone(), 0)].into();
    let tags: BTreeMap<String, String> = [("berth:app".to_string(), "web".to_string())].into();
    let arn = lb::create_rule(&c, &listener, &m(10), &weights, &tags)
        .await
        .unwrap();
    let rule = lb::app_rule(&c, &listener, "web").await.unwrap().unwrap();
    assert_eq!(rule.arn, arn);
    assert_eq!(rule.priority, 10);
    assert_eq!(rule.hosts, ["shop.example.com"]);
    assert_eq!(rule.weights, weights);

    let moved: BTreeMap<String, u32> = [(one.clone(), 0), (two.clone(), 100)].into();
    lb::modify_rule(&c, &arn, None, &moved).await.unwrap();
    let rule = lb::app_rule(&c, &listener, "web").await.unwrap().unwrap();
    assert_eq!(rule.weights, moved, "moved in one call");
    assert_eq!(rule.hosts, ["shop.example.com"], "conditions kept");

    // Registered instances show in the target health.
    let run = c
        .ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(2)
        .max_count(2)
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = run
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    let mut reg = c.elb.register_targets().target_group_arn(&two);
    for id in &ids {
        reg = reg.targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(id)
                .port(80)
                .build(),
        );
    }
    reg.send().await.unwrap();
    let health = lb::target_health(&c, &two).await.unwrap();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(
        health.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        want
    );
    assert!(health.iter().all(|t| !t.state.is_empty()), "{health:?}");

    lb::delete_rule(&c, &arn).await.unwrap();
    lb::delete_rule(&c, &arn).await.unwrap();
    assert_eq!(lb::app_rule(&c, &listener, "web").await.unwrap(), None);
    for tg in [&two] {
        lb::delete_target_group(&c, tg).await.unwrap();
        lb::delete_target_group(&c, tg).await.unwrap();
    }
    assert_eq!(
        lb::target_group_arn(&c, &spec(&vpc, 2).name).await.unwrap(),
        None
    );
}

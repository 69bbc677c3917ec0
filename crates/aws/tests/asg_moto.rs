//! The Auto Scaling adapter against a real EC2 Auto Scaling API (moto): a
//! release's launch template and group (adopted, not reset, by a second
//! ensure) launch the desired instances with berth's tags and register
//! them with the release's target group; a schedule and a target-tracking
//! policy read back as declared; new bounds keep the desired count a
//! schedule set; delete removes the group and its instances (twice: the
//! second is a no-op).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use berth_aws::asg::{self, GroupSpec, LaunchTemplateSpec, Schedule, Tracked};
use berth_aws::lb::{self, TargetCheck, TargetGroupSpec};
use berth_aws::{Clients, Settings};
use berth_testbed::Moto;

async fn clients(moto: &Moto) -> Clients {
    berth_aws::config::load(&Settings::emulator(moto.endpoint()))
        .await
        .unwrap()
}

fn tags() -> BTreeMap<String, String> {
    [
        ("berth:app".to_string(), "web".to_string()),
        ("berth:release".to_string(), "1".to_string()),
    ]
    .into()
}

/// The default VPC and its default subnets, as berth finds them.
async fn network(c: &Clients) -> (String, Vec<String>) {
    let vpc = berth_aws::ec2::vpc_for(c, None).await.unwrap();
    let subnets = berth_aws::ec2::default_subnets(c).await.unwrap();
    (vpc, subnets)
}

#[tokio::test]
async fn a_releases_group_launches_registers_scales_and_goes() {
    let moto = Moto::start().unwrap();
    let c = clients(&moto).await;
    let (vpc, subnets) = network(&c).await;
    let tg = lb::ensure_target_group(
        &c,
        &TargetGroupSpec {
            name: "berth-web-1".into(),
            vpc_id: vpc,
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
            tags: tags(),
        },
    )
    .await
    .unwrap();
    let template = LaunchTemplateSpec {
        name: "berth-web-1".into(),
        ami: "ami-12c6146b".into(),
        instance_type: "t3.small".into(),
        user_data: "IyEvYmluL2Jhc2gK".into(),
        instance_profile: None,
        security_groups: vec![],
        tags: tags(),
    };
    let lt = asg::ensure_launch_template(&c, &template).await.unwrap();
    assert_eq!(
        asg::ensure_launch_template(&c, &template).await.unwrap(),
        lt,
        "adopted"
    );
    let spec = GroupSpec {
        name: "berth-web-1".into(),
        launch_template_id: lt,
        min: 2,
        max: 6,
        desired: 3,
        subnets: subnets.into_iter().take(2).collect(),
        target_groups: vec![tg.clone()],
        grace_period: 60,
        tags: tags(),
    };
    let g = asg::ensure_group(&c, &spec).await.unwrap();
    assert_eq!((g.min, g.desired, g.max), (2, 3, 6));
    assert_eq!(g.instances.len(), 3, "{g:?}");
    assert_eq!(g.target_groups, std::slice::from_ref(&tg));
    assert_eq!(g.tags.get("berth:app").map(String::as_str), Some("web"));
    // Its instances carry berth's tags and are the target group's targets.
    let ids: Vec<String> = g.instances.iter().map(|i| i.id.clone()).collect();
    let described = c
        .ec2
        .describe_instances()
        .set_instance_ids(Some(ids.clone()))
        .send()
        .await
        .unwrap();
    for i in described.reservations().iter().flat_map(|r| r.instances()) {
        assert!(
            i.tags()
                .iter()
                .any(|t| t.key() == Some("berth:app") && t.value() == Some("web")),
            "{:?}",
            i.tags()
        );
    }
    let targets: Vec<String> = lb::target_health(&c, &tg)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(targets, ids);

    // Scheduled and target-tracking scaling, as declared.
    let office = Schedule {
        name: "office-hours".into(),
        recurrence: "0 8 * * MON-FRI".into(),
        time_zone: Some("Europe/Berlin".into()),
        min: Some(3),
        max: None,
        desired: Some(4),
    };
    asg::put_schedule(&c, &spec.name, &office).await.unwrap();
    assert_eq!(
        asg::schedules(&c, &spec.name).await.unwrap(),
        std::slice::from_ref(&office)
    );
    asg::put_target_tracking(&c, &spec.name, "cpu", &Tracked::Cpu, 60.0)
        .await
        .unwrap();
    let policies = asg::target_tracking(&c, &spec.name).await.unwrap();
    assert_eq!(
        policies.get("cpu"),
        Some(&("ASGAverageCPUUtilization".to_string(), 60.0))
    );

    // Capacity moved outside Terraform (a schedule firing) is kept when
    // the bounds change without a desired count, and adopting the group
    // does not reset it.
    asg::set_capacity(&c, &spec.name, 2, 6, Some(5))
        .await
        .unwrap();
    asg::set_capacity(&c, &spec.name, 1, 8, None).await.unwrap();
    let g = asg::ensure_group(&c, &spec).await.unwrap();
    assert_eq!((g.min, g.desired, g.max), (1, 5, 8));
    assert_eq!(g.instances.len(), 5);

    asg::delete_group(&c, &spec.name).await.unwrap();
    asg::delete_group(&c, &spec.name).await.unwrap();
    assert_eq!(asg::group(&c, &spec.name).await.unwrap(), None);
    asg::delete_launch_template(&c, &template.name)
        .await
        .unwrap();
    asg::delete_launch_template(&c, &template.name)
        .await
        .unwrap();
    assert_eq!(
        asg::launch_template_id(&c, &template.name).await.unwrap(),
        None
    );
}

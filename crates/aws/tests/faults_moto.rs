//! berth's AWS calls behind the fault-injecting proxy in front of a real
//! moto server: every error AWS throttles or fails with is retried, and a
//! call whose answer is lost (it took effect, the client saw a 5xx) leaves
//! no duplicate — moto honours neither client tokens nor caller references,
//! so this is the worst case.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ec2::types::Filter;
use berth_aws::ec2::{self, Ingress};
use berth_aws::fleet::{Ec2Compute, LaunchPayload, LaunchSpec};
use berth_aws::routing::{self, HealthCheckSpec, RecordValue, WeightedRecord};
use berth_aws::{Clients, Settings};
use berth_rollout::{Compute, Release};
use berth_testbed::faults::{Fault, FaultConfig, Faults, Kind, Scripted};
use berth_testbed::proxy::CountingProxy;
use berth_testbed::{Moto, clients as direct};

/// moto, the proxy injecting `script` in front of it, and berth's clients
/// pointed at the proxy with `attempts` attempts per call.
struct Faulty {
    moto: Moto,
    proxy: CountingProxy,
    c: Clients,
}

async fn faulty(script: Vec<(&str, u64, Fault)>, attempts: u32) -> Faulty {
    let moto = Moto::start().unwrap();
    let script = script
        .into_iter()
        .map(|(key, nth, fault)| Scripted {
            key: key.into(),
            nth,
            fault,
        })
        .collect();
    let faults = Arc::new(Faults::new(FaultConfig::scripted(script)));
    let proxy = CountingProxy::start_with_faults(([127, 0, 0, 1], moto.port).into(), faults)
        .await
        .unwrap();
    let c = berth_aws::config::load(&Settings {
        max_attempts: attempts,
        ..Settings::emulator(proxy.endpoint())
    })
    .await
    .unwrap();
    Faulty { moto, proxy, c }
}

async fn live_instances(moto: &Moto, app: &str) -> Vec<String> {
    let out = direct::ec2(&moto.endpoint())
        .await
        .describe_instances()
        .filters(Filter::builder().name("tag:berth:app").values(app).build())
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_lost_run_instances_answer_leaves_no_duplicate_instance() {
    let f = faulty(
        vec![
            ("ec2:RunInstances", 1, Fault::lose(Kind::InternalError)),
            (
                "ec2:TerminateInstances",
                2,
                Fault::lose(Kind::RequestLimitExceeded),
            ),
        ],
        3,
    )
    .await;
    let ami =
        f.c.ec2
            .describe_images()
            .owners("amazon")
            .send()
            .await
            .unwrap()
            .images()[0]
            .image_id()
            .unwrap()
            .to_string();
    let release = Release {
        number: 1,
        image: "app:1".into(),
        fingerprint: "fp1".into(),
    };
    let web = Ec2Compute::new(
        f.c.clone(),
        LaunchSpec {
            app: "web".into(),
            ami,
            instance_type: "t3.micro".into(),
            payload: Some(LaunchPayload::new(release.clone(), "#!/bin/bash\n").unwrap()),
            rollout_id: "r1t1".into(),
            ..LaunchSpec::default()
        },
    );
    let launched = web.launch(&release, 2, 0).await.unwrap();
    assert_eq!(launched.len(), 2);
    let mut live = live_instances(&f.moto, "web").await;
    live.sort();
    let mut ids: Vec<String> = launched.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    assert_eq!(live, ids, "exactly the instances launch returned are live");
    assert_eq!(f.proxy.faults().lost(), 1);
    let calls = f.proxy.take();
    assert_eq!(calls.0["ec2:RunInstances"], 2, "the SDK retried once");
    assert_eq!(calls.0["ec2:TerminateInstances"], 1, "the duplicates went");

    // Terminating again after a lost answer is fine.
    web.terminate(&ids).await.unwrap();
    assert!(live_instances(&f.moto, "web").await.is_empty());
    assert_eq!(f.proxy.faults().lost(), 2);
}

#[tokio::test]
async fn a_launch_that_fails_after_a_lost_answer_leaves_nothing_running() {
    let f = faulty(
        vec![
            (
                "ec2:RunInstances",
                1,
                Fault::lose(Kind::RequestLimitExceeded),
            ),
            (
                "ec2:RunInstances",
                2,
                Fault::refuse(Kind::RequestLimitExceeded),
            ),
            ("ec2:RunInstances", 3, Fault::refuse(Kind::InternalError)),
        ],
        3,
    )
    .await;
    let ami =
        f.c.ec2
            .describe_images()
            .owners("amazon")
            .send()
            .await
            .unwrap()
            .images()[0]
            .image_id()
            .unwrap()
            .to_string();
    let release = Release {
        number: 2,
        image: "app:2".into(),
        fingerprint: "fp2".into(),
    };
    let web = Ec2Compute::new(
        f.c.clone(),
        LaunchSpec {
            app: "web".into(),
            ami,
            instance_type: "t3.micro".into(),
            payload: Some(LaunchPayload::new(release.clone(), "").unwrap()),
            rollout_id: "r2t1".into(),
            ..LaunchSpec::default()
        },
    );
    let err = web.launch(&release, 1, 0).await.unwrap_err().to_string();
    assert!(err.contains("RunInstances: InternalError"), "{err}");
    assert!(
        live_instances(&f.moto, "web").await.is_empty(),
        "what the lost call started is terminated"
    );
}

#[tokio::test]
async fn a_lost_create_security_group_answer_adopts_the_group() {
    let f = faulty(
        vec![
            (
                "ec2:CreateSecurityGroup",
                1,
                Fault::lose(Kind::InternalError),
            ),
            (
                "ec2:AuthorizeSecurityGroupIngress",
                1,
                Fault::lose(Kind::RequestLimitExceeded),
            ),
            (
                "ec2:RevokeSecurityGroupIngress",
                1,
                Fault::lose(Kind::InternalError),
            ),
            (
                "ec2:DeleteSecurityGroup",
                1,
                Fault::lose(Kind::InternalError),
            ),
        ],
        3,
    )
    .await;
    let vpc = ec2::vpc_for(&f.c, None).await.unwrap();
    let want = Ingress {
        ports: [80].into(),
        cidrs: ["0.0.0.0/0".to_string()].into(),
    };
    let sg = ec2::ensure_app_security_group(&f.c, "web", &vpc, &want, &Default::default())
        .await
        .unwrap();
    let groups = direct::ec2(&f.moto.endpoint())
        .await
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values("berth-web")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = groups
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id())
        .collect();
    assert_eq!(ids, vec![sg.as_str()], "one group, the one adopted");
    let rules = groups.security_groups()[0].ip_permissions();
    assert_eq!(rules.len(), 1, "{rules:?}");

    let other = Ingress {
        ports: [8080].into(),
        cidrs: ["10.0.0.0/8".to_string()].into(),
    };
    let again = ec2::ensure_app_security_group(&f.c, "web", &vpc, &other, &Default::default())
        .await
        .unwrap();
    assert_eq!(again, sg);
    ec2::delete_security_group(&f.c, &sg, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        ec2::find_app_security_group(&f.c, "web").await.unwrap(),
        None
    );
    assert_eq!(f.proxy.faults().lost(), 4, "{}", f.proxy.faults());
}

fn https_check() -> HealthCheckSpec {
    HealthCheckSpec {
        protocol: "HTTPS".into(),
        fqdn: Some("green.example.net".into()),
        ip: None,
        port: 443,
        path: Some("/up".into()),
        interval: 10,
        failure_threshold: 3,
    }
}

#[tokio::test]
async fn a_lost_create_health_check_answer_adopts_the_check() {
    let f = faulty(
        vec![
            (
                "route53:CreateHealthCheck",
                1,
                Fault::lose(Kind::InternalFailure),
            ),
            (
                "route53:CreateHealthCheck",
                2,
                Fault::refuse(Kind::Throttling),
            ),
            (
                "route53:CreateHealthCheck",
                3,
                Fault::lose(Kind::InternalFailure),
            ),
            (
                "route53:ListHealthChecks",
                3,
                Fault::refuse(Kind::PriorRequestNotComplete),
            ),
        ],
        3,
    )
    .await;
    let tags = [("berth:owner".to_string(), "route/api".to_string())];
    let reference = berth_aws::health_check_ref::fresh("route/api", "green", &https_check());
    let id = routing::create_health_check(&f.c, &https_check(), &reference, &tags)
        .await
        .unwrap();
    let all = direct::route53(&f.moto.endpoint())
        .await
        .list_health_checks()
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = all.health_checks().iter().map(|h| h.id()).collect();
    assert_eq!(ids, vec![id.as_str()], "one check, the one adopted");
    assert_eq!(
        routing::health_checks_owned_by(&f.c, "route/api")
            .await
            .unwrap(),
        vec![id.clone()],
        "and tagged"
    );

    // Refused, then lost on the retry: adopted after the second attempt.
    let second = routing::create_health_check(&f.c, &https_check(), "berth-api-blue-1", &tags)
        .await
        .unwrap();
    assert_ne!(second, id);
    let all = direct::route53(&f.moto.endpoint())
        .await
        .list_health_checks()
        .send()
        .await
        .unwrap();
    assert_eq!(all.health_checks().len(), 2);
    assert_eq!(f.proxy.take().0["route53:CreateHealthCheck"], 3);
}

fn rec(id: &str, host: &str, weight: i64) -> WeightedRecord {
    WeightedRecord {
        set_id: id.into(),
        value: RecordValue::Cname(host.into()),
        weight,
        ttl: 30,
        health_check_id: None,
    }
}

#[tokio::test]
async fn weighted_changes_converge_after_lost_answers_and_stale_reads() {
    let f = faulty(
        vec![
            (
                "route53:ChangeResourceRecordSets",
                1,
                Fault::lose(Kind::InternalFailure),
            ),
            (
                "route53:ChangeResourceRecordSets",
                3,
                Fault::refuse(Kind::PriorRequestNotComplete),
            ),
        ],
        3,
    )
    .await;
    let zone = direct::create_zone(&f.moto.endpoint(), "example.com")
        .await
        .unwrap();
    let fqdn = "api.example.com";
    let first = [
        rec("paas", "old.herokuapp.com", 100),
        rec("aws", "origin.example.com", 0),
    ];
    routing::set_weighted(&f.c, &zone, fqdn, &first, &[], Duration::from_millis(1))
        .await
        .unwrap();
    // The caller's view is stale: it still believes in a set that a lost
    // change already replaced. The DELETE it computes is rejected; berth
    // reads again and converges.
    let stale = [rec("legacy", "legacy.example.net", 7)];
    let next = [
        rec("paas", "old.herokuapp.com", 0),
        rec("aws", "origin.example.com", 100),
    ];
    routing::set_weighted(&f.c, &zone, fqdn, &next, &stale, Duration::from_millis(1))
        .await
        .unwrap();
    let now = routing::weighted_records(&f.c, &zone, fqdn).await.unwrap();
    assert_eq!(now, vec![next[1].clone(), next[0].clone()]);
    let weights = direct::weighted_sets(&f.moto.endpoint(), &zone, "api.example.com.")
        .await
        .unwrap();
    assert_eq!(weights, [("aws".into(), 100), ("paas".into(), 0)].into());
    assert_eq!(f.proxy.faults().total(), 2);
}

#[tokio::test]
async fn every_injected_kind_is_retried_and_a_surfacing_error_names_call_and_code() {
    let f = faulty(
        vec![
            (
                "ec2:DescribeAvailabilityZones",
                1,
                Fault::refuse(Kind::RequestLimitExceeded),
            ),
            (
                "ec2:DescribeAvailabilityZones",
                2,
                Fault::refuse(Kind::InternalError),
            ),
            (
                "route53:ListHostedZonesByName",
                1,
                Fault::refuse(Kind::Throttling),
            ),
            (
                "route53:ListHostedZonesByName",
                2,
                Fault::refuse(Kind::PriorRequestNotComplete),
            ),
            (
                "ec2:DescribeAvailabilityZones",
                4,
                Fault::refuse(Kind::RequestLimitExceeded),
            ),
        ],
        3,
    )
    .await;
    direct::create_zone(&f.moto.endpoint(), "example.com")
        .await
        .unwrap();
    assert!(
        !ec2::availability_zones(&f.c, None)
            .await
            .unwrap()
            .is_empty()
    );
    let zone = berth_aws::dns::find_zone(&f.c, "example.com")
        .await
        .unwrap();
    assert_eq!(zone.name, "example.com.");
    let calls = f.proxy.take();
    assert_eq!(calls.0["ec2:DescribeAvailabilityZones"], 3);
    assert_eq!(calls.0["route53:ListHostedZonesByName"], 3);

    // Without retries the error surfaces, naming the call and AWS's code.
    let once = berth_aws::config::load(&Settings::emulator(f.proxy.endpoint()))
        .await
        .unwrap();
    let err = ec2::availability_zones(&once, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "DescribeAvailabilityZones: RequestLimitExceeded: Request limit exceeded."
    );
    assert!(err.is_transient());
}

//! The fleet simulator and load generator against a real moto server:
//! instances launched with berth's tags and user-data boot, report health
//! through the `berth:health` tag and serve HTTP on loopback; bad
//! user-data and broken images never become healthy; terminated instances
//! stop serving; the load generator resolves Route53 like a caching
//! resolver and counts failures.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use base64::Engine as _;
use berth_acceptance_tests::loadgen::{LoadGen, LoadOptions};
use berth_acceptance_tests::sim::{BROKEN_HEALTH, FleetSim, HEALTHY, SimOptions, TAG_HEALTH};
use berth_acceptance_tests::{Moto, clients, repo_root};

const STORY_IMAGE: &str = "registry.example.com/shop:2026-11-23T10-00";
const RECORD: &str = "web.berth.test";
/// One of the images moto (5.2.5) ships in every region.
const MOTO_AMI_NAME: &str = "ubuntu/images/hvm-ssd/ubuntu-trusty-14.04-amd64-server-20170727";

/// A moto server with SDK clients and an AMI.
struct Bed {
    moto: Moto,
    ec2: aws_sdk_ec2::Client,
    r53: aws_sdk_route53::Client,
    ami: String,
}

impl Bed {
    async fn new() -> Bed {
        let moto = Moto::start().unwrap();
        let ec2 = clients::ec2(&moto.endpoint()).await;
        let r53 = clients::route53(&moto.endpoint()).await;
        // A name filter: all of `owners("amazon")` is 1.2 MB and ~1 s in moto.
        let imgs = ec2
            .describe_images()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("name")
                    .values(MOTO_AMI_NAME)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let ami = imgs.images()[0].image_id().unwrap().to_string();
        Bed {
            moto,
            ec2,
            r53,
            ami,
        }
    }

    fn sim(&self, opts: SimOptions) -> FleetSim {
        FleetSim::start(&self.moto.endpoint(), opts).unwrap()
    }

    /// Launches one instance of app `web` as berth would; returns its id.
    async fn launch(&self, release: u32, user_data: &str) -> String {
        let tags = [
            ("berth:managed-by", "berth".to_string()),
            ("berth:app", "web".to_string()),
            ("berth:release", release.to_string()),
            ("berth:fingerprint", format!("fp{release}")),
        ];
        let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
        for (k, v) in tags {
            spec = spec.tags(Tag::builder().key(k).value(v).build());
        }
        let out = self
            .ec2
            .run_instances()
            .image_id(&self.ami)
            .instance_type(InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .user_data(base64::engine::general_purpose::STANDARD.encode(user_data))
            .tag_specifications(spec.build())
            .send()
            .await
            .unwrap();
        out.instances()[0].instance_id().unwrap().to_string()
    }

    /// `(private ip, public ip)` as moto reports them.
    async fn ips(&self, id: &str) -> (Option<String>, Option<String>) {
        let d = self
            .ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .unwrap();
        let i = &d.reservations()[0].instances()[0];
        (
            i.private_ip_address().map(str::to_string),
            i.public_ip_address().map(str::to_string),
        )
    }

    async fn private_ip(&self, id: &str) -> String {
        self.ips(id).await.0.unwrap()
    }

    async fn health(&self, id: &str) -> Option<String> {
        let d = self
            .ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .unwrap();
        d.reservations()[0].instances()[0]
            .tags()
            .iter()
            .find(|t| t.key() == Some(TAG_HEALTH))
            .and_then(|t| t.value())
            .map(str::to_string)
    }

    /// Waits until instance `id` carries a `berth:health` tag.
    async fn wait_health(&self, id: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(h) = self.health(id).await {
                return h;
            }
            assert!(Instant::now() < deadline, "{id} never reported health");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn terminate(&self, id: &str) {
        self.ec2
            .terminate_instances()
            .instance_ids(id)
            .send()
            .await
            .unwrap();
    }

    async fn zone(&self) -> String {
        let z = self
            .r53
            .create_hosted_zone()
            .name("berth.test")
            .caller_reference(format!("fleet-sim-{}", std::process::id()))
            .send()
            .await
            .unwrap();
        z.hosted_zone().unwrap().id().to_string()
    }

    /// UPSERTs the A record `RECORD` with `ips` and `ttl`.
    async fn point(&self, zone: &str, ips: &[String], ttl: i64) {
        let mut rrs = ResourceRecordSet::builder()
            .name(RECORD)
            .r#type(RrType::A)
            .ttl(ttl);
        for ip in ips {
            rrs = rrs.resource_records(ResourceRecord::builder().value(ip).build().unwrap());
        }
        self.r53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(
                ChangeBatch::builder()
                    .changes(
                        Change::builder()
                            .action(ChangeAction::Upsert)
                            .resource_record_set(rrs.build().unwrap())
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
}

fn story_one() -> String {
    std::fs::read_to_string(repo_root().join("provider/testdata/userdata/story_one.sh")).unwrap()
}

fn story_with_image(image: &str) -> String {
    story_one().replace(STORY_IMAGE, image)
}

fn fast() -> SimOptions {
    SimOptions {
        boot_delay: Duration::from_millis(300),
        poll_interval: Duration::from_millis(100),
        forbidden: Vec::new(),
    }
}

/// One blocking `GET /`; the status line and body.
fn http_get(addr: SocketAddr) -> std::io::Result<(String, serde_json::Value)> {
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(b"GET /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    Ok((
        head.lines().next().unwrap().to_string(),
        serde_json::from_str(body).unwrap(),
    ))
}

async fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn valid_instance_boots_reports_healthy_and_serves_http() {
    let bed = Bed::new().await;
    let sim = bed.sim(fast());
    let script = story_one();
    let started = Instant::now();
    let id = bed.launch(7, &script).await;
    assert_eq!(bed.wait_health(&id).await, HEALTHY);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "healthy only after the boot delay"
    );

    let booted = sim.booted();
    assert_eq!(booted.len(), 1, "{booted:?}");
    let b = &booted[0];
    assert_eq!(
        (
            b.id.as_str(),
            b.app.as_str(),
            b.image.as_str(),
            b.release.as_str()
        ),
        (id.as_str(), "web", STORY_IMAGE, "7")
    );
    assert!(b.addr.ip().is_loopback() && b.addr.ip().to_string().starts_with("127.0."));
    assert_eq!(sim.user_data(&id).as_deref(), Some(script.as_str()));
    assert!(sim.problems().is_empty(), "{:?}", sim.problems());

    // Both addresses moto reports map to the instance's server.
    // (moto gives every instance a random 10.x private and 54.214.x public IP.)
    let (private, public) = bed.ips(&id).await;
    assert_eq!(sim.address_of(&private.unwrap()), Some(b.addr));
    assert_eq!(sim.address_of(&public.unwrap()), Some(b.addr));
    assert_eq!(sim.address_of("192.0.2.1"), None);

    let (status, body) = http_get(b.addr).unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body["instance"], id.as_str());
    assert_eq!(body["app"], "web");
    assert_eq!(body["image"], STORY_IMAGE);
    assert_eq!(body["release"], "7");
}

#[tokio::test]
async fn broken_image_reports_unhealthy_and_serves_nothing() {
    let bed = Bed::new().await;
    let sim = bed.sim(fast());
    let good = bed.launch(1, &story_one()).await;
    let bad = bed
        .launch(
            2,
            &story_with_image("registry.example.com/shop:broken-build"),
        )
        .await;
    assert_eq!(bed.wait_health(&bad).await, BROKEN_HEALTH);
    assert_eq!(bed.wait_health(&good).await, HEALTHY);
    let booted: Vec<String> = sim.booted().into_iter().map(|b| b.id).collect();
    assert_eq!(booted, vec![good]);
    assert_eq!(sim.address_of(&bed.private_ip(&bad).await), None);
    assert!(
        sim.problems().is_empty(),
        "a broken image is not a user-data problem"
    );
}

#[tokio::test]
async fn forbidden_secret_in_user_data_is_reported_and_never_healthy() {
    let bed = Bed::new().await;
    let secret = "redis://:hunter2-s3cr3t@cache.internal:6379";
    let sim = bed.sim(SimOptions {
        forbidden: vec!["unused-value".into(), secret.into()],
        ..fast()
    });
    let leaky = story_one().replace(
        "'--env=RAILS_ENV=production'",
        &format!("'--env=RAILS_ENV=production' '--env=REDIS_URL={secret}'"),
    );
    let id = bed.launch(3, &leaky).await;
    let health = bed.wait_health(&id).await;
    assert!(health.starts_with("unhealthy: user-data: "), "{health}");
    assert!(!health.contains(secret), "the tag must not leak the secret");
    let problems = sim.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].instance_id, id);
    assert!(
        problems[0].message.contains("forbidden value #2"),
        "{problems:?}"
    );
    assert!(!problems[0].message.contains(secret));
    // It never boots, even after the boot delay.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sim.booted().is_empty());
    assert!(bed.health(&id).await.unwrap().starts_with("unhealthy"));
}

#[tokio::test]
async fn bash_syntax_error_in_user_data_is_reported() {
    let bed = Bed::new().await;
    let sim = bed.sim(fast());
    // Drop the `fi` closing the first `if`.
    let script = story_one().replacen("\nfi\n", "\n", 1);
    let id = bed.launch(4, &script).await;
    let health = bed.wait_health(&id).await;
    assert!(
        health.starts_with("unhealthy: user-data: bash -n"),
        "{health}"
    );
    let problems = sim.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].instance_id, id);
    assert!(
        problems[0].message.contains("bash -n rejects it")
            && problems[0].message.contains("syntax error"),
        "{problems:?}"
    );
    assert!(sim.booted().is_empty());
}

#[tokio::test]
async fn user_data_without_a_release_manifest_or_shebang_is_reported() {
    let bed = Bed::new().await;
    let sim = bed.sim(fast());
    let no_shebang = bed.launch(5, "echo hello\n").await;
    let bad_json = bed
        .launch(
            6,
            &story_one().replace("\"containers\": [", "\"containers\": [["),
        )
        .await;
    bed.wait_health(&no_shebang).await;
    bed.wait_health(&bad_json).await;
    let problems = sim.problems();
    let of = |id: &str| -> Vec<String> {
        problems
            .iter()
            .filter(|p| p.instance_id == id)
            .map(|p| p.message.clone())
            .collect()
    };
    let a = of(&no_shebang);
    assert!(a.iter().any(|m| m.contains("#!/bin/bash")), "{a:?}");
    assert!(a.iter().any(|m| m.contains("no release manifest")), "{a:?}");
    let b = of(&bad_json);
    assert!(
        b.iter().any(|m| m.contains("release manifest is not JSON")),
        "{b:?}"
    );
    assert!(sim.booted().is_empty());
}

#[tokio::test]
async fn terminating_an_instance_stops_its_server() {
    let bed = Bed::new().await;
    let sim = bed.sim(fast());
    let id = bed.launch(7, &story_one()).await;
    assert_eq!(bed.wait_health(&id).await, HEALTHY);
    let addr = sim.booted()[0].addr;
    assert!(http_get(addr).is_ok());
    assert_eq!(sim.serving().len(), 1);

    bed.terminate(&id).await;
    let t0 = Instant::now();
    wait_until("the server to stop", Duration::from_secs(3), || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
    })
    .await;
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    assert!(sim.serving().is_empty());
    assert_eq!(sim.booted().len(), 1, "booted() keeps the history");
    // Its IP still maps to the (now dead) address, as a real IP would.
    assert_eq!(sim.address_of(&bed.private_ip(&id).await), Some(addr));
}

#[tokio::test]
async fn stopping_the_simulator_stops_every_server() {
    let bed = Bed::new().await;
    let sim = bed.sim(fast());
    let id = bed.launch(7, &story_one()).await;
    assert_eq!(bed.wait_health(&id).await, HEALTHY);
    let addr = sim.booted()[0].addr;
    sim.stop();
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
}

#[tokio::test]
async fn load_generator_counts_no_failures_while_instances_serve() {
    let bed = Bed::new().await;
    let sim = bed.sim(fast());
    let a = bed.launch(7, &story_one()).await;
    let b = bed.launch(7, &story_one()).await;
    assert_eq!(bed.wait_health(&a).await, HEALTHY);
    assert_eq!(bed.wait_health(&b).await, HEALTHY);
    let zone = bed.zone().await;
    // One instance by private IP, the other by public IP.
    let b_public = bed.ips(&b).await.1.unwrap();
    bed.point(&zone, &[bed.private_ip(&a).await, b_public], 1)
        .await;

    let lg = LoadGen::start(
        &bed.moto.endpoint(),
        &zone,
        RECORD,
        sim.resolver(),
        LoadOptions::default(),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = lg.stop();
    assert_eq!(r.error, None);
    assert_eq!(r.failures, 0, "{r:?}");
    assert!(r.requests >= 20, "{r:?}");
    assert_eq!(r.by_image.get(STORY_IMAGE), Some(&r.requests), "{r:?}");
    assert_eq!(r.by_instance.len(), 2, "round-robin over both: {r:?}");
    assert!(r.resolutions >= 2, "TTL 1 s re-resolves: {r:?}");
}

#[tokio::test]
async fn load_generator_honours_ttl_when_the_record_moves() {
    let bed = Bed::new().await;
    let sim = bed.sim(fast());
    let old = bed.launch(1, &story_with_image("shop:v1")).await;
    let new = bed.launch(2, &story_with_image("shop:v2")).await;
    assert_eq!(bed.wait_health(&old).await, HEALTHY);
    assert_eq!(bed.wait_health(&new).await, HEALTHY);
    let zone = bed.zone().await;
    bed.point(&zone, &[bed.private_ip(&old).await], 2).await;
    let new_ip = bed.private_ip(&new).await;

    let lg = LoadGen::start(
        &bed.moto.endpoint(),
        &zone,
        RECORD,
        sim.resolver(),
        LoadOptions::default(),
    )
    .unwrap();
    wait_until("v1 traffic", Duration::from_secs(10), || {
        lg.report().by_image.contains_key("shop:v1")
    })
    .await;
    // Move the record right after a fresh resolution, so the cached answer
    // has (almost) its whole TTL left.
    let n = lg.report().resolutions;
    wait_until("a re-resolution", Duration::from_secs(5), || {
        lg.report().resolutions > n
    })
    .await;
    bed.point(&zone, std::slice::from_ref(&new_ip), 2).await;
    let moved = lg.elapsed();
    let resolved = lg.report().last_resolution.unwrap();
    assert!(moved < resolved + Duration::from_secs(1), "moved in time");

    wait_until("v2 traffic", Duration::from_secs(5), || {
        lg.report().by_image.contains_key("shop:v2")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = lg.stop();
    assert_eq!(r.failures, 0, "{r:?}");
    assert_eq!(r.answer, vec![new_ip]);
    let (v1_last, v2_first) = (r.last_success["shop:v1"], r.first_success["shop:v2"]);
    let ttl = Duration::from_secs(2);
    // The cached answer was used until its TTL ran out, not a moment less…
    assert!(
        v2_first >= resolved + ttl,
        "new instance hit {v2_first:?}, answer cached at {resolved:?} with TTL {ttl:?}"
    );
    // …the old instance kept serving after the change…
    assert!(
        v1_last >= moved + Duration::from_millis(800),
        "old instance last hit {v1_last:?}, record moved at {moved:?}"
    );
    // …and traffic moved soon after expiry, all of it.
    assert!(
        v2_first <= resolved + ttl + Duration::from_secs(1),
        "switched at {v2_first:?}, answer cached at {resolved:?}"
    );
    assert!(v1_last < v2_first, "no old traffic after the switch: {r:?}");
}

#[tokio::test]
async fn load_generator_counts_failures_when_the_record_points_at_a_terminated_instance() {
    let bed = Bed::new().await;
    let sim = bed.sim(fast());
    let id = bed.launch(7, &story_one()).await;
    assert_eq!(bed.wait_health(&id).await, HEALTHY);
    let zone = bed.zone().await;
    bed.point(&zone, &[bed.private_ip(&id).await], 1).await;
    let lg = LoadGen::start(
        &bed.moto.endpoint(),
        &zone,
        RECORD,
        sim.resolver(),
        LoadOptions::default(),
    )
    .unwrap();
    wait_until("traffic", Duration::from_secs(10), || {
        lg.report().successes() > 5
    })
    .await;
    assert_eq!(lg.report().failures, 0);
    bed.terminate(&id).await;
    wait_until("failures", Duration::from_secs(5), || {
        lg.report().failures > 5
    })
    .await;
    let r = lg.stop();
    assert!(
        r.failure_reasons.get("connection refused").copied() >= Some(5),
        "{r:?}"
    );
    assert_eq!(r.requests, r.failures + r.by_image.values().sum::<u64>());
}

#[tokio::test]
async fn load_generator_counts_unmapped_addresses_and_missing_records() {
    let bed = Bed::new().await;
    let sim = bed.sim(fast());
    let zone = bed.zone().await;
    bed.point(&zone, &["192.0.2.10".to_string()], 0).await;
    let lg = LoadGen::start(
        &bed.moto.endpoint(),
        &zone,
        RECORD,
        sim.resolver(),
        LoadOptions::default(),
    )
    .unwrap();
    wait_until("failures", Duration::from_secs(10), || {
        lg.report().failures >= 3
    })
    .await;
    let r = lg.stop();
    assert_eq!(r.failure_reasons.get("unmapped address"), Some(&r.failures));
    assert!(r.resolutions >= r.requests, "TTL 0: resolve every request");
}

#[tokio::test]
async fn load_generator_reports_an_error_when_the_record_never_appears() {
    let bed = Bed::new().await;
    let sim = bed.sim(fast());
    let zone = bed.zone().await;
    let lg = LoadGen::start(
        &bed.moto.endpoint(),
        &zone,
        RECORD,
        sim.resolver(),
        LoadOptions {
            start_timeout: Duration::from_millis(400),
            ..LoadOptions::default()
        },
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    let r = lg.stop();
    assert_eq!(r.requests, 0, "nothing counted while waiting: {r:?}");
    let err = r.error.unwrap();
    assert!(
        err.contains(RECORD) && err.contains("did not resolve"),
        "{err}"
    );
}

#[test]
fn simulator_start_fails_without_an_emulator() {
    let port = berth_acceptance_tests::free_port().unwrap();
    let err =
        FleetSim::start(&format!("http://127.0.0.1:{port}"), SimOptions::default()).unwrap_err();
    assert!(format!("{err:#}").contains("polling"), "{err:#}");
}

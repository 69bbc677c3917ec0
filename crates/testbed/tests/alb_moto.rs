//! The bed's load balancer (`berth_testbed::alb`) playing a listener kept
//! in moto: requests reach the app's rule by host and the target groups by
//! the rule's weights, a weight change made in moto is followed within a
//! refresh, a target that fails its health checks stops getting requests
//! after the group's threshold, and a deregistered one gets no new ones.
//! The "instances" are small HTTP servers on loopback standing in for the
//! moto instances registered as targets.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_aws::lb::{self, RuleMatch, TargetCheck, TargetGroupSpec};
use berth_testbed::Moto;
use berth_testbed::alb::{Alb, TargetHealth};
use berth_testbed::loadgen::{AddressMap, LoadGen, LoadOptions};

/// Moto private IP → where its stand-in serves.
#[derive(Clone, Default)]
struct Map(Arc<Mutex<BTreeMap<String, SocketAddr>>>);

impl AddressMap for Map {
    fn address_of(&self, ip: &str) -> Option<SocketAddr> {
        self.0.lock().unwrap().get(ip).copied()
    }
}

/// A stand-in instance: `GET /up` answers 200 (500 while `sick`), any
/// other path answers its name; counts the requests that are not checks.
/// One thread per connection.
struct App {
    addr: SocketAddr,
    sick: Arc<AtomicBool>,
    hits: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl App {
    fn start(name: &str) -> App {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (sick, hits, stop) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (s, h, st, name) = (sick.clone(), hits.clone(), stop.clone(), name.to_string());
        std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let (s, h, name) = (s.clone(), h.clone(), name.clone());
                std::thread::spawn(move || {
                    conn.set_nonblocking(false).unwrap();
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                    // The whole head: closing with unread bytes would
                    // reset the connection before the answer is read.
                    let mut head = Vec::new();
                    let mut buf = [0u8; 2048];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    let check = head.starts_with("GET /up ");
                    let (status, body) = if check && s.load(Ordering::SeqCst) {
                        ("500 Internal Server Error", "sick".to_string())
                    } else if check {
                        ("200 OK", "ok".to_string())
                    } else {
                        h.fetch_add(1, Ordering::SeqCst);
                        ("200 OK", name)
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(answer.as_bytes());
                });
            }
        });
        App {
            addr,
            sick,
            hits,
            stop,
        }
    }

    fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// One request through the load balancer: (status, body).
fn get(alb: &Alb, host: &str) -> (u16, String) {
    let mut s = TcpStream::connect(alb.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Setup {
    listener: String,
    rule: String,
    blue: String,
    green: String,
    /// Instance ids per group and their private IPs.
    instances: Vec<(String, String, String)>,
}

fn setup(moto: &Moto) -> Setup {
    moto.with_clients(|c| async move {
        use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
        let (vpc, listener) = berth_testbed::alb::users_listener(&c, "shop")
            .await
            .unwrap();
        let mut groups = Vec::new();
        let mut instances = Vec::new();
        for (release, name) in [(1, "blue"), (2, "green")] {
            let tg = lb::ensure_target_group(
                &c,
                &TargetGroupSpec {
                    name: lb::target_group_name("shop", release, "fp"),
                    vpc_id: vpc.clone(),
                    port: 80,
                    check: TargetCheck {
                        path: "/up".into(),
                        port: 80,
                        interval: 2,
                        timeout: 1,
                        healthy_threshold: 2,
                        unhealthy_threshold: 2,
                    },
                    deregistration_delay: 1,
                    tags: [("berth:app".to_string(), "shop".to_string())].into(),
                },
            )
            .await
            .unwrap();
            let run = c
                .ec2
                .run_instances()
                .image_id("ami-12c6146b")
                .min_count(2)
                .max_count(2)
                .send()
                .await
                .unwrap();
            let mut reg = c.elb.register_targets().target_group_arn(&tg);
            for i in run.instances() {
                let id = i.instance_id().unwrap().to_string();
                let ip = i.private_ip_address().unwrap().to_string();
                reg = reg.targets(TargetDescription::builder().id(&id).port(80).build());
                instances.push((name.to_string(), id, ip));
            }
            reg.send().await.unwrap();
            groups.push(tg);
        }
        let weights: BTreeMap<String, u32> =
            [(groups[0].clone(), 1), (groups[1].clone(), 0)].into();
        let rule = lb::create_rule(
            &c,
            &listener,
            &RuleMatch {
                hosts: vec!["shop.example.com".into()],
                paths: vec![],
                priority: 10,
            },
            &weights,
            &[("berth:app".to_string(), "shop".to_string())].into(),
        )
        .await
        .unwrap();
        Setup {
            listener,
            rule,
            blue: groups[0].clone(),
            green: groups[1].clone(),
            instances,
        }
    })
}

#[test]
fn the_beds_load_balancer_routes_by_rule_weight_and_health_as_moto_says() {
    let moto = Moto::start().unwrap();
    let s = setup(&moto);
    let map = Map::default();
    let mut apps: BTreeMap<String, App> = BTreeMap::new();
    for (group, id, ip) in &s.instances {
        let app = App::start(&format!("{group} {id}"));
        map.0.lock().unwrap().insert(ip.clone(), app.addr);
        apps.insert(id.clone(), app);
    }
    let ids = |g: &str| -> Vec<String> {
        s.instances
            .iter()
            .filter(|(group, _, _)| group == g)
            .map(|(_, id, _)| id.clone())
            .collect()
    };
    let (blue, green) = (ids("blue"), ids("green"));
    let alb = Alb::start(&moto.endpoint(), &s.listener, "127.0.0.1", map).unwrap();
    let healthy = |g: &str, ids: &[String]| {
        ids.iter()
            .all(|id| alb.health(g, id) == Some(TargetHealth::Healthy))
    };
    eventually(Duration::from_secs(10), "healthy targets", || {
        healthy(&s.blue, &blue) && healthy(&s.green, &green)
    });

    // By host, to the group with all the weight; both its targets in turn.
    for _ in 0..10 {
        let (status, body) = get(&alb, "shop.example.com");
        assert_eq!(status, 200);
        assert!(body.starts_with("blue "), "{body}");
    }
    assert!(blue.iter().all(|id| apps[id].hits() == 5), "round robin");
    assert_eq!(get(&alb, "other.example.com").0, 404, "the default action");

    // A weight change in moto is followed: half and half, exactly, with
    // no failed request while it happens.
    let load = LoadGen::through(
        alb.addr(),
        "shop.example.com",
        LoadOptions {
            interval: Duration::from_millis(10),
            ..LoadOptions::default()
        },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    moto.with_clients(|c| {
        let (rule, b, g) = (s.rule.clone(), s.blue.clone(), s.green.clone());
        async move {
            lb::modify_rule(&c, &rule, None, &[(b, 1), (g, 1)].into())
                .await
                .unwrap();
        }
    });
    eventually(Duration::from_secs(5), "the new weights", || {
        alb.weights_seen().len() == 2
    });
    std::thread::sleep(Duration::from_millis(300));
    let report = load.stop();
    assert!(report.requests > 20, "{report:?}");
    assert_eq!(report.failures, 0, "{report:?}");
    let bodies: Vec<String> = (0..20).map(|_| get(&alb, "shop.example.com").1).collect();
    let to_green = bodies.iter().filter(|b| b.starts_with("green ")).count();
    assert_eq!(to_green, 10, "{bodies:?}");

    // A target that fails its checks stops getting requests.
    apps[&blue[0]].sick.store(true, Ordering::SeqCst);
    let sick_at = Instant::now();
    eventually(Duration::from_secs(10), "the sick target out", || {
        alb.health(&s.blue, &blue[0]) == Some(TargetHealth::Unhealthy)
    });
    let detected = sick_at.elapsed();
    let before = apps[&blue[0]].hits();
    for _ in 0..20 {
        assert_eq!(get(&alb, "shop.example.com").0, 200);
    }
    assert_eq!(apps[&blue[0]].hits(), before, "no request to the sick one");
    println!("a sick target was out after {detected:?} (interval 2 s, threshold 2)");

    // Deregistered targets get no new requests; a group without targets
    // answers 503.
    moto.with_clients(|c| {
        let (g, ids) = (s.green.clone(), green.clone());
        async move {
            let mut req = c.elb.deregister_targets().target_group_arn(&g);
            for id in ids {
                req = req.targets(
                    aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                        .id(id)
                        .port(80)
                        .build(),
                );
            }
            req.send().await.unwrap();
        }
    });
    eventually(Duration::from_secs(5), "the targets gone", || {
        green.iter().all(|id| alb.health(&s.green, id).is_none())
    });
    let green_hits: u64 = green.iter().map(|id| apps[id].hits()).sum();
    let statuses: Vec<u16> = (0..10).map(|_| get(&alb, "shop.example.com").0).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 503).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        green.iter().map(|id| apps[id].hits()).sum::<u64>(),
        green_hits
    );
}

//! Rollout scenarios against a fake cloud (our own port traits) with a
//! paused tokio clock: boots, gates, drains and deadlines take no real time.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use berth_rollout::*;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A fake cloud: instances boot after `boot`, images listed in `broken`
/// fail health checks, DNS changes are recorded.
struct FakeCloud {
    boot: Duration,
    broken: BTreeSet<String>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next: u32,
    instances: BTreeMap<String, (Instance, Instant, u32)>,
    launches: BTreeMap<(String, u32), Vec<String>>,
    dns: Vec<Vec<String>>,
    log: Vec<String>,
}

impl FakeCloud {
    fn new(boot: Duration) -> FakeCloud {
        FakeCloud {
            boot,
            broken: BTreeSet::new(),
            state: Mutex::new(State::default()),
        }
    }
    fn with_broken(mut self, fingerprint: &str) -> FakeCloud {
        self.broken.insert(fingerprint.to_string());
        self
    }
    /// Pre-existing running instances of `fingerprint`, optionally in DNS.
    fn seed(&self, release: u64, fingerprint: &str, n: u32, in_dns: bool) -> Vec<Instance> {
        let mut st = self.state.lock().unwrap();
        let mut out = vec![];
        for _ in 0..n {
            st.next += 1;
            let id = format!("i-{:03}", st.next);
            let inst = Instance {
                id: id.clone(),
                release,
                fingerprint: fingerprint.into(),
                zone: "z1".into(),
                address: Some(format!("10.0.0.{}", st.next)),
                private_ip: Some(format!("10.0.0.{}", st.next)),
                public_ip: None,
                state: InstanceState::Running,
                reported_health: None,
            };
            st.instances.insert(id, (inst.clone(), Instant::now(), 0));
            out.push(inst);
        }
        if in_dns {
            let mut cur = st.dns.last().cloned().unwrap_or_default();
            cur.extend(out.iter().filter_map(|i| i.address.clone()));
            st.dns.push(cur);
        }
        out
    }
    fn fleet(&self) -> Fleet {
        let st = self.state.lock().unwrap();
        Fleet {
            instances: st
                .instances
                .values()
                .filter(|(i, ..)| i.is_live())
                .map(|(i, ..)| i.clone())
                .collect(),
            origin: st.dns.last().cloned().unwrap_or_default(),
        }
    }
    fn origin(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .dns
            .last()
            .cloned()
            .unwrap_or_default()
    }
    fn dns_history(&self) -> Vec<Vec<String>> {
        self.state.lock().unwrap().dns.clone()
    }
    fn live(&self) -> Vec<Instance> {
        self.fleet().instances
    }
}

#[async_trait]
impl Compute for FakeCloud {
    async fn launch(
        &self,
        release: &Release,
        count: u32,
        batch: u32,
    ) -> Result<Vec<Instance>, PortError> {
        let mut st = self.state.lock().unwrap();
        let key = (release.fingerprint.clone(), batch);
        if let Some(ids) = st.launches.get(&key) {
            // Idempotent: the same batch again returns the same instances.
            let ids = ids.clone();
            return Ok(ids.iter().map(|id| st.instances[id].0.clone()).collect());
        }
        let mut out = vec![];
        for _ in 0..count {
            st.next += 1;
            let id = format!("i-{:03}", st.next);
            let inst = Instance {
                id: id.clone(),
                release: release.number,
                fingerprint: release.fingerprint.clone(),
                zone: "z1".into(),
                address: None,
                private_ip: None,
                public_ip: None,
                state: InstanceState::Pending,
                reported_health: None,
            };
            let n = st.next;
            st.instances
                .insert(id.clone(), (inst.clone(), Instant::now() + self.boot, n));
            out.push(inst);
        }
        st.launches
            .insert(key, out.iter().map(|i| i.id.clone()).collect());
        st.log.push(format!("launch {count} batch {batch}"));
        Ok(out)
    }

    async fn refresh(&self, ids: &[String]) -> Result<Vec<Instance>, PortError> {
        let mut st = self.state.lock().unwrap();
        let now = Instant::now();
        let mut out = vec![];
        for id in ids {
            if let Some((inst, ready_at, n)) = st.instances.get_mut(id) {
                if inst.state == InstanceState::Pending && now >= *ready_at {
                    inst.state = InstanceState::Running;
                    inst.address = Some(format!("10.0.1.{n}"));
                }
                out.push(inst.clone());
            }
        }
        Ok(out)
    }

    async fn terminate(&self, ids: &[String]) -> Result<(), PortError> {
        let mut st = self.state.lock().unwrap();
        for id in ids {
            if let Some((inst, ..)) = st.instances.get_mut(id) {
                inst.state = InstanceState::Terminated;
            }
        }
        st.log.push(format!("terminate {}", ids.join(",")));
        Ok(())
    }
}

#[async_trait]
impl Probe for FakeCloud {
    async fn check(&self, instance: &Instance) -> Health {
        if self.broken.contains(&instance.fingerprint) {
            Health::Unhealthy("GET /up: HTTP 500".into())
        } else {
            Health::Healthy
        }
    }
}

#[async_trait]
impl Dns for FakeCloud {
    async fn point(&self, targets: &[String]) -> Result<(), PortError> {
        let mut st = self.state.lock().unwrap();
        // Every target must be a live, running instance: DNS never points
        // at something that cannot serve.
        for t in targets {
            let ok = st.instances.values().any(|(i, ..)| {
                i.address.as_deref() == Some(t) && i.state == InstanceState::Running
            });
            assert!(
                ok,
                "origin would point at {t}, which is not a running instance"
            );
        }
        st.dns.push(targets.to_vec());
        Ok(())
    }
}

struct Lines(Mutex<Vec<String>>);
impl Progress for Lines {
    fn report(&self, m: &str) {
        self.0.lock().unwrap().push(m.to_string());
    }
}

fn desired(n: u64, fp: &str, replicas: u32) -> Desired {
    Desired {
        release: Release {
            number: n,
            image: format!("app:{fp}"),
            fingerprint: fp.into(),
        },
        replicas,
    }
}

fn health() -> HealthPolicy {
    HealthPolicy {
        interval: Duration::from_secs(5),
        healthy_threshold: 2,
        unhealthy_threshold: 3,
        deadline: Duration::from_secs(300),
    }
}

async fn run(
    cloud: &FakeCloud,
    plan: &Plan,
    cancel: CancellationToken,
) -> (Result<Outcome, RolloutError>, Vec<String>) {
    let lines = Lines(Mutex::new(vec![]));
    let engine = Engine {
        compute: cloud,
        probe: cloud,
        dns: cloud,
        progress: &lines,
        cancel,
        health: health(),
    };
    let r = engine.run(plan).await;
    (r, lines.0.into_inner().unwrap())
}

#[tokio::test(start_paused = true)]
async fn create_launches_gates_then_points_the_origin() {
    let cloud = FakeCloud::new(Duration::from_secs(40));
    let plan = plan(&cloud.fleet(), &desired(1, "v1", 3), &Strategy::default());
    assert_eq!(plan.describe().len(), 3, "{plan}");
    let started = Instant::now();
    let (out, lines) = run(&cloud, &plan, CancellationToken::new()).await;
    let out = out.unwrap();
    assert_eq!(out.serving.len(), 3);
    assert_eq!(
        cloud.dns_history().len(),
        1,
        "one DNS change, after the gate"
    );
    assert_eq!(cloud.origin().len(), 3);
    // boot 40 s, then 2 passing checks 5 s apart.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(45) && took <= Duration::from_secs(55),
        "{took:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("gate: 3/3 healthy")),
        "{lines:?}"
    );
    // Second plan is empty.
    assert!(plan_again(&cloud, "v1", 3).is_empty());
}

fn plan_again(cloud: &FakeCloud, fp: &str, replicas: u32) -> Plan {
    plan(
        &cloud.fleet(),
        &desired(2, fp, replicas),
        &Strategy::default(),
    )
}

#[tokio::test(start_paused = true)]
async fn image_update_keeps_old_serving_until_new_are_healthy_then_drains_and_retires() {
    let cloud = FakeCloud::new(Duration::from_secs(30));
    let old = cloud.seed(1, "v1", 3, true);
    let strategy = Strategy {
        ttl: Duration::from_secs(60),
        drain: Duration::from_secs(30),
        ..Strategy::default()
    };
    let plan = plan(&cloud.fleet(), &desired(2, "v2", 3), &strategy);
    let text = plan.describe().join("\n");
    for want in [
        "launch 3",
        "gate",
        "expose",
        "cut over",
        "drain: wait 90 s",
        "retire 3 instance(s): old release",
    ] {
        assert!(text.contains(want), "{want} in\n{text}");
    }
    let started = Instant::now();
    let out = run(&cloud, &plan, CancellationToken::new())
        .await
        .0
        .unwrap();
    let dns = cloud.dns_history();
    assert_eq!(dns.len(), 3, "seed, expose (old+new), cutover: {dns:?}");
    assert_eq!(dns[1].len(), 6, "new joined beside old");
    assert!(
        old.iter()
            .all(|o| !dns[2].contains(o.address.as_ref().unwrap())),
        "cutover drops old"
    );
    assert_eq!(out.retired.len(), 3);
    assert!(cloud.live().iter().all(|i| i.fingerprint == "v2"));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(30 + 5 + 90),
        "gate + drain waited: {took:?}"
    );
    assert!(plan_again(&cloud, "v2", 3).is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_app_without_an_origin_record_never_speaks_of_one() {
    let cloud = FakeCloud::new(Duration::from_secs(30));
    cloud.seed(1, "v1", 2, true);
    let strategy = Strategy {
        origin_record: false,
        ..Strategy::default()
    };
    let plan = plan(&cloud.fleet(), &desired(2, "v2", 2), &strategy);
    let text = plan.describe().join("\n");
    assert!(
        text.contains("cut over: release 2 only serves (no origin record to change)"),
        "{text}"
    );
    assert!(!text.contains("origin →"), "{text}");
    let (out, lines) = run(&cloud, &plan, CancellationToken::new()).await;
    out.unwrap();
    let shifts: Vec<&String> = lines.iter().filter(|l| l.starts_with("shift:")).collect();
    assert!(!shifts.is_empty(), "{lines:?}");
    assert!(
        shifts
            .iter()
            .all(|l| l.starts_with("shift: serving set → ")),
        "{shifts:?}"
    );
    assert!(cloud.live().iter().all(|i| i.fingerprint == "v2"));

    // With a record, the same rollout speaks of the origin.
    let with_record = plan_with(&cloud, 3, "v3", 2, &Strategy::default());
    assert!(
        with_record
            .describe()
            .contains(&"cut over: origin → release 3 only".to_string()),
        "{with_record}"
    );
}

#[tokio::test(start_paused = true)]
async fn broken_image_rolls_back_and_old_release_keeps_serving() {
    let cloud = FakeCloud::new(Duration::from_secs(20)).with_broken("bad");
    cloud.seed(1, "v1", 2, true);
    let before = cloud.origin();
    let plan = plan(&cloud.fleet(), &desired(2, "bad", 2), &Strategy::default());
    let err = run(&cloud, &plan, CancellationToken::new())
        .await
        .0
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, RolloutError::GateFailed { ref failures, .. } if failures.len() == 2),
        "{msg}"
    );
    assert!(
        msg.contains("GET /up: HTTP 500 (3 checks in a row)"),
        "{msg}"
    );
    assert!(msg.contains("terminated new instance(s)"), "{msg}");
    assert_eq!(cloud.origin(), before, "origin never left the old release");
    assert!(
        cloud.live().iter().all(|i| i.fingerprint == "v1"),
        "new instances gone"
    );
    assert_eq!(cloud.live().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn without_auto_rollback_failed_instances_stay_up_out_of_dns() {
    let cloud = FakeCloud::new(Duration::from_secs(20)).with_broken("bad");
    cloud.seed(1, "v1", 2, true);
    let before = cloud.origin();
    let mut plan = plan(&cloud.fleet(), &desired(2, "bad", 2), &Strategy::default());
    plan.keep_failed = true;
    let err = run(&cloud, &plan, CancellationToken::new())
        .await
        .0
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("left running out of DNS for inspection"),
        "{msg}"
    );
    assert_eq!(cloud.origin(), before, "origin never left the old release");
    assert_eq!(
        cloud
            .live()
            .iter()
            .filter(|i| i.fingerprint == "bad")
            .count(),
        2
    );
    // The next plan (auto_rollback back on, same bad release) adopts them
    // instead of launching more.
    let again = berth_rollout::plan(&cloud.fleet(), &desired(2, "bad", 2), &Strategy::default());
    assert!(
        again.describe()[0].contains("left by an earlier apply"),
        "{:?}",
        again.describe()
    );
}

#[tokio::test(start_paused = true)]
async fn failure_in_a_later_batch_restores_the_origin_and_waits_ttl_before_terminating() {
    let cloud = FakeCloud::new(Duration::from_secs(10));
    cloud.seed(1, "v1", 4, true);
    let before = cloud.origin();
    let strategy = Strategy {
        batch_size: 2,
        ttl: Duration::from_secs(60),
        ..Strategy::default()
    };
    let plan = plan(&cloud.fleet(), &desired(2, "v2", 4), &strategy);
    let lines = Lines(Mutex::new(vec![]));
    struct SecondBatchBroken;
    #[async_trait]
    impl Probe for SecondBatchBroken {
        async fn check(&self, i: &Instance) -> Health {
            let n: u32 = i.id.trim_start_matches("i-").parse().unwrap();
            if n > 6 {
                Health::Unhealthy("connection refused".into())
            } else {
                Health::Healthy
            }
        }
    }
    let probe = SecondBatchBroken;
    let engine = Engine {
        compute: &cloud,
        probe: &probe,
        dns: &cloud,
        progress: &lines,
        cancel: CancellationToken::new(),
        health: health(),
    };
    let err = engine.run(&plan).await.unwrap_err();
    assert!(err.to_string().contains("connection refused"), "{err}");
    let dns = cloud.dns_history();
    assert_eq!(
        dns[1].len(),
        6,
        "batch 1 was exposed beside the old release"
    );
    assert_eq!(cloud.origin(), before, "origin restored");
    let lines = lines.0.into_inner().unwrap();
    let wait = lines
        .iter()
        .position(|l| l.contains("waiting 60 s (TTL) before terminating"))
        .expect("waits TTL");
    let term = lines
        .iter()
        .position(|l| l.contains("terminating 4 new"))
        .expect("terminates");
    assert!(wait < term);
    assert_eq!(cloud.live().len(), 4);
    assert!(cloud.live().iter().all(|i| i.fingerprint == "v1"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_bootstrap_fails_the_gate_at_its_first_report_quoting_the_instance() {
    let cloud = FakeCloud::new(Duration::from_secs(10));
    cloud.seed(1, "v1", 2, true);
    let before = cloud.origin();
    let plan = plan(&cloud.fleet(), &desired(2, "v2", 2), &Strategy::default());
    struct PullDenied;
    #[async_trait]
    impl Probe for PullDenied {
        async fn check(&self, _: &Instance) -> Health {
            Health::Unhealthy("bootstrap: pull registry.test/app:v2: denied".into())
        }
    }
    let lines = Lines(Mutex::new(vec![]));
    let engine = Engine {
        compute: &cloud,
        probe: &PullDenied,
        dns: &cloud,
        progress: &lines,
        cancel: CancellationToken::new(),
        health: health(),
    };
    let started = tokio::time::Instant::now();
    let err = engine.run(&plan).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("bootstrap: pull registry.test/app:v2: denied"),
        "{msg}"
    );
    assert!(!msg.contains("checks in a row"), "failed at once: {msg}");
    // One check after boot (10 s), not three checks 5 s apart.
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(cloud.origin(), before, "the old release kept serving");
    assert!(cloud.live().iter().all(|i| i.fingerprint == "v1"));
}

#[tokio::test(start_paused = true)]
async fn an_instance_that_never_boots_fails_at_the_deadline() {
    let cloud = FakeCloud::new(Duration::from_secs(3600));
    let plan = plan(&cloud.fleet(), &desired(1, "v1", 1), &Strategy::default());
    let started = Instant::now();
    let err = run(&cloud, &plan, CancellationToken::new())
        .await
        .0
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not healthy within 300 s (last: still starting)"),
        "{err}"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(300) && took < Duration::from_secs(310),
        "{took:?}"
    );
    assert!(cloud.live().is_empty(), "nothing left behind");
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_rollout_is_adopted_not_duplicated() {
    let cloud = FakeCloud::new(Duration::from_secs(10));
    cloud.seed(1, "v1", 3, true);
    cloud.seed(2, "v2", 2, false); // launched by an apply that was killed
    let plan = plan(&cloud.fleet(), &desired(2, "v2", 3), &Strategy::default());
    assert!(
        matches!(plan.steps[0], Step::Gate(GateTarget::Adopted(ref ids)) if ids.len() == 2),
        "{plan}"
    );
    assert!(
        plan.steps.contains(&Step::Launch { batch: 0, count: 1 }),
        "{plan}"
    );
    run(&cloud, &plan, CancellationToken::new())
        .await
        .0
        .unwrap();
    let live = cloud.live();
    assert_eq!(live.len(), 3);
    assert!(live.iter().all(|i| i.fingerprint == "v2"));
    assert_eq!(cloud.origin().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn drift_restores_capacity_and_drops_the_dead_address() {
    let cloud = FakeCloud::new(Duration::from_secs(10));
    let inst = cloud.seed(1, "v1", 3, true);
    cloud
        .terminate(std::slice::from_ref(&inst[0].id))
        .await
        .unwrap(); // terminated outside Terraform
    let plan = plan(&cloud.fleet(), &desired(1, "v1", 3), &Strategy::default());
    assert!(
        plan.steps.contains(&Step::Launch { batch: 0, count: 1 }),
        "{plan}"
    );
    assert!(
        !plan.steps.iter().any(|s| matches!(s, Step::Retire { .. })),
        "{plan}"
    );
    run(&cloud, &plan, CancellationToken::new())
        .await
        .0
        .unwrap();
    assert_eq!(cloud.origin().len(), 3);
    assert!(!cloud.origin().contains(inst[0].address.as_ref().unwrap()));
}

#[tokio::test(start_paused = true)]
async fn scale_down_drains_before_retiring() {
    let cloud = FakeCloud::new(Duration::from_secs(10));
    cloud.seed(1, "v1", 3, true);
    let plan = plan(&cloud.fleet(), &desired(1, "v1", 2), &Strategy::default());
    let kinds: Vec<&str> = plan
        .steps
        .iter()
        .map(|s| match s {
            Step::Cutover => "cutover",
            Step::Drain { .. } => "drain",
            Step::Retire { .. } => "retire",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["cutover", "drain", "retire"], "{plan}");
    run(&cloud, &plan, CancellationToken::new())
        .await
        .0
        .unwrap();
    assert_eq!(cloud.live().len(), 2);
    assert_eq!(cloud.origin().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn keep_previous_leaves_the_old_release_warm_out_of_dns() {
    let cloud = FakeCloud::new(Duration::from_secs(10));
    cloud.seed(1, "v1", 2, true);
    let strategy = Strategy {
        keep_previous: true,
        ..Strategy::default()
    };
    let plan = plan(&cloud.fleet(), &desired(2, "v2", 2), &strategy);
    let out = run(&cloud, &plan, CancellationToken::new())
        .await
        .0
        .unwrap();
    assert_eq!(out.warm.len(), 2);
    assert!(out.retired.is_empty());
    assert_eq!(cloud.live().len(), 4, "previous release still running");
    // The next plan keeps the warm release: nothing to do.
    let again = plan_with(&cloud, 2, "v2", 2, &strategy);
    assert!(again.is_empty(), "{again}");
    // Rolling back is now a DNS flip: the old fingerprint is adopted as is.
    let back = plan_with(&cloud, 1, "v1", 2, &strategy);
    assert!(
        !back.steps.iter().any(|s| matches!(s, Step::Launch { .. })),
        "{back}"
    );
}

fn plan_with(cloud: &FakeCloud, n: u64, fp: &str, replicas: u32, s: &Strategy) -> Plan {
    plan(&cloud.fleet(), &desired(n, fp, replicas), s)
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_waiting_keeps_old_serving_and_says_what_is_left() {
    let cloud = FakeCloud::new(Duration::from_secs(600));
    cloud.seed(1, "v1", 2, true);
    let before = cloud.origin();
    let plan = plan(&cloud.fleet(), &desired(2, "v2", 2), &Strategy::default());
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(20)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let err = run(&cloud, &plan, cancel).await.0.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "stopped promptly"
    );
    let msg = err.to_string();
    assert!(matches!(err, RolloutError::Cancelled { .. }), "{msg}");
    assert!(msg.contains("interrupted during gate"), "{msg}");
    assert!(
        msg.contains("release 1 keeps serving (2 target(s))"),
        "{msg}"
    );
    assert!(
        msg.contains("2 instance(s) of release 2 left running out of DNS"),
        "{msg}"
    );
    assert!(msg.contains("nothing terminated"), "{msg}");
    assert_eq!(cloud.origin(), before);
    assert_eq!(cloud.live().len(), 4, "nothing terminated");
}

#[tokio::test(start_paused = true)]
async fn cancellation_after_the_cutover_puts_the_old_release_back_and_terminates_nothing() {
    let cloud = FakeCloud::new(Duration::from_secs(10));
    cloud.seed(6, "v6", 2, true);
    let before = cloud.origin();
    let strategy = Strategy {
        ttl: Duration::from_secs(60),
        drain: Duration::from_secs(30),
        ..Strategy::default()
    };
    let plan = plan(&cloud.fleet(), &desired(7, "v7", 2), &strategy);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        // boot 10 s + 2 checks 5 s apart: cut over by 20 s, drain until 110 s.
        tokio::time::sleep(Duration::from_secs(40)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let (out, lines) = run(&cloud, &plan, cancel).await;
    let msg = out.unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(41),
        "stopped waiting at once: {:?}",
        started.elapsed()
    );
    assert!(
        lines.iter().any(|l| l.starts_with("drain: waiting")),
        "{lines:?}"
    );
    assert!(msg.contains("interrupted during drain"), "{msg}");
    assert!(
        msg.contains("release 6 keeps serving (2 target(s))"),
        "{msg}"
    );
    assert!(msg.contains("origin restored to 2 target(s)"), "{msg}");
    assert!(
        msg.contains("of release 7 left running out of DNS"),
        "{msg}"
    );
    assert_eq!(cloud.origin(), before);
    assert_eq!(cloud.live().len(), 4);
    // The next apply adopts release 7 instead of launching it again.
    let again = plan_with(&cloud, 7, "v7", 2, &strategy);
    assert!(
        !again.steps.iter().any(|s| matches!(s, Step::Launch { .. })),
        "{again}"
    );
}

#[tokio::test(start_paused = true)]
async fn after_an_apply_killed_past_its_cutover_the_old_release_drains_before_it_retires() {
    let cloud = FakeCloud::new(Duration::from_secs(10));
    // The killed apply moved the origin to release 2 but never retired 1.
    let old = cloud.seed(1, "v1", 2, false);
    cloud.seed(2, "v2", 2, true);
    let strategy = Strategy {
        ttl: Duration::from_secs(60),
        drain: Duration::from_secs(30),
        ..Strategy::default()
    };
    let plan = plan(&cloud.fleet(), &desired(2, "v2", 2), &strategy);
    assert_eq!(
        plan.steps,
        vec![
            Step::Drain {
                wait: Duration::from_secs(90)
            },
            Step::Retire {
                ids: old.iter().map(|i| i.id.clone()).collect(),
                why: "old release".into()
            },
        ],
        "{plan}"
    );
    let started = Instant::now();
    run(&cloud, &plan, CancellationToken::new())
        .await
        .0
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(90));
    assert!(cloud.live().iter().all(|i| i.fingerprint == "v2"));
    assert!(plan_with(&cloud, 2, "v2", 2, &strategy).is_empty());

    // Without an origin record nobody resolves the instances: no wait.
    let bare = FakeCloud::new(Duration::from_secs(10));
    bare.seed(1, "v1", 1, false);
    bare.seed(2, "v2", 1, false);
    let p = berth_rollout::plan(&bare.fleet(), &desired(2, "v2", 1), &strategy);
    assert!(
        !p.steps.iter().any(|s| matches!(s, Step::Drain { .. })),
        "{p}"
    );
}

#[tokio::test(start_paused = true)]
async fn launch_is_idempotent_per_batch() {
    let cloud = FakeCloud::new(Duration::ZERO);
    let r = Release {
        number: 1,
        image: "x".into(),
        fingerprint: "f".into(),
    };
    let a = cloud.launch(&r, 2, 0).await.unwrap();
    let b = cloud.launch(&r, 2, 0).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(cloud.live().len(), 2);
}

/// Compute whose launch is where Terraform's stop arrives.
struct StopDuringLaunch<'a> {
    cloud: &'a FakeCloud,
    stop: CancellationToken,
}

#[async_trait]
impl Compute for StopDuringLaunch<'_> {
    async fn launch(
        &self,
        release: &Release,
        count: u32,
        batch: u32,
    ) -> Result<Vec<Instance>, PortError> {
        self.stop.cancel();
        self.cloud.launch(release, count, batch).await
    }
    async fn refresh(&self, ids: &[String]) -> Result<Vec<Instance>, PortError> {
        self.cloud.refresh(ids).await
    }
    async fn terminate(&self, ids: &[String]) -> Result<(), PortError> {
        self.cloud.terminate(ids).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_launch_reports_the_launched_instances_instead_of_orphaning_them() {
    let cloud = FakeCloud::new(Duration::from_secs(10));
    cloud.seed(1, "v1", 2, true);
    let before = cloud.origin();
    let plan = plan(&cloud.fleet(), &desired(2, "v2", 2), &Strategy::default());
    let stop = CancellationToken::new();
    let compute = StopDuringLaunch {
        cloud: &cloud,
        stop: stop.clone(),
    };
    let lines = Lines(Mutex::new(vec![]));
    let engine = Engine {
        compute: &compute,
        probe: &cloud,
        dns: &cloud,
        progress: &lines,
        cancel: stop,
        health: health(),
    };
    let err = engine.run(&plan).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RolloutError::Cancelled { .. }), "{msg}");
    assert!(msg.contains("interrupted during launch"), "{msg}");
    let new: Vec<String> = cloud
        .live()
        .into_iter()
        .filter(|i| i.fingerprint == "v2")
        .map(|i| i.id)
        .collect();
    assert_eq!(new.len(), 2);
    for id in &new {
        assert!(msg.contains(id.as_str()), "names {id}: {msg}");
    }
    assert!(
        msg.contains("2 instance(s) of release 2 left running out of DNS"),
        "{msg}"
    );
    assert_eq!(cloud.origin(), before);
}

#[test]
fn instances_that_share_their_address_serve_as_one_target_and_plan_nothing() {
    // Load-balancer mode: every instance of a release has its target
    // group's name as its address; three of them behind one group that
    // the rule forwards to are exactly what is wanted.
    let instance = |id: &str| Instance {
        id: id.into(),
        release: 2,
        fingerprint: "v2".into(),
        zone: "a".into(),
        address: Some("berth-web-2".into()),
        private_ip: None,
        public_ip: None,
        state: InstanceState::Running,
        reported_health: None,
    };
    let fleet = Fleet {
        instances: vec![instance("i-1"), instance("i-2"), instance("i-3")],
        origin: vec!["berth-web-2".into()],
    };
    let p = berth_rollout::plan(&fleet, &desired(2, "v2", 3), &Strategy::default());
    assert!(p.is_empty(), "{p}");
    // An instance without an address still needs the cutover to learn it.
    let mut fleet = fleet;
    fleet.instances[0].address = None;
    let p = berth_rollout::plan(&fleet, &desired(2, "v2", 3), &Strategy::default());
    assert!(!p.is_empty());
}

#[test]
fn behind_a_load_balancer_a_new_release_takes_traffic_only_at_the_cutover() {
    let cloud = FakeCloud::new(Duration::from_secs(30));
    cloud.seed(1, "v1", 2, true);
    let exposed = plan(&cloud.fleet(), &desired(2, "v2", 2), &Strategy::default());
    assert!(
        exposed
            .steps
            .iter()
            .any(|s| matches!(s, Step::Expose { .. }))
    );
    let strategy = Strategy {
        expose: false,
        ..Strategy::default()
    };
    let p = plan(&cloud.fleet(), &desired(2, "v2", 2), &strategy);
    assert!(
        !p.steps.iter().any(|s| matches!(s, Step::Expose { .. })),
        "{p}"
    );
    assert!(p.steps.contains(&Step::Cutover), "{p}");
}

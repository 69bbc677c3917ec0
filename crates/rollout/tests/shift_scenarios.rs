//! Progressive shifting scenarios with a fake route and fake target health
//! on a paused clock: the observed weights follow the declared steps with
//! the bake in between; a failed gate or a cancellation puts back the
//! weights from before.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use berth_rollout::shift::{
    ShiftError, ShiftSpec, Shifter, TargetHealth, WeightPort, Weights, plan_shift,
};
use berth_rollout::{Health, PortError, Silent};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Route {
    log: Mutex<Vec<(Duration, Weights)>>,
    started: Mutex<Option<Instant>>,
}

#[async_trait]
impl WeightPort for Route {
    async fn set(&self, weights: &Weights) -> Result<(), PortError> {
        let t0 = *self
            .started
            .lock()
            .unwrap()
            .get_or_insert_with(Instant::now);
        self.log
            .lock()
            .unwrap()
            .push((Instant::now() - t0, weights.clone()));
        Ok(())
    }
}

/// Healthy until `fail_after` checks have passed or the clock reaches
/// `unhealthy_from`, then unhealthy.
struct Target {
    checks: Mutex<u32>,
    fail_after: u32,
    unhealthy_from: Option<Instant>,
}

impl Target {
    fn healthy() -> Target {
        Target::failing_after(u32::MAX)
    }

    fn failing_after(checks: u32) -> Target {
        Target {
            checks: Mutex::new(0),
            fail_after: checks,
            unhealthy_from: None,
        }
    }

    fn failing_at(at: Duration) -> Target {
        Target {
            unhealthy_from: Some(Instant::now() + at),
            ..Target::healthy()
        }
    }
}

#[async_trait]
impl TargetHealth for Target {
    async fn check(&self, _target: &str) -> Health {
        let mut n = self.checks.lock().unwrap();
        *n += 1;
        if *n > self.fail_after || self.unhealthy_from.is_some_and(|t| Instant::now() >= t) {
            Health::Unhealthy("GET /up answered 503".into())
        } else {
            Health::Healthy
        }
    }
}

fn w(pairs: &[(&str, u32)]) -> Weights {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn migration() -> (Weights, Weights, ShiftSpec) {
    (
        w(&[("paas", 100)]),
        w(&[("paas", 0), ("green", 100)]),
        ShiftSpec {
            to: "green".into(),
            steps: vec![10, 25, 50, 100],
            bake: Duration::from_secs(300),
        },
    )
}

fn shifter<'a>(route: &'a Route, target: &'a Target, cancel: CancellationToken) -> Shifter<'a> {
    Shifter {
        weights: route,
        health: target,
        progress: &Silent,
        cancel,
        healthy_checks: 1,
        interval: Duration::from_secs(10),
        gate_deadline: Duration::from_secs(120),
    }
}

#[tokio::test(start_paused = true)]
async fn a_migration_moves_through_the_declared_steps_with_bake_between() {
    let (before, after, spec) = migration();
    let steps = plan_shift(&before, &after, Some(&spec));
    let route = Route::default();
    let target = Target::healthy();
    shifter(&route, &target, CancellationToken::new())
        .run(&before, &steps, Some(&spec))
        .await
        .unwrap();
    let log = route.log.into_inner().unwrap();
    let green: Vec<u32> = log.iter().map(|(_, w)| w["green"]).collect();
    assert_eq!(green, vec![10, 25, 50, 100]);
    let at: Vec<u64> = log.iter().map(|(t, _)| t.as_secs()).collect();
    assert_eq!(at, vec![0, 300, 600, 900], "bake between steps, none after");
}

#[tokio::test(start_paused = true)]
async fn a_failed_gate_reverts_to_the_weights_from_before() {
    let (before, after, mut spec) = migration();
    spec.bake = Duration::ZERO;
    let steps = plan_shift(&before, &after, Some(&spec));
    let route = Route::default();
    let target = Target::failing_after(2);
    let err = shifter(&route, &target, CancellationToken::new())
        .run(&before, &steps, Some(&spec))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ShiftError::GateFailed { step: 3, reverted, .. } if *reverted == before),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("GET /up answered 503"), "{msg}");
    assert!(msg.contains("reverted to paas=100"), "{msg}");
    let log = route.log.into_inner().unwrap();
    assert_eq!(log.last().unwrap().1, before, "old target back at 100%");
    let green: Vec<u32> = log
        .iter()
        .map(|(_, w)| w.get("green").copied().unwrap_or(0))
        .collect();
    assert_eq!(green, vec![10, 25, 0]);
}

#[tokio::test(start_paused = true)]
async fn a_target_turning_unhealthy_mid_bake_is_reverted_within_one_check_interval() {
    let (before, after, spec) = migration();
    let steps = plan_shift(&before, &after, Some(&spec));
    let route = Route::default();
    // The bake after step 2 runs from 300 s to 600 s; the target breaks
    // at 455 s and the next check (every 10 s) sees it.
    let target = Target::failing_at(Duration::from_secs(455));
    let err = shifter(&route, &target, CancellationToken::new())
        .run(&before, &steps, Some(&spec))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ShiftError::GateFailed { step: 3, reverted, .. } if *reverted == before),
        "{err}"
    );
    let log = route.log.into_inner().unwrap();
    let (at, last) = log.last().unwrap();
    assert_eq!(*last, before, "old target back at 100%");
    assert_eq!(
        at.as_secs(),
        460,
        "reverted at the first check after the break, not at 600 s"
    );
    let green: Vec<u32> = log
        .iter()
        .map(|(_, w)| w.get("green").copied().unwrap_or(0))
        .collect();
    assert_eq!(green, vec![10, 25, 0]);
}

#[tokio::test(start_paused = true)]
async fn cancellation_during_bake_reverts() {
    let (before, after, spec) = migration();
    let steps = plan_shift(&before, &after, Some(&spec));
    let route = Route::default();
    let target = Target::healthy();
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(400)).await;
        c.cancel();
    });
    let err = shifter(&route, &target, cancel)
        .run(&before, &steps, Some(&spec))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ShiftError::Cancelled { step: 3, .. }),
        "{err}"
    );
    assert_eq!(route.log.into_inner().unwrap().last().unwrap().1, before);
}

#[tokio::test(start_paused = true)]
async fn a_target_that_stays_starting_fails_at_the_gate_deadline_without_changing_anything() {
    struct Starting;
    #[async_trait]
    impl TargetHealth for Starting {
        async fn check(&self, _t: &str) -> Health {
            Health::Starting
        }
    }
    let (before, after, spec) = migration();
    let steps = plan_shift(&before, &after, Some(&spec));
    let route = Route::default();
    let s = Shifter {
        weights: &route,
        health: &Starting,
        progress: &Silent,
        cancel: CancellationToken::new(),
        healthy_checks: 1,
        interval: Duration::from_secs(10),
        gate_deadline: Duration::from_secs(60),
    };
    let err = s.run(&before, &steps, Some(&spec)).await.unwrap_err();
    assert!(err.to_string().contains("not healthy within 60 s"), "{err}");
    assert!(
        route.log.into_inner().unwrap().is_empty(),
        "nothing was changed"
    );
}

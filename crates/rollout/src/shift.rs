//! Progressive traffic shifting: from the weights as found to the desired
//! weights in declared steps, each step gated on the receiving target's
//! health and followed by a bake time during which that health is
//! watched; a failed gate, a target turning unhealthy mid-bake or a
//! cancellation reverts to the weights from before.
//!
//! Guarantees:
//! - [`plan_shift`] is pure and known at plan time: the sequence of weight
//!   maps the apply will set, the last one being exactly the desired map.
//! - Every intermediate map sums to the same total as the desired one
//!   (100 when weights are percentages); targets other than the one
//!   receiving traffic keep their relative proportions from before.
//! - [`Shifter::run`] never leaves a half-shifted state on failure: it puts
//!   back the weights from before (one atomic change) and says why.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::ports::{Health, PortError, Progress};

/// Target id → weight.
pub type Weights = BTreeMap<String, u32>;

/// How a change of weights is paced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShiftSpec {
    /// The target that receives traffic.
    pub to: String,
    /// Its weight at each step (increasing); the desired weight is
    /// appended when the list does not end with it.
    pub steps: Vec<u32>,
    /// Wait after each step but the last, watching the target's health.
    pub bake: Duration,
}

/// Sets weights, atomically, and waits until they are in effect.
#[async_trait]
pub trait WeightPort: Send + Sync {
    /// Makes the route answer with exactly `weights`.
    async fn set(&self, weights: &Weights) -> Result<(), PortError>;
}

/// Checks a target before it gets more traffic.
#[async_trait]
pub trait TargetHealth: Send + Sync {
    /// The target's health now.
    async fn check(&self, target: &str) -> Health;
}

/// The weight maps a change goes through, in order (empty: nothing to do).
pub fn plan_shift(before: &Weights, after: &Weights, spec: Option<&ShiftSpec>) -> Vec<Weights> {
    if before == after {
        return vec![];
    }
    let Some(spec) = spec else {
        return vec![after.clone()];
    };
    let from = before.get(&spec.to).copied().unwrap_or(0);
    let to = after.get(&spec.to).copied().unwrap_or(0);
    if to <= from {
        // Moving traffic away (or not moving it): one step.
        return vec![after.clone()];
    }
    let total: u32 = after.values().sum();
    let others_before: Weights = before
        .iter()
        .filter(|(k, _)| *k != &spec.to && after.contains_key(*k))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let others_after: Weights = after
        .iter()
        .filter(|(k, _)| *k != &spec.to)
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    // Proportions the other targets share the rest in: as before the
    // apply when they had any traffic, else as desired, else equally.
    let basis: Weights = if others_before.values().sum::<u32>() > 0 {
        others_before
    } else if others_after.values().sum::<u32>() > 0 {
        others_after.clone()
    } else {
        others_after.keys().map(|k| (k.clone(), 1)).collect()
    };
    let mut out = Vec::new();
    for &w in spec.steps.iter().filter(|&&w| w > from && w < to) {
        out.push(split(&spec.to, w, total, &basis, &others_after));
    }
    out.push(after.clone());
    out
}

/// The weights a route that does not exist yet starts from: without a
/// shift the desired ones; with one, the receiving target at 0 and its
/// share spread over the others as the first step spreads theirs (the
/// receiving target alone: it at 0), so that a gate can check it before
/// it gets any.
pub fn opening(after: &Weights, spec: Option<&ShiftSpec>) -> Weights {
    let Some(spec) = spec.filter(|s| after.get(&s.to).copied().unwrap_or(0) > 0) else {
        return after.clone();
    };
    let others: Weights = after
        .iter()
        .filter(|(k, _)| *k != &spec.to)
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let basis: Weights = if others.values().sum::<u32>() > 0 {
        others.clone()
    } else {
        // As `plan_shift` spreads the rest when none is desired to keep any.
        others.keys().map(|k| (k.clone(), 1)).collect()
    };
    split(&spec.to, 0, after.values().sum(), &basis, &others)
}

/// `to` gets `w`; the other targets share `total - w` in proportion to
/// `basis` (largest remainders, ties by name, so it is deterministic).
fn split(to: &str, w: u32, total: u32, basis: &Weights, all: &Weights) -> Weights {
    let rest = total.saturating_sub(w);
    let sum: u64 = basis.values().map(|v| u64::from(*v)).sum();
    let mut out: Weights = all.keys().map(|k| (k.clone(), 0)).collect();
    out.insert(to.to_string(), w);
    if sum == 0 || rest == 0 {
        return out;
    }
    let mut given = 0u32;
    let mut remainders: Vec<(u64, String)> = Vec::new();
    for (k, b) in basis {
        let exact = u64::from(rest) * u64::from(*b);
        let share = u32::try_from(exact / sum).unwrap_or(0);
        given += share;
        remainders.push((exact % sum, k.clone()));
        out.insert(k.clone(), share);
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, k) in remainders.iter().take((rest - given) as usize) {
        if let Some(v) = out.get_mut(k) {
            *v += 1;
        }
    }
    out
}

/// One line per step, as the plan shows it.
pub fn describe(steps: &[Weights], spec: Option<&ShiftSpec>) -> Vec<String> {
    let n = steps.len();
    steps
        .iter()
        .enumerate()
        .flat_map(|(i, w)| {
            let text = w
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut lines = Vec::new();
            if let Some(s) = spec {
                lines.push(format!("gate: {} healthy", s.to));
            }
            lines.push(format!("weights: {text}"));
            if let Some(s) = spec
                && i + 1 < n
                && !s.bake.is_zero()
            {
                lines.push(format!("bake: {} s", s.bake.as_secs()));
            }
            lines
        })
        .collect()
}

/// Why a shift stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShiftError {
    /// The receiving target was not healthy before a step, or turned
    /// unhealthy during the bake that precedes it.
    #[error("target {target} failed its health gate before step {step} ({why}); weights reverted to {}", show(.reverted))]
    GateFailed {
        /// The target.
        target: String,
        /// The step number (from 1).
        step: usize,
        /// What the check said.
        why: String,
        /// The weights in effect now.
        reverted: Weights,
    },
    /// Setting weights failed.
    #[error("{error}; {left}")]
    Port {
        /// The failed call.
        error: PortError,
        /// What is in effect now.
        left: String,
    },
    /// Terraform asked the provider to stop.
    #[error("interrupted before step {step}; weights reverted to {}", show(.reverted))]
    Cancelled {
        /// The step that was next.
        step: usize,
        /// The weights in effect now.
        reverted: Weights,
    },
}

fn show(w: &Weights) -> String {
    w.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a gate or a bake ended the shift early.
enum Stop {
    /// StopProvider.
    Cancelled,
    /// The target's health check said why.
    Unhealthy(String),
}

/// Runs shifts through the ports.
pub struct Shifter<'a> {
    /// Sets weights.
    pub weights: &'a dyn WeightPort,
    /// Checks the receiving target.
    pub health: &'a dyn TargetHealth,
    /// Step-by-step messages.
    pub progress: &'a dyn Progress,
    /// Fires on StopProvider.
    pub cancel: CancellationToken,
    /// Consecutive healthy checks a gate needs.
    pub healthy_checks: u32,
    /// Time between gate checks.
    pub interval: Duration,
    /// Longest a gate may wait for a target that is still starting.
    pub gate_deadline: Duration,
}

impl Shifter<'_> {
    /// Takes the route from `before` through `steps`; reverts on failure.
    ///
    /// # Errors
    /// [`ShiftError`] after reverting (as far as the port allows).
    pub async fn run(
        &self,
        before: &Weights,
        steps: &[Weights],
        spec: Option<&ShiftSpec>,
    ) -> Result<(), ShiftError> {
        let mut changed = false;
        for (i, w) in steps.iter().enumerate() {
            if self.cancel.is_cancelled() {
                return Err(self
                    .revert(before, changed, |reverted| ShiftError::Cancelled {
                        step: i + 1,
                        reverted,
                    })
                    .await);
            }
            if let Some(s) = spec
                && w.get(&s.to).copied().unwrap_or(0) > 0
                && let Err(stop) = self.gate(&s.to).await
            {
                return Err(self.stopped(before, changed, &s.to, i + 1, stop).await);
            }
            self.progress.report(&format!(
                "shift: step {}/{}: {}",
                i + 1,
                steps.len(),
                show(w)
            ));
            if let Err(e) = self.weights.set(w).await {
                let left = if changed {
                    match self.weights.set(before).await {
                        Ok(()) => format!("weights reverted to {}", show(before)),
                        Err(e2) => format!("weights could NOT be reverted ({e2})"),
                    }
                } else {
                    format!("weights unchanged ({})", show(before))
                };
                return Err(ShiftError::Port { error: e, left });
            }
            changed = true;
            if let Some(s) = spec
                && i + 1 < steps.len()
                && !s.bake.is_zero()
            {
                self.progress
                    .report(&format!("shift: baking {} s", s.bake.as_secs()));
                if let Err(stop) = self.bake(&s.to, s.bake).await {
                    return Err(self.stopped(before, changed, &s.to, i + 2, stop).await);
                }
            }
        }
        Ok(())
    }

    /// Reverts after a gate or bake stopped before step `step`.
    async fn stopped(
        &self,
        before: &Weights,
        changed: bool,
        target: &str,
        step: usize,
        stop: Stop,
    ) -> ShiftError {
        self.revert(before, changed, |reverted| match stop {
            Stop::Cancelled => ShiftError::Cancelled { step, reverted },
            Stop::Unhealthy(why) => ShiftError::GateFailed {
                target: target.to_string(),
                step,
                why,
                reverted,
            },
        })
        .await
    }

    /// Waits `bake` while watching the receiving target: one that turns
    /// unhealthy mid-bake stops the shift at once instead of at the next
    /// gate.
    async fn bake(&self, target: &str, bake: Duration) -> Result<(), Stop> {
        let end = tokio::time::Instant::now() + bake;
        let every = self.interval.max(Duration::from_millis(100));
        loop {
            let now = tokio::time::Instant::now();
            if now >= end {
                return Ok(());
            }
            tokio::select! {
                () = tokio::time::sleep(every.min(end - now)) => {}
                () = self.cancel.cancelled() => return Err(Stop::Cancelled),
            }
            if let Health::Unhealthy(why) = self.health.check(target).await {
                return Err(Stop::Unhealthy(why));
            }
        }
    }

    async fn gate(&self, target: &str) -> Result<(), Stop> {
        let deadline = tokio::time::Instant::now() + self.gate_deadline;
        let mut passes = 0;
        loop {
            match self.health.check(target).await {
                Health::Healthy => {
                    passes += 1;
                    if passes >= self.healthy_checks.max(1) {
                        self.progress.report(&format!("gate: {target} healthy"));
                        return Ok(());
                    }
                }
                Health::Unhealthy(why) => return Err(Stop::Unhealthy(why)),
                Health::Starting => passes = 0,
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Stop::Unhealthy(format!(
                    "not healthy within {} s",
                    self.gate_deadline.as_secs()
                )));
            }
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                () = self.cancel.cancelled() => return Err(Stop::Cancelled),
            }
        }
    }

    async fn revert(
        &self,
        before: &Weights,
        changed: bool,
        make: impl FnOnce(Weights) -> ShiftError,
    ) -> ShiftError {
        if changed {
            self.progress
                .report(&format!("shift: reverting to {}", show(before)));
            if let Err(e) = self.weights.set(before).await {
                return ShiftError::Port {
                    error: e,
                    left: "weights could NOT be reverted; the route may be part-way".into(),
                };
            }
        }
        make(before.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(pairs: &[(&str, u32)]) -> Weights {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn spec(to: &str, steps: &[u32]) -> ShiftSpec {
        ShiftSpec {
            to: to.into(),
            steps: steps.to_vec(),
            bake: Duration::from_secs(60),
        }
    }

    #[test]
    fn migration_steps_follow_the_declared_percentages() {
        let steps = plan_shift(
            &w(&[("paas", 100)]),
            &w(&[("paas", 0), ("green", 100)]),
            Some(&spec("green", &[10, 25, 50, 100])),
        );
        let green: Vec<u32> = steps.iter().map(|s| s["green"]).collect();
        let paas: Vec<u32> = steps.iter().map(|s| s["paas"]).collect();
        assert_eq!(green, vec![10, 25, 50, 100]);
        assert_eq!(paas, vec![90, 75, 50, 0]);
    }

    #[test]
    fn a_new_route_opens_with_the_receiving_target_at_zero() {
        let to = spec("green", &[10, 50]);
        let after = w(&[("paas", 0), ("green", 100)]);
        assert_eq!(
            opening(&after, Some(&to)),
            w(&[("paas", 100), ("green", 0)])
        );
        let first = &plan_shift(&opening(&after, Some(&to)), &after, Some(&to))[0];
        assert_eq!(first, &w(&[("paas", 90), ("green", 10)]));
        assert_eq!(
            opening(&w(&[("a", 30), ("b", 30), ("green", 40)]), Some(&to)),
            w(&[("a", 50), ("b", 50), ("green", 0)])
        );
        assert_eq!(
            opening(&w(&[("green", 100)]), Some(&to)),
            w(&[("green", 0)])
        );
        assert_eq!(
            opening(&after, None),
            after,
            "no shift: the desired weights"
        );
    }

    #[test]
    fn others_keep_their_proportions_and_sums_stay_exact() {
        let steps = plan_shift(
            &w(&[("a", 60), ("b", 30), ("c", 10)]),
            &w(&[("a", 30), ("b", 15), ("c", 5), ("new", 50)]),
            Some(&spec("new", &[10, 33])),
        );
        assert_eq!(steps.len(), 3);
        for s in &steps {
            assert_eq!(s.values().sum::<u32>(), 100, "{s:?}");
        }
        assert_eq!(steps[0], w(&[("a", 54), ("b", 27), ("c", 9), ("new", 10)]));
        assert_eq!(steps[1]["new"], 33);
        assert_eq!(steps[1]["a"] + steps[1]["b"] + steps[1]["c"], 67);
        assert_eq!(steps[2], w(&[("a", 30), ("b", 15), ("c", 5), ("new", 50)]));
    }

    #[test]
    fn no_change_no_steps_and_moving_away_is_one_step() {
        let a = w(&[("x", 50), ("y", 50)]);
        assert!(plan_shift(&a, &a, Some(&spec("y", &[75]))).is_empty());
        let back = w(&[("x", 100), ("y", 0)]);
        assert_eq!(
            plan_shift(&a, &back, Some(&spec("y", &[75]))),
            vec![back.clone()]
        );
        assert_eq!(plan_shift(&a, &back, None), vec![back]);
    }

    #[test]
    fn steps_outside_the_range_are_skipped() {
        let steps = plan_shift(
            &w(&[("old", 75), ("new", 25)]),
            &w(&[("old", 0), ("new", 100)]),
            Some(&spec("new", &[10, 25, 50])),
        );
        let new: Vec<u32> = steps.iter().map(|s| s["new"]).collect();
        assert_eq!(new, vec![50, 100]);
        let text = describe(&steps, Some(&spec("new", &[10, 25, 50])));
        assert_eq!(
            text,
            vec![
                "gate: new healthy",
                "weights: new=50, old=50",
                "bake: 60 s",
                "gate: new healthy",
                "weights: new=100, old=0",
            ]
        );
    }
}

//! Running a [`Plan`]: launch → gate → expose → cut over → drain → retire,
//! with rollback in reverse when a step fails or the run is cancelled.
//!
//! Guarantees:
//! - Until cutover the old release keeps serving; a failed gate or launch
//!   restores the origin as found, waits out the TTL when new instances
//!   were exposed, then terminates every instance this run launched.
//! - On cancellation the engine stops waiting at once, restores the origin
//!   as found (one DNS change) and terminates nothing; the error names the
//!   release that serves, the instances launched and left running out of
//!   DNS, and those already terminated (all of it is tagged, so the next
//!   apply adopts or cleans it).
//! - Every wait has a deadline and reports progress.
//!
//! Errors: [`RolloutError`] says which step failed, why (per instance for
//! gates), and what is serving now.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::model::{HealthPolicy, Instance, InstanceState};
use crate::plan::{GateTarget, Plan, Step};
use crate::ports::{Compute, Dns, Health, PortError, Probe, Progress};

/// How an unhealthy reason starts when the instance could not finish its
/// bootstrap (a package, an image pull, a secret, a container that exits):
/// the gate fails such an instance at its first report.
pub const BOOTSTRAP_FAILED: &str = "bootstrap:";

/// Why a rollout stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// New instances did not become healthy; the rollout was rolled back.
    #[error("release {release} failed its health gate: {}; rolled back: {left}", describe_failures(.failures))]
    GateFailed {
        /// The release that failed.
        release: u64,
        /// Instance id → why it failed.
        failures: BTreeMap<String, String>,
        /// What serves now, after rollback.
        left: String,
    },
    /// A cloud call failed; the rollout was rolled back as far as possible.
    #[error("{error}; rolled back: {left}")]
    Port {
        /// The failed call.
        error: PortError,
        /// What serves now, after rollback.
        left: String,
    },
    /// Terraform asked the provider to stop.
    #[error("interrupted during {step}; {left}")]
    Cancelled {
        /// The step that was running.
        step: String,
        /// What was left running.
        left: String,
    },
}

fn describe_failures(f: &BTreeMap<String, String>) -> String {
    f.iter()
        .map(|(id, why)| format!("{id}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a finished rollout did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Instances of the desired release, serving.
    pub serving: Vec<Instance>,
    /// Instances kept warm (previous release, out of DNS).
    pub warm: Vec<Instance>,
    /// Ids terminated.
    pub retired: Vec<String>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Runs plans against ports.
pub struct Engine<'a> {
    /// Starts and stops instances.
    pub compute: &'a dyn Compute,
    /// Health checks.
    pub probe: &'a dyn Probe,
    /// The origin record.
    pub dns: &'a dyn Dns,
    /// Step-by-step messages.
    pub progress: &'a dyn Progress,
    /// Fires on StopProvider.
    pub cancel: CancellationToken,
    /// Gate policy.
    pub health: HealthPolicy,
}

struct Run {
    launched: Vec<Instance>,
    batches: BTreeMap<u32, Vec<Instance>>,
    origin: Vec<String>,
    origin_changed: bool,
    exposed_new: bool,
    retired: Vec<String>,
}

enum Failure {
    Gate(BTreeMap<String, String>),
    Port(PortError),
    Cancelled(String),
}

impl Engine<'_> {
    /// Runs `plan` to the end, or rolls back.
    ///
    /// # Errors
    /// [`RolloutError`] when a gate fails, a cloud call fails, or the run is
    /// cancelled; the rollback has been done when it returns.
    pub async fn run(&self, plan: &Plan) -> Result<Outcome, RolloutError> {
        let started = Instant::now();
        let mut run = Run {
            launched: Vec::new(),
            batches: BTreeMap::new(),
            origin: plan.origin_before.clone(),
            origin_changed: false,
            exposed_new: false,
            retired: Vec::new(),
        };
        let mut kept = plan.kept.clone();
        for step in &plan.steps {
            if let Err(f) = self.step(plan, step, &mut run, &mut kept).await {
                return Err(self.roll_back(plan, &run, f).await);
            }
        }
        let mut serving = kept;
        serving.extend(run.launched);
        Ok(Outcome {
            serving,
            warm: plan.warm.clone(),
            retired: run.retired,
            elapsed: started.elapsed(),
        })
    }

    async fn step(
        &self,
        plan: &Plan,
        step: &Step,
        run: &mut Run,
        kept: &mut [Instance],
    ) -> Result<(), Failure> {
        if self.cancel.is_cancelled() {
            return Err(Failure::Cancelled(step_name(step)));
        }
        match step {
            Step::Launch { batch, count } => {
                self.progress.report(&format!(
                    "launch: {count} × release {} ({})",
                    plan.release, plan.image
                ));
                // One API call, not a wait: it runs to the end even when a
                // stop arrives meanwhile, so what it created is known and
                // reported instead of orphaned.
                let new = self
                    .launch(plan, *batch, *count)
                    .await
                    .map_err(Failure::Port)?;
                run.launched.extend(new.iter().cloned());
                run.batches.insert(*batch, new);
                if self.cancel.is_cancelled() {
                    return Err(Failure::Cancelled("launch".into()));
                }
            }
            Step::Gate(target) => {
                let ids: Vec<String> = match target {
                    GateTarget::Adopted(ids) => ids.clone(),
                    GateTarget::Batch(b) => run
                        .batches
                        .get(b)
                        .map(|v| v.iter().map(|i| i.id.clone()).collect())
                        .unwrap_or_default(),
                };
                let healthy = self.gate(&ids).await?;
                // Addresses are known now: record them.
                for i in healthy {
                    if let Some(slot) = run
                        .launched
                        .iter_mut()
                        .chain(kept.iter_mut())
                        .find(|x| x.id == i.id)
                    {
                        *slot = i.clone();
                    }
                    for b in run.batches.values_mut() {
                        if let Some(slot) = b.iter_mut().find(|x| x.id == i.id) {
                            *slot = i.clone();
                        }
                    }
                }
            }
            Step::Expose { batch } => {
                let mut targets = run.origin.clone();
                for i in run.batches.get(batch).into_iter().flatten() {
                    if let Some(a) = &i.address
                        && !targets.contains(a)
                    {
                        targets.push(a.clone());
                    }
                }
                self.progress.report(&format!(
                    "shift: {} → {} targets (batch {} beside the serving release)",
                    plan.serving_name(),
                    targets.len(),
                    batch + 1
                ));
                self.point(&targets, run).await?;
                run.exposed_new = true;
            }
            Step::Cutover => {
                let targets: Vec<String> = kept
                    .iter()
                    .chain(run.launched.iter())
                    .filter_map(|i| i.address.clone())
                    .collect();
                self.progress.report(&format!(
                    "shift: {} → release {} only ({} targets)",
                    plan.serving_name(),
                    plan.release,
                    targets.len()
                ));
                self.point(&targets, run).await?;
                run.exposed_new = true;
            }
            Step::Drain { wait } => {
                self.progress.report(&format!(
                    "drain: waiting {} s for resolvers and in-flight requests",
                    wait.as_secs()
                ));
                tokio::select! {
                    () = tokio::time::sleep(*wait) => {}
                    () = self.cancel.cancelled() => return Err(Failure::Cancelled("drain".into())),
                }
            }
            Step::Retire { ids, why } => {
                self.progress
                    .report(&format!("retire: {} instance(s) ({why})", ids.len()));
                self.compute.terminate(ids).await.map_err(Failure::Port)?;
                run.retired.extend(ids.iter().cloned());
            }
        }
        Ok(())
    }

    async fn launch(
        &self,
        plan: &Plan,
        batch: u32,
        count: u32,
    ) -> Result<Vec<Instance>, PortError> {
        let release = crate::model::Release {
            number: plan.release,
            image: plan.image.clone(),
            fingerprint: plan.fingerprint.clone(),
        };
        self.compute.launch(&release, count, batch).await
    }

    async fn point(&self, targets: &[String], run: &mut Run) -> Result<(), Failure> {
        tokio::select! {
            r = self.dns.point(targets) => r.map_err(Failure::Port)?,
            () = self.cancel.cancelled() => {
                // The change may have been submitted before the stop: the
                // rollback puts the origin back either way.
                run.origin = targets.to_vec();
                run.origin_changed = true;
                return Err(Failure::Cancelled("shift".into()));
            }
        }
        run.origin = targets.to_vec();
        run.origin_changed = true;
        Ok(())
    }

    /// Waits until every instance in `ids` passes `healthy_threshold`
    /// checks in a row, failing an instance after `unhealthy_threshold`
    /// failures in a row, at once when it reports that its bootstrap
    /// failed ([`BOOTSTRAP_FAILED`]), and everything still pending at the
    /// deadline.
    async fn gate(&self, ids: &[String]) -> Result<Vec<Instance>, Failure> {
        let h = &self.health;
        let deadline = Instant::now() + h.deadline;
        let started = Instant::now();
        let mut passes: BTreeMap<String, u32> = ids.iter().map(|i| (i.clone(), 0)).collect();
        let mut fails: BTreeMap<String, u32> = BTreeMap::new();
        let mut last: BTreeMap<String, String> = BTreeMap::new();
        let mut failed: BTreeMap<String, String> = BTreeMap::new();
        let mut healthy: BTreeMap<String, Instance> = BTreeMap::new();
        self.progress.report(&format!(
            "gate: waiting for {} instance(s) (deadline {} s)",
            ids.len(),
            h.deadline.as_secs()
        ));
        loop {
            let pending: Vec<String> = ids
                .iter()
                .filter(|i| !healthy.contains_key(*i) && !failed.contains_key(*i))
                .cloned()
                .collect();
            if pending.is_empty() {
                break;
            }
            let view = self
                .compute
                .refresh(&pending)
                .await
                .map_err(Failure::Port)?;
            for id in &pending {
                let Some(inst) = view.iter().find(|i| &i.id == id) else {
                    failed.insert(id.clone(), "instance disappeared".into());
                    continue;
                };
                if matches!(
                    inst.state,
                    InstanceState::Stopping | InstanceState::Terminated
                ) {
                    failed.insert(
                        id.clone(),
                        format!("instance is {:?}", inst.state).to_lowercase(),
                    );
                    continue;
                }
                let verdict = if inst.address.is_none() || inst.state == InstanceState::Pending {
                    Health::Starting
                } else {
                    self.probe.check(inst).await
                };
                match verdict {
                    Health::Healthy => {
                        fails.remove(id);
                        let n = passes.entry(id.clone()).or_default();
                        *n += 1;
                        if *n >= h.healthy_threshold {
                            healthy.insert(id.clone(), inst.clone());
                        }
                    }
                    Health::Starting => {
                        last.insert(id.clone(), "still starting".into());
                    }
                    Health::Unhealthy(why) if why.starts_with(BOOTSTRAP_FAILED) => {
                        // The instance says it cannot finish booting: no
                        // later check can change that, so fail it now.
                        failed.insert(id.clone(), why);
                    }
                    Health::Unhealthy(why) => {
                        passes.insert(id.clone(), 0);
                        let n = fails.entry(id.clone()).or_default();
                        *n += 1;
                        last.insert(id.clone(), why.clone());
                        if *n >= h.unhealthy_threshold {
                            failed.insert(id.clone(), format!("{why} ({n} checks in a row)"));
                        }
                    }
                }
            }
            if !failed.is_empty() {
                break;
            }
            if healthy.len() == ids.len() {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                for id in ids.iter().filter(|i| !healthy.contains_key(*i)) {
                    let why = last.get(id).cloned().unwrap_or_else(|| "no answer".into());
                    failed.insert(
                        id.clone(),
                        format!(
                            "not healthy within {} s (last: {why})",
                            h.deadline.as_secs()
                        ),
                    );
                }
                break;
            }
            self.progress.report(&format!(
                "gate: {}/{} healthy after {} s",
                healthy.len(),
                ids.len(),
                started.elapsed().as_secs()
            ));
            let wake = (now + h.interval).min(deadline);
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = self.cancel.cancelled() => return Err(Failure::Cancelled("gate".into())),
            }
        }
        if failed.is_empty() {
            self.progress.report(&format!(
                "gate: {}/{} healthy in {} s",
                healthy.len(),
                ids.len(),
                started.elapsed().as_secs()
            ));
            Ok(healthy.into_values().collect())
        } else {
            Err(Failure::Gate(failed))
        }
    }

    async fn roll_back(&self, plan: &Plan, run: &Run, failure: Failure) -> RolloutError {
        let cancelled = matches!(failure, Failure::Cancelled(_));
        let mut notes = Vec::new();
        let mut restored = true;
        if run.origin_changed && run.origin != plan.origin_before {
            let route = plan.serving_name();
            self.progress.report(&format!(
                "rollback: {route} → the release that served before"
            ));
            match self.dns.point(&plan.origin_before).await {
                Ok(()) => notes.push(format!(
                    "{route} restored to {} target(s)",
                    plan.origin_before.len()
                )),
                Err(e) => {
                    restored = false;
                    notes.push(format!(
                        "{route} could NOT be restored ({e}); it may still point at instances of release {}",
                        plan.release
                    ));
                }
            }
        }
        let launched: Vec<String> = run.launched.iter().map(|i| i.id.clone()).collect();
        if cancelled {
            if launched.is_empty() {
                notes.push(format!("no instance of release {} launched", plan.release));
            } else {
                notes.push(format!(
                    "{} instance(s) of release {} left running {} (tagged; the next apply adopts or removes them): {}",
                    launched.len(),
                    plan.release,
                    plan.out_of_traffic(),
                    launched.join(", ")
                ));
            }
            if run.retired.is_empty() {
                notes.push("nothing terminated".into());
            } else {
                notes.push(format!("already terminated: {}", run.retired.join(", ")));
            }
        } else if !launched.is_empty() && plan.keep_failed {
            notes.push(format!(
                "new instance(s) left running {} for inspection (auto_rollback = false): {}",
                plan.out_of_traffic(),
                launched.join(", ")
            ));
        } else if !launched.is_empty() {
            if run.exposed_new && !plan.origin_before.is_empty() {
                // Resolvers may still hand out the new addresses: let their
                // answers expire before the instances go away.
                self.progress.report(&format!(
                    "rollback: waiting {} s (TTL) before terminating",
                    plan.rollback_wait.as_secs()
                ));
                tokio::time::sleep(plan.rollback_wait).await;
            }
            self.progress.report(&format!(
                "rollback: terminating {} new instance(s)",
                launched.len()
            ));
            match self.compute.terminate(&launched).await {
                Ok(()) => notes.push(format!("terminated new instance(s) {}", launched.join(", "))),
                Err(e) => notes.push(format!("new instance(s) {} could NOT be terminated ({e}); they are tagged for the next apply", launched.join(", "))),
            }
        }
        let serving = if plan.origin_before.is_empty() {
            "nothing was serving before".to_string()
        } else if !restored {
            format!("{} was serving before", releases(&plan.origin_releases))
        } else {
            format!(
                "{} keeps serving ({} target(s))",
                releases(&plan.origin_releases),
                plan.origin_before.len()
            )
        };
        notes.insert(0, serving);
        let left = notes.join("; ");
        match failure {
            Failure::Gate(failures) => RolloutError::GateFailed {
                release: plan.release,
                failures,
                left,
            },
            Failure::Port(error) => RolloutError::Port { error, left },
            Failure::Cancelled(step) => RolloutError::Cancelled { step, left },
        }
    }
}

/// "release 6", "releases 5, 6", or "the release serving before" when the
/// origin pointed at no instance berth knows.
fn releases(r: &[u64]) -> String {
    match r {
        [] => "the release serving before".into(),
        [one] => format!("release {one}"),
        many => format!(
            "releases {}",
            many.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn step_name(s: &Step) -> String {
    match s {
        Step::Launch { .. } => "launch",
        Step::Gate(_) => "gate",
        Step::Expose { .. } | Step::Cutover => "shift",
        Step::Drain { .. } => "drain",
        Step::Retire { .. } => "retire",
    }
    .into()
}

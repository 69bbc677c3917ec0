//! Planning: from the fleet as found and the desired release to an ordered
//! list of steps, known at plan time and described in words.
//!
//! Guarantees:
//! - Instances already running the desired fingerprint are adopted (an
//!   interrupted apply is finished, never duplicated); only the shortfall
//!   is launched.
//! - The old release leaves the origin only after every new batch has
//!   passed its gate, and retires only after TTL + drain.
//! - With an origin record, nothing is retired without TTL + drain first,
//!   even instances no longer in the origin: an apply killed right after
//!   its cutover leaves the old release out of DNS while resolvers still
//!   hand out its addresses, and berth cannot tell how long ago that was.
//! - An empty plan means nothing to do (the second apply is a no-op).

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use crate::model::{Desired, Fleet, HealthPolicy, Instance, Strategy};

/// Which instances a gate waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateTarget {
    /// Instances of the desired release found running but not yet serving
    /// (left by an interrupted apply).
    Adopted(Vec<String>),
    /// The instances launched in batch `n`.
    Batch(u32),
}

/// One step of a rollout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Launch `count` instances of the desired release as batch `batch`.
    Launch {
        /// Batch number, from 0.
        batch: u32,
        /// Instances in the batch.
        count: u32,
    },
    /// Wait until instances are healthy, within the health deadline.
    Gate(GateTarget),
    /// Add batch `batch` to the origin beside what serves now (canary).
    Expose {
        /// Batch number.
        batch: u32,
    },
    /// Point the origin at exactly the desired release's instances.
    Cutover,
    /// Wait for resolvers (TTL) and in-flight requests (drain).
    Drain {
        /// How long.
        wait: Duration,
    },
    /// Terminate instances.
    Retire {
        /// Which.
        ids: Vec<String>,
        /// Why, for the plan text.
        why: String,
    },
}

/// An ordered rollout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The desired release number (for messages).
    pub release: u64,
    /// The desired image (for messages).
    pub image: String,
    /// The desired release's fingerprint (launched instances carry it).
    pub fingerprint: String,
    /// How long a rollback waits after restoring the origin before it
    /// terminates exposed instances (the TTL).
    pub rollback_wait: Duration,
    /// Instances of the desired release that are kept (adopted or serving).
    pub kept: Vec<Instance>,
    /// The origin as found, restored on rollback.
    pub origin_before: Vec<String>,
    /// The releases of the instances the origin pointed at as found (for
    /// messages), ascending.
    pub origin_releases: Vec<u64>,
    /// Instances kept warm out of DNS for instant rollback.
    pub warm: Vec<Instance>,
    /// On a failed gate, leave the new instances running (out of DNS) for
    /// inspection instead of terminating them.
    pub keep_failed: bool,
    /// The app has an origin record (else the serving set is state only).
    pub origin_record: bool,
    /// The "origin" is a load balancer's listener rule (no DNS, no TTL).
    pub balanced: bool,
}

impl Plan {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// What the serving targets are called in messages.
    pub fn serving_name(&self) -> &'static str {
        if self.balanced {
            "listener rule"
        } else if self.origin_record {
            "origin"
        } else {
            "serving set"
        }
    }

    /// Where instances without traffic are, in messages.
    pub fn out_of_traffic(&self) -> &'static str {
        if self.balanced {
            "without traffic from the listener rule"
        } else {
            "out of DNS"
        }
    }

    /// One line per step, as the plan shows it.
    pub fn describe(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Launch { batch, count } => {
                    format!(
                        "launch {count} × release {} ({}) [batch {}]",
                        self.release,
                        self.image,
                        batch + 1
                    )
                }
                Step::Gate(GateTarget::Adopted(ids)) => {
                    format!(
                        "gate: check {} running instance(s) already on release {}'s configuration (kept warm or left by an earlier apply)",
                        ids.len(),
                        self.release
                    )
                }
                Step::Gate(GateTarget::Batch(b)) => {
                    format!("gate: wait for batch {} to be healthy", b + 1)
                }
                Step::Expose { batch } => {
                    format!("expose batch {} beside the serving release", batch + 1)
                }
                Step::Cutover if self.balanced => {
                    format!("cut over: listener rule → release {} only", self.release)
                }
                Step::Cutover if self.origin_record => {
                    format!("cut over: origin → release {} only", self.release)
                }
                Step::Cutover => format!(
                    "cut over: release {} only serves (no origin record to change)",
                    self.release
                ),
                Step::Drain { wait } if self.balanced => {
                    format!("drain: wait {} s (requests in flight)", wait.as_secs())
                }
                Step::Drain { wait } => format!("drain: wait {} s (TTL + drain)", wait.as_secs()),
                Step::Retire { ids, why } => format!("retire {} instance(s): {why}", ids.len()),
            })
            .collect()
    }

    /// A rough duration estimate: boot + gate per batch, plus drains.
    pub fn estimate(&self, boot: Duration, health: &HealthPolicy) -> Duration {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Gate(_) => boot + health.interval * health.healthy_threshold,
                Step::Drain { wait } => *wait,
                _ => Duration::from_secs(1),
            })
            .sum()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.describe().iter().enumerate() {
            writeln!(f, "{}. {line}", i + 1)?;
        }
        Ok(())
    }
}

/// Plans the steps that take `fleet` to `desired`.
pub fn plan(fleet: &Fleet, desired: &Desired, strategy: &Strategy) -> Plan {
    let origin: BTreeSet<&str> = fleet.origin.iter().map(String::as_str).collect();
    let in_origin = |i: &Instance| i.address.as_deref().is_some_and(|a| origin.contains(a));
    let live: Vec<&Instance> = fleet.instances.iter().filter(|i| i.is_live()).collect();
    let (mut current, others): (Vec<&Instance>, Vec<&Instance>) = live
        .iter()
        .partition(|i| i.fingerprint == desired.release.fingerprint);
    // Serving instances first, so surplus removal prefers idle ones.
    current.sort_by_key(|i| (!in_origin(i), i.id.clone()));

    let mut steps = Vec::new();
    let replicas = desired.replicas as usize;
    let surplus: Vec<&Instance> = current.iter().skip(replicas).copied().collect();
    current.truncate(replicas);

    let adopted: Vec<String> = current
        .iter()
        .filter(|i| !in_origin(i))
        .map(|i| i.id.clone())
        .collect();
    if !adopted.is_empty() {
        steps.push(Step::Gate(GateTarget::Adopted(adopted)));
    }

    let shortfall = replicas.saturating_sub(current.len()) as u32;
    let serving_others = others.iter().any(|i| in_origin(i));
    if shortfall > 0 {
        let size = strategy.batch_size.max(1);
        let mut left = shortfall;
        let mut batch = 0;
        while left > 0 {
            let count = left.min(size);
            steps.push(Step::Launch { batch, count });
            steps.push(Step::Gate(GateTarget::Batch(batch)));
            if serving_others && strategy.expose {
                steps.push(Step::Expose { batch });
            }
            left -= count;
            batch += 1;
        }
    }

    // Warm standby: the newest other release that serves now stays up; once
    // it no longer serves (after the cutover that made it warm) it is the
    // newest other release still running.
    let warm_release = if strategy.keep_previous {
        others
            .iter()
            .filter(|i| in_origin(i))
            .map(|i| i.release)
            .max()
            .or_else(|| others.iter().map(|i| i.release).max())
    } else {
        None
    };
    let warm: Vec<Instance> = others
        .iter()
        .filter(|i| Some(i.release) == warm_release)
        .map(|i| (*i).clone())
        .collect();
    let retire_others: Vec<String> = others
        .iter()
        .filter(|i| Some(i.release) != warm_release)
        .map(|i| i.id.clone())
        .collect();
    let retire_surplus: Vec<String> = surplus.iter().map(|i| i.id.clone()).collect();

    // The origin must end up at exactly the desired instances.
    let kept_addresses: BTreeSet<&str> = current
        .iter()
        .filter_map(|i| i.address.as_deref())
        .collect();
    let addressed = current.iter().filter(|i| i.address.is_some()).count();
    let origin_changes = shortfall > 0
        || addressed < current.len()
        || !adopted_only_matches(&origin, &kept_addresses, current.len());
    if origin_changes {
        steps.push(Step::Cutover);
    }
    let leaving_origin = live.iter().any(|i| {
        in_origin(i)
            && (i.fingerprint != desired.release.fingerprint || retire_surplus.contains(&i.id))
    }) || origin
        .iter()
        .any(|a| !live.iter().any(|i| i.address.as_deref() == Some(*a)));
    let retiring = !retire_others.is_empty() || !retire_surplus.is_empty();
    // Out of the origin now, but maybe only since an interrupted apply's
    // cutover moments ago: resolvers may still answer with them.
    let maybe_cached = retiring && !origin.is_empty();
    if retiring || (origin_changes && leaving_origin) {
        if leaving_origin || maybe_cached {
            steps.push(Step::Drain {
                wait: strategy.ttl + strategy.drain,
            });
        }
        if !retire_surplus.is_empty() {
            steps.push(Step::Retire {
                ids: retire_surplus,
                why: "more than the desired replicas".into(),
            });
        }
        if !retire_others.is_empty() {
            steps.push(Step::Retire {
                ids: retire_others,
                why: "old release".into(),
            });
        }
    }

    Plan {
        steps,
        release: desired.release.number,
        image: desired.release.image.clone(),
        fingerprint: desired.release.fingerprint.clone(),
        rollback_wait: strategy.ttl,
        kept: current.iter().map(|i| (*i).clone()).collect(),
        origin_before: fleet.origin.clone(),
        origin_releases: {
            let mut r: Vec<u64> = live
                .iter()
                .filter(|i| in_origin(i))
                .map(|i| i.release)
                .collect();
            r.sort_unstable();
            r.dedup();
            r
        },
        warm,
        keep_failed: false,
        origin_record: strategy.origin_record,
        balanced: strategy.origin_record && !strategy.expose,
    }
}

/// True when the origin already is exactly the kept instances' addresses.
/// The origin is exactly what is kept. Instances may share an address (in
/// load-balancer mode it is their release's target group).
fn adopted_only_matches(origin: &BTreeSet<&str>, kept: &BTreeSet<&str>, kept_count: usize) -> bool {
    kept_count > 0 && origin == kept
}

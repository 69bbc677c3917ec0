//! The nouns of a rollout: releases, instances, the fleet as found, the
//! desired state, and the policies for health and pacing.

use std::time::Duration;

/// One release of an app: what runs, and its number in the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    /// Increasing release number (1, 2, …).
    pub number: u64,
    /// The container image, e.g. `registry/app:2026-11-23`.
    pub image: String,
    /// A digest of everything that defines the release (image, env,
    /// command, sidecars, …): instances with the same fingerprint run
    /// the same thing.
    pub fingerprint: String,
}

/// Lifecycle state of an instance as the compute port reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceState {
    /// Launched, not yet running.
    Pending,
    /// Running (not necessarily healthy).
    Running,
    /// Being terminated or stopped.
    Stopping,
    /// Gone.
    Terminated,
}

/// One instance of an app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// Cloud id, e.g. `i-0abc…`.
    pub id: String,
    /// The release number it runs.
    pub release: u64,
    /// The fingerprint of the release it runs.
    pub fingerprint: String,
    /// Availability zone.
    pub zone: String,
    /// The address traffic reaches it on (origin record target), once known.
    pub address: Option<String>,
    /// Private IPv4 address, once known.
    pub private_ip: Option<String>,
    /// Public IPv4 address, if it has one.
    pub public_ip: Option<String>,
    /// Lifecycle state.
    pub state: InstanceState,
    /// Health the instance reports about itself (e.g. a `berth:health`
    /// tag), when the platform has such a channel.
    pub reported_health: Option<String>,
}

impl Instance {
    /// True while the instance counts towards capacity.
    pub fn is_live(&self) -> bool {
        matches!(self.state, InstanceState::Pending | InstanceState::Running)
    }
}

/// What exists now, as found by listing tagged objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fleet {
    /// Every live instance tagged for this app, of any release.
    pub instances: Vec<Instance>,
    /// The addresses the origin record points at now (empty: no record).
    pub origin: Vec<String>,
}

/// What the configuration asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// The release to run.
    pub release: Release,
    /// How many instances.
    pub replicas: u32,
}

/// How the health gate decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Time between checks of one instance.
    pub interval: Duration,
    /// Consecutive passing checks that make an instance healthy.
    pub healthy_threshold: u32,
    /// Consecutive failing checks that make an instance failed.
    pub unhealthy_threshold: u32,
    /// Longest time a batch may take to become healthy.
    pub deadline: Duration,
}

impl Default for HealthPolicy {
    fn default() -> HealthPolicy {
        HealthPolicy {
            interval: Duration::from_secs(5),
            healthy_threshold: 2,
            unhealthy_threshold: 3,
            deadline: Duration::from_secs(600),
        }
    }
}

/// How a rollout is paced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strategy {
    /// New instances launched (and gated) at a time; each passing batch
    /// joins the origin beside the old release before the old retires.
    pub batch_size: u32,
    /// The origin record's TTL: how long resolvers may keep old answers.
    pub ttl: Duration,
    /// Extra time for in-flight requests after the TTL has passed.
    pub drain: Duration,
    /// Keep the previous release running (out of DNS) for instant rollback.
    pub keep_previous: bool,
    /// The app has an origin record. Without one, what serves is the set of
    /// instances the last apply gated and kept, and no DNS record changes.
    pub origin_record: bool,
    /// Each gated batch joins the origin beside the serving release before
    /// the cutover (DNS: resolvers pick the new addresses up while the old
    /// still answer). False behind a load balancer, whose forward moves at
    /// the cutover alone, at once or in steps.
    pub expose: bool,
}

impl Default for Strategy {
    fn default() -> Strategy {
        Strategy {
            batch_size: u32::MAX,
            ttl: Duration::from_secs(60),
            drain: Duration::from_secs(30),
            keep_previous: false,
            origin_record: true,
            expose: true,
        }
    }
}

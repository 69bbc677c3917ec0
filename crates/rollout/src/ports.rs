//! The ports the engine talks through: compute, health probing, DNS, and
//! progress reporting. Cloud adapters implement them; tests use fakes.
//!
//! Contracts every implementation must keep:
//! - [`Compute::launch`] is idempotent for the same `(release, batch)`: a
//!   retried call after a lost response returns the instances the first
//!   call created (client tokens / tag lookups), never duplicates.
//! - [`Compute::terminate`] of an already terminated instance succeeds.
//! - [`Dns::point`] returns once the change is in sync (authoritative
//!   servers answer with the new targets).

use async_trait::async_trait;

use crate::model::{Instance, Release};

/// A failure of a port call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct PortError {
    /// What was being done, e.g. `launch release 7`.
    pub operation: String,
    /// Why it failed (the cloud's message).
    pub message: String,
}

impl PortError {
    /// A port error.
    pub fn new(operation: impl Into<String>, message: impl Into<String>) -> PortError {
        PortError {
            operation: operation.into(),
            message: message.into(),
        }
    }
}

/// Starts and stops instances.
#[async_trait]
pub trait Compute: Send + Sync {
    /// Launches `count` instances of `release` as batch number `batch`.
    async fn launch(
        &self,
        release: &Release,
        count: u32,
        batch: u32,
    ) -> Result<Vec<Instance>, PortError>;
    /// Current view of the given instances (addresses appear after boot).
    async fn refresh(&self, ids: &[String]) -> Result<Vec<Instance>, PortError>;
    /// Terminates the given instances.
    async fn terminate(&self, ids: &[String]) -> Result<(), PortError>;
}

/// The verdict of one health check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// The app answered its health check.
    Healthy,
    /// Not ready yet (still booting): neither passes nor fails.
    Starting,
    /// The check failed, with why (status code, timeout, crash, …).
    Unhealthy(String),
}

/// Checks an instance's health.
#[async_trait]
pub trait Probe: Send + Sync {
    /// One health check of `instance`.
    async fn check(&self, instance: &Instance) -> Health;
}

/// Points the app's origin record.
#[async_trait]
pub trait Dns: Send + Sync {
    /// Makes the origin record answer exactly `targets` (none: delete it)
    /// and waits until the change is in sync.
    async fn point(&self, targets: &[String]) -> Result<(), PortError>;
}

/// Receives one line per step, for logs and the apply summary.
pub trait Progress: Send + Sync {
    /// A step started or finished, or something worth telling.
    fn report(&self, message: &str);
}

/// Progress that goes nowhere.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn report(&self, _message: &str) {}
}

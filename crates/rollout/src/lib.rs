//! berth's rollout engine, independent of any cloud.
//!
//! [`plan::plan`] turns the fleet as found and the desired release into an
//! ordered [`plan::Plan`] (launch → gate → expose → cut over → drain →
//! retire) that a Terraform plan can show; [`engine::Engine`] runs it
//! through the [`ports`] a cloud adapter implements, rolling back when a
//! step fails or Terraform asks to stop. [`shift`] does the same for DNS
//! weights: declared steps, a health gate before each, revert on failure. Time comes from tokio, so tests
//! run with a paused clock.

pub mod engine;
pub mod model;
pub mod plan;
pub mod ports;
pub mod shift;

pub use engine::{Engine, Outcome, RolloutError};
pub use model::{Desired, Fleet, HealthPolicy, Instance, InstanceState, Release, Strategy};
pub use plan::{GateTarget, Plan, Step, plan};
pub use ports::{Compute, Dns, Health, PortError, Probe, Progress, Silent};

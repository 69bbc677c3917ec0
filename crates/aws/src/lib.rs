//! berth's AWS adapters: SDK configuration and the EC2, Route53, SSM, IAM,
//! CloudWatch Logs, CloudWatch, Elastic Load Balancing and Auto Scaling
//! calls berth makes.
//!
//! This crate is the only one that depends on the (heavy) AWS SDK crates,
//! so the rest of the workspace rebuilds quickly. Callers describe what
//! they want with plain types ([`Settings`], [`ec2::AvailabilityZone`]); SDK types stay
//! inside.

pub mod alarms;
pub mod asg;
pub mod config;
pub mod dns;
pub mod ec2;
pub mod error;
pub mod fleet;
pub mod health_check_ref;
pub mod iam;
pub mod lb;
pub mod lb_fleet;
pub mod logs;
pub mod ports;
mod retry;
pub mod routing;
pub mod rule_shift;
pub mod shift;
pub mod ssm;

pub use config::{Clients, Settings};
pub use error::AwsError;

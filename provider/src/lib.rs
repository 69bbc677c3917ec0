//! The berth Terraform provider: zero-downtime container deploys, traffic
//! shifting and multi-region routing on your own AWS account.
//!
//! `main.rs` only serves [`BerthProvider`]; everything else lives here so
//! tests can drive the provider in-process with [`tfplugin::harness`].

pub mod data_sources;
pub mod docs;
pub mod inventory;
pub mod permissions;
pub mod provider;
pub mod provider_data;
pub mod registry;
pub mod resources;
pub mod userdata;
pub mod validation;

pub use provider::BerthProvider;

/// The provider's registry address.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/berth/berth";

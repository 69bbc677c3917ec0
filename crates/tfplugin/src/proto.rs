//! Rust types and gRPC stubs generated from `proto/` by `build.rs`; private to the crate.
//!
//! `tfplugin6` is the Terraform provider protocol (6.10); `plugin` holds
//! go-plugin's side services (controller, stdio, broker). Nothing here is
//! re-exported: the rest of the crate converts to and from its own types.

#![allow(
    missing_docs,
    unreachable_pub,
    dead_code,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used
)]

/// Terraform plugin protocol 6, package `tfplugin6`.
pub(crate) mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin's side services, package `plugin`.
pub(crate) mod plugin {
    tonic::include_proto!("plugin");
}

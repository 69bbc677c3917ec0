//! Terraform plugin protocol 6 for Rust providers.
//!
//! Provider authors see [`value`], [`types`], [`model`], [`schema`], [`diag`],
//! [`path`], [`provider`], [`configured`] and [`harness`]; everything protocol-shaped
//! (generated protobuf types, the gRPC service, the go-plugin handshake)
//! stays private. The feature `client` adds `client`, which drives a
//! provider binary as Terraform does (for tests and benchmarks).

extern crate self as tfplugin;

#[cfg(feature = "client")]
pub mod client;
pub mod codec;
pub mod configured;
pub mod diag;
pub mod harness;
pub mod model;
pub mod path;
pub mod provider;
pub mod schema;
pub mod types;
pub mod value;

mod grpc;
mod proto;
mod serve;
mod server;

pub use serve::{ListenError, ServeError, ServeOptions, TlsError, init_logging, serve};

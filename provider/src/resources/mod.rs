//! Managed resources, one module each.

pub mod container_app;
pub mod weighted_route;

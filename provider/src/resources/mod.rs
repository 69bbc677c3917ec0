//! Managed resources, one module each.

pub mod container_app;
pub mod region_pool;
pub mod weighted_route;

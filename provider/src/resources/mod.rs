//! Managed resources, one module each, and what they share.

pub mod container_app;
pub mod health_checks;
pub mod import_id;
pub mod listener_rule;
pub mod region_pool;
pub mod weighted_route;

use tfplugin::diag::{Diagnostic, Diagnostics};

/// One error diagnostic.
pub(crate) fn error(summary: &str, detail: impl Into<String>) -> Diagnostics {
    Diagnostic::error(summary, detail).into()
}

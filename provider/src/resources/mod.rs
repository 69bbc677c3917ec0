//! Managed resources, one module each, and what they share.

pub mod container_app;
pub mod health_checks;
pub mod import_id;
pub mod region_pool;
pub mod weighted_route;

use std::sync::Arc;

use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::provider::Ctx;

use crate::provider_data::ProviderData;

/// The configured provider's data, or the "not configured" diagnostic.
pub(crate) fn provider_data(ctx: &Ctx) -> Result<Arc<ProviderData>, Diagnostics> {
    ctx.data::<ProviderData>().map_err(Diagnostics::from)
}

/// One error diagnostic.
pub(crate) fn error(summary: &str, detail: impl Into<String>) -> Diagnostics {
    Diagnostic::error(summary, detail).into()
}

//! The traits a provider implements: [`Provider`], [`Resource`],
//! [`DataSource`], and the optional capabilities [`Import`], [`ModifyPlan`]
//! and [`UpgradeState`].
//!
//! Every operation takes one request struct and returns one response struct
//! carrying its [`Diagnostics`]. Values are already decoded against the
//! schema; the server checks what comes back against the plan, so a
//! resource only deals with its own logic.
//!
//! Cancellation: [`Ctx::cancel`] fires when Terraform calls `StopProvider`
//! (Ctrl-C). Long waits should select on it, stop, and report what they
//! left running.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::diag::{Diagnostic, Diagnostics};
use crate::schema::Schema;
use crate::value::Value;

/// What every operation gets besides its request.
#[derive(Clone, Default)]
pub struct Ctx {
    data: Option<Arc<dyn Any + Send + Sync>>,
    /// Fires when Terraform asks the provider to stop (Ctrl-C).
    pub cancel: CancellationToken,
    /// The Terraform version, when Terraform said it (≥ 1.6 does).
    pub terraform_version: Option<String>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("configured", &self.data.is_some())
            .field("cancelled", &self.cancel.is_cancelled())
            .field("terraform_version", &self.terraform_version)
            .finish()
    }
}

impl Ctx {
    /// A context carrying the data returned by [`Provider::configure`].
    pub fn new(data: Option<Arc<dyn Any + Send + Sync>>, cancel: CancellationToken) -> Ctx {
        Ctx {
            data,
            cancel,
            terraform_version: None,
        }
    }

    /// The configured provider data as `T`.
    ///
    /// # Errors
    /// A diagnostic saying the provider is not configured (or configured
    /// with values unknown until apply) when there is no data of type `T`.
    pub fn data<T: Send + Sync + 'static>(&self) -> Result<Arc<T>, Diagnostic> {
        self.data.clone().and_then(|d| d.downcast::<T>().ok()).ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "The provider configuration was not available to this operation. If the provider \
                 block uses values known only after apply, apply those first (-target), or set them \
                 to known values.",
            )
        })
    }
}

/// Capabilities the client (Terraform) announced.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientCapabilities {
    /// Terraform ≥ 1.9 may accept deferred actions.
    pub deferral_allowed: bool,
    /// Terraform ≥ 1.11 supports write-only attributes.
    pub write_only_attributes_allowed: bool,
}

/// Request to check configuration before anything else happens.
#[derive(Clone, Debug)]
pub struct ValidateRequest {
    /// The configuration; may contain unknowns.
    pub config: Value,
}

/// Request to configure the provider.
#[derive(Clone, Debug)]
pub struct ConfigureRequest {
    /// The provider block; may contain unknowns at plan time.
    pub config: Value,
    /// The Terraform version.
    pub terraform_version: String,
}

/// Result of configuring the provider.
#[derive(Default)]
pub struct ConfigureResponse {
    /// Shared with every later operation through [`Ctx::data`].
    pub data: Option<Arc<dyn Any + Send + Sync>>,
    /// Problems with the configuration.
    pub diagnostics: Diagnostics,
}

/// A provider: its configuration and the resources it serves.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The provider's type name: the prefix of its resources (`berth`).
    fn type_name(&self) -> &str;
    /// The schema of the `provider` block.
    fn schema(&self) -> Schema;
    /// Extra checks of the provider block (schema validators already ran).
    async fn validate(&self, _req: ValidateRequest) -> Diagnostics {
        Diagnostics::new()
    }
    /// Configures clients; the returned data reaches every operation.
    async fn configure(&self, req: ConfigureRequest) -> ConfigureResponse;
    /// The managed resources.
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
    /// The data sources.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;
}

/// Request to create a resource.
#[derive(Clone, Debug)]
pub struct CreateRequest {
    /// The configuration (wholly known at apply).
    pub config: Value,
    /// The planned state: unknowns are for the resource to fill in.
    pub planned: Value,
}

/// Request to update a resource in place.
#[derive(Clone, Debug)]
pub struct UpdateRequest {
    /// The configuration.
    pub config: Value,
    /// The planned state.
    pub planned: Value,
    /// The state before this apply.
    pub prior: Value,
    /// Private data stored with the prior state.
    pub private: Vec<u8>,
}

/// Result of create or update.
#[derive(Clone, Debug, Default)]
pub struct ApplyResponse {
    /// The new state. On error, the state to keep (what exists now), or
    /// null when nothing was created.
    pub new_state: Value,
    /// Opaque bytes stored next to the state.
    pub private: Vec<u8>,
    /// What went wrong, if anything.
    pub diagnostics: Diagnostics,
}

/// Request to refresh a resource's state from the real world.
#[derive(Clone, Debug)]
pub struct ReadRequest {
    /// The current state.
    pub state: Value,
    /// Private data stored with it.
    pub private: Vec<u8>,
}

/// Result of a refresh.
#[derive(Clone, Debug, Default)]
pub struct ReadResponse {
    /// The refreshed state; null when the object no longer exists.
    pub new_state: Value,
    /// Opaque bytes stored next to the state.
    pub private: Vec<u8>,
    /// What went wrong, if anything.
    pub diagnostics: Diagnostics,
}

/// Request to destroy a resource.
#[derive(Clone, Debug)]
pub struct DeleteRequest {
    /// The state being destroyed.
    pub prior: Value,
    /// Private data stored with it.
    pub private: Vec<u8>,
}

/// Result of destroy.
#[derive(Clone, Debug, Default)]
pub struct DeleteResponse {
    /// What went wrong, if anything (the resource stays in state then).
    pub diagnostics: Diagnostics,
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// Full type name, e.g. `berth_container_app`.
    fn type_name(&self) -> &str;
    /// The schema.
    fn schema(&self) -> Schema;
    /// Extra configuration checks (schema validators already ran).
    async fn validate(&self, _ctx: &Ctx, _req: ValidateRequest) -> Diagnostics {
        Diagnostics::new()
    }
    /// Creates the object.
    async fn create(&self, ctx: &Ctx, req: CreateRequest) -> ApplyResponse;
    /// Refreshes the state.
    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> ReadResponse;
    /// Updates the object in place.
    async fn update(&self, ctx: &Ctx, req: UpdateRequest) -> ApplyResponse;
    /// Destroys the object.
    async fn delete(&self, ctx: &Ctx, req: DeleteRequest) -> DeleteResponse;

    /// Opt-in: `terraform import` support.
    fn as_import(&self) -> Option<&dyn Import> {
        None
    }
    /// Opt-in: custom planning after the schema's own rules.
    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        None
    }
    /// Opt-in: upgrading state written by older schema versions.
    fn as_upgrade_state(&self) -> Option<&dyn UpgradeState> {
        None
    }
}

/// Request to import an existing object by id.
#[derive(Clone, Debug)]
pub struct ImportRequest {
    /// What the user passed to `terraform import`.
    pub id: String,
}

/// Result of an import.
#[derive(Clone, Debug, Default)]
pub struct ImportResponse {
    /// A partial state; Terraform then refreshes it with [`Resource::read`].
    pub state: Value,
    /// Opaque bytes stored next to the state.
    pub private: Vec<u8>,
    /// What went wrong (e.g. a malformed id), if anything.
    pub diagnostics: Diagnostics,
}

/// `terraform import` support.
#[async_trait]
pub trait Import: Send + Sync {
    /// Turns an import id into a state that [`Resource::read`] can refresh.
    async fn import(&self, ctx: &Ctx, req: ImportRequest) -> ImportResponse;
}

/// Request to adjust a plan computed from the schema rules.
#[derive(Clone, Debug)]
pub struct ModifyPlanRequest {
    /// The configuration (may hold unknowns).
    pub config: Value,
    /// The prior state; null on create.
    pub prior: Value,
    /// The plan so far; null on destroy.
    pub planned: Value,
}

/// An adjusted plan.
#[derive(Clone, Debug, Default)]
pub struct ModifyPlanResponse {
    /// The plan to use.
    pub planned: Value,
    /// Extra attribute paths that force replacement.
    pub requires_replace: Vec<crate::path::AttributePath>,
    /// Problems found while planning.
    pub diagnostics: Diagnostics,
}

/// Custom planning.
#[async_trait]
pub trait ModifyPlan: Send + Sync {
    /// Adjusts the plan. Must keep every configured value as configured.
    async fn modify_plan(&self, ctx: &Ctx, req: ModifyPlanRequest) -> ModifyPlanResponse;
}

/// Request to upgrade state written by an older schema version.
#[derive(Clone, Debug)]
pub struct UpgradeStateRequest {
    /// The version the state was written with.
    pub version: i64,
    /// The stored state as JSON.
    pub raw_json: serde_json::Value,
}

/// Result of a state upgrade.
#[derive(Clone, Debug, Default)]
pub struct UpgradeStateResponse {
    /// State in the current schema.
    pub state: Value,
    /// What went wrong, if anything.
    pub diagnostics: Diagnostics,
}

/// State upgrades across schema versions.
#[async_trait]
pub trait UpgradeState: Send + Sync {
    /// Converts state from `req.version` to the current schema.
    async fn upgrade(&self, ctx: &Ctx, req: UpgradeStateRequest) -> UpgradeStateResponse;
}

/// Request to read a data source.
#[derive(Clone, Debug)]
pub struct ReadDataRequest {
    /// The configuration (wholly known).
    pub config: Value,
}

/// Result of reading a data source.
#[derive(Clone, Debug, Default)]
pub struct ReadDataResponse {
    /// The full value: configuration plus computed attributes.
    pub state: Value,
    /// What went wrong, if anything.
    pub diagnostics: Diagnostics,
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    /// Full type name, e.g. `berth_availability_zones`.
    fn type_name(&self) -> &str;
    /// The schema.
    fn schema(&self) -> Schema;
    /// Extra configuration checks (schema validators already ran).
    async fn validate(&self, _ctx: &Ctx, _req: ValidateRequest) -> Diagnostics {
        Diagnostics::new()
    }
    /// Reads the data.
    async fn read(&self, ctx: &Ctx, req: ReadDataRequest) -> ReadDataResponse;
}

/// Resource and data source lookup by type name.
pub(crate) struct Registry {
    pub(crate) resources: BTreeMap<String, Arc<dyn Resource>>,
    pub(crate) data_sources: BTreeMap<String, Arc<dyn DataSource>>,
}

impl Registry {
    pub(crate) fn of(provider: &dyn Provider) -> Registry {
        Registry {
            resources: provider
                .resources()
                .into_iter()
                .map(|r| (r.type_name().to_string(), r))
                .collect(),
            data_sources: provider
                .data_sources()
                .into_iter()
                .map(|d| (d.type_name().to_string(), d))
                .collect(),
        }
    }
}

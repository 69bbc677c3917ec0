//! Resources and data sources that need the configured provider's data in
//! every operation: they get it as an argument, once looked up, and never
//! handle "not configured" themselves.
//!
//! A type implements [`ConfiguredResource`] (or [`ConfiguredDataSource`])
//! with its provider's data type, and the provider serves it wrapped in
//! [`Configured`]. The wrapper answers an operation without configured data
//! with the "Provider not configured" diagnostic and the request's own
//! state (a failed update or read keeps the prior state; Terraform then
//! changes nothing). The request types also build those "unchanged"
//! answers for a resource's own errors ([`UpdateRequest::unchanged`],
//! [`ReadRequest::unchanged`]).

use async_trait::async_trait;

use crate::diag::{Diagnostic, Diagnostics};
use crate::provider::{
    ApplyResponse, CreateRequest, Ctx, DataSource, DeleteRequest, DeleteResponse, Import,
    ImportRequest, ImportResponse, ModifyPlan, ReadDataRequest, ReadDataResponse, ReadRequest,
    ReadResponse, Resource, UpdateRequest, UpgradeState, ValidateRequest,
};
use crate::schema::Schema;

/// A resource type whose operations take the provider's data `Data`.
#[async_trait]
pub trait ConfiguredResource: Send + Sync + 'static {
    /// What the provider's `configure` returned.
    type Data: Send + Sync + 'static;
    /// Full type name, e.g. `berth_container_app`.
    fn type_name(&self) -> &str;
    /// The schema.
    fn schema(&self) -> Schema;
    /// Extra configuration checks (needs no provider data: validation runs
    /// before the provider is configured).
    async fn validate(&self, _ctx: &Ctx, _req: ValidateRequest) -> Diagnostics {
        Diagnostics::new()
    }
    /// Creates the object.
    async fn create(&self, ctx: &Ctx, data: &Self::Data, req: CreateRequest) -> ApplyResponse;
    /// Refreshes the state.
    async fn read(&self, ctx: &Ctx, data: &Self::Data, req: ReadRequest) -> ReadResponse;
    /// Updates the object in place.
    async fn update(&self, ctx: &Ctx, data: &Self::Data, req: UpdateRequest) -> ApplyResponse;
    /// Destroys the object.
    async fn delete(&self, ctx: &Ctx, data: &Self::Data, req: DeleteRequest) -> DeleteResponse;
    /// Whether `terraform import` works ([`ConfiguredResource::import`]).
    fn imports(&self) -> bool {
        false
    }
    /// Turns an import id into a state that `read` can refresh.
    async fn import(&self, _ctx: &Ctx, _data: &Self::Data, _req: ImportRequest) -> ImportResponse {
        Diagnostics::from(Diagnostic::error(
            "Import not supported",
            format!("{} cannot be imported.", self.type_name()),
        ))
        .into()
    }
    /// Opt-in: custom planning (it may look at [`Ctx::data`] itself: a plan
    /// can run with the provider not yet configured).
    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        None
    }
    /// Opt-in: upgrading state written by older schema versions.
    fn as_upgrade_state(&self) -> Option<&dyn UpgradeState> {
        None
    }
}

/// A data source whose read takes the provider's data `Data`.
#[async_trait]
pub trait ConfiguredDataSource: Send + Sync + 'static {
    /// What the provider's `configure` returned.
    type Data: Send + Sync + 'static;
    /// Full type name, e.g. `berth_availability_zones`.
    fn type_name(&self) -> &str;
    /// The schema.
    fn schema(&self) -> Schema;
    /// Extra configuration checks.
    async fn validate(&self, _ctx: &Ctx, _req: ValidateRequest) -> Diagnostics {
        Diagnostics::new()
    }
    /// Reads the data.
    async fn read(&self, ctx: &Ctx, data: &Self::Data, req: ReadDataRequest) -> ReadDataResponse;
}

/// Serves a [`ConfiguredResource`] or [`ConfiguredDataSource`] as a
/// [`Resource`] or [`DataSource`].
#[derive(Debug, Default)]
pub struct Configured<T>(pub T);

#[async_trait]
impl<R: ConfiguredResource> Resource for Configured<R> {
    fn type_name(&self) -> &str {
        self.0.type_name()
    }

    fn schema(&self) -> Schema {
        self.0.schema()
    }

    async fn validate(&self, ctx: &Ctx, req: ValidateRequest) -> Diagnostics {
        self.0.validate(ctx, req).await
    }

    async fn create(&self, ctx: &Ctx, req: CreateRequest) -> ApplyResponse {
        match ctx.data::<R::Data>() {
            Ok(data) => self.0.create(ctx, &data, req).await,
            Err(d) => Diagnostics::from(d).into(),
        }
    }

    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> ReadResponse {
        match ctx.data::<R::Data>() {
            Ok(data) => self.0.read(ctx, &data, req).await,
            Err(d) => req.unchanged(d.into()),
        }
    }

    async fn update(&self, ctx: &Ctx, req: UpdateRequest) -> ApplyResponse {
        match ctx.data::<R::Data>() {
            Ok(data) => self.0.update(ctx, &data, req).await,
            Err(d) => req.unchanged(d.into()),
        }
    }

    async fn delete(&self, ctx: &Ctx, req: DeleteRequest) -> DeleteResponse {
        match ctx.data::<R::Data>() {
            Ok(data) => self.0.delete(ctx, &data, req).await,
            Err(d) => Diagnostics::from(d).into(),
        }
    }

    fn as_import(&self) -> Option<&dyn Import> {
        if self.0.imports() { Some(self) } else { None }
    }

    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        self.0.as_modify_plan()
    }

    fn as_upgrade_state(&self) -> Option<&dyn UpgradeState> {
        self.0.as_upgrade_state()
    }
}

#[async_trait]
impl<R: ConfiguredResource> Import for Configured<R> {
    async fn import(&self, ctx: &Ctx, req: ImportRequest) -> ImportResponse {
        match ctx.data::<R::Data>() {
            Ok(data) => self.0.import(ctx, &data, req).await,
            Err(d) => Diagnostics::from(d).into(),
        }
    }
}

#[async_trait]
impl<D: ConfiguredDataSource> DataSource for Configured<D> {
    fn type_name(&self) -> &str {
        self.0.type_name()
    }

    fn schema(&self) -> Schema {
        self.0.schema()
    }

    async fn validate(&self, ctx: &Ctx, req: ValidateRequest) -> Diagnostics {
        self.0.validate(ctx, req).await
    }

    async fn read(&self, ctx: &Ctx, req: ReadDataRequest) -> ReadDataResponse {
        match ctx.data::<D::Data>() {
            Ok(data) => self.0.read(ctx, &data, req).await,
            Err(d) => ReadDataResponse {
                diagnostics: d.into(),
                ..Default::default()
            },
        }
    }
}

impl UpdateRequest {
    /// The answer to a failed update: the prior state and private data
    /// unchanged, with `diagnostics`.
    pub fn unchanged(self, diagnostics: Diagnostics) -> ApplyResponse {
        ApplyResponse {
            new_state: self.prior,
            private: self.private,
            diagnostics,
        }
    }
}

impl ReadRequest {
    /// The answer to a failed refresh: the state and private data
    /// unchanged, with `diagnostics`.
    pub fn unchanged(self, diagnostics: Diagnostics) -> ReadResponse {
        ReadResponse {
            new_state: self.state,
            private: self.private,
            diagnostics,
        }
    }
}

/// A failed create: no state.
impl From<Diagnostics> for ApplyResponse {
    fn from(diagnostics: Diagnostics) -> ApplyResponse {
        ApplyResponse {
            diagnostics,
            ..Default::default()
        }
    }
}

impl From<Diagnostics> for DeleteResponse {
    fn from(diagnostics: Diagnostics) -> DeleteResponse {
        DeleteResponse { diagnostics }
    }
}

impl From<Diagnostics> for ImportResponse {
    fn from(diagnostics: Diagnostics) -> ImportResponse {
        ImportResponse {
            diagnostics,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::schema::Attribute;
    use crate::value::Value;

    /// What a configured provider hands out.
    struct Data {
        name: &'static str,
    }

    /// A resource that records the data it got.
    #[derive(Default)]
    struct Probe {
        calls: AtomicUsize,
    }

    #[async_trait]
    impl ConfiguredResource for Probe {
        type Data = Data;
        fn type_name(&self) -> &str {
            "test_probe"
        }
        fn schema(&self) -> Schema {
            Schema::new(
                crate::schema::Block::new()
                    .attribute(Attribute::string("id").computed().description("id")),
            )
        }
        async fn create(&self, _: &Ctx, data: &Data, _: CreateRequest) -> ApplyResponse {
            self.calls.fetch_add(1, Ordering::Relaxed);
            ApplyResponse {
                new_state: Value::object([("id", Value::string(data.name))]),
                ..Default::default()
            }
        }
        async fn read(&self, _: &Ctx, data: &Data, req: ReadRequest) -> ReadResponse {
            self.calls.fetch_add(1, Ordering::Relaxed);
            req.unchanged(Diagnostic::warning("read", data.name).into())
        }
        async fn update(&self, _: &Ctx, _: &Data, req: UpdateRequest) -> ApplyResponse {
            self.calls.fetch_add(1, Ordering::Relaxed);
            req.unchanged(Diagnostics::new())
        }
        async fn delete(&self, _: &Ctx, _: &Data, _: DeleteRequest) -> DeleteResponse {
            self.calls.fetch_add(1, Ordering::Relaxed);
            DeleteResponse::default()
        }
    }

    fn state(id: &str) -> Value {
        Value::object([("id", Value::string(id))])
    }

    fn configured() -> Ctx {
        let data: Arc<dyn std::any::Any + Send + Sync> = Arc::new(Data {
            name: "from-configure",
        });
        Ctx::new(Some(data), Default::default())
    }

    #[tokio::test]
    async fn operations_get_the_configured_data() {
        let r = Configured(Probe::default());
        let ctx = configured();
        let created = r
            .create(
                &ctx,
                CreateRequest {
                    config: Value::Null,
                    planned: Value::Null,
                },
            )
            .await;
        assert_eq!(created.new_state, state("from-configure"));
        let read = r
            .read(
                &ctx,
                ReadRequest {
                    state: state("x"),
                    private: vec![7],
                },
            )
            .await;
        assert_eq!(read.new_state, state("x"));
        assert_eq!(read.private, [7]);
        assert_eq!(r.0.calls.load(Ordering::Relaxed), 2);
        assert!(r.as_import().is_none(), "import is opt-in");
    }

    #[tokio::test]
    async fn without_configured_data_nothing_runs_and_the_state_is_kept() {
        let r = Configured(Probe::default());
        let ctx = Ctx::default();
        let read = r
            .read(
                &ctx,
                ReadRequest {
                    state: state("kept"),
                    private: vec![1, 2],
                },
            )
            .await;
        assert_eq!(read.new_state, state("kept"));
        assert_eq!(read.private, [1, 2]);
        assert!(read.diagnostics.has_errors());
        assert!(format!("{:?}", read.diagnostics).contains("Provider not configured"));
        let updated = r
            .update(
                &ctx,
                UpdateRequest {
                    config: Value::Null,
                    planned: state("new"),
                    prior: state("old"),
                    private: vec![3],
                },
            )
            .await;
        assert_eq!(updated.new_state, state("old"));
        assert_eq!(updated.private, [3]);
        assert!(updated.diagnostics.has_errors());
        let created = r
            .create(
                &ctx,
                CreateRequest {
                    config: Value::Null,
                    planned: state("new"),
                },
            )
            .await;
        assert_eq!(created.new_state, Value::Null);
        let deleted = r
            .delete(
                &ctx,
                DeleteRequest {
                    prior: state("old"),
                    private: vec![],
                },
            )
            .await;
        assert!(deleted.diagnostics.has_errors());
        assert_eq!(r.0.calls.load(Ordering::Relaxed), 0);
    }
}

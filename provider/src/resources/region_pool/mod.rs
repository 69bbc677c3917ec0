//! `berth_region_pool`: one DNS name served by regional targets with
//! latency routing, per-region health checks, failover to the primary
//! region, and drain/restore of a region without deleting it.
//!
//! Record design (see [`plan::design`]), for `api.example.com` with primary
//! `us-east-1` and a second region `eu-west-1`:
//!
//! ```text
//! api.example.com  [latency us-east-1] alias → us-east-1.pool.api.example.com (evaluate health)
//! api.example.com  [latency eu-west-1] alias → eu-west-1.pool.api.example.com (evaluate health)
//!                                        (drained: alias → us-east-1.pool…)
//! us-east-1.pool.api.example.com [failover primary]   CNAME us-app    (health check us)
//! eu-west-1.pool.api.example.com [failover primary]   CNAME eu-app    (health check eu)
//! eu-west-1.pool.api.example.com [failover secondary] CNAME us-app    (health check us)
//! ```
//!
//! Changes go in three batches so an alias never points at a missing
//! record: pools first, then aliases, then removal of unused pools.
//!
//! Files: [`mod@schema`], [`model`] (typed configuration and state),
//! [`plan`] (validation, the record design, the plan's computed parts),
//! `apply` (create, update, delete), `read` (refresh), `import`; this
//! module is the glue Terraform calls.

mod apply;
mod import;
pub mod model;
pub mod plan;
mod read;
pub mod schema;

use async_trait::async_trait;
use tfplugin::configured::ConfiguredResource;
use tfplugin::diag::Diagnostics;
use tfplugin::model::ToValue;
use tfplugin::provider::{
    ApplyResponse, CreateRequest, Ctx, DeleteRequest, DeleteResponse, ImportRequest,
    ImportResponse, ModifyPlan, ModifyPlanRequest, ModifyPlanResponse, ReadRequest, ReadResponse,
    UpdateRequest, ValidateRequest,
};
use tfplugin::schema::Schema;
use tfplugin::value::Value;

use super::error;
use crate::provider_data::ProviderData;
pub use plan::parse;
pub use schema::schema;

/// The resource type.
#[derive(Debug, Default)]
pub struct RegionPool;

/// The IAM permissions `berth_region_pool` needs, rendered into its docs
/// page; `acceptance-tests/tests/iam.rs` runs its lifecycle through a
/// recording proxy and fails on any AWS call not listed here.
pub const IAM: crate::permissions::Permissions = crate::permissions::Permissions {
    actions: &[
        "route53:ChangeResourceRecordSets",
        "route53:ChangeTagsForResource",
        "route53:CreateHealthCheck",
        "route53:DeleteHealthCheck",
        "route53:GetChange",
        "route53:GetHostedZone",
        "route53:ListHealthChecks",
        "route53:ListHostedZonesByName",
        "route53:ListResourceRecordSets",
    ],
    conditional: &[],
    instance_role: &[],
};

#[async_trait]
impl ConfiguredResource for RegionPool {
    type Data = ProviderData;

    fn type_name(&self) -> &str {
        "berth_region_pool"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Ctx, req: ValidateRequest) -> Diagnostics {
        let mut d = parse(&req.config).1;
        d.extend(crate::validation::read_only_set(
            &schema().block,
            &req.config,
        ));
        d
    }

    async fn create(&self, _ctx: &Ctx, data: &ProviderData, req: CreateRequest) -> ApplyResponse {
        apply::converge(data, None, &req.planned).await
    }

    async fn update(&self, _ctx: &Ctx, data: &ProviderData, req: UpdateRequest) -> ApplyResponse {
        apply::converge(data, Some(&req.prior), &req.planned).await
    }

    async fn read(&self, _ctx: &Ctx, data: &ProviderData, req: ReadRequest) -> ReadResponse {
        let state = match req.state.get() {
            Ok(s) => s,
            Err(d) => return req.unchanged(d),
        };
        match read::refresh(data, &state).await {
            Ok(s) => ReadResponse {
                new_state: s.map_or(Value::Null, |s| s.to_value()),
                private: req.private,
                diagnostics: Diagnostics::new(),
            },
            Err(e) => req.unchanged(error("Cannot read berth_region_pool", e)),
        }
    }

    async fn delete(&self, _ctx: &Ctx, data: &ProviderData, req: DeleteRequest) -> DeleteResponse {
        apply::delete(data, &req.prior).await
    }

    fn imports(&self) -> bool {
        true
    }

    async fn import(&self, _ctx: &Ctx, data: &ProviderData, req: ImportRequest) -> ImportResponse {
        import::import(data, req).await
    }

    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        Some(self)
    }
}

#[async_trait]
impl ModifyPlan for RegionPool {
    async fn modify_plan(&self, _ctx: &Ctx, req: ModifyPlanRequest) -> ModifyPlanResponse {
        plan::modify_plan(&req)
    }
}

//! `berth_weighted_route`: one DNS name split across targets by weight
//! (Route53 weighted record sets, changed in one atomic batch), with
//! optional health checks and a progressive, health-gated shift inside one
//! apply that reverts on failure.
//!
//! Files: [`mod@schema`], [`model`] (typed configuration and state), [`plan`]
//! (validation and the plan's computed parts), `apply` (create, update,
//! delete), `read` (refresh), `import`; this module is the glue Terraform
//! calls.

mod apply;
mod import;
pub mod model;
pub mod plan;
mod read;
mod rule;
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
pub use schema::schema;

/// The resource type.
#[derive(Debug, Default)]
pub struct WeightedRoute;

/// The IAM permissions `berth_weighted_route` needs, rendered into its docs
/// page; `acceptance-tests/tests/iam.rs` runs its lifecycle through a
/// recording proxy and fails on any AWS call not listed here.
pub const IAM: crate::permissions::Permissions = crate::permissions::Permissions {
    actions: &[
        "route53:ChangeResourceRecordSets",
        "route53:ChangeTagsForResource",
        "route53:CreateHealthCheck",
        "route53:DeleteHealthCheck",
        "route53:GetChange",
        "route53:GetHealthCheckStatus",
        "route53:GetHostedZone",
        "route53:ListHealthChecks",
        "route53:ListHostedZonesByName",
        "route53:ListResourceRecordSets",
    ],
    conditional: &[
        crate::permissions::Grant {
            when: "a target sets `app`",
            why: "a shift towards it is gated on the app's instances, read by their tags",
            actions: &["ec2:DescribeInstances"],
            resource: "*",
            condition: None,
        },
        crate::permissions::Grant {
            when: "a `listener_rule` block is set",
            why: "to create the route's rule on your listener (tagged `berth:route`; creating a tagged rule is also checked as `AddTags`), find it again by its tag after an interrupted apply, change its conditions, priority and weighted forward, read the target health of its groups for the gates, read it back for refresh and import, and delete it on destroy",
            actions: &[
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities",
            ],
            resource: "*",
            condition: None,
        },
    ],
    instance_role: &[],
};

#[async_trait]
impl ConfiguredResource for WeightedRoute {
    type Data = ProviderData;

    fn type_name(&self) -> &str {
        "berth_weighted_route"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Ctx, req: ValidateRequest) -> Diagnostics {
        let mut d = plan::parse(&req.config).1;
        if !req.config.attr("listener_rule").is_null() && !req.config.attr("ttl").is_null() {
            d.push(
                tfplugin::diag::Diagnostic::error(
                    "TTL on a listener rule",
                    "`ttl` is the records' TTL in DNS mode; a route in listener-rule mode has no records (the load balancer moves traffic at once). Remove `ttl`.",
                )
                .at(tfplugin::path::AttributePath::attr("ttl")),
            );
        }
        d.extend(crate::validation::read_only_set(
            &schema().block,
            &req.config,
        ));
        d
    }

    async fn create(&self, ctx: &Ctx, data: &ProviderData, req: CreateRequest) -> ApplyResponse {
        apply::converge(ctx, data, None, &req.planned).await
    }

    async fn update(&self, ctx: &Ctx, data: &ProviderData, req: UpdateRequest) -> ApplyResponse {
        apply::converge(ctx, data, Some(&req.prior), &req.planned).await
    }

    async fn read(&self, _ctx: &Ctx, data: &ProviderData, req: ReadRequest) -> ReadResponse {
        let state: model::RouteModel = match req.state.get() {
            Ok(s) => s,
            Err(d) => return req.unchanged(d),
        };
        let refreshed = if state.listener_rule.is_null() {
            read::refresh(data, &state).await
        } else {
            rule::refresh(data, &state).await
        };
        match refreshed {
            Ok(s) => ReadResponse {
                new_state: s.map_or(Value::Null, |s| s.to_value()),
                private: req.private,
                diagnostics: Diagnostics::new(),
            },
            Err(e) => req.unchanged(error("Cannot read berth_weighted_route", e)),
        }
    }

    async fn delete(&self, _ctx: &Ctx, data: &ProviderData, req: DeleteRequest) -> DeleteResponse {
        apply::delete(data, &req.prior).await
    }

    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        Some(self)
    }

    fn imports(&self) -> bool {
        true
    }

    async fn import(&self, _ctx: &Ctx, data: &ProviderData, req: ImportRequest) -> ImportResponse {
        import::import(data, req).await
    }
}

#[async_trait]
impl ModifyPlan for WeightedRoute {
    async fn modify_plan(&self, _ctx: &Ctx, req: ModifyPlanRequest) -> ModifyPlanResponse {
        plan::modify_plan(&req)
    }
}

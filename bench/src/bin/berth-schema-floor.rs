//! berth-schema-floor: a provider that serves berth's exact schemas (the
//! provider block and every resource) and does no work of its own: plans
//! are what Terraform proposes, reads and applies hand back what they are
//! given. The routes bench plans the same 500 `berth_weighted_route` state
//! with it, so the figures separate what Terraform itself spends on a
//! resource of this schema from what berth's own logic adds.
//!
//! Used only by `scripts/bench`; never install it as a provider.

use std::process::ExitCode;
use std::sync::Arc;

use async_trait::async_trait;
use terraform_provider_berth::BerthProvider;
use tfplugin::diag::Diagnostics;
use tfplugin::provider::{
    ApplyResponse, ConfigureRequest, ConfigureResponse, CreateRequest, Ctx, DataSource,
    DeleteRequest, DeleteResponse, Provider, ReadRequest, ReadResponse, Resource, UpdateRequest,
};
use tfplugin::schema::Schema;

/// The provider block's schema and the resources', nothing else.
struct Floor {
    berth: BerthProvider,
}

#[async_trait]
impl Provider for Floor {
    fn type_name(&self) -> &str {
        "berth"
    }

    fn schema(&self) -> Schema {
        self.berth.schema()
    }

    async fn configure(&self, _req: ConfigureRequest) -> ConfigureResponse {
        ConfigureResponse::default()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        self.berth
            .resources()
            .into_iter()
            .map(|r| {
                Arc::new(Same {
                    name: r.type_name().to_string(),
                    schema: r.schema(),
                }) as Arc<dyn Resource>
            })
            .collect()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![]
    }
}

/// A resource with berth's schema that changes nothing.
struct Same {
    name: String,
    schema: Schema,
}

#[async_trait]
impl Resource for Same {
    fn type_name(&self) -> &str {
        &self.name
    }

    fn schema(&self) -> Schema {
        self.schema.clone()
    }

    async fn create(&self, _ctx: &Ctx, req: CreateRequest) -> ApplyResponse {
        ApplyResponse {
            new_state: req.planned,
            ..Default::default()
        }
    }

    async fn read(&self, _ctx: &Ctx, req: ReadRequest) -> ReadResponse {
        ReadResponse {
            new_state: req.state,
            private: req.private,
            diagnostics: Diagnostics::new(),
        }
    }

    async fn update(&self, _ctx: &Ctx, req: UpdateRequest) -> ApplyResponse {
        ApplyResponse {
            new_state: req.planned,
            private: req.private,
            ..Default::default()
        }
    }

    async fn delete(&self, _ctx: &Ctx, _req: DeleteRequest) -> DeleteResponse {
        DeleteResponse::default()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let opts = tfplugin::ServeOptions {
        provider_address: terraform_provider_berth::PROVIDER_ADDRESS.to_string(),
        ..Default::default()
    };
    match tfplugin::serve(
        Floor {
            berth: BerthProvider::new(),
        },
        opts,
    )
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

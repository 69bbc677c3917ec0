//! The tfplugin6 gRPC service: decode → [`Server`] → encode, per RPC.
//!
//! Values that fail to decode and values the provider cannot encode become
//! diagnostics in the response (Terraform shows those well), never panics
//! or transport errors. RPCs berth does not serve answer an empty response
//! where Terraform expects one (functions, identity schemas) and
//! `Unimplemented` otherwise.

use std::pin::Pin;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::path::{AttributePath, PathStep};
use crate::proto::tfplugin6 as pb;
use crate::provider::{ClientCapabilities, Provider};
use crate::schema::{Attribute, AttributeKind, Block, DescriptionKind, Nesting, Schema};
use crate::server::Server;
use crate::types::Type;
use crate::value::Value;

/// Largest message accepted or sent (Terraform allows 256 MiB).
pub(crate) const MAX_MESSAGE: usize = 256 << 20;

/// The tfplugin6 `Provider` service for `provider`, as routes to serve.
pub(crate) fn provider_routes<P: Provider>(provider: P) -> tonic::service::Routes {
    let svc = pb::provider_server::ProviderServer::new(GrpcProvider::new(provider))
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    tonic::service::Routes::new(svc)
}

/// A provider behind the tfplugin6 service.
pub(crate) struct GrpcProvider {
    server: Arc<Server>,
}

impl GrpcProvider {
    pub(crate) fn new<P: Provider>(provider: P) -> GrpcProvider {
        GrpcProvider {
            server: Arc::new(Server::new(Arc::new(provider))),
        }
    }
}

fn decode(ty: &Type, dv: Option<&pb::DynamicValue>, what: &str, diags: &mut Diagnostics) -> Value {
    let Some(dv) = dv else { return Value::Null };
    let res = if !dv.msgpack.is_empty() {
        crate::codec::from_msgpack(ty, &dv.msgpack)
    } else if !dv.json.is_empty() {
        crate::codec::from_json(ty, &dv.json, crate::codec::UndefinedAttributes::Reject)
    } else {
        Ok(Value::Null)
    };
    res.unwrap_or_else(|e| {
        diags.push(
            Diagnostic::error(
                format!("Invalid {what} received from Terraform"),
                e.to_string(),
            )
            .at(e.path),
        );
        Value::Null
    })
}

fn encode(ty: &Type, v: &Value, what: &str, diags: &mut Diagnostics) -> Option<pb::DynamicValue> {
    match crate::codec::to_msgpack(ty, v) {
        Ok(msgpack) => Some(pb::DynamicValue {
            msgpack,
            json: vec![],
        }),
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    format!("Provider bug: cannot encode the {what}"),
                    format!("{e}. Please report this to the provider's maintainers."),
                )
                .at(e.path),
            );
            None
        }
    }
}

fn diags_pb(d: Diagnostics) -> Vec<pb::Diagnostic> {
    d.into_iter()
        .map(|d| pb::Diagnostic {
            severity: match d.severity {
                Severity::Error => pb::diagnostic::Severity::Error as i32,
                Severity::Warning => pb::diagnostic::Severity::Warning as i32,
            },
            summary: d.summary,
            detail: d.detail,
            attribute: d.attribute.filter(|p| !p.is_root()).map(|p| path_pb(&p)),
        })
        .collect()
}

fn path_pb(p: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .steps()
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attribute(n) => Selector::AttributeName(n.clone()),
                    PathStep::ElementKey(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::ElementIndex(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

fn kind_pb(k: DescriptionKind) -> i32 {
    match k {
        DescriptionKind::Plain => pb::StringKind::Plain as i32,
        DescriptionKind::Markdown => pb::StringKind::Markdown as i32,
    }
}

fn attribute_pb(a: &Attribute) -> pb::schema::Attribute {
    let (ty, nested_type) = match &a.kind {
        AttributeKind::Typed(t) => (t.to_json_bytes(), None),
        AttributeKind::Nested {
            nesting,
            attributes,
        } => {
            let nesting = match nesting {
                Nesting::Single | Nesting::Group => pb::schema::object::NestingMode::Single,
                Nesting::List => pb::schema::object::NestingMode::List,
                Nesting::Set => pb::schema::object::NestingMode::Set,
                Nesting::Map => pb::schema::object::NestingMode::Map,
            } as i32;
            #[allow(deprecated)]
            let obj = pb::schema::Object {
                attributes: attributes.iter().map(attribute_pb).collect(),
                nesting,
                min_items: 0,
                max_items: 0,
            };
            (vec![], Some(obj))
        }
    };
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type,
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: kind_pb(DescriptionKind::Markdown),
        deprecated: a.deprecated.is_some(),
        write_only: a.write_only,
        deprecation_message: a.deprecated.clone().unwrap_or_default(),
    }
}

fn block_pb(b: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: b.attributes.iter().map(attribute_pb).collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| pb::schema::NestedBlock {
                type_name: nb.name.clone(),
                block: Some(block_pb(&nb.block, 0)),
                nesting: match nb.nesting {
                    Nesting::Single => pb::schema::nested_block::NestingMode::Single,
                    Nesting::List => pb::schema::nested_block::NestingMode::List,
                    Nesting::Set => pb::schema::nested_block::NestingMode::Set,
                    Nesting::Map => pb::schema::nested_block::NestingMode::Map,
                    Nesting::Group => pb::schema::nested_block::NestingMode::Group,
                } as i32,
                min_items: nb.min_items,
                max_items: nb.max_items,
            })
            .collect(),
        description: b.description.clone(),
        description_kind: kind_pb(b.description_kind),
        deprecated: b.deprecated,
        deprecation_message: String::new(),
    }
}

pub(crate) fn schema_pb(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block_pb(&s.block, s.version)),
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

fn unknown_resource_type<'a>(s: &'a Server, type_name: &str) -> Option<&'a Type> {
    s.schemas().resource_type(type_name)
}

/// What one request's Terraform announced (nothing: a Terraform older
/// than the capability, e.g. 1.0 announces neither).
fn client_of(c: Option<&pb::ClientCapabilities>) -> ClientCapabilities {
    c.map(|c| ClientCapabilities {
        deferral_allowed: c.deferral_allowed,
        write_only_attributes_allowed: c.write_only_attributes_allowed,
    })
    .unwrap_or_default()
}

fn record_client(s: &Server, c: Option<&pb::ClientCapabilities>) {
    if let (Some(_), Ok(mut w)) = (c, s.client.write()) {
        *w = client_of(c);
    }
}

fn unknown_type_diag(kind: &str, name: &str) -> Vec<pb::Diagnostic> {
    diags_pb(
        Diagnostic::error(
            format!("Unknown {kind} type"),
            format!("This provider has no {kind} type {name:?}."),
        )
        .into(),
    )
}

type BoxStream<T> = Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl pb::provider_server::Provider for GrpcProvider {
    async fn get_metadata(
        &self,
        _req: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        let s = self.server.schemas();
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: vec![],
            data_sources: s
                .data_sources
                .keys()
                .map(|k| pb::get_metadata::DataSourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            resources: s
                .resources
                .keys()
                .map(|k| pb::get_metadata::ResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _req: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        tracing::debug!(tf_rpc = "GetProviderSchema", "serving schema");
        let s = self.server.schemas();
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(schema_pb(&s.provider)),
            resource_schemas: s
                .resources
                .iter()
                .map(|(k, v)| (k.clone(), schema_pb(v)))
                .collect(),
            data_source_schemas: s
                .data_sources
                .iter()
                .map(|(k, v)| (k.clone(), schema_pb(v)))
                .collect(),
            diagnostics: diags_pb(self.server.schema_diagnostics()),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        }))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let req = req.into_inner();
        let mut d = Diagnostics::new();
        let config = decode(
            self.server.schemas().provider_type(),
            req.config.as_ref(),
            "provider configuration",
            &mut d,
        );
        if !d.has_errors() {
            d.extend(self.server.validate_provider_config(config).await);
        }
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diags_pb(d),
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = req.into_inner();
        record_client(&self.server, req.client_capabilities.as_ref());
        let mut d = Diagnostics::new();
        let config = decode(
            self.server.schemas().provider_type(),
            req.config.as_ref(),
            "provider configuration",
            &mut d,
        );
        if !d.has_errors() {
            d.extend(self.server.configure(config, req.terraform_version).await);
        }
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diags_pb(d),
        }))
    }

    async fn stop_provider(
        &self,
        _req: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!(
            tf_rpc = "StopProvider",
            "stop requested: cancelling operations in flight"
        );
        self.server.stop();
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = req.into_inner();
        record_client(&self.server, req.client_capabilities.as_ref());
        let Some(ty) = unknown_resource_type(&self.server, &req.type_name) else {
            return Ok(Response::new(pb::validate_resource_config::Response {
                diagnostics: unknown_type_diag("resource", &req.type_name),
            }));
        };
        let mut d = Diagnostics::new();
        let config = decode(ty, req.config.as_ref(), "configuration", &mut d);
        if !d.has_errors() {
            d.extend(
                self.server
                    .validate_resource_config(
                        &req.type_name,
                        config,
                        client_of(req.client_capabilities.as_ref()),
                    )
                    .await,
            );
        }
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diags_pb(d),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = req.into_inner();
        let Some(ty) = unknown_resource_type(&self.server, &req.type_name) else {
            return Ok(Response::new(pb::upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics: unknown_type_diag("resource", &req.type_name),
            }));
        };
        let raw = req.raw_state.unwrap_or_default();
        let (state, mut d) = if raw.json.is_empty() {
            if raw.flatmap.is_empty() {
                (Value::Null, Diagnostics::new())
            } else {
                (
                    Value::Null,
                    Diagnostic::error(
                        "Unsupported state format",
                        "Flatmap state (Terraform 0.11) cannot be read.",
                    )
                    .into(),
                )
            }
        } else {
            self.server
                .upgrade_resource_state(&req.type_name, req.version, &raw.json)
                .await
        };
        let upgraded_state = if d.has_errors() {
            None
        } else {
            encode(ty, &state, "upgraded state", &mut d)
        };
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: diags_pb(d),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = req.into_inner();
        record_client(&self.server, req.client_capabilities.as_ref());
        let Some(ty) = unknown_resource_type(&self.server, &req.type_name) else {
            return Ok(Response::new(pb::read_resource::Response {
                diagnostics: unknown_type_diag("resource", &req.type_name),
                ..Default::default()
            }));
        };
        let mut d = Diagnostics::new();
        let state = decode(ty, req.current_state.as_ref(), "current state", &mut d);
        if d.has_errors() {
            return Ok(Response::new(pb::read_resource::Response {
                new_state: req.current_state,
                private: req.private,
                diagnostics: diags_pb(d),
                ..Default::default()
            }));
        }
        let res = self
            .server
            .read_resource(&req.type_name, state, req.private)
            .await;
        d.extend(res.diagnostics);
        let new_state = encode(ty, &res.new_state, "refreshed state", &mut d);
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            private: res.private,
            diagnostics: diags_pb(d),
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = req.into_inner();
        record_client(&self.server, req.client_capabilities.as_ref());
        let Some(ty) = unknown_resource_type(&self.server, &req.type_name) else {
            return Ok(Response::new(pb::plan_resource_change::Response {
                diagnostics: unknown_type_diag("resource", &req.type_name),
                ..Default::default()
            }));
        };
        let mut d = Diagnostics::new();
        let prior = decode(ty, req.prior_state.as_ref(), "prior state", &mut d);
        let proposed = decode(
            ty,
            req.proposed_new_state.as_ref(),
            "proposed state",
            &mut d,
        );
        let config = decode(ty, req.config.as_ref(), "configuration", &mut d);
        if d.has_errors() {
            return Ok(Response::new(pb::plan_resource_change::Response {
                diagnostics: diags_pb(d),
                ..Default::default()
            }));
        }
        let res = self
            .server
            .plan_resource_change(&req.type_name, prior, proposed, config, req.prior_private)
            .await;
        d.extend(res.diagnostics);
        let planned_state = encode(ty, &res.planned, "planned state", &mut d);
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace: res.requires_replace.iter().map(path_pb).collect(),
            planned_private: res.private,
            diagnostics: diags_pb(d),
            ..Default::default()
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = req.into_inner();
        let Some(ty) = unknown_resource_type(&self.server, &req.type_name) else {
            return Ok(Response::new(pb::apply_resource_change::Response {
                diagnostics: unknown_type_diag("resource", &req.type_name),
                ..Default::default()
            }));
        };
        let mut d = Diagnostics::new();
        let prior = decode(ty, req.prior_state.as_ref(), "prior state", &mut d);
        let planned = decode(ty, req.planned_state.as_ref(), "planned state", &mut d);
        let config = decode(ty, req.config.as_ref(), "configuration", &mut d);
        if d.has_errors() {
            return Ok(Response::new(pb::apply_resource_change::Response {
                new_state: req.prior_state,
                diagnostics: diags_pb(d),
                ..Default::default()
            }));
        }
        let res = self
            .server
            .apply_resource_change(&req.type_name, prior, planned, config, req.planned_private)
            .await;
        d.extend(res.diagnostics);
        let new_state = encode(ty, &res.new_state, "new state", &mut d);
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private: res.private,
            diagnostics: diags_pb(d),
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = req.into_inner();
        record_client(&self.server, req.client_capabilities.as_ref());
        let Some(ty) = unknown_resource_type(&self.server, &req.type_name) else {
            return Ok(Response::new(pb::import_resource_state::Response {
                diagnostics: unknown_type_diag("resource", &req.type_name),
                ..Default::default()
            }));
        };
        let (imported, mut d) = self
            .server
            .import_resource_state(&req.type_name, req.id)
            .await;
        let imported_resources = imported
            .into_iter()
            .map(|i| pb::import_resource_state::ImportedResource {
                state: encode(ty, &i.state, "imported state", &mut d),
                type_name: i.type_name,
                private: i.private,
                identity: None,
            })
            .collect();
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources,
            diagnostics: diags_pb(d),
            deferred: None,
        }))
    }

    async fn move_resource_state(
        &self,
        _req: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        Err(Status::unimplemented(
            "MoveResourceState is not supported by this provider",
        ))
    }

    async fn generate_resource_config(
        &self,
        _req: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        Err(Status::unimplemented(
            "GenerateResourceConfig is not supported by this provider",
        ))
    }

    async fn get_resource_identity_schemas(
        &self,
        _req: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        // No resource has an identity schema (yet): an empty answer.
        Ok(Response::new(
            pb::get_resource_identity_schemas::Response::default(),
        ))
    }

    async fn upgrade_resource_identity(
        &self,
        _req: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        Err(Status::unimplemented(
            "resource identities are not supported by this provider",
        ))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = req.into_inner();
        let Some(ty) = self.server.schemas().data_source_type(&req.type_name) else {
            return Ok(Response::new(pb::validate_data_resource_config::Response {
                diagnostics: unknown_type_diag("data source", &req.type_name),
            }));
        };
        let mut d = Diagnostics::new();
        let config = decode(ty, req.config.as_ref(), "configuration", &mut d);
        if !d.has_errors() {
            d.extend(
                self.server
                    .validate_data_source_config(&req.type_name, config)
                    .await,
            );
        }
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diags_pb(d),
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = req.into_inner();
        record_client(&self.server, req.client_capabilities.as_ref());
        let Some(ty) = self.server.schemas().data_source_type(&req.type_name) else {
            return Ok(Response::new(pb::read_data_source::Response {
                diagnostics: unknown_type_diag("data source", &req.type_name),
                ..Default::default()
            }));
        };
        let mut d = Diagnostics::new();
        let config = decode(ty, req.config.as_ref(), "configuration", &mut d);
        if d.has_errors() {
            return Ok(Response::new(pb::read_data_source::Response {
                diagnostics: diags_pb(d),
                ..Default::default()
            }));
        }
        let (state, rd) = self.server.read_data_source(&req.type_name, config).await;
        d.extend(rd);
        let state = if d.has_errors() {
            None
        } else {
            encode(ty, &state, "data source state", &mut d)
        };
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: diags_pb(d),
            deferred: None,
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        Ok(Response::new(
            pb::validate_ephemeral_resource_config::Response {
                diagnostics: unknown_type_diag("ephemeral resource", &req.into_inner().type_name),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        _req: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        Err(Status::unimplemented(
            "this provider has no ephemeral resources",
        ))
    }

    async fn renew_ephemeral_resource(
        &self,
        _req: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        Err(Status::unimplemented(
            "this provider has no ephemeral resources",
        ))
    }

    async fn close_ephemeral_resource(
        &self,
        _req: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        Err(Status::unimplemented(
            "this provider has no ephemeral resources",
        ))
    }

    type ListResourceStream = BoxStream<pb::list_resource::Event>;

    async fn list_resource(
        &self,
        _req: Request<pb::list_resource::Request>,
    ) -> Result<Response<Self::ListResourceStream>, Status> {
        Err(Status::unimplemented("this provider has no list resources"))
    }

    async fn validate_list_resource_config(
        &self,
        _req: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        Err(Status::unimplemented("this provider has no list resources"))
    }

    async fn get_functions(
        &self,
        _req: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(pb::get_functions::Response::default()))
    }

    async fn call_function(
        &self,
        _req: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        Err(Status::unimplemented("this provider has no functions"))
    }

    async fn validate_state_store_config(
        &self,
        _req: Request<pb::validate_state_store::Request>,
    ) -> Result<Response<pb::validate_state_store::Response>, Status> {
        Err(Status::unimplemented("this provider has no state stores"))
    }

    async fn configure_state_store(
        &self,
        _req: Request<pb::configure_state_store::Request>,
    ) -> Result<Response<pb::configure_state_store::Response>, Status> {
        Err(Status::unimplemented("this provider has no state stores"))
    }

    type ReadStateBytesStream = BoxStream<pb::read_state_bytes::Response>;

    async fn read_state_bytes(
        &self,
        _req: Request<pb::read_state_bytes::Request>,
    ) -> Result<Response<Self::ReadStateBytesStream>, Status> {
        Err(Status::unimplemented("this provider has no state stores"))
    }

    async fn write_state_bytes(
        &self,
        _req: Request<tonic::Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Result<Response<pb::write_state_bytes::Response>, Status> {
        Err(Status::unimplemented("this provider has no state stores"))
    }

    async fn lock_state(
        &self,
        _req: Request<pb::lock_state::Request>,
    ) -> Result<Response<pb::lock_state::Response>, Status> {
        Err(Status::unimplemented("this provider has no state stores"))
    }

    async fn unlock_state(
        &self,
        _req: Request<pb::unlock_state::Request>,
    ) -> Result<Response<pb::unlock_state::Response>, Status> {
        Err(Status::unimplemented("this provider has no state stores"))
    }

    async fn get_states(
        &self,
        _req: Request<pb::get_states::Request>,
    ) -> Result<Response<pb::get_states::Response>, Status> {
        Err(Status::unimplemented("this provider has no state stores"))
    }

    async fn delete_state(
        &self,
        _req: Request<pb::delete_state::Request>,
    ) -> Result<Response<pb::delete_state::Response>, Status> {
        Err(Status::unimplemented("this provider has no state stores"))
    }

    async fn plan_action(
        &self,
        _req: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        Err(Status::unimplemented("this provider has no actions"))
    }

    type InvokeActionStream = BoxStream<pb::invoke_action::Event>;

    async fn invoke_action(
        &self,
        _req: Request<pb::invoke_action::Request>,
    ) -> Result<Response<Self::InvokeActionStream>, Status> {
        Err(Status::unimplemented("this provider has no actions"))
    }

    async fn validate_action_config(
        &self,
        _req: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        Err(Status::unimplemented("this provider has no actions"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::proto::tfplugin6::provider_server::Provider as _;
    use crate::provider::{
        ConfigureRequest, ConfigureResponse, Ctx, DataSource, ReadDataRequest, ReadDataResponse,
        Resource,
    };
    use crate::schema::Attribute;

    /// A provider whose only data source waits until cancelled (or 30 s).
    struct Slow;
    struct Wait;

    #[async_trait]
    impl Provider for Slow {
        fn type_name(&self) -> &str {
            "slow"
        }
        fn schema(&self) -> Schema {
            Schema::new(Block::new())
        }
        async fn configure(&self, _req: ConfigureRequest) -> ConfigureResponse {
            ConfigureResponse::default()
        }
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            vec![]
        }
        fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
            vec![Arc::new(Wait)]
        }
    }

    #[async_trait]
    impl DataSource for Wait {
        fn type_name(&self) -> &str {
            "slow_wait"
        }
        fn schema(&self) -> Schema {
            Schema::new(
                Block::new()
                    .attribute(Attribute::bool("quick").optional())
                    .attribute(Attribute::string("out").computed()),
            )
        }
        async fn read(&self, ctx: &Ctx, req: ReadDataRequest) -> ReadDataResponse {
            let mut state = req.config.clone();
            if req.config.attr("quick").as_bool() != Some(true) {
                tokio::select! {
                    () = ctx.cancel.cancelled() => {
                        return ReadDataResponse {
                            diagnostics: Diagnostic::error("Cancelled", "stopped while waiting").into(),
                            ..Default::default()
                        };
                    }
                    () = tokio::time::sleep(Duration::from_secs(30)) => {}
                }
            }
            state.set_attr("out", Value::string("done"));
            ReadDataResponse {
                state,
                diagnostics: Diagnostics::new(),
            }
        }
    }

    fn read_req(quick: bool) -> Request<pb::read_data_source::Request> {
        let ty = Wait.schema().value_type();
        let config = Value::object([("quick", Value::Bool(quick)), ("out", Value::Null)]);
        Request::new(pb::read_data_source::Request {
            type_name: "slow_wait".into(),
            config: Some(pb::DynamicValue {
                msgpack: crate::codec::to_msgpack(&ty, &config).unwrap(),
                json: vec![],
            }),
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn stop_provider_cancels_work_in_flight_and_keeps_serving() {
        let grpc = Arc::new(GrpcProvider::new(Slow));
        let running = {
            let grpc = grpc.clone();
            tokio::spawn(async move { grpc.read_data_source(read_req(false)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        grpc.stop_provider(Request::new(pb::stop_provider::Request {}))
            .await
            .unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .unwrap()
            .unwrap()
            .unwrap()
            .into_inner();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "cancellation reached the operation promptly"
        );
        assert_eq!(resp.diagnostics[0].summary, "Cancelled");
        // The server still serves: a later operation runs with a fresh token.
        let ok = grpc
            .read_data_source(read_req(true))
            .await
            .unwrap()
            .into_inner();
        assert!(ok.diagnostics.is_empty(), "{:?}", ok.diagnostics);
        assert!(ok.state.is_some());
    }

    #[tokio::test]
    async fn unserved_rpcs_answer_unimplemented_and_capabilities_are_announced() {
        let grpc = GrpcProvider::new(Slow);
        let err = grpc
            .move_resource_state(Request::new(pb::move_resource_state::Request::default()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unimplemented);
        let err = grpc
            .call_function(Request::new(pb::call_function::Request::default()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unimplemented);
        let schema = grpc
            .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
            .await
            .unwrap()
            .into_inner();
        let caps = schema.server_capabilities.unwrap();
        assert!(caps.get_provider_schema_optional);
        assert!(
            !caps.plan_destroy,
            "PlanResourceChange is not called for destroy"
        );
        assert!(schema.data_source_schemas.contains_key("slow_wait"));
        let meta = grpc
            .get_metadata(Request::new(pb::get_metadata::Request {}))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(meta.data_sources[0].type_name, "slow_wait");
        // Identity schemas: an empty answer, which every Terraform accepts.
        let ids = grpc
            .get_resource_identity_schemas(Request::new(
                pb::get_resource_identity_schemas::Request {},
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(ids.identity_schemas.is_empty());
    }

    #[test]
    fn write_only_goes_on_the_wire_and_missing_capabilities_mean_none() {
        let a = attribute_pb(
            &Attribute::string("token")
                .optional()
                .sensitive()
                .write_only(),
        );
        assert!(a.write_only && a.sensitive);
        assert!(!attribute_pb(&Attribute::string("name").optional()).write_only);
        // Terraform 1.0 sends no ClientCapabilities at all.
        assert!(!client_of(None).write_only_attributes_allowed);
        let announced = pb::ClientCapabilities {
            deferral_allowed: false,
            write_only_attributes_allowed: true,
        };
        assert!(client_of(Some(&announced)).write_only_attributes_allowed);
    }

    #[tokio::test]
    async fn malformed_values_from_terraform_become_diagnostics() {
        let grpc = GrpcProvider::new(Slow);
        let resp = grpc
            .read_data_source(Request::new(pb::read_data_source::Request {
                type_name: "slow_wait".into(),
                config: Some(pb::DynamicValue {
                    msgpack: vec![0x81, 0xa5, b'b', b'o', b'g', b'u', b's', 0xc0],
                    json: vec![],
                }),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(
            resp.diagnostics[0]
                .summary
                .contains("Invalid configuration"),
            "{:?}",
            resp.diagnostics
        );
        assert!(resp.diagnostics[0].detail.contains("bogus"));
        // JSON is accepted as a fallback encoding.
        let resp = grpc
            .read_data_source(Request::new(pb::read_data_source::Request {
                type_name: "slow_wait".into(),
                config: Some(pb::DynamicValue {
                    msgpack: vec![],
                    json: br#"{"quick":true}"#.to_vec(),
                }),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        let resp = grpc
            .read_data_source(Request::new(pb::read_data_source::Request {
                type_name: "nope".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(
            resp.diagnostics[0]
                .summary
                .contains("Unknown data source type")
        );
    }
}

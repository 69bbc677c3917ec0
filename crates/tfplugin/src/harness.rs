//! An in-process harness that drives a provider the way Terraform does.
//!
//! It calls the real tfplugin6 service methods with msgpack values (no
//! network), so encoding, schema rules and the provider's own logic are all
//! exercised. [`Harness::apply`] runs validate → plan → apply → refresh →
//! plan again, and fails unless the second plan is empty. It also enforces
//! the rules Terraform enforces: configured values survive planning, known
//! planned values survive apply, nothing stays unknown after apply.

use std::collections::BTreeMap;

use tonic::Request;

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::grpc::GrpcProvider;
use crate::path::{AttributePath, PathStep};
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider as _;
use crate::provider::Provider;
use crate::schema::{Block, Nesting, Schema};
use crate::types::Type;
use crate::value::Value;

/// A fake Terraform core holding state for the resources it applied.
pub struct Harness {
    grpc: GrpcProvider,
    schemas: pb::get_provider_schema::Response,
    block_schemas: BTreeMap<String, Schema>,
    data_schemas: BTreeMap<String, Schema>,
    provider_schema: Schema,
    state: BTreeMap<String, Stored>,
    write_only_allowed: bool,
}

#[derive(Clone, Debug)]
struct Stored {
    type_name: String,
    value: Value,
    private: Vec<u8>,
}

/// What one [`Harness::apply`] did.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The state after apply and refresh.
    pub state: Value,
    /// Whether the plan asked to replace the resource.
    pub replaced: bool,
    /// Warnings seen along the way.
    pub warnings: Diagnostics,
}

fn diags_from_pb(d: Vec<pb::Diagnostic>) -> Diagnostics {
    use pb::attribute_path::step::Selector;
    Diagnostics(
        d.into_iter()
            .map(|d| Diagnostic {
                severity: if d.severity == pb::diagnostic::Severity::Warning as i32 {
                    Severity::Warning
                } else {
                    Severity::Error
                },
                summary: d.summary,
                detail: d.detail,
                attribute: d.attribute.map(|p| {
                    AttributePath::from_steps(
                        p.steps
                            .into_iter()
                            .filter_map(|s| match s.selector? {
                                Selector::AttributeName(n) => Some(PathStep::Attribute(n)),
                                Selector::ElementKeyString(k) => Some(PathStep::ElementKey(k)),
                                Selector::ElementKeyInt(i) => Some(PathStep::ElementIndex(i)),
                            })
                            .collect(),
                    )
                }),
            })
            .collect(),
    )
}

fn dv(ty: &Type, v: &Value) -> Result<Option<pb::DynamicValue>, Diagnostics> {
    crate::codec::to_msgpack(ty, v)
        .map(|msgpack| {
            Some(pb::DynamicValue {
                msgpack,
                json: vec![],
            })
        })
        .map_err(|e| {
            Diagnostic::error("harness: value does not match the schema", e.to_string()).into()
        })
}

fn undv(ty: &Type, v: Option<pb::DynamicValue>) -> Result<Value, Diagnostics> {
    let Some(v) = v else { return Ok(Value::Null) };
    crate::codec::from_msgpack(ty, &v.msgpack).map_err(|e| {
        Diagnostic::error("harness: provider sent a malformed value", e.to_string()).into()
    })
}

fn fail(summary: &str, detail: String) -> Diagnostics {
    Diagnostic::error(summary, detail).into()
}

fn check(d: Diagnostics, warnings: &mut Diagnostics) -> Result<(), Diagnostics> {
    if d.has_errors() {
        return Err(d);
    }
    warnings.extend(d);
    Ok(())
}

impl Harness {
    /// A harness around `provider`; fails when its schema is invalid.
    ///
    /// # Errors
    /// The schema diagnostics Terraform would report.
    pub async fn new<P: Provider>(provider: P) -> Result<Harness, Diagnostics> {
        let block_schemas: BTreeMap<String, Schema> = provider
            .resources()
            .iter()
            .map(|r| (r.type_name().to_string(), r.schema()))
            .collect();
        let data_schemas: BTreeMap<String, Schema> = provider
            .data_sources()
            .iter()
            .map(|r| (r.type_name().to_string(), r.schema()))
            .collect();
        let provider_schema = provider.schema();
        let grpc = GrpcProvider::new(provider);
        let schemas = grpc
            .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
            .await
            .map_err(|s| fail("harness: GetProviderSchema failed", s.to_string()))?
            .into_inner();
        let d = diags_from_pb(schemas.diagnostics.clone());
        if d.has_errors() {
            return Err(d);
        }
        Ok(Harness {
            grpc,
            schemas,
            block_schemas,
            data_schemas,
            provider_schema,
            state: BTreeMap::new(),
            write_only_allowed: true,
        })
    }

    /// The raw schema response, for assertions on what Terraform sees.
    pub fn schema_json(&self) -> serde_json::Value {
        let names: Vec<&String> = self.schemas.resource_schemas.keys().collect();
        let data: Vec<&String> = self.schemas.data_source_schemas.keys().collect();
        serde_json::json!({ "resources": names, "data_sources": data })
    }

    /// Validates and configures the provider with `config` (attributes not
    /// given are null).
    ///
    /// # Errors
    /// The diagnostics of validation or configuration.
    pub async fn configure(&mut self, config: Value) -> Result<Diagnostics, Diagnostics> {
        let ty = self.provider_schema.value_type();
        let config = normalize(&ty, config);
        let mut warnings = Diagnostics::new();
        let r = self
            .grpc
            .validate_provider_config(Request::new(pb::validate_provider_config::Request {
                config: dv(&ty, &config)?,
            }))
            .await
            .map_err(|s| fail("ValidateProviderConfig failed", s.to_string()))?
            .into_inner();
        check(diags_from_pb(r.diagnostics), &mut warnings)?;
        let r = self
            .grpc
            .configure_provider(Request::new(pb::configure_provider::Request {
                terraform_version: "1.15.0".into(),
                config: dv(&ty, &config)?,
                client_capabilities: Some(self.client_capabilities()),
            }))
            .await
            .map_err(|s| fail("ConfigureProvider failed", s.to_string()))?
            .into_inner();
        check(diags_from_pb(r.diagnostics), &mut warnings)?;
        Ok(warnings)
    }

    /// Plays a Terraform older than 1.11 from now on: it announces no
    /// write-only support (as 1.0 does, by sending no capabilities).
    pub fn without_write_only_support(&mut self) {
        self.write_only_allowed = false;
    }

    fn client_capabilities(&self) -> pb::ClientCapabilities {
        pb::ClientCapabilities {
            deferral_allowed: false,
            write_only_attributes_allowed: self.write_only_allowed,
        }
    }

    /// Reads a data source with `config`.
    ///
    /// # Errors
    /// Validation or read diagnostics.
    pub async fn read_data(&self, type_name: &str, config: Value) -> Result<Value, Diagnostics> {
        let schema = self
            .data_schemas
            .get(type_name)
            .ok_or_else(|| fail("harness: no such data source", type_name.into()))?;
        let ty = schema.value_type();
        let config = normalize(&ty, config);
        let mut warnings = Diagnostics::new();
        let r = self
            .grpc
            .validate_data_resource_config(Request::new(
                pb::validate_data_resource_config::Request {
                    type_name: type_name.into(),
                    config: dv(&ty, &config)?,
                },
            ))
            .await
            .map_err(|s| fail("ValidateDataResourceConfig failed", s.to_string()))?
            .into_inner();
        check(diags_from_pb(r.diagnostics), &mut warnings)?;
        let r = self
            .grpc
            .read_data_source(Request::new(pb::read_data_source::Request {
                type_name: type_name.into(),
                config: dv(&ty, &config)?,
                ..Default::default()
            }))
            .await
            .map_err(|s| fail("ReadDataSource failed", s.to_string()))?
            .into_inner();
        check(diags_from_pb(r.diagnostics), &mut warnings)?;
        let state = undv(&ty, r.state)?;
        let mut bad = Diagnostics::new();
        require_config_kept(&config, &state, &mut AttributePath::root(), &mut bad);
        if bad.has_errors() {
            return Err(bad);
        }
        Ok(state)
    }

    /// Plans `config` for the resource at `address` (create or update);
    /// returns the planned value and whether it replaces the resource.
    ///
    /// # Errors
    /// Validation or planning diagnostics, or a broken plan rule.
    pub async fn plan(
        &self,
        address: &str,
        type_name: &str,
        config: Value,
    ) -> Result<(Value, bool), Diagnostics> {
        let ty = self.resource_type(type_name)?;
        let config = normalize(&ty, config);
        let mut warnings = Diagnostics::new();
        let r = self
            .grpc
            .validate_resource_config(Request::new(pb::validate_resource_config::Request {
                type_name: type_name.into(),
                config: dv(&ty, &config)?,
                client_capabilities: Some(self.client_capabilities()),
            }))
            .await
            .map_err(|s| fail("ValidateResourceConfig failed", s.to_string()))?
            .into_inner();
        check(diags_from_pb(r.diagnostics), &mut warnings)?;
        let prior = self
            .state
            .get(address)
            .map(|s| s.value.clone())
            .unwrap_or(Value::Null);
        let schema = &self.block_schemas[type_name];
        let proposed = proposed_new(&schema.block, &prior, &config);
        let r = self
            .grpc
            .plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: type_name.into(),
                prior_state: dv(&ty, &prior)?,
                proposed_new_state: dv(&ty, &proposed)?,
                config: dv(&ty, &config)?,
                prior_private: self
                    .state
                    .get(address)
                    .map(|s| s.private.clone())
                    .unwrap_or_default(),
                ..Default::default()
            }))
            .await
            .map_err(|s| fail("PlanResourceChange failed", s.to_string()))?
            .into_inner();
        check(diags_from_pb(r.diagnostics), &mut warnings)?;
        let planned = undv(&ty, r.planned_state)?;
        let mut bad = Diagnostics::new();
        let mut kept = config.clone();
        crate::server::null_write_only(&schema.block, &mut kept);
        require_config_kept(&kept, &planned, &mut AttributePath::root(), &mut bad);
        if bad.has_errors() {
            return Err(bad);
        }
        Ok((planned, !r.requires_replace.is_empty()))
    }

    /// Applies `config` to the resource at `address` like `terraform
    /// apply`, then refreshes and plans again: the second plan must be
    /// empty.
    ///
    /// # Errors
    /// Any diagnostic along the way, or a non-empty second plan.
    pub async fn apply(
        &mut self,
        address: &str,
        type_name: &str,
        config: Value,
    ) -> Result<Applied, Diagnostics> {
        let ty = self.resource_type(type_name)?;
        let config = normalize(&ty, config);
        let (mut planned, replaced) = self.plan(address, type_name, config.clone()).await?;
        let mut warnings = Diagnostics::new();
        if replaced {
            // Destroy-then-create: the create is planned afresh, as Terraform does.
            self.destroy(address).await?;
            planned = self.plan(address, type_name, config.clone()).await?.0;
        }
        let prior = self
            .state
            .get(address)
            .map(|s| s.value.clone())
            .unwrap_or(Value::Null);
        let r = self
            .grpc
            .apply_resource_change(Request::new(pb::apply_resource_change::Request {
                type_name: type_name.into(),
                prior_state: dv(&ty, &prior)?,
                planned_state: dv(&ty, &planned)?,
                config: dv(&ty, &config)?,
                planned_private: self
                    .state
                    .get(address)
                    .map(|s| s.private.clone())
                    .unwrap_or_default(),
                ..Default::default()
            }))
            .await
            .map_err(|s| fail("ApplyResourceChange failed", s.to_string()))?
            .into_inner();
        let d = diags_from_pb(r.diagnostics);
        let new = undv(&ty, r.new_state)?;
        if !new.is_null() {
            self.state.insert(
                address.into(),
                Stored {
                    type_name: type_name.into(),
                    value: new.clone(),
                    private: r.private,
                },
            );
        }
        check(d, &mut warnings)?;
        let c = crate::server::consistency(type_name, &planned, &new);
        if c.has_errors() {
            return Err(c);
        }
        let refreshed = self.refresh(address).await?;
        let (again, replace_again) = self.plan(address, type_name, config).await?;
        if again != refreshed || replace_again {
            let mut diffs = Vec::new();
            diff_paths(&refreshed, &again, &mut AttributePath::root(), &mut diffs);
            return Err(fail(
                "harness: the plan after apply is not empty",
                format!(
                    "{type_name} {address} would change again at: {}",
                    diffs.join(", ")
                ),
            ));
        }
        Ok(Applied {
            state: refreshed,
            replaced,
            warnings,
        })
    }

    /// Refreshes the resource at `address` (ReadResource); a resource the
    /// provider reports gone is removed from state and null returned.
    ///
    /// # Errors
    /// Read diagnostics.
    pub async fn refresh(&mut self, address: &str) -> Result<Value, Diagnostics> {
        let Some(stored) = self.state.get(address).cloned() else {
            return Ok(Value::Null);
        };
        let ty = self.resource_type(&stored.type_name)?;
        let r = self
            .grpc
            .read_resource(Request::new(pb::read_resource::Request {
                type_name: stored.type_name.clone(),
                current_state: dv(&ty, &stored.value)?,
                private: stored.private.clone(),
                ..Default::default()
            }))
            .await
            .map_err(|s| fail("ReadResource failed", s.to_string()))?
            .into_inner();
        let d = diags_from_pb(r.diagnostics);
        if d.has_errors() {
            return Err(d);
        }
        let v = undv(&ty, r.new_state)?;
        if v.is_null() {
            self.state.remove(address);
        } else {
            self.state.insert(
                address.into(),
                Stored {
                    value: v.clone(),
                    private: r.private,
                    ..stored
                },
            );
        }
        Ok(v)
    }

    /// Imports `id` as the resource at `address`, then refreshes it.
    ///
    /// # Errors
    /// Import or read diagnostics.
    pub async fn import(
        &mut self,
        address: &str,
        type_name: &str,
        id: &str,
    ) -> Result<Value, Diagnostics> {
        let ty = self.resource_type(type_name)?;
        let r = self
            .grpc
            .import_resource_state(Request::new(pb::import_resource_state::Request {
                type_name: type_name.into(),
                id: id.into(),
                ..Default::default()
            }))
            .await
            .map_err(|s| fail("ImportResourceState failed", s.to_string()))?
            .into_inner();
        let d = diags_from_pb(r.diagnostics);
        if d.has_errors() {
            return Err(d);
        }
        let Some(first) = r.imported_resources.into_iter().next() else {
            return Err(fail("harness: import returned nothing", id.into()));
        };
        let v = undv(&ty, first.state)?;
        self.state.insert(
            address.into(),
            Stored {
                type_name: type_name.into(),
                value: v,
                private: first.private,
            },
        );
        self.refresh(address).await
    }

    /// Destroys the resource at `address`.
    ///
    /// # Errors
    /// Delete diagnostics (the resource stays in state then).
    pub async fn destroy(&mut self, address: &str) -> Result<(), Diagnostics> {
        let Some(stored) = self.state.get(address).cloned() else {
            return Ok(());
        };
        let ty = self.resource_type(&stored.type_name)?;
        let r = self
            .grpc
            .apply_resource_change(Request::new(pb::apply_resource_change::Request {
                type_name: stored.type_name.clone(),
                prior_state: dv(&ty, &stored.value)?,
                planned_state: dv(&ty, &Value::Null)?,
                config: dv(&ty, &Value::Null)?,
                planned_private: stored.private.clone(),
                ..Default::default()
            }))
            .await
            .map_err(|s| fail("ApplyResourceChange (destroy) failed", s.to_string()))?
            .into_inner();
        let d = diags_from_pb(r.diagnostics);
        if d.has_errors() {
            return Err(d);
        }
        self.state.remove(address);
        Ok(())
    }

    /// Sends StopProvider, as Terraform does on Ctrl-C.
    pub async fn stop(&self) {
        let _ = self
            .grpc
            .stop_provider(Request::new(pb::stop_provider::Request {}))
            .await;
    }

    /// The state held for `address`.
    pub fn state(&self, address: &str) -> Option<&Value> {
        self.state.get(address).map(|s| &s.value)
    }

    fn resource_type(&self, type_name: &str) -> Result<Type, Diagnostics> {
        self.block_schemas
            .get(type_name)
            .map(Schema::value_type)
            .ok_or_else(|| fail("harness: no such resource type", type_name.into()))
    }
}

/// Fills attributes missing from an object with null, as Terraform sends
/// configuration (every attribute present).
pub fn normalize(ty: &Type, v: Value) -> Value {
    match (ty, v) {
        (Type::Object(attrs), Value::Object(mut m)) => {
            let mut out = BTreeMap::new();
            for (k, at) in attrs {
                let child = m.remove(k).unwrap_or(Value::Null);
                out.insert(k.clone(), normalize(at, child));
            }
            Value::Object(out)
        }
        (Type::List(et), Value::List(items)) => {
            Value::List(items.into_iter().map(|e| normalize(et, e)).collect())
        }
        (Type::Set(et), Value::Set(items)) => {
            Value::Set(items.into_iter().map(|e| normalize(et, e)).collect())
        }
        (Type::Map(et), Value::Map(m)) => {
            Value::Map(m.into_iter().map(|(k, e)| (k, normalize(et, e))).collect())
        }
        (_, v) => v,
    }
}

/// Terraform's proposed new state: configuration, with computed attributes
/// the configuration leaves null taken from the prior state.
fn proposed_new(block: &Block, prior: &Value, config: &Value) -> Value {
    if config.is_null() || config.is_unknown() {
        return config.clone();
    }
    let mut out = BTreeMap::new();
    for a in &block.attributes {
        let c = config.attr(&a.name);
        let v = if a.computed && c.is_null() {
            prior.attr(&a.name).clone()
        } else {
            c.clone()
        };
        out.insert(a.name.clone(), v);
    }
    for b in &block.blocks {
        let c = config.attr(&b.name);
        let p = prior.attr(&b.name);
        let v = match (b.nesting, c) {
            (Nesting::Single | Nesting::Group, c) => proposed_new(&b.block, p, c),
            (Nesting::List, Value::List(items)) => Value::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        proposed_new(
                            &b.block,
                            p.as_elements()
                                .and_then(|x| x.get(i))
                                .unwrap_or(&Value::Null),
                            e,
                        )
                    })
                    .collect(),
            ),
            (_, c) => c.clone(),
        };
        out.insert(b.name.clone(), v);
    }
    Value::Object(out)
}

/// Terraform's rule: every known, non-null configured value appears
/// unchanged in the plan or data source result.
fn require_config_kept(
    config: &Value,
    planned: &Value,
    path: &mut AttributePath,
    d: &mut Diagnostics,
) {
    match (config, planned) {
        (Value::Null | Value::Unknown(_), _) => {}
        (Value::Object(c), Value::Object(p)) => {
            for (k, cv) in c {
                path.push(PathStep::Attribute(k.clone()));
                require_config_kept(cv, p.get(k).unwrap_or(&Value::Null), path, d);
                path.pop();
            }
        }
        (Value::List(c), Value::List(p)) if c.len() == p.len() => {
            for (i, (cv, pv)) in c.iter().zip(p).enumerate() {
                path.push(PathStep::ElementIndex(i as i64));
                require_config_kept(cv, pv, path, d);
                path.pop();
            }
        }
        (c, p) if c.is_wholly_known() && c != p => d.push(
            Diagnostic::error(
                "Provider changed a configured value",
                format!("{path}: configured {c:?}, planned {p:?}"),
            )
            .at(path.clone()),
        ),
        _ => {}
    }
}

fn diff_paths(a: &Value, b: &Value, path: &mut AttributePath, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, av) in x {
                path.push(PathStep::Attribute(k.clone()));
                diff_paths(av, y.get(k).unwrap_or(&Value::Null), path, out);
                path.pop();
            }
        }
        (x, y) if x != y => out.push(format!("{path} ({x:?} → {y:?})")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::provider::*;
    use crate::schema::validators::int_between;
    use crate::schema::{Attribute, Block, NestedBlock};

    /// A provider with one in-memory resource, for exercising the harness
    /// and the server rules together.
    struct Mem {
        next: Arc<AtomicU64>,
        objects: Arc<std::sync::Mutex<BTreeMap<String, Value>>>,
    }

    struct Thing {
        next: Arc<AtomicU64>,
        objects: Arc<std::sync::Mutex<BTreeMap<String, Value>>>,
    }

    #[async_trait]
    impl Provider for Mem {
        fn type_name(&self) -> &str {
            "mem"
        }
        fn schema(&self) -> Schema {
            Schema::new(
                Block::new().attribute(
                    Attribute::string("prefix")
                        .optional()
                        .description("id prefix"),
                ),
            )
        }
        async fn configure(&self, req: ConfigureRequest) -> ConfigureResponse {
            let prefix = req
                .config
                .attr("prefix")
                .as_str()
                .unwrap_or("id")
                .to_string();
            ConfigureResponse {
                data: Some(Arc::new(prefix)),
                diagnostics: Diagnostics::new(),
            }
        }
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            vec![Arc::new(Thing {
                next: self.next.clone(),
                objects: self.objects.clone(),
            })]
        }
        fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
            vec![]
        }
    }

    #[async_trait]
    impl Resource for Thing {
        fn type_name(&self) -> &str {
            "mem_thing"
        }
        fn schema(&self) -> Schema {
            Schema::new(
                Block::new()
                    .attribute(Attribute::string("name").required().requires_replace())
                    .attribute(
                        Attribute::number("size")
                            .default(Value::int(1))
                            .validate(int_between(1, 9)),
                    )
                    .attribute(Attribute::string("id").computed().use_state_for_unknown())
                    .attribute(Attribute::number("revision").computed())
                    .attribute(
                        Attribute::string("password")
                            .optional()
                            .sensitive()
                            .write_only(),
                    )
                    .block(NestedBlock::new(
                        "opts",
                        Nesting::Single,
                        Block::new().attribute(Attribute::bool("fast").optional()),
                    )),
            )
        }
        async fn create(&self, ctx: &Ctx, req: CreateRequest) -> ApplyResponse {
            let prefix = match ctx.data::<String>() {
                Ok(p) => p,
                Err(d) => {
                    return ApplyResponse {
                        diagnostics: d.into(),
                        ..Default::default()
                    };
                }
            };
            let mut v = req.planned;
            let id = format!("{prefix}-{}", self.next.fetch_add(1, Ordering::SeqCst));
            v.set_attr("id", Value::string(&id));
            v.set_attr("revision", Value::int(1));
            self.objects.lock().unwrap().insert(id, v.clone());
            ApplyResponse {
                new_state: v,
                ..Default::default()
            }
        }
        async fn read(&self, _ctx: &Ctx, req: ReadRequest) -> ReadResponse {
            let id = req
                .state
                .attr("id")
                .as_str()
                .unwrap_or_default()
                .to_string();
            let new_state = self
                .objects
                .lock()
                .unwrap()
                .get(&id)
                .cloned()
                .unwrap_or(Value::Null);
            ReadResponse {
                new_state,
                ..Default::default()
            }
        }
        async fn update(&self, _ctx: &Ctx, req: UpdateRequest) -> ApplyResponse {
            let mut v = req.planned;
            let rev = req.prior.attr("revision").as_i64().unwrap_or(0);
            v.set_attr("revision", Value::int(rev + 1));
            let id = v.attr("id").as_str().unwrap_or_default().to_string();
            self.objects.lock().unwrap().insert(id, v.clone());
            ApplyResponse {
                new_state: v,
                ..Default::default()
            }
        }
        async fn delete(&self, _ctx: &Ctx, req: DeleteRequest) -> DeleteResponse {
            let id = req
                .prior
                .attr("id")
                .as_str()
                .unwrap_or_default()
                .to_string();
            self.objects.lock().unwrap().remove(&id);
            DeleteResponse::default()
        }
        fn as_import(&self) -> Option<&dyn Import> {
            Some(self)
        }
    }

    #[async_trait]
    impl Import for Thing {
        async fn import(&self, _ctx: &Ctx, req: ImportRequest) -> ImportResponse {
            ImportResponse {
                state: Value::object([("id", Value::string(req.id))]),
                ..Default::default()
            }
        }
    }

    async fn harness() -> (Harness, Arc<std::sync::Mutex<BTreeMap<String, Value>>>) {
        let objects = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
        let p = Mem {
            next: Arc::new(AtomicU64::new(1)),
            objects: objects.clone(),
        };
        let mut h = Harness::new(p).await.unwrap();
        h.configure(Value::object([("prefix", Value::string("t"))]))
            .await
            .unwrap();
        (h, objects)
    }

    #[tokio::test]
    async fn create_update_replace_destroy_with_empty_second_plans() {
        let (mut h, objects) = harness().await;
        let cfg = |name: &str, size: i64| {
            Value::object([
                ("name", Value::string(name)),
                ("size", Value::int(size)),
                ("password", Value::string("hunter2")),
            ])
        };
        let a = h
            .apply("mem_thing.a", "mem_thing", cfg("web", 2))
            .await
            .unwrap();
        assert_eq!(a.state.attr("id").as_str(), Some("t-1"));
        assert!(
            a.state.attr("password").is_null(),
            "write-only value must not reach state"
        );
        // In-place update keeps the id (use-state-for-unknown) and bumps revision.
        let b = h
            .apply("mem_thing.a", "mem_thing", cfg("web", 3))
            .await
            .unwrap();
        assert!(!b.replaced);
        assert_eq!(b.state.attr("id").as_str(), Some("t-1"));
        assert_eq!(b.state.attr("revision").as_i64(), Some(2));
        // Changing a requires-replace attribute replaces the object.
        let c = h
            .apply("mem_thing.a", "mem_thing", cfg("api", 3))
            .await
            .unwrap();
        assert!(c.replaced);
        assert_eq!(c.state.attr("id").as_str(), Some("t-2"));
        h.destroy("mem_thing.a").await.unwrap();
        assert!(objects.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_terraform_without_write_only_support_gets_an_error_on_the_attribute() {
        let (mut h, objects) = harness().await;
        h.without_write_only_support();
        let cfg = Value::object([
            ("name", Value::string("web")),
            ("password", Value::string("hunter2")),
        ]);
        let err = h.apply("mem_thing.a", "mem_thing", cfg).await.unwrap_err();
        assert!(err.has_errors(), "{err}");
        assert_eq!(
            err.0[0].attribute.as_ref().unwrap().to_string(),
            "password",
            "{err}"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(objects.lock().unwrap().is_empty(), "nothing was created");
        // Without a value the same Terraform is fine.
        h.apply(
            "mem_thing.a",
            "mem_thing",
            Value::object([("name", Value::string("web"))]),
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn defaults_are_planned_and_bad_values_name_the_attribute() {
        let (mut h, _) = harness().await;
        let s = h
            .apply(
                "mem_thing.a",
                "mem_thing",
                Value::object([("name", Value::string("w"))]),
            )
            .await
            .unwrap();
        assert_eq!(s.state.attr("size").as_i64(), Some(1));
        let err = h
            .plan(
                "mem_thing.b",
                "mem_thing",
                Value::object([("name", Value::string("w")), ("size", Value::int(10))]),
            )
            .await
            .unwrap_err();
        assert_eq!(err.0[0].attribute.as_ref().unwrap().to_string(), "size");
        let err = h
            .plan(
                "mem_thing.b",
                "mem_thing",
                Value::object([("size", Value::int(1))]),
            )
            .await
            .unwrap_err();
        assert_eq!(err.0[0].attribute.as_ref().unwrap().to_string(), "name");
    }

    #[tokio::test]
    async fn drift_and_import() {
        let (mut h, objects) = harness().await;
        h.apply(
            "mem_thing.a",
            "mem_thing",
            Value::object([("name", Value::string("w"))]),
        )
        .await
        .unwrap();
        objects.lock().unwrap().clear();
        assert!(
            h.refresh("mem_thing.a").await.unwrap().is_null(),
            "deleted outside: gone from state"
        );
        // Re-create, then import it under another address.
        let s = h
            .apply(
                "mem_thing.a",
                "mem_thing",
                Value::object([("name", Value::string("w"))]),
            )
            .await
            .unwrap();
        let id = s.state.attr("id").as_str().unwrap().to_string();
        let imported = h.import("mem_thing.b", "mem_thing", &id).await.unwrap();
        assert_eq!(imported.attr("name").as_str(), Some("w"));
    }

    #[tokio::test]
    async fn unconfigured_provider_gives_a_clear_error() {
        let p = Mem {
            next: Arc::new(AtomicU64::new(1)),
            objects: Arc::default(),
        };
        let mut h = Harness::new(p).await.unwrap();
        let err = h
            .apply(
                "mem_thing.a",
                "mem_thing",
                Value::object([("name", Value::string("w"))]),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Provider not configured"), "{err}");
    }
}

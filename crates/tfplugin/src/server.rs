//! The framework-native server: schema rules applied around a provider.
//!
//! Both the gRPC service and the in-process harness call this, so what is
//! tested fast in-process is what Terraform gets. It owns:
//! - validation: schema validators, required/deprecated checks, then the
//!   provider's own checks;
//! - planning: defaults, computed attributes marked unknown only when the
//!   resource changes (prior state kept otherwise, and always with
//!   use-state-for-unknown), write-only attributes nulled, requires-replace
//!   paths, then the resource's own `ModifyPlan`;
//! - apply: create / update / delete dispatch, then a check that every
//!   known planned value came back unchanged and nothing is left unknown;
//! - cancellation: `stop` fires the token every running operation holds.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio_util::sync::CancellationToken;

use crate::diag::{Diagnostic, Diagnostics};
use crate::path::{AttributePath, PathStep};
use crate::provider::{
    ClientCapabilities, ConfigureRequest, CreateRequest, Ctx, DeleteRequest, ImportRequest,
    ModifyPlanRequest, Provider, ReadDataRequest, ReadRequest, Registry, UpdateRequest,
    UpgradeStateRequest, ValidateRequest,
};
use crate::schema::{Attribute, AttributeKind, Block, NestedBlock, Nesting, PlanModifier, Schema};
use crate::types::Type;
use crate::value::Value;

/// Every schema the provider serves.
#[derive(Clone, Debug)]
pub(crate) struct Schemas {
    pub(crate) provider: Schema,
    pub(crate) resources: BTreeMap<String, Schema>,
    pub(crate) data_sources: BTreeMap<String, Schema>,
    /// Value types, derived once: every RPC decodes against one of these.
    provider_type: Type,
    resource_types: BTreeMap<String, Type>,
    data_source_types: BTreeMap<String, Type>,
}

impl Schemas {
    fn new(
        provider: Schema,
        resources: BTreeMap<String, Schema>,
        data_sources: BTreeMap<String, Schema>,
    ) -> Schemas {
        let types = |m: &BTreeMap<String, Schema>| {
            m.iter().map(|(k, s)| (k.clone(), s.value_type())).collect()
        };
        Schemas {
            provider_type: provider.value_type(),
            resource_types: types(&resources),
            data_source_types: types(&data_sources),
            provider,
            resources,
            data_sources,
        }
    }
    /// The value type of the provider configuration.
    pub(crate) fn provider_type(&self) -> &Type {
        &self.provider_type
    }
    /// The value type of a resource type's objects, if it exists.
    pub(crate) fn resource_type(&self, name: &str) -> Option<&Type> {
        self.resource_types.get(name)
    }
    /// The value type of a data source's objects, if it exists.
    pub(crate) fn data_source_type(&self, name: &str) -> Option<&Type> {
        self.data_source_types.get(name)
    }
}

/// A planned change.
#[derive(Debug, Default)]
pub(crate) struct PlanResult {
    pub(crate) planned: Value,
    pub(crate) requires_replace: Vec<AttributePath>,
    pub(crate) private: Vec<u8>,
    pub(crate) diagnostics: Diagnostics,
}

/// An applied change.
#[derive(Debug, Default)]
pub(crate) struct ApplyResult {
    pub(crate) new_state: Value,
    pub(crate) private: Vec<u8>,
    pub(crate) diagnostics: Diagnostics,
}

/// One imported object.
#[derive(Debug, Default)]
pub(crate) struct Imported {
    pub(crate) type_name: String,
    pub(crate) state: Value,
    pub(crate) private: Vec<u8>,
}

pub(crate) struct Server {
    provider: Arc<dyn Provider>,
    registry: Registry,
    schemas: Schemas,
    data: RwLock<Option<Arc<dyn Any + Send + Sync>>>,
    cancel: Mutex<CancellationToken>,
    terraform_version: RwLock<Option<String>>,
    pub(crate) client: RwLock<ClientCapabilities>,
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} type {name:?}. Check the spelling, or upgrade the provider."),
    )
    .into()
}

impl Server {
    pub(crate) fn new(provider: Arc<dyn Provider>) -> Server {
        let registry = Registry::of(provider.as_ref());
        let schemas = Schemas::new(
            provider.schema(),
            registry
                .resources
                .iter()
                .map(|(k, r)| (k.clone(), r.schema()))
                .collect(),
            registry
                .data_sources
                .iter()
                .map(|(k, d)| (k.clone(), d.schema()))
                .collect(),
        );
        Server {
            provider,
            registry,
            schemas,
            data: RwLock::new(None),
            cancel: Mutex::new(CancellationToken::new()),
            terraform_version: RwLock::new(None),
            client: RwLock::new(ClientCapabilities::default()),
        }
    }

    pub(crate) fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// Schema mistakes, checked once per GetProviderSchema.
    pub(crate) fn schema_diagnostics(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        let mut add = |what: String, s: &Schema| {
            for mut x in s.check() {
                x.summary = format!("{what}: {}", x.summary);
                d.push(x);
            }
        };
        add("provider schema".into(), &self.schemas.provider);
        for (n, s) in &self.schemas.resources {
            add(format!("resource {n}"), s);
        }
        for (n, s) in &self.schemas.data_sources {
            add(format!("data source {n}"), s);
        }
        d
    }

    fn ctx(&self) -> Ctx {
        let data = self.data.read().map(|d| d.clone()).unwrap_or(None);
        let cancel = self.cancel.lock().map(|c| c.clone()).unwrap_or_default();
        let mut ctx = Ctx::new(data, cancel);
        ctx.terraform_version = self.terraform_version.read().ok().and_then(|v| v.clone());
        ctx
    }

    /// Fires the cancellation token of every running operation; later
    /// operations get a fresh token.
    pub(crate) fn stop(&self) {
        if let Ok(mut c) = self.cancel.lock() {
            c.cancel();
            *c = CancellationToken::new();
        }
    }

    pub(crate) async fn validate_provider_config(&self, config: Value) -> Diagnostics {
        let mut d = validate_against(&self.schemas.provider.block, &config);
        if !d.has_errors() {
            d.extend(self.provider.validate(ValidateRequest { config }).await);
        }
        d
    }

    pub(crate) async fn configure(&self, config: Value, terraform_version: String) -> Diagnostics {
        if let Ok(mut v) = self.terraform_version.write() {
            *v = Some(terraform_version.clone());
        }
        let resp = self
            .provider
            .configure(ConfigureRequest {
                config,
                terraform_version,
            })
            .await;
        if let Ok(mut d) = self.data.write() {
            *d = resp.data;
        }
        resp.diagnostics
    }

    /// Checks a resource configuration. `client` is what this request's
    /// Terraform announced: without write-only support (before 1.11) a
    /// value in a write-only attribute is an error on that attribute, since
    /// such a Terraform would keep the value in plan and state.
    pub(crate) async fn validate_resource_config(
        &self,
        type_name: &str,
        config: Value,
        client: ClientCapabilities,
    ) -> Diagnostics {
        let (Some(r), Some(s)) = (
            self.registry.resources.get(type_name),
            self.schemas.resources.get(type_name),
        ) else {
            return unknown_type("resource", type_name);
        };
        let mut d = validate_against(&s.block, &config);
        if !client.write_only_attributes_allowed {
            d.extend(refuse_write_only(&s.block, &config));
        }
        if !d.has_errors() {
            d.extend(r.validate(&self.ctx(), ValidateRequest { config }).await);
        }
        d
    }

    pub(crate) async fn validate_data_source_config(
        &self,
        type_name: &str,
        config: Value,
    ) -> Diagnostics {
        let (Some(ds), Some(s)) = (
            self.registry.data_sources.get(type_name),
            self.schemas.data_sources.get(type_name),
        ) else {
            return unknown_type("data source", type_name);
        };
        let mut d = validate_against(&s.block, &config);
        if !d.has_errors() {
            d.extend(ds.validate(&self.ctx(), ValidateRequest { config }).await);
        }
        d
    }

    /// Upgrades stored state. Same-version state is decoded with the
    /// current schema (attributes that no longer exist are dropped); older
    /// versions go to the resource's `UpgradeState`.
    pub(crate) async fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw_json: &[u8],
    ) -> (Value, Diagnostics) {
        let (Some(r), Some(s), Some(ty)) = (
            self.registry.resources.get(type_name),
            self.schemas.resources.get(type_name),
            self.schemas.resource_type(type_name),
        ) else {
            return (Value::Null, unknown_type("resource", type_name));
        };
        if version == s.version {
            return match crate::codec::from_json(
                ty,
                raw_json,
                crate::codec::UndefinedAttributes::Ignore,
            ) {
                Ok(v) => (v, Diagnostics::new()),
                Err(e) => (
                    Value::Null,
                    Diagnostic::error(
                        "Unreadable state",
                        format!("The stored state of {type_name} does not match its schema: {e}"),
                    )
                    .into(),
                ),
            };
        }
        if version > s.version {
            return (
                Value::Null,
                Diagnostic::error(
                    "State written by a newer provider",
                    format!(
                        "The state of this {type_name} has schema version {version}, newer than this provider's {}. Upgrade the provider.",
                        s.version
                    ),
                )
                .into(),
            );
        }
        let Some(up) = r.as_upgrade_state() else {
            return (
                Value::Null,
                Diagnostic::error(
                    "Cannot upgrade state",
                    format!(
                        "{type_name} cannot upgrade state from schema version {version} to {}.",
                        s.version
                    ),
                )
                .into(),
            );
        };
        let raw: serde_json::Value = match serde_json::from_slice(raw_json) {
            Ok(j) => j,
            Err(e) => {
                return (
                    Value::Null,
                    Diagnostic::error("Unreadable state", e.to_string()).into(),
                );
            }
        };
        let resp = up
            .upgrade(
                &self.ctx(),
                UpgradeStateRequest {
                    version,
                    raw_json: raw,
                },
            )
            .await;
        (resp.state, resp.diagnostics)
    }

    pub(crate) async fn read_resource(
        &self,
        type_name: &str,
        state: Value,
        private: Vec<u8>,
    ) -> ApplyResult {
        let Some(r) = self.registry.resources.get(type_name) else {
            return ApplyResult {
                diagnostics: unknown_type("resource", type_name),
                ..ApplyResult::default()
            };
        };
        let resp = r.read(&self.ctx(), ReadRequest { state, private }).await;
        ApplyResult {
            new_state: resp.new_state,
            private: resp.private,
            diagnostics: resp.diagnostics,
        }
    }

    pub(crate) async fn plan_resource_change(
        &self,
        type_name: &str,
        prior: Value,
        proposed: Value,
        config: Value,
        prior_private: Vec<u8>,
    ) -> PlanResult {
        let (Some(r), Some(s)) = (
            self.registry.resources.get(type_name),
            self.schemas.resources.get(type_name),
        ) else {
            return PlanResult {
                diagnostics: unknown_type("resource", type_name),
                ..PlanResult::default()
            };
        };
        if proposed.is_null() {
            // Destroy: nothing to plan.
            return PlanResult {
                planned: Value::Null,
                private: prior_private,
                ..PlanResult::default()
            };
        }
        let creating = prior.is_null();
        let mut planned = proposed;
        apply_defaults(&s.block, &config, &mut planned);
        // Write-only values never count as a change: they are not stored.
        null_write_only(&s.block, &mut planned);
        let changed = creating || planned != prior;
        if changed {
            mark_computed_unknown(&s.block, &config, &prior, &mut planned, creating);
        }
        let mut requires_replace = Vec::new();
        if !creating {
            collect_replace(
                &s.block,
                &prior,
                &planned,
                &AttributePath::root(),
                &mut requires_replace,
            );
        }
        let mut diagnostics = Diagnostics::new();
        if let Some(m) = r.as_modify_plan() {
            let resp = m
                .modify_plan(
                    &self.ctx(),
                    ModifyPlanRequest {
                        config,
                        prior,
                        planned: planned.clone(),
                    },
                )
                .await;
            diagnostics.extend(resp.diagnostics);
            if !diagnostics.has_errors() {
                planned = resp.planned;
                for p in resp.requires_replace {
                    if !requires_replace.contains(&p) {
                        requires_replace.push(p);
                    }
                }
            }
        }
        PlanResult {
            planned,
            requires_replace,
            private: prior_private,
            diagnostics,
        }
    }

    pub(crate) async fn apply_resource_change(
        &self,
        type_name: &str,
        prior: Value,
        planned: Value,
        config: Value,
        private: Vec<u8>,
    ) -> ApplyResult {
        let (Some(r), Some(s)) = (
            self.registry.resources.get(type_name),
            self.schemas.resources.get(type_name),
        ) else {
            return ApplyResult {
                diagnostics: unknown_type("resource", type_name),
                ..ApplyResult::default()
            };
        };
        let ctx = self.ctx();
        if planned.is_null() {
            let resp = r
                .delete(
                    &ctx,
                    DeleteRequest {
                        prior: prior.clone(),
                        private: private.clone(),
                    },
                )
                .await;
            let new_state = if resp.diagnostics.has_errors() {
                prior
            } else {
                Value::Null
            };
            return ApplyResult {
                new_state,
                private,
                diagnostics: resp.diagnostics,
            };
        }
        let resp = if prior.is_null() {
            r.create(
                &ctx,
                CreateRequest {
                    config,
                    planned: planned.clone(),
                },
            )
            .await
        } else {
            r.update(
                &ctx,
                UpdateRequest {
                    config,
                    planned: planned.clone(),
                    prior,
                    private,
                },
            )
            .await
        };
        let mut new_state = resp.new_state;
        let mut diagnostics = resp.diagnostics;
        if !new_state.is_null() {
            null_write_only(&s.block, &mut new_state);
            if !diagnostics.has_errors() {
                diagnostics.extend(consistency(type_name, &planned, &new_state));
            }
        }
        ApplyResult {
            new_state,
            private: resp.private,
            diagnostics,
        }
    }

    pub(crate) async fn import_resource_state(
        &self,
        type_name: &str,
        id: String,
    ) -> (Vec<Imported>, Diagnostics) {
        let Some(r) = self.registry.resources.get(type_name) else {
            return (vec![], unknown_type("resource", type_name));
        };
        let Some(imp) = r.as_import() else {
            return (
                vec![],
                Diagnostic::error(
                    "Import not supported",
                    format!("{type_name} cannot be imported."),
                )
                .into(),
            );
        };
        let resp = imp.import(&self.ctx(), ImportRequest { id }).await;
        if resp.diagnostics.has_errors() {
            return (vec![], resp.diagnostics);
        }
        let imported = Imported {
            type_name: type_name.to_string(),
            state: resp.state,
            private: resp.private,
        };
        (vec![imported], resp.diagnostics)
    }

    pub(crate) async fn read_data_source(
        &self,
        type_name: &str,
        config: Value,
    ) -> (Value, Diagnostics) {
        let Some(ds) = self.registry.data_sources.get(type_name) else {
            return (Value::Null, unknown_type("data source", type_name));
        };
        let resp = ds.read(&self.ctx(), ReadDataRequest { config }).await;
        let mut d = resp.diagnostics;
        if !d.has_errors() {
            let mut unknown = None;
            resp.state.walk(&mut |p, v| {
                if v.is_unknown() && unknown.is_none() {
                    unknown = Some(p.clone());
                }
            });
            if let Some(p) = unknown {
                d.push(
                    Diagnostic::error(
                        "Provider bug: unknown value after read",
                        format!("{type_name} left {p} unknown."),
                    )
                    .at(p),
                );
            }
        }
        (resp.state, d)
    }
}

/// Checks a configuration against a block: required attributes present,
/// validators pass on known values, deprecated attributes warned about.
pub(crate) fn validate_against(block: &Block, config: &Value) -> Diagnostics {
    let mut v = Validate(Diagnostics::new());
    walk_block(block, config, &AttributePath::root(), &mut v);
    v.0
}

/// One error per write-only attribute that has a (non-null) value, for a
/// Terraform that cannot keep such values out of plan and state.
pub(crate) fn refuse_write_only(block: &Block, config: &Value) -> Diagnostics {
    let mut v = RefuseWriteOnly(Diagnostics::new());
    walk_block(block, config, &AttributePath::root(), &mut v);
    v.0
}

/// What a walk of a configuration does at each place it visits.
trait Visitor {
    /// At each attribute's value; returns whether to go into the elements
    /// of a nested attribute.
    fn attribute(&mut self, a: &Attribute, v: &Value, path: &AttributePath) -> bool;
    /// At each nested block's value, before its elements are walked.
    fn block(&mut self, _b: &NestedBlock, _v: &Value, _path: &AttributePath) {}
}

/// Walks a configuration object (null or unknown: nothing to walk) through
/// its attributes, nested attributes and nested blocks.
fn walk_block(block: &Block, obj: &Value, at: &AttributePath, vis: &mut impl Visitor) {
    if obj.is_null() || obj.is_unknown() {
        return;
    }
    for a in &block.attributes {
        walk_attribute(a, obj.attr(&a.name), &at.then_attr(&a.name), vis);
    }
    for b in &block.blocks {
        let path = at.then_attr(&b.name);
        let v = obj.attr(&b.name);
        vis.block(b, v, &path);
        for_each_element(b.nesting, v, &path, &mut |e, p| {
            walk_block(&b.block, e, p, vis)
        });
    }
}

fn walk_attribute(a: &Attribute, v: &Value, path: &AttributePath, vis: &mut impl Visitor) {
    if !vis.attribute(a, v, path) {
        return;
    }
    if let AttributeKind::Nested {
        nesting,
        attributes,
    } = &a.kind
    {
        for_each_element(*nesting, v, path, &mut |e, p| {
            if e.is_null() || e.is_unknown() {
                return;
            }
            for na in attributes {
                walk_attribute(na, e.attr(&na.name), &p.then_attr(&na.name), vis);
            }
        });
    }
}

/// [`validate_against`]'s checks.
struct Validate(Diagnostics);

impl Visitor for Validate {
    fn attribute(&mut self, a: &Attribute, v: &Value, path: &AttributePath) -> bool {
        let d = &mut self.0;
        if v.is_null() {
            if a.required {
                d.error_at(
                    path.clone(),
                    "Missing required argument",
                    format!("The argument {path} is required, but no definition was found."),
                );
            }
            return false;
        }
        if let Some(msg) = &a.deprecated {
            d.push(
                Diagnostic::warning(format!("Deprecated attribute {path}"), msg.clone())
                    .at(path.clone()),
            );
        }
        if v.is_unknown() {
            return false;
        }
        if v.is_wholly_known() {
            for val in &a.validators {
                val.validate(v, path, d);
            }
        }
        true
    }

    fn block(&mut self, b: &NestedBlock, v: &Value, path: &AttributePath) {
        if let Some(items) = v.as_elements() {
            let n = items.len() as i64;
            if (b.min_items > 0 && n < b.min_items) || (b.max_items > 0 && n > b.max_items) {
                self.0.error_at(
                    path.clone(),
                    format!("Wrong number of {} blocks", b.name),
                    format!(
                        "{n} given; between {} and {} allowed.",
                        b.min_items, b.max_items
                    ),
                );
            }
        }
    }
}

/// [`refuse_write_only`]'s check.
struct RefuseWriteOnly(Diagnostics);

impl Visitor for RefuseWriteOnly {
    fn attribute(&mut self, a: &Attribute, v: &Value, path: &AttributePath) -> bool {
        if v.is_null() {
            return false;
        }
        if a.write_only {
            self.0.error_at(
                path.clone(),
                "Write-only attribute not supported by this Terraform",
                format!(
                    "{path} is write-only: its value must never be stored in plan or state, and this \
                     Terraform did not announce write-only support (it arrived in Terraform 1.11). \
                     Upgrade Terraform, or remove {path} and use a setting that takes a reference instead."
                ),
            );
            return false;
        }
        true
    }
}

/// Visits the objects of a nested value with their paths.
fn for_each_element(
    nesting: Nesting,
    v: &Value,
    path: &AttributePath,
    f: &mut dyn FnMut(&Value, &AttributePath),
) {
    match (nesting, v) {
        (_, Value::Null | Value::Unknown(_)) => {}
        (Nesting::Single | Nesting::Group, obj) => f(obj, path),
        (Nesting::List, Value::List(items)) => {
            for (i, e) in items.iter().enumerate() {
                f(e, &path.then_index(i));
            }
        }
        (Nesting::Set, Value::Set(items)) => {
            for e in items {
                f(e, path);
            }
        }
        (Nesting::Map, Value::Map(m)) => {
            for (k, e) in m {
                f(e, &path.then_key(k));
            }
        }
        _ => {}
    }
}

/// Puts defaults where configuration is null.
fn apply_defaults(block: &Block, config: &Value, planned: &mut Value) {
    let Some(entries) = planned.as_entries_mut() else {
        return;
    };
    for a in &block.attributes {
        let cfg = config.attr(&a.name);
        if let (Some(default), true) = (&a.default, cfg.is_null()) {
            entries.insert(a.name.clone(), default.clone());
            continue;
        }
        if let (
            AttributeKind::Nested {
                nesting: Nesting::Single,
                attributes,
            },
            Some(p),
        ) = (&a.kind, entries.get_mut(&a.name))
        {
            let nested = Block {
                attributes: attributes.clone(),
                ..Block::default()
            };
            apply_defaults(&nested, cfg, p);
        }
    }
    for b in &block.blocks {
        if let Some(p) = entries.get_mut(&b.name) {
            let cfg = config.attr(&b.name);
            match (b.nesting, p) {
                (Nesting::Single | Nesting::Group, p) => apply_defaults(&b.block, cfg, p),
                (Nesting::List, Value::List(items)) => {
                    for (i, e) in items.iter_mut().enumerate() {
                        let c = cfg
                            .as_elements()
                            .and_then(|c| c.get(i))
                            .unwrap_or(&Value::Null);
                        apply_defaults(&b.block, c, e);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Marks computed attributes that configuration leaves null as unknown
/// (or keeps the prior value, with use-state-for-unknown).
fn mark_computed_unknown(
    block: &Block,
    config: &Value,
    prior: &Value,
    planned: &mut Value,
    creating: bool,
) {
    let Some(entries) = planned.as_entries_mut() else {
        return;
    };
    for a in &block.attributes {
        let cfg = config.attr(&a.name);
        if a.computed && cfg.is_null() && a.default.is_none() {
            let keep = !creating && a.uses_state_for_unknown() && !prior.attr(&a.name).is_unknown();
            let v = if keep {
                prior.attr(&a.name).clone()
            } else {
                Value::unknown()
            };
            entries.insert(a.name.clone(), v);
            continue;
        }
        if let (
            AttributeKind::Nested {
                nesting: Nesting::Single,
                attributes,
            },
            Some(p),
        ) = (&a.kind, entries.get_mut(&a.name))
            && !p.is_null()
            && !p.is_unknown()
        {
            let nested = Block {
                attributes: attributes.clone(),
                ..Block::default()
            };
            mark_computed_unknown(
                &nested,
                cfg,
                prior.attr(&a.name),
                p,
                creating || prior.attr(&a.name).is_null(),
            );
        }
    }
    for b in &block.blocks {
        let cfg = config.attr(&b.name);
        let pr = prior.attr(&b.name);
        if let Some(p) = entries.get_mut(&b.name) {
            match (b.nesting, p) {
                (Nesting::Single | Nesting::Group, p) if !p.is_null() => {
                    mark_computed_unknown(&b.block, cfg, pr, p, creating || pr.is_null());
                }
                (Nesting::List, Value::List(items)) => {
                    for (i, e) in items.iter_mut().enumerate() {
                        let c = cfg
                            .as_elements()
                            .and_then(|c| c.get(i))
                            .unwrap_or(&Value::Null);
                        let pe = pr
                            .as_elements()
                            .and_then(|c| c.get(i))
                            .unwrap_or(&Value::Null);
                        mark_computed_unknown(&b.block, c, pe, e, creating || pe.is_null());
                    }
                }
                _ => {}
            }
        }
    }
}

/// Write-only attributes never reach plan or state.
pub(crate) fn null_write_only(block: &Block, v: &mut Value) {
    let Some(entries) = v.as_entries_mut() else {
        return;
    };
    for a in &block.attributes {
        if a.write_only {
            entries.insert(a.name.clone(), Value::Null);
        }
    }
    for b in &block.blocks {
        if let Some(p) = entries.get_mut(&b.name) {
            match (b.nesting, p) {
                (Nesting::Single | Nesting::Group, p) => null_write_only(&b.block, p),
                (_, Value::List(items) | Value::Set(items)) => {
                    items.iter_mut().for_each(|e| null_write_only(&b.block, e))
                }
                (_, Value::Map(m)) => m.values_mut().for_each(|e| null_write_only(&b.block, e)),
                _ => {}
            }
        }
    }
}

fn collect_replace(
    block: &Block,
    prior: &Value,
    planned: &Value,
    at: &AttributePath,
    out: &mut Vec<AttributePath>,
) {
    for a in &block.attributes {
        let (p, n) = (prior.attr(&a.name), planned.attr(&a.name));
        let path = at.then_attr(&a.name);
        for m in &a.plan_modifiers {
            let replace = match m {
                PlanModifier::RequiresReplace => p != n,
                PlanModifier::RequiresReplaceIf(f, _) => p != n && f(p, n),
                PlanModifier::UseStateForUnknown => false,
            };
            if replace && !out.contains(&path) {
                out.push(path.clone());
            }
        }
        if let AttributeKind::Nested {
            nesting: Nesting::Single,
            attributes,
        } = &a.kind
        {
            let nested = Block {
                attributes: attributes.clone(),
                ..Block::default()
            };
            collect_replace(&nested, p, n, &path, out);
        }
    }
    for b in &block.blocks {
        if matches!(b.nesting, Nesting::Single | Nesting::Group) {
            collect_replace(
                &b.block,
                prior.attr(&b.name),
                planned.attr(&b.name),
                &at.then_attr(&b.name),
                out,
            );
        }
    }
}

/// Every known planned value must come back unchanged; nothing may stay
/// unknown. Violations are provider bugs, reported with their path.
pub(crate) fn consistency(type_name: &str, planned: &Value, new: &Value) -> Diagnostics {
    let mut d = Diagnostics::new();
    check_consistent(planned, new, &mut AttributePath::root(), &mut d, type_name);
    d
}

fn check_consistent(
    planned: &Value,
    new: &Value,
    path: &mut AttributePath,
    d: &mut Diagnostics,
    type_name: &str,
) {
    if d.0.len() >= 5 {
        return;
    }
    let mut fail = |what: String, path: &AttributePath| {
        d.push(
            Diagnostic::error(
                "Provider produced inconsistent result after apply",
                format!(
                    "{type_name}: {what} at {}. This is a bug in the provider.",
                    if path.is_root() {
                        "root".into()
                    } else {
                        path.to_string()
                    }
                ),
            )
            .at(path.clone()),
        );
    };
    if new.is_unknown() {
        fail("value left unknown".into(), path);
        return;
    }
    if planned.is_unknown() {
        if !new.is_wholly_known() {
            fail("value left unknown".into(), path);
        }
        return;
    }
    match (planned, new) {
        (Value::Object(a), Value::Object(b)) | (Value::Map(a), Value::Map(b)) => {
            let is_obj = matches!(planned, Value::Object(_));
            if !is_obj && a.len() != b.len() {
                fail(
                    format!("planned {} map entries, got {}", a.len(), b.len()),
                    path,
                );
                return;
            }
            for (k, pv) in a {
                let nv = b.get(k).unwrap_or(&Value::Null);
                path.push(if is_obj {
                    PathStep::Attribute(k.clone())
                } else {
                    PathStep::ElementKey(k.clone())
                });
                check_consistent(pv, nv, path, d, type_name);
                path.pop();
            }
        }
        (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
            if a.len() != b.len() {
                fail(
                    format!("planned {} elements, got {}", a.len(), b.len()),
                    path,
                );
                return;
            }
            for (i, (pv, nv)) in a.iter().zip(b).enumerate() {
                path.push(PathStep::ElementIndex(i as i64));
                check_consistent(pv, nv, path, d, type_name);
                path.pop();
            }
        }
        (Value::Set(a), Value::Set(_)) if !a.iter().all(Value::is_wholly_known) => {}
        (p, n) if p == n => {}
        (p, n) => fail(format!("planned {} but got {}", short(p), short(n)), path),
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::Null => "null".to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    };
    if s.len() > 80 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(77).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validators::int_between;

    fn block() -> Block {
        Block::new()
            .attribute(Attribute::string("name").required())
            .attribute(
                Attribute::number("replicas")
                    .default(Value::int(2))
                    .validate(int_between(1, 10)),
            )
            .attribute(Attribute::string("id").computed().use_state_for_unknown())
            .attribute(Attribute::string("version").computed())
            .attribute(Attribute::string("zone").optional().requires_replace())
            .attribute(
                Attribute::string("token")
                    .optional()
                    .sensitive()
                    .write_only(),
            )
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        let mut m: BTreeMap<String, Value> = ["name", "replicas", "id", "version", "zone", "token"]
            .iter()
            .map(|k| (k.to_string(), Value::Null))
            .collect();
        for (k, v) in pairs {
            m.insert(k.to_string(), v.clone());
        }
        Value::Object(m)
    }

    #[test]
    fn validation_names_attribute_paths() {
        let d = validate_against(&block(), &obj(&[("replicas", Value::int(50))]));
        let paths: Vec<String> = d
            .iter()
            .map(|d| {
                d.attribute
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(
            paths,
            vec!["name".to_string(), "replicas".to_string()],
            "{d}"
        );
    }

    #[test]
    fn write_only_values_are_refused_when_terraform_cannot_keep_them_out_of_state() {
        let with_token = obj(&[("name", "web".into()), ("token", "s3cret".into())]);
        let d = refuse_write_only(&block(), &with_token);
        assert_eq!(d.0.len(), 1, "{d}");
        assert!(d.has_errors());
        assert_eq!(
            d.0[0]
                .attribute
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some("token")
        );
        assert!(
            !d.to_string().contains("s3cret"),
            "never quote the value: {d}"
        );
        let unknown = obj(&[("name", "web".into()), ("token", Value::unknown())]);
        assert!(
            refuse_write_only(&block(), &unknown).has_errors(),
            "unknown is still a value"
        );
        assert!(refuse_write_only(&block(), &obj(&[("name", "web".into())])).is_empty());
    }

    #[test]
    fn write_only_values_in_nested_blocks_are_refused_with_their_path() {
        let b = Block::new().block(crate::schema::NestedBlock::new(
            "db",
            Nesting::List,
            Block::new().attribute(Attribute::string("password").optional().write_only()),
        ));
        let v = Value::object([(
            "db",
            Value::List(vec![
                Value::object([("password", Value::Null)]),
                Value::object([("password", "pw".into())]),
            ]),
        )]);
        let d = refuse_write_only(&b, &v);
        assert_eq!(d.0.len(), 1, "{d}");
        assert_eq!(
            d.0[0].attribute.as_ref().unwrap().to_string(),
            "db[1].password"
        );
    }

    #[test]
    fn create_plan_fills_defaults_and_unknowns() {
        let cfg = obj(&[("name", "web".into()), ("token", "s3cret".into())]);
        let mut planned = cfg.clone();
        apply_defaults(&block(), &cfg, &mut planned);
        mark_computed_unknown(&block(), &cfg, &Value::Null, &mut planned, true);
        null_write_only(&block(), &mut planned);
        assert_eq!(planned.attr("replicas").as_i64(), Some(2));
        assert!(planned.attr("id").is_unknown());
        assert!(planned.attr("version").is_unknown());
        assert!(planned.attr("token").is_null(), "write-only never planned");
    }

    #[test]
    fn update_plan_keeps_state_for_unknown_and_flags_replacement() {
        let prior = obj(&[
            ("name", "web".into()),
            ("replicas", Value::int(2)),
            ("id", "i-1".into()),
            ("version", "v1".into()),
            ("zone", "a".into()),
        ]);
        let cfg = obj(&[("name", "web".into()), ("zone", "b".into())]);
        let mut planned = obj(&[
            ("name", "web".into()),
            ("replicas", Value::int(2)),
            ("id", "i-1".into()),
            ("version", "v1".into()),
            ("zone", "b".into()),
        ]);
        apply_defaults(&block(), &cfg, &mut planned);
        mark_computed_unknown(&block(), &cfg, &prior, &mut planned, false);
        assert_eq!(planned.attr("id").as_str(), Some("i-1"));
        assert!(planned.attr("version").is_unknown());
        let mut rr = vec![];
        collect_replace(&block(), &prior, &planned, &AttributePath::root(), &mut rr);
        assert_eq!(rr, vec![AttributePath::attr("zone")]);
    }

    #[test]
    fn consistency_flags_changed_known_values_with_path() {
        let planned = obj(&[("name", "web".into()), ("id", Value::unknown())]);
        let ok = obj(&[("name", "web".into()), ("id", "i-1".into())]);
        assert!(consistency("t", &planned, &ok).is_empty());
        let bad = obj(&[("name", "WEB".into()), ("id", "i-1".into())]);
        let d = consistency("t", &planned, &bad);
        assert_eq!(d.0[0].attribute.as_ref().unwrap().to_string(), "name");
        let still_unknown = obj(&[("name", "web".into()), ("id", Value::unknown())]);
        assert!(consistency("t", &planned, &still_unknown).has_errors());
    }
}

//! `berth_region_pool`: one DNS name served by regional targets with
//! latency routing, per-region health checks, failover to the primary
//! region, and drain/restore of a region without deleting it.
//!
//! Record design (see [`design`]), for `api.example.com` with primary
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

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use async_trait::async_trait;
use berth_aws::routing::{self, HealthCheckSpec, RecordSet, RecordValue};
use tfplugin::configured::ConfiguredResource;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::path::AttributePath;
use tfplugin::provider::{
    ApplyResponse, CreateRequest, Ctx, DeleteRequest, DeleteResponse, ImportRequest,
    ImportResponse, ModifyPlan, ModifyPlanRequest, ModifyPlanResponse, ReadRequest, ReadResponse,
    UpdateRequest, ValidateRequest,
};
use tfplugin::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use tfplugin::types::Type;
use tfplugin::value::Value;

use super::{error, health_checks};
use crate::provider_data::ProviderData;
use crate::validation::valid_region;

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

/// One regional target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// AWS region name (the latency region).
    pub region: String,
    /// What it answers.
    pub value: RecordValue,
    /// Out of rotation: its users go to the primary region.
    pub drained: bool,
    /// Its health check.
    pub health_check: HealthCheckSpec,
}

/// Everything a `berth_region_pool` block says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Zone id or name.
    pub zone: String,
    /// Record name.
    pub name: String,
    /// TTL of the regional records.
    pub ttl: i64,
    /// The primary region.
    pub primary: String,
    /// Members, in configuration order.
    pub members: Vec<Member>,
}

fn err(d: &mut Diagnostics, p: AttributePath, summary: &str, detail: String) {
    d.push(Diagnostic::error(summary, detail).at(p));
}

/// Parses a (planned or prior) value with attribute-named diagnostics.
pub fn parse(v: &Value) -> (PoolConfig, Diagnostics) {
    let mut d = Diagnostics::new();
    let primary = v.attr("primary").as_str().unwrap_or_default().to_string();
    let mut members = Vec::new();
    let mut seen = BTreeSet::new();
    let rp = AttributePath::attr("region");
    crate::resources::weighted_route::plan::check_names(
        v.attr("zone").as_str(),
        v.attr("name").as_str(),
        &mut d,
    );
    let ttl = v.attr("ttl").as_i64().unwrap_or(60);
    if !v.attr("ttl").is_null() && !(0..=86_400).contains(&ttl) {
        err(
            &mut d,
            AttributePath::attr("ttl"),
            "Value out of range",
            format!("`ttl` must be between 0 and 86400 seconds, not {ttl}."),
        );
    }
    let elems = v.attr("region").as_elements().unwrap_or_default();
    // Regions are a set, which an attribute path cannot index: with one
    // region block the path goes into it (Terraform then shows the exact
    // attribute), with several it stops at `region` and the detail names
    // the region.
    let single = elems.len() == 1;
    let at = |attr: &str| {
        if single {
            rp.then_attr(attr)
        } else {
            rp.clone()
        }
    };
    for m in elems {
        let p = rp.clone();
        let region = m.attr("name").as_str().unwrap_or_default().to_string();
        if m.attr("name").is_wholly_known() {
            if !valid_region(&region) {
                err(
                    &mut d,
                    at("name"),
                    "Invalid region",
                    format!(
                        "{region:?} is not an AWS region name (expected something like \"eu-west-1\")."
                    ),
                );
            } else if !seen.insert(region.clone()) {
                err(
                    &mut d,
                    p.clone(),
                    "Duplicate region",
                    format!(
                        "{region:?} appears in more than one `region` block; each region may serve once."
                    ),
                );
            }
        }
        if let Some(Err(why)) = m.attr("hostname").as_str().map(crate::validation::dns_name) {
            err(
                &mut d,
                at("hostname"),
                "Invalid hostname",
                format!("region {region}: {why}"),
            );
        }
        let value = match (
            m.attr("hostname").as_str(),
            m.attr("addresses").as_elements(),
        ) {
            (Some(h), None) => RecordValue::Cname(h.trim_end_matches('.').to_string()),
            (None, Some(a)) => {
                let mut v: Vec<String> = a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
                for (j, x) in v.iter().enumerate() {
                    if x.parse::<Ipv4Addr>().is_err() {
                        let p = if single {
                            rp.then_attr("addresses").then_index(j)
                        } else {
                            p.clone()
                        };
                        err(
                            &mut d,
                            p,
                            "Invalid address",
                            format!(
                                "region {region}: address {} ({x:?}) is not an IPv4 address.",
                                j + 1
                            ),
                        );
                    }
                }
                v.sort();
                RecordValue::A(v)
            }
            (Some(_), Some(_)) => {
                err(
                    &mut d,
                    at("addresses"),
                    "Conflicting target",
                    format!(
                        "region {region} sets `hostname` and `addresses`: set either one, not both."
                    ),
                );
                RecordValue::Cname(String::new())
            }
            (None, None) => {
                if !m.attr("hostname").is_unknown() && !m.attr("addresses").is_unknown() {
                    err(
                        &mut d,
                        at("hostname"),
                        "Missing target",
                        format!(
                            "region {region}: set `hostname` (e.g. the region's berth app `origin_fqdn`) or `addresses`."
                        ),
                    );
                }
                RecordValue::Cname(String::new())
            }
        };
        let drained = m.attr("drained").as_bool().unwrap_or(false);
        let hc = m.attr("health_check");
        let protocol = hc.attr("protocol").as_str().unwrap_or("HTTPS").to_string();
        let (fqdn, ip) = match &value {
            RecordValue::Cname(h) => (Some(h.clone()), None),
            RecordValue::A(a) => (None, a.first().cloned()),
        };
        members.push(Member {
            region,
            value,
            drained,
            health_check: HealthCheckSpec {
                port: i32::try_from(hc.attr("port").as_i64().unwrap_or(if protocol == "HTTP" {
                    80
                } else {
                    443
                }))
                .unwrap_or(443),
                path: hc
                    .attr("path")
                    .as_str()
                    .map(str::to_string)
                    .or(Some("/".into()))
                    .filter(|_| protocol != "TCP"),
                interval: i32::try_from(hc.attr("interval").as_i64().unwrap_or(30)).unwrap_or(30),
                failure_threshold: i32::try_from(
                    hc.attr("failure_threshold").as_i64().unwrap_or(3),
                )
                .unwrap_or(3),
                protocol,
                fqdn,
                ip,
            },
        });
    }
    if v.attr("region").is_wholly_known() && v.attr("primary").is_wholly_known() {
        match members.iter().find(|m| m.region == primary) {
            None if !valid_region(&primary) => err(
                &mut d,
                AttributePath::attr("primary"),
                "Invalid primary region",
                format!(
                    "{primary:?} is not an AWS region name; the primary must be one of the pool's regions."
                ),
            ),
            None => err(
                &mut d,
                AttributePath::attr("primary"),
                "Unknown primary region",
                format!("{primary:?} is not one of the pool's regions."),
            ),
            Some(m) if m.drained => err(
                &mut d,
                AttributePath::attr("primary"),
                "Primary region drained",
                format!(
                    "the primary region {primary} cannot be drained: it is where drained and unhealthy regions fail over to. Make another region primary first."
                ),
            ),
            Some(_) => {}
        }
        if members.is_empty() {
            err(
                &mut d,
                rp.clone(),
                "No regions",
                "a region pool needs at least one `region` block.".into(),
            );
        }
    }
    (
        PoolConfig {
            zone: v.attr("zone").as_str().unwrap_or_default().to_string(),
            name: v.attr("name").as_str().unwrap_or_default().to_string(),
            ttl: v.attr("ttl").as_i64().unwrap_or(60),
            primary,
            members,
        },
        d,
    )
}

/// The record sets of the pool at `fqdn`, given each region's health
/// check id.
pub fn design(cfg: &PoolConfig, fqdn: &str, hc: &BTreeMap<String, String>) -> Vec<RecordSet> {
    let fqdn = berth_aws::dns::canonical(fqdn);
    let pool = |r: &str| format!("{r}.pool.{fqdn}");
    let primary = cfg.members.iter().find(|m| m.region == cfg.primary);
    let mut out = Vec::new();
    for m in &cfg.members {
        out.push(RecordSet {
            name: fqdn.clone(),
            set_id: m.region.clone(),
            region: Some(m.region.clone()),
            failover: None,
            alias: Some(pool(if m.drained { &cfg.primary } else { &m.region })),
            value: None,
            ttl: 0,
            health_check_id: None,
        });
        out.push(RecordSet {
            name: pool(&m.region),
            set_id: format!("{}-primary", m.region),
            region: None,
            failover: Some("PRIMARY".into()),
            alias: None,
            value: Some(m.value.clone()),
            ttl: cfg.ttl,
            health_check_id: hc.get(&m.region).cloned(),
        });
        if m.region != cfg.primary
            && let Some(p) = primary
        {
            out.push(RecordSet {
                name: pool(&m.region),
                set_id: format!("{}-secondary", m.region),
                region: None,
                failover: Some("SECONDARY".into()),
                alias: None,
                value: Some(p.value.clone()),
                ttl: cfg.ttl,
                health_check_id: hc.get(&p.region).cloned(),
            });
        }
    }
    out.sort_by(|a, b| (&a.name, &a.set_id).cmp(&(&b.name, &b.set_id)));
    out
}

/// The resource schema.
pub fn schema() -> Schema {
    let health = health_checks::block(
        "The region's Route53 health check (created and owned by the pool). Defaults: HTTPS on 443, path `/`.",
        "Request path. Default `/`.",
    );
    let region = Block::new()
        .description("One regional target.")
        .attribute(Attribute::string("name").required().description("The AWS region whose users this target serves by latency, e.g. `eu-west-1`."))
        .attribute(Attribute::string("hostname").optional().description("The region's endpoint host, e.g. its berth app's `origin_fqdn`."))
        .attribute(Attribute::new("addresses", Type::list(Type::String)).optional().description("IPv4 addresses instead of `hostname`."))
        .attribute(Attribute::bool("drained").optional().computed().default(Value::Bool(false)).description("Take the region out of rotation without deleting it: its users are answered by the primary region."))
        .block(NestedBlock::new("health_check", Nesting::Single, health));
    Schema::new(
        Block::new()
            .description("One DNS name served by regional targets: latency-based records per region with health checks, failover to the primary region, and drain/restore of a region.")
            .attribute(Attribute::string("id").computed().use_state_for_unknown().description("`<zone id>/<fqdn>`."))
            .attribute(Attribute::string("zone").required().requires_replace().description("Route53 hosted zone id or name."))
            .attribute(Attribute::string("name").required().requires_replace().description("Record name, relative to the zone or fully qualified."))
            .attribute(Attribute::number("ttl").optional().computed().default(Value::int(60)).description("TTL of the regional records in seconds. Default 60."))
            .attribute(Attribute::string("primary").required().description("The primary region: where a region's users go when it is unhealthy or drained."))
            .attribute(Attribute::string("fqdn").computed().use_state_for_unknown().description("The fully qualified name."))
            .attribute(Attribute::string("zone_id").computed().use_state_for_unknown().description("The hosted zone id."))
            .attribute(Attribute::new("health_check_ids", Type::map(Type::String)).computed().description("Region → its Route53 health check id."))
            .attribute(Attribute::new("records", Type::list(Type::String)).computed().description("The record sets the pool consists of, one line each."))
            .block(NestedBlock::new("region", Nesting::Set, region).items(1, 0)),
    )
}

async fn converge(data: &ProviderData, prior: Option<&Value>, planned: &Value) -> ApplyResponse {
    let failed = |diagnostics: Diagnostics| ApplyResponse {
        new_state: prior.cloned().unwrap_or(Value::Null),
        diagnostics,
        ..Default::default()
    };
    let (cfg, diags) = parse(planned);
    if diags.has_errors() {
        return failed(diags);
    }
    let aws = &data.aws;
    let zone = match data.inventory.zone(aws, &cfg.zone).await {
        Ok(z) => z,
        Err(e) => {
            return failed(
                Diagnostic::error("Cannot find the hosted zone", e.to_string())
                    .at(AttributePath::attr("zone"))
                    .into(),
            );
        }
    };
    let fqdn = berth_aws::dns::record_name(&zone, &cfg.name);
    let prior_ids = prior.map(health_checks::ids_of).unwrap_or_default();
    let prior_specs: BTreeMap<String, HealthCheckSpec> = prior
        .map(|p| parse(p).0.members)
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.region, m.health_check))
        .collect();
    let wanted: Vec<(String, HealthCheckSpec)> = cfg
        .members
        .iter()
        .map(|m| (m.region.clone(), m.health_check.clone()))
        .collect();
    let owner = format!("pool/{fqdn}");
    let checks =
        match health_checks::reconcile(aws, &owner, &fqdn, &wanted, &prior_ids, &prior_specs).await
        {
            Ok(c) => c,
            Err((region, e)) => {
                return failed(error(
                    &format!("Cannot create the health check for region {region}"),
                    e.to_string(),
                ));
            }
        };
    let (hc, created, stale) = (checks.ids, checks.created, checks.stale);
    let desired = design(&cfg, &fqdn, &hc);
    let current = match routing::pool_record_sets(aws, &zone.id, &fqdn).await {
        Ok(c) => c,
        Err(e) => return failed(error("Cannot read the pool's records", e.to_string())),
    };
    tracing::info!(pool = %fqdn, "{}: {} record set(s) wanted, {} found", fqdn.trim_end_matches('.'), desired.len(), current.len());
    let applied =
        routing::apply_record_sets(aws, &zone.id, &desired, &current, Duration::from_secs(2)).await;
    data.inventory.invalidate().await;
    if let Err(e) = applied {
        health_checks::discard(aws, &created).await;
        return failed(error(
            &format!(
                "Cannot update the records of {}",
                fqdn.trim_end_matches('.')
            ),
            e.to_string(),
        ));
    }
    if let Err((id, e)) = health_checks::delete_unused(aws, &prior_ids, &hc, &stale).await {
        return failed(error(
            "Cannot delete an old health check",
            format!("{id}: {e}"),
        ));
    }
    let mut state = planned.clone();
    state.set_attr("id", Value::string(format!("{}/{}", zone.id, fqdn)));
    state.set_attr("fqdn", Value::string(&fqdn));
    state.set_attr("zone_id", Value::string(&zone.id));
    state.set_attr("health_check_ids", health_checks::ids_value(&hc));
    state.set_attr(
        "records",
        Value::List(
            desired
                .iter()
                .map(|r| Value::string(r.describe()))
                .collect(),
        ),
    );
    ApplyResponse {
        new_state: state,
        ..Default::default()
    }
}

/// Reads the pool back into `state`'s shape; `None` when no record exists.
async fn refresh(data: &ProviderData, state: &Value) -> Result<Option<Value>, String> {
    let aws = &data.aws;
    let zone_id = state
        .attr("zone_id")
        .as_str()
        .unwrap_or_default()
        .to_string();
    let fqdn = state.attr("fqdn").as_str().unwrap_or_default().to_string();
    // The zone's shared listing: a refresh of many pools lists it once.
    let found = data
        .inventory
        .records(aws, &zone_id)
        .await
        .map_err(|e| e.to_string())?
        .pool(&fqdn);
    if found.is_empty() {
        return Ok(None);
    }
    let canon = berth_aws::dns::canonical(&fqdn);
    let mut out = state.clone();
    // Primary: the region whose pool has no secondary; members from the
    // latency records, values from each pool's primary record.
    let latency: Vec<&RecordSet> = found
        .iter()
        .filter(|r| r.name == canon && r.region.is_some())
        .collect();
    let primary_of = |region: &str| {
        found
            .iter()
            .find(|r| r.set_id == format!("{region}-primary"))
    };
    let known: Vec<Value> = out
        .attr("region")
        .as_elements()
        .unwrap_or_default()
        .to_vec();
    let primary_region = latency
        .iter()
        .filter_map(|l| l.region.clone())
        .find(|r| !found.iter().any(|x| x.set_id == format!("{r}-secondary")));
    let mut members = Vec::new();
    for l in &latency {
        let Some(region) = l.region.clone() else {
            continue;
        };
        let mut m = known
            .iter()
            .find(|k| k.attr("name").as_str() == Some(region.as_str()))
            .cloned()
            .unwrap_or_else(|| {
                Value::object([
                    ("name", Value::string(&region)),
                    ("hostname", Value::Null),
                    ("addresses", Value::Null),
                    ("drained", Value::Bool(false)),
                    ("health_check", Value::Null),
                ])
            });
        if let Some(p) = primary_of(&region) {
            match &p.value {
                Some(RecordValue::Cname(h)) => {
                    let same = m.attr("hostname").as_str().is_some_and(|c| {
                        c.trim_end_matches('.')
                            .eq_ignore_ascii_case(h.trim_end_matches('.'))
                    });
                    if !same {
                        m.set_attr("hostname", Value::string(h.trim_end_matches('.')));
                    }
                    m.set_attr("addresses", Value::Null);
                }
                Some(RecordValue::A(a)) => {
                    m.set_attr("hostname", Value::Null);
                    m.set_attr(
                        "addresses",
                        Value::List(a.iter().map(Value::string).collect()),
                    );
                }
                None => {}
            }
        }
        let own = format!("{region}.pool.{canon}");
        m.set_attr(
            "drained",
            Value::Bool(l.alias.as_deref() != Some(own.as_str())),
        );
        members.push(m);
    }
    out.set_attr("region", Value::Set(members));
    if let Some(p) = primary_region
        && out.attr("primary").as_str().is_none()
    {
        out.set_attr("primary", Value::string(p));
    }
    if let Some(ttl) = found.iter().find(|r| r.alias.is_none()).map(|r| r.ttl) {
        out.set_attr("ttl", Value::int(ttl));
    }
    // The record listing as it exists (a plan compares it to the design).
    out.set_attr(
        "records",
        Value::List(found.iter().map(|r| Value::string(r.describe())).collect()),
    );
    Ok(Some(out))
}

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
        converge(data, None, &req.planned).await
    }

    async fn update(&self, _ctx: &Ctx, data: &ProviderData, req: UpdateRequest) -> ApplyResponse {
        converge(data, Some(&req.prior), &req.planned).await
    }

    async fn read(&self, _ctx: &Ctx, data: &ProviderData, req: ReadRequest) -> ReadResponse {
        match refresh(data, &req.state).await {
            Ok(s) => ReadResponse {
                new_state: s.unwrap_or(Value::Null),
                private: req.private,
                diagnostics: Diagnostics::new(),
            },
            Err(e) => req.unchanged(error("Cannot read berth_region_pool", e)),
        }
    }

    async fn delete(&self, _ctx: &Ctx, data: &ProviderData, req: DeleteRequest) -> DeleteResponse {
        let aws = &data.aws;
        let zone_id = req
            .prior
            .attr("zone_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let fqdn = req
            .prior
            .attr("fqdn")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let work = async {
            let found = routing::pool_record_sets(aws, &zone_id, &fqdn).await?;
            routing::apply_record_sets(aws, &zone_id, &[], &found, Duration::from_secs(2)).await?;
            health_checks::delete_all(aws, &req.prior, &format!("pool/{fqdn}")).await?;
            Ok::<(), berth_aws::AwsError>(())
        };
        let done = work.await;
        data.inventory.invalidate().await;
        DeleteResponse {
            diagnostics: match done {
                Ok(()) => Diagnostics::new(),
                Err(e) => error(&format!("Cannot delete region pool {fqdn}"), e.to_string()),
            },
        }
    }

    fn imports(&self) -> bool {
        true
    }

    async fn import(&self, _ctx: &Ctx, data: &ProviderData, req: ImportRequest) -> ImportResponse {
        self.import_by_id(data, req).await
    }

    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        Some(self)
    }
}

#[async_trait]
impl ModifyPlan for RegionPool {
    /// Plans the record listing from the design, so records changed or
    /// removed outside Terraform show up as a difference to repair.
    async fn modify_plan(&self, _ctx: &Ctx, req: ModifyPlanRequest) -> ModifyPlanResponse {
        let mut resp = ModifyPlanResponse {
            planned: req.planned.clone(),
            ..Default::default()
        };
        if req.planned.is_null() || req.prior.is_null() || !req.planned.is_wholly_known() {
            return resp;
        }
        let (cfg, diags) = parse(&req.planned);
        if diags.has_errors() {
            resp.diagnostics = diags;
            return resp;
        }
        let (old, _) = parse(&req.prior);
        let same_checks = old.members.len() == cfg.members.len()
            && cfg.members.iter().all(|m| {
                old.members
                    .iter()
                    .any(|o| o.region == m.region && o.health_check == m.health_check)
            });
        if !same_checks {
            return resp;
        }
        let ids = health_checks::ids_of(&req.prior);
        let fqdn = req
            .prior
            .attr("fqdn")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let planned = &mut resp.planned;
        planned.set_attr(
            "health_check_ids",
            req.prior.attr("health_check_ids").clone(),
        );
        planned.set_attr(
            "records",
            Value::List(
                design(&cfg, &fqdn, &ids)
                    .iter()
                    .map(|r| Value::string(r.describe()))
                    .collect(),
            ),
        );
        resp
    }
}

impl RegionPool {
    /// `terraform import` by the id `req.id`.
    async fn import_by_id(&self, data: &ProviderData, req: ImportRequest) -> ImportResponse {
        let (zone, name) = match super::import_id::pool(&req.id) {
            Ok(id) => (id.zone, id.name),
            Err(e) => {
                return ImportResponse {
                    diagnostics: error("Invalid import id", e),
                    ..Default::default()
                };
            }
        };
        let z = match data.inventory.zone(&data.aws, zone).await {
            Ok(z) => z,
            Err(e) => {
                return ImportResponse {
                    diagnostics: error("Cannot import berth_region_pool", e.to_string()),
                    ..Default::default()
                };
            }
        };
        let fqdn = berth_aws::dns::record_name(&z, name);
        // Health check ids come from the pools' primary records.
        let found = match routing::pool_record_sets(&data.aws, &z.id, &fqdn).await {
            Ok(f) => f,
            Err(e) => {
                return ImportResponse {
                    diagnostics: error("Cannot import berth_region_pool", e.to_string()),
                    ..Default::default()
                };
            }
        };
        let hc: BTreeMap<String, Value> = found
            .iter()
            .filter_map(|r| {
                let region = r.set_id.strip_suffix("-primary")?;
                Some((
                    region.to_string(),
                    Value::string(r.health_check_id.clone()?),
                ))
            })
            .collect();
        let state = Value::object([
            ("id", Value::string(format!("{}/{}", z.id, fqdn))),
            ("zone", Value::string(zone)),
            ("name", Value::string(name)),
            ("ttl", Value::int(60)),
            ("primary", Value::Null),
            ("fqdn", Value::string(&fqdn)),
            ("zone_id", Value::string(&z.id)),
            ("health_check_ids", Value::Map(hc)),
            ("records", Value::List(vec![])),
            ("region", Value::Set(vec![])),
        ]);
        match refresh(data, &state).await {
            Ok(Some(s)) => ImportResponse {
                state: s,
                ..Default::default()
            },
            Ok(None) => ImportResponse {
                diagnostics: error(
                    "Cannot import berth_region_pool",
                    format!("no region pool records named {fqdn}"),
                ),
                ..Default::default()
            },
            Err(e) => ImportResponse {
                diagnostics: error("Cannot import berth_region_pool", e),
                ..Default::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(region: &str, host: &str, drained: bool) -> Member {
        Member {
            region: region.into(),
            value: RecordValue::Cname(host.into()),
            drained,
            health_check: HealthCheckSpec {
                protocol: "HTTPS".into(),
                fqdn: Some(host.into()),
                ip: None,
                port: 443,
                path: Some("/".into()),
                interval: 30,
                failure_threshold: 3,
            },
        }
    }

    #[test]
    fn schema_passes_terraform_rules() {
        assert!(schema().check().is_empty());
    }

    #[test]
    fn records_follow_the_documented_design() {
        let cfg = PoolConfig {
            zone: "example.com".into(),
            name: "api".into(),
            ttl: 60,
            primary: "us-east-1".into(),
            members: vec![
                member("us-east-1", "us.example.com", false),
                member("eu-west-1", "eu.example.com", false),
            ],
        };
        let hc: BTreeMap<String, String> = [
            ("us-east-1".to_string(), "hc-us".to_string()),
            ("eu-west-1".to_string(), "hc-eu".to_string()),
        ]
        .into();
        let lines: Vec<String> = design(&cfg, "api.example.com", &hc)
            .iter()
            .map(RecordSet::describe)
            .collect();
        assert_eq!(
            lines,
            vec![
                "api.example.com [latency eu-west-1] alias → eu-west-1.pool.api.example.com.",
                "api.example.com [latency us-east-1] alias → us-east-1.pool.api.example.com.",
                "eu-west-1.pool.api.example.com [failover primary] CNAME eu.example.com, health check hc-eu",
                "eu-west-1.pool.api.example.com [failover secondary] CNAME us.example.com, health check hc-us",
                "us-east-1.pool.api.example.com [failover primary] CNAME us.example.com, health check hc-us",
            ]
        );
        let mut drained = cfg.clone();
        drained.members[1].drained = true;
        let d = design(&drained, "api.example.com", &hc);
        assert_eq!(
            d[0].alias.as_deref(),
            Some("us-east-1.pool.api.example.com."),
            "drained: its users go to the primary"
        );
        assert_eq!(
            d.len(),
            5,
            "the drained region's pool stays, ready for restore"
        );
    }

    #[test]
    fn set_element_errors_go_into_a_single_block_and_stop_at_several() {
        let region = |name: &str, host: &str| {
            Value::object([
                ("name", Value::string(name)),
                ("hostname", Value::string(host)),
                ("addresses", Value::Null),
                ("drained", Value::Bool(false)),
                ("health_check", Value::Null),
            ])
        };
        let pool = |regions: Vec<Value>| {
            Value::object([
                ("zone", Value::string("example.com")),
                ("name", Value::string("api")),
                ("ttl", Value::int(-1)),
                ("primary", Value::string("us-east-1")),
                ("region", Value::Set(regions)),
            ])
        };
        let paths = |v: &Value| -> Vec<String> {
            parse(v)
                .1
                .iter()
                .filter_map(|x| x.attribute.as_ref().map(ToString::to_string))
                .collect()
        };
        let one = paths(&pool(vec![region("us-east-1", "http://x/")]));
        assert!(one.contains(&"region.hostname".to_string()), "{one:?}");
        assert!(one.contains(&"ttl".to_string()), "{one:?}");
        let many = paths(&pool(vec![
            region("us-east-1", "us.example.com"),
            region("moon-1", "m.example.com"),
        ]));
        assert!(many.contains(&"region".to_string()), "{many:?}");
        assert!(!many.iter().any(|p| p.starts_with("region.")), "{many:?}");
        let mut bad_primary = pool(vec![region("us-east-1", "us.example.com")]);
        bad_primary.set_attr("primary", Value::string(""));
        let (_, d) = parse(&bad_primary);
        assert!(
            d.iter()
                .any(|x| x.detail.contains("not an AWS region name")),
            "{d:?}"
        );
    }

    #[test]
    fn the_primary_cannot_be_drained_or_missing() {
        let v = Value::object([
            ("zone", Value::string("example.com")),
            ("name", Value::string("api")),
            ("primary", Value::string("us-west-2")),
            (
                "region",
                Value::Set(vec![Value::object([
                    ("name", Value::string("us-east-1")),
                    ("hostname", Value::string("us.example.com")),
                    ("addresses", Value::Null),
                    ("drained", Value::Bool(true)),
                    ("health_check", Value::Null),
                ])]),
            ),
        ]);
        let (_, d) = parse(&v);
        assert!(
            d.iter().any(|x| x.summary == "Unknown primary region"),
            "{d:?}"
        );
        let mut v2 = v.clone();
        v2.set_attr("primary", Value::string("us-east-1"));
        let (_, d) = parse(&v2);
        assert!(
            d.iter().any(|x| x.summary == "Primary region drained"),
            "{d:?}"
        );
    }
}

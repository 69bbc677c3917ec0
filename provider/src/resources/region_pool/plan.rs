//! Planning `berth_region_pool`: its configuration checked into plain Rust
//! with attribute-named diagnostics, the record design ([`design`]) and the
//! plan's computed parts (`records` from the design, kept
//! `health_check_ids`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use berth_aws::routing::{HealthCheckSpec, RecordSet, RecordValue};
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::{Attr, ToValue};
use tfplugin::path::AttributePath;
use tfplugin::provider::{ModifyPlanRequest, ModifyPlanResponse};
use tfplugin::value::Value;

use super::model::{PoolModel, RegionModel};
use crate::validation::valid_region;

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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

/// Reads and checks a (planned or prior) value with attribute-named
/// diagnostics.
pub fn parse(v: &Value) -> (PoolConfig, Diagnostics) {
    match v.get::<PoolModel>() {
        Ok(m) => check(&m),
        Err(d) => (PoolConfig::default(), d),
    }
}

/// Checks a pool's model. Unknown values are skipped.
pub fn check(v: &PoolModel) -> (PoolConfig, Diagnostics) {
    let mut d = Diagnostics::new();
    let primary = v.primary.as_deref().unwrap_or_default().to_string();
    let mut members = Vec::new();
    let mut seen = BTreeSet::new();
    let rp = AttributePath::attr("region");
    crate::resources::weighted_route::plan::check_names(
        v.zone.as_deref(),
        v.name.as_deref(),
        &mut d,
    );
    let ttl = v.ttl.known().copied().unwrap_or(60);
    if !v.ttl.is_null() && !(0..=86_400).contains(&ttl) {
        err(
            &mut d,
            AttributePath::attr("ttl"),
            "Value out of range",
            format!("`ttl` must be between 0 and 86400 seconds, not {ttl}."),
        );
    }
    let elems = v.regions();
    // Regions are a set, which an attribute path cannot index: with one
    // region block the path goes into it (Terraform then shows the exact
    // attribute), with several it stops at `region` and the detail names
    // the region.
    let single = elems.len() == 1;
    for m in elems {
        members.push(member(m, single, &mut seen, &mut d));
    }
    if v.region.is_wholly_known() && v.primary.is_wholly_known() {
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
            zone: v.zone.as_deref().unwrap_or_default().to_string(),
            name: v.name.as_deref().unwrap_or_default().to_string(),
            ttl,
            primary,
            members,
        },
        d,
    )
}

/// One `region` block; `single` when it is the only one (its attributes'
/// paths can then be named).
fn member(
    m: &RegionModel,
    single: bool,
    seen: &mut BTreeSet<String>,
    d: &mut Diagnostics,
) -> Member {
    let rp = AttributePath::attr("region");
    let at = |attr: &str| {
        if single {
            rp.then_attr(attr)
        } else {
            rp.clone()
        }
    };
    let region = m.name.as_deref().unwrap_or_default().to_string();
    if m.name.is_wholly_known() {
        if !valid_region(&region) {
            err(
                d,
                at("name"),
                "Invalid region",
                format!(
                    "{region:?} is not an AWS region name (expected something like \"eu-west-1\")."
                ),
            );
        } else if !seen.insert(region.clone()) {
            err(
                d,
                rp.clone(),
                "Duplicate region",
                format!(
                    "{region:?} appears in more than one `region` block; each region may serve once."
                ),
            );
        }
    }
    if let Some(Err(why)) = m.hostname.as_deref().map(crate::validation::dns_name) {
        err(
            d,
            at("hostname"),
            "Invalid hostname",
            format!("region {region}: {why}"),
        );
    }
    let value = match (m.hostname.as_deref(), m.addresses.known()) {
        (Some(h), None) => RecordValue::Cname(h.trim_end_matches('.').to_string()),
        (None, Some(a)) => {
            let mut v: Vec<String> = a
                .iter()
                .filter_map(|x| x.as_deref().map(str::to_string))
                .collect();
            for (j, x) in v.iter().enumerate() {
                if x.parse::<Ipv4Addr>().is_err() {
                    let p = if single {
                        rp.then_attr("addresses").then_index(j)
                    } else {
                        rp.clone()
                    };
                    err(
                        d,
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
                d,
                at("addresses"),
                "Conflicting target",
                format!(
                    "region {region} sets `hostname` and `addresses`: set either one, not both."
                ),
            );
            RecordValue::Cname(String::new())
        }
        (None, None) => {
            if !m.hostname.is_unknown() && !m.addresses.is_unknown() {
                err(
                    d,
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
    let drained = m.drained.known().copied().unwrap_or(false);
    let hc = m.health_check.known().cloned().unwrap_or_default();
    let protocol = hc.protocol.as_deref().unwrap_or("HTTPS").to_string();
    let (fqdn, ip) = match &value {
        RecordValue::Cname(h) => (Some(h.clone()), None),
        RecordValue::A(a) => (None, a.first().cloned()),
    };
    let port = hc
        .port
        .known()
        .copied()
        .unwrap_or(if protocol == "HTTP" { 80 } else { 443 });
    Member {
        region,
        value,
        drained,
        health_check: HealthCheckSpec {
            port: i32::try_from(port).unwrap_or(443),
            path: hc
                .path
                .as_deref()
                .map(str::to_string)
                .or(Some("/".into()))
                .filter(|_| protocol != "TCP"),
            interval: i32::try_from(hc.interval.known().copied().unwrap_or(30)).unwrap_or(30),
            failure_threshold: i32::try_from(hc.failure_threshold.known().copied().unwrap_or(3))
                .unwrap_or(3),
            protocol,
            fqdn,
            ip,
        },
    }
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

/// Plans the record listing from the design, so records changed or
/// removed outside Terraform show up as a difference to repair; keeps the
/// prior health check ids while every region's check is unchanged.
pub fn modify_plan(req: &ModifyPlanRequest) -> ModifyPlanResponse {
    let mut resp = ModifyPlanResponse {
        planned: req.planned.clone(),
        ..Default::default()
    };
    if req.planned.is_null() || req.prior.is_null() || !req.planned.is_wholly_known() {
        return resp;
    }
    let mut planned = match req.planned.get::<PoolModel>() {
        Ok(m) => m,
        Err(d) => {
            resp.diagnostics = d;
            return resp;
        }
    };
    let (cfg, diags) = check(&planned);
    if diags.has_errors() {
        resp.diagnostics = diags;
        return resp;
    }
    let Ok(prior) = req.prior.get::<PoolModel>() else {
        return resp;
    };
    let (old, _) = check(&prior);
    let same_checks = old.members.len() == cfg.members.len()
        && cfg.members.iter().all(|m| {
            old.members
                .iter()
                .any(|o| o.region == m.region && o.health_check == m.health_check)
        });
    if !same_checks {
        return resp;
    }
    let ids = prior.health_check_ids.known().cloned().unwrap_or_default();
    let fqdn = prior.fqdn.as_deref().unwrap_or_default();
    planned.records = Attr::Known(
        design(&cfg, fqdn, &ids)
            .iter()
            .map(RecordSet::describe)
            .collect(),
    );
    planned.health_check_ids = prior.health_check_ids;
    resp.planned = planned.to_value();
    resp
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

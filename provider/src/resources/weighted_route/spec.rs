//! The `berth_weighted_route` configuration as plain Rust, checked with
//! attribute-named diagnostics: targets, weights in percent, health checks
//! and the progressive shift.
//!
//! Weights are percentages of traffic. Route53 weights are 0–255 and a
//! record's share is `weight / sum(weights)`; berth writes the percentage
//! itself as the Route53 weight and requires the percentages to sum to 100,
//! so the share of each target is exactly its percentage.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use berth_aws::routing::{HealthCheckSpec, RecordValue};
use berth_rollout::shift::{ShiftSpec, Weights};
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::path::AttributePath;
use tfplugin::value::Value;

/// One target of the route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Set identifier.
    pub id: String,
    /// What the record answers.
    pub value: RecordValue,
    /// Percent of traffic.
    pub weight: u32,
    /// A berth app whose instances' health gates shifts to this target.
    pub app: Option<String>,
    /// A Route53 health check owned by the route.
    pub health_check: Option<HealthCheckSpec>,
}

/// Everything a `berth_weighted_route` block says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteConfig {
    /// Hosted zone id or name.
    pub zone: String,
    /// Record name.
    pub name: String,
    /// TTL.
    pub ttl: i64,
    /// Targets in configuration order.
    pub targets: Vec<Target>,
    /// Progressive shift, if any.
    pub shift: Option<ShiftSpec>,
    /// Longest a gate waits for a starting target.
    pub gate_deadline: Duration,
}

impl RouteConfig {
    /// Target id → percent.
    pub fn weights(&self) -> Weights {
        self.targets
            .iter()
            .map(|t| (t.id.clone(), t.weight))
            .collect()
    }

    /// `CNAME` or `A` (all targets share one type).
    pub fn record_type(&self) -> &'static str {
        match self.targets.first().map(|t| &t.value) {
            Some(RecordValue::A(_)) => "A",
            _ => "CNAME",
        }
    }
}

fn err(diags: &mut Diagnostics, path: AttributePath, summary: &str, detail: String) {
    diags.push(Diagnostic::error(summary, detail).at(path));
}

/// Checks the known `zone` and `name` of a route or pool.
pub(crate) fn check_names(v: &Value, diags: &mut Diagnostics) {
    if let Some(Err(why)) = v.attr("zone").as_str().map(crate::validation::hosted_zone) {
        err(
            diags,
            AttributePath::attr("zone"),
            "Invalid hosted zone",
            why,
        );
    }
    if let Some(Err(why)) = v.attr("name").as_str().map(crate::validation::dns_name) {
        err(
            diags,
            AttributePath::attr("name"),
            "Invalid record name",
            why,
        );
    }
}

/// Parses a (planned or prior) value. Unknown values are skipped.
pub fn parse(v: &Value) -> (RouteConfig, Diagnostics) {
    let mut diags = Diagnostics::new();
    let zone = v.attr("zone").as_str().unwrap_or_default().to_string();
    let name = v.attr("name").as_str().unwrap_or_default().to_string();
    check_names(v, &mut diags);
    let ttl = v.attr("ttl").as_i64().unwrap_or(60);
    if !v.attr("ttl").is_null() && !(0..=86_400).contains(&ttl) {
        err(
            &mut diags,
            AttributePath::attr("ttl"),
            "Value out of range",
            format!("`ttl` must be between 0 and 86400 seconds, not {ttl}."),
        );
    }
    let mut targets = Vec::new();
    let tpath = AttributePath::attr("target");
    let mut seen = BTreeSet::new();
    let elems = v.attr("target").as_elements().unwrap_or_default();
    if v.attr("target").is_wholly_known() && elems.is_empty() {
        err(
            &mut diags,
            tpath.clone(),
            "No targets",
            "a weighted route needs at least one `target` block.".into(),
        );
    }
    for (i, t) in elems.iter().enumerate() {
        let p = tpath.then_index(i);
        let id = t.attr("id").as_str().unwrap_or_default().to_string();
        if t.attr("id").is_unknown() {
            continue;
        }
        if id.is_empty() || id.len() > 128 {
            err(
                &mut diags,
                p.then_attr("id"),
                "Invalid target id",
                format!(
                    "`id` (the Route53 set identifier) must be 1–128 characters, not {}.",
                    id.len()
                ),
            );
        } else if !seen.insert(id.clone()) {
            err(
                &mut diags,
                p.then_attr("id"),
                "Duplicate target id",
                format!("{id:?} is used by more than one target; ids must be unique."),
            );
        }
        let weight = match t.attr("weight").as_i64() {
            Some(w) if (0..=100).contains(&w) => u32::try_from(w).unwrap_or(0),
            Some(w) => {
                err(
                    &mut diags,
                    p.then_attr("weight"),
                    "Value out of range",
                    format!("`weight` is a percentage of traffic, 0 to 100, not {w}."),
                );
                0
            }
            None => 0,
        };
        if let Some(app) = t.attr("app").as_str()
            && !crate::validation::valid_app_name(app)
        {
            err(
                &mut diags,
                p.then_attr("app"),
                "Invalid app name",
                format!(
                    "{app:?} is not a berth_container_app name: 1–40 lowercase letters, digits and hyphens, starting with a letter."
                ),
            );
        }
        let host = t.attr("hostname");
        let addrs = t.attr("addresses");
        let value = match (host.as_str(), addrs.as_elements()) {
            (Some(h), None) => {
                if !crate::validation::valid_hostname(h) {
                    err(
                        &mut diags,
                        p.then_attr("hostname"),
                        "Invalid hostname",
                        format!("{h:?} is not a DNS name."),
                    );
                }
                RecordValue::Cname(h.trim_end_matches('.').to_string())
            }
            (None, Some(list)) => {
                let mut out = Vec::new();
                for (j, a) in list.iter().enumerate() {
                    if let Some(s) = a.as_str() {
                        if s.parse::<Ipv4Addr>().is_err() {
                            err(
                                &mut diags,
                                p.then_attr("addresses").then_index(j),
                                "Invalid address",
                                format!("{s:?} is not an IPv4 address."),
                            );
                        }
                        out.push(s.to_string());
                    }
                }
                if out.is_empty() && addrs.is_wholly_known() {
                    err(
                        &mut diags,
                        p.then_attr("addresses"),
                        "No addresses",
                        "give at least one address, or use `hostname`.".into(),
                    );
                }
                out.sort();
                out.dedup();
                RecordValue::A(out)
            }
            (Some(_), Some(_)) => {
                err(
                    &mut diags,
                    p.then_attr("addresses"),
                    "Conflicting target",
                    "this target sets `hostname` and `addresses`: set either one, not both.".into(),
                );
                RecordValue::Cname(String::new())
            }
            (None, None) => {
                if !host.is_unknown() && !addrs.is_unknown() {
                    err(&mut diags, p.then_attr("hostname"), "Missing target", "set `hostname` (e.g. the old platform's app host, or a berth app's `origin_fqdn`) or `addresses`.".into());
                }
                RecordValue::Cname(String::new())
            }
        };
        let hc = t.attr("health_check");
        let health_check = if hc.is_null() || hc.is_unknown() {
            None
        } else {
            let hp = p.then_attr("health_check");
            let protocol = hc.attr("protocol").as_str().unwrap_or("HTTPS").to_string();
            let port =
                hc.attr("port")
                    .as_i64()
                    .unwrap_or(if protocol == "HTTP" { 80 } else { 443 });
            let interval = hc.attr("interval").as_i64().unwrap_or(30);
            if interval != 10 && interval != 30 {
                err(
                    &mut diags,
                    hp.then_attr("interval"),
                    "Invalid interval",
                    "Route53 checks every 10 or 30 seconds.".into(),
                );
            }
            let threshold = hc.attr("failure_threshold").as_i64().unwrap_or(3);
            if !(1..=10).contains(&threshold) {
                err(
                    &mut diags,
                    hp.then_attr("failure_threshold"),
                    "Value out of range",
                    "must be between 1 and 10.".into(),
                );
            }
            let path = hc.attr("path").as_str().map(str::to_string);
            let (fqdn, ip) = match &value {
                RecordValue::Cname(h) => (Some(h.clone()), None),
                RecordValue::A(a) => (None, a.first().cloned()),
            };
            Some(HealthCheckSpec {
                protocol,
                fqdn,
                ip,
                port: i32::try_from(port).unwrap_or(443),
                path,
                interval: i32::try_from(interval).unwrap_or(30),
                failure_threshold: i32::try_from(threshold).unwrap_or(3),
            })
        };
        targets.push(Target {
            id,
            value,
            weight,
            app: t.attr("app").as_str().map(str::to_string),
            health_check,
        });
    }
    if v.attr("target").is_wholly_known() && !targets.is_empty() {
        let sum: u32 = targets.iter().map(|t| t.weight).sum();
        // Weights out of range are reported on their own; the sum is
        // reported on the last target's weight, where it is completed.
        let in_range = elems.iter().all(|t| {
            t.attr("weight")
                .as_i64()
                .is_some_and(|w| (0..=100).contains(&w))
        });
        if sum != 100 && in_range {
            let parts = targets
                .iter()
                .map(|t| format!("{} {}", t.id, t.weight))
                .collect::<Vec<_>>()
                .join(" + ");
            err(
                &mut diags,
                tpath.then_index(targets.len() - 1).then_attr("weight"),
                "Weights must sum to 100",
                format!(
                    "the targets' weights are percentages of traffic and add up to {sum} ({parts}), not 100."
                ),
            );
        }
        let is_cname = |t: &Target| matches!(t.value, RecordValue::Cname(_));
        if let Some(first) = targets.first()
            && let Some(i) = targets.iter().position(|t| is_cname(t) != is_cname(first))
        {
            let attr = if is_cname(&targets[i]) {
                "hostname"
            } else {
                "addresses"
            };
            err(
                &mut diags,
                tpath.then_index(i).then_attr(attr),
                "Mixed target kinds",
                format!(
                    "target {:?} uses `{attr}` but target {:?} does not: all targets of one route must be hostnames, or all addresses (DNS cannot mix CNAME and A records at one name).",
                    targets[i].id, first.id
                ),
            );
        }
    }
    let sh = v.attr("shift");
    let shift = if sh.is_null() || sh.is_unknown() {
        None
    } else {
        let sp = AttributePath::attr("shift");
        let to = sh.attr("to").as_str().unwrap_or_default().to_string();
        if sh.attr("to").is_wholly_known()
            && !targets.iter().any(|t| t.id == to)
            && v.attr("target").is_wholly_known()
        {
            err(
                &mut diags,
                sp.then_attr("to"),
                "Unknown target",
                format!("{to:?} is not the id of a target."),
            );
        }
        let mut steps = Vec::new();
        if sh.attr("steps").is_wholly_known()
            && sh
                .attr("steps")
                .as_elements()
                .is_some_and(<[Value]>::is_empty)
        {
            err(
                &mut diags,
                sp.then_attr("steps"),
                "No steps",
                "give at least one step, e.g. `[10, 25, 50, 100]` (percent of traffic for `to`)."
                    .into(),
            );
        }
        for (i, s) in sh
            .attr("steps")
            .as_elements()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            match s.as_i64() {
                Some(w) if (1..=100).contains(&w) => {
                    let w = u32::try_from(w).unwrap_or(0);
                    if let Some(l) = steps.last().filter(|l| **l >= w) {
                        err(
                            &mut diags,
                            sp.then_attr("steps").then_index(i),
                            "Steps must increase",
                            format!(
                                "each step's weight must be larger than the one before: {w} follows {l}."
                            ),
                        );
                    }
                    steps.push(w);
                }
                Some(w) => err(
                    &mut diags,
                    sp.then_attr("steps").then_index(i),
                    "Value out of range",
                    format!("a step is a percentage of traffic, 1 to 100, not {w}."),
                ),
                None => {}
            }
        }
        let bake = sh.attr("bake").as_i64().unwrap_or(60);
        if !(0..=86_400).contains(&bake) {
            err(
                &mut diags,
                sp.then_attr("bake"),
                "Value out of range",
                format!("`bake` must be between 0 and 86400 seconds, not {bake}."),
            );
        }
        let deadline = sh.attr("gate_deadline").as_i64().unwrap_or(300);
        if !(1..=86_400).contains(&deadline) {
            err(
                &mut diags,
                sp.then_attr("gate_deadline"),
                "Value out of range",
                format!("`gate_deadline` must be between 1 and 86400 seconds, not {deadline}."),
            );
        }
        Some(ShiftSpec {
            to,
            steps,
            bake: Duration::from_secs(u64::try_from(bake).unwrap_or(60)),
        })
    };
    let gate_deadline = Duration::from_secs(
        u64::try_from(sh.attr("gate_deadline").as_i64().unwrap_or(300)).unwrap_or(300),
    );
    (
        RouteConfig {
            zone,
            name,
            ttl,
            targets,
            shift,
            gate_deadline,
        },
        diags,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, host: &str, w: i64) -> Value {
        Value::object([
            ("id", Value::string(id)),
            ("hostname", Value::string(host)),
            ("addresses", Value::Null),
            ("weight", Value::int(w)),
            ("app", Value::Null),
            ("health_check", Value::Null),
        ])
    }

    fn route(targets: Vec<Value>) -> Value {
        Value::object([
            ("zone", Value::string("example.com")),
            ("name", Value::string("api")),
            ("ttl", Value::int(60)),
            ("target", Value::List(targets)),
            ("shift", Value::Null),
        ])
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.iter()
            .filter_map(|x| x.attribute.as_ref().map(ToString::to_string))
            .collect()
    }

    #[test]
    fn a_migration_route_parses() {
        let (cfg, d) = parse(&route(vec![
            target("paas", "shop.herokuapp.com", 90),
            target("green", "green.example.com", 10),
        ]));
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(cfg.record_type(), "CNAME");
        assert_eq!(cfg.weights()["paas"], 90);
    }

    #[test]
    fn bad_weights_and_ids_are_diagnostics_on_the_attribute() {
        let (_, d) = parse(&route(vec![
            target("a", "a.example.com", 70),
            target("a", "b.example.com", 20),
        ]));
        let p = paths(&d);
        assert!(p.iter().any(|x| x.contains("target[1].id")), "{p:?}");
        assert!(d.iter().any(|x| x.summary.contains("sum to 100")), "{d:?}");
        let (_, d) = parse(&route(vec![target("a", "a.example.com", 101)]));
        assert!(
            paths(&d).iter().any(|x| x.contains("target[0].weight")),
            "{d:?}"
        );
        let (_, d) = parse(&route(vec![]));
        assert!(d.iter().any(|x| x.summary == "No targets"), "{d:?}");
        let (_, d) = parse(&route(vec![target("a", "not a host!", 100)]));
        assert!(paths(&d).iter().any(|x| x.contains("hostname")), "{d:?}");
    }

    #[test]
    fn sums_kinds_steps_and_names_point_at_an_attribute() {
        let (_, d) = parse(&route(vec![
            target("paas", "a.example.com", 80),
            target("green", "b.example.com", 10),
        ]));
        assert_eq!(paths(&d), ["target[1].weight"], "{d:?}");
        assert!(d.iter().any(|x| x.detail.contains("paas 80 + green 10")));
        let mut both = target("green", "b.example.com", 50);
        both.set_attr("addresses", Value::List(vec![Value::string("192.0.2.1")]));
        let (_, d) = parse(&route(vec![target("paas", "a.example.com", 50), both]));
        assert!(
            paths(&d).contains(&"target[1].addresses".to_string()),
            "{d:?}"
        );
        let mut app = target("green", "b.example.com", 100);
        app.set_attr("app", Value::string("Green App"));
        let mut v = route(vec![app]);
        v.set_attr("zone", Value::string("my zone!"));
        v.set_attr(
            "shift",
            Value::object([
                ("to", Value::string("green")),
                ("steps", Value::List(vec![])),
                ("bake", Value::int(60)),
                ("gate_deadline", Value::int(-1)),
            ]),
        );
        let p = paths(&parse(&v).1);
        for want in [
            "target[0].app",
            "zone",
            "shift.steps",
            "shift.gate_deadline",
        ] {
            assert!(p.iter().any(|x| x == want), "{want}: {p:?}");
        }
    }
}

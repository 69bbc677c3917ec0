//! Planning `berth_weighted_route`: its configuration checked into plain
//! Rust with attribute-named diagnostics (targets, weights in percent,
//! health checks, the progressive shift), and the plan's computed parts
//! (`record_type`, `shift_plan`, kept `health_check_ids`).
//!
//! Weights are percentages of traffic. Route53 weights are 0–255 and a
//! record's share is `weight / sum(weights)`; berth writes the percentage
//! itself as the Route53 weight and requires the percentages to sum to 100,
//! so the share of each target is exactly its percentage.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use berth_aws::routing::{HealthCheckSpec, RecordValue};
use berth_rollout::shift::{self, ShiftSpec, Weights};
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::{Attr, ToValue};
use tfplugin::path::AttributePath;
use tfplugin::provider::{ModifyPlanRequest, ModifyPlanResponse};
use tfplugin::value::Value;

use super::model::{RouteModel, TargetModel};
use crate::resources::health_checks::HealthCheckModel;
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
    /// Its target group (listener-rule mode).
    pub group: Option<String>,
}

/// The `listener_rule` block: where the route's rule goes and what it
/// matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// The user's listener.
    pub listener_arn: String,
    /// Hosts, paths and priority.
    pub rule: berth_aws::lb::RuleMatch,
}

/// Everything a `berth_weighted_route` block says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
    /// The listener rule, in listener-rule mode.
    pub rule: Option<RuleSpec>,
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
pub(crate) fn check_names(zone: Option<&str>, name: Option<&str>, diags: &mut Diagnostics) {
    if let Some(Err(why)) = zone.map(crate::validation::hosted_zone) {
        err(
            diags,
            AttributePath::attr("zone"),
            "Invalid hosted zone",
            why,
        );
    }
    if let Some(Err(why)) = name.map(crate::validation::dns_name) {
        err(
            diags,
            AttributePath::attr("name"),
            "Invalid record name",
            why,
        );
    }
}

/// Reads and checks a (planned or prior) value. Unknown values are skipped.
pub fn parse(v: &Value) -> (RouteConfig, Diagnostics) {
    match v.get::<RouteModel>() {
        Ok(m) => check(&m),
        Err(d) => (RouteConfig::default(), d),
    }
}

fn known_i64(a: &Attr<i64>, default: i64) -> i64 {
    a.known().copied().unwrap_or(default)
}

/// Checks a route's model. Unknown values are skipped.
pub fn check(m: &RouteModel) -> (RouteConfig, Diagnostics) {
    let mut diags = Diagnostics::new();
    let zone = m.zone.as_deref().unwrap_or_default().to_string();
    let name = m.name.as_deref().unwrap_or_default().to_string();
    let rule = check_mode(m, &mut diags);
    if rule.is_none() {
        check_names(m.zone.as_deref(), m.name.as_deref(), &mut diags);
    }
    let rule_mode = !m.listener_rule.is_null();
    let ttl = known_i64(&m.ttl, 60);
    if !m.ttl.is_null() && !(0..=86_400).contains(&ttl) {
        err(
            &mut diags,
            AttributePath::attr("ttl"),
            "Value out of range",
            format!("`ttl` must be between 0 and 86400 seconds, not {ttl}."),
        );
    }
    let tpath = AttributePath::attr("target");
    let targets_known = m.target.is_wholly_known();
    let elems: &[TargetModel] = m.target.known().map_or(&[], Vec::as_slice);
    if targets_known && elems.is_empty() {
        err(
            &mut diags,
            tpath.clone(),
            "No targets",
            "a weighted route needs at least one `target` block.".into(),
        );
    }
    let mut targets = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, t) in elems.iter().enumerate() {
        if let Some(target) =
            check_target(t, &tpath.then_index(i), rule_mode, &mut seen, &mut diags)
        {
            targets.push(target);
        }
    }
    if targets_known && !targets.is_empty() {
        check_sum_and_kinds(elems, &targets, &tpath, &mut diags);
    }
    if rule_mode {
        check_groups(&targets, &tpath, &mut diags);
    }
    let sh = &m.shift;
    let shift = sh
        .known()
        .map(|sh| check_shift(sh, &targets, targets_known, &mut diags));
    let deadline = sh
        .known()
        .map_or(300, |sh| known_i64(&sh.gate_deadline, 300));
    let gate_deadline = Duration::from_secs(u64::try_from(deadline).unwrap_or(300));
    (
        RouteConfig {
            zone,
            name,
            ttl,
            targets,
            shift,
            gate_deadline,
            rule,
        },
        diags,
    )
}

/// DNS mode (`zone`) or listener-rule mode (`listener_rule`), and the
/// rule's checks in the latter.
fn check_mode(m: &RouteModel, diags: &mut Diagnostics) -> Option<RuleSpec> {
    if m.listener_rule.is_null() {
        if m.zone.is_null() {
            err(
                diags,
                AttributePath::attr("zone"),
                "Missing zone",
                "set `zone` (the Route53 hosted zone of a DNS route), or a `listener_rule` block (a rule on your load balancer's listener).".into(),
            );
        }
        return None;
    }
    if !m.zone.is_null() {
        err(
            diags,
            AttributePath::attr("zone"),
            "Conflicting route modes",
            "a route is Route53 records (`zone`) or a rule on a load balancer's listener (`listener_rule`), not both; remove one of the two.".into(),
        );
    }
    if let Some(name) = m.name.as_deref() {
        let ok = !name.is_empty()
            && name.len() <= 128
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
        if !ok {
            err(
                diags,
                AttributePath::attr("name"),
                "Invalid route name",
                format!(
                    "{name:?}: in listener-rule mode `name` names the rule (its `berth:route` tag): 1–128 letters, digits, `-`, `.` and `_`."
                ),
            );
        }
    }
    let r = m.listener_rule.known()?;
    let (listener_arn, rule) = crate::resources::listener_rule::check(
        diags,
        &AttributePath::attr("listener_rule"),
        &crate::resources::listener_rule::RuleFields {
            listener_arn: &r.listener_arn,
            hosts: &r.hosts,
            paths: &r.paths,
            priority: &r.priority,
        },
    );
    Some(RuleSpec { listener_arn, rule })
}

/// Listener-rule mode: at most 5 target groups, each once.
fn check_groups(targets: &[Target], tpath: &AttributePath, diags: &mut Diagnostics) {
    use crate::resources::listener_rule::MAX_FORWARD_GROUPS;
    if targets.len() > MAX_FORWARD_GROUPS {
        err(
            diags,
            tpath.then_index(MAX_FORWARD_GROUPS),
            "Too many target groups",
            format!(
                "a listener rule forwards to at most {MAX_FORWARD_GROUPS} target groups; this route has {} targets.",
                targets.len()
            ),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, t) in targets.iter().enumerate() {
        if let Some(g) = &t.group
            && !seen.insert(g.as_str())
        {
            err(
                diags,
                tpath.then_index(i).then_attr("target_group_arn"),
                "Duplicate target group",
                format!(
                    "{g} is the group of more than one target; a rule's forward names each group once."
                ),
            );
        }
    }
}

/// One target; `None` while its id is unknown.
fn check_target(
    t: &TargetModel,
    p: &AttributePath,
    rule_mode: bool,
    seen: &mut BTreeSet<String>,
    diags: &mut Diagnostics,
) -> Option<Target> {
    if t.id.is_unknown() {
        return None;
    }
    let id = t.id.as_deref().unwrap_or_default().to_string();
    if id.is_empty() || id.len() > 128 {
        err(
            diags,
            p.then_attr("id"),
            "Invalid target id",
            format!(
                "`id` (the Route53 set identifier) must be 1–128 characters, not {}.",
                id.len()
            ),
        );
    } else if !seen.insert(id.clone()) {
        err(
            diags,
            p.then_attr("id"),
            "Duplicate target id",
            format!("{id:?} is used by more than one target; ids must be unique."),
        );
    }
    let weight = match t.weight.known().copied() {
        Some(w) if (0..=100).contains(&w) => u32::try_from(w).unwrap_or(0),
        Some(w) => {
            err(
                diags,
                p.then_attr("weight"),
                "Value out of range",
                format!("`weight` is a percentage of traffic, 0 to 100, not {w}."),
            );
            0
        }
        None => 0,
    };
    if let Some(app) = t.app.as_deref()
        && !crate::validation::valid_app_name(app)
    {
        err(
            diags,
            p.then_attr("app"),
            "Invalid app name",
            format!(
                "{app:?} is not a berth_container_app name: 1–40 lowercase letters, digits and hyphens, starting with a letter."
            ),
        );
    }
    if rule_mode {
        return Some(Target {
            id,
            value: RecordValue::Cname(String::new()),
            weight,
            app: t.app.as_deref().map(str::to_string),
            health_check: None,
            group: group_target(t, p, diags),
        });
    }
    if !t.target_group_arn.is_null() {
        err(
            diags,
            p.then_attr("target_group_arn"),
            "Target group without a listener rule",
            "`target_group_arn` is a target of a route on a load balancer; add a `listener_rule` block (and remove `zone`), or give this target a `hostname` or `addresses`.".into(),
        );
    }
    let value = record_value(t, p, diags);
    let health_check = t
        .health_check
        .known()
        .map(|hc| health_check_spec(hc, &value, &p.then_attr("health_check"), diags));
    Some(Target {
        id,
        value,
        weight,
        app: t.app.as_deref().map(str::to_string),
        health_check,
        group: None,
    })
}

/// A listener-rule target: its target group, and nothing of DNS.
fn group_target(t: &TargetModel, p: &AttributePath, diags: &mut Diagnostics) -> Option<String> {
    for (attr, set) in [
        ("hostname", !t.hostname.is_null()),
        ("addresses", !t.addresses.is_null()),
        ("health_check", !t.health_check.is_null()),
    ] {
        if set {
            err(
                diags,
                p.then_attr(attr),
                "DNS setting on a listener-rule target",
                format!(
                    "`{attr}` belongs to a DNS route; a listener rule's target is a `target_group_arn`, health-checked by the load balancer itself."
                ),
            );
        }
    }
    match t.target_group_arn.known() {
        Some(g) if crate::resources::listener_rule::is_target_group_arn(g) => Some(g.clone()),
        Some(g) => {
            err(
                diags,
                p.then_attr("target_group_arn"),
                "Invalid target group ARN",
                format!(
                    "{g:?} is not a target group's ARN (`arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>`)."
                ),
            );
            None
        }
        None => {
            if t.target_group_arn.is_null() {
                err(
                    diags,
                    p.then_attr("target_group_arn"),
                    "Missing target group",
                    "a listener rule's target is a target group: set `target_group_arn`.".into(),
                );
            }
            None
        }
    }
}

/// What the target's record answers: its hostname or its addresses.
fn record_value(t: &TargetModel, p: &AttributePath, diags: &mut Diagnostics) -> RecordValue {
    match (t.hostname.as_deref(), t.addresses.known()) {
        (Some(h), None) => {
            if !crate::validation::valid_hostname(h) {
                err(
                    diags,
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
                if let Some(s) = a.as_deref() {
                    if s.parse::<Ipv4Addr>().is_err() {
                        err(
                            diags,
                            p.then_attr("addresses").then_index(j),
                            "Invalid address",
                            format!("{s:?} is not an IPv4 address."),
                        );
                    }
                    out.push(s.to_string());
                }
            }
            if out.is_empty() && t.addresses.is_wholly_known() {
                err(
                    diags,
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
                diags,
                p.then_attr("addresses"),
                "Conflicting target",
                "this target sets `hostname` and `addresses`: set either one, not both.".into(),
            );
            RecordValue::Cname(String::new())
        }
        (None, None) => {
            if !t.hostname.is_unknown() && !t.addresses.is_unknown() {
                err(diags, p.then_attr("hostname"), "Missing target", "set `hostname` (e.g. the old platform's app host, or a berth app's `origin_fqdn`) or `addresses`.".into());
            }
            RecordValue::Cname(String::new())
        }
    }
}

/// The Route53 health check a target's `health_check` block asks for.
fn health_check_spec(
    hc: &HealthCheckModel,
    value: &RecordValue,
    hp: &AttributePath,
    diags: &mut Diagnostics,
) -> HealthCheckSpec {
    let protocol = hc.protocol.as_deref().unwrap_or("HTTPS").to_string();
    let port = known_i64(&hc.port, if protocol == "HTTP" { 80 } else { 443 });
    let interval = known_i64(&hc.interval, 30);
    if interval != 10 && interval != 30 {
        err(
            diags,
            hp.then_attr("interval"),
            "Invalid interval",
            "Route53 checks every 10 or 30 seconds.".into(),
        );
    }
    let threshold = known_i64(&hc.failure_threshold, 3);
    if !(1..=10).contains(&threshold) {
        err(
            diags,
            hp.then_attr("failure_threshold"),
            "Value out of range",
            "must be between 1 and 10.".into(),
        );
    }
    let (fqdn, ip) = match value {
        RecordValue::Cname(h) => (Some(h.clone()), None),
        RecordValue::A(a) => (None, a.first().cloned()),
    };
    HealthCheckSpec {
        protocol,
        fqdn,
        ip,
        port: i32::try_from(port).unwrap_or(443),
        path: hc.path.as_deref().map(str::to_string),
        interval: i32::try_from(interval).unwrap_or(30),
        failure_threshold: i32::try_from(threshold).unwrap_or(3),
    }
}

/// The weights' sum (on the last target's weight, where it is completed)
/// and one kind of record for all targets.
fn check_sum_and_kinds(
    elems: &[TargetModel],
    targets: &[Target],
    tpath: &AttributePath,
    diags: &mut Diagnostics,
) {
    let sum: u32 = targets.iter().map(|t| t.weight).sum();
    // Weights out of range are reported on their own.
    let in_range = elems
        .iter()
        .all(|t| t.weight.known().is_some_and(|w| (0..=100).contains(w)));
    if sum != 100 && in_range {
        let parts = targets
            .iter()
            .map(|t| format!("{} {}", t.id, t.weight))
            .collect::<Vec<_>>()
            .join(" + ");
        err(
            diags,
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
            diags,
            tpath.then_index(i).then_attr(attr),
            "Mixed target kinds",
            format!(
                "target {:?} uses `{attr}` but target {:?} does not: all targets of one route must be hostnames, or all addresses (DNS cannot mix CNAME and A records at one name).",
                targets[i].id, first.id
            ),
        );
    }
}

/// The `shift` block.
fn check_shift(
    sh: &super::model::ShiftModel,
    targets: &[Target],
    targets_known: bool,
    diags: &mut Diagnostics,
) -> ShiftSpec {
    let sp = AttributePath::attr("shift");
    let to = sh.to.as_deref().unwrap_or_default().to_string();
    if sh.to.is_wholly_known() && !targets.iter().any(|t| t.id == to) && targets_known {
        err(
            diags,
            sp.then_attr("to"),
            "Unknown target",
            format!("{to:?} is not the id of a target."),
        );
    }
    let mut steps = Vec::new();
    if sh.steps.is_wholly_known() && sh.steps.known().is_some_and(Vec::is_empty) {
        err(
            diags,
            sp.then_attr("steps"),
            "No steps",
            "give at least one step, e.g. `[10, 25, 50, 100]` (percent of traffic for `to`)."
                .into(),
        );
    }
    for (i, s) in sh
        .steps
        .known()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .enumerate()
    {
        match s.known().copied() {
            Some(w) if (1..=100).contains(&w) => {
                let w = u32::try_from(w).unwrap_or(0);
                if let Some(l) = steps.last().filter(|l| **l >= w) {
                    err(
                        diags,
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
                diags,
                sp.then_attr("steps").then_index(i),
                "Value out of range",
                format!("a step is a percentage of traffic, 1 to 100, not {w}."),
            ),
            None => {}
        }
    }
    let bake = known_i64(&sh.bake, 60);
    if !(0..=86_400).contains(&bake) {
        err(
            diags,
            sp.then_attr("bake"),
            "Value out of range",
            format!("`bake` must be between 0 and 86400 seconds, not {bake}."),
        );
    }
    let deadline = known_i64(&sh.gate_deadline, 300);
    if !(1..=86_400).contains(&deadline) {
        err(
            diags,
            sp.then_attr("gate_deadline"),
            "Value out of range",
            format!("`gate_deadline` must be between 1 and 86400 seconds, not {deadline}."),
        );
    }
    ShiftSpec {
        to,
        steps,
        bake: Duration::from_secs(u64::try_from(bake).unwrap_or(60)),
    }
}

/// Fills the plan's computed parts: `record_type`; `shift_plan` (the
/// prior one when no shift is needed); the prior `health_check_ids` while
/// the targets' checks are unchanged.
pub fn modify_plan(req: &ModifyPlanRequest) -> ModifyPlanResponse {
    let mut resp = ModifyPlanResponse {
        planned: req.planned.clone(),
        ..Default::default()
    };
    if req.planned.is_null() {
        return resp;
    }
    let mut planned = match req.planned.get::<RouteModel>() {
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
    if !planned.listener_rule.is_null() {
        // Listener-rule mode has no records.
        planned.record_type = Attr::Null;
        planned.fqdn = Attr::Null;
        planned.zone_id = Attr::Null;
        planned.health_check_ids = Attr::Known(Default::default());
    } else if planned.target.is_wholly_known() {
        planned.record_type = Attr::Known(cfg.record_type().to_string());
    }
    if !planned.target.is_wholly_known() || !planned.shift.is_wholly_known() {
        planned.shift_plan = Attr::unknown();
        resp.planned = planned.to_value();
        return resp;
    }
    let prior = (!req.prior.is_null())
        .then(|| req.prior.get::<RouteModel>().ok())
        .flatten();
    let prior_cfg = prior.as_ref().map(|p| check(p).0);
    let before: Weights = prior_cfg
        .as_ref()
        .map(RouteConfig::weights)
        .unwrap_or_default();
    let steps = shift::plan_shift(&before, &cfg.weights(), cfg.shift.as_ref());
    match (prior, prior_cfg.filter(|_| steps.is_empty())) {
        (Some(prior), Some(old)) => {
            planned.shift_plan = prior.shift_plan;
            let same_checks = old
                .targets
                .iter()
                .map(|t| &t.health_check)
                .eq(cfg.targets.iter().map(|t| &t.health_check));
            if same_checks {
                planned.health_check_ids = prior.health_check_ids;
            }
        }
        _ => {
            planned.shift_plan = Attr::Known(shift::describe(&steps, cfg.shift.as_ref()));
        }
    }
    resp.planned = planned.to_value();
    resp
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
            ("target_group_arn", Value::Null),
            ("health_check", Value::Null),
        ])
    }

    fn route(targets: Vec<Value>) -> Value {
        Value::object([
            ("zone", Value::string("example.com")),
            ("name", Value::string("api")),
            ("ttl", Value::int(60)),
            ("target", Value::List(targets)),
            ("listener_rule", Value::Null),
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

    const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";

    fn group(id: &str, w: i64) -> Value {
        let mut t = target(id, "unused.example.com", w);
        t.set_attr("hostname", Value::Null);
        t.set_attr(
            "target_group_arn",
            Value::string(format!(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{id}/73e2d6bc24d8a067"
            )),
        );
        t
    }

    fn rule_route(targets: Vec<Value>) -> Value {
        let mut v = route(targets);
        v.set_attr("zone", Value::Null);
        v.set_attr("name", Value::string("api.example.com"));
        v.set_attr(
            "listener_rule",
            Value::object([
                ("listener_arn", Value::string(LISTENER)),
                ("hosts", Value::List(vec![Value::string("api.example.com")])),
                ("paths", Value::Null),
                ("priority", Value::int(20)),
            ]),
        );
        v
    }

    #[test]
    fn a_listener_rule_route_parses_into_its_groups_and_rule() {
        let (cfg, d) = parse(&rule_route(vec![group("blue", 90), group("green", 10)]));
        assert!(d.is_empty(), "{d:?}");
        let rule = cfg.rule.clone().unwrap();
        assert_eq!(rule.listener_arn, LISTENER);
        assert_eq!(rule.rule.priority, 20);
        assert_eq!(rule.rule.hosts, ["api.example.com"]);
        assert!(
            cfg.targets[1]
                .group
                .as_deref()
                .unwrap()
                .contains("targetgroup/green/")
        );
        assert_eq!(cfg.weights()["blue"], 90);
    }

    #[test]
    fn mixing_dns_and_listener_rule_settings_points_at_the_attribute() {
        let mut v = rule_route(vec![
            target("paas", "shop.herokuapp.com", 50),
            group("green", 50),
        ]);
        v.set_attr("zone", Value::string("example.com"));
        let p = paths(&parse(&v).1);
        for want in ["zone", "target[0].hostname", "target[0].target_group_arn"] {
            assert!(p.iter().any(|x| x == want), "{want}: {p:?}");
        }
        let mut v = route(vec![group("green", 100)]);
        v.set_attr("zone", Value::Null);
        let p = paths(&parse(&v).1);
        assert!(p.iter().any(|x| x == "zone"), "neither mode: {p:?}");
        let v = route(vec![group("green", 100)]);
        let p = paths(&parse(&v).1);
        assert!(p.iter().any(|x| x == "target[0].target_group_arn"), "{p:?}");
        let six: Vec<Value> = (0..6)
            .map(|i| group(&format!("g{i}"), if i == 0 { 100 } else { 0 }))
            .collect();
        let (_, d) = parse(&rule_route(six));
        assert!(
            d.iter().any(|x| x.summary == "Too many target groups"),
            "{d:?}"
        );
        let mut bad = rule_route(vec![group("green", 100)]);
        bad.set_attr("name", Value::string("api example"));
        let mut lr = bad.attr("listener_rule").clone();
        lr.set_attr("priority", Value::int(0));
        lr.set_attr("hosts", Value::Null);
        bad.set_attr("listener_rule", lr);
        let p = paths(&parse(&bad).1);
        for want in [
            "name",
            "listener_rule.priority",
            "listener_rule.listener_arn",
        ] {
            assert!(p.iter().any(|x| x == want), "{want}: {p:?}");
        }
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

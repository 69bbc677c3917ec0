//! A rule on a user's ALB listener as configured (listener ARN, host
//! names, path patterns, priority) and its checks against the load
//! balancer's limits; shared by `berth_container_app`'s `load_balancer`
//! block and `berth_weighted_route`'s `listener_rule` block.
//!
//! Limits checked here, with their sources:
//! - a rule's priority is 1–50000, and a rule holds at most 5 condition
//!   values in all (Elastic Load Balancing User Guide, "Quotas for your
//!   Application Load Balancers" and "Listener rules");
//! - host names and path patterns are at most 128 characters (same);
//! - a forward action sends to at most 5 target groups, each weighted
//!   0–999 (ELB API Reference, `ForwardActionConfig` and
//!   `TargetGroupTuple`).

use berth_aws::lb::RuleMatch;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::Attr;
use tfplugin::path::AttributePath;
use tfplugin::value::Number;

use super::{Strings, int, known_strings};

/// Condition values a rule may hold in all.
pub const MAX_CONDITION_VALUES: usize = 5;

/// Target groups one forward action may send to.
pub const MAX_FORWARD_GROUPS: usize = 5;

/// A rule's attributes as the block holds them.
pub struct RuleFields<'a> {
    /// `listener_arn`.
    pub listener_arn: &'a Attr<String>,
    /// `hosts`.
    pub hosts: &'a Strings,
    /// `paths`.
    pub paths: &'a Strings,
    /// `priority`.
    pub priority: &'a Attr<Number>,
}

fn err(d: &mut Diagnostics, p: AttributePath, summary: &str, detail: String) {
    d.push(Diagnostic::error(summary, detail).at(p));
}

/// Checks the rule of the block at `at`; returns the listener ARN and the
/// match (unknown values are skipped and checked again once known).
pub fn check(d: &mut Diagnostics, at: &AttributePath, f: &RuleFields<'_>) -> (String, RuleMatch) {
    let listener = f.listener_arn.as_deref().unwrap_or_default().to_string();
    if f.listener_arn.known().is_some() && !is_listener_arn(&listener) {
        err(
            d,
            at.then_attr("listener_arn"),
            "Invalid listener ARN",
            format!(
                "{listener:?} is not an Application Load Balancer listener's ARN (`arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>`)."
            ),
        );
    }
    let hosts = known_strings(f.hosts);
    let paths = known_strings(f.paths);
    for (i, h) in hosts.iter().enumerate() {
        let ok = !h.is_empty()
            && h.len() <= 128
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.*?".contains(c));
        if !ok {
            err(
                d,
                at.then_attr("hosts").then_index(i),
                "Invalid host name",
                format!(
                    "{h:?}: a host condition is 1–128 characters of letters, digits, `-`, `.`, and the wildcards `*` and `?`."
                ),
            );
        }
    }
    for (i, p) in paths.iter().enumerate() {
        if !p.starts_with('/') || p.len() > 128 {
            err(
                d,
                at.then_attr("paths").then_index(i),
                "Invalid path pattern",
                format!("{p:?}: a path pattern starts with `/` and is at most 128 characters."),
            );
        }
    }
    let wholly_known = |l: &Strings| {
        l.is_null()
            || l.known()
                .is_some_and(|v| v.iter().all(|x| x.known().is_some()))
    };
    if wholly_known(f.hosts) && wholly_known(f.paths) {
        if hosts.is_empty() && paths.is_empty() {
            err(d, at.then_attr("listener_arn"), "Rule without conditions", "set `hosts`, `paths` or both: the rule must say which requests it takes (the listener's default action keeps the rest).".into());
        } else if hosts.len() + paths.len() > MAX_CONDITION_VALUES {
            let attr = if hosts.is_empty() { "paths" } else { "hosts" };
            err(
                d,
                at.then_attr(attr),
                "Too many rule conditions",
                format!(
                    "a listener rule holds at most {MAX_CONDITION_VALUES} condition values in all; this one has {} hosts and {} paths.",
                    hosts.len(),
                    paths.len()
                ),
            );
        }
    }
    let priority = u32::try_from(int(
        d,
        f.priority,
        &at.then_attr("priority"),
        (1, 50_000),
        1,
    ))
    .unwrap_or(1);
    (
        listener,
        RuleMatch {
            hosts,
            paths,
            priority,
        },
    )
}

fn elb_resource(s: &str) -> Option<&str> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    (parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "elasticloadbalancing")
        .then(|| parts[5])
}

/// `arn:<partition>:elasticloadbalancing:<region>:<account>:listener/app/…`
pub fn is_listener_arn(s: &str) -> bool {
    elb_resource(s).is_some_and(|r| r.starts_with("listener/app/") && r.split('/').count() == 5)
}

/// `arn:<partition>:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>`
pub fn is_target_group_arn(s: &str) -> bool {
    elb_resource(s).is_some_and(|r| r.starts_with("targetgroup/") && r.split('/').count() == 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_alb_listener_arns_pass() {
        assert!(is_listener_arn(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
        ));
        assert!(!is_listener_arn(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/net/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
        ));
        assert!(!is_listener_arn(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188"
        ));
        assert!(!is_listener_arn("shop"));
    }

    #[test]
    fn only_target_group_arns_pass() {
        assert!(is_target_group_arn(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/73e2d6bc24d8a067"
        ));
        assert!(!is_target_group_arn(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
        ));
        assert!(!is_target_group_arn("blue"));
    }
}

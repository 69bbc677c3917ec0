//! `berth_container_app`'s load-balancer mode as configured: the
//! `load_balancer` block (the user's ALB listener and the app's rule on
//! it) and the `capacity` block (each release's Auto Scaling group:
//! bounds, schedules, target tracking), their schema and their checks.
//!
//! Limits checked here, with their sources (the rule's own are in
//! [`crate::resources::listener_rule`]):
//! - a target group's health check: interval 5–300 s, timeout 2–120 s and
//!   shorter than the interval, thresholds 2–10; deregistration delay
//!   0–3600 s (ELB API Reference, `CreateTargetGroup` and
//!   `TargetGroupAttribute`).

use std::collections::BTreeSet;
use std::time::Duration;

use berth_aws::asg::Schedule;
use berth_aws::lb::RuleMatch;
use berth_aws::lb_fleet::{Capacity, TrackedMetric};
use berth_rollout::Instance;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::Attr;
use tfplugin::path::AttributePath;
use tfplugin::schema::validators::one_of;
use tfplugin::schema::{Attribute, Block, NestedBlock, Nesting};
use tfplugin::types::Type;
use tfplugin::value::{Number, Value};

use super::model::{AppModel, LbShiftModel};
use super::spec::int;

/// The `load_balancer` block's schema.
pub fn load_balancer_block() -> Block {
    let shift = Block::new()
        .description("Move the rule's forward to a new release in steps instead of all at once: the new release's share goes through `steps` (percent), with a gate before each step (every instance of the release healthy by its own check and the load balancer's) and `bake` seconds after each one while its health is watched. A failed gate or bake puts the forward back and removes the new release. Only a rollout from a serving release steps; the first release takes all traffic at once.")
        .attribute(
            Attribute::new("steps", Type::list(Type::Number))
                .required()
                .description("Increasing percentages for the new release, e.g. `[10, 50]`; 100 is always the last step."),
        )
        .attribute(
            Attribute::number("bake")
                .optional()
                .description("Seconds to wait after each step but the last, 0–3600. Default 60."),
        );
    Block::new()
        .description("Load-balancer mode: the app takes traffic through your Application Load Balancer instead of an origin record. Each release gets a target group, a launch template and an Auto Scaling group (`berth-<name>-<release>`), health-checked by the load balancer, so AWS replaces an instance that fails between applies. A rollout adds the new release's target group to the app's rule at weight 0, waits until its instances are healthy by their own check and by the load balancer's, moves the rule's weighted forward to it in one `ModifyRule`, lets the old release drain (`rollout.drain`), then deletes the old group, target group and template. Conflicts with `origin`.")
        .attribute(
            Attribute::string("listener_arn")
                .required()
                .description("ARN of the ALB listener the app's rule goes on (an `aws_lb_listener` of your stack). Several apps may share a listener, each with its own hosts or paths."),
        )
        .attribute(
            Attribute::new("hosts", Type::list(Type::String))
                .optional()
                .description("Host names the app's rule matches (`shop.example.com`, `*.example.com`). With `paths`, a request must match both; at least one of the two, at most 5 values in all."),
        )
        .attribute(
            Attribute::new("paths", Type::list(Type::String))
                .optional()
                .description("Path patterns the app's rule matches (`/api/*`)."),
        )
        .attribute(
            Attribute::number("priority")
                .required()
                .description("The rule's priority on the listener, 1–50000 (lower matches first); unique on the listener."),
        )
        .attribute(
            Attribute::number("port")
                .optional()
                .description("The instance port the load balancer sends requests to. Default: `health_check.port` when set (a front such as nginx that the checks already go through), else `host_port`."),
        )
        .attribute(
            Attribute::number("deregistration_delay")
                .optional()
                .computed()
                .default(Value::int(30))
                .description("Seconds the load balancer lets a target that leaves (an instance AWS replaces or scales in) finish its requests, 0–3600. Default 30 (ALB's own default is 300)."),
        )
        .block(NestedBlock::new("shift", Nesting::Single, shift))
}

/// The `capacity` block's schema.
pub fn capacity_block() -> Block {
    let schedule = Block::new()
        .description("A scheduled change of the group's capacity (Auto Scaling scheduled action), e.g. more instances during business hours. Each release's group gets the same schedules.")
        .attribute(Attribute::string("name").required().description("Name, unique in the app: letters, digits, hyphens and underscores."))
        .attribute(Attribute::string("recurrence").required().description("When, as a cron expression of five fields: `0 8 * * MON-FRI`."))
        .attribute(Attribute::string("time_zone").optional().description("IANA time zone of `recurrence` (`Europe/Berlin`). Default UTC."))
        .attribute(Attribute::number("min").optional().description("New lower bound."))
        .attribute(Attribute::number("max").optional().description("New upper bound."))
        .attribute(Attribute::number("desired").optional().description("New desired count."));
    let tracking = Block::new()
        .description("A target-tracking policy: Auto Scaling adds and removes instances to keep the metric near `target`.")
        .attribute(
            Attribute::string("metric")
                .required()
                .validate(one_of(&["cpu", "requests_per_target"]))
                .description("`cpu` (the group's average CPU, percent) or `requests_per_target` (requests per instance per minute, from the load balancer)."),
        )
        .attribute(Attribute::number("target").required().description("The value kept near: a percent for `cpu`, requests per minute for `requests_per_target`."));
    Block::new()
        .description("With `load_balancer`: the bounds Auto Scaling keeps each release's group in, and how it moves within them. `replicas` is the desired count a release starts with; a desired count that schedules or policies moved since is not a change in the plan, and a new release starts with at least as many instances as serve when it rolls out.")
        .attribute(Attribute::number("min").optional().description("Fewest instances, 0–100. Default `replicas`."))
        .attribute(Attribute::number("max").optional().description("Most instances, 1–100, at least `min`. Default `replicas` (or `min` when larger)."))
        .block(NestedBlock::new("schedule", Nesting::List, schedule))
        .block(NestedBlock::new("target_tracking", Nesting::Single, tracking))
}

/// The load-balancer mode as configured.
#[derive(Clone, Debug, PartialEq)]
pub struct LbConfig {
    /// The user's listener.
    pub listener_arn: String,
    /// When the app's rule matches.
    pub rule: RuleMatch,
    /// Seconds a deregistered target keeps its in-flight requests.
    pub deregistration_delay: u32,
    /// The instance port requests go to (None: the default of
    /// [`LbConfig::port`]).
    pub port: Option<u16>,
    /// Stepped cutover: the new release's share at each step (percent,
    /// increasing, ending at 100) and the bake after each.
    pub shift: Option<(Vec<u32>, Duration)>,
    /// Bounds, schedules and tracking (no desired count).
    pub capacity: Capacity,
}

impl LbConfig {
    /// The instance port requests go to: `port`, else the health check's
    /// port (which is the app's `host_port` unless set).
    pub fn port(&self, health_port: u16) -> u16 {
        self.port.unwrap_or(health_port)
    }

    /// How many instances a new release starts with: `replicas`, or as
    /// many as `serving` (the release that serves now, as Auto Scaling
    /// left it) when more, within the bounds.
    pub fn start_count(&self, replicas: u32, serving: usize) -> u32 {
        let serving = u32::try_from(serving).unwrap_or(u32::MAX);
        replicas
            .max(serving)
            .clamp(self.capacity.min, self.capacity.max.max(self.capacity.min))
    }
}

/// The engine's desired count in load-balancer mode: a release that has
/// instances keeps the count Auto Scaling gave it (never a plan change);
/// a new one starts with [`LbConfig::start_count`].
pub fn desired_count(
    lb: &LbConfig,
    replicas: u32,
    fingerprint: &str,
    instances: &[Instance],
    serving: &[String],
) -> u32 {
    let live = instances.iter().filter(|i| i.is_live());
    let of_release = live
        .clone()
        .filter(|i| i.fingerprint == fingerprint)
        .count();
    if of_release > 0 {
        return u32::try_from(of_release).unwrap_or(u32::MAX);
    }
    let serving_now = live
        .filter(|i| i.address.as_ref().is_some_and(|a| serving.contains(a)))
        .count();
    lb.start_count(replicas, serving_now)
}

fn err(d: &mut Diagnostics, p: AttributePath, summary: &str, detail: String) {
    d.push(Diagnostic::error(summary, detail).at(p));
}

/// Reads and checks `load_balancer` and `capacity` (None without a
/// `load_balancer` block or while it is unknown). `replicas` and
/// `batch_size` are the app's.
pub fn config(
    d: &mut Diagnostics,
    m: &AppModel,
    replicas: u32,
    batch_size: u32,
) -> Option<LbConfig> {
    let lp = AttributePath::attr("load_balancer");
    let cp = AttributePath::attr("capacity");
    let Attr::Known(b) = &m.load_balancer else {
        if m.capacity.known().is_some() && m.load_balancer.is_null() {
            // Terraform places a diagnostic on an attribute, not a block.
            let at = match m.capacity.known() {
                Some(c) if !c.min.is_null() => cp.then_attr("min"),
                Some(c) if !c.max.is_null() => cp.then_attr("max"),
                _ => cp,
            };
            err(
                d,
                at,
                "Capacity without a load balancer",
                "`capacity` sets the Auto Scaling groups of load-balancer mode; add a `load_balancer` block, or set `replicas` alone.".into(),
            );
        }
        return None;
    };
    if !m.origin.is_null() {
        err(
            d,
            lp.then_attr("listener_arn"),
            "Conflicting traffic modes",
            "an app takes traffic through an `origin` record or a `load_balancer`, not both; remove one of the two blocks.".into(),
        );
    }
    if batch_size != 0 {
        err(
            d,
            AttributePath::attr("rollout").then_attr("batch_size"),
            "Batches in load-balancer mode",
            "a release's instances start together in its Auto Scaling group; remove `batch_size` (or set 0).".into(),
        );
    }
    let (listener, rule) = crate::resources::listener_rule::check(
        d,
        &lp,
        &crate::resources::listener_rule::RuleFields {
            listener_arn: &b.listener_arn,
            hosts: &b.hosts,
            paths: &b.paths,
            priority: &b.priority,
        },
    );
    let port = if b.port.is_null() {
        None
    } else {
        u16::try_from(int(d, &b.port, &lp.then_attr("port"), (1, 65_535), 80)).ok()
    };
    let shift = b
        .shift
        .known()
        .map(|sh| shift(d, sh, &lp.then_attr("shift")));
    let delay = u32::try_from(int(
        d,
        &b.deregistration_delay,
        &lp.then_attr("deregistration_delay"),
        (0, 3600),
        30,
    ))
    .unwrap_or(30);
    check_health(d, m);
    let capacity = capacity(d, m, replicas);
    Some(LbConfig {
        listener_arn: listener,
        rule,
        deregistration_delay: delay,
        port,
        shift,
        capacity,
    })
}

/// The steps (increasing percentages, 100 appended) and bake of a
/// `shift` block.
fn shift(d: &mut Diagnostics, sh: &LbShiftModel, sp: &AttributePath) -> (Vec<u32>, Duration) {
    let mut steps: Vec<u32> = Vec::new();
    let list = sh.steps.known().map_or(&[][..], Vec::as_slice);
    if sh.steps.known().is_some() && list.is_empty() {
        err(d, sp.then_attr("steps"), "No steps", "give at least one step, e.g. `[10, 50]` (percent of the rule's traffic for the new release).".into());
    }
    for (i, s) in list.iter().enumerate() {
        if s.known().is_none() {
            continue;
        }
        let w = u32::try_from(int(
            d,
            s,
            &sp.then_attr("steps").then_index(i),
            (1, 100),
            100,
        ))
        .unwrap_or(100);
        if let Some(l) = steps.last().filter(|l| **l >= w) {
            err(
                d,
                sp.then_attr("steps").then_index(i),
                "Steps must increase",
                format!("each step must be larger than the one before: {w} follows {l}."),
            );
        }
        steps.push(w);
    }
    if steps.last() != Some(&100) {
        steps.push(100);
    }
    let bake = u64::try_from(int(d, &sh.bake, &sp.then_attr("bake"), (0, 3600), 60)).unwrap_or(60);
    (steps, Duration::from_secs(bake))
}

/// The health check within what a target group takes.
fn check_health(d: &mut Diagnostics, m: &AppModel) {
    let Attr::Known(h) = &m.health_check else {
        return;
    };
    let hp = AttributePath::attr("health_check");
    let interval = int(d, &h.interval, &hp.then_attr("interval"), (5, 300), 5);
    let timeout = int(d, &h.timeout, &hp.then_attr("timeout"), (2, 120), 3);
    if h.interval.known().is_some() && h.timeout.known().is_some() && timeout >= interval {
        err(
            d,
            hp.then_attr("timeout"),
            "Health check timeout too long",
            format!(
                "with a load balancer the timeout must be shorter than the interval ({timeout} s ≥ {interval} s)."
            ),
        );
    }
    int(
        d,
        &h.healthy_threshold,
        &hp.then_attr("healthy_threshold"),
        (2, 10),
        2,
    );
    int(
        d,
        &h.unhealthy_threshold,
        &hp.then_attr("unhealthy_threshold"),
        (2, 10),
        3,
    );
}

fn capacity(d: &mut Diagnostics, m: &AppModel, replicas: u32) -> Capacity {
    let cp = AttributePath::attr("capacity");
    let Attr::Known(c) = &m.capacity else {
        return Capacity {
            min: replicas,
            max: replicas,
            ..Capacity::default()
        };
    };
    let min = u32::try_from(int(
        d,
        &c.min,
        &cp.then_attr("min"),
        (0, 100),
        i64::from(replicas),
    ))
    .unwrap_or(0);
    let max = u32::try_from(int(
        d,
        &c.max,
        &cp.then_attr("max"),
        (1, 100),
        i64::from(replicas.max(min)),
    ))
    .unwrap_or(1);
    if max < min {
        err(
            d,
            cp.then_attr("max"),
            "Capacity bounds reversed",
            format!("`max` ({max}) is below `min` ({min})."),
        );
    } else if !(min..=max).contains(&replicas) && m.replicas.known().is_some() {
        err(
            d,
            AttributePath::attr("replicas"),
            "Replicas outside the capacity bounds",
            format!(
                "`replicas` ({replicas}) is the count a release starts with: it must be within `capacity` ({min}–{max})."
            ),
        );
    }
    let mut names = BTreeSet::new();
    let mut schedules = Vec::new();
    for (i, s) in c
        .schedule
        .known()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .enumerate()
    {
        let sp = cp.then_attr("schedule").then_index(i);
        let name = s.name.as_deref().unwrap_or_default().to_string();
        if s.name.known().is_some() {
            if name.is_empty()
                || name.len() > 255
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                err(
                    d,
                    sp.then_attr("name"),
                    "Invalid schedule name",
                    format!("{name:?}: 1–255 letters, digits, hyphens and underscores."),
                );
            } else if !names.insert(name.clone()) {
                err(
                    d,
                    sp.then_attr("name"),
                    "Duplicate schedule name",
                    format!("two schedules are named {name:?}."),
                );
            }
        }
        let recurrence = s.recurrence.as_deref().unwrap_or_default().to_string();
        if s.recurrence.known().is_some() && recurrence.split_whitespace().count() != 5 {
            err(
                d,
                sp.then_attr("recurrence"),
                "Invalid recurrence",
                format!(
                    "{recurrence:?}: a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. \"0 8 * * MON-FRI\"."
                ),
            );
        }
        let bound = |d: &mut Diagnostics, a: &Attr<Number>, n: &str| -> Option<u32> {
            if a.is_null() {
                return None;
            }
            u32::try_from(int(d, a, &sp.then_attr(n), (0, 100), 0)).ok()
        };
        let (smin, smax, sdesired) = (
            bound(d, &s.min, "min"),
            bound(d, &s.max, "max"),
            bound(d, &s.desired, "desired"),
        );
        if s.min.is_null() && s.max.is_null() && s.desired.is_null() {
            err(
                d,
                sp.clone(),
                "Schedule changes nothing",
                "set at least one of `min`, `max` and `desired`.".into(),
            );
        }
        schedules.push(Schedule {
            name,
            recurrence,
            time_zone: s.time_zone.as_deref().map(str::to_string),
            min: smin,
            max: smax,
            desired: sdesired,
        });
    }
    let tracking = c.target_tracking.known().map(|t| {
        let tp = cp.then_attr("target_tracking");
        let metric = match t.metric.as_deref() {
            Some("requests_per_target") => TrackedMetric::RequestsPerTarget,
            _ => TrackedMetric::Cpu,
        };
        let target = t.target.known().map_or(0.0, Number::as_f64);
        if t.target.known().is_some() && target <= 0.0 {
            err(
                d,
                tp.then_attr("target"),
                "Invalid tracking target",
                format!("the target must be above 0, not {target}."),
            );
        }
        (metric, target)
    });
    Capacity {
        min,
        max,
        desired: None,
        schedules,
        tracking,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_release_starts_with_what_serves_within_the_bounds() {
        let lb = LbConfig {
            listener_arn: String::new(),
            rule: RuleMatch {
                hosts: vec![],
                paths: vec![],
                priority: 1,
            },
            deregistration_delay: 30,
            port: None,
            shift: None,
            capacity: Capacity {
                min: 2,
                max: 6,
                ..Capacity::default()
            },
        };
        assert_eq!(lb.start_count(2, 0), 2);
        assert_eq!(lb.start_count(2, 5), 5, "what Auto Scaling scaled to");
        assert_eq!(lb.start_count(2, 9), 6, "never above max");
        assert_eq!(lb.start_count(1, 0), 2, "never below min");
        assert_eq!(lb.port(3000), 3000, "the app's port");
        assert_eq!(lb.port(80), 80, "the checked front");
        let given = LbConfig {
            port: Some(8080),
            ..lb
        };
        assert_eq!(given.port(80), 8080);
    }
}

//! The `metrics` and `alarm` blocks: whether (and how often) the instances
//! publish the app's metrics, and the CloudWatch alarms on them, checked
//! with attribute-named diagnostics and turned into [`AlarmSpec`]s.
//!
//! Publishing is on with a `metrics` block or any `alarm`; neither is part
//! of a release's fingerprint but the publishing interval (the instances
//! run it), so an alarm changes in place.

use std::collections::{BTreeMap, BTreeSet};

use berth_aws::alarms::AlarmSpec;
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::Attr;
use tfplugin::path::AttributePath;
use tfplugin::value::Number;

use super::model::{AppModel, Strings, known_strings};
use super::spec::int;

/// Seconds between two publications by default.
pub const DEFAULT_INTERVAL: u32 = 60;

/// One `alarm` block, checked, with its defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmConfig {
    /// Its name in the app.
    pub name: String,
    /// `cpu`, `memory` or `unhealthy_instances`.
    pub metric: String,
    /// The container (cpu, memory).
    pub container: String,
    /// CloudWatch statistic.
    pub statistic: String,
    /// CloudWatch comparison operator.
    pub comparison: String,
    /// The threshold.
    pub threshold: f64,
    /// Seconds per period.
    pub period: i32,
    /// Periods the condition must hold.
    pub evaluation_periods: i32,
    /// ARNs notified when it fires.
    pub alarm_actions: Vec<String>,
    /// ARNs notified when it recovers.
    pub ok_actions: Vec<String>,
}

impl AlarmConfig {
    /// The alarm berth puts for app `app`.
    pub fn spec(&self, app: &str) -> AlarmSpec {
        let (metric, dimensions): (&str, BTreeMap<String, String>) = match self.metric.as_str() {
            "unhealthy_instances" => ("Unhealthy", [("App".to_string(), app.to_string())].into()),
            m => (
                if m == "cpu" {
                    "CPUUtilization"
                } else {
                    "MemoryUtilization"
                },
                [
                    ("App".to_string(), app.to_string()),
                    ("Container".to_string(), self.container.clone()),
                ]
                .into(),
            ),
        };
        AlarmSpec {
            name: full_name(app, &self.name),
            metric: metric.to_string(),
            dimensions,
            statistic: self.statistic.clone(),
            comparison: self.comparison.clone(),
            threshold: self.threshold,
            period: self.period,
            evaluation_periods: self.evaluation_periods,
            alarm_actions: self.alarm_actions.clone(),
            ok_actions: self.ok_actions.clone(),
            description: format!(
                "berth app {app}: {} {} {} ({} of {} s periods)",
                self.metric,
                symbol(&self.comparison),
                Number::Float(self.threshold).canonical(),
                self.evaluation_periods,
                self.period
            ),
        }
    }
}

/// The CloudWatch name of alarm `name` of `app`.
pub fn full_name(app: &str, name: &str) -> String {
    format!("{}{name}", berth_aws::alarms::prefix(app))
}

const COMPARISONS: [(&str, &str); 4] = [
    (">=", "GreaterThanOrEqualToThreshold"),
    (">", "GreaterThanThreshold"),
    ("<=", "LessThanOrEqualToThreshold"),
    ("<", "LessThanThreshold"),
];
const STATISTICS: [&str; 5] = ["Average", "Maximum", "Minimum", "Sum", "SampleCount"];
const METRICS: [&str; 3] = ["cpu", "memory", "unhealthy_instances"];

fn symbol(operator: &str) -> &str {
    COMPARISONS
        .iter()
        .find(|(_, o)| *o == operator)
        .map_or(operator, |(s, _)| s)
}

fn err(d: &mut Diagnostics, p: AttributePath, summary: &str, detail: String) {
    d.push(Diagnostic::error(summary, detail).at(p));
}

/// The publishing interval: with a `metrics` block or any alarm.
pub fn metrics_interval(d: &mut Diagnostics, m: &AppModel) -> Option<u32> {
    let has_alarms = m.alarm.known().is_some_and(|a| !a.is_empty());
    let interval = match &m.metrics {
        Attr::Null if !has_alarms => return None,
        Attr::Known(b) => int(
            d,
            &b.interval,
            &AttributePath::attr("metrics").then_attr("interval"),
            (10, 3600),
            i64::from(DEFAULT_INTERVAL),
        ),
        _ => i64::from(DEFAULT_INTERVAL),
    };
    u32::try_from(interval).ok()
}

/// Reads and checks the `alarm` blocks; `containers` are the app's
/// (`app` and its sidecars'), `interval` the publishing interval.
pub fn alarms(
    d: &mut Diagnostics,
    m: &AppModel,
    interval: u32,
    containers: &[String],
) -> Vec<AlarmConfig> {
    let p = AttributePath::attr("alarm");
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, a) in m
        .alarm
        .known()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .enumerate()
    {
        let at = p.then_index(i);
        let name = a.name.as_deref().unwrap_or_default().to_string();
        if a.name.known().is_some() {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                err(
                    d,
                    at.then_attr("name"),
                    "Invalid alarm name",
                    format!("{name:?}: 1–64 lowercase letters, digits and hyphens."),
                );
            } else if !seen.insert(name.clone()) {
                err(
                    d,
                    at.then_attr("name"),
                    "Alarm name used twice",
                    format!("another `alarm` block is named {name:?}; names are unique in an app."),
                );
            }
        }
        let metric = a.metric.as_deref().unwrap_or("cpu").to_string();
        if a.metric.known().is_some() && !METRICS.contains(&metric.as_str()) {
            err(
                d,
                at.then_attr("metric"),
                "Unknown metric",
                format!("{metric:?} is not one of {}.", METRICS.join(", ")),
            );
        }
        let container = a.container.as_deref().unwrap_or("app").to_string();
        if metric == "unhealthy_instances" && !a.container.is_null() {
            err(
                d,
                at.then_attr("container"),
                "No container for this metric",
                "`unhealthy_instances` counts instances, not containers; leave `container` out."
                    .into(),
            );
        } else if a.container.known().is_some()
            && !containers.is_empty()
            && !containers.contains(&container)
        {
            err(
                d,
                at.then_attr("container"),
                "Unknown container",
                format!(
                    "the app has no container {container:?} (it has {}).",
                    containers.join(", ")
                ),
            );
        }
        let default_statistic = if metric == "unhealthy_instances" {
            "Sum"
        } else {
            "Average"
        };
        let statistic = a
            .statistic
            .as_deref()
            .unwrap_or(default_statistic)
            .to_string();
        if !STATISTICS.contains(&statistic.as_str()) {
            err(
                d,
                at.then_attr("statistic"),
                "Unknown statistic",
                format!("{statistic:?} is not one of {}.", STATISTICS.join(", ")),
            );
        }
        let symbol = a.comparison.as_deref().unwrap_or(">=");
        let comparison = match COMPARISONS.iter().find(|(s, _)| *s == symbol) {
            Some((_, op)) => (*op).to_string(),
            None => {
                err(
                    d,
                    at.then_attr("comparison"),
                    "Unknown comparison",
                    format!("{symbol:?} is not one of >=, >, <=, <."),
                );
                String::new()
            }
        };
        let threshold = match &a.threshold {
            Attr::Known(n) => n.as_f64(),
            _ => 0.0,
        };
        let period = int(d, &a.period, &at.then_attr("period"), (10, 86_400), 60);
        if a.period.known().is_some() && !(period == 10 || period == 30 || period % 60 == 0) {
            err(
                d,
                at.then_attr("period"),
                "Invalid alarm period",
                format!("CloudWatch takes 10, 30 or a multiple of 60 seconds, not {period}."),
            );
        } else if period < i64::from(interval) {
            err(
                d,
                at.then_attr("period"),
                "Alarm period shorter than the metrics",
                format!(
                    "the instances publish every {interval} s (`metrics.interval`): a {period} s period would often have no data; use at least {interval}."
                ),
            );
        }
        let evaluations = int(
            d,
            &a.evaluation_periods,
            &at.then_attr("evaluation_periods"),
            (1, 1440),
            3,
        );
        if period * evaluations > 86_400 {
            err(
                d,
                at.then_attr("evaluation_periods"),
                "Alarm window longer than a day",
                format!(
                    "{evaluations} periods of {period} s is {} s; CloudWatch evaluates at most a day (86400 s).",
                    period * evaluations
                ),
            );
        }
        for (attr, list) in [
            ("alarm_actions", &a.alarm_actions),
            ("ok_actions", &a.ok_actions),
        ] {
            check_arns(d, list, &at.then_attr(attr));
        }
        out.push(AlarmConfig {
            name,
            metric,
            container,
            statistic,
            comparison,
            threshold,
            period: i32::try_from(period).unwrap_or(60),
            evaluation_periods: i32::try_from(evaluations).unwrap_or(3),
            alarm_actions: known_strings(&a.alarm_actions),
            ok_actions: known_strings(&a.ok_actions),
        });
    }
    out
}

fn check_arns(d: &mut Diagnostics, list: &Strings, p: &AttributePath) {
    for (i, e) in list
        .known()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .enumerate()
    {
        if let Some(arn) = e.as_deref()
            && !(arn.starts_with("arn:") && arn.split(':').count() >= 6)
        {
            err(
                d,
                p.then_index(i),
                "Invalid alarm action",
                format!("{arn:?} is not an ARN, e.g. \"arn:aws:sns:us-east-1:123456789012:ops\"."),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::container_app::model::AlarmModel;

    fn alarm(metric: &str, threshold: f64) -> AlarmModel {
        AlarmModel {
            name: Attr::Known("hot".into()),
            metric: Attr::Known(metric.into()),
            threshold: Attr::Known(Number::Float(threshold)),
            ..AlarmModel::default()
        }
    }

    #[test]
    fn an_alarm_gets_its_defaults_and_the_apps_dimensions() {
        let m = AppModel {
            alarm: Attr::Known(vec![alarm("cpu", 80.0)]),
            ..AppModel::default()
        };
        let mut d = Diagnostics::new();
        assert_eq!(
            metrics_interval(&mut d, &m),
            Some(60),
            "alarms turn publishing on"
        );
        let a = alarms(&mut d, &m, 60, &["app".into()]);
        assert!(d.is_empty(), "{d:?}");
        let s = a[0].spec("web");
        assert_eq!(s.name, "berth.web.hot");
        assert_eq!(s.metric, "CPUUtilization");
        assert_eq!(s.statistic, "Average");
        assert_eq!(s.comparison, "GreaterThanOrEqualToThreshold");
        assert_eq!((s.period, s.evaluation_periods), (60, 3));
        assert_eq!(s.dimensions["App"], "web");
        assert_eq!(s.dimensions["Container"], "app");
        let u = alarms(
            &mut d,
            &AppModel {
                alarm: Attr::Known(vec![alarm("unhealthy_instances", 1.0)]),
                ..AppModel::default()
            },
            60,
            &[],
        );
        let s = u[0].spec("web");
        assert_eq!(
            (s.metric.as_str(), s.statistic.as_str()),
            ("Unhealthy", "Sum")
        );
        assert!(!s.dimensions.contains_key("Container"));
    }

    #[test]
    fn bad_alarms_fail_on_the_attribute_at_fault() {
        let mut bad = alarm("disk", 1.0);
        bad.period = Attr::Known(Number::Int(45));
        bad.comparison = Attr::Known("==".into());
        bad.container = Attr::Known("db".into());
        bad.alarm_actions = Attr::Known(vec![Attr::Known("ops@example.com".into())]);
        let m = AppModel {
            alarm: Attr::Known(vec![bad, alarm("cpu", 1.0)]),
            ..AppModel::default()
        };
        let mut d = Diagnostics::new();
        alarms(&mut d, &m, 60, &["app".into(), "nginx".into()]);
        let at: Vec<String> = d
            .iter()
            .filter_map(|x| x.attribute.as_ref().map(ToString::to_string))
            .collect();
        for want in [
            "alarm[0].metric",
            "alarm[0].period",
            "alarm[0].comparison",
            "alarm[0].container",
            "alarm[0].alarm_actions[0]",
            "alarm[1].name",
        ] {
            assert!(at.iter().any(|a| a == want), "{want} in {at:?}");
        }
    }

    #[test]
    fn a_period_shorter_than_the_publishing_interval_is_refused() {
        let mut a = alarm("cpu", 1.0);
        a.period = Attr::Known(Number::Int(60));
        let m = AppModel {
            alarm: Attr::Known(vec![a]),
            ..AppModel::default()
        };
        let mut d = Diagnostics::new();
        alarms(&mut d, &m, 120, &[]);
        assert!(format!("{d:?}").contains("publish every 120 s"), "{d:?}");
    }
}

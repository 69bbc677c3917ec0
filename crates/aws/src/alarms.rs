//! CloudWatch alarms of an app: put one (create or update in place, the
//! same call), list the app's, delete them.
//!
//! Guarantees:
//! - An app's alarms are named `berth.<app>.<name>`: app names hold no
//!   `.`, so the prefix `berth.<app>.` finds exactly that app's alarms
//!   (`berth.web.` never matches `berth.web-api.…`).
//! - [`put_alarm`] is idempotent: the same spec twice changes nothing.
//! - Deleting alarms that are gone succeeds.
//!
//! Assumes the caller's role has `cloudwatch:PutMetricAlarm`,
//! `cloudwatch:TagResource`, `cloudwatch:DescribeAlarms` and
//! `cloudwatch:DeleteAlarms` (the resource's IAM docs).

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};

use crate::config::Clients;
use crate::error::AwsError;

/// The namespace berth's instances publish their metrics in.
pub const NAMESPACE: &str = "berth";

/// One alarm as berth declares it.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmSpec {
    /// Full alarm name (`berth.<app>.<name>`).
    pub name: String,
    /// Metric name in [`NAMESPACE`].
    pub metric: String,
    /// Its dimensions, name → value.
    pub dimensions: BTreeMap<String, String>,
    /// `Average`, `Maximum`, `Minimum`, `Sum` or `SampleCount`.
    pub statistic: String,
    /// `GreaterThanOrEqualToThreshold` and the like.
    pub comparison: String,
    /// The threshold.
    pub threshold: f64,
    /// Seconds per period.
    pub period: i32,
    /// Periods the condition must hold.
    pub evaluation_periods: i32,
    /// Actions when it fires (SNS topic ARNs).
    pub alarm_actions: Vec<String>,
    /// Actions when it recovers.
    pub ok_actions: Vec<String>,
    /// A sentence for people.
    pub description: String,
}

/// The name prefix of `app`'s alarms.
pub fn prefix(app: &str) -> String {
    format!("berth.{app}.")
}

/// Creates or updates the alarm `spec` (tagged with `tags` when created).
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn put_alarm(
    clients: &Clients,
    spec: &AlarmSpec,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let mut req = clients
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&spec.name)
        .alarm_description(&spec.description)
        .namespace(NAMESPACE)
        .metric_name(&spec.metric)
        .statistic(Statistic::from(spec.statistic.as_str()))
        .comparison_operator(ComparisonOperator::from(spec.comparison.as_str()))
        .threshold(spec.threshold)
        .period(spec.period)
        .evaluation_periods(spec.evaluation_periods)
        .actions_enabled(true)
        .set_alarm_actions(Some(spec.alarm_actions.clone()))
        .set_ok_actions(Some(spec.ok_actions.clone()));
    for (k, v) in &spec.dimensions {
        req = req.dimensions(Dimension::builder().name(k).value(v).build());
    }
    for (k, v) in tags {
        req = req.tags(Tag::builder().key(k).value(v).build());
    }
    req.send()
        .await
        .map_err(|e| AwsError::from_sdk("PutMetricAlarm", e))?;
    Ok(())
}

/// The alarms whose names start with `app`'s prefix, as specs.
///
/// # Errors
/// [`AwsError`] when a page fails.
pub async fn app_alarms(clients: &Clients, app: &str) -> Result<Vec<AlarmSpec>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = clients
            .cloudwatch
            .describe_alarms()
            .alarm_name_prefix(prefix(app))
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeAlarms", e))?;
        for a in page.metric_alarms() {
            out.push(AlarmSpec {
                name: a.alarm_name().unwrap_or_default().to_string(),
                metric: a.metric_name().unwrap_or_default().to_string(),
                dimensions: a
                    .dimensions()
                    .iter()
                    .map(|d| {
                        (
                            d.name().unwrap_or_default().to_string(),
                            d.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
                statistic: a
                    .statistic()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                comparison: a
                    .comparison_operator()
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_default(),
                threshold: a.threshold().unwrap_or_default(),
                period: a.period().unwrap_or_default(),
                evaluation_periods: a.evaluation_periods().unwrap_or_default(),
                alarm_actions: a.alarm_actions().to_vec(),
                ok_actions: a.ok_actions().to_vec(),
                description: a.alarm_description().unwrap_or_default().to_string(),
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Deletes the alarms `names` (at most 100 per call); gone ones are fine.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn delete_alarms(clients: &Clients, names: &[String]) -> Result<(), AwsError> {
    for chunk in names.chunks(100) {
        clients
            .cloudwatch
            .delete_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteAlarms", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_apps_alarms_share_its_prefix() {
        assert_eq!(super::prefix("web"), "berth.web.");
        assert!(!"berth.web-api.cpu".starts_with(&super::prefix("web")));
    }
}

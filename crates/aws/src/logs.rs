//! CloudWatch Logs calls for an app's log group: create it (tagged as the
//! app's) or adopt one that exists, set its retention, read it back, and
//! delete it when asked.
//!
//! Guarantees:
//! - [`ensure_log_group`] is idempotent: a group that already exists (an
//!   earlier apply, or one the user made) is used as it is, with its
//!   retention set; only a group berth creates gets berth's tags.
//! - [`log_group`] reads the retention in one call (what every refresh
//!   needs); [`log_group_with_tags`] also says whether the group carries
//!   `berth:app=<app>`, so a destroy deletes only a group berth made for
//!   that app.
//! - Deleting a group that is already gone succeeds.
//!
//! Assumes the caller's role has `logs:CreateLogGroup`,
//! `logs:PutRetentionPolicy`, `logs:DescribeLogGroups`,
//! `logs:ListTagsForResource`, `logs:TagResource` and, for deletes,
//! `logs:DeleteLogGroup` (the resource's IAM docs).

use std::collections::BTreeMap;

use crate::config::Clients;
use crate::error::AwsError;

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A log group as CloudWatch Logs describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogGroup {
    /// Its name.
    pub name: String,
    /// Days its events are kept (None: forever).
    pub retention_days: Option<i32>,
    /// Its tags (read by [`log_group_with_tags`]; empty from [`log_group`]).
    pub tags: BTreeMap<String, String>,
}

impl LogGroup {
    /// Whether berth made it for `app`.
    pub fn is_apps(&self, app: &str) -> bool {
        self.tags.get("berth:app").map(String::as_str) == Some(app)
    }
}

/// Creates the group `name` with `tags` unless it exists, then sets its
/// retention to `retention_days`.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn ensure_log_group(
    clients: &Clients,
    name: &str,
    retention_days: i32,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let created = clients
        .logs
        .create_log_group()
        .log_group_name(name)
        .set_tags(Some(tags.clone().into_iter().collect()))
        .send()
        .await;
    if let Err(e) = created {
        match AwsError::from_sdk("CreateLogGroup", e) {
            AwsError::Service { code, .. } if code == "ResourceAlreadyExistsException" => {}
            other => return Err(other),
        }
    }
    clients
        .logs
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(retention_days)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("PutRetentionPolicy", e))?;
    Ok(())
}

/// The group `name` with its retention (its tags left empty: one call),
/// or None when there is no such group.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn log_group(clients: &Clients, name: &str) -> Result<Option<LogGroup>, AwsError> {
    Ok(describe(clients, name).await?.map(|g| LogGroup {
        name: name.to_string(),
        retention_days: g.retention_in_days(),
        tags: BTreeMap::new(),
    }))
}

async fn describe(
    clients: &Clients,
    name: &str,
) -> Result<Option<aws_sdk_cloudwatchlogs::types::LogGroup>, AwsError> {
    let out = clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeLogGroups", e))?;
    Ok(out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .cloned())
}

/// The group `name` with its retention and tags, or None when there is no
/// such group.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn log_group_with_tags(
    clients: &Clients,
    name: &str,
) -> Result<Option<LogGroup>, AwsError> {
    let Some(g) = describe(clients, name).await? else {
        return Ok(None);
    };
    let mut tags = BTreeMap::new();
    if let Some(arn) = g.arn() {
        // ListTagsForResource takes the group's ARN without the `:*` that
        // DescribeLogGroups appends.
        let arn = arn.strip_suffix(":*").unwrap_or(arn);
        let t = clients
            .logs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListTagsForResource", e))?;
        if let Some(m) = t.tags() {
            tags.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    Ok(Some(LogGroup {
        name: name.to_string(),
        retention_days: g.retention_in_days(),
        tags,
    }))
}

/// Deletes the group `name` and its events; one that is gone counts as
/// deleted.
///
/// # Errors
/// [`AwsError`] when the call fails otherwise.
pub async fn delete_log_group(clients: &Clients, name: &str) -> Result<(), AwsError> {
    match clients
        .logs
        .delete_log_group()
        .log_group_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match AwsError::from_sdk("DeleteLogGroup", e) {
            AwsError::Service { code, .. } if code == "ResourceNotFoundException" => Ok(()),
            other => Err(other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_group_tagged_with_the_app_is_the_apps() {
        let mut g = LogGroup {
            name: "/berth/web".into(),
            retention_days: Some(30),
            tags: BTreeMap::new(),
        };
        assert!(!g.is_apps("web"));
        g.tags.insert("berth:app".into(), "api".into());
        assert!(!g.is_apps("web"));
        g.tags.insert("berth:app".into(), "web".into());
        assert!(g.is_apps("web"));
    }

    #[test]
    fn retention_periods_are_cloudwatchs_and_sorted() {
        assert!(RETENTION_DAYS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(RETENTION_DAYS[0], 1);
        assert_eq!(RETENTION_DAYS[RETENTION_DAYS.len() - 1], 3653);
    }
}

//! SSM Parameter Store calls for the secret values berth stores itself
//! (`secret_values_wo` of `berth_container_app`): write a SecureString,
//! tag it, delete it; and for the release command's markers (written by
//! the instances): read one, list an app's, delete them.
//!
//! Guarantees:
//! - Values go only into the PutParameter request body; they are never
//!   logged, never part of an error, and nothing here returns them.
//! - Writes overwrite (a repeated or interrupted apply converges), and the
//!   tags are (re)applied after every write, so a parameter left by an
//!   interrupted apply is still recognisable as berth's.
//! - Deleting a parameter that is already gone succeeds.
//!
//! Assumes the caller's role has `ssm:PutParameter`, `ssm:AddTagsToResource`
//! and `ssm:DeleteParameter` on the parameters (the resource's IAM docs).

use std::collections::BTreeMap;

use aws_sdk_ssm::types::{ParameterTier, ParameterType, ResourceTypeForTagging, Tag};

use crate::config::Clients;
use crate::error::AwsError;

/// The largest value a standard-tier parameter holds.
pub const MAX_VALUE_BYTES: usize = 4096;

/// Writes `value` as the SecureString parameter `name` (encrypted with the
/// account's default `aws/ssm` key), replacing any earlier value, then tags
/// it with `tags`.
///
/// # Errors
/// [`AwsError`] when a call fails; its message never contains `value`.
pub async fn put_secure_string(
    clients: &Clients,
    name: &str,
    value: &str,
    description: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    // An oversized value would make SSM answer with a validation error;
    // name the limit here instead of relaying a message that might quote it.
    if value.len() > MAX_VALUE_BYTES {
        return Err(AwsError::Service {
            operation: "PutParameter",
            code: "ValueTooLarge".into(),
            message: format!(
                "the value of {name} is {} bytes; a standard SSM parameter holds at most 4 KiB",
                value.len()
            ),
        });
    }
    clients
        .ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::SecureString)
        .tier(ParameterTier::Standard)
        .description(description)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| without_value(AwsError::from_sdk("PutParameter", e), value))?;
    if tags.is_empty() {
        return Ok(());
    }
    let mut req = clients
        .ssm
        .add_tags_to_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name);
    for (k, v) in tags {
        let tag = Tag::builder()
            .key(k)
            .value(v)
            .build()
            .map_err(|e| AwsError::Config(format!("tag {k}: {e}")))?;
        req = req.tags(tag);
    }
    req.send()
        .await
        .map_err(|e| AwsError::from_sdk("AddTagsToResource", e))?;
    Ok(())
}

/// Deletes the parameter `name`; one that does not exist counts as deleted.
///
/// # Errors
/// [`AwsError`] when the call fails otherwise.
pub async fn delete_parameter(clients: &Clients, name: &str) -> Result<(), AwsError> {
    match clients.ssm.delete_parameter().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) => match AwsError::from_sdk("DeleteParameter", e) {
            AwsError::Service { code, .. } if code == "ParameterNotFound" => Ok(()),
            other => Err(other),
        },
    }
}

/// A plain parameter's value and when it last changed (seconds since the
/// Unix epoch), or None when there is no such parameter.
///
/// # Errors
/// [`AwsError`] when the call fails otherwise.
pub async fn parameter(
    clients: &Clients,
    name: &str,
) -> Result<Option<(String, Option<f64>)>, AwsError> {
    match clients.ssm.get_parameter().name(name).send().await {
        Ok(out) => Ok(out.parameter().map(|p| {
            (
                p.value().unwrap_or_default().to_string(),
                p.last_modified_date().map(|d| d.as_secs_f64()),
            )
        })),
        Err(e) => match AwsError::from_sdk("GetParameter", e) {
            AwsError::Service { code, .. } if code == "ParameterNotFound" => Ok(None),
            other => Err(other),
        },
    }
}

/// The names of the parameters under `path` (recursively).
///
/// # Errors
/// [`AwsError`] when a page fails.
pub async fn names_under(clients: &Clients, path: &str) -> Result<Vec<String>, AwsError> {
    let mut pages = clients
        .ssm
        .get_parameters_by_path()
        .path(path)
        .recursive(true)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("GetParametersByPath", e))?;
        out.extend(
            page.parameters()
                .iter()
                .filter_map(|p| p.name().map(str::to_string)),
        );
    }
    out.sort();
    Ok(out)
}

/// Replaces any occurrence of `value` in the error's text, in case a
/// service (or an emulator) echoes request fields in its message.
fn without_value(err: AwsError, value: &str) -> AwsError {
    if value.is_empty() {
        return err;
    }
    let scrub = |s: String| s.replace(value, "<redacted>");
    match err {
        AwsError::Service {
            operation,
            code,
            message,
        } => AwsError::Service {
            operation,
            code,
            message: scrub(message),
        },
        AwsError::Transport { operation, detail } => AwsError::Transport {
            operation,
            detail: scrub(detail),
        },
        AwsError::Config(m) => AwsError::Config(scrub(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_quote_the_value() {
        let e = AwsError::Service {
            operation: "PutParameter",
            code: "ValidationException".into(),
            message: "bad value 'hunter2' for parameter".into(),
        };
        let text = without_value(e, "hunter2").to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}

//! Route53 health checks owned by a resource (a weighted route's targets,
//! a region pool's regions): the schema block, and reconciling the checks
//! an apply wants with the ones the prior state recorded.
//!
//! Guarantees: a check whose configuration is unchanged is kept; a new one
//! gets a caller reference that names its owner, key and configuration and
//! is never used again ([`berth_aws::health_check_ref`]: a retried create returns
//! the same check, and Route53 refuses the reference of a deleted one) and
//! the `berth:owner` tag. Before creating, an apply adopts a check of the
//! same owner, key and configuration that no state names (a lost answer or
//! an interrupted apply made it) and deletes the owner's other such checks
//! once the records no longer need them; checks created by a failed apply
//! are deleted again by [`discard`]; a destroy deletes every check of the
//! owner, whether the state or only the reference names it.

use std::collections::BTreeMap;

use berth_aws::AwsError;
use berth_aws::health_check_ref;
use berth_aws::ports::RouteCloud;
use berth_aws::routing::HealthCheckSpec;
use tfplugin::model::{Attr, Model};
use tfplugin::schema::validators::{check, int_between, one_of};
use tfplugin::schema::{Attribute, Block};
use tfplugin::value::Value;

/// One `health_check` block ([`block`]).
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct HealthCheckModel {
    /// `HTTP`, `HTTPS` or `TCP`.
    pub protocol: Attr<String>,
    /// Port.
    pub port: Attr<i64>,
    /// Request path.
    pub path: Attr<String>,
    /// Seconds between checks.
    pub interval: Attr<i64>,
    /// Failed checks before unhealthy.
    pub failure_threshold: Attr<i64>,
}

/// The `health_check` block: `description` says whose check it is,
/// `path` what the request path defaults to.
pub fn block(description: &str, path: &str) -> Block {
    Block::new()
        .description(description)
        .attribute(
            Attribute::string("protocol")
                .optional()
                .computed()
                .default(Value::string("HTTPS"))
                .validate(one_of(&["HTTP", "HTTPS", "TCP"]))
                .description("`HTTP`, `HTTPS` (default) or `TCP`."),
        )
        .attribute(
            Attribute::number("port")
                .optional()
                .validate(int_between(1, 65535))
                .description("Port. Default 443 (80 for HTTP)."),
        )
        .attribute(
            Attribute::string("path")
                .optional()
                .validate(check("must start with /", |v| match v.as_str() {
                    Some(p) if !p.starts_with('/') => {
                        Err(format!("{p:?} must start with \"/\", e.g. \"/up\"."))
                    }
                    _ => Ok(()),
                }))
                .description(path),
        )
        .attribute(
            Attribute::number("interval")
                .optional()
                .computed()
                .default(Value::int(30))
                .validate(check("10 or 30", |v| match v.as_number() {
                    Some(n) if n.as_i64() != Some(10) && n.as_i64() != Some(30) => Err(format!(
                        "Route53 checks every 10 or 30 seconds; {} is neither.",
                        n.canonical()
                    )),
                    _ => Ok(()),
                }))
                .description("Seconds between checks: 10 or 30."),
        )
        .attribute(
            Attribute::number("failure_threshold")
                .optional()
                .computed()
                .default(Value::int(3))
                .validate(int_between(1, 10))
                .description("Failed checks before the target is unhealthy, 1–10."),
        )
}

/// The checks an apply ends up with, and the ones it created.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// Key → health check id, for every wanted check.
    pub ids: BTreeMap<String, String>,
    /// Ids created or adopted by this apply (to discard if the apply fails).
    pub created: Vec<String>,
    /// The owner's checks that no state names and the apply did not adopt
    /// (to delete once the records no longer point at them).
    pub stale: Vec<String>,
}

/// Keeps the prior check of every key whose configuration is unchanged;
/// for the others adopts an unrecorded check made for the same key and
/// configuration or creates one, tagged `berth:owner = owner`. On failure
/// the checks created so far are deleted and the failing key is returned.
///
/// # Errors
/// The key whose check could not be created, and why.
pub async fn reconcile(
    cloud: &dyn RouteCloud,
    owner: &str,
    fqdn: &str,
    wanted: &[(String, HealthCheckSpec)],
    prior_ids: &BTreeMap<String, String>,
    prior_specs: &BTreeMap<String, HealthCheckSpec>,
) -> Result<Reconciled, (String, AwsError)> {
    let mut out = Reconciled::default();
    // The owner's checks no state names; listed once, before the first create.
    let mut unrecorded: Option<BTreeMap<String, String>> = None;
    for (key, spec) in wanted {
        if let (Some(id), Some(old)) = (prior_ids.get(key), prior_specs.get(key))
            && old == spec
        {
            out.ids.insert(key.clone(), id.clone());
            continue;
        }
        let tags = [
            ("berth:managed-by".to_string(), "berth".to_string()),
            ("berth:owner".to_string(), owner.to_string()),
            ("Name".to_string(), format!("{fqdn} {key}")),
        ];
        let made = match &mut unrecorded {
            Some(found) => found,
            None => match cloud.owned_health_checks(owner).await {
                Ok(mut found) => {
                    found.retain(|id, _| !prior_ids.values().any(|p| p == id));
                    unrecorded.insert(found)
                }
                Err(e) => {
                    discard(cloud, &out.created).await;
                    return Err((key.clone(), e));
                }
            },
        };
        let intent = health_check_ref::intent_prefix(owner, key, spec);
        let adopt = made
            .iter()
            .find(|(_, reference)| reference.starts_with(&intent))
            .map(|(id, _)| id.clone());
        let got = match adopt {
            Some(id) => {
                made.remove(&id);
                tracing::info!(
                    "{fqdn} {key}: adopting health check {id}, made by an earlier apply that did not record it"
                );
                cloud.tag_health_check(&id, &tags).await.map(|()| id)
            }
            None => {
                cloud
                    .create_health_check(spec, &health_check_ref::fresh(owner, key, spec), &tags)
                    .await
            }
        };
        match got {
            Ok(id) => {
                out.created.push(id.clone());
                out.ids.insert(key.clone(), id);
            }
            Err(e) => {
                discard(cloud, &out.created).await;
                return Err((key.clone(), e));
            }
        }
    }
    out.stale = unrecorded.unwrap_or_default().into_keys().collect();
    Ok(out)
}

/// Deletes checks a failed apply created (best effort: a check left over
/// names its owner in its reference and is removed by the next apply or destroy).
pub async fn discard(cloud: &dyn RouteCloud, created: &[String]) {
    for id in created {
        let _ = cloud.delete_health_check(id).await;
    }
}

/// Deletes the prior checks the apply no longer uses, and the `stale` ones
/// [`reconcile`] found.
///
/// # Errors
/// The check that could not be deleted, and why.
pub async fn delete_unused(
    cloud: &dyn RouteCloud,
    prior_ids: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
    stale: &[String],
) -> Result<(), (String, AwsError)> {
    let unused = prior_ids
        .iter()
        .filter(|(key, id)| now.get(*key) != Some(*id))
        .map(|(_, id)| id)
        .chain(stale);
    for id in unused {
        cloud
            .delete_health_check(id)
            .await
            .map_err(|e| (id.clone(), e))?;
    }
    Ok(())
}

/// Deletes every check of `owner`: the ones `state` records and any an
/// interrupted apply or a lost answer left (found by their caller reference).
///
/// # Errors
/// [`AwsError`] when a listing or a delete fails.
pub async fn delete_all(
    cloud: &dyn RouteCloud,
    state: &Value,
    owner: &str,
) -> Result<(), AwsError> {
    let mut ids: Vec<String> = ids_of(state).into_values().collect();
    ids.extend(cloud.owned_health_checks(owner).await?.into_keys());
    ids.sort();
    ids.dedup();
    for id in ids {
        cloud.delete_health_check(&id).await?;
    }
    Ok(())
}

/// Key → health check id from a state value's `health_check_ids` map.
pub fn ids_of(v: &Value) -> BTreeMap<String, String> {
    v.attr("health_check_ids")
        .as_entries()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// `health_check_ids` as a state value.
pub fn ids_value(ids: &BTreeMap<String, String>) -> Value {
    Value::Map(
        ids.iter()
            .map(|(k, v)| (k.clone(), Value::string(v)))
            .collect(),
    )
}

//! Route53 routing policies berth builds traffic control from: weighted
//! record sets (one per target) and the health checks that guard them.
//!
//! Guarantees:
//! - [`set_weighted`] changes every record set of a name in ONE change
//!   batch (deletes of obsolete sets and upserts together), so resolvers
//!   never see a half-applied set of weights; it returns once Route53
//!   reports the change `INSYNC`.
//! - Health checks are created with a caller reference derived from what
//!   owns them, so a retried create returns the same check, and are tagged
//!   so an interrupted apply can find them again.

use std::time::Duration;

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, HealthCheckConfig, HealthCheckType,
    ResourceRecord, ResourceRecordSet, RrType, Tag, TagResourceType,
};

use crate::config::Clients;
use crate::dns::canonical;
use crate::error::AwsError;

/// What a record set answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordValue {
    /// A hostname (CNAME).
    Cname(String),
    /// IPv4 addresses (A), sorted.
    A(Vec<String>),
}

impl RecordValue {
    fn rr_type(&self) -> RrType {
        match self {
            RecordValue::Cname(_) => RrType::Cname,
            RecordValue::A(_) => RrType::A,
        }
    }
}

/// One weighted record set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedRecord {
    /// Set identifier (the target id).
    pub set_id: String,
    /// What it answers.
    pub value: RecordValue,
    /// Route53 weight, 0–255.
    pub weight: i64,
    /// TTL in seconds.
    pub ttl: i64,
    /// Health check guarding it.
    pub health_check_id: Option<String>,
}

fn build_err(e: aws_sdk_route53::error::BuildError) -> AwsError {
    AwsError::Config(format!("Route53 request: {e}"))
}

/// Every weighted record set (CNAME or A) of `fqdn`.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn weighted_records(
    clients: &Clients,
    zone_id: &str,
    fqdn: &str,
) -> Result<Vec<WeightedRecord>, AwsError> {
    let want = canonical(fqdn);
    let mut out = Vec::new();
    let mut start: Option<(String, RrType, Option<String>)> = Some((want.clone(), RrType::A, None));
    while let Some((name, ty, ident)) = start.take() {
        let page = clients
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .start_record_name(name)
            .start_record_type(ty)
            .set_start_record_identifier(ident)
            .max_items(100)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListResourceRecordSets", e))?;
        let mut past = false;
        for rs in page.resource_record_sets() {
            if canonical(rs.name()) != want {
                past = true;
                break;
            }
            let (Some(set_id), Some(weight)) = (rs.set_identifier(), rs.weight()) else {
                continue;
            };
            let values: Vec<String> = rs
                .resource_records()
                .iter()
                .map(|r| r.value().to_string())
                .collect();
            let value = match rs.r#type() {
                RrType::Cname => RecordValue::Cname(values.first().cloned().unwrap_or_default()),
                RrType::A => {
                    let mut v = values;
                    v.sort();
                    RecordValue::A(v)
                }
                _ => continue,
            };
            out.push(WeightedRecord {
                set_id: set_id.to_string(),
                value,
                weight,
                ttl: rs.ttl().unwrap_or(0),
                health_check_id: rs.health_check_id().map(str::to_string),
            });
        }
        if !past
            && page.is_truncated()
            && let (Some(n), Some(t)) = (page.next_record_name(), page.next_record_type())
        {
            start = Some((
                n.to_string(),
                t.clone(),
                page.next_record_identifier().map(str::to_string),
            ));
        }
    }
    out.sort_by(|a, b| a.set_id.cmp(&b.set_id));
    Ok(out)
}

fn record_set(fqdn: &str, r: &WeightedRecord) -> Result<ResourceRecordSet, AwsError> {
    let mut b = ResourceRecordSet::builder()
        .name(fqdn)
        .r#type(r.value.rr_type())
        .set_identifier(&r.set_id)
        .weight(r.weight)
        .ttl(r.ttl)
        .set_health_check_id(r.health_check_id.clone());
    let values: Vec<String> = match &r.value {
        RecordValue::Cname(h) => vec![h.clone()],
        RecordValue::A(a) => a.clone(),
    };
    for v in values {
        b = b.resource_records(
            ResourceRecord::builder()
                .value(v)
                .build()
                .map_err(build_err)?,
        );
    }
    b.build().map_err(build_err)
}

/// Makes the weighted record sets of `fqdn` exactly `desired` (none:
/// delete them all) in one change batch; waits until in sync.
///
/// # Errors
/// [`AwsError`] when a call fails or the change is not in sync in 10 min.
pub async fn set_weighted(
    clients: &Clients,
    zone_id: &str,
    fqdn: &str,
    desired: &[WeightedRecord],
    current: &[WeightedRecord],
    poll: Duration,
) -> Result<(), AwsError> {
    let fqdn = canonical(fqdn);
    let mut changes = Vec::new();
    for c in current {
        let kept = desired
            .iter()
            .any(|d| d.set_id == c.set_id && d.value.rr_type() == c.value.rr_type());
        if !kept {
            changes.push(
                Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(record_set(&fqdn, c)?)
                    .build()
                    .map_err(build_err)?,
            );
        }
    }
    for d in desired {
        if current.contains(d) {
            continue;
        }
        changes.push(
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(record_set(&fqdn, d)?)
                .build()
                .map_err(build_err)?,
        );
    }
    if changes.is_empty() {
        return Ok(());
    }
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .comment("berth: weighted route")
        .build()
        .map_err(build_err)?;
    let out = clients
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ChangeResourceRecordSets", e))?;
    if let Some(info) = out.change_info() {
        wait_in_sync(clients, info.id(), info.status().clone(), poll).await?;
    }
    Ok(())
}

/// Waits until change `id` is `INSYNC` (at most 10 minutes).
///
/// # Errors
/// [`AwsError`] when GetChange fails or time runs out.
pub async fn wait_in_sync(
    clients: &Clients,
    id: &str,
    mut status: ChangeStatus,
    poll: Duration,
) -> Result<(), AwsError> {
    let id = id.trim_start_matches("/change/").to_string();
    let started = tokio::time::Instant::now();
    while status != ChangeStatus::Insync {
        if started.elapsed() > Duration::from_secs(600) {
            return Err(AwsError::Service {
                operation: "GetChange",
                code: "Timeout".into(),
                message: format!("change {id} not in sync after 600 s"),
            });
        }
        tokio::time::sleep(poll).await;
        status = clients
            .route53
            .get_change()
            .id(&id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetChange", e))?
            .change_info()
            .map(|c| c.status().clone())
            .unwrap_or(ChangeStatus::Insync);
    }
    Ok(())
}

/// A Route53 health check's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheckSpec {
    /// `HTTP`, `HTTPS` or `TCP`.
    pub protocol: String,
    /// Host name checked (CNAME targets).
    pub fqdn: Option<String>,
    /// IP checked (address targets).
    pub ip: Option<String>,
    /// Port.
    pub port: i32,
    /// Path for HTTP(S).
    pub path: Option<String>,
    /// Seconds between checks: 10 or 30.
    pub interval: i32,
    /// Failures before unhealthy, 1–10.
    pub failure_threshold: i32,
}

/// Creates a health check (idempotent for the same `caller_reference`)
/// and tags it; returns its id.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn create_health_check(
    clients: &Clients,
    spec: &HealthCheckSpec,
    caller_reference: &str,
    tags: &[(String, String)],
) -> Result<String, AwsError> {
    let ty = match spec.protocol.as_str() {
        "HTTPS" => HealthCheckType::Https,
        "TCP" => HealthCheckType::Tcp,
        _ => HealthCheckType::Http,
    };
    let mut cfg = HealthCheckConfig::builder()
        .r#type(ty)
        .port(spec.port)
        .request_interval(spec.interval)
        .failure_threshold(spec.failure_threshold)
        .set_fully_qualified_domain_name(spec.fqdn.clone())
        .set_ip_address(spec.ip.clone());
    if spec.protocol != "TCP" {
        cfg = cfg.set_resource_path(spec.path.clone());
    }
    let out = clients
        .route53
        .create_health_check()
        .caller_reference(caller_reference)
        .health_check_config(cfg.build().map_err(build_err)?)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("CreateHealthCheck", e))?;
    let id = out
        .health_check()
        .map(|h| h.id().to_string())
        .unwrap_or_default();
    if !tags.is_empty() {
        clients
            .route53
            .change_tags_for_resource()
            .resource_type(TagResourceType::Healthcheck)
            .resource_id(&id)
            .set_add_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ChangeTagsForResource", e))?;
    }
    Ok(id)
}

/// Deletes a health check; one that is already gone counts as deleted.
///
/// # Errors
/// [`AwsError`] when the call fails for another reason.
pub async fn delete_health_check(clients: &Clients, id: &str) -> Result<(), AwsError> {
    match clients
        .route53
        .delete_health_check()
        .health_check_id(id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match AwsError::from_sdk("DeleteHealthCheck", e) {
            AwsError::Service { code, .. } if code == "NoSuchHealthCheck" => Ok(()),
            other => Err(other),
        },
    }
}

/// Whether a health check passes: healthy when most checkers report
/// success; otherwise the first failure reason.
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn health_check_status(
    clients: &Clients,
    id: &str,
) -> Result<Result<(), String>, AwsError> {
    let out = clients
        .route53
        .get_health_check_status()
        .health_check_id(id)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("GetHealthCheckStatus", e))?;
    let obs = out.health_check_observations();
    let ok = obs
        .iter()
        .filter(|o| {
            o.status_report()
                .and_then(|r| r.status())
                .is_some_and(|s| s.starts_with("Success"))
        })
        .count();
    if !obs.is_empty() && ok * 2 > obs.len() {
        Ok(Ok(()))
    } else {
        let why = obs
            .iter()
            .filter_map(|o| o.status_report().and_then(|r| r.status()))
            .find(|s| !s.starts_with("Success"))
            .unwrap_or("no checker reported yet")
            .to_string();
        Ok(Err(why))
    }
}

/// Health checks tagged `berth:owner = owner` (left by an interrupted
/// apply, for cleanup).
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn health_checks_owned_by(
    clients: &Clients,
    owner: &str,
) -> Result<Vec<String>, AwsError> {
    let mut ids = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = clients
            .route53
            .list_health_checks()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListHealthChecks", e))?;
        ids.extend(page.health_checks().iter().map(|h| h.id().to_string()));
        match page.next_marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_string()),
            _ => break,
        }
    }
    let mut owned = Vec::new();
    for chunk in ids.chunks(10) {
        let tags = clients
            .route53
            .list_tags_for_resources()
            .resource_type(TagResourceType::Healthcheck)
            .set_resource_ids(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListTagsForResources", e))?;
        for set in tags.resource_tag_sets() {
            if set
                .tags()
                .iter()
                .any(|t| t.key() == Some("berth:owner") && t.value() == Some(owner))
                && let Some(id) = set.resource_id()
            {
                owned.push(id.to_string());
            }
        }
    }
    owned.sort();
    Ok(owned)
}

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
//!   so an interrupted apply can find them again. After a failed create
//!   berth looks the reference up before trying again, so a lost answer
//!   never leaves a second check (moto ignores caller references).
//! - A change batch is safe to repeat: UPSERTs converge by themselves; when
//!   Route53 rejects a batch because the record sets it was computed from
//!   no longer hold (a DELETE of what a lost change already deleted), the
//!   sets are read again and the difference recomputed once.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_route53::types::{
    Change, ChangeAction, HealthCheckConfig, HealthCheckType, ResourceRecord, ResourceRecordSet,
    RrType, Tag, TagResourceType,
};

use crate::config::Clients;
use crate::dns::{
    ARecord, a_record_of, all_record_sets, build_err, canonical, change_batch, is_stale_batch,
    listing_key, record_sets_from,
};
use crate::error::AwsError;
use crate::health_check_ref;
use crate::retry::{self, Policy};

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
    let mut out: Vec<WeightedRecord> =
        record_sets_from(clients, zone_id, Some(&want), |name| name == want)
            .await?
            .iter()
            .filter_map(weighted_of)
            .collect();
    out.sort_by(|a, b| a.set_id.cmp(&b.set_id));
    Ok(out)
}

/// `rs` as a weighted record, when it is one (a CNAME or A set with a set
/// identifier and a weight).
fn weighted_of(rs: &ResourceRecordSet) -> Option<WeightedRecord> {
    let (set_id, weight) = (rs.set_identifier()?, rs.weight()?);
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
        _ => return None,
    };
    Some(WeightedRecord {
        set_id: set_id.to_string(),
        value,
        weight,
        ttl: rs.ttl().unwrap_or(0),
        health_check_id: rs.health_check_id().map(str::to_string),
    })
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
    match change_weighted(clients, zone_id, &fqdn, desired, current, poll).await {
        Err(e) if is_stale_batch(&e) => {
            // `current` no longer holds (an earlier change whose answer was
            // lost took effect): diff against what is there now.
            let now = weighted_records(clients, zone_id, &fqdn).await?;
            change_weighted(clients, zone_id, &fqdn, desired, &now, poll).await
        }
        r => r,
    }
}

/// One change batch taking `current` to `desired`.
async fn change_weighted(
    clients: &Clients,
    zone_id: &str,
    fqdn: &str,
    desired: &[WeightedRecord],
    current: &[WeightedRecord],
    poll: Duration,
) -> Result<(), AwsError> {
    let mut changes = Vec::new();
    for c in current {
        let kept = desired
            .iter()
            .any(|d| d.set_id == c.set_id && d.value.rr_type() == c.value.rr_type());
        if !kept {
            changes.push(
                Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(record_set(fqdn, c)?)
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
                .resource_record_set(record_set(fqdn, d)?)
                .build()
                .map_err(build_err)?,
        );
    }
    change_batch(clients, zone_id, changes, "berth: weighted route", poll).await
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
    let cfg = cfg.build().map_err(build_err)?;
    // Retried here, not by the SDK: after a lost answer the check exists
    // (and not every API honours the caller reference), so look first.
    let policy = Policy::of(clients.route53.config().retry_config());
    let mut attempt = 1;
    let id = loop {
        let sent = clients
            .route53
            .create_health_check()
            .caller_reference(caller_reference)
            .health_check_config(cfg.clone())
            .customize()
            .config_override(
                aws_sdk_route53::config::Builder::default().retry_config(retry::sdk_retries_off()),
            )
            .send()
            .await;
        match sent {
            Ok(out) => {
                break out
                    .health_check()
                    .map(|h| h.id().to_string())
                    .unwrap_or_default();
            }
            Err(e) => {
                let err = AwsError::from_sdk("CreateHealthCheck", e);
                if !err.is_transient() {
                    return Err(err);
                }
                // A lookup that fails too is retried with the create.
                match health_check_by_reference(clients, caller_reference).await {
                    Ok(Some(id)) => {
                        tracing::info!(
                            "CreateHealthCheck answered {err}, but check {id} exists: adopted"
                        );
                        break id;
                    }
                    Ok(None) => {}
                    Err(look) if look.is_transient() => {}
                    Err(look) => return Err(look),
                }
                if attempt >= policy.attempts {
                    return Err(err);
                }
                policy.pause(attempt).await;
                attempt += 1;
            }
        }
    };
    if let Err(e) = tag_health_check(clients, &id, tags).await {
        // Not left half made: its reference would find it again, but
        // nothing in a state names it.
        let _ = delete_health_check(clients, &id).await;
        return Err(e);
    }
    Ok(id)
}

/// Adds `tags` to a health check (tags it already has are rewritten).
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn tag_health_check(
    clients: &Clients,
    id: &str,
    tags: &[(String, String)],
) -> Result<(), AwsError> {
    if tags.is_empty() {
        return Ok(());
    }
    clients
        .route53
        .change_tags_for_resource()
        .resource_type(TagResourceType::Healthcheck)
        .resource_id(id)
        .set_add_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ChangeTagsForResource", e))?;
    Ok(())
}

/// The health check created with `caller_reference`, if any (the lowest
/// id when there are several).
///
/// # Errors
/// [`AwsError`] when a page fails.
pub async fn health_check_by_reference(
    clients: &Clients,
    caller_reference: &str,
) -> Result<Option<String>, AwsError> {
    Ok(all_health_checks(clients)
        .await?
        .into_iter()
        .filter(|(_, r)| r == caller_reference)
        .map(|(id, _)| id)
        .min())
}

/// Every health check of the account: id → caller reference.
async fn all_health_checks(clients: &Clients) -> Result<BTreeMap<String, String>, AwsError> {
    let mut all = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = clients
            .route53
            .list_health_checks()
            .set_marker(marker.clone())
            .max_items(1000)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListHealthChecks", e))?;
        all.extend(
            page.health_checks()
                .iter()
                .map(|h| (h.id().to_string(), h.caller_reference().to_string())),
        );
        match page.next_marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_string()),
            _ => return Ok(all),
        }
    }
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

/// The ids of `owner`'s health checks (see [`owned_health_checks`]).
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn health_checks_owned_by(
    clients: &Clients,
    owner: &str,
) -> Result<Vec<String>, AwsError> {
    Ok(owned_health_checks(clients, owner)
        .await?
        .into_keys()
        .collect())
}

/// `owner`'s health checks, id → caller reference: the ones whose
/// reference names the owner ([`health_check_ref`]), tagged or not (a lost answer
/// can leave one untagged). One listing of the account's checks.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn owned_health_checks(
    clients: &Clients,
    owner: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let prefix = health_check_ref::owner_prefix(owner);
    let mut all = all_health_checks(clients).await?;
    all.retain(|_, reference| reference.starts_with(&prefix));
    Ok(all)
}

/// Any record set berth manages for a region pool, in plain terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSet {
    /// Canonical name.
    pub name: String,
    /// Set identifier.
    pub set_id: String,
    /// Latency region, for latency records.
    pub region: Option<String>,
    /// `PRIMARY` / `SECONDARY`, for failover records.
    pub failover: Option<String>,
    /// Alias target in the same zone (canonical name), for alias records.
    pub alias: Option<String>,
    /// Plain value (when not an alias).
    pub value: Option<RecordValue>,
    /// TTL (plain records).
    pub ttl: i64,
    /// Health check.
    pub health_check_id: Option<String>,
}

impl RecordSet {
    fn rr_type(&self) -> RrType {
        match &self.value {
            Some(RecordValue::A(_)) => RrType::A,
            _ => RrType::Cname,
        }
    }

    fn to_sdk(&self, zone_id: &str) -> Result<ResourceRecordSet, AwsError> {
        let mut b = ResourceRecordSet::builder()
            .name(&self.name)
            .r#type(self.rr_type())
            .set_identifier(&self.set_id)
            .set_health_check_id(self.health_check_id.clone());
        if let Some(r) = &self.region {
            b = b.region(aws_sdk_route53::types::ResourceRecordSetRegion::from(
                r.as_str(),
            ));
        }
        if let Some(f) = &self.failover {
            b = b.failover(aws_sdk_route53::types::ResourceRecordSetFailover::from(
                f.as_str(),
            ));
        }
        if let Some(a) = &self.alias {
            b = b.alias_target(
                aws_sdk_route53::types::AliasTarget::builder()
                    .hosted_zone_id(zone_id)
                    .dns_name(a)
                    .evaluate_target_health(true)
                    .build()
                    .map_err(build_err)?,
            );
        } else {
            b = b.ttl(self.ttl);
            let values = match &self.value {
                Some(RecordValue::Cname(h)) => vec![h.clone()],
                Some(RecordValue::A(a)) => a.clone(),
                None => vec![],
            };
            for v in values {
                b = b.resource_records(
                    ResourceRecord::builder()
                        .value(v)
                        .build()
                        .map_err(build_err)?,
                );
            }
        }
        b.build().map_err(build_err)
    }

    fn from_sdk(rs: &ResourceRecordSet) -> Option<RecordSet> {
        let set_id = rs.set_identifier()?.to_string();
        let values: Vec<String> = rs
            .resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect();
        let value = if rs.alias_target().is_some() {
            None
        } else {
            match rs.r#type() {
                RrType::Cname => Some(RecordValue::Cname(
                    values.first().cloned().unwrap_or_default(),
                )),
                RrType::A => {
                    let mut v = values;
                    v.sort();
                    Some(RecordValue::A(v))
                }
                _ => return None,
            }
        };
        Some(RecordSet {
            name: canonical(rs.name()),
            set_id,
            region: rs.region().map(|r| r.as_str().to_string()),
            failover: rs.failover().map(|f| f.as_str().to_string()),
            alias: rs.alias_target().map(|a| canonical(a.dns_name())),
            value,
            ttl: if rs.alias_target().is_some() {
                0
            } else {
                rs.ttl().unwrap_or(0)
            },
            health_check_id: rs.health_check_id().map(str::to_string),
        })
    }

    /// A one-line description (for state and messages).
    pub fn describe(&self) -> String {
        let what = match (&self.alias, &self.value) {
            (Some(a), _) => format!("alias → {a}"),
            (None, Some(RecordValue::Cname(h))) => format!("CNAME {h}"),
            (None, Some(RecordValue::A(a))) => format!("A {}", a.join(" ")),
            (None, None) => "empty".into(),
        };
        let policy = match (&self.region, &self.failover) {
            (Some(r), _) => format!("latency {r}"),
            (None, Some(f)) => format!("failover {}", f.to_lowercase()),
            _ => "simple".into(),
        };
        let hc = self
            .health_check_id
            .as_ref()
            .map(|h| format!(", health check {h}"))
            .unwrap_or_default();
        format!("{} [{policy}] {what}{hc}", self.name.trim_end_matches('.'))
    }
}

/// Record sets with a set identifier whose name is `fqdn` or ends with
/// `.pool.<fqdn>` (a region pool's records). Lists only `fqdn` and the
/// names below it, not the whole zone.
///
/// # Errors
/// [`AwsError`] when a page fails.
pub async fn pool_record_sets(
    clients: &Clients,
    zone_id: &str,
    fqdn: &str,
) -> Result<Vec<RecordSet>, AwsError> {
    let key = listing_key(fqdn);
    // A name that goes on with a character sorting before `.` (`glob-2`
    // after `glob`) can fall in between; it is read and left out by `pool`.
    let sets = record_sets_from(clients, zone_id, Some(fqdn), |name| {
        listing_key(name)
            .strip_prefix(&key)
            .is_some_and(|rest| rest.chars().next().is_none_or(|c| c <= '.'))
    })
    .await?;
    Ok(ZoneRecords::from_sets(sets).pool(fqdn))
}

/// One listing of a hosted zone, indexed for every kind of reader: the
/// reads of all resources in one zone during a refresh share it instead
/// of listing the zone (or a name) once each.
#[derive(Clone, Debug, Default)]
pub struct ZoneRecords {
    /// Simple A records by canonical name.
    a: BTreeMap<String, ARecord>,
    /// Record sets with a set identifier, by canonical name.
    by_name: BTreeMap<String, Vec<ResourceRecordSet>>,
    /// Region pool members (`<region>.pool.<fqdn>`), by the pool's `fqdn`.
    pool_members: BTreeMap<String, Vec<ResourceRecordSet>>,
}

impl ZoneRecords {
    /// Indexes a zone's record sets.
    pub fn from_sets(sets: Vec<ResourceRecordSet>) -> ZoneRecords {
        let mut z = ZoneRecords::default();
        for rs in sets {
            if let Some((name, rec)) = a_record_of(&rs) {
                z.a.insert(name, rec);
                continue;
            }
            if rs.set_identifier().is_none() {
                continue;
            }
            let name = canonical(rs.name());
            if let Some((_, owner)) = name.split_once(".pool.") {
                z.pool_members
                    .entry(owner.to_string())
                    .or_default()
                    .push(rs.clone());
            }
            z.by_name.entry(name).or_default().push(rs);
        }
        z
    }

    /// A listing of berth's own record kinds, as a fake cloud answers:
    /// simple A records and weighted records (`fqdn` → record) and region
    /// pool record sets.
    ///
    /// # Errors
    /// [`AwsError`] when a record cannot be expressed as a record set.
    pub fn from_records(
        zone_id: &str,
        a: impl IntoIterator<Item = (String, ARecord)>,
        weighted: impl IntoIterator<Item = (String, WeightedRecord)>,
        pool: impl IntoIterator<Item = RecordSet>,
    ) -> Result<ZoneRecords, AwsError> {
        let mut sets = Vec::new();
        for (fqdn, r) in weighted {
            sets.push(record_set(&canonical(&fqdn), &r)?);
        }
        for rs in pool {
            sets.push(rs.to_sdk(zone_id)?);
        }
        let mut z = ZoneRecords::from_sets(sets);
        z.a.extend(a.into_iter().map(|(name, r)| (canonical(&name), r)));
        Ok(z)
    }

    /// Every simple A record of the zone, by canonical name.
    pub fn a_records(&self) -> &BTreeMap<String, ARecord> {
        &self.a
    }

    /// The simple A record named `fqdn`, if any.
    pub fn a_record(&self, fqdn: &str) -> Option<&ARecord> {
        self.a.get(&canonical(fqdn))
    }

    /// Every weighted record set of `fqdn`, by set identifier (as
    /// [`weighted_records`] reads them).
    pub fn weighted(&self, fqdn: &str) -> Vec<WeightedRecord> {
        let mut out: Vec<WeightedRecord> = self
            .by_name
            .get(&canonical(fqdn))
            .into_iter()
            .flatten()
            .filter_map(weighted_of)
            .collect();
        out.sort_by(|a, b| a.set_id.cmp(&b.set_id));
        out
    }

    /// The record sets of the region pool at `fqdn` (as
    /// [`pool_record_sets`] reads them).
    pub fn pool(&self, fqdn: &str) -> Vec<RecordSet> {
        let want = canonical(fqdn);
        let mut out: Vec<RecordSet> = self
            .by_name
            .get(&want)
            .into_iter()
            .chain(self.pool_members.get(&want))
            .flatten()
            .filter_map(RecordSet::from_sdk)
            .collect();
        out.sort_by(|a, b| (&a.name, &a.set_id).cmp(&(&b.name, &b.set_id)));
        out
    }
}

/// One paginated listing of `zone_id`, indexed.
///
/// # Errors
/// [`AwsError`] when a page fails.
pub async fn zone_records(clients: &Clients, zone_id: &str) -> Result<ZoneRecords, AwsError> {
    Ok(ZoneRecords::from_sets(
        all_record_sets(clients, zone_id).await?,
    ))
}

/// Takes the record sets from `current` to `desired` so that every alias
/// always points at an existing record: (1) create/update plain records,
/// (2) create/update/delete aliases, (3) delete plain records no longer
/// wanted — three batches, each waited on until in sync.
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn apply_record_sets(
    clients: &Clients,
    zone_id: &str,
    desired: &[RecordSet],
    current: &[RecordSet],
    poll: Duration,
) -> Result<(), AwsError> {
    match apply_phases(clients, zone_id, desired, current, poll).await {
        Err(e) if is_stale_batch(&e) => {
            // `current` no longer holds (a change whose answer was lost took
            // effect): read the same record sets again and go from there.
            let keys: Vec<(String, String)> = desired
                .iter()
                .chain(current)
                .map(|r| (r.name.clone(), r.set_id.clone()))
                .collect();
            let now: Vec<RecordSet> = all_record_sets(clients, zone_id)
                .await?
                .iter()
                .filter_map(RecordSet::from_sdk)
                .filter(|r| keys.contains(&(r.name.clone(), r.set_id.clone())))
                .collect();
            apply_phases(clients, zone_id, desired, &now, poll).await
        }
        r => r,
    }
}

/// The three phases of [`apply_record_sets`] from `current`.
async fn apply_phases(
    clients: &Clients,
    zone_id: &str,
    desired: &[RecordSet],
    current: &[RecordSet],
    poll: Duration,
) -> Result<(), AwsError> {
    let key = |r: &RecordSet| {
        (
            r.name.clone(),
            r.set_id.clone(),
            r.rr_type().as_str().to_string(),
        )
    };
    let change = |action: ChangeAction, r: &RecordSet| -> Result<Change, AwsError> {
        Change::builder()
            .action(action)
            .resource_record_set(r.to_sdk(zone_id)?)
            .build()
            .map_err(build_err)
    };
    let mut phase1 = Vec::new();
    let mut phase2 = Vec::new();
    let mut phase3 = Vec::new();
    for d in desired {
        if current.contains(d) {
            continue;
        }
        let c = change(ChangeAction::Upsert, d)?;
        if d.alias.is_some() {
            phase2.push(c)
        } else {
            phase1.push(c)
        }
    }
    for c in current {
        if desired.iter().any(|d| key(d) == key(c)) {
            continue;
        }
        let ch = change(ChangeAction::Delete, c)?;
        if c.alias.is_some() {
            phase2.push(ch)
        } else {
            phase3.push(ch)
        }
    }
    let comment = "berth: region pool";
    change_batch(clients, zone_id, phase1, comment, poll).await?;
    change_batch(clients, zone_id, phase2, comment, poll).await?;
    change_batch(clients, zone_id, phase3, comment, poll).await
}

//! Route53 as the rollout engine's DNS port: the app's origin record (one
//! multi-value A record) and the zone lookups around it.
//!
//! Guarantees:
//! - [`Route53Origin::point`] is one atomic UPSERT (or DELETE for no
//!   targets) and returns only once Route53 reports the change `INSYNC`.
//!   Both are safe to repeat after a lost answer: an UPSERT converges, a
//!   DELETE rejected because the record already changed is recomputed
//!   from a fresh read.
//! - Names are compared in Route53's canonical form: lowercase, fully
//!   qualified, with the trailing dot.
//! - Change batches to one zone are submitted one at a time per process
//!   (their INSYNC waits run in parallel).
//! - Reads of many records share one paginated listing per zone
//!   ([`crate::routing::zone_records`]) instead of one call per record.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType,
};
use berth_rollout::{Dns, PortError};

use crate::config::Clients;
use crate::error::AwsError;

/// A hosted zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostedZone {
    /// HostedZone id without the `/hostedzone/` prefix, e.g. `Z0123ABC`.
    pub id: String,
    /// HostedZone name, canonical (`example.com.`).
    pub name: String,
}

/// A simple (not weighted, not latency) A record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ARecord {
    /// TTL in seconds.
    pub ttl: i64,
    /// The addresses, sorted.
    pub values: Vec<String>,
}

/// The canonical form of a DNS name: lowercase, trailing dot.
pub fn canonical(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    if n.ends_with('.') { n } else { format!("{n}.") }
}

fn strip_zone_prefix(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// Finds a hosted zone by id (`Z…`, with or without `/hostedzone/`) or by
/// name (`example.com`). Private and public zones are both found; when
/// several zones share a name, the one with the lowest id is used.
///
/// # Errors
/// [`AwsError::Service`] with code `NoSuchHostedZone` when there is none.
pub async fn find_zone(clients: &Clients, zone: &str) -> Result<HostedZone, AwsError> {
    let zone = zone.trim();
    if is_zone_id(zone) {
        let out = clients
            .route53
            .get_hosted_zone()
            .id(strip_zone_prefix(zone))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetHostedZone", e))?;
        let z = out.hosted_zone().ok_or_else(|| no_zone(zone))?;
        return Ok(HostedZone {
            id: strip_zone_prefix(z.id()).to_string(),
            name: canonical(z.name()),
        });
    }
    let want = canonical(zone);
    let out = clients
        .route53
        .list_hosted_zones_by_name()
        .dns_name(&want)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ListHostedZonesByName", e))?;
    out.hosted_zones()
        .iter()
        .filter(|z| canonical(z.name()) == want)
        .map(|z| HostedZone {
            id: strip_zone_prefix(z.id()).to_string(),
            name: canonical(z.name()),
        })
        .min_by(|a, b| a.id.cmp(&b.id))
        .ok_or_else(|| no_zone(zone))
}

/// True when `zone` is a hosted zone id (`Z…`, maybe with `/hostedzone/`)
/// rather than a zone name.
fn is_zone_id(zone: &str) -> bool {
    let zone = zone.trim();
    !zone.contains('.')
        && strip_zone_prefix(zone)
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The canonical name of the zone `zone` names, known without a lookup;
/// `None` when `zone` is a zone id, whose name only Route53 knows.
pub fn zone_name(zone: &str) -> Option<String> {
    (!is_zone_id(zone)).then(|| canonical(zone))
}

fn no_zone(zone: &str) -> AwsError {
    AwsError::Service {
        operation: "ListHostedZonesByName",
        code: "NoSuchHostedZone".into(),
        message: format!("no hosted zone {zone:?}"),
    }
}

/// The fully qualified record name for `name` in `zone`: a name already
/// inside the zone is kept, a relative one (`web`) gets the zone appended.
pub fn record_name(zone: &HostedZone, name: &str) -> String {
    qualify(&zone.name, name)
}

/// [`record_name`] for the zone named `zone_name` (canonical, as
/// [`zone_name`] gives it).
pub fn qualify(zone_name: &str, name: &str) -> String {
    let n = canonical(name);
    if n == zone_name || n.ends_with(&format!(".{zone_name}")) {
        n
    } else {
        format!("{}.{zone_name}", n.trim_end_matches('.'))
    }
}

/// A record name as Route53 lists it, with its escapes decoded and in
/// canonical form.
pub fn decode_name(n: &str) -> String {
    // Route53 escapes `*` as `\052`.
    canonical(&n.replace("\\052", "*"))
}

/// `rs` as a simple A record (no set identifier, no alias), by its
/// decoded canonical name.
pub(crate) fn a_record_of(rs: &ResourceRecordSet) -> Option<(String, ARecord)> {
    if rs.r#type() != &RrType::A || rs.set_identifier().is_some() || rs.alias_target().is_some() {
        return None;
    }
    let mut values: Vec<String> = rs
        .resource_records()
        .iter()
        .map(|r| r.value().to_string())
        .collect();
    values.sort();
    Some((
        decode_name(rs.name()),
        ARecord {
            ttl: rs.ttl().unwrap_or(0),
            values,
        },
    ))
}

/// Every record set of a zone, each once: one paginated listing.
///
/// # Errors
/// [`AwsError`] when a page fails.
pub(crate) async fn all_record_sets(
    clients: &Clients,
    zone_id: &str,
) -> Result<Vec<ResourceRecordSet>, AwsError> {
    record_sets_from(clients, zone_id, None, |_| true).await
}

/// `name` with its labels reversed (`com.example.www`): Route53 lists
/// record sets in the order of this key, so the sets of a name and of all
/// names below it are the ones whose key starts with the name's key.
pub(crate) fn listing_key(name: &str) -> String {
    let c = canonical(name);
    let mut labels: Vec<&str> = c.trim_end_matches('.').split('.').collect();
    labels.reverse();
    labels.join(".")
}

/// Record sets of a zone in Route53's order, each once, from the first set
/// named `start` or after (`None`: the zone's first) up to the first set
/// whose canonical name fails `go_on`: a paginated listing (300 per page)
/// that reads only the range it is asked for.
///
/// A page boundary can fall inside a group of weighted sets of one name and
/// type; Route53 then resumes at the next set identifier, but an API that
/// ignores `StartRecordIdentifier` (moto does) resumes at the group's first
/// set, so sets already read are skipped.
///
/// # Errors
/// [`AwsError`] when a page fails, or when a page brings nothing new.
pub(crate) async fn record_sets_from(
    clients: &Clients,
    zone_id: &str,
    start: Option<&str>,
    go_on: impl Fn(&str) -> bool,
) -> Result<Vec<ResourceRecordSet>, AwsError> {
    let mut out = Vec::new();
    let mut seen: HashSet<(String, String, Option<String>)> = HashSet::new();
    let mut next: Option<(String, Option<RrType>, Option<String>)> =
        start.map(|n| (canonical(n), None, None));
    loop {
        let mut req = clients
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .max_items(300);
        if let Some((name, ty, ident)) = next.take() {
            req = req
                .start_record_name(name)
                .set_start_record_type(ty)
                .set_start_record_identifier(ident);
        }
        let page = req
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListResourceRecordSets", e))?;
        let before = out.len();
        for rs in page.resource_record_sets() {
            if !go_on(&canonical(rs.name())) {
                return Ok(out);
            }
            if seen.insert((
                rs.name().to_string(),
                rs.r#type().as_str().to_string(),
                rs.set_identifier().map(str::to_string),
            )) {
                out.push(rs.clone());
            }
        }
        match (
            page.is_truncated(),
            page.next_record_name(),
            page.next_record_type(),
        ) {
            (true, Some(n), Some(t)) => {
                if out.len() == before {
                    return Err(AwsError::Service {
                        operation: "ListResourceRecordSets",
                        code: "RepeatedPage".into(),
                        message: format!(
                            "zone {zone_id}: a page brought no record set not read before (more than 300 share one name and type?)"
                        ),
                    });
                }
                next = Some((
                    n.to_string(),
                    Some(t.clone()),
                    page.next_record_identifier().map(str::to_string),
                ));
            }
            _ => return Ok(out),
        }
    }
}

/// The simple A record `fqdn` in `zone_id`, if any (one call).
///
/// # Errors
/// [`AwsError`] when the call fails.
pub async fn a_record(
    clients: &Clients,
    zone_id: &str,
    fqdn: &str,
) -> Result<Option<ARecord>, AwsError> {
    let want = canonical(fqdn);
    let page = clients
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .start_record_name(&want)
        .start_record_type(RrType::A)
        .max_items(10)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ListResourceRecordSets", e))?;
    Ok(page
        .resource_record_sets()
        .iter()
        .filter_map(a_record_of)
        .find(|(n, _)| *n == want)
        .map(|(_, r)| r))
}

/// Whether Route53 rejected a change batch because the record sets it was
/// computed from no longer hold (a DELETE of a set already gone or already
/// changed, e.g. by an earlier attempt whose answer was lost): AWS says
/// `InvalidChangeBatch`, moto `InvalidInput`.
pub(crate) fn is_stale_batch(e: &AwsError) -> bool {
    matches!(e.code(), Some("InvalidChangeBatch" | "InvalidInput"))
}

/// A request that could not be built (a bug), as an [`AwsError`].
pub(crate) fn build_err(e: aws_sdk_route53::error::BuildError) -> AwsError {
    AwsError::Config(format!("Route53 request: {e}"))
}

fn record_set(fqdn: &str, ttl: i64, values: &[String]) -> Result<ResourceRecordSet, AwsError> {
    let mut rs = ResourceRecordSet::builder()
        .name(fqdn)
        .r#type(RrType::A)
        .ttl(ttl);
    for v in values {
        rs = rs.resource_records(
            ResourceRecord::builder()
                .value(v)
                .build()
                .map_err(build_err)?,
        );
    }
    rs.build().map_err(build_err)
}

/// Applies `changes` as one atomic change batch (nothing to do when
/// empty) and waits until Route53 reports it in sync.
///
/// # Errors
/// [`AwsError`] when a call fails or the change is not in sync in 10 min.
pub(crate) async fn change_batch(
    clients: &Clients,
    zone_id: &str,
    changes: Vec<Change>,
    comment: &str,
    poll: Duration,
) -> Result<(), AwsError> {
    if changes.is_empty() {
        return Ok(());
    }
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .comment(comment)
        .build()
        .map_err(build_err)?;
    let out = {
        // One submission per zone at a time from this process: Route53
        // answers concurrent changes to a zone with PriorRequestNotComplete,
        // and moto applies them as racing read-modify-writes of the zone's
        // record list (one change can undo another). The wait for INSYNC
        // below is not serialised.
        let zone_lock = zone_lock(zone_id);
        let _submitting = zone_lock.lock().await;
        clients
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ChangeResourceRecordSets", e))?
    };
    match out.change_info() {
        Some(info) => wait_in_sync(clients, info.id(), info.status().clone(), poll).await,
        None => Ok(()),
    }
}

/// The lock that serialises change submissions to `zone_id` within this
/// process.
fn zone_lock(zone_id: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    static LOCKS: std::sync::OnceLock<
        std::sync::Mutex<BTreeMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    > = std::sync::OnceLock::new();
    let locks = LOCKS.get_or_init(Default::default);
    let mut map = locks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry(zone_id.to_string()).or_default().clone()
}

/// Waits until change `id` is `INSYNC` (at most 10 minutes).
async fn wait_in_sync(
    clients: &Clients,
    id: &str,
    mut status: ChangeStatus,
    poll: Duration,
) -> Result<(), AwsError> {
    const DEADLINE: Duration = Duration::from_secs(600);
    let id = id.trim_start_matches("/change/").to_string();
    let started = tokio::time::Instant::now();
    while status != ChangeStatus::Insync {
        if started.elapsed() > DEADLINE {
            return Err(AwsError::Service {
                operation: "GetChange",
                code: "Timeout".into(),
                message: format!("change {id} not in sync after {} s", DEADLINE.as_secs()),
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

/// Sets the A record `fqdn` to exactly `values` (sorted, deduplicated)
/// with `ttl`, or deletes it when `values` is empty; waits for INSYNC.
///
/// # Errors
/// [`AwsError`] when a call fails or the change is not in sync in time.
pub async fn set_a_record(
    clients: &Clients,
    zone_id: &str,
    fqdn: &str,
    ttl: i64,
    values: &[String],
    poll: Duration,
) -> Result<(), AwsError> {
    let fqdn = canonical(fqdn);
    let mut values = values.to_vec();
    values.sort();
    values.dedup();
    if values.is_empty() {
        // Twice at most: a DELETE computed from a record a lost change
        // already removed or changed is rejected; read it again.
        for tries_left in [true, false] {
            let Some(current) = a_record(clients, zone_id, &fqdn).await? else {
                return Ok(());
            };
            let del = Change::builder()
                .action(ChangeAction::Delete)
                .resource_record_set(record_set(&fqdn, current.ttl, &current.values)?)
                .build()
                .map_err(build_err)?;
            match change_batch(clients, zone_id, vec![del], "berth: delete origin", poll).await {
                Err(e) if tries_left && is_stale_batch(&e) => continue,
                r => return r,
            }
        }
        return Ok(());
    }
    let up = Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(record_set(&fqdn, ttl, &values)?)
        .build()
        .map_err(build_err)?;
    change_batch(clients, zone_id, vec![up], "berth: point origin", poll).await
}

/// The app's origin record as the engine's DNS port.
pub struct Route53Origin {
    clients: Clients,
    zone_id: String,
    fqdn: String,
    ttl: i64,
    poll: Duration,
}

impl Route53Origin {
    /// The record `fqdn` in `zone_id` with `ttl` seconds; `poll` is the
    /// GetChange interval.
    pub fn new(clients: Clients, zone_id: &str, fqdn: &str, ttl: i64, poll: Duration) -> Self {
        Route53Origin {
            clients,
            zone_id: zone_id.to_string(),
            fqdn: canonical(fqdn),
            ttl,
            poll,
        }
    }
}

#[async_trait]
impl Dns for Route53Origin {
    async fn point(&self, targets: &[String]) -> Result<(), PortError> {
        set_a_record(
            &self.clients,
            &self.zone_id,
            &self.fqdn,
            self.ttl,
            targets,
            self.poll,
        )
        .await
        .map_err(|e| PortError::new(format!("Route53 record {}", self.fqdn), e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_name_is_known_without_a_lookup_and_an_id_is_not() {
        assert_eq!(zone_name("Example.com"), Some("example.com.".into()));
        assert_eq!(zone_name(" example.com. "), Some("example.com.".into()));
        assert_eq!(zone_name("Z0123ABC"), None);
        assert_eq!(zone_name("/hostedzone/Z0123ABC"), None);
        // What the plan computes is what the apply stores.
        let found = HostedZone {
            id: "Z1".into(),
            name: canonical("example.com"),
        };
        let planned = zone_name("example.com").unwrap();
        for n in ["web", "web.example.com", "a.b", "example.com"] {
            assert_eq!(qualify(&planned, n), record_name(&found, n), "{n}");
        }
    }

    #[test]
    fn names_are_canonical_and_relative_names_join_the_zone() {
        let z = HostedZone {
            id: "Z1".into(),
            name: "example.com.".into(),
        };
        assert_eq!(canonical("Web.Example.com"), "web.example.com.");
        assert_eq!(record_name(&z, "web"), "web.example.com.");
        assert_eq!(record_name(&z, "web.example.com"), "web.example.com.");
        assert_eq!(record_name(&z, "WEB.example.com."), "web.example.com.");
        assert_eq!(record_name(&z, "example.com"), "example.com.");
        // A name that merely ends with the zone's text is not inside it.
        assert_eq!(
            record_name(&z, "badexample.com"),
            "badexample.com.example.com."
        );
        assert_eq!(decode_name("\\052.example.com."), "*.example.com.");
    }
}

//! EC2 as the rollout engine's compute and probe: launching tagged
//! instances, finding them again by tag, reading the health they report.
//!
//! Guarantees:
//! - Every instance carries `berth:managed-by=berth`, `berth:app`,
//!   `berth:release`, `berth:fingerprint` and `berth:batch`, set atomically
//!   at launch (TagSpecifications), so any later apply finds it.
//! - A launch call is idempotent: it first adopts live instances tagged
//!   with the same (app, fingerprint, batch, rollout id) and launches only
//!   the shortfall; each RunInstances also carries a client token, so an
//!   SDK retry after a lost response returns the same instances on AWS.
//!   Where client tokens are not honoured (moto), the duplicates such a
//!   retry starts are found by the same tags and terminated before
//!   `launch` returns; a launch that fails terminates what it started.
//! - Inventory is one tag-filtered, paginated DescribeInstances for all
//!   apps at once ([`inventory`]); callers share it instead of one call
//!   per resource.
//! - Health comes from the instance's own `berth:health` tag (written by
//!   its health reporter), so no network path to the instance is needed.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, InstanceStateName, ResourceType, Tag, TagSpecification};
use berth_rollout::{Compute, Health, Instance, InstanceState, PortError, Probe, Release};

use crate::config::Clients;
use crate::error::AwsError;

/// Tag keys berth writes.
pub mod tags {
    /// Marks every object berth manages.
    pub const MANAGED_BY: &str = "berth:managed-by";
    /// The app name.
    pub const APP: &str = "berth:app";
    /// The release number.
    pub const RELEASE: &str = "berth:release";
    /// The release fingerprint.
    pub const FINGERPRINT: &str = "berth:fingerprint";
    /// The launch batch.
    pub const BATCH: &str = "berth:batch";
    /// Health reported by the instance itself.
    pub const HEALTH: &str = "berth:health";
    /// The rollout that launched the instance.
    pub const ROLLOUT: &str = "berth:rollout";
}

/// Which of an instance's addresses the origin record points at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AddressKind {
    /// The public IPv4 address, falling back to the private one.
    #[default]
    Public,
    /// The private IPv4 address (origins reached inside the VPC).
    Private,
}

impl AddressKind {
    /// Sets `instance.address` to the address of this kind.
    pub fn apply(self, mut instance: Instance) -> Instance {
        instance.address = match self {
            AddressKind::Public => instance.public_ip.clone().or(instance.private_ip.clone()),
            AddressKind::Private => instance.private_ip.clone(),
        };
        instance
    }
}

/// How instances of an app are launched.
#[derive(Clone, Debug, Default)]
pub struct LaunchSpec {
    /// App name.
    pub app: String,
    /// AMI id.
    pub ami: String,
    /// Instance type, e.g. `t3.small`.
    pub instance_type: String,
    /// Subnets to spread over (round-robin); empty: the default VPC.
    pub subnets: Vec<String>,
    /// Security groups.
    pub security_groups: Vec<String>,
    /// Key pair name.
    pub key_name: Option<String>,
    /// Instance profile name.
    pub instance_profile: Option<String>,
    /// The one release this compute launches, with its user-data (none:
    /// this compute only refreshes and terminates).
    pub payload: Option<LaunchPayload>,
    /// Extra tags (default tags and the user's).
    pub tags: BTreeMap<String, String>,
    /// Distinguishes this rollout's client tokens from earlier ones.
    pub rollout_id: String,
    /// Which address the origin record uses.
    pub address: AddressKind,
}

/// What every instance of one release boots: the release (number, image,
/// fingerprint) and its user-data, encoded once for RunInstances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchPayload {
    release: Release,
    user_data: String,
}

impl LaunchPayload {
    /// The payload of `release` whose instances run `script`.
    ///
    /// # Errors
    /// [`UserDataTooLarge`] when the script does not fit EC2's limit even
    /// compressed.
    pub fn new(release: Release, script: &str) -> Result<LaunchPayload, UserDataTooLarge> {
        Ok(LaunchPayload {
            release,
            user_data: encode_user_data(script)?,
        })
    }

    /// The release it launches.
    pub fn release(&self) -> &Release {
        &self.release
    }

    /// The user-data as RunInstances takes it (see [`encode_user_data`]).
    pub fn encoded_user_data(&self) -> &str {
        &self.user_data
    }

    /// The user-data script as the instance runs it.
    pub fn script(&self) -> String {
        decode_user_data(&self.user_data).unwrap_or_default()
    }
}

/// EC2 compute for one app.
pub struct Ec2Compute {
    clients: Clients,
    spec: LaunchSpec,
}

impl Ec2Compute {
    /// Compute for `spec.app` through `clients`.
    pub fn new(clients: Clients, spec: LaunchSpec) -> Ec2Compute {
        Ec2Compute { clients, spec }
    }

    /// Live instances of this rollout's `batch` of `fingerprint` (found by
    /// their tags; a lost RunInstances answer leaves them too).
    async fn launched_by(&self, fingerprint: &str, batch: u32) -> Result<Vec<Instance>, AwsError> {
        let s = &self.spec;
        let mut pages = self
            .clients
            .ec2
            .describe_instances()
            .filters(tag_filter(tags::APP, &s.app))
            .filters(tag_filter(tags::FINGERPRINT, fingerprint))
            .filters(tag_filter(tags::BATCH, &batch.to_string()))
            .filters(tag_filter(tags::ROLLOUT, &s.rollout_id))
            .filters(live_filter())
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("DescribeInstances", e))?;
            out.extend(
                instances_in(page.reservations())
                    .into_iter()
                    .map(|i| s.address.apply(i)),
            );
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

impl LaunchSpec {
    /// The payload of `release`: this spec launches no other.
    ///
    /// # Errors
    /// A [`PortError`] when the spec has no payload or one of another
    /// release (a caller bug, never a launch of the wrong thing).
    pub fn payload_for(&self, release: &Release) -> Result<&LaunchPayload, PortError> {
        match &self.payload {
            Some(p) if p.release.fingerprint == release.fingerprint => Ok(p),
            Some(p) => Err(PortError::new(
                format!("launch of release {}", release.number),
                format!(
                    "the launch payload is release {}'s ({}), not this one's",
                    p.release.number, p.release.fingerprint
                ),
            )),
            None => Err(PortError::new(
                format!("launch of release {}", release.number),
                "no launch payload (this compute only refreshes and terminates)",
            )),
        }
    }
}

fn port(e: AwsError) -> PortError {
    PortError::new("EC2", e.to_string())
}

/// Standard base64 with padding (what EC2 expects for user-data).
fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A client token: stable for the same inputs, at most 64 characters.
pub fn client_token(
    app: &str,
    fingerprint: &str,
    batch: u32,
    subnet: usize,
    rollout_id: &str,
) -> String {
    let fp: String = fingerprint
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    let app: String = app.chars().take(20).collect();
    let rid: String = rollout_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    format!("berth-{app}-{fp}-{batch}-{subnet}-{rid}")
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

/// A filter on tag `k` having value `v`.
fn tag_filter(k: &str, v: &str) -> Filter {
    Filter::builder().name(format!("tag:{k}")).values(v).build()
}

/// A filter on instances that count towards capacity.
fn live_filter() -> Filter {
    Filter::builder()
        .name("instance-state-name")
        .values("pending")
        .values("running")
        .build()
}

/// The instances of a DescribeInstances answer, in the engine's view.
fn instances_in(reservations: &[aws_sdk_ec2::types::Reservation]) -> Vec<Instance> {
    reservations
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(to_instance)
        .collect()
}

/// Converts an SDK instance to the engine's view (None without an id).
pub fn to_instance(i: &aws_sdk_ec2::types::Instance) -> Option<Instance> {
    let tags: BTreeMap<&str, &str> = i
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
        .collect();
    let state = match i.state().and_then(|s| s.name()) {
        Some(InstanceStateName::Pending) => InstanceState::Pending,
        Some(InstanceStateName::Running) => InstanceState::Running,
        Some(InstanceStateName::Terminated) => InstanceState::Terminated,
        _ => InstanceState::Stopping,
    };
    Some(Instance {
        id: i.instance_id()?.to_string(),
        release: tags
            .get(tags::RELEASE)
            .and_then(|r| r.parse().ok())
            .unwrap_or(0),
        fingerprint: tags
            .get(tags::FINGERPRINT)
            .copied()
            .unwrap_or_default()
            .to_string(),
        zone: i
            .placement()
            .and_then(|p| p.availability_zone())
            .unwrap_or_default()
            .to_string(),
        address: i
            .public_ip_address()
            .or(i.private_ip_address())
            .map(str::to_string),
        private_ip: i.private_ip_address().map(str::to_string),
        public_ip: i.public_ip_address().map(str::to_string),
        state,
        reported_health: tags.get(tags::HEALTH).map(|h| (*h).to_string()),
    })
}

/// Every live berth instance in the region, grouped by app: one
/// tag-filtered, paginated DescribeInstances for all apps at once.
///
/// # Errors
/// [`AwsError`] when a page fails.
pub async fn inventory(clients: &Clients) -> Result<BTreeMap<String, Vec<Instance>>, AwsError> {
    let mut pages = clients
        .ec2
        .describe_instances()
        .filters(tag_filter(tags::MANAGED_BY, "berth"))
        .filters(live_filter())
        .max_results(1000)
        .into_paginator()
        .send();
    let mut out: BTreeMap<String, Vec<Instance>> = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("DescribeInstances", e))?;
        for r in page.reservations() {
            for i in r.instances() {
                let app = i
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some(tags::APP))
                    .and_then(|t| t.value());
                if let (Some(app), Some(inst)) = (app, to_instance(i)) {
                    out.entry(app.to_string()).or_default().push(inst);
                }
            }
        }
    }
    Ok(out)
}

/// Every live instance of one app (one tag-filtered, paginated call),
/// with the origin address chosen by `kind`.
///
/// # Errors
/// [`AwsError`] when a page fails.
pub async fn app_instances(
    clients: &Clients,
    app: &str,
    kind: AddressKind,
) -> Result<Vec<Instance>, AwsError> {
    let mut pages = clients
        .ec2
        .describe_instances()
        .filters(tag_filter(tags::MANAGED_BY, "berth"))
        .filters(tag_filter(tags::APP, app))
        .filters(live_filter())
        .max_results(1000)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("DescribeInstances", e))?;
        out.extend(
            instances_in(page.reservations())
                .into_iter()
                .map(|i| kind.apply(i)),
        );
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The user-data an instance was launched with (decoded).
///
/// # Errors
/// [`AwsError`] when the call fails or the instance has none.
pub async fn user_data(clients: &Clients, id: &str) -> Result<String, AwsError> {
    let out = clients
        .ec2
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeInstanceAttribute", e))?;
    let encoded = out
        .user_data()
        .and_then(|u| u.value())
        .ok_or_else(|| AwsError::Service {
            operation: "DescribeInstanceAttribute",
            code: "NoUserData".into(),
            message: format!("instance {id} has no user-data"),
        })?;
    decode_user_data(encoded).ok_or_else(|| AwsError::Service {
        operation: "DescribeInstanceAttribute",
        code: "BadUserData".into(),
        message: format!(
            "instance {id}: user-data is neither base64 text nor base64 gzip of at most {UNZIPPED_LIMIT} bytes"
        ),
    })
}

/// EC2's limit on user-data, counted on the raw bytes before base64
/// (16 KB; the base64 text may be up to 21,848 characters). Source: the
/// Amazon EC2 User Guide, "Work with instance user data": "User data is
/// limited to 16 KB, in raw form, before it is base64-encoded."
pub const USER_DATA_LIMIT: usize = 16 * 1024;

/// The most a compressed user-data may unpack to when read back: a bound
/// against a decompression bomb planted in an instance's attributes.
pub const UNZIPPED_LIMIT: u64 = 1 << 20;

/// A script that does not fit EC2's user-data limit even compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserDataTooLarge {
    /// The script's size in bytes.
    pub plain: usize,
    /// Its size gzip-compressed.
    pub compressed: usize,
}

impl std::fmt::Display for UserDataTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the generated user-data is {} bytes, {} after gzip; EC2 accepts {USER_DATA_LIMIT} bytes (before base64)",
            self.plain, self.compressed
        )
    }
}

/// `script` as RunInstances takes it: base64 of the script when the script
/// fits EC2's limit, else base64 of the gzip-compressed script (when that
/// fits), which cloud-init unpacks before running it.
///
/// # Errors
/// [`UserDataTooLarge`] when even the compressed form does not fit.
pub fn encode_user_data(script: &str) -> Result<String, UserDataTooLarge> {
    if script.len() <= USER_DATA_LIMIT {
        return Ok(base64(script.as_bytes()));
    }
    let compressed = gzip(script.as_bytes());
    if compressed.len() <= USER_DATA_LIMIT {
        Ok(base64(&compressed))
    } else {
        Err(UserDataTooLarge {
            plain: script.len(),
            compressed: compressed.len(),
        })
    }
}

/// The script in user-data as EC2 returns it: base64 of the text or of its
/// gzip form (unpacked up to [`UNZIPPED_LIMIT`]). `None` when it is
/// neither, or unpacks to more.
pub fn decode_user_data(encoded: &str) -> Option<String> {
    let bytes = unbase64(encoded)?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    use std::io::Read as _;
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .take(UNZIPPED_LIMIT + 1)
        .read_to_end(&mut text)
        .ok()?;
    (text.len() as u64 <= UNZIPPED_LIMIT).then(|| String::from_utf8_lossy(&text).into_owned())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}

/// Decodes standard base64 (as EC2 returns user-data), ignoring line
/// breaks and other whitespace.
pub fn unbase64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

/// Sets `tags` on the given resources and removes the keys in `remove`
/// (berth's own `berth:*` keys are never touched).
///
/// # Errors
/// [`AwsError`] when a call fails.
pub async fn retag(
    clients: &Clients,
    ids: &[String],
    tags: &BTreeMap<String, String>,
    remove: &[String],
) -> Result<(), AwsError> {
    if ids.is_empty() {
        return Ok(());
    }
    let set: Vec<Tag> = tags
        .iter()
        .filter(|(k, _)| !k.starts_with("berth:") && k.as_str() != "Name")
        .map(|(k, v)| tag(k, v))
        .collect();
    if !set.is_empty() {
        clients
            .ec2
            .create_tags()
            .set_resources(Some(ids.to_vec()))
            .set_tags(Some(set))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("CreateTags", e))?;
    }
    let del: Vec<Tag> = remove
        .iter()
        .filter(|k| !k.starts_with("berth:") && k.as_str() != "Name" && !tags.contains_key(*k))
        .map(|k| Tag::builder().key(k).build())
        .collect();
    if !del.is_empty() {
        clients
            .ec2
            .delete_tags()
            .set_resources(Some(ids.to_vec()))
            .set_tags(Some(del))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteTags", e))?;
    }
    Ok(())
}

/// How long a launch waits for EC2 to know a new instance profile (IAM is
/// eventually consistent; AWS documents no bound, observed delays are
/// seconds).
const PROFILE_PROPAGATION: Duration = Duration::from_secs(120);

/// Sends a RunInstances call, repeating it (same client token: one launch)
/// while EC2 does not yet know the instance profile.
async fn send_waiting_for_profile(
    req: aws_sdk_ec2::operation::run_instances::builders::RunInstancesFluentBuilder,
    app: &str,
) -> Result<aws_sdk_ec2::operation::run_instances::RunInstancesOutput, AwsError> {
    let start = tokio::time::Instant::now();
    let mut pause = Duration::from_secs(2);
    loop {
        match req.clone().send().await {
            Ok(out) => return Ok(out),
            Err(e) => {
                let err = AwsError::from_sdk("RunInstances", e);
                if !crate::iam::is_propagation_error(&err) || start.elapsed() >= PROFILE_PROPAGATION
                {
                    return Err(err);
                }
                tracing::info!(
                    app,
                    "{app}: launch: the instance profile is not known to EC2 yet (IAM propagation); retrying in {} s",
                    pause.as_secs()
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        }
    }
}

#[async_trait]
impl Compute for Ec2Compute {
    async fn launch(
        &self,
        release: &Release,
        count: u32,
        batch: u32,
    ) -> Result<Vec<Instance>, PortError> {
        let s = &self.spec;
        // Adopt what an earlier attempt of this very launch created.
        let kind = s.address;
        let mut out = self
            .launched_by(&release.fingerprint, batch)
            .await
            .map_err(port)?;
        out.truncate(count as usize);
        let count = count - out.len() as u32;
        if count == 0 {
            return Ok(out);
        }
        let subnets: Vec<Option<&str>> = if s.subnets.is_empty() {
            vec![None]
        } else {
            s.subnets.iter().map(|x| Some(x.as_str())).collect()
        };
        // Split the count over subnets round-robin, each batch starting one
        // subnet further, so batches of one still spread over the zones.
        let mut per: Vec<u32> = vec![0; subnets.len()];
        for i in 0..count as usize {
            per[(i + batch as usize) % subnets.len()] += 1;
        }
        let mut tag_list: Vec<Tag> = s.tags.iter().map(|(k, v)| tag(k, v)).collect();
        tag_list.retain(|t| {
            !t.key()
                .is_some_and(|k| k.starts_with("berth:") || k == "Name")
        });
        tag_list.extend([
            tag(tags::MANAGED_BY, "berth"),
            tag(tags::APP, &s.app),
            tag(tags::RELEASE, &release.number.to_string()),
            tag(tags::FINGERPRINT, &release.fingerprint),
            tag(tags::BATCH, &batch.to_string()),
            tag(tags::ROLLOUT, &s.rollout_id),
            tag("Name", &format!("{}-r{}", s.app, release.number)),
        ]);
        let spec = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .set_tags(Some(tag_list))
            .build();
        let user_data = s.payload_for(release)?.encoded_user_data();
        for (idx, (subnet, n)) in subnets.iter().zip(per).enumerate() {
            if n == 0 {
                continue;
            }
            let mut req = self
                .clients
                .ec2
                .run_instances()
                .image_id(&s.ami)
                .instance_type(s.instance_type.as_str().into())
                .min_count(n as i32)
                .max_count(n as i32)
                .user_data(user_data)
                .client_token(client_token(
                    &s.app,
                    &release.fingerprint,
                    batch,
                    idx,
                    &s.rollout_id,
                ))
                .tag_specifications(spec.clone())
                .set_security_group_ids(if s.security_groups.is_empty() {
                    None
                } else {
                    Some(s.security_groups.clone())
                });
            if let Some(sn) = subnet {
                req = req.subnet_id(*sn);
            }
            if let Some(k) = &s.key_name {
                req = req.key_name(k);
            }
            if let Some(p) = &s.instance_profile {
                req = req.iam_instance_profile(
                    aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
                        .name(p)
                        .build(),
                );
            }
            match send_waiting_for_profile(req, &s.app).await {
                Ok(resp) => out.extend(
                    resp.instances()
                        .iter()
                        .filter_map(to_instance)
                        .map(|i| kind.apply(i)),
                ),
                Err(err) => {
                    // Whatever this launch started (an earlier subnet, or
                    // a call whose answer was lost) would be unknown to the
                    // caller: terminate it, the engine rolls back anyway.
                    let left = self.launched_by(&release.fingerprint, batch).await;
                    let ids: Vec<String> = left
                        .map(|l| l.into_iter().map(|i| i.id).collect())
                        .unwrap_or_default();
                    if !ids.is_empty() {
                        tracing::warn!(app = %s.app, "launch failed; terminating what it started: {}", ids.join(", "));
                        let _ = self.terminate(&ids).await;
                    }
                    return Err(port(err));
                }
            }
        }
        // An emulator or API that ignores client tokens starts a second set
        // when a retried RunInstances had taken effect: keep what the calls
        // answered (and what was adopted), terminate the rest. Best effort:
        // what this misses carries the release's tags, and the next apply
        // retires it as surplus.
        match self.launched_by(&release.fingerprint, batch).await {
            Ok(found) => {
                let surplus: Vec<String> = found
                    .into_iter()
                    .map(|i| i.id)
                    .filter(|id| !out.iter().any(|o| &o.id == id))
                    .collect();
                if !surplus.is_empty() {
                    tracing::warn!(app = %s.app, "terminating duplicate instance(s) from a retried launch: {}", surplus.join(", "));
                    if let Err(e) = self.terminate(&surplus).await {
                        tracing::warn!(app = %s.app, "duplicates left for the next apply: {e}");
                    }
                }
            }
            Err(e) => tracing::warn!(app = %s.app, "cannot check the launch for duplicates: {e}"),
        }
        Ok(out)
    }

    async fn refresh(&self, ids: &[String]) -> Result<Vec<Instance>, PortError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let resp = self
            .clients
            .ec2
            .describe_instances()
            .set_instance_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| port(AwsError::from_sdk("DescribeInstances", e)))?;
        Ok(instances_in(resp.reservations())
            .into_iter()
            .map(|i| self.spec.address.apply(i))
            .collect())
    }

    async fn terminate(&self, ids: &[String]) -> Result<(), PortError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.clients
            .ec2
            .terminate_instances()
            .set_instance_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| port(AwsError::from_sdk("TerminateInstances", e)))?;
        Ok(())
    }
}

/// Health from the instance's own `berth:health` tag.
#[derive(Debug, Default)]
pub struct TagProbe;

#[async_trait]
impl Probe for TagProbe {
    async fn check(&self, instance: &Instance) -> Health {
        match instance.reported_health.as_deref() {
            Some("healthy") => Health::Healthy,
            Some(other) if other.starts_with("unhealthy") => Health::Unhealthy(
                other
                    .trim_start_matches("unhealthy")
                    .trim_start_matches(':')
                    .trim()
                    .to_string(),
            ),
            _ => Health::Starting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text that gzip cannot shrink much: hex of an LCG stream.
    fn incompressible(len: usize) -> String {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut out = String::from("#!/bin/bash\n# ");
        while out.len() < len {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            out.push_str(&base64(&x.to_le_bytes()[..6]));
        }
        out.truncate(len);
        out
    }

    #[test]
    fn small_user_data_stays_plain_and_large_is_gzipped_within_the_limit() {
        let small = "#!/bin/bash\necho hi\n";
        let enc = encode_user_data(small).unwrap();
        assert_eq!(unbase64(&enc).unwrap(), small.as_bytes(), "plain base64");
        assert_eq!(decode_user_data(&enc).unwrap(), small);

        // 40 KiB of repetitive script: too big plain, fits compressed.
        let big = format!(
            "#!/bin/bash\n{}",
            "docker compose up -d --wait app\n".repeat(1300)
        );
        assert!(big.len() > USER_DATA_LIMIT * 2);
        let enc = encode_user_data(&big).unwrap();
        assert!(
            unbase64(&enc).unwrap().len() <= USER_DATA_LIMIT,
            "{}",
            enc.len()
        );
        assert_eq!(&unbase64(&enc).unwrap()[..2], &[0x1f, 0x8b], "gzip magic");
        assert_eq!(decode_user_data(&enc).unwrap(), big);

        // The largest plain script that fits stays plain: the limit counts
        // raw bytes, so its base64 form is longer than the limit.
        let edge = incompressible(USER_DATA_LIMIT);
        let enc = encode_user_data(&edge).unwrap();
        assert_eq!(enc.len(), 21_848);
        assert_eq!(unbase64(&enc).unwrap(), edge.as_bytes());
        // One byte more is sent gzipped.
        let over = incompressible(USER_DATA_LIMIT + 1);
        let enc = encode_user_data(&over).unwrap();
        assert_eq!(&unbase64(&enc).unwrap()[..2], &[0x1f, 0x8b], "gzip magic");
    }

    #[test]
    fn user_data_too_large_even_compressed_is_an_error_with_both_sizes() {
        let noise = incompressible(30_000);
        assert!(gzip(noise.as_bytes()).len() > USER_DATA_LIMIT);
        let err = encode_user_data(&noise).unwrap_err();
        assert_eq!(err.plain, 30_000);
        assert!(err.compressed > USER_DATA_LIMIT, "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("30000 bytes") && text.contains(&USER_DATA_LIMIT.to_string()),
            "{text}"
        );
    }

    #[test]
    fn a_decompression_bomb_or_broken_gzip_reads_as_nothing() {
        let bomb = base64(&gzip(&vec![b'a'; (UNZIPPED_LIMIT + 1) as usize]));
        assert!(bomb.len() < 8 * 1024, "the bomb is small: {}", bomb.len());
        assert_eq!(decode_user_data(&bomb), None);
        let at_limit = base64(&gzip(&vec![b'a'; UNZIPPED_LIMIT as usize]));
        assert_eq!(
            decode_user_data(&at_limit).map(|s| s.len()),
            Some(UNZIPPED_LIMIT as usize)
        );
        let mut broken = gzip(b"#!/bin/bash\necho hi\n");
        broken.truncate(broken.len() - 6);
        assert_eq!(decode_user_data(&base64(&broken)), None);
        assert_eq!(decode_user_data("not base64!"), None);
    }

    #[test]
    fn base64_round_trips() {
        for text in [&b""[..], b"f", b"fo", b"foo", b"#!/bin/bash\necho \xff\n"] {
            assert_eq!(unbase64(&base64(text)).unwrap(), text);
        }
        assert_eq!(unbase64("Zm9v\nYmFy").unwrap(), b"foobar");
        assert!(unbase64("Zm9v!").is_none());
    }

    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"#!/bin/bash\n"), "IyEvYmluL2Jhc2gK");
    }

    #[test]
    fn client_tokens_are_stable_bounded_and_distinct_per_batch_and_subnet() {
        let a = client_token("web", "sha256:abcdef0123456789abcdef", 0, 0, "r1");
        assert_eq!(
            a,
            client_token("web", "sha256:abcdef0123456789abcdef", 0, 0, "r1")
        );
        assert_ne!(
            a,
            client_token("web", "sha256:abcdef0123456789abcdef", 1, 0, "r1")
        );
        assert_ne!(
            a,
            client_token("web", "sha256:abcdef0123456789abcdef", 0, 1, "r1")
        );
        assert_ne!(
            a,
            client_token("web", "sha256:abcdef0123456789abcdef", 0, 0, "r2")
        );
        let long = client_token(
            &"x".repeat(100),
            &"f".repeat(100),
            999,
            99,
            &"r".repeat(100),
        );
        assert!(long.len() <= 64, "{} chars", long.len());
    }

    #[tokio::test]
    async fn tag_probe_reads_reported_health() {
        let mut i = Instance {
            id: "i-1".into(),
            release: 1,
            fingerprint: "f".into(),
            zone: "z".into(),
            address: Some("10.0.0.1".into()),
            private_ip: Some("10.0.0.1".into()),
            public_ip: None,
            state: InstanceState::Running,
            reported_health: None,
        };
        assert_eq!(TagProbe.check(&i).await, Health::Starting);
        i.reported_health = Some("healthy".into());
        assert_eq!(TagProbe.check(&i).await, Health::Healthy);
        i.reported_health = Some("unhealthy: GET /up answered 500".into());
        assert_eq!(
            TagProbe.check(&i).await,
            Health::Unhealthy("GET /up answered 500".into())
        );
    }
}

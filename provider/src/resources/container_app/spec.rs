//! The `berth_container_app` configuration as plain Rust: read from its
//! typed model, checked with attribute-named diagnostics, and
//! fingerprinted so instances running the same thing are recognised.
//!
//! Guarantees:
//! - The fingerprint covers exactly what is baked into an instance
//!   (image, command, ports, env, secret references, memory, sidecars,
//!   instance type, explicit AMI, placement, key pair, profile, local
//!   health check, release command, registry logins); tags, DNS and
//!   rollout pacing change in place.
//! - The fingerprint is `None` while any of those values is unknown.

use std::collections::BTreeMap;
use std::time::Duration;

use berth_aws::fleet::AddressKind;
use berth_rollout::{HealthPolicy, Strategy};
use sha2::{Digest, Sha256};
use tfplugin::diag::{Diagnostic, Diagnostics};
use tfplugin::model::Attr;
use tfplugin::path::AttributePath;
use tfplugin::value::Value;

use super::model::{AppModel, SidecarModel, StringMap, Strings, known_map, known_strings};
use super::registries::{self, RegistryCredentials};
use crate::userdata::{AppSpec, HealthCheck, ReleaseCommand, SecretSource, Sidecar};
use crate::validation;

/// Smallest memory limit Docker accepts, in MiB.
pub const MIN_MEMORY_MIB: i64 = 6;

/// Default health check path.
pub const DEFAULT_HEALTH_PATH: &str = "/";

/// The app's origin record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Hosted zone id or name.
    pub zone: String,
    /// Record name (relative to the zone, or fully qualified).
    pub name: String,
    /// TTL in seconds.
    pub ttl: u32,
    /// Which instance address the record points at.
    pub address: AddressKind,
}

/// Operation time limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Create.
    pub create: Duration,
    /// Update (a rollout).
    pub update: Duration,
    /// Delete.
    pub delete: Duration,
}

/// Everything a `berth_container_app` block says.
#[derive(Clone, Debug, PartialEq)]
pub struct AppConfig {
    /// App name.
    pub name: String,
    /// Container image.
    pub image: String,
    /// Command override.
    pub command: Vec<String>,
    /// Container port.
    pub port: u16,
    /// Port published on the instance.
    pub host_port: u16,
    /// Plain environment.
    pub env: BTreeMap<String, String>,
    /// Secret environment by reference.
    pub secrets: BTreeMap<String, SecretSource>,
    /// Memory limit of the app container (MiB, 0: none).
    pub memory: u32,
    /// Instances.
    pub replicas: u32,
    /// EC2 instance type.
    pub instance_type: String,
    /// AMI given in configuration (None: the default image).
    pub ami: Option<String>,
    /// Subnets.
    pub subnet_ids: Vec<String>,
    /// Security groups given in configuration (empty: a managed one).
    pub security_group_ids: Vec<String>,
    /// Who may reach the published ports (managed group only).
    pub ingress_cidrs: Vec<String>,
    /// Key pair.
    pub key_name: Option<String>,
    /// Instance profile.
    pub instance_profile: Option<String>,
    /// User tags.
    pub tags: BTreeMap<String, String>,
    /// Health check on the instance and the gate policy.
    pub health_path: String,
    /// Health check port (host side).
    pub health_port: u16,
    /// Gate policy.
    pub health: HealthPolicy,
    /// Per-check timeout on the instance.
    pub health_timeout: u32,
    /// Origin record, if any.
    pub origin: Option<Origin>,
    /// Rollout pacing.
    pub strategy: Strategy,
    /// Terminate failed instances (true) or leave them for inspection.
    pub auto_rollback: bool,
    /// Sidecars.
    pub sidecars: Vec<Sidecar>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Run once per release before it takes traffic, if set.
    pub release_command: Option<ReleaseCommandConfig>,
    /// Logins for private registries.
    pub registry_credentials: Vec<RegistryCredentials>,
    /// Where the containers' output goes, if to CloudWatch Logs.
    pub logs: Option<LogsConfig>,
    /// Seconds between two publications of the app's metrics, if on.
    pub metrics_interval: Option<u32>,
    /// Load-balancer mode, if on.
    pub lb: Option<super::load_balancer::LbConfig>,
    /// The app's CloudWatch alarms.
    pub alarms: Vec<super::alarms::AlarmConfig>,
}

/// The `logs` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogsConfig {
    /// The log group.
    pub group: String,
    /// Days its events are kept.
    pub retention_days: i32,
    /// Delete the group with the app.
    pub delete_on_destroy: bool,
}

/// The log group an app's `logs` block names by default.
pub fn default_log_group(app: &str) -> String {
    format!("/berth/{app}")
}

/// The `release_command` and how long it may run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseCommandConfig {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// How long it may run.
    pub timeout: Duration,
}

impl ReleaseCommandConfig {
    /// The step `rollout_plan` shows for it.
    pub fn describe(&self) -> String {
        format!(
            "release command: {} on 1 new instance, before traffic (at most {} s)",
            self.command.join(" "),
            self.timeout.as_secs()
        )
    }
}

/// `rollout_plan` of `plan`: its steps, with the release command after the
/// first launch (the release's first instances run or await it before
/// their app starts).
pub fn rollout_steps(plan: &berth_rollout::Plan, cfg: &AppConfig) -> Vec<String> {
    let mut steps = plan.describe();
    // Behind a load balancer with a shift, a cutover from a serving
    // release moves the rule's forward in its steps.
    if let Some((shares, bake)) = cfg.lb.as_ref().and_then(|lb| lb.shift.as_ref())
        && !plan.origin_before.is_empty()
        && let Some(i) = plan
            .steps
            .iter()
            .position(|s| matches!(s, berth_rollout::Step::Cutover))
    {
        let n = shares.len();
        let lines = shares.iter().enumerate().flat_map(|(k, w)| {
            let mut l = vec![
                format!("gate: release {} healthy", plan.release),
                format!(
                    "shift: release {} gets {w}% of the rule's traffic",
                    plan.release
                ),
            ];
            if k + 1 < n && !bake.is_zero() {
                l.push(format!("bake: {} s", bake.as_secs()));
            }
            l
        });
        steps.splice(i..=i, lines);
    }
    if let Some(rc) = &cfg.release_command
        && let Some(i) = plan
            .steps
            .iter()
            .position(|s| matches!(s, berth_rollout::Step::Launch { .. }))
    {
        steps.insert(i + 1, rc.describe());
    }
    steps
}

/// The SSM parameter that elects the instance running the release command
/// of `release` (with `fingerprint`) and records its verdict.
pub fn release_marker(app: &str, release: u64, fingerprint: &str) -> String {
    format!(
        "/berth/{app}/release/{release}-{}",
        fingerprint.trim_start_matches("sha256:")
    )
}

/// Parses a secret reference: `ssm:/name`, an SSM parameter ARN,
/// `secretsmanager:name` or a Secrets Manager ARN.
pub fn parse_secret_ref(r: &str) -> Result<SecretSource, String> {
    if let Some(name) = r.strip_prefix("ssm:") {
        if name.is_empty() {
            return Err("an SSM reference needs a parameter name after \"ssm:\".".into());
        }
        return Ok(SecretSource::Ssm(name.to_string()));
    }
    if let Some(name) = r.strip_prefix("secretsmanager:") {
        if name.is_empty() {
            return Err(
                "a Secrets Manager reference needs a name after \"secretsmanager:\".".into(),
            );
        }
        return Ok(SecretSource::SecretsManager(name.to_string()));
    }
    if r.starts_with("arn:") {
        let parts: Vec<&str> = r.splitn(6, ':').collect();
        if parts.len() == 6 {
            match parts[2] {
                "ssm" if parts[5].starts_with("parameter/") => {
                    validation::arn(r, "ssm", "parameter/")?;
                    return Ok(SecretSource::Ssm(r.to_string()));
                }
                "secretsmanager" if parts[5].starts_with("secret:") => {
                    validation::arn(r, "secretsmanager", "secret:")?;
                    return Ok(SecretSource::SecretsManager(r.to_string()));
                }
                _ => {}
            }
        }
        return Err(format!(
            "{r:?} is neither an SSM parameter ARN (arn:aws:ssm:…:parameter/…) nor a Secrets Manager ARN (arn:aws:secretsmanager:…:secret:…)."
        ));
    }
    Err(format!(
        "{r:?} is not a secret reference: use \"ssm:/parameter/name\", \"secretsmanager:name\" or an ARN. Secret values themselves never go into configuration."
    ))
}

/// The longest `timeouts` value: a week.
const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses a Terraform duration such as `30m`, `1h30m`, `90s`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut num = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        // Absurd sizes are invalid input, not an overflow.
        total = total.checked_add(n.checked_mul(unit)?)?;
        any = true;
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some(Duration::from_secs(total))
}

fn port_of(v: i64) -> u16 {
    u16::try_from(v).unwrap_or(0)
}

fn secs(v: i64) -> Duration {
    Duration::from_secs(u64::try_from(v).unwrap_or(0))
}

fn err(diags: &mut Diagnostics, path: AttributePath, summary: &str, detail: String) {
    diags.push(Diagnostic::error(summary, detail).at(path));
}

pub(super) use crate::resources::int;

/// Reports `summary` at `p` when the known string fails `check`.
fn check(
    diags: &mut Diagnostics,
    a: &Attr<String>,
    p: AttributePath,
    summary: &str,
    check: impl Fn(&str) -> Result<(), String>,
) {
    if let Some(Err(why)) = a.as_deref().map(&check) {
        err(diags, p, summary, why);
    }
}

/// Reports `summary` at each known element of `list` that fails `check`.
fn check_each(
    diags: &mut Diagnostics,
    list: &Strings,
    p: &AttributePath,
    summary: &str,
    check: impl Fn(&str) -> Result<(), String>,
) {
    for (i, e) in list
        .known()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .enumerate()
    {
        if let Some(Err(why)) = e.as_deref().map(&check) {
            err(diags, p.then_index(i), summary, why);
        }
    }
}

/// Reports a bad tag at its key.
fn check_tags(diags: &mut Diagnostics, tags: &StringMap, p: &AttributePath) {
    for (k, val) in tags.known().into_iter().flatten() {
        if let Err(why) = validation::tag(k, val.as_deref().unwrap_or_default()) {
            err(diags, p.then_key(k), "Invalid tag", why);
        }
    }
}

fn attr(name: &str) -> AttributePath {
    AttributePath::attr(name)
}

impl AppConfig {
    /// Reads and checks a planned or prior value. Diagnostics name the
    /// attribute.
    pub fn from_value(v: &Value) -> (AppConfig, Diagnostics) {
        match v.get::<AppModel>() {
            Ok(m) => AppConfig::from_model(&m),
            Err(d) => (AppConfig::from_model(&AppModel::default()).0, d),
        }
    }

    /// Checks an app's model. Diagnostics name the attribute; unknown
    /// values are skipped (checked again once known).
    pub fn from_model(m: &AppModel) -> (AppConfig, Diagnostics) {
        let mut diags = Diagnostics::new();
        let d = &mut diags;
        let name = m.name.as_deref().unwrap_or_default().to_string();
        let image = m.image.as_deref().unwrap_or_default().to_string();
        check(
            d,
            &m.image,
            attr("image"),
            "Invalid image",
            validation::image_ref,
        );
        check(d, &m.ami, attr("ami"), "Invalid AMI id", |s| {
            validation::ec2_id("ami", s)
        });
        check(
            d,
            &m.instance_type,
            attr("instance_type"),
            "Invalid instance type",
            validation::instance_type,
        );
        check(
            d,
            &m.instance_profile,
            attr("instance_profile"),
            "Invalid instance profile",
            validation::instance_profile_name,
        );
        check_each(
            d,
            &m.subnet_ids,
            &attr("subnet_ids"),
            "Invalid subnet id",
            |s| validation::ec2_id("subnet", s),
        );
        check_each(
            d,
            &m.security_group_ids,
            &attr("security_group_ids"),
            "Invalid security group id",
            |s| validation::ec2_id("sg", s),
        );
        check_each(
            d,
            &m.ingress_cidrs,
            &attr("ingress_cidrs"),
            "Invalid CIDR block",
            validation::ipv4_cidr,
        );
        check_tags(d, &m.tags, &attr("tags"));
        let port = port_of(int(d, &m.port, &attr("port"), (1, 65535), 8080));
        let host_port = match &m.host_port {
            Attr::Known(_) => port_of(int(
                d,
                &m.host_port,
                &attr("host_port"),
                (1, 65535),
                i64::from(port),
            )),
            _ => port,
        };
        let mut secrets = BTreeMap::new();
        for (k, val) in m.secrets.known().into_iter().flatten() {
            if let Some(s) = val.as_deref() {
                match parse_secret_ref(s) {
                    Ok(src) => {
                        secrets.insert(k.clone(), src);
                    }
                    Err(why) => err(
                        d,
                        attr("secrets").then_key(k),
                        "Invalid secret reference",
                        why,
                    ),
                }
            }
        }
        // Write-only values berth stored itself (secret_values.rs) are
        // fetched like any SSM reference.
        for (k, p) in known_map(&m.secret_value_parameters) {
            secrets.entry(k).or_insert(SecretSource::Ssm(p));
        }
        let env = known_map(&m.env);
        for k in env.keys().chain(secrets.keys()) {
            if !valid_env_name(k) {
                let a = if env.contains_key(k) {
                    "env"
                } else {
                    "secrets"
                };
                err(
                    d,
                    attr(a).then_key(k),
                    "Invalid environment variable name",
                    env_name_rule(k),
                );
            }
        }
        for k in env.keys() {
            if secrets.contains_key(k) {
                err(
                    d,
                    attr("secrets").then_key(k),
                    "Variable set twice",
                    format!("{k:?} is in both `env` and `secrets`; keep one."),
                );
            }
        }
        let memory = u32::try_from(int(
            d,
            &m.memory,
            &attr("memory"),
            (MIN_MEMORY_MIB, 1 << 20),
            0,
        ))
        .unwrap_or(0);
        let replicas =
            u32::try_from(int(d, &m.replicas, &attr("replicas"), (1, 100), 2)).unwrap_or(1);
        let instance_type = m.instance_type.as_deref().unwrap_or("t3.small").to_string();
        let ami = m.ami.as_deref().map(str::to_string);
        let cidrs = known_strings(&m.ingress_cidrs);

        let hc = m.health_check.known().cloned().unwrap_or_default();
        let hp = attr("health_check");
        let health_path = hc
            .path
            .as_deref()
            .unwrap_or(DEFAULT_HEALTH_PATH)
            .to_string();
        if !health_path.starts_with('/') {
            err(
                d,
                hp.then_attr("path"),
                "Invalid health check path",
                format!("{health_path:?} must start with \"/\"."),
            );
        }
        let health_port = port_of(int(
            d,
            &hc.port,
            &hp.then_attr("port"),
            (1, 65535),
            i64::from(host_port),
        ));
        let interval = int(d, &hc.interval, &hp.then_attr("interval"), (1, 300), 5);
        let health_timeout =
            u32::try_from(int(d, &hc.timeout, &hp.then_attr("timeout"), (1, 60), 3)).unwrap_or(3);
        let healthy = u32::try_from(int(
            d,
            &hc.healthy_threshold,
            &hp.then_attr("healthy_threshold"),
            (1, 10),
            2,
        ))
        .unwrap_or(2);
        let unhealthy = u32::try_from(int(
            d,
            &hc.unhealthy_threshold,
            &hp.then_attr("unhealthy_threshold"),
            (1, 10),
            3,
        ))
        .unwrap_or(3);
        let deadline = int(
            d,
            &hc.deadline,
            &hp.then_attr("deadline"),
            (10, 86_400),
            600,
        );
        if interval * i64::from(healthy) >= deadline {
            // Name what the user wrote: the deadline when given.
            let a = if hc.deadline.is_null() {
                "interval"
            } else {
                "deadline"
            };
            err(
                d,
                hp.then_attr(a),
                "Impossible health check timing",
                format!(
                    "the deadline ({deadline} s) must be longer than interval × healthy_threshold ({interval} s × {healthy} = {} s): no instance could pass the gate in time.",
                    interval * i64::from(healthy)
                ),
            );
        }

        // An origin block not known yet still means "a record".
        let origin = match &m.origin {
            Attr::Null => None,
            o => {
                let o = o.known().cloned().unwrap_or_default();
                let op = attr("origin");
                check(
                    d,
                    &o.zone,
                    op.then_attr("zone"),
                    "Invalid hosted zone",
                    validation::hosted_zone,
                );
                check(
                    d,
                    &o.name,
                    op.then_attr("name"),
                    "Invalid record name",
                    validation::dns_name,
                );
                Some(Origin {
                    zone: o.zone.as_deref().unwrap_or_default().to_string(),
                    name: o.name.as_deref().unwrap_or_default().to_string(),
                    ttl: u32::try_from(int(d, &o.ttl, &op.then_attr("ttl"), (0, 86_400), 60))
                        .unwrap_or(60),
                    address: match o.address.as_deref() {
                        Some("private") => AddressKind::Private,
                        _ => AddressKind::Public,
                    },
                })
            }
        };

        let rb = m.rollout.known().cloned().unwrap_or_default();
        let rp = attr("rollout");
        let batch = u32::try_from(int(
            d,
            &rb.batch_size,
            &rp.then_attr("batch_size"),
            (0, 100),
            0,
        ))
        .unwrap_or(0);
        let drain = int(d, &rb.drain, &rp.then_attr("drain"), (0, 3600), 30);
        let keep_previous = rb.keep_previous.known().copied().unwrap_or(false);
        let auto_rollback = rb.auto_rollback.known().copied().unwrap_or(true);

        let sc_path = attr("sidecar");
        let sidecars: Vec<Sidecar> = m
            .sidecar
            .known()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
            .map(|(i, s)| sidecar(d, s, &sc_path.then_index(i)))
            .collect();
        check_sidecar_clashes(d, &sidecars, host_port, &sc_path);
        // Every image, once all are known: each credentials block must
        // serve one of them.
        let all_images: Option<Vec<String>> = std::iter::once(m.image.as_deref())
            .chain(
                m.sidecar
                    .known()
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .map(|s| s.image.as_deref()),
            )
            .map(|i| i.map(str::to_string))
            .collect::<Option<Vec<String>>>()
            .filter(|_| m.sidecar.known().is_some() || m.sidecar.is_null());
        let registry_credentials = registries::credentials(d, m, all_images.as_deref());
        let logs = logs(d, m);
        let metrics_interval = super::alarms::metrics_interval(d, m);
        let containers: Vec<String> = std::iter::once("app".to_string())
            .chain(sidecars.iter().map(|s| s.name.clone()))
            .collect();
        let alarms = super::alarms::alarms(
            d,
            m,
            metrics_interval.unwrap_or(super::alarms::DEFAULT_INTERVAL),
            &containers,
        );

        let tb = m.timeouts.known().cloned().unwrap_or_default();
        let timeouts = Timeouts {
            create: timeout(d, &tb.create, "create", 1800),
            update: timeout(d, &tb.update, "update", 1800),
            delete: timeout(d, &tb.delete, "delete", 1200),
        };

        let release_command = release_command(d, m);
        let lb = super::load_balancer::config(d, m, replicas, batch);
        let ttl = origin.as_ref().map_or(0, |o| o.ttl);
        // In load-balancer mode the app's rule plays the origin.
        let origin_record = origin.is_some() || lb.is_some();
        let cfg = AppConfig {
            command: known_strings(&m.command),
            subnet_ids: known_strings(&m.subnet_ids),
            security_group_ids: known_strings(&m.security_group_ids),
            ingress_cidrs: if cidrs.is_empty() && m.ingress_cidrs.is_null() {
                vec!["0.0.0.0/0".into()]
            } else {
                cidrs
            },
            key_name: m.key_name.as_deref().map(str::to_string),
            instance_profile: m.instance_profile.as_deref().map(str::to_string),
            tags: known_map(&m.tags),
            name,
            image,
            port,
            host_port,
            env,
            secrets,
            memory,
            replicas,
            instance_type,
            ami,
            health_path,
            health_port,
            health: HealthPolicy {
                interval: secs(interval),
                healthy_threshold: healthy,
                unhealthy_threshold: unhealthy,
                deadline: secs(deadline),
            },
            health_timeout,
            origin,
            strategy: Strategy {
                batch_size: if batch == 0 { u32::MAX } else { batch },
                ttl: Duration::from_secs(u64::from(ttl)),
                drain: secs(drain),
                keep_previous,
                origin_record,
                expose: lb.is_none(),
            },
            auto_rollback,
            sidecars,
            timeouts,
            release_command,
            registry_credentials,
            logs,
            metrics_interval,
            alarms,
            lb,
        };
        (cfg, diags)
    }

    /// The architecture the instance type runs (`arm64` for Graviton
    /// families such as `t4g`, `m7g`, else `x86_64`).
    pub fn architecture(&self) -> &'static str {
        let family = self.instance_type.split('.').next().unwrap_or_default();
        let suffix: String = family
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .skip_while(char::is_ascii_digit)
            .collect();
        if suffix.contains('g') {
            "arm64"
        } else {
            "x86_64"
        }
    }

    /// The app's image and its sidecars' images, in that order.
    pub fn images(&self) -> Vec<String> {
        std::iter::once(self.image.clone())
            .chain(self.sidecars.iter().map(|s| s.image.clone()))
            .collect()
    }

    /// The instance spec of `release` for the user-data generator.
    pub fn app_spec(&self, release: u64, region: &str, fingerprint: &str) -> AppSpec {
        AppSpec {
            registry_logins: registries::logins(&self.registry_credentials, &self.images()),
            metrics_interval: self.metrics_interval,
            logs: self.logs.as_ref().map(|l| crate::userdata::Logs {
                group: l.group.clone(),
                region: region.to_string(),
            }),
            app: self.name.clone(),
            release,
            region: region.to_string(),
            image: self.image.clone(),
            command: self.command.clone(),
            container_port: self.port,
            host_port: self.host_port,
            env: self.env.clone(),
            secrets: self.secrets.clone(),
            memory_mib: self.memory,
            sidecars: self.sidecars.clone(),
            health: HealthCheck {
                path: self.health_path.clone(),
                port: self.health_port,
                interval_secs: u32::try_from(self.health.interval.as_secs()).unwrap_or(5),
                timeout_secs: self.health_timeout,
                start_period_secs: u32::try_from(self.health.deadline.as_secs() / 2)
                    .unwrap_or(u32::MAX),
            },
            release_command: self.release_command.as_ref().map(|rc| ReleaseCommand {
                command: rc.command.clone(),
                timeout_secs: u32::try_from(rc.timeout.as_secs()).unwrap_or(u32::MAX),
                marker: release_marker(&self.name, release, fingerprint),
            }),
        }
    }

    /// The ports the managed security group opens.
    pub fn published_ports(&self) -> Vec<u16> {
        let mut p = vec![self.host_port];
        p.extend(
            self.sidecars
                .iter()
                .flat_map(|s| s.ports.iter().map(|x| x.0)),
        );
        p.sort_unstable();
        p.dedup();
        p
    }
}

/// The `logs` block: none without one; a group name CloudWatch Logs would
/// refuse or a retention it does not offer is an error on its path.
fn logs(d: &mut Diagnostics, m: &AppModel) -> Option<LogsConfig> {
    let l = match &m.logs {
        Attr::Null => return None,
        l => l.known().cloned().unwrap_or_default(),
    };
    let p = attr("logs");
    let name = m.name.as_deref().unwrap_or_default();
    check(
        d,
        &l.group,
        p.then_attr("group"),
        "Invalid log group",
        validation::log_group,
    );
    let retention = int(
        d,
        &l.retention_days,
        &p.then_attr("retention_days"),
        (1, 3653),
        30,
    );
    let retention_days = i32::try_from(retention).unwrap_or(30);
    if !berth_aws::logs::RETENTION_DAYS.contains(&retention_days) {
        err(
            d,
            p.then_attr("retention_days"),
            "Invalid log retention",
            format!(
                "CloudWatch Logs keeps events for one of {} days, not {retention_days}.",
                berth_aws::logs::RETENTION_DAYS
                    .map(|n| n.to_string())
                    .join(", ")
            ),
        );
    }
    Some(LogsConfig {
        group: l
            .group
            .as_deref()
            .map_or_else(|| default_log_group(name), str::to_string),
        retention_days,
        delete_on_destroy: l.delete_on_destroy.known().copied().unwrap_or(false),
    })
}

/// `release_command` and its timeout: none when unset; an empty list or
/// an empty word is an error on its path.
fn release_command(d: &mut Diagnostics, m: &AppModel) -> Option<ReleaseCommandConfig> {
    let p = AttributePath::attr("release_command");
    let timeout = int(
        d,
        &m.release_command_timeout,
        &AttributePath::attr("release_command_timeout"),
        (1, 86_400),
        1800,
    );
    let words = m.release_command.known()?;
    if words.is_empty() {
        err(
            d,
            p,
            "Empty release_command",
            "`release_command` needs a command; leave it out for no release command.".into(),
        );
        return None;
    }
    for (i, w) in words.iter().enumerate() {
        if w.as_deref().is_some_and(|w| w.is_empty()) {
            err(
                d,
                p.clone().then_index(i),
                "Empty word in release_command",
                format!("`release_command[{i}]` is empty; every word of the command needs text."),
            );
        }
    }
    Some(ReleaseCommandConfig {
        command: known_strings(&m.release_command),
        timeout: Duration::from_secs(u64::try_from(timeout).unwrap_or(1800)),
    })
}

/// One `sidecar` block at `p`.
fn sidecar(d: &mut Diagnostics, s: &SidecarModel, p: &AttributePath) -> Sidecar {
    let sname = s.name.as_deref().unwrap_or_default().to_string();
    if !crate::validation::valid_app_name(&sname) || sname == "app" {
        err(
            d,
            p.then_attr("name"),
            "Invalid sidecar name",
            format!("{sname:?} must be lowercase letters, digits and hyphens, and not \"app\"."),
        );
    }
    check(
        d,
        &s.image,
        p.then_attr("image"),
        "Invalid image",
        validation::image_ref,
    );
    let mut ports = Vec::new();
    for (j, spec) in known_strings(&s.ports).iter().enumerate() {
        let parsed = spec
            .split_once(':')
            .and_then(|(h, c)| Some((h.parse::<u16>().ok()?, c.parse::<u16>().ok()?)));
        match parsed {
            Some((h, c)) if h > 0 && c > 0 => ports.push((h, c)),
            _ => err(
                d,
                p.then_attr("ports").then_index(j),
                "Invalid port mapping",
                format!("{spec:?} must be \"HOST:CONTAINER\", e.g. \"80:80\"."),
            ),
        }
    }
    let files = known_map(&s.files);
    for k in files.keys() {
        if !k.starts_with('/') {
            err(
                d,
                p.then_attr("files").then_key(k),
                "Invalid file path",
                format!("{k:?} must be an absolute path inside the container."),
            );
        }
    }
    let env = known_map(&s.env);
    for k in env.keys() {
        if !valid_env_name(k) {
            err(
                d,
                p.then_attr("env").then_key(k),
                "Invalid environment variable name",
                env_name_rule(k),
            );
        }
    }
    Sidecar {
        name: sname,
        image: s.image.as_deref().unwrap_or_default().to_string(),
        command: known_strings(&s.command),
        ports,
        files,
        env,
        memory_mib: u32::try_from(int(
            d,
            &s.memory,
            &p.then_attr("memory"),
            (MIN_MEMORY_MIB, 1 << 20),
            0,
        ))
        .unwrap_or(0),
    }
}

/// Each clash is reported where it is written: the later sidecar's name,
/// the sidecar port that takes a host port already in use.
fn check_sidecar_clashes(
    d: &mut Diagnostics,
    sidecars: &[Sidecar],
    host_port: u16,
    sc_path: &AttributePath,
) {
    for (i, sc) in sidecars.iter().enumerate() {
        if sidecars[..i].iter().any(|o| o.name == sc.name) && !sc.name.is_empty() {
            err(
                d,
                sc_path.then_index(i).then_attr("name"),
                "Duplicate sidecar name",
                format!(
                    "{:?} is used by more than one sidecar; every sidecar needs its own name.",
                    sc.name
                ),
            );
        }
    }
    let mut taken: Vec<(u16, String)> = vec![(host_port, "the app".to_string())];
    for (i, sc) in sidecars.iter().enumerate() {
        for (j, (h, _)) in sc.ports.iter().enumerate() {
            if let Some((_, owner)) = taken.iter().find(|(p, _)| p == h) {
                let fix = if owner == "the app" {
                    "give the app another `host_port` or the sidecar another host port"
                } else {
                    "give one of them another host port"
                };
                err(
                    d,
                    sc_path.then_index(i).then_attr("ports").then_index(j),
                    "Port published twice",
                    format!("host port {h} is already published by {owner}; {fix}."),
                );
            } else {
                taken.push((*h, format!("sidecar {:?}", sc.name)));
            }
        }
    }
}

/// The `timeouts` entry `name` (unset: `default` seconds).
fn timeout(d: &mut Diagnostics, a: &Attr<String>, name: &str, default: u64) -> Duration {
    match a.as_deref() {
        None => Duration::from_secs(default),
        Some(s) => match parse_duration(s) {
            Some(dur) if dur <= MAX_TIMEOUT => dur,
            parsed => {
                let why = if parsed.is_some() {
                    format!("{s:?} is longer than the longest timeout berth takes, 168h.")
                } else {
                    format!("{s:?} must look like \"30m\", \"1h30m\" or \"90s\".")
                };
                err(d, attr("timeouts").then_attr(name), "Invalid duration", why);
                Duration::from_secs(default)
            }
        },
    }
}

/// Letters, digits and underscores, not starting with a digit.
fn valid_env_name(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn env_name_rule(k: &str) -> String {
    format!("{k:?} must be letters, digits and underscores, not starting with a digit.")
}

/// Attributes of nested blocks added after the first release, left out of
/// the fingerprint while null so that upgrading berth does not change the
/// fingerprint of an app that does not use them (and roll it out).
const ADDED_LATER: [(&str, &str); 1] = [("sidecar", "env")];

/// `v` (the value of top-level attribute `name`) without the
/// [`ADDED_LATER`] attributes that are null.
fn without_unused_additions(name: &str, v: Value) -> Value {
    let drop: Vec<&str> = ADDED_LATER
        .iter()
        .filter(|(block, _)| *block == name)
        .map(|(_, attr)| *attr)
        .collect();
    if drop.is_empty() {
        return v;
    }
    let strip = |e: &Value| match e {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, x)| !(x.is_null() && drop.contains(&k.as_str())))
                .map(|(k, x)| (k.clone(), x.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    match v {
        Value::List(xs) => Value::List(xs.iter().map(strip).collect()),
        Value::Set(xs) => Value::Set(xs.iter().map(strip).collect()),
        other => strip(&other),
    }
}

/// The attributes that define what runs on an instance.
pub const FINGERPRINTED: [&str; 15] = [
    "image",
    "command",
    "port",
    "host_port",
    "env",
    "secrets",
    "memory",
    "instance_type",
    "ami_config",
    "subnet_ids",
    "security_group_ids",
    "key_name",
    "instance_profile",
    "health_check",
    "sidecar",
];

/// The fingerprint of what `planned` runs on an instance (`sha256:` and
/// 24 hex digits), or None while part of it is unknown. `config_ami` is the
/// AMI as written in configuration (null: the default image, which does
/// not change the fingerprint when it is first looked up).
pub fn fingerprint(planned: &Value, config_ami: &Value) -> Option<String> {
    let mut parts: Vec<(String, String)> = Vec::new();
    for name in FINGERPRINTED {
        let v = match name {
            "ami_config" => config_ami.clone(),
            "host_port" if planned.attr("host_port").is_null() => planned.attr("port").clone(),
            "health_check" => {
                // Only what the instance itself uses.
                let hc = planned.attr("health_check");
                if hc.is_null() {
                    Value::Null
                } else {
                    Value::object(
                        ["path", "port", "interval", "timeout"].map(|k| (k, hc.attr(k).clone())),
                    )
                }
            }
            _ => without_unused_additions(name, planned.attr(name).clone()),
        };
        if !v.is_wholly_known() {
            return None;
        }
        parts.push((name.to_string(), canonical_json(&v)));
    }
    // Write-only secret values (secret_values.rs): their parameters and
    // version count only when used, so other apps keep their fingerprint.
    // The release command and registry credentials too: other apps keep
    // their fingerprint.
    for name in [
        super::secret_values::PARAMETERS,
        super::secret_values::VERSION,
        "release_command",
        "registry_credentials",
        "logs",
    ] {
        // Of the logs block only the group reaches the instances.
        let group;
        let v = if name == "logs" && !planned.attr(name).is_null() {
            group = Value::object([("group", planned.attr(name).attr("group").clone())]);
            &group
        } else {
            planned.attr(name)
        };
        if v.is_null() || matches!(v, Value::List(xs) if xs.is_empty()) {
            continue;
        }
        if !v.is_wholly_known() {
            return None;
        }
        parts.push((name.to_string(), canonical_json(v)));
    }
    // Load-balancer mode launches through Auto Scaling: switching modes is
    // a new release (the app's other fingerprints stay as they were).
    if !planned.attr("load_balancer").is_null() {
        parts.push(("traffic".into(), "\"load_balancer\"".into()));
    }
    // Publishing metrics (a `metrics` block, or any alarm) and its interval
    // run on the instances; the alarms themselves change in place.
    let metrics = planned.attr("metrics");
    let alarms = planned.attr("alarm");
    if !metrics.is_null() || matches!(alarms, Value::List(xs) if !xs.is_empty()) {
        let interval = if metrics.is_null() {
            Value::Null
        } else {
            metrics.attr("interval").clone()
        };
        if !interval.is_wholly_known() || alarms.is_unknown() {
            return None;
        }
        parts.push(("metrics".to_string(), canonical_json(&interval)));
    } else if alarms.is_unknown() {
        return None;
    }
    let mut h = Sha256::new();
    for (k, v) in &parts {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    Some(format!("sha256:{hex}"))
}

/// A stable text form of a known value (for hashing).
fn canonical_json(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Number(n) => n.canonical(),
        Value::Bool(b) => b.to_string(),
        Value::List(xs) | Value::Tuple(xs) => {
            format!(
                "[{}]",
                xs.iter().map(canonical_json).collect::<Vec<_>>().join(",")
            )
        }
        Value::Set(xs) => {
            let mut items: Vec<String> = xs.iter().map(canonical_json).collect();
            items.sort();
            format!("[{}]", items.join(","))
        }
        Value::Map(m) | Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!(
                    "{}:{}",
                    serde_json::to_string(k).unwrap_or_default(),
                    canonical_json(v)
                ))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Dynamic(_, v) => canonical_json(v),
        Value::Unknown(_) => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references_are_parsed_and_values_rejected() {
        assert_eq!(
            parse_secret_ref("ssm:/shop/key").unwrap(),
            SecretSource::Ssm("/shop/key".into())
        );
        assert_eq!(
            parse_secret_ref("secretsmanager:redis").unwrap(),
            SecretSource::SecretsManager("redis".into())
        );
        assert!(matches!(
            parse_secret_ref("arn:aws:ssm:us-east-1:123456789012:parameter/shop/key"),
            Ok(SecretSource::Ssm(_))
        ));
        assert!(matches!(
            parse_secret_ref("arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-AbC"),
            Ok(SecretSource::SecretsManager(_))
        ));
        let e = parse_secret_ref("hunter2").unwrap_err();
        assert!(e.contains("not a secret reference"), "{e}");
        assert!(parse_secret_ref("arn:aws:s3:::bucket").is_err());
        assert!(parse_secret_ref("ssm:").is_err());
    }

    #[test]
    fn durations_and_names() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("90"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
        // Found by fuzzing (fuzz/regressions/state_upgrade): it overflowed.
        assert_eq!(parse_duration("779007199254740993m0m01m"), None);
        assert_eq!(parse_duration("18446744073709551615s1s"), None);
        assert_eq!(
            parse_duration("18446744073709551615s"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert!(crate::validation::valid_app_name("web-2"));
        assert!(!crate::validation::valid_app_name("Web"));
        assert!(!crate::validation::valid_app_name("2web"));
        assert!(!crate::validation::valid_app_name("web-"));
        assert!(!crate::validation::valid_app_name(&"a".repeat(41)));
    }

    fn app(image: &str) -> Value {
        Value::object([
            ("name", Value::string("web")),
            ("image", Value::string(image)),
            ("port", Value::int(3000)),
            ("replicas", Value::int(2)),
            (
                "tags",
                Value::Map([("team".to_string(), Value::string("a"))].into()),
            ),
        ])
    }

    #[test]
    fn fingerprint_covers_what_runs_and_ignores_tags_and_pacing() {
        let a = fingerprint(&app("shop:1"), &Value::Null).unwrap();
        assert!(a.starts_with("sha256:") && a.len() == 31, "{a}");
        assert_eq!(fingerprint(&app("shop:1"), &Value::Null).unwrap(), a);
        assert_ne!(fingerprint(&app("shop:2"), &Value::Null).unwrap(), a);
        let mut tagged = app("shop:1");
        tagged.set_attr(
            "tags",
            Value::Map([("team".to_string(), Value::string("b"))].into()),
        );
        tagged.set_attr("replicas", Value::int(5));
        assert_eq!(fingerprint(&tagged, &Value::Null).unwrap(), a);
        assert_ne!(
            fingerprint(&app("shop:1"), &Value::string("ami-1")).unwrap(),
            a
        );
        let mut unknown = app("shop:1");
        unknown.set_attr("image", Value::unknown());
        assert_eq!(fingerprint(&unknown, &Value::Null), None);
    }

    #[test]
    fn a_sidecar_without_env_keeps_the_fingerprint_it_had_before_env_existed() {
        let sidecar = |extra: Option<Value>| {
            let mut attrs = vec![
                ("name", Value::string("nginx")),
                ("image", Value::string("nginx:1.27")),
                ("command", Value::Null),
                ("ports", Value::Null),
                ("files", Value::Null),
                ("memory", Value::Null),
            ];
            if let Some(env) = extra {
                attrs.push(("env", env));
            }
            let mut v = app("shop:1");
            v.set_attr("sidecar", Value::List(vec![Value::object(attrs)]));
            fingerprint(&v, &Value::Null).unwrap()
        };
        // What an earlier berth computed (no env attribute at all) …
        let before = sidecar(None);
        // … is what a sidecar with env unset gives now: no surprise rollout.
        assert_eq!(sidecar(Some(Value::Null)), before);
        let with_env = Value::Map([("WORKERS".to_string(), Value::string("4"))].into());
        assert_ne!(sidecar(Some(with_env)), before, "env is part of what runs");
    }

    #[test]
    fn an_app_without_a_release_command_keeps_the_fingerprint_it_had_before_it_existed() {
        let before = fingerprint(&app("shop:1"), &Value::Null).unwrap();
        let mut unset = app("shop:1");
        unset.set_attr("release_command", Value::Null);
        unset.set_attr("release_command_timeout", Value::Null);
        assert_eq!(fingerprint(&unset, &Value::Null).unwrap(), before);
        let mut with = unset.clone();
        with.set_attr(
            "release_command",
            Value::List(vec![
                Value::string("bin/rails"),
                Value::string("db:migrate"),
            ]),
        );
        let fp = fingerprint(&with, &Value::Null).unwrap();
        assert_ne!(fp, before, "the command is part of the release");
        with.set_attr("release_command_timeout", Value::int(60));
        assert_eq!(
            fingerprint(&with, &Value::Null).unwrap(),
            fp,
            "its timeout alone is not"
        );
    }

    #[test]
    fn only_the_log_group_is_part_of_the_release_not_its_retention() {
        let before = fingerprint(&app("shop:1"), &Value::Null).unwrap();
        let mut v = app("shop:1");
        v.set_attr("logs", Value::Null);
        v.set_attr("registry_credentials", Value::List(vec![]));
        assert_eq!(
            fingerprint(&v, &Value::Null).unwrap(),
            before,
            "apps without them keep theirs"
        );
        let logs = |group: &str, days: i64| {
            Value::object([
                ("group", Value::string(group)),
                ("retention_days", Value::int(days)),
                ("delete_on_destroy", Value::Bool(false)),
            ])
        };
        v.set_attr("logs", logs("/berth/web", 30));
        let fp = fingerprint(&v, &Value::Null).unwrap();
        assert_ne!(fp, before);
        v.set_attr("logs", logs("/berth/web", 7));
        assert_eq!(
            fingerprint(&v, &Value::Null).unwrap(),
            fp,
            "retention changes in place"
        );
        v.set_attr("logs", logs("/shop/web", 7));
        assert_ne!(
            fingerprint(&v, &Value::Null).unwrap(),
            fp,
            "a new group is a release"
        );
    }

    #[test]
    fn a_log_group_and_retention_cloudwatch_would_refuse_fail_on_their_attribute() {
        let mut v = app("shop:1");
        v.set_attr(
            "logs",
            Value::object([
                ("group", Value::Null),
                ("retention_days", Value::Null),
                ("delete_on_destroy", Value::Null),
            ]),
        );
        let (cfg, d) = AppConfig::from_value(&v);
        assert!(!d.has_errors(), "{d:?}");
        let logs = cfg.logs.unwrap();
        assert_eq!(
            (
                logs.group.as_str(),
                logs.retention_days,
                logs.delete_on_destroy
            ),
            ("/berth/web", 30, false)
        );
        v.set_attr(
            "logs",
            Value::object([
                ("group", Value::string("aws/shop")),
                ("retention_days", Value::int(8)),
                ("delete_on_destroy", Value::Null),
            ]),
        );
        let (_, d) = AppConfig::from_value(&v);
        let text = format!("{d:?}");
        assert!(text.contains("keeps for its own services"), "{text}");
        assert!(text.contains("not 8"), "{text}");
        let paths: Vec<String> = d
            .iter()
            .filter_map(|x| x.attribute.as_ref().map(ToString::to_string))
            .collect();
        assert!(paths.iter().any(|p| p.contains("logs.group")), "{paths:?}");
        assert!(
            paths.iter().any(|p| p.contains("logs.retention_days")),
            "{paths:?}"
        );
    }

    #[test]
    fn a_release_command_needs_words_and_a_sane_timeout() {
        let mut v = app("shop:1");
        v.set_attr("release_command", Value::List(vec![]));
        let (_, d) = AppConfig::from_value(&v);
        assert!(format!("{d:?}").contains("needs a command"), "{d:?}");
        v.set_attr(
            "release_command",
            Value::List(vec![Value::string("migrate"), Value::string("")]),
        );
        v.set_attr("release_command_timeout", Value::int(0));
        let (_, d) = AppConfig::from_value(&v);
        let text = format!("{d:?}");
        assert!(text.contains("`release_command[1]` is empty"), "{text}");
        assert!(text.contains("between 1 and 86400"), "{text}");
        v.set_attr(
            "release_command",
            Value::List(vec![Value::string("migrate")]),
        );
        v.set_attr("release_command_timeout", Value::int(600));
        let (cfg, d) = AppConfig::from_value(&v);
        assert!(!d.has_errors(), "{d:?}");
        let rc = cfg.release_command.unwrap();
        assert_eq!(rc.command, ["migrate"]);
        assert_eq!(rc.timeout, Duration::from_secs(600));
    }

    #[test]
    fn timeouts_longer_than_a_week_are_refused_at_their_attribute() {
        for (value, ok) in [
            ("168h", true),
            ("168h1s", false),
            ("18446744073709551615s", false),
        ] {
            let mut v = app("shop:1");
            v.set_attr(
                "timeouts",
                Value::object([("create", Value::string(value))]),
            );
            let (cfg, d) = AppConfig::from_value(&v);
            if ok {
                assert!(!d.has_errors(), "{value}: {d:?}");
                assert_eq!(cfg.timeouts.create, MAX_TIMEOUT);
            } else {
                let e = d
                    .iter()
                    .find(|x| x.summary == "Invalid duration")
                    .expect(value);
                assert_eq!(e.attribute.as_ref().unwrap().to_string(), "timeouts.create");
                assert!(e.detail.contains("168h"), "{}", e.detail);
            }
        }
    }

    #[test]
    fn bad_values_are_reported_at_their_attribute() {
        let mut v = app("shop:1");
        v.set_attr(
            "secrets",
            Value::Map([("DB".to_string(), Value::string("plaintext"))].into()),
        );
        v.set_attr(
            "env",
            Value::Map([("1BAD".to_string(), Value::string("x"))].into()),
        );
        v.set_attr("replicas", Value::int(0));
        let (_, diags) = AppConfig::from_value(&v);
        let text = format!("{diags:?}");
        assert!(text.contains("secrets"), "{text}");
        assert!(text.contains("1BAD"), "{text}");
        assert!(text.contains("replicas"), "{text}");
    }

    #[test]
    fn clashes_and_impossible_timings_are_reported_where_written() {
        let sidecar = |name: &str, port: &str| {
            Value::object([
                ("name", Value::string(name)),
                ("image", Value::string("nginx:1.27")),
                ("ports", Value::List(vec![Value::string(port)])),
            ])
        };
        let mut v = app("shop:1");
        v.set_attr(
            "sidecar",
            Value::List(vec![
                sidecar("nginx", "80:80"),
                sidecar("nginx", "3000:3000"),
            ]),
        );
        v.set_attr(
            "health_check",
            Value::object([("interval", Value::int(300)), ("deadline", Value::int(60))]),
        );
        v.set_attr("memory", Value::int(0));
        let (_, d) = AppConfig::from_value(&v);
        let paths: Vec<String> = d
            .iter()
            .filter_map(|x| x.attribute.as_ref().map(ToString::to_string))
            .collect();
        for want in [
            "sidecar[1].name",
            "sidecar[1].ports[0]",
            "health_check.deadline",
            "memory",
        ] {
            assert!(paths.iter().any(|p| p == want), "{want}: {paths:?}");
        }
    }

    #[test]
    fn shapes_of_ids_images_and_secret_arns_are_checked() {
        let mut v = app("my shop!");
        v.set_attr("ami", Value::string("amazon-linux"));
        v.set_attr(
            "subnet_ids",
            Value::List(vec![
                Value::string("subnet-0abc1234"),
                Value::string("vpc-1"),
            ]),
        );
        v.set_attr(
            "secrets",
            Value::Map(
                [(
                    "K".to_string(),
                    Value::string("arn:aws:ssm:nowhere:1:parameter/k"),
                )]
                .into(),
            ),
        );
        let (_, d) = AppConfig::from_value(&v);
        let paths: Vec<String> = d
            .iter()
            .filter_map(|x| x.attribute.as_ref().map(ToString::to_string))
            .collect();
        for want in ["image", "ami", "subnet_ids[1]"] {
            assert!(paths.iter().any(|p| p == want), "{want}: {paths:?}");
        }
        assert!(paths.iter().any(|p| p.starts_with("secrets")), "{paths:?}");
        assert!(parse_secret_ref("arn:aws:ssm:us-east-1:123456789012:parameter/k").is_ok());
    }

    #[test]
    fn unknown_values_are_not_errors_during_validation() {
        let mut v = app("shop:1");
        for a in ["port", "replicas", "memory", "host_port"] {
            v.set_attr(a, Value::unknown());
        }
        v.set_attr("image", Value::unknown());
        let (_, diags) = AppConfig::from_value(&v);
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn graviton_types_pick_arm64() {
        let (mut c, _) = AppConfig::from_value(&app("x"));
        assert_eq!(c.architecture(), "x86_64");
        c.instance_type = "t4g.small".into();
        assert_eq!(c.architecture(), "arm64");
        c.instance_type = "m7gd.large".into();
        assert_eq!(c.architecture(), "arm64");
        c.instance_type = "m7i.large".into();
        assert_eq!(c.architecture(), "x86_64");
    }
}

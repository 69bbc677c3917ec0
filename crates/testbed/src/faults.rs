//! Fault injection for the counting proxy ([`crate::proxy`]): answers a
//! seeded, configurable share of EC2, Route53 and IAM calls with the errors AWS
//! really returns, and "loses" the answer of some mutating calls (the call
//! reaches moto and takes effect, the client gets an error anyway).
//!
//! Guarantees:
//! - Deterministic from the seed: whether the n-th call of an action is
//!   faulted, and how, depends only on (seed, `service:Action`, n), not on
//!   how calls of different actions interleave. [`FaultConfig::from_env`]
//!   prints the seed and takes `BERTH_FAULT_SEED` / `BERTH_FAULT_SHARE`
//!   to replay a run.
//! - Error answers are shaped like AWS's own: EC2 query-protocol XML
//!   (`<Response><Errors><Error>…</Error></Errors><RequestID>…`) with 503
//!   `RequestLimitExceeded` or 500 `InternalError`; Route53 REST-XML
//!   (`<ErrorResponse xmlns=…><Error><Type>…`) with 400 `Throttling` or
//!   `PriorRequestNotComplete`, and 500 `InternalFailure` for a lost answer;
//!   IAM query-protocol XML (`<ErrorResponse xmlns=…>`) with 400
//!   `Throttling` or 500 `ServiceFailure`.
//! - Only `ec2`, `route53` and `iam` calls are faulted; reads (`Describe*`,
//!   `List*`, `Get*`) are never "lost", since losing them proves nothing.
//! - Every fault is counted by `service:Action` and kind.
//! - Besides random faults, a test can place faults exactly: on the n-th
//!   call of an action ([`FaultConfig::script`]) or on the next calls of
//!   one ([`Faults::inject_next`]), so the hard cases happen every run.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

/// Environment variable that fixes the seed (decimal or `0x` hex).
pub const SEED_ENV: &str = "BERTH_FAULT_SEED";
/// Environment variable that overrides the share of faulted calls (0–1).
pub const SHARE_ENV: &str = "BERTH_FAULT_SHARE";

/// An error AWS answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// EC2 throttling: 503 `RequestLimitExceeded`.
    RequestLimitExceeded,
    /// EC2 server error: 500 `InternalError`.
    InternalError,
    /// Route53 throttling: 400 `Throttling`.
    Throttling,
    /// Route53 still busy with an earlier change: 400
    /// `PriorRequestNotComplete`.
    PriorRequestNotComplete,
    /// Route53 server error: 500 `InternalFailure`.
    InternalFailure,
    /// IAM server error: 500 `ServiceFailure`.
    ServiceFailure,
}

impl Kind {
    /// The AWS error code.
    pub fn code(self) -> &'static str {
        match self {
            Kind::RequestLimitExceeded => "RequestLimitExceeded",
            Kind::InternalError => "InternalError",
            Kind::Throttling => "Throttling",
            Kind::PriorRequestNotComplete => "PriorRequestNotComplete",
            Kind::InternalFailure => "InternalFailure",
            Kind::ServiceFailure => "ServiceFailure",
        }
    }

    /// HTTP status and reason phrase.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            Kind::RequestLimitExceeded => (503, "Service Unavailable"),
            Kind::InternalError | Kind::InternalFailure | Kind::ServiceFailure => {
                (500, "Internal Server Error")
            }
            Kind::Throttling | Kind::PriorRequestNotComplete => (400, "Bad Request"),
        }
    }

    /// The message AWS sends with it.
    pub fn message(self) -> &'static str {
        match self {
            Kind::RequestLimitExceeded => "Request limit exceeded.",
            Kind::InternalError => "An internal error has occurred",
            Kind::Throttling => "Rate exceeded",
            Kind::PriorRequestNotComplete => {
                "The request was rejected because Route 53 was still processing a prior request."
            }
            Kind::InternalFailure | Kind::ServiceFailure => {
                "The request processing has failed because of an unknown error, exception or failure."
            }
        }
    }

    /// Errors answered instead of forwarding, per service.
    fn refusals(service: Service) -> &'static [Kind] {
        match service {
            Service::Ec2 => &[Kind::RequestLimitExceeded, Kind::InternalError],
            Service::Route53 => &[Kind::Throttling, Kind::PriorRequestNotComplete],
            Service::Iam => &[Kind::Throttling, Kind::ServiceFailure],
        }
    }

    /// Errors answered after forwarding (a lost answer), per service.
    fn losses(service: Service) -> &'static [Kind] {
        match service {
            Service::Ec2 => &[Kind::RequestLimitExceeded, Kind::InternalError],
            Service::Route53 => &[Kind::InternalFailure],
            Service::Iam => &[Kind::ServiceFailure],
        }
    }
}

/// The services faults are injected into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// EC2 (query protocol).
    Ec2,
    /// Route53 (REST-XML).
    Route53,
    /// IAM (query protocol, global).
    Iam,
}

impl Service {
    /// The service of a `service:Action` key, if faults apply to it.
    pub fn of(key: &str) -> Option<Service> {
        match key.split_once(':').map(|(s, _)| s) {
            Some("ec2") => Some(Service::Ec2),
            Some("route53") => Some(Service::Route53),
            Some("iam") => Some(Service::Iam),
            _ => None,
        }
    }
}

/// Whether the action of a `service:Action` key changes anything.
pub fn is_mutating(key: &str) -> bool {
    let action = key.split_once(':').map_or(key, |(_, a)| a);
    !["Describe", "List", "Get", "GET "]
        .iter()
        .any(|p| action.starts_with(p))
}

/// One injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The error the client gets.
    pub kind: Kind,
    /// The request was forwarded first and took effect.
    pub lost: bool,
}

impl Fault {
    /// A fault refusing the call (it never reaches the emulator).
    pub fn refuse(kind: Kind) -> Fault {
        Fault { kind, lost: false }
    }

    /// A fault losing the answer (the call takes effect).
    pub fn lose(kind: Kind) -> Fault {
        Fault { kind, lost: true }
    }

    /// `Throttling`, or `lost/InternalError` for a lost answer.
    pub fn label(&self) -> String {
        if self.lost {
            format!("lost/{}", self.kind.code())
        } else {
            self.kind.code().to_string()
        }
    }

    /// The body AWS would send, for `service`.
    pub fn body(&self, service: Service, request_id: &str) -> String {
        let (code, message) = (self.kind.code(), self.kind.message());
        match service {
            Service::Ec2 => format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            ),
            Service::Route53 | Service::Iam => {
                let side = if self.kind.status().0 >= 500 {
                    "Receiver"
                } else {
                    "Sender"
                };
                let ns = if service == Service::Iam {
                    "https://iam.amazonaws.com/doc/2010-05-08/"
                } else {
                    "https://route53.amazonaws.com/doc/2013-04-01/"
                };
                format!(
                    "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{ns}\"><Error><Type>{side}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
                )
            }
        }
    }

    /// The whole HTTP/1.1 answer (framed by `Content-Length`, so the
    /// client connection can go on).
    pub fn response(&self, service: Service, request_id: &str) -> Vec<u8> {
        let body = self.body(service, request_id);
        let (status, reason) = self.kind.status();
        let ctype = match service {
            Service::Ec2 => "text/xml;charset=UTF-8",
            Service::Route53 | Service::Iam => "text/xml",
        };
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nx-amzn-RequestId: {request_id}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

/// A fault at a fixed place: the `nth` (from 1) call of `key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scripted {
    /// `service:Action`, e.g. `ec2:RunInstances`.
    pub key: String,
    /// Which call of it, counting from 1.
    pub nth: u64,
    /// What happens to it.
    pub fault: Fault,
}

/// What to inject.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultConfig {
    /// Seed of every random decision.
    pub seed: u64,
    /// Share of EC2 and Route53 calls faulted at random (0–1).
    pub share: f64,
    /// Share of random faults on mutating calls that lose the answer
    /// instead of refusing the call (0–1).
    pub lost_share: f64,
    /// Faults at fixed places, on top of the random ones.
    pub script: Vec<Scripted>,
}

impl FaultConfig {
    /// No random faults, only `script`.
    pub fn scripted(script: Vec<Scripted>) -> FaultConfig {
        FaultConfig {
            seed: 0,
            share: 0.0,
            lost_share: 0.0,
            script,
        }
    }

    /// Random faults on `share` of the calls, half of those on mutating
    /// calls lost answers; seed and share from `BERTH_FAULT_SEED` /
    /// `BERTH_FAULT_SHARE` when set, else a fresh seed. Prints both, so a
    /// failing run can be replayed.
    pub fn from_env(share: f64) -> FaultConfig {
        let seed = std::env::var(SEED_ENV)
            .ok()
            .and_then(|s| parse_seed(&s))
            .unwrap_or_else(fresh_seed);
        let share = std::env::var(SHARE_ENV)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| (0.0..=1.0).contains(s))
            .unwrap_or(share);
        eprintln!("fault injection: {SEED_ENV}={seed} {SHARE_ENV}={share} (set them to replay)");
        FaultConfig {
            seed,
            share,
            lost_share: 0.5,
            script: Vec::new(),
        }
    }
}

fn parse_seed(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    mix(nanos ^ u64::from(std::process::id()).rotate_left(32)) % 1_000_000_000
}

/// SplitMix64's finaliser: a well-spread 64-bit hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a of a string.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// A uniform number in [0, 1) from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Faults counted by `service:Action` and kind label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts(pub BTreeMap<(String, String), u64>);

impl FaultCounts {
    /// All faults.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Lost answers (the call took effect).
    pub fn lost(&self) -> u64 {
        self.0
            .iter()
            .filter(|((_, k), _)| k.starts_with("lost/"))
            .map(|(_, n)| n)
            .sum()
    }

    /// Faults of one `service:Action`.
    pub fn of(&self, key: &str) -> u64 {
        self.0
            .iter()
            .filter(|((a, _), _)| a == key)
            .map(|(_, n)| n)
            .sum()
    }
}

impl fmt::Display for FaultCounts {
    /// One line per action: `ec2:RunInstances  3  (InternalError 1, lost/InternalError 2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut by_action: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
        for ((action, kind), n) in &self.0 {
            by_action.entry(action).or_default().push((kind, *n));
        }
        let width = by_action.keys().map(|a| a.len()).max().unwrap_or(0);
        for (action, kinds) in by_action {
            let total: u64 = kinds.iter().map(|(_, n)| n).sum();
            let detail: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
            writeln!(f, "  {action:<width$}  {total:>3}  ({})", detail.join(", "))?;
        }
        write!(f, "  total {} ({} lost answers)", self.total(), self.lost())
    }
}

/// The injector the proxy consults for every request.
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    /// Faults queued for the next calls of an action ([`Faults::inject_next`]).
    queued: Mutex<BTreeMap<String, std::collections::VecDeque<Fault>>>,
    seen: Mutex<BTreeMap<String, u64>>,
    counts: Mutex<BTreeMap<(String, String), u64>>,
    enabled: std::sync::atomic::AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Faults {
    /// An injector for `config`, enabled.
    pub fn new(config: FaultConfig) -> Faults {
        Faults {
            config,
            queued: Mutex::new(BTreeMap::new()),
            seen: Mutex::new(BTreeMap::new()),
            counts: Mutex::new(BTreeMap::new()),
            enabled: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Turns injection on or off (calls made while off are not counted
    /// towards the n-th call either).
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Queues `faults` for the next calls of `key` (`service:Action`), one
    /// each, before any random or scripted decision: e.g. "lose the next
    /// RunInstances answer", or four refusals in a row so an error
    /// surfaces through the SDK's retries.
    pub fn inject_next(&self, key: &str, faults: &[Fault]) {
        lock(&self.queued)
            .entry(key.to_string())
            .or_default()
            .extend(faults.iter().copied());
    }

    /// What happens to the next call of `key` (`service:Action`); counts
    /// the fault when there is one.
    pub fn decide(&self, key: &str) -> Option<(Service, Fault)> {
        if !self.enabled.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let service = Service::of(key)?;
        let n = {
            let mut seen = lock(&self.seen);
            let n = seen.entry(key.to_string()).or_default();
            *n += 1;
            *n
        };
        let queued = lock(&self.queued).get_mut(key).and_then(|q| q.pop_front());
        let fault = queued
            .or_else(|| self.scripted(key, n))
            .or_else(|| self.random(service, key, n))?;
        *lock(&self.counts)
            .entry((key.to_string(), fault.label()))
            .or_default() += 1;
        Some((service, fault))
    }

    fn scripted(&self, key: &str, n: u64) -> Option<Fault> {
        self.config
            .script
            .iter()
            .find(|s| s.key == key && s.nth == n)
            .map(|s| s.fault)
    }

    fn random(&self, service: Service, key: &str, n: u64) -> Option<Fault> {
        let base = mix(self.config.seed ^ mix(fnv(key) ^ mix(n)));
        if unit(base) >= self.config.share {
            return None;
        }
        let lost = is_mutating(key) && unit(mix(base ^ 1)) < self.config.lost_share;
        let kinds = if lost {
            Kind::losses(service)
        } else {
            Kind::refusals(service)
        };
        let kind = kinds[(mix(base ^ 2) % kinds.len() as u64) as usize];
        Some(Fault { kind, lost })
    }

    /// The faults so far.
    pub fn counts(&self) -> FaultCounts {
        FaultCounts(lock(&self.counts).clone())
    }

    /// Calls seen so far by `service:Action` (faulted or not).
    pub fn seen(&self) -> BTreeMap<String, u64> {
        lock(&self.seen).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(seed: u64, share: f64) -> FaultConfig {
        FaultConfig {
            seed,
            share,
            lost_share: 0.5,
            script: vec![],
        }
    }

    fn decisions(f: &Faults, keys: &[&str], rounds: usize) -> Vec<Option<Fault>> {
        let mut out = Vec::new();
        for _ in 0..rounds {
            for k in keys {
                out.push(f.decide(k).map(|(_, fault)| fault));
            }
        }
        out
    }

    #[test]
    fn the_same_seed_faults_the_same_calls_whatever_the_interleaving() {
        let a = Faults::new(config(42, 0.3));
        let b = Faults::new(config(42, 0.3));
        let ours = decisions(&a, &["ec2:RunInstances", "route53:GetChange"], 50);
        // b sees the same calls of each action, interleaved differently.
        let runs = decisions(&b, &["ec2:RunInstances"], 50);
        let gets = decisions(&b, &["route53:GetChange"], 50);
        let theirs: Vec<Option<Fault>> = runs
            .into_iter()
            .zip(gets)
            .flat_map(|(r, g)| [r, g])
            .collect();
        assert_eq!(ours, theirs);
        let c = Faults::new(config(43, 0.3));
        let other = decisions(&c, &["ec2:RunInstances", "route53:GetChange"], 50);
        assert_ne!(ours, other, "another seed, other faults");
    }

    #[test]
    fn the_share_is_respected_and_only_mutating_calls_lose_answers() {
        let f = Faults::new(config(7, 0.2));
        let keys = [
            "ec2:DescribeInstances",
            "ec2:RunInstances",
            "route53:ChangeResourceRecordSets",
            "route53:ListResourceRecordSets",
        ];
        let all = decisions(&f, &keys, 2500);
        let faulted = all.iter().flatten().count();
        assert!((1700..2300).contains(&faulted), "{faulted} of 10000");
        let counts = f.counts();
        assert_eq!(counts.total(), faulted as u64);
        for read in ["ec2:DescribeInstances", "route53:ListResourceRecordSets"] {
            assert!(
                !counts
                    .0
                    .keys()
                    .any(|(a, k)| a == read && k.starts_with("lost/")),
                "{counts}"
            );
        }
        let lost_runs = counts.0[&(
            "ec2:RunInstances".to_string(),
            "lost/InternalError".to_string(),
        )] + counts.0[&(
            "ec2:RunInstances".to_string(),
            "lost/RequestLimitExceeded".to_string(),
        )];
        assert!(lost_runs > 150, "{counts}");
        assert!(counts.lost() < counts.total());
        // Route53 refusals use Route53's codes, EC2's its own.
        assert!(counts.0.contains_key(&(
            "route53:ListResourceRecordSets".to_string(),
            "PriorRequestNotComplete".to_string()
        )));
        assert!(
            !counts
                .0
                .keys()
                .any(|(a, k)| a.starts_with("ec2:") && k == "Throttling")
        );
    }

    #[test]
    fn other_services_and_a_disabled_injector_are_left_alone() {
        let f = Faults::new(config(1, 1.0));
        assert_eq!(f.decide("sts:GetCallerIdentity"), None);
        assert!(f.decide("ec2:DescribeVpcs").is_some());
        f.set_enabled(false);
        assert_eq!(f.decide("ec2:DescribeVpcs"), None);
        assert_eq!(f.seen()["ec2:DescribeVpcs"], 1);
    }

    #[test]
    fn scripted_faults_hit_exactly_the_nth_call() {
        let f = Faults::new(FaultConfig::scripted(vec![Scripted {
            key: "route53:CreateHealthCheck".into(),
            nth: 2,
            fault: Fault::lose(Kind::InternalFailure),
        }]));
        assert_eq!(f.decide("route53:CreateHealthCheck"), None);
        assert_eq!(
            f.decide("route53:CreateHealthCheck"),
            Some((Service::Route53, Fault::lose(Kind::InternalFailure)))
        );
        assert_eq!(f.decide("route53:CreateHealthCheck"), None);
        assert_eq!(f.counts().lost(), 1);
        assert!(f.counts().to_string().contains("lost/InternalFailure 1"));
    }

    #[test]
    fn queued_faults_come_first_one_call_each() {
        let f = Faults::new(config(3, 0.0));
        f.inject_next(
            "ec2:RunInstances",
            &[
                Fault::lose(Kind::InternalError),
                Fault::refuse(Kind::RequestLimitExceeded),
            ],
        );
        assert_eq!(f.decide("ec2:TerminateInstances"), None);
        assert_eq!(
            f.decide("ec2:RunInstances").map(|(_, x)| x),
            Some(Fault::lose(Kind::InternalError))
        );
        assert_eq!(
            f.decide("ec2:RunInstances").map(|(_, x)| x),
            Some(Fault::refuse(Kind::RequestLimitExceeded))
        );
        assert_eq!(f.decide("ec2:RunInstances"), None);
        assert_eq!(f.counts().total(), 2);
    }

    #[test]
    fn error_answers_are_shaped_like_aws() {
        let ec2 = Fault::refuse(Kind::RequestLimitExceeded).response(Service::Ec2, "req-1");
        let text = String::from_utf8(ec2).unwrap_or_default();
        assert!(
            text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{text}"
        );
        assert!(
            text.contains("<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>req-1</RequestID></Response>"),
            "{text}"
        );
        let body_len = text.split("\r\n\r\n").nth(1).map_or(0, str::len);
        assert!(text.contains(&format!("Content-Length: {body_len}\r\n")));

        let r53 = Fault::refuse(Kind::PriorRequestNotComplete).response(Service::Route53, "req-2");
        let text = String::from_utf8(r53).unwrap_or_default();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(text.contains("<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>PriorRequestNotComplete</Code>"), "{text}");
        assert!(text.contains("<RequestId>req-2</RequestId></ErrorResponse>"));
        let lost = Fault::lose(Kind::InternalFailure).body(Service::Route53, "r");
        assert!(lost.contains("<Type>Receiver</Type>"), "{lost}");
        assert_eq!(Kind::InternalError.status().0, 500);
    }

    #[test]
    fn seeds_parse_in_decimal_and_hex() {
        assert_eq!(parse_seed(" 1234 "), Some(1234));
        assert_eq!(parse_seed("0xff"), Some(255));
        assert_eq!(parse_seed("x"), None);
    }
}

#[cfg(test)]
mod proxy_tests {
    //! The proxy injecting faults in front of a real moto server, read by
    //! the real SDK: the codes come out as AWS's, lost calls took effect.
    use std::sync::Arc;

    use aws_config::retry::RetryConfig;
    use aws_sdk_ec2::error::ProvideErrorMetadata;

    use super::*;
    use crate::proxy::CountingProxy;
    use crate::{Moto, clients};

    fn at(key: &str, nth: u64, fault: Fault) -> Scripted {
        Scripted {
            key: key.into(),
            nth,
            fault,
        }
    }

    #[tokio::test]
    async fn the_sdk_reads_injected_errors_and_lost_calls_take_effect() -> anyhow::Result<()> {
        let moto = Moto::start()?;
        let faults = Arc::new(Faults::new(FaultConfig::scripted(vec![
            at(
                "ec2:DescribeVpcs",
                1,
                Fault::refuse(Kind::RequestLimitExceeded),
            ),
            at("ec2:DescribeVpcs", 2, Fault::refuse(Kind::InternalError)),
            at(
                "ec2:CreateSecurityGroup",
                1,
                Fault::lose(Kind::InternalError),
            ),
            at(
                "route53:ListHostedZones",
                1,
                Fault::refuse(Kind::Throttling),
            ),
            at(
                "route53:ListHostedZones",
                2,
                Fault::refuse(Kind::PriorRequestNotComplete),
            ),
            at(
                "route53:CreateHostedZone",
                1,
                Fault::lose(Kind::InternalFailure),
            ),
        ])));
        let upstream = ([127, 0, 0, 1], moto.port).into();
        let proxy = CountingProxy::start_with_faults(upstream, faults.clone()).await?;
        let cfg = clients::sdk_config(&proxy.endpoint()).await;
        let no_retry = |b: aws_sdk_ec2::config::Builder| b.retry_config(RetryConfig::disabled());
        let ec2 = aws_sdk_ec2::Client::from_conf(
            no_retry(aws_sdk_ec2::config::Builder::from(&cfg)).build(),
        );
        let r53 = aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::config::Builder::from(&cfg)
                .retry_config(RetryConfig::disabled())
                .build(),
        );

        let e = ec2
            .describe_vpcs()
            .send()
            .await
            .err()
            .map(|e| e.code().map(str::to_string));
        assert_eq!(e, Some(Some("RequestLimitExceeded".into())));
        let e = ec2
            .describe_vpcs()
            .send()
            .await
            .err()
            .map(|e| e.code().map(str::to_string));
        assert_eq!(e, Some(Some("InternalError".into())));
        assert!(!ec2.describe_vpcs().send().await?.vpcs().is_empty());
        let e = ec2
            .create_security_group()
            .group_name("lost")
            .description("lost answer")
            .send()
            .await
            .err()
            .map(|e| e.code().map(str::to_string));
        assert_eq!(e, Some(Some("InternalError".into())));
        let direct = clients::ec2(&moto.endpoint()).await;
        let groups = direct
            .describe_security_groups()
            .group_names("lost")
            .send()
            .await?;
        assert_eq!(
            groups.security_groups().len(),
            1,
            "the lost call took effect"
        );

        let e = r53
            .list_hosted_zones()
            .send()
            .await
            .err()
            .map(|e| e.code().map(str::to_string));
        assert_eq!(e, Some(Some("Throttling".into())));
        let e = r53
            .list_hosted_zones()
            .send()
            .await
            .err()
            .map(|e| e.code().map(str::to_string));
        assert_eq!(e, Some(Some("PriorRequestNotComplete".into())));
        let e = r53
            .create_hosted_zone()
            .name("lost.test")
            .caller_reference("lost")
            .send()
            .await
            .err()
            .map(|e| e.code().map(str::to_string));
        assert_eq!(e, Some(Some("InternalFailure".into())));
        let zones = clients::route53(&moto.endpoint())
            .await
            .list_hosted_zones()
            .send()
            .await?;
        assert_eq!(zones.hosted_zones().len(), 1, "the lost call took effect");

        let counts = proxy.faults();
        assert_eq!(counts.total(), 6, "{counts}");
        assert_eq!(counts.lost(), 2, "{counts}");
        assert_eq!(counts.of("ec2:DescribeVpcs"), 2);
        assert_eq!(proxy.take().0["ec2:DescribeVpcs"], 3);
        Ok(())
    }

    #[tokio::test]
    async fn the_sdk_standard_mode_retries_every_injected_kind() -> anyhow::Result<()> {
        let moto = Moto::start()?;
        let faults = Arc::new(Faults::new(FaultConfig::scripted(vec![
            at(
                "ec2:DescribeVpcs",
                1,
                Fault::refuse(Kind::RequestLimitExceeded),
            ),
            at("ec2:DescribeVpcs", 2, Fault::refuse(Kind::InternalError)),
            at(
                "route53:ListHostedZones",
                1,
                Fault::refuse(Kind::Throttling),
            ),
            at(
                "route53:ListHostedZones",
                2,
                Fault::refuse(Kind::PriorRequestNotComplete),
            ),
            at(
                "route53:ListHostedZones",
                3,
                Fault::refuse(Kind::InternalFailure),
            ),
        ])));
        let upstream = ([127, 0, 0, 1], moto.port).into();
        let proxy = CountingProxy::start_with_faults(upstream, faults).await?;
        let cfg = clients::sdk_config(&proxy.endpoint()).await;
        let retry = RetryConfig::standard()
            .with_max_attempts(4)
            .with_initial_backoff(std::time::Duration::from_millis(10));
        let ec2 = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&cfg)
                .retry_config(retry.clone())
                .build(),
        );
        let r53 = aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::config::Builder::from(&cfg)
                .retry_config(retry)
                .build(),
        );
        ec2.describe_vpcs().send().await?;
        r53.list_hosted_zones().send().await?;
        let calls = proxy.take();
        assert_eq!(calls.0["ec2:DescribeVpcs"], 3, "{calls:?}");
        assert_eq!(calls.0["route53:ListHostedZones"], 4, "{calls:?}");
        Ok(())
    }
}

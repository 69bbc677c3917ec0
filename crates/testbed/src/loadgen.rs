//! The load generator: resolves an app's DNS name from moto's Route53
//! records the way a caching resolver does (honouring the TTL), sends
//! `GET /` to the simulated instance behind each address and counts
//! successes and failures — "zero downtime" as a number. Through a load
//! balancer ([`LoadGen::through`]) it sends every request to the load
//! balancer's address instead.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_route53::types::RrType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Maps an address from a DNS answer (an instance's address in moto) to
/// where that instance really serves: the simulator's loopback server or a
/// real instance's container.
pub trait AddressMap: Send + 'static {
    /// Where the instance with moto address `ip` serves, if it is known.
    fn address_of(&self, ip: &str) -> Option<SocketAddr>;
}

impl AddressMap for crate::sim::SimResolver {
    fn address_of(&self, ip: &str) -> Option<SocketAddr> {
        crate::sim::SimResolver::address_of(self, ip)
    }
}

/// How the load generator behaves.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Pause between two requests (requests are sequential).
    pub interval: Duration,
    /// Cache each answer for its TTL (`false`: resolve before every
    /// request, like a TTL of 0).
    pub respect_ttl: bool,
    /// How long to wait for the record to exist before giving up (nothing
    /// is counted while waiting).
    pub start_timeout: Duration,
    /// Timeout of one request (connect, send, read the whole answer).
    pub request_timeout: Duration,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            interval: Duration::from_millis(20),
            respect_ttl: true,
            start_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(2),
        }
    }
}

/// What the load generator measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Requests attempted (after the record first resolved).
    pub requests: u64,
    /// Requests that did not get a `200`.
    pub failures: u64,
    /// Failures by short reason (`no record`, `unmapped address`,
    /// `connection refused`, `timeout`, `status 500`, …).
    pub failure_reasons: BTreeMap<String, u64>,
    /// Successful responses per `image` in the response body.
    pub by_image: BTreeMap<String, u64>,
    /// Successful responses per `instance` in the response body.
    pub by_instance: BTreeMap<String, u64>,
    /// When each image first answered successfully (time since start).
    pub first_success: BTreeMap<String, Duration>,
    /// When each image last answered successfully (time since start).
    pub last_success: BTreeMap<String, Duration>,
    /// How many times the name was resolved (cache misses).
    pub resolutions: u64,
    /// When the name was last resolved (time since start).
    pub last_resolution: Option<Duration>,
    /// The addresses of the answer in use (the cached one).
    pub answer: Vec<String>,
    /// Why the load generator gave up (the record never appeared, or the
    /// emulator could not be reached).
    pub error: Option<String>,
}

impl LoadReport {
    /// Successful requests.
    pub fn successes(&self) -> u64 {
        self.requests - self.failures
    }

    fn fail(&mut self, reason: &str) {
        self.requests += 1;
        self.failures += 1;
        *self.failure_reasons.entry(reason.to_string()).or_default() += 1;
    }

    fn succeed(&mut self, image: &str, instance: &str, at: Duration) {
        self.requests += 1;
        self.first_success.entry(image.to_string()).or_insert(at);
        self.last_success.insert(image.to_string(), at);
        *self.by_image.entry(image.to_string()).or_default() += 1;
        *self.by_instance.entry(instance.to_string()).or_default() += 1;
    }
}

type SharedReport = Arc<Mutex<LoadReport>>;

fn lock(r: &SharedReport) -> MutexGuard<'_, LoadReport> {
    r.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running load generator; [`LoadGen::stop`] (or drop) ends it.
pub struct LoadGen {
    report: SharedReport,
    started: Instant,
    stop_tx: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LoadGen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadGen").finish_non_exhaustive()
    }
}

impl LoadGen {
    /// Starts sending requests to `record_name` (an A record in hosted
    /// zone `zone_id` of the moto server at `endpoint`) in a background
    /// thread, mapping the record's IPs through `sim` (the simulator's or
    /// the real fleet's resolver).
    ///
    /// # Errors
    /// When the background thread cannot start.
    pub fn start(
        endpoint: &str,
        zone_id: &str,
        record_name: &str,
        sim: impl AddressMap,
        opts: LoadOptions,
    ) -> Result<LoadGen> {
        let target = Target {
            endpoint: endpoint.to_string(),
            zone_id: zone_id.to_string(),
            name: record_name.to_string(),
        };
        LoadGen::spawn(move |report, stop_rx, started| {
            run(target, sim, opts, report, stop_rx, started)
        })
    }

    /// Starts sending `GET /` with `Host: host` to `addr` (a load
    /// balancer, such as [`crate::alb::Alb::addr`]) in a background
    /// thread: no DNS, the load balancer decides where each request goes.
    ///
    /// # Errors
    /// When the background thread cannot start.
    pub fn through(addr: SocketAddr, host: &str, opts: LoadOptions) -> Result<LoadGen> {
        let host = host.to_string();
        LoadGen::spawn(move |report, mut stop_rx, started| async move {
            while !*stop_rx.borrow() {
                let outcome = get(addr, &host, opts.request_timeout).await;
                match outcome {
                    Ok((image, instance)) => {
                        lock(&report).succeed(&image, &instance, started.elapsed());
                    }
                    Err(reason) => lock(&report).fail(&reason),
                }
                if pause(&mut stop_rx, opts.interval).await {
                    break;
                }
            }
        })
    }

    /// Runs `work` (given the report, the stop signal and the start) on a
    /// thread of its own with a current-thread runtime.
    fn spawn<F, Fut>(work: F) -> Result<LoadGen>
    where
        F: FnOnce(SharedReport, watch::Receiver<bool>, Instant) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        let report = SharedReport::default();
        let started = Instant::now();
        let (stop_tx, stop_rx) = watch::channel(false);
        let thread_report = report.clone();
        let thread = std::thread::Builder::new()
            .name("berth-loadgen".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(work(thread_report, stop_rx, started)),
                    Err(e) => lock(&thread_report).error = Some(format!("tokio runtime: {e}")),
                }
            })
            .context("spawning the load generator thread")?;
        Ok(LoadGen {
            report,
            started,
            stop_tx,
            thread: Some(thread),
        })
    }

    /// Time since start, on the clock the report's times use.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// A snapshot of the counts so far.
    pub fn report(&self) -> LoadReport {
        lock(&self.report).clone()
    }

    /// Stops sending and returns the final counts.
    pub fn stop(mut self) -> LoadReport {
        self.shutdown();
        self.report()
    }

    fn shutdown(&mut self) {
        let _ = self.stop_tx.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LoadGen {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Target {
    endpoint: String,
    zone_id: String,
    name: String,
}

/// A resolved A record set.
#[derive(Clone, Debug)]
struct Answer {
    values: Vec<String>,
    resolved: Instant,
    expires: Instant,
}

/// `Some(answer)`, `None` when the name has no record. A CNAME (simple or
/// weighted — one set picked by weight per resolution, as Route53 answers)
/// is followed within the zone; the answer's TTL is the smallest on the
/// chain.
async fn resolve(
    r53: &aws_sdk_route53::Client,
    t: &Target,
    respect_ttl: bool,
) -> Result<Option<Answer>> {
    let mut name = normalize(&t.name);
    let mut ttl: Option<i64> = None;
    for _ in 0..5 {
        let resp = r53
            .list_resource_record_sets()
            .hosted_zone_id(&t.zone_id)
            .start_record_name(&name)
            .max_items(100)
            .send()
            .await?;
        let sets: Vec<_> = resp
            .resource_record_sets()
            .iter()
            .filter(|r| normalize(r.name()) == name)
            .collect();
        let cnames: Vec<_> = sets
            .iter()
            .filter(|r| r.r#type() == &RrType::Cname)
            .collect();
        if !cnames.is_empty() {
            let total: i64 = cnames.iter().map(|r| r.weight().unwrap_or(1)).sum();
            let chosen = if total <= 0 {
                cnames[pick(cnames.len() as u64) as usize]
            } else {
                let mut x = i64::try_from(pick(u64::try_from(total).unwrap_or(1))).unwrap_or(0);
                let mut c = cnames[0];
                for r in &cnames {
                    let w = r.weight().unwrap_or(1);
                    if x < w {
                        c = r;
                        break;
                    }
                    x -= w;
                }
                c
            };
            if let Some(t2) = chosen.ttl() {
                ttl = Some(ttl.map_or(t2, |m| m.min(t2)));
            }
            let Some(next) = chosen.resource_records().first() else {
                return Ok(None);
            };
            name = normalize(next.value());
            continue;
        }
        let mut values = Vec::new();
        for rrs in sets.iter().filter(|r| r.r#type() == &RrType::A) {
            values.extend(rrs.resource_records().iter().map(|r| r.value().to_string()));
            if let Some(t) = rrs.ttl() {
                ttl = Some(ttl.map_or(t, |m| m.min(t)));
            }
        }
        if values.is_empty() {
            return Ok(None);
        }
        let ttl = if respect_ttl {
            u64::try_from(ttl.unwrap_or(0)).unwrap_or(0)
        } else {
            0
        };
        let resolved = Instant::now();
        return Ok(Some(Answer {
            values,
            resolved,
            expires: resolved + Duration::from_secs(ttl),
        }));
    }
    Ok(None)
}

/// A pseudo-random number below `n` (xorshift, seeded from the clock).
fn pick(n: u64) -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        x = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
            | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    x % n.max(1)
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Sleeps for `d` unless asked to stop; `true` when stopping.
async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = stop.changed() => true,
        _ = tokio::time::sleep(d) => *stop.borrow(),
    }
}

async fn run(
    t: Target,
    sim: impl AddressMap,
    opts: LoadOptions,
    report: SharedReport,
    mut stop: watch::Receiver<bool>,
    started: Instant,
) {
    let r53 = crate::clients::route53(&t.endpoint).await;
    // Wait for the record to exist; nothing is counted meanwhile.
    let deadline = Instant::now() + opts.start_timeout;
    let mut cache = loop {
        let last_err = match resolve(&r53, &t, opts.respect_ttl).await {
            Ok(Some(a)) => break a,
            Ok(None) => "no A record".to_string(),
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() >= deadline {
            lock(&report).error = Some(format!(
                "{} did not resolve within {:?} ({last_err})",
                t.name, opts.start_timeout
            ));
            return;
        }
        if pause(&mut stop, Duration::from_millis(100)).await {
            return;
        }
    };
    let mut cached = true; // the answer in `cache` is usable
    {
        let mut r = lock(&report);
        r.resolutions += 1;
        r.last_resolution = Some(cache.resolved.saturating_duration_since(started));
        r.answer.clone_from(&cache.values);
    }
    let mut next = 0usize;
    loop {
        if *stop.borrow() {
            break;
        }
        if !cached || Instant::now() >= cache.expires {
            match resolve(&r53, &t, opts.respect_ttl).await {
                Ok(Some(a)) => {
                    cache = a;
                    cached = true;
                    let mut r = lock(&report);
                    r.resolutions += 1;
                    r.last_resolution = Some(cache.resolved.saturating_duration_since(started));
                    r.answer.clone_from(&cache.values);
                }
                Ok(None) => {
                    cached = false;
                    let mut r = lock(&report);
                    r.resolutions += 1;
                    r.last_resolution = Some(started.elapsed());
                    r.answer.clear();
                    r.fail("no record");
                }
                Err(_) => {
                    cached = false;
                    lock(&report).fail("resolve error");
                }
            }
        }
        if cached {
            let ip = &cache.values[next % cache.values.len()];
            next = next.wrapping_add(1);
            let outcome = match sim.address_of(ip) {
                None => Err("unmapped address".to_string()),
                Some(addr) => get(addr, &t.name, opts.request_timeout).await,
            };
            let mut r = lock(&report);
            match outcome {
                Ok((image, instance)) => r.succeed(&image, &instance, started.elapsed()),
                Err(reason) => r.fail(&reason),
            }
        }
        if pause(&mut stop, opts.interval).await {
            break;
        }
    }
}

/// `GET /` on `addr`; the response's `(image, instance)`, or a short
/// failure reason.
async fn get(
    addr: SocketAddr,
    host: &str,
    timeout: Duration,
) -> std::result::Result<(String, String), String> {
    let exchange = async {
        let mut s = TcpStream::connect(addr).await.map_err(io_reason)?;
        let _ = s.set_nodelay(true);
        let req = format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: berth-loadgen\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.map_err(io_reason)?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(io_reason)?;
        Ok::<_, String>(buf)
    };
    let buf = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => return Err("timeout".into()),
        Ok(r) => r?,
    };
    let text = String::from_utf8_lossy(&buf);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(if text.is_empty() {
            "empty response".into()
        } else {
            "bad response".into()
        });
    };
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    if status != "200" {
        return Err(format!("status {status}"));
    }
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let field = |k: &str| v[k].as_str().unwrap_or("?").to_string();
    Ok((field("image"), field("instance")))
}

fn io_reason(e: std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::ConnectionReset => "connection reset".into(),
        ErrorKind::ConnectionAborted => "connection aborted".into(),
        ErrorKind::TimedOut => "timeout".into(),
        k => format!("io: {k}"),
    }
}

//! The load balancer's data plane for the test bed. moto stores ELBv2
//! listeners, rules and target groups, but moves no traffic and reports
//! every registered target healthy. [`Alb`] plays one listener: it listens
//! on a loopback address, reads the listener's rules (host and path
//! conditions, weighted forwards, fixed responses) and the target groups'
//! targets from moto every [`REFRESH`], health-checks each target as an
//! ALB does (the group's path, interval, timeout and thresholds), and
//! forwards each request to a healthy target of a target group picked by
//! weight.
//!
//! Guarantees (what an ALB does, as far as the tests need it):
//! - Rules are tried by priority, lowest first; a rule matches when each
//!   of its conditions matches (any of its values; `*` and `?` wildcards).
//! - Weights are exact over a run of requests: of `sum` consecutive
//!   requests through a rule, each group gets its weight's share.
//! - A new target takes traffic only after `healthy_threshold` passes; a
//!   healthy one stops after `unhealthy_threshold` failures. When no target
//!   of a group is healthy, all its registered targets get traffic (an ALB
//!   fails open).
//! - A target deregistered in moto gets no new requests; requests in
//!   flight to it finish (draining).
//!
//! Errors reach the client as an ALB's: 404 (no rule matched and no
//! default), 503 (a group with no targets, or all weights 0), 502 (the
//! target refused or broke the connection).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::loadgen::AddressMap;

/// How often the listener's rules and targets are read from moto.
pub const REFRESH: Duration = Duration::from_millis(200);

/// Longest request head read before answering 400.
const MAX_HEAD: usize = 16 * 1024;

/// What the load balancer does with a matching request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Forward {
    /// Forward to target groups by weight (ARN, weight).
    Groups(Vec<(String, u32)>),
    /// Answer with this status.
    Fixed(u16),
}

/// One rule of the listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Its priority (the default rule: `u32::MAX`).
    pub priority: u32,
    /// Host conditions (empty: any host).
    pub hosts: Vec<String>,
    /// Path conditions (empty: any path).
    pub paths: Vec<String>,
    /// What it does.
    pub forward: Forward,
}

impl Route {
    fn matches(&self, host: &str, path: &str) -> bool {
        let host = host.split(':').next().unwrap_or(host);
        (self.hosts.is_empty() || self.hosts.iter().any(|h| wildcard(h, host)))
            && (self.paths.is_empty() || self.paths.iter().any(|p| wildcard(p, path)))
    }
}

/// `pattern` (with `*` and `?`) matches all of `text`, ASCII case-blind
/// as ALB host conditions are.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A forward seen: (time since start, rule priority, weights by group).
pub type WeightsSeen = (Duration, u32, Vec<(String, u32)>);

/// What the load balancer thinks of a target, as the bed measures it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetHealth {
    /// Registered, not yet through `healthy_threshold` checks.
    Initial,
    /// Takes traffic.
    Healthy,
    /// Failed `unhealthy_threshold` checks in a row.
    Unhealthy,
}

/// How a target group checks its targets.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Check {
    path: String,
    interval: Duration,
    timeout: Duration,
    healthy: u32,
    unhealthy: u32,
}

#[derive(Clone, Debug)]
struct Target {
    addr: Option<SocketAddr>,
    health: TargetHealth,
    passes: u32,
    fails: u32,
    next_check: Instant,
    checking: bool,
}

#[derive(Clone, Debug, Default)]
struct View {
    routes: Vec<Route>,
    checks: BTreeMap<String, Check>,
    /// Target group ARN → instance id → target.
    targets: BTreeMap<String, BTreeMap<String, Target>>,
    /// Requests through each rule (by priority), for the weighted pick.
    counters: BTreeMap<u32, u64>,
    /// Requests per group, for the round-robin over its targets.
    turns: BTreeMap<String, u64>,
    /// Every distinct set of forward weights seen, with when.
    weights_seen: Vec<WeightsSeen>,
    refreshed: bool,
    /// Play Auto Scaling's replacement of failed instances.
    heal: bool,
    /// Instances seen healthy, then failing, not yet replaced (group, id).
    failing: Vec<(String, String)>,
    /// Instances replaced: (time since start, instance id).
    replaced: Vec<(Duration, String)>,
}

/// A running load balancer for one listener.
pub struct Alb {
    addr: SocketAddr,
    view: Arc<Mutex<View>>,
    started: Instant,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

fn lock(v: &Mutex<View>) -> MutexGuard<'_, View> {
    v.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Alb {
    /// Plays listener `listener_arn` of the moto at `endpoint` on `ip`
    /// (a loopback address, port chosen), finding where instances serve
    /// through `map`; returns once the first read of the rules is done.
    ///
    /// # Errors
    /// When the address cannot be bound or moto cannot be read.
    pub fn start(
        endpoint: &str,
        listener_arn: &str,
        ip: &str,
        map: impl AddressMap + Sync,
    ) -> Result<Alb> {
        let std_listener =
            std::net::TcpListener::bind((ip, 0)).with_context(|| format!("binding {ip}"))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let view: Arc<Mutex<View>> = Arc::default();
        let (stop, stop_rx) = watch::channel(false);
        let started = Instant::now();
        let (endpoint, listener_arn) = (endpoint.to_string(), listener_arn.to_string());
        let v = view.clone();
        let map = Arc::new(map);
        let thread = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(listener) = TcpListener::from_std(std_listener) else {
                    return;
                };
                let clients =
                    match berth_aws::config::load(&berth_aws::Settings::emulator(endpoint)).await {
                        Ok(c) => c,
                        Err(_) => return,
                    };
                tokio::spawn(refresh_loop(
                    clients,
                    listener_arn,
                    v.clone(),
                    map,
                    started,
                    stop_rx.clone(),
                ));
                tokio::spawn(check_loop(v.clone(), stop_rx.clone()));
                serve(listener, v, stop_rx).await;
            });
        });
        let alb = Alb {
            addr,
            view,
            started,
            stop,
            thread: Some(thread),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !lock(&alb.view).refreshed {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the bed's load balancer could not read listener rules from moto"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(alb)
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The health the bed measures for instance `id` in target group
    /// `group` (None: not registered there).
    pub fn health(&self, group: &str, id: &str) -> Option<TargetHealth> {
        lock(&self.view)
            .targets
            .get(group)
            .and_then(|t| t.get(id))
            .map(|t| t.health)
    }

    /// Each distinct forward seen, in order: (time since start, rule
    /// priority, weights by group ARN).
    pub fn weights_seen(&self) -> Vec<WeightsSeen> {
        lock(&self.view).weights_seen.clone()
    }

    /// From now on, plays Auto Scaling for groups that use the load
    /// balancer's health: an instance the bed's checks saw healthy and
    /// then failing (`unhealthy_threshold` checks in a row) is terminated
    /// in its group without lowering the desired count, and the group
    /// launches and registers its replacement, as AWS does between applies.
    /// (A new instance that never passes is Auto Scaling's grace period's
    /// business, not played here.)
    pub fn play_auto_scaling(&self) {
        lock(&self.view).heal = true;
    }

    /// The instances replaced so far: (time since start, instance id).
    pub fn replaced(&self) -> Vec<(Duration, String)> {
        lock(&self.view).replaced.clone()
    }

    /// Since when it runs.
    pub fn started(&self) -> Instant {
        self.started
    }
}

impl Drop for Alb {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn refresh_loop(
    clients: berth_aws::Clients,
    listener_arn: String,
    view: Arc<Mutex<View>>,
    map: Arc<impl AddressMap + Sync>,
    started: Instant,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if let Ok(read) = read_listener(&clients, &listener_arn, map.as_ref()).await {
            apply(&mut lock(&view), read, started.elapsed());
        }
        let failing = {
            let mut v = lock(&view);
            if v.heal {
                std::mem::take(&mut v.failing)
            } else {
                Vec::new()
            }
        };
        for (group, id) in failing {
            match replace(&clients, &id).await {
                Replaced::Yes => lock(&view).replaced.push((started.elapsed(), id)),
                Replaced::NotInGroup => {}
                // As Auto Scaling keeps trying: again after the next read.
                Replaced::CallFailed => lock(&view).failing.push((group, id)),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(REFRESH) => {}
            _ = stop.changed() => return,
        }
    }
}

/// How a replacement went.
enum Replaced {
    /// Terminated in its group; the group launches the replacement.
    Yes,
    /// The instance is in no group: nothing replaces it.
    NotInGroup,
    /// A call to moto failed: try again.
    CallFailed,
}

/// What Auto Scaling does with an instance its load balancer fails:
/// terminates it in its group without lowering the desired count, so the
/// group launches a replacement and registers it (moto does both inside
/// `TerminateInstanceInAutoScalingGroup`).
async fn replace(c: &berth_aws::Clients, id: &str) -> Replaced {
    let Ok(found) = c
        .autoscaling
        .describe_auto_scaling_instances()
        .instance_ids(id)
        .send()
        .await
    else {
        return Replaced::CallFailed;
    };
    if found.auto_scaling_instances().is_empty() {
        return Replaced::NotInGroup;
    }
    match c
        .autoscaling
        .terminate_instance_in_auto_scaling_group()
        .instance_id(id)
        .should_decrement_desired_capacity(false)
        .send()
        .await
    {
        Ok(_) => Replaced::Yes,
        Err(_) => Replaced::CallFailed,
    }
}

/// One read of the listener from moto.
struct Read {
    routes: Vec<Route>,
    checks: BTreeMap<String, Check>,
    /// Group → instance id → where it serves.
    members: BTreeMap<String, BTreeMap<String, Option<SocketAddr>>>,
}

async fn read_listener(
    c: &berth_aws::Clients,
    listener_arn: &str,
    map: &(impl AddressMap + Sync),
) -> Result<Read> {
    let rules = c
        .elb
        .describe_rules()
        .listener_arn(listener_arn)
        .send()
        .await?;
    let mut routes = Vec::new();
    for r in rules.rules() {
        let priority = match r.priority() {
            Some("default") | None => u32::MAX,
            Some(p) => p.parse().unwrap_or(u32::MAX - 1),
        };
        let mut hosts = Vec::new();
        let mut paths = Vec::new();
        for cond in r.conditions() {
            match cond.field() {
                Some("host-header") => {
                    hosts.extend(cond.values().iter().cloned());
                    if let Some(h) = cond.host_header_config() {
                        hosts.extend(h.values().iter().cloned());
                    }
                }
                Some("path-pattern") => {
                    paths.extend(cond.values().iter().cloned());
                    if let Some(p) = cond.path_pattern_config() {
                        paths.extend(p.values().iter().cloned());
                    }
                }
                _ => {}
            }
        }
        hosts.dedup();
        paths.dedup();
        let mut forward = Forward::Fixed(404);
        for a in r.actions() {
            if let Some(f) = a.forward_config().filter(|f| !f.target_groups().is_empty()) {
                forward = Forward::Groups(
                    f.target_groups()
                        .iter()
                        .filter_map(|g| {
                            Some((
                                g.target_group_arn()?.to_string(),
                                g.weight().and_then(|w| u32::try_from(w).ok()).unwrap_or(1),
                            ))
                        })
                        .collect(),
                );
            } else if let Some(tg) = a.target_group_arn() {
                forward = Forward::Groups(vec![(tg.to_string(), 1)]);
            } else if let Some(f) = a.fixed_response_config() {
                forward = Forward::Fixed(f.status_code().unwrap_or("503").parse().unwrap_or(503));
            }
        }
        routes.push(Route {
            priority,
            hosts,
            paths,
            forward,
        });
    }
    routes.sort_by_key(|r| r.priority);
    let groups: Vec<String> = routes
        .iter()
        .filter_map(|r| match &r.forward {
            Forward::Groups(g) => Some(g.iter().map(|(arn, _)| arn.clone())),
            Forward::Fixed(_) => None,
        })
        .flatten()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut checks = BTreeMap::new();
    let mut members = BTreeMap::new();
    if !groups.is_empty() {
        let described = c
            .elb
            .describe_target_groups()
            .set_target_group_arns(Some(groups.clone()))
            .send()
            .await?;
        for g in described.target_groups() {
            let Some(arn) = g.target_group_arn() else {
                continue;
            };
            let secs = |v: Option<i32>, d: u64| {
                Duration::from_secs(v.and_then(|v| u64::try_from(v).ok()).unwrap_or(d))
            };
            let count = |v: Option<i32>, d: u32| v.and_then(|v| u32::try_from(v).ok()).unwrap_or(d);
            checks.insert(
                arn.to_string(),
                Check {
                    path: g.health_check_path().unwrap_or("/").to_string(),
                    interval: secs(g.health_check_interval_seconds(), 30),
                    timeout: secs(g.health_check_timeout_seconds(), 5),
                    healthy: count(g.healthy_threshold_count(), 5),
                    unhealthy: count(g.unhealthy_threshold_count(), 2),
                },
            );
            let health = c
                .elb
                .describe_target_health()
                .target_group_arn(arn)
                .send()
                .await?;
            let ids: Vec<String> = health
                .target_health_descriptions()
                .iter()
                .filter_map(|d| d.target()?.id().map(str::to_string))
                .collect();
            let ips = private_ips(c, &ids).await?;
            members.insert(
                arn.to_string(),
                ids.into_iter()
                    .map(|id| {
                        let addr = ips.get(&id).and_then(|ip| map.address_of(ip));
                        (id, addr)
                    })
                    .collect(),
            );
        }
    }
    Ok(Read {
        routes,
        checks,
        members,
    })
}

/// Private IPs of the running instances among `ids`.
async fn private_ips(c: &berth_aws::Clients, ids: &[String]) -> Result<BTreeMap<String, String>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let out = c
        .ec2
        .describe_instances()
        .set_instance_ids(Some(ids.to_vec()))
        .send()
        .await?;
    Ok(out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| {
            i.state()
                .and_then(|s| s.name())
                .is_some_and(|n| n.as_str() == "running")
        })
        .filter_map(|i| {
            Some((
                i.instance_id()?.to_string(),
                i.private_ip_address()?.to_string(),
            ))
        })
        .collect())
}

/// What a user's stack (the AWS provider) has before berth comes in: an
/// ALB `name` in two default subnets and an HTTP listener on port 80
/// whose default action answers 404. Returns (VPC id, listener ARN).
///
/// # Errors
/// When a call to moto fails.
pub async fn users_listener(c: &berth_aws::Clients, name: &str) -> Result<(String, String)> {
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, FixedResponseActionConfig, ProtocolEnum,
    };
    let vpc = berth_aws::ec2::vpc_for(c, None).await?;
    let subnets = berth_aws::ec2::default_subnets(c).await?;
    let alb = c
        .elb
        .create_load_balancer()
        .name(name)
        .set_subnets(Some(subnets.into_iter().take(2).collect()))
        .send()
        .await?;
    let alb_arn = alb
        .load_balancers()
        .first()
        .and_then(|l| l.load_balancer_arn())
        .context("CreateLoadBalancer named no load balancer")?;
    let listener = c
        .elb
        .create_listener()
        .load_balancer_arn(alb_arn)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code("404")
                        .build(),
                )
                .build(),
        )
        .send()
        .await?;
    let arn = listener
        .listeners()
        .first()
        .and_then(|l| l.listener_arn())
        .context("CreateListener named no listener")?;
    Ok((vpc, arn.to_string()))
}

/// What `aws_lb_target_group` and `aws_lb_target_group_attachment` of a
/// user's stack make: a group `name` in the default VPC, checked on `/up`
/// every 5 s (2 passes, 2 failures), holding the instances `ids`.
/// Returns its ARN.
///
/// # Errors
/// When a call to moto fails.
pub async fn users_target_group(
    c: &berth_aws::Clients,
    name: &str,
    ids: &[String],
) -> Result<String> {
    use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetDescription};
    let vpc = berth_aws::ec2::vpc_for(c, None).await?;
    let made = c
        .elb
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(3000)
        .vpc_id(vpc)
        .health_check_path("/up")
        .health_check_interval_seconds(5)
        .health_check_timeout_seconds(2)
        .healthy_threshold_count(2)
        .unhealthy_threshold_count(2)
        .send()
        .await?;
    let arn = made
        .target_groups()
        .first()
        .and_then(|g| g.target_group_arn())
        .context("CreateTargetGroup named no group")?
        .to_string();
    if !ids.is_empty() {
        c.elb
            .register_targets()
            .target_group_arn(&arn)
            .set_targets(Some(
                ids.iter()
                    .map(|id| TargetDescription::builder().id(id).build())
                    .collect(),
            ))
            .send()
            .await?;
    }
    Ok(arn)
}

fn apply(v: &mut View, read: Read, at: Duration) {
    for r in &read.routes {
        if let Forward::Groups(g) = &r.forward {
            let last = v
                .weights_seen
                .iter()
                .rev()
                .find(|(_, p, _)| *p == r.priority)
                .map(|(_, _, w)| w);
            if last != Some(g) {
                v.weights_seen.push((at, r.priority, g.clone()));
            }
        }
    }
    v.routes = read.routes;
    v.checks = read.checks;
    let now = Instant::now();
    let mut targets = BTreeMap::new();
    for (group, members) in read.members {
        let mut old = v.targets.remove(&group).unwrap_or_default();
        let mut kept = BTreeMap::new();
        for (id, addr) in members {
            let t = old.remove(&id).unwrap_or(Target {
                addr,
                health: TargetHealth::Initial,
                passes: 0,
                fails: 0,
                next_check: now,
                checking: false,
            });
            kept.insert(id, Target { addr, ..t });
        }
        targets.insert(group, kept);
    }
    v.targets = targets;
    v.refreshed = true;
}

async fn check_loop(view: Arc<Mutex<View>>, mut stop: watch::Receiver<bool>) {
    loop {
        let due: Vec<(String, String, SocketAddr, Check)> = {
            let mut v = lock(&view);
            let now = Instant::now();
            let checks = v.checks.clone();
            let mut due = Vec::new();
            for (group, targets) in &mut v.targets {
                let Some(check) = checks.get(group) else {
                    continue;
                };
                for (id, t) in targets.iter_mut() {
                    if t.checking || t.next_check > now {
                        continue;
                    }
                    let Some(addr) = t.addr else {
                        continue;
                    };
                    t.checking = true;
                    t.next_check = now + check.interval;
                    due.push((group.clone(), id.clone(), addr, check.clone()));
                }
            }
            due
        };
        for (group, id, addr, check) in due {
            let view = view.clone();
            tokio::spawn(async move {
                let ok = probe(addr, &check.path, check.timeout).await;
                let mut v = lock(&view);
                if let Some(t) = v.targets.get_mut(&group).and_then(|t| t.get_mut(&id)) {
                    t.checking = false;
                    if ok {
                        t.passes += 1;
                        t.fails = 0;
                        if t.passes >= check.healthy {
                            t.health = TargetHealth::Healthy;
                        }
                    } else {
                        t.fails += 1;
                        t.passes = 0;
                        if t.fails >= check.unhealthy {
                            let was = t.health;
                            t.health = TargetHealth::Unhealthy;
                            if was == TargetHealth::Healthy {
                                v.failing.push((group.clone(), id.clone()));
                            }
                        }
                    }
                }
            });
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One health check: `GET path` answered 200–399 within `timeout`.
async fn probe(addr: SocketAddr, path: &str, timeout: Duration) -> bool {
    let exchange = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: ELB-HealthChecker/2.0\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.ok()?;
        // The status line, however the answer was split into segments.
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !got.contains(&b'\n') && got.len() < MAX_HEAD {
            let n = s.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        let line = String::from_utf8_lossy(&got).to_string();
        let status: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some((200..400).contains(&status))
    };
    matches!(
        tokio::time::timeout(timeout, exchange).await,
        Ok(Some(true))
    )
}

async fn serve(listener: TcpListener, view: Arc<Mutex<View>>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(handle(stream, view.clone()));
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Where a request goes: a target, or an answer of the load balancer's own.
fn route(v: &mut View, host: &str, path: &str) -> Result<SocketAddr, u16> {
    let Some(r) = v.routes.iter().find(|r| r.matches(host, path)).cloned() else {
        return Err(404);
    };
    let groups = match r.forward {
        Forward::Fixed(status) => return Err(status),
        Forward::Groups(g) => g,
    };
    let total: u64 = groups.iter().map(|(_, w)| u64::from(*w)).sum();
    if total == 0 {
        return Err(503);
    }
    let n = v.counters.entry(r.priority).or_insert(0);
    let mut slot = *n % total;
    *n += 1;
    let mut chosen = &groups[0].0;
    for (g, w) in &groups {
        if slot < u64::from(*w) {
            chosen = g;
            break;
        }
        slot -= u64::from(*w);
    }
    let chosen = chosen.clone();
    let members: Vec<(TargetHealth, SocketAddr)> = v
        .targets
        .get(&chosen)
        .map(|t| {
            t.values()
                .filter_map(|t| Some((t.health, t.addr?)))
                .collect()
        })
        .unwrap_or_default();
    let healthy: Vec<SocketAddr> = members
        .iter()
        .filter(|(h, _)| *h == TargetHealth::Healthy)
        .map(|(_, a)| *a)
        .collect();
    // No healthy target: an ALB fails open to every registered one.
    let pool = if healthy.is_empty() {
        members.iter().map(|(_, a)| *a).collect()
    } else {
        healthy
    };
    if pool.is_empty() {
        return Err(503);
    }
    let turn = v.turns.entry(chosen).or_insert(0);
    let addr = pool[usize::try_from(*turn % pool.len() as u64).unwrap_or(0)];
    *turn += 1;
    Ok(addr)
}

async fn handle(mut client: TcpStream, view: Arc<Mutex<View>>) {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            let _ = answer(&mut client, 400).await;
            return;
        }
        let mut chunk = [0u8; 4096];
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let path = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_string();
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let host = header("host").unwrap_or_default();
    let length: usize = header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 4096];
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let target = route(&mut lock(&view), &host, &path);
    let addr = match target {
        Ok(a) => a,
        Err(status) => {
            let _ = answer(&mut client, status).await;
            return;
        }
    };
    let Ok(mut upstream) = TcpStream::connect(addr).await else {
        let _ = answer(&mut client, 502).await;
        return;
    };
    let _ = upstream.set_nodelay(true);
    if upstream.write_all(&buf).await.is_err() {
        let _ = answer(&mut client, 502).await;
        return;
    }
    let mut response = Vec::new();
    if upstream.read_to_end(&mut response).await.is_err() || response.is_empty() {
        let _ = answer(&mut client, 502).await;
        return;
    }
    let _ = client.write_all(&response).await;
    let _ = client.shutdown().await;
}

async fn answer(client: &mut TcpStream, status: u16) -> std::io::Result<()> {
    let reason = match status {
        400 => "Bad Request",
        404 => "Not Found",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let body = format!("{status} {reason} (berth bed load balancer)\n");
    let text = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(text.as_bytes()).await?;
    client.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found when a stand-in wrote its answer in pieces: the check read
    /// one segment and took "HTTP/1.1 " for a failure.
    #[tokio::test]
    async fn a_check_reads_a_status_line_sent_in_pieces() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut c, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let _ = c.read(&mut buf).await;
            for piece in ["HTTP/1.1 ", "200", " OK\r\nContent-Length: 0\r\n\r\n"] {
                c.write_all(piece.as_bytes()).await.unwrap();
                c.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        });
        assert!(probe(addr, "/up", Duration::from_secs(2)).await);
    }

    #[test]
    fn wildcards_match_as_alb_conditions_do() {
        assert!(wildcard("shop.example.com", "SHOP.example.com"));
        assert!(wildcard("*.example.com", "api.example.com"));
        assert!(!wildcard("*.example.com", "example.org"));
        assert!(wildcard("/api/*", "/api/v1/users"));
        assert!(wildcard("/v?/x", "/v2/x"));
        assert!(!wildcard("/v?/x", "/v22/x"));
        assert!(wildcard("*", ""));
    }

    fn view(weights: Vec<(String, u32)>) -> View {
        let mut v = View {
            routes: vec![
                Route {
                    priority: 10,
                    hosts: vec!["shop.example.com".into()],
                    paths: vec![],
                    forward: Forward::Groups(weights),
                },
                Route {
                    priority: u32::MAX,
                    hosts: vec![],
                    paths: vec![],
                    forward: Forward::Fixed(404),
                },
            ],
            ..View::default()
        };
        for (g, port) in [("blue", 1000), ("green", 2000)] {
            let mut t = BTreeMap::new();
            for i in 0..2u16 {
                t.insert(
                    format!("i-{g}-{i}"),
                    Target {
                        addr: Some(SocketAddr::from(([127, 0, 0, 1], port + i))),
                        health: TargetHealth::Healthy,
                        passes: 2,
                        fails: 0,
                        next_check: Instant::now(),
                        checking: false,
                    },
                );
            }
            v.targets.insert(g.to_string(), t);
        }
        v
    }

    #[test]
    fn weights_are_exact_over_a_run_and_targets_take_turns() {
        let mut v = view(vec![("blue".into(), 75), ("green".into(), 25)]);
        let mut blue = 0;
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..100 {
            let a = route(&mut v, "shop.example.com:80", "/").unwrap();
            if a.port() < 2000 {
                blue += 1;
            }
            seen.insert(a.port());
        }
        assert_eq!(blue, 75);
        assert_eq!(seen.len(), 4, "every target took a turn: {seen:?}");
        assert_eq!(route(&mut v, "other.example.com", "/"), Err(404));
    }

    #[test]
    fn unhealthy_targets_get_nothing_until_none_is_healthy() {
        let mut v = view(vec![("blue".into(), 1)]);
        v.targets
            .get_mut("blue")
            .unwrap()
            .get_mut("i-blue-0")
            .unwrap()
            .health = TargetHealth::Unhealthy;
        for _ in 0..10 {
            assert_eq!(route(&mut v, "shop.example.com", "/").unwrap().port(), 1001);
        }
        v.targets
            .get_mut("blue")
            .unwrap()
            .get_mut("i-blue-1")
            .unwrap()
            .health = TargetHealth::Unhealthy;
        let ports: std::collections::BTreeSet<u16> = (0..4)
            .map(|_| route(&mut v, "shop.example.com", "/").unwrap().port())
            .collect();
        assert_eq!(ports.len(), 2, "fails open to all: {ports:?}");
        let mut none = view(vec![("blue".into(), 0), ("green".into(), 0)]);
        assert_eq!(route(&mut none, "shop.example.com", "/"), Err(503));
    }
}

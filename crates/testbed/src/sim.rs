//! The fleet simulator: plays the part of the EC2 instances berth launches
//! in moto (which stores instances but never boots them).
//!
//! It polls moto for instances tagged `berth:managed-by=berth`, checks each
//! new instance's user-data (a bash script with a JSON release manifest in
//! a heredoc), "boots" it after a delay, reports readiness the way berth's
//! health reporter does (the `berth:health` tag) and serves HTTP for it on
//! its own loopback address `127.0.X.Y`. An image whose name contains
//! `broken` reports `unhealthy` and serves nothing. When moto says the
//! instance is terminated (or it disappears), its server stops at once.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use aws_sdk_ec2::types::{Filter, InstanceStateName, Tag};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};

/// Tag berth puts on every instance it manages (`berth`).
pub const TAG_MANAGED_BY: &str = berth_aws::fleet::tags::MANAGED_BY;
/// Tag naming the app.
pub const TAG_APP: &str = berth_aws::fleet::tags::APP;
/// Tag naming the release number.
pub const TAG_RELEASE: &str = berth_aws::fleet::tags::RELEASE;
/// Tag the instance's health reporter writes (`healthy` or `unhealthy: …`).
pub const TAG_HEALTH: &str = berth_aws::fleet::tags::HEALTH;
/// The health tag value of a ready instance.
pub const HEALTHY: &str = "healthy";
/// The health tag value of an instance whose image contains `broken`.
pub const BROKEN_HEALTH: &str = "unhealthy: GET /up answered 500";

/// How the simulator behaves.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Time from seeing a new instance to it serving and reporting healthy.
    pub boot_delay: Duration,
    /// Time between two DescribeInstances polls.
    pub poll_interval: Duration,
    /// Strings (secret values) that must never appear in user-data.
    pub forbidden: Vec<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            boot_delay: Duration::from_secs(1),
            poll_interval: Duration::from_millis(150),
            forbidden: Vec::new(),
        }
    }
}

/// An instance that booted and served HTTP (it may have stopped since).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootedInstance {
    /// The EC2 instance id.
    pub id: String,
    /// Its `berth:app` tag.
    pub app: String,
    /// The app container's image from its release manifest.
    pub image: String,
    /// Its `berth:release` tag.
    pub release: String,
    /// Where its simulated server listens (`127.0.X.Y:port`).
    pub addr: SocketAddr,
}

/// A user-data validation problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The instance whose user-data is wrong.
    pub instance_id: String,
    /// What is wrong (never contains a forbidden value).
    pub message: String,
}

/// Something the simulator did, for [`FleetSim::subscribe`].
#[derive(Clone, Debug)]
pub enum SimEvent {
    /// The instance serves HTTP and was tagged healthy.
    Booted(BootedInstance),
    /// The instance was tagged unhealthy (bad user-data or broken image).
    Failed {
        /// The instance id.
        id: String,
        /// The `berth:health` value written.
        health: String,
    },
    /// The instance left the running state; its server stopped.
    Stopped {
        /// The instance id.
        id: String,
    },
    /// A call to the emulator failed.
    Error(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Checking user-data or waiting out the boot delay.
    Starting,
    /// Tagged unhealthy; serves nothing.
    Failed,
    /// Serving HTTP.
    Serving,
    /// Terminated (or never seen alive); nothing serves.
    Stopped,
}

#[derive(Debug)]
struct Tracked {
    ips: Vec<String>,
    phase: Phase,
    addr: Option<SocketAddr>,
    task: Option<AbortHandle>,
}

#[derive(Default)]
struct Inner {
    tracked: HashMap<String, Tracked>,
    booted: Vec<BootedInstance>,
    problems: Vec<Problem>,
    user_data: HashMap<String, String>,
    errors: Vec<String>,
    polls: u64,
    next_loopback: u32,
    subscribers: Vec<mpsc::UnboundedSender<SimEvent>>,
}

impl Inner {
    fn emit(&mut self, ev: SimEvent) {
        self.subscribers.retain(|s| s.send(ev.clone()).is_ok());
    }

    fn error(&mut self, msg: String) {
        if self.errors.len() < 1000 {
            self.errors.push(msg.clone());
        }
        self.emit(SimEvent::Error(msg));
    }

    /// The next unused loopback address (127.0.1.1, 127.0.1.2, …, skipping
    /// .0 and .255).
    fn alloc_loopback(&mut self) -> Option<Ipv4Addr> {
        loop {
            let n = self.next_loopback.max(0x101);
            self.next_loopback = n + 1;
            let (x, y) = (n >> 8, n & 0xff);
            if x > 255 {
                return None;
            }
            if y == 0 || y == 255 {
                continue;
            }
            return Some(Ipv4Addr::new(127, 0, x as u8, y as u8));
        }
    }
}

/// Shared state, readable from any thread.
#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A cloneable handle that maps instance IPs (as moto reports them) to the
/// simulated servers; the load generator holds one.
#[derive(Clone)]
pub struct SimResolver {
    shared: Arc<Shared>,
}

impl SimResolver {
    /// The loopback server of the instance whose private or public IP is
    /// `ip`. An instance that has stopped keeps its address (connections
    /// to it are refused), as a real IP would stop answering.
    pub fn address_of(&self, ip: &str) -> Option<SocketAddr> {
        let inner = self.shared.lock();
        let mut fallback = None;
        for t in inner.tracked.values() {
            if let Some(addr) = t.addr
                && t.ips.iter().any(|i| i == ip)
            {
                if t.phase == Phase::Serving {
                    return Some(addr);
                }
                fallback = Some(addr);
            }
        }
        fallback
    }
}

impl std::fmt::Debug for SimResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimResolver")
    }
}

/// The running simulator; stops on [`FleetSim::stop`] or drop.
pub struct FleetSim {
    shared: Arc<Shared>,
    stop_tx: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FleetSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetSim").finish_non_exhaustive()
    }
}

impl FleetSim {
    /// Starts watching the moto server at `endpoint` in a background
    /// thread and returns once the first poll succeeded.
    ///
    /// # Errors
    /// When the runtime cannot start or the first DescribeInstances fails.
    pub fn start(endpoint: &str, opts: SimOptions) -> Result<FleetSim> {
        Self::start_in(endpoint, &[crate::clients::REGION], opts)
    }

    /// Like [`FleetSim::start`], watching every region in `regions` (an
    /// app deployed to several regions of one emulator).
    ///
    /// # Errors
    /// When the runtime cannot start or the first poll fails.
    pub fn start_in(endpoint: &str, regions: &[&str], opts: SimOptions) -> Result<FleetSim> {
        let regions: Vec<String> = regions.iter().map(|r| (*r).to_string()).collect();
        let shared = Arc::new(Shared::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
        let endpoint = endpoint.to_string();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("berth-fleet-sim".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow!("tokio runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(run(
                    endpoint,
                    regions,
                    opts,
                    thread_shared,
                    stop_rx,
                    ready_tx,
                ));
                // Dropping the runtime aborts every instance task, which
                // drops every listener.
                rt.shutdown_timeout(Duration::from_millis(200));
            })
            .context("spawning the fleet simulator thread")?;
        let mut sim = FleetSim {
            shared,
            stop_tx,
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(sim),
            Ok(Err(e)) => {
                sim.shutdown();
                Err(e)
            }
            Err(_) => {
                sim.shutdown();
                bail!("the fleet simulator thread exited before its first poll")
            }
        }
    }

    /// A handle mapping instance IPs to their simulated servers.
    pub fn resolver(&self) -> SimResolver {
        SimResolver {
            shared: self.shared.clone(),
        }
    }

    /// The loopback server of the instance whose private or public IP is
    /// `ip` (see [`SimResolver::address_of`]).
    pub fn address_of(&self, ip: &str) -> Option<SocketAddr> {
        self.resolver().address_of(ip)
    }

    /// Makes instance `id` die while EC2 still says it runs (a crashed
    /// host, a hung engine): its server stops, connections to it are
    /// refused, and nothing reports about it any more. False when the
    /// simulator does not know it.
    pub fn crash(&self, id: &str) -> bool {
        let mut inner = self.shared.lock();
        if !inner.tracked.contains_key(id) {
            return false;
        }
        stop_instance(&mut inner, id);
        true
    }

    /// Every instance that booted, in boot order (including ones that
    /// have stopped since).
    pub fn booted(&self) -> Vec<BootedInstance> {
        self.shared.lock().booted.clone()
    }

    /// The instances serving HTTP right now, in boot order.
    pub fn serving(&self) -> Vec<BootedInstance> {
        let inner = self.shared.lock();
        inner
            .booted
            .iter()
            .filter(|b| {
                inner
                    .tracked
                    .get(&b.id)
                    .is_some_and(|t| t.phase == Phase::Serving)
            })
            .cloned()
            .collect()
    }

    /// Every user-data problem found so far.
    pub fn problems(&self) -> Vec<Problem> {
        self.shared.lock().problems.clone()
    }

    /// The decoded user-data of instance `id`, once the simulator read it.
    pub fn user_data(&self, id: &str) -> Option<String> {
        self.shared.lock().user_data.get(id).cloned()
    }

    /// Failed calls to the emulator (polls, tagging).
    pub fn errors(&self) -> Vec<String> {
        self.shared.lock().errors.clone()
    }

    /// How many polls completed.
    pub fn polls(&self) -> u64 {
        self.shared.lock().polls
    }

    /// A stream of what the simulator does from now on.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<SimEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.shared.lock().subscribers.push(tx);
        rx
    }

    /// Stops polling and every simulated server, and waits for the
    /// background thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop_tx.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mut inner = self.shared.lock();
        for t in inner.tracked.values_mut() {
            if t.phase != Phase::Failed {
                t.phase = Phase::Stopped;
            }
        }
        inner.subscribers.clear();
    }
}

impl Drop for FleetSim {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What the background tasks share.
struct Ctx {
    /// One client per watched region.
    ec2: Vec<aws_sdk_ec2::Client>,
    opts: SimOptions,
    shared: Arc<Shared>,
}

async fn run(
    endpoint: String,
    regions: Vec<String>,
    opts: SimOptions,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    ready: std::sync::mpsc::Sender<Result<()>>,
) {
    let ctx = Arc::new(Ctx {
        ec2: {
            let mut v = Vec::new();
            for r in &regions {
                v.push(crate::clients::ec2_in(&endpoint, r).await);
            }
            v
        },
        opts,
        shared,
    });
    let mut tasks = JoinSet::new();
    let first = poll(&ctx, &mut tasks).await;
    let ok = first.is_ok();
    let _ = ready.send(first.with_context(|| format!("fleet simulator: polling {endpoint}")));
    if !ok {
        return;
    }
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(ctx.opts.poll_interval) => {}
        }
        if *stop.borrow() {
            break;
        }
        // Reap finished instance tasks.
        while tasks.try_join_next().is_some() {}
        if let Err(e) = poll(&ctx, &mut tasks).await {
            ctx.shared
                .lock()
                .error(format!("DescribeInstances: {}", error_text(&e)));
        }
    }
    tasks.abort_all();
}

/// One instance as DescribeInstances shows it.
struct Seen {
    /// Index of the region's client.
    client: usize,
    id: String,
    alive: bool,
    ips: Vec<String>,
    app: String,
    release: String,
}

async fn describe_all(clients: &[aws_sdk_ec2::Client]) -> Result<Vec<Seen>> {
    let mut out = Vec::new();
    for (client, c) in clients.iter().enumerate() {
        out.extend(managed_instances(c).await?.into_iter().map(|m| Seen {
            client,
            id: m.id,
            alive: m.alive,
            ips: m.ips,
            app: m.app,
            release: m.release,
        }));
    }
    Ok(out)
}

/// An instance berth launched, as moto reports it.
#[derive(Clone, Debug)]
pub struct Managed {
    /// The instance id.
    pub id: String,
    /// Pending or running.
    pub alive: bool,
    /// Its private and public addresses, where it has them.
    pub ips: Vec<String>,
    /// Its `berth:app` tag.
    pub app: String,
    /// Its `berth:release` tag.
    pub release: String,
    /// Its availability zone.
    pub zone: String,
    /// The ARN of the instance profile it was launched with, if any.
    pub profile: Option<String>,
}

/// Every instance tagged `berth:managed-by=berth` in `ec2`'s region (one
/// paginated, tag-filtered DescribeInstances): what the simulator and the
/// real fleet watch.
///
/// # Errors
/// When a call fails.
pub async fn managed_instances(ec2: &aws_sdk_ec2::Client) -> Result<Vec<Managed>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let resp = ec2
            .describe_instances()
            .filters(
                Filter::builder()
                    .name(format!("tag:{TAG_MANAGED_BY}"))
                    .values("berth")
                    .build(),
            )
            .set_next_token(token.take())
            .send()
            .await?;
        for r in resp.reservations() {
            for i in r.instances() {
                let Some(id) = i.instance_id() else { continue };
                let alive = matches!(
                    i.state().and_then(|s| s.name()),
                    Some(InstanceStateName::Pending | InstanceStateName::Running)
                );
                let tag = |k: &str| crate::clients::tag(i, k);
                let ips = [i.private_ip_address(), i.public_ip_address()]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                out.push(Managed {
                    id: id.to_string(),
                    alive,
                    ips,
                    app: tag(TAG_APP),
                    release: tag(TAG_RELEASE),
                    zone: i
                        .placement()
                        .and_then(|p| p.availability_zone())
                        .unwrap_or_default()
                        .to_string(),
                    profile: i
                        .iam_instance_profile()
                        .and_then(|p| p.arn())
                        .map(str::to_string),
                });
            }
        }
        match resp.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

async fn poll(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>) -> Result<()> {
    let seen = describe_all(&ctx.ec2).await?;
    let mut inner = ctx.shared.lock();
    inner.polls += 1;
    let mut ids = HashSet::new();
    for s in seen {
        ids.insert(s.id.clone());
        if let Some(t) = inner.tracked.get_mut(&s.id) {
            if !s.ips.is_empty() {
                t.ips = s.ips;
            }
            if !s.alive {
                stop_instance(&mut inner, &s.id);
            }
            continue;
        }
        let (phase, task) = if s.alive {
            let task = tasks.spawn(lifecycle(
                ctx.clone(),
                s.client,
                s.id.clone(),
                s.app,
                s.release,
            ));
            (Phase::Starting, Some(task))
        } else {
            (Phase::Stopped, None)
        };
        inner.tracked.insert(
            s.id,
            Tracked {
                ips: s.ips,
                phase,
                addr: None,
                task,
            },
        );
    }
    let gone: Vec<String> = inner
        .tracked
        .keys()
        .filter(|id| !ids.contains(*id))
        .cloned()
        .collect();
    for id in gone {
        stop_instance(&mut inner, &id);
    }
    Ok(())
}

/// Stops instance `id`'s task (and so its server) if it still runs.
fn stop_instance(inner: &mut Inner, id: &str) {
    let Some(t) = inner.tracked.get_mut(id) else {
        return;
    };
    if let Some(task) = t.task.take() {
        task.abort();
    }
    let was_serving = t.phase == Phase::Serving;
    if t.phase != Phase::Failed {
        t.phase = Phase::Stopped;
    }
    if was_serving {
        inner.emit(SimEvent::Stopped { id: id.to_string() });
    }
}

/// Truncates a tag value to EC2's 256-character limit.
fn tag_value(s: &str) -> String {
    s.chars().take(256).collect()
}

async fn tag_health(ctx: &Ctx, client: usize, id: &str, value: &str) {
    let r = ctx.ec2[client]
        .create_tags()
        .resources(id)
        .tags(
            Tag::builder()
                .key(TAG_HEALTH)
                .value(tag_value(value))
                .build(),
        )
        .send()
        .await;
    if let Err(e) = r {
        ctx.shared.lock().error(format!(
            "CreateTags {TAG_HEALTH} on {id}: {}",
            error_text(&anyhow::Error::from(e))
        ));
    }
}

/// Marks `id` failed with `health` (unless it stopped meanwhile).
async fn fail(ctx: &Ctx, client: usize, id: &str, health: String) {
    {
        let mut inner = ctx.shared.lock();
        match inner.tracked.get_mut(id) {
            Some(t) if t.phase == Phase::Starting => t.phase = Phase::Failed,
            _ => return,
        }
    }
    tag_health(ctx, client, id, &health).await;
    ctx.shared.lock().emit(SimEvent::Failed {
        id: id.to_string(),
        health,
    });
}

/// One instance's life: read and check its user-data, boot, serve.
async fn lifecycle(ctx: Arc<Ctx>, client: usize, id: String, app: String, release: String) {
    let user_data = match fetch_user_data(&ctx.ec2[client], &id).await {
        Ok(u) => u,
        Err(e) => {
            let msg = format!("cannot read user-data: {}", error_text(&e));
            ctx.shared.lock().problems.push(Problem {
                instance_id: id.clone(),
                message: msg.clone(),
            });
            fail(&ctx, client, &id, format!("unhealthy: user-data: {msg}")).await;
            return;
        }
    };
    ctx.shared
        .lock()
        .user_data
        .insert(id.clone(), user_data.clone());
    let checked = validate_user_data(&user_data, &app, &ctx.opts.forbidden).await;
    let image = match checked {
        Ok(image) => image,
        Err(problems) => {
            let why = problems.join("; ");
            ctx.shared
                .lock()
                .problems
                .extend(problems.into_iter().map(|message| Problem {
                    instance_id: id.clone(),
                    message,
                }));
            fail(&ctx, client, &id, format!("unhealthy: user-data: {why}")).await;
            return;
        }
    };
    tokio::time::sleep(ctx.opts.boot_delay).await;
    if image.contains("broken") {
        fail(&ctx, client, &id, BROKEN_HEALTH.to_string()).await;
        return;
    }
    let (listener, addr) = match bind_loopback(&ctx).await {
        Ok(l) => l,
        Err(e) => {
            ctx.shared
                .lock()
                .error(format!("{id}: cannot bind a loopback server: {e:#}"));
            fail(
                &ctx,
                client,
                &id,
                "unhealthy: simulator could not bind".into(),
            )
            .await;
            return;
        }
    };
    let booted = BootedInstance {
        id: id.clone(),
        app,
        image,
        release,
        addr,
    };
    {
        let mut inner = ctx.shared.lock();
        match inner.tracked.get_mut(&id) {
            Some(t) if t.phase == Phase::Starting => {
                t.phase = Phase::Serving;
                t.addr = Some(addr);
            }
            _ => return,
        }
        inner.booted.push(booted.clone());
    }
    let body = Arc::new(
        serde_json::json!({
            "instance": booted.id,
            "app": booted.app,
            "image": booted.image,
            "release": booted.release,
        })
        .to_string(),
    );
    let report = async {
        tag_health(&ctx, client, &id, HEALTHY).await;
        ctx.shared.lock().emit(SimEvent::Booted(booted.clone()));
    };
    // The server is up before the instance reports healthy.
    tokio::join!(serve(listener, body), report);
}

async fn bind_loopback(ctx: &Ctx) -> Result<(TcpListener, SocketAddr)> {
    let mut last = None;
    for _ in 0..16 {
        let ip = ctx
            .shared
            .lock()
            .alloc_loopback()
            .context("out of loopback addresses")?;
        match TcpListener::bind((ip, 0)).await {
            Ok(l) => {
                let addr = l.local_addr()?;
                return Ok((l, addr));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(|| anyhow!("no address"), anyhow::Error::from))
}

/// Accepts connections until the task is aborted; every request gets
/// `200` with `body` and `Connection: close`.
async fn serve(listener: TcpListener, body: Arc<String>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    conns.spawn(answer(stream, body.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn answer(mut stream: TcpStream, body: Arc<String>) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let read_head = async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        true
    };
    if !matches!(
        tokio::time::timeout(Duration::from_secs(5), read_head).await,
        Ok(true)
    ) {
        return;
    }
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        body
    );
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn fetch_user_data(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<String> {
    let resp = ec2
        .describe_instance_attribute()
        .instance_id(id)
        .attribute("userData".into())
        .send()
        .await?;
    let b64 = resp
        .user_data()
        .and_then(|u| u.value())
        .context("the instance has no user-data")?;
    decode_user_data(b64)
}

/// The script in user-data as EC2 returns it, unpacked the way cloud-init
/// does, with berth's own decoder (base64 of the text, or of its gzip form,
/// at most 1 MiB unpacked). Stricter than berth on one point: text that is
/// not UTF-8 (which berth's decoder replaces) is an error, as a script
/// that bash would not read as written.
///
/// # Errors
/// When it is not base64, not gzip where it says so, too large or not UTF-8.
pub fn decode_user_data(b64: &str) -> Result<String> {
    let text = berth_aws::fleet::decode_user_data(b64).context(
        "user-data is not base64 (or gzip where it says so), or unpacks to more than 1 MiB",
    )?;
    anyhow::ensure!(!text.contains('\u{fffd}'), "user-data is not UTF-8");
    Ok(text)
}

/// Checks user-data as a real instance would need it: a bash script that
/// parses, with a JSON release manifest for `app` naming its app image,
/// and none of the `forbidden` values. Returns the app image, or every
/// problem found.
///
/// # Errors
/// The list of problems (never quoting a forbidden value).
pub async fn validate_user_data(
    script: &str,
    app: &str,
    forbidden: &[String],
) -> std::result::Result<String, Vec<String>> {
    let mut problems = Vec::new();
    if !script.starts_with("#!/bin/bash") {
        problems.push("does not start with #!/bin/bash".to_string());
    }
    if let Err(e) = bash_syntax_check(script).await {
        problems.push(format!("bash -n rejects it: {e}"));
    }
    for (i, f) in forbidden.iter().enumerate() {
        if !f.is_empty() && script.contains(f.as_str()) {
            problems.push(format!(
                "contains forbidden value #{} ({} chars)",
                i + 1,
                f.chars().count()
            ));
        }
    }
    let image = match manifest_image(script, app) {
        Ok(image) => Some(image),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    match image {
        Some(image) if problems.is_empty() => Ok(image),
        _ => Err(problems),
    }
}

/// Runs `bash -n` with the script on stdin.
async fn bash_syntax_check(script: &str) -> std::result::Result<(), String> {
    let mut child = tokio::process::Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run bash: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let text = script.as_bytes().to_vec();
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&text).await;
    });
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| format!("bash: {e}"))?;
    let _ = writer.await;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or("").trim();
        Err(if first.is_empty() {
            format!("exit {}", out.status)
        } else {
            first.to_string()
        })
    }
}

/// Finds the release manifest heredoc (`cat > '/etc/berth/<app>/release.json'
/// <<'DELIM'` … `DELIM`) and returns the image of its `app` container.
fn manifest_image(script: &str, app: &str) -> std::result::Result<String, String> {
    let mut lines = script.lines();
    let (path, delim) = loop {
        let Some(line) = lines.next() else {
            return Err(
                "no release manifest heredoc (cat > '/etc/berth/<app>/release.json' <<'…')".into(),
            );
        };
        let Some(rest) = line.trim_start().strip_prefix("cat > '") else {
            continue;
        };
        let Some((path, rest)) = rest.split_once('\'') else {
            continue;
        };
        if !path.ends_with("/release.json") {
            continue;
        }
        let Some(delim) = rest
            .trim()
            .strip_prefix("<<'")
            .and_then(|d| d.strip_suffix('\''))
        else {
            return Err(format!(
                "release manifest {path} is not written by a quoted heredoc"
            ));
        };
        break (path.to_string(), delim.to_string());
    };
    let mut body = String::new();
    let mut closed = false;
    for line in lines {
        if line == delim {
            closed = true;
            break;
        }
        body.push_str(line);
        body.push('\n');
    }
    if !closed {
        return Err(format!("release manifest heredoc {delim} is never closed"));
    }
    let mut problems = Vec::new();
    if !app.is_empty() && path != format!("/etc/berth/{app}/release.json") {
        problems.push(format!(
            "release manifest at {path}, expected /etc/berth/{app}/release.json"
        ));
    }
    let image = match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(v) => {
            let app = v["containers"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["name"] == "app"));
            match app.and_then(|c| c["image"].as_str()) {
                Some(image) if !image.is_empty() => Some(image.to_string()),
                _ => {
                    problems.push("release manifest has no app container image".into());
                    None
                }
            }
        }
        Err(e) => {
            problems.push(format!("release manifest is not JSON: {e}"));
            None
        }
    };
    match image {
        Some(image) if problems.is_empty() => Ok(image),
        _ => Err(problems.join("; ")),
    }
}

/// An error with its sources, on one line.
fn error_text(e: &anyhow::Error) -> String {
    let mut s = String::new();
    for (i, c) in e.chain().enumerate() {
        if i > 0 {
            s.push_str(": ");
        }
        s.push_str(&c.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_is_read_with_berths_decoder_and_must_be_utf8() {
        use base64::Engine as _;
        let small = "#!/bin/bash\necho hi\n";
        let big = format!("#!/bin/bash\n{}", "echo 0123456789abcdef\n".repeat(1500));
        for script in [small.to_string(), big] {
            let enc = berth_aws::fleet::encode_user_data(&script).unwrap();
            assert_eq!(decode_user_data(&enc).unwrap(), script);
        }
        let latin1 = base64::engine::general_purpose::STANDARD.encode(b"echo caf\xe9\n");
        let e = decode_user_data(&latin1).unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
        assert!(decode_user_data("not base64!").is_err());
    }

    #[test]
    fn the_manifest_image_is_found_in_the_story_one_script() {
        let script = std::fs::read_to_string(
            crate::repo_root().join("provider/testdata/userdata/story_one.sh"),
        )
        .unwrap();
        assert_eq!(
            manifest_image(&script, "web").unwrap(),
            "registry.example.com/shop:2026-11-23T10-00"
        );
        assert!(
            manifest_image(&script, "api")
                .unwrap_err()
                .contains("expected")
        );
        assert!(manifest_image("#!/bin/bash\n", "web").is_err());
    }

    #[test]
    fn loopback_addresses_skip_zero_and_broadcast() {
        let mut inner = Inner::default();
        assert_eq!(inner.alloc_loopback(), Some(Ipv4Addr::new(127, 0, 1, 1)));
        inner.next_loopback = 0x1fe;
        assert_eq!(inner.alloc_loopback(), Some(Ipv4Addr::new(127, 0, 1, 254)));
        assert_eq!(inner.alloc_loopback(), Some(Ipv4Addr::new(127, 0, 2, 1)));
    }
}

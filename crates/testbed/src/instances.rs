//! Real instances: every EC2 instance berth launches in moto becomes a real
//! Linux machine — a container of the bed's own with systemd as PID 1, its
//! own network namespace and its own Docker engine — that runs the exact
//! user-data, unmodified, as root, the way cloud-init runs a script.
//!
//! The bed (`scripts/instance-bed setup`) builds the machine images (Debian
//! 12 with and without Docker), a TLS registry holding the test images and
//! a CA the images trust. [`RealFleet`] adds, per test:
//! - an instance metadata service (IMDSv2: token, instance id, region,
//!   availability zone, and role credentials only for an instance launched
//!   with an instance profile, under the role that profile holds in moto's
//!   IAM), reached at 169.254.169.254 from inside each instance and
//!   answering by the caller's address;
//! - a TLS endpoint for `<service>.<region>.amazonaws.com` that forwards to
//!   the same moto Terraform talks to, so an instance's own AWS calls
//!   (health tags, secrets) land there;
//! - the instances themselves: created when moto reports a new instance,
//!   removed when moto says it is terminated.
//!
//! Inside an instance, `registry.berth.test`, `private.registry.berth.test`
//! (the same images, only to a login), the ECR registry hosts of moto's
//! account (`123456789012.dkr.ecr.<region>.amazonaws.com`, served by that
//! private registry, which takes the token moto's ECR hands out) and the
//! AWS hostnames resolve
//! (through `/etc/hosts`) to link-local addresses that the instance's own
//! NAT table (set from the host with `nsenter`) sends to the bed's servers
//! on the Docker bridge's gateway. Nothing in the instance image knows
//! about the bed but its CA certificate. Tests talk to instances at their
//! container address only.
#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::loadgen::AddressMap;
use crate::sim::{Managed, managed_instances};

/// Where an instance sees the metadata service.
const IMDS_ADDR: &str = "169.254.169.254";
/// Where an instance sees the AWS endpoints (`/etc/hosts`).
const AWS_ADDR: &str = "169.254.170.10";
/// Where an instance sees `registry.berth.test` (`/etc/hosts`).
const REGISTRY_ADDR: &str = "169.254.170.11";
/// The registry's name inside instances.
pub const REGISTRY: &str = "registry.berth.test";
/// Where an instance sees the private registry (`/etc/hosts`).
const PRIVATE_REGISTRY_ADDR: &str = "169.254.170.12";
/// The private registry's name inside instances: the same images as
/// [`REGISTRY`], pulled only after a login ([`BedEnv::private_registry_user`]).
pub const PRIVATE_REGISTRY: &str = "private.registry.berth.test";
/// The account moto answers for: its ECR registry
/// (`<account>.dkr.ecr.<region>.amazonaws.com`) is the bed's private
/// registry, which accepts the login moto's `GetAuthorizationToken` gives.
pub const MOTO_ACCOUNT: &str = "123456789012";

/// The ECR registry host of moto's account in `region`, as instances name it.
pub fn ecr_registry(region: &str) -> String {
    format!("{MOTO_ACCOUNT}.dkr.ecr.{region}.amazonaws.com")
}
/// AWS services an instance may call.
const SERVICES: [&str; 8] = [
    "ec2",
    "ssm",
    "secretsmanager",
    "sts",
    "logs",
    "monitoring",
    "ecr",
    "api.ecr",
];

/// What `scripts/instance-bed setup` prepared.
#[derive(Clone, Debug)]
pub struct BedEnv {
    /// `.tools/bed`.
    pub dir: PathBuf,
    /// The Docker bridge's gateway address (the host, seen from instances).
    pub gateway: String,
    /// The registry's port on the gateway.
    pub registry_port: u16,
    /// The private registry's port on the gateway.
    pub private_registry_port: u16,
    /// A user the private registry lets in.
    pub private_registry_user: String,
    /// That user's password.
    pub private_registry_password: String,
    /// Instance image with Docker installed (like a custom AMI).
    pub image_docker: String,
    /// Instance image without Docker (like a stock Debian 12 AMI).
    pub image_bare: String,
}

impl BedEnv {
    /// Runs `scripts/instance-bed setup` (quick when nothing changed) and
    /// reads what it prepared.
    ///
    /// # Errors
    /// When Docker cannot run here (the script exits 3) or setup fails.
    pub fn setup() -> Result<BedEnv> {
        let script = crate::repo_root().join("scripts/instance-bed");
        let mut cmd = Command::new(&script);
        cmd.arg("setup");
        // The test app built with this binary (beside it, or in target/debug/
        // beside target/debug/deps/<test>): packaging it spares the script a
        // build.
        if std::env::var_os("BERTH_BED_APP_BIN").is_none()
            && let Some(app) = std::env::current_exe().ok().and_then(|exe| {
                let dir = exe.parent()?;
                [
                    dir.join("berth-test-app"),
                    dir.parent()?.join("berth-test-app"),
                ]
                .into_iter()
                .find(|p| p.is_file())
            })
        {
            cmd.env("BERTH_BED_APP_BIN", app);
        }
        let out = cmd
            .output()
            .with_context(|| format!("running {}", script.display()))?;
        if !out.status.success() {
            bail!(
                "scripts/instance-bed setup failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .rev()
                    .take(15)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        let mut vars = HashMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((k, v)) = line.trim_start_matches("export ").split_once('=') {
                vars.insert(k.to_string(), v.trim_matches(['\'', '"']).to_string());
            }
        }
        let get = |k: &str| {
            vars.get(k)
                .cloned()
                .with_context(|| format!("scripts/instance-bed setup printed no {k}"))
        };
        Ok(BedEnv {
            dir: PathBuf::from(get("BERTH_BED_DIR")?),
            gateway: get("BERTH_BED_GATEWAY")?,
            registry_port: get("BERTH_BED_REGISTRY_PORT")?
                .parse()
                .context("BERTH_BED_REGISTRY_PORT")?,
            private_registry_port: get("BERTH_BED_PRIVATE_REGISTRY_PORT")?
                .parse()
                .context("BERTH_BED_PRIVATE_REGISTRY_PORT")?,
            private_registry_user: get("BERTH_BED_PRIVATE_REGISTRY_USER")?,
            private_registry_password: get("BERTH_BED_PRIVATE_REGISTRY_PASSWORD")?,
            image_docker: get("BERTH_BED_IMAGE_DOCKER")?,
            image_bare: get("BERTH_BED_IMAGE_BARE")?,
        })
    }
}

/// Which machine image instances boot from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineImage {
    /// Debian 12 with Docker already installed (a custom AMI).
    WithDocker,
    /// Debian 12 as it comes: the user-data installs Docker itself.
    Bare,
}

/// How the fleet behaves.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    /// The machine image.
    pub image: MachineImage,
    /// The port the load generator sends requests to on each instance.
    pub serve_port: u16,
    /// Time between two DescribeInstances polls.
    pub poll_interval: Duration,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            image: MachineImage::WithDocker,
            serve_port: 80,
            poll_interval: Duration::from_millis(300),
        }
    }
}

/// One real instance.
#[derive(Clone, Debug)]
pub struct RealInstance {
    /// The EC2 instance id.
    pub id: String,
    /// Its container's name.
    pub container: String,
    /// Its container's address on the Docker bridge.
    pub ip: IpAddr,
    /// Its addresses in moto (private, public).
    pub moto_ips: Vec<String>,
    /// Its `berth:app` tag.
    pub app: String,
    /// Its `berth:release` tag.
    pub release: String,
    /// Its availability zone in moto.
    pub zone: String,
    /// When it was started.
    pub started: Instant,
    /// Whether moto still reports it alive.
    pub alive: bool,
    /// The role of its instance profile (as IAM in moto has it), whose
    /// credentials its metadata service hands out; none without a profile.
    pub role: Option<String>,
}

#[derive(Default)]
struct Inner {
    instances: BTreeMap<String, RealInstance>,
    /// Container address → instance id, for the metadata service.
    by_ip: HashMap<IpAddr, String>,
    errors: Vec<String>,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Maps moto addresses to real instances for the load generator.
#[derive(Clone)]
pub struct RealResolver {
    shared: Arc<Shared>,
    port: u16,
}

impl AddressMap for RealResolver {
    fn address_of(&self, ip: &str) -> Option<SocketAddr> {
        let inner = self.shared.lock();
        inner
            .instances
            .values()
            .find(|i| i.moto_ips.iter().any(|m| m == ip))
            .map(|i| SocketAddr::new(i.ip, self.port))
    }
}

static FLEETS: AtomicU64 = AtomicU64::new(0);

/// Real instances for the instances berth launches in one moto; removed on
/// drop.
pub struct RealFleet {
    env: BedEnv,
    label: String,
    shared: Arc<Shared>,
    /// Where the metadata service and the TLS endpoint listen.
    targets: Targets,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    serve_port: u16,
}

impl RealFleet {
    /// Prepares the bed and starts watching the emulator at `endpoint`.
    ///
    /// # Errors
    /// When the bed cannot be prepared or its servers cannot listen.
    pub fn start(endpoint: &str, opts: FleetOptions) -> Result<RealFleet> {
        let env = BedEnv::setup()?;
        let label = format!(
            "{}-{}",
            std::process::id(),
            FLEETS.fetch_add(1, Ordering::Relaxed)
        );
        let shared = Arc::new(Shared::default());
        let (stop, stop_rx) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let ctx = Ctx {
            env: env.clone(),
            endpoint: endpoint.to_string(),
            label: label.clone(),
            shared: shared.clone(),
            opts: opts.clone(),
        };
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(anyhow::anyhow!("runtime: {e}")));
                    return;
                }
            };
            rt.block_on(run(ctx, stop_rx, ready_tx));
        });
        let targets = ready_rx
            .recv_timeout(Duration::from_secs(30))
            .context("the real fleet did not start")??;
        Ok(RealFleet {
            env,
            label,
            shared,
            targets,
            stop,
            thread: Some(thread),
            serve_port: opts.serve_port,
        })
    }

    /// What the bed prepared.
    pub fn env(&self) -> &BedEnv {
        &self.env
    }

    /// An address map for the load generator.
    pub fn resolver(&self) -> RealResolver {
        RealResolver {
            shared: self.shared.clone(),
            port: self.serve_port,
        }
    }

    /// Every instance made so far (alive or not).
    pub fn instances(&self) -> Vec<RealInstance> {
        self.shared.lock().instances.values().cloned().collect()
    }

    /// The instances moto reports alive.
    pub fn alive(&self) -> Vec<RealInstance> {
        self.instances().into_iter().filter(|i| i.alive).collect()
    }

    /// One instance by id.
    ///
    /// # Panics
    /// When the fleet never made it.
    pub fn instance(&self, id: &str) -> RealInstance {
        self.shared
            .lock()
            .instances
            .get(id)
            .cloned()
            .unwrap_or_else(|| panic!("no real instance {id}"))
    }

    /// Errors met while making instances.
    pub fn errors(&self) -> Vec<String> {
        self.shared.lock().errors.clone()
    }

    /// Runs `script` with bash inside instance `id`; its output (stdout
    /// then stderr) and whether it succeeded.
    pub fn sh(&self, id: &str, script: &str) -> (bool, String) {
        let c = container_name(id);
        match Command::new("docker")
            .args(["exec", &c, "bash", "-c", script])
            .output()
        {
            Ok(o) => (
                o.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
            ),
            Err(e) => (false, format!("docker exec: {e}")),
        }
    }

    /// `GET path` on instance `id`, port `port`: status and body.
    ///
    /// # Errors
    /// When nothing answers.
    pub fn get(&self, id: &str, port: u16, path: &str) -> Result<(u16, String)> {
        let ip = self.instance(id).ip;
        http_get(SocketAddr::new(ip, port), path, Duration::from_secs(5))
    }

    /// Reboots instance `id` (its machine restarts; systemd boots again;
    /// the user-data does not run again) and restores its network.
    ///
    /// # Errors
    /// When Docker or the network setup fails.
    pub fn reboot(&self, id: &str) -> Result<()> {
        let c = container_name(id);
        docker(&["restart", "--time", "20", &c])?;
        let ip = setup_network(&self.env, &c, &self.targets)?;
        let mut inner = self.shared.lock();
        if let Some(i) = inner.instances.get_mut(id) {
            let old = i.ip;
            i.ip = ip;
            inner.by_ip.remove(&old);
            inner.by_ip.insert(ip, id.to_string());
        }
        Ok(())
    }

    /// Stops the fleet and removes its instances.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        remove_labelled(&self.label);
    }
}

impl Drop for RealFleet {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The container name of instance `id`.
pub fn container_name(id: &str) -> String {
    format!("berth-bed-{id}")
}

fn docker(args: &[&str]) -> Result<String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .context("running docker")?;
    if !out.status.success() {
        bail!(
            "docker {}: {}",
            args.first().copied().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn remove_labelled(label: &str) {
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=berth-bed.fleet={label}"),
    ])
    .unwrap_or_default();
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(ids);
        let _ = docker(&args);
    }
}

/// The `host:port` each of the fleet's servers listens on, which an
/// instance's NAT rules send its calls to.
#[derive(Clone, Debug)]
struct Targets {
    imds: String,
    tls: String,
}

/// Sets up the NAT rules of container `c`'s namespace and tells its
/// user-data runner that the network is ready; its address.
fn setup_network(env: &BedEnv, c: &str, targets: &Targets) -> Result<IpAddr> {
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", c])?;
    let ip: IpAddr = docker(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", c])?
        .parse()
        .context("container address")?;
    let registry = format!("{}:{}", env.gateway, env.registry_port);
    let private = format!("{}:{}", env.gateway, env.private_registry_port);
    for (dest, port, to) in [
        (IMDS_ADDR, "80", targets.imds.as_str()),
        (AWS_ADDR, "443", targets.tls.as_str()),
        (REGISTRY_ADDR, "443", registry.as_str()),
        (PRIVATE_REGISTRY_ADDR, "443", private.as_str()),
    ] {
        let out = Command::new("nsenter")
            .args(["-t", &pid, "-n", "iptables", "-t", "nat", "-I", "OUTPUT"])
            .args(["-d", dest, "-p", "tcp", "--dport", port])
            .args(["-j", "DNAT", "--to-destination", to])
            .output()
            .context("running nsenter")?;
        if !out.status.success() {
            bail!(
                "NAT rule for {dest} in {c}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    docker(&[
        "exec",
        c,
        "sh",
        "-c",
        "mkdir -p /run/berth-bed && touch /run/berth-bed/network-ready",
    ])?;
    Ok(ip)
}

struct Ctx {
    env: BedEnv,
    endpoint: String,
    label: String,
    shared: Arc<Shared>,
    opts: FleetOptions,
}

async fn run(
    ctx: Ctx,
    mut stop: watch::Receiver<bool>,
    ready: std::sync::mpsc::Sender<Result<Targets>>,
) {
    let started = async {
        let gw: IpAddr = ctx.env.gateway.parse().context("gateway address")?;
        let imds = TcpListener::bind((gw, 0)).await.context("IMDS listen")?;
        let tls = TcpListener::bind((gw, 0)).await.context("TLS listen")?;
        let targets = Targets {
            imds: imds.local_addr()?.to_string(),
            tls: tls.local_addr()?.to_string(),
        };
        let acceptor = tls_acceptor(&ctx.env)?;
        anyhow::Ok((imds, tls, acceptor, targets))
    }
    .await;
    let (imds, tls, acceptor, targets) = match started {
        Ok(x) => x,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let moto: SocketAddr = match ctx
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
    {
        Ok(a) => a,
        Err(e) => {
            let _ = ready.send(Err(anyhow::anyhow!("moto endpoint {}: {e}", ctx.endpoint)));
            return;
        }
    };
    let ec2 = crate::clients::ec2(&ctx.endpoint).await;
    let shared = ctx.shared.clone();
    let imds_task = tokio::spawn(serve_imds(imds, shared.clone()));
    let tls_task = tokio::spawn(serve_tls(tls, acceptor, moto));
    let _ = ready.send(Ok(targets.clone()));
    let ctx = Arc::new(ctx);
    let mut starting: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    loop {
        match managed_instances(&ec2).await {
            Ok(seen) => {
                for s in seen {
                    let known = ctx.shared.lock().instances.contains_key(&s.id)
                        || starting.contains_key(&s.id);
                    if s.alive && !known {
                        let c = ctx.clone();
                        let (t, ec2) = (targets.clone(), ec2.clone());
                        let id = s.id.clone();
                        starting.insert(
                            id,
                            tokio::spawn(async move {
                                if let Err(e) = boot(&c, &ec2, s, t).await {
                                    c.shared.lock().errors.push(format!("{e:#}"));
                                }
                            }),
                        );
                    } else if !s.alive {
                        let gone = {
                            let mut inner = ctx.shared.lock();
                            match inner.instances.get_mut(&s.id) {
                                Some(i) if i.alive => {
                                    i.alive = false;
                                    Some(i.container.clone())
                                }
                                _ => None,
                            }
                        };
                        if let Some(c) = gone {
                            let _ = tokio::process::Command::new("docker")
                                .args(["rm", "-f", "-v", &c])
                                .output()
                                .await;
                        }
                    }
                }
            }
            Err(e) => ctx.shared.lock().errors.push(format!("describe: {e:#}")),
        }
        starting.retain(|_, t| !t.is_finished());
        tokio::select! {
            () = tokio::time::sleep(ctx.opts.poll_interval) => {}
            _ = stop.changed() => break,
        }
    }
    for (_, t) in starting {
        t.abort();
    }
    imds_task.abort();
    tls_task.abort();
}

/// Makes instance `s` a real machine: creates its container with the
/// user-data where cloud-init keeps it, starts it, sets up its network.
async fn boot(ctx: &Ctx, ec2: &aws_sdk_ec2::Client, s: Managed, targets: Targets) -> Result<()> {
    let resp = ec2
        .describe_instance_attribute()
        .instance_id(&s.id)
        .attribute("userData".into())
        .send()
        .await
        .with_context(|| format!("user-data of {}", s.id))?;
    let b64 = resp
        .user_data()
        .and_then(|u| u.value())
        .unwrap_or_default()
        .to_string();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .with_context(|| format!("user-data of {} is not base64", s.id))?;
    let profile = match &s.profile {
        Some(arn) => Some(arn.clone()),
        None => template_profile(ec2, &s.id).await?,
    };
    let role = match &profile {
        Some(arn) => Some(profile_role(&ctx.endpoint, arn).await?),
        None => None,
    };
    let c = container_name(&s.id);
    let image = match ctx.opts.image {
        MachineImage::WithDocker => ctx.env.image_docker.clone(),
        MachineImage::Bare => ctx.env.image_bare.clone(),
    };
    let mut args: Vec<String> = [
        "create",
        "--name",
        &c,
        "--hostname",
        &s.id,
        "--label",
        "berth-bed=instance",
        "--label",
        &format!("berth-bed.fleet={}", ctx.label),
        "--cap-add=ALL",
        "--cap-drop=SYS_RESOURCE",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "apparmor=unconfined",
        "--cgroupns=host",
        "-v",
        "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        "-v",
        "/var/lib/docker",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
        "--stop-signal",
        "SIGRTMIN+3",
        "--add-host",
        &format!("{REGISTRY}:{REGISTRY_ADDR}"),
        "--add-host",
        &format!("{PRIVATE_REGISTRY}:{PRIVATE_REGISTRY_ADDR}"),
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    for region in aws_regions() {
        for svc in SERVICES {
            args.push("--add-host".into());
            args.push(format!("{svc}.{region}.amazonaws.com:{AWS_ADDR}"));
        }
        args.push("--add-host".into());
        args.push(format!("{}:{PRIVATE_REGISTRY_ADDR}", ecr_registry(region)));
    }
    args.push(image);
    args.push("/lib/systemd/systemd".into());
    let out = tokio::process::Command::new("docker")
        .args(&args)
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "creating the machine of {}: {}",
            s.id,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let tmp = tempfile::NamedTempFile::new()?;
    std::fs::write(tmp.path(), &bytes)?;
    let path = tmp.path().to_string_lossy().to_string();
    let dest = format!("{c}:/var/lib/cloud/instance/user-data.txt");
    let run = |args: Vec<String>| async move {
        let out = tokio::process::Command::new("docker")
            .args(&args)
            .output()
            .await?;
        if out.status.success() {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "docker {}: {}",
                args[0],
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    run(vec!["cp".into(), path, dest]).await?;
    run(vec!["start".into(), c.clone()]).await?;
    let env = ctx.env.clone();
    let c2 = c.clone();
    let ip = tokio::task::spawn_blocking(move || setup_network(&env, &c2, &targets)).await??;
    let mut inner = ctx.shared.lock();
    inner.by_ip.insert(ip, s.id.clone());
    inner.instances.insert(
        s.id.clone(),
        RealInstance {
            id: s.id,
            container: c,
            ip,
            moto_ips: s.ips,
            app: s.app,
            release: s.release,
            zone: s.zone,
            role,
            started: Instant::now(),
            alive: true,
        },
    );
    Ok(())
}

/// The instance profile of the launch template instance `id` was launched
/// from (an Auto Scaling group's), associated with the instance as EC2
/// does at launch; its ARN. moto 5.2.5 launches from a template without
/// its profile (`run_instances` in `moto/ec2/models/instances.py` takes
/// the template's user-data, type, key and security groups only), so the
/// bed plays that part. None when the instance has no template or the
/// template no profile.
async fn template_profile(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<Option<String>> {
    let out = ec2
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .with_context(|| format!("describing {id}"))?;
    let Some(i) = out.reservations().iter().flat_map(|r| r.instances()).next() else {
        return Ok(None);
    };
    let template = crate::clients::tag(i, "aws:ec2launchtemplate:id");
    if template.is_empty() {
        return Ok(None);
    }
    let version = crate::clients::tag(i, "aws:ec2launchtemplate:version");
    let versions = ec2
        .describe_launch_template_versions()
        .launch_template_id(&template)
        .versions(if version.is_empty() {
            "$Latest".to_string()
        } else {
            version
        })
        .send()
        .await
        .with_context(|| format!("launch template {template} of {id}"))?;
    let Some(p) = versions
        .launch_template_versions()
        .first()
        .and_then(|v| v.launch_template_data())
        .and_then(|d| d.iam_instance_profile())
    else {
        return Ok(None);
    };
    let mut spec = aws_sdk_ec2::types::IamInstanceProfileSpecification::builder();
    if let Some(name) = p.name() {
        spec = spec.name(name);
    } else if let Some(arn) = p.arn() {
        spec = spec.arn(arn);
    }
    let assoc = ec2
        .associate_iam_instance_profile()
        .instance_id(id)
        .iam_instance_profile(spec.build())
        .send()
        .await
        .with_context(|| format!("associating the template's instance profile with {id}"))?;
    let name = p.name().map(str::to_string);
    Ok(assoc
        .iam_instance_profile_association()
        .and_then(|a| a.iam_instance_profile())
        .and_then(|p| p.arn())
        .map(str::to_string)
        .or_else(|| name.map(|n| format!("arn:aws:iam::{MOTO_ACCOUNT}:instance-profile/{n}"))))
}

/// The role in the instance profile `arn` (as EC2 on AWS resolves it when
/// the instance starts).
async fn profile_role(endpoint: &str, arn: &str) -> Result<String> {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    let iam = crate::clients::iam(endpoint).await;
    let out = iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .with_context(|| format!("instance profile {name}"))?;
    out.instance_profile()
        .and_then(|p| p.roles().first())
        .map(|r| r.role_name().to_string())
        .with_context(|| format!("instance profile {name} holds no role"))
}

/// The regions an instance may name in an AWS hostname.
fn aws_regions() -> [&'static str; 4] {
    ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"]
}

fn tls_acceptor(env: &BedEnv) -> Result<tokio_rustls::TlsAcceptor> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let tls = env.dir.join("tls");
    let certs = CertificateDer::pem_file_iter(tls.join("server.pem"))
        .context("server.pem")?
        .collect::<std::result::Result<Vec<_>, _>>()
        .context("server.pem")?;
    let key = PrivateKeyDer::from_pem_file(tls.join("server.key")).context("server.key")?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("TLS certificate")?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Terminates TLS for the AWS hostnames and forwards to moto.
async fn serve_tls(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor, moto: SocketAddr) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(stream).await else {
                return;
            };
            let Ok(mut upstream) = TcpStream::connect(moto).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
        });
    }
}

/// The instance metadata service (IMDSv2 only: a GET needs a token).
async fn serve_imds(listener: TcpListener, shared: Arc<Shared>) {
    let token = format!("berth-bed-token-{}", std::process::id());
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let (shared, token) = (shared.clone(), token.clone());
        tokio::spawn(async move {
            let _ = imds_answer(stream, peer, &shared, &token).await;
        });
    }
}

async fn imds_answer(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    token: &str,
) -> Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16384 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let header = |name: &str| {
        head.lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let id = shared.lock().by_ip.get(&peer.ip()).cloned();
    // A token's answer states its TTL, as EC2's does (the AWS SDK for Go,
    // in Docker's awslogs driver, refuses a token without it).
    let mut extra = String::new();
    let (status, body) = match (method, path, id) {
        (_, _, None) => (404, "unknown instance".to_string()),
        ("PUT", "/latest/api/token", Some(_)) => {
            if let Some(ttl) = header("x-aws-ec2-metadata-token-ttl-seconds") {
                extra = format!("X-Aws-Ec2-Metadata-Token-Ttl-Seconds: {ttl}\r\n");
                (200, token.to_string())
            } else {
                (400, "missing token TTL".into())
            }
        }
        ("GET", _, Some(_)) if header("x-aws-ec2-metadata-token").as_deref() != Some(token) => {
            (401, "IMDSv2 token required".into())
        }
        ("GET", p, Some(id)) => match metadata(p, &id, shared) {
            Some(b) => (200, b),
            None => (404, "Not Found".into()),
        },
        _ => (405, "method not allowed".into()),
    };
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Error",
    };
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    Ok(())
}

/// The metadata at `path` of instance `id`. Role credentials exist only
/// for an instance launched with an instance profile, as on EC2.
fn metadata(path: &str, id: &str, shared: &Shared) -> Option<String> {
    let (zone, role) = shared
        .lock()
        .instances
        .get(id)
        .map(|i| (i.zone.clone(), i.role.clone()))?;
    let region = zone
        .trim_end_matches(|c: char| c.is_ascii_lowercase())
        .to_string();
    let p = path.trim_start_matches("/latest/meta-data/");
    Some(match p {
        "instance-id" => id.to_string(),
        "placement/availability-zone" => zone,
        "placement/region" => region,
        "iam/security-credentials" | "iam/security-credentials/" => role?,
        p if Some(p)
            == role
                .as_ref()
                .map(|r| format!("iam/security-credentials/{r}"))
                .as_deref() =>
        {
            let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(6);
            let fmt =
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
            serde_json::json!({
                "Code": "Success",
                "Type": "AWS-HMAC",
                "AccessKeyId": "ASIABERTHBEDEXAMPLE",
                "SecretAccessKey": "berth-bed-secret-key",
                "Token": "berth-bed-session-token",
                "Expiration": expires.format(&fmt).unwrap_or_default(),
            })
            .to_string()
        }
        _ => return None,
    })
}

/// `GET path` on `addr` with a short timeout: status and body.
///
/// # Errors
/// When nothing answers in time.
pub fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("connecting to {addr}"))?;
    s.set_read_timeout(Some(timeout))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    Ok((status, body.to_string()))
}

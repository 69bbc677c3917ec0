//! Real instances (the `instances` group): on machines of the real-instance
//! bed (systemd + Docker, running berth's exact user-data, images pulled
//! from the bed's registry), the time from RunInstances to the instance's
//! own `berth:health=healthy` tag — on a bare Debian 12 that installs
//! Docker itself and on one with Docker pre-installed — and the rollout
//! overhead beyond boot + TTL + drain of an image update under load.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_ec2::types::Filter;
use berth_testbed::clients;
use berth_testbed::instances::{FleetOptions, MachineImage, REGISTRY, RealFleet};
use berth_testbed::loadgen::{LoadGen, LoadOptions, LoadReport};
use serde_json::{Value as Json, json};

use crate::containers::{Apps, INIT, apply_args, berth_config, fresh_moto, strs};
use crate::progress;
use crate::stats::Summary;
use crate::terraform::Terraform;
use berth_testbed::Moto;

/// Target: rollout overhead over its floor (as on the simulator).
const OVERHEAD_TARGET_S: f64 = 2.0;
const TTL: u32 = 2;
const DRAIN: u32 = 1;
const INTERVAL: u32 = 1;

/// One measured image update on real instances.
#[derive(Debug)]
pub struct Rollout {
    /// The apply's wall time.
    pub apply: Duration,
    /// The slowest new instance's RunInstances → healthy.
    pub boot: Duration,
    /// apply − (boot + TTL + drain), in seconds: what berth adds (gate
    /// polling, record changes, retiring) beyond the waits it must make.
    pub overhead: f64,
    /// The load during it.
    pub load: LoadReport,
}

/// The group's figures.
#[derive(Debug, Default)]
pub struct Results {
    /// RunInstances → healthy, Docker pre-installed.
    pub boot_prebaked: Vec<Duration>,
    /// RunInstances → healthy, bare Debian 12 (installs Docker).
    pub boot_bare: Vec<Duration>,
    /// Image updates under load.
    pub rollouts: Vec<Rollout>,
}

/// When each instance was first seen in moto and first tagged healthy.
#[derive(Default)]
struct Seen {
    first: HashMap<String, Instant>,
    healthy: HashMap<String, Instant>,
}

/// Polls moto every 200 ms for berth's instances and their health tags
/// until dropped.
struct Watcher {
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    async fn start(endpoint: &str) -> Watcher {
        let ec2 = clients::ec2(endpoint).await;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let s = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Ok(out) = ec2
                    .describe_instances()
                    .filters(
                        Filter::builder()
                            .name("tag:berth:managed-by")
                            .values("berth")
                            .build(),
                    )
                    .send()
                    .await
                {
                    let now = Instant::now();
                    let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
                    for i in out.reservations().iter().flat_map(|r| r.instances()) {
                        let Some(id) = i.instance_id() else { continue };
                        s.first.entry(id.to_string()).or_insert(now);
                        if clients::tag(i, "berth:health") == "healthy" {
                            s.healthy.entry(id.to_string()).or_insert(now);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Watcher { seen, task }
    }

    /// RunInstances → healthy of every instance that became healthy and
    /// is not in `except`.
    fn boots(&self, except: &[String]) -> Vec<(String, Duration)> {
        let s = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        s.healthy
            .iter()
            .filter(|(id, _)| !except.contains(id))
            .filter_map(|(id, h)| Some((id.clone(), h.duration_since(*s.first.get(id)?))))
            .collect()
    }

    fn ids(&self) -> Vec<String> {
        let s = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        s.first.keys().cloned().collect()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn image(tag: &str) -> String {
    format!("{REGISTRY}/berth/app:{tag}")
}

/// Creates one app of `replicas` on `machine` and returns each instance's
/// RunInstances → healthy, then destroys it.
async fn boot_times(
    tf: &Terraform,
    moto: &Moto,
    machine: MachineImage,
    replicas: u32,
) -> Result<Vec<Duration>> {
    let (_zone, ami) = fresh_moto(moto).await?;
    let endpoint = moto.endpoint();
    let fleet = tokio::task::block_in_place(|| {
        RealFleet::start(
            &endpoint,
            FleetOptions {
                image: machine,
                serve_port: 3000,
                ..FleetOptions::default()
            },
        )
    })?;
    let watcher = Watcher::start(&endpoint).await;
    let config = berth_config(&Apps {
        count: 1,
        image: &image("v1"),
        replicas,
        ttl: TTL,
        drain: DRAIN,
        endpoint: &endpoint,
        ami: &ami,
    })
    .replace("deadline          = 120", "deadline          = 600");
    let name = match machine {
        MachineImage::Bare => "instances-bare",
        MachineImage::WithDocker => "instances-prebaked",
    };
    let dir = tf.workdir(name, &config)?;
    tf.output(&dir, INIT).await?;
    tf.timed(&dir, &strs(&apply_args(10))).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let boots: Vec<Duration> = watcher.boots(&[]).into_iter().map(|(_, d)| d).collect();
    tf.output(&dir, &["destroy", "-auto-approve", "-no-color"])
        .await?;
    tokio::task::block_in_place(|| fleet.stop());
    if boots.len() != replicas as usize {
        bail!(
            "{name}: {} of {replicas} instance(s) became healthy",
            boots.len()
        );
    }
    Ok(boots)
}

/// Image updates of one app × 2 replicas under load on pre-baked machines.
async fn rollouts(tf: &Terraform, moto: &Moto, runs: usize) -> Result<Vec<Rollout>> {
    let (zone_id, ami) = fresh_moto(moto).await?;
    let endpoint = moto.endpoint();
    let fleet = tokio::task::block_in_place(|| {
        RealFleet::start(
            &endpoint,
            FleetOptions {
                serve_port: 3000,
                ..FleetOptions::default()
            },
        )
    })?;
    let watcher = Watcher::start(&endpoint).await;
    let tags = ["v1", "v2", "v3"];
    let config = |tag: &str| {
        berth_config(&Apps {
            count: 1,
            image: &image(tag),
            replicas: 2,
            ttl: TTL,
            drain: DRAIN,
            endpoint: &endpoint,
            ami: &ami,
        })
    };
    let dir = tf.workdir("instances-rollout", &config(tags[0]))?;
    tf.output(&dir, INIT).await?;
    progress("instances: rollout: create (1 app × 2 replicas)");
    tf.timed(&dir, &strs(&apply_args(10))).await?;
    let record = format!("app-0.{}", crate::containers::ZONE);
    let mut out = Vec::new();
    for run in 0..runs {
        let (old, new) = (image(tags[run % 3]), image(tags[(run + 1) % 3]));
        let load = LoadGen::start(
            &endpoint,
            &zone_id,
            &record,
            fleet.resolver(),
            LoadOptions::default(),
        )?;
        let started = Instant::now();
        while load.report().by_image.get(&old).copied().unwrap_or(0) < 10 {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("instances: no traffic reached {old}: {:?}", load.report());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let before = watcher.ids();
        std::fs::write(dir.join("main.tf"), config(tags[(run + 1) % 3]))?;
        progress(&format!(
            "instances: rollout {}/{runs}: {old} → {new} under load",
            run + 1
        ));
        let apply = tf.timed(&dir, &strs(&apply_args(10))).await?.wall;
        tokio::time::sleep(Duration::from_secs(u64::from(TTL) + 1)).await;
        let report = tokio::task::block_in_place(|| load.stop());
        let boot = watcher
            .boots(&before)
            .into_iter()
            .map(|(_, d)| d)
            .max()
            .context("no new instance became healthy")?;
        out.push(Rollout {
            apply,
            boot,
            overhead: apply.as_secs_f64() - (boot.as_secs_f64() + f64::from(TTL + DRAIN)),
            load: report,
        });
    }
    tf.output(&dir, &["destroy", "-auto-approve", "-no-color"])
        .await?;
    tokio::task::block_in_place(|| fleet.stop());
    Ok(out)
}

/// Runs the group.
///
/// # Errors
/// When the bed cannot be prepared (no Docker engine here) or a run fails.
pub async fn run(
    runs: usize,
    tools: &std::path::Path,
    provider: &std::path::Path,
    version: &str,
    moto: &Moto,
) -> Result<Results> {
    let tf = Terraform::new(&tools.join("bin/terraform"), tools, provider, version)?;
    progress("instances: pre-baked machines (Docker installed): create 1 app × 2");
    let boot_prebaked = boot_times(&tf, moto, MachineImage::WithDocker, 2).await?;
    progress("instances: bare Debian 12 (the user-data installs Docker): create 1 app × 1");
    let boot_bare = boot_times(&tf, moto, MachineImage::Bare, 1).await?;
    let rollouts = rollouts(&tf, moto, runs).await?;
    Ok(Results {
        boot_prebaked,
        boot_bare,
        rollouts,
    })
}

impl Results {
    fn overheads(&self) -> Option<Summary> {
        Summary::of(&self.rollouts.iter().map(|r| r.overhead).collect::<Vec<_>>())
    }

    /// Failed requests over every rollout.
    pub fn failures(&self) -> u64 {
        self.rollouts.iter().map(|r| r.load.failures).sum()
    }

    /// Is the median overhead under its target?
    pub fn target_met(&self) -> Option<bool> {
        self.overheads().map(|s| s.median < OVERHEAD_TARGET_S)
    }

    /// Prints the group's table.
    pub fn print(&self) {
        println!(
            "\nReal instances (systemd + Docker machines running berth's user-data; images from the bed's registry)"
        );
        let line = |what: &str, d: &[Duration]| {
            if let Some(s) = Summary::of_secs(d) {
                println!(
                    "  RunInstances → healthy, {what}: median {:.1} s (min {:.1}, max {:.1}, n = {})",
                    s.median,
                    s.min,
                    s.max,
                    d.len()
                );
            }
        };
        line("Docker pre-installed", &self.boot_prebaked);
        line("bare Debian 12 (installs docker.io)", &self.boot_bare);
        for (i, r) in self.rollouts.iter().enumerate() {
            println!(
                "  rollout {}: apply {:.2} s, slowest new instance healthy after {:.2} s, overhead {:.2} s, {} requests, {} failed",
                i + 1,
                r.apply.as_secs_f64(),
                r.boot.as_secs_f64(),
                r.overhead,
                r.load.requests,
                r.load.failures
            );
        }
        if let Some(s) = self.overheads() {
            println!(
                "  overhead = apply − (slowest boot + TTL {TTL} s + drain {DRAIN} s; health interval {INTERVAL} s): median {:.2} s (min {:.2}, max {:.2}); target < {OVERHEAD_TARGET_S} s: {}; failed requests: {}",
                s.median,
                s.min,
                s.max,
                if s.median < OVERHEAD_TARGET_S {
                    "PASS"
                } else {
                    "MISS"
                },
                self.failures()
            );
        }
    }

    /// The group's JSON.
    pub fn to_json(&self) -> Json {
        let secs = |d: &[Duration]| Summary::of_secs(d).map(|s| s.to_json("s"));
        json!({
            "boot_prebaked": secs(&self.boot_prebaked),
            "boot_bare": secs(&self.boot_bare),
            "rollouts": self.rollouts.iter().map(|r| json!({
                "apply_s": r.apply.as_secs_f64(),
                "boot_s": r.boot.as_secs_f64(),
                "overhead_s": r.overhead,
                "requests": r.load.requests,
                "failures": r.load.failures,
            })).collect::<Vec<_>>(),
            "overhead": self.overheads().map(|s| s.to_json("s")),
            "overhead_target_s": OVERHEAD_TARGET_S,
            "failures": self.failures(),
        })
    }
}

//! Load-balancer mode against DNS mode (the `balancer` group), side by
//! side on moto, the fleet simulator and the bed's load balancer:
//! - requests that fail while one of two instances dies (it stops
//!   answering; EC2 still says it runs), over a fixed window with no
//!   apply: DNS mode keeps handing out its address until an apply, the
//!   load balancer stops sending it requests at its health check's
//!   detection and Auto Scaling replaces it;
//! - the time from the moment the cloud holds the new routing (the origin
//!   record with only the new instances; the rule forwarding to the new
//!   target group only) to the last answer of the old release, during an
//!   image rollout under load: resolvers honour the record's TTL, the
//!   load balancer moves every request at once.
//!
//! The bed's load balancer applies a rule within its 200 ms refresh of
//! moto; AWS documents no bound for that, so the load-balancer figure is
//! the bed's, not AWS's.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use berth_testbed::Moto;
use berth_testbed::alb::{Alb, TargetHealth, users_listener};
use berth_testbed::loadgen::{LoadGen, LoadOptions, LoadReport};
use berth_testbed::sim::{FleetSim, SimOptions};
use serde_json::{Value as Json, json};

use crate::containers::{INIT, ZONE, apply_args, fresh_moto, strs};
use crate::progress;
use crate::terraform::Terraform;

/// How long the load runs after the death, with no apply.
const WINDOW: Duration = Duration::from_secs(30);
/// The origin record's TTL in DNS mode.
const TTL: u32 = 10;
/// Health check interval and thresholds, both modes.
const INTERVAL: u32 = 5;
const HOST: &str = "app.example.com";

/// One mode's figures.
#[derive(Debug, Default)]
pub struct Mode {
    /// The load in the window after one instance died.
    pub death: LoadReport,
    /// When the load balancer failed the dead instance (LB mode only).
    pub detected: Option<Duration>,
    /// When its replacement took traffic (LB mode only).
    pub replaced: Option<Duration>,
    /// New routing in the cloud → last answer of the old release.
    pub switch: Option<Duration>,
    /// The load during that rollout.
    pub rollout: LoadReport,
}

/// The group's figures.
#[derive(Debug, Default)]
pub struct Results {
    /// An origin record (TTL [`TTL`]).
    pub dns: Mode,
    /// The bed's load balancer and Auto Scaling.
    pub lb: Mode,
}

fn config(endpoint: &str, ami: &str, image: &str, traffic: &str) -> String {
    format!(
        r#"{provider}
resource "berth_container_app" "app" {{
  name     = "app"
  image    = "{image}"
  ami      = "{ami}"
  port     = 3000
  replicas = 2

  health_check {{
    path                = "/up"
    interval            = {INTERVAL}
    timeout             = 2
    healthy_threshold   = 2
    unhealthy_threshold = 2
    deadline            = 120
  }}
{traffic}
  rollout {{
    drain = 1
  }}
}}
"#,
        provider = berth_testbed::provider_for(endpoint),
    )
}

fn dns_block() -> String {
    format!("  origin {{\n    zone = \"{ZONE}\"\n    name = \"app\"\n    ttl  = {TTL}\n  }}\n")
}

fn lb_block(listener: &str) -> String {
    format!(
        "  load_balancer {{\n    listener_arn = \"{listener}\"\n    hosts        = [\"{HOST}\"]\n    priority     = 10\n  }}\n"
    )
}

/// Waits until `load` has `n` answers of `image`.
async fn warm(load: &LoadGen, image: &str, n: u64) -> Result<()> {
    let started = Instant::now();
    while load.report().by_image.get(image).copied().unwrap_or(0) < n {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("no traffic reached {image}: {:?}", load.report());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Polls `holds` every 50 ms until it is true; when it first was.
async fn first_time<F, Fut>(mut holds: F) -> Result<Instant>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if holds().await {
            return Ok(Instant::now());
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("the new routing never appeared");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The last answer of `image`, as an instant.
fn last_answer(report: &LoadReport, started: Instant, image: &str) -> Option<Instant> {
    report.last_success.get(image).map(|d| started + *d)
}

async fn dns_mode(tf: &Terraform, moto: &Moto) -> Result<Mode> {
    let (zone_id, ami) = fresh_moto(moto).await?;
    let endpoint = moto.endpoint();
    let sim = FleetSim::start(&endpoint, sim_options())?;
    let dir = tf.workdir(
        "balancer-dns",
        &config(&endpoint, &ami, "app:1", &dns_block()),
    )?;
    tf.output(&dir, INIT).await?;
    progress("balancer: DNS mode: create 1 app × 2 (origin TTL 10 s)");
    tf.timed(&dir, &strs(&apply_args(10))).await?;
    let record = format!("app.{ZONE}");
    let start_load = || {
        LoadGen::start(
            &endpoint,
            &zone_id,
            &record,
            sim.resolver(),
            LoadOptions::default(),
        )
    };

    // Rollout: new record → last old answer.
    let load = start_load()?;
    let load_started = Instant::now();
    warm(&load, "app:1", 20).await?;
    std::fs::write(
        dir.join("main.tf"),
        config(&endpoint, &ami, "app:2", &dns_block()),
    )?;
    progress("balancer: DNS mode: image rollout under load");
    let r53 = berth_testbed::clients::route53(&endpoint).await;
    let old: Vec<String> = sim.serving().iter().map(|b| b.id.clone()).collect();
    let args = apply_args(10);
    let args = strs(&args);
    let apply = tf.timed(&dir, &args);
    let fqdn = format!("{record}.");
    let watch = first_time(|| {
        let (r53, zone_id, fqdn, sim, old) = (&r53, &zone_id, &fqdn, &sim, &old);
        async move {
            let Ok(out) = r53
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .send()
                .await
            else {
                return false;
            };
            let values: Vec<String> = out
                .resource_record_sets()
                .iter()
                .filter(|r| r.name() == fqdn)
                .flat_map(|r| r.resource_records().iter().map(|v| v.value().to_string()))
                .collect();
            // Only new instances: none of the old ones' addresses.
            !values.is_empty()
                && values.iter().all(|ip| {
                    sim.serving()
                        .iter()
                        .filter(|b| !old.contains(&b.id))
                        .any(|b| sim.address_of(ip) == Some(b.addr))
                })
        }
    });
    let (applied, switched) = tokio::join!(apply, watch);
    applied?;
    let switched = switched?;
    tokio::time::sleep(Duration::from_secs(u64::from(TTL) + 2)).await;
    let rollout = tokio::task::block_in_place(|| load.stop());
    let switch = last_answer(&rollout, load_started, "app:1")
        .map(|last| last.saturating_duration_since(switched));

    // Death: one of the two stops answering; nobody applies.
    let load = start_load()?;
    warm(&load, "app:2", 20).await?;
    let victim = serving_of(&sim, "app:2")?;
    progress(&format!(
        "balancer: DNS mode: {victim} dies; {} s of load, no apply",
        WINDOW.as_secs()
    ));
    let before = load.report();
    sim.crash(&victim);
    tokio::time::sleep(WINDOW).await;
    let mut death = tokio::task::block_in_place(|| load.stop());
    death.requests -= before.requests;
    death.failures -= before.failures;
    tf.output(&dir, &["destroy", "-auto-approve", "-no-color"])
        .await?;
    tokio::task::block_in_place(|| sim.stop());
    Ok(Mode {
        death,
        detected: None,
        replaced: None,
        switch,
        rollout,
    })
}

async fn lb_mode(tf: &Terraform, moto: &Moto) -> Result<Mode> {
    let (_, ami) = fresh_moto(moto).await?;
    let endpoint = moto.endpoint();
    let sim = FleetSim::start(&endpoint, sim_options())?;
    let clients = berth_aws::config::load(&berth_aws::Settings::emulator(endpoint.clone())).await?;
    let (_, listener) = users_listener(&clients, "bench").await?;
    let alb = tokio::task::block_in_place(|| {
        Alb::start(&endpoint, &listener, "127.0.0.1", sim.resolver())
    })?;
    alb.play_auto_scaling();
    let dir = tf.workdir(
        "balancer-lb",
        &config(&endpoint, &ami, "app:1", &lb_block(&listener)),
    )?;
    tf.output(&dir, INIT).await?;
    progress("balancer: load-balancer mode: create 1 app × 2 (an Auto Scaling group)");
    tf.timed(&dir, &strs(&apply_args(10))).await?;
    let group = |name: &str| {
        let (clients, name) = (&clients, name.to_string());
        async move {
            berth_aws::lb::target_group_arn(clients, &name)
                .await
                .ok()
                .flatten()
        }
    };
    let first = group("berth-app-1")
        .await
        .context("release 1's target group")?;
    first_time(|| {
        let (alb, first) = (&alb, &first);
        async move {
            alb.weights_seen()
                .iter()
                .any(|(_, _, w)| w.contains(&(first.clone(), 1)))
        }
    })
    .await?;

    // Rollout: the rule forwards to the new group only → last old answer.
    let load = LoadGen::through(alb.addr(), HOST, LoadOptions::default())?;
    let load_started = Instant::now();
    warm(&load, "app:1", 20).await?;
    std::fs::write(
        dir.join("main.tf"),
        config(&endpoint, &ami, "app:2", &lb_block(&listener)),
    )?;
    progress("balancer: load-balancer mode: image rollout under load");
    let args = apply_args(10);
    let args = strs(&args);
    let apply = tf.timed(&dir, &args);
    let watch = first_time(|| {
        let (clients, listener) = (&clients, &listener);
        async move {
            let Ok(Some(rule)) = berth_aws::lb::app_rule(clients, listener, "app").await else {
                return false;
            };
            rule.weights.iter().all(|(arn, w)| {
                let new = berth_aws::lb_fleet::name_of_arn(arn) == "berth-app-2";
                (*w > 0) == new
            }) && rule.weights.values().any(|w| *w > 0)
        }
    });
    let (applied, switched) = tokio::join!(apply, watch);
    applied?;
    let switched = switched?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rollout = tokio::task::block_in_place(|| load.stop());
    let switch = last_answer(&rollout, load_started, "app:1")
        .map(|last| last.saturating_duration_since(switched));

    // Death.
    let second = group("berth-app-2")
        .await
        .context("release 2's target group")?;
    let load = LoadGen::through(alb.addr(), HOST, LoadOptions::default())?;
    warm(&load, "app:2", 20).await?;
    let victim = serving_of(&sim, "app:2")?;
    progress(&format!(
        "balancer: load-balancer mode: {victim} dies; {} s of load, no apply",
        WINDOW.as_secs()
    ));
    let before = load.report();
    let died = Instant::now();
    sim.crash(&victim);
    let mut detected = None;
    let mut replaced = None;
    while died.elapsed() < WINDOW {
        if detected.is_none() && alb.health(&second, &victim) == Some(TargetHealth::Unhealthy) {
            detected = Some(died.elapsed());
        }
        if replaced.is_none()
            && sim.serving().iter().any(|b| {
                b.image == "app:2"
                    && b.id != victim
                    && alb.health(&second, &b.id) == Some(TargetHealth::Healthy)
                    && !before.by_instance.contains_key(&b.id)
            })
        {
            replaced = Some(died.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut death = tokio::task::block_in_place(|| load.stop());
    death.requests -= before.requests;
    death.failures -= before.failures;
    tf.output(&dir, &["destroy", "-auto-approve", "-no-color"])
        .await?;
    drop(alb);
    tokio::task::block_in_place(|| sim.stop());
    Ok(Mode {
        death,
        detected,
        replaced,
        switch,
        rollout,
    })
}

/// An instance of `image` that serves now.
fn serving_of(sim: &FleetSim, image: &str) -> Result<String> {
    sim.serving()
        .iter()
        .find(|b| b.image == image)
        .map(|b| b.id.clone())
        .context("no serving instance")
}

fn sim_options() -> SimOptions {
    SimOptions {
        boot_delay: Duration::from_millis(500),
        ..SimOptions::default()
    }
}

/// Runs the group.
///
/// # Errors
/// When a Terraform run, moto, the simulator or the bed's load balancer
/// fails.
pub async fn run(
    tools: &std::path::Path,
    provider: &std::path::Path,
    version: &str,
    moto: &Moto,
) -> Result<Results> {
    let tf = Terraform::new(&tools.join("bin/terraform"), tools, provider, version)?;
    let dns = dns_mode(&tf, moto).await?;
    let lb = lb_mode(&tf, moto).await?;
    Ok(Results { dns, lb })
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "—".to_string(), |d| format!("{:.1} s", d.as_secs_f64()))
}

impl Results {
    /// Prints the group's table.
    pub fn print(&self) {
        println!(
            "\nDNS mode vs load-balancer mode (moto + fleet simulator + the bed's load balancer; 2 instances, health checks every {INTERVAL} s, 2 to fail)"
        );
        crate::print_table(
            &["measure", &format!("DNS (TTL {TTL} s)"), "load balancer"],
            &[
                vec![
                    format!(
                        "one instance dies: failed requests in the next {} s, no apply",
                        WINDOW.as_secs()
                    ),
                    format!("{} of {}", self.dns.death.failures, self.dns.death.requests),
                    format!("{} of {}", self.lb.death.failures, self.lb.death.requests),
                ],
                vec![
                    "  dead instance out of traffic after".into(),
                    "never (until an apply)".into(),
                    secs(self.lb.detected),
                ],
                vec![
                    "  replacement serving after".into(),
                    "never (until an apply)".into(),
                    secs(self.lb.replaced),
                ],
                vec![
                    "rollout: new routing in the cloud → last answer of the old release".into(),
                    secs(self.dns.switch),
                    secs(self.lb.switch),
                ],
                vec![
                    "  failed requests during the rollout".into(),
                    format!(
                        "{} of {}",
                        self.dns.rollout.failures, self.dns.rollout.requests
                    ),
                    format!(
                        "{} of {}",
                        self.lb.rollout.failures, self.lb.rollout.requests
                    ),
                ],
            ],
        );
        println!(
            "  (the bed's load balancer applies a rule within its 200 ms refresh of moto; AWS documents no bound, so that figure is the bed's)"
        );
    }

    /// The group's JSON.
    pub fn to_json(&self) -> Json {
        let mode = |m: &Mode| {
            json!({
                "death_requests": m.death.requests,
                "death_failures": m.death.failures,
                "detected_s": m.detected.map(|d| d.as_secs_f64()),
                "replaced_s": m.replaced.map(|d| d.as_secs_f64()),
                "switch_s": m.switch.map(|d| d.as_secs_f64()),
                "rollout_requests": m.rollout.requests,
                "rollout_failures": m.rollout.failures,
            })
        };
        json!({
            "window_s": WINDOW.as_secs(),
            "ttl_s": TTL,
            "dns": mode(&self.dns),
            "load_balancer": mode(&self.lb),
        })
    }
}

//! The scale bench: apply, no-op plan and destroy of a realistic mix of
//! berth resources (per 10: one `berth_container_app`, six
//! `berth_weighted_route`, three `berth_region_pool`, every third pool
//! with Route53 health checks) against moto and the fleet simulator, with
//! wall time, the provider's peak RSS and the AWS calls counted by a proxy.
//!
//! The mix grows in three applies (a quarter, half, all of N); after each
//! a no-op `terraform plan` (with refresh) is timed, so the plan's cost per
//! resource can be compared across sizes: the growth exponent between the
//! smallest and the largest size is 1 for linear cost, below 1 for better.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use berth_testbed::proxy::{Calls, CountingProxy};
use serde_json::{Value as Json, json};

use crate::containers::{Apps, INIT, apply_args, berth_config, fresh_moto, start_sim, strs};
use crate::terraform::{Terraform, Timed};
use berth_testbed::Moto;

const ZONE: &str = "bench.test";
/// Highest growth exponent of the no-op plan's cost that counts as linear.
const LINEAR_EXPONENT: f64 = 1.15;

/// How many of each resource a size holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    /// `berth_container_app` (one instance each).
    pub apps: usize,
    /// `berth_weighted_route`; the first `apps` of them point at an app.
    pub routes: usize,
    /// `berth_region_pool` with two regions each.
    pub pools: usize,
}

impl Mix {
    /// The mix for `n` resources: 10 % apps, 60 % routes, 30 % pools (the
    /// rounding goes to the routes, so the total is exactly `n`).
    pub fn of(n: usize) -> Mix {
        let apps = n / 10;
        let pools = n * 3 / 10;
        Mix {
            apps,
            routes: n - apps - pools,
            pools,
        }
    }

    /// Resources in all.
    pub fn total(self) -> usize {
        self.apps + self.routes + self.pools
    }
}

/// Figures of one size.
#[derive(Debug, Clone)]
pub struct Step {
    /// What was applied.
    pub mix: Mix,
    /// The apply that grew the config to this size.
    pub apply: Timed,
    /// AWS calls of that apply.
    pub apply_calls: Calls,
    /// The no-op plan at this size.
    pub plan: Timed,
    /// AWS calls of that plan.
    pub plan_calls: Calls,
    /// Whether the plan said "No changes".
    pub plan_empty: bool,
}

/// What the scale bench measured.
#[derive(Debug, Clone)]
pub struct Results {
    /// One entry per size, smallest first.
    pub steps: Vec<Step>,
    /// The destroy of the largest size.
    pub destroy: Timed,
    /// AWS calls of the destroy.
    pub destroy_calls: Calls,
    /// What berth left in moto after the destroy (should be nothing).
    pub left: Vec<String>,
    /// Instances the simulator saw serving at the largest size.
    pub serving: usize,
    /// `-parallelism` of every run.
    pub parallelism: usize,
}

impl Results {
    /// log(plan time per resource ratio) over log(size ratio), + 1: 1 is
    /// linear, below 1 better than linear.
    pub fn plan_exponent(&self) -> Option<f64> {
        let (first, last) = (self.steps.first()?, self.steps.last()?);
        let n0 = first.mix.total() as f64;
        let n1 = last.mix.total() as f64;
        if n1 <= n0 {
            return None;
        }
        let t0 = first.plan.wall.as_secs_f64();
        let t1 = last.plan.wall.as_secs_f64();
        Some((t1 / t0).ln() / (n1 / n0).ln())
    }

    /// The JSON form.
    pub fn to_json(&self) -> Json {
        let calls = |c: &Calls| json!({"total": c.total(), "by_action": c.0});
        json!({
            "parallelism": self.parallelism,
            "steps": self.steps.iter().map(|s| json!({
                "apps": s.mix.apps,
                "routes": s.mix.routes,
                "pools": s.mix.pools,
                "resources": s.mix.total(),
                "apply_s": s.apply.wall.as_secs_f64(),
                "apply_rss_kib": s.apply.peaks.peak_hwm_kib,
                "apply_calls": calls(&s.apply_calls),
                "plan_s": s.plan.wall.as_secs_f64(),
                "plan_ms_per_resource": per_resource_ms(s.plan.wall, s.mix.total()),
                "plan_rss_kib": s.plan.peaks.peak_hwm_kib,
                "plan_calls": calls(&s.plan_calls),
                "plan_empty": s.plan_empty,
            })).collect::<Vec<_>>(),
            "destroy_s": self.destroy.wall.as_secs_f64(),
            "destroy_rss_kib": self.destroy.peaks.peak_hwm_kib,
            "destroy_calls": calls(&self.destroy_calls),
            "left_after_destroy": self.left,
            "serving": self.serving,
            "plan_growth_exponent": self.plan_exponent(),
        })
    }

    /// Prints the table.
    pub fn print(&self) {
        println!(
            "\nscale: a mix of apps (1 instance), weighted routes and region pools (-parallelism={})",
            self.parallelism
        );
        println!(
            "{:>6} {:>5} {:>6} {:>5}  {:>8} {:>7} {:>7}  {:>8} {:>9} {:>7} {:>6} {:>6}",
            "total",
            "apps",
            "routes",
            "pools",
            "apply s",
            "RSS MiB",
            "calls",
            "plan s",
            "ms/resrc",
            "RSS MiB",
            "calls",
            "empty"
        );
        for s in &self.steps {
            println!(
                "{:>6} {:>5} {:>6} {:>5}  {:>8.1} {:>7.1} {:>7}  {:>8.2} {:>9.2} {:>7.1} {:>6} {:>6}",
                s.mix.total(),
                s.mix.apps,
                s.mix.routes,
                s.mix.pools,
                s.apply.wall.as_secs_f64(),
                mib(s.apply.peaks.peak_hwm_kib),
                s.apply_calls.total(),
                s.plan.wall.as_secs_f64(),
                per_resource_ms(s.plan.wall, s.mix.total()),
                mib(s.plan.peaks.peak_hwm_kib),
                s.plan_calls.total(),
                if s.plan_empty { "yes" } else { "NO" },
            );
        }
        if let Some(last) = self.steps.last() {
            println!(
                "destroy of {}: {:.1} s, provider peak RSS {:.1} MiB, {} AWS calls; {} instances served before it",
                last.mix.total(),
                self.destroy.wall.as_secs_f64(),
                mib(self.destroy.peaks.peak_hwm_kib),
                self.destroy_calls.total(),
                self.serving
            );
            println!(
                "apply calls by action at {}: {}",
                last.mix.total(),
                top(&last.apply_calls)
            );
            println!(
                "no-op plan calls by action at {}: {}",
                last.mix.total(),
                top(&last.plan_calls)
            );
            println!(
                "destroy calls by action at {}: {}",
                last.mix.total(),
                top(&self.destroy_calls)
            );
            println!(
                "left in moto after the destroy: {}: {}",
                if self.left.is_empty() {
                    "nothing".to_string()
                } else {
                    format!(
                        "{} ({}, …)",
                        self.left.len(),
                        self.left
                            .iter()
                            .take(3)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                },
                if self.left.is_empty() { "PASS" } else { "MISS" }
            );
            let empty = self.steps.iter().all(|s| s.plan_empty);
            println!(
                "no-op plan empty at every size: {}",
                if empty { "PASS" } else { "MISS" }
            );
        }
        if let Some(e) = self.plan_exponent() {
            let verdict = if e <= LINEAR_EXPONENT { "PASS" } else { "MISS" };
            println!(
                "no-op plan growth exponent {e:.2} (1 = linear; goal ≤ {LINEAR_EXPONENT}): {verdict}"
            );
        }
    }
}

fn per_resource_ms(wall: Duration, n: usize) -> f64 {
    wall.as_secs_f64() * 1000.0 / n.max(1) as f64
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn top(c: &Calls) -> String {
    let mut v: Vec<(&String, &u64)> = c.0.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1));
    v.iter()
        .take(6)
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The configuration of one size.
pub fn config(m: Mix, endpoint: &str, ami: &str) -> String {
    let Mix {
        apps,
        routes,
        pools,
    } = m;
    let ext = routes - apps.min(routes);
    let apps_config = berth_config(&Apps {
        count: apps,
        image: "bench:1",
        replicas: 1,
        ttl: 1,
        drain: 0,
        endpoint,
        ami,
    });
    format!(
        r#"{apps_config}
# Routes in front of the apps: the old platform keeps 90 %. Target ids are
# unique in the zone because moto (5.2.5) deletes a set identifier from
# every name of the zone at once; Route53 deletes it from one name only.
resource "berth_weighted_route" "app" {{
  count = {apps_routes}
  zone  = "{ZONE}"
  name  = "www-${{count.index}}"

  target {{
    id       = "paas-${{count.index}}"
    hostname = "old-${{count.index}}.paas.example.net"
    weight   = 90
  }}
  target {{
    id       = "aws-${{count.index}}"
    hostname = berth_container_app.app[count.index].origin_fqdn
    weight   = 10
  }}
}}

resource "berth_weighted_route" "ext" {{
  count = {ext}
  zone  = "{ZONE}"
  name  = "r-${{count.index}}"

  target {{
    id       = "blue-${{count.index}}"
    hostname = "blue-${{count.index}}.example.net"
    weight   = 50
  }}
  target {{
    id       = "green-${{count.index}}"
    hostname = "green-${{count.index}}.example.net"
    weight   = 50
  }}
}}

resource "berth_region_pool" "p" {{
  count   = {pools}
  zone    = "{ZONE}"
  name    = "global-${{count.index}}"
  primary = "us-east-1"

  region {{
    name     = "us-east-1"
    hostname = "use1-${{count.index}}.example.net"
    dynamic "health_check" {{
      for_each = count.index % 3 == 0 ? [1] : []
      content {{
        path = "/up"
      }}
    }}
  }}
  region {{
    name     = "eu-west-1"
    hostname = "euw1-${{count.index}}.example.net"
  }}
}}
"#,
        apps_routes = apps.min(routes),
    )
}

/// Runs the scale bench for `n` resources.
///
/// # Errors
/// When a Terraform run, moto or the simulator fails.
pub async fn run(
    n: usize,
    parallelism: usize,
    tools: &Path,
    provider: &Path,
    version: &str,
    moto: &Moto,
) -> Result<Results> {
    if n < 40 {
        bail!("--scale must be at least 40 (a quarter of it must hold one of each resource)");
    }
    let tf = Terraform::new(&tools.join("bin/terraform"), tools, provider, version)?;
    let (_, ami) = fresh_moto(moto).await?;
    let proxy = CountingProxy::start(moto.addr()).await?;
    // A slow poll: the simulator's DescribeInstances of every instance
    // competes with the provider for moto's single CPU.
    let sim = start_sim(
        &moto.endpoint(),
        Duration::from_millis(300),
        Duration::from_millis(1500),
    )
    .await?;
    let sizes = [n / 4, n / 2, n];
    let dir = tf.workdir("scale", &config(Mix::of(sizes[0]), &proxy.endpoint(), &ami))?;
    tf.output(&dir, INIT).await?;
    let apply = apply_args(parallelism);
    let par = format!("-parallelism={parallelism}");
    let plan: &[&str] = &["plan", "-input=false", "-no-color", &par];
    let mut steps = Vec::new();
    for size in sizes {
        let mix = Mix::of(size);
        std::fs::write(dir.join("main.tf"), config(mix, &proxy.endpoint(), &ami))?;
        eprintln!(
            "bench: scale: apply to {} resources ({} apps, {} routes, {} pools)",
            mix.total(),
            mix.apps,
            mix.routes,
            mix.pools
        );
        proxy.take();
        let applied = tf.timed(&dir, &strs(&apply)).await?;
        let apply_calls = proxy.take();
        eprintln!("bench: scale: no-op plan of {}", mix.total());
        let (planned, out) = tf.timed_output(&dir, plan).await?;
        let plan_calls = proxy.take();
        let plan_empty = out.contains("No changes.");
        if !plan_empty {
            // What changed, so a miss can be chased without a re-run.
            let changes: Vec<&str> = out
                .lines()
                .filter(|l| l.trim_start().starts_with('#') || l.contains(" -> "))
                .take(12)
                .collect();
            eprintln!(
                "bench: scale: the no-op plan was not empty:\n{}",
                changes.join("\n")
            );
        }
        steps.push(Step {
            mix,
            apply: applied,
            apply_calls,
            plan: planned,
            plan_calls,
            plan_empty,
        });
    }
    let serving = sim.serving().len();
    eprintln!("bench: scale: destroy of {n}");
    proxy.take();
    let destroy = tf
        .timed(
            &dir,
            &[
                "destroy",
                "-auto-approve",
                "-input=false",
                "-no-color",
                &par,
            ],
        )
        .await?;
    let destroy_calls = proxy.take();
    drop(sim);
    let left = berth_testbed::leftovers::leftovers(&moto.endpoint(), &["us-east-1"]).await?;
    Ok(Results {
        steps,
        destroy,
        destroy_calls,
        left,
        serving,
        parallelism,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_adds_up_and_keeps_its_shares() {
        let m = Mix::of(1000);
        assert_eq!(
            (m.apps, m.routes, m.pools, m.total()),
            (100, 600, 300, 1000)
        );
        for n in [40, 41, 99, 250, 333] {
            let m = Mix::of(n);
            assert_eq!(m.total(), n);
            assert!(m.apps >= 1 && m.pools >= 1 && m.routes >= m.apps, "{m:?}");
        }
    }

    #[test]
    fn the_growth_exponent_is_one_for_linear_cost() {
        let step = |n: usize, secs: f64| Step {
            mix: Mix::of(n),
            apply: Timed {
                wall: Duration::ZERO,
                peaks: Default::default(),
            },
            apply_calls: Calls::default(),
            plan: Timed {
                wall: Duration::from_secs_f64(secs),
                peaks: Default::default(),
            },
            plan_calls: Calls::default(),
            plan_empty: true,
        };
        let r = |a: f64, b: f64| Results {
            steps: vec![step(250, a), step(1000, b)],
            destroy: Timed {
                wall: Duration::ZERO,
                peaks: Default::default(),
            },
            destroy_calls: Calls::default(),
            left: Vec::new(),
            serving: 0,
            parallelism: 10,
        };
        assert!((r(1.0, 4.0).plan_exponent().unwrap() - 1.0).abs() < 1e-9);
        assert!(r(1.0, 2.0).plan_exponent().unwrap() < 1.0);
        assert!(r(1.0, 16.0).plan_exponent().unwrap() > 1.9);
    }
}

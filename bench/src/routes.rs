//! Weighted-route benchmarks: berth's overhead against Terraform's own
//! floor (`plan -refresh=false` of N `berth_weighted_route` vs N
//! `terraform_data`, same Terraform, same run, median of alternating
//! rounds, with the CPU split between Terraform and the provider, and N
//! `null_resource` of the Go null provider as a reference; the same state
//! planned with `berth-schema-floor`, a provider with berth's exact schema
//! and no logic, separates Terraform's cost for this schema from berth's
//! own) and the same N
//! weighted records with the Go AWS provider 3.39 (plan and apply), side
//! by side.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value as Json, json};

use crate::stats::Summary;
use crate::terraform::{Terraform, Timed};
use berth_testbed::Moto;

const ZONE: &str = "routes.bench.test";
const GO_AWS_VERSION: &str = "3.39.0";

/// Plans per configuration; the figures are medians, runs alternate
/// between the configurations so drift in machine load hits all alike.
const PLAN_ROUNDS: usize = 5;

/// The median figures of one configuration's `plan -refresh=false`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanFigures {
    /// Wall time.
    pub wall: Duration,
    /// CPU time of the whole run: Terraform and its providers.
    pub cpu: Duration,
    /// CPU time of the provider processes alone.
    pub provider_cpu: Duration,
    /// Largest provider peak RSS, KiB.
    pub provider_rss_kib: u64,
}

impl PlanFigures {
    fn median_of(runs: &[Timed]) -> PlanFigures {
        let med = |f: &dyn Fn(&Timed) -> f64| {
            Summary::of(&runs.iter().map(f).collect::<Vec<_>>()).map_or(0.0, |s| s.median)
        };
        PlanFigures {
            wall: Duration::from_secs_f64(med(&|t| t.wall.as_secs_f64())),
            cpu: Duration::from_secs_f64(med(&|t| t.peaks.run_cpu.as_secs_f64())),
            provider_cpu: Duration::from_secs_f64(med(&|t| t.peaks.cpu.as_secs_f64())),
            provider_rss_kib: runs.iter().map(|t| t.peaks.peak_hwm_kib).max().unwrap_or(0),
        }
    }

    fn to_json(self) -> Json {
        json!({
            "wall_s": self.wall.as_secs_f64(),
            "cpu_s": self.cpu.as_secs_f64(),
            "provider_cpu_s": self.provider_cpu.as_secs_f64(),
            "provider_peak_rss_kib": self.provider_rss_kib,
        })
    }
}

/// What the route benchmarks measured.
#[derive(Debug, Clone)]
pub struct Results {
    /// Routes per configuration.
    pub count: usize,
    /// Plans per configuration (the figures are medians).
    pub rounds: usize,
    /// `plan -refresh=false` of N berth routes.
    pub berth_plan: PlanFigures,
    /// `plan -refresh=false` of N `terraform_data`.
    pub floor_plan: PlanFigures,
    /// `plan -refresh=false` of N `null_resource` (Go null provider
    /// 2.1.2), when installed: what a minimal Go provider costs.
    pub null_plan: Option<PlanFigures>,
    /// `plan -refresh=false` of the same N routes' state with
    /// `berth-schema-floor` (berth's schema, no provider logic), when
    /// built: the floor for a resource of this schema.
    pub schema_floor_plan: Option<PlanFigures>,
    /// berth / floor wall time.
    pub ratio: f64,
    /// berth apply of the N routes.
    pub berth_apply: Duration,
    /// Go AWS provider: (plan, apply, peak RSS KiB), when installed.
    pub go: Option<(Duration, Duration, u64)>,
    /// Why the Go half was skipped.
    pub go_skipped: Option<String>,
}

impl Results {
    /// JSON for results.json.
    pub fn to_json(&self) -> Json {
        json!({
            "count": self.count,
            "plan_rounds": self.rounds,
            "berth_plan_refresh_false": self.berth_plan.to_json(),
            "terraform_data_plan_refresh_false": self.floor_plan.to_json(),
            "null_resource_plan_refresh_false": self.null_plan.map(PlanFigures::to_json),
            "schema_floor_plan_refresh_false": self.schema_floor_plan.map(PlanFigures::to_json),
            "ratio": self.ratio,
            "ratio_goal": 1.2,
            "berth_apply_s": self.berth_apply.as_secs_f64(),
            "go_aws": self.go.map(|(p, a, r)| json!({"plan_s": p.as_secs_f64(), "apply_s": a.as_secs_f64(), "peak_rss_kib": r})),
            "go_aws_skipped": self.go_skipped,
        })
    }

    /// Prints the figures.
    pub fn print(&self) {
        let verdict = if self.ratio <= 1.2 { "PASS" } else { "MISS" };
        let n = self.count as f64;
        println!("\nweighted routes (N = {})", self.count);
        println!(
            "  plan -refresh=false, median of {}: berth_weighted_route {:.2} s vs terraform_data {:.2} s → ratio {:.2} (goal ≤ 1.2) {verdict}",
            self.rounds,
            self.berth_plan.wall.as_secs_f64(),
            self.floor_plan.wall.as_secs_f64(),
            self.ratio
        );
        println!(
            "  {:<34} {:>8} {:>10} {:>14} {:>10}",
            "", "wall", "CPU", "provider CPU", "peak RSS"
        );
        let row = |name: &str, f: &PlanFigures| {
            println!(
                "  {:<34} {:>7.2}s {:>9.2}s {:>9.3}s {:>7.1} MiB",
                name,
                f.wall.as_secs_f64(),
                f.cpu.as_secs_f64(),
                f.provider_cpu.as_secs_f64(),
                f.provider_rss_kib as f64 / 1024.0
            );
        };
        row("berth_weighted_route", &self.berth_plan);
        row("terraform_data (built in)", &self.floor_plan);
        if let Some(null) = &self.null_plan {
            row("null_resource (Go null 2.1.2)", null);
            println!(
                "  reference: a minimal Go provider (null, 1 map attribute) plans at {:.2}× terraform_data",
                null.wall.as_secs_f64() / self.floor_plan.wall.as_secs_f64().max(1e-9)
            );
        }
        if let Some(same) = &self.schema_floor_plan {
            row("same schema, no logic (floor bin)", same);
            println!(
                "  the same state planned by berth-schema-floor (berth's schema, a provider that does nothing) runs at {:.2}× terraform_data: the floor for a resource of this schema; berth's own logic adds {:.2}×",
                same.wall.as_secs_f64() / self.floor_plan.wall.as_secs_f64().max(1e-9),
                (self.berth_plan.wall.as_secs_f64() - same.wall.as_secs_f64())
                    / self.floor_plan.wall.as_secs_f64().max(1e-9)
            );
        }
        let extra = self.berth_plan.cpu.saturating_sub(self.floor_plan.cpu);
        let provider = self.berth_plan.provider_cpu;
        println!(
            "  CPU over the floor: {:.0} µs per route, of which the berth process {:.0} µs; the rest is Terraform's own work for a provider resource (gRPC client, schema-driven decode, diff rendering)",
            extra.as_secs_f64() * 1e6 / n,
            provider.as_secs_f64() * 1e6 / n
        );
        match (&self.go, &self.go_skipped) {
            (Some((p, a, r)), _) => {
                println!(
                    "  {:<34} {:>10} {:>10} {:>12}",
                    "", "plan", "apply", "peak RSS"
                );
                println!(
                    "  {:<34} {:>9.2}s {:>9.2}s {:>9.1} MiB",
                    "berth_weighted_route",
                    self.berth_plan.wall.as_secs_f64(),
                    self.berth_apply.as_secs_f64(),
                    self.berth_plan.provider_rss_kib as f64 / 1024.0
                );
                println!(
                    "  {:<34} {:>9.2}s {:>9.2}s {:>9.1} MiB",
                    "aws_route53_record (Go 3.39)",
                    p.as_secs_f64(),
                    a.as_secs_f64(),
                    *r as f64 / 1024.0
                );
            }
            (None, Some(why)) => println!("  Go AWS provider side: skipped ({why})"),
            _ => {}
        }
    }
}

fn berth_config(n: usize, endpoint: &str) -> String {
    let provider = berth_testbed::provider_for(endpoint);
    format!(
        r#"{provider}
resource "berth_weighted_route" "r" {{
  count = {n}
  zone  = "{ZONE}"
  name  = "r${{count.index}}"

  target {{
    id       = "old"
    hostname = "old.example.net"
    weight   = 90
  }}
  target {{
    id       = "new"
    hostname = "new.example.net"
    weight   = 10
  }}
}}
"#
    )
}

fn floor_config(n: usize) -> String {
    format!(
        r#"resource "terraform_data" "r" {{
  count = {n}
  input = {{
    name    = "r${{count.index}}"
    targets = {{ old = 90, new = 10 }}
  }}
}}
"#
    )
}

fn null_config(n: usize) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    null = {{
      source  = "hashicorp/null"
      version = "2.1.2"
    }}
  }}
}}

resource "null_resource" "r" {{
  count = {n}
  triggers = {{
    name = "r${{count.index}}"
    old  = "90"
    new  = "10"
  }}
}}
"#
    )
}

fn go_config(n: usize, endpoint: &str, zone_id: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "{GO_AWS_VERSION}"
    }}
  }}
}}

provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_get_ec2_platforms      = true

  endpoints {{
    route53 = "{endpoint}"
    sts     = "{endpoint}"
  }}
}}

resource "aws_route53_record" "old" {{
  count          = {n}
  zone_id        = "{zone_id}"
  name           = "g${{count.index}}.{ZONE}"
  type           = "CNAME"
  ttl            = 60
  set_identifier = "old"
  records        = ["old.example.net"]
  weighted_routing_policy {{
    weight = 90
  }}
}}

resource "aws_route53_record" "new" {{
  count          = {n}
  zone_id        = "{zone_id}"
  name           = "g${{count.index}}.{ZONE}"
  type           = "CNAME"
  ttl            = 60
  set_identifier = "new"
  records        = ["new.example.net"]
  weighted_routing_policy {{
    weight = 10
  }}
}}
"#
    )
}

async fn zone(moto: &Moto) -> Result<String> {
    moto.reset()?;
    berth_testbed::clients::create_zone(&moto.endpoint(), ZONE)
        .await
        .context("creating the hosted zone")
}

/// Runs the route benchmarks with `n` routes; `parallelism` for applies.
///
/// # Errors
/// When a Terraform run or moto fails.
pub async fn run(
    n: usize,
    parallelism: usize,
    tools: &Path,
    provider: &Path,
    version: &str,
    moto: &Moto,
) -> Result<Results> {
    let tf = Terraform::new(&tools.join("bin/terraform"), tools, provider, version)?;
    let init: &[&str] = &["init", "-input=false", "-no-color"];
    let par = format!("-parallelism={parallelism}");
    let apply: Vec<&str> = vec!["apply", "-auto-approve", "-input=false", "-no-color", &par];
    let plan: &[&str] = &["plan", "-refresh=false", "-input=false", "-no-color"];

    eprintln!("bench: routes: applying {n} berth_weighted_route");
    zone(moto).await?;
    let bdir = tf.workdir("routes-berth", &berth_config(n, &moto.endpoint()))?;
    tf.output(&bdir, init).await?;
    let berth_apply = tf.timed(&bdir, &apply).await?.wall;

    eprintln!("bench: routes: {n} terraform_data");
    let fdir = tf.workdir("routes-floor", &floor_config(n))?;
    tf.output(&fdir, init).await?;
    tf.timed(&fdir, &apply).await?;

    let null_installed = tools
        .join("mirror/registry.terraform.io/hashicorp/null/2.1.2")
        .is_dir();
    let ndir = if null_installed {
        eprintln!("bench: routes: {n} null_resource (Go null provider)");
        let ndir = tf.workdir("routes-null", &null_config(n))?;
        tf.output(&ndir, init).await?;
        tf.timed(&ndir, &apply).await?;
        Some(ndir)
    } else {
        None
    };

    // The same configuration and state, served by a provider with berth's
    // schema and no logic (built beside the provider by scripts/bench).
    let floor_bin = provider.with_file_name("berth-schema-floor");
    let same = if floor_bin.is_file() {
        eprintln!("bench: routes: the same state with berth-schema-floor");
        let stf = Terraform::new(&tools.join("bin/terraform"), tools, &floor_bin, version)?;
        let sdir = stf.workdir("routes-same-schema", &berth_config(n, &moto.endpoint()))?;
        std::fs::copy(
            bdir.join("terraform.tfstate"),
            sdir.join("terraform.tfstate"),
        )
        .context("copying the routes' state")?;
        stf.output(&sdir, init).await?;
        Some((stf, sdir))
    } else {
        None
    };

    eprintln!("bench: routes: {PLAN_ROUNDS} rounds of plan -refresh=false");
    let (mut bruns, mut fruns, mut nruns, mut sruns) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..PLAN_ROUNDS {
        bruns.push(tf.timed(&bdir, plan).await?);
        fruns.push(tf.timed(&fdir, plan).await?);
        if let Some(ndir) = &ndir {
            nruns.push(tf.timed(ndir, plan).await?);
        }
        if let Some((stf, sdir)) = &same {
            sruns.push(stf.timed(sdir, plan).await?);
        }
    }
    let bplan = PlanFigures::median_of(&bruns);
    let fplan = PlanFigures::median_of(&fruns);
    let null_plan = ndir.is_some().then(|| PlanFigures::median_of(&nruns));
    let schema_floor_plan = same.is_some().then(|| PlanFigures::median_of(&sruns));

    let go_bin = tools.join(format!(
        "mirror/registry.terraform.io/hashicorp/aws/{GO_AWS_VERSION}/linux_amd64"
    ));
    let (go, go_skipped) = if go_bin.is_dir() {
        eprintln!(
            "bench: routes: {} aws_route53_record with the Go AWS provider",
            2 * n
        );
        let zone_id = zone(moto).await?;
        let gdir = tf.workdir("routes-go", &go_config(n, &moto.endpoint(), &zone_id))?;
        tf.output(&gdir, init).await?;
        let gplan = tf
            .timed(&gdir, &["plan", "-input=false", "-no-color", &par])
            .await?;
        let gapply = tf.timed(&gdir, &apply).await?;
        (
            Some((
                gplan.wall,
                gapply.wall,
                gplan.peaks.peak_hwm_kib.max(gapply.peaks.peak_hwm_kib),
            )),
            None,
        )
    } else {
        (
            None,
            Some(format!(
                "hashicorp/aws {GO_AWS_VERSION} is not installed (scripts/setup --with-aws-provider)"
            )),
        )
    };
    let ratio = bplan.wall.as_secs_f64() / fplan.wall.as_secs_f64().max(1e-9);
    Ok(Results {
        count: n,
        rounds: PLAN_ROUNDS,
        berth_plan: bplan,
        floor_plan: fplan,
        null_plan,
        schema_floor_plan,
        ratio,
        berth_apply,
        go,
        go_skipped,
    })
}

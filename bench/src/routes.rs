//! Weighted-route benchmarks: berth's overhead against Terraform's own
//! floor (`plan -refresh=false` of N `berth_weighted_route` vs N
//! `terraform_data`, same Terraform, same run) and the same N weighted
//! records with the Go AWS provider 3.39 (plan and apply), side by side.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value as Json, json};

use crate::moto::Moto;
use crate::terraform::Terraform;

const ZONE: &str = "routes.bench.test";
const GO_AWS_VERSION: &str = "3.39.0";

/// What the route benchmarks measured.
#[derive(Debug, Clone)]
pub struct Results {
    /// Routes per configuration.
    pub count: usize,
    /// `plan -refresh=false` of N berth routes.
    pub berth_plan: Duration,
    /// `plan -refresh=false` of N `terraform_data`.
    pub floor_plan: Duration,
    /// berth / floor.
    pub ratio: f64,
    /// The provider's peak RSS during that plan, KiB.
    pub berth_plan_rss_kib: u64,
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
            "berth_plan_refresh_false_s": self.berth_plan.as_secs_f64(),
            "terraform_data_plan_refresh_false_s": self.floor_plan.as_secs_f64(),
            "ratio": self.ratio,
            "ratio_goal": 1.2,
            "berth_plan_peak_rss_kib": self.berth_plan_rss_kib,
            "berth_apply_s": self.berth_apply.as_secs_f64(),
            "go_aws": self.go.map(|(p, a, r)| json!({"plan_s": p.as_secs_f64(), "apply_s": a.as_secs_f64(), "peak_rss_kib": r})),
            "go_aws_skipped": self.go_skipped,
        })
    }

    /// Prints the figures.
    pub fn print(&self) {
        let verdict = if self.ratio <= 1.2 { "PASS" } else { "MISS" };
        println!("\nweighted routes (N = {})", self.count);
        println!(
            "  plan -refresh=false: berth_weighted_route {:.2} s vs terraform_data {:.2} s → ratio {:.2} (goal ≤ 1.2) {verdict}",
            self.berth_plan.as_secs_f64(),
            self.floor_plan.as_secs_f64(),
            self.ratio
        );
        println!(
            "  provider peak RSS during that plan: {:.1} MiB",
            self.berth_plan_rss_kib as f64 / 1024.0
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
                    self.berth_plan.as_secs_f64(),
                    self.berth_apply.as_secs_f64(),
                    self.berth_plan_rss_kib as f64 / 1024.0
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
    format!(
        r#"terraform {{
  required_providers {{
    berth = {{
      source = "berth/berth"
    }}
  }}
}}

provider "berth" {{
  region     = "us-east-1"
  endpoint   = "{endpoint}"
  access_key = "testing"
  secret_key = "testing"
}}

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
    moto.reset().await?;
    berth_acceptance_tests::clients::create_zone(&moto.endpoint(), ZONE)
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
    let bplan = tf.timed(&bdir, plan).await?;

    eprintln!("bench: routes: {n} terraform_data");
    let fdir = tf.workdir("routes-floor", &floor_config(n))?;
    tf.output(&fdir, init).await?;
    tf.timed(&fdir, &apply).await?;
    let fplan = tf.timed(&fdir, plan).await?;

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
        berth_plan: bplan.wall,
        floor_plan: fplan.wall,
        ratio,
        berth_plan_rss_kib: bplan.peaks.peak_hwm_kib,
        berth_apply,
        go,
        go_skipped,
    })
}

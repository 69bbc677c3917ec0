//! The `berth_container_app` benchmarks (issue 3), on real Terraform
//! against moto with the fleet simulator playing the instances:
//!
//! 1. refresh of many apps: AWS calls of one `terraform plan
//!    -refresh-only`, counted by a proxy in front of moto (berth shares one
//!    DescribeInstances and one record listing per zone across resources),
//!    beside the Go AWS provider 3.39 refreshing as many `aws_instance` +
//!    `aws_route53_record`;
//! 2. rollout overhead: an image update under load, its wall time against
//!    the floor set by boot delay, TTL, drain and one health interval, and
//!    the load generator's failures;
//! 3. side by side with the Go AWS provider 3.39: the same job (N
//!    instances + N A records) as `aws_instance` + `aws_route53_record`
//!    versus N `berth_container_app`: wall time and provider peak RSS of a
//!    fresh `terraform plan` and of `terraform apply`.
//!
//! moto is reset before each part (and each side-by-side run); the
//! hosted zone is created beforehand with the SDK. The Go halves run only
//! when `scripts/setup --with-aws-provider` installed the provider.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use berth_testbed::clients;
use berth_testbed::loadgen::{LoadGen, LoadOptions, LoadReport};
use berth_testbed::proxy::{Calls, CountingProxy};
use berth_testbed::sim::{FleetSim, SimOptions};
use serde_json::{Value as Json, json};

use crate::procfs::ProviderPeaks;
use crate::stats::Summary;
use crate::terraform::{Terraform, Timed};
use crate::{mb, print_table, progress, verdict};
use berth_testbed::Moto;

/// The hosted zone every origin record lives in.
pub(crate) const ZONE: &str = "bench.test";
/// One of the images moto (5.2.x) ships in every region; both providers
/// get it explicitly, so neither spends calls looking one up.
const MOTO_AMI_NAME: &str = "ubuntu/images/hvm-ssd/ubuntu-trusty-14.04-amd64-server-20170727";
/// The Go AWS provider the comparison runs.
pub const GO_AWS_VERSION: &str = "3.39.0";
/// Target: Describe* calls of the refresh of all apps.
const REFRESH_DESCRIBE_TARGET: u64 = 10;
/// Target: rollout overhead over its floor.
const ROLLOUT_OVERHEAD_TARGET_S: f64 = 2.0;
/// Parallelism of the (unmeasured) Go apply that sets up its refresh: its
/// 30 s Route53 waiter would make 20 at a time take minutes.
const GO_SETUP_PARALLELISM: usize = 200;

/// The rollout benchmark's timings (issue 3's B, T, D and interval).
const ROLLOUT_BOOT: Duration = Duration::from_secs(2);
const ROLLOUT_TTL: u32 = 2;
const ROLLOUT_DRAIN: u32 = 1;
const ROLLOUT_INTERVAL: u32 = 1;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Apps in the refresh benchmark.
    pub apps: usize,
    /// `-parallelism` of its apply and refresh plan.
    pub parallelism: usize,
    /// Image updates measured in the rollout benchmark.
    pub rollout_runs: usize,
    /// Sizes of the side-by-side runs.
    pub sizes: Vec<usize>,
    /// `-parallelism` of the side-by-side applies (`None`: N).
    pub sbs_parallelism: Option<usize>,
    /// Run the Go AWS provider halves (when installed).
    pub go_aws: bool,
    /// Run part 1 (refresh call count).
    pub refresh: bool,
    /// Run part 2 (rollout overhead).
    pub rollout: bool,
    /// Run part 3 (side by side).
    pub side_by_side: bool,
}

/// Everything the container benchmarks measured.
#[derive(Debug)]
pub struct Results {
    /// Terraform version.
    pub terraform: String,
    /// Why the Go halves did not run, if they did not.
    pub go_skipped: Option<String>,
    /// Part 1.
    pub refresh: Option<RefreshResults>,
    /// Part 2.
    pub rollout: Option<RolloutResults>,
    /// Part 3.
    pub side_by_side: Vec<SbsRow>,
}

/// One provider's refresh of N resources of each kind.
#[derive(Debug)]
pub struct RefreshRun {
    /// Resources in the state.
    pub resources: usize,
    /// The apply that created them.
    pub apply: Duration,
    /// Calls of that apply.
    pub apply_calls: Calls,
    /// The refresh plan.
    pub plan: Duration,
    /// Its calls.
    pub calls: Calls,
    /// Did the refresh plan report no changes?
    pub no_changes: bool,
    /// Its `# … has changed` (or deleted) lines, when it found drift.
    pub drift: Vec<String>,
    /// Requests the proxy could not relay.
    pub proxy_errors: u64,
    /// Provider peak memory during the refresh plan.
    pub plan_peaks: ProviderPeaks,
}

/// Part 1's figures.
#[derive(Debug)]
pub struct RefreshResults {
    /// Apps (berth) / instances + records (Go).
    pub apps: usize,
    /// `-parallelism` of the berth apply and both refresh plans.
    pub parallelism: usize,
    /// Apps serving after the berth apply (simulator's view).
    pub serving: usize,
    /// berth.
    pub berth: RefreshRun,
    /// Go AWS provider.
    pub go: Option<RefreshRun>,
}

/// One measured image update.
#[derive(Debug)]
pub struct RolloutRun {
    /// The apply's wall time.
    pub apply: Duration,
    /// Apply start → the old image's last successful answer.
    pub old_last: Option<Duration>,
    /// Apply start → the new image's first successful answer.
    pub new_first: Option<Duration>,
    /// apply − (B + T + D + interval).
    pub overhead: f64,
    /// The load generator's counts.
    pub load: LoadReport,
}

/// Part 2's figures.
#[derive(Debug)]
pub struct RolloutResults {
    /// Each image update.
    pub runs: Vec<RolloutRun>,
    /// The create apply before them.
    pub create: Duration,
}

impl RolloutResults {
    fn floor(&self) -> f64 {
        ROLLOUT_BOOT.as_secs_f64() + f64::from(ROLLOUT_TTL + ROLLOUT_DRAIN + ROLLOUT_INTERVAL)
    }
    fn overheads(&self) -> Option<Summary> {
        Summary::of(&self.runs.iter().map(|r| r.overhead).collect::<Vec<_>>())
    }
    /// Failed requests over all runs.
    pub fn failures(&self) -> u64 {
        self.runs.iter().map(|r| r.load.failures).sum()
    }
}

/// One provider at one size in part 3.
#[derive(Debug)]
pub struct SbsRow {
    /// N.
    pub n: usize,
    /// `berth` or `aws`.
    pub provider: &'static str,
    /// Fresh plan.
    pub plan: Timed,
    /// Apply.
    pub apply: Timed,
    /// `-parallelism` of the apply.
    pub parallelism: usize,
}

/// The provider binary of the Go AWS provider in the tools mirror.
pub fn go_aws_binary(tools: &Path) -> PathBuf {
    tools.join(format!(
        "mirror/registry.terraform.io/hashicorp/aws/{GO_AWS_VERSION}/linux_amd64/terraform-provider-aws_v{GO_AWS_VERSION}_x5"
    ))
}

/// The shape of the berth apps of one configuration.
pub(crate) struct Apps<'a> {
    pub(crate) count: usize,
    pub(crate) image: &'a str,
    pub(crate) replicas: u32,
    pub(crate) ttl: u32,
    pub(crate) drain: u32,
    pub(crate) endpoint: &'a str,
    pub(crate) ami: &'a str,
}

/// The provider block and `count` apps `berth_container_app.app[i]` named
/// `app-<i>` with origin records `app-<i>` in the bench zone.
pub(crate) fn berth_config(a: &Apps) -> String {
    format!(
        r#"{provider}
resource "berth_container_app" "app" {{
  count    = {count}
  name     = "app-${{count.index}}"
  image    = "{image}"
  ami      = "{ami}"
  port     = 3000
  replicas = {replicas}

  health_check {{
    path              = "/up"
    interval          = {ROLLOUT_INTERVAL}
    timeout           = 1
    healthy_threshold = 1
    deadline          = 120
  }}

  origin {{
    zone = "{ZONE}"
    name = "app-${{count.index}}"
    ttl  = {ttl}
  }}

  rollout {{
    drain = {drain}
  }}
}}
"#,
        provider = berth_testbed::provider_for(a.endpoint),
        count = a.count,
        image = a.image,
        ami = a.ami,
        replicas = a.replicas,
        ttl = a.ttl,
        drain = a.drain,
    )
}

fn go_config(count: usize, endpoint: &str, ami: &str, zone_id: &str) -> String {
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
    ec2     = "{endpoint}"
    route53 = "{endpoint}"
    sts     = "{endpoint}"
  }}
}}

resource "aws_instance" "app" {{
  count         = {count}
  ami           = "{ami}"
  instance_type = "t3.small"
  tags = {{
    Name = "app-${{count.index}}"
  }}
}}

resource "aws_route53_record" "app" {{
  count   = {count}
  zone_id = "{zone_id}"
  name    = "app-${{count.index}}.{ZONE}"
  type    = "A"
  ttl     = 1
  records = [aws_instance.app[count.index].private_ip]
}}
"#
    )
}

/// moto emptied, with the hosted zone; returns its id and the AMI.
pub(crate) async fn fresh_moto(moto: &Moto) -> Result<(String, String)> {
    moto.reset()?;
    let endpoint = moto.endpoint();
    let zone_id = clients::create_zone(&endpoint, ZONE)
        .await
        .context("creating the hosted zone")?;
    let ec2 = clients::ec2(&endpoint).await;
    let images = ec2
        .describe_images()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("name")
                .values(MOTO_AMI_NAME)
                .build(),
        )
        .send()
        .await
        .context("looking up the AMI")?;
    let ami = images
        .images()
        .first()
        .and_then(|i| i.image_id())
        .with_context(|| format!("moto has no image named {MOTO_AMI_NAME}"))?
        .to_owned();
    Ok((zone_id, ami))
}

pub(crate) async fn start_sim(endpoint: &str, boot: Duration, poll: Duration) -> Result<FleetSim> {
    let endpoint = endpoint.to_owned();
    tokio::task::spawn_blocking(move || {
        FleetSim::start(
            &endpoint,
            SimOptions {
                boot_delay: boot,
                poll_interval: poll,
                forbidden: Vec::new(),
            },
        )
    })
    .await?
}

fn remove_state(dir: &Path) -> Result<()> {
    for state in ["terraform.tfstate", "terraform.tfstate.backup"] {
        match std::fs::remove_file(dir.join(state)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

pub(crate) const INIT: &[&str] = &["init", "-input=false", "-no-color"];

pub(crate) fn apply_args(parallelism: usize) -> Vec<String> {
    [
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        &format!("-parallelism={parallelism}"),
    ]
    .map(str::to_owned)
    .to_vec()
}

pub(crate) fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Runs every container benchmark.
///
/// # Errors
/// When a Terraform run, moto or the simulator fails.
pub async fn run(
    o: &Options,
    tools: &Path,
    provider: &Path,
    version: &str,
    moto: &Moto,
) -> Result<Results> {
    let tf = Terraform::new(&tools.join("bin/terraform"), tools, provider, version)?;
    let terraform = tf.version().await?;
    let go_skipped = if !o.go_aws {
        Some("--skip-go-aws given".to_owned())
    } else if !go_aws_binary(tools).is_file() {
        Some(format!(
            "hashicorp/aws {GO_AWS_VERSION} is not installed (run scripts/setup --with-aws-provider)"
        ))
    } else {
        None
    };
    let go = go_skipped.is_none();
    let refresh = if o.refresh {
        Some(refresh_bench(o, &tf, moto, go).await?)
    } else {
        None
    };
    let rollout = if o.rollout {
        Some(rollout_bench(o, &tf, moto).await?)
    } else {
        None
    };
    let side_by_side = if o.side_by_side {
        side_by_side(o, &tf, moto, go).await?
    } else {
        Vec::new()
    };
    Ok(Results {
        terraform,
        go_skipped,
        refresh,
        rollout,
        side_by_side,
    })
}

/// Part 1: the refresh of `o.apps` apps through the counting proxy.
async fn refresh_bench(
    o: &Options,
    tf: &Terraform,
    moto: &Moto,
    go: bool,
) -> Result<RefreshResults> {
    let n = o.apps;
    // berth finds the zone by name.
    let (_, ami) = fresh_moto(moto).await?;
    let proxy = CountingProxy::start(moto.addr()).await?;
    // A slower poll than the tests': moto is CPU-bound during this apply
    // and each simulator DescribeInstances of hundreds of instances delays
    // the provider's calls (200 apps: 182 s at a 0.5 s poll, 143 s at 1.5 s).
    let sim = start_sim(
        &moto.endpoint(),
        Duration::from_millis(300),
        Duration::from_millis(1500),
    )
    .await?;
    let config = berth_config(&Apps {
        count: n,
        image: "bench:1",
        replicas: 1,
        ttl: 1,
        drain: 0,
        endpoint: &proxy.endpoint(),
        ami: &ami,
    });
    let dir = tf.workdir("refresh-berth", &config)?;
    tf.output(&dir, INIT).await?;
    progress(&format!(
        "containers: apply of {n} berth_container_app (-parallelism={})",
        o.parallelism
    ));
    proxy.take();
    let apply = tf.timed(&dir, &strs(&apply_args(o.parallelism))).await?;
    let apply_calls = proxy.take();
    let serving = sim.serving().len();
    drop(sim);
    let berth = refresh_plan(tf, &dir, &proxy, o.parallelism, n, apply.wall, apply_calls).await?;

    let go = if go {
        let (zone_id, ami) = fresh_moto(moto).await?;
        let dir = tf.workdir(
            "refresh-aws",
            &go_config(n, &proxy.endpoint(), &ami, &zone_id),
        )?;
        tf.output(&dir, INIT).await?;
        progress(&format!(
            "containers: Go AWS {GO_AWS_VERSION}: apply of {n} aws_instance + {n} aws_route53_record (-parallelism={GO_SETUP_PARALLELISM}; 30 s Route53 waiter)"
        ));
        proxy.take();
        let apply = tf
            .timed(&dir, &strs(&apply_args(GO_SETUP_PARALLELISM)))
            .await?;
        let apply_calls = proxy.take();
        Some(
            refresh_plan(
                tf,
                &dir,
                &proxy,
                o.parallelism,
                2 * n,
                apply.wall,
                apply_calls,
            )
            .await?,
        )
    } else {
        None
    };
    Ok(RefreshResults {
        apps: n,
        parallelism: o.parallelism,
        serving,
        berth,
        go,
    })
}

async fn refresh_plan(
    tf: &Terraform,
    dir: &Path,
    proxy: &CountingProxy,
    parallelism: usize,
    resources: usize,
    apply: Duration,
    apply_calls: Calls,
) -> Result<RefreshRun> {
    progress(&format!(
        "containers: plan -refresh-only of {resources} resources in {}",
        dir.display()
    ));
    proxy.take();
    proxy.take_errors();
    let args = [
        "plan".to_owned(),
        "-refresh-only".to_owned(),
        "-input=false".to_owned(),
        "-no-color".to_owned(),
        format!("-parallelism={parallelism}"),
    ];
    let (timed, out) = tf.timed_output(dir, &strs(&args)).await?;
    std::fs::write(dir.join("refresh-plan.txt"), &out)?;
    Ok(RefreshRun {
        resources,
        apply,
        apply_calls,
        plan: timed.wall,
        calls: proxy.take(),
        no_changes: out.contains("No changes"),
        drift: out
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("# ") && l.contains(" has "))
            .map(str::to_owned)
            .collect(),
        proxy_errors: proxy.take_errors(),
        plan_peaks: timed.peaks,
    })
}

/// Part 2: image updates of one app under load.
async fn rollout_bench(o: &Options, tf: &Terraform, moto: &Moto) -> Result<RolloutResults> {
    let (zone_id, ami) = fresh_moto(moto).await?;
    let endpoint = moto.endpoint();
    let sim = start_sim(&endpoint, ROLLOUT_BOOT, Duration::from_millis(150)).await?;
    let config = |image: &str| {
        berth_config(&Apps {
            count: 1,
            image,
            replicas: 2,
            ttl: ROLLOUT_TTL,
            drain: ROLLOUT_DRAIN,
            endpoint: &endpoint,
            ami: &ami,
        })
    };
    let dir = tf.workdir("rollout", &config("bench:1"))?;
    tf.output(&dir, INIT).await?;
    progress("containers: rollout: create (1 app × 2 replicas)");
    let create = tf.timed(&dir, &strs(&apply_args(10))).await?.wall;
    let record = format!("app-0.{ZONE}");
    let mut runs = Vec::new();
    for run in 1..=o.rollout_runs {
        let (old, new) = (format!("bench:{run}"), format!("bench:{}", run + 1));
        let load = LoadGen::start(
            &endpoint,
            &zone_id,
            &record,
            sim.resolver(),
            LoadOptions::default(),
        )?;
        // Traffic on the old release first.
        let started = tokio::time::Instant::now();
        while load.report().by_image.get(&old).copied().unwrap_or(0) < 10 {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("rollout: no traffic reached {old}: {:?}", load.report());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        std::fs::write(dir.join("main.tf"), config(&new))?;
        progress(&format!(
            "containers: rollout {run}/{}: {old} → {new} under load",
            o.rollout_runs
        ));
        let t0 = load.elapsed();
        let apply = tf.timed(&dir, &strs(&apply_args(10))).await?.wall;
        // Clients still holding the old answer re-resolve within a TTL.
        tokio::time::sleep(Duration::from_secs(u64::from(ROLLOUT_TTL) + 1)).await;
        let report = tokio::task::block_in_place(|| load.stop());
        let since = |d: Option<&Duration>| d.map(|d| d.saturating_sub(t0));
        runs.push(RolloutRun {
            apply,
            old_last: since(report.last_success.get(&old)),
            new_first: since(report.first_success.get(&new)),
            overhead: apply.as_secs_f64()
                - (ROLLOUT_BOOT.as_secs_f64()
                    + f64::from(ROLLOUT_TTL + ROLLOUT_DRAIN + ROLLOUT_INTERVAL)),
            load: report,
        });
    }
    tokio::task::block_in_place(|| sim.stop());
    Ok(RolloutResults { runs, create })
}

/// Part 3: N instances + N records with each provider.
async fn side_by_side(o: &Options, tf: &Terraform, moto: &Moto, go: bool) -> Result<Vec<SbsRow>> {
    let mut rows = Vec::new();
    let endpoint = moto.endpoint();
    for &n in &o.sizes {
        let parallelism = o.sbs_parallelism.unwrap_or(n).max(1);
        for provider in ["berth", "aws"] {
            if provider == "aws" && !go {
                continue;
            }
            let (zone_id, ami) = fresh_moto(moto).await?;
            let sim = if provider == "berth" {
                Some(
                    start_sim(
                        &endpoint,
                        Duration::from_millis(200),
                        Duration::from_millis(150),
                    )
                    .await?,
                )
            } else {
                None
            };
            let config = if provider == "berth" {
                berth_config(&Apps {
                    count: n,
                    image: "bench:1",
                    replicas: 1,
                    ttl: 1,
                    drain: 0,
                    endpoint: &endpoint,
                    ami: &ami,
                })
            } else {
                go_config(n, &endpoint, &ami, &zone_id)
            };
            let dir = tf.workdir(&format!("sbs-{provider}-{n}"), &config)?;
            remove_state(&dir)?;
            tf.output(&dir, INIT).await?;
            progress(&format!(
                "containers: side by side: {provider}, N = {n}: plan, apply (-parallelism={parallelism})"
            ));
            let plan = tf
                .timed(&dir, &["plan", "-input=false", "-no-color"])
                .await?;
            let apply = tf.timed(&dir, &strs(&apply_args(parallelism))).await?;
            if let Some(sim) = sim {
                tokio::task::block_in_place(|| sim.stop());
            }
            rows.push(SbsRow {
                n,
                provider,
                plan,
                apply,
                parallelism,
            });
        }
    }
    Ok(rows)
}

fn print_rollout(ro: &RolloutResults) {
    println!();
    println!(
        "Containers: rollout overhead — 1 app × 2 replicas, image update under load (boot B = {} s, TTL T = {ROLLOUT_TTL} s, drain D = {ROLLOUT_DRAIN} s, health interval {ROLLOUT_INTERVAL} s × healthy_threshold 1)",
        ROLLOUT_BOOT.as_secs()
    );
    let rows: Vec<Vec<String>> = ro
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                secs(r.apply),
                opt_secs(r.new_first),
                opt_secs(r.old_last),
                format!("{:.2} s", r.overhead),
                r.load.requests.to_string(),
                r.load.failures.to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "run",
            "apply wall",
            "first answer from new",
            "all traffic on new (old's last answer)",
            "overhead",
            "requests",
            "failures",
        ],
        &rows,
    );
    if let Some(s) = ro.overheads() {
        println!(
            "  overhead = apply wall − (B + T + D + interval = {:.0} s): median {:.2} s (min {:.2}, max {:.2}); target < {ROLLOUT_OVERHEAD_TARGET_S} s: {}",
            ro.floor(),
            s.median,
            s.min,
            s.max,
            verdict(s.median < ROLLOUT_OVERHEAD_TARGET_S)
        );
        println!(
            "  (B, T and D are hard waits; the interval is at most one: a gate poll landing just after boot spends less, so a run can dip below 0)"
        );
    }
    println!(
        "  load generator failures: {} (target 0: {}); times are from apply start; create apply took {}",
        ro.failures(),
        verdict(ro.failures() == 0),
        secs(ro.create)
    );
    for (i, r) in ro.runs.iter().enumerate() {
        if !r.load.failure_reasons.is_empty() || r.load.error.is_some() {
            println!(
                "  run {}: failures {:?} {}",
                i + 1,
                r.load.failure_reasons,
                r.load.error.as_deref().unwrap_or("")
            );
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn opt_secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "—".to_owned(), secs)
}

fn calls_line(c: &Calls) -> String {
    c.by_count()
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Results {
    /// Did the refresh stay within its Describe* budget?
    pub fn refresh_target_met(&self) -> Option<bool> {
        self.refresh
            .as_ref()
            .map(|r| r.berth.calls.with_prefix("Describe") <= REFRESH_DESCRIBE_TARGET)
    }

    /// Is the median rollout overhead under its target?
    pub fn rollout_target_met(&self) -> Option<bool> {
        self.rollout
            .as_ref()?
            .overheads()
            .map(|s| s.median < ROLLOUT_OVERHEAD_TARGET_S)
    }

    /// Did the load generator see no failure during the rollouts?
    pub fn rollout_without_failures(&self) -> Option<bool> {
        self.rollout.as_ref().map(|r| r.failures() == 0)
    }

    /// Prints the parts that ran.
    pub fn print(&self) {
        if let Some(r) = &self.refresh {
            self.print_refresh(r);
        }
        if let Some(r) = &self.rollout {
            print_rollout(r);
        }
        if !self.side_by_side.is_empty() {
            self.print_side_by_side();
        }
    }

    fn print_refresh(&self, r: &RefreshResults) {
        println!();
        println!(
            "Containers: refresh of {} apps — terraform {} plan -refresh-only -parallelism={}, AWS calls counted by a proxy in front of moto",
            r.apps, self.terraform, r.parallelism
        );
        let go = r.go.as_ref();
        let go_cell = |f: &dyn Fn(&RefreshRun) -> String| go.map_or_else(|| "—".to_owned(), f);
        let rows = vec![
            vec![
                "Describe* calls".into(),
                r.berth.calls.with_prefix("Describe").to_string(),
                go_cell(&|g| g.calls.with_prefix("Describe").to_string()),
                format!("≤ {REFRESH_DESCRIBE_TARGET}"),
                verdict(r.berth.calls.with_prefix("Describe") <= REFRESH_DESCRIBE_TARGET).into(),
            ],
            vec![
                "reads (Describe*/List*/Get*)".into(),
                r.berth.calls.reads().to_string(),
                go_cell(&|g| g.calls.reads().to_string()),
                String::new(),
                String::new(),
            ],
            vec![
                "all AWS calls".into(),
                r.berth.calls.total().to_string(),
                go_cell(&|g| g.calls.total().to_string()),
                String::new(),
                String::new(),
            ],
            vec![
                "refresh plan wall time".into(),
                secs(r.berth.plan),
                go_cell(&|g| secs(g.plan)),
                String::new(),
                String::new(),
            ],
            vec![
                "provider peak RSS during the plan".into(),
                format!("{:.1} MB", mb(r.berth.plan_peaks.peak_hwm_kib)),
                go_cell(&|g| format!("{:.1} MB", mb(g.plan_peaks.peak_hwm_kib))),
                String::new(),
                String::new(),
            ],
            vec![
                "plan says \"No changes\"".into(),
                if r.berth.no_changes { "yes" } else { "NO" }.into(),
                go_cell(&|g| if g.no_changes { "yes" } else { "NO" }.into()),
                String::new(),
                String::new(),
            ],
        ];
        print_table(
            &[
                "measure",
                &format!("berth: {} apps", r.apps),
                &format!(
                    "Go aws {GO_AWS_VERSION}: {} aws_instance + {} aws_route53_record",
                    r.apps, r.apps
                ),
                "target",
                "result",
            ],
            &rows,
        );
        println!("  berth calls by action: {}", calls_line(&r.berth.calls));
        if let Some(g) = go {
            println!("  Go aws calls by action: {}", calls_line(&g.calls));
        }
        for (who, run) in [("berth", Some(&r.berth)), ("Go aws", go)] {
            let Some(run) = run.filter(|r| !r.drift.is_empty()) else {
                continue;
            };
            println!(
                "  {who} refresh found drift in {} resource(s), e.g. {}",
                run.drift.len(),
                run.drift
                    .iter()
                    .take(2)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        if let Some(why) = &self.go_skipped {
            println!("  Go AWS provider half skipped: {why}");
        }
        println!(
            "  setup (not the figure): berth apply of {} apps {} at -parallelism={}, {} calls ({:.1} per app), {} of {} apps serving",
            r.apps,
            secs(r.berth.apply),
            r.parallelism,
            r.berth.apply_calls.total(),
            r.berth.apply_calls.total() as f64 / r.apps.max(1) as f64,
            r.serving,
            r.apps
        );
        if let Some(g) = go {
            println!(
                "  setup (not the figure): Go aws apply of {} resources {} at -parallelism={GO_SETUP_PARALLELISM}, {} calls",
                g.resources,
                secs(g.apply),
                g.apply_calls.total()
            );
        }
        let errors = r.berth.proxy_errors + go.map_or(0, |g| g.proxy_errors);
        if errors > 0 {
            println!("  WARNING: the proxy failed to relay {errors} request(s)");
        }
    }

    fn print_side_by_side(&self) {
        println!();
        println!(
            "Containers: side by side with the Go AWS provider {GO_AWS_VERSION} — N instances + N A records (berth: N berth_container_app × 1 replica with an origin record; Go: N aws_instance + N aws_route53_record)"
        );
        let rows: Vec<Vec<String>> = self
            .side_by_side
            .iter()
            .map(|r| {
                vec![
                    r.n.to_string(),
                    if r.provider == "berth" {
                        "berth (Rust, protocol 6)".to_owned()
                    } else {
                        format!("aws {GO_AWS_VERSION} (Go, protocol 5)")
                    },
                    secs(r.plan.wall),
                    format!("{:.1} MB", mb(r.plan.peaks.peak_hwm_kib)),
                    secs(r.apply.wall),
                    format!("{:.1} MB", mb(r.apply.peaks.peak_hwm_kib)),
                    r.parallelism.to_string(),
                ]
            })
            .collect();
        print_table(
            &[
                "N",
                "provider",
                "plan (fresh)",
                "plan peak RSS",
                "apply",
                "apply peak RSS",
                "-parallelism",
            ],
            &rows,
        );
        if let Some(why) = &self.go_skipped {
            println!("  Go AWS provider rows skipped: {why}");
        }
        println!(
            "  berth's apply includes the simulated boot (0.2 s) and its health gate (1 s interval); the Go provider waits for\n  \
             `running` (moto: at once, after its 10 s waiter delay) and for INSYNC after a fixed 30 s delay per record"
        );
    }

    /// The figures as JSON.
    pub fn to_json(&self) -> Json {
        let refresh_run = |r: &RefreshRun| {
            json!({
                "resources": r.resources,
                "refresh_plan_s": r.plan.as_secs_f64(),
                "describe_calls": r.calls.with_prefix("Describe"),
                "read_calls": r.calls.reads(),
                "total_calls": r.calls.total(),
                "calls_by_action": r.calls.to_json(),
                "no_changes": r.no_changes,
                "drift": r.drift,
                "plan_peak_rss_kib": r.plan_peaks.peak_hwm_kib,
                "proxy_errors": r.proxy_errors,
                "setup_apply_s": r.apply.as_secs_f64(),
                "setup_apply_calls": r.apply_calls.total(),
                "setup_apply_calls_by_action": r.apply_calls.to_json(),
            })
        };
        let timed = |t: &Timed| {
            json!({
                "wall_s": t.wall.as_secs_f64(),
                "provider_peak_rss_kib": t.peaks.peak_hwm_kib,
                "provider_processes": t.peaks.processes,
            })
        };
        json!({
            "terraform_version": self.terraform,
            "go_aws_provider": GO_AWS_VERSION,
            "go_skipped": self.go_skipped,
            "refresh": self.refresh.as_ref().map(|r| json!({
                "apps": r.apps,
                "parallelism": r.parallelism,
                "apps_serving_after_apply": r.serving,
                "berth": refresh_run(&r.berth),
                "go_aws": r.go.as_ref().map(refresh_run),
                "describe_target_max": REFRESH_DESCRIBE_TARGET,
                "describe_target_met": r.berth.calls.with_prefix("Describe") <= REFRESH_DESCRIBE_TARGET,
            })),
            "rollout": self.rollout.as_ref().map(|ro| json!({
                "boot_s": ROLLOUT_BOOT.as_secs_f64(),
                "ttl_s": ROLLOUT_TTL,
                "drain_s": ROLLOUT_DRAIN,
                "health_interval_s": ROLLOUT_INTERVAL,
                "floor_s": ro.floor(),
                "create_apply_s": ro.create.as_secs_f64(),
                "runs": ro.runs.iter().map(|r| json!({
                    "apply_s": r.apply.as_secs_f64(),
                    "new_first_success_s": r.new_first.map(|d| d.as_secs_f64()),
                    "old_last_success_s": r.old_last.map(|d| d.as_secs_f64()),
                    "overhead_s": r.overhead,
                    "requests": r.load.requests,
                    "failures": r.load.failures,
                    "failure_reasons": r.load.failure_reasons,
                    "by_image": r.load.by_image,
                })).collect::<Vec<_>>(),
                "overhead": ro.overheads().map(|s| s.to_json("s")),
                "overhead_target_s": ROLLOUT_OVERHEAD_TARGET_S,
                "overhead_target_met": ro.overheads().map(|s| s.median < ROLLOUT_OVERHEAD_TARGET_S),
                "failures": ro.failures(),
            })),
            "side_by_side": self.side_by_side.iter().map(|r| json!({
                "n": r.n,
                "provider": if r.provider == "berth" { "berth".to_owned() } else { format!("hashicorp/aws {GO_AWS_VERSION}") },
                "parallelism": r.parallelism,
                "plan": timed(&r.plan),
                "apply": timed(&r.apply),
            })).collect::<Vec<_>>(),
        })
    }
}

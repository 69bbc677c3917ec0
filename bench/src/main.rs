//! berth-bench: figures for the release `terraform-provider-berth` —
//! start-up, RPC latency, idle memory, binary size — real Terraform runs
//! side by side with the Go null provider, and the `berth_container_app`
//! benchmarks (refresh call count, rollout overhead, side by side with the
//! Go AWS provider). Prints tables and writes JSON (default
//! `target/bench/results.json`).
//!
//! Targets are printed as PASS/MISS next to the figures; a miss does not
//! fail the run (these are measurements, not tests). The exit status is
//! non-zero only when something errors. Ctrl-C or SIGTERM stop the run and
//! kill every process it started (moto, Terraform and its providers).

mod balancer;
mod containers;
mod instances;
mod moto;
mod plugin;
mod procfs;
mod routes;
mod scale;
mod stats;
mod terraform;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value as Json, json};

use crate::procfs::ProviderPeaks;
use crate::stats::Summary;

const USAGE: &str = "\
usage: berth-bench [options]
  --provider PATH       provider binary (default: terraform-provider-berth next to berth-bench)
  --tools DIR           tools from scripts/setup (default: $BERTH_TOOLS or <repo>/.tools)
  --out PATH            JSON results (default: <target>/bench/results.json)
  --handshake-runs N    exec → handshake samples (default 40)
  --schema-calls N      GetProviderSchema samples (default 300)
  --tf-runs N           Terraform apply / plan runs per provider (default 3)
  --count N             data sources in the Terraform configs (default 200)
  --only LIST           run only these groups, comma-separated: provider (process
                        start-up, RPC, memory), terraform (side by side with the Go
                        null provider), containers (the three berth_container_app
                        benches: refresh, rollout, side-by-side; each also a group),
                        routes, scale, instances, balancer
  --skip-terraform      skip the terraform group
  --skip-containers     skip the containers group
  --skip-routes         skip the routes group (berth_weighted_route vs terraform_data
                        and vs the Go AWS provider's weighted records)
  --routes N            weighted routes in the routes group (default 500)
  --routes-parallelism N  -parallelism of the routes group's applies (default 50)
  --skip-scale          skip the scale group (apply, no-op plan and destroy of a
                        mix of apps, weighted routes and region pools)
  --scale N             resources in the scale group's largest size (default 1000;
                        it also applies and plans N/4 and N/2 on the way)
  --scale-parallelism N -parallelism of the scale group's runs (default 20)
  --skip-balancer       skip the balancer group (DNS mode vs load-balancer mode on
                        the simulator and the bed's load balancer: failed requests
                        while an instance dies, routing change → last old answer)
  --skip-instances      skip the instances group (real machines of the real-instance
                        bed: RunInstances → healthy on bare and pre-baked Debian 12,
                        rollout overhead under load; needs a Docker engine, root)
  --instances-runs N    image updates measured on real instances (default 3)
containers group:
  --apps N              apps in the refresh call-count bench (default 200)
  --parallelism N       -parallelism of that bench's apply and plan (default 20)
  --rollout-runs N      image updates measured for the rollout overhead (default 3)
  --sbs-sizes LIST      N of the side-by-side runs with the Go AWS provider (default 1,50)
  --sbs-parallelism N   -parallelism of the side-by-side applies (default: N)
  --skip-go-aws         no Go AWS provider halves (they also skip themselves
                        when scripts/setup --with-aws-provider has not run)";

/// The provider version the mirror advertises (the workspace version).
const PROVIDER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Targets.
const HANDSHAKE_TARGET_MS: f64 = 10.0;
const SCHEMA_TARGET_MS: f64 = 2.0;
const IDLE_RSS_TARGET_MB: f64 = 20.0;

#[derive(Debug)]
struct Options {
    provider: PathBuf,
    tools: PathBuf,
    out: PathBuf,
    handshake_runs: usize,
    schema_calls: usize,
    tf_runs: usize,
    count: usize,
    provider_group: bool,
    terraform_group: bool,
    containers_group: bool,
    containers: containers::Options,
    routes_group: bool,
    routes: usize,
    routes_parallelism: usize,
    scale_group: bool,
    scale: usize,
    scale_parallelism: usize,
    instances_group: bool,
    instances_runs: usize,
    balancer_group: bool,
}

impl Options {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>> {
        let exe_dir = std::env::current_exe()?
            .parent()
            .map(Path::to_path_buf)
            .context("berth-bench has no directory")?;
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut o = Options {
            provider: exe_dir.join("terraform-provider-berth"),
            tools: std::env::var_os("BERTH_TOOLS")
                .map_or_else(|| repo.join(".tools"), PathBuf::from),
            out: exe_dir
                .parent()
                .unwrap_or(&exe_dir)
                .join("bench/results.json"),
            handshake_runs: 40,
            schema_calls: 300,
            tf_runs: 3,
            count: 200,
            provider_group: true,
            terraform_group: true,
            containers_group: true,
            routes_group: true,
            routes: 500,
            routes_parallelism: 50,
            scale_group: true,
            scale: 1000,
            scale_parallelism: 20,
            instances_group: true,
            instances_runs: 3,
            balancer_group: true,
            containers: containers::Options {
                apps: 200,
                parallelism: 20,
                rollout_runs: 3,
                sizes: vec![1, 50],
                sbs_parallelism: None,
                go_aws: true,
                refresh: true,
                rollout: true,
                side_by_side: true,
            },
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value =
                |name: &str| args.next().with_context(|| format!("{name} needs a value"));
            let number = |v: String, name: &str| -> Result<usize> {
                let n: usize = v.parse().with_context(|| format!("{name}: not a number"))?;
                if n == 0 {
                    bail!("{name} must be at least 1");
                }
                Ok(n)
            };
            match arg.as_str() {
                "--provider" => o.provider = value(&arg)?.into(),
                "--tools" => o.tools = value(&arg)?.into(),
                "--out" => o.out = value(&arg)?.into(),
                "--handshake-runs" => o.handshake_runs = number(value(&arg)?, &arg)?,
                "--schema-calls" => o.schema_calls = number(value(&arg)?, &arg)?,
                "--tf-runs" => o.tf_runs = number(value(&arg)?, &arg)?,
                "--count" => o.count = number(value(&arg)?, &arg)?,
                "--skip-terraform" => o.terraform_group = false,
                "--skip-containers" => o.containers_group = false,
                "--skip-routes" => o.routes_group = false,
                "--routes" => o.routes = number(value(&arg)?, &arg)?,
                "--routes-parallelism" => o.routes_parallelism = number(value(&arg)?, &arg)?,
                "--skip-scale" => o.scale_group = false,
                "--scale" => o.scale = number(value(&arg)?, &arg)?,
                "--scale-parallelism" => o.scale_parallelism = number(value(&arg)?, &arg)?,
                "--skip-instances" => o.instances_group = false,
                "--skip-balancer" => o.balancer_group = false,
                "--instances-runs" => o.instances_runs = number(value(&arg)?, &arg)?,
                "--only" => {
                    let list = value(&arg)?;
                    (o.provider_group, o.terraform_group, o.containers_group) =
                        (false, false, false);
                    (o.routes_group, o.scale_group, o.instances_group) = (false, false, false);
                    o.balancer_group = false;
                    let c = &mut o.containers;
                    (c.refresh, c.rollout, c.side_by_side) = (false, false, false);
                    for group in list.split(',').map(str::trim) {
                        match group {
                            "provider" => o.provider_group = true,
                            "routes" => o.routes_group = true,
                            "scale" => o.scale_group = true,
                            "instances" => o.instances_group = true,
                            "balancer" => o.balancer_group = true,
                            "terraform" => o.terraform_group = true,
                            "containers" => {
                                o.containers_group = true;
                                let c = &mut o.containers;
                                (c.refresh, c.rollout, c.side_by_side) = (true, true, true);
                            }
                            "refresh" => (o.containers_group, o.containers.refresh) = (true, true),
                            "rollout" => (o.containers_group, o.containers.rollout) = (true, true),
                            "side-by-side" => {
                                (o.containers_group, o.containers.side_by_side) = (true, true);
                            }
                            other => bail!(
                                "--only: unknown group {other:?} (provider, terraform, containers, refresh, rollout, side-by-side, routes, scale, instances, balancer)"
                            ),
                        }
                    }
                }
                "--apps" => o.containers.apps = number(value(&arg)?, &arg)?,
                "--parallelism" => o.containers.parallelism = number(value(&arg)?, &arg)?,
                "--rollout-runs" => o.containers.rollout_runs = number(value(&arg)?, &arg)?,
                "--sbs-sizes" => {
                    let list = value(&arg)?;
                    o.containers.sizes = list
                        .split(',')
                        .filter(|s| !s.trim().is_empty())
                        .map(|s| number(s.trim().to_owned(), &arg))
                        .collect::<Result<_>>()?;
                }
                "--sbs-parallelism" => {
                    o.containers.sbs_parallelism = Some(number(value(&arg)?, &arg)?);
                }
                "--skip-go-aws" => o.containers.go_aws = false,
                "-h" | "--help" => return Ok(None),
                other => bail!("unknown argument {other:?}\n{USAGE}"),
            }
        }
        Ok(Some(o))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(Some(opts)) => opts,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("berth-bench: {e:#}");
            return ExitCode::from(2);
        }
    };
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("berth-bench: cannot handle SIGTERM: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Leaving `run` early drops its guards, which kill what it started.
    tokio::select! {
        result = run(&opts) => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("berth-bench: error: {e:#}");
                ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => {
            eprintln!("berth-bench: interrupted; stopping everything it started");
            ExitCode::from(130)
        }
        _ = term.recv() => {
            eprintln!("berth-bench: terminated; stopping everything it started");
            ExitCode::from(143)
        }
    }
}

fn progress(what: &str) {
    eprintln!("bench: {what}");
}

async fn run(o: &Options) -> Result<()> {
    if !o.provider.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release -p terraform-provider-berth`",
            o.provider.display()
        );
    }
    if !o.tools.join("bin").is_dir() {
        bail!(
            "tools not found in {}: run ./scripts/setup",
            o.tools.display()
        );
    }
    let mut report = Report::default();

    let size = procfs::file_size(&o.provider)?;
    report.binary_size = size;

    if o.provider_group {
        progress(&format!(
            "exec → handshake line ({} runs + 3 warm-up)",
            o.handshake_runs
        ));
        let handshakes = plugin::handshake(&o.provider, 3, o.handshake_runs).await?;
        report.handshake = Summary::of_millis(&handshakes);

        progress(&format!(
            "GetProviderSchema round trips ({} calls + 50 warm-up)",
            o.schema_calls
        ));
        let (schema_times, schema_bytes) =
            plugin::schema_round_trips(&o.provider, 50, o.schema_calls).await?;
        report.schema = Summary::of_millis(&schema_times);
        report.schema_bytes = schema_bytes;
    }

    progress("starting moto");
    let moto = berth_testbed::Moto::start_in(&o.tools)?;
    if o.provider_group {
        progress("idle memory after ConfigureProvider");
        let idle =
            plugin::idle_memory(&o.provider, &moto.endpoint(), Duration::from_millis(500)).await?;
        report.idle = Some(idle);
    }

    if o.terraform_group {
        report.terraform = Some(terraform_side_by_side(o, &moto).await?);
    }
    if o.containers_group {
        report.containers = Some(
            containers::run(
                &o.containers,
                &o.tools,
                &o.provider,
                PROVIDER_VERSION,
                &moto,
            )
            .await?,
        );
    }
    if o.routes_group {
        report.routes = Some(
            routes::run(
                o.routes,
                o.routes_parallelism,
                &o.tools,
                &o.provider,
                PROVIDER_VERSION,
                &moto,
            )
            .await?,
        );
    }
    if o.scale_group {
        report.scale = Some(
            scale::run(
                o.scale,
                o.scale_parallelism,
                &o.tools,
                &o.provider,
                PROVIDER_VERSION,
                &moto,
            )
            .await?,
        );
    }
    if o.balancer_group {
        report.balancer =
            Some(balancer::run(&o.tools, &o.provider, PROVIDER_VERSION, &moto).await?);
    }
    if o.instances_group {
        match instances::run(
            o.instances_runs,
            &o.tools,
            &o.provider,
            PROVIDER_VERSION,
            &moto,
        )
        .await
        {
            Ok(r) => report.instances = Some(r),
            Err(e) => {
                progress(&format!("instances: not measured: {e:#}"));
                report.instances_skipped = Some(format!("{e:#}"));
            }
        }
    }
    drop(moto);

    report.print(o);
    let json = report.to_json(o);
    if let Some(dir) = o.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&o.out, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("writing {}", o.out.display()))?;
    println!("\nJSON: {}", o.out.display());
    Ok(())
}

/// Figures of one provider in the Terraform comparison.
#[derive(Debug, Default)]
struct TfFigures {
    apply: Vec<Duration>,
    plan: Vec<Duration>,
    apply_peaks: Vec<ProviderPeaks>,
}

impl TfFigures {
    fn peak_kib(&self) -> u64 {
        self.apply_peaks
            .iter()
            .map(|p| p.peak_hwm_kib)
            .max()
            .unwrap_or_default()
    }
    fn processes(&self) -> usize {
        self.apply_peaks
            .iter()
            .map(|p| p.processes)
            .max()
            .unwrap_or_default()
    }
}

#[derive(Debug)]
struct TfResults {
    version: String,
    /// moto's own time for the reads one berth run makes.
    moto_floor: Duration,
    berth: TfFigures,
    null: TfFigures,
}

fn berth_config(count: usize, endpoint: &str) -> String {
    let provider = berth_testbed::provider_for(endpoint);
    format!(
        r#"{provider}
data "berth_availability_zones" "bench" {{
  count = {count}
}}
"#
    )
}

fn null_config(count: usize) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    null = {{
      source  = "hashicorp/null"
      version = "2.1.2"
    }}
  }}
}}

data "null_data_source" "bench" {{
  count  = {count}
  inputs = {{ index = count.index }}
}}
"#
    )
}

async fn terraform_side_by_side(o: &Options, moto: &berth_testbed::Moto) -> Result<TfResults> {
    let tf = terraform::Terraform::new(
        &o.tools.join("bin/terraform"),
        &o.tools,
        &o.provider,
        PROVIDER_VERSION,
    )?;
    let version = tf.version().await?;
    let dirs = [
        tf.workdir("berth", &berth_config(o.count, &moto.endpoint()))?,
        tf.workdir("null", &null_config(o.count))?,
    ];
    let plan: &[&str] = &["plan", "-input=false", "-no-color"];
    let apply: &[&str] = &["apply", "-auto-approve", "-input=false", "-no-color"];
    for dir in &dirs {
        progress(&format!(
            "terraform {version} init + warm-up plan in {}",
            dir.display()
        ));
        tf.output(dir, &["init", "-input=false", "-no-color"])
            .await?;
        tf.output(dir, plan).await?;
    }
    let mut figures = [TfFigures::default(), TfFigures::default()];
    for run in 1..=o.tf_runs {
        for (dir, fig) in dirs.iter().zip(figures.iter_mut()) {
            progress(&format!("apply {run}/{} in {}", o.tf_runs, dir.display()));
            for state in ["terraform.tfstate", "terraform.tfstate.backup"] {
                match std::fs::remove_file(dir.join(state)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
            let t = tf.timed(dir, apply).await?;
            fig.apply.push(t.wall);
            fig.apply_peaks.push(t.peaks);
        }
    }
    for run in 1..=o.tf_runs {
        for (dir, fig) in dirs.iter().zip(figures.iter_mut()) {
            progress(&format!(
                "no-op plan {run}/{} in {}",
                o.tf_runs,
                dir.display()
            ));
            fig.plan.push(tf.timed(dir, plan).await?.wall);
        }
    }
    progress(&format!(
        "moto alone: {} DescribeAvailabilityZones calls",
        o.count
    ));
    let moto_floor = moto::describe_availability_zones(moto, o.count).await?;
    let [berth, null] = figures;
    Ok(TfResults {
        version,
        moto_floor,
        berth,
        null,
    })
}

/// Everything measured.
#[derive(Debug, Default)]
struct Report {
    binary_size: u64,
    handshake: Option<Summary>,
    schema: Option<Summary>,
    schema_bytes: usize,
    idle: Option<plugin::IdleMemory>,
    terraform: Option<TfResults>,
    containers: Option<containers::Results>,
    instances: Option<instances::Results>,
    instances_skipped: Option<String>,
    balancer: Option<balancer::Results>,
    routes: Option<routes::Results>,
    scale: Option<scale::Results>,
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("  {}", text.join("  ").trim_end());
    };
    line(&header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
    line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for row in rows {
        line(row);
    }
}

impl Report {
    fn print(&self, o: &Options) {
        println!();
        println!("berth benchmarks");
        println!("provider: {}", o.provider.display());
        println!();
        println!(
            "Provider process (launched as Terraform does: cookie, AutoMTLS P-521 client cert, Unix socket)"
        );
        let mut rows = Vec::new();
        if let Some(h) = self.handshake {
            rows.push(vec![
                "exec → handshake line".into(),
                format!("{:.2} ms", h.median),
                format!("{:.2} ms", h.p90),
                h.n.to_string(),
                format!("< {HANDSHAKE_TARGET_MS} ms"),
                verdict(h.median < HANDSHAKE_TARGET_MS).into(),
            ]);
        }
        if let Some(s) = self.schema {
            rows.push(vec![
                format!("GetProviderSchema round trip ({} B)", self.schema_bytes),
                format!("{:.3} ms", s.median),
                format!("{:.3} ms", s.p90),
                s.n.to_string(),
                format!("< {SCHEMA_TARGET_MS} ms"),
                verdict(s.median < SCHEMA_TARGET_MS).into(),
            ]);
        }
        if let Some(idle) = self.idle {
            let rss = mb(idle.configured.rss_kib);
            rows.push(vec![
                "idle VmRSS after ConfigureProvider (moto)".into(),
                format!("{rss:.1} MB"),
                String::new(),
                "1".into(),
                format!("< {IDLE_RSS_TARGET_MB} MB"),
                verdict(rss < IDLE_RSS_TARGET_MB).into(),
            ]);
            rows.push(vec![
                "idle VmHWM after ConfigureProvider".into(),
                format!("{:.1} MB", mb(idle.configured.hwm_kib)),
                String::new(),
                "1".into(),
                String::new(),
                String::new(),
            ]);
            rows.push(vec![
                "VmRSS right after the handshake".into(),
                format!("{:.1} MB", mb(idle.after_handshake.rss_kib)),
                String::new(),
                "1".into(),
                String::new(),
                String::new(),
            ]);
        }
        rows.push(vec![
            "binary size".into(),
            format!(
                "{} bytes ({:.2} MiB)",
                self.binary_size,
                self.binary_size as f64 / 1_048_576.0
            ),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        print_table(
            &["measure", "median", "p90", "n", "target", "result"],
            &rows,
        );
        println!("  (MB = 10^6 bytes; memory from /proc/<pid>/status)");

        if let Some(tf) = &self.terraform {
            println!();
            println!(
                "Terraform {} side by side: {} data sources, median of {} runs (min–max)",
                tf.version,
                o.count,
                tf.berth.apply.len()
            );
            let secs = |d: &[Duration]| {
                Summary::of_secs(d).map_or_else(String::new, |s| {
                    format!("{:.2} s ({:.2}–{:.2})", s.median, s.min, s.max)
                })
            };
            let ratio =
                |a: &[Duration], b: &[Duration]| match (Summary::of_secs(a), Summary::of_secs(b)) {
                    (Some(a), Some(b)) if b.median > 0.0 => format!("{:.2}×", a.median / b.median),
                    _ => String::new(),
                };
            let (b, n) = (&tf.berth, &tf.null);
            let rows = vec![
                vec![
                    "apply -auto-approve (empty state)".into(),
                    secs(&b.apply),
                    secs(&n.apply),
                    ratio(&b.apply, &n.apply),
                ],
                vec![
                    "no-op plan (data sources re-read)".into(),
                    secs(&b.plan),
                    secs(&n.plan),
                    ratio(&b.plan, &n.plan),
                ],
                vec![
                    format!("moto alone: {} DescribeAvailabilityZones", o.count),
                    format!("{:.2} s (sequential)", tf.moto_floor.as_secs_f64()),
                    "—".into(),
                    String::new(),
                ],
                vec![
                    "provider peak RSS during apply".into(),
                    format!("{:.1} MB", mb(b.peak_kib())),
                    format!("{:.1} MB", mb(n.peak_kib())),
                    if n.peak_kib() > 0 {
                        format!("{:.2}×", b.peak_kib() as f64 / n.peak_kib() as f64)
                    } else {
                        String::new()
                    },
                ],
                vec![
                    "provider processes seen per apply".into(),
                    b.processes().to_string(),
                    n.processes().to_string(),
                    String::new(),
                ],
            ];
            print_table(
                &[
                    "measure",
                    "berth (Rust, reads hit moto)",
                    "null 2.1.2 (Go, no I/O)",
                    "berth / null",
                ],
                &rows,
            );
            println!(
                "  each berth apply/plan makes {} DescribeAvailabilityZones calls to moto (Python: parallel calls are no faster);\n  \
                 the moto row is the emulator's own time for them, a floor under berth's apply and plan",
                o.count
            );
            println!(
                "  peak RSS: largest VmHWM of any provider process, sampled from /proc every 10 ms during each apply"
            );
        }
        if let Some(c) = &self.containers {
            c.print();
        }
        if let Some(r) = &self.routes {
            r.print();
        }
        if let Some(s) = &self.scale {
            s.print();
        }
        if let Some(b) = &self.balancer {
            b.print();
        }
        if let Some(i) = &self.instances {
            i.print();
        }
        if let Some(why) = &self.instances_skipped {
            println!("\nReal instances: not measured ({why})");
        }
    }

    fn to_json(&self, o: &Options) -> Json {
        let check = |s: Option<Summary>, target: f64| s.map(|s| s.median < target);
        let idle = self.idle.map(|i| {
            json!({
                "after_handshake": {"rss_kib": i.after_handshake.rss_kib, "hwm_kib": i.after_handshake.hwm_kib},
                "after_configure": {"rss_kib": i.configured.rss_kib, "hwm_kib": i.configured.hwm_kib},
            })
        });
        let tf_json = |f: &TfFigures| {
            json!({
                "apply": Summary::of_secs(&f.apply).map(|s| s.to_json("s")),
                "plan": Summary::of_secs(&f.plan).map(|s| s.to_json("s")),
                "apply_peak_rss_kib": f.peak_kib(),
                "provider_processes_per_apply": f.processes(),
                "apply_peaks_kib": f.apply_peaks.iter().map(|p| p.peak_hwm_kib).collect::<Vec<_>>(),
            })
        };
        json!({
            "provider": o.provider.display().to_string(),
            "binary_size_bytes": self.binary_size,
            "handshake": self.handshake.map(|s| s.to_json("ms")),
            "get_provider_schema": self.schema.map(|s| s.to_json("ms")),
            "get_provider_schema_bytes": self.schema_bytes,
            "idle_memory": idle,
            "terraform": self.terraform.as_ref().map(|tf| json!({
                "version": tf.version,
                "moto_alone_describe_availability_zones_s": tf.moto_floor.as_secs_f64(),
                "data_sources": o.count,
                "berth": tf_json(&tf.berth),
                "null_2_1_2": tf_json(&tf.null),
                "peak_rss_method": "max VmHWM of any descendant process of terraform whose executable is named terraform-provider-*, read from /proc/<pid>/status every 10 ms during apply",
            })),
            "containers": self.containers.as_ref().map(containers::Results::to_json),
            "routes": self.routes.as_ref().map(routes::Results::to_json),
            "scale": self.scale.as_ref().map(scale::Results::to_json),
            "instances": self.instances.as_ref().map(instances::Results::to_json),
            "instances_skipped": self.instances_skipped,
            "balancer": self.balancer.as_ref().map(balancer::Results::to_json),
            "targets": {
                "handshake_median_below_10ms": check(self.handshake, HANDSHAKE_TARGET_MS),
                "get_provider_schema_median_below_2ms": check(self.schema, SCHEMA_TARGET_MS),
                "idle_rss_below_20mb": self.idle.map(|i| mb(i.configured.rss_kib) < IDLE_RSS_TARGET_MB),
                "refresh_describe_calls_at_most_10": self.containers.as_ref().and_then(containers::Results::refresh_target_met),
                "rollout_overhead_median_below_2s": self.containers.as_ref().and_then(containers::Results::rollout_target_met),
                "rollout_zero_failures": self.containers.as_ref().and_then(containers::Results::rollout_without_failures),
                "routes_plan_ratio_at_most_1_2": self.routes.as_ref().map(|r| r.ratio <= 1.2),
                "instances_rollout_overhead_median_below_2s": self.instances.as_ref().and_then(instances::Results::target_met),
                "instances_rollout_zero_failures": self.instances.as_ref().map(|i| i.failures() == 0),
                "scale_noop_plan_linear_or_better": self.scale.as_ref().and_then(scale::Results::plan_exponent).map(|e| e <= 1.15),
            },
        })
    }
}

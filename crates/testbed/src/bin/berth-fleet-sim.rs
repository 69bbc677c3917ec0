//! `berth-fleet-sim`: runs the fleet simulator next to a moto server until
//! SIGTERM or SIGINT, printing one line per booted, failed or stopped
//! instance (for `scripts/demo`).
//!
//! Usage: `berth-fleet-sim --endpoint URL [--boot-delay-ms N]
//! [--poll-interval-ms N] [--forbid VALUE]...`

use std::time::Duration;

use anyhow::{Context, Result, bail};
use berth_testbed::sim::{FleetSim, SimEvent, SimOptions};
use tokio::signal::unix::{SignalKind, signal};

const USAGE: &str = "usage: berth-fleet-sim --endpoint URL [--boot-delay-ms N] [--poll-interval-ms N] [--forbid VALUE]...";

fn parse_args() -> Result<(String, SimOptions)> {
    let mut endpoint = None;
    let mut opts = SimOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--endpoint" => endpoint = Some(value()?),
            "--boot-delay-ms" => {
                opts.boot_delay =
                    Duration::from_millis(value()?.parse().context("--boot-delay-ms")?);
            }
            "--poll-interval-ms" => {
                opts.poll_interval =
                    Duration::from_millis(value()?.parse().context("--poll-interval-ms")?);
            }
            "--forbid" => opts.forbidden.push(value()?),
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    let endpoint = endpoint
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .with_context(|| format!("--endpoint is required\n{USAGE}"))?;
    Ok((endpoint, opts))
}

fn describe(ev: &SimEvent) -> String {
    match ev {
        SimEvent::Booted(b) => format!(
            "booted {} app={} release={} image={} serving on http://{}",
            b.id, b.app, b.release, b.image, b.addr
        ),
        SimEvent::Failed { id, health } => format!("failed {id} berth:health={health}"),
        SimEvent::Stopped { id } => format!("stopped {id}"),
        SimEvent::Error(e) => format!("error {e}"),
    }
}

fn main() -> Result<()> {
    let (endpoint, opts) = parse_args()?;
    let sim = FleetSim::start(&endpoint, opts)?;
    let mut events = sim.subscribe();
    println!("berth-fleet-sim: watching {endpoint}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                ev = events.recv() => match ev {
                    Some(ev) => println!("{}", describe(&ev)),
                    None => break,
                },
            }
        }
        Ok::<_, anyhow::Error>(())
    })?;
    let problems = sim.problems().len();
    sim.stop();
    println!("berth-fleet-sim: stopped ({problems} user-data problem(s))");
    Ok(())
}

//! `berth-real-fleet`: makes every instance berth launches in a moto server
//! a real machine (see `berth_testbed::instances`) until SIGTERM
//! or SIGINT, then removes them; prints one line per new or gone instance
//! and, with `--answer-port`, what each one answers on `/` (for
//! `scripts/demo`).
//!
//! Usage: `berth-real-fleet --endpoint URL [--bare] [--answer-port N]`

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use berth_testbed::instances::{FleetOptions, MachineImage, RealFleet, http_get};
use tokio::signal::unix::{SignalKind, signal};

const USAGE: &str = "usage: berth-real-fleet --endpoint URL [--bare] [--answer-port N]";

fn main() -> Result<()> {
    let mut endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    let mut opts = FleetOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--endpoint" => endpoint = Some(args.next().context(USAGE)?),
            "--bare" => opts.image = MachineImage::Bare,
            "--answer-port" => {
                opts.serve_port = args
                    .next()
                    .context(USAGE)?
                    .parse()
                    .context("--answer-port")?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    let endpoint = endpoint.with_context(|| format!("--endpoint is required\n{USAGE}"))?;
    let port = opts.serve_port;
    let fleet = RealFleet::start(&endpoint, opts)?;
    println!("berth-real-fleet: watching {endpoint}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut seen = BTreeSet::new();
        let mut answered = BTreeSet::new();
        let mut gone = BTreeSet::new();
        let mut reported = 0;
        loop {
            for i in fleet.instances() {
                if seen.insert(i.id.clone()) {
                    println!(
                        "machine {} (app {} release {}) booting at {}",
                        i.id, i.app, i.release, i.ip
                    );
                }
                if !i.alive && gone.insert(i.id.clone()) {
                    println!("machine {} removed (terminated in EC2)", i.id);
                }
                if i.alive && !answered.contains(&i.id) {
                    let addr = SocketAddr::new(i.ip, port);
                    if let Ok((200, body)) = http_get(addr, "/", Duration::from_secs(2)) {
                        println!("machine {} answers GET /: {}", i.id, body.trim());
                        answered.insert(i.id.clone());
                    }
                }
            }
            let errors = fleet.errors();
            for e in errors.iter().skip(reported) {
                eprintln!("error {e}");
            }
            reported = errors.len();
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
        anyhow::Ok(())
    })?;
    fleet.stop();
    println!("berth-real-fleet: every machine removed");
    Ok(())
}

//! Memory and CPU figures from Linux `/proc`: a process's resident set
//! (VmRSS), its high-water mark (VmHWM) and CPU time, and a sampler that
//! follows the provider processes a Terraform run starts.
//!
//! Peak RSS method: the kernel keeps VmHWM, the largest resident set a
//! process has had. Every 10 ms the sampler scans `/proc` for descendants
//! of the Terraform process whose executable name starts with
//! `terraform-provider-` and reads each live one's VmHWM; the last value
//! read is that process's peak (growth in its final <10 ms would be
//! missed, and a provider living <10 ms may be missed entirely — such a
//! process only answered a schema call and is at idle size). The figure
//! reported is the largest peak of any one provider process of the run.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

/// Resident memory of one process, in KiB as `/proc` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Current resident set size (VmRSS).
    pub rss_kib: u64,
    /// Peak resident set size so far (VmHWM).
    pub hwm_kib: u64,
}

/// Reads VmRSS and VmHWM of `pid`.
///
/// # Errors
/// When the process is gone (or a zombie, which has no memory figures).
pub fn memory(pid: u32) -> Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    parse_memory(&status).with_context(|| format!("no VmRSS/VmHWM for pid {pid}"))
}

fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
    };
    Some(Memory {
        rss_kib: field("VmRSS")?,
        hwm_kib: field("VmHWM")?,
    })
}

/// The parent pid from `/proc/<pid>/stat` (the field after the state,
/// which follows the parenthesised command name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let tail = &stat[stat.rfind(')')? + 1..];
    tail.split_whitespace().nth(1)?.parse().ok()
}

fn exe_name(pid: u32) -> Option<String> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    Some(exe.file_name()?.to_string_lossy().into_owned())
}

/// CPU time (user + system, all threads) `pid` has used so far, from
/// `/proc/<pid>/stat` (fields 14 and 15, in clock ticks).
fn cpu_time(pid: u32) -> Option<Duration> {
    Some(cpu_fields(pid)?.0)
}

/// (own, own + reaped children's) CPU time of `pid`: `/proc/<pid>/stat`
/// fields 14–15 (utime, stime) and 16–17 (cutime, cstime), in clock ticks.
fn cpu_fields(pid: u32) -> Option<(Duration, Duration)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut tail = stat[stat.rfind(')')? + 1..].split_whitespace();
    // After the command name: state(3) … utime(14) stime(15) cutime(16) cstime(17).
    for _ in 3..14 {
        tail.next()?;
    }
    let mut next = || -> Option<u64> { tail.next()?.parse().ok() };
    let own = next()? + next()?;
    let children = next()? + next()?;
    Some((ticks(own), ticks(own + children)))
}

fn ticks(n: u64) -> Duration {
    let hz = rustix::param::clock_ticks_per_second().max(1);
    Duration::from_nanos(n.saturating_mul(1_000_000_000) / hz)
}

/// Memory and CPU of the provider processes seen during one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProviderPeaks {
    /// How many provider processes ran.
    pub processes: usize,
    /// The largest VmHWM of any one of them, KiB.
    pub peak_hwm_kib: u64,
    /// CPU time of all of them together, as last read (work done in a
    /// process's final < 10 ms is missed; resolution one clock tick).
    pub cpu: Duration,
    /// CPU time of the whole run (the root process and the children it
    /// reaped, providers included), as last read.
    pub run_cpu: Duration,
}

/// A running sampler; [`Sampler::finish`] stops it and returns the peaks.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<ProviderPeaks>,
}

impl Sampler {
    /// Starts following descendants of `root` whose executable name starts
    /// with `exe_prefix`.
    pub fn start(root: u32, exe_prefix: &'static str) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(sample(root, exe_prefix, stop.clone()));
        Sampler { stop, task }
    }

    /// Stops sampling and returns what was seen.
    pub async fn finish(self) -> ProviderPeaks {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}

async fn sample(root: u32, exe_prefix: &'static str, stop: Arc<AtomicBool>) -> ProviderPeaks {
    const TICK: Duration = Duration::from_millis(10);
    // pid → parent for every pid seen (a parent is fixed at fork).
    let mut parents: HashMap<u32, u32> = HashMap::new();
    // descendant pid → is it a provider (its exe is re-checked until it
    // matches: a fork is briefly still the parent's executable).
    let mut descendants: HashMap<u32, bool> = HashMap::new();
    let mut peaks: HashMap<u32, u64> = HashMap::new();
    let mut cpu: HashMap<u32, Duration> = HashMap::new();
    let mut run_cpu = Duration::ZERO;
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let stopping = stop.load(Ordering::Relaxed);
        scan(root, exe_prefix, &mut parents, &mut descendants);
        if let Some((_, total)) = cpu_fields(root) {
            run_cpu = run_cpu.max(total);
        }
        for (pid, is_provider) in &descendants {
            if !*is_provider {
                continue;
            }
            if let Ok(m) = memory(*pid) {
                let peak = peaks.entry(*pid).or_default();
                *peak = (*peak).max(m.hwm_kib);
            }
            if let Some(t) = cpu_time(*pid) {
                let seen = cpu.entry(*pid).or_default();
                *seen = (*seen).max(t);
            }
        }
        if stopping {
            break;
        }
    }
    ProviderPeaks {
        processes: descendants.values().filter(|p| **p).count(),
        peak_hwm_kib: peaks.values().copied().max().unwrap_or_default(),
        cpu: cpu.values().sum(),
        run_cpu,
    }
}

fn scan(
    root: u32,
    exe_prefix: &str,
    parents: &mut HashMap<u32, u32>,
    descendants: &mut HashMap<u32, bool>,
) {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    let mut new = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if parents.contains_key(&pid) {
            continue;
        }
        if let Some(ppid) = parent_of(pid) {
            parents.insert(pid, ppid);
            new.push(pid);
        }
    }
    let is_descendant = |mut pid: u32| {
        for _ in 0..16 {
            match parents.get(&pid) {
                Some(&p) if p == root => return true,
                Some(&p) if p > 1 => pid = p,
                _ => return false,
            }
        }
        false
    };
    for pid in new {
        if is_descendant(pid) {
            descendants.insert(pid, false);
        }
    }
    for (pid, is_provider) in descendants.iter_mut() {
        if !*is_provider {
            *is_provider = exe_name(*pid).is_some_and(|n| n.starts_with(exe_prefix));
        }
    }
}

/// Size of a file in bytes.
///
/// # Errors
/// When it cannot be read.
pub fn file_size(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_parse() {
        let status = "Name:\tx\nVmPeak:\t  100 kB\nVmHWM:\t    5432 kB\nVmRSS:\t    4321 kB\n";
        assert_eq!(
            parse_memory(status),
            Some(Memory {
                rss_kib: 4321,
                hwm_kib: 5432
            })
        );
        // A zombie has no memory figures.
        assert_eq!(parse_memory("Name:\tx\nState:\tZ (zombie)\n"), None);
    }

    #[test]
    fn own_process_is_readable() {
        let m = memory(std::process::id()).unwrap_or_else(|e| panic!("{e}"));
        assert!(m.rss_kib > 0 && m.hwm_kib >= m.rss_kib);
        assert_eq!(
            parent_of(std::process::id()),
            Some(std::os::unix::process::parent_id())
        );
    }
}

//! Benchmarks of the provider process itself, launched and spoken to the
//! way Terraform does it (`tfplugin::client`: magic cookie, AutoMTLS with a
//! P-521 client certificate, gRPC over the Unix socket).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use tfplugin::client::{ClientIdentity, LaunchOptions, PluginProcess};
use tfplugin::value::Value;

use crate::procfs::{Memory, memory};

/// How long a provider may take to exit after `Shutdown`.
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

fn options(identity: &ClientIdentity) -> LaunchOptions {
    LaunchOptions {
        identity: Some(identity.clone()),
        ..LaunchOptions::default()
    }
}

/// Stops a plugin as Terraform does and checks it exited 0.
async fn stop(plugin: PluginProcess) -> Result<()> {
    let pid = plugin.pid();
    let status = plugin.stop(EXIT_TIMEOUT).await?;
    ensure!(status.success(), "provider {pid} exited with {status}");
    Ok(())
}

/// Time from exec to the handshake line, `runs` times after `warmup`
/// launches (page cache). One client identity is reused: Terraform makes a
/// fresh one per launch, but before exec, so it is not part of the figure.
///
/// # Errors
/// When a launch or stop fails.
pub async fn handshake(binary: &Path, warmup: usize, runs: usize) -> Result<Vec<Duration>> {
    let identity = ClientIdentity::generate()?;
    let mut times = Vec::with_capacity(runs);
    for i in 0..warmup + runs {
        let plugin = PluginProcess::launch(binary, options(&identity)).await?;
        if i >= warmup {
            times.push(plugin.handshake_time());
        }
        stop(plugin).await?;
    }
    Ok(times)
}

/// `GetProviderSchema` round trips on one connection, `calls` times after
/// `warmup` calls; also returns the response size.
///
/// # Errors
/// When a call fails.
pub async fn schema_round_trips(
    binary: &Path,
    warmup: usize,
    calls: usize,
) -> Result<(Vec<Duration>, usize)> {
    let identity = ClientIdentity::generate()?;
    let plugin = PluginProcess::launch(binary, options(&identity)).await?;
    let mut client = plugin.connect().await?;
    ensure!(client.health().await?, "provider is not SERVING");
    let mut size = 0;
    for _ in 0..warmup {
        size = client.get_provider_schema_bytes().await?;
    }
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        size = client.get_provider_schema_bytes().await?;
        times.push(started.elapsed());
    }
    drop(client);
    stop(plugin).await?;
    Ok((times, size))
}

/// Memory of an idle provider: right after the handshake, and after
/// `GetProviderSchema` + `ConfigureProvider` pointing at `endpoint` (the
/// AWS clients are built) and `settle` of idleness.
///
/// # Errors
/// When a call fails or configuration reports an error.
pub async fn idle_memory(binary: &Path, endpoint: &str, settle: Duration) -> Result<IdleMemory> {
    let identity = ClientIdentity::generate()?;
    let plugin = PluginProcess::launch(binary, options(&identity)).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_handshake = memory(plugin.pid())?;
    let mut client = plugin.connect().await?;
    client.get_provider_schema_bytes().await?;
    let config = Value::object([
        ("region", Value::string("us-east-1")),
        ("endpoint", Value::string(endpoint)),
        ("access_key", Value::string("testing")),
        ("secret_key", Value::string("testing")),
    ]);
    let diags = client.configure(&config).await?;
    if diags.has_errors() {
        bail!(
            "ConfigureProvider failed: {}",
            diags
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    tokio::time::sleep(settle).await;
    let configured = memory(plugin.pid()).context("provider died after ConfigureProvider")?;
    drop(client);
    stop(plugin).await?;
    Ok(IdleMemory {
        after_handshake,
        configured,
    })
}

/// Memory figures of an idle provider.
#[derive(Debug, Clone, Copy)]
pub struct IdleMemory {
    /// Right after the handshake.
    pub after_handshake: Memory,
    /// After ConfigureProvider and a pause.
    pub configured: Memory,
}

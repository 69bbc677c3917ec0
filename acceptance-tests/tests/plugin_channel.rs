//! Acceptance: the built provider binary, launched the way Terraform
//! launches it (`tfplugin::client`), serves only the client holding the
//! certificate it was given, listens only on its Unix socket or loopback,
//! and stops cleanly on `GRPCController/Shutdown`.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use berth_acceptance_tests::provider_binary;
use tfplugin::client::{
    ClientError, ClientIdentity, LaunchOptions, PluginAddress, PluginClient, PluginProcess,
};

/// How long any single step may take.
const LIMIT: Duration = Duration::from_secs(10);

async fn launch(opts: LaunchOptions) -> Result<PluginProcess> {
    let plugin = PluginProcess::launch(&provider_binary()?, opts).await?;
    Ok(plugin)
}

async fn within<T>(what: &str, f: impl Future<Output = T>) -> Result<T> {
    tokio::time::timeout(LIMIT, f)
        .await
        .with_context(|| format!("{what} took longer than {LIMIT:?}"))
}

/// Connects presenting `identity` and makes one call; the error when the
/// server refuses (at connect or, with TLS 1.3, on first use).
async fn try_health(
    plugin: &PluginProcess,
    identity: Option<&ClientIdentity>,
) -> Result<bool, ClientError> {
    let mut client = plugin.connect_with(identity).await?;
    client.health().await
}

/// Stops the plugin as Terraform does (Shutdown, 2 s, kill) so it removes
/// its socket; fails unless it exits 0 by itself.
async fn stop(plugin: PluginProcess) -> Result<()> {
    let status = plugin.stop(Duration::from_secs(2)).await?;
    ensure!(status.success(), "provider exited with {status}");
    Ok(())
}

async fn assert_served(client: &mut PluginClient) -> Result<()> {
    ensure!(
        within("health", client.health()).await??,
        "plugin health is not SERVING"
    );
    let size = within("GetProviderSchema", client.get_provider_schema_bytes()).await??;
    ensure!(size > 1000, "provider schema is only {size} bytes");
    Ok(())
}

#[tokio::test]
async fn client_with_the_expected_certificate_is_served() -> Result<()> {
    let plugin = launch(LaunchOptions::default()).await?;
    ensure!(
        plugin.server_cert_der().is_some(),
        "AutoMTLS is on, so the handshake must carry the server certificate"
    );
    let mut client = within("connect", plugin.connect()).await??;
    assert_served(&mut client).await?;
    drop(client);
    stop(plugin).await
}

#[tokio::test]
async fn client_without_the_expected_certificate_is_refused() -> Result<()> {
    let plugin = launch(LaunchOptions::default()).await?;
    let intruder = ClientIdentity::generate()?;

    let other_cert = within("intruder", try_health(&plugin, Some(&intruder))).await?;
    ensure!(
        other_cert.is_err(),
        "a different self-signed certificate must be refused, got {other_cert:?}"
    );
    let no_cert = within("no certificate", try_health(&plugin, None)).await?;
    ensure!(
        no_cert.is_err(),
        "a client without a certificate must be refused, got {no_cert:?}"
    );

    // The refusals touched only those connections.
    let mut client = within("connect", plugin.connect()).await??;
    assert_served(&mut client).await?;
    let log = plugin.stderr_tail();
    ensure!(
        log.contains("TLS handshake with a client failed"),
        "the refusals are logged: {log}"
    );
    drop(client);
    stop(plugin).await
}

/// A listening TCP socket of a process, from `/proc/<pid>/net/tcp{,6}`
/// (the whole network namespace) filtered by the socket inodes in
/// `/proc/<pid>/fd` (the process's own).
fn listening_tcp_sockets(pid: u32) -> Result<Vec<SocketAddr>> {
    let mut inodes = HashSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let Ok(target) = std::fs::read_link(entry?.path()) else {
            continue; // closed meanwhile
        };
        let target = target.to_string_lossy().into_owned();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|s| s.strip_suffix(']'))
        {
            inodes.insert(inode.to_owned());
        }
    }
    let mut listening = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}"))?;
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                bail!("unexpected line in /proc/{pid}/net/{table}: {line}");
            };
            if *state == "0A" && inodes.contains(*inode) {
                listening.push(parse_proc_addr(local)?);
            }
        }
    }
    Ok(listening)
}

/// `0100007F:2710` (IPv4) or 32 hex digits + port (IPv6), as the kernel
/// prints them: the address in host-order 32-bit words, the port big-endian.
fn parse_proc_addr(text: &str) -> Result<SocketAddr> {
    let (addr, port) = text.split_once(':').context("no port")?;
    let port = u16::from_str_radix(port, 16)?;
    let words: Vec<u32> = (0..addr.len() / 8)
        .map(|i| u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16))
        .collect::<Result<_, _>>()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes.as_slice())?)),
        n => bail!("address of {n} bytes in {text}"),
    };
    Ok(SocketAddr::new(ip, port))
}

/// Whether `/proc/<pid>/net/unix` lists a listening socket bound to `path`.
fn listens_on_unix_path(pid: u32, path: &Path) -> Result<bool> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/unix"))?;
    let path = path.to_string_lossy();
    // Num RefCount Protocol Flags Type St Inode Path; flag 0x10000 = listening.
    Ok(text.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(7).is_some_and(|p| *p == path)
            && fields
                .get(3)
                .and_then(|f| u32::from_str_radix(f, 16).ok())
                .is_some_and(|flags| flags & 0x10000 != 0)
    }))
}

#[test]
fn proc_addresses_parse() -> Result<()> {
    assert_eq!(
        parse_proc_addr("0100007F:2710")?,
        "127.0.0.1:10000".parse::<SocketAddr>()?
    );
    assert_eq!(
        parse_proc_addr("00000000000000000000000001000000:0016")?,
        "[::1]:22".parse::<SocketAddr>()?
    );
    Ok(())
}

#[tokio::test]
async fn provider_listens_only_on_loopback_or_its_unix_socket() -> Result<()> {
    // Default: a Unix socket in a fresh private directory, no TCP at all.
    let plugin = launch(LaunchOptions::default()).await?;
    let PluginAddress::Unix(socket) = plugin.address() else {
        bail!("expected a Unix socket, got {}", plugin.address());
    };
    let dir = socket.parent().context("socket has no directory")?;
    let meta = std::fs::metadata(dir)?;
    ensure!(
        meta.permissions().mode() & 0o777 == 0o700,
        "socket directory {} has mode {:o}",
        dir.display(),
        meta.permissions().mode() & 0o777
    );
    ensure!(
        meta.uid() == std::fs::metadata("/proc/self")?.uid(),
        "socket directory is ours"
    );
    ensure!(
        listens_on_unix_path(plugin.pid(), socket)?,
        "process listens on {}",
        socket.display()
    );
    let tcp = listening_tcp_sockets(plugin.pid())?;
    ensure!(tcp.is_empty(), "unexpected TCP listeners: {tcp:?}");
    stop(plugin).await?;

    // Unusable PLUGIN_UNIX_SOCKET_DIR: falls back to 127.0.0.1 within
    // Terraform's port range, and nothing else.
    let plugin = launch(LaunchOptions {
        env: vec![(
            "PLUGIN_UNIX_SOCKET_DIR".into(),
            "/nonexistent/berth-acceptance/plugin-dir".into(),
        )],
        ..LaunchOptions::default()
    })
    .await?;
    let PluginAddress::Tcp(addr) = plugin.address().clone() else {
        bail!("expected TCP fallback, got {}", plugin.address());
    };
    ensure!(addr.ip() == Ipv4Addr::LOCALHOST, "announced {addr}");
    ensure!(
        (10000..=25000).contains(&addr.port()),
        "port {} outside PLUGIN_MIN_PORT..PLUGIN_MAX_PORT",
        addr.port()
    );
    let tcp = listening_tcp_sockets(plugin.pid())?;
    ensure!(
        tcp == vec![addr],
        "listening sockets {tcp:?}, announced {addr}"
    );
    ensure!(tcp.iter().all(|a| a.ip().is_loopback()));
    let mut client = within("connect over TCP", plugin.connect()).await??;
    assert_served(&mut client).await?;
    drop(client);
    stop(plugin).await
}

#[tokio::test]
async fn shutdown_rpc_stops_the_process() -> Result<()> {
    let mut plugin = launch(LaunchOptions::default()).await?;
    let PluginAddress::Unix(socket) = plugin.address().clone() else {
        bail!("expected a Unix socket, got {}", plugin.address());
    };
    ensure!(socket.exists());
    let mut client = within("connect", plugin.connect()).await??;
    ensure!(within("health", client.health()).await??);

    within("Shutdown", client.shutdown()).await??;
    // As go-plugin's client: close the connection, give the plugin 2 s.
    drop(client);
    let status = plugin
        .wait_for_exit(Duration::from_secs(2))
        .await
        .with_context(|| format!("stderr:\n{}", plugin.stderr_tail()))?;
    ensure!(
        status.success(),
        "exit status {status}; stderr:\n{}",
        plugin.stderr_tail()
    );
    ensure!(!socket.exists(), "socket file {} remains", socket.display());
    let dir = socket.parent().context("socket has no directory")?;
    ensure!(!dir.exists(), "socket directory {} remains", dir.display());
    Ok(())
}

//! The plugin's listening socket: a Unix socket with a random name (removed
//! again on exit), or loopback TCP within Terraform's port range; and the
//! accepted-connection type handed to tonic, plain or TLS.
//!
//! Guarantees: never listens beyond 127.0.0.1; TCP connections get
//! `TCP_NODELAY`; the socket file (and a temp directory we created for it)
//! is removed when the [`SocketCleanup`] guard drops.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use super::handshake::{ListenConfig, Network};

/// Why no listener could be created.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// No port in the allowed range could be bound on 127.0.0.1.
    #[error("no free TCP port on 127.0.0.1 between {min} and {max}")]
    NoFreePort {
        /// Lowest port tried.
        min: u16,
        /// Highest port tried.
        max: u16,
    },
    /// The Unix socket (or its directory) could not be set up.
    #[error("cannot create Unix socket {path}: {source}")]
    UnixSocket {
        /// Socket path (or directory) involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `PLUGIN_UNIX_SOCKET_GROUP` names no known group.
    #[error("unknown group {0:?} in PLUGIN_UNIX_SOCKET_GROUP")]
    UnknownGroup(String),
}

/// A bound listener plus what to announce and what to clean up.
#[derive(Debug)]
pub(crate) struct Bound {
    /// The listening socket.
    pub(crate) listener: PluginListener,
    /// Unix or TCP.
    pub(crate) network: Network,
    /// Socket path or `127.0.0.1:<port>`.
    pub(crate) address: String,
    /// Removes the socket file (and our temp dir) on drop.
    pub(crate) cleanup: SocketCleanup,
}

/// A Unix or TCP listener.
#[derive(Debug)]
pub(crate) enum PluginListener {
    /// Unix domain socket.
    Unix(UnixListener),
    /// Loopback TCP.
    Tcp(TcpListener),
}

impl PluginListener {
    /// Accepts one connection (TCP ones with `TCP_NODELAY` set).
    pub(crate) async fn accept(&self) -> io::Result<Transport> {
        match self {
            PluginListener::Unix(l) => Ok(Transport::Unix(l.accept().await?.0)),
            PluginListener::Tcp(l) => {
                let (stream, _) = l.accept().await?;
                stream.set_nodelay(true)?;
                Ok(Transport::Tcp(stream))
            }
        }
    }
}

/// Binds as configured: a Unix socket unless TCP is forced, falling back to
/// TCP when the Unix socket cannot be created.
pub(crate) async fn bind(cfg: &ListenConfig) -> Result<Bound, ListenError> {
    if !cfg.force_tcp {
        match bind_unix(cfg) {
            Ok(bound) => return Ok(bound),
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen on a Unix socket; falling back to TCP");
            }
        }
    }
    bind_tcp(cfg.min_port, cfg.max_port).await
}

async fn bind_tcp(min: u16, max: u16) -> Result<Bound, ListenError> {
    for port in min..=max {
        if let Ok(listener) = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).await {
            let address = match listener.local_addr() {
                Ok(addr) => addr.to_string(),
                Err(_) => continue,
            };
            return Ok(Bound {
                listener: PluginListener::Tcp(listener),
                network: Network::Tcp,
                address,
                cleanup: SocketCleanup::default(),
            });
        }
    }
    Err(ListenError::NoFreePort { min, max })
}

fn bind_unix(cfg: &ListenConfig) -> Result<Bound, ListenError> {
    let mut cleanup = SocketCleanup::default();
    let dir = match &cfg.unix_socket_dir {
        Some(dir) => dir.clone(),
        None => {
            let dir = std::env::temp_dir().join(format!("plugin-dir{}", random_suffix()));
            create_private_dir(&dir).map_err(|source| ListenError::UnixSocket {
                path: dir.clone(),
                source,
            })?;
            cleanup.dir = Some(dir.clone());
            dir
        }
    };
    let path = dir.join(format!("plugin{}", random_suffix()));
    let listener = UnixListener::bind(&path).map_err(|source| ListenError::UnixSocket {
        path: path.clone(),
        source,
    })?;
    cleanup.socket = Some(path.clone());
    if let Some(group) = &cfg.unix_socket_group {
        make_group_writable(&path, group)?;
    }
    Ok(Bound {
        listener: PluginListener::Unix(listener),
        network: Network::Unix,
        address: path.to_string_lossy().into_owned(),
        cleanup,
    })
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(dir)
}

/// go-plugin's `setGroupWritable`: chown to the group, mode 0660.
fn make_group_writable(path: &Path, group: &str) -> Result<(), ListenError> {
    use std::os::unix::fs::PermissionsExt;
    let gid = match group.parse::<u32>() {
        Ok(gid) => gid,
        Err(_) => lookup_group(group).ok_or_else(|| ListenError::UnknownGroup(group.to_owned()))?,
    };
    let io_err = |source| ListenError::UnixSocket {
        path: path.to_owned(),
        source,
    };
    std::os::unix::fs::chown(path, None, Some(gid)).map_err(io_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(io_err)
}

/// Finds a group id by name in `/etc/group`.
fn lookup_group(name: &str) -> Option<u32> {
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        fields.nth(1)?.parse().ok()
    })
}

/// 16 random hex digits for socket and directory names.
fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    if super::tls::crypto_provider()
        .secure_random
        .fill(&mut bytes)
        .is_err()
    {
        // Uniqueness, not secrecy, is what matters here.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = (nanos as u64 ^ u64::from(std::process::id())).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Removes the Unix socket file and the temp directory we made, on drop.
#[derive(Debug, Default)]
pub(crate) struct SocketCleanup {
    socket: Option<PathBuf>,
    dir: Option<PathBuf>,
}

impl Drop for SocketCleanup {
    fn drop(&mut self) {
        if let Some(socket) = self.socket.take() {
            let _ = std::fs::remove_file(socket);
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// An accepted socket, before any TLS.
#[derive(Debug)]
pub(crate) enum Transport {
    /// From the Unix listener.
    Unix(UnixStream),
    /// From the TCP listener.
    Tcp(TcpStream),
}

/// A connection as tonic sees it: plain, or TLS over a [`Transport`].
#[derive(Debug)]
pub(crate) enum Conn {
    /// No TLS (debug mode, or TLS disabled by Terraform).
    Plain(Transport),
    /// AutoMTLS, handshake complete.
    Tls(Box<tokio_rustls::server::TlsStream<Transport>>),
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

macro_rules! delegate_io {
    ($ty:ty { $($variant:path),+ }) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $($variant(s) => Pin::new(s).poll_read(cx, buf),)+
                }
            }
        }

        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $($variant(s) => Pin::new(s).poll_write(cx, buf),)+
                }
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $($variant(s) => Pin::new(s).poll_write_vectored(cx, bufs),)+
                }
            }

            fn is_write_vectored(&self) -> bool {
                match self {
                    $($variant(s) => s.is_write_vectored(),)+
                }
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $($variant(s) => Pin::new(s).poll_flush(cx),)+
                }
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $($variant(s) => Pin::new(s).poll_shutdown(cx),)+
                }
            }
        }
    };
}

delegate_io!(Transport { Transport::Unix, Transport::Tcp });
delegate_io!(Conn { Conn::Plain, Conn::Tls });

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tcp_only(min: u16, max: u16) -> ListenConfig {
        ListenConfig {
            min_port: min,
            max_port: max,
            force_tcp: true,
            ..ListenConfig::default()
        }
    }

    #[tokio::test]
    async fn unix_socket_in_given_dir_is_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ListenConfig {
            unix_socket_dir: Some(dir.path().to_owned()),
            ..ListenConfig::default()
        };
        let bound = bind(&cfg).await.unwrap();
        assert_eq!(bound.network, Network::Unix);
        let path = PathBuf::from(&bound.address);
        assert_eq!(path.parent(), Some(dir.path()));
        assert!(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("plugin")
        );
        assert!(path.exists());
        drop(bound);
        assert!(!path.exists());
        assert!(dir.path().exists(), "a directory we did not create stays");
    }

    #[tokio::test]
    async fn fresh_temp_dir_is_private_and_removed_on_drop() {
        use std::os::unix::fs::PermissionsExt;
        let bound = bind(&ListenConfig::default()).await.unwrap();
        let path = PathBuf::from(&bound.address);
        let dir = path.parent().unwrap().to_owned();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        drop(bound);
        assert!(!path.exists() && !dir.exists());
    }

    #[tokio::test]
    async fn unusable_socket_dir_falls_back_to_tcp() {
        let cfg = ListenConfig {
            unix_socket_dir: Some(PathBuf::from("/nonexistent/berth/plugin-dir")),
            min_port: 0,
            max_port: 0,
            ..ListenConfig::default()
        };
        let bound = bind(&cfg).await.unwrap();
        assert_eq!(bound.network, Network::Tcp);
        assert!(bound.address.starts_with("127.0.0.1:"), "{}", bound.address);
    }

    #[tokio::test]
    async fn tcp_skips_busy_ports_and_stays_in_range() {
        let busy = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = busy.local_addr().unwrap().port();
        let Some(next) = port.checked_add(1) else {
            return;
        };
        match bind(&tcp_only(port, next)).await {
            Ok(bound) => assert_eq!(bound.address, format!("127.0.0.1:{next}")),
            // The neighbouring port may be taken by something else.
            Err(ListenError::NoFreePort { min, max }) => assert_eq!((min, max), (port, next)),
            Err(other) => panic!("{other}"),
        }
        let err = bind(&tcp_only(port, port)).await.unwrap_err();
        assert!(matches!(err, ListenError::NoFreePort { .. }), "{err}");
    }

    #[tokio::test]
    async fn accepted_tcp_connections_have_nodelay() {
        let bound = bind(&tcp_only(0, 0)).await.unwrap();
        let addr = bound.address.clone();
        let client = tokio::spawn(async move { TcpStream::connect(addr).await.unwrap() });
        let accepted = bound.listener.accept().await.unwrap();
        let _client = client.await.unwrap();
        match accepted {
            Transport::Tcp(s) => assert!(s.nodelay().unwrap()),
            Transport::Unix(_) => panic!("expected TCP"),
        }
    }

    #[test]
    fn group_lookup_reads_etc_group() {
        // Group 0 is "root" on Linux, "wheel" on macOS.
        let root = lookup_group("root").or_else(|| lookup_group("wheel"));
        assert_eq!(root, Some(0));
        assert_eq!(lookup_group("no-such-group-berth"), None);
    }
}

//! Serves a provider to Terraform the way go-plugin does: check the
//! handshake environment, listen, set up AutoMTLS, announce the address on
//! stdout, serve gRPC (provider + health + controller + stdio) until
//! Terraform asks us to stop.
//!
//! Guarantees:
//! - stdout receives exactly one line (the handshake), or in debug mode the
//!   reattach instructions, and nothing else from this module;
//! - we only ever listen on a Unix socket or 127.0.0.1;
//! - with `PLUGIN_CLIENT_CERT` set, only a client holding that certificate's
//!   key gets past TLS; a failed handshake affects only that connection;
//! - the Unix socket file is removed when [`serve`] returns.
//!
//! Shutdown: `plugin.GRPCController/Shutdown` or SIGTERM stop the server
//! gracefully (in-flight calls get a grace period) and [`serve`] returns
//! `Ok`. SIGINT is counted and ignored, as go-plugin does: Terraform sends it
//! to the whole process group on Ctrl-C and then stops the provider itself.
//! In debug mode SIGINT and SIGTERM both stop the server. Outside debug
//! mode, a Terraform that dies without stopping the plugin ends it within
//! about 100 ms, and at worst 600 ms ([`orphan`]).
//!
//! Unix only (Linux, macOS).

mod handshake;
mod listener;
mod logging;
mod orphan;
mod services;
pub(crate) mod tls;

use std::future::Future;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

pub(crate) use handshake::{Announcement, HandshakeConfig};
pub use listener::ListenError;
pub use logging::init_logging;
pub use tls::TlsError;

use listener::{Conn, PluginListener};

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval of HTTP/2 keepalive pings to an idle client.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long to wait for a keepalive ack before closing the connection.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Options for serving a provider.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The provider's full address, e.g. `registry.terraform.io/berth/berth`;
    /// used in debug mode's `TF_REATTACH_PROVIDERS`.
    pub provider_address: String,
    /// Debug mode (`--debug`): started by hand, no magic cookie, no TLS;
    /// prints `TF_REATTACH_PROVIDERS` and serves until SIGINT/SIGTERM.
    pub debug: bool,
    /// Listen on loopback TCP instead of a Unix socket.
    pub force_tcp: bool,
    /// After a stop is requested, how long in-flight calls may still run
    /// before [`serve`] returns anyway.
    pub shutdown_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            provider_address: "registry.terraform.io/berth/berth".to_owned(),
            debug: false,
            force_tcp: false,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The magic cookie is missing or wrong: the binary was run by hand, not
    /// by Terraform. [`serve`] has already printed go-plugin's explanation to
    /// stderr; the process should exit with status 1 without more output.
    #[error("this binary is a Terraform plugin and must be started by Terraform")]
    NotLaunchedByTerraform,
    /// `PLUGIN_PROTOCOL_VERSIONS` does not include 6, the only version we speak.
    #[error(
        "Terraform offers plugin protocol versions {offered:?}, but this provider speaks only \
         version 6 (Terraform 1.0 or later, OpenTofu)"
    )]
    UnsupportedProtocol {
        /// The value of `PLUGIN_PROTOCOL_VERSIONS`.
        offered: String,
    },
    /// An environment variable has a value we cannot use.
    #[error("invalid {name}={value:?}: {reason}")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No listening socket could be created.
    #[error(transparent)]
    Listen(#[from] ListenError),
    /// AutoMTLS could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The handshake line could not be written to stdout.
    #[error("cannot write the handshake to stdout: {0}")]
    Announce(#[source] std::io::Error),
    /// A signal handler could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Server(#[from] tonic::transport::Error),
}

/// Serves `provider` to Terraform until Terraform (or a signal) stops it.
///
/// Installs the stderr JSON logger (`init_logging`), reads the go-plugin
/// environment, and then behaves as described in the module docs. Returns
/// `Ok(())` after a requested stop; on [`ServeError::NotLaunchedByTerraform`]
/// the human message is already on stderr and the caller should exit 1.
pub async fn serve<P: crate::provider::Provider>(
    provider: P,
    opts: ServeOptions,
) -> Result<(), ServeError> {
    init_logging();
    let env = |key: &str| std::env::var(key).ok();
    let cfg = if opts.debug {
        HandshakeConfig::for_debug(env)
    } else {
        HandshakeConfig::from_env(env)
    };
    let mut cfg = match cfg {
        Ok(cfg) => cfg,
        Err(err @ ServeError::NotLaunchedByTerraform) => {
            eprint!("{}", handshake::NOT_A_PLUGIN_LAUNCH_MESSAGE);
            return Err(err);
        }
        Err(err) => return Err(err),
    };
    cfg.listen.force_tcp |= opts.force_tcp;

    let stop = stop_signal(opts.debug)?;
    // Ends the process if the graceless shutdown above does not.
    let _backstop = (!opts.debug).then(orphan::Backstop::start);
    let routes = crate::grpc::provider_routes(provider);
    let debug = opts.debug;
    let provider_address = opts.provider_address.clone();
    let announce = move |a: &Announcement| -> std::io::Result<()> {
        let text = if debug {
            a.debug_instructions(&provider_address, std::process::id())
        } else {
            format!("{}\n", a.handshake_line())
        };
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    };
    serve_routes(routes, cfg, announce, stop, opts.shutdown_grace).await
}

/// Serves `routes` plus go-plugin's side services as `cfg` says.
///
/// Binds, builds TLS, calls `announce` once with the address and
/// certificate, then serves until `stop` completes or a client calls
/// `GRPCController/Shutdown`; in-flight calls then get `grace` to finish.
pub(crate) async fn serve_routes(
    routes: Routes,
    cfg: HandshakeConfig,
    announce: impl FnOnce(&Announcement) -> std::io::Result<()>,
    stop: impl Future<Output = ()>,
    grace: Duration,
) -> Result<(), ServeError> {
    let tls = match &cfg.client_cert_pem {
        Some(pem) => {
            let verifier = Arc::new(tls::ExactClientCertVerifier::from_pem(pem)?);
            let identity = tls::ServerIdentity::generate()?;
            let config = tls::server_config(&identity, verifier)?;
            Some((identity.cert_der, tokio_rustls::TlsAcceptor::from(config)))
        }
        None => None,
    };
    let bound = listener::bind(&cfg.listen).await?;
    let announcement = Announcement {
        network: bound.network,
        address: bound.address.clone(),
        server_cert_der: tls.as_ref().map(|(cert, _)| cert.to_vec()),
    };
    let _cleanup = bound.cleanup;

    let shutdown = CancellationToken::new();
    let routes = services::add_side_services(routes, shutdown.clone()).await;
    tracing::info!(
        network = announcement.network.as_str(),
        address = %announcement.address,
        tls = announcement.server_cert_der.is_some(),
        "plugin server listening"
    );
    // Clients that connect before we accept wait in the listen backlog.
    announce(&announcement).map_err(ServeError::Announce)?;

    let (conn_tx, conn_rx) = mpsc::channel(16);
    let accept_task = tokio::spawn(accept_loop(
        bound.listener,
        tls.map(|(_, acceptor)| acceptor),
        conn_tx,
        shutdown.clone(),
    ));

    let requested = {
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                () = stop => tracing::info!("stop signal received; shutting down"),
                () = shutdown.cancelled() => tracing::info!("shutdown requested; shutting down"),
            }
            // Ends the stdio stream and the accept loop.
            shutdown.cancel();
        }
    };
    let server = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .http2_adaptive_window(Some(true))
        .add_routes(routes)
        .serve_with_incoming_shutdown(ReceiverStream::new(conn_rx), requested);
    tokio::pin!(server);

    let result = tokio::select! {
        result = &mut server => result,
        () = async {
            shutdown.cancelled().await;
            if !ORPHANED.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(grace).await;
            }
        } => {
            tracing::warn!(grace_secs = grace.as_secs_f64(), "calls still running after the shutdown grace period; stopping anyway");
            Ok(())
        }
    };
    shutdown.cancel();
    accept_task.abort();
    let _ = accept_task.await;
    result.map_err(ServeError::from)
}

/// Accepts connections until `shutdown`, doing TLS handshakes concurrently so
/// one slow or failing client never blocks or stops the others.
async fn accept_loop(
    listener: PluginListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    conns: mpsc::Sender<Result<Conn, std::io::Error>>,
    shutdown: CancellationToken,
) {
    loop {
        let transport = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(transport) => transport,
                Err(err) => {
                    tracing::warn!(error = %err, "accepting a connection failed");
                    // e.g. out of file descriptors: do not spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        match &tls {
            None => {
                if conns.send(Ok(Conn::Plain(transport))).await.is_err() {
                    return;
                }
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let conns = conns.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(transport))
                        .await
                    {
                        Ok(Ok(stream)) => {
                            let _ = conns.send(Ok(Conn::Tls(Box::new(stream)))).await;
                        }
                        Ok(Err(err)) => {
                            tracing::warn!(error = %err, "TLS handshake with a client failed");
                        }
                        Err(_) => tracing::warn!("TLS handshake with a client timed out"),
                    }
                });
            }
        }
    }
}

/// Set once Terraform died without stopping the plugin: nobody will read
/// the answers of calls still running, so shutdown gives them no grace
/// (the process exits, abandoning them, instead of racing the next run).
static ORPHANED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Completes when the process should stop: SIGTERM always, SIGINT only in
/// debug mode (otherwise it is logged and ignored, as go-plugin does), and
/// outside debug mode once Terraform is gone ([`orphan`]).
fn stop_signal(debug: bool) -> Result<impl Future<Output = ()> + Send + 'static, ServeError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
    // Registering a handler also replaces the default "terminate" action.
    let mut int = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
    // If Terraform dies without a Shutdown (SIGKILL, OOM), we are
    // re-parented: stop then instead of lingering with an open socket.
    let parent = std::os::unix::process::parent_id();
    let mut parent_check = tokio::time::interval(orphan::CHECK_INTERVAL);
    Ok(async move {
        let mut interrupts = 0u64;
        loop {
            tokio::select! {
                _ = term.recv() => return,
                _ = parent_check.tick(), if !debug => {
                    if orphan::orphaned(parent, std::os::unix::process::parent_id()) {
                        tracing::warn!(parent, "Terraform exited without stopping the plugin; shutting down");
                        ORPHANED.store(true, std::sync::atomic::Ordering::SeqCst);
                        return;
                    }
                }
                _ = int.recv() => {
                    if debug {
                        return;
                    }
                    interrupts += 1;
                    tracing::trace!(count = interrupts, "plugin received interrupt signal, ignoring");
                }
            }
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

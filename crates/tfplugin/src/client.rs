//! An out-of-process client that launches a provider binary the way
//! Terraform does (magic cookie, AutoMTLS, handshake line) and talks to it
//! over the announced socket — for benchmarks and handshake tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tfplugin::client::ClientError> {
//! use tfplugin::client::{LaunchOptions, PluginProcess};
//! let plugin = PluginProcess::launch(
//!     "target/release/terraform-provider-berth".as_ref(),
//!     LaunchOptions::default(),
//! )
//! .await?;
//! let mut client = plugin.connect().await?;
//! assert!(client.health().await?);
//! client.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Guarantees:
//! - The child gets what Terraform gives a plugin: `TF_PLUGIN_MAGIC_COOKIE`,
//!   `PLUGIN_PROTOCOL_VERSIONS=6`, `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT`
//!   (10000–25000) and `PLUGIN_CLIENT_CERT` (a fresh self-signed ECDSA
//!   P-521 CA:true certificate shaped like Terraform's, or the caller's).
//!   go-plugin variables inherited from our own environment are removed
//!   first; [`LaunchOptions::env`] is applied last and wins.
//! - The handshake line is parsed strictly (`1|6|unix|tcp|…|grpc|cert`);
//!   anything else is [`ClientError::BadHandshake`].
//! - A connection trusts exactly the certificate the plugin announced (DER
//!   equality, as go-plugin's client does by making it the only root) and
//!   checks handshake signatures with the aws-lc-rs provider; TLS ≥ 1.2,
//!   ALPN `h2`. With no announced certificate (TLS disabled by
//!   `TF_DISABLE_PLUGIN_TLS`) it speaks plain HTTP/2.
//! - The child's stdout after the handshake and its stderr are drained (so
//!   the plugin never blocks on a full pipe); the last 64 KiB of stderr are
//!   kept for error messages ([`PluginProcess::stderr_tail`]).
//! - Dropping a [`PluginProcess`] kills the child (SIGKILL), which leaves
//!   the plugin no chance to remove its socket and temp directory;
//!   [`PluginProcess::stop`] stops it the way Terraform does.
//!
//! Errors: every failure is a [`ClientError`]; RPC failures carry the gRPC
//! code name and message, never tonic types. With TLS 1.3 the server
//! refuses a client certificate only after the client's side of the
//! handshake is done, so a refusal may surface from [`PluginProcess::connect`]
//! or from the first RPC.
//!
//! Unix only (Linux, macOS).

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, BufReader};
use tokio::net::{TcpStream, UnixStream};
use tonic::transport::{Channel, Endpoint};

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::path::{AttributePath, PathStep};
use crate::proto::plugin as plugin_pb;
use crate::proto::tfplugin6 as pb;
use crate::serve::tls::crypto_provider;
use crate::types::Type;
use crate::value::Value;

/// Environment variable carrying Terraform's magic cookie.
const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The value Terraform sets it to (the same for every Terraform provider).
const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// How long [`PluginProcess::launch`] waits for the handshake line by default.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest message sent or accepted (Terraform allows 256 MiB).
const MAX_MESSAGE: usize = 256 << 20;
/// How much of the child's stderr is kept.
const STDERR_TAIL_BYTES: usize = 64 << 10;
/// Environment variables of go-plugin's that we never pass on by accident.
const GO_PLUGIN_ENV: [&str; 9] = [
    "TF_PLUGIN_MAGIC_COOKIE",
    "PLUGIN_PROTOCOL_VERSIONS",
    "PLUGIN_CLIENT_CERT",
    "PLUGIN_MIN_PORT",
    "PLUGIN_MAX_PORT",
    "PLUGIN_UNIX_SOCKET_DIR",
    "PLUGIN_UNIX_SOCKET_GROUP",
    "TF_DISABLE_PLUGIN_TLS",
    "TF_REATTACH_PROVIDERS",
];
/// The value sent as `terraform_version` in `ConfigureProvider`.
const CLIENT_VERSION: &str = concat!("tfplugin-client/", env!("CARGO_PKG_VERSION"));

/// Why launching, connecting or calling failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The binary could not be started.
    #[error("cannot start {binary}: {source}")]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A certificate or key could not be generated or read.
    #[error("client certificate: {0}")]
    Certificate(String),
    /// The plugin exited before printing its handshake line.
    #[error("plugin exited ({status}) before the handshake; stderr:\n{stderr}")]
    ExitedBeforeHandshake {
        /// How it exited.
        status: ExitStatus,
        /// The tail of its stderr.
        stderr: String,
    },
    /// No handshake line within the timeout.
    #[error("no handshake line from the plugin within {after:?}; stderr:\n{stderr}")]
    HandshakeTimeout {
        /// The timeout.
        after: Duration,
        /// The tail of its stderr so far.
        stderr: String,
    },
    /// The handshake line is not one a protocol-6 gRPC plugin prints.
    #[error("invalid handshake line {line:?}: {reason}")]
    BadHandshake {
        /// The line, without its newline.
        line: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading from or waiting on the child failed.
    #[error("plugin process I/O: {0}")]
    Io(#[from] std::io::Error),
    /// rustls refused our TLS configuration.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// No gRPC connection could be made (socket, TLS or HTTP/2 failure).
    #[error("cannot connect to the plugin at {address}: {message}")]
    Connect {
        /// The address tried.
        address: String,
        /// The error with its causes.
        message: String,
    },
    /// An RPC failed at the gRPC level (including a TLS refusal on first use).
    #[error("{rpc} failed: {code}: {message}")]
    Rpc {
        /// The RPC, e.g. `GetProviderSchema`.
        rpc: &'static str,
        /// The gRPC status code name, e.g. `Unavailable`.
        code: String,
        /// The status message with its causes.
        message: String,
    },
    /// A response or value could not be interpreted.
    #[error("{0}")]
    Protocol(String),
    /// The process did not exit within the time allowed
    /// ([`PluginProcess::wait_for_exit`] leaves it running,
    /// [`PluginProcess::stop`] kills it).
    #[error("plugin process {pid} still running after {after:?}")]
    StillRunning {
        /// Its pid.
        pid: u32,
        /// How long we waited.
        after: Duration,
    },
}

/// Where a plugin listens, as announced in its handshake line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginAddress {
    /// A Unix domain socket at this path.
    Unix(PathBuf),
    /// A TCP address (a well-behaved plugin uses 127.0.0.1).
    Tcp(SocketAddr),
}

impl fmt::Display for PluginAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginAddress::Unix(p) => write!(f, "unix:{}", p.display()),
            PluginAddress::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// A client certificate and its private key.
#[derive(Debug)]
pub struct ClientIdentity {
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: PrivateKeyDer<'static>,
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        ClientIdentity {
            cert_pem: self.cert_pem.clone(),
            cert_der: self.cert_der.clone(),
            key_der: self.key_der.clone_key(),
        }
    }
}

impl ClientIdentity {
    /// A fresh identity shaped like the one Terraform (go-plugin's
    /// `generateCert`) makes per launch: ECDSA P-521, self-signed, CA:true,
    /// CN `localhost`, O `HashiCorp`, SAN `localhost`, key usages
    /// digitalSignature + keyEncipherment + keyAgreement + keyCertSign, EKU
    /// clientAuth + serverAuth, valid from 30 s ago for 262980 hours.
    ///
    /// # Errors
    /// [`ClientError::Certificate`] when key or certificate generation fails.
    pub fn generate() -> Result<ClientIdentity, ClientError> {
        let cert_err = |e: rcgen::Error| ClientError::Certificate(e.to_string());
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).map_err(cert_err)?;
        let params = crate::serve::tls::go_plugin_cert_params("HashiCorp")
            .map_err(|e| ClientError::Certificate(e.to_string()))?;
        let cert = params.self_signed(&key).map_err(cert_err)?;
        Ok(ClientIdentity {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_der: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        })
    }

    /// An identity from a PEM certificate (the first `CERTIFICATE` block is
    /// the one presented) and a PEM private key (PKCS#8, SEC1 or PKCS#1).
    ///
    /// # Errors
    /// [`ClientError::Certificate`] when either PEM holds no usable item.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<ClientIdentity, ClientError> {
        let cert_der = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .next()
            .ok_or_else(|| ClientError::Certificate("no CERTIFICATE block in the PEM".into()))?
            .map_err(|e| ClientError::Certificate(e.to_string()))?;
        let key_der = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| ClientError::Certificate(format!("private key: {e}")))?;
        Ok(ClientIdentity {
            cert_pem: cert_pem.to_owned(),
            cert_der,
            key_der,
        })
    }

    /// The certificate as PEM (what goes into `PLUGIN_CLIENT_CERT`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate as DER.
    pub fn cert_der(&self) -> &[u8] {
        self.cert_der.as_ref()
    }
}

/// How to launch a plugin.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The identity whose certificate goes into `PLUGIN_CLIENT_CERT` and
    /// which [`PluginProcess::connect`] presents; `None` generates a fresh
    /// Terraform-like one ([`ClientIdentity::generate`]).
    pub identity: Option<ClientIdentity>,
    /// Extra environment for the child, applied last (e.g.
    /// `PLUGIN_UNIX_SOCKET_DIR`, `TF_DISABLE_PLUGIN_TLS`, `TF_LOG`).
    pub env: Vec<(String, String)>,
    /// Arguments for the binary (Terraform passes none).
    pub args: Vec<String>,
    /// How long to wait for the handshake line.
    pub handshake_timeout: Duration,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            identity: None,
            env: Vec::new(),
            args: Vec::new(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

/// A running plugin process and what it announced. Kills the child on drop.
#[derive(Debug)]
pub struct PluginProcess {
    child: tokio::process::Child,
    pid: u32,
    handshake_time: Duration,
    address: PluginAddress,
    server_cert_der: Option<Vec<u8>>,
    identity: ClientIdentity,
    stderr: StderrTail,
}

impl PluginProcess {
    /// Spawns `binary` as Terraform does (see the module docs for the
    /// environment), reads and parses its handshake line, and records the
    /// time from spawn to the complete line.
    ///
    /// # Errors
    /// [`ClientError::Spawn`], [`ClientError::Certificate`],
    /// [`ClientError::ExitedBeforeHandshake`],
    /// [`ClientError::HandshakeTimeout`], [`ClientError::BadHandshake`]
    /// (the child is killed in the last three cases).
    pub async fn launch(binary: &Path, opts: LaunchOptions) -> Result<PluginProcess, ClientError> {
        let identity = match opts.identity {
            Some(identity) => identity,
            None => ClientIdentity::generate()?,
        };
        let mut cmd = tokio::process::Command::new(binary);
        cmd.args(&opts.args);
        for key in GO_PLUGIN_ENV {
            cmd.env_remove(key);
        }
        cmd.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "6")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("PLUGIN_CLIENT_CERT", identity.cert_pem());
        cmd.envs(opts.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);

        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|source| ClientError::Spawn {
            binary: binary.to_owned(),
            source,
        })?;
        let pid = child.id().unwrap_or_default();
        let stderr = StderrTail::default();
        if let Some(pipe) = child.stderr.take() {
            tokio::spawn(stderr.clone().collect(pipe));
        }
        let Some(stdout) = child.stdout.take() else {
            return Err(ClientError::Protocol("child has no stdout pipe".into()));
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let read = tokio::time::timeout(opts.handshake_timeout, stdout.read_line(&mut line)).await;
        let handshake_time = started.elapsed();
        match read {
            Err(_) => {
                let _ = child.start_kill();
                return Err(ClientError::HandshakeTimeout {
                    after: opts.handshake_timeout,
                    stderr: stderr.text(),
                });
            }
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(0)) => {
                let status = child.wait().await?;
                // Let the stderr collector see the end of the pipe.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return Err(ClientError::ExitedBeforeHandshake {
                    status,
                    stderr: stderr.text(),
                });
            }
            Ok(Ok(_)) => {}
        }
        // go-plugin keeps reading the plugin's stdout; so do we.
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut stdout, &mut tokio::io::sink()).await;
        });
        let (address, server_cert_der) = match parse_handshake(line.trim_end_matches(['\r', '\n']))
        {
            Ok(parsed) => parsed,
            Err(e) => {
                let _ = child.start_kill();
                return Err(e);
            }
        };
        Ok(PluginProcess {
            child,
            pid,
            handshake_time,
            address,
            server_cert_der,
            identity,
            stderr,
        })
    }

    /// Time from spawning the process to reading its complete handshake line.
    pub fn handshake_time(&self) -> Duration {
        self.handshake_time
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where the plugin listens, as announced.
    pub fn address(&self) -> &PluginAddress {
        &self.address
    }

    /// The server certificate (DER) the plugin announced; `None` when it
    /// serves without TLS.
    pub fn server_cert_der(&self) -> Option<&[u8]> {
        self.server_cert_der.as_deref()
    }

    /// The identity whose certificate was passed in `PLUGIN_CLIENT_CERT`.
    pub fn identity(&self) -> &ClientIdentity {
        &self.identity
    }

    /// The last 64 KiB of the plugin's stderr (its JSON log lines), lossily
    /// decoded.
    pub fn stderr_tail(&self) -> String {
        self.stderr.text()
    }

    /// Connects presenting the identity passed in `PLUGIN_CLIENT_CERT`.
    ///
    /// # Errors
    /// As [`PluginProcess::connect_with`].
    pub async fn connect(&self) -> Result<PluginClient, ClientError> {
        self.connect_with(Some(&self.identity)).await
    }

    /// Connects presenting `identity`, or no client certificate at all with
    /// `None`; the server must present exactly the announced certificate.
    ///
    /// # Errors
    /// [`ClientError::Tls`] for an unusable identity, [`ClientError::Connect`]
    /// when the socket, TLS or HTTP/2 handshake fails (a refused client
    /// certificate may instead fail the first RPC, see the module docs).
    pub async fn connect_with(
        &self,
        identity: Option<&ClientIdentity>,
    ) -> Result<PluginClient, ClientError> {
        open_channel(&self.address, self.server_cert_der.as_deref(), identity).await
    }

    /// The exit status if the process has exited, without waiting.
    ///
    /// # Errors
    /// [`ClientError::Io`] when the status cannot be read.
    pub fn try_exit_status(&mut self) -> Result<Option<ExitStatus>, ClientError> {
        Ok(self.child.try_wait()?)
    }

    /// Waits up to `timeout` for the process to exit.
    ///
    /// # Errors
    /// [`ClientError::StillRunning`] after `timeout` (the process is left
    /// running), [`ClientError::Io`] when waiting fails.
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> Result<ExitStatus, ClientError> {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => Err(ClientError::StillRunning {
                pid: self.pid,
                after: timeout,
            }),
        }
    }

    /// Stops the plugin the way go-plugin's client does: `Shutdown` on a
    /// fresh connection, then up to `grace` for the process to exit on its
    /// own (so it removes its socket), then SIGKILL.
    ///
    /// # Errors
    /// The connection or RPC error when `Shutdown` could not be delivered,
    /// [`ClientError::StillRunning`] when the process did not exit within
    /// `grace`; in both cases the process has been killed.
    pub async fn stop(mut self, grace: Duration) -> Result<ExitStatus, ClientError> {
        let delivered = match self.connect().await {
            Ok(mut client) => client.shutdown().await,
            Err(e) => Err(e),
        };
        if let Err(e) = delivered {
            let _ = self.kill().await;
            return Err(e);
        }
        match self.wait_for_exit(grace).await {
            Ok(status) => Ok(status),
            Err(e) => {
                let _ = self.kill().await;
                Err(e)
            }
        }
    }

    /// Kills the process (SIGKILL) and reaps it.
    ///
    /// # Errors
    /// [`ClientError::Io`] when killing fails.
    pub async fn kill(&mut self) -> Result<(), ClientError> {
        Ok(self.child.kill().await?)
    }
}

/// An HTTP/2 connection to a plugin (cheap to clone; clones share it).
#[derive(Debug, Clone)]
pub struct PluginClient {
    channel: Channel,
    /// The provider configuration's type, from the first GetProviderSchema.
    provider_type: Option<Type>,
}

impl PluginClient {
    /// Calls `GetProviderSchema`; returns the size of the encoded response
    /// in bytes (so a benchmark measures what Terraform pays: transfer and
    /// decoding). Remembers the provider configuration's type for
    /// [`PluginClient::configure`].
    ///
    /// # Errors
    /// [`ClientError::Rpc`] on a gRPC failure, [`ClientError::Protocol`]
    /// when the response carries error diagnostics or an unreadable schema.
    pub async fn get_provider_schema_bytes(&mut self) -> Result<usize, ClientError> {
        let response = self.provider_schema().await?;
        Ok(prost::Message::encoded_len(&response))
    }

    /// Checks `grpc.health.v1.Health` for service `"plugin"`: `true` when
    /// SERVING.
    ///
    /// # Errors
    /// [`ClientError::Rpc`] on a gRPC failure.
    pub async fn health(&mut self) -> Result<bool, ClientError> {
        use tonic_health::pb::HealthCheckRequest;
        use tonic_health::pb::health_check_response::ServingStatus;
        let response = tonic_health::pb::health_client::HealthClient::new(self.channel.clone())
            .check(HealthCheckRequest {
                service: "plugin".into(),
            })
            .await
            .map_err(|s| rpc_error("Health/Check", &s))?;
        Ok(response.into_inner().status() == ServingStatus::Serving)
    }

    /// Calls `ConfigureProvider` with `config`, encoded by the provider
    /// schema's type (fetched with `GetProviderSchema` on first use;
    /// attributes missing from `config` are sent as null). Returns the
    /// provider's diagnostics; errors among them are not a [`ClientError`].
    ///
    /// # Errors
    /// [`ClientError::Rpc`] on a gRPC failure, [`ClientError::Protocol`]
    /// when `config` does not fit the schema.
    pub async fn configure(&mut self, config: &Value) -> Result<Diagnostics, ClientError> {
        let ty = match &self.provider_type {
            Some(ty) => ty.clone(),
            None => {
                self.provider_schema().await?;
                self.provider_type
                    .clone()
                    .unwrap_or(Type::Object(Default::default()))
            }
        };
        let msgpack = crate::codec::to_msgpack(&ty, config)
            .map_err(|e| ClientError::Protocol(format!("provider configuration: {e}")))?;
        let response = self
            .provider()
            .configure_provider(pb::configure_provider::Request {
                terraform_version: CLIENT_VERSION.to_owned(),
                config: Some(pb::DynamicValue {
                    msgpack,
                    json: vec![],
                }),
                client_capabilities: Some(pb::ClientCapabilities::default()),
            })
            .await
            .map_err(|s| rpc_error("ConfigureProvider", &s))?;
        Ok(diagnostics(response.into_inner().diagnostics))
    }

    /// Calls `plugin.GRPCController/Shutdown`: the plugin stops serving and
    /// exits. The connection is unusable afterwards.
    ///
    /// # Errors
    /// [`ClientError::Rpc`] when the call fails.
    pub async fn shutdown(&mut self) -> Result<(), ClientError> {
        plugin_pb::grpc_controller_client::GrpcControllerClient::new(self.channel.clone())
            .shutdown(plugin_pb::Empty {})
            .await
            .map_err(|s| rpc_error("GRPCController/Shutdown", &s))?;
        Ok(())
    }

    fn provider(&self) -> pb::provider_client::ProviderClient<Channel> {
        pb::provider_client::ProviderClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    async fn provider_schema(&mut self) -> Result<pb::get_provider_schema::Response, ClientError> {
        let response = self
            .provider()
            .get_provider_schema(pb::get_provider_schema::Request {})
            .await
            .map_err(|s| rpc_error("GetProviderSchema", &s))?
            .into_inner();
        let diags = diagnostics(response.diagnostics.clone());
        if diags.has_errors() {
            return Err(ClientError::Protocol(format!(
                "GetProviderSchema returned errors: {}",
                diags
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        if self.provider_type.is_none() {
            let block = response
                .provider
                .as_ref()
                .and_then(|s| s.block.as_ref())
                .ok_or_else(|| {
                    ClientError::Protocol("GetProviderSchema has no provider schema".into())
                })?;
            self.provider_type = Some(block_type(block)?);
        }
        Ok(response)
    }
}

/// Opens an HTTP/2 connection to `address`: TLS pinned to `server_cert`
/// (when given) presenting `identity` (when given), else plain.
async fn open_channel(
    address: &PluginAddress,
    server_cert: Option<&[u8]>,
    identity: Option<&ClientIdentity>,
) -> Result<PluginClient, ClientError> {
    let tls = match server_cert {
        Some(server_cert) => Some(tokio_rustls::TlsConnector::from(client_config(
            CertificateDer::from(server_cert.to_vec()),
            identity,
        )?)),
        None => None,
    };
    let target = address.clone();
    let connector = tower::service_fn(move |_uri| {
        let (tls, address) = (tls.clone(), target.clone());
        async move {
            let transport: Box<dyn Io> = match &address {
                PluginAddress::Unix(path) => Box::new(UnixStream::connect(path).await?),
                PluginAddress::Tcp(addr) => {
                    let stream = TcpStream::connect(addr).await?;
                    stream.set_nodelay(true)?;
                    Box::new(stream)
                }
            };
            let io: Box<dyn Io> = match tls {
                None => transport,
                Some(tls) => {
                    let name = ServerName::try_from("localhost")
                        .map_err(|e| std::io::Error::other(e.to_string()))?;
                    Box::new(tls.connect(name, transport).await?)
                }
            };
            Ok::<_, std::io::Error>(TokioIo::new(io))
        }
    });
    let channel = Endpoint::from_static("http://localhost")
        .connect_timeout(CONNECT_TIMEOUT)
        .connect_with_connector(connector)
        .await
        .map_err(|e| ClientError::Connect {
            address: address.to_string(),
            message: error_chain(&e),
        })?;
    Ok(PluginClient {
        channel,
        provider_type: None,
    })
}

/// Anything a gRPC connection can run over.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// The last [`STDERR_TAIL_BYTES`] of a child's stderr.
#[derive(Debug, Clone, Default)]
struct StderrTail(Arc<Mutex<VecDeque<u8>>>);

impl StderrTail {
    async fn collect(self, mut pipe: impl AsyncRead + Unpin) {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 {
                return;
            }
            let Ok(mut tail) = self.0.lock() else { return };
            tail.extend(&buf[..n]);
            let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
            tail.drain(..excess);
        }
    }

    fn text(&self) -> String {
        match self.0.lock() {
            Ok(tail) => {
                String::from_utf8_lossy(&tail.iter().copied().collect::<Vec<u8>>()).into_owned()
            }
            Err(_) => String::new(),
        }
    }
}

/// Parses `1|6|<network>|<address>|grpc|<cert>` as go-plugin's client does.
fn parse_handshake(line: &str) -> Result<(PluginAddress, Option<Vec<u8>>), ClientError> {
    let bad = |reason: String| ClientError::BadHandshake {
        line: line.to_owned(),
        reason,
    };
    let parts: Vec<&str> = line.split('|').collect();
    if !(parts.len() == 5 || parts.len() == 6) {
        return Err(bad(format!(
            "expected 6 fields separated by '|', got {}",
            parts.len()
        )));
    }
    if parts[0] != "1" {
        return Err(bad(format!(
            "core protocol version {:?}, expected 1",
            parts[0]
        )));
    }
    if parts[1] != "6" {
        return Err(bad(format!(
            "plugin protocol version {:?}, expected 6",
            parts[1]
        )));
    }
    let address = match parts[2] {
        "unix" if !parts[3].is_empty() => PluginAddress::Unix(PathBuf::from(parts[3])),
        "tcp" => PluginAddress::Tcp(
            parts[3]
                .parse()
                .map_err(|e| bad(format!("bad TCP address {:?}: {e}", parts[3])))?,
        ),
        other => {
            return Err(bad(format!(
                "unsupported network {other:?} or empty address"
            )));
        }
    };
    if parts[4] != "grpc" {
        return Err(bad(format!("protocol {:?}, expected grpc", parts[4])));
    }
    let cert = match parts.get(5).map(|c| c.trim_end_matches('=')) {
        None | Some("") => None,
        Some(b64) => Some(
            STANDARD_NO_PAD
                .decode(b64)
                .map_err(|e| bad(format!("server certificate is not base64: {e}")))?,
        ),
    };
    Ok((address, cert))
}

/// A go-plugin-like client configuration: pinned server certificate, our
/// identity (if any), TLS 1.2/1.3, ALPN h2.
pub(crate) fn client_config(
    server_cert: CertificateDer<'static>,
    identity: Option<&ClientIdentity>,
) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let tls_err = |e: rustls::Error| ClientError::Tls(e.to_string());
    let provider = crypto_provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(tls_err)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServerCert {
            cert: server_cert,
            provider,
        }));
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(vec![id.cert_der.clone()], id.key_der.clone_key())
            .map_err(tls_err)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Trusts exactly one server certificate, compared by DER; handshake
/// signatures are still verified, so the server must hold its key.
#[derive(Debug)]
struct PinnedServerCert {
    cert: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServerCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// An error and its causes on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

fn rpc_error(rpc: &'static str, status: &tonic::Status) -> ClientError {
    let mut message = status.message().to_owned();
    if let Some(source) = std::error::Error::source(status) {
        let causes = error_chain(source);
        if causes.contains(&message) {
            message = causes;
        } else if !message.contains(&causes) {
            message = format!("{message}: {causes}");
        }
    }
    ClientError::Rpc {
        rpc,
        code: format!("{:?}", status.code()),
        message,
    }
}

/// The cty type of a schema block's values.
fn block_type(block: &pb::schema::Block) -> Result<Type, ClientError> {
    use pb::schema::nested_block::NestingMode;
    let mut attrs = std::collections::BTreeMap::new();
    for a in &block.attributes {
        attrs.insert(a.name.clone(), attribute_type(a)?);
    }
    for b in &block.block_types {
        let inner = match &b.block {
            Some(inner) => block_type(inner)?,
            None => Type::Object(Default::default()),
        };
        let ty = match b.nesting() {
            NestingMode::Single | NestingMode::Group => inner,
            NestingMode::List => Type::list(inner),
            NestingMode::Set => Type::set(inner),
            NestingMode::Map => Type::map(inner),
            NestingMode::Invalid => {
                return Err(ClientError::Protocol(format!(
                    "block {:?} has no nesting mode",
                    b.type_name
                )));
            }
        };
        attrs.insert(b.type_name.clone(), ty);
    }
    Ok(Type::Object(attrs))
}

fn attribute_type(a: &pb::schema::Attribute) -> Result<Type, ClientError> {
    use pb::schema::object::NestingMode;
    let Some(nested) = &a.nested_type else {
        return Type::from_json_bytes(&a.r#type)
            .map_err(|e| ClientError::Protocol(format!("attribute {:?}: {e}", a.name)));
    };
    let mut attrs = std::collections::BTreeMap::new();
    for inner in &nested.attributes {
        attrs.insert(inner.name.clone(), attribute_type(inner)?);
    }
    let obj = Type::Object(attrs);
    Ok(match nested.nesting() {
        NestingMode::Single => obj,
        NestingMode::List => Type::list(obj),
        NestingMode::Set => Type::set(obj),
        NestingMode::Map => Type::map(obj),
        NestingMode::Invalid => {
            return Err(ClientError::Protocol(format!(
                "attribute {:?} has no nesting mode",
                a.name
            )));
        }
    })
}

fn diagnostics(list: Vec<pb::Diagnostic>) -> Diagnostics {
    use pb::attribute_path::step::Selector;
    Diagnostics(
        list.into_iter()
            .map(|d| {
                let severity = match d.severity() {
                    pb::diagnostic::Severity::Warning => Severity::Warning,
                    _ => Severity::Error,
                };
                let attribute = d.attribute.map(|p| {
                    AttributePath::from_steps(
                        p.steps
                            .into_iter()
                            .filter_map(|s| {
                                Some(match s.selector? {
                                    Selector::AttributeName(n) => PathStep::Attribute(n),
                                    Selector::ElementKeyString(k) => PathStep::ElementKey(k),
                                    Selector::ElementKeyInt(i) => PathStep::ElementIndex(i),
                                })
                            })
                            .collect(),
                    )
                });
                Diagnostic {
                    severity,
                    summary: d.summary,
                    detail: d.detail,
                    attribute,
                }
            })
            .collect(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;
    use tokio::sync::oneshot;

    use super::*;
    use crate::provider::{ConfigureRequest, ConfigureResponse, DataSource, Provider, Resource};
    use crate::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
    use crate::serve::{Announcement, HandshakeConfig, ServeError};

    const LIMIT: Duration = Duration::from_secs(5);

    /// A provider whose configure echoes `region` back as a warning.
    struct Echo;

    #[async_trait]
    impl Provider for Echo {
        fn type_name(&self) -> &str {
            "echo"
        }
        fn schema(&self) -> Schema {
            Schema::new(
                Block::new()
                    .attribute(Attribute::string("region").optional())
                    .attribute(Attribute::new("tags", Type::map(Type::String)).optional())
                    .attribute(
                        Attribute::nested(
                            "endpoints",
                            Nesting::Single,
                            vec![Attribute::string("ec2").optional()],
                        )
                        .optional(),
                    )
                    .block(NestedBlock::new(
                        "retry",
                        Nesting::List,
                        Block::new().attribute(Attribute::number("attempts").optional()),
                    )),
            )
        }
        async fn configure(&self, req: ConfigureRequest) -> ConfigureResponse {
            let mut resp = ConfigureResponse::default();
            let region = req.config.attr("region").as_str().unwrap_or("<null>");
            resp.diagnostics
                .push(Diagnostic::warning("region", region).at(AttributePath::attr("region")));
            resp
        }
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            vec![]
        }
        fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
            vec![]
        }
    }

    type ServeTask = tokio::task::JoinHandle<Result<(), ServeError>>;

    /// Serves `Echo` in-process with AutoMTLS for `trusted` on a Unix socket.
    async fn serve_echo(
        trusted: &ClientIdentity,
        dir: &Path,
    ) -> (PluginAddress, Option<Vec<u8>>, ServeTask) {
        let mut cfg = HandshakeConfig {
            listen: Default::default(),
            client_cert_pem: Some(trusted.cert_pem().to_owned()),
        };
        cfg.listen.unix_socket_dir = Some(dir.to_owned());
        let (tx, rx) = oneshot::channel();
        let announce = move |a: &Announcement| {
            let _ = tx.send(a.handshake_line());
            Ok(())
        };
        let task = tokio::spawn(crate::serve::serve_routes(
            crate::grpc::provider_routes(Echo),
            cfg,
            announce,
            std::future::pending(),
            Duration::from_secs(1),
        ));
        let line = tokio::time::timeout(LIMIT, rx).await.unwrap().unwrap();
        let (address, cert) = parse_handshake(&line).unwrap();
        (address, cert, task)
    }

    #[test]
    fn handshake_lines_parse_like_go_plugin() {
        let (addr, cert) =
            parse_handshake("1|6|unix|/tmp/plugin-dir1/plugin2|grpc|AQIDBA").unwrap();
        assert_eq!(addr, PluginAddress::Unix("/tmp/plugin-dir1/plugin2".into()));
        assert_eq!(cert, Some(vec![1, 2, 3, 4]));
        // Padded base64 is tolerated; an empty cert means no TLS.
        let (_, cert) = parse_handshake("1|6|unix|/s|grpc|AQIDBA==").unwrap();
        assert_eq!(cert, Some(vec![1, 2, 3, 4]));
        let (addr, cert) = parse_handshake("1|6|tcp|127.0.0.1:10001|grpc|").unwrap();
        assert_eq!(addr, PluginAddress::Tcp("127.0.0.1:10001".parse().unwrap()));
        assert_eq!(cert, None);
        let (_, cert) = parse_handshake("1|6|tcp|127.0.0.1:10001|grpc").unwrap();
        assert_eq!(cert, None);
    }

    #[test]
    fn bad_handshake_lines_are_refused() {
        for line in [
            "",
            "hello",
            "2|6|unix|/s|grpc|",
            "1|5|unix|/s|grpc|",
            "1|6|udp|/s|grpc|",
            "1|6|unix||grpc|",
            "1|6|tcp|localhost|grpc|",
            "1|6|unix|/s|netrpc|",
            "1|6|unix|/s|grpc|!!!",
            "1|6|unix|/s|grpc|AQID|extra",
        ] {
            let err = parse_handshake(line).unwrap_err();
            assert!(
                matches!(err, ClientError::BadHandshake { .. }),
                "{line:?}: {err}"
            );
        }
    }

    #[test]
    fn generated_identity_looks_like_terraforms() {
        let id = ClientIdentity::generate().unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(id.cert_der()).unwrap();
        assert!(cert.basic_constraints().unwrap().unwrap().value.ca);
        assert_eq!(cert.subject(), cert.issuer(), "self-signed");
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && eku.server_auth);
        // id-ecPublicKey with the secp521r1 curve.
        let spki = &cert.tbs_certificate.subject_pki;
        assert_eq!(spki.algorithm.algorithm.to_id_string(), "1.2.840.10045.2.1");
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .unwrap()
            .as_oid()
            .unwrap();
        assert_eq!(curve.to_id_string(), "1.3.132.0.35");
        assert!(id.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(
            id.cert_der(),
            ClientIdentity::generate().unwrap().cert_der()
        );
    }

    #[test]
    fn identity_round_trips_through_pem() {
        let id = ClientIdentity::generate().unwrap();
        let key_pem = match &id.key_der {
            PrivateKeyDer::Pkcs8(k) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(k.secret_pkcs8_der());
                format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
            }
            _ => unreachable!(),
        };
        let back = ClientIdentity::from_pem(id.cert_pem(), &key_pem).unwrap();
        assert_eq!(back.cert_der(), id.cert_der());
        assert!(matches!(
            ClientIdentity::from_pem("nothing", &key_pem),
            Err(ClientError::Certificate(_))
        ));
        assert!(matches!(
            ClientIdentity::from_pem(id.cert_pem(), "nothing"),
            Err(ClientError::Certificate(_))
        ));
    }

    #[test]
    fn schema_types_match_the_servers_own() {
        let schema = Echo.schema();
        let pb = crate::grpc::schema_pb(&schema);
        assert_eq!(
            block_type(pb.block.as_ref().unwrap()).unwrap(),
            schema.value_type()
        );
    }

    #[tokio::test]
    async fn talks_automtls_to_serve_routes_and_shuts_it_down() {
        let dir = tempfile::tempdir().unwrap();
        let terraform = ClientIdentity::generate().unwrap();
        let (address, cert, task) = serve_echo(&terraform, dir.path()).await;
        let PluginAddress::Unix(socket) = &address else {
            panic!("expected a unix socket: {address}")
        };
        assert_eq!(socket.parent(), Some(dir.path()));

        let mut client = open_channel(&address, cert.as_deref(), Some(&terraform))
            .await
            .unwrap();
        assert!(client.health().await.unwrap());
        let size = client.get_provider_schema_bytes().await.unwrap();
        assert!(size > 50, "{size}");

        let config = Value::object([("region", Value::string("eu-west-3"))]);
        let diags = client.configure(&config).await.unwrap();
        assert_eq!(diags.0.len(), 1, "{diags:?}");
        assert_eq!(diags.0[0].severity, Severity::Warning);
        assert_eq!(diags.0[0].detail, "eu-west-3");
        assert_eq!(diags.0[0].attribute, Some(AttributePath::attr("region")));
        // A value that does not fit the schema is caught before sending.
        let bad = Value::object([("region", Value::Bool(true))]);
        assert!(matches!(
            client.configure(&bad).await,
            Err(ClientError::Protocol(_))
        ));

        client.shutdown().await.unwrap();
        tokio::time::timeout(LIMIT, task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(!socket.exists());
    }

    #[tokio::test]
    async fn other_or_missing_client_certificates_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let terraform = ClientIdentity::generate().unwrap();
        let intruder = ClientIdentity::generate().unwrap();
        let (address, cert, task) = serve_echo(&terraform, dir.path()).await;

        for identity in [Some(&intruder), None] {
            match open_channel(&address, cert.as_deref(), identity).await {
                // TLS 1.3: the refusal arrives after our side is done.
                Ok(mut client) => {
                    let err = client.health().await.unwrap_err();
                    assert!(matches!(err, ClientError::Rpc { .. }), "{err}");
                }
                Err(err) => assert!(matches!(err, ClientError::Connect { .. }), "{err}"),
            }
        }
        // A server certificate other than the announced one is refused by us.
        let other = ClientIdentity::generate().unwrap();
        let pinned_wrong = open_channel(&address, Some(other.cert_der()), Some(&terraform)).await;
        assert!(
            matches!(pinned_wrong, Err(ClientError::Connect { ref message, .. }) if message.contains("UnknownIssuer")),
            "{pinned_wrong:?}"
        );

        let mut client = open_channel(&address, cert.as_deref(), Some(&terraform))
            .await
            .unwrap();
        assert!(client.health().await.unwrap());
        task.abort();
    }

    fn sh(script: &str) -> LaunchOptions {
        LaunchOptions {
            args: vec!["-c".into(), script.into()],
            handshake_timeout: Duration::from_secs(2),
            ..LaunchOptions::default()
        }
    }

    #[tokio::test]
    async fn launch_passes_terraforms_environment_and_reads_the_line() {
        let script = r#"[ "$TF_PLUGIN_MAGIC_COOKIE" = d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2 ] || exit 3
            case "$PLUGIN_CLIENT_CERT" in -----BEGIN\ CERTIFICATE-----*) ;; *) exit 4 ;; esac
            [ -z "$PLUGIN_UNIX_SOCKET_DIR" ] || exit 5
            echo "1|6|unix|/tmp/v$PLUGIN_PROTOCOL_VERSIONS-$PLUGIN_MIN_PORT-$EXTRA|grpc|AQIDBA"
            echo "later output is drained"; echo "some log" >&2; sleep 5"#;
        let mut opts = sh(script);
        opts.env.push(("EXTRA".into(), "x".into()));
        let mut plugin = PluginProcess::launch(Path::new("/bin/sh"), opts)
            .await
            .unwrap();
        assert_eq!(
            plugin.address(),
            &PluginAddress::Unix("/tmp/v6-10000-x".into())
        );
        assert_eq!(plugin.server_cert_der(), Some(&[1u8, 2, 3, 4][..]));
        assert!(plugin.handshake_time() < Duration::from_secs(2));
        assert!(plugin.pid() > 0);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(plugin.stderr_tail(), "some log\n");
        assert!(plugin.try_exit_status().unwrap().is_none());
        plugin.kill().await.unwrap();
        assert!(plugin.try_exit_status().unwrap().is_some());
    }

    #[tokio::test]
    async fn launch_reports_early_exit_bad_lines_and_silence() {
        let err = PluginProcess::launch(Path::new("/bin/sh"), sh("echo boom >&2; exit 7"))
            .await
            .unwrap_err();
        match err {
            ClientError::ExitedBeforeHandshake { status, stderr } => {
                assert_eq!(status.code(), Some(7));
                assert_eq!(stderr, "boom\n");
            }
            other => panic!("{other}"),
        }

        let err = PluginProcess::launch(
            Path::new("/bin/sh"),
            sh("echo '1|5|tcp|127.0.0.1:1|grpc|'; sleep 5"),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ClientError::BadHandshake { .. }), "{err}");

        let mut opts = sh("sleep 5");
        opts.handshake_timeout = Duration::from_millis(200);
        let err = PluginProcess::launch(Path::new("/bin/sh"), opts)
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::HandshakeTimeout { .. }), "{err}");

        let err = PluginProcess::launch(Path::new("/nonexistent/plugin"), LaunchOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Spawn { .. }), "{err}");
    }
}

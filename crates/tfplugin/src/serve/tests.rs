//! End-to-end tests of `serve_routes`: a real listener, real TLS, a real
//! gRPC client doing what go-plugin's client does.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::handshake::{ListenConfig, Network};
use super::*;
use crate::client::{ClientIdentity, client_config};
use crate::proto::plugin::grpc_broker_client::GrpcBrokerClient;
use crate::proto::plugin::grpc_controller_client::GrpcControllerClient;
use crate::proto::plugin::grpc_stdio_client::GrpcStdioClient;

const LIMIT: Duration = Duration::from_secs(5);

type ServeTask = tokio::task::JoinHandle<Result<(), ServeError>>;

/// Starts `serve_routes` with no provider service; returns the announced
/// handshake line and the task.
async fn start(
    cfg: HandshakeConfig,
    stop: impl Future<Output = ()> + Send + 'static,
) -> (Announcement, String, ServeTask) {
    let (tx, rx) = oneshot::channel();
    let announce = move |a: &Announcement| {
        let _ = tx.send((a.clone(), a.handshake_line()));
        Ok(())
    };
    let task = tokio::spawn(serve_routes(
        Routes::default(),
        cfg,
        announce,
        stop,
        Duration::from_secs(2),
    ));
    let (announcement, line) = tokio::time::timeout(LIMIT, rx).await.unwrap().unwrap();
    (announcement, line, task)
}

/// A gRPC channel over the announced address, with TLS when `tls` is given.
async fn connect(
    a: &Announcement,
    tls: Option<(CertificateDer<'static>, &ClientIdentity)>,
) -> Result<Channel, tonic::transport::Error> {
    let connector = tls
        .map(|(cert, id)| tokio_rustls::TlsConnector::from(client_config(cert, Some(id)).unwrap()));
    let (network, address) = (a.network, a.address.clone());
    let connect = tower::service_fn(move |_uri| {
        let (connector, address) = (connector.clone(), address.clone());
        async move {
            let transport = match network {
                Network::Unix => listener::Transport::Unix(UnixStream::connect(&address).await?),
                Network::Tcp => listener::Transport::Tcp(TcpStream::connect(&address).await?),
            };
            let io: Box<dyn IoStream> = match connector {
                None => Box::new(transport),
                Some(c) => {
                    let name = ServerName::try_from("localhost").unwrap();
                    Box::new(c.connect(name, transport).await?)
                }
            };
            Ok::<_, std::io::Error>(TokioIo::new(io))
        }
    });
    Endpoint::from_static("http://localhost")
        .connect_timeout(LIMIT)
        .connect_with_connector(connect)
        .await
}

trait IoStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> IoStream for T {}

async fn plugin_health(channel: Channel) -> ServingStatus {
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .unwrap();
    response.into_inner().status()
}

#[tokio::test]
async fn automtls_unix_socket_health_then_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let terraform = ClientIdentity::generate().unwrap();
    let cfg = HandshakeConfig {
        listen: ListenConfig {
            unix_socket_dir: Some(dir.path().to_owned()),
            ..ListenConfig::default()
        },
        client_cert_pem: Some(terraform.cert_pem().to_string()),
    };
    let (announcement, line, task) = start(cfg, std::future::pending()).await;

    // The handshake line, parsed as go-plugin's client does.
    let parts: Vec<&str> = line.split('|').collect();
    assert_eq!(parts.len(), 6, "{line}");
    assert_eq!(parts[..3], ["1", "6", "unix"]);
    assert_eq!(parts[4], "grpc");
    let socket = PathBuf::from(parts[3]);
    assert_eq!(socket.parent(), Some(dir.path()));
    assert!(!parts[5].ends_with('='));
    let server_cert = CertificateDer::from(STANDARD_NO_PAD.decode(parts[5]).unwrap());

    // A client with another certificate is refused; the server carries on.
    let intruder = ClientIdentity::generate().unwrap();
    let refused = tokio::time::timeout(
        LIMIT,
        connect(&announcement, Some((server_cert.clone(), &intruder))),
    )
    .await
    .unwrap();
    if let Ok(channel) = refused {
        // TLS 1.3 may report the refusal only on first use.
        let mut health = HealthClient::new(channel);
        let request = HealthCheckRequest {
            service: "plugin".into(),
        };
        assert!(health.check(request).await.is_err());
    }

    let channel = tokio::time::timeout(
        LIMIT,
        connect(&announcement, Some((server_cert, &terraform))),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        tokio::time::timeout(LIMIT, plugin_health(channel.clone()))
            .await
            .unwrap(),
        ServingStatus::Serving
    );

    // Stdio stream stays open until shutdown; broker is unimplemented.
    let mut stdio = GrpcStdioClient::new(channel.clone())
        .stream_stdio(())
        .await
        .unwrap()
        .into_inner();
    let broker = GrpcBrokerClient::new(channel.clone())
        .start_stream(futures::stream::empty())
        .await
        .unwrap_err();
    assert_eq!(broker.code(), tonic::Code::Unimplemented);

    GrpcControllerClient::new(channel)
        .shutdown(crate::proto::plugin::Empty {})
        .await
        .unwrap();
    let stdio_end = tokio::time::timeout(LIMIT, stdio.message()).await.unwrap();
    assert!(matches!(stdio_end, Ok(None)), "{stdio_end:?}");
    tokio::time::timeout(LIMIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!socket.exists(), "socket file must be removed");
}

#[tokio::test]
async fn plain_tcp_serves_until_stop_signal() {
    let cfg = HandshakeConfig {
        listen: ListenConfig {
            min_port: 0,
            max_port: 0,
            force_tcp: true,
            ..ListenConfig::default()
        },
        client_cert_pem: None,
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let stop = async move {
        let _ = stop_rx.await;
    };
    let (announcement, line, task) = start(cfg, stop).await;
    assert!(line.starts_with("1|6|tcp|127.0.0.1:"), "{line}");
    assert!(line.ends_with("|grpc|"), "{line}");

    let channel = connect(&announcement, None).await.unwrap();
    assert_eq!(plugin_health(channel).await, ServingStatus::Serving);

    stop_tx.send(()).unwrap();
    tokio::time::timeout(LIMIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn bad_client_pem_fails_before_announcing() {
    let cfg = HandshakeConfig {
        listen: ListenConfig::default(),
        client_cert_pem: Some("not a certificate".into()),
    };
    let result = serve_routes(
        Routes::default(),
        cfg,
        |_: &Announcement| panic!("must not announce"),
        std::future::pending(),
        Duration::from_secs(1),
    )
    .await;
    assert!(
        matches!(result, Err(ServeError::Tls(TlsError::NoClientCertificate))),
        "{result:?}"
    );
}

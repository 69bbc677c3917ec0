//! go-plugin's side services, served next to the provider: gRPC health
//! (`plugin` is SERVING), `plugin.GRPCController` (Shutdown stops the server)
//! and `plugin.GRPCStdio` (an empty stream that ends at shutdown).
//! `plugin.GRPCBroker` is left out, so it answers `Unimplemented`.

use std::pin::Pin;

use futures::{Stream, StreamExt as _};
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use crate::proto::plugin::grpc_controller_server::{GrpcController, GrpcControllerServer};
use crate::proto::plugin::grpc_stdio_server::{GrpcStdio, GrpcStdioServer};
use crate::proto::plugin::{Empty, StdioData};

/// The service name go-plugin's client health-checks.
pub(crate) const HEALTH_SERVICE_NAME: &str = "plugin";

/// Adds health, controller and stdio services to `routes`. Cancelling
/// `shutdown` ends the stdio stream; `GRPCController/Shutdown` cancels it.
pub(crate) async fn add_side_services(routes: Routes, shutdown: CancellationToken) -> Routes {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(HEALTH_SERVICE_NAME, tonic_health::ServingStatus::Serving)
        .await;
    routes
        .add_service(health)
        .add_service(GrpcControllerServer::new(Controller {
            shutdown: shutdown.clone(),
        }))
        .add_service(GrpcStdioServer::new(Stdio { shutdown }))
}

/// `plugin.GRPCController`.
struct Controller {
    shutdown: CancellationToken,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("shutdown requested by Terraform");
        // Graceful: this response is still delivered before the server stops.
        self.shutdown.cancel();
        Ok(Response::new(Empty {}))
    }
}

/// `plugin.GRPCStdio`: we never redirect stdout/stderr (logs already go to
/// stderr, which Terraform reads), so the stream carries nothing.
struct Stdio {
    shutdown: CancellationToken,
}

type StdioStream = Pin<Box<dyn Stream<Item = Result<StdioData, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = StdioStream;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        let shutdown = self.shutdown.clone();
        let stream = futures::stream::once(async move {
            shutdown.cancelled_owned().await;
            None
        })
        .filter_map(std::future::ready);
        Ok(Response::new(Box::pin(stream)))
    }
}

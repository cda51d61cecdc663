//! The HTTP endpoints every service serves: `/metrics`, `/healthz`, `/readyz`.
//!
//! Runtime: actix-web's `Server` is a plain future since actix-server 2; started from a tokio
//! runtime it runs its accept loop on its own thread and each worker on a thread with a
//! single-threaded actix system, so `tokio::spawn`ing it works from `#[tokio::main]` and
//! `#[tokio::test]` alike (the test below does exactly that). OS signal handling is disabled:
//! the service's `main` owns signals and stops this server through [`TelemetryServer`].
//! Verified from a plain `#[tokio::main]` binary as well as the tests; no process metrics
//! (the prometheus `process` feature is not enabled in this crate).

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::ServerHandle;
use actix_web::http::header::ContentType;
use actix_web::{web, App, HttpResponse, HttpServer};
use tokio::task::JoinHandle;

use super::metrics::Metrics;
use super::readiness::Readiness;

/// Content type of the Prometheus text exposition format.
const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One worker is plenty for scrapes and probes, and keeps threads few.
const WORKERS: usize = 1;

/// Why the telemetry server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("serve must be called from within a tokio runtime")]
    NoRuntime,
    #[error("cannot bind telemetry server to {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start telemetry server on {addr}: {source}")]
    Start {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// What the handlers share.
struct State {
    metrics: Metrics,
    readiness: Readiness,
}

/// Liveness: answers while the process serves requests at all.
async fn healthz_handler() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body("ok")
}

/// Readiness: 200 when every check is ready, 503 naming the failing ones otherwise.
async fn readyz_handler(state: web::Data<State>) -> HttpResponse {
    let report = state.readiness.report();
    let mut response = if report.ready {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response.json(report)
}

async fn metrics_handler(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(PROMETHEUS_CONTENT_TYPE)
        .body(state.metrics.encode_text())
}

/// A running telemetry server. [`TelemetryServer::stop`] stops it and waits; dropping the
/// handle asks it to stop without waiting. If the tokio runtime shuts down first, dropping
/// actix's server future joins its accept thread, so the port is released either way.
#[derive(Debug)]
pub struct TelemetryServer {
    local_addr: SocketAddr,
    handle: ServerHandle,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TelemetryServer {
    /// The address actually bound (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, stops the workers (in-flight requests are dropped: probes and scrapes
    /// are retried by their callers) and waits until the listening socket is closed.
    pub async fn stop(mut self) {
        self.handle.stop(false).await;
        if let Some(task) = self.task.take() {
            if let Ok(Err(err)) = task.await {
                tracing::warn!(error = %err, "telemetry server ended with an error");
            }
        }
        tracing::info!(addr = %self.local_addr, "telemetry server stopped");
    }
}

impl Drop for TelemetryServer {
    fn drop(&mut self) {
        if self.task.is_some() {
            // The stop command is sent when `stop` is called; the returned future only waits
            // for completion, which a synchronous drop cannot do.
            drop(self.handle.stop(false));
        }
    }
}

/// Binds `addr` and serves `/metrics`, `/healthz` and `/readyz` on a task of the current tokio
/// runtime. Anything else is 404.
pub fn serve(
    addr: SocketAddr,
    metrics: Metrics,
    readiness: Readiness,
) -> Result<TelemetryServer, ServeError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| ServeError::NoRuntime)?;
    let listener = TcpListener::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let state = web::Data::new(State { metrics, readiness });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/healthz", web::get().to(healthz_handler))
            .route("/readyz", web::get().to(readyz_handler))
            .route("/metrics", web::get().to(metrics_handler))
    })
    .workers(WORKERS)
    .disable_signals()
    .listen(listener)
    .map_err(|source| ServeError::Start {
        addr: local_addr,
        source,
    })?
    .run();
    let handle = server.handle();
    let task = runtime.spawn(server);
    tracing::info!(addr = %local_addr, "telemetry server listening");
    Ok(TelemetryServer {
        local_addr,
        handle,
        task: Some(task),
    })
}

#[cfg(test)]
mod tests;

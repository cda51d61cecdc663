//! What every service exports about itself: Prometheus metrics, health and readiness
//! endpoints, progress of long work, and structured `tracing` logs.
//!
//! - [`Metrics`]: one registry per service; constructors enforce the naming convention
//!   `lnfleet_<service>_<what>_<unit>` (see [`metrics`]) and refuse names that break it.
//! - [`Readiness`]: named checks (`redis`, `graph_replay`) the service flips as it goes.
//! - [`serve`]: `/metrics` (text exposition), `/healthz` (200 `ok` while serving), `/readyz`
//!   (200 or 503 with a JSON [`ReadinessReport`]) on an actix-web server inside tokio.
//! - [`Progress`]: done/total gauges and a periodic log line for long work.
//! - [`init_tracing`]: the process-wide subscriber, JSON or human, filtered by `RUST_LOG`.
//!
//! A service wires it up like this:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use lnfleet_actors::telemetry::{init_tracing, serve, LogFormat, Metrics, Readiness};
//!
//! init_tracing("gossip", LogFormat::Json);
//! let metrics = Metrics::new("gossip")?;
//! let updates = metrics.counter("channel_updates_received_total", "channel_update messages")?;
//! let readiness = Readiness::new();
//! let redis = readiness.declare("redis");
//! let server = serve("0.0.0.0:9100".parse()?, metrics.clone(), readiness.clone())?;
//! redis.set_ready();
//! updates.inc();
//! server.stop().await;
//! # Ok(())
//! # }
//! ```

pub mod logging;
pub mod metrics;
pub mod progress;
pub mod readiness;
pub mod server;

pub use logging::{init_tracing, LogFormat, UnknownLogFormat};
pub use metrics::{validate_metric_name, MetricKind, Metrics, MetricsError};
pub use progress::{Progress, ProgressConfig};
pub use readiness::{CheckReport, Readiness, ReadinessCheck, ReadinessReport};
pub use server::{serve, ServeError, TelemetryServer};

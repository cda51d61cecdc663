//! `edge-node`: parse the configuration, start the edge inside an actix system, stop it cleanly on
//! SIGTERM or ctrl-c (leases released, connections closed) so peers move to another edge at once.

use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use lnfleet_actors::telemetry::{init_tracing, serve, LogFormat, Metrics, Readiness};
use lnfleet_edge::config::Args;
use lnfleet_edge::node::EdgeNode;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_tracing("edge", LogFormat::from_str(&args.log_format)?);
    let config = args.edge_config()?;
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let metrics_listen = args.metrics_listen;
    actix::System::new().block_on(async move {
        let metrics = Metrics::new("edge")?;
        let readiness = Readiness::new();
        let _telemetry = serve(metrics_listen, metrics.clone(), readiness.clone())?;
        let edge = EdgeNode::start(config, &metrics, &readiness).await?;
        let mut sigterm =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("ctrl-c: stopping"),
            _ = sigterm.recv() => tracing::info!("sigterm: stopping"),
        }
        edge.shutdown(grace).await;
        Ok(())
    })
}

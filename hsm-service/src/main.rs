//! `hsm-service`: parse config, start telemetry, serve the request stream until a signal.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use lnfleet_actors::hsm::Authenticator;
use lnfleet_actors::telemetry::{init_tracing, serve, LogFormat, Metrics, Readiness};
use lnfleet_hsm::config::{load_clients, HsmArgs};
use lnfleet_hsm::service::{HsmMetrics, HsmService, StreamConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = HsmArgs::parse();
    init_tracing("hsm", LogFormat::from_str(&args.log_format)?);

    let core = args.channel_signer().context("loading keys and store")?;
    let mut auth = Authenticator::new(args.auth_config());
    let clients = load_clients(&args.clients, &mut auth)?;
    for node_id in core.signer().node_ids() {
        tracing::info!(%node_id, "serving node");
    }
    tracing::info!(clients = clients.len(), "client registry loaded");

    let metrics = Metrics::new("hsm")?;
    let readiness = Readiness::new();
    let redis_ready = readiness.declare("redis");
    let hsm_metrics = HsmMetrics::register(&metrics)?;
    let telemetry = serve(args.metrics_listen, metrics, readiness)?;
    tracing::info!(addr = %telemetry.local_addr(), "telemetry listening");

    let service = Arc::new(HsmService::new(core, auth, hsm_metrics));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = StreamConfig {
        claim_idle: Duration::from_millis(args.claim_idle_ms),
        claim_every: Duration::from_millis(args.claim_every_ms),
        ..StreamConfig::new(&args.redis_url, args.consumer())
    };
    let running = tokio::spawn(service.run(config, redis_ready, stopped));

    tokio::signal::ctrl_c().await?;
    tracing::info!("stopping");
    let _ = stop.send(true);
    let _ = running.await;
    telemetry.stop().await;
    Ok(())
}

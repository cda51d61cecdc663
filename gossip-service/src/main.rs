//! `gossip-service`: the routing API. Today it serves `getroute` from a snapshot alone
//! (`--snapshot`, no Kafka or Redis needed); the Kafka-fed validators and replicas come next.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use lnfleet_actors::telemetry::{init_tracing, serve, LogFormat, Metrics, Readiness};
use lnfleet_gossip::api::{self, RouterState};
use lnfleet_gossip::graph::Graph;
use lnfleet_gossip::snapshot::Snapshot;

#[derive(Parser)]
#[command(
    name = "gossip-service",
    about = "lnfleet's gossip and routing service"
)]
struct Args {
    /// The `*.compressed` graph snapshot (format: data/lngraph/README.md).
    #[arg(long, env = "LNFLEET_GOSSIP_SNAPSHOT")]
    snapshot: PathBuf,
    /// Its node map; defaults to `<snapshot stem>-node-map.xz` beside it.
    #[arg(long)]
    node_map: Option<PathBuf>,
    /// Where the JSON-RPC API listens.
    #[arg(long, env = "LNFLEET_GOSSIP_LISTEN", default_value = "127.0.0.1:9302")]
    listen: SocketAddr,
    /// Where `/metrics`, `/healthz` and `/readyz` listen.
    #[arg(
        long,
        env = "LNFLEET_GOSSIP_METRICS_LISTEN",
        default_value = "127.0.0.1:9303"
    )]
    metrics_listen: SocketAddr,
    #[arg(long, env = "LNFLEET_LOG_FORMAT", default_value = "human")]
    log_format: String,
}

/// `x/gossip-store-2026-02-03.compressed` → `x/gossip-store-2026-02-03-node-map.xz`.
fn default_node_map(snapshot: &Path) -> PathBuf {
    let stem = snapshot
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    snapshot.with_file_name(format!("{stem}-node-map.xz"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_tracing("gossip", LogFormat::from_str(&args.log_format)?);
    let metrics = Metrics::new("gossip")?;
    let readiness = Readiness::new();
    let loaded = readiness.declare("graph_loaded");
    let telemetry = serve(args.metrics_listen, metrics.clone(), readiness)?;

    let node_map = args
        .node_map
        .clone()
        .unwrap_or_else(|| default_node_map(&args.snapshot));
    tracing::info!(snapshot = %args.snapshot.display(), "loading graph snapshot");
    let snapshot_path = args.snapshot.clone();
    let graph = tokio::task::spawn_blocking(move || {
        Snapshot::load(&snapshot_path, &node_map).map(|s| Graph::from_snapshot(&s))
    })
    .await?
    .context("loading the snapshot")?;
    tracing::info!(
        nodes = graph.node_count(),
        channels = graph.channel_count(),
        usable_directions = graph.enabled_edge_count(),
        "graph ready"
    );
    let state = Arc::new(RouterState::new(graph, &metrics)?);
    let server = api::serve(args.listen, state)?;
    loaded.set_ready();

    tokio::signal::ctrl_c().await?;
    tracing::info!("stopping");
    server.stop().await;
    telemetry.stop().await;
    Ok(())
}

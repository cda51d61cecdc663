//! The router role: the graph (snapshot, then `ln.gossip.valid` replayed on top), mission
//! control fed by `ln.payments.outcomes`, and the `getroute` API over both.
//!
//! The API starts serving as soon as the graph is loaded, and `/readyz` says whether the
//! replica has caught up: a load balancer keeps traffic away until it has, while an operator
//! can already query it.

use std::sync::Arc;
use std::time::Duration;

use lnfleet_actors::kafka::{self, KafkaConfig, KafkaError};
use lnfleet_actors::telemetry::{Metrics, Readiness};
use lnfleet_actors::topics;
use prometheus::IntGauge;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::lag::ConsumerPositions;
use super::{stopped, ServiceConfig, ServiceError, SnapshotFiles};
use crate::api::{self, RouterState};
use crate::graph::Graph;
use crate::mission_control::feed::{FeedMetrics, OutcomeFeed};
use crate::replay::{CatchUpTarget, GossipReplay};
use crate::snapshot::Snapshot;

/// The readiness check of the graph's initial load.
pub const GRAPH_LOADED: &str = "graph_loaded";

/// How often the graph gauges are refreshed.
const GAUGE_INTERVAL: Duration = Duration::from_secs(1);
/// Pause after a failed consume, so a broker outage is not a busy loop.
const RETRY_DELAY: Duration = Duration::from_millis(500);
/// How long the start-up end-offset queries may take.
const END_OFFSETS_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads the snapshot off the executor, or starts from an empty graph.
pub async fn load_graph(snapshot: Option<&SnapshotFiles>) -> Result<Graph, ServiceError> {
    let Some(files) = snapshot.cloned() else {
        tracing::info!("no snapshot: starting from an empty graph");
        return Ok(Graph::default());
    };
    tracing::info!(snapshot = %files.snapshot.display(), "loading graph snapshot");
    let graph = tokio::task::spawn_blocking(move || {
        Snapshot::load(&files.snapshot, &files.node_map).map(|s| Graph::from_snapshot(&s))
    })
    .await??;
    tracing::info!(
        nodes = graph.node_count(),
        channels = graph.channel_count(),
        usable_directions = graph.enabled_edge_count(),
        "graph snapshot loaded"
    );
    Ok(graph)
}

/// Runs the router until shutdown; `kafka` `None` serves the snapshot alone. The consumers
/// record their positions in `positions` (for the lag monitor).
pub async fn run(
    config: &ServiceConfig,
    kafka: Option<&KafkaConfig>,
    positions: &ConsumerPositions,
    metrics: &Metrics,
    readiness: &Readiness,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ServiceError> {
    let loaded = readiness.declare(GRAPH_LOADED);
    let graph = load_graph(config.snapshot.as_ref()).await?;
    let state = Arc::new(RouterState::new(graph, metrics)?);
    let server = api::serve(config.listen, Arc::clone(&state))?;
    loaded.set_ready();

    let mut tasks = vec![tokio::spawn(refresh_graph_gauges(
        Arc::clone(&state),
        metrics.gauge("graph_nodes", "Nodes in the routing graph")?,
        metrics.gauge("graph_channels", "Channels in the routing graph")?,
        shutdown.clone(),
    ))];
    if let Some(kafka) = kafka {
        tasks.extend(
            start_consumers(
                config, kafka, &state, positions, metrics, readiness, &shutdown,
            )
            .await?,
        );
    }

    stopped(&mut shutdown).await;
    tracing::info!("router stopping");
    server.stop().await;
    for task in tasks {
        task.await?;
    }
    Ok(())
}

/// Starts the gossip replay and the outcome feed.
async fn start_consumers(
    config: &ServiceConfig,
    kafka: &KafkaConfig,
    state: &Arc<RouterState>,
    positions: &ConsumerPositions,
    metrics: &Metrics,
    readiness: &Readiness,
    shutdown: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, ServiceError> {
    let valid_end = query_end_offsets(kafka, topics::GOSSIP_VALID.name).await?;
    let replay = GossipReplay::start(
        kafka,
        &config.replica_id,
        Arc::clone(state),
        CatchUpTarget::new(valid_end),
        readiness,
        metrics,
    )?;
    let outcomes_end = query_end_offsets(kafka, topics::PAYMENT_OUTCOMES.name).await?;
    let feed = OutcomeFeed::start(
        kafka,
        &config.replica_id,
        Arc::clone(state),
        outcomes_end,
        readiness,
        FeedMetrics::register(metrics)?,
    )?;
    Ok(vec![
        tokio::spawn(drive_replay(replay, positions.clone(), shutdown.clone())),
        tokio::spawn(drive_feed(feed, positions.clone(), shutdown.clone())),
    ])
}

async fn query_end_offsets(
    kafka: &KafkaConfig,
    topic: &'static str,
) -> Result<Vec<(i32, i64)>, ServiceError> {
    let config = kafka.clone();
    let offsets: Result<_, KafkaError> = tokio::task::spawn_blocking(move || {
        kafka::end_offsets(&config, topic, END_OFFSETS_TIMEOUT)
    })
    .await?;
    let offsets = offsets?;
    tracing::info!(topic, ?offsets, "end offsets at start");
    Ok(offsets)
}

/// Applies `ln.gossip.valid` until shutdown; a broker error is retried, never fatal.
async fn drive_replay(
    mut replay: GossipReplay<RouterState>,
    positions: ConsumerPositions,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let step = tokio::select! {
            () = stopped(&mut shutdown) => break,
            step = replay.step() => step,
        };
        match step {
            Ok(()) => positions.record(topics::GOSSIP_VALID.name, replay.next_offsets()),
            Err(error) => {
                tracing::warn!(%error, "consuming ln.gossip.valid failed; retrying");
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
    }
    let stats = replay.stats();
    tracing::info!(
        consumed = stats.consumed,
        applied = stats.applied,
        "gossip replay stopped"
    );
}

/// Applies `ln.payments.outcomes` until shutdown; a broker error is retried, never fatal.
async fn drive_feed(
    mut feed: OutcomeFeed,
    positions: ConsumerPositions,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let step = tokio::select! {
            () = stopped(&mut shutdown) => break,
            step = feed.step() => step,
        };
        match step {
            Ok(_) => positions.record(topics::PAYMENT_OUTCOMES.name, feed.next_offsets()),
            Err(error) => {
                tracing::warn!(%error, "consuming ln.payments.outcomes failed; retrying");
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
    }
    tracing::info!("outcome feed stopped");
}

/// Copies the graph's size into the gauges every [`GAUGE_INTERVAL`] until shutdown.
async fn refresh_graph_gauges(
    state: Arc<RouterState>,
    nodes: IntGauge,
    channels: IntGauge,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(GAUGE_INTERVAL);
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            _ = ticker.tick() => {}
        }
        let (node_count, channel_count) = {
            let graph = state.graph.read().unwrap_or_else(|p| p.into_inner());
            (graph.node_count(), graph.channel_count())
        };
        nodes.set(i64::try_from(node_count).unwrap_or(i64::MAX));
        channels.set(i64::try_from(channel_count).unwrap_or(i64::MAX));
    }
}

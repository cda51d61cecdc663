//! The validator role: [`IngestLoop`] over `ln.gossip.raw`, with periodic pruning.
//!
//! The ingest loop owns its [`Validator`] while it runs and hands it back when stopped, so
//! pruning runs in epochs: run the loop until the prune interval elapses, stop it, prune the
//! returned validator and publish the tombstones, start a new loop with the same validator.
//! Restarting rejoins the consumer group (a short rebalance), which is fine at intervals of
//! minutes to hours; a record redelivered across the restart is caught by the validator's
//! duplicate check.

use std::time::Duration;

use lnfleet_actors::kafka::{KafkaConfig, Publisher};
use lnfleet_actors::telemetry::{Metrics, Readiness};
use prometheus::IntCounter;
use tokio::sync::watch;

use super::{stopped, ServiceConfig, ServiceError};
use crate::chain::NoChainSource;
use crate::ingest::{publish_tombstones, system_now_ms, IngestLoop, IngestMetrics};
use crate::validate::{Validator, ValidatorConfig};

/// The readiness check of the validator role: ready once subscribed to `ln.gossip.raw`.
pub const READINESS_CHECK: &str = "gossip_ingest";

/// The chain source the validator checks funding outputs with.
///
/// The place for `--bitcoind-url`: build a `crate::chain::bitcoind::BitcoindChainSource` here
/// (and run its calls off the executor, see [`crate::ingest`]). Until then every scid is
/// accepted unchecked.
fn chain_source(_config: &ServiceConfig) -> NoChainSource {
    NoChainSource
}

/// Runs validator epochs until shutdown.
pub async fn run(
    config: &ServiceConfig,
    kafka: &KafkaConfig,
    metrics: &Metrics,
    readiness: &Readiness,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ServiceError> {
    let ready = readiness.declare(READINESS_CHECK);
    let ingest_metrics = IngestMetrics::register(metrics)?;
    let tombstones_published = metrics.counter(
        "gossip_tombstones_published_total",
        "Tombstones published to ln.gossip.valid for pruned channels",
    )?;
    let publisher = Publisher::new(kafka)?;
    let mut validator = Validator::new(
        ValidatorConfig::new(config.chain_hash),
        chain_source(config),
    );
    tracing::info!(
        chain_hash = %hex::encode(config.chain_hash.0),
        prune_interval_secs = config.prune_interval.map(|d| d.as_secs()),
        "validator starting"
    );
    loop {
        let ingest = IngestLoop::new(kafka, validator, ingest_metrics.clone())?;
        ready.set_ready();
        let (stop_epoch, epoch) = watch::channel(false);
        let task = tokio::spawn(ingest.run(epoch));
        let shutting_down = tokio::select! {
            () = stopped(&mut shutdown) => true,
            () = prune_due(config.prune_interval) => false,
        };
        // Ignored error: the loop may have ended on its own and dropped its receiver.
        let _ = stop_epoch.send(true);
        validator = task.await?;
        if shutting_down {
            return Ok(());
        }
        prune(&mut validator, &publisher, &tombstones_published).await;
    }
}

async fn prune_due(interval: Option<Duration>) {
    match interval {
        Some(interval) => tokio::time::sleep(interval).await,
        None => std::future::pending().await,
    }
}

async fn prune<C: crate::chain::ChainSource>(
    validator: &mut Validator<C>,
    publisher: &Publisher,
    published: &IntCounter,
) {
    let tombstones = validator.prune(system_now_ms() / 1000);
    if tombstones.is_empty() {
        tracing::debug!("prune: nothing stale");
        return;
    }
    match publish_tombstones(publisher, &tombstones).await {
        Ok(count) => {
            published.inc_by(u64::try_from(count).unwrap_or(u64::MAX));
            tracing::info!(count, "stale channels pruned; tombstones published");
        }
        // The validator already forgot them; routers keep the channels until they go stale
        // there too or a later prune of a restarted validator catches them.
        Err(error) => {
            tracing::warn!(%error, pruned = tombstones.len(), "publishing tombstones failed")
        }
    }
}

//! The validator role: one [`IngestLoop`] over `ln.gossip.raw`, following `ln.gossip.valid` for
//! what other replicas accepted, pruning on its own tick (see [`crate::ingest`]), with the
//! funding check done by bitcoind when one is configured.

use std::time::Duration;

use lnfleet_actors::kafka::KafkaConfig;
use lnfleet_actors::telemetry::{Metrics, Readiness};
use tokio::sync::watch;

use super::{BitcoindConfig, ServiceConfig, ServiceError};
use crate::chain::http::HttpTransport;
use crate::chain::{BitcoindChainSource, ChainSource, NoChainSource};
use crate::ingest::{IngestLoop, IngestMetrics};
use crate::validate::{Validator, ValidatorConfig};

/// The readiness check of the validator role: ready once subscribed to `ln.gossip.raw`.
pub const READINESS_CHECK: &str = "gossip_ingest";

/// Updates and node announcements parked at once, per kind.
const PENDING_MAX_ENTRIES: usize = 20_000;

/// Effectively never: what `--prune-interval-secs 0` means.
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Runs the validator until shutdown, with bitcoind's funding check if configured.
pub async fn run(
    config: &ServiceConfig,
    kafka: &KafkaConfig,
    metrics: &Metrics,
    readiness: &Readiness,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ServiceError> {
    match &config.bitcoind {
        None => {
            tracing::warn!("no --bitcoind-url: funding outputs are not checked");
            run_with(config, kafka, metrics, readiness, shutdown, NoChainSource).await
        }
        Some(bitcoind) => {
            let transport = bitcoind_transport(bitcoind)?;
            tracing::info!(url = %bitcoind.url, "funding outputs checked by bitcoind");
            let chain = BitcoindChainSource::new(transport);
            run_with(config, kafka, metrics, readiness, shutdown, chain).await
        }
    }
}

fn bitcoind_transport(bitcoind: &BitcoindConfig) -> Result<HttpTransport, ServiceError> {
    match (&bitcoind.cookie_file, &bitcoind.credentials) {
        (Some(cookie), _) => {
            HttpTransport::from_cookie_file(&bitcoind.url, cookie, bitcoind.timeout)
                .map_err(|e| ServiceError::Bitcoind(e.to_string()))
        }
        (None, Some(credentials)) => Ok(HttpTransport::new(
            &bitcoind.url,
            credentials,
            bitcoind.timeout,
        )),
        (None, None) => Err(ServiceError::Bitcoind(
            "give --bitcoind-cookie-file or --bitcoind-user and --bitcoind-password".into(),
        )),
    }
}

async fn run_with<C: ChainSource + Send + 'static>(
    config: &ServiceConfig,
    kafka: &KafkaConfig,
    metrics: &Metrics,
    readiness: &Readiness,
    shutdown: watch::Receiver<bool>,
    chain: C,
) -> Result<(), ServiceError> {
    let ready = readiness.declare(READINESS_CHECK);
    let ingest_metrics = IngestMetrics::register(metrics)?;
    let validator = Validator::new(ValidatorConfig::new(config.chain_hash), chain);
    tracing::info!(
        chain_hash = %hex::encode(config.chain_hash.0),
        prune_interval_secs = config.prune_interval.map(|d| d.as_secs()),
        "validator starting"
    );
    let ingest = IngestLoop::new(kafka, validator, ingest_metrics)?
        .with_prune_interval(config.prune_interval.unwrap_or(NEVER))
        .with_pending_limits(PENDING_MAX_ENTRIES, config.pending_max_age);
    ready.set_ready();
    ingest.run(shutdown).await;
    Ok(())
}

//! The `gossip-service` process, composed from the library parts so `main.rs` only parses flags
//! and wires signals.
//!
//! # Roles
//!
//! Validating and routing scale differently, so one binary runs either or both:
//!
//! - **validator** ([`validator`]): consumes `ln.gossip.raw` in the shared group
//!   [`crate::ingest::CONSUMER_GROUP`] (replicas split the partitions), validates, publishes
//!   accepted gossip to `ln.gossip.valid`, and periodically prunes stale channels (tombstones).
//!   Its state is the validator's view of the network, which only it needs.
//! - **router** ([`router`]): holds a full graph and answers `getroute`. The graph starts from the
//!   snapshot if one is given (else empty) and [`crate::replay::GossipReplay`] replays
//!   `ln.gossip.valid` on top of it, then follows it live; [`crate::mission_control::feed`]
//!   applies `ln.payments.outcomes` to mission control. Each router replica reads both topics
//!   in groups of its own from the earliest offset, so replicas are interchangeable: the same log
//!   gives the same graph and the same liquidity knowledge, and any of them can answer.
//! - **all**: both in one process (small deployments, tests).
//!
//! Without Kafka the service is a router over the snapshot alone (no replay, no feed).
//!
//! # Readiness and metrics
//!
//! `/readyz` turns ready when every declared check is: `graph_loaded` (snapshot read),
//! `gossip_replay` and `outcome_feed` (caught up with the end offsets seen at start) for a
//! router; `gossip_ingest` (subscribed) for a validator. Metrics: the ingest counters,
//! `graph_nodes` / `graph_channels` gauges, `mission_control_outcomes_total{result}`,
//! `consumer_lag_records{topic}` ([`lag`]).
//!
//! - [`lag`]: consumer positions and the periodic lag poll.
//! - [`validator`]: the validator role.
//! - [`router`]: the router role.

pub mod lag;
pub mod router;
pub mod validator;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lnfleet_actors::kafka::{self, KafkaConfig, KafkaError};
use lnfleet_actors::telemetry::{Metrics, MetricsError, Readiness};
use lnfleet_actors::topics;
use lnfleet_wire::ChainHash;
use tokio::sync::watch;

use self::lag::{register_lag_gauge, run_lag_monitor, ConsumerPositions, LagSource};
use crate::mission_control::feed::FeedError;
use crate::replay::ReplayError;
use crate::snapshot::SnapshotError;

/// Which parts of the service this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    All,
    Validator,
    Router,
}

impl Role {
    pub fn validates(self) -> bool {
        matches!(self, Role::All | Role::Validator)
    }

    pub fn routes(self) -> bool {
        matches!(self, Role::All | Role::Router)
    }
}

/// A graph snapshot and its node map (format: data/lngraph/README.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFiles {
    pub snapshot: PathBuf,
    pub node_map: PathBuf,
}

/// Everything the service needs besides telemetry, which the caller owns.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// `None`: router over the snapshot alone.
    pub kafka: Option<KafkaConfig>,
    pub role: Role,
    /// Names this replica's consumer groups and logs.
    pub replica_id: String,
    /// The only chain the validator accepts.
    pub chain_hash: ChainHash,
    pub snapshot: Option<SnapshotFiles>,
    /// Where the JSON-RPC API listens (router role).
    pub listen: SocketAddr,
    /// How often the validator prunes stale channels; `None` never.
    pub prune_interval: Option<Duration>,
    /// How often consumer lag is polled from the broker.
    pub lag_poll_interval: Duration,
    /// How long an update or node announcement waits for its channel before it is dropped as
    /// `unknown_channel` / `unknown_node`.
    pub pending_max_age: Duration,
    /// The validator's funding check; `None` accepts every scid unchecked.
    pub bitcoind: Option<BitcoindConfig>,
}

/// Where bitcoind's JSON-RPC is and how to log in (a cookie file, or user and password).
#[derive(Debug, Clone)]
pub struct BitcoindConfig {
    pub url: String,
    pub cookie_file: Option<std::path::PathBuf>,
    pub credentials: Option<crate::chain::RpcCredentials>,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("without --kafka the service only routes over a snapshot: give --snapshot")]
    SnapshotRequired,
    #[error("bitcoind: {0}")]
    Bitcoind(String),
    #[error("the validator role needs --kafka")]
    ValidatorNeedsKafka,
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("metrics: {0}")]
    Metrics(#[from] MetricsError),
    #[error("loading the snapshot: {0}")]
    Snapshot(#[from] SnapshotError),
    #[error("gossip replay: {0}")]
    Replay(#[from] ReplayError),
    #[error("outcome feed: {0}")]
    Feed(#[from] FeedError),
    #[error("routing api: {0}")]
    Api(#[from] std::io::Error),
    #[error("a service task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Why a `--chain-hash` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chain hash {0:?} is not mainnet, regtest or 64 hex characters (wire byte order)")]
pub struct BadChainHash(pub String);

/// `mainnet` (or `bitcoin`), `regtest`, or 64 hex characters in wire byte order (as in
/// `chain_hash` fields, e.g. mainnet is `6fe28c0a…00`).
pub fn parse_chain_hash(text: &str) -> Result<ChainHash, BadChainHash> {
    match text {
        "mainnet" | "bitcoin" => return Ok(ChainHash::BITCOIN),
        "regtest" => return Ok(ChainHash::REGTEST),
        _ => {}
    }
    hex::decode(text)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(ChainHash)
        .ok_or_else(|| BadChainHash(text.to_owned()))
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Role as clap::ValueEnum>::from_str(s, true)
    }
}

/// Declares every readiness check the configured roles will flip, so `/readyz` is not ready
/// (an empty set of checks is) between the telemetry server starting and the roles starting.
/// [`run`] does it too; declaring again keeps a check's state.
pub fn declare_checks(config: &ServiceConfig, readiness: &Readiness) {
    if config.role.routes() || config.kafka.is_none() {
        readiness.declare(router::GRAPH_LOADED);
    }
    if config.kafka.is_none() {
        return;
    }
    readiness.declare(KAFKA_TOPICS_CHECK);
    if config.role.validates() {
        readiness.declare(validator::READINESS_CHECK);
    }
    if config.role.routes() {
        readiness.declare(crate::replay::READINESS_CHECK);
        readiness.declare(crate::mission_control::feed::READINESS_CHECK);
    }
}

/// The readiness check of the topics' creation.
pub const KAFKA_TOPICS_CHECK: &str = "kafka_topics";

/// Runs the configured roles until `shutdown` turns true (or its sender is dropped).
pub async fn run(
    config: ServiceConfig,
    metrics: &Metrics,
    readiness: &Readiness,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ServiceError> {
    declare_checks(&config, readiness);
    let Some(kafka_config) = config.kafka.clone() else {
        if config.snapshot.is_none() {
            return Err(ServiceError::SnapshotRequired);
        }
        if config.role == Role::Validator {
            return Err(ServiceError::ValidatorNeedsKafka);
        }
        let unused = ConsumerPositions::new();
        return router::run(&config, None, &unused, metrics, readiness, shutdown).await;
    };
    let topics_ready = readiness.declare(KAFKA_TOPICS_CHECK);
    kafka::ensure_topics(&kafka_config, &topics::ALL).await?;
    topics_ready.set_ready();

    let positions = ConsumerPositions::new();
    let mut lag_sources = Vec::new();
    if config.role.validates() {
        lag_sources.push(LagSource::Group {
            topic: topics::GOSSIP_RAW.name,
            group: crate::ingest::CONSUMER_GROUP.to_owned(),
        });
    }
    if config.role.routes() {
        lag_sources.push(LagSource::Positions(topics::GOSSIP_VALID.name));
        lag_sources.push(LagSource::Positions(topics::PAYMENT_OUTCOMES.name));
    }
    let lag_monitor = tokio::spawn(run_lag_monitor(
        kafka_config.clone(),
        positions.clone(),
        lag_sources,
        register_lag_gauge(metrics)?,
        config.lag_poll_interval,
        shutdown.clone(),
    ));

    let validator = async {
        if config.role.validates() {
            validator::run(&config, &kafka_config, metrics, readiness, shutdown.clone()).await
        } else {
            Ok(())
        }
    };
    let router = async {
        if config.role.routes() {
            router::run(
                &config,
                Some(&kafka_config),
                &positions,
                metrics,
                readiness,
                shutdown.clone(),
            )
            .await
        } else {
            Ok(())
        }
    };
    let result = tokio::try_join!(validator, router).map(|_| ());
    // On an error the roles did not see a shutdown: stop the monitor rather than wait for it.
    lag_monitor.abort();
    if let Err(error) = lag_monitor.await {
        if !error.is_cancelled() {
            return Err(error.into());
        }
    }
    result
}

/// Resolves once `shutdown` is true or its sender is gone.
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_hashes_parse_by_name_and_hex() {
        assert_eq!(parse_chain_hash("mainnet"), Ok(ChainHash::BITCOIN));
        assert_eq!(parse_chain_hash("regtest"), Ok(ChainHash::REGTEST));
        assert_eq!(
            parse_chain_hash(&hex::encode(ChainHash::REGTEST.0)),
            Ok(ChainHash::REGTEST)
        );
        assert!(parse_chain_hash("6fe28c").is_err());
        assert!(parse_chain_hash("testnet").is_err());
    }

    #[test]
    fn every_check_of_a_role_is_declared_up_front() {
        let config = |kafka: bool, role| ServiceConfig {
            kafka: kafka.then(|| KafkaConfig::new("127.0.0.1:1", "test")),
            role,
            replica_id: "r".into(),
            chain_hash: ChainHash::BITCOIN,
            snapshot: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            prune_interval: None,
            pending_max_age: Duration::from_secs(600),
            bitcoind: None,
            lag_poll_interval: Duration::from_secs(1),
        };
        let failing = |config: &ServiceConfig| {
            let readiness = Readiness::new();
            declare_checks(config, &readiness);
            readiness.report().failing
        };
        assert_eq!(failing(&config(false, Role::All)), ["graph_loaded"]);
        assert_eq!(
            failing(&config(true, Role::Router)),
            [
                "gossip_replay",
                "graph_loaded",
                "kafka_topics",
                "outcome_feed"
            ]
        );
        assert_eq!(
            failing(&config(true, Role::Validator)),
            ["gossip_ingest", "kafka_topics"]
        );
    }

    #[test]
    fn roles_say_what_they_run() {
        assert!(Role::All.validates() && Role::All.routes());
        assert!(Role::Validator.validates() && !Role::Validator.routes());
        assert!(!Role::Router.validates() && Role::Router.routes());
        assert_eq!("router".parse::<Role>(), Ok(Role::Router));
    }
}

//! `gossip-service`: gossip validation and routing (see `lnfleet_gossip::service` for the roles).
//!
//! - Without `--kafka`: the routing API over `--snapshot` alone (no Kafka or Redis needed).
//! - With `--kafka`: `--role validator` validates `ln.gossip.raw` into `ln.gossip.valid`;
//!   `--role router` replays `ln.gossip.valid` (on top of `--snapshot` if given) and
//!   `ln.payments.outcomes` and answers `getroute`; `--role all` (the default) does both.
//!
//! Stops cleanly on SIGTERM or ctrl-c.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use lnfleet_actors::kafka::KafkaConfig;
use lnfleet_actors::telemetry::{init_tracing, serve, LogFormat, Metrics, Readiness};
use lnfleet_gossip::chain::RpcCredentials;
use lnfleet_gossip::service::{
    self, parse_chain_hash, BitcoindConfig, Role, ServiceConfig, SnapshotFiles,
};
use lnfleet_wire::ChainHash;
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "gossip-service",
    about = "lnfleet's gossip and routing service"
)]
struct Args {
    /// The `*.compressed` graph snapshot (format: data/lngraph/README.md). Required without
    /// --kafka; with it, the router's starting graph (else it starts empty).
    #[arg(long, env = "LNFLEET_GOSSIP_SNAPSHOT")]
    snapshot: Option<PathBuf>,
    /// Its node map; defaults to `<snapshot stem>-node-map.xz` beside it.
    #[arg(long)]
    node_map: Option<PathBuf>,
    /// Kafka bootstrap servers (`host:port,...`); without it only the snapshot is served.
    #[arg(long, env = "LNFLEET_KAFKA")]
    kafka: Option<String>,
    /// What this process runs (with --kafka).
    #[arg(long, value_enum, env = "LNFLEET_GOSSIP_ROLE", default_value = "all")]
    role: Role,
    /// Names this replica's consumer groups; defaults to the host name and pid.
    #[arg(long, env = "LNFLEET_GOSSIP_REPLICA_ID")]
    replica_id: Option<String>,
    /// The chain the validator accepts: mainnet, regtest, or 64 hex characters in wire order.
    #[arg(long, env = "LNFLEET_CHAIN_HASH", default_value = "mainnet", value_parser = parse_chain_hash)]
    chain_hash: ChainHash,
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
    /// How often the validator prunes stale channels; 0 never.
    #[arg(
        long,
        env = "LNFLEET_GOSSIP_PRUNE_INTERVAL_SECS",
        default_value_t = 3600
    )]
    prune_interval_secs: u64,
    /// How long gossip whose channel is not known yet waits for it (messages from several
    /// partitions arrive out of order) before it counts as unknown_channel / unknown_node.
    #[arg(long, default_value_t = 600)]
    pending_max_age_secs: u64,
    /// How often consumer lag is polled from the broker.
    #[arg(long, default_value_t = 5)]
    lag_poll_interval_secs: u64,
    /// Kafka consumer-group session timeout.
    #[arg(long, default_value_t = 10)]
    kafka_session_timeout_secs: u64,
    /// bitcoind's JSON-RPC URL for the funding check of new channels (validator role);
    /// without it every short_channel_id is accepted unchecked.
    #[arg(long, env = "LNFLEET_BITCOIND_URL")]
    bitcoind_url: Option<String>,
    /// bitcoind's `.cookie` file (preferred over user and password).
    #[arg(long, env = "LNFLEET_BITCOIND_COOKIE_FILE")]
    bitcoind_cookie_file: Option<PathBuf>,
    #[arg(long, env = "LNFLEET_BITCOIND_USER")]
    bitcoind_user: Option<String>,
    #[arg(long, env = "LNFLEET_BITCOIND_PASSWORD", hide_env_values = true)]
    bitcoind_password: Option<String>,
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

impl Args {
    fn service_config(&self) -> ServiceConfig {
        let replica_id = self.replica_id.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "gossip".into());
            format!("{host}-{}", std::process::id())
        });
        let kafka = self.kafka.as_ref().map(|brokers| {
            let mut config = KafkaConfig::new(brokers, format!("gossip-service-{replica_id}"));
            config.session_timeout = Duration::from_secs(self.kafka_session_timeout_secs);
            config
        });
        ServiceConfig {
            kafka,
            role: self.role,
            replica_id,
            chain_hash: self.chain_hash,
            snapshot: self.snapshot.as_ref().map(|snapshot| SnapshotFiles {
                snapshot: snapshot.clone(),
                node_map: self
                    .node_map
                    .clone()
                    .unwrap_or_else(|| default_node_map(snapshot)),
            }),
            listen: self.listen,
            prune_interval: (self.prune_interval_secs > 0)
                .then(|| Duration::from_secs(self.prune_interval_secs)),
            lag_poll_interval: Duration::from_secs(self.lag_poll_interval_secs.max(1)),
            pending_max_age: Duration::from_secs(self.pending_max_age_secs.max(1)),
            bitcoind: self.bitcoind_url.as_ref().map(|url| BitcoindConfig {
                url: url.clone(),
                cookie_file: self.bitcoind_cookie_file.clone(),
                credentials: match (&self.bitcoind_user, &self.bitcoind_password) {
                    (Some(user), Some(password)) => Some(RpcCredentials {
                        user: user.clone(),
                        password: password.clone(),
                    }),
                    _ => None,
                },
                timeout: Duration::from_secs(10),
            }),
        }
    }
}

/// Turns true on SIGTERM or ctrl-c.
fn shutdown_on_signals() -> anyhow::Result<watch::Receiver<bool>> {
    let (stop, stopped) = watch::channel(false);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("ctrl-c: stopping"),
            _ = sigterm.recv() => tracing::info!("sigterm: stopping"),
        }
        // Ignored error: every receiver is gone, so nothing is left to stop.
        let _ = stop.send(true);
    });
    Ok(stopped)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_tracing("gossip", LogFormat::from_str(&args.log_format)?);
    let config = args.service_config();
    let metrics = Metrics::new("gossip")?;
    let readiness = Readiness::new();
    service::declare_checks(&config, &readiness);
    let telemetry = serve(args.metrics_listen, metrics.clone(), readiness.clone())?;
    let shutdown = shutdown_on_signals()?;
    tracing::info!(role = ?config.role, replica_id = %config.replica_id, kafka = ?args.kafka, "gossip service starting");
    let result = service::run(config, &metrics, &readiness, shutdown).await;
    telemetry.stop().await;
    result?;
    tracing::info!("gossip service stopped cleanly");
    Ok(())
}

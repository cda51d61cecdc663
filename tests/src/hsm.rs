//! An hsm-service replica started in-process (the same library the binary runs), for the local
//! cluster and the cross-service tests.

use std::net::SocketAddr;
use std::sync::Arc;

use lnfleet_actors::hsm::{AuthConfig, Authenticator, ClientCredential};
use lnfleet_actors::telemetry::{serve, Metrics, Readiness, TelemetryServer};
use lnfleet_hsm::config::{register_clients, ClientEntry};
use lnfleet_hsm::service::{HsmMetrics, HsmService, StreamConfig};
use lnfleet_hsm::{ChannelSigner, KeySource, Policy, Seed, Signer, Store};
use secp256k1::PublicKey;
use std::path::Path;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A client the replica knows, with its permission names as in the registry file.
pub struct HsmClientSpec {
    pub credential: ClientCredential,
    pub key: [u8; 32],
    pub permissions: Vec<&'static str>,
}

impl HsmClientSpec {
    /// A client with a random key.
    pub fn new(id: &str, permissions: &[&'static str]) -> Self {
        let key: [u8; 32] = secp256k1::rand::random();
        HsmClientSpec {
            credential: ClientCredential::new(id, key).expect("valid client id"),
            key,
            permissions: permissions.to_vec(),
        }
    }
}

/// A running replica; dropping it stops the stream loop and the telemetry server.
pub struct RunningHsm {
    pub node_ids: Vec<PublicKey>,
    pub telemetry_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    _telemetry: TelemetryServer,
    _store_dir: Option<tempfile::TempDir>,
}

impl RunningHsm {
    /// A replica with its store in a fresh temporary directory.
    pub async fn start(
        redis_url: &str,
        consumer: &str,
        seed: &[u8],
        node_indices: &[u32],
        clients: &[&HsmClientSpec],
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let store = dir.path().join("hsm.redb");
        let mut hsm =
            Self::start_with_store(redis_url, consumer, seed, node_indices, clients, &store)
                .await?;
        hsm._store_dir = Some(dir);
        Ok(hsm)
    }

    /// A replica on the store file `store` (reopened after a restart, as on a real volume).
    pub async fn start_with_store(
        redis_url: &str,
        consumer: &str,
        seed: &[u8],
        node_indices: &[u32],
        clients: &[&HsmClientSpec],
        store: &Path,
    ) -> anyhow::Result<Self> {
        let config = StreamConfig::new(redis_url, consumer);
        Self::start_with_config(config, seed, node_indices, clients, store).await
    }

    /// A replica with its stream settings (consumer name, claim timings) given.
    pub async fn start_with_config(
        config: StreamConfig,
        seed: &[u8],
        node_indices: &[u32],
        clients: &[&HsmClientSpec],
        store: &Path,
    ) -> anyhow::Result<Self> {
        let signer = Signer::new(
            KeySource::Derived(Seed::from_bytes(seed)?),
            node_indices.iter().copied(),
        )?;
        let mut auth = Authenticator::new(AuthConfig::default());
        let entries = clients
            .iter()
            .map(|client| ClientEntry {
                id: client.credential.client_id().to_owned(),
                key_hex: hex::encode(client.key),
                permissions: client.permissions.iter().map(|p| p.to_string()).collect(),
            })
            .collect();
        register_clients(entries, &mut auth)?;
        let metrics = Metrics::new("hsm")?;
        let readiness = Readiness::new();
        let redis_ready = readiness.declare("redis");
        let hsm_metrics = HsmMetrics::register(&metrics)?;
        let telemetry = serve("127.0.0.1:0".parse()?, metrics, readiness)?;
        let node_ids = signer.node_ids();
        let core = ChannelSigner::new(signer, Store::open(store)?, Policy::default());
        let service = Arc::new(HsmService::new(core, auth, hsm_metrics));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(service.run(config, redis_ready, stopped));
        Ok(RunningHsm {
            node_ids,
            telemetry_addr: telemetry.local_addr(),
            stop,
            task,
            _telemetry: telemetry,
            _store_dir: None,
        })
    }
}

impl Drop for RunningHsm {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}

pub use crate::http::http_get;

/// An `HsmClient` for `spec` on `redis_url`, with its own metrics registry.
pub async fn connect_client(
    redis_url: &str,
    spec: &HsmClientSpec,
    timeout: std::time::Duration,
) -> anyhow::Result<lnfleet_actors::hsm::HsmClient> {
    use lnfleet_actors::hsm::{HsmClient, HsmClientConfig, HsmClientMetrics};
    let registry = prometheus::Registry::new();
    let config = HsmClientConfig {
        timeout,
        ..HsmClientConfig::default()
    };
    Ok(HsmClient::connect(
        redis_url,
        spec.credential.clone(),
        config,
        HsmClientMetrics::register(&registry)?,
    )
    .await?)
}

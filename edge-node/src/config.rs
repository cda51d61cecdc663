//! The `edge-node` command line. There is deliberately no option to load a node secret: the
//! handshake's ECDH is the HSM's, and an edge only holds its HSM client credential.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use lnfleet_actors::hsm::{ClientCredential, HsmClientConfig};
use lnfleet_actors::kafka::KafkaConfig;
use lnfleet_wire::ChainHash;
use secp256k1::PublicKey;

use crate::node::EdgeConfig;
use crate::peer::PeerConfig;

#[derive(Debug, Parser)]
#[command(
    name = "edge-node",
    about = "An lnfleet edge: BOLT 8 peers for the cluster's node ids"
)]
pub struct Args {
    /// This edge's id, unique in the cluster (default: the host name).
    #[arg(long, env = "LNFLEET_EDGE_ID")]
    pub edge_id: Option<String>,
    /// Where peers connect.
    #[arg(long, env = "LNFLEET_EDGE_LISTEN", default_value = "0.0.0.0:9735")]
    pub listen: SocketAddr,
    /// The node id to serve (hex); default: the first one the HSM holds.
    #[arg(long, env = "LNFLEET_EDGE_NODE_ID")]
    pub node_id: Option<String>,
    /// bitcoin, testnet, signet or regtest.
    #[arg(long, env = "LNFLEET_NETWORK", default_value = "bitcoin")]
    pub network: String,
    #[arg(
        long,
        env = "LNFLEET_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,
    /// Kafka bootstrap servers.
    #[arg(long, env = "LNFLEET_KAFKA", default_value = "127.0.0.1:9092")]
    pub kafka: String,
    #[arg(long, env = "LNFLEET_KAFKA_SESSION_TIMEOUT_SECS", default_value_t = 10)]
    pub kafka_session_timeout_secs: u64,
    /// This edge's HSM client id (the HSM's client registry names it, with permission `ecdh`).
    #[arg(long, env = "LNFLEET_HSM_CLIENT_ID")]
    pub hsm_client_id: String,
    /// A file holding the HSM client's 32-byte HMAC key as hex.
    #[arg(long, env = "LNFLEET_HSM_CLIENT_KEY_FILE")]
    pub hsm_client_key_file: PathBuf,
    /// The gossip service's routing endpoint (JSON-RPC).
    #[arg(
        long,
        env = "LNFLEET_GOSSIP_URL",
        default_value = "http://127.0.0.1:9302/"
    )]
    pub gossip_url: String,
    /// Core Lightning style RPC socket.
    #[arg(long, env = "LNFLEET_RPC_FILE", default_value = "lightning-rpc")]
    pub rpc_file: PathBuf,
    /// Also serve the RPC over HTTP here.
    #[arg(long, env = "LNFLEET_RPC_LISTEN")]
    pub rpc_listen: Option<SocketAddr>,
    /// `/metrics`, `/healthz`, `/readyz`.
    #[arg(
        long,
        env = "LNFLEET_EDGE_METRICS_LISTEN",
        default_value = "0.0.0.0:9304"
    )]
    pub metrics_listen: SocketAddr,
    #[arg(long, env = "LNFLEET_EDGE_ALIAS", default_value = "lnfleet")]
    pub alias: String,
    /// Keepalive: a ping this often.
    #[arg(long, default_value_t = 30)]
    pub ping_interval_secs: u64,
    /// Keepalive: drop a peer whose pong takes longer.
    #[arg(long, default_value_t = 20)]
    pub pong_timeout_secs: u64,
    /// Peer leases expire this long after the edge stops renewing them.
    #[arg(long, default_value_t = 15)]
    pub lease_ttl_secs: u64,
    #[arg(long, default_value_t = 5)]
    pub heartbeat_interval_secs: u64,
    /// On SIGTERM: at most this long to release leases and close connections.
    #[arg(long, env = "LNFLEET_EDGE_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    #[arg(long, env = "LNFLEET_LOG_FORMAT", default_value = "human")]
    pub log_format: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown network {0}: use bitcoin, testnet, signet or regtest")]
    Network(String),
    #[error("--node-id: not a node id")]
    NodeId,
    #[error("reading the hsm client key {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the hsm client key must be 64 hex characters")]
    KeyFormat,
    #[error("hsm client id: {0}")]
    ClientId(String),
}

/// BOLT 0's `chain_hash`: the genesis block hash in internal byte order.
pub fn chain_hash(network: &str) -> Result<ChainHash, ConfigError> {
    let internal_order = match network {
        "bitcoin" | "mainnet" => return Ok(ChainHash::BITCOIN),
        "regtest" => return Ok(ChainHash::REGTEST),
        "testnet" => "43497fd7f826957108f4a30fd9cec3aeba79972084e90ead01ea330900000000",
        "signet" => "f61eee3b63a380a477a063af32b2bbc97c9ff9f01f2c4225e973988108000000",
        other => return Err(ConfigError::Network(other.to_owned())),
    };
    let bytes: [u8; 32] = hex::decode(internal_order)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ConfigError::Network(network.to_owned()))?;
    Ok(ChainHash(bytes))
}

impl Args {
    pub fn edge_config(&self) -> Result<EdgeConfig, ConfigError> {
        let edge_id = self.edge_id.clone().unwrap_or_else(|| {
            std::env::var("HOSTNAME").unwrap_or_else(|_| format!("edge-{}", std::process::id()))
        });
        let node_id = self
            .node_id
            .as_deref()
            .map(|text| {
                hex::decode(text)
                    .ok()
                    .and_then(|bytes| PublicKey::from_slice(&bytes).ok())
                    .ok_or(ConfigError::NodeId)
            })
            .transpose()?;
        let key_text = std::fs::read_to_string(&self.hsm_client_key_file).map_err(|source| {
            ConfigError::KeyFile {
                path: self.hsm_client_key_file.clone(),
                source,
            }
        })?;
        let key: [u8; 32] = hex::decode(key_text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ConfigError::KeyFormat)?;
        let hsm_credential = ClientCredential::new(&self.hsm_client_id, key)
            .map_err(|e| ConfigError::ClientId(e.to_string()))?;
        let chain = chain_hash(&self.network)?;
        let mut kafka = KafkaConfig::new(&self.kafka, format!("edge-{edge_id}"));
        kafka.session_timeout = Duration::from_secs(self.kafka_session_timeout_secs.max(1));
        let mut peer = PeerConfig::default();
        peer.session.chain = chain;
        peer.session.ping_interval = Duration::from_secs(self.ping_interval_secs.max(1));
        peer.session.pong_timeout = Duration::from_secs(self.pong_timeout_secs.max(1));
        Ok(EdgeConfig {
            edge_id,
            listen: self.listen,
            node_id,
            chain,
            network: self.network.clone(),
            redis_url: self.redis_url.clone(),
            kafka,
            hsm_credential,
            hsm: HsmClientConfig::default(),
            gossip_url: self.gossip_url.clone(),
            rpc_file: Some(self.rpc_file.clone()),
            rpc_listen: self.rpc_listen,
            alias: self.alias.clone(),
            peer,
            lease_ttl: Duration::from_secs(self.lease_ttl_secs.max(1)),
            heartbeat_interval: Duration::from_secs(self.heartbeat_interval_secs.max(1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_hashes_are_the_genesis_hashes_in_internal_order() {
        assert_eq!(chain_hash("bitcoin").unwrap(), ChainHash::BITCOIN);
        assert_eq!(chain_hash("regtest").unwrap(), ChainHash::REGTEST);
        let testnet = chain_hash("testnet").unwrap();
        // Displayed (reversed) it is testnet3's well-known genesis hash.
        let mut shown = testnet.0;
        shown.reverse();
        assert_eq!(
            hex::encode(shown),
            "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943"
        );
        assert!(chain_hash("litecoin").is_err());
    }
}

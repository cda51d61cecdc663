//! How an HSM replica is configured: flags and environment (clap), the seed, and the client
//! registry file that says who may ask what.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use lnfleet_actors::hsm::{AuthConfig, Authenticator, ClientCredential, Permission};
use serde::Deserialize;

use crate::channels::ChannelSigner;
use crate::key_source::KeySource;
use crate::policy::Policy;
use crate::seed::{Seed, SeedError};
use crate::signer::{Signer, SignerError};
use crate::store::{Store, StoreError};

/// `hsm-service` command line. Every flag also reads an environment variable, so a Kubernetes
/// Secret can provide the seed and the client keys.
#[derive(Debug, Parser)]
#[command(name = "hsm-service", about = "lnfleet's remote signer")]
pub struct HsmArgs {
    /// Redis holding the request stream.
    #[arg(
        long,
        env = "LNFLEET_REDIS_URL",
        default_value = "redis://127.0.0.1:6379/"
    )]
    pub redis_url: String,
    /// File holding the seed (32 raw bytes, or hex). Never logged.
    #[arg(long, env = "LNFLEET_HSM_SEED_FILE")]
    pub seed_file: Option<PathBuf>,
    /// Name of an environment variable holding the seed as hex (when no seed file is given).
    #[arg(long, default_value = "LNFLEET_HSM_SEED")]
    pub seed_env: String,
    /// Index of a node key to serve (repeat for several virtual nodes).
    #[arg(
        long = "node-index",
        env = "LNFLEET_HSM_NODE_INDICES",
        value_delimiter = ',',
        default_value = "0"
    )]
    pub node_indices: Vec<u32>,
    /// The HSM's own durable store (policy state, idempotency), on its own volume. Never Redis.
    #[arg(long, env = "LNFLEET_HSM_STORE")]
    pub store: PathBuf,
    /// JSON client registry: `[{"id": "edge-1", "key_hex": "<64 hex>", "permissions": ["ecdh"]}]`.
    #[arg(long, env = "LNFLEET_HSM_CLIENTS")]
    pub clients: PathBuf,
    /// This replica's consumer name (unique per replica; defaults to the host name).
    #[arg(long, env = "LNFLEET_HSM_CONSUMER")]
    pub consumer: Option<String>,
    /// Where `/metrics`, `/healthz` and `/readyz` listen.
    #[arg(
        long,
        env = "LNFLEET_HSM_METRICS_LISTEN",
        default_value = "127.0.0.1:9301"
    )]
    pub metrics_listen: SocketAddr,
    /// How far a request's timestamp may be from our clock.
    #[arg(long, default_value_t = 30)]
    pub max_clock_skew_secs: u64,
    /// Pending requests idle this long belong to a dead replica and are claimed (milliseconds).
    #[arg(long, env = "LNFLEET_HSM_CLAIM_IDLE_MS", default_value_t = 15_000)]
    pub claim_idle_ms: u64,
    /// How often to look for such requests (milliseconds).
    #[arg(long, env = "LNFLEET_HSM_CLAIM_EVERY_MS", default_value_t = 5_000)]
    pub claim_every_ms: u64,
    /// Log format: human or json.
    #[arg(long, env = "LNFLEET_LOG_FORMAT", default_value = "human")]
    pub log_format: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("seed: {0}")]
    Seed(#[from] SeedError),
    #[error("node keys: {0}")]
    Signer(#[from] SignerError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("reading client registry {path}: {source}")]
    ClientsUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("client registry {path} is not valid: {source}")]
    ClientsMalformed {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("client {id}: {reason}")]
    BadClient { id: String, reason: String },
}

/// One client in the registry file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    pub id: String,
    pub key_hex: String,
    pub permissions: Vec<String>,
}

/// The permission a registry name stands for.
pub fn permission_by_name(name: &str) -> Option<Permission> {
    Some(match name {
        "node_info" => Permission::NodeInfo,
        "ecdh" => Permission::Ecdh,
        "gossip_signing" => Permission::GossipSigning,
        "invoice_signing" => Permission::InvoiceSigning,
        "message_signing" => Permission::MessageSigning,
        "channel_signing" => Permission::ChannelSigning,
        "unilateral_close" => Permission::UnilateralClose,
        "mutual_close" => Permission::MutualClose,
        _ => return None,
    })
}

/// Parses a registry and registers every client; a bad entry fails the whole file.
pub fn load_clients(path: &Path, auth: &mut Authenticator) -> Result<Vec<String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ClientsUnreadable {
        path: path.to_owned(),
        source,
    })?;
    let entries: Vec<ClientEntry> =
        serde_json::from_str(&text).map_err(|source| ConfigError::ClientsMalformed {
            path: path.to_owned(),
            source,
        })?;
    register_clients(entries, auth)
}

pub fn register_clients(
    entries: Vec<ClientEntry>,
    auth: &mut Authenticator,
) -> Result<Vec<String>, ConfigError> {
    let mut ids = Vec::new();
    for entry in entries {
        let bad = |reason: String| ConfigError::BadClient {
            id: entry.id.clone(),
            reason,
        };
        let key: [u8; 32] = hex::decode(&entry.key_hex)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| bad("key_hex must be 64 hex characters".into()))?;
        let permissions = entry
            .permissions
            .iter()
            .map(|name| {
                permission_by_name(name).ok_or_else(|| bad(format!("unknown permission {name:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let credential =
            ClientCredential::new(entry.id.clone(), key).map_err(|e| bad(e.to_string()))?;
        if ids.contains(&entry.id) {
            return Err(bad("listed twice".into()));
        }
        auth.register(&credential, permissions);
        ids.push(entry.id);
    }
    Ok(ids)
}

impl HsmArgs {
    pub fn seed(&self) -> Result<Seed, SeedError> {
        match &self.seed_file {
            Some(path) => Seed::from_file(path),
            None => Seed::from_env(&self.seed_env),
        }
    }

    pub fn signer(&self) -> Result<Signer, ConfigError> {
        let source = KeySource::Derived(self.seed()?);
        Ok(Signer::new(source, self.node_indices.iter().copied())?)
    }

    /// Keys, the default policy and the durable store.
    pub fn channel_signer(&self) -> Result<ChannelSigner, ConfigError> {
        Ok(ChannelSigner::new(
            self.signer()?,
            Store::open(&self.store)?,
            Policy::default(),
        ))
    }

    pub fn auth_config(&self) -> AuthConfig {
        AuthConfig {
            max_clock_skew: Duration::from_secs(self.max_clock_skew_secs),
            ..AuthConfig::default()
        }
    }

    pub fn consumer(&self) -> String {
        self.consumer.clone().unwrap_or_else(|| {
            std::env::var("HOSTNAME").unwrap_or_else(|_| format!("hsm-{}", std::process::id()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Authenticator {
        Authenticator::new(AuthConfig::default())
    }

    fn entry(id: &str, key_hex: &str, permissions: &[&str]) -> ClientEntry {
        ClientEntry {
            id: id.into(),
            key_hex: key_hex.into(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn registry_accepts_known_permissions() {
        let ids = register_clients(
            vec![entry("edge-1", &"11".repeat(32), &["ecdh", "node_info"])],
            &mut auth(),
        )
        .unwrap();
        assert_eq!(ids, vec!["edge-1".to_string()]);
    }

    #[test]
    fn registry_refuses_bad_entries_by_name() {
        for (entries, needle) in [
            (vec![entry("e", "11", &["ecdh"])], "64 hex"),
            (
                vec![entry("e", &"11".repeat(32), &["root"])],
                "unknown permission",
            ),
            (vec![entry("bad id!", &"11".repeat(32), &[])], "bad id!"),
            (
                vec![
                    entry("e", &"11".repeat(32), &[]),
                    entry("e", &"22".repeat(32), &[]),
                ],
                "twice",
            ),
        ] {
            let error = register_clients(entries, &mut auth())
                .unwrap_err()
                .to_string();
            assert!(error.contains(needle), "{error}");
        }
    }

    #[test]
    fn every_permission_has_a_registry_name() {
        let names = [
            "node_info",
            "ecdh",
            "gossip_signing",
            "invoice_signing",
            "message_signing",
            "channel_signing",
            "unilateral_close",
            "mutual_close",
        ];
        let mapped: Vec<Permission> = names.iter().filter_map(|n| permission_by_name(n)).collect();
        assert_eq!(mapped, Permission::ALL.to_vec());
    }
}

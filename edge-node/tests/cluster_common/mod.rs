//! Shared setup for the cluster tests: real Redis, keys and connection records.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use lnfleet_actors::redis::ConnectionManager;
use lnfleet_edge::hooks::PeerInfo;
use lnfleet_tests::harness::RedisServer;
use secp256k1::{PublicKey, Secp256k1, SecretKey};

pub fn redis() -> RedisServer {
    RedisServer::start().expect("redis-server starts (source ~/.cache/lnfleet/env)")
}

pub async fn conn(redis: &RedisServer) -> ConnectionManager {
    lnfleet_actors::redis::connect(&redis.url(), 20)
        .await
        .expect("redis reachable")
}

pub fn key(byte: u8) -> PublicKey {
    let secret = SecretKey::from_slice(&[byte; 32]).expect("valid secret");
    PublicKey::from_secret_key(&Secp256k1::new(), &secret)
}

pub fn peer_info(node: PublicKey, peer: PublicKey, connection_id: u64) -> PeerInfo {
    PeerInfo {
        peer_id: peer,
        local_node_id: node,
        connection_id,
        remote_addr: SocketAddr::from(([127, 0, 0, 1], 9735)),
        inbound: true,
        their_features: Vec::new(),
        connected_at_ms: 0,
    }
}

/// Polls `check` every 20 ms until it holds or `within` passes; returns whether it held.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

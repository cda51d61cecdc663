//! The edge's registry of live connections: `(local node id, peer id)` → the [`PeerHandle`] of
//! the newest connection. A peer that reconnects replaces its older connection, which is told to
//! disconnect; `listpeers` lists it and `sendcustommsg` looks peers up here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use secp256k1::PublicKey;

use crate::hooks::{ConnectionId, PeerHandle, PeerInfo};

type Key = (PublicKey, PublicKey);

/// Shared, cheap to clone. The lock is held only for map operations, never across an await.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    inner: Arc<Mutex<HashMap<Key, PeerHandle>>>,
}

impl Peers {
    pub fn new() -> Self {
        Peers::default()
    }

    fn map(&self) -> MutexGuard<'_, HashMap<Key, PeerHandle>> {
        // A panic elsewhere while holding the lock leaves a valid map; keep using it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a connection; returns the one it replaces (the caller tells it to go).
    pub fn insert(&self, handle: PeerHandle) -> Option<PeerHandle> {
        let key = (handle.info().local_node_id, handle.peer_id());
        self.map().insert(key, handle)
    }

    /// Removes the entry only if it is still this connection (a newer one may have replaced it).
    pub fn remove(
        &self,
        local_node_id: &PublicKey,
        peer_id: &PublicKey,
        connection_id: ConnectionId,
    ) -> bool {
        let mut map = self.map();
        let key = (*local_node_id, *peer_id);
        match map.get(&key) {
            Some(handle) if handle.connection_id() == connection_id => {
                map.remove(&key);
                true
            }
            _ => false,
        }
    }

    /// The live connection between our node `local_node_id` and `peer_id`.
    pub fn get(&self, local_node_id: &PublicKey, peer_id: &PublicKey) -> Option<PeerHandle> {
        self.map().get(&(*local_node_id, *peer_id)).cloned()
    }

    /// Every live connection, ordered by (local node, peer) for stable output.
    pub fn list(&self) -> Vec<PeerInfo> {
        let mut infos: Vec<PeerInfo> = self.map().values().map(|h| h.info().clone()).collect();
        infos.sort_by_key(|info| (info.local_node_id, info.peer_id));
        infos
    }

    /// The live connections of one of our nodes.
    pub fn list_for(&self, local_node_id: &PublicKey) -> Vec<PeerInfo> {
        let mut infos: Vec<PeerInfo> = self
            .map()
            .values()
            .filter(|h| h.info().local_node_id == *local_node_id)
            .map(|h| h.info().clone())
            .collect();
        infos.sort_by_key(|info| info.peer_id);
        infos
    }

    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secp256k1::{Secp256k1, SecretKey};
    use tokio::sync::mpsc;

    fn id(byte: u8) -> PublicKey {
        let secret = SecretKey::from_slice(&[byte; 32]).unwrap();
        PublicKey::from_secret_key(&Secp256k1::new(), &secret)
    }

    fn handle(local: u8, peer: u8, connection_id: ConnectionId) -> PeerHandle {
        let (commands, _queue) = mpsc::channel(1);
        PeerHandle::new(
            PeerInfo {
                peer_id: id(peer),
                local_node_id: id(local),
                connection_id,
                remote_addr: "127.0.0.1:9735".parse().unwrap(),
                inbound: true,
                their_features: Vec::new(),
                connected_at_ms: 0,
            },
            commands,
        )
    }

    #[test]
    fn newer_connection_replaces_older_and_the_older_cannot_remove_it() {
        let peers = Peers::new();
        assert!(peers.insert(handle(1, 2, 10)).is_none());
        let replaced = peers.insert(handle(1, 2, 11)).unwrap();
        assert_eq!(replaced.connection_id(), 10);
        assert!(!peers.remove(&id(1), &id(2), 10));
        assert_eq!(peers.get(&id(1), &id(2)).unwrap().connection_id(), 11);
        assert!(peers.remove(&id(1), &id(2), 11));
        assert!(peers.is_empty());
    }

    #[test]
    fn the_same_peer_on_two_local_nodes_is_two_entries() {
        let peers = Peers::new();
        peers.insert(handle(1, 3, 1));
        peers.insert(handle(2, 3, 2));
        peers.insert(handle(1, 4, 3));
        assert_eq!(peers.len(), 3);
        let of_one: Vec<ConnectionId> = peers
            .list_for(&id(1))
            .iter()
            .map(|info| info.connection_id)
            .collect();
        assert_eq!(of_one.len(), 2);
        assert!(of_one.contains(&1) && of_one.contains(&3));
        assert!(peers.get(&id(2), &id(4)).is_none());
    }
}

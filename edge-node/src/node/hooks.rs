//! The edge's [`PeerHooks`]: a connection's lease (cluster), its gossip (relay and queries) and its
//! custom messages (`ln.custommsg`), each delegated to the module that owns it.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use lnfleet_wire::bolt1::Init;
use lnfleet_wire::message::Message;

use crate::cluster::{ClusterMember, Replaced};
use crate::custommsg::CustomMessageRelay;
use crate::gossip::EdgeGossip;
use crate::hooks::{PeerHandle, PeerHooks, PeerInfo};

pub struct EdgeHooks {
    pub cluster: Arc<ClusterMember>,
    pub gossip: EdgeGossip,
    pub custom: Arc<CustomMessageRelay>,
}

impl PeerHooks for EdgeHooks {
    fn on_connected(&self, peer: &PeerHandle, their_init: &Init) -> BoxFuture<'static, ()> {
        let cluster = self.cluster.clone();
        let info = peer.info().clone();
        let gossip = self.gossip.on_connected(peer, their_init);
        async move {
            // The newest connection wins: take the lease, and the edge holding the old one is
            // told through its inbox to close it.
            match cluster.on_peer_connected(&info).await {
                Ok(connected) => match connected.replaced {
                    Replaced::Nobody => {}
                    Replaced::Local { connection_id, .. } => tracing::debug!(
                        peer = %info.peer_id, old_connection = connection_id,
                        "lease moved from an older connection of this edge"
                    ),
                    Replaced::Remote { holder, notified } => tracing::info!(
                        peer = %info.peer_id, from_edge = %holder.edge_id, notified,
                        "peer lease taken over from another edge"
                    ),
                },
                // The connection still works; the lease renew loop will retry and, if another
                // edge holds it by then, close this one.
                Err(error) => {
                    tracing::warn!(peer = %info.peer_id, %error, "taking the peer lease failed")
                }
            }
            gossip.await;
        }
        .boxed()
    }

    fn on_gossip(
        &self,
        peer: &PeerHandle,
        message: Message,
        raw: Vec<u8>,
    ) -> BoxFuture<'static, ()> {
        self.gossip.on_gossip(peer, message, raw)
    }

    fn on_custom_message(&self, peer: &PeerHandle, raw: Vec<u8>) -> BoxFuture<'static, ()> {
        let custom = self.custom.clone();
        let peer = peer.clone();
        async move {
            if let Err(error) = custom.publish(&peer, raw).await {
                tracing::warn!(peer = %peer.peer_id(), %error, "custom message not published");
            }
        }
        .boxed()
    }

    fn on_disconnected(&self, peer: &PeerInfo) {
        self.gossip.on_disconnected(peer);
        let cluster = self.cluster.clone();
        let info = peer.clone();
        // While the runtime is being torn down there is nothing to spawn on: the lease then
        // expires on its own.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            if let Err(error) = cluster.on_peer_disconnected(&info).await {
                tracing::warn!(peer = %info.peer_id, %error, "releasing the peer lease failed");
            }
        });
    }
}

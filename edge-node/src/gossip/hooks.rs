//! [`GossipHooks`]: the edge's gossip and custom messages as a whole [`PeerHooks`], for a node
//! (or a test) that needs nothing else from its connections. A node with more hooks (leases,
//! channels) calls the same [`EdgeGossip`] and [`CustomMessageRelay`] methods from its own.

use std::sync::Arc;

use futures::future::BoxFuture;
use lnfleet_wire::bolt1::Init;
use lnfleet_wire::message::Message;

use super::EdgeGossip;
use crate::custommsg::CustomMessageRelay;
use crate::hooks::{PeerHandle, PeerHooks, PeerInfo};

/// Gossip to [`EdgeGossip`], unknown odd messages to [`CustomMessageRelay`].
#[derive(Clone)]
pub struct GossipHooks {
    pub gossip: EdgeGossip,
    pub custom: Arc<CustomMessageRelay>,
}

impl PeerHooks for GossipHooks {
    fn on_connected(&self, peer: &PeerHandle, their_init: &Init) -> BoxFuture<'static, ()> {
        self.gossip.on_connected(peer, their_init)
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
        let custom = Arc::clone(&self.custom);
        let peer = peer.clone();
        Box::pin(async move {
            if let Err(error) = custom.publish(&peer, raw).await {
                tracing::warn!(peer = %peer.peer_id(), %error, "custom message not published");
            }
        })
    }

    fn on_disconnected(&self, peer: &PeerInfo) {
        self.gossip.on_disconnected(peer);
    }
}

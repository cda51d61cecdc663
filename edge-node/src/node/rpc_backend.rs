//! The node's RPC methods over the edge: local connections answer directly, peers held by another
//! edge are reached through its inbox, `getroute` goes to the gossip service.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use secp256k1::PublicKey;
use serde_json::{Map, Value};

use super::control::Control;
use crate::cluster::{EdgeCommand, Reply, Route};
use crate::custommsg::validate_sendcustommsg;
use crate::hooks::PeerHandle;
use crate::routing::RouteClient;
use crate::rpc::types::{ConnectTarget, Connected, GetInfo, ListPeer, NetAddress, OurFeatures};
use crate::rpc::{codes, RpcBackend, RpcError};

/// What `getinfo` reports that does not change while the edge runs.
#[derive(Debug, Clone)]
pub struct NodeDescription {
    pub alias: String,
    pub color: String,
    pub network: String,
    pub binding: Vec<NetAddress>,
    pub lightning_dir: String,
    pub our_features: OurFeatures,
}

pub struct EdgeRpc {
    pub control: Arc<Control>,
    pub routes: RouteClient,
    pub description: NodeDescription,
}

fn connected(handle: &PeerHandle) -> Connected {
    let info = handle.info();
    Connected {
        id: info.peer_id.to_string(),
        features: hex::encode(&info.their_features),
        direction: if info.inbound { "in" } else { "out" },
        address: NetAddress::from(info.remote_addr),
    }
}

fn unknown_peer(peer: &PublicKey) -> RpcError {
    RpcError::invalid_request(format!("No such peer: {peer}"))
}

impl EdgeRpc {
    fn cluster_error(error: impl std::fmt::Display) -> RpcError {
        RpcError::internal(format!("edge cluster: {error}"))
    }

    async fn peers(&self, filter: Option<PublicKey>) -> Result<Vec<ListPeer>, RpcError> {
        let control = &self.control;
        let edge_id = control.cluster.edge_id().to_owned();
        let mut peers: BTreeMap<PublicKey, ListPeer> = BTreeMap::new();
        for info in control.env.peers.list_for(&control.node_id) {
            peers.insert(
                info.peer_id,
                ListPeer {
                    id: info.peer_id.to_string(),
                    connected: true,
                    num_channels: 0,
                    netaddr: vec![info.remote_addr.to_string()],
                    features: hex::encode(&info.their_features),
                    edge: Some(edge_id.clone()),
                },
            );
        }
        // Peers of the same node id held by the other live edges.
        let live = control
            .cluster
            .registry()
            .list_live()
            .await
            .map_err(Self::cluster_error)?;
        for edge in live.into_iter().filter(|e| e.edge_id != edge_id) {
            for pair in edge
                .record
                .peers
                .iter()
                .filter(|p| p.node == control.node_id)
            {
                peers.entry(pair.peer).or_insert_with(|| ListPeer {
                    id: pair.peer.to_string(),
                    connected: true,
                    num_channels: 0,
                    netaddr: vec![],
                    features: String::new(),
                    edge: Some(edge.edge_id.clone()),
                });
            }
        }
        Ok(peers
            .into_iter()
            .filter(|(id, _)| filter.is_none_or(|wanted| wanted == *id))
            .map(|(_, peer)| peer)
            .collect())
    }

    async fn connect_peer(&self, target: ConnectTarget) -> Result<Connected, RpcError> {
        let peer = target.id;
        if let Some(handle) = self.control.local(&peer) {
            return Ok(connected(&handle));
        }
        let command = EdgeCommand::Connect {
            node: self.control.node_id,
            peer,
            addr: target.address.clone().unwrap_or_default(),
        };
        let route = self
            .control
            .cluster
            .route_request(&self.control.node_id, &peer, command)
            .await
            .map_err(Self::cluster_error)?;
        match route {
            Route::Forwarded {
                reply: Reply::Ok,
                edge_id,
            } => Ok(Connected {
                id: peer.to_string(),
                features: String::new(),
                direction: "in",
                address: NetAddress {
                    kind: "edge",
                    address: edge_id,
                    port: 0,
                },
            }),
            Route::Forwarded { reply, edge_id } if !matches!(reply, Reply::PeerNotConnected) => {
                Err(RpcError::new(
                    codes::CONNECT_ALL_ADDRESSES_FAILED,
                    format!("edge {edge_id} could not connect: {reply:?}"),
                ))
            }
            _ => {
                let Some(addr) = target.address else {
                    return Err(RpcError::new(
                        codes::CONNECT_NO_KNOWN_ADDRESS,
                        format!("Unable to connect, no address known for peer {peer}"),
                    ));
                };
                let handle =
                    self.control.dial(peer, addr).await.map_err(|reason| {
                        RpcError::new(codes::CONNECT_ALL_ADDRESSES_FAILED, reason)
                    })?;
                Ok(connected(&handle))
            }
        }
    }

    async fn run_on_peer(&self, peer: PublicKey, command: EdgeCommand) -> Result<(), RpcError> {
        let route = self
            .control
            .cluster
            .route_request(&self.control.node_id, &peer, command)
            .await
            .map_err(Self::cluster_error)?;
        match route {
            Route::Forwarded {
                reply: Reply::Ok, ..
            } => Ok(()),
            Route::Forwarded {
                reply: Reply::Failed { reason },
                ..
            } => Err(RpcError::internal(reason)),
            // Local means the lease names this edge but the connection is gone already.
            Route::Forwarded { .. } | Route::NotConnected | Route::Local { .. } => {
                Err(unknown_peer(&peer))
            }
        }
    }
}

impl RpcBackend for EdgeRpc {
    fn getinfo(&self) -> BoxFuture<'_, Result<GetInfo, RpcError>> {
        async move {
            let num_peers = u32::try_from(self.peers(None).await?.len()).unwrap_or(u32::MAX);
            let d = &self.description;
            Ok(GetInfo {
                id: self.control.node_id.to_string(),
                alias: d.alias.clone(),
                color: d.color.clone(),
                num_peers,
                num_pending_channels: 0,
                num_active_channels: 0,
                num_inactive_channels: 0,
                address: vec![],
                binding: d.binding.clone(),
                version: concat!("lnfleet-", env!("CARGO_PKG_VERSION")).to_owned(),
                blockheight: 0,
                network: d.network.clone(),
                fees_collected_msat: 0,
                lightning_dir: d.lightning_dir.clone(),
                our_features: d.our_features.clone(),
            })
        }
        .boxed()
    }

    fn connect(&self, target: ConnectTarget) -> BoxFuture<'_, Result<Connected, RpcError>> {
        self.connect_peer(target).boxed()
    }

    fn disconnect(&self, peer: PublicKey, _force: bool) -> BoxFuture<'_, Result<(), RpcError>> {
        async move {
            if let Some(handle) = self.control.local(&peer) {
                let _ = handle.disconnect("disconnect requested", true).await;
                return Ok(());
            }
            let command = EdgeCommand::Disconnect {
                node: self.control.node_id,
                peer,
            };
            self.run_on_peer(peer, command)
                .await
                .map_err(|e| match e.code {
                    codes::JSONRPC2_INVALID_REQUEST => RpcError::internal("Unknown peer"),
                    _ => e,
                })
        }
        .boxed()
    }

    fn listpeers(&self, peer: Option<PublicKey>) -> BoxFuture<'_, Result<Vec<ListPeer>, RpcError>> {
        self.peers(peer).boxed()
    }

    fn sendcustommsg(
        &self,
        peer: PublicKey,
        message: Vec<u8>,
    ) -> BoxFuture<'_, Result<(), RpcError>> {
        async move {
            let message = validate_sendcustommsg(&message)
                .map_err(|e| RpcError::invalid_request(e.to_string()))?;
            if let Some(handle) = self.control.local(&peer) {
                return handle.send(message).await.map_err(|_| unknown_peer(&peer));
            }
            let command = EdgeCommand::SendCustomMessage {
                node: self.control.node_id,
                peer,
                payload: message,
            };
            self.run_on_peer(peer, command).await
        }
        .boxed()
    }

    fn getroute(&self, params: Map<String, Value>) -> BoxFuture<'_, Result<Value, RpcError>> {
        self.routes.getroute(self.control.node_id, params).boxed()
    }
}

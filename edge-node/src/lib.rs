//! Edge nodes: the cluster's border. An edge terminates BOLT 8 connections for the node ids it
//! serves without holding any node key (the handshake's ECDH is the HSM's), relays gossip to the
//! gossip service, carries custom messages, and answers Core Lightning's JSON-RPC.
//!
//! - [`transport`]: one BOLT 8 connection on tokio; [`transport::NodeKey`] is who does the ECDH.
//! - [`hooks`]: the seam between a peer connection and the rest of the edge.
#![forbid(unsafe_code)]

pub mod custommsg;
pub mod gossip;
pub mod hooks;
pub mod transport;

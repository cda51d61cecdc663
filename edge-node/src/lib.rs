//! Edge nodes: the cluster's border. An edge terminates BOLT 8 connections for the node ids it
//! serves without holding any node key (the handshake's ECDH is the HSM's), relays gossip to the
//! gossip service, carries custom messages, and answers Core Lightning's JSON-RPC.
//!
//! - [`transport`]: one BOLT 8 connection on tokio; [`transport::NodeKey`] is who does the ECDH.
//! - [`hooks`]: the seam between a peer connection and the rest of the edge.
//! - [`peer`]: one actor per connection (BOLT 1 session policy, keepalive, channel dispatch).
//! - [`listener`]: accepting and dialling connections; [`peers`]: the live-connection registry.
#![forbid(unsafe_code)]

pub mod hooks;
pub mod listener;
pub mod peer;
pub mod peers;
pub mod transport;

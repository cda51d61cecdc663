//! Edge nodes: the cluster's border. An edge terminates BOLT 8 connections for the node ids it
//! serves without holding any node key (the handshake's ECDH is the HSM's), relays gossip to the
//! gossip service, carries custom messages, and answers Core Lightning's JSON-RPC.
//!
//! - [`transport`]: one BOLT 8 connection on tokio; [`transport::NodeKey`] is who does the ECDH.
//! - [`hooks`]: the seam between a peer connection and the rest of the edge.
//! - [`rpc`]: Core Lightning compatible JSON-RPC (UNIX socket and HTTP).
//! - [`routing`]: `getroute`, answered by the gossip service.
//! - [`cluster`]: leases, inboxes and the registry that let several edges serve one node id.
//! - [`gossip`]: gossip relay to `ln.gossip.raw`, a light index of `ln.gossip.valid`, queries.
//! - [`custommsg`]: custom messages to `ln.custommsg` and `sendcustommsg` checks.
//! - [`peer`]: one actor per connection (BOLT 1 session policy, keepalive, channel dispatch).
//! - [`listener`]: accepting and dialling connections; [`peers`]: the live-connection registry.
//! - [`node`]: one edge process, composed from all of the above.
#![forbid(unsafe_code)]

pub mod cluster;
pub mod config;
pub mod custommsg;
pub mod gossip;
pub mod hooks;
pub mod listener;
pub mod node;
pub mod peer;
pub mod peers;
pub mod routing;
pub mod rpc;
pub mod transport;

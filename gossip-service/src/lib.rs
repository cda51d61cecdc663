//! The central gossip and routing service: validates gossip for every edge, keeps one graph,
//! and answers `getroute` (issue 4: the library is built; the service around it is not yet).
//!
//! - [`api`]: JSON-RPC `getroute` over HTTP.
//! - [`snapshot`]: the mainnet graph snapshot format (`data/lngraph`).
//! - [`graph`]: the compact in-memory channel graph.
//! - [`validate`]: BOLT 7 gossip validation.
//! - [`chain`]: the funding check of a `short_channel_id` (`ChainSource`).
//! - [`liquidity`]: what the router knows of channel liquidity ([`liquidity::LiquidityView`]).
//! - [`router`]: Core Lightning compatible `getroute` over the graph.
//! - [`replay`]: a router replica rebuilding its graph from `ln.gossip.valid` (latest-wins).
//! - [`mission_control`]: liquidity bounds learned from payment outcomes, with decay.
//! - [`ingest`]: the validator's Kafka loop, `ln.gossip.raw` to `ln.gossip.valid`.
//! - [`service`]: the `gossip-service` process composed from the above (validator and router roles).
#![forbid(unsafe_code)]

pub mod api;
pub mod chain;
pub mod graph;
pub mod ingest;
pub mod liquidity;
pub mod mission_control;
pub mod replay;
pub mod router;
pub mod service;
pub mod snapshot;
pub mod validate;

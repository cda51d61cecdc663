//! The central gossip and routing service: validates gossip for every edge, keeps one graph,
//! and answers `getroute` (issue 4; being built).
//!
//! - [`snapshot`]: the mainnet graph snapshot format (`data/lngraph`).
//! - [`graph`]: the compact in-memory channel graph.
//! - [`validate`]: BOLT 7 gossip validation.
//! - [`chain`]: the funding check of a `short_channel_id` (`ChainSource`).
//! - [`liquidity`]: what the router knows of channel liquidity ([`liquidity::LiquidityView`]).
//! - [`router`]: Core Lightning compatible `getroute` (being built).
//! - [`mission_control`]: liquidity bounds learned from payment outcomes (being built).
#![forbid(unsafe_code)]

pub mod chain;
pub mod graph;
pub mod liquidity;
pub mod mission_control;
pub mod router;
pub mod snapshot;
pub mod validate;

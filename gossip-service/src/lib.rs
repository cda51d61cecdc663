//! Gossip validation, the network graph and getroute.
#![forbid(unsafe_code)]

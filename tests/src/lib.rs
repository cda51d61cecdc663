//! Cross-service and interop tests for lnfleet, and what they run on:
//!
//! - [`harness`]: real Redis and Kafka-protocol (tansu) servers on free loopback ports, stopped by
//!   pid when dropped, also when a test panics.
//! - [`peer`]: a BOLT 8 peer on tokio built from `lnfleet-wire`, used as the loopback node the
//!   interop tests and the local cluster run against.
#![forbid(unsafe_code)]

pub mod cluster;
pub mod edge;
pub mod gossip;
pub mod harness;
pub mod hsm;
pub mod hsm_channel;
pub mod http;
pub mod peer;

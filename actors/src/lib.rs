//! What every lnfleet service is built from: the typed contracts between services and the
//! adapters for the two shared backbones, Kafka (event logs) and Redis (shared state).
//!
//! - [`contracts`]: versioned, bincode-encoded messages that cross a service boundary.
//! - [`topics`]: the Kafka topics of the cluster, with their partitioning and retention.
//! - [`kafka`]: a publisher, a consumer-group subscriber and topic creation on `rdkafka`.
//! - [`redis`]: connections to Redis with health checks.
#![forbid(unsafe_code)]

pub mod contracts;
pub mod hsm;
pub mod kafka;
pub mod redis;
pub mod telemetry;
pub mod topics;

//! Contracts between services, Kafka and Redis adapters, the HSM client, metrics.
#![forbid(unsafe_code)]

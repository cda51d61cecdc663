//! The cluster's metrics, registered once per edge process.

use lnfleet_actors::telemetry::{Metrics, MetricsError};
use prometheus::{IntCounter, IntCounterVec, IntGauge};

/// Cloning shares the underlying metrics.
#[derive(Debug, Clone)]
pub struct ClusterMetrics {
    pub leases_held: IntGauge,
    /// Leases this edge took from another holder (another edge or an older local connection).
    pub lease_steals: IntCounter,
    /// Leases found taken over or expired on renewal.
    pub leases_lost: IntCounter,
    pub lease_renew_failures: IntCounter,
    /// Commands read from this edge's inbox, by kind (`close_peer`, `connect`, ...).
    pub inbox_commands: IntCounterVec,
    /// Inbox entries that did not decode (skipped).
    pub inbox_garbled: IntCounter,
    /// Inbox entries whose requester's deadline had passed (skipped).
    pub inbox_expired: IntCounter,
    /// Requests to other edges that got no reply in time.
    pub inbox_request_timeouts: IntCounter,
    pub heartbeat_failures: IntCounter,
}

impl ClusterMetrics {
    pub fn register(metrics: &Metrics) -> Result<Self, MetricsError> {
        Ok(ClusterMetrics {
            leases_held: metrics
                .gauge("cluster_leases_held_count", "peer leases this edge holds")?,
            lease_steals: metrics.counter(
                "cluster_lease_steals_total",
                "peer leases taken over from a previous holder",
            )?,
            leases_lost: metrics.counter(
                "cluster_leases_lost_total",
                "peer leases found taken over or expired on renewal",
            )?,
            lease_renew_failures: metrics.counter(
                "cluster_lease_renew_failures_total",
                "lease renewals that failed to reach redis",
            )?,
            inbox_commands: metrics.counter_vec(
                "cluster_inbox_commands_total",
                "commands read from this edge's inbox",
                &["kind"],
            )?,
            inbox_garbled: metrics.counter(
                "cluster_inbox_garbled_total",
                "inbox entries that did not decode and were skipped",
            )?,
            inbox_expired: metrics.counter(
                "cluster_inbox_expired_total",
                "inbox commands skipped because their deadline had passed",
            )?,
            inbox_request_timeouts: metrics.counter(
                "cluster_inbox_request_timeouts_total",
                "requests to another edge that got no reply in time",
            )?,
            heartbeat_failures: metrics.counter(
                "cluster_heartbeat_failures_total",
                "registry heartbeats that failed to reach redis",
            )?,
        })
    }
}

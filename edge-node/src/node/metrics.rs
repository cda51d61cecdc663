//! Prometheus counters for the gossip and custom-message relays, whose own counters are plain
//! atomics (cheap on the hot path): copied here every second.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use lnfleet_actors::telemetry::{Metrics, MetricsError};
use prometheus::IntCounterVec;
use tokio::task::JoinHandle;

use crate::custommsg::CustomRelayStats;
use crate::gossip::feed::FeedStats;
use crate::gossip::relay::RelayStats;

/// Exports the relays' counters until aborted.
pub fn spawn_stats_export(
    metrics: &Metrics,
    relay: Arc<RelayStats>,
    custom: Arc<CustomRelayStats>,
    feed: Arc<FeedStats>,
) -> Result<JoinHandle<()>, MetricsError> {
    let gossip = metrics.counter_vec(
        "gossip_relayed_total",
        "Gossip messages from peers, by outcome (published to ln.gossip.raw, ignored)",
        &["outcome"],
    )?;
    let custom_messages = metrics.counter_vec(
        "custom_messages_total",
        "Custom messages from peers, by outcome (published to ln.custommsg, refused)",
        &["outcome"],
    )?;
    let publish_failures = metrics.counter_vec(
        "kafka_publish_failures_total",
        "Failed publish attempts (each retried), by topic",
        &["topic"],
    )?;
    let index = metrics.counter_vec(
        "gossip_index_records_total",
        "ln.gossip.valid records read into the gossip index, by outcome",
        &["outcome"],
    )?;
    Ok(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        loop {
            ticker.tick().await;
            sync(&gossip, "published", &relay.published);
            sync(&gossip, "ignored", &relay.ignored);
            sync(&publish_failures, "ln.gossip.raw", &relay.publish_failures);
            sync(&custom_messages, "published", &custom.published);
            sync(&custom_messages, "refused", &custom.refused);
            sync(&publish_failures, "ln.custommsg", &custom.publish_failures);
            sync(&index, "applied", &feed.applied);
            sync(&index, "malformed", &feed.malformed);
        }
    }))
}

/// Raises the counter to the atomic's value (both only grow).
fn sync(counter: &IntCounterVec, label: &str, source: &std::sync::atomic::AtomicU64) {
    let counter = counter.with_label_values(&[label]);
    let target = source.load(Ordering::Relaxed);
    let current = counter.get();
    if target > current {
        counter.inc_by(target - current);
    }
}

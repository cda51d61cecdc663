//! The Kafka topics of the cluster (see `docs/architecture.md`).

/// How a topic is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: &'static str,
    pub partitions: i32,
    /// `cleanup.policy=compact`. Brokers may compact late or never (tansu does so unreliably), so
    /// consumers of a compacted topic still apply latest-wins themselves.
    pub compacted: bool,
}

/// Every gossip message an edge receives, unvalidated. Key: the dedup key.
pub const GOSSIP_RAW: TopicSpec = TopicSpec {
    name: "ln.gossip.raw",
    partitions: 4,
    compacted: false,
};

/// Validated gossip, keyed `c/<scid>`, `u/<scid>/<dir>`, `n/<node_id>`: the gossip store.
pub const GOSSIP_VALID: TopicSpec = TopicSpec {
    name: "ln.gossip.valid",
    partitions: 1,
    compacted: true,
};

/// Every payment attempt's outcome from every edge (mission control's input). One partition:
/// every router replica must apply outcomes in the same total order to reach the same
/// knowledge (mission control's lower bounds and contradiction rules depend on order).
pub const PAYMENT_OUTCOMES: TopicSpec = TopicSpec {
    name: "ln.payments.outcomes",
    partitions: 1,
    compacted: false,
};

/// Notifications for operators: invoices paid, forwards, peer and channel changes.
pub const EVENTS: TopicSpec = TopicSpec {
    name: "ln.events",
    partitions: 4,
    compacted: false,
};

/// Custom peer messages (unknown odd types) for operators' consumers.
pub const CUSTOM_MESSAGES: TopicSpec = TopicSpec {
    name: "ln.custommsg",
    partitions: 4,
    compacted: false,
};

pub const ALL: [TopicSpec; 5] = [
    GOSSIP_RAW,
    GOSSIP_VALID,
    PAYMENT_OUTCOMES,
    EVENTS,
    CUSTOM_MESSAGES,
];

//! BOLT 7 gossip validation: the receiver requirements for `channel_announcement`,
//! `node_announcement` and `channel_update`, and the pruning of stale and closed channels.
//!
//! Sans-IO: [`Validator::validate`] takes raw message bytes and the current time and returns the
//! Kafka key and message to publish on `ln.gossip.valid`, or a typed [`Rejection`]. Checks run
//! cheapest first: exact-duplicate digest, decode, chain hash, state lookups and timestamps,
//! then signatures, then the chain source (which may be a network call).
//!
//! - [`rejection`]: [`Rejection`] and its metric labels.
//! - [`dedup`]: the bounded set of recently seen digests.
//! - [`learn`]: the trusted path: [`Validator::learn`] records what any replica published on
//!   `ln.gossip.valid`, [`Validator::forget`] applies its tombstones.

pub mod dedup;
pub mod learn;
pub mod rejection;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::str::FromStr;

use lnfleet_wire::codec::{ChainHash, ShortChannelId};
use lnfleet_wire::gossip::{ChannelAnnouncement, ChannelUpdate, NodeAnnouncement};
use lnfleet_wire::message::{self, Message};
use secp256k1::PublicKey;
use tracing::{debug, warn};

use crate::chain::{funding_script_pubkey, ChainSource, FundingCheck};

pub use dedup::RecentDigests;
pub use learn::{LearnError, Learned};
pub use rejection::Rejection;

/// How many scids pruned as spent are remembered, so their late updates are refused as
/// [`Rejection::FundingSpent`] rather than parked as unknown (FIFO; a few weeks of closes).
const SPENT_MEMORY: usize = 100_000;

/// BOLT 7 pruning horizon: two weeks.
pub const TWO_WEEKS_SECS: u64 = 1_209_600;

/// Validation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorConfig {
    /// The only chain accepted (`chain_hash` of announcements and updates).
    pub chain_hash: ChainHash,
    /// How far past `now` a timestamp may be before it is "unreasonably far in the future".
    pub future_tolerance_secs: u64,
    /// Age after which an update is refused and a channel without fresher updates is pruned.
    pub stale_after_secs: u64,
    /// How many recent message digests to remember for duplicate dropping.
    pub dedup_capacity: usize,
    /// Confirmations the funding transaction needs (BOLT 7: 6; "close to 6" MAY be accepted
    /// when our bitcoind lags, so a deployment may lower it).
    pub min_funding_confirmations: u32,
}

impl ValidatorConfig {
    /// Defaults for `chain_hash`: one day of clock skew, two weeks to prune, 200k digests
    /// (about 13 MB, a few minutes of full mainnet gossip from many edges).
    pub fn new(chain_hash: ChainHash) -> Self {
        ValidatorConfig {
            chain_hash,
            future_tolerance_secs: 24 * 60 * 60,
            stale_after_secs: TWO_WEEKS_SECS,
            dedup_capacity: 200_000,
            min_funding_confirmations: 6,
        }
    }
}

/// The key of a record on `ln.gossip.valid` (a compacted topic: the newest record per key is
/// the graph). Scids are printed `BLOCKxTXxOUT`, node ids as compressed hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GossipKey {
    /// `c/<scid>`: the channel_announcement.
    Channel(ShortChannelId),
    /// `u/<scid>/<direction>`: the latest channel_update of one direction (0 or 1).
    Update(ShortChannelId, u8),
    /// `n/<node_id hex>`: the latest node_announcement.
    Node(PublicKey),
}

impl fmt::Display for GossipKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GossipKey::Channel(scid) => write!(f, "c/{scid}"),
            GossipKey::Update(scid, direction) => write!(f, "u/{scid}/{direction}"),
            GossipKey::Node(node_id) => write!(f, "n/{node_id}"),
        }
    }
}

/// A Kafka key that is not `c/<scid>`, `u/<scid>/<0|1>` or `n/<node id hex>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a gossip key: {0:?}")]
pub struct ParseGossipKeyError(pub String);

impl FromStr for GossipKey {
    type Err = ParseGossipKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseGossipKeyError(s.to_owned());
        let mut parts = s.split('/');
        let key = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("c"), Some(scid), None, None) => {
                GossipKey::Channel(scid.parse().map_err(|_| err())?)
            }
            (Some("u"), Some(scid), Some(direction @ ("0" | "1")), None) => {
                GossipKey::Update(scid.parse().map_err(|_| err())?, u8::from(direction == "1"))
            }
            (Some("n"), Some(node_id), None, None) => {
                GossipKey::Node(node_id.parse().map_err(|_| err())?)
            }
            _ => return Err(err()),
        };
        Ok(key)
    }
}

impl GossipKey {
    /// The Kafka record key bytes.
    pub fn kafka_key(&self) -> String {
        self.to_string()
    }
}

/// A message that passed validation: publish `raw` under `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub key: GossipKey,
    pub message: Message,
    /// The exact bytes received (the signatures cover them; forward these, not a re-encoding).
    pub raw: Vec<u8>,
}

/// Why a channel was pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneReason {
    /// No update in either direction within the pruning horizon (BOLT 7 stale entries).
    Stale,
    /// The chain source reports the funding output spent: the channel closed.
    FundingSpent,
    /// The node's last channel was pruned.
    NoChannels,
}

impl PruneReason {
    /// Every label [`PruneReason::label`] can return.
    pub const LABELS: [&'static str; 3] = ["stale", "funding_spent", "no_channels"];

    /// A short, bounded metric label.
    pub fn label(self) -> &'static str {
        match self {
            PruneReason::Stale => "stale",
            PruneReason::FundingSpent => "funding_spent",
            PruneReason::NoChannels => "no_channels",
        }
    }
}

/// A key to delete from the compacted topic (publish a null value under it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tombstone {
    pub key: GossipKey,
    pub reason: PruneReason,
}

/// The last accepted update of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LastUpdate {
    timestamp: u32,
    /// `signed_hash`: equal timestamps with different hashes are a conflict.
    signed_hash: [u8; 32],
}

#[derive(Debug, Clone)]
struct KnownChannel {
    node_ids: [PublicKey; 2],
    /// When the announcement was accepted: the age of a channel no update has refreshed yet.
    announced_at: u64,
    updates: [Option<LastUpdate>; 2],
    /// The funding output's value, when this replica looked it up (learned channels and
    /// unchecked sources have none): bounds `htlc_maximum_msat`.
    capacity_sat: Option<u64>,
}

impl KnownChannel {
    /// The newest activity of either direction (a direction never updated counts from the
    /// announcement).
    fn freshest(&self) -> u64 {
        self.updates
            .iter()
            .map(|u| u.map_or(self.announced_at, |u| u64::from(u.timestamp)))
            .max()
            .unwrap_or(self.announced_at)
    }
}

#[derive(Debug, Clone, Default)]
struct KnownNode {
    channels: usize,
    last_announcement: Option<u32>,
}

/// The validation state for one chain: known channels and nodes, and recent digests.
#[derive(Debug)]
pub struct Validator<C> {
    config: ValidatorConfig,
    chain: C,
    channels: HashMap<ShortChannelId, KnownChannel>,
    nodes: HashMap<PublicKey, KnownNode>,
    recent: RecentDigests,
    signature_verifications: u64,
    /// Scids pruned because the chain reports their funding spent (bounded FIFO).
    spent: HashSet<ShortChannelId>,
    spent_order: VecDeque<ShortChannelId>,
}

impl<C: ChainSource> Validator<C> {
    pub fn new(config: ValidatorConfig, chain: C) -> Self {
        let recent = RecentDigests::new(config.dedup_capacity);
        Validator {
            config,
            chain,
            channels: HashMap::new(),
            nodes: HashMap::new(),
            recent,
            signature_verifications: 0,
            spent: HashSet::new(),
            spent_order: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &ValidatorConfig {
        &self.config
    }

    pub fn chain(&self) -> &C {
        &self.chain
    }

    pub fn chain_mut(&mut self) -> &mut C {
        &mut self.chain
    }

    /// How many `verify()` calls were made (one per message checked, whatever its signature
    /// count): lets tests and metrics see that duplicates cost no verification.
    pub fn signature_verifications(&self) -> u64 {
        self.signature_verifications
    }

    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn knows_channel(&self, scid: ShortChannelId) -> bool {
        self.channels.contains_key(&scid)
    }

    /// Validates one framed gossip message received at `now` (unix seconds).
    pub fn validate(&mut self, raw: &[u8], now: u64) -> Result<Accepted, Rejection> {
        let digest = dedup::digest(raw);
        if self.recent.contains(&digest) {
            return Err(Rejection::Duplicate);
        }
        let verdict = self.validate_fresh(raw, now);
        match &verdict {
            Ok(_) => self.recent.insert(digest),
            Err(rejection) => {
                debug!(reason = rejection.reason(), %rejection, "gossip rejected");
                if rejection.is_permanent() {
                    self.recent.insert(digest);
                }
            }
        }
        verdict
    }

    fn validate_fresh(&mut self, raw: &[u8], now: u64) -> Result<Accepted, Rejection> {
        let message = message::decode(raw).map_err(Rejection::Malformed)?;
        let key = match &message {
            Message::ChannelAnnouncement(ann) => self.channel_announcement(ann, now)?,
            Message::NodeAnnouncement(ann) => self.node_announcement(ann, now)?,
            Message::ChannelUpdate(update) => self.channel_update(update, now)?,
            other => {
                return Err(Rejection::NotGossip {
                    msg_type: other.msg_type(),
                })
            }
        };
        Ok(Accepted {
            key,
            message,
            raw: raw.to_vec(),
        })
    }

    fn channel_announcement(
        &mut self,
        ann: &ChannelAnnouncement,
        now: u64,
    ) -> Result<GossipKey, Rejection> {
        let scid = ann.short_channel_id;
        if ann.chain_hash != self.config.chain_hash {
            return Err(Rejection::WrongChain);
        }
        if self.channels.contains_key(&scid) {
            return Err(Rejection::AlreadyKnown { scid });
        }
        self.signature_verifications += 1;
        ann.verify().map_err(Rejection::BadSignature)?;
        let capacity_sat = self.check_funding(ann)?;
        self.insert_channel(scid, [ann.node_id_1, ann.node_id_2], now, capacity_sat);
        Ok(GossipKey::Channel(scid))
    }

    fn insert_channel(
        &mut self,
        scid: ShortChannelId,
        node_ids: [PublicKey; 2],
        announced_at: u64,
        capacity_sat: Option<u64>,
    ) {
        self.channels.insert(
            scid,
            KnownChannel {
                node_ids,
                announced_at,
                updates: [None, None],
                capacity_sat,
            },
        );
        for node_id in node_ids {
            self.nodes.entry(node_id).or_default().channels += 1;
        }
    }

    fn remember_spent(&mut self, scid: ShortChannelId) {
        if !self.spent.insert(scid) {
            return;
        }
        self.spent_order.push_back(scid);
        while self.spent_order.len() > SPENT_MEMORY {
            if let Some(oldest) = self.spent_order.pop_front() {
                self.spent.remove(&oldest);
            }
        }
    }

    /// The output must exist, be the BOLT 3 funding P2WSH of the two bitcoin keys, and be
    /// unspent. Returns its value when the source looked it up.
    fn check_funding(&self, ann: &ChannelAnnouncement) -> Result<Option<u64>, Rejection> {
        let scid = ann.short_channel_id;
        let output = match self.chain.funding_output(scid) {
            Ok(FundingCheck::Found(output)) => output,
            Ok(FundingCheck::Unchecked) => return Ok(None),
            Ok(FundingCheck::NotFound) => return Err(Rejection::FundingNotFound { scid }),
            Err(e) => return Err(Rejection::ChainUnavailable(e)),
        };
        if output.script_pubkey != funding_script_pubkey(&ann.bitcoin_key_1, &ann.bitcoin_key_2) {
            return Err(Rejection::FundingScriptMismatch { scid });
        }
        if output.confirmations < self.config.min_funding_confirmations {
            return Err(Rejection::FundingUnconfirmed {
                scid,
                confirmations: output.confirmations,
            });
        }
        match self.chain.is_spent(scid) {
            Ok(false) => Ok(Some(output.value_sat)),
            Ok(true) => Err(Rejection::FundingSpent { scid }),
            Err(e) => Err(Rejection::ChainUnavailable(e)),
        }
    }

    fn node_announcement(
        &mut self,
        ann: &NodeAnnouncement,
        now: u64,
    ) -> Result<GossipKey, Rejection> {
        let node_id = ann.node_id;
        let last = match self.nodes.get(&node_id) {
            Some(node) if node.channels > 0 => node.last_announcement,
            _ => return Err(Rejection::UnknownNode { node_id }),
        };
        self.check_not_future(ann.timestamp, now)?;
        if let Some(last) = last {
            if ann.timestamp <= last {
                return Err(Rejection::StaleTimestamp {
                    timestamp: ann.timestamp,
                    last,
                });
            }
        }
        ann.validate().map_err(Rejection::BadAddress)?;
        self.signature_verifications += 1;
        ann.verify().map_err(Rejection::BadSignature)?;
        if let Some(node) = self.nodes.get_mut(&node_id) {
            node.last_announcement = Some(ann.timestamp);
        }
        Ok(GossipKey::Node(node_id))
    }

    fn channel_update(&mut self, update: &ChannelUpdate, now: u64) -> Result<GossipKey, Rejection> {
        let scid = update.short_channel_id;
        let direction = update.direction();
        if update.chain_hash != self.config.chain_hash {
            return Err(Rejection::WrongChain);
        }
        if update.dont_forward() {
            return Err(Rejection::DontForward { scid });
        }
        let Some(channel) = self.channels.get(&scid) else {
            if self.spent.contains(&scid) {
                return Err(Rejection::FundingSpent { scid });
            }
            return Err(Rejection::UnknownChannel { scid });
        };
        // BOLT 7: htlc_maximum_msat MUST NOT exceed the channel capacity. Checked against the
        // funding output when we looked it up; spentness is not asked per update (three RPCs
        // per message at gossip rates): `prune` finds closed channels and remembers them.
        if let Some(capacity_sat) = channel.capacity_sat {
            let capacity_msat = capacity_sat.saturating_mul(1000);
            if update.htlc_maximum_msat > capacity_msat {
                return Err(Rejection::HtlcMaximumAboveCapacity {
                    scid,
                    htlc_maximum_msat: update.htlc_maximum_msat,
                    capacity_msat,
                });
            }
        }
        let [node_id_1, node_id_2] = channel.node_ids;
        let last = channel.updates[usize::from(direction)];
        self.check_not_future(update.timestamp, now)?;
        if u64::from(update.timestamp).saturating_add(self.config.stale_after_secs) < now {
            return Err(Rejection::ExpiredTimestamp {
                timestamp: update.timestamp,
            });
        }
        let signed_hash = update.signed_hash();
        let conflicting = match last {
            Some(last) if update.timestamp < last.timestamp => {
                return Err(Rejection::StaleTimestamp {
                    timestamp: update.timestamp,
                    last: last.timestamp,
                })
            }
            // Same signed fields, another signature encoding: nothing new (BOLT 7: ignore).
            Some(last) if update.timestamp == last.timestamp && last.signed_hash == signed_hash => {
                return Err(Rejection::Duplicate)
            }
            Some(last) => update.timestamp == last.timestamp,
            None => false,
        };
        self.signature_verifications += 1;
        update
            .verify(&node_id_1, &node_id_2)
            .map_err(Rejection::BadSignature)?;
        if conflicting {
            // Checked after the signature: only the node itself can prove it double-signed.
            return Err(Rejection::ConflictingUpdate {
                scid,
                direction,
                timestamp: update.timestamp,
            });
        }
        if let Some(channel) = self.channels.get_mut(&scid) {
            channel.updates[usize::from(direction)] = Some(LastUpdate {
                timestamp: update.timestamp,
                signed_hash,
            });
        }
        Ok(GossipKey::Update(scid, direction))
    }

    fn check_not_future(&self, timestamp: u32, now: u64) -> Result<(), Rejection> {
        if u64::from(timestamp) > now.saturating_add(self.config.future_tolerance_secs) {
            return Err(Rejection::FutureTimestamp { timestamp });
        }
        Ok(())
    }

    /// Forgets channels with no update in either direction within the pruning horizon, and
    /// channels whose funding output the chain source reports spent; then nodes left without
    /// channels. Returns the tombstones to publish.
    ///
    /// Asks the chain source once per remaining channel: call it on a new block, not per
    /// message, and give it a source that answers from a cache or block-driven UTXO view.
    pub fn prune(&mut self, now: u64) -> Vec<Tombstone> {
        let horizon = self.config.stale_after_secs;
        let mut doomed: Vec<(ShortChannelId, PruneReason)> = Vec::new();
        for (&scid, channel) in &self.channels {
            if channel.freshest().saturating_add(horizon) < now {
                doomed.push((scid, PruneReason::Stale));
                continue;
            }
            match self.chain.is_spent(scid) {
                Ok(true) => doomed.push((scid, PruneReason::FundingSpent)),
                Ok(false) => {}
                // Keep the channel: an outage must not wipe the graph.
                Err(e) => warn!(%scid, error = %e, "spent check failed; channel kept"),
            }
        }
        doomed.sort_by_key(|(scid, _)| *scid);

        let mut tombstones = Vec::new();
        for (scid, reason) in doomed {
            let Some(channel) = self.channels.remove(&scid) else {
                continue;
            };
            if reason == PruneReason::FundingSpent {
                self.remember_spent(scid);
            }
            tombstones.push(Tombstone {
                key: GossipKey::Channel(scid),
                reason,
            });
            for (direction, update) in (0u8..).zip(channel.updates) {
                if update.is_some() {
                    tombstones.push(Tombstone {
                        key: GossipKey::Update(scid, direction),
                        reason,
                    });
                }
            }
            for node_id in channel.node_ids {
                self.release_node(node_id, &mut tombstones);
            }
        }
        tombstones
    }

    fn release_node(&mut self, node_id: PublicKey, tombstones: &mut Vec<Tombstone>) {
        let Some(node) = self.nodes.get_mut(&node_id) else {
            return;
        };
        node.channels = node.channels.saturating_sub(1);
        if node.channels > 0 {
            return;
        }
        let announced = node.last_announcement.is_some();
        self.nodes.remove(&node_id);
        if announced {
            tombstones.push(Tombstone {
                key: GossipKey::Node(node_id),
                reason: PruneReason::NoChannels,
            });
        }
    }
}

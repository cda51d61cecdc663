//! Why a gossip message was not accepted.

use lnfleet_wire::codec::{DecodeError, ShortChannelId};
use lnfleet_wire::gossip::{NodeAnnouncementError, SignatureError};
use secp256k1::PublicKey;

use crate::chain::ChainError;

/// Why [`super::Validator::validate`] refused a message. [`Rejection::reason`] is the bounded
/// metric label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("malformed message: {0}")]
    Malformed(DecodeError),
    /// A well-formed message that is not a `channel_announcement`, `node_announcement` or
    /// `channel_update`.
    #[error("message type {msg_type} is not gossip the validator handles")]
    NotGossip { msg_type: u16 },
    #[error("chain_hash is not the configured chain")]
    WrongChain,
    /// The exact bytes were seen recently (caught before any signature check).
    #[error("duplicate of a recently seen message")]
    Duplicate,
    #[error("{0}")]
    BadSignature(SignatureError),
    /// A `node_announcement` breaking the address rules (BOLT 7: MUST NOT forward).
    #[error("node_announcement addresses: {0}")]
    BadAddress(NodeAnnouncementError),
    /// A second `channel_announcement` for a channel we already hold.
    #[error("channel {scid} is already announced")]
    AlreadyKnown { scid: ShortChannelId },
    #[error("channel_update for unknown channel {scid}")]
    UnknownChannel { scid: ShortChannelId },
    #[error("node_announcement from {node_id}, which has no known channel")]
    UnknownNode { node_id: PublicKey },
    /// Not newer than the last accepted message for the same channel direction or node.
    #[error("timestamp {timestamp} is not newer than {last}")]
    StaleTimestamp { timestamp: u32, last: u32 },
    /// Older than the pruning horizon (two weeks by default): it would be pruned at once.
    #[error("timestamp {timestamp} is past the pruning horizon")]
    ExpiredTimestamp { timestamp: u32 },
    #[error("timestamp {timestamp} is too far in the future")]
    FutureTimestamp { timestamp: u32 },
    /// Same timestamp as the last update for this direction, different fields, valid
    /// signature: the node signed two policies for one instant (BOLT 7: MAY blacklist).
    #[error("channel_update {scid} direction {direction}: conflicting update at {timestamp}")]
    ConflictingUpdate {
        scid: ShortChannelId,
        direction: u8,
        timestamp: u32,
    },
    /// A private update (`dont_forward` set): meant for the peer only, never published.
    #[error("channel_update {scid} has dont_forward set")]
    DontForward { scid: ShortChannelId },
    /// The funding transaction has fewer confirmations than configured (BOLT 7: 6).
    #[error("funding output of {scid} has {confirmations} confirmations")]
    FundingUnconfirmed {
        scid: ShortChannelId,
        confirmations: u32,
    },
    #[error("funding output of {scid} not found on chain")]
    FundingNotFound { scid: ShortChannelId },
    #[error("funding output of {scid} is not the 2-of-2 P2WSH of the announced bitcoin keys")]
    FundingScriptMismatch { scid: ShortChannelId },
    #[error("funding output of {scid} is spent")]
    FundingSpent { scid: ShortChannelId },
    /// A `channel_update` allowing HTLCs larger than the funding output (BOLT 7: the
    /// channel capacity bounds `htlc_maximum_msat`).
    #[error("channel_update {scid}: htlc_maximum_msat {htlc_maximum_msat} above capacity {capacity_msat}")]
    HtlcMaximumAboveCapacity {
        scid: ShortChannelId,
        htlc_maximum_msat: u64,
        capacity_msat: u64,
    },
    /// The chain source failed; the message is not at fault and may be retried.
    #[error("chain source unavailable: {0}")]
    ChainUnavailable(ChainError),
}

impl Rejection {
    /// Every label [`Rejection::reason`] can return.
    pub const REASONS: [&'static str; 20] = [
        "malformed",
        "not_gossip",
        "wrong_chain",
        "duplicate",
        "bad_signature",
        "bad_address",
        "already_known",
        "unknown_channel",
        "unknown_node",
        "stale_timestamp",
        "expired_timestamp",
        "future_timestamp",
        "conflicting_update",
        "dont_forward",
        "funding_unconfirmed",
        "funding_not_found",
        "funding_script_mismatch",
        "funding_spent",
        "htlc_maximum_above_capacity",
        "chain_unavailable",
    ];

    /// A short, bounded label for `lnfleet_gossip_rejected_total{reason}`.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed",
            Rejection::NotGossip { .. } => "not_gossip",
            Rejection::WrongChain => "wrong_chain",
            Rejection::Duplicate => "duplicate",
            Rejection::BadSignature(_) => "bad_signature",
            Rejection::BadAddress(_) => "bad_address",
            Rejection::AlreadyKnown { .. } => "already_known",
            Rejection::UnknownChannel { .. } => "unknown_channel",
            Rejection::UnknownNode { .. } => "unknown_node",
            Rejection::StaleTimestamp { .. } => "stale_timestamp",
            Rejection::ExpiredTimestamp { .. } => "expired_timestamp",
            Rejection::FutureTimestamp { .. } => "future_timestamp",
            Rejection::ConflictingUpdate { .. } => "conflicting_update",
            Rejection::DontForward { .. } => "dont_forward",
            Rejection::FundingUnconfirmed { .. } => "funding_unconfirmed",
            Rejection::FundingNotFound { .. } => "funding_not_found",
            Rejection::FundingScriptMismatch { .. } => "funding_script_mismatch",
            Rejection::FundingSpent { .. } => "funding_spent",
            Rejection::HtlcMaximumAboveCapacity { .. } => "htlc_maximum_above_capacity",
            Rejection::ChainUnavailable(_) => "chain_unavailable",
        }
    }

    /// Whether the same bytes would be rejected again whatever happens next, so their hash can
    /// be remembered and a repeat dropped as [`Rejection::Duplicate`] without re-verifying.
    /// Transient causes (an update before its announcement, a block our bitcoind has not seen
    /// yet, a chain outage, a timestamp that becomes acceptable later) are not remembered.
    pub fn is_permanent(&self) -> bool {
        match self {
            Rejection::Malformed(_)
            | Rejection::NotGossip { .. }
            | Rejection::WrongChain
            | Rejection::Duplicate
            | Rejection::BadSignature(_)
            | Rejection::BadAddress(_)
            | Rejection::StaleTimestamp { .. }
            | Rejection::ExpiredTimestamp { .. }
            | Rejection::ConflictingUpdate { .. }
            | Rejection::DontForward { .. }
            | Rejection::FundingScriptMismatch { .. }
            | Rejection::FundingSpent { .. }
            | Rejection::HtlcMaximumAboveCapacity { .. } => true,
            Rejection::AlreadyKnown { .. }
            | Rejection::UnknownChannel { .. }
            | Rejection::UnknownNode { .. }
            | Rejection::FutureTimestamp { .. }
            | Rejection::FundingNotFound { .. }
            | Rejection::FundingUnconfirmed { .. }
            | Rejection::ChainUnavailable(_) => false,
        }
    }
}

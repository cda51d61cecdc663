//! BOLT 7 gossip: channel and node announcements, channel updates, the query messages, and the
//! signatures that bind announcements and updates to their keys.
//!
//! Signed messages keep every byte they were decoded from (including `excess_data`, the future
//! fields the spec lets senders append), so re-encoding is exact and the signature still covers
//! what the origin node signed.
//!
//! - [`announcement`] holds `channel_announcement`, `node_announcement`, `announcement_signatures`.
//! - [`update`] holds `channel_update`.
//! - [`query`] holds `query_short_channel_ids`, `reply_short_channel_ids_end`, `query_channel_range`,
//!   `reply_channel_range`, `gossip_timestamp_filter`.
//! - [`signing`] holds the double-SHA256 hash and the ECDSA sign/verify helpers they share.

pub mod announcement;
pub mod query;
pub mod signing;
pub mod update;

#[cfg(test)]
mod tests;

pub use announcement::{
    AnnouncementSignatures, ChannelAnnouncement, ChannelAnnouncementSigner, NodeAnnouncement,
    NodeAnnouncementError,
};
pub use query::{
    ChannelUpdateChecksums, ChannelUpdateTimestamps, EncodedShortIds, GossipTimestampFilter,
    QueryChannelRange, QueryShortChannelIds, ReplyChannelRange, ReplyShortChannelIdsEnd,
};
pub use signing::{double_sha256, SignatureError};
pub use update::ChannelUpdate;

//! Answers to a peer's gossip queries, sans I/O: the index goes in, framed messages come out.
//!
//! - `query_channel_range` → one or more `reply_channel_range` covering the whole range, each
//!   within the 65535-byte message limit, ids uncompressed (encoding 0), blocks in order,
//!   `sync_complete` false on all but the last reply.
//! - `query_short_channel_ids` → per known scid the announcement, the latest update per side and
//!   the node announcements of both ends (each node once per session), then
//!   `reply_short_channel_ids_end`.

use std::collections::HashMap;

use lnfleet_wire::gossip::{
    ChannelUpdateTimestamps, EncodedShortIds, QueryChannelRange, QueryShortChannelIds,
    ReplyChannelRange, ReplyShortChannelIdsEnd,
};
use lnfleet_wire::message::MAX_MESSAGE_LEN;
use lnfleet_wire::tlv::TlvStream;
use lnfleet_wire::{ChainHash, ShortChannelId, WireMessage};

use super::index::{ChannelEntry, GossipIndex, NodeId};

/// Fixed bytes of a `reply_channel_range`: type, chain hash, first block, block count,
/// sync_complete, the ids' u16 length and encoding byte.
const REPLY_FIXED_LEN: usize = 2 + 32 + 4 + 4 + 1 + 2 + 1;
/// The timestamps TLV's own overhead: type (1), length (bigsize, 3 for up to 65535), encoding.
const TIMESTAMPS_TLV_OVERHEAD: usize = 1 + 3 + 1;

/// The most scids one reply may carry so it fits in a message.
pub fn max_ids_per_reply(with_timestamps: bool) -> usize {
    let room = MAX_MESSAGE_LEN - REPLY_FIXED_LEN;
    if with_timestamps {
        (room - TIMESTAMPS_TLV_OVERHEAD) / 16
    } else {
        room / 8
    }
}

/// Builds the `reply_channel_range` messages answering `query`. `max_ids` caps ids per reply
/// (at most [`max_ids_per_reply`]; tests use small values to exercise splitting). A query for
/// another chain gets one empty, complete reply.
pub fn channel_range_replies(
    index: &GossipIndex,
    our_chain: ChainHash,
    query: &QueryChannelRange,
    max_ids: usize,
) -> Vec<ReplyChannelRange> {
    let with_timestamps = query
        .query_option
        .is_some_and(|o| o & QueryChannelRange::QUERY_OPTION_TIMESTAMPS != 0);
    let max_ids = max_ids.clamp(1, max_ids_per_reply(with_timestamps));
    let query_end = query.end_blocknum();
    let channels: Vec<(ShortChannelId, &ChannelEntry)> = if query.chain_hash == our_chain {
        index
            .channels_in_blocks(u64::from(query.first_blocknum), query_end)
            .collect()
    } else {
        Vec::new()
    };
    let reply = |first: u32, end: u64, ids: &[(ShortChannelId, &ChannelEntry)], last: bool| {
        let number_of_blocks = u32::try_from(end.saturating_sub(u64::from(first)))
            .unwrap_or(u32::MAX)
            .max(1);
        ReplyChannelRange {
            chain_hash: query.chain_hash,
            first_blocknum: first,
            number_of_blocks,
            sync_complete: last,
            short_ids: EncodedShortIds(ids.iter().map(|(scid, _)| *scid).collect()),
            timestamps: with_timestamps.then(|| {
                ids.iter()
                    .map(|(_, entry)| {
                        let (node_1, node_2) = entry.update_timestamps();
                        ChannelUpdateTimestamps { node_1, node_2 }
                    })
                    .collect()
            }),
            checksums: None,
            extra_tlvs: TlvStream::default(),
        }
    };
    if channels.is_empty() {
        return vec![reply(query.first_blocknum, query_end, &[], true)];
    }
    let chunks: Vec<&[(ShortChannelId, &ChannelEntry)]> = channels.chunks(max_ids).collect();
    let mut replies = Vec::with_capacity(chunks.len());
    let mut first = query.first_blocknum;
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let end = match (last, chunk.last()) {
            (false, Some((scid, _))) => u64::from(scid.block()) + 1,
            _ => query_end,
        };
        replies.push(reply(first, end, chunk, last));
        // The next reply starts where this one ended, or one block earlier when a block's ids
        // were split between the two (BOLT 7 allows equal first_blocknum, not gaps).
        if let Some(Some((next_scid, _))) = chunks.get(i + 1).map(|c| c.first()) {
            let end = u32::try_from(end).unwrap_or(u32::MAX);
            first = next_scid.block().min(end).max(first);
        }
    }
    replies
}

/// Framed `reply_channel_range` messages for `query`.
pub fn encoded_channel_range_replies(
    index: &GossipIndex,
    our_chain: ChainHash,
    query: &QueryChannelRange,
    max_ids: usize,
) -> Vec<Vec<u8>> {
    channel_range_replies(index, our_chain, query, max_ids)
        .iter()
        .map(WireMessage::encode)
        .collect()
}

/// Node announcements already sent on one connection, by timestamp, so a session does not send
/// the same one twice.
#[derive(Debug, Default, Clone)]
pub struct SentNodes {
    sent: HashMap<NodeId, u32>,
}

impl SentNodes {
    /// True (and remembered) when `node`'s announcement at `timestamp` was not sent yet.
    pub fn first_time(&mut self, node: NodeId, timestamp: u32) -> bool {
        match self.sent.insert(node, timestamp) {
            Some(previous) => previous != timestamp,
            None => true,
        }
    }
}

/// The messages answering a `query_short_channel_ids`, ending with `reply_short_channel_ids_end`.
pub fn short_channel_ids_answer(
    index: &GossipIndex,
    our_chain: ChainHash,
    query: &QueryShortChannelIds,
    sent_nodes: &mut SentNodes,
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let full_information = query.chain_hash == our_chain;
    if full_information {
        for (i, scid) in query.short_ids.0.iter().enumerate() {
            let flags = query
                .query_flags
                .as_ref()
                .and_then(|flags| flags.get(i).copied())
                .unwrap_or(u64::MAX);
            let Some(entry) = index.channel(*scid) else {
                continue;
            };
            if entry.announcement.is_none() {
                continue;
            }
            answer_one(index, entry, flags, sent_nodes, &mut out);
        }
    }
    out.push(
        ReplyShortChannelIdsEnd {
            chain_hash: query.chain_hash,
            full_information,
        }
        .encode(),
    );
    out
}

fn answer_one(
    index: &GossipIndex,
    entry: &ChannelEntry,
    flags: u64,
    sent_nodes: &mut SentNodes,
    out: &mut Vec<Vec<u8>>,
) {
    let wants = |bit: u64| flags & bit != 0;
    if wants(QueryShortChannelIds::QUERY_FLAG_CHANNEL_ANNOUNCEMENT) {
        out.extend(entry.announcement.iter().map(|m| m.bytes.to_vec()));
    }
    let update_bits = [
        QueryShortChannelIds::QUERY_FLAG_CHANNEL_UPDATE_1,
        QueryShortChannelIds::QUERY_FLAG_CHANNEL_UPDATE_2,
    ];
    for (update, bit) in entry.updates.iter().zip(update_bits) {
        if wants(bit) {
            out.extend(update.iter().map(|m| m.bytes.to_vec()));
        }
    }
    let Some((node_1, node_2)) = entry.nodes else {
        return;
    };
    let node_bits = [
        (node_1, QueryShortChannelIds::QUERY_FLAG_NODE_ANNOUNCEMENT_1),
        (node_2, QueryShortChannelIds::QUERY_FLAG_NODE_ANNOUNCEMENT_2),
    ];
    for (node, bit) in node_bits {
        if !wants(bit) {
            continue;
        }
        if let Some(ann) = index.node(&node) {
            if sent_nodes.first_time(node, ann.timestamp) {
                out.push(ann.bytes.to_vec());
            }
        }
    }
}

#[cfg(test)]
mod tests;

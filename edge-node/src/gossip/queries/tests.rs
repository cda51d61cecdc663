use lnfleet_actors::contracts::ValidGossip;
use lnfleet_tests::gossip::SignedChannel;
use lnfleet_wire::message::{self, Message};

use super::*;

fn scid(block: u32, tx: u32) -> ShortChannelId {
    ShortChannelId::new(block, tx, 0).unwrap()
}

fn valid(message: Vec<u8>, timestamp: u32) -> ValidGossip {
    ValidGossip {
        message,
        timestamp,
        accepted_at_ms: 1,
        origin_edge: "edge-1".into(),
        origin_peer: vec![2; 33],
    }
}

/// Channels at the given (block, tx) with both updates at timestamp `block`.
fn index_of(scids: &[ShortChannelId]) -> GossipIndex {
    let mut index = GossipIndex::new();
    for (i, scid) in scids.iter().enumerate() {
        let channel = SignedChannel::from_seed(*scid, 1 + (i as u8 % 100) * 2);
        index
            .apply(valid(channel.announcement().encode(), 0))
            .unwrap();
        index
            .apply(valid(
                channel.update(0, scid.block(), 1).encode(),
                scid.block(),
            ))
            .unwrap();
    }
    index
}

fn range_query(first: u32, blocks: u32, option: Option<u64>) -> QueryChannelRange {
    QueryChannelRange {
        chain_hash: ChainHash::BITCOIN,
        first_blocknum: first,
        number_of_blocks: blocks,
        query_option: option,
        extra_tlvs: TlvStream::default(),
    }
}

/// BOLT 7's receiver rules for a sequence of replies to `query`.
fn assert_valid_replies(query: &QueryChannelRange, replies: &[ReplyChannelRange]) {
    let first = replies.first().expect("at least one reply");
    assert!(first.first_blocknum <= query.first_blocknum);
    assert!(first.end_blocknum() > u64::from(query.first_blocknum));
    for pair in replies.windows(2) {
        assert!(
            pair[1].first_blocknum >= pair[0].first_blocknum,
            "blocks ordered"
        );
        assert!(
            u64::from(pair[1].first_blocknum) <= pair[0].end_blocknum(),
            "no gap between replies"
        );
        assert!(!pair[0].sync_complete, "only the last is complete");
    }
    let last = replies.last().unwrap();
    assert!(last.sync_complete);
    assert!(last.end_blocknum() >= query.end_blocknum());
    for reply in replies {
        assert!(reply.number_of_blocks >= 1);
        assert!(reply.encode().len() <= MAX_MESSAGE_LEN);
        for id in &reply.short_ids.0 {
            let block = u64::from(id.block());
            assert!(block >= u64::from(reply.first_blocknum) && block < reply.end_blocknum());
        }
        // Encoding 0 (uncompressed) right after the u16 length.
        let encoded = reply.encode();
        assert_eq!(encoded.get(2 + 32 + 4 + 4 + 1 + 2), Some(&0));
    }
}

fn all_ids(replies: &[ReplyChannelRange]) -> Vec<ShortChannelId> {
    replies.iter().flat_map(|r| r.short_ids.0.clone()).collect()
}

#[test]
fn a_small_answer_is_one_complete_reply_covering_the_range() {
    let scids = [scid(100, 1), scid(150, 1), scid(300, 1)];
    let index = index_of(&scids);
    let query = range_query(100, 200, None);
    let replies = channel_range_replies(&index, ChainHash::BITCOIN, &query, 8000);
    assert_eq!(replies.len(), 1);
    assert_valid_replies(&query, &replies);
    assert_eq!(all_ids(&replies), vec![scid(100, 1), scid(150, 1)]);
    assert_eq!(replies[0].timestamps, None);
}

#[test]
fn large_answers_split_into_ordered_contiguous_replies() {
    let mut scids = Vec::new();
    for block in [10, 11, 11, 11, 15, 40, 41, 41, 90] {
        scids.push(scid(block, scids.len() as u32));
    }
    let index = index_of(&scids);
    let query = range_query(5, 100, None);
    let replies = channel_range_replies(&index, ChainHash::BITCOIN, &query, 2);
    assert_eq!(replies.len(), 5);
    assert_valid_replies(&query, &replies);
    let mut expected = scids.clone();
    expected.sort();
    assert_eq!(all_ids(&replies), expected);
}

#[test]
fn replies_fit_the_message_limit_at_mainnet_scale() {
    let scids: Vec<ShortChannelId> = (0..20_000).map(|i| scid(700_000 + i / 3, i % 3)).collect();
    let mut index = GossipIndex::new();
    // The index parses but never verifies, so one announcement re-labelled per scid will do.
    let template = SignedChannel::from_seed(scid(1, 1), 0x40).announcement();
    for s in &scids {
        let mut ann = template.clone();
        ann.short_channel_id = *s;
        index.apply(valid(ann.encode(), 0)).unwrap();
    }
    for option in [None, Some(QueryChannelRange::QUERY_OPTION_TIMESTAMPS)] {
        let query = range_query(0, u32::MAX, option);
        let replies = channel_range_replies(&index, ChainHash::BITCOIN, &query, usize::MAX);
        assert_valid_replies(&query, &replies);
        assert_eq!(all_ids(&replies).len(), scids.len());
        let expected = if option.is_some() { 5 } else { 3 };
        assert_eq!(replies.len(), expected, "{option:?}");
    }
}

#[test]
fn timestamps_are_sent_when_asked_and_unknown_chains_get_an_empty_reply() {
    let scids = [scid(100, 1)];
    let index = index_of(&scids);
    let query = range_query(0, 1000, Some(QueryChannelRange::QUERY_OPTION_TIMESTAMPS));
    let replies = channel_range_replies(&index, ChainHash::BITCOIN, &query, 100);
    assert_eq!(
        replies[0].timestamps,
        Some(vec![ChannelUpdateTimestamps {
            node_1: 100,
            node_2: 0
        }])
    );
    let mut other = range_query(0, 1000, None);
    other.chain_hash = ChainHash::REGTEST;
    let replies = channel_range_replies(&index, ChainHash::BITCOIN, &other, 100);
    assert_eq!(replies.len(), 1);
    assert!(replies[0].short_ids.is_empty());
    assert_valid_replies(&other, &replies);
    let empty = channel_range_replies(&index, ChainHash::BITCOIN, &range_query(0, 1, None), 100);
    assert_valid_replies(&range_query(0, 1, None), &empty);
}

fn names(messages: &[Vec<u8>]) -> Vec<&'static str> {
    messages
        .iter()
        .map(|m| {
            message::decode(m)
                .map(|m| m.name())
                .unwrap_or("undecodable")
        })
        .collect()
}

fn scid_query(ids: Vec<ShortChannelId>, flags: Option<Vec<u64>>) -> QueryShortChannelIds {
    QueryShortChannelIds {
        chain_hash: ChainHash::BITCOIN,
        short_ids: EncodedShortIds(ids),
        query_flags: flags,
        extra_tlvs: TlvStream::default(),
    }
}

#[test]
fn scid_queries_get_announcement_updates_nodes_then_end() {
    let channel = SignedChannel::from_seed(scid(500, 1), 0x30);
    let mut index = GossipIndex::new();
    index
        .apply(valid(channel.announcement().encode(), 0))
        .unwrap();
    index
        .apply(valid(channel.update(0, 5, 1).encode(), 5))
        .unwrap();
    index
        .apply(valid(channel.update(1, 6, 1).encode(), 6))
        .unwrap();
    index
        .apply(valid(channel.node_announcement(0, 7).encode(), 7))
        .unwrap();
    index
        .apply(valid(channel.node_announcement(1, 7).encode(), 7))
        .unwrap();

    let mut sent = SentNodes::default();
    let query = scid_query(vec![channel.scid, scid(999, 9)], None);
    let answer = short_channel_ids_answer(&index, ChainHash::BITCOIN, &query, &mut sent);
    assert_eq!(
        names(&answer),
        vec![
            "channel_announcement",
            "channel_update",
            "channel_update",
            "node_announcement",
            "node_announcement",
            "reply_short_channel_ids_end"
        ]
    );
    match message::decode(answer.last().unwrap()) {
        Ok(Message::ReplyShortChannelIdsEnd(end)) => assert!(end.full_information),
        other => panic!("{other:?}"),
    }
    // Same session again: node announcements already sent are not repeated.
    let again = short_channel_ids_answer(&index, ChainHash::BITCOIN, &query, &mut sent);
    assert_eq!(again.len(), 4);

    // Query flags pick parts: only update 2 and node 1.
    let flags = QueryShortChannelIds::QUERY_FLAG_CHANNEL_UPDATE_2
        | QueryShortChannelIds::QUERY_FLAG_NODE_ANNOUNCEMENT_1;
    let query = scid_query(vec![channel.scid], Some(vec![flags]));
    let answer = short_channel_ids_answer(
        &index,
        ChainHash::BITCOIN,
        &query,
        &mut SentNodes::default(),
    );
    assert_eq!(answer[0], channel.update(1, 6, 1).encode());
    assert_eq!(answer[1], channel.node_announcement(0, 7).encode());
    assert_eq!(answer.len(), 3);

    // Another chain: nothing but an end with full_information = 0.
    let mut other = scid_query(vec![channel.scid], None);
    other.chain_hash = ChainHash::REGTEST;
    let answer = short_channel_ids_answer(
        &index,
        ChainHash::BITCOIN,
        &other,
        &mut SentNodes::default(),
    );
    match message::decode(&answer[0]) {
        Ok(Message::ReplyShortChannelIdsEnd(end)) => assert!(!end.full_information),
        other => panic!("{other:?}"),
    }
    assert_eq!(answer.len(), 1);
}

proptest::proptest! {
    /// Whatever the channels, the range asked and the split size, the replies obey BOLT 7's
    /// receiver rules and carry exactly the announced channels of the range, each once.
    #[test]
    fn range_replies_always_cover_the_query_in_order(
        blocks in proptest::collection::vec((0u32..2_000, 0u32..4), 0..200),
        first in 0u32..2_100,
        count in 1u32..3_000,
        max_ids in 1usize..20,
        timestamps in proptest::bool::ANY,
    ) {
        let template = SignedChannel::from_seed(scid(1, 1), 0x40).announcement();
        let mut index = GossipIndex::new();
        for (block, tx) in &blocks {
            let mut ann = template.clone();
            ann.short_channel_id = scid(*block, *tx);
            index.apply(valid(ann.encode(), 0)).unwrap();
        }
        let option = timestamps.then_some(QueryChannelRange::QUERY_OPTION_TIMESTAMPS);
        let query = range_query(first, count, option);
        let replies = channel_range_replies(&index, ChainHash::BITCOIN, &query, max_ids);
        assert_valid_replies(&query, &replies);
        let mut expected: Vec<ShortChannelId> = blocks
            .iter()
            .filter(|(block, _)| u64::from(*block) >= u64::from(first)
                && u64::from(*block) < query.end_blocknum())
            .map(|(block, tx)| scid(*block, *tx))
            .collect();
        expected.sort();
        expected.dedup();
        proptest::prop_assert_eq!(all_ids(&replies), expected);
    }
}

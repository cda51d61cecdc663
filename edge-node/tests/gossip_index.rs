//! The edge's gossip index and query answers against a real tansu broker: the feed replays
//! `ln.gossip.valid` (latest-wins, tombstones), then `EdgeGossip` answers a peer's
//! `query_channel_range`, `query_short_channel_ids` and `gossip_timestamp_filter` from it, relays
//! live gossip without echoing it to its origin, and syncs from a peer that connects.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use lnfleet_actors::contracts::{self, ValidGossip};
use lnfleet_actors::kafka::{self, KafkaConfig, Publisher};
use lnfleet_actors::topics;
use lnfleet_edge::gossip::relay::GossipRelay;
use lnfleet_edge::gossip::{EdgeGossip, GossipConfig, GossipIndex, GossipIndexFeed};
use lnfleet_edge::hooks::{PeerCommand, PeerHandle, PeerInfo};
use lnfleet_tests::gossip::{public, secret, SignedChannel};
use lnfleet_tests::harness::KafkaBroker;
use lnfleet_wire::bolt1::Init;
use lnfleet_wire::features::{Feature, Features};
use lnfleet_wire::gossip::{
    EncodedShortIds, GossipTimestampFilter, QueryChannelRange, QueryShortChannelIds,
    ReplyChannelRange, ReplyShortChannelIdsEnd,
};
use lnfleet_wire::message::{self, Message};
use lnfleet_wire::tlv::TlvStream;
use lnfleet_wire::{ChainHash, ShortChannelId, WireMessage};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(60);
const OTHER_PEER: [u8; 33] = [2; 33];

fn channel(block: u32, seed: u8) -> SignedChannel {
    SignedChannel::from_seed(ShortChannelId::new(block, 1, 0).unwrap(), seed)
}

struct ValidTopic {
    publisher: Publisher,
}

impl ValidTopic {
    async fn send(&self, key: String, message: Vec<u8>, timestamp: u32, origin: &[u8]) {
        let payload = contracts::encode(&ValidGossip {
            message,
            timestamp,
            accepted_at_ms: 1,
            origin_edge: "edge-1".into(),
            origin_peer: origin.to_vec(),
        });
        self.publisher
            .publish(topics::GOSSIP_VALID.name, key.as_bytes(), &payload)
            .await
            .expect("broker acknowledges");
    }

    async fn tombstone(&self, key: String) {
        self.publisher
            .publish(topics::GOSSIP_VALID.name, key.as_bytes(), &[])
            .await
            .expect("broker acknowledges");
    }

    async fn announce(&self, channel: &SignedChannel) {
        let key = format!("c/{}", channel.scid);
        self.send(key, channel.announcement().encode(), 0, &OTHER_PEER)
            .await;
    }

    async fn update(&self, channel: &SignedChannel, dir: u8, timestamp: u32, origin: &[u8]) {
        let key = format!("u/{}/{dir}", channel.scid);
        let message = channel.update(dir, timestamp, timestamp).encode();
        self.send(key, message, timestamp, origin).await;
    }
}

fn peer(byte: u8) -> (PeerHandle, mpsc::Receiver<PeerCommand>) {
    let (tx, rx) = mpsc::channel(1024);
    let info = PeerInfo {
        peer_id: public(&secret(byte)),
        local_node_id: public(&secret(0x77)),
        connection_id: u64::from(byte),
        remote_addr: "127.0.0.1:9735".parse().unwrap(),
        inbound: false,
        their_features: Vec::new(),
        connected_at_ms: 0,
    };
    (PeerHandle::new(info, tx), rx)
}

async fn next_message(rx: &mut mpsc::Receiver<PeerCommand>) -> Message {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(PeerCommand::Send(bytes))) => message::decode(&bytes).expect("decodes"),
        other => panic!("expected a message to the peer, got {other:?}"),
    }
}

async fn nothing_more(rx: &mut mpsc::Receiver<PeerCommand>) {
    let got = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
    assert!(got.is_err(), "unexpected message {got:?}");
}

fn query_range() -> QueryChannelRange {
    QueryChannelRange {
        chain_hash: ChainHash::BITCOIN,
        first_blocknum: 0,
        number_of_blocks: u32::MAX,
        query_option: None,
        extra_tlvs: TlvStream::default(),
    }
}

#[tokio::test]
async fn index_replays_valid_gossip_and_answers_queries_filters_and_live_gossip() {
    let broker = KafkaBroker::start().expect("tansu starts");
    let mut config = KafkaConfig::new(broker.bootstrap(), "edge-index-test");
    config.session_timeout = Duration::from_secs(6);
    kafka::ensure_topics(&config, &[topics::GOSSIP_RAW, topics::GOSSIP_VALID])
        .await
        .unwrap_or_else(|e| panic!("creating topics: {e}\nbroker log:\n{}", broker.log()));
    let topic = ValidTopic {
        publisher: Publisher::new(&config).unwrap(),
    };
    let (querier, mut rx) = peer(0x51);
    let querier_id = querier.peer_id().serialize();

    let a = channel(800_000, 0x10);
    let b = channel(800_001, 0x20);
    let closed = channel(800_002, 0x30);
    for c in [&a, &b, &closed] {
        topic.announce(c).await;
        topic.update(c, 0, 1_000, &OTHER_PEER).await;
    }
    topic.update(&a, 0, 3_000, &OTHER_PEER).await;
    topic.update(&a, 0, 2_000, &OTHER_PEER).await; // older: ignored
    topic.update(&a, 1, 1_500, &OTHER_PEER).await;
    // b's direction 1 came from the querier itself: never sent back to it by the filter.
    topic.update(&b, 1, 2_500, &querier_id).await;
    let node_key = format!("n/{}", a.node_id(0));
    let node_ann = a.node_announcement(0, 2_000).encode();
    topic
        .send(node_key, node_ann.clone(), 2_000, &OTHER_PEER)
        .await;
    topic.tombstone(format!("c/{}", closed.scid)).await;

    let index = Arc::new(RwLock::new(GossipIndex::new()));
    let feed = GossipIndexFeed::start(&config, "edge-test-index", Arc::clone(&index))
        .await
        .expect("feed starts");
    let mut caught_up = feed.caught_up();
    let live = feed.live_sender();
    let mut gossip_config = GossipConfig::new(ChainHash::BITCOIN);
    gossip_config.max_ids_per_reply = 1; // force one reply per channel
    gossip_config.index_ready = Some(feed.caught_up());
    let feed_task = tokio::spawn(feed.run());
    tokio::time::timeout(WAIT, caught_up.wait_for(|done| *done))
        .await
        .expect("caught up in time")
        .expect("feed alive");
    {
        let index = index.read().unwrap();
        assert_eq!(index.channel_count(), 2, "closed channel tombstoned");
        let a_entry = index.channel(a.scid).unwrap();
        assert_eq!(a_entry.update_timestamps(), (3_000, 1_500));
        assert_eq!(index.node_count(), 1);
    }

    let relay = Arc::new(GossipRelay::new(
        Arc::new(Publisher::new(&config).unwrap()),
        "edge-9",
        8,
    ));
    let gossip = EdgeGossip::new(gossip_config, relay, Arc::clone(&index), live);

    // query_channel_range over everything: two replies, ordered, the last complete.
    let query = query_range();
    gossip
        .on_gossip(
            &querier,
            Message::QueryChannelRange(query.clone()),
            query.encode(),
        )
        .await;
    let mut replies = Vec::new();
    loop {
        match next_message(&mut rx).await {
            Message::ReplyChannelRange(reply) => {
                let done = reply.sync_complete;
                replies.push(reply);
                if done {
                    break;
                }
            }
            other => panic!("expected reply_channel_range, got {other:?}"),
        }
    }
    let ids: Vec<ShortChannelId> = replies.iter().flat_map(|r| r.short_ids.0.clone()).collect();
    assert_eq!(ids, vec![a.scid, b.scid]);
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].first_blocknum, 0);
    assert!(replies[1].end_blocknum() >= query.end_blocknum());

    // query_short_channel_ids for a: announcement, both updates, node 1's announcement, end.
    let scid_query = QueryShortChannelIds {
        chain_hash: ChainHash::BITCOIN,
        short_ids: EncodedShortIds(vec![a.scid]),
        query_flags: None,
        extra_tlvs: TlvStream::default(),
    };
    gossip
        .on_gossip(
            &querier,
            Message::QueryShortChannelIds(scid_query.clone()),
            scid_query.encode(),
        )
        .await;
    assert_eq!(
        next_message(&mut rx).await,
        Message::ChannelAnnouncement(a.announcement())
    );
    assert_eq!(
        next_message(&mut rx).await,
        Message::ChannelUpdate(a.update(0, 3_000, 3_000))
    );
    assert_eq!(
        next_message(&mut rx).await,
        Message::ChannelUpdate(a.update(1, 1_500, 1_500))
    );
    assert_eq!(next_message(&mut rx).await.encode(), node_ann);
    assert!(matches!(
        next_message(&mut rx).await,
        Message::ReplyShortChannelIdsEnd(ReplyShortChannelIdsEnd {
            full_information: true,
            ..
        })
    ));

    // gossip_timestamp_filter [1_200, 10_000): a's announcement + both updates, b's
    // announcement only (its direction 0 is too old, direction 1 came from this peer), node.
    let filter = GossipTimestampFilter {
        chain_hash: ChainHash::BITCOIN,
        first_timestamp: 1_200,
        timestamp_range: 8_800,
    };
    gossip
        .on_gossip(
            &querier,
            Message::GossipTimestampFilter(filter.clone()),
            filter.encode(),
        )
        .await;
    let mut backlog = Vec::new();
    for _ in 0..5 {
        backlog.push(next_message(&mut rx).await.encode());
    }
    assert_eq!(
        backlog,
        vec![
            a.announcement().encode(),
            a.update(0, 3_000, 3_000).encode(),
            a.update(1, 1_500, 1_500).encode(),
            b.announcement().encode(),
            node_ann.clone(),
        ]
    );
    nothing_more(&mut rx).await;

    // Live: an update from the querier is not echoed; one from elsewhere arrives; one outside
    // the filter does not.
    topic.update(&a, 1, 5_000, &querier_id).await;
    topic.update(&a, 1, 20_000, &OTHER_PEER).await;
    topic.update(&b, 0, 6_000, &OTHER_PEER).await;
    assert_eq!(
        next_message(&mut rx).await,
        Message::ChannelUpdate(b.update(0, 6_000, 6_000))
    );
    nothing_more(&mut rx).await;
    assert_eq!(
        index
            .read()
            .unwrap()
            .channel(a.scid)
            .unwrap()
            .update_timestamps(),
        (3_000, 20_000)
    );

    gossip.on_disconnected(querier.info());
    assert_eq!(gossip.session_count(), 0);
    feed_task.abort();
}

#[tokio::test]
async fn a_connecting_peer_is_asked_for_gossip_and_unknown_scids() {
    let broker = KafkaBroker::start().expect("tansu starts");
    let config = KafkaConfig::new(broker.bootstrap(), "edge-sync-test");
    kafka::ensure_topics(&config, &[topics::GOSSIP_RAW])
        .await
        .unwrap_or_else(|e| panic!("creating topics: {e}\nbroker log:\n{}", broker.log()));
    let known = channel(700_000, 0x10);
    let index = Arc::new(RwLock::new(GossipIndex::new()));
    index
        .write()
        .unwrap()
        .apply(ValidGossip {
            message: known.announcement().encode(),
            timestamp: 0,
            accepted_at_ms: 1,
            origin_edge: "edge-1".into(),
            origin_peer: OTHER_PEER.to_vec(),
        })
        .unwrap();
    let relay = Arc::new(GossipRelay::new(
        Arc::new(Publisher::new(&config).unwrap()),
        "edge-9",
        8,
    ));
    let (live, _) = tokio::sync::broadcast::channel(16);
    let mut gossip_config = GossipConfig::new(ChainHash::BITCOIN);
    gossip_config.scid_query_batch = 2;
    let gossip = EdgeGossip::new(gossip_config, relay, index, live);
    let (remote, mut rx) = peer(0x61);
    let init = Init {
        global_features: Features::new(),
        features: Features::new().with_optional(Feature::GossipQueries),
        networks: None,
        remote_addr: None,
        extra_tlvs: TlvStream::default(),
    };
    gossip.on_connected(&remote, &init).await;
    match next_message(&mut rx).await {
        Message::GossipTimestampFilter(filter) => {
            assert_eq!(filter.timestamp_range, u32::MAX);
            assert!(
                filter.first_timestamp > 0,
                "index not empty: two weeks back"
            );
        }
        other => panic!("expected a timestamp filter, got {other:?}"),
    }
    let query = match next_message(&mut rx).await {
        Message::QueryChannelRange(query) => query,
        other => panic!("expected query_channel_range, got {other:?}"),
    };
    assert_eq!(
        (query.first_blocknum, query.number_of_blocks),
        (0, u32::MAX)
    );

    let unknown: Vec<ShortChannelId> = (1..=3)
        .map(|tx| ShortChannelId::new(700_001, tx, 0).unwrap())
        .collect();
    let reply = |first: u32, blocks: u32, ids: Vec<ShortChannelId>, done: bool| {
        Message::ReplyChannelRange(ReplyChannelRange {
            chain_hash: ChainHash::BITCOIN,
            first_blocknum: first,
            number_of_blocks: blocks,
            sync_complete: done,
            short_ids: EncodedShortIds(ids),
            timestamps: None,
            checksums: None,
            extra_tlvs: TlvStream::default(),
        })
    };
    let first = reply(0, 700_001, vec![known.scid, unknown[0]], false);
    gossip
        .on_gossip(&remote, first.clone(), first.encode())
        .await;
    // Scids we lack are asked for right away (one query in flight at a time).
    let Message::QueryShortChannelIds(asked) = next_message(&mut rx).await else {
        panic!("expected query_short_channel_ids");
    };
    assert_eq!(asked.short_ids.0, vec![unknown[0]]);
    let last = reply(700_001, u32::MAX - 700_001, unknown[1..].to_vec(), true);
    gossip.on_gossip(&remote, last.clone(), last.encode()).await;
    nothing_more(&mut rx).await;
    let end = Message::ReplyShortChannelIdsEnd(ReplyShortChannelIdsEnd {
        chain_hash: ChainHash::BITCOIN,
        full_information: true,
    });
    gossip.on_gossip(&remote, end.clone(), end.encode()).await;
    let Message::QueryShortChannelIds(asked) = next_message(&mut rx).await else {
        panic!("expected the next query_short_channel_ids");
    };
    assert_eq!(asked.short_ids.0, unknown[1..].to_vec());
    gossip.on_gossip(&remote, end.clone(), end.encode()).await;
    nothing_more(&mut rx).await;
}

#[tokio::test]
async fn query_answers_beyond_the_peer_budget_wait_or_are_refused_with_a_warning() {
    let broker = KafkaBroker::start().expect("tansu starts");
    let config = KafkaConfig::new(broker.bootstrap(), "edge-limit-test");
    let a = channel(700_000, 0x10);
    let index = Arc::new(RwLock::new(GossipIndex::new()));
    for message in [
        a.announcement().encode(),
        a.update(0, 10, 10).encode(),
        a.update(1, 10, 10).encode(),
    ] {
        index
            .write()
            .unwrap()
            .apply(ValidGossip {
                message,
                timestamp: 10,
                accepted_at_ms: 1,
                origin_edge: "edge-1".into(),
                origin_peer: OTHER_PEER.to_vec(),
            })
            .unwrap();
    }
    let relay = Arc::new(GossipRelay::new(
        Arc::new(Publisher::new(&config).unwrap()),
        "edge-9",
        8,
    ));
    let (live, _) = tokio::sync::broadcast::channel(16);
    let mut gossip_config = GossipConfig::new(ChainHash::BITCOIN);
    gossip_config.rate_limits = lnfleet_edge::gossip::RateLimits {
        messages_per_sec: 4.0,
        message_burst: 4.0,
        bytes_per_sec: 1_000_000.0,
        byte_burst: 1_000_000.0,
        max_wait: Duration::from_millis(1_500),
    };
    let gossip = EdgeGossip::new(gossip_config, relay, index, live);
    let (querier, mut rx) = peer(0x71);
    let query = Message::QueryShortChannelIds(QueryShortChannelIds {
        chain_hash: ChainHash::BITCOIN,
        short_ids: EncodedShortIds(vec![a.scid]),
        query_flags: None,
        extra_tlvs: TlvStream::default(),
    });
    let answer_len = 4; // announcement, two updates, end

    // Within the burst: answered at once.
    let started = tokio::time::Instant::now();
    gossip
        .on_gossip(&querier, query.clone(), query.encode())
        .await;
    assert!(started.elapsed() < Duration::from_millis(500));
    for _ in 0..answer_len {
        next_message(&mut rx).await;
    }
    // The next answer costs a second of budget: it waits for it.
    let started = tokio::time::Instant::now();
    let paced = tokio::spawn(gossip.on_gossip(&querier, query.clone(), query.encode()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Meanwhile a third would need two seconds of debt: refused at once with a warning.
    gossip
        .on_gossip(&querier, query.clone(), query.encode())
        .await;
    match next_message(&mut rx).await {
        Message::Warning(warning) => assert!(warning.text().contains("rate limit")),
        other => panic!("expected a warning, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(500));
    paced.await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900));
    for _ in 0..answer_len {
        assert!(!matches!(next_message(&mut rx).await, Message::Warning(_)));
    }
    nothing_more(&mut rx).await;
}

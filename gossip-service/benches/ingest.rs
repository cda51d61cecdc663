//! Gossip ingest throughput: signed gossip over the real snapshot's topology, validated
//! ([`Validator::validate`]) and applied ([`ReplayState::apply_gossip`]) per second, beside the
//! raw secp256k1 `verify_ecdsa` rate on the same (hash, signature, key) triples, which is the
//! ceiling: validation is signature-bound, so the figure to read is the ratio.
//!
//! The snapshot's node ids are real keys we cannot sign for, so every node gets a generated key
//! (deterministic) and every channel two generated bitcoin keys. A fixed-seed subset of the
//! channels is signed (`INGEST_CHANNELS`, default 20,000 of ~50,800: signing the whole snapshot
//! takes long on a busy machine); generation is not timed. Messages: one `channel_announcement`
//! per channel (four signatures), one `channel_update` per enabled half with the snapshot's
//! policy, one `node_announcement` per node of the subset.
//!
//! Also prints the heap estimate ([`Graph::memory_bytes`]) and the process RSS delta of building
//! the full snapshot graph.
//!
//! Run: `cargo bench -p lnfleet-gossip --bench ingest`.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lnfleet_actors::contracts::ValidGossip;
use lnfleet_gossip::chain::NoChainSource;
use lnfleet_gossip::graph::Graph;
use lnfleet_gossip::replay::ReplayState;
use lnfleet_gossip::snapshot::{Snapshot, SnapshotChannel};
use lnfleet_gossip::validate::{Validator, ValidatorConfig};
use lnfleet_wire::address::NetAddress;
use lnfleet_wire::gossip::signing::sign_hash;
use lnfleet_wire::gossip::{double_sha256, ChannelAnnouncement, ChannelUpdate, NodeAnnouncement};
use lnfleet_wire::message::Message;
use lnfleet_wire::ChainHash;
use secp256k1::ecdsa::Signature;
use secp256k1::{PublicKey, SecretKey, SECP256K1};

#[path = "../tests/support/sample.rs"]
mod sample;

use sample::{load_snapshot, smoke_test_run, Rng};

const DEFAULT_CHANNELS: usize = 20_000;
const SEED: u64 = 0x696e_6765_7374;
/// RSS pages are 4 KiB on the x86-64 / aarch64 Linux this runs on.
const PAGE_BYTES: usize = 4096;

fn main() {
    let snapshot = load_snapshot();
    graph_memory(&snapshot);

    let limit = std::env::var("INGEST_CHANNELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke_test_run() {
            300
        } else {
            DEFAULT_CHANNELS
        });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let started = Instant::now();
    let corpus = Corpus::generate(&snapshot, limit, now);
    println!(
        "generated {} messages ({} channel_announcement, {} channel_update, {} node_announcement; \
         {} signatures) over {} of {} snapshot channels and {} nodes in {:.1?} (not measured)",
        corpus.messages.len(),
        corpus.count(Kind::Announcement),
        corpus.count(Kind::Update),
        corpus.count(Kind::Node),
        corpus.triples.len(),
        corpus.channel_count,
        snapshot.channels.len(),
        corpus.node_count,
        started.elapsed(),
    );

    // (a) one thread: validate and apply into a graph, then validate alone.
    let applied = validate_and_apply(&corpus.messages, now);
    let validated = validate_only(&corpus.messages, now);
    // (b) one thread: raw verify of the same triples.
    let raw_one = raw_verify(&corpus.triples);
    let decode = decode_only(&corpus.messages);
    println!(
        "1 thread  validate+apply: {:>8.0} msg/s, {:>8.0} sig/s ({} accepted, graph {} channels, \
         {} enabled edges, memory_bytes {:.1} MiB)",
        applied.rate.messages_per_sec(),
        applied.rate.signatures_per_sec(),
        applied.rate.accepted,
        applied.graph.channel_count(),
        applied.graph.enabled_edge_count(),
        mib(applied.graph.memory_bytes()),
    );
    println!(
        "1 thread  validate only : {:>8.0} msg/s, {:>8.0} sig/s",
        validated.messages_per_sec(),
        validated.signatures_per_sec(),
    );
    println!(
        "1 thread  raw verify    : {:>8.0} sig/s  -> validate+apply at {:.0} %, validate only at \
         {:.0} % of the verify bound",
        raw_one.signatures_per_sec(),
        percent(
            applied.rate.signatures_per_sec(),
            raw_one.signatures_per_sec()
        ),
        percent(validated.signatures_per_sec(), raw_one.signatures_per_sec()),
    );

    println!(
        "1 thread  decode only   : {:>8.0} msg/s ({:.1} us per message: the part of validation \
         outside the signature checks that does not depend on state)",
        decode.messages_per_sec(),
        1e6 / decode.messages_per_sec().max(1e-9),
    );

    // (c) two threads: two validator replicas over a partition by scid, against two threads of
    // raw verify.
    let partitions = corpus.partition_by_scid();
    let halves = [
        &corpus.triples[..corpus.triples.len() / 2],
        &corpus.triples[corpus.triples.len() / 2..],
    ];
    // Two alternating rounds, best of each: the machine is shared, and a neighbour's burst
    // during one phase would otherwise decide the ratio.
    let mut two_validators = Rate::default();
    let mut two_raw = Rate::default();
    for round in 1..=2 {
        let validators = two_threads(|part| validate_only(&partitions[part], now));
        let raw = two_threads(|part| raw_verify(halves[part]));
        println!(
            "2 threads round {round}: validators {:>8.0} sig/s, raw verify {:>8.0} sig/s",
            validators.signatures_per_sec(),
            raw.signatures_per_sec(),
        );
        if validators.signatures_per_sec() > two_validators.signatures_per_sec() {
            two_validators = validators;
        }
        if raw.signatures_per_sec() > two_raw.signatures_per_sec() {
            two_raw = raw;
        }
    }
    let ratio = percent(
        two_validators.signatures_per_sec(),
        two_raw.signatures_per_sec(),
    );
    println!(
        "2 threads validate only : {:>8.0} msg/s, {:>8.0} sig/s ({} accepted of {}; best round)",
        two_validators.messages_per_sec(),
        two_validators.signatures_per_sec(),
        two_validators.accepted,
        corpus.messages.len(),
    );
    println!(
        "2 threads raw verify    : {:>8.0} sig/s (best round) -> validators at {ratio:.0} % of the verify bound \
         (target >= 70 %: {})",
        two_raw.signatures_per_sec(),
        if ratio >= 70.0 { "met" } else { "NOT met" },
    );
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        100.0 * part / whole
    } else {
        0.0
    }
}

/// Resident set size from `/proc/self/statm` (second field, in pages); 0 where unavailable.
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * PAGE_BYTES)
}

/// The full snapshot graph: heap estimate against the RSS it actually added.
fn graph_memory(snapshot: &Snapshot) {
    let before = rss_bytes();
    let graph = Graph::from_snapshot(snapshot);
    let after = rss_bytes();
    let estimate = graph.memory_bytes();
    println!(
        "full snapshot graph ({} nodes, {} channels, {} edges): memory_bytes {:.1} MiB, RSS delta \
         {:.1} MiB (target <= 64 MiB: {})",
        graph.node_count(),
        graph.channel_count(),
        graph.edge_count(),
        mib(estimate),
        mib(after.saturating_sub(before)),
        if estimate.max(after.saturating_sub(before)) <= 64 << 20 {
            "met"
        } else {
            "NOT met"
        },
    );
}

/// A generated secret for `(tag, index)`: double-SHA256 of seed, tag and index.
fn generated_secret(tag: u8, index: u32) -> SecretKey {
    let mut input = SEED.to_be_bytes().to_vec();
    input.push(tag);
    input.extend_from_slice(&index.to_be_bytes());
    let mut counter = 0u8;
    loop {
        let mut bytes = input.clone();
        bytes.push(counter);
        if let Ok(secret) = SecretKey::from_slice(&double_sha256(&bytes)) {
            return secret;
        }
        counter = counter.wrapping_add(1);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Announcement,
    Update,
    Node,
}

impl Kind {
    fn signatures(self) -> u64 {
        match self {
            Kind::Announcement => 4,
            Kind::Update | Kind::Node => 1,
        }
    }
}

/// One pre-encoded message; `partition` is where a scid-partitioned replica set sends it.
#[derive(Clone)]
struct Encoded {
    raw: Vec<u8>,
    kind: Kind,
    partition: usize,
}

/// What was signed: the raw verify bench checks exactly these.
type Triple = (secp256k1::Message, Signature, PublicKey);

struct Corpus {
    messages: Vec<Encoded>,
    triples: Vec<Triple>,
    channel_count: usize,
    node_count: usize,
}

/// The messages of one channel, generated on a worker thread.
struct ChannelGossip {
    announcement: Encoded,
    updates: Vec<Encoded>,
    triples: Vec<Triple>,
}

impl Corpus {
    fn generate(snapshot: &Snapshot, limit: usize, now: u64) -> Self {
        let mut rng = Rng(SEED);
        let mut picked: Vec<&SnapshotChannel> = snapshot.channels.iter().collect();
        // Fisher-Yates with the fixed seed, then the first `limit`.
        for i in (1..picked.len()).rev() {
            picked.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        picked.truncate(limit);
        picked.sort_by_key(|c| c.scid);

        let mut node_order: Vec<u32> = picked.iter().flat_map(|c| c.nodes).collect();
        node_order.sort_unstable();
        node_order.dedup();
        let secrets: HashMap<u32, SecretKey> =
            parallel_map(&node_order, |&n| (n, generated_secret(0, n)))
                .into_iter()
                .collect();
        let timestamp = (now - 3_600) as u32;
        let per_channel = parallel_map(&picked, |channel| {
            channel_gossip(channel, &secrets, timestamp)
        });

        // A node_announcement goes to the partition of the node's lowest scid, which is the
        // replica that has seen one of its channels.
        let mut node_partition: HashMap<u32, usize> = HashMap::new();
        for (channel, gossip) in picked.iter().zip(&per_channel) {
            for n in channel.nodes {
                node_partition
                    .entry(n)
                    .or_insert(gossip.announcement.partition);
            }
        }
        let node_gossip = parallel_map(&node_order, |&n| {
            let partition = node_partition.get(&n).copied().unwrap_or(0);
            node_announcement(snapshot, n, &secrets[&n], timestamp + 60, partition)
        });

        let mut messages = Vec::new();
        let mut triples = Vec::new();
        for gossip in per_channel {
            messages.push(gossip.announcement);
            messages.extend(gossip.updates);
            triples.extend(gossip.triples);
        }
        for (encoded, triple) in node_gossip {
            messages.push(encoded);
            triples.push(triple);
        }
        Corpus {
            messages,
            triples,
            channel_count: picked.len(),
            node_count: node_order.len(),
        }
    }

    fn count(&self, kind: Kind) -> usize {
        self.messages.iter().filter(|m| m.kind == kind).count()
    }

    fn partition_by_scid(&self) -> [Vec<Encoded>; 2] {
        let mut parts = [Vec::new(), Vec::new()];
        for m in &self.messages {
            parts[m.partition].push(m.clone());
        }
        parts
    }
}

/// `items.iter().map(f)` on two threads, order kept.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let (left, right) = items.split_at(items.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| right.iter().map(&f).collect::<Vec<R>>());
        let mut out: Vec<R> = left.iter().map(&f).collect();
        out.extend(other.join().expect("generation thread"));
        out
    })
}

fn channel_gossip(
    channel: &SnapshotChannel,
    secrets: &HashMap<u32, SecretKey>,
    timestamp: u32,
) -> ChannelGossip {
    let block = channel.scid.block();
    let partition = (block % 2) as usize;
    let node_secret = |n: u32| secrets[&n];
    // BOLT 7 orders the generated keys, not the snapshot's real ones.
    let mut ordered = [channel.nodes[0], channel.nodes[1]];
    let public = |n: u32| PublicKey::from_secret_key(SECP256K1, &node_secret(n));
    if public(ordered[0]).serialize() > public(ordered[1]).serialize() {
        ordered.swap(0, 1);
    }
    let bitcoin = [generated_secret(1, block), generated_secret(2, block)];
    let placeholder = sign_hash(&[1; 32], &bitcoin[0]);
    let mut ann = ChannelAnnouncement {
        node_signature_1: placeholder,
        node_signature_2: placeholder,
        bitcoin_signature_1: placeholder,
        bitcoin_signature_2: placeholder,
        features: Vec::new(),
        chain_hash: ChainHash::BITCOIN,
        short_channel_id: channel.scid,
        node_id_1: public(ordered[0]),
        node_id_2: public(ordered[1]),
        bitcoin_key_1: PublicKey::from_secret_key(SECP256K1, &bitcoin[0]),
        bitcoin_key_2: PublicKey::from_secret_key(SECP256K1, &bitcoin[1]),
        excess_data: Vec::new(),
    };
    ann.sign_all(
        &node_secret(ordered[0]),
        &node_secret(ordered[1]),
        &bitcoin[0],
        &bitcoin[1],
    );
    let hash = secp256k1::Message::from_digest(ann.signed_hash());
    let mut triples = vec![
        (hash, ann.node_signature_1, ann.node_id_1),
        (hash, ann.node_signature_2, ann.node_id_2),
        (hash, ann.bitcoin_signature_1, ann.bitcoin_key_1),
        (hash, ann.bitcoin_signature_2, ann.bitcoin_key_2),
    ];
    let announcement = Encoded {
        raw: Message::ChannelAnnouncement(ann).encode(),
        kind: Kind::Announcement,
        partition,
    };

    let mut updates = Vec::new();
    // `halves[d]` is announced by the snapshot's `nodes[d]`; its BOLT 7 direction is where that
    // node's generated key sorts.
    for (half, announcer) in channel.halves.iter().zip(channel.nodes) {
        if !half.enabled {
            continue;
        }
        let direction = u8::from(ordered[1] == announcer);
        let secret = node_secret(announcer);
        let mut update = ChannelUpdate {
            signature: placeholder,
            chain_hash: ChainHash::BITCOIN,
            short_channel_id: channel.scid,
            timestamp,
            message_flags: ChannelUpdate::MESSAGE_FLAG_MUST_BE_ONE,
            channel_flags: direction,
            cltv_expiry_delta: half.cltv_expiry_delta,
            htlc_minimum_msat: half.htlc_minimum_msat,
            fee_base_msat: half.fee_base_msat,
            fee_proportional_millionths: half.fee_proportional_millionths,
            htlc_maximum_msat: half.htlc_maximum_msat,
            excess_data: Vec::new(),
        };
        update.sign(&secret);
        triples.push((
            secp256k1::Message::from_digest(update.signed_hash()),
            update.signature,
            PublicKey::from_secret_key(SECP256K1, &secret),
        ));
        updates.push(Encoded {
            raw: Message::ChannelUpdate(update).encode(),
            kind: Kind::Update,
            partition,
        });
    }
    ChannelGossip {
        announcement,
        updates,
        triples,
    }
}

fn node_announcement(
    snapshot: &Snapshot,
    node: u32,
    secret: &SecretKey,
    timestamp: u32,
    partition: usize,
) -> (Encoded, Triple) {
    let mut alias = [0u8; 32];
    if let Some(known) = snapshot.nodes.get(node as usize) {
        let bytes = known.alias.as_bytes();
        let len = bytes.len().min(32);
        alias[..len].copy_from_slice(&bytes[..len]);
    }
    let mut ann = NodeAnnouncement {
        signature: sign_hash(&[1; 32], secret),
        features: Vec::new(),
        timestamp,
        node_id: PublicKey::from_secret_key(SECP256K1, secret),
        rgb_color: [1, 2, 3],
        alias,
        addresses: vec![NetAddress::Ipv4 {
            addr: [203, 0, 113, 7].into(),
            port: 9735,
        }],
        address_tail: Vec::new(),
        excess_data: Vec::new(),
    };
    ann.sign(secret);
    let triple = (
        secp256k1::Message::from_digest(ann.signed_hash()),
        ann.signature,
        ann.node_id,
    );
    let encoded = Encoded {
        raw: Message::NodeAnnouncement(ann).encode(),
        kind: Kind::Node,
        partition,
    };
    (encoded, triple)
}

/// Messages and signatures done in a wall-clock interval.
#[derive(Debug, Clone, Copy, Default)]
struct Rate {
    messages: u64,
    accepted: u64,
    signatures: u64,
    elapsed: Duration,
}

impl Rate {
    fn messages_per_sec(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn signatures_per_sec(&self) -> f64 {
        self.signatures as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

struct Applied {
    rate: Rate,
    graph: Graph,
}

fn new_validator() -> Validator<NoChainSource> {
    Validator::new(ValidatorConfig::new(ChainHash::BITCOIN), NoChainSource)
}

/// Every message must be accepted: a rejection would mean the corpus is wrong and the figures
/// meaningless.
fn validate_and_apply(messages: &[Encoded], now: u64) -> Applied {
    let mut validator = new_validator();
    let mut replay = ReplayState::new();
    let mut graph = Graph::default();
    let mut rate = Rate::default();
    let started = Instant::now();
    for m in messages {
        let accepted = match validator.validate(&m.raw, now) {
            Ok(accepted) => accepted,
            Err(rejection) => panic!("generated gossip rejected: {rejection}"),
        };
        let gossip = ValidGossip {
            message: accepted.raw,
            timestamp: 0,
            accepted_at_ms: now * 1000,
            origin_edge: String::new(),
            origin_peer: Vec::new(),
        };
        replay
            .apply_gossip(&mut graph, &gossip)
            .expect("accepted gossip applies");
        rate.accepted += 1;
        rate.signatures += m.kind.signatures();
    }
    rate.elapsed = started.elapsed();
    rate.messages = messages.len() as u64;
    Applied { rate, graph }
}

fn validate_only(messages: &[Encoded], now: u64) -> Rate {
    let mut validator = new_validator();
    let mut rate = Rate::default();
    let started = Instant::now();
    for m in messages {
        match validator.validate(&m.raw, now) {
            Ok(accepted) => {
                std::hint::black_box(accepted);
                rate.accepted += 1;
                rate.signatures += m.kind.signatures();
            }
            Err(rejection) => panic!("generated gossip rejected: {rejection}"),
        }
    }
    rate.elapsed = started.elapsed();
    rate.messages = messages.len() as u64;
    rate
}

/// `message::decode` alone: parsing, including decompressing every public key on the curve.
fn decode_only(messages: &[Encoded]) -> Rate {
    let started = Instant::now();
    let decoded = messages
        .iter()
        .filter(|m| std::hint::black_box(lnfleet_wire::message::decode(&m.raw)).is_ok())
        .count();
    assert_eq!(decoded, messages.len(), "every generated message decodes");
    Rate {
        messages: messages.len() as u64,
        accepted: decoded as u64,
        signatures: 0,
        elapsed: started.elapsed(),
    }
}

fn raw_verify(triples: &[Triple]) -> Rate {
    let started = Instant::now();
    let good = triples
        .iter()
        .filter(|(msg, sig, key)| SECP256K1.verify_ecdsa(msg, sig, key).is_ok())
        .count();
    assert_eq!(good, triples.len(), "every generated signature verifies");
    Rate {
        messages: triples.len() as u64,
        accepted: good as u64,
        signatures: good as u64,
        elapsed: started.elapsed(),
    }
}

/// Runs `work(0)` and `work(1)` on two threads released together; the combined rate is the
/// total over the slower thread's time (the wall clock of the pair).
fn two_threads(work: impl Fn(usize) -> Rate + Sync) -> Rate {
    let barrier = std::sync::Barrier::new(2);
    let rates: Vec<Rate> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|part| {
                let (work, barrier) = (&work, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    work(part)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .collect()
    });
    rates.iter().fold(Rate::default(), |total, r| Rate {
        messages: total.messages + r.messages,
        accepted: total.accepted + r.accepted,
        signatures: total.signatures + r.signatures,
        elapsed: total.elapsed.max(r.elapsed),
    })
}

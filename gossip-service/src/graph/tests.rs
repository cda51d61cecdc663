use std::path::PathBuf;

use lnfleet_wire::ShortChannelId;

use super::*;
use crate::snapshot::Snapshot;

fn real_snapshot() -> Snapshot {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/lngraph"));
    Snapshot::load(
        &dir.join("gossip-store-2026-02-03.compressed"),
        &dir.join("gossip-store-2026-02-03-node-map.xz"),
    )
    .expect("the real snapshot loads")
}

fn key(byte: u8) -> [u8; 33] {
    let mut k = [byte; 33];
    k[0] = 0x02;
    k
}

fn params(fee_base_msat: u32) -> ChannelParams {
    ChannelParams {
        fee_base_msat,
        fee_proportional_millionths: 10,
        cltv_expiry_delta: 40,
        htlc_minimum_msat: 1,
        htlc_maximum_msat: 1_000_000,
    }
}

fn scid(block: u32) -> ShortChannelId {
    ShortChannelId::new(block, 1, 0).unwrap()
}

#[test]
fn real_graph_counts_match_the_snapshot() {
    let graph = Graph::from_snapshot(&real_snapshot());
    assert_eq!(graph.node_count(), 17_324);
    assert_eq!(graph.channel_count(), 50_808);
    assert_eq!(graph.edge_count(), 2 * 50_808);
    assert_eq!(graph.enabled_edge_count(), 65_809);
}

#[test]
fn real_graph_adjacency_covers_every_edge_once_each_way() {
    let graph = Graph::from_snapshot(&real_snapshot());
    let (mut out_total, mut in_total, mut out_enabled) = (0, 0, 0);
    for node in 0..graph.node_count() as NodeIndex {
        for e in graph.outgoing(node) {
            assert_eq!(e.source(), node);
            out_total += 1;
            out_enabled += usize::from(e.enabled());
        }
        for e in graph.incoming(node) {
            assert_eq!(e.target(), node);
            in_total += 1;
        }
    }
    assert_eq!(out_total, graph.edge_count());
    assert_eq!(in_total, graph.edge_count());
    assert_eq!(out_enabled, 65_809);
}

#[test]
fn real_graph_edges_match_snapshot_halves() {
    let snapshot = real_snapshot();
    let graph = Graph::from_snapshot(&snapshot);
    for c in &snapshot.channels {
        for d in 0..2u8 {
            let e = graph
                .half_channel(c.scid, d)
                .expect("every half is an edge");
            let half = &c.halves[d as usize];
            assert_eq!(e.scid(), c.scid);
            assert_eq!(e.direction(), d);
            assert_eq!(e.source(), c.nodes[d as usize]);
            assert_eq!(e.target(), c.nodes[1 - d as usize]);
            assert_eq!(e.capacity_sat(), c.capacity_sat);
            assert_eq!(e.enabled(), half.is_usable());
            assert_eq!(e.fee_base_msat(), half.fee_base_msat);
            assert_eq!(e.htlc_maximum_msat(), half.htlc_maximum_msat);
            assert_eq!(e.cltv_expiry_delta(), half.cltv_expiry_delta);
        }
    }
}

#[test]
fn real_graph_pubkey_lookup_round_trips() {
    let snapshot = real_snapshot();
    let graph = Graph::from_snapshot(&snapshot);
    for (i, node) in snapshot.nodes.iter().enumerate() {
        assert_eq!(graph.node_index(&node.pubkey), Some(i as NodeIndex));
        assert_eq!(graph.node_id(i as NodeIndex), Some(&node.pubkey));
    }
    assert_eq!(graph.node_index(&key(9)), None);
    assert!(graph.node_id(17_324).is_none());
    assert_eq!(graph.outgoing(17_324).count(), 0);
    assert_eq!(graph.incoming(u32::MAX).count(), 0);
}

#[test]
fn update_sets_policy_and_enables_disable_clears() {
    let mut graph = Graph::default();
    graph.add_channel(scid(1), key(2), key(1), 5_000).unwrap();
    assert!(!graph.half_channel(scid(1), 0).unwrap().enabled());
    graph.update_half_channel(scid(1), 1, params(7)).unwrap();
    let e = graph.half_channel(scid(1), 1).unwrap();
    assert!(e.enabled());
    assert_eq!(e.params(), params(7));
    // Direction 1 is announced by node_id_2, the higher key.
    assert_eq!(graph.node_id(e.source()), Some(&key(2)));
    graph.disable(scid(1), 1).unwrap();
    assert!(!graph.half_channel(scid(1), 1).unwrap().enabled());
}

#[test]
fn updates_to_unknown_channels_or_directions_are_errors() {
    let mut graph = Graph::default();
    graph.add_channel(scid(1), key(1), key(2), 5_000).unwrap();
    assert_eq!(
        graph.update_half_channel(scid(2), 0, params(1)),
        Err(GraphError::UnknownChannel(scid(2)))
    );
    assert_eq!(graph.disable(scid(1), 2), Err(GraphError::BadDirection(2)));
    assert_eq!(
        graph.add_channel(scid(1), key(1), key(3), 1),
        Err(GraphError::DuplicateChannel(scid(1)))
    );
    assert_eq!(
        graph.add_channel(scid(3), key(4), key(4), 1),
        Err(GraphError::SelfChannel(scid(3)))
    );
}

#[test]
fn added_channel_is_reachable_both_ways_before_and_after_rebuild() {
    let mut graph = Graph::from_snapshot(&real_snapshot());
    let acinq = graph.node_index(&{
        let mut k = [0u8; 33];
        hex::decode_to_slice(
            "03864ef025fde8fb587d989186ce6a4a186895ee44a926bfc370e2c366597a3f8f",
            &mut k,
        )
        .unwrap();
        k
    });
    let acinq = acinq.unwrap();
    let acinq_key = *graph.node_id(acinq).unwrap();
    let degree = graph.outgoing(acinq).count();
    let new_scid = ShortChannelId::new(900_000, 5, 1).unwrap();
    graph
        .add_channel(new_scid, acinq_key, key(7), 1_000_000)
        .unwrap();
    let newcomer = graph.node_index(&key(7)).unwrap();
    assert_eq!(graph.node_count(), 17_325);
    assert_eq!(graph.overflow_edges(), 2);
    let check = |graph: &Graph| {
        assert_eq!(graph.outgoing(acinq).count(), degree + 1);
        assert!(graph.outgoing(newcomer).all(|e| e.target() == acinq));
        assert!(graph.incoming(newcomer).any(|e| e.scid() == new_scid));
        assert_eq!(graph.channel_count(), 50_809);
        assert_eq!(
            graph.half_channel(new_scid, 0).unwrap().source(),
            newcomer,
            "0x02.. sorts below 0x03.."
        );
    };
    check(&graph);
    graph.update_half_channel(new_scid, 0, params(3)).unwrap();
    graph.rebuild();
    assert_eq!(graph.overflow_edges(), 0);
    check(&graph);
    assert_eq!(graph.half_channel(new_scid, 0).unwrap().params(), params(3));
    assert_eq!(graph.enabled_edge_count(), 65_810);
}

#[test]
fn many_additions_trigger_a_rebuild() {
    let mut graph = Graph::default();
    for i in 0..2_000u32 {
        let a = key((i % 200) as u8);
        let mut b = key(0);
        b[1..5].copy_from_slice(&i.to_be_bytes());
        b[5] = 0xaa;
        graph.add_channel(scid(i + 1), a, b, 1).unwrap();
    }
    assert!(graph.overflow_edges() * REBUILD_FRACTION <= graph.edge_count().max(1024));
    let total: usize = (0..graph.node_count() as NodeIndex)
        .map(|n| graph.outgoing(n).count())
        .sum();
    assert_eq!(total, 4_000);
    let incoming: usize = (0..graph.node_count() as NodeIndex)
        .map(|n| graph.incoming(n).count())
        .sum();
    assert_eq!(incoming, 4_000);
}

#[test]
fn memory_bytes_counts_every_array_and_table() {
    assert_eq!(Graph::default().memory_bytes(), 0);
    let graph = Graph::from_snapshot(&real_snapshot());
    let bytes = graph.memory_bytes();
    // Lower bound from lengths alone: per edge at least source, target, scid, the policy
    // fields, capacity, enabled and direction; per node its 33-byte id and an index entry.
    let per_edge = 4 + 4 + 8 + 4 + 4 + 2 + 8 + 8 + 8 + 1 + 1 + 4;
    let per_node = 33 + 37 + 8;
    let floor = graph.edge_count() * per_edge + graph.node_count() * per_node;
    assert!(bytes >= floor, "{bytes} < {floor}");
    assert!(
        bytes < 4 * floor,
        "{bytes} is implausibly large against {floor}"
    );

    // Adding channels grows it.
    let mut small = Graph::default();
    small.add_channel(scid(1), key(1), key(2), 1).unwrap();
    let one = small.memory_bytes();
    assert!(one > 0);
    for i in 2..200u32 {
        small.add_channel(scid(i), key(1), key(i as u8), 1).unwrap();
    }
    assert!(small.memory_bytes() > one);
}

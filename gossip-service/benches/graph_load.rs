//! Loading the real mainnet snapshot (`data/lngraph`) into a routable graph.
//!
//! Anchor: decompressing both files alone (gzip + xz), in the same group, so the figure to read
//! is how much parsing and building add on top of the unavoidable decompression.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use lnfleet_gossip::graph::Graph;
use lnfleet_gossip::snapshot::{gunzip, unxz, Snapshot};

fn data(file: &str) -> Vec<u8> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/lngraph")).join(file);
    std::fs::read(path).expect("data/lngraph is checked in")
}

fn graph_load(c: &mut Criterion) {
    let compressed = data("gossip-store-2026-02-03.compressed");
    let node_map = data("gossip-store-2026-02-03-node-map.xz");
    let mut group = c.benchmark_group("graph_load");
    group.sample_size(10);
    group.bench_function("anchor_decompress_only", |b| {
        b.iter(|| {
            let channels = gunzip(&compressed).unwrap();
            let nodes = unxz(&node_map).unwrap();
            (channels.len(), nodes.len())
        })
    });
    group.bench_function("load_snapshot", |b| {
        b.iter(|| Snapshot::from_bytes(&compressed, &node_map).unwrap())
    });
    group.bench_function("load_snapshot_and_build_graph", |b| {
        b.iter(|| Graph::from_snapshot(&Snapshot::from_bytes(&compressed, &node_map).unwrap()))
    });
    let snapshot = Snapshot::from_bytes(&compressed, &node_map).unwrap();
    group.bench_function("build_graph_only", |b| {
        b.iter(|| Graph::from_snapshot(&snapshot))
    });
    group.finish();
}

criterion_group!(benches, graph_load);
criterion_main!(benches);

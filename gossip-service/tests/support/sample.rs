//! The mainnet snapshot and the random queries the gossip benches and the LDK comparison share
//! (included through `#[path]`, as `mod sample`).

#![allow(dead_code)] // Each including target uses a different part.

use std::time::Duration;

use lnfleet_gossip::graph::{Graph, NodeIndex};
use lnfleet_gossip::snapshot::Snapshot;

/// The mainnet snapshot in `data/lngraph`.
pub fn load_snapshot() -> Snapshot {
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/lngraph"));
    Snapshot::load(
        &dir.join("gossip-store-2026-02-03.compressed"),
        &dir.join("gossip-store-2026-02-03-node-map.xz"),
    )
    .expect("data/lngraph is checked in")
}

/// The graph of [`load_snapshot`].
pub fn real_graph() -> Graph {
    Graph::from_snapshot(&load_snapshot())
}

/// `cargo test --all-targets` runs benches without `--bench` as a smoke test: keep that run small.
pub fn smoke_test_run() -> bool {
    !std::env::args().any(|arg| arg == "--bench")
}

/// The `p`th percentile of sorted latencies (zero when there are none).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * p / 100.0) as usize).min(sorted.len() - 1);
    sorted[rank]
}

/// Deterministic pseudo-random numbers (splitmix64), so every run asks the same queries.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The nodes of the largest strongly connected component over enabled edges (Kosaraju, both
/// passes iterative: mainnet paths are too deep for recursion).
pub fn largest_scc(graph: &Graph) -> Vec<NodeIndex> {
    let n = graph.node_count();
    // Pass 1: finish order of a DFS along outgoing enabled edges.
    let mut visited = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for root in 0..n as NodeIndex {
        if visited[root as usize] {
            continue;
        }
        visited[root as usize] = true;
        let mut stack = vec![(root, enabled_targets(graph, root))];
        while let Some((node, edges)) = stack.last_mut() {
            let node = *node;
            match edges.next() {
                Some(t) => {
                    if !std::mem::replace(&mut visited[t as usize], true) {
                        stack.push((t, enabled_targets(graph, t)));
                    }
                }
                None => {
                    order.push(node);
                    stack.pop();
                }
            }
        }
    }
    // Pass 2: in reverse finish order, collect components along incoming enabled edges.
    let mut component = vec![usize::MAX; n];
    let mut best: Vec<NodeIndex> = Vec::new();
    for (id, &root) in order.iter().rev().enumerate() {
        if component[root as usize] != usize::MAX {
            continue;
        }
        component[root as usize] = id;
        let mut members = vec![root];
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            for e in graph.incoming(v) {
                if !e.enabled() {
                    continue;
                }
                let u = e.source();
                if component[u as usize] == usize::MAX {
                    component[u as usize] = id;
                    members.push(u);
                    stack.push(u);
                }
            }
        }
        if members.len() > best.len() {
            best = members;
        }
    }
    best.sort_unstable();
    best
}

/// Nodes reachable over one enabled edge from `node`.
fn enabled_targets(graph: &Graph, node: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
    graph
        .outgoing(node)
        .filter(|e| e.enabled())
        .map(|e| e.target())
}

/// Nodes reachable from `root` over enabled edges, forwards or backwards.
pub fn reach(graph: &Graph, root: NodeIndex, forwards: bool) -> Vec<bool> {
    let mut seen = vec![false; graph.node_count()];
    seen[root as usize] = true;
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        let next: Vec<NodeIndex> = if forwards {
            graph
                .outgoing(v)
                .filter(|e| e.enabled())
                .map(|e| e.target())
                .collect()
        } else {
            graph
                .incoming(v)
                .filter(|e| e.enabled())
                .map(|e| e.source())
                .collect()
        };
        for n in next {
            if !std::mem::replace(&mut seen[n as usize], true) {
                stack.push(n);
            }
        }
    }
    seen
}

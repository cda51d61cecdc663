//! Per-thread search state reused across queries.
//!
//! A query on mainnet touches a few thousand of ~17k nodes; allocating and filling node-sized
//! arrays for each would cost more than the search itself. Labels carry the generation of the
//! query that wrote them, so starting a query is one increment: a label from an older generation
//! reads as untouched.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::graph::{EdgeIndex, NodeIndex};

pub(super) const NO_EDGE: EdgeIndex = EdgeIndex::MAX;

/// A min-heap of `(key, node)`; keys are the bits of non-negative finite `f64` costs, which
/// sort like the values.
pub(super) type Frontier = BinaryHeap<Reverse<(u64, NodeIndex)>>;

/// The best known way from a node to the destination (backward search).
#[derive(Debug, Clone, Copy)]
pub(super) struct BackwardLabel {
    pub(super) cost: f64,
    /// What the node must receive to forward along its path.
    pub(super) amount_msat: u64,
    /// The CLTV the node must receive.
    pub(super) delay: u32,
    pub(super) hops: u32,
    /// The first channel of the node's path.
    pub(super) next_edge: EdgeIndex,
    pub(super) settled: bool,
    generation: u32,
}

impl BackwardLabel {
    const UNTOUCHED: BackwardLabel = BackwardLabel {
        cost: f64::INFINITY,
        amount_msat: 0,
        delay: 0,
        hops: 0,
        next_edge: NO_EDGE,
        settled: false,
        generation: 0,
    };
}

/// A lower bound on the cost of reaching a node from the source (forward search).
#[derive(Debug, Clone, Copy)]
pub(super) struct ForwardLabel {
    pub(super) cost: f64,
    pub(super) settled: bool,
    generation: u32,
}

impl ForwardLabel {
    const UNTOUCHED: ForwardLabel = ForwardLabel {
        cost: f64::INFINITY,
        settled: false,
        generation: 0,
    };
}

/// Everything one search writes, sized to the graph.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    generation: u32,
    backward: Vec<BackwardLabel>,
    forward: Vec<ForwardLabel>,
    pub(super) backward_frontier: Frontier,
    pub(super) forward_frontier: Frontier,
}

impl Scratch {
    /// Forgets the previous query in O(1) (O(nodes) once every 2³² queries or when the graph
    /// grew).
    pub(super) fn begin(&mut self, nodes: usize) {
        if self.generation == u32::MAX {
            self.generation = 0;
            self.backward.fill(BackwardLabel::UNTOUCHED);
            self.forward.fill(ForwardLabel::UNTOUCHED);
        }
        self.generation += 1;
        if self.backward.len() < nodes {
            self.backward.resize(nodes, BackwardLabel::UNTOUCHED);
            self.forward.resize(nodes, ForwardLabel::UNTOUCHED);
        }
        self.backward_frontier.clear();
        self.forward_frontier.clear();
    }

    /// The node's backward label (untouched for unknown nodes).
    #[inline]
    pub(super) fn backward(&self, node: NodeIndex) -> BackwardLabel {
        match self.backward.get(node as usize) {
            Some(label) if label.generation == self.generation => *label,
            _ => BackwardLabel::UNTOUCHED,
        }
    }

    /// The node's backward label for writing; `None` for a node outside the graph.
    #[inline]
    pub(super) fn backward_mut(&mut self, node: NodeIndex) -> Option<&mut BackwardLabel> {
        let generation = self.generation;
        let label = self.backward.get_mut(node as usize)?;
        if label.generation != generation {
            *label = BackwardLabel::UNTOUCHED;
            label.generation = generation;
        }
        Some(label)
    }

    #[inline]
    pub(super) fn forward(&self, node: NodeIndex) -> ForwardLabel {
        match self.forward.get(node as usize) {
            Some(label) if label.generation == self.generation => *label,
            _ => ForwardLabel::UNTOUCHED,
        }
    }

    #[inline]
    pub(super) fn forward_mut(&mut self, node: NodeIndex) -> Option<&mut ForwardLabel> {
        let generation = self.generation;
        let label = self.forward.get_mut(node as usize)?;
        if label.generation != generation {
            *label = ForwardLabel::UNTOUCHED;
            label.generation = generation;
        }
        Some(label)
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch (a fresh one if it is already in use, which only a
/// re-entrant call could cause).
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut Scratch::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_both(scratch: &mut Scratch, node: NodeIndex) {
        let label = scratch.backward_mut(node).unwrap();
        label.cost = 1.0;
        label.settled = true;
        let label = scratch.forward_mut(node).unwrap();
        label.cost = 2.0;
        label.settled = true;
    }

    fn untouched(scratch: &Scratch, node: NodeIndex) -> bool {
        let (back, fwd) = (scratch.backward(node), scratch.forward(node));
        back.cost == f64::INFINITY && !back.settled && fwd.cost == f64::INFINITY && !fwd.settled
    }

    #[test]
    fn a_new_query_sees_no_labels_of_the_last_one_even_across_wrap_and_growth() {
        let mut scratch = Scratch::default();
        scratch.begin(4);
        write_both(&mut scratch, 1);
        assert!(!untouched(&scratch, 1));
        scratch.begin(4);
        assert!(untouched(&scratch, 1));

        // The generation counter wraps: labels written just before must still vanish.
        scratch.generation = u32::MAX - 1;
        scratch.begin(4);
        write_both(&mut scratch, 2);
        scratch.begin(4);
        assert_eq!(scratch.generation, 1);
        assert!(untouched(&scratch, 2));

        // The graph grew: new nodes are addressable and start untouched.
        scratch.begin(8);
        assert!(untouched(&scratch, 7));
        write_both(&mut scratch, 7);
        assert!(!untouched(&scratch, 7));
        // Nodes outside the graph are never written.
        assert!(scratch.backward_mut(8).is_none());
        assert!(untouched(&scratch, 8));
    }
}

//! A bounded set of recently seen message digests: every edge forwards the same gossip, so most
//! messages arrive many times and are dropped here before any signature is checked.

use std::collections::{HashSet, VecDeque};

use sha2::{Digest, Sha256};

/// SHA-256 of the raw message bytes.
pub type MessageDigest = [u8; 32];

pub fn digest(raw: &[u8]) -> MessageDigest {
    Sha256::digest(raw).into()
}

/// Remembers at most `capacity` digests; the oldest is forgotten first (FIFO), so memory stays
/// bounded whatever the input rate.
#[derive(Debug, Clone)]
pub struct RecentDigests {
    capacity: usize,
    set: HashSet<MessageDigest>,
    order: VecDeque<MessageDigest>,
}

impl RecentDigests {
    pub fn new(capacity: usize) -> Self {
        RecentDigests {
            capacity,
            set: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    pub fn contains(&self, digest: &MessageDigest) -> bool {
        self.set.contains(digest)
    }

    pub fn insert(&mut self, digest: MessageDigest) {
        if !self.set.insert(digest) {
            return;
        }
        self.order.push_back(digest);
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.set.remove(&oldest);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

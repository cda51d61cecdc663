//! BOLT 3 per-commitment secrets: generation from a seed and the receiver's compact storage.
//!
//! Secrets form a binary hash tree over 48-bit indices; the secret at an index with `b` trailing
//! zero bits can derive every secret whose index shares its upper `48 - b` bits. So a receiver who
//! gets secrets in descending index order needs to keep at most 49 of them.

use sha2::{Digest, Sha256};

/// The first (highest) per-commitment index; indices count down from here.
pub const MAX_INDEX: u64 = (1 << 48) - 1;

/// Number of buckets in the compact store: one per count of trailing zeros (0..=48).
const BUCKETS: usize = 49;

/// Errors from per-commitment secret generation and storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShachainError {
    /// Indices and commitment numbers are 48-bit.
    #[error("index {0} does not fit in 48 bits")]
    IndexOutOfRange(u64),
    /// Secrets must arrive in strictly descending index order, one at a time.
    #[error("expected the secret for index {expected}, got index {got}")]
    UnexpectedIndex { expected: u64, got: u64 },
    /// The new secret does not derive a previously stored one: not from the same seed.
    #[error("secret for index {index} does not derive the stored secret for index {stored_index}")]
    SecretMismatch { index: u64, stored_index: u64 },
    /// Every index has been received; there is nothing after index 0.
    #[error("all 2^48 secrets have already been received")]
    Exhausted,
}

/// The per-commitment index used for commitment number `n`: `2^48 - 1 - n`.
pub fn index_for_commitment_number(commitment_number: u64) -> Result<u64, ShachainError> {
    MAX_INDEX
        .checked_sub(commitment_number)
        .ok_or(ShachainError::IndexOutOfRange(commitment_number))
}

/// Flips bit `bit` of `value`: bit (B mod 8) of byte (B div 8).
fn flip(value: &mut [u8; 32], bit: u32) {
    // bit < 48, so the byte index is < 6.
    if let Some(byte) = value.get_mut((bit / 8) as usize) {
        *byte ^= 1 << (bit % 8);
    }
}

/// `derive_secret(base, bits, I)`: walks down the tree from `base` for the low `bits` bits of `index`.
fn derive_secret(base: &[u8; 32], bits: u32, index: u64) -> [u8; 32] {
    let mut value = *base;
    for bit in (0..bits).rev() {
        if index & (1 << bit) != 0 {
            flip(&mut value, bit);
            value = Sha256::digest(value).into();
        }
    }
    value
}

/// `generate_from_seed(seed, I)`: the per-commitment secret at `index`.
pub fn per_commitment_secret(seed: &[u8; 32], index: u64) -> Result<[u8; 32], ShachainError> {
    if index > MAX_INDEX {
        return Err(ShachainError::IndexOutOfRange(index));
    }
    Ok(derive_secret(seed, 48, index))
}

/// The per-commitment secret for commitment number `n` (index `2^48 - 1 - n`).
pub fn per_commitment_secret_for_commitment(
    seed: &[u8; 32],
    commitment_number: u64,
) -> Result<[u8; 32], ShachainError> {
    per_commitment_secret(seed, index_for_commitment_number(commitment_number)?)
}

/// A secret together with the index it was generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredSecret {
    pub index: u64,
    pub secret: [u8; 32],
}

/// The receiver's compact store of revealed per-commitment secrets (at most 49 entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShachainStore {
    /// `known[b]` holds the latest secret whose index has exactly `b` trailing zeros.
    known: [Option<StoredSecret>; BUCKETS],
    /// The lowest index received so far, `None` before the first secret.
    lowest_index: Option<u64>,
}

impl Default for ShachainStore {
    fn default() -> Self {
        Self::new()
    }
}

/// `where_to_put_secret(I)`: the number of trailing zeros, 48 for index 0.
fn bucket_for(index: u64) -> u32 {
    index.trailing_zeros().min(48)
}

impl ShachainStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            known: [None; BUCKETS],
            lowest_index: None,
        }
    }

    /// The index the next secret must have.
    pub fn next_index(&self) -> Result<u64, ShachainError> {
        match self.lowest_index {
            None => Ok(MAX_INDEX),
            Some(0) => Err(ShachainError::Exhausted),
            Some(lowest) => Ok(lowest - 1),
        }
    }

    /// `insert_secret(secret, I)`: stores the secret after checking that it derives every stored
    /// secret it should, so a peer cannot feed us secrets from another seed.
    pub fn insert_secret(&mut self, index: u64, secret: [u8; 32]) -> Result<(), ShachainError> {
        if index > MAX_INDEX {
            return Err(ShachainError::IndexOutOfRange(index));
        }
        let expected = self.next_index()?;
        if index != expected {
            return Err(ShachainError::UnexpectedIndex {
                expected,
                got: index,
            });
        }
        let bucket = bucket_for(index);
        for stored in self.known.iter().take(bucket as usize).flatten() {
            if derive_secret(&secret, bucket, stored.index) != stored.secret {
                return Err(ShachainError::SecretMismatch {
                    index,
                    stored_index: stored.index,
                });
            }
        }
        if let Some(slot) = self.known.get_mut(bucket as usize) {
            *slot = Some(StoredSecret { index, secret });
        }
        self.lowest_index = Some(index);
        Ok(())
    }

    /// `derive_old_secret(I)`: the secret at `index` if it has been received, else `None`.
    pub fn get(&self, index: u64) -> Option<[u8; 32]> {
        if index > MAX_INDEX {
            return None;
        }
        self.known.iter().enumerate().find_map(|(bits, stored)| {
            let stored = stored.as_ref()?;
            let mask = !((1u64 << bits) - 1);
            (index & mask == stored.index)
                .then(|| derive_secret(&stored.secret, bits as u32, index))
        })
    }

    /// The lowest index received so far.
    pub fn lowest_index(&self) -> Option<u64> {
        self.lowest_index
    }

    /// The stored entries, for persistence.
    pub fn entries(&self) -> impl Iterator<Item = &StoredSecret> {
        self.known.iter().flatten()
    }
}

#[cfg(test)]
mod tests;

//! The counterparty's released per-commitment secrets in BOLT 3's compact form: at most 49
//! entries whatever the number of revocations, serializable for the store.
//!
//! Same algorithm as the wire crate's `ShachainStore` (BOLT 3, "Efficient Per-commitment Secret
//! Storage"), which cannot be rebuilt from its stored entries; the tests cross-check the two.

use lnfleet_wire::bolt3::shachain::{
    index_for_commitment_number, per_commitment_secret, ShachainError, MAX_INDEX,
};
use serde::{Deserialize, Serialize};

/// One stored secret: the latest received whose index has exactly `bucket` trailing zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    bucket: u32,
    index: u64,
    secret: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CounterpartySecrets {
    entries: Vec<Entry>,
    /// The lowest index received, none before the first secret.
    lowest_index: Option<u64>,
}

/// `where_to_put_secret(I)`: trailing zeros, 48 for index 0.
fn bucket_for(index: u64) -> u32 {
    index.trailing_zeros().min(48)
}

/// `derive_secret(base, bits, I)`. Walking all 48 bits of `I` with its upper bits cleared flips
/// exactly the low `bits` bits that are set, so the wire crate's generator does it.
fn derive(base: &[u8; 32], bits: u32, index: u64) -> [u8; 32] {
    let low_bits = index & ((1u64 << bits.min(48)) - 1);
    // low_bits < 2^48, so this never fails; the fallback cannot match any stored secret.
    per_commitment_secret(base, low_bits).unwrap_or([0; 32])
}

impl CounterpartySecrets {
    /// The commitment number whose secret must come next (0 before any).
    pub fn next_commitment_number(&self) -> u64 {
        self.lowest_index.map_or(0, |lowest| {
            MAX_INDEX.saturating_sub(lowest).saturating_add(1)
        })
    }

    /// How many revocations were received.
    pub fn count(&self) -> u64 {
        self.next_commitment_number()
    }

    /// Stores the secret revoking commitment `number`, after checking it is the next one and
    /// derives every stored secret it should (so all come from one seed).
    pub fn insert(&mut self, number: u64, secret: [u8; 32]) -> Result<(), ShachainError> {
        let index = index_for_commitment_number(number)?;
        let expected = match self.lowest_index {
            None => MAX_INDEX,
            Some(0) => return Err(ShachainError::Exhausted),
            Some(lowest) => lowest - 1,
        };
        if index != expected {
            return Err(ShachainError::UnexpectedIndex {
                expected,
                got: index,
            });
        }
        let bucket = bucket_for(index);
        for stored in self.entries.iter().filter(|stored| stored.bucket < bucket) {
            if derive(&secret, bucket, stored.index) != stored.secret {
                return Err(ShachainError::SecretMismatch {
                    index,
                    stored_index: stored.index,
                });
            }
        }
        self.entries.retain(|stored| stored.bucket != bucket);
        self.entries.push(Entry {
            bucket,
            index,
            secret,
        });
        self.lowest_index = Some(index);
        Ok(())
    }

    /// The secret of counterparty commitment `number`, if it was revoked.
    pub fn get(&self, number: u64) -> Option<[u8; 32]> {
        let index = index_for_commitment_number(number).ok()?;
        if self.lowest_index.is_none_or(|lowest| index < lowest) {
            return None;
        }
        self.entries.iter().find_map(|stored| {
            let mask = !((1u64 << stored.bucket) - 1);
            (index & mask == stored.index).then(|| derive(&stored.secret, stored.bucket, index))
        })
    }

    /// Number of stored entries (at most 49).
    pub fn stored_entries(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use lnfleet_wire::bolt3::shachain::{per_commitment_secret_for_commitment, ShachainStore};

    use super::*;

    #[test]
    fn matches_the_wire_store_for_a_thousand_revocations_in_at_most_49_entries() {
        let seed = [0x5a; 32];
        let mut ours = CounterpartySecrets::default();
        let mut wire = ShachainStore::new();
        for number in 0..1000u64 {
            let secret = per_commitment_secret_for_commitment(&seed, number).unwrap();
            ours.insert(number, secret).unwrap();
            wire.insert_secret(index_for_commitment_number(number).unwrap(), secret)
                .unwrap();
            assert!(ours.stored_entries() <= 49);
        }
        assert_eq!(ours.next_commitment_number(), 1000);
        for number in 0..1000u64 {
            let index = index_for_commitment_number(number).unwrap();
            assert_eq!(ours.get(number), wire.get(index), "number {number}");
            assert_eq!(
                ours.get(number),
                Some(per_commitment_secret_for_commitment(&seed, number).unwrap())
            );
        }
        assert_eq!(ours.get(1000), None);
    }

    #[test]
    fn a_secret_from_another_seed_or_out_of_order_is_refused() {
        let seed = [0x5a; 32];
        let mut ours = CounterpartySecrets::default();
        ours.insert(0, per_commitment_secret_for_commitment(&seed, 0).unwrap())
            .unwrap();
        // Commitment 1 has index 2^48 - 2 (one trailing zero): it must derive commitment 0's.
        let foreign = per_commitment_secret_for_commitment(&[0x11; 32], 1).unwrap();
        assert!(matches!(
            ours.insert(1, foreign),
            Err(ShachainError::SecretMismatch { .. })
        ));
        let out_of_order = per_commitment_secret_for_commitment(&seed, 2).unwrap();
        assert!(matches!(
            ours.insert(2, out_of_order),
            Err(ShachainError::UnexpectedIndex { .. })
        ));
        ours.insert(1, per_commitment_secret_for_commitment(&seed, 1).unwrap())
            .unwrap();
    }

    #[test]
    fn survives_a_bincode_round_trip() {
        let seed = [0x77; 32];
        let mut ours = CounterpartySecrets::default();
        for number in 0..37 {
            ours.insert(
                number,
                per_commitment_secret_for_commitment(&seed, number).unwrap(),
            )
            .unwrap();
        }
        let decoded: CounterpartySecrets =
            bincode::deserialize(&bincode::serialize(&ours).unwrap()).unwrap();
        assert_eq!(decoded, ours);
    }
}

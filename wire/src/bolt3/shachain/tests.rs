//! Appendix D vectors, kept verbatim in `vectors/appendix_d.txt` and parsed here.

use super::*;

/// BOLT 3, Appendix D: Per-commitment Secret Generation Test Vectors (verbatim copy).
const APPENDIX_D: &str = include_str!("../vectors/appendix_d.txt");

fn parse_hex32(value: &str) -> [u8; 32] {
    hex::decode(value.trim_start_matches("0x"))
        .unwrap()
        .try_into()
        .unwrap()
}

fn parse_index(value: &str) -> u64 {
    match value.strip_prefix("0x") {
        Some(hex_digits) => u64::from_str_radix(hex_digits, 16).unwrap(),
        None => value.parse().unwrap(),
    }
}

/// One `name:` block as its list of `(key, value)` lines.
fn blocks(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once(": ") else {
            continue;
        };
        if key == "name" {
            out.push((value.to_string(), Vec::new()));
        } else if let Some(block) = out.last_mut() {
            block.1.push((key.to_string(), value.trim().to_string()));
        }
    }
    out
}

#[test]
fn generation_tests_match_appendix_d() {
    let generation = APPENDIX_D.split("## Storage Tests").next().unwrap();
    let cases = blocks(generation);
    assert_eq!(cases.len(), 5);
    for (name, fields) in cases {
        let get = |k: &str| fields.iter().find(|(key, _)| key == k).unwrap().1.clone();
        let secret =
            per_commitment_secret(&parse_hex32(&get("seed")), parse_index(&get("I"))).unwrap();
        assert_eq!(secret, parse_hex32(&get("output")), "{name}");
    }
}

#[test]
fn storage_tests_match_appendix_d() {
    let storage = APPENDIX_D.split("## Storage Tests").nth(1).unwrap();
    let cases = blocks(storage);
    assert_eq!(cases.len(), 9);
    let mut errors_seen = 0;
    for (name, fields) in cases {
        let mut store = ShachainStore::new();
        let mut inserted = Vec::new();
        let mut index = 0;
        let mut secret = [0; 32];
        for (key, value) in fields {
            match key.as_str() {
                "I" => index = parse_index(&value),
                "secret" => secret = parse_hex32(&value),
                "output" => {
                    let result = store.insert_secret(index, secret);
                    if value == "OK" {
                        assert_eq!(result, Ok(()), "{name} at {index}");
                        inserted.push((index, secret));
                    } else {
                        assert_eq!(value, "ERROR");
                        assert!(
                            matches!(result, Err(ShachainError::SecretMismatch { .. })),
                            "{name}"
                        );
                        errors_seen += 1;
                    }
                }
                other => panic!("unexpected key {other}"),
            }
        }
        if name == "insert_secret correct sequence" {
            for (index, secret) in &inserted {
                assert_eq!(store.get(*index), Some(*secret));
            }
        }
    }
    assert_eq!(errors_seen, 8);
}

#[test]
fn store_recovers_every_received_secret_from_a_seed() {
    let seed = [7u8; 32];
    let mut store = ShachainStore::new();
    for n in 0..300 {
        let index = index_for_commitment_number(n).unwrap();
        store
            .insert_secret(index, per_commitment_secret(&seed, index).unwrap())
            .unwrap();
        assert!(store.entries().count() <= 49);
    }
    for n in 0..300 {
        let index = index_for_commitment_number(n).unwrap();
        assert_eq!(
            store.get(index),
            Some(per_commitment_secret(&seed, index).unwrap())
        );
    }
    assert_eq!(store.get(index_for_commitment_number(300).unwrap()), None);
    assert_eq!(store.get(MAX_INDEX + 1), None);
}

#[test]
fn out_of_order_and_out_of_range_indices_are_errors() {
    let seed = [1u8; 32];
    let mut store = ShachainStore::new();
    assert_eq!(
        store.insert_secret(MAX_INDEX - 1, [0; 32]),
        Err(ShachainError::UnexpectedIndex {
            expected: MAX_INDEX,
            got: MAX_INDEX - 1
        })
    );
    assert_eq!(
        store.insert_secret(MAX_INDEX + 1, [0; 32]),
        Err(ShachainError::IndexOutOfRange(MAX_INDEX + 1))
    );
    store
        .insert_secret(MAX_INDEX, per_commitment_secret(&seed, MAX_INDEX).unwrap())
        .unwrap();
    assert!(matches!(
        store.insert_secret(MAX_INDEX, [0; 32]),
        Err(ShachainError::UnexpectedIndex { .. })
    ));
    assert_eq!(
        per_commitment_secret(&seed, 1 << 48),
        Err(ShachainError::IndexOutOfRange(1 << 48))
    );
    assert_eq!(
        index_for_commitment_number(1 << 48),
        Err(ShachainError::IndexOutOfRange(1 << 48))
    );
    assert_eq!(index_for_commitment_number(42), Ok(MAX_INDEX - 42));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary indices and secrets give values or errors, never panics.
        #[test]
        fn arbitrary_inserts_and_lookups_never_panic(
            inserts in proptest::collection::vec((any::<u64>(), any::<[u8; 32]>()), 0..20),
            lookups in proptest::collection::vec(any::<u64>(), 0..20),
        ) {
            let mut store = ShachainStore::new();
            for (index, secret) in inserts {
                let _ = store.insert_secret(index, secret);
                let _ = per_commitment_secret(&secret, index);
            }
            for index in lookups {
                let _ = store.get(index);
            }
        }

        /// Secrets from one seed, received in order from any starting commitment, are all accepted
        /// and all recoverable.
        #[test]
        fn secrets_from_one_seed_are_accepted_and_recovered(seed in any::<[u8; 32]>(), count in 1u64..40) {
            let mut store = ShachainStore::new();
            for n in 0..count {
                let index = MAX_INDEX - n;
                prop_assert_eq!(store.insert_secret(index, per_commitment_secret(&seed, index).unwrap()), Ok(()));
            }
            for n in 0..count {
                let index = MAX_INDEX - n;
                prop_assert_eq!(store.get(index), Some(per_commitment_secret(&seed, index).unwrap()));
            }
        }
    }
}

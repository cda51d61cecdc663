//! Store: records survive a drop-and-reopen (a crash), idempotent responses and conflicts.

use secp256k1::{PublicKey, SecretKey, SECP256K1};

use super::*;
use crate::channels::ChannelState;

fn id(db_id: u64) -> ChannelKeyId {
    let key =
        |byte| PublicKey::from_secret_key(SECP256K1, &SecretKey::from_slice(&[byte; 32]).unwrap());
    ChannelKeyId {
        node_id: key(1),
        peer_id: key(2),
        channel_db_id: db_id,
    }
}

fn record(next: u64) -> ChannelRecord {
    ChannelRecord {
        setup: None,
        state: ChannelState {
            next_counterparty_commitment: next,
            force_closed: true,
            ..ChannelState::default()
        },
    }
}

#[test]
fn a_channel_record_survives_dropping_and_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hsm.redb");
    {
        let store = Store::open(&path).unwrap();
        store.put_channel(&id(1), &record(7)).unwrap();
        store.put_channel(&id(2), &record(9)).unwrap();
        // Dropped without any shutdown call: what a crash after the reply leaves.
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.channel(&id(1)).unwrap(), Some(record(7)));
    assert_eq!(store.channel(&id(2)).unwrap(), Some(record(9)));
    assert_eq!(store.channel(&id(3)).unwrap(), None);
}

#[test]
fn channel_keys_differ_by_every_field() {
    let mut other_peer = id(1);
    other_peer.peer_id = id(1).node_id;
    assert_ne!(channel_key(&id(1)), channel_key(&id(2)));
    assert_ne!(channel_key(&id(1)), channel_key(&other_peer));
    assert_eq!(channel_key(&id(1)).len(), 74);
}

#[test]
fn a_response_is_replayed_for_the_same_payload_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hsm.redb");
    let request = RequestKey::new("edge-1", [42; 16], b"payload");
    {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.response(&request).unwrap(), None);
        store
            .put_channels_with_response(&[(id(1), record(1))], Some((&request, b"answer")))
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.response(&request).unwrap(), Some(b"answer".to_vec()));
    assert_eq!(store.channel(&id(1)).unwrap(), Some(record(1)));
}

#[test]
fn a_request_id_reused_for_another_payload_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("hsm.redb")).unwrap();
    store
        .put_response(&RequestKey::new("edge-1", [1; 16], b"first"), b"answer")
        .unwrap();
    let result = store.response(&RequestKey::new("edge-1", [1; 16], b"second"));
    assert!(matches!(
        result,
        Err(StoreError::IdempotencyConflict { request_id, .. }) if request_id == [1; 16]
    ));
    // Another client may use the same request id.
    assert_eq!(
        store
            .response(&RequestKey::new("edge-2", [1; 16], b"second"))
            .unwrap(),
        None
    );
}

#[test]
fn a_corrupt_record_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("hsm.redb")).unwrap();
    store
        .write(|txn| {
            let mut table = txn.open_table(CHANNELS).map_err(db_error)?;
            table
                .insert(channel_key(&id(5)).as_slice(), [0xffu8; 3].as_slice())
                .map_err(db_error)?;
            Ok(())
        })
        .unwrap();
    assert!(matches!(
        store.channel(&id(5)),
        Err(StoreError::Corrupt {
            what: "channel",
            ..
        })
    ));
}

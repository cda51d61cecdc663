use super::*;
use crate::contracts::encode;

const NOW: u64 = 1_700_000_000_000;

fn edge() -> ClientCredential {
    ClientCredential::new("edge-0", [7; 32]).unwrap()
}

fn authenticator() -> Authenticator {
    let mut auth = Authenticator::new(AuthConfig {
        max_clock_skew: Duration::from_secs(30),
        replay_cache_capacity: 16,
    });
    auth.register(&edge(), [Permission::NodeInfo, Permission::Ecdh]);
    auth
}

fn sealed(
    credential: &ClientCredential,
    id: u8,
    timestamp_ms: u64,
    request: &HsmRequest,
) -> Vec<u8> {
    encode(&credential.seal_request([id; 16], timestamp_ms, encode(request)))
}

#[test]
fn a_well_formed_request_is_fresh() {
    let verdict = authenticator()
        .verify_at(&sealed(&edge(), 1, NOW, &HsmRequest::NodeInfo), NOW)
        .unwrap();
    assert_eq!(
        verdict,
        Verdict::Fresh(AuthorizedRequest {
            client_id: "edge-0".into(),
            request_id: [1; 16],
            request: HsmRequest::NodeInfo,
        })
    );
}

#[test]
fn a_tampered_payload_fails_the_tag() {
    let mut envelope = edge().seal_request([1; 16], NOW, encode(&HsmRequest::NodeInfo));
    envelope.payload = encode(&HsmRequest::SignMessage {
        node_id: crate::hsm::contract::PublicKeyBytes([2; 33]),
        message: vec![1],
    });
    let error = authenticator()
        .verify_at(&encode(&envelope), NOW)
        .unwrap_err();
    assert!(matches!(error, AuthError::BadTag { .. }), "{error}");
    assert_eq!(error.reply_target(), None);
}

#[test]
fn a_changed_timestamp_or_client_id_fails_the_tag() {
    let mut envelope = edge().seal_request([1; 16], NOW, encode(&HsmRequest::NodeInfo));
    envelope.timestamp_ms += 1;
    assert!(matches!(
        authenticator().verify_at(&encode(&envelope), NOW),
        Err(AuthError::BadTag { .. })
    ));
}

#[test]
fn the_wrong_key_fails_the_tag() {
    let impostor = ClientCredential::new("edge-0", [8; 32]).unwrap();
    let error = authenticator()
        .verify_at(&sealed(&impostor, 1, NOW, &HsmRequest::NodeInfo), NOW)
        .unwrap_err();
    assert_eq!(error.kind(), "bad_tag");
}

#[test]
fn an_unknown_client_is_refused() {
    let stranger = ClientCredential::new("edge-9", [7; 32]).unwrap();
    let error = authenticator()
        .verify_at(&sealed(&stranger, 1, NOW, &HsmRequest::NodeInfo), NOW)
        .unwrap_err();
    assert!(matches!(error, AuthError::UnknownClient { ref client_id } if client_id == "edge-9"));
}

#[test]
fn stale_and_future_timestamps_beyond_the_skew_are_refused() {
    let auth = authenticator();
    let old = sealed(&edge(), 1, NOW - 30_001, &HsmRequest::NodeInfo);
    assert!(matches!(
        auth.verify_at(&old, NOW),
        Err(AuthError::Stale { age_ms: 30_001, .. })
    ));
    let future = sealed(&edge(), 2, NOW + 30_001, &HsmRequest::NodeInfo);
    assert!(matches!(
        auth.verify_at(&future, NOW),
        Err(AuthError::FromFuture {
            ahead_ms: 30_001,
            ..
        })
    ));
    // At the edge of the window both are fine.
    assert!(auth
        .verify_at(
            &sealed(&edge(), 3, NOW - 30_000, &HsmRequest::NodeInfo),
            NOW
        )
        .is_ok());
    assert!(auth
        .verify_at(
            &sealed(&edge(), 4, NOW + 30_000, &HsmRequest::NodeInfo),
            NOW
        )
        .is_ok());
}

#[test]
fn a_request_outside_the_permissions_is_refused_with_a_reply_target() {
    let request = HsmRequest::SignMessage {
        node_id: crate::hsm::contract::PublicKeyBytes([2; 33]),
        message: vec![1],
    };
    let error = authenticator()
        .verify_at(&sealed(&edge(), 5, NOW, &request), NOW)
        .unwrap_err();
    assert!(matches!(
        error,
        AuthError::MissingPermission {
            permission: Permission::MessageSigning,
            ..
        }
    ));
    assert_eq!(error.reply_target(), Some(("edge-0", [5; 16])));
}

#[test]
fn the_same_id_with_another_payload_is_a_replay() {
    let auth = authenticator();
    auth.verify_at(&sealed(&edge(), 1, NOW, &HsmRequest::NodeInfo), NOW)
        .unwrap();
    let other = HsmRequest::Ecdh {
        node_id: crate::hsm::contract::PublicKeyBytes([2; 33]),
        point: crate::hsm::contract::PublicKeyBytes([3; 33]),
    };
    let error = auth
        .verify_at(&sealed(&edge(), 1, NOW + 5, &other), NOW + 5)
        .unwrap_err();
    assert!(matches!(error, AuthError::Replay { .. }), "{error}");
    assert_eq!(error.reply_target(), None);
}

#[test]
fn the_same_id_with_the_same_payload_is_a_duplicate_even_with_a_new_timestamp() {
    let auth = authenticator();
    let first = auth
        .verify_at(&sealed(&edge(), 1, NOW, &HsmRequest::NodeInfo), NOW)
        .unwrap();
    assert!(matches!(first, Verdict::Fresh(_)));
    let retry = auth
        .verify_at(
            &sealed(&edge(), 1, NOW + 1_000, &HsmRequest::NodeInfo),
            NOW + 1_000,
        )
        .unwrap();
    assert!(matches!(retry, Verdict::Duplicate(_)));
    // Replaying the very same envelope is a duplicate too: answered, never acted on twice.
    let replayed = auth
        .verify_at(&sealed(&edge(), 1, NOW, &HsmRequest::NodeInfo), NOW + 2_000)
        .unwrap();
    assert!(matches!(replayed, Verdict::Duplicate(_)));
}

#[test]
fn ids_are_forgotten_after_the_window_and_the_cache_stays_bounded() {
    let auth = authenticator();
    auth.verify_at(&sealed(&edge(), 1, NOW, &HsmRequest::NodeInfo), NOW)
        .unwrap();
    let later = NOW + 60_000;
    let verdict = auth
        .verify_at(&sealed(&edge(), 1, later, &HsmRequest::NodeInfo), later)
        .unwrap();
    assert!(matches!(verdict, Verdict::Fresh(_)));
    for id in 0..100u8 {
        auth.verify_at(&sealed(&edge(), id, later, &HsmRequest::NodeInfo), later)
            .unwrap();
    }
    assert!(auth.recent.lock().unwrap().entries.len() <= 16);
}

#[test]
fn garbage_envelopes_are_malformed() {
    let error = authenticator().verify_at(&[1, 2, 3], NOW).unwrap_err();
    assert_eq!(error.kind(), "malformed_envelope");
}

#[test]
fn a_payload_that_is_not_a_request_is_malformed_but_authentic() {
    let envelope = encode(&edge().seal_request([6; 16], NOW, vec![1, 0, 99]));
    let error = authenticator().verify_at(&envelope, NOW).unwrap_err();
    assert_eq!(error.kind(), "malformed_request");
    assert_eq!(error.reply_target(), Some(("edge-0", [6; 16])));
}

#[test]
fn replies_open_only_with_the_right_key_and_request() {
    let auth = authenticator();
    let reply = HsmReply {
        request_id: [1; 16],
        outcome: Ok(crate::hsm::contract::HsmResponse::Ecdh {
            shared_secret: [4; 32],
        }),
    };
    let sealed = auth.seal_reply("edge-0", &reply).unwrap();
    assert_eq!(edge().open_reply(&sealed, [1; 16]).unwrap(), reply);
    assert!(matches!(
        edge().open_reply(&sealed, [2; 16]),
        Err(ReplyError::WrongRequest)
    ));
    let impostor = ClientCredential::new("edge-0", [8; 32]).unwrap();
    assert!(matches!(
        impostor.open_reply(&sealed, [1; 16]),
        Err(ReplyError::BadTag)
    ));
    assert!(auth.seal_reply("edge-9", &reply).is_none());
}

#[test]
fn client_ids_must_be_key_safe() {
    assert!(ClientCredential::new("edge-0.pod_1", [0; 32]).is_ok());
    for bad in ["", "a:b", "a b", "é", &"x".repeat(65)] {
        assert!(ClientCredential::new(bad, [0; 32]).is_err(), "{bad:?}");
    }
}

#[test]
fn debug_output_never_shows_the_key() {
    let printed = format!("{:?}", ClientCredential::new("edge-0", [0xee; 32]).unwrap());
    assert!(!printed.contains("238"), "{printed}");
    assert!(!printed.to_lowercase().contains("eeee"), "{printed}");
}

#[test]
fn refusals_are_counted_by_reason() {
    let registry = prometheus::Registry::new();
    let metrics = AuthMetrics::register(&registry).unwrap();
    let auth = authenticator();
    let stranger = ClientCredential::new("edge-9", [7; 32]).unwrap();
    for envelope in [
        sealed(&stranger, 1, NOW, &HsmRequest::NodeInfo),
        sealed(&stranger, 2, NOW, &HsmRequest::NodeInfo),
        vec![0xff],
    ] {
        metrics.record(&auth.verify_at(&envelope, NOW).unwrap_err());
    }
    let family = registry.gather();
    let counts: Vec<(String, u64)> = family[0]
        .get_metric()
        .iter()
        .map(|metric| {
            (
                metric.get_label()[0].value().to_owned(),
                metric.get_counter().value() as u64,
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("malformed_envelope".to_owned(), 1),
            ("unknown_client".to_owned(), 2)
        ]
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn sealed_requests_verify_and_any_flipped_byte_is_refused(
            id in any::<[u8; 16]>(),
            flip in any::<prop::sample::Index>(),
        ) {
            let request = HsmRequest::Ecdh {
                node_id: crate::hsm::contract::PublicKeyBytes([2; 33]),
                point: crate::hsm::contract::PublicKeyBytes([3; 33]),
            };
            let mut bytes = encode(&edge().seal_request(id, NOW, encode(&request)));
            prop_assert!(authenticator().verify_at(&bytes, NOW).is_ok());
            let at = flip.index(bytes.len());
            bytes[at] ^= 0x01;
            prop_assert!(authenticator().verify_at(&bytes, NOW).is_err());
        }

        #[test]
        fn garbage_envelopes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = authenticator().verify_at(&bytes, NOW);
            let _ = edge().open_reply(&bytes, [0; 16]);
        }
    }
}

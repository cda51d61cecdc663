use proptest::prelude::*;
use secp256k1::{Message, SecretKey, SECP256K1};

use super::*;
use crate::contracts::{decode, encode, ContractError};

fn key(byte: u8) -> PublicKeyBytes {
    let secret = SecretKey::from_slice(&[byte.max(1); 32]).unwrap();
    PublicKeyBytes::from(PublicKey::from_secret_key(SECP256K1, &secret))
}

fn channel() -> ChannelRef {
    ChannelRef {
        node_id: key(1),
        peer_id: key(2),
        channel_db_id: 7,
    }
}

fn htlc() -> HtlcInfo {
    HtlcInfo {
        offered_by_holder: true,
        amount_msat: 1_000_000,
        payment_hash: [9; 32],
        cltv_expiry: 800_000,
    }
}

fn info() -> CommitmentInfo {
    CommitmentInfo {
        feerate_per_kw: 253,
        to_holder_msat: 600_000_000,
        to_counterparty_msat: 399_000_000,
        htlcs: vec![htlc()],
    }
}

fn basepoints() -> ChannelBasepoints {
    ChannelBasepoints {
        funding_pubkey: key(10),
        revocation_basepoint: key(11),
        payment_basepoint: key(12),
        delayed_payment_basepoint: key(13),
        htlc_basepoint: key(14),
    }
}

fn setup() -> ChannelSetupInfo {
    ChannelSetupInfo {
        holder_is_opener: true,
        funding_txid: [1; 32],
        funding_output_index: 0,
        funding_amount_sat: 1_000_000,
        anchors: true,
        holder_selected_contest_delay: 144,
        counterparty_selected_contest_delay: 144,
        holder_dust_limit_sat: 546,
        counterparty_dust_limit_sat: 546,
        counterparty_keys: basepoints(),
        holder_upfront_shutdown_script: Some(vec![0, 20]),
        counterparty_upfront_shutdown_script: None,
    }
}

fn every_request() -> Vec<HsmRequest> {
    vec![
        HsmRequest::NodeInfo,
        HsmRequest::Ecdh {
            node_id: key(1),
            point: key(3),
        },
        HsmRequest::SignNodeAnnouncement {
            node_id: key(1),
            message: vec![1, 1, 0, 0],
        },
        HsmRequest::SignChannelUpdate {
            channel: channel(),
            message: vec![1, 2, 3],
        },
        HsmRequest::SignChannelAnnouncement {
            node_id: key(1),
            channel: channel(),
            message: vec![1, 0],
        },
        HsmRequest::SignAnnouncementSignatures {
            node_id: key(1),
            channel: channel(),
            message: vec![1, 0, 5],
        },
        HsmRequest::SignInvoice {
            node_id: key(1),
            hrp: "lnbcrt10u".into(),
            data_5bit: vec![0, 31, 4],
        },
        HsmRequest::SignMessage {
            node_id: key(1),
            message: b"hello".to_vec(),
        },
        HsmRequest::NewChannel {
            node_id: key(1),
            peer_id: key(2),
            channel_db_id: 42,
        },
        HsmRequest::GetPerCommitmentPoint {
            channel: channel(),
            commitment_number: 3,
        },
        HsmRequest::SetupChannel {
            channel: channel(),
            setup: setup(),
        },
        HsmRequest::ValidateCommitmentAndRevoke {
            channel: channel(),
            commitment_number: 4,
            info: info(),
            counterparty_signature: SignatureBytes([5; 64]),
            htlc_signatures: vec![SignatureBytes([6; 64])],
        },
        HsmRequest::SignCounterpartyCommitment {
            channel: channel(),
            commitment_number: 5,
            per_commitment_point: key(4),
            info: info(),
        },
        HsmRequest::ValidateCounterpartyRevocation {
            channel: channel(),
            commitment_number: 3,
            secret: [8; 32],
        },
        HsmRequest::SignHolderCommitment {
            channel: channel(),
            commitment_number: 6,
        },
        HsmRequest::SetShutdownScripts {
            channel: channel(),
            holder_script: vec![0, 20],
            counterparty_script: vec![0, 32],
        },
        HsmRequest::SignMutualClose {
            channel: channel(),
            info: MutualCloseInfo {
                fee_sat: 500,
                holder_value_sat: 60_000,
                holder_script: vec![0, 20],
                counterparty_value_sat: 39_500,
                counterparty_script: vec![0, 32],
            },
        },
    ]
}

fn every_outcome() -> Vec<Result<HsmResponse, HsmError>> {
    vec![
        Ok(HsmResponse::NodeInfo {
            node_ids: vec![key(1), key(2)],
        }),
        Ok(HsmResponse::Ecdh {
            shared_secret: [3; 32],
        }),
        Ok(HsmResponse::Signature {
            signature: SignatureBytes([4; 64]),
        }),
        Ok(HsmResponse::AnnouncementSignatures {
            node_signature: SignatureBytes([5; 64]),
            bitcoin_signature: SignatureBytes([6; 64]),
        }),
        Ok(HsmResponse::RecoverableSignature {
            signature: RecoverableSignatureBytes {
                signature: SignatureBytes([7; 64]),
                recovery_id: 1,
            },
        }),
        Ok(HsmResponse::ChannelBasepoints {
            basepoints: ChannelBasepoints {
                funding_pubkey: key(1),
                revocation_basepoint: key(2),
                payment_basepoint: key(3),
                delayed_payment_basepoint: key(4),
                htlc_basepoint: key(5),
            },
        }),
        Ok(HsmResponse::PerCommitmentPoint { point: key(6) }),
        Ok(HsmResponse::Revoked {
            revoked_number: Some(3),
            old_secret: Some([8; 32]),
            next_per_commitment_point: key(7),
        }),
        Ok(HsmResponse::CommitmentSignatures {
            commitment_signature: SignatureBytes([9; 64]),
            htlc_signatures: vec![SignatureBytes([10; 64])],
        }),
        Ok(HsmResponse::HolderCommitment {
            commitment_tx: vec![2, 0, 0, 0],
            htlc_txs: vec![SignedHtlcTx {
                tx: vec![2, 0],
                htlc_index: 1,
                witness_script: vec![0x76],
                holder_signature: vec![0x30, 1],
                counterparty_signature: vec![0x30, 2],
            }],
        }),
        Ok(HsmResponse::MutualClose {
            tx: vec![2, 0, 0, 0, 1],
            signature: SignatureBytes([11; 64]),
        }),
        Ok(HsmResponse::Done),
        Err(HsmError::PolicyReject {
            rule: "policy-commitment-fee-range".into(),
        }),
        Err(HsmError::Unauthorized {
            reason: "no".into(),
        }),
        Err(HsmError::Transient {
            reason: "busy".into(),
        }),
        Err(HsmError::Fatal {
            reason: "unknown channel".into(),
        }),
    ]
}

#[test]
fn every_request_round_trips() {
    for request in every_request() {
        let bytes = encode(&request);
        assert_eq!(decode::<HsmRequest>(&bytes).unwrap(), request);
    }
}

#[test]
fn every_reply_round_trips() {
    for outcome in every_outcome() {
        let reply = HsmReply {
            request_id: [0xab; 16],
            outcome,
        };
        assert_eq!(decode::<HsmReply>(&encode(&reply)).unwrap(), reply);
    }
}

#[test]
fn operation_names_are_distinct_and_every_request_has_a_permission() {
    let requests = every_request();
    let names: std::collections::BTreeSet<_> =
        requests.iter().map(HsmRequest::operation_name).collect();
    assert_eq!(names.len(), requests.len());
    let permissions: std::collections::BTreeSet<_> =
        requests.iter().map(HsmRequest::permission).collect();
    assert_eq!(permissions.len(), Permission::ALL.len());
}

#[test]
fn only_transient_errors_are_retryable() {
    for outcome in every_outcome() {
        if let Err(error) = outcome {
            assert_eq!(
                error.is_retryable(),
                matches!(error, HsmError::Transient { .. })
            );
        }
    }
}

#[test]
fn a_public_key_of_the_wrong_length_does_not_decode() {
    // Encode an Ecdh request, then cut the point's length prefix to 32.
    let request = HsmRequest::Ecdh {
        node_id: key(1),
        point: key(3),
    };
    let mut bytes = encode(&request);
    let point_len_at = bytes.len() - 33 - 8;
    assert_eq!(bytes[point_len_at], 33);
    bytes[point_len_at] = 32;
    bytes.pop();
    assert!(matches!(
        decode::<HsmRequest>(&bytes),
        Err(ContractError::Malformed { .. })
    ));
}

#[test]
fn key_and_signature_conversions_check_validity() {
    assert!(PublicKeyBytes([0; 33]).to_public_key().is_err());
    assert!(key(1).to_public_key().is_ok());
    let secret = SecretKey::from_slice(&[1; 32]).unwrap();
    let message = Message::from_digest([2; 32]);
    let signature = SECP256K1.sign_ecdsa(&message, &secret);
    assert_eq!(
        SignatureBytes::from(&signature).to_signature().unwrap(),
        signature
    );
    let recoverable = SECP256K1.sign_ecdsa_recoverable(&message, &secret);
    let bytes = RecoverableSignatureBytes::from(&recoverable);
    assert_eq!(bytes.to_recoverable_signature().unwrap(), recoverable);
    let bad = RecoverableSignatureBytes {
        recovery_id: 4,
        ..bytes
    };
    assert_eq!(
        bad.to_recoverable_signature(),
        Err(KeyError::InvalidRecoveryId(4))
    );
}

#[test]
fn truncated_requests_are_errors() {
    for request in every_request() {
        let bytes = encode(&request);
        for len in 0..bytes.len() {
            assert!(
                decode::<HsmRequest>(&bytes[..len]).is_err(),
                "{request:?} at {len}"
            );
        }
    }
}

fn arb_key() -> impl Strategy<Value = PublicKeyBytes> {
    any::<[u8; 32]>().prop_map(|bytes| {
        let mut array = [2u8; 33];
        array[1..].copy_from_slice(&bytes);
        PublicKeyBytes(array)
    })
}

fn arb_channel() -> impl Strategy<Value = ChannelRef> {
    (arb_key(), arb_key(), any::<u64>()).prop_map(|(node_id, peer_id, channel_db_id)| ChannelRef {
        node_id,
        peer_id,
        channel_db_id,
    })
}

fn arb_request() -> impl Strategy<Value = HsmRequest> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        Just(HsmRequest::NodeInfo),
        (arb_key(), arb_key()).prop_map(|(node_id, point)| HsmRequest::Ecdh { node_id, point }),
        (arb_channel(), bytes())
            .prop_map(|(channel, message)| HsmRequest::SignChannelUpdate { channel, message }),
        (arb_key(), arb_channel(), bytes()).prop_map(|(node_id, channel, message)| {
            HsmRequest::SignChannelAnnouncement {
                node_id,
                channel,
                message,
            }
        }),
        (arb_key(), ".{0,16}", bytes()).prop_map(|(node_id, hrp, data_5bit)| {
            HsmRequest::SignInvoice {
                node_id,
                hrp,
                data_5bit,
            }
        }),
        (
            arb_channel(),
            any::<u64>(),
            any::<(u32, u64, u64)>(),
            any::<[u8; 32]>()
        )
            .prop_map(
                |(
                    channel,
                    commitment_number,
                    (feerate_per_kw, to_holder_msat, to_counterparty_msat),
                    sig,
                )| {
                    let mut signature = [0u8; 64];
                    signature[..32].copy_from_slice(&sig);
                    HsmRequest::ValidateCommitmentAndRevoke {
                        channel,
                        commitment_number,
                        info: CommitmentInfo {
                            feerate_per_kw,
                            to_holder_msat,
                            to_counterparty_msat,
                            htlcs: vec![htlc(); usize::from(sig[1] % 3)],
                        },
                        counterparty_signature: SignatureBytes(signature),
                        htlc_signatures: vec![SignatureBytes(signature); usize::from(sig[0] % 4)],
                    }
                }
            ),
    ]
}

proptest! {
    #[test]
    fn arbitrary_requests_round_trip(request in arb_request()) {
        prop_assert_eq!(decode::<HsmRequest>(&encode(&request)).unwrap(), request);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<HsmRequest>(&bytes);
        let _ = decode::<HsmReply>(&bytes);
    }
}

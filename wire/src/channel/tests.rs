//! Codec properties for every BOLT 2 message, hand-built encodings, TLV rules and the batch rule.

use std::fmt::Debug;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use secp256k1::ecdsa::Signature;
use secp256k1::{PublicKey, SecretKey, SECP256K1};

use super::batch::MAX_BATCH_SIZE;
use super::*;
use crate::codec::{ChainHash, ChannelId, DecodeError, ShortChannelId, WireMessage};
use crate::tlv::TlvStream;

// ---------------------------------------------------------------------------------------------
// Strategies

fn pubkey() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_filter_map("not a valid secret key", |bytes| {
        SecretKey::from_slice(&bytes)
            .ok()
            .map(|sk| PublicKey::from_secret_key(SECP256K1, &sk))
    })
}

fn signature() -> impl Strategy<Value = Signature> {
    // Clearing the top bit of r and s keeps both below the curve order.
    vec(any::<u8>(), 64).prop_filter_map("signature out of range", |mut bytes| {
        bytes[0] &= 0x7f;
        bytes[32] &= 0x7f;
        Signature::from_compact(&bytes).ok()
    })
}

fn channel_id() -> impl Strategy<Value = ChannelId> {
    any::<[u8; 32]>().prop_map(ChannelId)
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

/// Unknown odd records above every type this module knows (the highest known is 5).
fn extra_tlvs() -> impl Strategy<Value = TlvStream> {
    vec((3u64..100_000, bytes(40)), 0..4).prop_map(|records| {
        let mut stream = TlvStream::new();
        for (half, value) in records {
            stream.insert(half * 2 + 1, value);
        }
        stream
    })
}

fn channel_type() -> impl Strategy<Value = ChannelType> {
    bytes(10).prop_map(ChannelType::from_bytes)
}

fn open_channel() -> impl Strategy<Value = OpenChannel> {
    (
        (any::<[u8; 32]>(), channel_id(), any::<[u64; 6]>()),
        (any::<u32>(), any::<u16>(), any::<u16>(), any::<u8>()),
        vec(pubkey(), 6),
        (
            proptest::option::of(bytes(40)),
            proptest::option::of(channel_type()),
            extra_tlvs(),
        ),
    )
        .prop_map(
            |((chain, id, amounts), (feerate, delay, max_htlcs, flags), keys, tlvs)| OpenChannel {
                chain_hash: ChainHash(chain),
                temporary_channel_id: id,
                funding_satoshis: amounts[0],
                push_msat: amounts[1],
                dust_limit_satoshis: amounts[2],
                max_htlc_value_in_flight_msat: amounts[3],
                channel_reserve_satoshis: amounts[4],
                htlc_minimum_msat: amounts[5],
                feerate_per_kw: feerate,
                to_self_delay: delay,
                max_accepted_htlcs: max_htlcs,
                funding_pubkey: keys[0],
                revocation_basepoint: keys[1],
                payment_basepoint: keys[2],
                delayed_payment_basepoint: keys[3],
                htlc_basepoint: keys[4],
                first_per_commitment_point: keys[5],
                channel_flags: flags,
                upfront_shutdown_script: tlvs.0,
                channel_type: tlvs.1,
                extra_tlvs: tlvs.2,
            },
        )
}

fn accept_channel() -> impl Strategy<Value = AcceptChannel> {
    (
        (channel_id(), any::<[u64; 4]>()),
        (any::<u32>(), any::<u16>(), any::<u16>()),
        vec(pubkey(), 6),
        (
            proptest::option::of(bytes(40)),
            proptest::option::of(channel_type()),
            extra_tlvs(),
        ),
    )
        .prop_map(
            |((id, amounts), (depth, delay, max_htlcs), keys, tlvs)| AcceptChannel {
                temporary_channel_id: id,
                dust_limit_satoshis: amounts[0],
                max_htlc_value_in_flight_msat: amounts[1],
                channel_reserve_satoshis: amounts[2],
                htlc_minimum_msat: amounts[3],
                minimum_depth: depth,
                to_self_delay: delay,
                max_accepted_htlcs: max_htlcs,
                funding_pubkey: keys[0],
                revocation_basepoint: keys[1],
                payment_basepoint: keys[2],
                delayed_payment_basepoint: keys[3],
                htlc_basepoint: keys[4],
                first_per_commitment_point: keys[5],
                upfront_shutdown_script: tlvs.0,
                channel_type: tlvs.1,
                extra_tlvs: tlvs.2,
            },
        )
}

fn funding_created() -> impl Strategy<Value = FundingCreated> {
    (
        channel_id(),
        any::<[u8; 32]>(),
        any::<u16>(),
        signature(),
        extra_tlvs(),
    )
        .prop_map(|(id, txid, index, sig, extra)| FundingCreated {
            temporary_channel_id: id,
            funding_txid: txid,
            funding_output_index: index,
            signature: sig,
            extra_tlvs: extra,
        })
}

fn funding_signed() -> impl Strategy<Value = FundingSigned> {
    (channel_id(), signature(), extra_tlvs()).prop_map(|(id, sig, extra)| FundingSigned {
        channel_id: id,
        signature: sig,
        extra_tlvs: extra,
    })
}

fn channel_ready() -> impl Strategy<Value = ChannelReady> {
    (
        channel_id(),
        pubkey(),
        proptest::option::of(any::<u64>()),
        extra_tlvs(),
    )
        .prop_map(|(id, point, alias, extra)| ChannelReady {
            channel_id: id,
            second_per_commitment_point: point,
            short_channel_id: alias.map(ShortChannelId),
            extra_tlvs: extra,
        })
}

fn shutdown() -> impl Strategy<Value = Shutdown> {
    (channel_id(), bytes(60), extra_tlvs()).prop_map(|(id, script, extra)| Shutdown {
        channel_id: id,
        scriptpubkey: script,
        extra_tlvs: extra,
    })
}

fn closing_signed() -> impl Strategy<Value = ClosingSigned> {
    (
        channel_id(),
        any::<u64>(),
        signature(),
        proptest::option::of(any::<(u64, u64)>()),
        extra_tlvs(),
    )
        .prop_map(|(id, fee, sig, range, extra)| ClosingSigned {
            channel_id: id,
            fee_satoshis: fee,
            signature: sig,
            fee_range: range.map(|(min, max)| FeeRange {
                min_fee_satoshis: min,
                max_fee_satoshis: max,
            }),
            extra_tlvs: extra,
        })
}

type SimpleCloseParts = (
    ChannelId,
    Vec<u8>,
    Vec<u8>,
    u64,
    u32,
    [Option<Signature>; 3],
    TlvStream,
);

fn simple_close_parts() -> impl Strategy<Value = SimpleCloseParts> {
    (
        channel_id(),
        bytes(40),
        bytes(40),
        any::<u64>(),
        any::<u32>(),
        [
            proptest::option::of(signature()),
            proptest::option::of(signature()),
            proptest::option::of(signature()),
        ],
        extra_tlvs(),
    )
}

fn closing_complete() -> impl Strategy<Value = ClosingComplete> {
    simple_close_parts().prop_map(|(id, closer, closee, fee, locktime, sigs, extra)| {
        ClosingComplete {
            channel_id: id,
            closer_scriptpubkey: closer,
            closee_scriptpubkey: closee,
            fee_satoshis: fee,
            locktime,
            closer_output_only: sigs[0],
            closee_output_only: sigs[1],
            closer_and_closee_outputs: sigs[2],
            extra_tlvs: extra,
        }
    })
}

fn closing_sig() -> impl Strategy<Value = ClosingSig> {
    simple_close_parts().prop_map(
        |(id, closer, closee, fee, locktime, sigs, extra)| ClosingSig {
            channel_id: id,
            closer_scriptpubkey: closer,
            closee_scriptpubkey: closee,
            fee_satoshis: fee,
            locktime,
            closer_output_only: sigs[0],
            closee_output_only: sigs[1],
            closer_and_closee_outputs: sigs[2],
            extra_tlvs: extra,
        },
    )
}

fn onion() -> impl Strategy<Value = Box<[u8; ONION_PACKET_LEN]>> {
    vec(any::<u8>(), ONION_PACKET_LEN).prop_map(|v| {
        let array: [u8; ONION_PACKET_LEN] = v.try_into().expect("strategy yields 1366 bytes");
        Box::new(array)
    })
}

fn update_add_htlc() -> impl Strategy<Value = UpdateAddHtlc> {
    (
        (channel_id(), any::<u64>(), any::<u64>()),
        (any::<[u8; 32]>(), any::<u32>(), onion()),
        proptest::option::of(pubkey()),
        extra_tlvs(),
    )
        .prop_map(
            |((id, htlc_id, amount), (hash, expiry, onion), path_key, extra)| UpdateAddHtlc {
                channel_id: id,
                id: htlc_id,
                amount_msat: amount,
                payment_hash: hash,
                cltv_expiry: expiry,
                onion_routing_packet: onion,
                blinded_path: path_key.map(|path_key| BlindedPath { path_key }),
                extra_tlvs: extra,
            },
        )
}

fn attribution_data() -> impl Strategy<Value = AttributionData> {
    (any::<[u32; 20]>(), vec(any::<[u8; 4]>(), 210)).prop_map(|(hold_times, hmacs)| {
        let hmacs: [[u8; 4]; 210] = hmacs.try_into().expect("strategy yields 210 hmacs");
        AttributionData {
            htlc_hold_times: hold_times,
            truncated_hmacs: Box::new(hmacs),
        }
    })
}

fn update_fulfill_htlc() -> impl Strategy<Value = UpdateFulfillHtlc> {
    (
        channel_id(),
        any::<u64>(),
        any::<[u8; 32]>(),
        proptest::option::of(attribution_data()),
        extra_tlvs(),
    )
        .prop_map(|(id, htlc_id, preimage, data, extra)| UpdateFulfillHtlc {
            channel_id: id,
            id: htlc_id,
            payment_preimage: preimage,
            attribution_data: data,
            extra_tlvs: extra,
        })
}

fn update_fail_htlc() -> impl Strategy<Value = UpdateFailHtlc> {
    (
        channel_id(),
        any::<u64>(),
        bytes(300),
        proptest::option::of(attribution_data()),
        extra_tlvs(),
    )
        .prop_map(|(id, htlc_id, reason, data, extra)| UpdateFailHtlc {
            channel_id: id,
            id: htlc_id,
            reason,
            attribution_data: data,
            extra_tlvs: extra,
        })
}

fn update_fail_malformed_htlc() -> impl Strategy<Value = UpdateFailMalformedHtlc> {
    (
        channel_id(),
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<u16>(),
        extra_tlvs(),
    )
        .prop_map(|(id, htlc_id, hash, code, extra)| UpdateFailMalformedHtlc {
            channel_id: id,
            id: htlc_id,
            sha256_of_onion: hash,
            failure_code: code,
            extra_tlvs: extra,
        })
}

fn commitment_signed() -> impl Strategy<Value = CommitmentSigned> {
    (
        channel_id(),
        signature(),
        vec(signature(), 0..5),
        proptest::option::of(any::<[u8; 32]>()),
        extra_tlvs(),
    )
        .prop_map(|(id, sig, htlc_sigs, txid, extra)| CommitmentSigned {
            channel_id: id,
            signature: sig,
            htlc_signatures: htlc_sigs,
            funding_txid: txid,
            extra_tlvs: extra,
        })
}

fn revoke_and_ack() -> impl Strategy<Value = RevokeAndAck> {
    (channel_id(), any::<[u8; 32]>(), pubkey(), extra_tlvs()).prop_map(
        |(id, secret, point, extra)| RevokeAndAck {
            channel_id: id,
            per_commitment_secret: secret,
            next_per_commitment_point: point,
            extra_tlvs: extra,
        },
    )
}

fn update_fee() -> impl Strategy<Value = UpdateFee> {
    (channel_id(), any::<u32>(), extra_tlvs()).prop_map(|(id, feerate, extra)| UpdateFee {
        channel_id: id,
        feerate_per_kw: feerate,
        extra_tlvs: extra,
    })
}

fn channel_reestablish() -> impl Strategy<Value = ChannelReestablish> {
    (
        (channel_id(), any::<u64>(), any::<u64>()),
        (any::<[u8; 32]>(), pubkey()),
        proptest::option::of((any::<[u8; 32]>(), any::<u8>())),
        proptest::option::of((any::<[u8; 32]>(), any::<u8>())),
        extra_tlvs(),
    )
        .prop_map(
            |((id, next_commit, next_revoke), (secret, point), next, locked, extra)| {
                ChannelReestablish {
                    channel_id: id,
                    next_commitment_number: next_commit,
                    next_revocation_number: next_revoke,
                    your_last_per_commitment_secret: secret,
                    my_current_per_commitment_point: point,
                    next_funding: next.map(|(txid, flags)| NextFunding {
                        next_funding_txid: txid,
                        retransmit_flags: flags,
                    }),
                    my_current_funding_locked: locked.map(|(txid, flags)| MyCurrentFundingLocked {
                        my_current_funding_locked_txid: txid,
                        retransmit_flags: flags,
                    }),
                    extra_tlvs: extra,
                }
            },
        )
}

fn start_batch() -> impl Strategy<Value = StartBatch> {
    (
        channel_id(),
        any::<u16>(),
        proptest::option::of(any::<u16>()),
        extra_tlvs(),
    )
        .prop_map(|(id, size, message_type, extra)| StartBatch {
            channel_id: id,
            batch_size: size,
            message_type,
            extra_tlvs: extra,
        })
}

// ---------------------------------------------------------------------------------------------
// Generic properties

/// decode(encode(m)) == m, and re-encoding gives the same bytes.
fn check_round_trip<M>(msg: &M) -> Result<(), TestCaseError>
where
    M: WireMessage + PartialEq + Debug + HasChannelId,
{
    let bytes = msg.encode();
    prop_assert_eq!(&bytes[..2], &M::TYPE.to_be_bytes()[..]);
    let decoded = M::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&decoded, msg);
    prop_assert_eq!(decoded.encode(), bytes);
    prop_assert_eq!(decoded.channel_id(), msg.channel_id());
    Ok(())
}

/// Every strict prefix that cuts the fixed fields is an error; a prefix that still decodes (cut
/// between TLV records) decodes to exactly what it encodes, so it is never the original.
fn check_truncation<M>(msg: &M, fixed_payload_len: usize) -> Result<(), TestCaseError>
where
    M: WireMessage + PartialEq + Debug,
{
    let bytes = msg.encode();
    prop_assert!(bytes.len() >= 2 + fixed_payload_len);
    for cut in 0..bytes.len() {
        let prefix = &bytes[..cut];
        if let Ok(decoded) = M::decode(prefix) {
            prop_assert!(cut >= 2 + fixed_payload_len, "decoded a cut at {}", cut);
            prop_assert_eq!(decoded.encode(), prefix);
        }
    }
    Ok(())
}

/// Flipping bytes never panics, and whatever still decodes re-encodes to the same bytes.
fn check_mutation<M>(msg: &M, flips: &[(Index, u8)]) -> Result<(), TestCaseError>
where
    M: WireMessage + PartialEq + Debug,
{
    let mut bytes = msg.encode();
    for (index, mask) in flips {
        let i = index.index(bytes.len());
        bytes[i] ^= mask;
    }
    if let Ok(decoded) = M::decode(&bytes) {
        prop_assert_eq!(decoded.encode(), bytes);
    }
    Ok(())
}

/// One proptest module per message: round trip, truncation, mutation.
macro_rules! codec_properties {
    ($($module:ident: $strategy:expr, fixed = $fixed:expr;)*) => {$(
        mod $module {
            use super::*;

            proptest! {
                #[test]
                fn round_trips(msg in $strategy) {
                    check_round_trip(&msg)?;
                }

                #[test]
                fn mutated_bytes_never_panic(
                    msg in $strategy,
                    flips in vec((any::<Index>(), 1u8..), 1..4),
                ) {
                    check_mutation(&msg, &flips)?;
                }
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(32))]
                #[test]
                fn truncated_input_is_an_error(msg in $strategy) {
                    #[allow(clippy::redundant_closure_call)]
                    let fixed = ($fixed)(&msg);
                    check_truncation(&msg, fixed)?;
                }
            }
        }
    )*};
}

codec_properties! {
    open_channel_codec: open_channel(), fixed = |_: &OpenChannel| 319;
    accept_channel_codec: accept_channel(), fixed = |_: &AcceptChannel| 270;
    funding_created_codec: funding_created(), fixed = |_: &FundingCreated| 130;
    funding_signed_codec: funding_signed(), fixed = |_: &FundingSigned| 96;
    channel_ready_codec: channel_ready(), fixed = |_: &ChannelReady| 65;
    shutdown_codec: shutdown(), fixed = |m: &Shutdown| 34 + m.scriptpubkey.len();
    closing_signed_codec: closing_signed(), fixed = |_: &ClosingSigned| 104;
    closing_complete_codec: closing_complete(),
        fixed = |m: &ClosingComplete| 48 + m.closer_scriptpubkey.len() + m.closee_scriptpubkey.len();
    closing_sig_codec: closing_sig(),
        fixed = |m: &ClosingSig| 48 + m.closer_scriptpubkey.len() + m.closee_scriptpubkey.len();
    update_add_htlc_codec: update_add_htlc(), fixed = |_: &UpdateAddHtlc| 1450;
    update_fulfill_htlc_codec: update_fulfill_htlc(), fixed = |_: &UpdateFulfillHtlc| 72;
    update_fail_htlc_codec: update_fail_htlc(), fixed = |m: &UpdateFailHtlc| 42 + m.reason.len();
    update_fail_malformed_htlc_codec: update_fail_malformed_htlc(),
        fixed = |_: &UpdateFailMalformedHtlc| 74;
    commitment_signed_codec: commitment_signed(),
        fixed = |m: &CommitmentSigned| 98 + 64 * m.htlc_signatures.len();
    revoke_and_ack_codec: revoke_and_ack(), fixed = |_: &RevokeAndAck| 97;
    update_fee_codec: update_fee(), fixed = |_: &UpdateFee| 36;
    channel_reestablish_codec: channel_reestablish(), fixed = |_: &ChannelReestablish| 113;
    start_batch_codec: start_batch(), fixed = |_: &StartBatch| 34;
}

/// Feeds `bytes` to every decoder here; none may panic, and any success must re-encode exactly.
fn decode_with_every_codec(bytes: &[u8]) -> Result<(), TestCaseError> {
    fn one<M: WireMessage>(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(msg) = M::decode(bytes) {
            prop_assert_eq!(msg.encode(), bytes);
        }
        Ok(())
    }
    one::<OpenChannel>(bytes)?;
    one::<AcceptChannel>(bytes)?;
    one::<FundingCreated>(bytes)?;
    one::<FundingSigned>(bytes)?;
    one::<ChannelReady>(bytes)?;
    one::<Shutdown>(bytes)?;
    one::<ClosingSigned>(bytes)?;
    one::<ClosingComplete>(bytes)?;
    one::<ClosingSig>(bytes)?;
    one::<UpdateAddHtlc>(bytes)?;
    one::<UpdateFulfillHtlc>(bytes)?;
    one::<UpdateFailHtlc>(bytes)?;
    one::<UpdateFailMalformedHtlc>(bytes)?;
    one::<CommitmentSigned>(bytes)?;
    one::<RevokeAndAck>(bytes)?;
    one::<UpdateFee>(bytes)?;
    one::<ChannelReestablish>(bytes)?;
    one::<StartBatch>(bytes)?;
    Ok(())
}

proptest! {
    #[test]
    fn garbage_never_panics(
        message_type in prop::sample::select(vec![32u16, 33, 34, 35, 36, 38, 39, 40, 41, 127,
            128, 130, 131, 132, 133, 134, 135, 136]),
        payload in bytes(400),
    ) {
        let mut framed = message_type.to_be_bytes().to_vec();
        framed.extend_from_slice(&payload);
        decode_with_every_codec(&framed)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-built encodings

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    ::hex::decode(s).expect("test hex")
}

fn key(byte: u8) -> PublicKey {
    let sk = SecretKey::from_slice(&[byte; 32]).expect("valid test key");
    PublicKey::from_secret_key(SECP256K1, &sk)
}

fn sig(byte: u8) -> Signature {
    Signature::from_compact(&[byte; 64]).expect("valid test signature")
}

#[test]
fn update_fee_encodes_byte_exact() {
    let msg = UpdateFee {
        channel_id: ChannelId([0x01; 32]),
        feerate_per_kw: 253,
        extra_tlvs: TlvStream::new(),
    };
    let expected = hex(&format!("0086 {} 000000fd", "01".repeat(32)));
    assert_eq!(msg.encode(), expected);
    assert_eq!(UpdateFee::decode(&expected).unwrap(), msg);
}

#[test]
fn start_batch_for_commitments_encodes_byte_exact() {
    let msg = StartBatch::commitment_signed(ChannelId([0xaa; 32]), 3);
    // type 127, channel id, batch_size 3, TLV 1 (len 2) = 0x0084 (commitment_signed).
    let expected = hex(&format!("007f {} 0003 01 02 0084", "aa".repeat(32)));
    assert_eq!(msg.encode(), expected);
    assert_eq!(StartBatch::decode(&expected).unwrap(), msg);
}

#[test]
fn channel_ready_with_alias_encodes_byte_exact() {
    let point = key(0x11);
    let alias = ShortChannelId::new(700_000, 1_234, 1).unwrap();
    let msg = ChannelReady {
        channel_id: ChannelId([0x02; 32]),
        second_per_commitment_point: point,
        short_channel_id: Some(alias),
        extra_tlvs: TlvStream::new(),
    };
    let expected = hex(&format!(
        "0024 {} {} 01 08 {:016x}",
        "02".repeat(32),
        ::hex::encode(point.serialize()),
        alias.0
    ));
    assert_eq!(msg.encode(), expected);
    assert_eq!(ChannelReady::decode(&expected).unwrap(), msg);
}

#[test]
fn shutdown_encodes_length_prefixed_script() {
    let script = hex("0014 7cf8 1a3c 5e5b 6c7e 4b29 8a5b 9d57 1d27 69e0 c9e3");
    let msg = Shutdown {
        channel_id: ChannelId([0x03; 32]),
        scriptpubkey: script.clone(),
        extra_tlvs: TlvStream::new(),
    };
    let expected = [
        hex("0026"),
        vec![0x03; 32],
        hex("0016"),
        script, // 22 bytes: OP_0 PUSH20 <hash>
    ]
    .concat();
    assert_eq!(msg.encode(), expected);
}

#[test]
fn closing_signed_with_fee_range_encodes_byte_exact() {
    let msg = ClosingSigned {
        channel_id: ChannelId([0x04; 32]),
        fee_satoshis: 500,
        signature: sig(0x05),
        fee_range: Some(FeeRange {
            min_fee_satoshis: 250,
            max_fee_satoshis: 1_000,
        }),
        extra_tlvs: TlvStream::new(),
    };
    let expected = hex(&format!(
        "0027 {} 00000000000001f4 {} 01 10 00000000000000fa 00000000000003e8",
        "04".repeat(32),
        "05".repeat(64)
    ));
    assert_eq!(msg.encode(), expected);
    assert_eq!(ClosingSigned::decode(&expected).unwrap(), msg);
}

fn sample_open_channel() -> OpenChannel {
    OpenChannel {
        chain_hash: ChainHash::REGTEST,
        temporary_channel_id: ChannelId([0x06; 32]),
        funding_satoshis: 1_000_000,
        push_msat: 0,
        dust_limit_satoshis: 546,
        max_htlc_value_in_flight_msat: 1 << 40,
        channel_reserve_satoshis: 10_000,
        htlc_minimum_msat: 1,
        feerate_per_kw: 253,
        to_self_delay: 144,
        max_accepted_htlcs: 483,
        funding_pubkey: key(1),
        revocation_basepoint: key(2),
        payment_basepoint: key(3),
        delayed_payment_basepoint: key(4),
        htlc_basepoint: key(5),
        first_per_commitment_point: key(6),
        channel_flags: OpenChannel::ANNOUNCE_CHANNEL,
        upfront_shutdown_script: Some(Vec::new()),
        channel_type: Some(ChannelType::from_bits(&[
            ChannelType::STATIC_REMOTEKEY,
            ChannelType::ANCHORS,
        ])),
        extra_tlvs: TlvStream::new(),
    }
}

#[test]
fn open_channel_encodes_fixed_fields_then_tlvs() {
    let msg = sample_open_channel();
    let bytes = msg.encode();
    let mut expected = hex("0020");
    expected.extend_from_slice(&ChainHash::REGTEST.0);
    expected.extend_from_slice(&[0x06; 32]);
    for v in [1_000_000u64, 0, 546, 1 << 40, 10_000, 1] {
        expected.extend_from_slice(&v.to_be_bytes());
    }
    expected.extend_from_slice(&hex("000000fd 0090 01e3"));
    for i in 1..=6 {
        expected.extend_from_slice(&key(i).serialize());
    }
    expected.push(0x01);
    // TLV 0 empty (no upfront script), TLV 1 = bits 22 and 12.
    expected.extend_from_slice(&hex("00 00 01 03 401000"));
    assert_eq!(bytes, expected);
    let decoded = OpenChannel::decode(&bytes).unwrap();
    assert!(decoded.announce_channel());
    assert_eq!(decoded, msg);
}

#[test]
fn open_channel_without_tlvs_keeps_them_absent() {
    let msg = OpenChannel {
        upfront_shutdown_script: None,
        channel_type: None,
        ..sample_open_channel()
    };
    let bytes = msg.encode();
    assert_eq!(bytes.len(), 2 + 319);
    let decoded = OpenChannel::decode(&bytes).unwrap();
    assert_eq!(decoded.upfront_shutdown_script, None);
    assert_eq!(decoded.channel_type, None);
}

#[test]
fn update_add_htlc_carries_the_whole_onion() {
    let mut onion = Box::new([0u8; ONION_PACKET_LEN]);
    onion[0] = 0x00;
    onion[ONION_PACKET_LEN - 1] = 0xff;
    let msg = UpdateAddHtlc {
        channel_id: ChannelId([0x07; 32]),
        id: 42,
        amount_msat: 10_000,
        payment_hash: [0x08; 32],
        cltv_expiry: 800_000,
        onion_routing_packet: onion,
        blinded_path: Some(BlindedPath { path_key: key(9) }),
        extra_tlvs: TlvStream::new(),
    };
    let bytes = msg.encode();
    assert_eq!(bytes.len(), 2 + 1450 + 2 + 33);
    assert_eq!(bytes[2 + 1449], 0xff);
    assert_eq!(&bytes[2 + 1450..2 + 1452], &[0x00, 33]);
    assert_eq!(UpdateAddHtlc::decode(&bytes).unwrap(), msg);
    // One onion byte short: the fixed part no longer fits.
    let mut short = bytes[..2 + 1449].to_vec();
    assert!(matches!(
        UpdateAddHtlc::decode(&short),
        Err(DecodeError::UnexpectedEof { .. })
    ));
    short.push(0);
    assert!(UpdateAddHtlc::decode(&short).is_ok());
}

#[test]
fn commitment_signed_counts_htlc_signatures() {
    let msg = CommitmentSigned {
        channel_id: ChannelId([0x0a; 32]),
        signature: sig(0x01),
        htlc_signatures: vec![sig(0x02), sig(0x03)],
        funding_txid: Some([0x0b; 32]),
        extra_tlvs: TlvStream::new(),
    };
    let expected = hex(&format!(
        "0084 {} {} 0002 {} {} 01 20 {}",
        "0a".repeat(32),
        "01".repeat(64),
        "02".repeat(64),
        "03".repeat(64),
        "0b".repeat(32)
    ));
    assert_eq!(msg.encode(), expected);
    assert_eq!(CommitmentSigned::decode(&expected).unwrap(), msg);
    // num_htlcs promising more signatures than the payload holds.
    let mut lying = expected[..2 + 96].to_vec();
    lying.extend_from_slice(&hex("0003"));
    lying.extend_from_slice(&[0x02; 128]);
    assert!(CommitmentSigned::decode(&lying).is_err());
}

#[test]
fn channel_reestablish_encodes_both_funding_tlvs() {
    let msg = ChannelReestablish {
        channel_id: ChannelId([0x0c; 32]),
        next_commitment_number: 5,
        next_revocation_number: 4,
        your_last_per_commitment_secret: [0x0d; 32],
        my_current_per_commitment_point: key(7),
        next_funding: Some(NextFunding {
            next_funding_txid: [0x0e; 32],
            retransmit_flags: NextFunding::RETRANSMIT_COMMITMENT_SIGNED,
        }),
        my_current_funding_locked: Some(MyCurrentFundingLocked {
            my_current_funding_locked_txid: [0x0f; 32],
            retransmit_flags: 0,
        }),
        extra_tlvs: TlvStream::new(),
    };
    let expected = hex(&format!(
        "0088 {} 0000000000000005 0000000000000004 {} {} 01 21 {} 01 05 21 {} 00",
        "0c".repeat(32),
        "0d".repeat(32),
        ::hex::encode(key(7).serialize()),
        "0e".repeat(32),
        "0f".repeat(32)
    ));
    assert_eq!(msg.encode(), expected);
    assert_eq!(ChannelReestablish::decode(&expected).unwrap(), msg);
}

#[test]
fn closing_complete_orders_signature_records() {
    let msg = ClosingComplete {
        channel_id: ChannelId([0x10; 32]),
        closer_scriptpubkey: hex("0014 0000000000000000000000000000000000000000"),
        closee_scriptpubkey: Vec::new(),
        fee_satoshis: 300,
        locktime: 800_000,
        closer_output_only: Some(sig(0x01)),
        closee_output_only: None,
        closer_and_closee_outputs: Some(sig(0x03)),
        extra_tlvs: TlvStream::new(),
    };
    let expected = hex(&format!(
        "0028 {} 0016 0014{} 0000 000000000000012c 000c3500 01 40 {} 03 40 {}",
        "10".repeat(32),
        "00".repeat(20),
        "01".repeat(64),
        "03".repeat(64)
    ));
    assert_eq!(msg.encode(), expected);
    let decoded = ClosingComplete::decode(&expected).unwrap();
    assert_eq!(decoded.signature_count(), 2);
    assert_eq!(decoded, msg);
}

#[test]
fn attribution_data_is_920_bytes() {
    assert_eq!(AttributionData::LEN, 920);
    let data = AttributionData {
        htlc_hold_times: [7; 20],
        truncated_hmacs: Box::new([[1, 2, 3, 4]; 210]),
    };
    let msg = UpdateFulfillHtlc {
        channel_id: ChannelId([0x12; 32]),
        id: 1,
        payment_preimage: [0x13; 32],
        attribution_data: Some(data),
        extra_tlvs: TlvStream::new(),
    };
    let bytes = msg.encode();
    // Fixed 72 bytes, then type 1, bigsize length 920 (fd 0398), then the value.
    assert_eq!(&bytes[2 + 72..2 + 76], &hex("01 fd 0398")[..]);
    assert_eq!(&bytes[2 + 76..2 + 80], &[0, 0, 0, 7]);
    assert_eq!(bytes.len(), 2 + 76 + 920);
    assert_eq!(UpdateFulfillHtlc::decode(&bytes).unwrap(), msg);
}

// ---------------------------------------------------------------------------------------------
// TLV handling

fn update_fee_with_tlvs(tlvs: &str) -> Vec<u8> {
    hex(&format!("0086 {} 000000fd {tlvs}", "01".repeat(32)))
}

#[test]
fn unknown_even_tlv_is_rejected() {
    let bytes = update_fee_with_tlvs("02 01 00");
    assert_eq!(
        UpdateFee::decode(&bytes),
        Err(DecodeError::UnknownEvenTlv(2))
    );
    // The same type is known (closee_output_only) in closing_complete, but 4 is not.
    let closing = hex(&format!(
        "0028 {} 0000 0000 0000000000000000 00000000 04 00",
        "00".repeat(32)
    ));
    assert_eq!(
        ClosingComplete::decode(&closing),
        Err(DecodeError::UnknownEvenTlv(4))
    );
}

#[test]
fn unknown_odd_tlvs_are_kept_and_re_encoded_in_order() {
    let point = key(3);
    let bytes = hex(&format!(
        "0024 {} {} 01 08 0000010000020003 03 02 abcd fd0101 00",
        "22".repeat(32),
        ::hex::encode(point.serialize())
    ));
    let msg = ChannelReady::decode(&bytes).unwrap();
    assert_eq!(
        msg.short_channel_id,
        Some(ShortChannelId(0x0000010000020003))
    );
    assert_eq!(msg.extra_tlvs.get(3), Some(&[0xab, 0xcd][..]));
    assert_eq!(msg.extra_tlvs.get(0x101), Some(&[][..]));
    assert_eq!(msg.extra_tlvs.get(1), None);
    assert_eq!(msg.encode(), bytes);

    // Unknown odd record below a known one: the merge must put it back first.
    let bytes = update_fee_with_tlvs("01 01 ff 03 00");
    let msg = UpdateFee::decode(&bytes).unwrap();
    assert_eq!(msg.extra_tlvs.records().len(), 2);
    assert_eq!(msg.encode(), bytes);
}

#[test]
fn known_tlv_of_the_wrong_length_is_rejected() {
    let bytes = hex(&format!("007f {} 0002 01 01 84", "00".repeat(32)));
    assert_eq!(
        StartBatch::decode(&bytes),
        Err(DecodeError::InvalidTlv {
            tlv_type: 1,
            reason: "wrong length"
        })
    );
    let bytes = hex(&format!("007f {} 0002 01 03 008400", "00".repeat(32)));
    assert!(matches!(
        StartBatch::decode(&bytes),
        Err(DecodeError::InvalidTlv { tlv_type: 1, .. })
    ));
}

#[test]
fn known_tlv_with_an_invalid_point_is_rejected() {
    let bytes = hex(&format!(
        "0080 {} 0000000000000000 0000000000000000 {} 00000000 {} 00 21 05{}",
        "00".repeat(32),
        "00".repeat(32),
        "00".repeat(ONION_PACKET_LEN),
        "00".repeat(32)
    ));
    assert_eq!(
        UpdateAddHtlc::decode(&bytes),
        Err(DecodeError::InvalidPublicKey)
    );
}

#[test]
fn tlvs_out_of_order_are_rejected() {
    let bytes = update_fee_with_tlvs("03 00 01 00");
    assert!(matches!(
        UpdateFee::decode(&bytes),
        Err(DecodeError::TlvNotIncreasing { .. })
    ));
    let bytes = update_fee_with_tlvs("03 00 03 00");
    assert!(UpdateFee::decode(&bytes).is_err());
}

#[test]
fn empty_upfront_shutdown_script_differs_from_absent() {
    let with_empty = sample_open_channel().encode();
    let without = OpenChannel {
        upfront_shutdown_script: None,
        ..sample_open_channel()
    }
    .encode();
    assert_eq!(with_empty.len(), without.len() + 2);
    assert_eq!(
        OpenChannel::decode(&with_empty)
            .unwrap()
            .upfront_shutdown_script,
        Some(Vec::new())
    );
}

#[test]
fn extra_tlvs_cannot_shadow_typed_fields_on_encode() {
    // A typed field wins over a stray record of the same type, so the output stays valid.
    let mut extra = TlvStream::new();
    extra.insert(1, vec![0; 8]);
    let msg = ChannelReady {
        channel_id: ChannelId([0; 32]),
        second_per_commitment_point: key(1),
        short_channel_id: Some(ShortChannelId(5)),
        extra_tlvs: extra,
    };
    let decoded = ChannelReady::decode(&msg.encode()).unwrap();
    assert_eq!(decoded.short_channel_id, Some(ShortChannelId(5)));
    assert!(decoded.extra_tlvs.is_empty());
}

// ---------------------------------------------------------------------------------------------
// ChannelType and channel ids

#[test]
fn channel_type_builds_minimal_bitmaps() {
    let anchors = ChannelType::from_bits(&[ChannelType::STATIC_REMOTEKEY, ChannelType::ANCHORS]);
    assert_eq!(anchors.as_bytes(), &[0x40, 0x10, 0x00]);
    assert_eq!(anchors.bits(), vec![12, 22]);
    assert!(anchors.is_minimal() && anchors.is_defined());
    assert!(ChannelType::from_bits(&[]).as_bytes().is_empty());

    let zeroconf = ChannelType::from_bits(&[12, 46, 50]);
    assert!(zeroconf.has_bit(ChannelType::ZEROCONF) && zeroconf.is_defined());
    assert!(!ChannelType::from_bits(&[22]).is_defined());
    assert!(!ChannelType::from_bits(&[12, 14]).is_defined());
}

#[test]
fn non_minimal_channel_type_round_trips_byte_exact() {
    let padded = ChannelType::from_bytes(vec![0x00, 0x10, 0x00]);
    assert!(!padded.is_minimal() && !padded.is_defined());
    assert!(padded.has_bit(12));
    let msg = OpenChannel {
        channel_type: Some(padded.clone()),
        ..sample_open_channel()
    };
    let decoded = OpenChannel::decode(&msg.encode()).unwrap();
    assert_eq!(decoded.channel_type, Some(padded));
}

#[test]
fn funding_created_names_the_temporary_then_the_funded_channel() {
    let msg = FundingCreated {
        temporary_channel_id: ChannelId([0x33; 32]),
        funding_txid: [0xff; 32],
        funding_output_index: 1,
        signature: sig(1),
        extra_tlvs: TlvStream::new(),
    };
    assert_eq!(msg.channel_id(), ChannelId([0x33; 32]));
    let funded = msg.funded_channel_id();
    assert_eq!(funded.0[31], 0xfe);
    assert_eq!(funded.0[30], 0xff);
}

// ---------------------------------------------------------------------------------------------
// Batching

const CHANNEL: ChannelId = ChannelId([0x44; 32]);
const OTHER: ChannelId = ChannelId([0x55; 32]);
const COMMITMENT_SIGNED: u16 = 132;

#[test]
fn batch_of_three_commitments_completes_on_the_third() {
    let mut assembler = BatchAssembler::new();
    let start = StartBatch::commitment_signed(CHANNEL, 3);
    assert_eq!(start.validate(), Ok(()));
    assert_eq!(
        assembler.on_start_batch(&start),
        Ok(BatchStep::Started {
            channel_id: CHANNEL,
            batch_size: 3
        })
    );
    assert_eq!(assembler.in_progress(), Some((CHANNEL, 3)));
    for index in 0..2 {
        assert_eq!(
            assembler.on_message(COMMITMENT_SIGNED, Some(CHANNEL)),
            Ok(BatchStep::Member {
                index,
                batch_size: 3
            })
        );
    }
    assert_eq!(assembler.in_progress(), Some((CHANNEL, 1)));
    assert_eq!(
        assembler.on_message(COMMITMENT_SIGNED, Some(CHANNEL)),
        Ok(BatchStep::Completed {
            channel_id: CHANNEL,
            batch_size: 3
        })
    );
    assert_eq!(assembler.in_progress(), None);
    // Afterwards messages stand alone again.
    assert_eq!(
        assembler.on_message(COMMITMENT_SIGNED, Some(CHANNEL)),
        Ok(BatchStep::Single)
    );
    assert_eq!(assembler.on_message(18, None), Ok(BatchStep::Single));
}

#[test]
fn batch_size_of_one_or_zero_is_ignored_with_a_warning() {
    for size in [0, 1] {
        let start = StartBatch::commitment_signed(CHANNEL, size);
        assert_eq!(
            start.validate(),
            Err(StartBatchRejection::BatchSizeTooSmall(size))
        );
        let mut assembler = BatchAssembler::new();
        let step = assembler.on_start_batch(&start).unwrap();
        assert_eq!(
            step,
            BatchStep::StartIgnored(StartBatchRejection::BatchSizeTooSmall(size))
        );
        assert_eq!(
            StartBatchRejection::BatchSizeTooSmall(size).action(),
            BatchAction::IgnoreAndWarn
        );
        assert_eq!(
            assembler.on_message(COMMITMENT_SIGNED, Some(CHANNEL)),
            Ok(BatchStep::Single)
        );
    }
}

#[test]
fn batch_size_above_twenty_breaks_the_connection() {
    let mut assembler = BatchAssembler::new();
    let ok = StartBatch::commitment_signed(CHANNEL, MAX_BATCH_SIZE);
    assert!(assembler.on_start_batch(&ok).is_ok());

    let mut assembler = BatchAssembler::new();
    let too_large = StartBatch::commitment_signed(CHANNEL, 21);
    assert_eq!(
        too_large.validate(),
        Err(StartBatchRejection::BatchSizeTooLarge(21))
    );
    let err = assembler.on_start_batch(&too_large).unwrap_err();
    assert_eq!(
        err,
        BatchError::TooLarge {
            channel_id: CHANNEL,
            batch_size: 21
        }
    );
    assert_eq!(err.action(), BatchAction::WarnAndDisconnectOrFailChannel);
    assert_eq!(err.channel_id(), CHANNEL);
    assert_eq!(assembler.in_progress(), None);
}

#[test]
fn start_batch_without_commitment_signed_type_is_ignored() {
    for message_type in [None, Some(128), Some(133)] {
        // Even a size that would otherwise break the connection: unknown batches are ignored.
        let start = StartBatch {
            message_type,
            ..StartBatch::commitment_signed(CHANNEL, 50)
        };
        let rejection = StartBatchRejection::UnsupportedMessageType(message_type);
        assert_eq!(start.validate(), Err(rejection));
        assert_eq!(rejection.action(), BatchAction::Ignore);
        let mut assembler = BatchAssembler::new();
        assert_eq!(
            assembler.on_start_batch(&start),
            Ok(BatchStep::StartIgnored(rejection))
        );
        assert_eq!(
            assembler.on_message(128, Some(OTHER)),
            Ok(BatchStep::Single)
        );
    }
}

fn started(size: u16) -> BatchAssembler {
    let mut assembler = BatchAssembler::new();
    assembler
        .on_start_batch(&StartBatch::commitment_signed(CHANNEL, size))
        .unwrap();
    assembler
}

#[test]
fn message_for_another_channel_inside_a_batch_is_a_violation() {
    let mut assembler = started(2);
    assembler
        .on_message(COMMITMENT_SIGNED, Some(CHANNEL))
        .unwrap();
    let err = assembler
        .on_message(COMMITMENT_SIGNED, Some(OTHER))
        .unwrap_err();
    assert_eq!(
        err,
        BatchError::WrongChannel {
            channel_id: CHANNEL,
            actual: Some(OTHER)
        }
    );
    assert_eq!(err.action(), BatchAction::WarnAndDisconnectOrFailChannel);
    assert_eq!(assembler.in_progress(), None);
}

#[test]
fn message_without_channel_inside_a_batch_is_a_violation() {
    let mut assembler = started(2);
    // A ping (18) has no channel id: nothing may come between the batched messages.
    assert_eq!(
        assembler.on_message(18, None),
        Err(BatchError::WrongChannel {
            channel_id: CHANNEL,
            actual: None
        })
    );
}

#[test]
fn other_message_type_for_the_batched_channel_is_a_violation() {
    let mut assembler = started(2);
    assert_eq!(
        assembler.on_message(RevokeAndAck::TYPE, Some(CHANNEL)),
        Err(BatchError::WrongMessageType {
            channel_id: CHANNEL,
            expected: COMMITMENT_SIGNED,
            actual: RevokeAndAck::TYPE
        })
    );
}

#[test]
fn start_batch_inside_a_batch_is_a_violation() {
    let mut assembler = started(3);
    assert_eq!(
        assembler.on_start_batch(&StartBatch::commitment_signed(CHANNEL, 2)),
        Err(BatchError::NestedStartBatch {
            channel_id: CHANNEL
        })
    );
    let mut assembler = started(3);
    assert_eq!(
        assembler.on_message(StartBatch::TYPE, Some(CHANNEL)),
        Err(BatchError::NestedStartBatch {
            channel_id: CHANNEL
        })
    );
}

/// One input to the assembler in the random-sequence property.
#[derive(Debug, Clone)]
enum Event {
    Start(StartBatch),
    Message(u16, Option<ChannelId>),
}

fn event() -> impl Strategy<Value = Event> {
    let id = prop::sample::select(vec![CHANNEL, OTHER]);
    prop_oneof![
        (
            id.clone(),
            0u16..25,
            prop::option::of(prop::sample::select(vec![128u16, 132]))
        )
            .prop_map(
                |(channel_id, batch_size, message_type)| Event::Start(StartBatch {
                    channel_id,
                    batch_size,
                    message_type,
                    extra_tlvs: TlvStream::new(),
                })
            ),
        (
            prop::sample::select(vec![18u16, 128, 132, 133]),
            prop::option::of(id)
        )
            .prop_map(|(t, c)| Event::Message(t, c)),
    ]
}

proptest! {
    #[test]
    fn batches_complete_after_exactly_batch_size_messages(events in vec(event(), 0..40)) {
        let mut assembler = BatchAssembler::new();
        let mut expected_remaining: Option<u16> = None;
        for event in events {
            let step = match &event {
                Event::Start(start) => assembler.on_start_batch(start),
                Event::Message(t, c) => assembler.on_message(*t, *c),
            };
            match step {
                Ok(BatchStep::Started { batch_size, .. }) => {
                    prop_assert!(expected_remaining.is_none());
                    prop_assert!((2..=MAX_BATCH_SIZE).contains(&batch_size));
                    expected_remaining = Some(batch_size);
                }
                Ok(BatchStep::Member { index, batch_size }) => {
                    let remaining = expected_remaining.unwrap_or(0);
                    prop_assert_eq!(index, batch_size - remaining);
                    prop_assert!(remaining > 1);
                    expected_remaining = Some(remaining - 1);
                }
                Ok(BatchStep::Completed { .. }) => {
                    prop_assert_eq!(expected_remaining, Some(1));
                    expected_remaining = None;
                }
                Ok(BatchStep::Single) | Ok(BatchStep::StartIgnored(_)) => {
                    prop_assert!(expected_remaining.is_none());
                }
                Err(_) => expected_remaining = None,
            }
            prop_assert_eq!(assembler.in_progress().map(|(_, r)| r), expected_remaining);
        }
    }
}

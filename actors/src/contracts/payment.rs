//! Payment attempt outcomes (topic `ln.payments.outcomes`): every edge publishes the result of
//! each attempt it sent, and every router replica folds them into mission control.

use serde::{Deserialize, Serialize};

use super::Contract;

/// The result of one payment attempt along one route, as the sending edge saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOutcome {
    /// The edge process that sent the attempt.
    pub edge_id: String,
    pub payment_hash: [u8; 32],
    /// Distinguishes the attempts (and MPP parts) of one payment.
    pub attempt_id: u64,
    /// When the result came back, milliseconds since the Unix epoch on the edge's clock. Mission
    /// control learns at this time, never at its own clock, so replicas agree.
    pub at_ms: u64,
    /// The channels the attempt took, first hop first.
    pub route: Vec<OutcomeHop>,
    pub result: OutcomeResult,
}

/// One channel of an attempted route and the amount it was asked to forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeHop {
    /// The raw `short_channel_id` (`ShortChannelId.0`).
    pub scid: u64,
    /// 0 when the lesser node id forwards, 1 otherwise (BOLT 7 `channel_flags` bit 0).
    pub direction: u8,
    /// The amount this channel direction had to carry, fees of later hops included.
    pub amount_msat: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutcomeResult {
    Success,
    Failure {
        /// Index in `route` of the channel that failed: the failing node could not forward
        /// over `route[erring_hop]` (or, for a final-node code, is that channel's recipient).
        erring_hop: u32,
        /// The BOLT 4 `failure_code` (see [`failure_code`]).
        code: u16,
    },
}

impl Contract for PaymentOutcome {
    const NAME: &'static str = "payment_outcome";
    const VERSION: u16 = 1;
}

/// BOLT 4 `failure_code` values (04-onion-routing.md, "Failure Messages").
pub mod failure_code {
    pub const BADONION: u16 = 0x8000;
    pub const PERM: u16 = 0x4000;
    pub const NODE: u16 = 0x2000;
    pub const UPDATE: u16 = 0x1000;

    pub const TEMPORARY_NODE_FAILURE: u16 = NODE | 2;
    pub const PERMANENT_NODE_FAILURE: u16 = PERM | NODE | 2;
    pub const REQUIRED_NODE_FEATURE_MISSING: u16 = PERM | NODE | 3;
    pub const INVALID_ONION_VERSION: u16 = BADONION | PERM | 4;
    pub const INVALID_ONION_HMAC: u16 = BADONION | PERM | 5;
    pub const INVALID_ONION_KEY: u16 = BADONION | PERM | 6;
    pub const TEMPORARY_CHANNEL_FAILURE: u16 = UPDATE | 7;
    pub const PERMANENT_CHANNEL_FAILURE: u16 = PERM | 8;
    pub const REQUIRED_CHANNEL_FEATURE_MISSING: u16 = PERM | 9;
    pub const UNKNOWN_NEXT_PEER: u16 = PERM | 10;
    pub const AMOUNT_BELOW_MINIMUM: u16 = UPDATE | 11;
    pub const FEE_INSUFFICIENT: u16 = UPDATE | 12;
    pub const INCORRECT_CLTV_EXPIRY: u16 = UPDATE | 13;
    pub const EXPIRY_TOO_SOON: u16 = UPDATE | 14;
    pub const INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS: u16 = PERM | 15;
    pub const FINAL_INCORRECT_CLTV_EXPIRY: u16 = 18;
    pub const FINAL_INCORRECT_HTLC_AMOUNT: u16 = 19;
    pub const CHANNEL_DISABLED: u16 = UPDATE | 20;
    pub const EXPIRY_TOO_FAR: u16 = 21;
    pub const INVALID_ONION_PAYLOAD: u16 = PERM | 22;
    pub const MPP_TIMEOUT: u16 = 23;
    pub const INVALID_ONION_BLINDING: u16 = BADONION | PERM | 24;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::{decode, encode, ContractError};
    use proptest::prelude::*;

    fn sample() -> PaymentOutcome {
        PaymentOutcome {
            edge_id: "edge-1".into(),
            payment_hash: [7; 32],
            attempt_id: 42,
            at_ms: 1_700_000_000_000,
            route: vec![
                OutcomeHop {
                    scid: 800_000 << 40 | 1 << 16,
                    direction: 0,
                    amount_msat: 1_001_000,
                },
                OutcomeHop {
                    scid: 800_001 << 40,
                    direction: 1,
                    amount_msat: 1_000_000,
                },
            ],
            result: OutcomeResult::Failure {
                erring_hop: 1,
                code: failure_code::TEMPORARY_CHANNEL_FAILURE,
            },
        }
    }

    #[test]
    fn bolt4_codes_have_their_spec_values() {
        assert_eq!(failure_code::TEMPORARY_CHANNEL_FAILURE, 0x1007);
        assert_eq!(failure_code::CHANNEL_DISABLED, 0x1014);
        assert_eq!(failure_code::UNKNOWN_NEXT_PEER, 0x400a);
        assert_eq!(failure_code::PERMANENT_NODE_FAILURE, 0x6002);
        assert_eq!(failure_code::INVALID_ONION_BLINDING, 0xc018);
    }

    #[test]
    fn round_trips() {
        let bytes = encode(&sample());
        assert_eq!(decode::<PaymentOutcome>(&bytes).unwrap(), sample());
    }

    #[test]
    fn refuses_other_versions() {
        let mut bytes = encode(&sample());
        bytes[0] = 2;
        assert!(matches!(
            decode::<PaymentOutcome>(&bytes),
            Err(ContractError::UnsupportedVersion { got: 2, .. })
        ));
    }

    #[test]
    fn refuses_truncated_payloads() {
        let bytes = encode(&sample());
        for len in 0..bytes.len() {
            assert!(
                decode::<PaymentOutcome>(&bytes[..len]).is_err(),
                "len {len}"
            );
        }
    }

    fn arb_outcome() -> impl Strategy<Value = PaymentOutcome> {
        let hop =
            (any::<u64>(), any::<u8>(), any::<u64>()).prop_map(|(scid, direction, amount_msat)| {
                OutcomeHop {
                    scid,
                    direction,
                    amount_msat,
                }
            });
        let result = prop_oneof![
            Just(OutcomeResult::Success),
            (any::<u32>(), any::<u16>())
                .prop_map(|(erring_hop, code)| OutcomeResult::Failure { erring_hop, code }),
        ];
        (
            ".{0,16}",
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<u64>(),
            proptest::collection::vec(hop, 0..8),
            result,
        )
            .prop_map(
                |(edge_id, payment_hash, attempt_id, at_ms, route, result)| PaymentOutcome {
                    edge_id,
                    payment_hash,
                    attempt_id,
                    at_ms,
                    route,
                    result,
                },
            )
    }

    proptest! {
        #[test]
        fn any_outcome_round_trips(outcome in arb_outcome()) {
            prop_assert_eq!(decode::<PaymentOutcome>(&encode(&outcome)).unwrap(), outcome);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode::<PaymentOutcome>(&bytes);
        }
    }
}

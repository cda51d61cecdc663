use super::*;
use lnfleet_actors::contracts::payment::{failure_code, OutcomeHop};
use proptest::prelude::*;

const HOUR: u64 = DEFAULT_HALF_LIFE_MS;
const T0: u64 = 1_700_000_000_000;
const CAP: u64 = 10_000_000;

fn hop(scid: u64, amount_msat: u64) -> OutcomeHop {
    OutcomeHop {
        scid,
        direction: 0,
        amount_msat,
    }
}

/// Three hops carrying 3000, 2000 and 1000 msat.
fn route() -> Vec<OutcomeHop> {
    vec![hop(1, 3_000), hop(2, 2_000), hop(3, 1_000)]
}

fn outcome(at_ms: u64, route: Vec<OutcomeHop>, result: OutcomeResult) -> PaymentOutcome {
    PaymentOutcome {
        edge_id: "edge-0".into(),
        payment_hash: [1; 32],
        attempt_id: at_ms,
        at_ms,
        route,
        result,
    }
}

fn failure(erring_hop: u32, code: u16) -> OutcomeResult {
    OutcomeResult::Failure { erring_hop, code }
}

fn bounds(mc: &MissionControl, scid: u64, now_ms: u64) -> Option<LiquidityBounds> {
    mc.bounds_at(ShortChannelId(scid), 0, now_ms, CAP)
}

fn b(min_msat: u64, max_msat: u64) -> Option<LiquidityBounds> {
    Some(LiquidityBounds { min_msat, max_msat })
}

#[test]
fn success_raises_the_lower_bound_of_every_hop_to_its_amount() {
    let mut mc = MissionControl::default();
    mc.apply(&outcome(T0, route(), OutcomeResult::Success))
        .unwrap();
    assert_eq!(bounds(&mc, 1, T0), b(3_000, CAP));
    assert_eq!(bounds(&mc, 2, T0), b(2_000, CAP));
    assert_eq!(bounds(&mc, 3, T0), b(1_000, CAP));
    assert_eq!(mc.bounds_at(ShortChannelId(1), 1, T0, CAP), None);
    assert_eq!(mc.counters().outcomes_applied, 1);
}

#[test]
fn liquidity_failure_caps_the_erring_hop_and_raises_the_hops_before_it() {
    let mut mc = MissionControl::default();
    mc.apply(&outcome(
        T0,
        route(),
        failure(1, failure_code::TEMPORARY_CHANNEL_FAILURE),
    ))
    .unwrap();
    assert_eq!(bounds(&mc, 1, T0), b(3_000, CAP));
    assert_eq!(bounds(&mc, 2, T0), b(0, 1_999));
    assert_eq!(bounds(&mc, 3, T0), None);
}

#[test]
fn disabled_channel_is_failing_then_relaxes() {
    let mut mc = MissionControl::default();
    mc.apply(&outcome(
        T0,
        route(),
        failure(0, failure_code::CHANNEL_DISABLED),
    ))
    .unwrap();
    assert_eq!(bounds(&mc, 1, T0), b(0, 0));
    assert_eq!(bounds(&mc, 1, T0 + HOUR), b(0, CAP / 2));
    assert_eq!(bounds(&mc, 2, T0), None);
}

#[test]
fn policy_failure_teaches_only_about_the_hops_before() {
    let mut mc = MissionControl::default();
    mc.apply(&outcome(
        T0,
        route(),
        failure(2, failure_code::FEE_INSUFFICIENT),
    ))
    .unwrap();
    assert_eq!(bounds(&mc, 2, T0), b(2_000, CAP));
    assert_eq!(bounds(&mc, 3, T0), None);
}

#[test]
fn recipient_failure_means_every_hop_forwarded() {
    let mut mc = MissionControl::default();
    mc.apply(&outcome(
        T0,
        route(),
        failure(2, failure_code::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS),
    ))
    .unwrap();
    assert_eq!(bounds(&mc, 3, T0), b(1_000, CAP));
}

#[test]
fn decay_halves_the_distance_to_the_prior_after_one_half_life() {
    let mut mc = MissionControl::default();
    mc.apply(&outcome(
        T0,
        vec![hop(1, 4_000_000), hop(2, 6_000_001)],
        failure(1, failure_code::TEMPORARY_CHANNEL_FAILURE),
    ))
    .unwrap();
    // Lower 4_000_000 relaxes toward 0; upper 6_000_000 relaxes toward CAP = 10_000_000.
    assert_eq!(bounds(&mc, 1, T0 + HOUR), b(2_000_000, CAP));
    assert_eq!(bounds(&mc, 2, T0 + HOUR), b(0, 8_000_000));
    assert_eq!(bounds(&mc, 2, T0 + 2 * HOUR), b(0, 9_000_000));
    // Half a half-life: linear between whole half-lives.
    assert_eq!(bounds(&mc, 1, T0 + HOUR / 2), b(3_000_000, CAP));
}

#[test]
fn half_life_is_configurable() {
    let mut mc = MissionControl::new(MissionControlConfig {
        half_life_ms: 1_000,
        ..MissionControlConfig::default()
    });
    mc.apply(&outcome(T0, vec![hop(1, 8_000)], OutcomeResult::Success))
        .unwrap();
    assert_eq!(bounds(&mc, 1, T0 + 3_000), b(1_000, CAP));
}

#[test]
fn learning_time_is_the_outcome_time_not_the_query_time() {
    let mut mc = MissionControl::default();
    mc.apply(&outcome(T0, vec![hop(1, 8_000)], OutcomeResult::Success))
        .unwrap();
    // A query before the outcome's time (another edge's clock ahead) sees the learned bound.
    assert_eq!(bounds(&mc, 1, T0 - 5), b(8_000, CAP));
}

#[test]
fn newer_failure_below_the_lower_bound_wins() {
    let mut mc = MissionControl::default();
    mc.apply(&outcome(T0, vec![hop(1, 5_000)], OutcomeResult::Success))
        .unwrap();
    mc.apply(&outcome(
        T0 + 1,
        vec![hop(1, 3_001)],
        failure(0, failure_code::TEMPORARY_CHANNEL_FAILURE),
    ))
    .unwrap();
    assert_eq!(bounds(&mc, 1, T0 + 1), b(3_000, 3_000));
    // A newer success above the cap drops it.
    mc.apply(&outcome(
        T0 + 2,
        vec![hop(1, 4_000)],
        OutcomeResult::Success,
    ))
    .unwrap();
    assert_eq!(bounds(&mc, 1, T0 + 2), b(4_000, CAP));
}

#[test]
fn upper_bounds_do_not_depend_on_arrival_order() {
    // Outcomes from different partitions of the topic may interleave differently per replica.
    let first = outcome(
        T0,
        vec![hop(1, 5_000)],
        failure(0, failure_code::TEMPORARY_CHANNEL_FAILURE),
    );
    let second = outcome(
        T0 + 7,
        vec![hop(1, 9_000)],
        failure(0, failure_code::TEMPORARY_CHANNEL_FAILURE),
    );
    let mut in_order = MissionControl::default();
    let mut reversed = MissionControl::default();
    in_order.apply(&first).unwrap();
    in_order.apply(&second).unwrap();
    reversed.apply(&second).unwrap();
    reversed.apply(&first).unwrap();
    for now in [T0 + 7, T0 + HOUR] {
        assert_eq!(bounds(&in_order, 1, now), bounds(&reversed, 1, now));
    }
    assert_eq!(bounds(&in_order, 1, T0 + 7), b(0, 8_999));
}

#[test]
fn view_uses_the_callers_capacity_and_time() {
    let mut mc = MissionControl::default();
    mc.apply(&outcome(T0, vec![hop(1, 4_000)], OutcomeResult::Success))
        .unwrap();
    let view = mc.view(T0 + HOUR, |scid, _| (scid.0 == 1).then_some(CAP));
    assert_eq!(view.bounds(ShortChannelId(1), 0), b(2_000, CAP));
    assert_eq!(view.bounds(ShortChannelId(2), 0), None);
}

#[test]
fn memory_is_capped_by_forgetting_the_oldest_direction() {
    let mut mc = MissionControl::new(MissionControlConfig {
        max_directions: 2,
        ..MissionControlConfig::default()
    });
    for (i, scid) in [1u64, 2, 3].into_iter().enumerate() {
        mc.apply(&outcome(
            T0 + i as u64,
            vec![hop(scid, 1_000)],
            OutcomeResult::Success,
        ))
        .unwrap();
    }
    assert_eq!(mc.len(), 2);
    assert_eq!(bounds(&mc, 1, T0), None);
    assert!(bounds(&mc, 3, T0).is_some());
    assert_eq!(mc.counters().directions_evicted, 1);
}

#[test]
fn nonsense_outcomes_are_ignored_with_a_reason() {
    let mut mc = MissionControl::default();
    assert_eq!(
        mc.apply(&outcome(T0, vec![], OutcomeResult::Success)),
        Err(IgnoredOutcome::EmptyRoute)
    );
    assert_eq!(
        mc.apply(&outcome(T0, route(), failure(3, 0x1007))),
        Err(IgnoredOutcome::ErringHopOutOfRange {
            erring_hop: 3,
            route_len: 3
        })
    );
    let mut bad = route();
    bad[1].direction = 2;
    assert_eq!(
        mc.apply(&outcome(T0, bad, OutcomeResult::Success)),
        Err(IgnoredOutcome::InvalidDirection {
            hop: 1,
            direction: 2
        })
    );
    assert!(mc.is_empty());
    assert_eq!(mc.counters().outcomes_ignored, 3);
    assert!(matches!(
        mc.apply_encoded(&[1, 0, 9]),
        Err(ApplyError::Malformed(_))
    ));
    assert_eq!(mc.counters().outcomes_malformed, 1);
}

/// Every answer of `mc` about the directions in `outcomes`, at a few times.
fn knowledge(mc: &MissionControl, outcomes: &[PaymentOutcome]) -> Vec<Option<LiquidityBounds>> {
    let mut answers = Vec::new();
    for o in outcomes {
        for h in &o.route {
            for now in [T0, T0 + HOUR / 3, T0 + 5 * HOUR] {
                answers.push(mc.bounds_at(ShortChannelId(h.scid), h.direction, now, CAP));
            }
        }
    }
    answers
}

fn arb_outcome() -> impl Strategy<Value = PaymentOutcome> {
    // Few channels, so outcomes overlap; directions and erring hops sometimes out of range.
    let hop =
        (0u64..6, 0u8..3, 0u64..2 * CAP).prop_map(|(scid, direction, amount_msat)| OutcomeHop {
            scid,
            direction,
            amount_msat,
        });
    let code = prop_oneof![
        Just(failure_code::TEMPORARY_CHANNEL_FAILURE),
        Just(failure_code::CHANNEL_DISABLED),
        Just(failure_code::FEE_INSUFFICIENT),
        Just(failure_code::MPP_TIMEOUT),
        any::<u16>(),
    ];
    let result = prop_oneof![
        Just(OutcomeResult::Success),
        (0u32..5, code).prop_map(|(erring_hop, code)| OutcomeResult::Failure { erring_hop, code }),
    ];
    (0u64..3 * HOUR, proptest::collection::vec(hop, 0..5), result)
        .prop_map(|(dt, route, result)| outcome(T0 + dt, route, result))
}

proptest! {
    #[test]
    fn replicas_fed_the_same_log_agree_exactly(
        outcomes in proptest::collection::vec(arb_outcome(), 0..40),
        max_directions in 1usize..8,
    ) {
        let config = MissionControlConfig { max_directions, ..MissionControlConfig::default() };
        let mut direct = MissionControl::new(config);
        let mut through_kafka = MissionControl::new(config);
        for o in &outcomes {
            let a = direct.apply(o);
            let b = through_kafka.apply_encoded(&contracts::encode(o));
            prop_assert_eq!(a.is_ok(), b.is_ok());
        }
        prop_assert_eq!(knowledge(&direct, &outcomes), knowledge(&through_kafka, &outcomes));
        prop_assert_eq!(direct.counters(), through_kafka.counters());
    }

    #[test]
    fn any_outcome_is_applied_or_ignored_and_bounds_stay_ordered(
        outcomes in proptest::collection::vec(arb_outcome(), 0..40),
    ) {
        let mut mc = MissionControl::new(MissionControlConfig { max_directions: 4, ..MissionControlConfig::default() });
        for o in &outcomes {
            let _ = mc.apply(o);
        }
        let c = mc.counters();
        prop_assert_eq!(c.outcomes_applied + c.outcomes_ignored, outcomes.len() as u64);
        prop_assert!(mc.len() <= 4);
        for answer in knowledge(&mc, &outcomes).into_iter().flatten() {
            prop_assert!(answer.min_msat <= answer.max_msat && answer.max_msat <= CAP);
        }
    }

    #[test]
    fn garbage_records_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut mc = MissionControl::default();
        let _ = mc.apply_encoded(&bytes);
    }
}

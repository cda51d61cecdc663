//! The pieces of a channel's cost: BOLT 7 fee, Core Lightning's risk fee, fee fuzz, and the
//! success-probability penalty. All in millisatoshi (as `f64` so they add without overflow).

use lnfleet_wire::ShortChannelId;

use crate::liquidity::LiquidityBounds;

/// Blocks per year as `lightning-getroute(7)` counts them (52596), times 100 for the percentage.
const RISK_DIVISOR: f64 = 5_259_600.0;

/// Penalty per nat of `-ln(P)`: a flat part, so unlikely channels cost something even for
/// small payments...
pub(crate) const PROBABILITY_PENALTY_BASE_MSAT: f64 = 10_000.0;
/// ...and a part proportional to the amount (parts per million), so large payments weigh
/// failure more, as they weigh fees more.
pub(crate) const PROBABILITY_PENALTY_PPM: f64 = 1_000.0;

/// BOLT 7: `fee_base_msat + amount_to_forward * fee_proportional_millionths / 1_000_000`,
/// integer division. `None` when it does not fit a `u64`.
pub fn forwarding_fee_msat(amount_msat: u64, fee_base_msat: u32, fee_ppm: u32) -> Option<u64> {
    let proportional = u128::from(amount_msat) * u128::from(fee_ppm) / 1_000_000;
    u64::try_from(proportional)
        .ok()?
        .checked_add(u64::from(fee_base_msat))
}

/// `lightning-getroute(7)`: `risk-fee = amount × blocks-timeout × riskfactor / 5259600`.
pub fn risk_fee_msat(amount_msat: u64, blocks: u32, riskfactor: f64) -> f64 {
    amount_msat as f64 * f64::from(blocks) * riskfactor / RISK_DIVISOR
}

/// Probability that a channel direction can forward `amount_msat`, its liquidity uniform on
/// `[0, capacity]` narrowed to the learned `bounds`: 1 up to the known minimum, 0 above the
/// known maximum, linear in between.
pub fn success_probability(
    amount_msat: u64,
    capacity_msat: u64,
    bounds: Option<LiquidityBounds>,
) -> f64 {
    let (min, max) = match bounds {
        Some(b) => (b.min_msat, b.max_msat.min(capacity_msat)),
        None => (0, capacity_msat),
    };
    if amount_msat <= min {
        1.0
    } else if amount_msat > max || max <= min {
        0.0
    } else {
        (max - amount_msat) as f64 / (max - min) as f64
    }
}

/// `-ln(P)` converted into millisatoshi; infinite when `P` is 0.
pub(crate) fn probability_penalty_msat(amount_msat: u64, probability: f64) -> f64 {
    if probability >= 1.0 {
        return 0.0;
    }
    let weight = PROBABILITY_PENALTY_BASE_MSAT + amount_msat as f64 * PROBABILITY_PENALTY_PPM / 1e6;
    -probability.ln() * weight
}

/// A lower bound of [`probability_penalty_msat`] without the logarithm: `-ln(P) ≥ 1 - P`.
/// It holds after rounding too: for `P` in `[0.5, 1]` the subtraction is exact and the gap
/// `(1 - P)² / 2` exceeds the logarithm's rounding error; below 0.5, `-ln(P) > 0.69 > 1 - P`.
pub(crate) fn probability_penalty_lower_bound_msat(amount_msat: u64, probability: f64) -> f64 {
    if probability >= 1.0 {
        return 0.0;
    }
    let weight = PROBABILITY_PENALTY_BASE_MSAT + amount_msat as f64 * PROBABILITY_PENALTY_PPM / 1e6;
    (1.0 - probability) * weight
}

/// Multiplier in `[1 - fuzz, 1 + fuzz]` for one channel direction, fixed by `seed`: Core
/// Lightning distorts each channel's fee so repeated queries spread over near-equal routes.
pub(crate) fn fuzz_factor(seed: u64, scid: ShortChannelId, direction: u8, fuzz: f64) -> f64 {
    if fuzz == 0.0 {
        return 1.0;
    }
    let bits = splitmix64(seed ^ splitmix64(scid.0 ^ (u64::from(direction) << 63)));
    // 53 high bits → uniform in [0, 1).
    let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
    1.0 + fuzz * (2.0 * unit - 1.0)
}

/// A well-mixed 64-bit hash; enough for fuzz, not for anything adversarial.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

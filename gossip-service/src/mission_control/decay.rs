//! Exponential relaxation in integer arithmetic, so every replica computes the same bits.
//!
//! `decay(d, elapsed, h)` approximates `d · 2^(−elapsed / h)`: exact at whole half-lives
//! (`d >> n`, floored), and linear between two consecutive half-lives:
//! `d_n − (d_n − d_{n+1}) · r / h` with `n = elapsed / h`, `r = elapsed mod h`,
//! `d_n = d >> n`. It is monotone in `elapsed` and never exceeds `d`. No floating point: `powf`
//! is not guaranteed to round the same way on every platform.

/// What is left of a `distance` after `elapsed_ms`, halving every `half_life_ms`.
/// A half-life of zero forgets at once.
pub fn decay(distance: u64, elapsed_ms: u64, half_life_ms: u64) -> u64 {
    if elapsed_ms == 0 {
        return distance;
    }
    if half_life_ms == 0 {
        return 0;
    }
    let halvings = elapsed_ms / half_life_ms;
    if halvings >= 64 {
        return 0;
    }
    let at_n = distance >> halvings;
    let at_next = at_n >> 1;
    let rest = elapsed_ms % half_life_ms;
    // (at_n − at_next) · rest / half_life < at_n − at_next, so this cannot underflow; u128
    // keeps the product exact.
    let drop = (u128::from(at_n - at_next) * u128::from(rest)) / u128::from(half_life_ms);
    at_n - drop as u64
}

#[cfg(test)]
mod tests {
    use super::decay;
    use proptest::prelude::*;

    #[test]
    fn halves_after_each_half_life() {
        assert_eq!(decay(1_000_000, 0, 3_600_000), 1_000_000);
        assert_eq!(decay(1_000_000, 3_600_000, 3_600_000), 500_000);
        assert_eq!(decay(1_000_000, 7_200_000, 3_600_000), 250_000);
        assert_eq!(decay(1_000_000, 1_800_000, 3_600_000), 750_000);
    }

    #[test]
    fn zero_half_life_forgets_at_once() {
        assert_eq!(decay(5, 1, 0), 0);
        assert_eq!(decay(5, 0, 0), 5);
    }

    proptest! {
        #[test]
        fn never_grows_and_is_monotone(d in any::<u64>(), a in any::<u64>(), b in any::<u64>(), h in any::<u64>()) {
            let (early, late) = (a.min(b), a.max(b));
            prop_assert!(decay(d, early, h) <= d);
            prop_assert!(decay(d, late, h) <= decay(d, early, h));
        }
    }
}

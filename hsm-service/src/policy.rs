//! The validating policy: what the HSM refuses to sign, modelled on the Validating Lightning
//! Signer. The edge nodes are not trusted: a compromised one must not be able to make the HSM
//! sign away funds, so every request is checked against the channel's durable state and these
//! limits before any key is used.
//!
//! Every refusal is a [`PolicyViolation`] naming its rule (one of [`rules`]), so operators and
//! tests can tell exactly which check fired.

use crate::channels::{ChannelSetup, CommitmentInfo};

/// The names of the rules, as reported in [`PolicyViolation::rule`].
pub mod rules {
    /// The request names a channel the HSM never created.
    pub const UNKNOWN_CHANNEL: &str = "unknown_channel";
    /// The channel exists but `setup_channel` has not been called yet.
    pub const CHANNEL_NOT_SETUP: &str = "channel_not_setup";
    /// `setup_channel` may run once; the setup is immutable afterwards.
    pub const CHANNEL_ALREADY_SETUP: &str = "channel_already_setup";
    /// A per-commitment secret is released only for a commitment superseded by a validly signed
    /// newer one.
    pub const REVOKE_ONLY_SUPERSEDED: &str = "revoke_only_superseded";
    /// Never sign our own commitment whose secret was released (broadcasting it loses funds).
    pub const NO_SIGN_REVOKED_COMMITMENT: &str = "no_sign_revoked_commitment";
    /// Commitment numbers advance one at a time.
    pub const COMMITMENT_NUMBER_SEQUENCE: &str = "commitment_number_sequence";
    /// We sign the counterparty's commitment n only after it revoked n-2.
    pub const COUNTERPARTY_REVOCATION_MISSING: &str = "counterparty_revocation_missing";
    /// A released counterparty secret must match the point we signed with and the shachain.
    pub const COUNTERPARTY_SECRET_INVALID: &str = "counterparty_secret_invalid";
    pub const HTLC_COUNT_LIMIT: &str = "htlc_count_limit";
    pub const HTLC_VALUE_LIMIT: &str = "htlc_value_limit";
    pub const FEERATE_BOUNDS: &str = "feerate_bounds";
    /// to_local + to_remote + htlcs == funding amount.
    pub const BALANCE_CONSERVATION: &str = "balance_conservation";
    /// A dust limit below BOLT 2's 354 sat floor, or so high that real outputs (ours, or HTLCs)
    /// would be trimmed to fees.
    pub const DUST_LIMIT_BOUNDS: &str = "dust_limit_bounds";
    /// The delay imposed on our outputs is too long (funds locked for too long).
    pub const TO_SELF_DELAY_LIMIT: &str = "to_self_delay_limit";
    /// The counterparty's signature on our commitment does not verify.
    pub const COUNTERPARTY_SIGNATURE_INVALID: &str = "counterparty_signature_invalid";
    /// A counterparty HTLC signature is missing, extra, or does not verify.
    pub const COUNTERPARTY_HTLC_SIGNATURE_INVALID: &str = "counterparty_htlc_signature_invalid";
    /// Mutual close pays only to the upfront scripts, or the ones registered at shutdown.
    pub const MUTUAL_CLOSE_DESTINATION: &str = "mutual_close_destination";
    /// Mutual close amounts must match our balance (minus the fee when we opened) and the funding.
    pub const MUTUAL_CLOSE_AMOUNTS: &str = "mutual_close_amounts";
    /// Mutual close only with no HTLC pending in the latest commitment.
    pub const MUTUAL_CLOSE_PENDING_HTLCS: &str = "mutual_close_pending_htlcs";
    /// Shutdown scripts are registered once and cannot change (nor contradict upfront ones).
    pub const SHUTDOWN_SCRIPTS_IMMUTABLE: &str = "shutdown_scripts_immutable";
    /// No new commitment once we signed our own for broadcast or signed a mutual close.
    pub const CHANNEL_CLOSED: &str = "channel_closed";
}

/// A refused request: the rule that fired and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy rule {rule} violated: {detail}")]
pub struct PolicyViolation {
    pub rule: &'static str,
    pub detail: String,
}

impl PolicyViolation {
    pub fn new(rule: &'static str, detail: impl Into<String>) -> PolicyViolation {
        PolicyViolation {
            rule,
            detail: detail.into(),
        }
    }
}

/// Fails with `rule` unless `ok`.
pub(crate) fn ensure(
    ok: bool,
    rule: &'static str,
    detail: impl FnOnce() -> String,
) -> Result<(), PolicyViolation> {
    if ok {
        Ok(())
    } else {
        let violation = PolicyViolation::new(rule, detail());
        // Amounts and numbers only: no key or secret ever goes into a detail.
        tracing::warn!(rule, detail = %violation.detail, "policy refused a request");
        Err(violation)
    }
}

/// Configurable limits. The defaults follow BOLT 2's protocol maxima and common node defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Most HTLCs in one commitment (both directions).
    pub max_htlc_count: usize,
    /// Most msat in HTLCs in one commitment (both directions).
    pub max_htlc_value_msat: u64,
    pub min_feerate_per_kw: u32,
    pub max_feerate_per_kw: u32,
    /// Longest CSV delay the counterparty may impose on our outputs.
    pub max_to_self_delay: u16,
    /// Largest mutual close fee we accept to pay.
    pub max_mutual_close_fee_sat: u64,
    /// Largest dust limit either side may use.
    pub max_dust_limit_sat: u64,
}

/// BOLT 2: `dust_limit_satoshis` below 354 makes outputs non-standard.
pub const MIN_DUST_LIMIT_SAT: u64 = 354;

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            max_htlc_count: 483 * 2,
            max_htlc_value_msat: 10_000_000_000,
            // 253 sat/kw is the 1 sat/vbyte relay floor.
            min_feerate_per_kw: 253,
            max_feerate_per_kw: 100_000,
            max_to_self_delay: 2016,
            max_mutual_close_fee_sat: 100_000,
            max_dust_limit_sat: 10_000,
        }
    }
}

impl Policy {
    /// Checks a channel setup before it is stored.
    pub fn check_setup(&self, setup: &ChannelSetup) -> Result<(), PolicyViolation> {
        for (side, dust_limit) in [
            ("holder", setup.holder_dust_limit_sat),
            ("counterparty", setup.counterparty_dust_limit_sat),
        ] {
            ensure(
                (MIN_DUST_LIMIT_SAT..=self.max_dust_limit_sat).contains(&dust_limit),
                rules::DUST_LIMIT_BOUNDS,
                || {
                    format!(
                        "{side} dust limit {dust_limit} sat outside [{MIN_DUST_LIMIT_SAT}, {}]",
                        self.max_dust_limit_sat
                    )
                },
            )?;
        }
        ensure(
            setup.counterparty_selected_contest_delay <= self.max_to_self_delay,
            rules::TO_SELF_DELAY_LIMIT,
            || {
                format!(
                    "counterparty imposes {} blocks on our outputs, limit {}",
                    setup.counterparty_selected_contest_delay, self.max_to_self_delay
                )
            },
        )
    }

    /// Checks the semantic content of a commitment (ours or theirs) before it is built.
    pub fn check_commitment(
        &self,
        setup: &ChannelSetup,
        info: &CommitmentInfo,
    ) -> Result<(), PolicyViolation> {
        ensure(
            (self.min_feerate_per_kw..=self.max_feerate_per_kw).contains(&info.feerate_per_kw),
            rules::FEERATE_BOUNDS,
            || {
                format!(
                    "feerate {} sat/kw outside [{}, {}]",
                    info.feerate_per_kw, self.min_feerate_per_kw, self.max_feerate_per_kw
                )
            },
        )?;
        ensure(
            info.htlcs.len() <= self.max_htlc_count,
            rules::HTLC_COUNT_LIMIT,
            || format!("{} htlcs, limit {}", info.htlcs.len(), self.max_htlc_count),
        )?;
        let htlc_total = info
            .htlcs
            .iter()
            .try_fold(0u64, |total, htlc| total.checked_add(htlc.amount_msat));
        ensure(
            htlc_total.is_some_and(|total| total <= self.max_htlc_value_msat),
            rules::HTLC_VALUE_LIMIT,
            || {
                format!(
                    "htlcs total {htlc_total:?} msat, limit {}",
                    self.max_htlc_value_msat
                )
            },
        )?;
        let total = htlc_total
            .and_then(|t| t.checked_add(info.to_holder_msat))
            .and_then(|t| t.checked_add(info.to_counterparty_msat));
        let funding_msat = setup.funding_amount_sat.checked_mul(1000);
        ensure(
            total.is_some() && total == funding_msat,
            rules::BALANCE_CONSERVATION,
            || format!("balances and htlcs total {total:?} msat, funding {funding_msat:?} msat"),
        )
    }
}

#[cfg(test)]
mod tests;

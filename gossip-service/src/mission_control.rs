//! Mission control: liquidity bounds of channel directions learned from payment outcomes
//! (topic `ln.payments.outcomes`), after LND's mission control, LDK's probabilistic scorer and
//! Pickhardt–Richter's "optimally reliable payment flows".
//!
//! # Update rules (per outcome, per hop `(scid, direction)` carrying `amount`)
//! - **Success**: every hop forwarded its amount, so its lower bound rises to `amount`.
//! - **Failure at hop `i`**: hops `0..i` forwarded theirs (lower bounds rise). What hop `i`
//!   teaches depends on the BOLT 4 code ([`FailureKind`]):
//!   - `temporary_channel_failure` (liquidity): upper bound of hop `i` drops to `amount − 1`;
//!   - `channel_disabled`, `unknown_next_peer`, `permanent_channel_failure`: the direction is
//!     failing, upper bound 0 (relaxing like any other bound);
//!   - final-node codes (`incorrect_or_unknown_payment_details`, `mpp_timeout`, …): the
//!     recipient answered, so hop `i` forwarded too and its lower bound rises;
//!   - anything else (policy codes such as `fee_insufficient`, node failures): nothing learned
//!     about hop `i`.
//!
//! # Relaxation
//! A bound is stored with the time it was learned, the outcome's `at_ms` (the edge's clock),
//! and is relaxed at query time toward the prior `[0, capacity]`: the distance to the prior
//! halves every `half_life_ms` (default one hour), see [`decay::decay`]:
//! - `min(now) = decay(min_learned, now − t_min)`
//! - `max(now) = capacity − decay(capacity − max_learned, now − t_max)`
//!
//! Nothing reads the local clock: knowledge is a function of the outcomes applied, in the
//! order applied, and the `now_ms` the caller passes, so replicas that consume the same log in
//! the same order answer identically.
//!
//! # Combining with what is already known
//! - A new lower bound `l` at `t` is folded with the stored one by decaying the older of the
//!   two to the newer's time and keeping the larger.
//! - A new upper bound replaces the stored one when it is newer (or as new and tighter): the
//!   relaxation target (capacity) is unknown here, so tightness at another time is undecidable.
//! - Contradictions are settled in favour of the newer observation: a newer upper bound below
//!   the stored lower bound pulls the lower bound down to it; a newer lower bound above the
//!   stored upper bound's learned value drops the upper bound.
//!
//! Memory is bounded by `max_directions`: when full, the direction learned longest ago is
//! forgotten (deterministically: oldest `at_ms`, then smallest `(scid, direction)`).

pub mod decay;
pub mod feed;

use std::collections::{BTreeSet, HashMap};

use lnfleet_actors::contracts::payment::{failure_code, OutcomeResult, PaymentOutcome};
use lnfleet_actors::contracts::{self, ContractError};
use lnfleet_wire::ShortChannelId;

use crate::liquidity::{LiquidityBounds, LiquidityView};

/// One hour: liquidity moves as payments flow, so what an attempt taught fades within hours.
pub const DEFAULT_HALF_LIFE_MS: u64 = 60 * 60 * 1000;
/// About 48 bytes of state each: 1M directions is under 100 MB with the index.
pub const DEFAULT_MAX_DIRECTIONS: usize = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissionControlConfig {
    /// The distance of a learned bound to the prior halves every `half_life_ms`.
    pub half_life_ms: u64,
    /// At most this many channel directions are remembered.
    pub max_directions: usize,
}

impl Default for MissionControlConfig {
    fn default() -> Self {
        MissionControlConfig {
            half_life_ms: DEFAULT_HALF_LIFE_MS,
            max_directions: DEFAULT_MAX_DIRECTIONS,
        }
    }
}

/// Why an outcome taught nothing. Outcomes come from other processes, so they are checked
/// rather than trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoredOutcome {
    #[error("outcome has an empty route")]
    EmptyRoute,
    #[error("erring hop {erring_hop} is outside a route of {route_len} hops")]
    ErringHopOutOfRange { erring_hop: u32, route_len: usize },
    #[error("hop {hop} has direction {direction} (expected 0 or 1)")]
    InvalidDirection { hop: usize, direction: u8 },
}

/// Why an encoded outcome from the topic was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Malformed(#[from] ContractError),
    #[error(transparent)]
    Ignored(#[from] IgnoredOutcome),
}

/// What a failure code says about the channel at the erring hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The channel could not carry the amount now.
    Liquidity,
    /// The channel cannot forward anything now.
    Unavailable,
    /// The recipient answered: the channel carried the amount.
    Recipient,
    /// Policy or node trouble: nothing about the channel's liquidity.
    Other,
}

impl FailureKind {
    pub fn of(code: u16) -> FailureKind {
        use failure_code::*;
        match code {
            TEMPORARY_CHANNEL_FAILURE => FailureKind::Liquidity,
            CHANNEL_DISABLED | UNKNOWN_NEXT_PEER | PERMANENT_CHANNEL_FAILURE => {
                FailureKind::Unavailable
            }
            INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS
            | FINAL_INCORRECT_CLTV_EXPIRY
            | FINAL_INCORRECT_HTLC_AMOUNT
            | MPP_TIMEOUT => FailureKind::Recipient,
            _ => FailureKind::Other,
        }
    }
}

/// Counters for metrics (`lnfleet_gossip_mission_control_*_total`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MissionControlCounters {
    pub outcomes_applied: u64,
    pub outcomes_ignored: u64,
    pub outcomes_malformed: u64,
    pub directions_evicted: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Learned {
    value_msat: u64,
    at_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct DirectionKnowledge {
    lower: Option<Learned>,
    upper: Option<Learned>,
}

impl DirectionKnowledge {
    fn last_learned_ms(&self) -> u64 {
        let lower = self.lower.map_or(0, |l| l.at_ms);
        let upper = self.upper.map_or(0, |u| u.at_ms);
        lower.max(upper)
    }
}

type DirectionKey = (u64, u8);

/// Liquidity knowledge learned from payment outcomes. See the module docs for the rules.
#[derive(Debug, Clone)]
pub struct MissionControl {
    config: MissionControlConfig,
    directions: HashMap<DirectionKey, DirectionKnowledge>,
    /// `(last learned at_ms, scid, direction)` of every remembered direction, oldest first.
    by_age: BTreeSet<(u64, u64, u8)>,
    counters: MissionControlCounters,
}

impl Default for MissionControl {
    fn default() -> Self {
        MissionControl::new(MissionControlConfig::default())
    }
}

impl MissionControl {
    pub fn new(config: MissionControlConfig) -> Self {
        MissionControl {
            config,
            directions: HashMap::new(),
            by_age: BTreeSet::new(),
            counters: MissionControlCounters::default(),
        }
    }

    pub fn config(&self) -> MissionControlConfig {
        self.config
    }

    pub fn counters(&self) -> MissionControlCounters {
        self.counters
    }

    /// How many channel directions are remembered.
    pub fn len(&self) -> usize {
        self.directions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.directions.is_empty()
    }

    /// Decodes a record of `ln.payments.outcomes` and applies it.
    pub fn apply_encoded(&mut self, bytes: &[u8]) -> Result<(), ApplyError> {
        match contracts::decode::<PaymentOutcome>(bytes) {
            Ok(outcome) => Ok(self.apply(&outcome)?),
            Err(err) => {
                self.counters.outcomes_malformed += 1;
                Err(err.into())
            }
        }
    }

    /// Learns from one outcome. An outcome that fails validation changes nothing.
    pub fn apply(&mut self, outcome: &PaymentOutcome) -> Result<(), IgnoredOutcome> {
        if let Err(reason) = validate(outcome) {
            self.counters.outcomes_ignored += 1;
            return Err(reason);
        }
        let at_ms = outcome.at_ms;
        // `validate` checked erring_hop < route.len(), so the conversion and ranges hold.
        let (forwarded, erring) = match outcome.result {
            OutcomeResult::Success => (outcome.route.len(), None),
            OutcomeResult::Failure { erring_hop, code } => {
                let i = erring_hop as usize;
                match FailureKind::of(code) {
                    FailureKind::Recipient => (i + 1, None),
                    FailureKind::Other => (i, None),
                    FailureKind::Liquidity => (i, Some((i, false))),
                    FailureKind::Unavailable => (i, Some((i, true))),
                }
            }
        };
        for hop in outcome.route.iter().take(forwarded) {
            self.learn_lower((hop.scid, hop.direction), hop.amount_msat, at_ms);
        }
        if let Some((i, unavailable)) = erring {
            if let Some(hop) = outcome.route.get(i) {
                let upper = if unavailable {
                    0
                } else {
                    hop.amount_msat.saturating_sub(1)
                };
                self.learn_upper((hop.scid, hop.direction), upper, at_ms);
            }
        }
        self.counters.outcomes_applied += 1;
        Ok(())
    }

    fn learn_lower(&mut self, key: DirectionKey, amount_msat: u64, at_ms: u64) {
        let half_life = self.config.half_life_ms;
        self.update(key, |known| {
            let new = Learned {
                value_msat: amount_msat,
                at_ms,
            };
            known.lower = Some(match known.lower {
                None => new,
                Some(old) => fold_lower(old, new, half_life),
            });
            if let Some(upper) = known.upper {
                if upper.at_ms <= at_ms && upper.value_msat < amount_msat {
                    known.upper = None;
                }
            }
        });
    }

    fn learn_upper(&mut self, key: DirectionKey, value_msat: u64, at_ms: u64) {
        let half_life = self.config.half_life_ms;
        self.update(key, |known| {
            let replaces = match known.upper {
                None => true,
                Some(old) => {
                    (at_ms, std::cmp::Reverse(value_msat))
                        > (old.at_ms, std::cmp::Reverse(old.value_msat))
                }
            };
            if !replaces {
                return;
            }
            known.upper = Some(Learned { value_msat, at_ms });
            if let Some(lower) = known.lower {
                let lower_then = lower_at(lower, at_ms, half_life);
                if lower.at_ms <= at_ms && lower_then > value_msat {
                    known.lower = Some(Learned { value_msat, at_ms });
                }
            }
        });
    }

    /// Applies `change` to one direction, keeping the age index and the memory cap.
    fn update(&mut self, key: DirectionKey, change: impl FnOnce(&mut DirectionKnowledge)) {
        let mut known = match self.directions.remove(&key) {
            Some(known) => {
                self.by_age.remove(&(known.last_learned_ms(), key.0, key.1));
                known
            }
            None => DirectionKnowledge::default(),
        };
        change(&mut known);
        while self.directions.len() >= self.config.max_directions.max(1) {
            let Some(oldest) = self.by_age.pop_first() else {
                break;
            };
            self.directions.remove(&(oldest.1, oldest.2));
            self.counters.directions_evicted += 1;
        }
        self.by_age.insert((known.last_learned_ms(), key.0, key.1));
        self.directions.insert(key, known);
    }

    /// The bounds of one direction at `now_ms`, relaxed toward `[0, capacity_msat]`; `None`
    /// when nothing was learned about it.
    pub fn bounds_at(
        &self,
        scid: ShortChannelId,
        direction: u8,
        now_ms: u64,
        capacity_msat: u64,
    ) -> Option<LiquidityBounds> {
        let known = self.directions.get(&(scid.0, direction))?;
        let half_life = self.config.half_life_ms;
        let min = known
            .lower
            .map_or(0, |l| lower_at(l, now_ms, half_life))
            .min(capacity_msat);
        let max = known.upper.map_or(capacity_msat, |u| {
            let learned = u.value_msat.min(capacity_msat);
            capacity_msat - decay::decay(capacity_msat - learned, elapsed(u, now_ms), half_life)
        });
        // Relaxation moves the bounds apart, and learning settles contradictions, so this only
        // guards a capacity smaller than what went through: trust the newer observation.
        let lower_is_newer = match (known.lower, known.upper) {
            (Some(l), Some(u)) => l.at_ms > u.at_ms,
            _ => known.lower.is_some(),
        };
        let (min_msat, max_msat) = match (min > max, lower_is_newer) {
            (false, _) => (min, max),
            (true, true) => (min, min),
            (true, false) => (max, max),
        };
        Some(LiquidityBounds { min_msat, max_msat })
    }

    /// A [`LiquidityView`] of this knowledge at `now_ms`; `capacity` gives a direction's
    /// capacity in msat (from the graph), `None` for a channel it does not know.
    pub fn view<F>(&self, now_ms: u64, capacity: F) -> MissionControlView<'_, F>
    where
        F: Fn(ShortChannelId, u8) -> Option<u64>,
    {
        MissionControlView {
            mission_control: self,
            now_ms,
            capacity,
        }
    }
}

/// Mission control's knowledge as of `now_ms`, for one route computation.
pub struct MissionControlView<'a, F> {
    pub mission_control: &'a MissionControl,
    pub now_ms: u64,
    pub capacity: F,
}

impl<F> LiquidityView for MissionControlView<'_, F>
where
    F: Fn(ShortChannelId, u8) -> Option<u64>,
{
    fn bounds(&self, scid: ShortChannelId, direction: u8) -> Option<LiquidityBounds> {
        let capacity = (self.capacity)(scid, direction)?;
        self.mission_control
            .bounds_at(scid, direction, self.now_ms, capacity)
    }
}

fn validate(outcome: &PaymentOutcome) -> Result<(), IgnoredOutcome> {
    if outcome.route.is_empty() {
        return Err(IgnoredOutcome::EmptyRoute);
    }
    if let Some((hop, h)) = outcome
        .route
        .iter()
        .enumerate()
        .find(|(_, h)| h.direction > 1)
    {
        return Err(IgnoredOutcome::InvalidDirection {
            hop,
            direction: h.direction,
        });
    }
    if let OutcomeResult::Failure { erring_hop, .. } = outcome.result {
        if usize::try_from(erring_hop).map_or(true, |i| i >= outcome.route.len()) {
            return Err(IgnoredOutcome::ErringHopOutOfRange {
                erring_hop,
                route_len: outcome.route.len(),
            });
        }
    }
    Ok(())
}

/// Time since `learned`, zero when `now_ms` is before it (edges' clocks differ).
fn elapsed(learned: Learned, now_ms: u64) -> u64 {
    now_ms.saturating_sub(learned.at_ms)
}

fn lower_at(lower: Learned, now_ms: u64, half_life_ms: u64) -> u64 {
    decay::decay(lower.value_msat, elapsed(lower, now_ms), half_life_ms)
}

/// Two lower bounds: the older one decays to the newer's time, and the larger wins.
fn fold_lower(old: Learned, new: Learned, half_life_ms: u64) -> Learned {
    let (older, newer) = if new.at_ms >= old.at_ms {
        (old, new)
    } else {
        (new, old)
    };
    Learned {
        value_msat: lower_at(older, newer.at_ms, half_life_ms).max(newer.value_msat),
        at_ms: newer.at_ms,
    }
}

#[cfg(test)]
mod tests;

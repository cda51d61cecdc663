//! What the router may know about a channel direction's liquidity beyond its capacity: the
//! bounds mission control learned from payment outcomes. The router turns them into a success
//! probability (uniform on the remaining interval); without knowledge it assumes uniform on
//! `[0, capacity]`.

use lnfleet_wire::ShortChannelId;

/// Known liquidity bounds of one channel direction, in millisatoshi: the direction can forward
/// at least `min_msat` and at most `max_msat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiquidityBounds {
    pub min_msat: u64,
    pub max_msat: u64,
}

/// A read-only view of learned liquidity, as of now.
pub trait LiquidityView {
    fn bounds(&self, scid: ShortChannelId, direction: u8) -> Option<LiquidityBounds>;
}

/// No knowledge: every channel direction is uniform on `[0, capacity]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLiquidityInfo;

impl LiquidityView for NoLiquidityInfo {
    fn bounds(&self, _scid: ShortChannelId, _direction: u8) -> Option<LiquidityBounds> {
        None
    }
}

//! BOLT 9 feature bits: the [`Feature`] table and the [`Features`] bit set carried by `init`,
//! `node_announcement`, `channel_announcement` and `channel_type`.
//!
//! Bit 0 is the least significant bit of the *last* byte on the wire. Features come in pairs:
//! the even bit means "required", the odd bit "optional" ("it's ok to be odd").

use std::fmt;

/// Every feature in the BOLT 9 table, in bit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    DataLossProtect,
    UpfrontShutdownScript,
    GossipQueries,
    VarOnionOptin,
    GossipQueriesEx,
    StaticRemoteKey,
    PaymentSecret,
    BasicMpp,
    SupportLargeChannel,
    Anchors,
    RouteBlinding,
    ShutdownAnySegwit,
    DualFund,
    Quiesce,
    AttributionData,
    OnionMessages,
    ProvideStorage,
    ChannelType,
    ScidAlias,
    PaymentMetadata,
    Zeroconf,
    SimpleClose,
    Splice,
}

impl Feature {
    /// The whole table, in bit order.
    pub const ALL: [Feature; 23] = [
        Feature::DataLossProtect,
        Feature::UpfrontShutdownScript,
        Feature::GossipQueries,
        Feature::VarOnionOptin,
        Feature::GossipQueriesEx,
        Feature::StaticRemoteKey,
        Feature::PaymentSecret,
        Feature::BasicMpp,
        Feature::SupportLargeChannel,
        Feature::Anchors,
        Feature::RouteBlinding,
        Feature::ShutdownAnySegwit,
        Feature::DualFund,
        Feature::Quiesce,
        Feature::AttributionData,
        Feature::OnionMessages,
        Feature::ProvideStorage,
        Feature::ChannelType,
        Feature::ScidAlias,
        Feature::PaymentMetadata,
        Feature::Zeroconf,
        Feature::SimpleClose,
        Feature::Splice,
    ];

    /// The even ("compulsory") bit of the pair.
    pub const fn required_bit(self) -> u32 {
        match self {
            Feature::DataLossProtect => 0,
            Feature::UpfrontShutdownScript => 4,
            Feature::GossipQueries => 6,
            Feature::VarOnionOptin => 8,
            Feature::GossipQueriesEx => 10,
            Feature::StaticRemoteKey => 12,
            Feature::PaymentSecret => 14,
            Feature::BasicMpp => 16,
            Feature::SupportLargeChannel => 18,
            Feature::Anchors => 22,
            Feature::RouteBlinding => 24,
            Feature::ShutdownAnySegwit => 26,
            Feature::DualFund => 28,
            Feature::Quiesce => 34,
            Feature::AttributionData => 36,
            Feature::OnionMessages => 38,
            Feature::ProvideStorage => 42,
            Feature::ChannelType => 44,
            Feature::ScidAlias => 46,
            Feature::PaymentMetadata => 48,
            Feature::Zeroconf => 50,
            Feature::SimpleClose => 60,
            Feature::Splice => 62,
        }
    }

    /// The odd ("optional") bit of the pair.
    pub const fn optional_bit(self) -> u32 {
        self.required_bit() + 1
    }

    /// The name the spec uses.
    pub const fn name(self) -> &'static str {
        match self {
            Feature::DataLossProtect => "option_data_loss_protect",
            Feature::UpfrontShutdownScript => "option_upfront_shutdown_script",
            Feature::GossipQueries => "gossip_queries",
            Feature::VarOnionOptin => "var_onion_optin",
            Feature::GossipQueriesEx => "gossip_queries_ex",
            Feature::StaticRemoteKey => "option_static_remotekey",
            Feature::PaymentSecret => "payment_secret",
            Feature::BasicMpp => "basic_mpp",
            Feature::SupportLargeChannel => "option_support_large_channel",
            Feature::Anchors => "option_anchors",
            Feature::RouteBlinding => "option_route_blinding",
            Feature::ShutdownAnySegwit => "option_shutdown_anysegwit",
            Feature::DualFund => "option_dual_fund",
            Feature::Quiesce => "option_quiesce",
            Feature::AttributionData => "option_attribution_data",
            Feature::OnionMessages => "option_onion_messages",
            Feature::ProvideStorage => "option_provide_storage",
            Feature::ChannelType => "option_channel_type",
            Feature::ScidAlias => "option_scid_alias",
            Feature::PaymentMetadata => "option_payment_metadata",
            Feature::Zeroconf => "option_zeroconf",
            Feature::SimpleClose => "option_simple_close",
            Feature::Splice => "option_splice",
        }
    }

    /// Direct dependencies, from the spec's Dependencies column.
    pub const fn dependencies(self) -> &'static [Feature] {
        match self {
            Feature::BasicMpp => &[Feature::PaymentSecret],
            Feature::Zeroconf => &[Feature::ScidAlias],
            Feature::SimpleClose => &[Feature::ShutdownAnySegwit],
            _ => &[],
        }
    }

    /// The spec marks these ASSUMED: every node has them, the bits carry no information.
    pub const fn is_assumed(self) -> bool {
        matches!(
            self,
            Feature::DataLossProtect
                | Feature::VarOnionOptin
                | Feature::StaticRemoteKey
                | Feature::PaymentSecret
                | Feature::ChannelType
        )
    }

    /// The feature owning `bit` (even or odd), if the table has one.
    pub fn from_bit(bit: u32) -> Option<Feature> {
        let even = bit & !1;
        Feature::ALL.into_iter().find(|f| f.required_bit() == even)
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The highest bit a `u16`-length-prefixed feature field can hold.
pub const MAX_BIT: u32 = u16::MAX as u32 * 8 - 1;

/// A feature bit set, stored exactly as on the wire: big-endian bytes, bit 0 in the last byte.
///
/// Bytes read with [`Features::from_wire_bytes`] are kept as received, leading zero bytes
/// included, so a signed `node_announcement` re-encodes to the bytes its signature covers.
/// Equality and hashing look only at which bits are set. Every mutation keeps the vector minimal
/// when it has to grow it.
#[derive(Debug, Clone, Default)]
pub struct Features {
    bytes: Vec<u8>,
}

impl Features {
    /// No bits set.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_wire_bytes(bytes: &[u8]) -> Self {
        Features {
            bytes: bytes.to_vec(),
        }
    }

    /// The bytes to put on the wire (as received, for a parsed set; minimal for a built one).
    pub fn to_wire_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    pub fn as_wire_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The shortest encoding of the same bits (no leading zero bytes).
    pub fn minimal_wire_bytes(&self) -> &[u8] {
        let first_nonzero = self
            .bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(self.bytes.len());
        &self.bytes[first_nonzero..]
    }

    /// True when no bit is set.
    pub fn is_empty(&self) -> bool {
        self.minimal_wire_bytes().is_empty()
    }

    pub fn has_bit(&self, bit: u32) -> bool {
        let byte_from_end = (bit / 8) as usize;
        if byte_from_end >= self.bytes.len() {
            return false;
        }
        let index = self.bytes.len() - 1 - byte_from_end;
        self.bytes
            .get(index)
            .is_some_and(|b| b & (1 << (bit % 8)) != 0)
    }

    /// Sets one bit, growing the vector at the front as needed. Bits above [`MAX_BIT`] cannot be
    /// sent and are refused (a programming error, not a wire condition).
    pub fn set_bit(&mut self, bit: u32) {
        debug_assert!(bit <= MAX_BIT, "feature bit {bit} cannot be encoded");
        if bit > MAX_BIT {
            return;
        }
        let byte_from_end = (bit / 8) as usize;
        if byte_from_end >= self.bytes.len() {
            let grow = byte_from_end + 1 - self.bytes.len();
            self.bytes.splice(0..0, std::iter::repeat_n(0, grow));
        }
        let index = self.bytes.len() - 1 - byte_from_end;
        if let Some(b) = self.bytes.get_mut(index) {
            *b |= 1 << (bit % 8);
        }
    }

    /// Clears one bit, then drops leading zero bytes.
    pub fn clear_bit(&mut self, bit: u32) {
        let byte_from_end = (bit / 8) as usize;
        if byte_from_end >= self.bytes.len() {
            return;
        }
        let index = self.bytes.len() - 1 - byte_from_end;
        if let Some(b) = self.bytes.get_mut(index) {
            *b &= !(1 << (bit % 8));
        }
        self.bytes = self.minimal_wire_bytes().to_vec();
    }

    /// Sets the even bit and clears the odd one (the spec forbids setting both).
    pub fn set_required(&mut self, feature: Feature) {
        self.clear_bit(feature.optional_bit());
        self.set_bit(feature.required_bit());
    }

    /// Sets the odd bit and clears the even one.
    pub fn set_optional(&mut self, feature: Feature) {
        self.clear_bit(feature.required_bit());
        self.set_bit(feature.optional_bit());
    }

    /// Builder form of [`Features::set_required`].
    pub fn with_required(mut self, feature: Feature) -> Self {
        self.set_required(feature);
        self
    }

    /// Builder form of [`Features::set_optional`].
    pub fn with_optional(mut self, feature: Feature) -> Self {
        self.set_optional(feature);
        self
    }

    /// Either bit of the pair is set.
    pub fn supports(&self, feature: Feature) -> bool {
        self.has_bit(feature.required_bit()) || self.has_bit(feature.optional_bit())
    }

    /// The even bit is set (if both are set, the spec says treat it as required).
    pub fn requires(&self, feature: Feature) -> bool {
        self.has_bit(feature.required_bit())
    }

    /// Bitwise OR, as `init` asks for `globalfeatures | features`. The result is minimal.
    pub fn union(&self, other: &Features) -> Features {
        let a = self.minimal_wire_bytes();
        let b = other.minimal_wire_bytes();
        let len = a.len().max(b.len());
        // Right-align both (bit 0 is at the end) and OR byte by byte.
        let padded = |v: &[u8]| std::iter::repeat_n(0u8, len - v.len()).chain(v.to_vec());
        Features {
            bytes: padded(a).zip(padded(b)).map(|(x, y)| x | y).collect(),
        }
    }

    /// Set bits, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.bytes
            .iter()
            .rev()
            .enumerate()
            .flat_map(|(byte_from_end, byte)| {
                (0..8u32)
                    .filter(move |i| byte & (1 << i) != 0)
                    .map(move |i| byte_from_end as u32 * 8 + i)
            })
    }

    /// Even bits set for which the [`Feature`] table has no entry.
    pub fn unknown_required_bits(&self) -> Vec<u32> {
        self.iter()
            .filter(|bit| bit % 2 == 0 && Feature::from_bit(*bit).is_none())
            .collect()
    }

    /// The first bit this (peer's) set requires that `understood` does not cover, if any.
    ///
    /// A peer setting bit `2k` requires feature `k`; we understand it when `understood` has
    /// either bit of that pair. Odd bits never require anything.
    pub fn first_unknown_required(&self, understood: &Features) -> Option<u32> {
        self.iter()
            .filter(|bit| bit % 2 == 0)
            .find(|bit| !understood.has_bit(*bit) && !understood.has_bit(bit + 1))
    }

    /// `(feature, dependency)` pairs where a set feature lacks a (transitive) dependency.
    pub fn missing_dependencies(&self) -> Vec<(Feature, Feature)> {
        let mut missing = Vec::new();
        for feature in Feature::ALL.into_iter().filter(|f| self.supports(*f)) {
            for dep in transitive_dependencies(feature) {
                if !self.supports(dep) {
                    missing.push((feature, dep));
                }
            }
        }
        missing
    }
}

/// Why a peer's feature set obliges us to close the connection (BOLT 1, `init` receiver rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeatureIncompatibility {
    #[error("peer requires feature bit {0}, which we do not understand")]
    UnknownRequired(u32),
    #[error("peer sets {0} without its dependency {1}")]
    MissingDependency(Feature, Feature),
}

impl Features {
    /// Applies the `init` receiver rules to a peer's combined features: every even bit must be
    /// understood by us, and every known feature must come with its dependencies.
    pub fn check_peer(&self, understood: &Features) -> Result<(), FeatureIncompatibility> {
        if let Some(bit) = self.first_unknown_required(understood) {
            return Err(FeatureIncompatibility::UnknownRequired(bit));
        }
        match self.missing_dependencies().first() {
            Some((feature, dep)) => Err(FeatureIncompatibility::MissingDependency(*feature, *dep)),
            None => Ok(()),
        }
    }
}

/// All dependencies of `feature`, following the chain; the table is acyclic.
fn transitive_dependencies(feature: Feature) -> Vec<Feature> {
    let mut out: Vec<Feature> = Vec::new();
    let mut todo: Vec<Feature> = feature.dependencies().to_vec();
    while let Some(dep) = todo.pop() {
        if !out.contains(&dep) {
            out.push(dep);
            todo.extend_from_slice(dep.dependencies());
        }
    }
    out.sort();
    out
}

impl PartialEq for Features {
    fn eq(&self, other: &Self) -> bool {
        self.minimal_wire_bytes() == other.minimal_wire_bytes()
    }
}

impl Eq for Features {}

impl std::hash::Hash for Features {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.minimal_wire_bytes().hash(state);
    }
}

impl FromIterator<u32> for Features {
    fn from_iter<T: IntoIterator<Item = u32>>(bits: T) -> Self {
        let mut features = Features::new();
        for bit in bits {
            features.set_bit(bit);
        }
        features
    }
}

/// Names with `(req)`/`(opt)`, lowest bit first: `payment_secret(req),unknown_101(opt)`.
impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, bit) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let kind = if bit % 2 == 0 { "req" } else { "opt" };
            match Feature::from_bit(bit) {
                Some(feature) => write!(f, "{}({kind})", feature.name())?,
                None => write!(f, "unknown_{bit}({kind})")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

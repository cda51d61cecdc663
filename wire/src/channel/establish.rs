//! Channel establishment v1: `open_channel`, `accept_channel`, `funding_created`,
//! `funding_signed`, `channel_ready` (BOLT 2, "Channel Establishment v1").

use secp256k1::ecdsa::Signature;
use secp256k1::PublicKey;

use super::{impl_has_channel_id, read_extension, take_record, write_extension};
use crate::codec::{
    ChainHash, ChannelId, DecodeError, Reader, ShortChannelId, WireMessage, WriteExt,
};
use crate::tlv::TlvStream;

/// A `channel_type`: a feature bitmap (big-endian, bit 0 is the low bit of the last byte),
/// kept exactly as received so the message re-encodes byte for byte even if it is not minimal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ChannelType(Vec<u8>);

impl ChannelType {
    pub const STATIC_REMOTEKEY: usize = 12;
    pub const ANCHORS: usize = 22;
    pub const SCID_ALIAS: usize = 46;
    pub const ZEROCONF: usize = 50;

    /// Wraps the bytes as they appear on the wire.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        ChannelType(bytes)
    }

    /// The smallest bitmap with exactly `bits` set (what a sender MUST use).
    pub fn from_bits(bits: &[usize]) -> Self {
        let len = bits.iter().map(|b| b / 8 + 1).max().unwrap_or(0);
        let mut bytes = vec![0u8; len];
        for &bit in bits {
            // `len` covers every bit, so the index is in range.
            let index = len - 1 - bit / 8;
            if let Some(byte) = bytes.get_mut(index) {
                *byte |= 1 << (bit % 8);
            }
        }
        ChannelType(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn has_bit(&self, bit: usize) -> bool {
        let from_end = bit / 8;
        from_end < self.0.len()
            && self
                .0
                .get(self.0.len() - 1 - from_end)
                .is_some_and(|byte| byte & (1 << (bit % 8)) != 0)
    }

    /// The set bits, lowest first.
    pub fn bits(&self) -> Vec<usize> {
        (0..self.0.len() * 8).filter(|&b| self.has_bit(b)).collect()
    }

    /// No leading zero byte (the spec's "smallest bitmap possible").
    pub fn is_minimal(&self) -> bool {
        self.0.first() != Some(&0)
    }

    /// One of the types BOLT 2 defines: `static_remotekey`, optionally with `anchors`, each
    /// optionally with `scid_alias` and/or `zeroconf`, in minimal form.
    pub fn is_defined(&self) -> bool {
        let optional = [Self::ANCHORS, Self::SCID_ALIAS, Self::ZEROCONF];
        self.is_minimal()
            && self.has_bit(Self::STATIC_REMOTEKEY)
            && self
                .bits()
                .iter()
                .all(|b| *b == Self::STATIC_REMOTEKEY || optional.contains(b))
    }
}

/// The `open_channel_tlvs` / `accept_channel_tlvs` records.
const UPFRONT_SHUTDOWN_SCRIPT: u64 = 0;
const CHANNEL_TYPE: u64 = 1;

/// The TLVs shared by `open_channel` and `accept_channel`.
struct OpeningTlvs {
    upfront_shutdown_script: Option<Vec<u8>>,
    channel_type: Option<ChannelType>,
    extra_tlvs: TlvStream,
}

impl OpeningTlvs {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut stream = read_extension(r, &[UPFRONT_SHUTDOWN_SCRIPT, CHANNEL_TYPE])?;
        Ok(OpeningTlvs {
            upfront_shutdown_script: stream.take(UPFRONT_SHUTDOWN_SCRIPT),
            channel_type: stream.take(CHANNEL_TYPE).map(ChannelType),
            extra_tlvs: stream,
        })
    }

    fn write(
        out: &mut Vec<u8>,
        upfront_shutdown_script: &Option<Vec<u8>>,
        channel_type: &Option<ChannelType>,
        extra_tlvs: &TlvStream,
    ) {
        let known = [
            upfront_shutdown_script
                .clone()
                .map(|s| (UPFRONT_SHUTDOWN_SCRIPT, s)),
            channel_type.clone().map(|t| (CHANNEL_TYPE, t.0)),
        ];
        write_extension(out, extra_tlvs, known.into_iter().flatten());
    }
}

/// `open_channel` (type 32).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenChannel {
    pub chain_hash: ChainHash,
    pub temporary_channel_id: ChannelId,
    pub funding_satoshis: u64,
    pub push_msat: u64,
    pub dust_limit_satoshis: u64,
    pub max_htlc_value_in_flight_msat: u64,
    pub channel_reserve_satoshis: u64,
    pub htlc_minimum_msat: u64,
    pub feerate_per_kw: u32,
    pub to_self_delay: u16,
    pub max_accepted_htlcs: u16,
    pub funding_pubkey: PublicKey,
    pub revocation_basepoint: PublicKey,
    pub payment_basepoint: PublicKey,
    pub delayed_payment_basepoint: PublicKey,
    pub htlc_basepoint: PublicKey,
    pub first_per_commitment_point: PublicKey,
    pub channel_flags: u8,
    /// TLV 0 `shutdown_scriptpubkey`; `Some(vec![])` is the explicit "no upfront script".
    pub upfront_shutdown_script: Option<Vec<u8>>,
    /// TLV 1. Receivers MUST fail the channel when it is missing.
    pub channel_type: Option<ChannelType>,
    pub extra_tlvs: TlvStream,
}

impl OpenChannel {
    /// Bit 0 of `channel_flags`; the other bits are undefined and ignored.
    pub const ANNOUNCE_CHANNEL: u8 = 1;

    pub fn announce_channel(&self) -> bool {
        self.channel_flags & Self::ANNOUNCE_CHANNEL != 0
    }
}

impl WireMessage for OpenChannel {
    const TYPE: u16 = 32;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.chain_hash.0);
        out.put_bytes(&self.temporary_channel_id.0);
        out.put_u64(self.funding_satoshis);
        out.put_u64(self.push_msat);
        out.put_u64(self.dust_limit_satoshis);
        out.put_u64(self.max_htlc_value_in_flight_msat);
        out.put_u64(self.channel_reserve_satoshis);
        out.put_u64(self.htlc_minimum_msat);
        out.put_u32(self.feerate_per_kw);
        out.put_u16(self.to_self_delay);
        out.put_u16(self.max_accepted_htlcs);
        out.put_pubkey(&self.funding_pubkey);
        out.put_pubkey(&self.revocation_basepoint);
        out.put_pubkey(&self.payment_basepoint);
        out.put_pubkey(&self.delayed_payment_basepoint);
        out.put_pubkey(&self.htlc_basepoint);
        out.put_pubkey(&self.first_per_commitment_point);
        out.put_u8(self.channel_flags);
        OpeningTlvs::write(
            out,
            &self.upfront_shutdown_script,
            &self.channel_type,
            &self.extra_tlvs,
        );
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain_hash = r.read_chain_hash()?;
        let temporary_channel_id = r.read_channel_id()?;
        let funding_satoshis = r.read_u64()?;
        let push_msat = r.read_u64()?;
        let dust_limit_satoshis = r.read_u64()?;
        let max_htlc_value_in_flight_msat = r.read_u64()?;
        let channel_reserve_satoshis = r.read_u64()?;
        let htlc_minimum_msat = r.read_u64()?;
        let feerate_per_kw = r.read_u32()?;
        let to_self_delay = r.read_u16()?;
        let max_accepted_htlcs = r.read_u16()?;
        let funding_pubkey = r.read_pubkey()?;
        let revocation_basepoint = r.read_pubkey()?;
        let payment_basepoint = r.read_pubkey()?;
        let delayed_payment_basepoint = r.read_pubkey()?;
        let htlc_basepoint = r.read_pubkey()?;
        let first_per_commitment_point = r.read_pubkey()?;
        let channel_flags = r.read_u8()?;
        let tlvs = OpeningTlvs::read(r)?;
        Ok(OpenChannel {
            chain_hash,
            temporary_channel_id,
            funding_satoshis,
            push_msat,
            dust_limit_satoshis,
            max_htlc_value_in_flight_msat,
            channel_reserve_satoshis,
            htlc_minimum_msat,
            feerate_per_kw,
            to_self_delay,
            max_accepted_htlcs,
            funding_pubkey,
            revocation_basepoint,
            payment_basepoint,
            delayed_payment_basepoint,
            htlc_basepoint,
            first_per_commitment_point,
            channel_flags,
            upfront_shutdown_script: tlvs.upfront_shutdown_script,
            channel_type: tlvs.channel_type,
            extra_tlvs: tlvs.extra_tlvs,
        })
    }
}

/// `accept_channel` (type 33).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptChannel {
    pub temporary_channel_id: ChannelId,
    pub dust_limit_satoshis: u64,
    pub max_htlc_value_in_flight_msat: u64,
    pub channel_reserve_satoshis: u64,
    pub htlc_minimum_msat: u64,
    pub minimum_depth: u32,
    pub to_self_delay: u16,
    pub max_accepted_htlcs: u16,
    pub funding_pubkey: PublicKey,
    pub revocation_basepoint: PublicKey,
    pub payment_basepoint: PublicKey,
    pub delayed_payment_basepoint: PublicKey,
    pub htlc_basepoint: PublicKey,
    pub first_per_commitment_point: PublicKey,
    /// TLV 0 `shutdown_scriptpubkey`; `Some(vec![])` is the explicit "no upfront script".
    pub upfront_shutdown_script: Option<Vec<u8>>,
    /// TLV 1; MUST equal the one in `open_channel`.
    pub channel_type: Option<ChannelType>,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for AcceptChannel {
    const TYPE: u16 = 33;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.temporary_channel_id.0);
        out.put_u64(self.dust_limit_satoshis);
        out.put_u64(self.max_htlc_value_in_flight_msat);
        out.put_u64(self.channel_reserve_satoshis);
        out.put_u64(self.htlc_minimum_msat);
        out.put_u32(self.minimum_depth);
        out.put_u16(self.to_self_delay);
        out.put_u16(self.max_accepted_htlcs);
        out.put_pubkey(&self.funding_pubkey);
        out.put_pubkey(&self.revocation_basepoint);
        out.put_pubkey(&self.payment_basepoint);
        out.put_pubkey(&self.delayed_payment_basepoint);
        out.put_pubkey(&self.htlc_basepoint);
        out.put_pubkey(&self.first_per_commitment_point);
        OpeningTlvs::write(
            out,
            &self.upfront_shutdown_script,
            &self.channel_type,
            &self.extra_tlvs,
        );
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let temporary_channel_id = r.read_channel_id()?;
        let dust_limit_satoshis = r.read_u64()?;
        let max_htlc_value_in_flight_msat = r.read_u64()?;
        let channel_reserve_satoshis = r.read_u64()?;
        let htlc_minimum_msat = r.read_u64()?;
        let minimum_depth = r.read_u32()?;
        let to_self_delay = r.read_u16()?;
        let max_accepted_htlcs = r.read_u16()?;
        let funding_pubkey = r.read_pubkey()?;
        let revocation_basepoint = r.read_pubkey()?;
        let payment_basepoint = r.read_pubkey()?;
        let delayed_payment_basepoint = r.read_pubkey()?;
        let htlc_basepoint = r.read_pubkey()?;
        let first_per_commitment_point = r.read_pubkey()?;
        let tlvs = OpeningTlvs::read(r)?;
        Ok(AcceptChannel {
            temporary_channel_id,
            dust_limit_satoshis,
            max_htlc_value_in_flight_msat,
            channel_reserve_satoshis,
            htlc_minimum_msat,
            minimum_depth,
            to_self_delay,
            max_accepted_htlcs,
            funding_pubkey,
            revocation_basepoint,
            payment_basepoint,
            delayed_payment_basepoint,
            htlc_basepoint,
            first_per_commitment_point,
            upfront_shutdown_script: tlvs.upfront_shutdown_script,
            channel_type: tlvs.channel_type,
            extra_tlvs: tlvs.extra_tlvs,
        })
    }
}

/// `funding_created` (type 34).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingCreated {
    pub temporary_channel_id: ChannelId,
    /// Internal byte order, as on the wire.
    pub funding_txid: [u8; 32],
    pub funding_output_index: u16,
    pub signature: Signature,
    pub extra_tlvs: TlvStream,
}

impl FundingCreated {
    /// The `channel_id` the channel takes from here on.
    pub fn funded_channel_id(&self) -> ChannelId {
        ChannelId::from_funding_outpoint(self.funding_txid, self.funding_output_index)
    }
}

impl WireMessage for FundingCreated {
    const TYPE: u16 = 34;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.temporary_channel_id.0);
        out.put_bytes(&self.funding_txid);
        out.put_u16(self.funding_output_index);
        out.put_signature(&self.signature);
        self.extra_tlvs.write(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FundingCreated {
            temporary_channel_id: r.read_channel_id()?,
            funding_txid: r.read_array()?,
            funding_output_index: r.read_u16()?,
            signature: r.read_signature()?,
            extra_tlvs: read_extension(r, &[])?,
        })
    }
}

/// `funding_signed` (type 35).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingSigned {
    pub channel_id: ChannelId,
    pub signature: Signature,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for FundingSigned {
    const TYPE: u16 = 35;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_signature(&self.signature);
        self.extra_tlvs.write(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FundingSigned {
            channel_id: r.read_channel_id()?,
            signature: r.read_signature()?,
            extra_tlvs: read_extension(r, &[])?,
        })
    }
}

/// `channel_ready_tlvs` record carrying the `alias`.
const SHORT_CHANNEL_ID: u64 = 1;

/// `channel_ready` (type 36), formerly `funding_locked`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelReady {
    pub channel_id: ChannelId,
    pub second_per_commitment_point: PublicKey,
    /// TLV 1 `short_channel_id`: the `alias` the peer may route to this channel by.
    pub short_channel_id: Option<ShortChannelId>,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for ChannelReady {
    const TYPE: u16 = 36;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_pubkey(&self.second_per_commitment_point);
        let alias = self
            .short_channel_id
            .map(|scid| (SHORT_CHANNEL_ID, scid.0.to_be_bytes().to_vec()));
        write_extension(out, &self.extra_tlvs, alias);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let channel_id = r.read_channel_id()?;
        let second_per_commitment_point = r.read_pubkey()?;
        let mut stream = read_extension(r, &[SHORT_CHANNEL_ID])?;
        let short_channel_id =
            take_record(&mut stream, SHORT_CHANNEL_ID, |v| v.read_short_channel_id())?;
        Ok(ChannelReady {
            channel_id,
            second_per_commitment_point,
            short_channel_id,
            extra_tlvs: stream,
        })
    }
}

impl_has_channel_id! {
    OpenChannel => temporary_channel_id,
    AcceptChannel => temporary_channel_id,
    FundingCreated => temporary_channel_id,
    FundingSigned => channel_id,
    ChannelReady => channel_id,
}

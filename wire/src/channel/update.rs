//! Normal operation: HTLC updates, `commitment_signed`, `revoke_and_ack`, `update_fee`
//! (BOLT 2, "Normal Operation").

use secp256k1::ecdsa::Signature;
use secp256k1::PublicKey;

use super::{impl_has_channel_id, read_extension, take_record, write_extension};
use crate::codec::{ChannelId, DecodeError, Reader, WireMessage, WriteExt};
use crate::tlv::TlvStream;

/// Size of a BOLT 4 onion packet: version, ephemeral key, 1300 bytes of hop payloads, HMAC.
pub const ONION_PACKET_LEN: usize = 1366;

/// `update_add_htlc_tlvs` record `blinded_path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlindedPath {
    /// Lets the receiver decrypt its blinded hop data (formerly `blinding_point`).
    pub path_key: PublicKey,
}

const BLINDED_PATH: u64 = 0;

/// `update_add_htlc` (type 128).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateAddHtlc {
    pub channel_id: ChannelId,
    pub id: u64,
    pub amount_msat: u64,
    pub payment_hash: [u8; 32],
    pub cltv_expiry: u32,
    /// Boxed: 1366 bytes would make every message enum that holds this one huge.
    pub onion_routing_packet: Box<[u8; ONION_PACKET_LEN]>,
    /// TLV 0.
    pub blinded_path: Option<BlindedPath>,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for UpdateAddHtlc {
    const TYPE: u16 = 128;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_u64(self.id);
        out.put_u64(self.amount_msat);
        out.put_bytes(&self.payment_hash);
        out.put_u32(self.cltv_expiry);
        out.put_bytes(&self.onion_routing_packet[..]);
        let blinded_path = self
            .blinded_path
            .map(|path| (BLINDED_PATH, path.path_key.serialize().to_vec()));
        write_extension(out, &self.extra_tlvs, blinded_path);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let channel_id = r.read_channel_id()?;
        let id = r.read_u64()?;
        let amount_msat = r.read_u64()?;
        let payment_hash = r.read_array()?;
        let cltv_expiry = r.read_u32()?;
        let onion_routing_packet = Box::new(r.read_array()?);
        let mut stream = read_extension(r, &[BLINDED_PATH])?;
        let blinded_path = take_record(&mut stream, BLINDED_PATH, |v| {
            Ok(BlindedPath {
                path_key: v.read_pubkey()?,
            })
        })?;
        Ok(UpdateAddHtlc {
            channel_id,
            id,
            amount_msat,
            payment_hash,
            cltv_expiry,
            onion_routing_packet,
            blinded_path,
            extra_tlvs: stream,
        })
    }
}

/// Hops covered by attribution data (BOLT 4 attributable failures).
pub const ATTRIBUTION_HOPS: usize = 20;
/// Truncated HMACs in attribution data: 20 + 19 + ... + 1.
pub const ATTRIBUTION_HMACS: usize = 210;

/// The `attribution_data` record of `update_fulfill_htlc` and `update_fail_htlc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributionData {
    pub htlc_hold_times: [u32; ATTRIBUTION_HOPS],
    /// Each the first 4 bytes of a SHA256 HMAC.
    pub truncated_hmacs: Box<[[u8; 4]; ATTRIBUTION_HMACS]>,
}

const ATTRIBUTION_DATA: u64 = 1;

impl AttributionData {
    /// Encoded size: 20 u32 hold times then 210 four-byte HMACs.
    pub const LEN: usize = ATTRIBUTION_HOPS * 4 + ATTRIBUTION_HMACS * 4;

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        for hold_time in self.htlc_hold_times {
            out.put_u32(hold_time);
        }
        for hmac in self.truncated_hmacs.iter() {
            out.put_bytes(hmac);
        }
        out
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut htlc_hold_times = [0u32; ATTRIBUTION_HOPS];
        for hold_time in htlc_hold_times.iter_mut() {
            *hold_time = r.read_u32()?;
        }
        let mut truncated_hmacs = Box::new([[0u8; 4]; ATTRIBUTION_HMACS]);
        for hmac in truncated_hmacs.iter_mut() {
            *hmac = r.read_array()?;
        }
        Ok(AttributionData {
            htlc_hold_times,
            truncated_hmacs,
        })
    }
}

fn write_attribution_tlvs(
    out: &mut Vec<u8>,
    attribution_data: &Option<AttributionData>,
    extra: &TlvStream,
) {
    let record = attribution_data
        .as_ref()
        .map(|data| (ATTRIBUTION_DATA, data.encode()));
    write_extension(out, extra, record);
}

fn read_attribution_tlvs(
    r: &mut Reader<'_>,
) -> Result<(Option<AttributionData>, TlvStream), DecodeError> {
    let mut stream = read_extension(r, &[ATTRIBUTION_DATA])?;
    let data = take_record(&mut stream, ATTRIBUTION_DATA, AttributionData::read)?;
    Ok((data, stream))
}

/// `update_fulfill_htlc` (type 130).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFulfillHtlc {
    pub channel_id: ChannelId,
    pub id: u64,
    pub payment_preimage: [u8; 32],
    /// TLV 1.
    pub attribution_data: Option<AttributionData>,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for UpdateFulfillHtlc {
    const TYPE: u16 = 130;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_u64(self.id);
        out.put_bytes(&self.payment_preimage);
        write_attribution_tlvs(out, &self.attribution_data, &self.extra_tlvs);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let channel_id = r.read_channel_id()?;
        let id = r.read_u64()?;
        let payment_preimage = r.read_array()?;
        let (attribution_data, extra_tlvs) = read_attribution_tlvs(r)?;
        Ok(UpdateFulfillHtlc {
            channel_id,
            id,
            payment_preimage,
            attribution_data,
            extra_tlvs,
        })
    }
}

/// `update_fail_htlc` (type 131).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFailHtlc {
    pub channel_id: ChannelId,
    pub id: u64,
    /// Opaque onion-encrypted failure for the payer (BOLT 4).
    pub reason: Vec<u8>,
    /// TLV 1.
    pub attribution_data: Option<AttributionData>,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for UpdateFailHtlc {
    const TYPE: u16 = 131;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_u64(self.id);
        out.put_u16_prefixed(&self.reason);
        write_attribution_tlvs(out, &self.attribution_data, &self.extra_tlvs);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let channel_id = r.read_channel_id()?;
        let id = r.read_u64()?;
        let reason = r.read_u16_prefixed()?.to_vec();
        let (attribution_data, extra_tlvs) = read_attribution_tlvs(r)?;
        Ok(UpdateFailHtlc {
            channel_id,
            id,
            reason,
            attribution_data,
            extra_tlvs,
        })
    }
}

/// `update_fail_malformed_htlc` (type 135).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFailMalformedHtlc {
    pub channel_id: ChannelId,
    pub id: u64,
    pub sha256_of_onion: [u8; 32],
    pub failure_code: u16,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for UpdateFailMalformedHtlc {
    const TYPE: u16 = 135;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_u64(self.id);
        out.put_bytes(&self.sha256_of_onion);
        out.put_u16(self.failure_code);
        self.extra_tlvs.write(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(UpdateFailMalformedHtlc {
            channel_id: r.read_channel_id()?,
            id: r.read_u64()?,
            sha256_of_onion: r.read_array()?,
            failure_code: r.read_u16()?,
            extra_tlvs: read_extension(r, &[])?,
        })
    }
}

const FUNDING_TXID: u64 = 1;

/// `commitment_signed` (type 132).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentSigned {
    pub channel_id: ChannelId,
    pub signature: Signature,
    /// One per non-dust HTLC; `num_htlcs` on the wire is their count.
    pub htlc_signatures: Vec<Signature>,
    /// TLV 1: which funding transaction this commitment spends (splicing, sent in batches).
    pub funding_txid: Option<[u8; 32]>,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for CommitmentSigned {
    const TYPE: u16 = 132;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_signature(&self.signature);
        // A message cannot hold more than 1023 signatures, so the count always fits.
        out.put_u16(self.htlc_signatures.len() as u16);
        for sig in &self.htlc_signatures {
            out.put_signature(sig);
        }
        let funding_txid = self.funding_txid.map(|txid| (FUNDING_TXID, txid.to_vec()));
        write_extension(out, &self.extra_tlvs, funding_txid);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let channel_id = r.read_channel_id()?;
        let signature = r.read_signature()?;
        let num_htlcs = r.read_u16()?;
        // Bounded by the input: each read consumes 64 bytes or fails.
        let htlc_signatures = (0..num_htlcs)
            .map(|_| r.read_signature())
            .collect::<Result<Vec<_>, _>>()?;
        let mut stream = read_extension(r, &[FUNDING_TXID])?;
        let funding_txid = take_record(&mut stream, FUNDING_TXID, |v| v.read_array())?;
        Ok(CommitmentSigned {
            channel_id,
            signature,
            htlc_signatures,
            funding_txid,
            extra_tlvs: stream,
        })
    }
}

/// `revoke_and_ack` (type 133).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeAndAck {
    pub channel_id: ChannelId,
    pub per_commitment_secret: [u8; 32],
    pub next_per_commitment_point: PublicKey,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for RevokeAndAck {
    const TYPE: u16 = 133;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_bytes(&self.per_commitment_secret);
        out.put_pubkey(&self.next_per_commitment_point);
        self.extra_tlvs.write(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RevokeAndAck {
            channel_id: r.read_channel_id()?,
            per_commitment_secret: r.read_array()?,
            next_per_commitment_point: r.read_pubkey()?,
            extra_tlvs: read_extension(r, &[])?,
        })
    }
}

/// `update_fee` (type 134).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFee {
    pub channel_id: ChannelId,
    pub feerate_per_kw: u32,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for UpdateFee {
    const TYPE: u16 = 134;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_u32(self.feerate_per_kw);
        self.extra_tlvs.write(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(UpdateFee {
            channel_id: r.read_channel_id()?,
            feerate_per_kw: r.read_u32()?,
            extra_tlvs: read_extension(r, &[])?,
        })
    }
}

impl_has_channel_id! {
    UpdateAddHtlc => channel_id,
    UpdateFulfillHtlc => channel_id,
    UpdateFailHtlc => channel_id,
    UpdateFailMalformedHtlc => channel_id,
    CommitmentSigned => channel_id,
    RevokeAndAck => channel_id,
    UpdateFee => channel_id,
}

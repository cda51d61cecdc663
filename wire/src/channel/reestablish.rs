//! `channel_reestablish` (BOLT 2, "Message Retransmission").

use secp256k1::PublicKey;

use super::{impl_has_channel_id, read_extension, take_record, write_extension};
use crate::codec::{ChannelId, DecodeError, Reader, WireMessage, WriteExt};
use crate::tlv::TlvStream;

/// TLV 1 `next_funding`: the interactive funding (or splice) transaction still being signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextFunding {
    pub next_funding_txid: [u8; 32],
    /// Bit 0: the peer must retransmit `commitment_signed`.
    pub retransmit_flags: u8,
}

impl NextFunding {
    pub const RETRANSMIT_COMMITMENT_SIGNED: u8 = 1;
}

/// TLV 5 `my_current_funding_locked`: the latest funding transaction the sender has locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MyCurrentFundingLocked {
    pub my_current_funding_locked_txid: [u8; 32],
    /// Bit 0: the sender expects `announcement_signatures` to be retransmitted.
    pub retransmit_flags: u8,
}

impl MyCurrentFundingLocked {
    pub const RETRANSMIT_ANNOUNCEMENT_SIGNATURES: u8 = 1;
}

const NEXT_FUNDING: u64 = 1;
const MY_CURRENT_FUNDING_LOCKED: u64 = 5;

/// `channel_reestablish` (type 136).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelReestablish {
    pub channel_id: ChannelId,
    pub next_commitment_number: u64,
    pub next_revocation_number: u64,
    pub your_last_per_commitment_secret: [u8; 32],
    pub my_current_per_commitment_point: PublicKey,
    pub next_funding: Option<NextFunding>,
    pub my_current_funding_locked: Option<MyCurrentFundingLocked>,
    pub extra_tlvs: TlvStream,
}

fn txid_and_flags(txid: &[u8; 32], flags: u8) -> Vec<u8> {
    let mut value = txid.to_vec();
    value.push(flags);
    value
}

impl WireMessage for ChannelReestablish {
    const TYPE: u16 = 136;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_u64(self.next_commitment_number);
        out.put_u64(self.next_revocation_number);
        out.put_bytes(&self.your_last_per_commitment_secret);
        out.put_pubkey(&self.my_current_per_commitment_point);
        let known = [
            self.next_funding.map(|f| {
                let value = txid_and_flags(&f.next_funding_txid, f.retransmit_flags);
                (NEXT_FUNDING, value)
            }),
            self.my_current_funding_locked.map(|l| {
                let value = txid_and_flags(&l.my_current_funding_locked_txid, l.retransmit_flags);
                (MY_CURRENT_FUNDING_LOCKED, value)
            }),
        ];
        write_extension(out, &self.extra_tlvs, known.into_iter().flatten());
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let channel_id = r.read_channel_id()?;
        let next_commitment_number = r.read_u64()?;
        let next_revocation_number = r.read_u64()?;
        let your_last_per_commitment_secret = r.read_array()?;
        let my_current_per_commitment_point = r.read_pubkey()?;
        let mut stream = read_extension(r, &[NEXT_FUNDING, MY_CURRENT_FUNDING_LOCKED])?;
        let next_funding = take_record(&mut stream, NEXT_FUNDING, |v| {
            Ok(NextFunding {
                next_funding_txid: v.read_array()?,
                retransmit_flags: v.read_u8()?,
            })
        })?;
        let my_current_funding_locked = take_record(&mut stream, MY_CURRENT_FUNDING_LOCKED, |v| {
            Ok(MyCurrentFundingLocked {
                my_current_funding_locked_txid: v.read_array()?,
                retransmit_flags: v.read_u8()?,
            })
        })?;
        Ok(ChannelReestablish {
            channel_id,
            next_commitment_number,
            next_revocation_number,
            your_last_per_commitment_secret,
            my_current_per_commitment_point,
            next_funding,
            my_current_funding_locked,
            extra_tlvs: stream,
        })
    }
}

impl_has_channel_id! {
    ChannelReestablish => channel_id,
}

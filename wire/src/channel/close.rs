//! Channel close: `shutdown`, the legacy `closing_signed`, and `option_simple_close`'s
//! `closing_complete` / `closing_sig` (BOLT 2, "Channel Close").

use secp256k1::ecdsa::Signature;

use super::{impl_has_channel_id, read_extension, take_record, write_extension};
use crate::codec::{ChannelId, DecodeError, Reader, WireMessage, WriteExt};
use crate::tlv::TlvStream;

/// `shutdown` (type 38).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shutdown {
    pub channel_id: ChannelId,
    /// Where this side wants its funds paid; its form is checked by the channel logic, not here.
    pub scriptpubkey: Vec<u8>,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for Shutdown {
    const TYPE: u16 = 38;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_u16_prefixed(&self.scriptpubkey);
        self.extra_tlvs.write(out);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Shutdown {
            channel_id: r.read_channel_id()?,
            scriptpubkey: r.read_u16_prefixed()?.to_vec(),
            extra_tlvs: read_extension(r, &[])?,
        })
    }
}

/// The `closing_signed_tlvs` record `fee_range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeRange {
    pub min_fee_satoshis: u64,
    pub max_fee_satoshis: u64,
}

const FEE_RANGE: u64 = 1;

/// `closing_signed` (type 39): legacy fee negotiation, used when `option_simple_close` is not
/// negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosingSigned {
    pub channel_id: ChannelId,
    pub fee_satoshis: u64,
    pub signature: Signature,
    /// TLV 1.
    pub fee_range: Option<FeeRange>,
    pub extra_tlvs: TlvStream,
}

impl WireMessage for ClosingSigned {
    const TYPE: u16 = 39;

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.put_bytes(&self.channel_id.0);
        out.put_u64(self.fee_satoshis);
        out.put_signature(&self.signature);
        let fee_range = self.fee_range.map(|range| {
            let mut value = Vec::with_capacity(16);
            value.put_u64(range.min_fee_satoshis);
            value.put_u64(range.max_fee_satoshis);
            (FEE_RANGE, value)
        });
        write_extension(out, &self.extra_tlvs, fee_range);
    }

    fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let channel_id = r.read_channel_id()?;
        let fee_satoshis = r.read_u64()?;
        let signature = r.read_signature()?;
        let mut stream = read_extension(r, &[FEE_RANGE])?;
        let fee_range = take_record(&mut stream, FEE_RANGE, |v| {
            Ok(FeeRange {
                min_fee_satoshis: v.read_u64()?,
                max_fee_satoshis: v.read_u64()?,
            })
        })?;
        Ok(ClosingSigned {
            channel_id,
            fee_satoshis,
            signature,
            fee_range,
            extra_tlvs: stream,
        })
    }
}

/// `closing_tlvs` records: which outputs the signed closing transaction has.
const CLOSER_OUTPUT_ONLY: u64 = 1;
const CLOSEE_OUTPUT_ONLY: u64 = 2;
const CLOSER_AND_CLOSEE_OUTPUTS: u64 = 3;
const CLOSING_TLVS: [u64; 3] = [
    CLOSER_OUTPUT_ONLY,
    CLOSEE_OUTPUT_ONLY,
    CLOSER_AND_CLOSEE_OUTPUTS,
];

/// `closing_complete` (40) and `closing_sig` (41) share one layout; the requirement that
/// `closing_sig` carries exactly one signature is protocol logic, not decoding.
macro_rules! simple_close_message {
    ($(#[$doc:meta])* $name:ident = $type:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            pub channel_id: ChannelId,
            pub closer_scriptpubkey: Vec<u8>,
            pub closee_scriptpubkey: Vec<u8>,
            pub fee_satoshis: u64,
            pub locktime: u32,
            /// TLV 1: signature for a transaction paying only the closer.
            pub closer_output_only: Option<Signature>,
            /// TLV 2: signature for a transaction paying only the closee.
            pub closee_output_only: Option<Signature>,
            /// TLV 3: signature for a transaction paying both.
            pub closer_and_closee_outputs: Option<Signature>,
            pub extra_tlvs: TlvStream,
        }

        impl WireMessage for $name {
            const TYPE: u16 = $type;

            fn write_payload(&self, out: &mut Vec<u8>) {
                out.put_bytes(&self.channel_id.0);
                out.put_u16_prefixed(&self.closer_scriptpubkey);
                out.put_u16_prefixed(&self.closee_scriptpubkey);
                out.put_u64(self.fee_satoshis);
                out.put_u32(self.locktime);
                let signatures = [
                    (CLOSER_OUTPUT_ONLY, &self.closer_output_only),
                    (CLOSEE_OUTPUT_ONLY, &self.closee_output_only),
                    (CLOSER_AND_CLOSEE_OUTPUTS, &self.closer_and_closee_outputs),
                ];
                let known = signatures.into_iter().filter_map(|(tlv_type, sig)| {
                    sig.map(|sig| (tlv_type, sig.serialize_compact().to_vec()))
                });
                write_extension(out, &self.extra_tlvs, known);
            }

            fn read_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let channel_id = r.read_channel_id()?;
                let closer_scriptpubkey = r.read_u16_prefixed()?.to_vec();
                let closee_scriptpubkey = r.read_u16_prefixed()?.to_vec();
                let fee_satoshis = r.read_u64()?;
                let locktime = r.read_u32()?;
                let mut stream = read_extension(r, &CLOSING_TLVS)?;
                let closer_output_only =
                    take_record(&mut stream, CLOSER_OUTPUT_ONLY, |v| v.read_signature())?;
                let closee_output_only =
                    take_record(&mut stream, CLOSEE_OUTPUT_ONLY, |v| v.read_signature())?;
                let closer_and_closee_outputs =
                    take_record(&mut stream, CLOSER_AND_CLOSEE_OUTPUTS, |v| v.read_signature())?;
                Ok($name {
                    channel_id,
                    closer_scriptpubkey,
                    closee_scriptpubkey,
                    fee_satoshis,
                    locktime,
                    closer_output_only,
                    closee_output_only,
                    closer_and_closee_outputs,
                    extra_tlvs: stream,
                })
            }
        }

        impl $name {
            /// How many of the three signature records are present.
            pub fn signature_count(&self) -> usize {
                [
                    self.closer_output_only.is_some(),
                    self.closee_output_only.is_some(),
                    self.closer_and_closee_outputs.is_some(),
                ]
                .iter()
                .filter(|present| **present)
                .count()
            }
        }
    };
}

simple_close_message! {
    /// `closing_complete` (type 40, `option_simple_close`): the closer's proposed closing
    /// transaction, with a signature for each variant it offers.
    ClosingComplete = 40
}

simple_close_message! {
    /// `closing_sig` (type 41, `option_simple_close`): the closee's signature for one of the
    /// variants offered in `closing_complete`.
    ClosingSig = 41
}

impl_has_channel_id! {
    Shutdown => channel_id,
    ClosingSigned => channel_id,
    ClosingComplete => channel_id,
    ClosingSig => channel_id,
}

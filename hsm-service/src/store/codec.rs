//! serde adapters for the bitcoin/secp256k1 types in stored records (those crates are built
//! without their `serde` feature here). Each is stored as its canonical byte encoding and
//! re-validated on load, so a corrupt record is a decode error, never a bogus key.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub(crate) mod pubkey {
    use super::*;
    use secp256k1::PublicKey;

    pub(crate) fn serialize<S: Serializer>(key: &PublicKey, s: S) -> Result<S::Ok, S::Error> {
        key.serialize().to_vec().serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PublicKey, D::Error> {
        let bytes = Vec::<u8>::deserialize(d)?;
        PublicKey::from_slice(&bytes).map_err(D::Error::custom)
    }
}

pub(crate) mod outpoint {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::{OutPoint, Txid};

    pub(crate) fn serialize<S: Serializer>(point: &OutPoint, s: S) -> Result<S::Ok, S::Error> {
        (point.txid.to_byte_array(), point.vout).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OutPoint, D::Error> {
        let (txid, vout) = <([u8; 32], u32)>::deserialize(d)?;
        Ok(OutPoint {
            txid: Txid::from_byte_array(txid),
            vout,
        })
    }
}

pub(crate) mod script {
    use super::*;
    use bitcoin::ScriptBuf;

    pub(crate) fn serialize<S: Serializer>(script: &ScriptBuf, s: S) -> Result<S::Ok, S::Error> {
        script.as_bytes().serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ScriptBuf, D::Error> {
        Ok(ScriptBuf::from_bytes(Vec::<u8>::deserialize(d)?))
    }
}

pub(crate) mod opt_script {
    use super::*;
    use bitcoin::ScriptBuf;

    pub(crate) fn serialize<S: Serializer>(
        script: &Option<ScriptBuf>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        script.as_ref().map(|script| script.as_bytes()).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<ScriptBuf>, D::Error> {
        Ok(Option::<Vec<u8>>::deserialize(d)?.map(ScriptBuf::from_bytes))
    }
}

pub(crate) mod format {
    use super::*;
    use lnfleet_wire::bolt3::scripts::CommitmentFormat;

    pub(crate) fn serialize<S: Serializer>(
        format: &CommitmentFormat,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let tag: u8 = match format {
            CommitmentFormat::StaticRemoteKey => 0,
            CommitmentFormat::Anchors => 1,
        };
        tag.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<CommitmentFormat, D::Error> {
        match u8::deserialize(d)? {
            0 => Ok(CommitmentFormat::StaticRemoteKey),
            1 => Ok(CommitmentFormat::Anchors),
            other => Err(D::Error::custom(format!(
                "unknown commitment format {other}"
            ))),
        }
    }
}

pub(crate) mod signature {
    use super::*;
    use secp256k1::ecdsa::Signature;

    pub(crate) fn serialize<S: Serializer>(sig: &Signature, s: S) -> Result<S::Ok, S::Error> {
        sig.serialize_compact().to_vec().serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Signature, D::Error> {
        Signature::from_compact(&Vec::<u8>::deserialize(d)?).map_err(D::Error::custom)
    }
}

pub(crate) mod signatures {
    use super::*;
    use secp256k1::ecdsa::Signature;

    pub(crate) fn serialize<S: Serializer>(sigs: &[Signature], s: S) -> Result<S::Ok, S::Error> {
        let compact: Vec<Vec<u8>> = sigs
            .iter()
            .map(|sig| sig.serialize_compact().to_vec())
            .collect();
        compact.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Signature>, D::Error> {
        Vec::<Vec<u8>>::deserialize(d)?
            .iter()
            .map(|bytes| Signature::from_compact(bytes).map_err(D::Error::custom))
            .collect()
    }
}

pub(crate) mod channel_public_keys {
    use super::*;
    use crate::derivation::ChannelPublicKeys;
    use secp256k1::PublicKey;

    /// Funding, revocation, payment, delayed payment, htlc: in that order.
    pub(crate) fn serialize<S: Serializer>(
        keys: &ChannelPublicKeys,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        [
            keys.funding_pubkey,
            keys.revocation_basepoint,
            keys.payment_basepoint,
            keys.delayed_payment_basepoint,
            keys.htlc_basepoint,
        ]
        .iter()
        .map(|key| key.serialize().to_vec())
        .collect::<Vec<_>>()
        .serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<ChannelPublicKeys, D::Error> {
        let keys = Vec::<Vec<u8>>::deserialize(d)?
            .iter()
            .map(|bytes| PublicKey::from_slice(bytes).map_err(D::Error::custom))
            .collect::<Result<Vec<_>, _>>()?;
        match keys.as_slice() {
            [funding, revocation, payment, delayed, htlc] => Ok(ChannelPublicKeys {
                funding_pubkey: *funding,
                revocation_basepoint: *revocation,
                payment_basepoint: *payment,
                delayed_payment_basepoint: *delayed,
                htlc_basepoint: *htlc,
            }),
            _ => Err(D::Error::custom("expected five channel public keys")),
        }
    }
}

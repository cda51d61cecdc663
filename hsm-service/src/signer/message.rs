//! Core Lightning's `signmessage` / `checkmessage` (also LND's `signmessage` / `verifymessage`).
//!
//! The signed hash is SHA256d("Lightning Signed Message:" || message). The output is zbase32 of
//! 65 bytes: `31 + recovery_id`, then the compact 64-byte signature (r || s).

use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{Message, PublicKey, SECP256K1};
use sha2::{Digest, Sha256};

use super::{Signer, SignerError};

/// The prefix that keeps a signed message from being any other kind of Lightning signature.
pub const MESSAGE_PREFIX: &[u8] = b"Lightning Signed Message:";
/// Header byte of a recovery id 0 (Bitcoin's "compressed key" header base, 27 + 4).
const HEADER_BASE: u8 = 31;

/// Why a zbase32 signature could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("signature is not valid zbase32")]
    NotZbase32,
    #[error("signature is {len} bytes, expected 65")]
    WrongLength { len: usize },
    #[error("signature header byte {header} is not 31..=34")]
    BadHeader { header: u8 },
    #[error("signature is malformed or no public key recovers from it")]
    Unrecoverable,
}

/// SHA256d of the prefixed message: what `signmessage` signs.
pub fn message_hash(message: &[u8]) -> [u8; 32] {
    let mut first = Sha256::new();
    first.update(MESSAGE_PREFIX);
    first.update(message);
    Sha256::digest(first.finalize()).into()
}

/// `checkmessage`: the public key the signature recovers to. The caller compares it with the
/// node id it expected (or looks it up in the graph).
pub fn verify_message(message: &[u8], zbase: &str) -> Result<PublicKey, MessageError> {
    let bytes = zbase32::decode_full_bytes_str(zbase).map_err(|_| MessageError::NotZbase32)?;
    let (header, compact) = match bytes.split_first() {
        Some((header, compact)) if compact.len() == 64 => (*header, compact),
        _ => return Err(MessageError::WrongLength { len: bytes.len() }),
    };
    let recovery_id = header
        .checked_sub(HEADER_BASE)
        .filter(|id| *id <= 3)
        .and_then(|id| RecoveryId::from_i32(i32::from(id)).ok())
        .ok_or(MessageError::BadHeader { header })?;
    let signature = RecoverableSignature::from_compact(compact, recovery_id)
        .map_err(|_| MessageError::Unrecoverable)?;
    SECP256K1
        .recover_ecdsa(&Message::from_digest(message_hash(message)), &signature)
        .map_err(|_| MessageError::Unrecoverable)
}

impl Signer {
    /// `signmessage`: zbase32 of the recoverable signature of `message` by `node_id`.
    pub fn sign_message(&self, node_id: &PublicKey, message: &[u8]) -> Result<String, SignerError> {
        Ok(encode_signed_message(
            &self.sign_message_recoverable(node_id, message)?,
        ))
    }

    /// The recoverable signature behind [`sign_message`](Self::sign_message), as the HSM
    /// contract carries it.
    pub fn sign_message_recoverable(
        &self,
        node_id: &PublicKey,
        message: &[u8],
    ) -> Result<RecoverableSignature, SignerError> {
        let secret = self.node_secret(node_id)?;
        Ok(SECP256K1.sign_ecdsa_recoverable(&Message::from_digest(message_hash(message)), secret))
    }
}

/// Core Lightning's `signmessage` text form: zbase32 of `31 + recovery id` and the compact
/// signature.
pub fn encode_signed_message(signature: &RecoverableSignature) -> String {
    let (recovery_id, compact) = signature.serialize_compact();
    let mut bytes = Vec::with_capacity(65);
    // `to_i32` is 0..=3, so the header is 31..=34.
    bytes.push(HEADER_BASE + recovery_id.to_i32() as u8);
    bytes.extend_from_slice(&compact);
    zbase32::encode_full_bytes(&bytes)
}

#[cfg(test)]
mod tests;

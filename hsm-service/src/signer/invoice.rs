//! BOLT 11 invoice signatures.
//!
//! BOLT 11: the signature is over SHA256 of the human-readable part (as UTF-8 bytes) followed by
//! the data part before the signature, converted from 5-bit groups to bytes and padded with zero
//! bits at the end to a byte boundary. The signature is recoverable (the payer recovers the payee
//! node id from it).

use secp256k1::ecdsa::RecoverableSignature;
use secp256k1::{Message, PublicKey, SECP256K1};
use sha2::{Digest, Sha256};

use super::{Signer, SignerError};

/// The hash an invoice signature commits to. `data_5bit` holds values 0..=31.
pub fn invoice_hash(hrp: &str, data_5bit: &[u8]) -> Result<[u8; 32], SignerError> {
    let mut hasher = Sha256::new();
    hasher.update(hrp.as_bytes());
    hasher.update(five_bit_to_bytes(data_5bit)?);
    Ok(hasher.finalize().into())
}

/// Packs 5-bit groups big-endian into bytes; the last byte is padded with zero bits.
pub fn five_bit_to_bytes(data_5bit: &[u8]) -> Result<Vec<u8>, SignerError> {
    let mut out = Vec::with_capacity(data_5bit.len() * 5 / 8 + 1);
    let mut accumulator: u32 = 0;
    let mut bits: u32 = 0;
    for &value in data_5bit {
        if value > 31 {
            return Err(SignerError::InvalidInput {
                what: "invoice data value above 31 (not a 5-bit group)",
            });
        }
        accumulator = (accumulator << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((accumulator >> bits) as u8);
            accumulator &= (1 << bits) - 1;
        }
    }
    if bits > 0 {
        out.push((accumulator << (8 - bits)) as u8);
    }
    Ok(out)
}

impl Signer {
    /// Signs an invoice for `node_id`: `hrp` is the human-readable part as it will appear in the
    /// invoice (lowercase, `lnbc2500u`...; the hash covers its exact bytes), `data_5bit` the
    /// data part without signature and checksum, one 5-bit value per element.
    pub fn sign_invoice(
        &self,
        node_id: &PublicKey,
        hrp: &str,
        data_5bit: &[u8],
    ) -> Result<RecoverableSignature, SignerError> {
        let secret = self.node_secret(node_id)?;
        if hrp.is_empty() || !hrp.is_ascii() {
            return Err(SignerError::InvalidInput {
                what: "invoice human-readable part must be non-empty ASCII",
            });
        }
        let hash = invoice_hash(hrp, data_5bit)?;
        Ok(SECP256K1.sign_ecdsa_recoverable(&Message::from_digest(hash), secret))
    }
}

#[cfg(test)]
mod tests;

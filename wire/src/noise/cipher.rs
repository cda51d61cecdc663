//! The primitives BOLT 8 builds on: SHA-256, HKDF with a 64-byte output, ChaCha20-Poly1305 with
//! the Noise nonce encoding, and the rotating per-direction cipher state.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce, Tag};
use sha2::{Digest, Sha256};

use super::MAC_LEN;

/// A key is rotated once its nonce reaches this value (BOLT 8 "Lightning Message Key Rotation").
const ROTATE_AFTER: u64 = 1000;

pub(super) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// BOLT 8 `HKDF(salt, ikm)`: extract-and-expand with empty info, 64 bytes split in two keys.
pub(super) fn hkdf(salt: &[u8; 32], ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mut okm = [0u8; 64];
    hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(&[], &mut okm)
        // HKDF-SHA256 can expand up to 8160 bytes; 64 is a constant far below that.
        .expect("64 bytes is a valid HKDF-SHA256 output length");
    let mut first = [0u8; 32];
    let mut second = [0u8; 32];
    first.copy_from_slice(&okm[..32]);
    second.copy_from_slice(&okm[32..]);
    (first, second)
}

/// 32 zero bits then the nonce as a little-endian u64 (the Noise convention, not ours).
fn noise_nonce(n: u64) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&n.to_le_bytes());
    Nonce::from(nonce)
}

/// Encrypts `buffer` in place and returns its tag.
pub(super) fn seal(aead: &ChaCha20Poly1305, n: u64, ad: &[u8], buffer: &mut [u8]) -> [u8; MAC_LEN] {
    aead.encrypt_in_place_detached(&noise_nonce(n), ad, buffer)
        // The only failure is a buffer over 256 GiB; BOLT 8 buffers are at most 65535 bytes.
        .expect("chacha20poly1305 encrypts any buffer under 256 GiB")
        .into()
}

/// Decrypts `buffer` in place if `tag` authenticates it; on failure the buffer is unspecified.
pub(super) fn open(
    aead: &ChaCha20Poly1305,
    n: u64,
    ad: &[u8],
    buffer: &mut [u8],
    tag: &[u8; MAC_LEN],
) -> Result<(), MacMismatch> {
    aead.decrypt_in_place_detached(&noise_nonce(n), ad, buffer, Tag::from_slice(tag))
        .map_err(|_| MacMismatch)
}

pub(super) fn aead_for(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(Key::from_slice(key))
}

/// A Poly1305 tag did not authenticate the ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MacMismatch;

/// One direction of the message stream: its key, nonce and the chaining key its rotations
/// derive from. Sending and receiving each own one, so they can live on different tasks.
///
/// Deliberately not `Clone`: two copies of a sending state would encrypt with the same nonce.
pub(super) struct CipherState {
    chaining_key: [u8; 32],
    key: [u8; 32],
    aead: ChaCha20Poly1305,
    nonce: u64,
}

impl std::fmt::Debug for CipherState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys stay out of logs; the nonce is harmless and useful.
        f.debug_struct("CipherState")
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

impl CipherState {
    pub(super) fn new(chaining_key: [u8; 32], key: [u8; 32]) -> Self {
        CipherState {
            chaining_key,
            aead: aead_for(&key),
            key,
            nonce: 0,
        }
    }

    /// Encrypts `buffer` in place with the current nonce (empty AD) and moves to the next nonce.
    pub(super) fn seal(&mut self, buffer: &mut [u8]) -> [u8; MAC_LEN] {
        let tag = seal(&self.aead, self.nonce, &[], buffer);
        self.advance();
        tag
    }

    /// Decrypts `buffer` in place with the current nonce (empty AD) and moves to the next nonce.
    pub(super) fn open(
        &mut self,
        buffer: &mut [u8],
        tag: &[u8; MAC_LEN],
    ) -> Result<(), MacMismatch> {
        let result = open(&self.aead, self.nonce, &[], buffer, tag);
        self.advance();
        result
    }

    #[cfg(test)]
    pub(super) fn chaining_key(&self) -> [u8; 32] {
        self.chaining_key
    }

    #[cfg(test)]
    pub(super) fn key(&self) -> [u8; 32] {
        self.key
    }

    fn advance(&mut self) {
        self.nonce += 1;
        if self.nonce == ROTATE_AFTER {
            let (chaining_key, key) = hkdf(&self.chaining_key, &self.key);
            *self = CipherState::new(chaining_key, key);
        }
    }
}

//! BOLT 8 transport: the `Noise_XK_secp256k1_ChaChaPoly_SHA256` handshake and the encrypted,
//! length-prefixed message stream that follows it.
//!
//! Everything here is sans-IO: the handshake takes and returns act bytes, the [`Transport`]
//! turns plaintext messages into wire bytes and, through its [`Decryptor`], arbitrary byte
//! chunks back into whole messages.
//!
//! The node's static secret never has to be in this process: the one ECDH that needs it (the
//! responder's `es` in act one, the initiator's `se` in act three) goes through
//! [`StaticKeyEcdh`], or, for async callers talking to a remote HSM, through an explicit
//! [`NeedsEcdh`] step that the caller answers with the shared secret.
//!
//! ```
//! use lnfleet_wire::noise::{InitiatorHandshake, LocalStaticKey, ResponderHandshake, StaticKeyEcdh};
//! use secp256k1::SecretKey;
//!
//! let alice = LocalStaticKey::new(SecretKey::from_slice(&[0x11; 32]).unwrap());
//! let bob = LocalStaticKey::new(SecretKey::from_slice(&[0x21; 32]).unwrap());
//!
//! let mut initiator = InitiatorHandshake::new(alice.node_id(), bob.node_id());
//! let mut responder = ResponderHandshake::new(bob.node_id());
//! let act_one = initiator.act_one().unwrap();
//! let act_two = responder.process_act_one_with(&act_one, &bob).unwrap();
//! let (act_three, alice_done) = initiator.process_act_two_with(&act_two, &alice).unwrap();
//! let bob_done = responder.process_act_three(&act_three).unwrap();
//! assert_eq!(bob_done.remote_node_id, alice.node_id());
//!
//! let (mut alice_tx, _) = alice_done.transport.split();
//! let (_, mut bob_rx) = bob_done.transport.split();
//! bob_rx.feed(&alice_tx.encrypt_message(b"hello").unwrap());
//! assert_eq!(bob_rx.next_message().unwrap().unwrap(), b"hello");
//! ```

use secp256k1::ecdh::SharedSecret;
use secp256k1::{PublicKey, SecretKey};

mod cipher;
mod decoder;
mod handshake;
mod transport;

#[cfg(test)]
mod tests;

pub use decoder::{Decoder, Decryptor};
pub use handshake::{
    HandshakeComplete, HandshakeError, InitiatorHandshake, NeedsEcdh, ResponderHandshake,
    ACT_ONE_LEN, ACT_THREE_LEN, ACT_TWO_LEN,
};
pub use transport::{encrypted_len, Encryptor, FramePart, Transport, TransportError};

/// Largest Lightning message the transport carries (BOLT 8: "MUST NOT exceed 65535 bytes").
pub const MAX_MESSAGE_LEN: usize = 65535;
/// Bytes of a Poly1305 tag.
pub const MAC_LEN: usize = 16;
/// Bytes of an encrypted length prefix: the 2-byte length and its MAC.
pub const LENGTH_HEADER_LEN: usize = 2 + MAC_LEN;

/// Why the static-key ECDH could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcdhError {
    /// The signer (typically the remote HSM) could not be reached or did not answer in time.
    #[error("static key signer unavailable: {reason}")]
    SignerUnavailable { reason: String },
    /// The signer answered but refused the request (policy, unknown key, ...).
    #[error("static key signer refused the ecdh: {reason}")]
    Refused { reason: String },
}

/// The ECDH with the node's static secret, as BOLT 8 defines it: SHA256 of the compressed
/// shared point. In production a remote HSM implements this; [`LocalStaticKey`] does it in
/// process for tests and development.
pub trait StaticKeyEcdh {
    /// The node's static public key (its node id).
    fn node_id(&self) -> PublicKey;
    /// `SHA256(compressed(point * node_secret))`.
    fn ecdh(&self, point: &PublicKey) -> Result<[u8; 32], EcdhError>;
}

/// A static secret key held in this process. For tests and development only: in production the
/// node secret stays in the HSM.
#[derive(Clone)]
pub struct LocalStaticKey(SecretKey);

impl LocalStaticKey {
    pub fn new(secret: SecretKey) -> Self {
        LocalStaticKey(secret)
    }
}

impl std::fmt::Debug for LocalStaticKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret itself.
        f.debug_tuple("LocalStaticKey")
            .field(&self.node_id())
            .finish()
    }
}

impl StaticKeyEcdh for LocalStaticKey {
    fn node_id(&self) -> PublicKey {
        PublicKey::from_secret_key(secp256k1::SECP256K1, &self.0)
    }

    fn ecdh(&self, point: &PublicKey) -> Result<[u8; 32], EcdhError> {
        Ok(ecdh(point, &self.0))
    }
}

/// BOLT 8 `ECDH(rk, k)`: SHA256 of the compressed shared point (libsecp256k1's default hash).
fn ecdh(point: &PublicKey, secret: &SecretKey) -> [u8; 32] {
    SharedSecret::new(point, secret).secret_bytes()
}

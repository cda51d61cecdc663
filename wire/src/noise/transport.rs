//! The message stream after the handshake: each message goes out as an encrypted 2-byte length
//! with its MAC, then the encrypted body with its MAC ("Lightning Message Specification").

use super::cipher::CipherState;
use super::decoder::Decryptor;
use super::{LENGTH_HEADER_LEN, MAC_LEN, MAX_MESSAGE_LEN};

/// Why the transport refused to send or could not decrypt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("message of {len} bytes exceeds the {MAX_MESSAGE_LEN} byte limit")]
    MessageTooLarge { len: usize },
    /// The peer sent bytes that do not authenticate. The decoder stays in this state for good:
    /// the stream cannot be resynchronised, the connection must be dropped.
    #[error("MAC check failed on the {part} of message {message_index}")]
    MacFailure {
        part: FramePart,
        /// How many messages were decrypted successfully before this one.
        message_index: u64,
    },
}

/// Which half of an encrypted frame failed to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramePart {
    LengthPrefix,
    Body,
}

impl std::fmt::Display for FramePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FramePart::LengthPrefix => "length prefix",
            FramePart::Body => "body",
        })
    }
}

/// The encrypted connection after a successful handshake: an [`Encryptor`] for what we send and
/// a [`Decryptor`] for what we receive. [`split`](Transport::split) them to give a socket's
/// writer and reader tasks one each.
///
/// Not `Clone`, nor are its halves: a copied sending state would reuse nonces.
#[derive(Debug)]
pub struct Transport {
    encryptor: Encryptor,
    decryptor: Decryptor,
}

impl Transport {
    pub(super) fn from_cipher_states(send: CipherState, receive: CipherState) -> Self {
        Transport {
            encryptor: Encryptor { cipher: send },
            decryptor: Decryptor::new(receive),
        }
    }

    /// The independent send and receive halves.
    pub fn split(self) -> (Encryptor, Decryptor) {
        (self.encryptor, self.decryptor)
    }

    /// Puts halves from [`split`](Transport::split) back together.
    pub fn join(encryptor: Encryptor, decryptor: Decryptor) -> Self {
        Transport {
            encryptor,
            decryptor,
        }
    }

    pub fn encryptor(&mut self) -> &mut Encryptor {
        &mut self.encryptor
    }

    pub fn decryptor(&mut self) -> &mut Decryptor {
        &mut self.decryptor
    }

    /// See [`Encryptor::encrypt_message`].
    pub fn encrypt_message(&mut self, message: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.encryptor.encrypt_message(message)
    }

    /// See [`Encryptor::encrypt_into`].
    pub fn encrypt_into(
        &mut self,
        out: &mut Vec<u8>,
        message: &[u8],
    ) -> Result<(), TransportError> {
        self.encryptor.encrypt_into(out, message)
    }

    /// See [`Encryptor::encrypt_batch`].
    pub fn encrypt_batch(&mut self, messages: &[&[u8]]) -> Result<Vec<u8>, TransportError> {
        self.encryptor.encrypt_batch(messages)
    }

    /// See [`Decryptor::feed`].
    pub fn feed(&mut self, bytes: &[u8]) {
        self.decryptor.feed(bytes)
    }

    /// See [`Decryptor::next_message`].
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        self.decryptor.next_message()
    }
}

/// The sending half: turns plaintext Lightning messages into wire bytes.
#[derive(Debug)]
pub struct Encryptor {
    cipher: CipherState,
}

impl Encryptor {
    #[cfg(test)]
    pub(super) fn cipher(&self) -> &CipherState {
        &self.cipher
    }

    /// The wire bytes of one message: `encrypt(len) || mac || encrypt(message) || mac`.
    pub fn encrypt_message(&mut self, message: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut out = Vec::with_capacity(encrypted_len(message.len()));
        self.encrypt_into(&mut out, message)?;
        Ok(out)
    }

    /// Appends the wire bytes of `message` to `out` (which may already hold earlier frames),
    /// encrypting in place so the body is copied once.
    pub fn encrypt_into(
        &mut self,
        out: &mut Vec<u8>,
        message: &[u8],
    ) -> Result<(), TransportError> {
        let len = u16::try_from(message.len())
            .map_err(|_| TransportError::MessageTooLarge { len: message.len() })?;
        out.reserve(encrypted_len(message.len()));

        let mut header = [0u8; LENGTH_HEADER_LEN];
        let (length, length_tag) = header.split_at_mut(2);
        length.copy_from_slice(&len.to_be_bytes());
        length_tag.copy_from_slice(&self.cipher.seal(length));
        out.extend_from_slice(&header);

        let body_start = out.len();
        out.extend_from_slice(message);
        let tag = self.cipher.seal(&mut out[body_start..]);
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Several messages in one buffer, encrypted one by one in order (e.g. a `start_batch` and
    /// its `commitment_signed`s, so they leave in one write). If any message is too large,
    /// nothing is encrypted and the nonce does not move.
    pub fn encrypt_batch(&mut self, messages: &[&[u8]]) -> Result<Vec<u8>, TransportError> {
        let mut total = 0;
        for message in messages {
            if message.len() > MAX_MESSAGE_LEN {
                return Err(TransportError::MessageTooLarge { len: message.len() });
            }
            total += encrypted_len(message.len());
        }
        let mut out = Vec::with_capacity(total);
        for message in messages {
            self.encrypt_into(&mut out, message)?;
        }
        Ok(out)
    }
}

/// Bytes on the wire for a message of `message_len` bytes.
pub fn encrypted_len(message_len: usize) -> usize {
    LENGTH_HEADER_LEN + message_len + MAC_LEN
}

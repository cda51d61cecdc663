//! The receiving half: a streaming decoder that takes bytes in whatever chunks the socket
//! delivers and yields whole decrypted messages.
//!
//! Frames are decrypted as soon as their bytes are complete, and each body is collected straight
//! into the `Vec` that is later handed out, so a message costs one copy (from the caller's
//! chunk) plus the in-place decryption.

use std::collections::VecDeque;

use super::cipher::CipherState;
use super::transport::{FramePart, TransportError};
use super::{LENGTH_HEADER_LEN, MAC_LEN};

/// Another name for [`Decryptor`], for code that thinks of it as the stream decoder.
pub type Decoder = Decryptor;

/// The receiving half of a [`Transport`](super::Transport): [`feed`](Decryptor::feed) it bytes,
/// take messages with [`next_message`](Decryptor::next_message).
#[derive(Debug)]
pub struct Decryptor {
    cipher: CipherState,
    frame: PartialFrame,
    /// Decrypted messages not yet taken.
    ready: VecDeque<Vec<u8>>,
    /// Set by the first MAC failure; from then on nothing is decrypted and this is returned
    /// (after the messages that authenticated before it).
    failure: Option<TransportError>,
    decrypted_messages: u64,
}

/// Where the decoder is inside the current frame.
#[derive(Debug, Clone)]
enum PartialFrame {
    /// Collecting the 18-byte encrypted length prefix.
    Header {
        bytes: [u8; LENGTH_HEADER_LEN],
        filled: usize,
    },
    /// Collecting the encrypted body and its tag; `buffer` has capacity `expected`.
    Body { buffer: Vec<u8>, expected: usize },
}

impl PartialFrame {
    fn empty_header() -> Self {
        PartialFrame::Header {
            bytes: [0u8; LENGTH_HEADER_LEN],
            filled: 0,
        }
    }
}

impl Decryptor {
    pub(super) fn new(cipher: CipherState) -> Self {
        Decryptor {
            cipher,
            frame: PartialFrame::empty_header(),
            ready: VecDeque::new(),
            failure: None,
            decrypted_messages: 0,
        }
    }

    #[cfg(test)]
    pub(super) fn cipher(&self) -> &CipherState {
        &self.cipher
    }

    /// Adds bytes received from the peer, split at any boundary. Frames are decrypted as soon as
    /// they are whole and queued until taken with [`next_message`](Self::next_message).
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.failure.is_none() {
            bytes = match &mut self.frame {
                PartialFrame::Header {
                    bytes: header,
                    filled,
                } => {
                    let (taken, rest) =
                        bytes.split_at(bytes.len().min(LENGTH_HEADER_LEN - *filled));
                    header[*filled..*filled + taken.len()].copy_from_slice(taken);
                    *filled += taken.len();
                    if *filled == LENGTH_HEADER_LEN {
                        let header = *header;
                        self.finish_header(header);
                    }
                    rest
                }
                PartialFrame::Body { buffer, expected } => {
                    let missing = *expected - buffer.len();
                    let (taken, rest) = bytes.split_at(bytes.len().min(missing));
                    buffer.extend_from_slice(taken);
                    if buffer.len() == *expected {
                        let buffer = std::mem::take(buffer);
                        self.finish_body(buffer);
                    }
                    rest
                }
            };
        }
    }

    /// The next whole message, `Ok(None)` if more bytes are needed, or the MAC failure that
    /// poisoned the stream (returned on every call from then on, once the messages that
    /// authenticated before it have been taken).
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        match (self.ready.pop_front(), &self.failure) {
            (Some(message), _) => Ok(Some(message)),
            (None, Some(failure)) => Err(failure.clone()),
            (None, None) => Ok(None),
        }
    }

    /// Whether a MAC failure has ended the stream.
    pub fn is_poisoned(&self) -> bool {
        self.failure.is_some()
    }

    /// Bytes received but not yet forming a whole frame (how far into the next frame we are).
    pub fn partial_frame_len(&self) -> usize {
        match &self.frame {
            PartialFrame::Header { filled, .. } => *filled,
            PartialFrame::Body { buffer, .. } => LENGTH_HEADER_LEN + buffer.len(),
        }
    }

    fn finish_header(&mut self, header: [u8; LENGTH_HEADER_LEN]) {
        let mut length = [header[0], header[1]];
        let mut tag = [0u8; MAC_LEN];
        tag.copy_from_slice(&header[2..]);
        if self.cipher.open(&mut length, &tag).is_err() {
            self.poison(FramePart::LengthPrefix);
            return;
        }
        // The length is authenticated, so allocating for it cannot be abused beyond 64 KiB.
        let expected = usize::from(u16::from_be_bytes(length)) + MAC_LEN;
        self.frame = PartialFrame::Body {
            buffer: Vec::with_capacity(expected),
            expected,
        };
    }

    fn finish_body(&mut self, mut buffer: Vec<u8>) {
        self.frame = PartialFrame::empty_header();
        let body_len = buffer.len() - MAC_LEN;
        let mut tag = [0u8; MAC_LEN];
        tag.copy_from_slice(&buffer[body_len..]);
        buffer.truncate(body_len);
        if self.cipher.open(&mut buffer, &tag).is_err() {
            self.poison(FramePart::Body);
            return;
        }
        self.decrypted_messages += 1;
        self.ready.push_back(buffer);
    }

    fn poison(&mut self, part: FramePart) {
        self.failure = Some(TransportError::MacFailure {
            part,
            message_index: self.decrypted_messages,
        });
    }
}

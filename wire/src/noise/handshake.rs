//! The three acts of `Noise_XK(s, rs)` as two state machines, one per role.
//!
//! ```text
//!    <- s
//!    ...
//!    -> e, es      act one   (responder: es needs its static secret)
//!    <- e, ee      act two
//!    -> s, se      act three (initiator: se needs its static secret)
//! ```
//!
//! The static-secret ECDH is always an explicit step ([`NeedsEcdh`]) so an async caller can ask a
//! remote HSM between steps; the `*_with` methods do the whole step with a [`StaticKeyEcdh`].

use secp256k1::{PublicKey, SecretKey};

use super::cipher::{aead_for, hkdf, open, seal, sha256, CipherState, MacMismatch};
use super::transport::Transport;
use super::{ecdh, EcdhError, StaticKeyEcdh, MAC_LEN};

/// Bytes of act one: version, compressed ephemeral key, tag.
pub const ACT_ONE_LEN: usize = 1 + 33 + MAC_LEN;
/// Bytes of act two: version, compressed ephemeral key, tag.
pub const ACT_TWO_LEN: usize = 1 + 33 + MAC_LEN;
/// Bytes of act three: version, encrypted static key and its tag, final tag.
pub const ACT_THREE_LEN: usize = 1 + 33 + MAC_LEN + MAC_LEN;

const PROTOCOL_NAME: &[u8] = b"Noise_XK_secp256k1_ChaChaPoly_SHA256";
const PROLOGUE: &[u8] = b"lightning";
/// The only handshake version BOLT 8 defines.
const VERSION: u8 = 0;

/// Why a handshake step failed. After any error the handshake is dead: every later call returns
/// [`HandshakeError::WrongState`], and the caller must drop the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("act {act}: unknown handshake version {version}")]
    BadVersion { act: u8, version: u8 },
    #[error("act {act}: expected {expected} bytes, got {actual}")]
    BadActLength {
        act: u8,
        expected: usize,
        actual: usize,
    },
    #[error("act {act}: invalid public key")]
    InvalidPublicKey { act: u8 },
    /// A Poly1305 tag did not verify (in act three: the final tag).
    #[error("act {act}: MAC check failed")]
    MacFailure { act: u8 },
    #[error("act three: MAC check of the encrypted static key failed")]
    StaticKeyMacFailure,
    #[error("static key ecdh failed: {0}")]
    Ecdh(#[from] EcdhError),
    #[error("{step} called while the handshake is {state}")]
    WrongState {
        step: &'static str,
        state: &'static str,
    },
}

/// The handshake is waiting for `SHA256(compressed(point * node_secret))`: compute it (or ask the
/// HSM to) and pass it to the matching `complete_*` method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedsEcdh {
    pub point: PublicKey,
}

/// A finished handshake: the encrypted transport and who is on the other side.
#[derive(Debug)]
pub struct HandshakeComplete {
    pub transport: Transport,
    /// The peer's static key: for the responder, learned in act three; for the initiator, the
    /// key it dialled.
    pub remote_node_id: PublicKey,
}

/// The running `ck` and `h` both sides keep during the handshake.
#[derive(Clone)]
struct SymmetricState {
    chaining_key: [u8; 32],
    hash: [u8; 32],
}

impl SymmetricState {
    /// Initialisation from "Handshake State Initialization", ending with the responder's static
    /// key (the initiator's `rs`, the responder's `ls`).
    fn new(responder_static: &PublicKey) -> Self {
        let protocol_hash = sha256(&[PROTOCOL_NAME]);
        let hash = sha256(&[&protocol_hash, PROLOGUE]);
        let mut state = SymmetricState {
            chaining_key: protocol_hash,
            hash,
        };
        state.mix_hash(&responder_static.serialize());
        state
    }

    fn mix_hash(&mut self, data: &[u8]) {
        self.hash = sha256(&[&self.hash, data]);
    }

    /// `ck, temp_k = HKDF(ck, ss)`; returns `temp_k`.
    fn mix_key(&mut self, shared_secret: &[u8; 32]) -> [u8; 32] {
        let (chaining_key, temp_key) = hkdf(&self.chaining_key, shared_secret);
        self.chaining_key = chaining_key;
        temp_key
    }

    /// `c = encryptWithAD(temp_k, n, h, plaintext); h = SHA256(h || c)`, in place: `buffer`
    /// holds the plaintext followed by room for the tag.
    fn encrypt_and_hash(&mut self, temp_key: &[u8; 32], n: u64, buffer: &mut [u8]) {
        let (plaintext, tag_space) = buffer.split_at_mut(buffer.len() - MAC_LEN);
        let tag = seal(&aead_for(temp_key), n, &self.hash, plaintext);
        tag_space.copy_from_slice(&tag);
        self.mix_hash(buffer);
    }

    /// `p = decryptWithAD(temp_k, n, h, c); h = SHA256(h || c)`; returns the plaintext.
    fn decrypt_and_hash<const N: usize>(
        &mut self,
        temp_key: &[u8; 32],
        n: u64,
        ciphertext: &[u8],
        tag: &[u8; MAC_LEN],
    ) -> Result<[u8; N], MacMismatch> {
        let mut plaintext = [0u8; N];
        if ciphertext.len() != N {
            return Err(MacMismatch);
        }
        plaintext.copy_from_slice(ciphertext);
        open(&aead_for(temp_key), n, &self.hash, &mut plaintext, tag)?;
        self.hash = sha256(&[&self.hash, ciphertext, tag]);
        Ok(plaintext)
    }

    /// `k1, k2 = HKDF(ck, zero)` split into the two directions, each starting with the final `ck`.
    fn into_transport(self, initiator: bool) -> Transport {
        let (initiator_key, responder_key) = hkdf(&self.chaining_key, &[]);
        let (send, receive) = if initiator {
            (initiator_key, responder_key)
        } else {
            (responder_key, initiator_key)
        };
        Transport::from_cipher_states(
            CipherState::new(self.chaining_key, send),
            CipherState::new(self.chaining_key, receive),
        )
    }
}

/// Splits an act into version, body and tag after checking its length and version.
fn parse_act<const LEN: usize>(
    act: u8,
    bytes: &[u8],
) -> Result<(&[u8], [u8; MAC_LEN]), HandshakeError> {
    if bytes.len() != LEN {
        return Err(HandshakeError::BadActLength {
            act,
            expected: LEN,
            actual: bytes.len(),
        });
    }
    let (version, rest) = bytes.split_first().ok_or(HandshakeError::BadActLength {
        act,
        expected: LEN,
        actual: 0,
    })?;
    if *version != VERSION {
        return Err(HandshakeError::BadVersion {
            act,
            version: *version,
        });
    }
    let (body, tag_bytes) = rest.split_at(rest.len() - MAC_LEN);
    let mut tag = [0u8; MAC_LEN];
    tag.copy_from_slice(tag_bytes);
    Ok((body, tag))
}

fn parse_public_key(act: u8, bytes: &[u8]) -> Result<PublicKey, HandshakeError> {
    PublicKey::from_slice(bytes).map_err(|_| HandshakeError::InvalidPublicKey { act })
}

fn fresh_ephemeral() -> SecretKey {
    SecretKey::new(&mut secp256k1::rand::thread_rng())
}

/// `0 || e.pub || encryptWithAD(temp_k, 0, h, zero)` with `ck, temp_k = HKDF(ck, ECDH(remote,
/// e.priv))`: the shape of acts one and two. Returns the act and `temp_k`.
fn ephemeral_act(
    symmetric: &mut SymmetricState,
    ephemeral: &SecretKey,
    remote: &PublicKey,
) -> ([u8; ACT_ONE_LEN], [u8; 32]) {
    let ephemeral_public = PublicKey::from_secret_key(secp256k1::SECP256K1, ephemeral).serialize();
    let mut act = [0u8; ACT_ONE_LEN];
    act[0] = VERSION;
    act[1..34].copy_from_slice(&ephemeral_public);
    symmetric.mix_hash(&ephemeral_public);
    let temp_key = symmetric.mix_key(&ecdh(remote, ephemeral));
    symmetric.encrypt_and_hash(&temp_key, 0, &mut act[34..]);
    (act, temp_key)
}

enum InitiatorState {
    Start,
    AwaitingActTwo,
    AwaitingEcdh { temp_k2: [u8; 32] },
    Done,
    Failed,
}

impl InitiatorState {
    fn name(&self) -> &'static str {
        match self {
            InitiatorState::Start => "waiting to send act one",
            InitiatorState::AwaitingActTwo => "waiting for act two",
            InitiatorState::AwaitingEcdh { .. } => "waiting for the static key ecdh",
            InitiatorState::Done => "complete",
            InitiatorState::Failed => "failed",
        }
    }
}

/// The dialling side: knows the responder's node id up front.
///
/// `act_one` → send; receive act two → `process_act_two` → [`NeedsEcdh`] →
/// `complete_act_two(shared_secret)` → send act three, use the transport.
pub struct InitiatorHandshake {
    local_node_id: PublicKey,
    remote_node_id: PublicKey,
    ephemeral: SecretKey,
    symmetric: SymmetricState,
    state: InitiatorState,
}

impl std::fmt::Debug for InitiatorHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitiatorHandshake")
            .field("remote_node_id", &self.remote_node_id)
            .field("state", &self.state.name())
            .finish_non_exhaustive()
    }
}

impl InitiatorHandshake {
    /// A handshake with a fresh random ephemeral key.
    pub fn new(local_node_id: PublicKey, remote_node_id: PublicKey) -> Self {
        Self::with_ephemeral(local_node_id, remote_node_id, fresh_ephemeral())
    }

    /// A handshake with a chosen ephemeral key. Only for test vectors and fuzzing: BOLT 8
    /// requires a fresh random key per session.
    pub fn with_ephemeral(
        local_node_id: PublicKey,
        remote_node_id: PublicKey,
        ephemeral: SecretKey,
    ) -> Self {
        InitiatorHandshake {
            local_node_id,
            remote_node_id,
            ephemeral,
            symmetric: SymmetricState::new(&remote_node_id),
            state: InitiatorState::Start,
        }
    }

    /// Act one, `-> e, es`, to send to the responder.
    pub fn act_one(&mut self) -> Result<[u8; ACT_ONE_LEN], HandshakeError> {
        self.expect_state("act_one", |s| matches!(s, InitiatorState::Start))?;
        let (act, _temp_k1) =
            ephemeral_act(&mut self.symmetric, &self.ephemeral, &self.remote_node_id);
        self.state = InitiatorState::AwaitingActTwo;
        Ok(act)
    }

    /// Checks act two, `<- e, ee`, and asks for the `se` ECDH with the responder's ephemeral key.
    pub fn process_act_two(&mut self, act_two: &[u8]) -> Result<NeedsEcdh, HandshakeError> {
        self.expect_state("process_act_two", |s| {
            matches!(s, InitiatorState::AwaitingActTwo)
        })?;
        let result = self.read_act_two(act_two);
        self.state = match &result {
            Ok((_, temp_k2)) => InitiatorState::AwaitingEcdh { temp_k2: *temp_k2 },
            Err(_) => InitiatorState::Failed,
        };
        result.map(|(point, _)| NeedsEcdh { point })
    }

    fn read_act_two(&mut self, act_two: &[u8]) -> Result<(PublicKey, [u8; 32]), HandshakeError> {
        let (body, tag) = parse_act::<ACT_TWO_LEN>(2, act_two)?;
        let responder_ephemeral = parse_public_key(2, body)?;
        self.symmetric.mix_hash(body);
        let temp_k2 = self
            .symmetric
            .mix_key(&ecdh(&responder_ephemeral, &self.ephemeral));
        self.symmetric
            .decrypt_and_hash::<0>(&temp_k2, 0, &[], &tag)
            .map_err(|MacMismatch| HandshakeError::MacFailure { act: 2 })?;
        Ok((responder_ephemeral, temp_k2))
    }

    /// Takes `ECDH(re, s.priv)` (see [`NeedsEcdh`]) and returns act three, `-> s, se`, plus the
    /// transport.
    pub fn complete_act_two(
        &mut self,
        shared_secret: [u8; 32],
    ) -> Result<([u8; ACT_THREE_LEN], HandshakeComplete), HandshakeError> {
        let InitiatorState::AwaitingEcdh { temp_k2, .. } = self.state else {
            return Err(self.wrong_state("complete_act_two"));
        };
        let mut act = [0u8; ACT_THREE_LEN];
        act[0] = VERSION;
        act[1..34].copy_from_slice(&self.local_node_id.serialize());
        self.symmetric
            .encrypt_and_hash(&temp_k2, 1, &mut act[1..50]);
        let temp_k3 = self.symmetric.mix_key(&shared_secret);
        self.symmetric.encrypt_and_hash(&temp_k3, 0, &mut act[50..]);
        self.state = InitiatorState::Done;
        let complete = HandshakeComplete {
            transport: self.symmetric.clone().into_transport(true),
            remote_node_id: self.remote_node_id,
        };
        Ok((act, complete))
    }

    /// [`process_act_two`](Self::process_act_two) and
    /// [`complete_act_two`](Self::complete_act_two) in one call, with a synchronous signer.
    pub fn process_act_two_with(
        &mut self,
        act_two: &[u8],
        static_key: &impl StaticKeyEcdh,
    ) -> Result<([u8; ACT_THREE_LEN], HandshakeComplete), HandshakeError> {
        let NeedsEcdh { point } = self.process_act_two(act_two)?;
        match static_key.ecdh(&point) {
            Ok(shared_secret) => self.complete_act_two(shared_secret),
            Err(error) => {
                self.state = InitiatorState::Failed;
                Err(error.into())
            }
        }
    }

    fn expect_state(
        &mut self,
        step: &'static str,
        ok: impl Fn(&InitiatorState) -> bool,
    ) -> Result<(), HandshakeError> {
        if ok(&self.state) {
            Ok(())
        } else {
            Err(self.wrong_state(step))
        }
    }

    /// Calling a step out of order kills the handshake: the caller has lost track of it.
    fn wrong_state(&mut self, step: &'static str) -> HandshakeError {
        let error = HandshakeError::WrongState {
            step,
            state: self.state.name(),
        };
        self.state = InitiatorState::Failed;
        error
    }
}

enum ResponderState {
    AwaitingActOne,
    AwaitingEcdh {
        initiator_ephemeral: PublicKey,
        act_one_tag: [u8; MAC_LEN],
    },
    AwaitingActThree {
        temp_k2: [u8; 32],
    },
    Done,
    Failed,
}

impl ResponderState {
    fn name(&self) -> &'static str {
        match self {
            ResponderState::AwaitingActOne => "waiting for act one",
            ResponderState::AwaitingEcdh { .. } => "waiting for the static key ecdh",
            ResponderState::AwaitingActThree { .. } => "waiting for act three",
            ResponderState::Done => "complete",
            ResponderState::Failed => "failed",
        }
    }
}

/// The listening side: learns the initiator's node id in act three.
///
/// receive act one → `process_act_one` → [`NeedsEcdh`] → `complete_act_one(shared_secret)` →
/// send act two; receive act three → `process_act_three` → use the transport.
pub struct ResponderHandshake {
    ephemeral: SecretKey,
    symmetric: SymmetricState,
    state: ResponderState,
}

impl std::fmt::Debug for ResponderHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponderHandshake")
            .field("state", &self.state.name())
            .finish_non_exhaustive()
    }
}

impl ResponderHandshake {
    /// A handshake with a fresh random ephemeral key.
    pub fn new(local_node_id: PublicKey) -> Self {
        Self::with_ephemeral(local_node_id, fresh_ephemeral())
    }

    /// A handshake with a chosen ephemeral key. Only for test vectors and fuzzing: BOLT 8
    /// requires a fresh random key per session.
    pub fn with_ephemeral(local_node_id: PublicKey, ephemeral: SecretKey) -> Self {
        ResponderHandshake {
            ephemeral,
            symmetric: SymmetricState::new(&local_node_id),
            state: ResponderState::AwaitingActOne,
        }
    }

    /// Parses act one, `-> e, es`, and asks for the `es` ECDH with the initiator's ephemeral key.
    /// Its tag is checked in [`complete_act_one`](Self::complete_act_one), once the key exists.
    pub fn process_act_one(&mut self, act_one: &[u8]) -> Result<NeedsEcdh, HandshakeError> {
        if !matches!(self.state, ResponderState::AwaitingActOne) {
            return Err(self.wrong_state("process_act_one"));
        }
        let parsed = parse_act::<ACT_ONE_LEN>(1, act_one)
            .and_then(|(body, tag)| Ok((parse_public_key(1, body)?, body, tag)));
        match parsed {
            Ok((initiator_ephemeral, body, act_one_tag)) => {
                self.symmetric.mix_hash(body);
                self.state = ResponderState::AwaitingEcdh {
                    initiator_ephemeral,
                    act_one_tag,
                };
                Ok(NeedsEcdh {
                    point: initiator_ephemeral,
                })
            }
            Err(error) => {
                self.state = ResponderState::Failed;
                Err(error)
            }
        }
    }

    /// Takes `ECDH(re, s.priv)` (see [`NeedsEcdh`]), checks act one's tag and returns act two,
    /// `<- e, ee`.
    pub fn complete_act_one(
        &mut self,
        shared_secret: [u8; 32],
    ) -> Result<[u8; ACT_TWO_LEN], HandshakeError> {
        let ResponderState::AwaitingEcdh {
            initiator_ephemeral,
            act_one_tag,
        } = self.state
        else {
            return Err(self.wrong_state("complete_act_one"));
        };
        let temp_k1 = self.symmetric.mix_key(&shared_secret);
        if self
            .symmetric
            .decrypt_and_hash::<0>(&temp_k1, 0, &[], &act_one_tag)
            .is_err()
        {
            self.state = ResponderState::Failed;
            return Err(HandshakeError::MacFailure { act: 1 });
        }
        let (act_two, temp_k2) =
            ephemeral_act(&mut self.symmetric, &self.ephemeral, &initiator_ephemeral);
        self.state = ResponderState::AwaitingActThree { temp_k2 };
        Ok(act_two)
    }

    /// [`process_act_one`](Self::process_act_one) and
    /// [`complete_act_one`](Self::complete_act_one) in one call, with a synchronous signer.
    pub fn process_act_one_with(
        &mut self,
        act_one: &[u8],
        static_key: &impl StaticKeyEcdh,
    ) -> Result<[u8; ACT_TWO_LEN], HandshakeError> {
        let NeedsEcdh { point } = self.process_act_one(act_one)?;
        match static_key.ecdh(&point) {
            Ok(shared_secret) => self.complete_act_one(shared_secret),
            Err(error) => {
                self.state = ResponderState::Failed;
                Err(error.into())
            }
        }
    }

    /// Checks act three, `-> s, se`, and returns the transport and the initiator's node id.
    pub fn process_act_three(
        &mut self,
        act_three: &[u8],
    ) -> Result<HandshakeComplete, HandshakeError> {
        let ResponderState::AwaitingActThree { temp_k2 } = self.state else {
            return Err(self.wrong_state("process_act_three"));
        };
        let result = self.read_act_three(act_three, &temp_k2);
        self.state = match &result {
            Ok(_) => ResponderState::Done,
            Err(_) => ResponderState::Failed,
        };
        let remote_node_id = result?;
        Ok(HandshakeComplete {
            transport: self.symmetric.clone().into_transport(false),
            remote_node_id,
        })
    }

    fn read_act_three(
        &mut self,
        act_three: &[u8],
        temp_k2: &[u8; 32],
    ) -> Result<PublicKey, HandshakeError> {
        let (body, final_tag) = parse_act::<ACT_THREE_LEN>(3, act_three)?;
        let (encrypted_static, static_tag) = body.split_at(33);
        let mut static_tag_array = [0u8; MAC_LEN];
        static_tag_array.copy_from_slice(static_tag);
        let static_key = self
            .symmetric
            .decrypt_and_hash::<33>(temp_k2, 1, encrypted_static, &static_tag_array)
            .map_err(|MacMismatch| HandshakeError::StaticKeyMacFailure)?;
        let initiator_static = parse_public_key(3, &static_key)?;
        let temp_k3 = self
            .symmetric
            .mix_key(&ecdh(&initiator_static, &self.ephemeral));
        self.symmetric
            .decrypt_and_hash::<0>(&temp_k3, 0, &[], &final_tag)
            .map_err(|MacMismatch| HandshakeError::MacFailure { act: 3 })?;
        Ok(initiator_static)
    }

    /// Calling a step out of order kills the handshake: the caller has lost track of it.
    fn wrong_state(&mut self, step: &'static str) -> HandshakeError {
        let error = HandshakeError::WrongState {
            step,
            state: self.state.name(),
        };
        self.state = ResponderState::Failed;
        error
    }
}

//! Channel operations behind a validating policy: the HSM builds every commitment and closing
//! transaction itself from semantic requests, checks the request against the [`Policy`] and the
//! channel's durable state, commits the new state to the [`Store`], and only then answers.
//!
//! - [`types`]: the channel setup and the request/response contents.
//! - [`state`]: the durable per-channel state.
//! - [`build`]: transactions from setup + semantics (wire crate's BOLT 3 code).
//! - [`secrets`]: the counterparty's released per-commitment secrets, compact and serializable.
//!
//! The order of every mutating operation is: load, check, compute, commit (fsync), return. A
//! crash at any point either loses the whole operation (nothing was answered) or keeps it.

use bitcoin::ecdsa;
use bitcoin::sighash::EcdsaSighashType;
use bitcoin::{Amount, ScriptBuf, Transaction};
use lnfleet_wire::bolt3::keys::{derive_private_key, per_commitment_point};
use lnfleet_wire::bolt3::shachain::per_commitment_secret_for_commitment;
use lnfleet_wire::bolt3::signing::{
    funding_witness, remote_htlc_sighash_type, sign_p2wsh, verify_p2wsh,
};
use secp256k1::ecdsa::Signature;
use secp256k1::PublicKey;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::derivation::{ChannelKeyId, ChannelPublicKeys};
use crate::policy::{ensure, rules, Policy, PolicyViolation};
use crate::signer::{Signer, SignerError};
use crate::store::{RequestKey, Store, StoreError};

pub mod build;
pub mod secrets;
pub mod state;
pub mod types;

#[cfg(test)]
mod tests;

pub use build::BuildError;
pub use secrets::CounterpartySecrets;
pub use state::{ChannelRecord, ChannelState, HolderCommitment, ShutdownScripts};
pub use types::{
    ChannelSetup, CommitmentInfo, CounterpartyCommitmentSignatures, HolderRevocation, HtlcInfo,
    MutualCloseInfo,
};

use build::{build_commitment, build_mutual_close, funding_script, Owner};

/// Why a channel operation was refused or failed. Nothing was committed in any case.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error("cannot build the transaction: {0}")]
    Build(#[from] BuildError),
    #[error("idempotent response does not encode or decode: {0}")]
    Response(bincode::Error),
}

impl ChannelError {
    /// The policy rule that refused the request, if it was a policy refusal.
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            ChannelError::Policy(violation) => Some(violation.rule),
            _ => None,
        }
    }
}

impl From<lnfleet_wire::bolt3::keys::KeyDerivationError> for ChannelError {
    fn from(error: lnfleet_wire::bolt3::keys::KeyDerivationError) -> Self {
        ChannelError::Build(error.into())
    }
}

impl From<lnfleet_wire::bolt3::shachain::ShachainError> for ChannelError {
    fn from(error: lnfleet_wire::bolt3::shachain::ShachainError) -> Self {
        ChannelError::Build(error.into())
    }
}

impl From<lnfleet_wire::bolt3::signing::SigningError> for ChannelError {
    fn from(error: lnfleet_wire::bolt3::signing::SigningError) -> Self {
        ChannelError::Build(error.into())
    }
}

/// No new commitment once we signed our own for broadcast or signed a mutual close.
fn ensure_open(state: &ChannelState) -> Result<(), PolicyViolation> {
    ensure(
        !state.force_closed && !state.mutual_close_signed,
        rules::CHANNEL_CLOSED,
        || {
            if state.force_closed {
                "our commitment was signed for broadcast".into()
            } else {
                "a mutual close was signed".into()
            }
        },
    )
}

/// Our own commitment, signed by both sides, ready to broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHolderCommitment {
    /// The commitment with the complete funding witness.
    pub tx: Transaction,
    pub holder_signature: Signature,
    /// The second-stage HTLC transactions of its untrimmed HTLCs, in output order.
    pub htlc_transactions: Vec<SignedHolderHtlc>,
}

/// One HTLC-success or HTLC-timeout transaction of our commitment with both signatures; the
/// caller adds the preimage (success) and builds the witness with the wire crate's
/// `htlc_success_witness` / `htlc_timeout_witness`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHolderHtlc {
    /// Without witness.
    pub tx: Transaction,
    /// Position of the HTLC in the validated commitment's `htlcs`.
    pub htlc_index: usize,
    /// The commitment output's witness script this transaction spends.
    pub witness_script: ScriptBuf,
    /// Ours, `SIGHASH_ALL`.
    pub holder_signature: bitcoin::ecdsa::Signature,
    /// The counterparty's, with its sighash type (`SINGLE|ANYONECANPAY` for anchors).
    pub counterparty_signature: bitcoin::ecdsa::Signature,
}

/// Our signature on a mutual close, and the transaction it signs (without witness).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutualCloseSignature {
    pub tx: Transaction,
    pub signature: Signature,
}

/// The channel signer: keys ([`Signer`]), durable state ([`Store`]) and rules ([`Policy`]).
///
/// Mutating operations take `&mut self`: each one loads, checks and commits a channel's state,
/// and two interleaved on the same channel could both pass a check meant to let only one
/// through (two signatures for one commitment number). A service shares it behind a mutex;
/// redb's file lock keeps a second process off the same database.
#[derive(Debug)]
pub struct ChannelSigner {
    signer: Signer,
    store: Store,
    policy: Policy,
    /// Inside [`ChannelSigner::idempotent`]: the records to commit together with the response.
    pending: Option<Vec<(ChannelKeyId, ChannelRecord)>>,
}

impl ChannelSigner {
    pub fn new(signer: Signer, store: Store, policy: Policy) -> ChannelSigner {
        ChannelSigner {
            signer,
            store,
            policy,
            pending: None,
        }
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Gives back the store (to reopen it in tests, or to shut down cleanly).
    pub fn into_parts(self) -> (Signer, Store, Policy) {
        (self.signer, self.store, self.policy)
    }

    /// Registers a channel and returns our funding pubkey and basepoints (for `open_channel` /
    /// `accept_channel`, before the setup is known). Calling it again returns the same keys and
    /// leaves an existing record untouched.
    pub fn new_channel(&mut self, id: &ChannelKeyId) -> Result<ChannelPublicKeys, ChannelError> {
        let keys = self.signer.channel_public_keys(id)?;
        if self.stored_record(id)?.is_none() {
            self.commit(id, ChannelRecord::default())?;
        }
        Ok(keys)
    }

    /// Fixes the channel's setup, once.
    pub fn setup_channel(
        &mut self,
        id: &ChannelKeyId,
        setup: ChannelSetup,
    ) -> Result<(), ChannelError> {
        let mut record = self.record(id)?;
        ensure(record.setup.is_none(), rules::CHANNEL_ALREADY_SETUP, || {
            "the setup of a channel cannot change".into()
        })?;
        self.policy.check_setup(&setup)?;
        record.setup = Some(setup);
        self.commit(id, record)?;
        Ok(())
    }

    /// Our per-commitment point for commitment `number` (points reveal nothing; no state).
    pub fn per_commitment_point(
        &self,
        id: &ChannelKeyId,
        number: u64,
    ) -> Result<PublicKey, ChannelError> {
        self.record(id)?;
        self.holder_point(id, number)
    }

    /// Checks the counterparty's signatures on our commitment `number` (built here from `info`)
    /// and, only if they verify, revokes commitment `number - 1`: the new state is durable
    /// before the secret is returned.
    pub fn validate_holder_commitment_and_revoke(
        &mut self,
        id: &ChannelKeyId,
        number: u64,
        info: &CommitmentInfo,
        counterparty_signature: &Signature,
        counterparty_htlc_signatures: &[Signature],
    ) -> Result<HolderRevocation, ChannelError> {
        let (mut record, setup) = self.setup_record(id)?;
        let state = &record.state;
        ensure_open(state)?;
        let expected = state.next_holder_commitment();
        ensure(
            number == expected,
            rules::COMMITMENT_NUMBER_SEQUENCE,
            || format!("holder commitment {number} given, {expected} expected"),
        )?;
        self.policy.check_commitment(&setup, info)?;

        let holder_keys = self.signer.channel_public_keys(id)?;
        let point = self.holder_point(id, number)?;
        let built = build_commitment(&setup, &holder_keys, Owner::Holder, number, info, &point)?;
        let funding = funding_script(&setup, &holder_keys);
        let funding_amount = Amount::from_sat(setup.funding_amount_sat);
        let signature = ecdsa::Signature {
            signature: *counterparty_signature,
            sighash_type: EcdsaSighashType::All,
        };
        let valid = verify_p2wsh(
            &built.commitment.tx,
            0,
            &funding,
            funding_amount,
            &signature,
            &setup.counterparty_keys.funding_pubkey,
        )?;
        ensure(valid, rules::COUNTERPARTY_SIGNATURE_INVALID, || {
            format!("counterparty signature on holder commitment {number} does not verify")
        })?;
        ensure(
            built.htlc_txs.len() == counterparty_htlc_signatures.len(),
            rules::COUNTERPARTY_HTLC_SIGNATURE_INVALID,
            || {
                format!(
                    "{} htlc signatures for {} htlc outputs",
                    counterparty_htlc_signatures.len(),
                    built.htlc_txs.len()
                )
            },
        )?;
        let htlc_sighash = remote_htlc_sighash_type(setup.commitment_format);
        for (position, (htlc_tx, htlc_signature)) in built
            .htlc_txs
            .iter()
            .zip(counterparty_htlc_signatures)
            .enumerate()
        {
            let valid = verify_p2wsh(
                &htlc_tx.tx,
                0,
                &htlc_tx.spent_witness_script,
                htlc_tx.spent_amount,
                &ecdsa::Signature {
                    signature: *htlc_signature,
                    sighash_type: htlc_sighash,
                },
                &built.keys.remote_htlc_pubkey,
            )?;
            ensure(valid, rules::COUNTERPARTY_HTLC_SIGNATURE_INVALID, || {
                format!("htlc signature {position} of holder commitment {number} does not verify")
            })?;
        }

        let revoked_number = number.checked_sub(1);
        let per_commitment_secret = revoked_number
            .map(|revoked| self.holder_secret(id, revoked))
            .transpose()?;
        let next_per_commitment_point = self.holder_point(id, number.saturating_add(1))?;
        record.state.latest_holder = Some(HolderCommitment {
            number,
            info: info.clone(),
            counterparty_signature: *counterparty_signature,
            counterparty_htlc_signatures: counterparty_htlc_signatures.to_vec(),
        });
        if revoked_number.is_some() {
            record.state.highest_revoked_holder = revoked_number;
        }
        // Durable before the secret leaves the HSM.
        self.commit(id, record)?;
        Ok(HolderRevocation {
            revoked_number,
            per_commitment_secret,
            next_per_commitment_point,
        })
    }

    /// The secret of holder commitment `number` again (retransmitting `revoke_and_ack` after a
    /// reconnection), only if a validly signed newer commitment supersedes it.
    pub fn release_holder_secret(
        &self,
        id: &ChannelKeyId,
        number: u64,
    ) -> Result<[u8; 32], ChannelError> {
        let (record, _) = self.setup_record(id)?;
        let superseded = record
            .state
            .latest_holder
            .as_ref()
            .is_some_and(|latest| number < latest.number);
        ensure(superseded, rules::REVOKE_ONLY_SUPERSEDED, || {
            format!("holder commitment {number} is not superseded by a validated one")
        })?;
        self.holder_secret(id, number)
    }

    /// Signs the counterparty's commitment `number`, built here from `info` and their point.
    pub fn sign_counterparty_commitment(
        &mut self,
        id: &ChannelKeyId,
        number: u64,
        info: &CommitmentInfo,
        counterparty_point: &PublicKey,
    ) -> Result<CounterpartyCommitmentSignatures, ChannelError> {
        let (mut record, setup) = self.setup_record(id)?;
        let state = &record.state;
        ensure_open(state)?;
        let expected = state.next_counterparty_commitment;
        ensure(
            number == expected,
            rules::COMMITMENT_NUMBER_SEQUENCE,
            || format!("counterparty commitment {number} given, {expected} expected"),
        )?;
        // At most two unrevoked counterparty commitments (BOLT 2: one commitment_signed in flight).
        let revoked_through = state.next_counterparty_revocation();
        ensure(
            number < revoked_through.saturating_add(2),
            rules::COUNTERPARTY_REVOCATION_MISSING,
            || {
                format!(
                    "counterparty commitment {} must be revoked before {number} is signed",
                    number.saturating_sub(2)
                )
            },
        )?;
        self.policy.check_commitment(&setup, info)?;

        let secrets = self.signer.channel_secrets(id)?;
        let holder_keys = secrets.public_keys();
        let built = build_commitment(
            &setup,
            &holder_keys,
            Owner::Counterparty,
            number,
            info,
            counterparty_point,
        )?;
        let signature = sign_p2wsh(
            &built.commitment.tx,
            0,
            &funding_script(&setup, &holder_keys),
            Amount::from_sat(setup.funding_amount_sat),
            EcdsaSighashType::All,
            &secrets.funding_key,
        )?
        .signature;
        let htlc_key = derive_private_key(&secrets.htlc_base_secret, counterparty_point)?;
        let htlc_sighash = remote_htlc_sighash_type(setup.commitment_format);
        let htlc_signatures = built
            .htlc_txs
            .iter()
            .map(|htlc_tx| {
                sign_p2wsh(
                    &htlc_tx.tx,
                    0,
                    &htlc_tx.spent_witness_script,
                    htlc_tx.spent_amount,
                    htlc_sighash,
                    &htlc_key,
                )
                .map(|signature| signature.signature)
            })
            .collect::<Result<Vec<_>, _>>()?;

        record.state.next_counterparty_commitment = number.saturating_add(1);
        record
            .state
            .counterparty_points
            .push(state::CounterpartyPoint {
                number,
                point: *counterparty_point,
            });
        self.commit(id, record)?;
        Ok(CounterpartyCommitmentSignatures {
            signature,
            htlc_signatures,
        })
    }

    /// Records the counterparty's revocation of its commitment `number` (from `revoke_and_ack`):
    /// the secret must match the point we signed that commitment with and the earlier secrets.
    pub fn validate_counterparty_revocation(
        &mut self,
        id: &ChannelKeyId,
        number: u64,
        secret: &[u8; 32],
    ) -> Result<(), ChannelError> {
        let (mut record, _) = self.setup_record(id)?;
        let state = &mut record.state;
        let expected = state.next_counterparty_revocation();
        ensure(
            number == expected,
            rules::COMMITMENT_NUMBER_SEQUENCE,
            || format!("revocation of counterparty commitment {number} given, {expected} expected"),
        )?;
        let signed = state
            .counterparty_points
            .iter()
            .find(|signed| signed.number == number)
            .map(|signed| signed.point);
        let point = per_commitment_point(secret).ok();
        ensure(
            signed.is_some() && point == signed,
            rules::COUNTERPARTY_SECRET_INVALID,
            || format!("secret does not match the point of counterparty commitment {number}"),
        )?;
        state
            .counterparty_secrets
            .insert(number, *secret)
            .map_err(|error| {
                PolicyViolation::new(rules::COUNTERPARTY_SECRET_INVALID, error.to_string())
            })?;
        state
            .counterparty_points
            .retain(|signed| signed.number > number);
        self.commit(id, record)?;
        Ok(())
    }

    /// Signs our latest validated commitment for a unilateral close. Never a revoked one; no
    /// further commitments are signed or validated afterwards.
    pub fn sign_holder_commitment(
        &mut self,
        id: &ChannelKeyId,
        number: u64,
    ) -> Result<SignedHolderCommitment, ChannelError> {
        let (mut record, setup) = self.setup_record(id)?;
        let revoked = record
            .state
            .highest_revoked_holder
            .is_some_and(|highest| number <= highest);
        ensure(!revoked, rules::NO_SIGN_REVOKED_COMMITMENT, || {
            format!("holder commitment {number} was revoked")
        })?;
        let latest = record.state.latest_holder.clone().ok_or_else(|| {
            PolicyViolation::new(
                rules::COMMITMENT_NUMBER_SEQUENCE,
                "no validated holder commitment",
            )
        })?;
        ensure(
            latest.number == number,
            rules::COMMITMENT_NUMBER_SEQUENCE,
            || {
                format!(
                    "holder commitment {number} is not the latest ({})",
                    latest.number
                )
            },
        )?;

        let secrets = self.signer.channel_secrets(id)?;
        let holder_keys = secrets.public_keys();
        let point = self.holder_point(id, number)?;
        let built = build_commitment(
            &setup,
            &holder_keys,
            Owner::Holder,
            number,
            &latest.info,
            &point,
        )?;
        let funding = funding_script(&setup, &holder_keys);
        let holder_signature = sign_p2wsh(
            &built.commitment.tx,
            0,
            &funding,
            Amount::from_sat(setup.funding_amount_sat),
            EcdsaSighashType::All,
            &secrets.funding_key,
        )?;
        let counterparty_signature = ecdsa::Signature {
            signature: latest.counterparty_signature,
            sighash_type: EcdsaSighashType::All,
        };
        let mut tx = built.commitment.tx;
        if let Some(input) = tx.input.first_mut() {
            input.witness = funding_witness(
                &funding,
                (&holder_keys.funding_pubkey, &holder_signature),
                (
                    &setup.counterparty_keys.funding_pubkey,
                    &counterparty_signature,
                ),
            );
        }
        let htlc_key = derive_private_key(&secrets.htlc_base_secret, &point)?;
        let counterparty_sighash = remote_htlc_sighash_type(setup.commitment_format);
        let htlc_transactions = built
            .htlc_txs
            .into_iter()
            .zip(&latest.counterparty_htlc_signatures)
            .map(|(htlc_tx, counterparty_signature)| {
                let holder_signature = sign_p2wsh(
                    &htlc_tx.tx,
                    0,
                    &htlc_tx.spent_witness_script,
                    htlc_tx.spent_amount,
                    EcdsaSighashType::All,
                    &htlc_key,
                )?;
                Ok(SignedHolderHtlc {
                    tx: htlc_tx.tx,
                    htlc_index: htlc_tx.htlc_index,
                    witness_script: htlc_tx.spent_witness_script,
                    holder_signature,
                    counterparty_signature: ecdsa::Signature {
                        signature: *counterparty_signature,
                        sighash_type: counterparty_sighash,
                    },
                })
            })
            .collect::<Result<Vec<_>, ChannelError>>()?;
        record.state.force_closed = true;
        self.commit(id, record)?;
        Ok(SignedHolderCommitment {
            tx,
            holder_signature: holder_signature.signature,
            htlc_transactions,
        })
    }

    /// Registers the mutual close destinations at shutdown: once, and equal to the upfront
    /// scripts where those were set.
    pub fn set_shutdown_scripts(
        &mut self,
        id: &ChannelKeyId,
        holder: ScriptBuf,
        counterparty: ScriptBuf,
    ) -> Result<(), ChannelError> {
        let (mut record, setup) = self.setup_record(id)?;
        for (upfront, given, side) in [
            (&setup.holder_upfront_shutdown_script, &holder, "holder"),
            (
                &setup.counterparty_upfront_shutdown_script,
                &counterparty,
                "counterparty",
            ),
        ] {
            ensure(
                upfront.as_ref().is_none_or(|upfront| upfront == given),
                rules::SHUTDOWN_SCRIPTS_IMMUTABLE,
                || format!("{side} shutdown script differs from the upfront one"),
            )?;
        }
        let scripts = ShutdownScripts {
            holder,
            counterparty,
        };
        match &record.state.shutdown_scripts {
            Some(registered) => {
                ensure(
                    registered == &scripts,
                    rules::SHUTDOWN_SCRIPTS_IMMUTABLE,
                    || "shutdown scripts were already registered".into(),
                )?;
                Ok(())
            }
            None => {
                record.state.shutdown_scripts = Some(scripts);
                self.commit(id, record)?;
                Ok(())
            }
        }
    }

    /// Signs the closing transaction built here from `info`, paying only to the agreed scripts
    /// and at least our balance (less the fee when we opened).
    pub fn sign_mutual_close(
        &mut self,
        id: &ChannelKeyId,
        info: &MutualCloseInfo,
    ) -> Result<MutualCloseSignature, ChannelError> {
        let (mut record, setup) = self.setup_record(id)?;
        let state = &record.state;
        let holder_destination = setup
            .holder_upfront_shutdown_script
            .as_ref()
            .or(state.shutdown_scripts.as_ref().map(|s| &s.holder));
        let counterparty_destination = setup
            .counterparty_upfront_shutdown_script
            .as_ref()
            .or(state.shutdown_scripts.as_ref().map(|s| &s.counterparty));
        ensure(
            holder_destination == Some(&info.holder_script)
                && (info.counterparty_value_sat == 0
                    || counterparty_destination == Some(&info.counterparty_script)),
            rules::MUTUAL_CLOSE_DESTINATION,
            || "mutual close pays to a script that was not agreed".into(),
        )?;
        let latest = state.latest_holder.as_ref().ok_or_else(|| {
            PolicyViolation::new(
                rules::MUTUAL_CLOSE_AMOUNTS,
                "no validated holder commitment",
            )
        })?;
        ensure(
            latest.info.htlcs.is_empty(),
            rules::MUTUAL_CLOSE_PENDING_HTLCS,
            || format!("{} htlcs pending", latest.info.htlcs.len()),
        )?;
        let holder_balance_sat = latest.info.to_holder_msat / 1000;
        let expected_holder_sat = if setup.holder_is_opener {
            holder_balance_sat.saturating_sub(info.fee_sat)
        } else {
            holder_balance_sat
        };
        let total = info
            .holder_value_sat
            .checked_add(info.counterparty_value_sat)
            .and_then(|total| total.checked_add(info.fee_sat));
        ensure(
            info.fee_sat <= self.policy.max_mutual_close_fee_sat
                && info.holder_value_sat >= expected_holder_sat
                && total == Some(setup.funding_amount_sat),
            rules::MUTUAL_CLOSE_AMOUNTS,
            || {
                format!(
                    "fee {} sat (limit {}), ours {} sat (at least {expected_holder_sat}), \
                     total {total:?} of funding {}",
                    info.fee_sat,
                    self.policy.max_mutual_close_fee_sat,
                    info.holder_value_sat,
                    setup.funding_amount_sat
                )
            },
        )?;

        let secrets = self.signer.channel_secrets(id)?;
        let tx = build_mutual_close(&setup, info);
        let signature = sign_p2wsh(
            &tx,
            0,
            &funding_script(&setup, &secrets.public_keys()),
            Amount::from_sat(setup.funding_amount_sat),
            EcdsaSighashType::All,
            &secrets.funding_key,
        )?
        .signature;
        record.state.mutual_close_signed = true;
        self.commit(id, record)?;
        Ok(MutualCloseSignature { tx, signature })
    }

    /// Runs `operation` at most once per (client, request id): a retry with the same payload
    /// gets the stored response, another payload under the same id is a conflict.
    ///
    /// The channel records the operation changes and the response are committed in one
    /// transaction, so after a crash either both are on disk or neither. If the operation fails,
    /// nothing is committed. A nested call runs as part of the outer one.
    pub fn idempotent<T: Serialize + DeserializeOwned>(
        &mut self,
        request: &RequestKey,
        operation: impl FnOnce(&mut ChannelSigner) -> Result<T, ChannelError>,
    ) -> Result<T, ChannelError> {
        if let Some(bytes) = self.store.response(request)? {
            return bincode::deserialize(&bytes).map_err(ChannelError::Response);
        }
        if self.pending.is_some() {
            return operation(self);
        }
        self.pending = Some(Vec::new());
        let result = operation(self);
        let records = self.pending.take().unwrap_or_default();
        let response = result?;
        let bytes = bincode::serialize(&response).map_err(ChannelError::Response)?;
        self.store
            .put_channels_with_response(&records, Some((request, &bytes)))?;
        Ok(response)
    }

    /// Makes a new channel record durable (or, inside [`ChannelSigner::idempotent`], queues it
    /// for the request's transaction).
    fn commit(&mut self, id: &ChannelKeyId, record: ChannelRecord) -> Result<(), ChannelError> {
        match &mut self.pending {
            Some(pending) => {
                pending.retain(|(queued, _)| queued != id);
                pending.push((*id, record));
            }
            None => self.store.put_channel(id, &record)?,
        }
        Ok(())
    }

    /// The current record: a queued one inside an idempotent request, else the stored one.
    fn stored_record(&self, id: &ChannelKeyId) -> Result<Option<ChannelRecord>, ChannelError> {
        let queued = self
            .pending
            .iter()
            .flatten()
            .find(|(queued, _)| queued == id)
            .map(|(_, record)| record.clone());
        match queued {
            Some(record) => Ok(Some(record)),
            None => Ok(self.store.channel(id)?),
        }
    }

    fn record(&self, id: &ChannelKeyId) -> Result<ChannelRecord, ChannelError> {
        self.stored_record(id)?.ok_or_else(|| {
            PolicyViolation::new(
                rules::UNKNOWN_CHANNEL,
                format!("channel {} with peer {}", id.channel_db_id, id.peer_id),
            )
            .into()
        })
    }

    fn setup_record(
        &self,
        id: &ChannelKeyId,
    ) -> Result<(ChannelRecord, ChannelSetup), ChannelError> {
        let record = self.record(id)?;
        let setup = record.setup.clone().ok_or_else(|| {
            PolicyViolation::new(
                rules::CHANNEL_NOT_SETUP,
                format!("channel {} has no setup yet", id.channel_db_id),
            )
        })?;
        Ok((record, setup))
    }

    fn holder_secret(&self, id: &ChannelKeyId, number: u64) -> Result<[u8; 32], ChannelError> {
        let seed = self.signer.shachain_seed(id)?;
        Ok(per_commitment_secret_for_commitment(&seed, number)?)
    }

    fn holder_point(&self, id: &ChannelKeyId, number: u64) -> Result<PublicKey, ChannelError> {
        Ok(per_commitment_point(&self.holder_secret(id, number)?)?)
    }
}

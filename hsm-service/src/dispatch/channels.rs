//! Channel requests: from the contract's byte-level types to the [`ChannelSigner`]'s, inside the
//! store's idempotency transaction, and back.

use bitcoin::consensus::encode::serialize;
use bitcoin::hashes::Hash;
use bitcoin::{OutPoint, ScriptBuf, Txid};
use lnfleet_actors::contracts;
use lnfleet_actors::hsm::{
    ChannelBasepoints, ChannelSetupInfo, HsmError, HsmRequest, HsmResponse, PublicKeyBytes,
    SignatureBytes, SignedHtlcTx,
};
use lnfleet_actors::hsm::{CommitmentInfo as WireCommitmentInfo, MutualCloseInfo as WireClose};
use lnfleet_wire::bolt3::scripts::CommitmentFormat;
use secp256k1::ecdsa::Signature;
use secp256k1::PublicKey;

use super::{channel_key_id, refusal, reject};
use crate::channels::{
    ChannelError, ChannelSetup, ChannelSigner, CommitmentInfo, HtlcInfo, MutualCloseInfo,
};
use crate::derivation::{ChannelKeyId, ChannelPublicKeys};
use crate::signer::SignerError;
use crate::store::{RequestKey, StoreError};

/// Runs a channel request once per (client, request id): a retry gets the stored answer.
pub(super) fn dispatch_idempotent(
    hsm: &mut ChannelSigner,
    client_id: &str,
    request_id: [u8; 16],
    request: &HsmRequest,
) -> Result<HsmResponse, HsmError> {
    let key = RequestKey::new(client_id, request_id, &contracts::encode(request));
    hsm.idempotent(&key, |hsm| channel_request(hsm, request))
        .map_err(channel_refusal)
}

fn channel_request(
    hsm: &mut ChannelSigner,
    request: &HsmRequest,
) -> Result<HsmResponse, ChannelError> {
    match request {
        HsmRequest::NewChannel {
            node_id,
            peer_id,
            channel_db_id,
        } => {
            let id = ChannelKeyId {
                node_id: point(node_id, "node_id is not a public key")?,
                peer_id: point(peer_id, "peer_id is not a public key")?,
                channel_db_id: *channel_db_id,
            };
            let keys = hsm.new_channel(&id)?;
            Ok(HsmResponse::ChannelBasepoints {
                basepoints: basepoints_of(&keys),
            })
        }
        HsmRequest::SetupChannel { channel, setup } => {
            hsm.setup_channel(&id_of(channel)?, channel_setup(setup)?)?;
            Ok(HsmResponse::Done)
        }
        HsmRequest::GetPerCommitmentPoint {
            channel,
            commitment_number,
        } => {
            let point = hsm.per_commitment_point(&id_of(channel)?, *commitment_number)?;
            Ok(HsmResponse::PerCommitmentPoint {
                point: point.into(),
            })
        }
        HsmRequest::ValidateCommitmentAndRevoke {
            channel,
            commitment_number,
            info,
            counterparty_signature,
            htlc_signatures,
        } => {
            let htlc_signatures = htlc_signatures
                .iter()
                .map(signature)
                .collect::<Result<Vec<_>, _>>()?;
            let revocation = hsm.validate_holder_commitment_and_revoke(
                &id_of(channel)?,
                *commitment_number,
                &commitment_info(info),
                &signature(counterparty_signature)?,
                &htlc_signatures,
            )?;
            Ok(HsmResponse::Revoked {
                revoked_number: revocation.revoked_number,
                old_secret: revocation.per_commitment_secret,
                next_per_commitment_point: revocation.next_per_commitment_point.into(),
            })
        }
        HsmRequest::SignCounterpartyCommitment {
            channel,
            commitment_number,
            per_commitment_point,
            info,
        } => {
            let signed = hsm.sign_counterparty_commitment(
                &id_of(channel)?,
                *commitment_number,
                &commitment_info(info),
                &point(
                    per_commitment_point,
                    "per_commitment_point is not a public key",
                )?,
            )?;
            Ok(HsmResponse::CommitmentSignatures {
                commitment_signature: signed.signature.into(),
                htlc_signatures: signed
                    .htlc_signatures
                    .iter()
                    .map(SignatureBytes::from)
                    .collect(),
            })
        }
        HsmRequest::ValidateCounterpartyRevocation {
            channel,
            commitment_number,
            secret,
        } => {
            hsm.validate_counterparty_revocation(&id_of(channel)?, *commitment_number, secret)?;
            Ok(HsmResponse::Done)
        }
        HsmRequest::SignHolderCommitment {
            channel,
            commitment_number,
        } => {
            let signed = hsm.sign_holder_commitment(&id_of(channel)?, *commitment_number)?;
            Ok(HsmResponse::HolderCommitment {
                commitment_tx: serialize(&signed.tx),
                htlc_txs: signed
                    .htlc_transactions
                    .iter()
                    .map(|htlc| SignedHtlcTx {
                        tx: serialize(&htlc.tx),
                        htlc_index: u32::try_from(htlc.htlc_index).unwrap_or(u32::MAX),
                        witness_script: htlc.witness_script.to_bytes(),
                        holder_signature: htlc.holder_signature.to_vec(),
                        counterparty_signature: htlc.counterparty_signature.to_vec(),
                    })
                    .collect(),
            })
        }
        HsmRequest::SetShutdownScripts {
            channel,
            holder_script,
            counterparty_script,
        } => {
            hsm.set_shutdown_scripts(
                &id_of(channel)?,
                ScriptBuf::from_bytes(holder_script.clone()),
                ScriptBuf::from_bytes(counterparty_script.clone()),
            )?;
            Ok(HsmResponse::Done)
        }
        HsmRequest::SignMutualClose { channel, info } => {
            let signed = hsm.sign_mutual_close(&id_of(channel)?, &close_info(info))?;
            Ok(HsmResponse::MutualClose {
                tx: serialize(&signed.tx),
                signature: signed.signature.into(),
            })
        }
        _ => Err(invalid_input("not a channel request")),
    }
}

/// The contract's view of a channel refusal.
fn channel_refusal(error: ChannelError) -> HsmError {
    match error {
        ChannelError::Policy(violation) => reject(violation.rule),
        ChannelError::Store(StoreError::IdempotencyConflict { .. }) => reject("request_id_reused"),
        // The disk may come back; the request did not take effect and can be retried.
        ChannelError::Store(StoreError::Database(error)) => HsmError::Transient {
            reason: format!("hsm store: {error}"),
        },
        ChannelError::Store(other) => HsmError::Fatal {
            reason: format!("hsm store: {other}"),
        },
        ChannelError::Signer(error) => refusal(error),
        ChannelError::Build(error) => HsmError::Fatal {
            reason: format!("cannot build the transaction: {error}"),
        },
        ChannelError::Response(error) => HsmError::Fatal {
            reason: format!("stored answer: {error}"),
        },
    }
}

fn invalid_input(what: &'static str) -> ChannelError {
    ChannelError::Signer(SignerError::InvalidInput { what })
}

fn point(bytes: &PublicKeyBytes, what: &'static str) -> Result<PublicKey, ChannelError> {
    bytes.to_public_key().map_err(|_| invalid_input(what))
}

fn signature(bytes: &SignatureBytes) -> Result<Signature, ChannelError> {
    bytes
        .to_signature()
        .map_err(|_| invalid_input("signature is not a compact ecdsa signature"))
}

fn id_of(channel: &lnfleet_actors::hsm::ChannelRef) -> Result<ChannelKeyId, ChannelError> {
    channel_key_id(channel).map_err(|_| invalid_input("channel names an invalid public key"))
}

fn basepoints_of(keys: &ChannelPublicKeys) -> ChannelBasepoints {
    ChannelBasepoints {
        funding_pubkey: keys.funding_pubkey.into(),
        revocation_basepoint: keys.revocation_basepoint.into(),
        payment_basepoint: keys.payment_basepoint.into(),
        delayed_payment_basepoint: keys.delayed_payment_basepoint.into(),
        htlc_basepoint: keys.htlc_basepoint.into(),
    }
}

fn keys_of(basepoints: &ChannelBasepoints) -> Result<ChannelPublicKeys, ChannelError> {
    let key = |bytes: &PublicKeyBytes| point(bytes, "counterparty basepoint is not a public key");
    Ok(ChannelPublicKeys {
        funding_pubkey: key(&basepoints.funding_pubkey)?,
        revocation_basepoint: key(&basepoints.revocation_basepoint)?,
        payment_basepoint: key(&basepoints.payment_basepoint)?,
        delayed_payment_basepoint: key(&basepoints.delayed_payment_basepoint)?,
        htlc_basepoint: key(&basepoints.htlc_basepoint)?,
    })
}

fn channel_setup(setup: &ChannelSetupInfo) -> Result<ChannelSetup, ChannelError> {
    Ok(ChannelSetup {
        holder_is_opener: setup.holder_is_opener,
        funding_outpoint: OutPoint {
            txid: Txid::from_byte_array(setup.funding_txid),
            vout: u32::from(setup.funding_output_index),
        },
        funding_amount_sat: setup.funding_amount_sat,
        commitment_format: if setup.anchors {
            CommitmentFormat::Anchors
        } else {
            CommitmentFormat::StaticRemoteKey
        },
        holder_selected_contest_delay: setup.holder_selected_contest_delay,
        counterparty_selected_contest_delay: setup.counterparty_selected_contest_delay,
        holder_dust_limit_sat: setup.holder_dust_limit_sat,
        counterparty_dust_limit_sat: setup.counterparty_dust_limit_sat,
        counterparty_keys: keys_of(&setup.counterparty_keys)?,
        holder_upfront_shutdown_script: setup
            .holder_upfront_shutdown_script
            .clone()
            .map(ScriptBuf::from_bytes),
        counterparty_upfront_shutdown_script: setup
            .counterparty_upfront_shutdown_script
            .clone()
            .map(ScriptBuf::from_bytes),
    })
}

fn commitment_info(info: &WireCommitmentInfo) -> CommitmentInfo {
    CommitmentInfo {
        feerate_per_kw: info.feerate_per_kw,
        to_holder_msat: info.to_holder_msat,
        to_counterparty_msat: info.to_counterparty_msat,
        htlcs: info
            .htlcs
            .iter()
            .map(|htlc| HtlcInfo {
                offered_by_holder: htlc.offered_by_holder,
                amount_msat: htlc.amount_msat,
                payment_hash: htlc.payment_hash,
                cltv_expiry: htlc.cltv_expiry,
            })
            .collect(),
    }
}

fn close_info(info: &WireClose) -> MutualCloseInfo {
    MutualCloseInfo {
        fee_sat: info.fee_sat,
        holder_value_sat: info.holder_value_sat,
        holder_script: ScriptBuf::from_bytes(info.holder_script.clone()),
        counterparty_value_sat: info.counterparty_value_sat,
        counterparty_script: ScriptBuf::from_bytes(info.counterparty_script.clone()),
    }
}

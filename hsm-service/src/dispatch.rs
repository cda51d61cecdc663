//! From a typed [`HsmRequest`] to the call that answers it, and from refusals to the contract's
//! typed [`HsmError`]s.
//!
//! Node requests (ECDH, gossip, invoices, messages) are pure functions of the keys: answering a
//! retry again gives the same answer (signatures are RFC 6979 deterministic). Channel requests
//! change policy state, so each runs inside the store's idempotency transaction: a retry with
//! the same request id and payload gets the stored answer, another payload under that id is
//! refused, and the state and the answer are on disk before the reply leaves.

mod channels;

use lnfleet_actors::hsm::{
    ChannelRef, HsmError, HsmRequest, HsmResponse, PublicKeyBytes, RecoverableSignatureBytes,
    SignatureBytes,
};
use lnfleet_wire::gossip::{ChannelAnnouncement, ChannelUpdate, NodeAnnouncement};
use lnfleet_wire::WireMessage;
use secp256k1::PublicKey;

use crate::channels::ChannelSigner;
use crate::derivation::ChannelKeyId;
use crate::key_source::KeyError;
use crate::signer::SignerError;

/// Answers one authorised request from `client_id`.
pub fn dispatch(
    hsm: &mut ChannelSigner,
    client_id: &str,
    request_id: [u8; 16],
    request: &HsmRequest,
) -> Result<HsmResponse, HsmError> {
    match request {
        HsmRequest::NodeInfo => Ok(HsmResponse::NodeInfo {
            node_ids: hsm
                .signer()
                .node_ids()
                .iter()
                .map(PublicKeyBytes::from)
                .collect(),
        }),
        HsmRequest::Ecdh { node_id, point } => {
            let shared_secret = hsm
                .signer()
                .ecdh_bytes(&key(node_id, "node_id")?, point.as_bytes())
                .map_err(refusal)?;
            Ok(HsmResponse::Ecdh { shared_secret })
        }
        HsmRequest::SignNodeAnnouncement { node_id, message } => {
            let announcement: NodeAnnouncement = decode(message, "node_announcement")?;
            if announcement.node_id != key(node_id, "node_id")? {
                return Err(reject("node_announcement_node_id"));
            }
            let signature = hsm
                .signer()
                .sign_node_announcement(&announcement)
                .map_err(refusal)?;
            Ok(single(signature))
        }
        HsmRequest::SignChannelUpdate { channel, message } => {
            let update: ChannelUpdate = decode(message, "channel_update")?;
            let id = channel_key_id(channel)?;
            ensure_held(hsm, &id)?;
            let signer = hsm.signer();
            let signature = signer
                .sign_channel_update(&id.node_id, &id.peer_id, &update)
                .map_err(refusal)?;
            Ok(single(signature))
        }
        // `announcement_signatures` carries the same two signatures over the same announcement;
        // the caller puts them into its own message with the channel id.
        HsmRequest::SignChannelAnnouncement {
            node_id,
            channel,
            message,
        }
        | HsmRequest::SignAnnouncementSignatures {
            node_id,
            channel,
            message,
        } => {
            let announcement: ChannelAnnouncement = decode(message, "channel_announcement")?;
            let id = channel_key_id(channel)?;
            if id.node_id != key(node_id, "node_id")? {
                return Err(reject("channel_announcement_node_id"));
            }
            ensure_held(hsm, &id)?;
            let signer = hsm.signer();
            let sigs = signer
                .sign_channel_announcement(&id, &announcement)
                .map_err(refusal)?;
            Ok(HsmResponse::AnnouncementSignatures {
                node_signature: sigs.node_signature.into(),
                bitcoin_signature: sigs.bitcoin_signature.into(),
            })
        }
        HsmRequest::SignInvoice {
            node_id,
            hrp,
            data_5bit,
        } => {
            let signature = hsm
                .signer()
                .sign_invoice(&key(node_id, "node_id")?, hrp, data_5bit)
                .map_err(refusal)?;
            Ok(HsmResponse::RecoverableSignature {
                signature: RecoverableSignatureBytes::from(&signature),
            })
        }
        HsmRequest::SignMessage { node_id, message } => {
            let signature = hsm
                .signer()
                .sign_message_recoverable(&key(node_id, "node_id")?, message)
                .map_err(refusal)?;
            Ok(HsmResponse::RecoverableSignature {
                signature: RecoverableSignatureBytes::from(&signature),
            })
        }
        HsmRequest::NewChannel { .. }
        | HsmRequest::SetupChannel { .. }
        | HsmRequest::GetPerCommitmentPoint { .. }
        | HsmRequest::ValidateCommitmentAndRevoke { .. }
        | HsmRequest::SignCounterpartyCommitment { .. }
        | HsmRequest::ValidateCounterpartyRevocation { .. }
        | HsmRequest::SignHolderCommitment { .. }
        | HsmRequest::SetShutdownScripts { .. }
        | HsmRequest::SignMutualClose { .. } => {
            channels::dispatch_idempotent(hsm, client_id, request_id, request)
        }
    }
}

/// Gossip about a channel is signed only for channels this HSM holds and has set up.
fn ensure_held(hsm: &ChannelSigner, id: &ChannelKeyId) -> Result<(), HsmError> {
    match hsm.store().channel(id) {
        Ok(Some(record)) if record.setup.is_some() => Ok(()),
        Ok(_) => Err(reject("unknown_channel")),
        Err(error) => Err(HsmError::Transient {
            reason: format!("hsm store: {error}"),
        }),
    }
}

fn single(signature: secp256k1::ecdsa::Signature) -> HsmResponse {
    HsmResponse::Signature {
        signature: SignatureBytes::from(signature),
    }
}

pub(crate) fn reject(rule: &str) -> HsmError {
    HsmError::PolicyReject { rule: rule.into() }
}

pub(crate) fn invalid(what: &str) -> HsmError {
    HsmError::Fatal {
        reason: format!("invalid request: {what}"),
    }
}

pub(crate) fn key(bytes: &PublicKeyBytes, what: &str) -> Result<PublicKey, HsmError> {
    bytes
        .to_public_key()
        .map_err(|_| invalid(&format!("{what} is not a public key")))
}

/// The channel named by a request, as the key derivation indexes it.
pub fn channel_key_id(channel: &ChannelRef) -> Result<ChannelKeyId, HsmError> {
    Ok(ChannelKeyId {
        node_id: key(&channel.node_id, "channel node_id")?,
        peer_id: key(&channel.peer_id, "channel peer_id")?,
        channel_db_id: channel.channel_db_id,
    })
}

fn decode<M: WireMessage>(bytes: &[u8], what: &str) -> Result<M, HsmError> {
    M::decode(bytes).map_err(|error| invalid(&format!("{what}: {error}")))
}

/// The contract's view of a signer refusal. Every policy-like refusal names its rule.
pub fn refusal(error: SignerError) -> HsmError {
    match error {
        SignerError::UnknownNode { .. } => reject("node_not_served"),
        SignerError::NotOurChannel { .. } => reject("not_our_channel"),
        SignerError::FundingKeyMismatch => reject("funding_key_mismatch"),
        SignerError::WrongDirection { .. } => reject("channel_update_direction"),
        SignerError::Key(KeyError::UnknownChannel(_)) => reject("unknown_channel"),
        SignerError::Key(KeyError::UnknownNodeIndex { .. }) => reject("node_not_served"),
        SignerError::InvalidInput { what } => invalid(what),
    }
}

//! One channel held by two HSMs, driven through `HsmClient` only: the fixture of the
//! cross-service channel tests (A opens, B accepts).

use lnfleet_actors::hsm::{
    ChannelBasepoints, ChannelRef, ChannelSetupInfo, CommitmentInfo, HsmClient, HsmClientError,
    HsmError, HtlcInfo,
};
use secp256k1::PublicKey;

pub const FUNDING_SAT: u64 = 1_000_000;

/// One end of the channel: the client of its HSM and the channel as that HSM names it.
pub struct Side {
    pub client: HsmClient,
    pub channel: ChannelRef,
}

/// A's side (channel db id 7) and B's side (channel db id 3).
pub fn sides(a: HsmClient, node_a: PublicKey, b: HsmClient, node_b: PublicKey) -> (Side, Side) {
    let channel = |node: PublicKey, peer: PublicKey, channel_db_id| ChannelRef {
        node_id: node.into(),
        peer_id: peer.into(),
        channel_db_id,
    };
    (
        Side {
            client: a,
            channel: channel(node_a, node_b, 7),
        },
        Side {
            client: b,
            channel: channel(node_b, node_a, 3),
        },
    )
}

/// The channel's fixed parameters as one side registers them (`static_remotekey`).
pub fn setup(opener: bool, theirs: ChannelBasepoints) -> ChannelSetupInfo {
    ChannelSetupInfo {
        holder_is_opener: opener,
        funding_txid: [0x5a; 32],
        funding_output_index: 1,
        funding_amount_sat: FUNDING_SAT,
        anchors: false,
        holder_selected_contest_delay: 144,
        counterparty_selected_contest_delay: 144,
        holder_dust_limit_sat: 546,
        counterparty_dust_limit_sat: 546,
        counterparty_keys: theirs,
        holder_upfront_shutdown_script: None,
        counterparty_upfront_shutdown_script: None,
    }
}

/// Both HSMs derive their keys, then each registers the other's (A opened the channel).
/// Answers (A's keys, B's keys).
pub async fn open(
    a: &Side,
    b: &Side,
) -> Result<(ChannelBasepoints, ChannelBasepoints), HsmClientError> {
    let key = |bytes: &lnfleet_actors::hsm::PublicKeyBytes| {
        bytes
            .to_public_key()
            .expect("test channels name valid keys")
    };
    let keys_a = a
        .client
        .new_channel(
            &key(&a.channel.node_id),
            &key(&a.channel.peer_id),
            a.channel.channel_db_id,
        )
        .await?;
    let keys_b = b
        .client
        .new_channel(
            &key(&b.channel.node_id),
            &key(&b.channel.peer_id),
            b.channel.channel_db_id,
        )
        .await?;
    a.client
        .setup_channel(a.channel, setup(true, keys_b))
        .await?;
    b.client
        .setup_channel(b.channel, setup(false, keys_a))
        .await?;
    Ok((keys_a, keys_b))
}

/// The commitment state as `holder` sees it: balances and HTLCs offered by A (`a_offers`).
pub fn view(a_msat: u64, b_msat: u64, a_offers: &[u64], holder_is_a: bool) -> CommitmentInfo {
    let htlcs = a_offers
        .iter()
        .enumerate()
        .map(|(i, &amount_msat)| HtlcInfo {
            offered_by_holder: holder_is_a,
            amount_msat,
            payment_hash: [i as u8 + 1; 32],
            cltv_expiry: 800_000 + i as u32,
        })
        .collect();
    let (to_holder_msat, to_counterparty_msat) = if holder_is_a {
        (a_msat, b_msat)
    } else {
        (b_msat, a_msat)
    };
    CommitmentInfo {
        feerate_per_kw: 2_500,
        to_holder_msat,
        to_counterparty_msat,
        htlcs,
    }
}

/// `signer` signs `holder`'s commitment `n`; `holder` validates it and revokes n − 1. Answers
/// the revoked secret (none for commitment 0) and the next per-commitment point.
pub async fn commit(
    signer: &Side,
    holder: &Side,
    n: u64,
    signer_view: CommitmentInfo,
    holder_view: CommitmentInfo,
) -> (Option<[u8; 32]>, PublicKey) {
    let point = holder
        .client
        .get_per_commitment_point(holder.channel, n)
        .await
        .unwrap();
    let (signature, htlc_signatures) = signer
        .client
        .sign_counterparty_commitment(signer.channel, n, &point, signer_view)
        .await
        .unwrap();
    holder
        .client
        .validate_commitment_and_revoke(holder.channel, n, holder_view, signature, htlc_signatures)
        .await
        .unwrap()
}

/// The rule of a policy refusal; panics on anything else.
pub fn policy_rule<T: std::fmt::Debug>(result: Result<T, HsmClientError>) -> String {
    match result {
        Err(HsmClientError::Hsm(HsmError::PolicyReject { rule })) => rule,
        other => panic!("expected a policy reject, got {other:?}"),
    }
}

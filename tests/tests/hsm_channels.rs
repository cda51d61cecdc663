//! Two HSMs, each behind its own Redis, hold the two ends of one channel: through `HsmClient`
//! only, they exchange commitment signatures and revocations, and the validating policy refuses
//! what would lose funds, also after a replica restarts on its store.

use std::path::Path;
use std::time::Duration;

use lnfleet_actors::hsm::{HsmClient, HsmClientError, HsmRequest, HsmResponse, SignatureBytes};
use lnfleet_tests::harness::RedisServer;
use lnfleet_tests::hsm::{connect_client, HsmClientSpec, RunningHsm};
use lnfleet_tests::hsm_channel::{commit, open, policy_rule, setup, sides, view, FUNDING_SAT};

async fn client(redis: &RedisServer, spec: &HsmClientSpec) -> HsmClient {
    connect_client(&redis.url(), spec, Duration::from_secs(3))
        .await
        .unwrap()
}

fn edge_spec() -> HsmClientSpec {
    HsmClientSpec::new(
        "edge-1",
        &[
            "node_info",
            "channel_signing",
            "unilateral_close",
            "mutual_close",
        ],
    )
}

/// Starts a replica on `store`, retrying while the previous replica's file lock is released.
async fn start_on(redis: &RedisServer, seed: u8, spec: &HsmClientSpec, store: &Path) -> RunningHsm {
    for _ in 0..50 {
        match RunningHsm::start_with_store(&redis.url(), "hsm-0", &[seed; 32], &[0], &[spec], store)
            .await
        {
            Ok(hsm) => return hsm,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("hsm did not start on {}", store.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hsms_run_a_channel_and_the_policy_holds_across_a_restart() {
    let (redis_a, redis_b) = (RedisServer::start().unwrap(), RedisServer::start().unwrap());
    let store_dir = tempfile::tempdir().unwrap();
    let store_a = store_dir.path().join("a.redb");
    let spec_a = edge_spec();
    let spec_b = edge_spec();
    let hsm_a = start_on(&redis_a, 0xa1, &spec_a, &store_a).await;
    let hsm_b = RunningHsm::start(&redis_b.url(), "hsm-0", &[0xb2; 32], &[0], &[&spec_b])
        .await
        .unwrap();
    let (node_a, node_b) = (hsm_a.node_ids[0], hsm_b.node_ids[0]);
    let (a, b) = sides(
        client(&redis_a, &spec_a).await,
        node_a,
        client(&redis_b, &spec_b).await,
        node_b,
    );

    // Open: each HSM derives its keys, then learns the other's (A opened the channel).
    let (_, keys_b) = open(&a, &b).await.unwrap();
    assert_eq!(
        policy_rule(a.client.setup_channel(a.channel, setup(true, keys_b)).await),
        "channel_already_setup"
    );

    // Commitment 0 both ways: everything is A's.
    let all_a = FUNDING_SAT * 1000;
    let (revoked, _) = commit(
        &b,
        &a,
        0,
        view(all_a, 0, &[], false),
        view(all_a, 0, &[], true),
    )
    .await;
    assert_eq!(revoked, None, "nothing to revoke at commitment 0");
    commit(
        &a,
        &b,
        0,
        view(all_a, 0, &[], true),
        view(all_a, 0, &[], false),
    )
    .await;

    // Commitment 1: A offers two HTLCs to B. A's commitment 0 is revoked by its secret.
    let (a_msat, b_msat, htlcs) = (all_a - 30_000_000, 0, [20_000_000, 10_000_000]);
    let (secret_a0, _) = commit(
        &b,
        &a,
        1,
        view(a_msat, b_msat, &htlcs, false),
        view(a_msat, b_msat, &htlcs, true),
    )
    .await;
    let secret_a0 = secret_a0.expect("commitment 0 revoked");
    b.client
        .validate_counterparty_revocation(b.channel, 0, secret_a0)
        .await
        .unwrap();
    // A wrong secret for A's commitment 1 (not yet revoked) is refused.
    assert_eq!(
        policy_rule(
            b.client
                .validate_counterparty_revocation(b.channel, 1, [7; 32])
                .await
        ),
        "counterparty_secret_invalid"
    );

    // A forged signature never makes the HSM revoke.
    let point_a2 = a
        .client
        .get_per_commitment_point(a.channel, 2)
        .await
        .unwrap();
    // Money out of thin air: balances that do not add up to the funding are refused.
    assert_eq!(
        policy_rule(
            b.client
                .sign_counterparty_commitment(
                    b.channel,
                    2,
                    &point_a2,
                    view(all_a, all_a, &[], false)
                )
                .await
        ),
        "balance_conservation"
    );

    let (good, htlc_sigs) = b
        .client
        .sign_counterparty_commitment(b.channel, 2, &point_a2, view(a_msat, b_msat, &htlcs, false))
        .await
        .unwrap();
    let mut forged = good.0;
    forged[10] ^= 1;
    let refused = a
        .client
        .validate_commitment_and_revoke(
            a.channel,
            2,
            view(a_msat, b_msat, &htlcs, true),
            SignatureBytes(forged),
            htlc_sigs.clone(),
        )
        .await;
    assert!(
        policy_rule(refused).starts_with("counterparty"),
        "forged signature refused"
    );

    // Idempotency: a retry with the same request id gets the same answer without revoking
    // twice; the same id with another payload is refused.
    let request = HsmRequest::ValidateCommitmentAndRevoke {
        channel: a.channel,
        commitment_number: 2,
        info: view(a_msat, b_msat, &htlcs, true),
        counterparty_signature: good,
        htlc_signatures: htlc_sigs.clone(),
    };
    let id = [0x11; 16];
    let first = a.client.call_with_id(request.clone(), id).await.unwrap();
    let again = a.client.call_with_id(request.clone(), id).await.unwrap();
    assert_eq!(first, again);
    let HsmResponse::Revoked {
        revoked_number: Some(1),
        old_secret: Some(secret_a1),
        ..
    } = first
    else {
        panic!("expected the revocation of commitment 1, got {first:?}");
    };
    b.client
        .validate_counterparty_revocation(b.channel, 1, secret_a1)
        .await
        .unwrap();
    let other_payload = HsmRequest::GetPerCommitmentPoint {
        channel: a.channel,
        commitment_number: 9,
    };
    // Within the replay window the authenticator already drops another payload under the id,
    // without an answer (a replay may come from anyone who saw the stream).
    assert!(matches!(
        a.client.call_with_id(other_payload.clone(), id).await,
        Err(HsmClientError::Timeout(_))
    ));

    // Crash A's HSM and bring it back on the same store: what was revoked stays revoked, the
    // stored answer survives, and the durable store refuses the reused id.
    // (Each restart starts with an empty replay cache, so the store is what answers.)
    drop(hsm_a);
    let hsm_a = start_on(&redis_a, 0xa1, &spec_a, &store_a).await;
    assert_eq!(
        policy_rule(a.client.call_with_id(other_payload, id).await),
        "request_id_reused"
    );
    drop(hsm_a);
    let hsm_a = start_on(&redis_a, 0xa1, &spec_a, &store_a).await;
    assert_eq!(a.client.call_with_id(request, id).await.unwrap(), again);
    assert_eq!(
        policy_rule(a.client.sign_holder_commitment(a.channel, 1).await),
        "no_sign_revoked_commitment"
    );
    // The latest, validated commitment can be signed for a unilateral close: it carries both
    // funding signatures and one HTLC-timeout transaction per offered HTLC.
    let (tx, htlc_txs) = a.client.sign_holder_commitment(a.channel, 2).await.unwrap();
    assert!(!tx.is_empty());
    assert_eq!(htlc_txs.len(), 2);
    // After that, no new commitment is accepted for the channel.
    let point_a3 = a
        .client
        .get_per_commitment_point(a.channel, 3)
        .await
        .unwrap();
    let (sig3, htlc3) = b
        .client
        .sign_counterparty_commitment(b.channel, 3, &point_a3, view(a_msat, b_msat, &htlcs, false))
        .await
        .unwrap();
    assert_eq!(
        policy_rule(
            a.client
                .validate_commitment_and_revoke(
                    a.channel,
                    3,
                    view(a_msat, b_msat, &htlcs, true),
                    sig3,
                    htlc3
                )
                .await
        ),
        "channel_closed"
    );
    drop(hsm_a);
}

//! Peer leases on a real Redis: newest connection wins, tokens fence stale holders.

mod cluster_common;

use std::collections::HashSet;
use std::time::Duration;

use cluster_common::{conn, eventually, key, redis};
use lnfleet_edge::cluster::{Holder, LeaseStore};

const LONG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn newest_acquire_wins_with_strictly_increasing_tokens() {
    let redis = redis();
    let leases = LeaseStore::new(conn(&redis).await);
    let (node, peer) = (key(1), key(2));

    let first = leases
        .acquire(&node, &peer, "edge-a", 1, LONG)
        .await
        .expect("acquire");
    assert_eq!(first.previous, None);
    let second = leases
        .acquire(&node, &peer, "edge-b", 2, LONG)
        .await
        .expect("acquire");
    let third = leases
        .acquire(&node, &peer, "edge-a", 3, LONG)
        .await
        .expect("acquire");

    assert!(first.token < second.token && second.token < third.token);
    assert_eq!(second.previous, Some(first.holder()));
    assert_eq!(third.previous, Some(second.holder()));
    assert_eq!(
        leases.holder(&node, &peer).await.expect("holder"),
        Some(Holder {
            edge_id: "edge-a".into(),
            connection_id: 3,
            token: third.token
        })
    );
    // Another peer of the same node has its own lease and counter.
    let other = leases
        .acquire(&node, &key(3), "edge-b", 4, LONG)
        .await
        .expect("acquire");
    assert_eq!(other.previous, None);
    assert_eq!(other.token, 1);
}

#[tokio::test]
async fn a_replaced_holder_cannot_renew_release_or_write() {
    let redis = redis();
    let leases = LeaseStore::new(conn(&redis).await);
    let (node, peer) = (key(1), key(2));
    let stale = leases
        .acquire(&node, &peer, "edge-a", 1, LONG)
        .await
        .expect("acquire");
    let current = leases
        .acquire(&node, &peer, "edge-b", 9, LONG)
        .await
        .expect("acquire");

    assert!(!leases.renew(&stale).await.expect("renew"));
    assert!(!leases.release(&stale).await.expect("release"));
    assert!(!leases
        .fenced_set(&stale, "test:channel-state", b"stale", None)
        .await
        .expect("fenced set"));
    let mut redis_conn = conn(&redis).await;
    let written: Option<Vec<u8>> = redis::cmd("GET")
        .arg("test:channel-state")
        .query_async(&mut redis_conn)
        .await
        .expect("get");
    assert_eq!(written, None, "the stale holder's write must not land");
    assert_eq!(
        leases
            .holder(&node, &peer)
            .await
            .expect("holder")
            .map(|h| h.token),
        Some(current.token)
    );

    assert!(leases.renew(&current).await.expect("renew"));
    assert!(leases
        .fenced_set(&current, "test:channel-state", b"fresh", Some(LONG))
        .await
        .expect("fenced set"));
    let written: Option<Vec<u8>> = redis::cmd("GET")
        .arg("test:channel-state")
        .query_async(&mut redis_conn)
        .await
        .expect("get");
    assert_eq!(written.as_deref(), Some(&b"fresh"[..]));
    assert!(leases.release(&current).await.expect("release"));
    assert_eq!(leases.holder(&node, &peer).await.expect("holder"), None);
}

#[tokio::test]
async fn an_unrenewed_lease_expires_and_another_edge_takes_it() {
    let redis = redis();
    let leases = LeaseStore::new(conn(&redis).await);
    let (node, peer) = (key(1), key(2));
    let dead = leases
        .acquire(&node, &peer, "edge-dead", 1, Duration::from_millis(200))
        .await
        .expect("acquire");

    let expired = eventually(Duration::from_secs(3), || async {
        matches!(leases.holder(&node, &peer).await, Ok(None))
    })
    .await;
    assert!(expired, "the lease should expire after its ttl");

    let taken = leases
        .acquire(&node, &peer, "edge-b", 5, LONG)
        .await
        .expect("acquire");
    assert_eq!(
        taken.previous, None,
        "an expired lease has no previous holder"
    );
    assert!(taken.token > dead.token);
    assert!(!leases.renew(&dead).await.expect("renew"));
}

#[tokio::test]
async fn renewing_keeps_a_lease_past_its_ttl() {
    let redis = redis();
    let leases = LeaseStore::new(conn(&redis).await);
    let (node, peer) = (key(1), key(2));
    let lease = leases
        .acquire(&node, &peer, "edge-a", 1, Duration::from_millis(300))
        .await
        .expect("acquire");
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(leases.renew(&lease).await.expect("renew"));
    }
    assert_eq!(
        leases.holder(&node, &peer).await.expect("holder"),
        Some(lease.holder())
    );
}

#[tokio::test]
async fn concurrent_acquires_give_unique_tokens_and_one_winner() {
    let redis = redis();
    let leases = LeaseStore::new(conn(&redis).await);
    let (node, peer) = (key(1), key(2));
    let mut tasks = Vec::new();
    for task in 0..64u64 {
        let leases = leases.clone();
        tasks.push(tokio::spawn(async move {
            let edge = format!("edge-{}", task % 4);
            leases.acquire(&node, &peer, &edge, task, LONG).await
        }));
    }
    let mut acquired = Vec::new();
    for task in tasks {
        acquired.push(task.await.expect("task").expect("acquire"));
    }

    let tokens: HashSet<u64> = acquired.iter().map(|lease| lease.token).collect();
    assert_eq!(tokens.len(), acquired.len(), "tokens must be unique");
    assert_eq!(tokens, (1..=64).collect(), "tokens are 1..=64 with no gap");
    // Every acquire but the first replaced exactly the one before it.
    let previous: HashSet<u64> = acquired
        .iter()
        .filter_map(|lease| lease.previous.as_ref().map(|holder| holder.token))
        .collect();
    assert_eq!(previous, (1..=63).collect());

    let mut renewed = 0;
    for lease in &acquired {
        if leases.renew(lease).await.expect("renew") {
            renewed += 1;
        }
    }
    assert_eq!(renewed, 1, "exactly one lease is still valid");
    let holder = leases.holder(&node, &peer).await.expect("holder");
    assert_eq!(holder.map(|h| h.token), Some(64));
}

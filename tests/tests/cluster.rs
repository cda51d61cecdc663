//! The README's main job, checked: the local cluster starts and every part works end to end.

use lnfleet_tests::cluster::{Cluster, ClusterPorts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_cluster_starts_and_passes_its_own_check() {
    let cluster = Cluster::start(ClusterPorts::default())
        .await
        .expect("starts");
    let description = cluster.describe();
    assert!(description.contains(&cluster.redis.url()));
    assert!(description.contains(&cluster.node_id.to_string()));
    cluster.check().await.expect("every part works");
    let (redis_pid, broker_pid) = (cluster.redis.pid(), cluster.broker.pid());
    drop(cluster);
    for pid in [redis_pid, broker_pid] {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} still runs"
        );
    }
}

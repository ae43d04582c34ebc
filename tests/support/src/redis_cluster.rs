//! A throwaway three-node Redis Cluster on loopback: three `redis-server --cluster-enabled` nodes
//! (each with its own free port and cluster-bus port, in a temp dir), joined by
//! `redis-cli --cluster create`, with the 16384 slots spread over the three masters.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::net::{free_port, unique_name};
use crate::process::{ChildProcess, remove_at_exit};
use crate::redis::{cli, spawn_node, wait_ready};

/// A Redis Cluster owned by the test process.
#[derive(Debug)]
pub struct RedisCluster {
    ports: Vec<u16>,
    _nodes: Vec<ChildProcess>,
    _dir: PathBuf,
}

impl RedisCluster {
    /// The cluster shared by every test of this binary; started on first use.
    pub fn shared() -> &'static RedisCluster {
        static SHARED: OnceLock<RedisCluster> = OnceLock::new();
        SHARED.get_or_init(RedisCluster::start_new)
    }

    /// A cluster of its own.
    pub fn start_new() -> RedisCluster {
        let dir = tempfile::Builder::new()
            .prefix("auth-test-redis-cluster-")
            .tempdir()
            .expect("create a temp dir for the Redis Cluster")
            .keep();
        remove_at_exit(dir.clone());
        let mut ports = Vec::new();
        let mut nodes = Vec::new();
        for i in 0..3 {
            let port = free_port();
            let bus = free_port().to_string();
            let node_dir = dir.join(format!("node{i}"));
            std::fs::create_dir_all(&node_dir).expect("create a node dir");
            let args = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-port",
                &bus,
                "--cluster-node-timeout",
                "2000",
            ];
            nodes.push(spawn_node(port, &node_dir, &args));
            ports.push(port);
        }
        for port in &ports {
            wait_ready(*port, Duration::from_secs(15));
        }
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let mut create = vec!["--cluster", "create"];
        create.extend(addresses.iter().map(String::as_str));
        create.extend(["--cluster-replicas", "0", "--cluster-yes"]);
        let output = cli(ports[0], &create);
        let cluster = RedisCluster {
            ports,
            _nodes: nodes,
            _dir: dir,
        };
        cluster.wait_ok(Duration::from_secs(30), &output);
        cluster
    }

    /// Every node, as `redis://127.0.0.1:port`.
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// A key prefix no other test uses, so tests can share one cluster.
    pub fn unique_prefix(&self) -> String {
        format!("{}:", unique_name("t"))
    }

    /// Waits until every node says the cluster is ok and the slots are all served.
    fn wait_ok(&self, timeout: Duration, create_output: &str) {
        let deadline = Instant::now() + timeout;
        loop {
            let ok = self.ports.iter().all(|port| {
                let info = cli(*port, &["cluster", "info"]);
                info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
            });
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the Redis Cluster did not come up; redis-cli said: {create_output}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

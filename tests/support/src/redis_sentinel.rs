//! A throwaway Sentinel set-up on loopback: one master, one replica and three sentinels (quorum
//! two) watching them, each on a free port with its files in a temp dir. Sentinels notice a dead
//! master after one second, so a failover takes a few seconds. The sentinel binary is
//! `redis-sentinel` (`$REDIS_SENTINEL`), or `redis-server --sentinel` where it is not installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::net::{free_port, unique_name};
use crate::process::{ChildProcess, remove_at_exit};
use crate::redis::{cli, spawn_node, wait_ready};

/// The master name the sentinels watch.
pub const MASTER_NAME: &str = "auth-test";

/// One master, one replica, three sentinels.
#[derive(Debug)]
pub struct RedisSentinel {
    dir: PathBuf,
    /// The two data nodes by port; `None` while one is stopped.
    nodes: Mutex<Vec<(u16, Option<ChildProcess>)>>,
    sentinel_ports: Vec<u16>,
    _sentinels: Vec<ChildProcess>,
}

impl RedisSentinel {
    /// The set-up shared by every test of this binary; started on first use.
    pub fn shared() -> &'static RedisSentinel {
        static SHARED: OnceLock<RedisSentinel> = OnceLock::new();
        SHARED.get_or_init(RedisSentinel::start_new)
    }

    /// A set-up of its own, for tests that fail it over.
    pub fn start_new() -> RedisSentinel {
        let dir = tempfile::Builder::new()
            .prefix("auth-test-redis-sentinel-")
            .tempdir()
            .expect("create a temp dir for Redis Sentinel")
            .keep();
        remove_at_exit(dir.clone());
        let master = free_port();
        let replica = free_port();
        let master_dir = node_dir(&dir, master);
        let replica_dir = node_dir(&dir, replica);
        let master_process = spawn_node(master, &master_dir, &[]);
        wait_ready(master, Duration::from_secs(15));
        let replica_process = spawn_node(
            replica,
            &replica_dir,
            &["--replicaof", "127.0.0.1", &master.to_string()],
        );
        wait_ready(replica, Duration::from_secs(15));

        let mut sentinel_ports = Vec::new();
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let conf = dir.join(format!("sentinel-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {dir}\n\
                     sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                     sentinel failover-timeout {MASTER_NAME} 5000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n",
                    dir = dir.display()
                ),
            )
            .expect("write a sentinel config");
            sentinels.push(spawn_sentinel(&conf));
            sentinel_ports.push(port);
        }
        for port in &sentinel_ports {
            wait_ready(*port, Duration::from_secs(15));
        }
        let setup = RedisSentinel {
            dir,
            nodes: Mutex::new(vec![
                (master, Some(master_process)),
                (replica, Some(replica_process)),
            ]),
            sentinel_ports,
            _sentinels: sentinels,
        };
        setup.wait_until_watched(Duration::from_secs(30));
        setup
    }

    /// The Redis URL for this set-up: `redis+sentinel://…/master_name`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinel_ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", hosts.join(","))
    }

    pub fn sentinel_ports(&self) -> &[u16] {
        &self.sentinel_ports
    }

    /// A key prefix no other test uses, so tests can share one set-up.
    pub fn unique_prefix(&self) -> String {
        format!("{}:", unique_name("t"))
    }

    /// The port of the server the sentinels name as master now.
    pub fn master_port(&self) -> u16 {
        self.named_master(self.sentinel_ports[0])
            .expect("the sentinel names a master")
    }

    /// The data node that is not the master now.
    pub fn replica_port(&self) -> u16 {
        let master = self.master_port();
        self.data_ports()
            .into_iter()
            .find(|p| *p != master)
            .expect("two data nodes")
    }

    fn data_ports(&self) -> Vec<u16> {
        self.nodes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(p, _)| *p)
            .collect()
    }

    /// Kills the server on `port` outright (SIGKILL), as a crash would.
    pub fn kill(&self, port: u16) {
        let mut nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, node)) = nodes.iter_mut().find(|(p, _)| *p == port)
            && let Some(process) = node.take()
        {
            process.signal(libc::SIGKILL);
            process.stop();
        }
    }

    /// Starts the server on `port` again, empty and as a master, as a rebooted machine would;
    /// the sentinels then make it a replica of the current master.
    pub fn restart(&self, port: u16) {
        let mut nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, node)) = nodes.iter_mut().find(|(p, _)| *p == port)
            && node.is_none()
        {
            *node = Some(spawn_node(port, &node_dir(&self.dir, port), &[]));
        }
        drop(nodes);
        wait_ready(port, Duration::from_secs(15));
    }

    /// Pauses (SIGSTOP) or resumes (SIGCONT) the server on `port`.
    pub fn pause(&self, port: u16, paused: bool) {
        let nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, Some(process))) = nodes.iter().find(|(p, _)| *p == port) {
            process.signal(if paused { libc::SIGSTOP } else { libc::SIGCONT });
        }
    }

    /// `redis-cli` on the data node at `port`.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        cli(port, args)
    }

    /// Waits until every sentinel names `port` as master and that server says it is one.
    pub fn wait_for_master(&self, port: u16, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let named = self
                .sentinel_ports
                .iter()
                .all(|s| self.named_master(*s) == Some(port));
            if named && cli(port, &["role"]).starts_with("master") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{port} did not become master within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the server on `port` is a replica whose link to the master is up.
    pub fn wait_for_replica(&self, port: u16, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let info = cli(port, &["info", "replication"]);
            if info.contains("role:slave") && info.contains("master_link_status:up") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{port} did not become a connected replica within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn named_master(&self, sentinel: u16) -> Option<u16> {
        let answer = cli(
            sentinel,
            &["sentinel", "get-master-addr-by-name", MASTER_NAME],
        );
        answer.lines().nth(1)?.trim().parse().ok()
    }

    /// Waits until every sentinel knows the replica and the two other sentinels, so a failover
    /// can reach its quorum.
    fn wait_until_watched(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let replica = self.data_ports()[1];
        self.wait_for_replica(replica, timeout);
        loop {
            let ready = self.sentinel_ports.iter().all(|s| {
                let fields: Vec<String> = cli(*s, &["sentinel", "master", MASTER_NAME])
                    .lines()
                    .map(str::to_string)
                    .collect();
                let field = |name: &str| {
                    fields
                        .iter()
                        .position(|f| f == name)
                        .and_then(|i| fields.get(i + 1))
                        .and_then(|v| v.parse::<u32>().ok())
                };
                field("num-slaves") == Some(1) && field("num-other-sentinels") == Some(2)
            });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the sentinels did not find each other and the replica in time"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn node_dir(root: &Path, port: u16) -> PathBuf {
    let dir = root.join(format!("node-{port}"));
    std::fs::create_dir_all(&dir).expect("create a node dir");
    dir
}

fn spawn_sentinel(conf: &Path) -> ChildProcess {
    let mut command = match std::env::var_os("REDIS_SENTINEL") {
        Some(binary) => Command::new(binary),
        None if on_path("redis-sentinel") => Command::new("redis-sentinel"),
        None => {
            let mut command = Command::new("redis-server");
            command.arg(conf).arg("--sentinel");
            command.stdout(Stdio::null()).stderr(Stdio::null());
            return ChildProcess::spawn("redis-sentinel", command, None, libc::SIGTERM)
                .expect("start redis-server --sentinel");
        }
    };
    command
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    ChildProcess::spawn("redis-sentinel", command, None, libc::SIGTERM)
        .expect("start redis-sentinel")
}

fn on_path(binary: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(binary).is_file()))
}

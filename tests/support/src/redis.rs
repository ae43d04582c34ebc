//! A throwaway Redis server on a free loopback port, with persistence off.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::net::{free_port, unique_name};
use crate::process::{ChildProcess, remove_at_exit};

/// A Redis server owned by the test process.
#[derive(Debug)]
pub struct Redis {
    port: u16,
    dir: PathBuf,
    server: Mutex<Option<ChildProcess>>,
}

impl Redis {
    /// The server shared by every test of this binary; started on first use.
    pub fn shared() -> &'static Redis {
        static SHARED: OnceLock<Redis> = OnceLock::new();
        SHARED.get_or_init(Redis::start_new)
    }

    /// A server of its own, for tests that stop and start it.
    pub fn start_new() -> Redis {
        let dir = tempfile::Builder::new()
            .prefix("auth-test-redis-")
            .tempdir()
            .expect("create a temp dir for Redis")
            .keep();
        remove_at_exit(dir.clone());
        let redis = Redis {
            port: free_port(),
            dir,
            server: Mutex::new(None),
        };
        redis.start();
        redis
    }

    /// Starts the server (again) on the same port.
    pub fn start(&self) {
        let mut server = self.server.lock().unwrap_or_else(|e| e.into_inner());
        if server.is_some() {
            return;
        }
        let child = spawn_node(self.port, &self.dir, &[]);
        *server = Some(child);
        drop(server);
        self.wait_ready(Duration::from_secs(15));
    }

    /// Stops the server and waits until it has exited.
    pub fn stop(&self) {
        if let Some(child) = self.server.lock().unwrap_or_else(|e| e.into_inner()).take() {
            child.stop();
        }
    }

    /// Pauses (SIGSTOP) or resumes (SIGCONT) the server: its connections stay open but silent.
    pub fn pause(&self, paused: bool) {
        let server = self.server.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(process) = server.as_ref() {
            process.signal(if paused { libc::SIGSTOP } else { libc::SIGCONT });
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many times the server has run `command` (`get`, `evalsha`, …), by its
    /// `INFO commandstats`.
    pub fn command_calls(&self, command: &str) -> u64 {
        let info = cli(self.port, &["INFO", "commandstats"]);
        let prefix = format!("cmdstat_{command}:calls=");
        info.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |calls| calls.parse().unwrap_or(0))
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A key prefix no other test uses, so tests can share one server.
    pub fn unique_prefix(&self) -> String {
        format!("{}:", unique_name("t"))
    }

    fn wait_ready(&self, timeout: Duration) {
        wait_ready(self.port, timeout);
    }
}

/// Starts `redis-server` on `port` with persistence off, its files in `dir`, plus `extra` args.
pub(crate) fn spawn_node(port: u16, dir: &Path, extra: &[&str]) -> ChildProcess {
    let mut command = Command::new(redis_server());
    command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    ChildProcess::spawn("redis-server", command, None, libc::SIGTERM)
        .expect("start redis-server (is it installed?)")
}

/// Waits until the Redis (or Sentinel) on `port` answers PING.
pub(crate) fn wait_ready(port: u16, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ping(port) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("Redis did not become ready on port {port}");
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// `redis-cli` against the server on `port`, with `args`; its output, trimmed.
pub(crate) fn cli(port: u16, args: &[&str]) -> String {
    let output = Command::new(redis_cli())
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run redis-cli (is it installed?)");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn redis_server() -> PathBuf {
    std::env::var_os("REDIS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

fn redis_cli() -> PathBuf {
    std::env::var_os("REDIS_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-cli"))
}

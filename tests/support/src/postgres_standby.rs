//! A PostgreSQL primary with a hot standby streaming from it, both on loopback: the standby is a
//! `pg_basebackup -R` of the primary in a temp dir of its own. The primary waits for the standby
//! to have each commit (`synchronous_standby_names = '*'`), so a promoted standby holds everything
//! the primary acknowledged.

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::net::free_port;
use crate::postgres::{Postgres, chown_tree, wait_success};
use crate::process::{ChildProcess, remove_at_exit};

/// A primary and its standby.
#[derive(Debug)]
pub struct PostgresStandby {
    pub primary: Postgres,
    pub standby: Postgres,
}

impl PostgresStandby {
    /// Starts the primary, takes a base backup of it and starts the standby from it; returns once
    /// the standby streams from the primary.
    pub fn start() -> PostgresStandby {
        let primary = Postgres::start_new_with(&[
            "synchronous_commit=on",
            "synchronous_standby_names=*",
            "wal_level=replica",
            "max_wal_senders=4",
        ]);
        let root = tempfile::Builder::new()
            .prefix("auth-test-pg-standby-")
            .tempdir()
            .expect("create a temp dir for the standby")
            .keep();
        remove_at_exit(root.clone());
        if let Some(user) = primary.run_as {
            chown_tree(&root, user);
        }
        let data_dir = root.join("data");
        let mut backup = Command::new(primary.bin_dir.join("pg_basebackup"));
        backup
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg("-D")
            .arg(&data_dir)
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let backup = ChildProcess::spawn("pg_basebackup", backup, primary.run_as, libc::SIGTERM)
            .expect("run pg_basebackup");
        wait_success(backup, Duration::from_secs(60));
        let standby = Postgres {
            port: free_port(),
            data_dir,
            bin_dir: primary.bin_dir.clone(),
            run_as: primary.run_as,
            // Once promoted it stands alone: it waits for no standby of its own.
            settings: vec!["hot_standby=on".into()],
            server: Mutex::new(None),
        };
        standby.start();
        let pair = PostgresStandby { primary, standby };
        pair.wait_streaming(Duration::from_secs(30));
        pair
    }

    /// The URL of database `name` naming both servers, primary first, for a client that must
    /// reach whichever of them accepts writes.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/{name}?target_session_attrs=read-write",
            self.primary.port, self.standby.port
        )
    }

    /// Kills the primary outright (SIGKILL to the postmaster), as a crash would.
    pub fn kill_primary(&self) {
        if let Some(server) = self
            .primary
            .server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            server.signal(libc::SIGKILL);
            server.stop();
        }
    }

    /// Promotes the standby (`pg_ctl promote`) and waits until it accepts writes.
    pub fn promote_standby(&self) {
        let mut promote = Command::new(self.standby.bin_dir.join("pg_ctl"));
        promote
            .arg("promote")
            .arg("-D")
            .arg(&self.standby.data_dir)
            .arg("-w")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let promote = ChildProcess::spawn(
            "pg_ctl promote",
            promote,
            self.standby.run_as,
            libc::SIGTERM,
        )
        .expect("run pg_ctl promote");
        wait_success(promote, Duration::from_secs(60));
        let url = self.standby.url("postgres");
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.query(&self.standby, &url, "SELECT pg_is_in_recovery()") != "f" {
            assert!(
                Instant::now() < deadline,
                "the standby did not leave recovery"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_streaming(&self, timeout: Duration) {
        let url = self.primary.url("postgres");
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.query(
                &self.primary,
                &url,
                "SELECT string_agg(state || '/' || sync_state, ',') FROM pg_stat_replication",
            );
            if state == "streaming/sync" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the standby is not streaming in sync (pg_stat_replication: {state:?})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn query(&self, server: &Postgres, url: &str, sql: &str) -> String {
        let output = server
            .psql(url)
            .args(["-c", sql])
            .output()
            .expect("run psql");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

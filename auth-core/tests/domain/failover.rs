//! Password logins while Redis Sentinel fails over: the master is killed, the replica promoted,
//! and the old master comes back as a replica. With `redis.wait_replicas = 1` every login that
//! was answered has its session on a replica before the answer, so each one still authenticates
//! afterwards; logins in between are refused as unavailable, never answered and then forgotten.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_core::Error;
use auth_core::credentials::{LoginRequest, Place};
use auth_core::secret::Secret;
use auth_test_support::RedisSentinel;

use crate::harness::{Backend, PASSWORD, TestCore};

#[derive(Default)]
struct Run {
    /// Access tokens of answered logins.
    acknowledged: Vec<String>,
    refused: usize,
}

/// Logs `people` in, in turn, until `done` is set and `more` further logins have been answered.
async fn logins(t: &TestCore, people: &[&str], run: &Mutex<Run>, done: &AtomicBool, more: usize) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut after_done = None;
    let mut turn = 0;
    loop {
        let answered = run.lock().unwrap().acknowledged.len();
        if done.load(Ordering::SeqCst) {
            let from = *after_done.get_or_insert(answered);
            if answered >= from + more {
                return;
            }
        }
        assert!(Instant::now() < deadline, "logins did not come back");
        let login = LoginRequest {
            login: people[turn % people.len()].to_string(),
            password: Secret::new(PASSWORD),
        };
        turn += 1;
        match t
            .core
            .credentials()
            .login(login, &TestCore::context())
            .await
        {
            Ok(tokens) => run.lock().unwrap().acknowledged.push(tokens.access_token),
            Err(Error::Unavailable(_)) => {
                run.lock().unwrap().refused += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(other) => panic!("a login failed otherwise than unavailable: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_login_is_lost_when_sentinel_fails_over() {
    let sentinel = Arc::new(
        tokio::task::spawn_blocking(RedisSentinel::start_new)
            .await
            .unwrap(),
    );
    let t = TestCore::start_with(
        Backend::Embedded,
        &format!(
            "[redis]\nurl = \"{}\"\nkey_prefix = \"{}\"\nwait_replicas = 1\nwait_timeout_ms = 500\n",
            sentinel.url(),
            sentinel.unique_prefix()
        ),
    )
    .await;
    for name in ["ann", "ben", "cat"] {
        t.active_user(name).await;
    }
    let run = Mutex::new(Run::default());
    let done = AtomicBool::new(false);
    let (master, replica) = (sentinel.master_port(), sentinel.replica_port());

    // Two streams of logins run while the master is killed, the replica promoted and the old
    // master started again (empty, as after a reboot), and go on once it is a replica again.
    let failover = async {
        // Some logins answered before the master dies.
        let deadline = Instant::now() + Duration::from_secs(30);
        while run.lock().unwrap().acknowledged.len() < 10 {
            assert!(Instant::now() < deadline, "no logins before the failover");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let sentinel = sentinel.clone();
        tokio::task::spawn_blocking(move || {
            sentinel.kill(master);
            sentinel.wait_for_master(replica, Duration::from_secs(30));
            sentinel.restart(master);
            sentinel.wait_for_replica(master, Duration::from_secs(30));
        })
        .await
        .unwrap();
        done.store(true, Ordering::SeqCst);
    };
    tokio::join!(
        failover,
        logins(&t, &["ann", "ben", "cat"], &run, &done, 20),
        logins(&t, &["cat", "ann"], &run, &done, 20),
    );

    let run = run.into_inner().unwrap();
    assert!(run.refused > 0, "no login fell in the failover");
    let credentials = t.core.credentials();
    for (i, access) in run.acknowledged.iter().enumerate() {
        credentials
            .authenticate(access, Place::AccountApi, &TestCore::context())
            .await
            .unwrap_or_else(|err| panic!("acknowledged login {i} was lost: {err:?}"));
    }
    eprintln!(
        "{} logins acknowledged and kept, {} refused as unavailable during the failover",
        run.acknowledged.len(),
        run.refused
    );
}

//! Password hashes made with older parameters are replaced at the next successful login.

use auth_core::credentials::LoginRequest;
use auth_core::secret::Secret;
use auth_core::{AuthCore, ManualClock, params};

use crate::harness::{Backend, PASSWORD, TestCore};

async fn stored_hash(core: &AuthCore, username: &str) -> String {
    core.stores()
        .db
        .query_one(
            "SELECT password_hash FROM users WHERE username = $1",
            params![username],
        )
        .await
        .unwrap()
        .get("password_hash")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outdated_hash_is_upgraded_at_the_next_login() {
    let weak = TestCore::start_with(
        Backend::Embedded,
        "[passwords]\nargon2_memory_kib = 8192\nargon2_iterations = 1\n",
    )
    .await;
    weak.active_user("old-timer").await;
    let before = stored_hash(&weak.core, "old-timer").await;
    assert!(before.contains("m=8192,t=1,p=1"), "{before}");

    // The same database, opened with today's parameters.
    let mut config = weak.core.config().clone();
    config.passwords = auth_core::Config::defaults().passwords;
    let current = AuthCore::open(config, ManualClock::starting_now())
        .await
        .unwrap();
    let request = || LoginRequest {
        login: "old-timer".into(),
        password: Secret::new(PASSWORD),
    };
    current
        .credentials()
        .login(request(), &TestCore::context())
        .await
        .unwrap();
    let after = stored_hash(&current, "old-timer").await;
    assert!(after.contains("m=19456,t=2,p=1"), "{after}");
    // The upgraded hash still takes the same password.
    current
        .credentials()
        .login(request(), &TestCore::context())
        .await
        .unwrap();
}

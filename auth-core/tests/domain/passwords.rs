//! Passwords at login: hashes made with older parameters are replaced at the next successful
//! login; the password is compared after NFKC, and an overlong one is refused unhashed.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_compares_passwords_after_nfkc_and_refuses_overlong_ones() {
    let t = TestCore::start(Backend::Embedded).await;
    t.active_user("unicode").await;
    let login = |password: String| {
        let core = t.core.clone();
        async move {
            core.credentials()
                .login(
                    LoginRequest {
                        login: "unicode".into(),
                        password: Secret::new(password),
                    },
                    &TestCore::context(),
                )
                .await
        }
    };
    // "ｖ" (U+FF56, fullwidth v) is "v" after NFKC: the same password, typed on another keyboard.
    let fullwidth = PASSWORD.replacen('v', "\u{ff56}", 1);
    assert_ne!(fullwidth, PASSWORD);
    login(fullwidth).await.expect("the NFKC-equal password");

    // Past the maximum length the password is refused before any hashing, like a wrong one.
    let overlong = PASSWORD.repeat(1000);
    assert!(matches!(
        login(overlong).await,
        Err(auth_core::Error::InvalidCredentials)
    ));
    login(PASSWORD.to_string())
        .await
        .expect("still the password");
}

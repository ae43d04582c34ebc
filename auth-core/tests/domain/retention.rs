//! The retention sweep removes what has expired and history past its period, on both backends,
//! moved through time by the manual clock.

use auth_core::credentials::{LoginRequest, NewPersonalAccessToken, Place};
use auth_core::secret::Secret;
use auth_core::sessions::Subject;
use jiff::SignedDuration;

use crate::harness::{Backend, PASSWORD, TestCore};

async fn count(t: &TestCore, table: &str) -> i64 {
    t.core
        .stores()
        .db
        .query_one(&format!("SELECT COUNT(*) AS n FROM {table}"), vec![])
        .await
        .unwrap()
        .get("n")
        .unwrap()
}

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

/// An active user with a refresh family (password login), a PAT of 2 days and delivered mail.
async fn user_with_everything(t: &TestCore, name: &str) {
    let user = t.active_user(name).await;
    t.core
        .credentials()
        .login(
            LoginRequest {
                login: name.into(),
                password: Secret::new(PASSWORD),
            },
            &TestCore::context(),
        )
        .await
        .unwrap();
    t.core
        .credentials()
        .create_pat(
            Subject::User(user),
            NewPersonalAccessToken {
                name: "ci".into(),
                expires_in_days: 2,
                services: vec!["service-b".into()],
            },
            &TestCore::context(),
        )
        .await
        .unwrap();
    while t.core.mailer().deliver_due().await.unwrap() > 0 {}
}

async fn expired_rows_go_and_history_stays_for_its_period(backend: Backend) {
    let t = TestCore::start(backend).await;
    user_with_everything(&t, "ann").await;
    let audit_before = count(&t, "audit_log").await;
    assert!(count(&t, "email_tokens").await > 0);
    assert_eq!(count(&t, "refresh_families").await, 1);
    assert_eq!(count(&t, "personal_access_tokens").await, 1);
    assert!(count(&t, "mail_queue").await > 0);
    assert!(count(&t, "login_history").await > 0);

    // Nothing has expired yet: the sweep removes nothing.
    let report = t.core.retention().sweep().await.unwrap();
    assert_eq!(report.total(), 0, "{report:?}");

    // After 8 days the verification token (1 day), the refresh family (7 days) and the PAT
    // (2 days) are gone; sent mail (30 days) and history (400 days) stay.
    t.clock.advance(days(8));
    let report = t.core.retention().sweep().await.unwrap();
    assert!(report.email_tokens > 0);
    assert_eq!(report.refresh_families, 1);
    assert_eq!(report.personal_access_tokens, 1);
    assert_eq!(count(&t, "email_tokens").await, 0);
    assert_eq!(count(&t, "refresh_families").await, 0);
    assert_eq!(count(&t, "refresh_tokens").await, 0);
    assert_eq!(count(&t, "personal_access_tokens").await, 0);
    assert!(count(&t, "mail_queue").await > 0);
    assert!(count(&t, "login_history").await > 0);

    t.clock.advance(days(30));
    t.core.retention().sweep().await.unwrap();
    assert_eq!(count(&t, "mail_queue").await, 0);
    assert!(count(&t, "login_history").await > 0);

    // Past 400 days the login history goes; the audit log is kept forever by default.
    t.clock.advance(days(400 - 38 + 1));
    let report = t.core.retention().sweep().await.unwrap();
    assert!(report.login_history > 0);
    assert_eq!(count(&t, "login_history").await, 0);
    assert_eq!(report.audit_log, 0);
    assert!(count(&t, "audit_log").await >= audit_before);
    // And the database still refuses to delete audit rows.
    let refused = t
        .core
        .stores()
        .db
        .execute("DELETE FROM audit_log", vec![])
        .await;
    assert!(refused.is_err());
}

async fn audit_goes_after_its_period_in_small_batches(backend: Backend) {
    let t = TestCore::start_with(
        backend,
        "[retention]\naudit_days = 60\nlogin_history_days = 31\nbatch_size = 2\n",
    )
    .await;
    for name in ["bea", "cyd", "dot"] {
        user_with_everything(&t, name).await;
    }
    let old_audit = count(&t, "audit_log").await;
    assert!(old_audit > 2, "more rows than one batch");
    t.clock.advance(days(45));
    // A row written now is younger than the period and must survive the sweep below.
    user_with_everything(&t, "eve").await;
    let young_audit = count(&t, "audit_log").await - old_audit;
    t.clock.advance(days(16));
    let report = t.core.retention().sweep().await.unwrap();
    assert_eq!(report.audit_log as i64, old_audit);
    assert_eq!(count(&t, "audit_log").await, young_audit);
    assert_eq!(report.refresh_families, 4);
    // A young row still cannot be deleted by hand: the cutoff covers only the old ones.
    let refused = t
        .core
        .stores()
        .db
        .execute("DELETE FROM audit_log", vec![])
        .await;
    assert!(refused.is_err());
    assert_eq!(count(&t, "audit_log").await, young_audit);
}

async fn revoked_refresh_family_stays_for_the_grace_period(backend: Backend) {
    let t = TestCore::start_with(backend, "[retention]\nrevoked_grace_days = 3\n").await;
    t.active_user("fay").await;
    let tokens = t
        .core
        .credentials()
        .login(
            LoginRequest {
                login: "fay".into(),
                password: Secret::new(PASSWORD),
            },
            &TestCore::context(),
        )
        .await
        .unwrap();
    let principal = t
        .core
        .credentials()
        .authenticate(
            &tokens.access_token,
            Place::AccountApi,
            &TestCore::context(),
        )
        .await
        .unwrap();
    t.core
        .credentials()
        .logout(&principal, &TestCore::context())
        .await
        .unwrap();
    t.core.retention().sweep().await.unwrap();
    let revoked = count(&t, "refresh_families").await;
    assert_eq!(revoked, 1);
    t.clock.advance(days(2));
    t.core.retention().sweep().await.unwrap();
    assert_eq!(count(&t, "refresh_families").await, revoked);
    t.clock.advance(days(2));
    t.core.retention().sweep().await.unwrap();
    assert_eq!(count(&t, "refresh_families").await, 0);
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::$name(crate::harness::Backend::Embedded).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_redis() {
                super::$name(crate::harness::Backend::PostgresRedis).await
            }
        }
    )*};
}

both_backends!(
    expired_rows_go_and_history_stays_for_its_period,
    audit_goes_after_its_period_in_small_batches,
    revoked_refresh_family_stays_for_the_grace_period,
);

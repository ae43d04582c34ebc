//! Admins hear of accounts waiting for approval at most once per admin per 10 minutes, on both
//! backends, moved through time by the manual clock; support admins are not told.

use auth_core::accounts::Registration;
use auth_core::admins::{NewAdmin, Role};
use auth_core::secret::Secret;
use jiff::SignedDuration;

use crate::core_test;
use crate::harness::{PASSWORD, TestCore};

async fn new_admin(t: &TestCore, name: &str, role: Role) -> String {
    let email = format!("{name}@admins.example.com");
    t.core
        .admins()
        .create(
            NewAdmin {
                username: name.into(),
                email: email.clone(),
                password: Secret::new("quiet meadow lantern 42"),
                role,
            },
            &t.core.host_operator(),
            &TestCore::context(),
        )
        .await
        .unwrap();
    email
}

/// Registers `username` and verifies the address: the account then waits for a decision.
async fn pending(t: &TestCore, username: &str) {
    let email = format!("{username}@example.com");
    t.core
        .accounts()
        .register(
            Registration {
                email: email.clone(),
                username: username.into(),
                full_name: format!("{username} Person"),
                password: Secret::new(PASSWORD),
                password_confirmation: Secret::new(PASSWORD),
            },
            &TestCore::context(),
        )
        .await
        .unwrap();
    let token = t.mailed_token(&email, "/verify-email?token=").await;
    t.core
        .accounts()
        .verify_email(&token, &TestCore::context())
        .await
        .unwrap();
}

/// (subject, body) of every queued mail to `to`, oldest first.
async fn mails_to(t: &TestCore, to: &str) -> Vec<(String, String)> {
    let rows = t
        .core
        .stores()
        .db
        .query(
            "SELECT subject, body FROM mail_queue WHERE recipient = $1 ORDER BY created_at, id",
            auth_core::params![to],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.get("subject").unwrap(), r.get("body").unwrap()))
        .collect()
}

core_test!(
    admins_get_one_mail_per_ten_minutes_however_many_accounts_arrive,
    |t| {
        let boss = new_admin(&t, "boss", Role::Admin).await;
        let deputy = new_admin(&t, "deputy", Role::Admin).await;
        let helpdesk = new_admin(&t, "helpdesk", Role::Support).await;

        // The first arrival is told at once, to every admin of role admin.
        pending(&t, "ann").await;
        for admin in [&boss, &deputy] {
            let mails = mails_to(&t, admin).await;
            assert_eq!(mails.len(), 1, "{mails:?}");
            assert_eq!(mails[0].0, "New account waiting for approval: ann");
            assert!(mails[0].1.contains("/api/admin/pending"), "{}", mails[0].1);
        }
        assert!(mails_to(&t, &helpdesk).await.is_empty());

        // A burst within the window: no more mail, even when the background pass runs.
        t.clock.advance(SignedDuration::from_mins(3));
        for name in ["ben", "cat", "dan"] {
            pending(&t, name).await;
        }
        assert_eq!(t.core.accounts().notify_waiting_admins().await.unwrap(), 0);
        t.clock.advance(SignedDuration::from_mins(6));
        assert_eq!(t.core.accounts().notify_waiting_admins().await.unwrap(), 0);
        assert_eq!(mails_to(&t, &boss).await.len(), 1);

        // Ten minutes after the first mail: one mail each, naming the three, and not ann again.
        t.clock.advance(SignedDuration::from_mins(1));
        assert_eq!(t.core.accounts().notify_waiting_admins().await.unwrap(), 2);
        for admin in [&boss, &deputy] {
            let mails = mails_to(&t, admin).await;
            assert_eq!(mails.len(), 2, "{mails:?}");
            assert_eq!(mails[1].0, "3 new accounts waiting for approval");
            for name in ["ben", "cat", "dan"] {
                assert!(mails[1].1.contains(name), "{}", mails[1].1);
            }
            assert!(!mails[1].1.contains("ann Person"), "{}", mails[1].1);
        }
        // Nothing new: nothing sent, however long it is.
        t.clock.advance(SignedDuration::from_hours(2));
        assert_eq!(t.core.accounts().notify_waiting_admins().await.unwrap(), 0);
        assert!(mails_to(&t, &helpdesk).await.is_empty());

        // After a quiet spell the next arrival is told at once again.
        pending(&t, "eve").await;
        let mails = mails_to(&t, &boss).await;
        assert_eq!(mails.len(), 3);
        assert_eq!(mails[2].0, "New account waiting for approval: eve");
    }
);

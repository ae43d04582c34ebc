//! Joining the staff by invitation, as a browser without JavaScript sends it: an admin invites a
//! person from the console, the mail with a one-time link arrives at the SMTP test server, the
//! person chooses a password with it and enrols an authenticator at the first sign-in. The link
//! works once, expires, is replaced when sent again, and a person who has not joined can neither
//! sign in nor count as the admin who keeps the console in hand.

use std::time::{Duration, Instant};

use auth_test_support::Smtp;

use crate::console::{Admin, between, signed_in, start};
use auth_test_support::unique_name;

use crate::flows::{ADMIN_PASSWORD, MAIL_WAIT, admin_token, mailed_token};

const SUBJECT: &str = "You are invited to the admin console";

/// The token of the `count`th invitation mailed to `email`.
fn nth_invite_token(email: &str, count: usize) -> String {
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let mails: Vec<_> = Smtp::shared()
            .messages_to(email)
            .into_iter()
            .filter(|m| m.subject.contains(SUBJECT))
            .collect();
        if mails.len() >= count {
            let link = mails[count - 1].link_containing("token=").unwrap();
            return link.split("token=").nth(1).unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "no invitation number {count}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The staff list's row of `username`.
fn row_of(page: &str, username: &str) -> String {
    page.split("<tr>")
        .find(|row| row.contains(&format!("<th scope=\"row\">{username}")))
        .unwrap_or_else(|| panic!("{username} not listed: {page}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invited_person_chooses_a_password_by_the_mailed_link_then_enrols() {
    let (system, clock) = start();
    let (admin, _) = signed_in(&system, &clock, "admin").await;
    let username = unique_name("staff").replace('_', "-");
    let email = format!("{username}@example.com");
    let csrf = admin.csrf("/admin/staff").await;

    // A form with a bad address names the problem and makes nobody.
    let (status, _, page) = admin
        .post(
            "/admin/staff",
            &[
                ("csrf", &csrf),
                ("username", &username),
                ("email", "not an address"),
                ("role", "support"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("email:"), "{page}");
    assert!(page.contains(&format!("value=\"{username}\"")), "{page}");
    assert!(
        !page.contains(&format!("<th scope=\"row\">{username}")),
        "{page}"
    );

    // Support may not invite, however the form is forged.
    let (support, _) = signed_in(&system, &clock, "support").await;
    let (_, _, as_support) = support.get("/admin/staff").await;
    assert!(!as_support.contains("Send the invitation"), "{as_support}");
    let support_csrf = support.csrf("/admin/staff").await;
    let (status, _, _) = support
        .post(
            "/admin/staff",
            &[
                ("csrf", &support_csrf),
                ("username", &unique_name("forged").replace('_', "-")),
                ("email", "forged@example.com"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(status, 403);

    let (status, location, _) = admin
        .post(
            "/admin/staff",
            &[
                ("csrf", &csrf),
                ("username", &username),
                ("email", &email),
                ("role", "support"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/admin/staff?done=staff-invited"));
    let (_, _, page) = admin.get("/admin/staff").await;
    assert!(
        row_of(&page, &username).contains("invited, link works until"),
        "{page}"
    );

    // Before the link is used, no password opens the account.
    let person = Admin::new(&system, &username);
    let (status, location, _) = person
        .post(
            "/admin/login",
            &[("username", &username), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_ne!(location.as_deref(), Some("/admin/login/code"), "{status}");

    let token = mailed_token(&email, SUBJECT);
    let welcome = format!("/admin/welcome?token={token}");
    let (status, _, page) = person.get(&welcome).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("Welcome, {username}")), "{page}");

    // A weak password is refused and leaves the link working; a post from elsewhere is refused.
    let (status, _, page) = person
        .post(
            "/admin/welcome",
            &[("token", &token), ("password", "short")],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("role=\"alert\""), "{page}");
    let (status, _, _) = person
        .post_from(
            "/admin/welcome",
            &[("token", &token), ("password", ADMIN_PASSWORD)],
            "http://attacker.example",
        )
        .await;
    assert_eq!(status, 403);
    let (status, location, _) = person
        .post(
            "/admin/welcome",
            &[("token", &token), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/admin/login?done=joined"));
    let (_, _, page) = person.get("/admin/login?done=joined").await;
    assert!(page.contains("Your password is set."), "{page}");

    // The link worked once; the password it set signs in and enrols an authenticator.
    let (status, _, _) = person
        .post(
            "/admin/welcome",
            &[("token", &token), ("password", "another-long-password")],
        )
        .await;
    assert_eq!(status, 400);
    person.enrol(&clock).await;
    let (status, _, page) = person.get("/admin/staff").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        !page.contains("Send the invitation"),
        "joined as support: {page}"
    );
    let (_, _, page) = admin.get("/admin/staff").await;
    let row = row_of(&page, &username);
    assert!(!row.contains("invited"), "{row}");
    assert!(row.contains("set up"), "{row}");

    let (api, _) = admin_token(&system, "admin").await;
    for action in ["admin.invited", "admin.invite_accepted"] {
        let (status, body) = system
            .get_as(&format!("/api/admin/audit?action={action}"), &api)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["total"], 1, "{action}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_sent_again_replaces_the_first_expires_and_never_counts_as_an_admin() {
    let (system, clock) = start();
    let (admin, _) = signed_in(&system, &clock, "admin").await;
    let username = unique_name("staff").replace('_', "-");
    let email = format!("{username}@example.com");
    let csrf = admin.csrf("/admin/staff").await;
    let (status, _, _) = admin
        .post(
            "/admin/staff",
            &[
                ("csrf", &csrf),
                ("username", &username),
                ("email", &email),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let first = nth_invite_token(&email, 1);

    // An admin who has not joined cannot take over: the only real admin still may not step down.
    let (_, _, page) = admin.get("/admin/staff").await;
    let me = between(
        &row_of(&page, &admin.username),
        "action=\"/admin/staff/",
        "/action\"",
    )
    .unwrap()
    .to_string();
    let (status, _, page) = admin
        .post(
            &format!("/admin/staff/{me}/action"),
            &[("csrf", &csrf), ("action", "make-support")],
        )
        .await;
    assert_eq!(status, 409, "{page}");

    let invited = between(
        &row_of(&page_of(&admin).await, &username),
        "action=\"/admin/staff/",
        "/action\"",
    )
    .unwrap()
    .to_string();
    let (status, _, _) = admin
        .post(
            &format!("/admin/staff/{invited}/action"),
            &[("csrf", &csrf), ("action", "invite-again")],
        )
        .await;
    assert_eq!(status, 303);
    let second = nth_invite_token(&email, 2);
    assert_ne!(first, second);
    let person = Admin::new(&system, &username);
    let (status, _, _) = person.get(&format!("/admin/welcome?token={first}")).await;
    assert_eq!(status, 400, "the first link stopped working");

    // 72 hours on, the second link has expired too.
    clock.advance(72 * 3600 + 1).await;
    let (status, _, page) = person.get(&format!("/admin/welcome?token={second}")).await;
    assert_eq!(status, 410, "{page}");
    let (status, _, _) = person
        .post(
            "/admin/welcome",
            &[("token", &second), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(status, 410);
}

async fn page_of(admin: &Admin) -> String {
    admin.get("/admin/staff").await.2
}

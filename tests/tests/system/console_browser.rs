//! The admin console in a real headless Chromium at 360 px wide, driven as an admin would: signing
//! in with the code computed from the key the enrolment page shows, approving from the pending
//! list (the mail arrives), finding a user and blocking them (their ServiceB session is refused),
//! and the support role's read-only pages; ending a session from the Sessions page, changing a
//! service's closing warning, and inviting a member of staff who then chooses a password on the
//! welcome page. Each page is screenshotted and checked with axe-core.

use auth_test_support::Smtp;
use fantoccini::{Client, Locator};

use crate::browser::{assert_accessible, browser, screenshot, text_of};
use crate::console::{Authenticator, start};
use crate::expiry::TestClock;
use crate::flows::{
    ADMIN_PASSWORD, MAIL_WAIT, active_person, admin_token, create_admin, generate_status,
    mailed_token, new_person_names, pending_person, qr_session, service_key, status_at,
};
use crate::harness::System;

async fn look(client: &Client, name: &str) {
    screenshot(client, &format!("console-{name}.png")).await;
    assert_accessible(client, &format!("console {name}")).await;
}

async fn fill(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Waits until the page's `main` says `text` (a form's answer may still be on its way, and the old
/// page's element goes stale under the reader).
async fn wait_for_text(client: &Client, text: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = match client.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if page.contains(text) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never said {text:?}: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Signs in as `username` for the first time in the browser, enrolling; returns the app.
async fn enrol(
    client: &Client,
    system: &System,
    clock: &TestClock,
    username: &str,
) -> Authenticator {
    client.goto(&system.url("/admin")).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/login")
    );
    fill(client, "username", username).await;
    fill(client, "password", ADMIN_PASSWORD).await;
    click(client, "form[action='/admin/login'] button[type=submit]").await;
    let key = text_of(client, "#totp-secret").await;
    let app = Authenticator::from_base32(key.trim());
    fill(client, "code", &app.code_at(clock.now().await)).await;
    click(
        client,
        "form[action='/admin/login/code'] button[type=submit]",
    )
    .await;
    wait_for_text(client, "Your recovery codes").await;
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_signs_in_with_a_code_and_approves_from_the_pending_list() {
    let (system, clock) = start();
    let (username, _) = create_admin(&system, "admin");
    let person = pending_person(&system).await;
    let admin = browser(360, 900).await;

    admin.goto(&system.url("/admin/login")).await.unwrap();
    look(&admin, "login").await;
    fill(&admin, "username", &username).await;
    fill(&admin, "password", ADMIN_PASSWORD).await;
    click(&admin, "form[action='/admin/login'] button[type=submit]").await;
    let key = text_of(&admin, "#totp-secret").await;
    admin.find(Locator::Css(".qr-image svg")).await.unwrap();
    look(&admin, "enrol").await;

    // A wrong code first: the page says so and keeps the key.
    fill(&admin, "code", "000000").await;
    click(
        &admin,
        "form[action='/admin/login/code'] button[type=submit]",
    )
    .await;
    wait_for_text(&admin, "That code is not right").await;
    assert_eq!(text_of(&admin, "#totp-secret").await, key);
    look(&admin, "enrol-wrong-code").await;

    let app = Authenticator::from_base32(key.trim());
    fill(&admin, "code", &app.code_at(clock.now().await)).await;
    click(
        &admin,
        "form[action='/admin/login/code'] button[type=submit]",
    )
    .await;
    let codes = text_of(&admin, "#recovery-codes").await;
    assert_eq!(
        codes.lines().filter(|l| !l.trim().is_empty()).count(),
        10,
        "{codes}"
    );
    look(&admin, "recovery-codes").await;

    admin
        .find(Locator::LinkText("Continue to the console"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        text_of(&admin, "#pending-count")
            .await
            .trim()
            .parse::<u32>()
            .unwrap()
            >= 1
    );
    assert_eq!(text_of(&admin, "#open-state").await, "Open");
    look(&admin, "dashboard").await;

    admin
        .find(Locator::LinkText("Pending"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(text_of(&admin, "#pending").await.contains(&person.username));
    look(&admin, "pending").await;
    click(
        &admin,
        &format!("button[value='approve:{}']", person.user_id),
    )
    .await;
    wait_for_text(&admin, "Approved. The person is told by mail.").await;
    look(&admin, "pending-approved").await;
    let mail = Smtp::shared().wait_for(&person.email, "Your account is approved", MAIL_WAIT);
    assert!(
        mail.body.contains("your account is active"),
        "{}",
        mail.body
    );

    // Signing out ends the session: the console is the sign-in page again.
    click(&admin, "form[action='/admin/sign-out'] button[type=submit]").await;
    wait_for_text(&admin, "You are signed out of the console.").await;
    admin.goto(&system.url("/admin/pending")).await.unwrap();
    assert!(
        admin
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/login")
    );
    admin.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_blocks_a_user_whose_service_b_session_then_fails_and_support_only_reads() {
    let (system, clock) = start();
    let (api, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &api).await;
    let session = qr_session(&system, &api, &person, "service-b").await;
    let at_service_b = || status_at(&system, "service-b.localhost", "/orders", &session);
    assert_eq!(at_service_b().await, 200);

    // Support first, before anything changes: every page, no buttons.
    let (support_name, _) = create_admin(&system, "support");
    let support = browser(360, 900).await;
    enrol(&support, &system, &clock, &support_name).await;
    support
        .goto(&system.url(&format!("/admin/users/{}", person.user_id)))
        .await
        .unwrap();
    wait_for_text(&support, "support role").await;
    assert!(
        support
            .find(Locator::Css("button[value='block']"))
            .await
            .is_err()
    );
    look(&support, "user-as-support").await;
    support.close().await.unwrap();

    clock.advance(30).await;
    let (username, _) = create_admin(&system, "admin");
    let admin = browser(360, 900).await;
    enrol(&admin, &system, &clock, &username).await;
    admin.goto(&system.url("/admin/users")).await.unwrap();
    fill(&admin, "q", &person.username).await;
    click(&admin, "form[role=search] button[type=submit]").await;
    assert!(text_of(&admin, "#users").await.contains(&person.email));
    look(&admin, "users").await;
    admin
        .find(Locator::Css(&format!(
            "a[href='/admin/users/{}']",
            person.user_id
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(text_of(&admin, "#sessions").await.contains("ServiceB"));
    look(&admin, "user").await;
    fill(&admin, "reason", "left the company").await;
    click(&admin, "button[value='block']").await;
    wait_for_text(&admin, "Blocked.").await;
    assert_eq!(text_of(&admin, "#user-status").await, "blocked");
    look(&admin, "user-blocked").await;
    assert_eq!(at_service_b().await, 401);

    admin
        .find(Locator::LinkText("Login history"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(text_of(&admin, "#summary").await.contains(&person.username));
    look(&admin, "history").await;
    admin
        .find(Locator::LinkText("Schedule"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(text_of(&admin, "#preview").await.contains("to"));
    look(&admin, "schedule").await;
    admin.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_ends_a_session_changes_a_warning_and_invites_staff_who_then_join() {
    let (system, clock) = start();
    let (api, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &api).await;
    let session = qr_session(&system, &api, &person, "service-b").await;
    let at_service_b = || status_at(&system, "service-b.localhost", "/orders", &session);
    assert_eq!(at_service_b().await, 200);
    let old_key = service_key(&system, &api, "app-c").await;
    assert_eq!(generate_status(&system, &old_key).await, 201);
    let (username, _) = create_admin(&system, "admin");
    let admin = browser(360, 900).await;
    enrol(&admin, &system, &clock, &username).await;

    // Sessions: the person's session at ServiceB, ended from the list.
    admin.goto(&system.url("/admin/sessions")).await.unwrap();
    admin
        .find(Locator::Css(&format!(
            "#live-sessions a[href='/admin/users/{}']",
            person.user_id
        )))
        .await
        .unwrap();
    look(&admin, "sessions").await;
    click(
        &admin,
        "button[aria-label='End the session of Test Person at ServiceB']",
    )
    .await;
    wait_for_text(&admin, "The session has ended.").await;
    assert_eq!(at_service_b().await, 401);

    // Services: ServiceB's settings page, its warning window set to 20 minutes.
    admin.goto(&system.url("/admin/services")).await.unwrap();
    look(&admin, "services").await;
    click(&admin, "a[aria-label='Change ServiceB']").await;
    wait_for_text(&admin, "Closing warning").await;
    assert!(admin.find(Locator::Css("#file-note")).await.is_ok());
    look(&admin, "service").await;
    fill(&admin, "warning_minutes", "20").await;
    click(
        &admin,
        "form[action='/admin/services/service-b'] button[type=submit]",
    )
    .await;
    wait_for_text(&admin, "Saved. Every gateway follows within seconds.").await;
    assert!(text_of(&admin, "#services").await.contains("20 minutes"));

    // A new key shows the copy button the script reveals.
    click(&admin, "button[aria-label='Make a new API key for AppC']").await;
    wait_for_text(&admin, "The new API key of AppC").await;
    let copy = admin
        .find(Locator::Css("button[data-copy='new-key']"))
        .await
        .unwrap();
    assert!(copy.is_displayed().await.unwrap());
    look(&admin, "new-key").await;
    let new_key = text_of(&admin, "#new-key").await;
    assert_eq!(
        generate_status(&system, &old_key).await,
        401,
        "the old key is refused at once"
    );
    assert_eq!(generate_status(&system, new_key.trim()).await, 201);

    // History: the person and ServiceB this week, three logins.
    for _ in 0..2 {
        qr_session(&system, &api, &person, "service-b").await;
    }
    admin.goto(&system.url("/admin/history")).await.unwrap();
    fill(&admin, "user", &person.username).await;
    admin
        .find(Locator::Css("#service option[value='service-b']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&admin, "form[action='/admin/history'] button[type=submit]").await;
    wait_for_text(&admin, "Logins per day and service").await;
    let summary = text_of(&admin, "#summary tbody").await;
    assert!(
        summary.contains(&format!("{} service-b 3 0", person.username)),
        "{summary}"
    );
    look(&admin, "history-of-one").await;

    // Staff: an invitation, then the welcome page the mailed link opens.
    admin.goto(&system.url("/admin/staff")).await.unwrap();
    let (invitee, email) = new_person_names();
    fill(&admin, "username", &invitee).await;
    fill(&admin, "email", &email).await;
    click(&admin, "input[name=role][value=support]").await;
    look(&admin, "staff").await;
    click(&admin, "form[action='/admin/staff'] button[type=submit]").await;
    wait_for_text(&admin, "Invited.").await;
    assert!(text_of(&admin, "#staff").await.contains(&invitee));

    let token = mailed_token(&email, "You are invited to the admin console");
    let newcomer = browser(360, 900).await;
    newcomer
        .goto(&system.url(&format!("/admin/welcome?token={token}")))
        .await
        .unwrap();
    wait_for_text(&newcomer, &format!("Welcome, {invitee}")).await;
    look(&newcomer, "welcome").await;
    fill(&newcomer, "password", "passwordpassword").await;
    click(
        &newcomer,
        "form[action='/admin/welcome'] button[type=submit]",
    )
    .await;
    let error = text_of(&newcomer, "#welcome-error").await;
    assert!(!error.trim().is_empty());
    look(&newcomer, "welcome-refused").await;
    fill(&newcomer, "password", "copper harbour willow 77").await;
    click(
        &newcomer,
        "form[action='/admin/welcome'] button[type=submit]",
    )
    .await;
    wait_for_text(&newcomer, "Your password is set.").await;
    look(&newcomer, "joined").await;
    newcomer.close().await.unwrap();

    // Schedule: today closed as an exception, and the system's status follows.
    let (_, status) = system.get("/api/system/status").await;
    assert_eq!(status["data"]["status"], "open", "{status}");
    admin.goto(&system.url("/admin/schedule")).await.unwrap();
    let zone = admin
        .find(Locator::Id("timezone"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    let zone = jiff::tz::TimeZone::get(&zone).unwrap();
    let today = clock.now().await.to_zoned(zone).date();
    fill(&admin, "exceptions", &format!("{today} closed")).await;
    click(&admin, "form[action='/admin/schedule'] button[type=submit]").await;
    wait_for_text(
        &admin,
        "Saved. Every gateway follows the new hours within seconds.",
    )
    .await;
    look(&admin, "schedule-saved").await;
    let (_, status) = system.get("/api/system/status").await;
    assert_eq!(status["data"]["status"], "closed", "{status}");

    // The audit log names what this admin just did, newest first.
    admin.goto(&system.url("/admin/audit")).await.unwrap();
    let entries = text_of(&admin, "#entries").await;
    assert!(entries.contains("schedule.changed"), "{entries}");
    assert!(entries.contains("admin.invited"), "{entries}");
    look(&admin, "audit").await;
    admin.close().await.unwrap();
}

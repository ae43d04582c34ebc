//! The pages for people in a real headless Chromium, driven as a person would: registering and
//! verifying from the mailed link, recovering a password, and the account's own pages (a password
//! change, ending a session that ServiceB then refuses, a personal access token made and revoked).
//! Each state is screenshotted and checked with axe-core.

use std::time::Duration;

use auth_test_support::Smtp;
use fantoccini::{Client, Locator};

use crate::browser::{assert_accessible, browser, screenshot, text_of};
use crate::flows::{MAIL_WAIT, PASSWORD, active_person, admin_token, login, new_person_names};
use crate::harness::{Storage, System};
use crate::pages::{arrive, phone_pin, show_qr, type_pin};

async fn fill(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn submit(client: &Client, form_action: &str) {
    client
        .find(Locator::Css(&format!(
            "form[action='{form_action}'] button[type=submit]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits until the page's `main` says `text`; shows the page when it does not. The page may be
/// replaced while it is read (a form's answer arriving), so a vanished element is read again.
async fn wait_for_text(client: &Client, text: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page = match client.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if page.contains(text) {
            return page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never said {text:?}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Screenshot and accessibility check of the page `client` shows.
async fn look(client: &Client, name: &str) {
    screenshot(client, &format!("{name}.png")).await;
    assert_accessible(client, name).await;
}

async fn sign_in_to_account(client: &Client, system: &System, login: &str, password: &str) {
    client.goto(&system.url("/account")).await.unwrap();
    fill(client, "login", login).await;
    fill(client, "password", password).await;
    submit(client, "/account/sign-in").await;
    wait_for_text(client, "Your account").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_registers_verifies_from_the_mail_and_is_told_to_wait() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = browser(360, 900).await;

    // From the sign-in page: "No account? Register".
    person.goto(&system.url("/account")).await.unwrap();
    person
        .find(Locator::LinkText("Register"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&person, "Create an account").await;
    look(&person, "register-form").await;

    let (username, email) = new_person_names();
    fill(&person, "email", &email).await;
    fill(&person, "username", &username).await;
    fill(&person, "full_name", "Rita Register").await;
    fill(&person, "password", "password1234").await;
    fill(&person, "password_confirmation", "password1234x").await;
    submit(&person, "/register").await;
    // Each field's problem, and the strength hint for the password typed.
    let page = wait_for_text(&person, "Please correct").await;
    assert!(page.contains("too easy to guess"), "{page}");
    assert!(page.contains("does not match the password"), "{page}");
    assert!(
        page.contains("Strength of the password you typed: very weak")
            || page.contains("Strength of the password you typed: weak"),
        "{page}"
    );
    look(&person, "register-errors").await;
    // What was typed stays (not the passwords).
    let kept = person
        .find(Locator::Id("username"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(username.as_str()));

    fill(&person, "password", PASSWORD).await;
    fill(&person, "password_confirmation", PASSWORD).await;
    submit(&person, "/register").await;
    wait_for_text(&person, "Check your mail").await;
    look(&person, "register-check-mail").await;

    let link = Smtp::shared()
        .wait_for(&email, "Verify your email", MAIL_WAIT)
        .link_containing("/verify-email?token=")
        .expect("a verification link");
    person.goto(&link).await.unwrap();
    look(&person, "verify-email").await;
    submit(&person, "/verify-email").await;
    let page = wait_for_text(&person, "Email address verified").await;
    assert!(page.contains("An administrator will now review"), "{page}");
    assert!(page.contains("you will get an email"), "{page}");
    look(&person, "register-waiting").await;

    let (status, pending) = system.get_as("/api/admin/pending", &admin).await;
    assert_eq!(status, 200, "{pending}");
    let listed = pending["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["username"] == username.as_str());
    assert!(listed, "the account waits for an admin: {pending}");
    person.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_who_forgot_the_password_sets_a_new_one_from_the_mail() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let someone = active_person(&system, &admin).await;
    let person = browser(360, 900).await;

    person.goto(&system.url("/account")).await.unwrap();
    person
        .find(Locator::LinkText("Forgot your password?"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&person, "Mail me a link").await;
    look(&person, "forgot-form").await;
    fill(&person, "email", &someone.email).await;
    submit(&person, "/forgot-password").await;
    wait_for_text(&person, "Check your mail").await;
    look(&person, "forgot-check-mail").await;

    let link = Smtp::shared()
        .wait_for(&someone.email, "Reset your password", MAIL_WAIT)
        .link_containing("/reset-password?token=")
        .expect("a reset link");
    person.goto(&link).await.unwrap();
    look(&person, "reset-form").await;
    let new_password = "copper lantern wanders north";
    fill(&person, "new_password", new_password).await;
    submit(&person, "/reset-password").await;
    wait_for_text(&person, "Password changed").await;
    look(&person, "reset-done").await;

    assert_eq!(login(&system, &someone.username, PASSWORD).await.0, 401);
    sign_in_to_account(&person, &system, &someone.username, new_password).await;
    person.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_pages_change_the_password_end_a_session_and_manage_tokens() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let someone = active_person(&system, &admin).await;
    let desktop = browser(1280, 900).await;
    let phone = browser(360, 800).await;

    // Into ServiceB with QR and PIN; the phone is signed in too.
    let (scan_url, _) = show_qr(&system, &desktop).await;
    let pin = phone_pin(&phone, &scan_url, &someone, false).await;
    type_pin(&desktop, &pin).await;
    let dashboard = system.host_url("service-b.localhost", "/dashboard?tab=1");
    arrive(&desktop, &dashboard).await;

    // The account page, on the gateway's host, after a password sign-in.
    sign_in_to_account(&desktop, &system, &someone.username, PASSWORD).await;
    look(&desktop, "account").await;

    // The sessions: ServiceB's, the phone's and this one.
    desktop
        .find(Locator::LinkText("Sessions"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = wait_for_text(&desktop, "Your sessions").await;
    assert!(
        page.contains("ServiceB") && page.contains("QR code and PIN"),
        "{page}"
    );
    assert!(page.contains("(this browser)"), "{page}");
    look(&desktop, "account-sessions").await;
    desktop
        .find(Locator::Css(
            "button[aria-label^='End this session: ServiceB']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&desktop, "The session has ended.").await;
    assert!(!text_of(&desktop, "main").await.contains("ServiceB"));
    // ServiceB no longer lets this browser in: it is sent to log in again.
    desktop.goto(&dashboard).await.unwrap();
    desktop
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("qr"))
        .await
        .unwrap();
    assert_eq!(desktop.current_url().await.unwrap().path(), "/login");

    // The login history counted the one visit to ServiceB (QR + PIN and the hand-off) once.
    desktop.goto(&system.url("/account/logins")).await.unwrap();
    let page = wait_for_text(&desktop, "Your logins").await;
    assert_eq!(page.matches("ServiceB").count(), 1, "{page}");
    look(&desktop, "account-logins").await;

    // A personal access token for ServiceB: shown once, works there, then revoked.
    desktop.goto(&system.url("/account/tokens")).await.unwrap();
    wait_for_text(&desktop, "Personal access tokens").await;
    fill(&desktop, "name", "nightly report").await;
    desktop
        .find(Locator::Id("service-service-b"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(&desktop, "expires_in_days", "7").await;
    submit(&desktop, "/account/tokens").await;
    let pat = text_of(&desktop, "#new-token").await;
    assert!(pat.starts_with("pat_"), "{pat}");
    look(&desktop, "account-token-created").await;
    let at_service_b = |token: String| {
        let request = system
            .client()
            .get(system.host_url("service-b.localhost", "/reports"))
            .bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(at_service_b(pat.clone()).await, 200);
    desktop.goto(&system.url("/account/tokens")).await.unwrap();
    wait_for_text(&desktop, "nightly report").await;
    assert!(
        desktop.find(Locator::Id("new-token")).await.is_err(),
        "shown once"
    );
    desktop
        .find(Locator::Css(
            "button[aria-label='Revoke the token nightly report']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&desktop, "The token is revoked.").await;
    look(&desktop, "account-token-revoked").await;
    assert_eq!(at_service_b(pat).await, 401);

    // A new password: this browser stays signed in, the phone's sign-in ends.
    desktop.goto(&system.url("/account")).await.unwrap();
    let new_password = "granite comet whistles twice";
    fill(&desktop, "current_password", PASSWORD).await;
    fill(&desktop, "new_password", new_password).await;
    submit(&desktop, "/account/password").await;
    wait_for_text(&desktop, "Your password is changed").await;
    look(&desktop, "account-password-changed").await;
    phone.goto(&system.url("/account")).await.unwrap();
    wait_for_text(&phone, "Sign in to your account").await;
    assert_eq!(login(&system, &someone.username, PASSWORD).await.0, 401);
    assert_eq!(login(&system, &someone.username, new_password).await.0, 200);

    // Signing out from the header.
    submit(&desktop, "/account/sign-out").await;
    wait_for_text(&desktop, "Signed out").await;
    desktop.goto(&system.url("/account")).await.unwrap();
    wait_for_text(&desktop, "Sign in to your account").await;
    desktop.close().await.unwrap();
    phone.close().await.unwrap();
}

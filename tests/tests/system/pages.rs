//! The login page and the phone page in a real headless Chromium, plus their headers and the
//! refusal of foreign `return_to` targets.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{assert_accessible, browser, screenshot, text_of};

use crate::flows::{PASSWORD, Person, active_person, admin_token};
use crate::harness::{Storage, System};

/// Opens ServiceB in `desktop`, lands on the login page; returns the QR's scan URL and token.
pub(crate) async fn show_qr(system: &System, desktop: &Client) -> (String, String) {
    desktop
        .goto(&system.host_url("service-b.localhost", "/dashboard?tab=1"))
        .await
        .unwrap();
    let qr = desktop
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("qr"))
        .await
        .unwrap();
    assert_eq!(desktop.current_url().await.unwrap().path(), "/login");
    (
        qr.attr("data-scan-url").await.unwrap().unwrap(),
        qr.attr("data-qr-token").await.unwrap().unwrap(),
    )
}

/// The phone signs in, confirms, and reads the PIN.
pub(crate) async fn phone_pin(
    phone: &Client,
    scan_url: &str,
    person: &Person,
    screenshots_too: bool,
) -> String {
    phone.goto(scan_url).await.unwrap();
    if phone.find(Locator::Id("password")).await.is_ok() {
        if screenshots_too {
            screenshot(phone, "phone-sign-in.png").await;
            assert_accessible(phone, "phone sign-in").await;
        }
        phone
            .find(Locator::Id("login"))
            .await
            .unwrap()
            .send_keys(&person.username)
            .await
            .unwrap();
        phone
            .find(Locator::Id("password"))
            .await
            .unwrap()
            .send_keys(PASSWORD)
            .await
            .unwrap();
        phone
            .find(Locator::Css("form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    let confirm = match phone
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("confirm"))
        .await
    {
        Ok(confirm) => confirm,
        Err(err) => panic!(
            "no confirmation on the phone ({err}): {}\n{}",
            phone.current_url().await.unwrap(),
            phone.source().await.unwrap()
        ),
    };
    let page = text_of(phone, "main").await;
    assert!(
        page.contains("ServiceB") && page.contains("127.0.0.1"),
        "{page}"
    );
    if screenshots_too {
        screenshot(phone, "phone-page.png").await;
        assert_accessible(phone, "phone confirmation").await;
    }
    confirm.click().await.unwrap();
    let pin = text_of(phone, "#pin").await;
    assert_eq!(pin.len(), 6, "{pin}");
    if screenshots_too {
        screenshot(phone, "phone-pin.png").await;
        assert_accessible(phone, "phone PIN").await;
    }
    pin
}

/// Waits until `client` shows `url`; says where it is instead when it does not get there.
pub(crate) async fn arrive(client: &Client, url: &str) {
    let target = reqwest::Url::parse(url).unwrap();
    if client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_url(&target)
        .await
        .is_err()
    {
        panic!(
            "never reached {url}: at {}\n{}",
            client.current_url().await.unwrap(),
            client.source().await.unwrap()
        );
    }
}

pub(crate) async fn type_pin(desktop: &Client, pin: &str) {
    let field = desktop.find(Locator::Id("pin")).await.unwrap();
    field.send_keys(pin).await.unwrap();
    desktop
        .find(Locator::Css("form.pin-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_logs_into_serviceb_with_qr_and_pin_in_a_real_browser() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let desktop = browser(1280, 900).await;
    let phone = browser(390, 844).await;

    let (scan_url, _) = show_qr(&system, &desktop).await;
    assert!(
        scan_url.starts_with(&system.url("/m/scan?t=")),
        "{scan_url}"
    );
    let page = text_of(&desktop, "main").await;
    assert!(page.contains("Sign in to ServiceB"), "{page}");
    screenshot(&desktop, "login-page.png").await;
    assert_accessible(&desktop, "login page").await;

    let pin = phone_pin(&phone, &scan_url, &person, true).await;
    // The login page follows its challenge: the scan shows there, and the time left counts down.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = text_of(&desktop, "#status").await;
        if status.contains("Your phone scanned the code") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page never saw the scan: {status}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let left = text_of(&desktop, "#time-left").await;
    assert!(left.starts_with("1:") || left.starts_with("0:"), "{left}");
    type_pin(&desktop, &pin).await;

    // Back on ServiceB, where the browser was going, as this person.
    arrive(
        &desktop,
        &system.host_url("service-b.localhost", "/dashboard?tab=1"),
    )
    .await;
    // ServiceB greets the person by name: it read the gateway's assertion with auth-sdk.
    assert_eq!(text_of(&desktop, "#who").await, "Test Person");
    assert!(text_of(&desktop, "body").await.contains(&person.username));
    let cookies = desktop.get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name() == "auth_session")
        .expect("a session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(
        session.domain(),
        Some("service-b.localhost"),
        "scoped to ServiceB's host"
    );

    // The same cookie is nothing at AppC: the browser is sent to log in there.
    desktop
        .goto(&system.host_url("app-c.localhost", "/"))
        .await
        .unwrap();
    desktop
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("qr"))
        .await
        .unwrap();
    let url = desktop.current_url().await.unwrap();
    assert!(url.query().unwrap().contains("service=app-c"), "{url}");

    desktop.close().await.unwrap();
    phone.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pin_typed_in_another_browser_is_refused() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let shown_on = browser(1280, 900).await;
    let other = browser(1280, 900).await;
    let phone = browser(390, 844).await;

    let (scan_url, token) = show_qr(&system, &shown_on).await;
    let pin = phone_pin(&phone, &scan_url, &person, false).await;

    // Another browser, with a login page of its own, submits the first browser's code and PIN.
    show_qr(&system, &other).await;
    other
        .execute(
            "document.querySelector('input[name=qr_token]').value = arguments[0];",
            vec![json!(token)],
        )
        .await
        .unwrap();
    type_pin(&other, &pin).await;
    let refusal = text_of(&other, ".error").await;
    assert!(refusal.contains("another browser"), "{refusal}");
    assert!(other.get_named_cookie("auth_session").await.is_err());

    // The browser that showed the code can still finish.
    type_pin(&shown_on, &pin).await;
    arrive(
        &shown_on,
        &system.host_url("service-b.localhost", "/dashboard?tab=1"),
    )
    .await;
    for client in [shown_on, other, phone] {
        client.close().await.unwrap();
    }
}

/// Every visible form field of `html` has a label tied to it, and the page names its language.
fn assert_labelled(html: &str, page: &str) {
    assert!(html.contains("<html lang=\"en\">"), "{page}: no language");
    for input in html.split("<input").skip(1) {
        let tag = input.split('>').next().unwrap();
        if tag.contains("type=\"hidden\"") {
            continue;
        }
        let id = tag
            .split("id=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{page}: a field without an id: <input{tag}>"));
        assert!(
            html.contains(&format!("<label for=\"{id}\"")),
            "{page}: no label for #{id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_refuse_foreign_return_targets_and_frames() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let client = system.client();
    let (admin, _) = admin_token(&system, "admin").await;
    let key = crate::flows::service_key(&system, &admin, "service-b").await;
    // What the phone opens before its person signs in: the password form.
    let phone_sign_in = format!(
        "/m/scan?t={}",
        crate::flows::qr_challenge(&system, &key).await
    );
    for evil in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "http://evil.example/service-b/",
        "javascript:alert(1)",
    ]
    .into_iter()
    .map(str::to_string)
    .chain([
        // ServiceB's own host at another port or scheme is another origin.
        system
            .host_url("service-b.localhost", "/")
            .replace(&format!(":{}/", system.gateway.port), ":9/"),
        system
            .host_url("service-b.localhost", "/")
            .replace("http://", "https://"),
        // ServiceB does not share the gateway's origin, so nothing under it is ServiceB's.
        system.url("/service-b/"),
    ]) {
        let evil = evil.as_str();
        let response = client
            .get(system.url("/login"))
            .query(&[("service", "service-b"), ("return_to", evil)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{evil}");
        assert!(
            response.headers().get("set-cookie").is_none(),
            "no challenge for {evil}"
        );
    }
    for path in [
        &format!(
            "/login?service=service-b&return_to=/x&state={}",
            "0".repeat(64)
        ),
        "/m/scan?t=unknown",
        phone_sign_in.as_str(),
        "/verify-email?token=x",
        "/reset-password?token=x",
        "/register",
        "/forgot-password",
        "/account",
        "/account/email/confirm?token=x",
    ] {
        let response = client.get(system.url(path)).send().await.unwrap();
        assert!(response.status().is_success(), "{path}");
        let headers = response.headers();
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        let html = response.text().await.unwrap();
        assert!(
            !html.contains("<script>") && !html.contains(" style="),
            "{path}: inline script or style"
        );
        assert!(
            !html.contains("http://") || html.contains(&system.url("")),
            "{path}: external asset"
        );
        assert_labelled(&html, path);
        assert!(!html.contains("class=\"banner\""), "{path}: open all day");
    }
    let response = client
        .get(system.url("/login?service=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_posted_from_another_site_or_incomplete_are_refused() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let client = system.client();
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let fields: [(&str, &[(&str, &str)]); 3] = [
        (
            "/login/verify",
            &[
                ("service", "service-b"),
                ("return_to", "/"),
                ("state", &"0".repeat(64)),
                ("qr_token", "x"),
                ("pin", "123456"),
            ],
        ),
        (
            "/m/login",
            &[("t", "x"), ("login", &person.email), ("password", PASSWORD)],
        ),
        ("/m/scan", &[("t", "x")]),
    ];
    for (path, form) in fields {
        let foreign = client
            .post(system.url(path))
            .header("origin", "https://evil.example")
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status().as_u16(), 403, "{path}");
        assert!(foreign.headers().get("set-cookie").is_none(), "{path}");
        assert!(
            foreign.text().await.unwrap().contains("another site"),
            "{path}"
        );

        let incomplete = client
            .post(system.url(path))
            .form(&[("unrelated", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(incomplete.status().as_u16(), 400, "{path}");
        assert!(
            incomplete.text().await.unwrap().contains("incomplete"),
            "{path}"
        );
    }

    // The same password sign-in from our own origin works: the refusal above was the origin's.
    let own = client
        .post(system.url("/m/login"))
        .header("origin", system.url("").trim_end_matches('/'))
        .form(&[("t", "x"), ("login", &person.email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 303);
    assert!(own.headers().get("set-cookie").is_some());
}

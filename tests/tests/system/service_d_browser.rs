//! ServiceD's own login page in a real headless Chromium, with a second browser as the phone:
//! the QR code, the page following the scan, a wrong PIN with the tries left, the right one, the
//! session cookie, and signing out. Each state is screenshot and checked with axe-core.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::browser::{assert_accessible, browser, screenshot, text_of};
use crate::flows::{PASSWORD, Person, active_person, admin_token};
use crate::harness::{Storage, System};
use crate::service_d::ServiceD;

/// The phone, a browser of its own: signs in on the gateway's phone page, confirms, reads the PIN.
async fn phone_pin(phone: &Client, scan_url: &str, person: &Person) -> String {
    phone.goto(scan_url).await.unwrap();
    if phone.find(Locator::Id("password")).await.is_ok() {
        let login = phone.find(Locator::Id("login")).await.unwrap();
        login.send_keys(&person.username).await.unwrap();
        let password = phone.find(Locator::Id("password")).await.unwrap();
        password.send_keys(PASSWORD).await.unwrap();
        let submit = phone
            .find(Locator::Css("form button[type=submit]"))
            .await
            .unwrap();
        submit.click().await.unwrap();
    }
    let confirm = phone
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("confirm"))
        .await
        .expect("the phone asks to confirm");
    let asks = text_of(phone, "main").await;
    assert!(asks.contains("ServiceD"), "{asks}");
    confirm.click().await.unwrap();
    text_of(phone, "#pin").await
}

async fn type_pin(desktop: &Client, pin: &str) {
    let field = desktop.find(Locator::Id("pin")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(pin).await.unwrap();
    desktop
        .find(Locator::Css("form.pin-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn wait_for_text(client: &Client, css: &str, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = text_of(client, css).await;
        if text.contains(wanted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{css} never said {wanted:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_logs_into_service_d_on_its_own_page_in_a_real_browser() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let service_d = ServiceD::start(&system, &admin).await;
    let desktop = browser(1280, 900).await;
    let phone = browser(390, 844).await;

    // Not signed in: ServiceD sends the browser to its own login page, on its own origin.
    desktop.goto(&service_d.url("/")).await.unwrap();
    let qr = desktop
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("qr"))
        .await
        .unwrap();
    let here = desktop.current_url().await.unwrap();
    assert_eq!(
        (here.host_str(), here.path()),
        (Some("service-d.localhost"), "/login")
    );
    let scan_url = qr.attr("data-scan-url").await.unwrap().unwrap();
    assert!(
        text_of(&desktop, "h1")
            .await
            .contains("Sign in to ServiceD")
    );
    screenshot(&desktop, "service-d-login.png").await;
    assert_accessible(&desktop, "ServiceD login page").await;

    // The phone scans; the page sees it through its script's polling.
    let pin = phone_pin(&phone, &scan_url, &person).await;
    assert_eq!(pin.len(), 6, "{pin}");
    wait_for_text(&desktop, "#status", "Your phone scanned the code").await;

    let wrong = if pin == "000000" { "111111" } else { "000000" };
    type_pin(&desktop, wrong).await;
    wait_for_text(&desktop, "#error", "That PIN is wrong. 4 tries left.").await;
    screenshot(&desktop, "service-d-wrong-pin.png").await;
    assert_accessible(&desktop, "ServiceD login page, wrong PIN").await;

    type_pin(&desktop, &pin).await;
    desktop
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("who"))
        .await
        .expect("signed in");
    assert_eq!(text_of(&desktop, "#who").await, "Test Person");
    assert_eq!(desktop.current_url().await.unwrap().path(), "/");
    let cookies = desktop.get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name() == "service_d_session")
        .expect("ServiceD's session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(
        session.same_site().map(|s| format!("{s:?}")).as_deref(),
        Some("Lax")
    );
    assert_eq!(session.domain(), Some("service-d.localhost"));
    assert!(
        cookies.iter().all(|c| !c.name().starts_with("auth_")),
        "no gateway cookie on ServiceD's origin: {cookies:?}"
    );
    screenshot(&desktop, "service-d-signed-in.png").await;
    assert_accessible(&desktop, "ServiceD signed in").await;

    desktop
        .find(Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    desktop
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("qr"))
        .await
        .expect("back on the login page");
    assert!(desktop.get_named_cookie("service_d_session").await.is_err());

    desktop.close().await.unwrap();
    phone.close().await.unwrap();
}

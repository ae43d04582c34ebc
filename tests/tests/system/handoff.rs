//! The browser session at a service, over plain HTTP: the login page's one-time code becomes the
//! session cookie on the service's own host once, in the browser that was sent to log in, and
//! `/_auth/logout` there ends the session.

use crate::flows::{active_person, admin_token, scan, tokens};
use crate::harness::{Storage, System};

/// The value of `attribute="…"` in `html`.
fn attribute(html: &str, attribute: &str) -> String {
    let start = html
        .find(&format!("{attribute}=\""))
        .unwrap_or_else(|| panic!("no {attribute} in {html}"))
        + attribute.len()
        + 2;
    html[start..].split('"').next().unwrap().to_string()
}

fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie: {:?}", response.headers()))
}

/// The query parameter `name` of `url`.
fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// A browser sent from ServiceB's host to the login page: the login-state cookie it got there,
/// the login page's nonce cookie, the page's QR token and the `state` the page carries.
struct AtLoginPage {
    login_state: String,
    nonce: String,
    qr_token: String,
    state: String,
}

async fn sent_to_login(system: &System, return_to: &str) -> AtLoginPage {
    let client = system.client();
    let asked = client
        .get(return_to)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status().as_u16(), 302);
    let login_state = set_cookie(&asked, "auth_state");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(login_state.contains(attribute), "{login_state}");
    }
    let login_state = login_state.split(';').next().unwrap().to_string();
    let login_url = asked.headers()["location"].to_str().unwrap().to_string();
    let state = query_param(&login_url, "state");
    // Only the hash of the cookie's value travels in the URL.
    assert!(!login_url.contains(login_state.split('=').nth(1).unwrap()));
    let page = client.get(&login_url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let nonce = set_cookie(&page, "auth_login_nonce");
    let nonce = nonce.split(';').next().unwrap().to_string();
    let qr_token = attribute(&page.text().await.unwrap(), "data-qr-token");
    AtLoginPage {
        login_state,
        nonce,
        qr_token,
        state,
    }
}

/// A hand-off code for ServiceB, made by a browser login of `person` and not yet redeemed.
pub(crate) async fn code_for_service_b(system: &System, person: &crate::flows::Person) -> String {
    let return_to = system.host_url("service-b.localhost", "/");
    let browser = sent_to_login(system, &return_to).await;
    let verified = log_in_at_login_page(system, person, &browser, &return_to).await;
    let callback = verified.headers()["location"].to_str().unwrap().to_string();
    query_param(&callback, "code")
}

/// `person` scans the QR code of the login page `browser` is at with their phone, and the
/// browser posts the PIN: the page's answer (a redirect to ServiceB's callback when it worked).
async fn log_in_at_login_page(
    system: &System,
    person: &crate::flows::Person,
    browser: &AtLoginPage,
    return_to: &str,
) -> reqwest::Response {
    let phone = tokens(system, person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let scanned = scan(system, &phone, &browser.qr_token).await;
    system
        .client()
        .post(system.url("/login/verify"))
        .header("cookie", &browser.nonce)
        .header("origin", system.url("").trim_end_matches('/'))
        .form(&[
            ("service", "service-b"),
            ("return_to", return_to),
            ("state", browser.state.as_str()),
            ("qr_token", browser.qr_token.as_str()),
            ("pin", scanned["pin"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_login_code_works_once_in_the_browser_that_logged_in_and_logout_ends_it() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let client = system.client();
    let return_to = system.host_url("service-b.localhost", "/after");
    let browser = sent_to_login(&system, &return_to).await;

    let verified = log_in_at_login_page(&system, &person, &browser, &return_to).await;
    assert_eq!(verified.status().as_u16(), 303);
    let callback = verified.headers()["location"].to_str().unwrap().to_string();
    assert!(
        callback.starts_with(&system.host_url("service-b.localhost", "/_auth/callback?code=")),
        "{callback}"
    );

    // In another browser (no login-state cookie, or another one) the code opens nothing.
    let elsewhere = client.get(&callback).send().await.unwrap();
    assert_eq!(elsewhere.status().as_u16(), 400);
    assert!(elsewhere.headers().get("set-cookie").is_none());
    let planted = client
        .get(&callback)
        .header(
            "cookie",
            "auth_state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(planted.status().as_u16(), 400);

    // A code is single-use: the refused tries above spent it.
    let again = client
        .get(&callback)
        .header("cookie", &browser.login_state)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 400);
    assert!(again.headers().get("set-cookie").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_login_code_becomes_the_session_cookie_once_and_logout_ends_it() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let client = system.client();
    let return_to = system.host_url("service-b.localhost", "/after");
    let browser = sent_to_login(&system, &return_to).await;
    let verified = log_in_at_login_page(&system, &person, &browser, &return_to).await;
    let callback = verified.headers()["location"].to_str().unwrap().to_string();

    // On ServiceB's host, in the browser that was sent to log in, the code becomes the session
    // cookie, the login state is cleared, and the browser goes on its way.
    let landed = client
        .get(&callback)
        .header("cookie", &browser.login_state)
        .send()
        .await
        .unwrap();
    assert_eq!(landed.status().as_u16(), 303);
    assert_eq!(landed.headers()["location"], return_to.as_str());
    let cookie = set_cookie(&landed, "auth_session");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(!cookie.contains("Domain="), "host-only: {cookie}");
    assert!(set_cookie(&landed, "auth_state").contains("Max-Age=0"));
    let session = cookie.split(';').next().unwrap().to_string();

    // The code was single-use.
    let again = client
        .get(&callback)
        .header("cookie", &browser.login_state)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 400);
    assert!(again.headers().get("set-cookie").is_none());

    let visit = || client.get(&return_to).header("cookie", &session).send();
    assert_eq!(visit().await.unwrap().status().as_u16(), 200);

    // Logging out at the service ends the session and clears the cookie.
    let logout = client
        .post(system.host_url("service-b.localhost", "/_auth/logout"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status().as_u16(), 303);
    let cleared = set_cookie(&logout, "auth_session");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(visit().await.unwrap().status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_page_opened_without_a_state_gets_one_from_the_service_first() {
    let system = System::start(Storage::Embedded);
    let client = system.client();
    let return_to = system.host_url("service-b.localhost", "/after");
    let page = client
        .get(system.url("/login"))
        .query(&[("service", "service-b"), ("return_to", return_to.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 303);
    let start = page.headers()["location"].to_str().unwrap().to_string();
    assert!(
        start.starts_with(&system.host_url("service-b.localhost", "/_auth/start?return_to=")),
        "{start}"
    );
    let started = client.get(&start).send().await.unwrap();
    assert_eq!(started.status().as_u16(), 302);
    set_cookie(&started, "auth_state");
    let back = started.headers()["location"].to_str().unwrap();
    assert_eq!(query_param(back, "return_to"), return_to);
    assert_eq!(query_param(back, "state").len(), 64);
}

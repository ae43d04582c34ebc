//! The browser session at a service, over plain HTTP: the login page's one-time code becomes the
//! session cookie on the service's own host once, and `/_auth/logout` there ends the session.

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

#[tokio::test(flavor = "multi_thread")]
async fn the_login_code_works_once_and_logout_ends_the_browser_session() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let client = system.client();
    let return_to = system.host_url("service-b.localhost", "/after");

    let page = client
        .get(system.url("/login"))
        .query(&[("service", "service-b"), ("return_to", return_to.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let nonce = set_cookie(&page, "auth_login_nonce");
    let nonce = nonce.split(';').next().unwrap().to_string();
    let qr_token = attribute(&page.text().await.unwrap(), "data-qr-token");

    let phone = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let scanned = scan(&system, &phone, &qr_token).await;
    let verified = client
        .post(system.url("/login/verify"))
        .header("cookie", &nonce)
        .header("origin", system.url("").trim_end_matches('/'))
        .form(&[
            ("service", "service-b"),
            ("return_to", return_to.as_str()),
            ("qr_token", qr_token.as_str()),
            ("pin", scanned["pin"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status().as_u16(), 303);
    let callback = verified.headers()["location"].to_str().unwrap().to_string();
    assert!(
        callback.starts_with(&system.host_url("service-b.localhost", "/_auth/callback?code=")),
        "{callback}"
    );

    // On ServiceB's host the code becomes the session cookie, and the browser goes on its way.
    let landed = client.get(&callback).send().await.unwrap();
    assert_eq!(landed.status().as_u16(), 303);
    assert_eq!(landed.headers()["location"], return_to.as_str());
    let cookie = set_cookie(&landed, "auth_session");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(!cookie.contains("Domain="), "host-only: {cookie}");
    let session = cookie.split(';').next().unwrap().to_string();

    // The code was single-use.
    let again = client.get(&callback).send().await.unwrap();
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

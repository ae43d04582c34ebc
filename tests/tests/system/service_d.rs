//! ServiceD, the example that runs its own login page with auth-sdk's `ServiceClient`, as a real
//! process in front of a real gateway: a login through the `phone` example binary, a code that
//! expires and is replaced, closed hours, and its pages' headers. The browser login is in
//! `service_d_browser.rs`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use auth_test_support::{ChildProcess, binary, free_port, wait_for_port};
use jiff::{Timestamp, ToSpan};
use serde_json::json;

use crate::flows::{PASSWORD, Person, active_person, admin_token};
use crate::harness::{Storage, System};

/// A ServiceD process registered at the gateway of `system`.
pub struct ServiceD {
    _process: ChildProcess,
    pub port: u16,
}

impl ServiceD {
    /// Registers `service-d` through the admin API (its upstream on a free port) and starts the
    /// example with the API key the registration made.
    pub async fn start(system: &System, admin: &str) -> ServiceD {
        let port = free_port();
        let (status, body) = system
            .post(
                "/api/services/register",
                Some(admin),
                json!({
                    "name": "ServiceD",
                    "slug": "service-d",
                    "hosts": ["service-d.localhost"],
                    "upstreams": [format!("127.0.0.1:{port}")],
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let key = body["data"]["api_key"].as_str().expect("an API key");
        let mut command = Command::new(binary("service-d"));
        command
            .env("PORT", port.to_string())
            .env("GATEWAY_URL", system.url(""))
            .env("SERVICE_D_API_KEY", key)
            .env(
                "SERVICE_D_URL",
                format!("http://service-d.localhost:{port}"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let process = ChildProcess::spawn("service-d", command, None, libc::SIGTERM)
            .expect("start service-d");
        assert!(
            wait_for_port(port, Duration::from_secs(20)),
            "service-d did not listen"
        );
        ServiceD {
            _process: process,
            port,
        }
    }

    /// A URL on ServiceD's own origin, as browsers reach it.
    pub fn url(&self, path: &str) -> String {
        format!("http://service-d.localhost:{}{path}", self.port)
    }

    /// A client with its own cookies that reaches ServiceD directly and follows no redirect.
    pub fn browser_like_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .resolve(
                "service-d.localhost",
                std::net::SocketAddr::from(([127, 0, 0, 1], self.port)),
            )
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap()
    }
}

/// The scan URL on a ServiceD login page.
pub fn scan_url_of(html: &str) -> String {
    html.split("data-scan-url=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a QR code on the page")
        .replace("&amp;", "&")
}

/// Runs the `phone` example: signs in as `person`, scans `scan_url`, returns the PIN it prints.
fn phone_pin(system: &System, person: &Person, scan_url: &str) -> String {
    use std::io::Write;
    let mut phone = Command::new(binary("phone"))
        .args([
            "--gateway",
            &system.url(""),
            "--login",
            &person.username,
            scan_url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the phone example");
    phone
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let output = phone.wait_with_output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "phone failed: {printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        printed.contains("ServiceD asks to sign you in"),
        "{printed}"
    );
    printed
        .split("PIN: ")
        .nth(1)
        .map(|rest| rest.chars().take(6).collect())
        .expect("a PIN")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_logs_into_service_d_with_the_phone_example() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let service_d = ServiceD::start(&system, &admin).await;
    let client = service_d.browser_like_client();

    let home = client.get(service_d.url("/")).send().await.unwrap();
    assert_eq!(home.status().as_u16(), 303);
    assert_eq!(home.headers()["location"], "/login");
    let page = client.get(service_d.url("/login")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let scan_url = scan_url_of(&page.text().await.unwrap());
    assert!(
        scan_url.starts_with(&system.url("/m/scan?t=")),
        "{scan_url}"
    );

    // A PIN typed before the phone scanned is refused, and says why.
    let early = client
        .post(service_d.url("/login"))
        .form(&[("pin", "123456")])
        .send()
        .await
        .unwrap();
    assert_eq!(early.status().as_u16(), 422);
    assert!(
        early
            .text()
            .await
            .unwrap()
            .contains("Scan the code with your phone first")
    );

    let pin = phone_pin(&system, &person, &scan_url);
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    let refused = client
        .post(service_d.url("/login"))
        .form(&[("pin", wrong)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    let text = refused.text().await.unwrap();
    assert!(text.contains("That PIN is wrong. 4 tries left."), "{text}");
    assert_eq!(scan_url_of(&text), scan_url, "the same code, still usable");

    let signed_in = client
        .post(service_d.url("/login"))
        .form(&[("pin", pin.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    assert_eq!(signed_in.headers()["location"], "/");
    let cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("service_d_session="))
        .expect("the session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let home = client.get(service_d.url("/")).send().await.unwrap();
    assert_eq!(home.status().as_u16(), 200);
    let text = home.text().await.unwrap();
    assert!(
        text.contains("<strong id=\"who\">Test Person</strong>"),
        "{text}"
    );
    assert!(text.contains(&person.username));

    // Signing out ends the session at the gateway: the old cookie, sent again, no longer works.
    let token = cookie
        .trim_start_matches("service_d_session=")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let out = client.post(service_d.url("/logout")).send().await.unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert!(
        out.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("service_d_session=; ")),
        "the cookie is cleared"
    );
    // ServiceD reuses a liveness answer for up to 2 s (auth-sdk's session check cache).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let replayed = service_d
            .browser_like_client()
            .get(service_d.url("/"))
            .header("cookie", format!("service_d_session={token}"))
            .send()
            .await
            .unwrap();
        if replayed.status().as_u16() == 303 {
            assert_eq!(replayed.headers()["location"], "/login");
            break;
        }
        assert_eq!(replayed.status().as_u16(), 200);
        assert!(
            Instant::now() < deadline,
            "the ended session is still accepted"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn service_d_replaces_an_expired_code_and_says_when_it_opens() {
    let system = System::start_with_mail(Storage::Embedded, "[qr]\nchallenge_ttl_secs = 10\n");
    let (admin, _) = admin_token(&system, "admin").await;
    let service_d = ServiceD::start(&system, &admin).await;
    let client = service_d.browser_like_client();
    let page = client.get(service_d.url("/login")).send().await.unwrap();
    let headers = page.headers().clone();
    let html = page.text().await.unwrap();
    let first = scan_url_of(&html);
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("<label for=\"pin\">"));
    assert!(!html.contains("<script>") && !html.contains(" style="));

    // The page's status endpoint follows the challenge until the gateway calls it expired.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status: serde_json::Value = client
            .get(service_d.url("/login/status"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["status"] == "expired" {
            break;
        }
        assert_eq!(status["status"], "pending");
        assert!(Instant::now() < deadline, "the code never expired");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let replaced = client
        .post(service_d.url("/login"))
        .form(&[("pin", "123456")])
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status().as_u16(), 422);
    let html = replaced.text().await.unwrap();
    assert!(
        html.contains("That code has expired. Here is a new one"),
        "{html}"
    );
    assert_ne!(scan_url_of(&html), first, "a new code");

    // Closed until tomorrow: the page says when it opens, and no code is made.
    let tomorrow = Timestamp::now() + 24.hours();
    let weekday = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][tomorrow
        .to_zoned(jiff::tz::TimeZone::UTC)
        .weekday()
        .to_monday_zero_offset()
        as usize];
    let (status, body) = system
        .call(
            reqwest::Method::PUT,
            "/api/admin/schedule",
            Some(&admin),
            Some(json!({ "timezone": "UTC", "weekly": { weekday: { "open": "00:00", "close": "24:00" } },
                         "exceptions": [], "warning_minutes": 15 })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let closed = client
        .get(service_d.url("/login?new=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status().as_u16(), 503);
    assert!(closed.headers().get("retry-after").is_some());
    let html = closed.text().await.unwrap();
    let opens = tomorrow
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .strftime("%Y-%m-%d at 00:00 UTC")
        .to_string();
    assert!(
        html.contains("ServiceD is closed") && html.contains(&opens),
        "{html}"
    );
    assert!(!html.contains("data-scan-url"));
}

//! The gateway's cookies stay the gateway's: none reaches a service, no service can set one, a
//! doubled one is refused, and over TLS they carry the `__Host-` prefix and plain ones are not
//! read. Behind the gateway sits a recorder that keeps every request head it receives and answers
//! with the `Set-Cookie` headers a test gives it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_test_support::free_port;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::flows::{PASSWORD, active_person, admin_token, qr_session, tokens};
use crate::harness::{Storage, System};

/// An upstream that records request heads and answers 200 with `set_cookies`.
struct Recorder {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    async fn start(set_cookies: &'static [&'static str]) -> Recorder {
        let port = free_port();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).to_string());
                    let mut answer = String::from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
                    for cookie in set_cookies {
                        answer.push_str(&format!("Set-Cookie: {cookie}\r\n"));
                    }
                    answer.push_str("Connection: close\r\n\r\nok");
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        Recorder { port, heads }
    }

    fn last_head(&self) -> String {
        self.heads
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }

    /// The service entry: its own host, and a prefix on the gateway's host it shares.
    fn service_toml(&self) -> String {
        format!(
            "[[services]]\nslug = \"recorder\"\nname = \"Recorder\"\nhosts = [\"recorder.localhost\"]\n\
             path_prefix = \"/recorder\"\nshare_gateway_origin = true\nupstreams = [\"127.0.0.1:{}\"]\n",
            self.port
        )
    }
}

fn client(system: &System) -> reqwest::Client {
    let gateway = SocketAddr::from(([127, 0, 0, 1], system.gateway.port));
    reqwest::Client::builder()
        .resolve("recorder.localhost", gateway)
        .resolve("service-b.localhost", gateway)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// The `Cookie` header line of a recorded request head.
fn cookie_line(head: &str) -> Option<String> {
    head.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("cookie:"))
        .map(|l| l["cookie:".len()..].trim().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn no_gateway_cookie_reaches_a_service_in_any_spelling() {
    let recorder = Recorder::start(&[]).await;
    let system = System::start_with_mail(Storage::Embedded, &recorder.service_toml());
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "recorder").await;
    let access = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let client = client(&system);
    let others = format!(
        "theme=dark; auth_access={access}; auth_refresh=rt_x; auth_login_nonce=n; \
         auth_state=s; AUTH_ACCESS=x; __Host-auth_access=y; __Secure-auth_refresh=z; lang=en"
    );
    for (url, session_cookie) in [
        (
            format!("http://recorder.localhost:{}/x", system.gateway.port),
            "auth_session",
        ),
        // On the gateway's host, where the phone's access cookie lives.
        (system.url("/recorder/x"), "auth_session-recorder"),
    ] {
        let response = client
            .get(&url)
            .header("cookie", format!("{session_cookie}={session}; {others}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{url}");
        let head = recorder.last_head();
        assert_eq!(
            cookie_line(&head).as_deref(),
            Some("theme=dark; lang=en"),
            "{url}: {head}"
        );
        assert!(
            !head.contains(&access) && !head.contains(&session),
            "{head}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_cannot_set_a_gateway_cookie() {
    let recorder = Recorder::start(&[
        "auth_session=planted; Path=/",
        "__Host-auth_access=planted; Path=/; Secure",
        "AUTH_STATE=planted",
        "auth_session-app-c=planted; Path=/",
        "theme=dark; Path=/",
    ])
    .await;
    let system = System::start_with_mail(Storage::Embedded, &recorder.service_toml());
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "recorder").await;
    let response = client(&system)
        .get(system.url("/recorder/"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let set: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(set, ["theme=dark; Path=/"]);
    let dropped = system
        .logged_metric(
            "gateway_upstream_cookies_dropped_total{service=\"recorder\"}",
            4.0,
        )
        .await;
    assert_eq!(dropped, Some(4.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_doubled_gateway_cookie_is_refused_not_guessed() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "service-b").await;
    let access = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let client = system.client();
    let at_b = system.host_url("service-b.localhost", "/");
    let doubled = client
        .get(&at_b)
        .header(
            "cookie",
            format!("auth_session={session}; auth_session=planted"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(doubled.status().as_u16(), 400);
    let body: serde_json::Value = doubled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BAD_REQUEST");
    // The same cookie once is a session.
    let once = client
        .get(&at_b)
        .header("cookie", format!("auth_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(once.status().as_u16(), 200);

    let doubled = client
        .get(system.url("/api/users/me"))
        .header(
            "cookie",
            format!("auth_access=planted; auth_access={access}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(doubled.status().as_u16(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn over_tls_cookies_are_host_prefixed_and_plain_ones_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let tls_port = free_port();
    let system = System::start_with_mail(
        Storage::Embedded,
        &format!(
            "[gateway.tls]\nlisten = \"127.0.0.1:{tls_port}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            cert.display(),
            key.display()
        ),
    );
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let https = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .no_proxy()
        .build()
        .unwrap();
    let base = format!("https://localhost:{tls_port}");
    let response = https
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "login": person.username, "password": PASSWORD, "use_cookies": true }))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in &cookies {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        assert!(
            cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"),
            "{cookie}"
        );
    }
    let access = cookies
        .iter()
        .find(|c| c.starts_with("__Host-auth_access="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-auth_access=")
        .to_string();
    let me = |cookie: String| {
        https
            .get(format!("{base}/api/users/me"))
            .header("cookie", cookie)
            .send()
    };
    let prefixed = me(format!("__Host-auth_access={access}")).await.unwrap();
    assert_eq!(prefixed.status().as_u16(), 200);
    // A cookie without the prefix could have been set over plain HTTP: over TLS it is not read.
    let plain = me(format!("auth_access={access}")).await.unwrap();
    assert_eq!(plain.status().as_u16(), 401);
}

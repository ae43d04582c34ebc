//! Request hygiene over raw sockets: framing that could smuggle a second request is refused before
//! anything reaches a service, and path variants get the decision of their canonical form. The
//! raw-socket client and the counting upstream here serve `header_hygiene` too.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use serde_json::json;

use crate::flows::{active_person, admin_token, qr_session};
use crate::harness::{Storage, System};

/// An upstream that records the path of every request it receives and echoes it.
pub(crate) struct Counter {
    seen: Arc<Mutex<Vec<String>>>,
    port: u16,
}

impl Counter {
    /// How many requests for `path` arrived.
    pub(crate) fn count(&self, path: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }

    pub(crate) fn total(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn counter() -> Counter {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let app = axum::Router::new().fallback(move |request: Request| {
        let recorded = recorded.clone();
        async move {
            let path = request.uri().path().to_string();
            recorded.lock().unwrap().push(path.clone());
            axum::Json(json!({ "path": path }))
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Counter { seen, port }
}

/// What came back on a raw connection.
pub(crate) struct RawAnswer {
    /// The status of the first response; None if the connection ended without one.
    pub(crate) status: Option<u16>,
    /// Everything read until the gateway closed the connection or went quiet.
    pub(crate) text: String,
    /// Whether the gateway closed the connection (rather than leaving it open and quiet).
    pub(crate) closed: bool,
}

/// Sends raw bytes and reads what comes back.
pub(crate) fn raw(port: u16, request: &str) -> RawAnswer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = loop {
        match stream.read(&mut buffer) {
            Ok(0) => break true,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            // A reset is a close too; a timeout means the connection stayed open.
            Err(err) => break err.kind() == std::io::ErrorKind::ConnectionReset,
        }
    };
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|s| s.parse().ok());
    RawAnswer {
        status,
        text,
        closed,
    }
}

/// A gateway with the counting upstream behind it as `counter.localhost` (and `/counter` on the
/// gateway's hosts), and a session for it.
pub(crate) async fn system_with_counter() -> (System, Counter, String) {
    let counter = counter().await;
    let system = System::start_with_mail(
        Storage::Embedded,
        &format!(
            "[[services]]\nslug = \"counter\"\nname = \"Counter\"\nhosts = [\"counter.localhost\"]\n\
             path_prefix = \"/counter\"\nshare_gateway_origin = true\nupstreams = [\"127.0.0.1:{}\"]\n",
            counter.port
        ),
    );
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "counter").await;
    (system, counter, session)
}

#[tokio::test(flavor = "multi_thread")]
async fn smuggling_attempts_never_reach_the_service() {
    let (system, counter, session) = system_with_counter().await;
    let head = format!("Host: counter.localhost\r\nAuthorization: Bearer {session}\r\n");
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: counter.localhost\r\n\r\n";
    let attacks = [
        format!(
            "POST / HTTP/1.1\r\n{head}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
        ),
        format!(
            "POST / HTTP/1.1\r\n{head}Content-Length: 5\r\nContent-Length: 50\r\n\r\nhello{smuggled}"
        ),
        format!(
            "POST / HTTP/1.1\r\n{head}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n{smuggled}"
        ),
        format!("POST / HTTP/1.1\r\n{head}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n{smuggled}"),
        format!(
            "GET / HTTP/1.1\r\n{head}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n{smuggled}"
        ),
    ];
    let port = system.gateway.port;
    for attack in attacks {
        let RawAnswer {
            status,
            text,
            closed,
        } = tokio::task::spawn_blocking({
            let attack = attack.clone();
            move || raw(port, &attack)
        })
        .await
        .unwrap();
        assert!(status.is_none_or(|s| s == 400), "{attack:?} -> {text}");
        assert!(!text.contains("smuggled"), "{attack:?} -> {text}");
        assert!(closed, "{attack:?} left the connection open: {text}");
        assert_eq!(counter.total(), 0, "{attack:?} reached the service: {text}");
    }

    // A chunk size that is not a number: refused or cut off, and nothing smuggled behind it.
    let bad_chunks = format!(
        "POST / HTTP/1.1\r\n{head}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n{smuggled}"
    );
    let RawAnswer { status, text, .. } =
        tokio::task::spawn_blocking(move || raw(port, &bad_chunks))
            .await
            .unwrap();
    assert!(status.is_none_or(|s| s == 400 || s == 502), "{text}");
    assert!(!text.contains("/smuggled"), "{text}");

    // A plain request gets through, exactly once.
    let plain = format!("GET /ok HTTP/1.1\r\n{head}Connection: close\r\n\r\n");
    let RawAnswer { status, .. } = tokio::task::spawn_blocking(move || raw(port, &plain))
        .await
        .unwrap();
    assert_eq!(status, Some(200));
    assert_eq!(counter.count("/ok"), 1);
    // The bad chunk's head may have reached the service (its body never did); nothing else did.
    assert_eq!(counter.count("/smuggled"), 0);
    assert!(
        counter.total() - counter.count("/ok") <= 1,
        "{:?}",
        counter.seen
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn path_variants_get_the_decision_of_their_canonical_form() {
    let (system, _counter, session) = system_with_counter().await;
    let port = system.gateway.port;
    let ask = |path: &str, authorized: bool| {
        let auth = if authorized {
            format!("Authorization: Bearer {session}\r\n")
        } else {
            String::new()
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n"
        );
        async move {
            tokio::task::spawn_blocking(move || raw(port, &request))
                .await
                .unwrap()
        }
    };
    for path in [
        "/counter/x",
        "/counter//x",
        "//counter/x",
        "/counter/./x",
        "/counter/a/%2e%2e/x",
        "/%2e%2e/counter/x",
        "/counter/a/%2E%2E/x",
    ] {
        let RawAnswer { status, text, .. } = ask(path, false).await;
        assert_eq!(status, Some(401), "{path}: {text}");
        let RawAnswer { status, text, .. } = ask(path, true).await;
        assert_eq!(status, Some(200), "{path}: {text}");
        assert!(text.contains(r#""path":"/x""#), "{path}: {text}");
    }
    // Leaving the prefix by dot segments lands on the gateway's own routes, not in the service.
    let RawAnswer { status, text, .. } = ask("/counter/%2e%2e/health", false).await;
    assert_eq!(status, Some(200), "{text}");
    assert!(text.contains("\"database\""), "{text}");
    // Encodings that servers disagree on are refused.
    for path in ["/counter/a%2fb", "/counter/a%5cb", "/counter/a%00"] {
        let RawAnswer { status, text, .. } = ask(path, true).await;
        assert_eq!(status, Some(400), "{path}: {text}");
    }
}

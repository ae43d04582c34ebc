//! The closing warning where people work, through HTTP, on a gateway whose clock the test moves:
//! the headers every forwarded request carries (`X-Auth-Closes-At`, `X-Auth-Closing-In`), the
//! banner inserted into a service's HTML answers (plain, chunked, gzip, without `</body>`, opted
//! out, not HTML, 10 MiB streamed), a service's own warning window and banner switch, and
//! `/_auth/status` and the `/_auth/events` stream on the service's host.
//!
//! The service is a page server in this test, so each answer's shape (length, chunks, coding) is
//! known exactly; a streamed answer waits at a gate the test opens only after it has read the
//! first part through the gateway, which shows the gateway did not wait for the whole body.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_test_support::Smtp;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::expiry::{TestClock, next_monday_at, on_test_clock};
use crate::flows::{active_person, admin_token, qr_session};
use crate::harness::{Storage, System};

const PAGE: &str =
    "<!doctype html><html lang=\"en\"><title>t</title><body><p>plain</p></body></html>";
const BANNER_SCRIPT: &str = "<script src=\"/_auth/banner.js\" defer></script>";
const MIB: usize = 1024 * 1024;

/// What the page server saw and the gate its streamed answers wait at.
#[derive(Clone)]
struct Origin {
    reached: Arc<AtomicUsize>,
    gate: Arc<Semaphore>,
    last_accept_encoding: Arc<Mutex<Option<String>>>,
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

fn html(body: impl Into<Body>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

/// A body of `first`, then (once the gate opens) `rest`.
fn gated(origin: &Origin, first: Vec<Bytes>, rest: Vec<Bytes>) -> Body {
    let gate = origin.gate.clone();
    let stream = futures::stream::unfold(
        (first.into_iter(), rest.into_iter(), gate, false),
        |(mut first, mut rest, gate, opened)| async move {
            if let Some(chunk) = first.next() {
                return Some((Ok::<_, std::io::Error>(chunk), (first, rest, gate, opened)));
            }
            if !opened {
                gate.acquire().await.unwrap().forget();
            }
            rest.next()
                .map(|chunk| (Ok(chunk), (first, rest, gate, true)))
        },
    );
    Body::from_stream(stream)
}

async fn answer(State(origin): State<Origin>, request: Request) -> Response {
    origin.reached.fetch_add(1, Ordering::SeqCst);
    let headers = request.headers().clone();
    *origin.last_accept_encoding.lock().unwrap() = headers
        .get(header::ACCEPT_ENCODING)
        .map(|v| v.to_str().unwrap().to_string());
    match request.uri().path() {
        "/plain" => html(PAGE),
        "/chunked" => html(gated(
            &origin,
            vec![Bytes::from_static(b"<html><body><p>chunked</p></bo")],
            vec![Bytes::from_static(b"dy></html>")],
        )),
        "/gzip" => (
            [
                (header::CONTENT_TYPE, "text/html"),
                (header::CONTENT_ENCODING, "gzip"),
            ],
            gzip(PAGE),
        )
            .into_response(),
        "/fragment" => html("<li>a list item, no body end</li>"),
        "/json" => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"html\": \"</body>\"}",
        )
            .into_response(),
        "/opted-out" => (
            [
                (header::CONTENT_TYPE, "text/html"),
                (header::HeaderName::from_static("x-auth-no-banner"), "1"),
            ],
            PAGE,
        )
            .into_response(),
        "/big" => {
            let filler = Bytes::from(vec![b'a'; 64 * 1024]);
            let first = vec![Bytes::from_static(b"<html><body>"), filler.clone()]
                .into_iter()
                .chain(std::iter::repeat_n(filler.clone(), 15))
                .collect();
            let mut rest: Vec<Bytes> = std::iter::repeat_n(filler, 9 * 16).collect();
            rest.push(Bytes::from_static(b"</body></html>"));
            html(gated(&origin, first, rest))
        }
        _ => axum::Json(received(&headers)).into_response(),
    }
}

/// The closing headers as the service received them, each with all its values.
fn received(headers: &HeaderMap) -> Value {
    let all = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    };
    json!({
        "closes_at": all("x-auth-closes-at"),
        "closing_in": all("x-auth-closing-in"),
    })
}

async fn start_origin() -> (SocketAddr, Origin) {
    let origin = Origin {
        reached: Arc::default(),
        gate: Arc::new(Semaphore::new(0)),
        last_accept_encoding: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .fallback(get(answer))
        .with_state(origin.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, origin)
}

struct Setup {
    system: System,
    clock: TestClock,
    origin: Origin,
    /// Sessions at `pages` (banner on, the schedule's 15 minutes) and `quiet` (no banner,
    /// 5 minutes).
    pages: String,
    quiet: String,
    admin: String,
    monday: Timestamp,
}

/// A gateway on a test clock at Monday 16:40 UTC (closing at 17:00, warning from 16:45), with the
/// page server behind it as `pages` and as `quiet`.
async fn start() -> Setup {
    let (addr, origin) = start_origin().await;
    let toml = format!(
        "[mail]\nsmtp_url = \"smtp://127.0.0.1:{smtp}\"\n\
         [schedule]\ntimezone = \"UTC\"\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n\
         open = \"09:00\"\nclose = \"17:00\"\nwarning_minutes = 15\n\
         [service_warnings.quiet]\nwarning_banner = false\nwarning_minutes = 5\n\
         [[services]]\nslug = \"pages\"\nname = \"Pages\"\nhosts = [\"pages.localhost\"]\n\
         upstreams = [\"{addr}\"]\n\
         [[services]]\nslug = \"quiet\"\nname = \"Quiet\"\nhosts = [\"quiet.localhost\"]\n\
         upstreams = [\"{addr}\"]\n",
        smtp = Smtp::shared().port(),
    );
    let (system, clock) = on_test_clock(Storage::Embedded, &toml);
    let monday = next_monday_at(16, 40);
    clock.set(monday).await;
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let pages = qr_session(&system, &admin, &person, "pages").await;
    let quiet = qr_session(&system, &admin, &person, "quiet").await;
    Setup {
        system,
        clock,
        origin,
        pages,
        quiet,
        admin,
        monday,
    }
}

impl Setup {
    fn client(&self) -> reqwest::Client {
        let gateway = SocketAddr::from(([127, 0, 0, 1], self.system.gateway.port));
        reqwest::Client::builder()
            .resolve("pages.localhost", gateway)
            .resolve("quiet.localhost", gateway)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap()
    }

    /// A browser-like GET of `path` at `host` with its session.
    fn page(&self, host: &str, path: &str) -> reqwest::RequestBuilder {
        let session = if host.starts_with("quiet") {
            &self.quiet
        } else {
            &self.pages
        };
        self.client()
            .get(self.system.host_url(host, path))
            .bearer_auth(session)
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
    }

    async fn at(&self, offset_secs: i64) {
        self.clock
            .set(self.monday + jiff::SignedDuration::from_secs(offset_secs))
            .await;
    }
}

async fn text(response: reqwest::Response) -> (u16, HeaderMap, String) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// The banner sits right before `</body>`, once.
fn assert_banner_before_end(body: &str) {
    assert_eq!(
        body.matches("id=\"auth-closing-banner\"").count(),
        1,
        "{body}"
    );
    let script = body.find(BANNER_SCRIPT).expect("the banner's script");
    assert_eq!(
        body[script + BANNER_SCRIPT.len()..].get(..7),
        Some("</body>"),
        "{body}"
    );
}

/// `body` without the banner the gateway inserted.
fn without_banner(body: &str) -> String {
    let start = body
        .find("<div id=\"auth-closing-banner\"")
        .expect("a banner");
    let end = body.find("</body>").expect("a body end");
    format!("{}{}", &body[..start], &body[end..])
}

/// Reads `response` until `wanted` bytes have arrived (or the body ends).
async fn read_at_least(response: &mut reqwest::Response, wanted: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < wanted {
        match tokio::time::timeout(Duration::from_secs(30), response.chunk()).await {
            Ok(Ok(Some(chunk))) => got.extend_from_slice(&chunk),
            Ok(Ok(None)) => break,
            Ok(Err(err)) => panic!("reading the body: {err}"),
            Err(_) => panic!(
                "only {} of {wanted} bytes came through before the service finished: the \
                 gateway holds the body back",
                got.len()
            ),
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread")]
async fn html_answers_get_the_banner_and_others_pass_untouched() {
    let setup = start().await;

    // Fixed length: the length gives way to chunks, the banner goes before </body>.
    let (status, headers, body) = text(
        setup
            .page("pages.localhost", "/plain")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_banner_before_end(&body);
    assert!(headers.get("content-length").is_none(), "{headers:?}");
    assert_eq!(without_banner(&body), PAGE);
    // Outside the warning window the banner is there but hidden, for the script to show later.
    assert!(
        body.contains("data-closes-at=\"") && body.contains(" hidden>"),
        "{body}"
    );

    // Chunked, with </body> split between two chunks: the first part comes through before the
    // service sends the second, and the tag is still found.
    let mut response = setup
        .page("pages.localhost", "/chunked")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let first = read_at_least(&mut response, "<html><body><p>chunked</p>".len()).await;
    assert_eq!(first, b"<html><body><p>chunked</p>");
    setup.origin.gate.add_permits(1);
    let rest = response.text().await.unwrap();
    let body = format!("{}{rest}", String::from_utf8(first).unwrap());
    assert_banner_before_end(&body);
    assert!(body.starts_with("<html><body><p>chunked</p><div id=\"auth-closing-banner\""));
    assert!(body.ends_with("</body></html>"));

    // A page the service compresses anyway: the gateway asked for it uncompressed, undoes the
    // gzip and inserts the banner.
    let response = setup
        .page("pages.localhost", "/gzip")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(*setup.origin.last_accept_encoding.lock().unwrap(), None);
    let (status, headers, body) = text(response).await;
    assert_eq!(status, 200);
    assert!(headers.get("content-encoding").is_none(), "{headers:?}");
    assert_banner_before_end(&body);
    // Not a page load (no text/html in Accept): the coding stays and the body is the service's.
    let response = setup
        .client()
        .get(setup.system.host_url("pages.localhost", "/gzip"))
        .bearer_auth(&setup.pages)
        .header("accept", "*/*")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        setup.origin.last_accept_encoding.lock().unwrap().as_deref(),
        Some("gzip")
    );
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.bytes().await.unwrap().to_vec(), gzip(PAGE));

    // No </body> (a fragment), not HTML, or opted out: the body is the service's, to the byte.
    let (_, _, body) = text(
        setup
            .page("pages.localhost", "/fragment")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body, "<li>a list item, no body end</li>");
    let (_, headers, body) =
        text(setup.page("pages.localhost", "/json").send().await.unwrap()).await;
    assert_eq!(body, "{\"html\": \"</body>\"}");
    assert_eq!(headers["content-length"], body.len().to_string());
    let (_, headers, body) = text(
        setup
            .page("pages.localhost", "/opted-out")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body, PAGE);
    assert!(headers.get("x-auth-no-banner").is_none(), "{headers:?}");

    // A service with warning_banner = false never gets it.
    let (_, _, body) = text(
        setup
            .page("quiet.localhost", "/plain")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body, PAGE);

    // Inside the window the banner is visible text, readable without JavaScript.
    setup.at(5 * 60).await;
    let (_, headers, body) = text(
        setup
            .page("pages.localhost", "/plain")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(headers["x-system-closing-in"], "900");
    assert!(
        body.contains("The system closes in 15 minutes at 17:00 UTC"),
        "{body}"
    );
    assert!(!body.contains(" hidden>"), "{body}");
    for secret in [&setup.pages, &setup.quiet] {
        assert!(!body.contains(secret.as_str()), "a token in the page");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ten_mebibyte_page_streams_through_without_being_held() {
    let setup = start().await;
    let mut response = setup.page("pages.localhost", "/big").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // One MiB comes first; the service sends the other nine only after the test has read most
    // of it through the gateway, which a gateway holding the whole body would never allow.
    let first = read_at_least(&mut response, MIB - 64 * 1024).await;
    assert!(first.starts_with(b"<html><body>aaa"));
    setup.origin.gate.add_permits(1);
    let mut body = first;
    body.extend_from_slice(&read_at_least(&mut response, usize::MAX).await);
    let body = String::from_utf8(body).unwrap();
    assert_eq!(
        without_banner(&body).len(),
        "<html><body>".len() + 10 * MIB + "</body></html>".len()
    );
    assert_banner_before_end(&body);
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_requests_carry_the_closing_time_and_inside_the_window_the_seconds() {
    let setup = start().await;
    let echo = |host: &'static str| {
        let setup = &setup;
        async move {
            let response = setup
                .page(host, "/echo")
                .header("accept", "application/json")
                // A client's own copies, in other spellings, never reach the service.
                .header("X-Auth-Closes-At", "2000-01-01T00:00:00Z")
                .header("x_auth_closing_in", "1")
                .header("X-AUTH-CLOSING-IN", "2")
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        }
    };
    let closes_at = (setup.monday + 20.minutes()).to_string();

    // 16:40: the closing time, no seconds (outside both windows).
    let seen = echo("pages.localhost").await;
    assert_eq!(seen, json!({ "closes_at": [closes_at], "closing_in": [] }));

    // 16:45: inside the schedule's 15 minutes, not yet inside quiet's 5.
    setup.at(5 * 60).await;
    assert_eq!(
        echo("pages.localhost").await,
        json!({ "closes_at": [closes_at], "closing_in": ["900"] })
    );
    assert_eq!(
        echo("quiet.localhost").await,
        json!({ "closes_at": [closes_at], "closing_in": [] })
    );
    let response = setup.page("quiet.localhost", "/echo").send().await.unwrap();
    assert!(response.headers().get("x-system-closing-in").is_none());

    // 16:55: quiet's window too.
    setup.at(15 * 60).await;
    assert_eq!(
        echo("quiet.localhost").await,
        json!({ "closes_at": [closes_at], "closing_in": ["300"] })
    );
}

/// The next event of an SSE stream (comments skipped): its name and data.
async fn next_event(response: &mut reqwest::Response, buffer: &mut String) -> (String, Value) {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            if !data.is_empty() {
                return (name, serde_json::from_str(&data).unwrap());
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(30), response.chunk())
            .await
            .expect("an event within 30 s")
            .unwrap()
            .expect("the stream went on");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn status_and_events_on_the_service_host_follow_the_clock_and_the_schedule() {
    let setup = start().await;
    let reached = setup.origin.reached.load(Ordering::SeqCst);
    let closes_at = (setup.monday + 20.minutes()).to_string();

    // Public: no session needed, and the service never sees it.
    let client = setup.client();
    let status = |host: &'static str| {
        let client = client.clone();
        let url = setup.system.host_url(host, "/_auth/status");
        async move {
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(
        status("pages.localhost").await,
        json!({ "open": true, "closes_at": closes_at, "opens_at": null, "warning": false, "seconds_left": 1200 })
    );
    let script = client
        .get(setup.system.host_url("pages.localhost", "/_auth/banner.js"))
        .send()
        .await
        .unwrap();
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text().await.unwrap().contains("EventSource"));

    let mut events = client
        .get(setup.system.host_url("pages.localhost", "/_auth/events"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let mut buffer = String::new();
    let (name, data) = next_event(&mut events, &mut buffer).await;
    assert_eq!(
        (name.as_str(), &data["warning"], &data["seconds_left"]),
        ("state", &json!(false), &json!(1200))
    );

    // The warning starts at 16:45, then each minute is announced.
    setup.at(5 * 60).await;
    let (name, data) = next_event(&mut events, &mut buffer).await;
    assert_eq!(
        (name.as_str(), &data["warning"], &data["seconds_left"]),
        ("warning", &json!(true), &json!(900))
    );
    assert_eq!(status("pages.localhost").await["warning"], json!(true));
    assert_eq!(status("quiet.localhost").await["warning"], json!(false));
    setup.at(6 * 60).await;
    let (name, data) = next_event(&mut events, &mut buffer).await;
    assert_eq!(
        (name.as_str(), &data["seconds_left"]),
        ("minute", &json!(840))
    );

    // An admin moves closing to 18:00: the open stream hears it.
    let every_weekday: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| (d.to_string(), json!({ "open": "09:00", "close": "18:00" })))
        .collect();
    let (code, body) = setup
        .system
        .call(
            reqwest::Method::PUT,
            "/api/admin/schedule",
            Some(&setup.admin),
            Some(json!({ "timezone": "UTC", "weekly": every_weekday, "exceptions": [], "warning_minutes": 15 })),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let (name, data) = next_event(&mut events, &mut buffer).await;
    assert_eq!(name, "schedule");
    assert_eq!(
        data["closes_at"],
        json!((setup.monday + 80.minutes()).to_string())
    );
    assert_eq!(data["warning"], json!(false));

    // Closing time: the stream says closed and when it opens; status says the same.
    setup.at(80 * 60).await;
    let (name, data) = next_event(&mut events, &mut buffer).await;
    let opens_at = (setup.monday + 16.hours() + 20.minutes()).to_string();
    assert_eq!(
        (name.as_str(), &data["open"], &data["opens_at"]),
        ("closed", &json!(false), &json!(opens_at))
    );
    assert_eq!(
        status("pages.localhost").await,
        json!({ "open": false, "closes_at": null, "opens_at": opens_at, "warning": false, "seconds_left": null })
    );
    assert_eq!(
        setup.origin.reached.load(Ordering::SeqCst),
        reached,
        "an /_auth/ path reached the service"
    );
}

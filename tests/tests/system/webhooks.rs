//! Webhooks from a real gateway on the embedded store (no Redis): a receiver started here gets
//! each event signed, a 500 is retried with the same id, and admins read the attempts at
//! `/api/admin/webhooks/deliveries`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_core::events::webhooks::signature;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::flows::{active_person, admin_token};
use crate::harness::{Storage, System};

const SECRET: &str = "system-test-webhook-secret";

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

async fn take(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut got = r.got.lock().unwrap();
    got.push((headers, body));
    // The first request is refused, so the event comes again.
    if got.len() == 1 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers[name].to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_gateway_delivers_signed_events_and_logs_the_attempts() {
    let receiver = Receiver::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(take))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hook.secret");
    std::fs::write(&secret, SECRET).unwrap();
    let system = System::start_with_mail(
        Storage::Embedded,
        &format!(
            "[[webhooks]]\nname = \"crm\"\nurl = \"http://{addr}/hook\"\n\
             secret_file = \"{}\"\nevents = [\"user.approved\"]\n",
            secret.display()
        ),
    );
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;

    // Refused once, then retried 5 s later.
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.got.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "{}", system.gateway.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = receiver.got.lock().unwrap().clone();
    for (headers, body) in &got {
        let now = jiff::Timestamp::now().as_second();
        assert!(
            signature::verify(
                SECRET.as_bytes(),
                &header(headers, "x-webhook-timestamp"),
                &header(headers, "x-webhook-signature"),
                body,
                now,
                300,
            )
            .is_ok()
        );
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(event["type"], "user.approved");
        assert_eq!(event["data"]["user_id"], person.user_id.as_str());
    }
    let id = header(&got[0].0, "x-webhook-id");
    assert_eq!(header(&got[1].0, "x-webhook-id"), id);
    assert!(!system.gateway.log().contains(SECRET));

    let (status, body) = system
        .get_as(
            &format!("/api/admin/webhooks/deliveries?event_id={id}"),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let items = body["data"]["items"].as_array().unwrap();
    assert_eq!(body["data"]["total"], 2, "{body}");
    assert_eq!(items[0]["outcome"], "delivered");
    assert_eq!(items[0]["status"], 204);
    assert_eq!(items[1]["outcome"], "retrying");
    assert_eq!(items[1]["status"], 500);

    let (support, _) = admin_token(&system, "support").await;
    let (status, _) = system
        .get_as("/api/admin/webhooks/deliveries", &support)
        .await;
    assert_eq!(status, 200, "the read-only role may read the log");
    let (status, body) = system.get("/api/admin/webhooks/deliveries").await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = system
        .get_as("/api/admin/webhooks/deliveries?per_page=0", &admin)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
}

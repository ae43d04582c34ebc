//! A clock the whole-system tests move, so that expiry and closing time can be tested through HTTP
//! without waiting. Test-only: this module exists only in builds with the `test-clock` feature, and
//! that feature refuses to compile without debug assertions, so no release build can have it.
//!
//! When the environment variable [`ENV`] names a loopback address (`127.0.0.1:PORT`), the core runs
//! on a [`ManualClock`] stopped at the moment of start-up, and a listener of its own on that
//! address (never the gateway's listener, so no request through the gateway can reach it) answers:
//!
//! - `GET /clock`: `{"now": "2030-01-07T16:40:00Z"}`
//! - `PUT /clock` with `{"at": "2030-01-07T16:40:00Z"}`: sets the clock
//! - `POST /clock/advance` with `{"seconds": 120}`: moves it (negative goes back)
//!
//! Each answers the new time once every part of the gateway sees it, so a test's next request is
//! judged at that time. Without the variable the gateway runs on the wall clock, as any build does.
//! The variable is not `AUTH_*` because every `AUTH_*` variable is read as a configuration key.

#[cfg(not(debug_assertions))]
compile_error!(
    "the `test-clock` feature lets anyone on loopback move the gateway's clock: it is for debug \
     builds under test only; build releases without it"
);

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use auth_core::{Clock, ManualClock, SharedClock};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The environment variable that turns the test clock on: the loopback address of its control.
pub const ENV: &str = "GATEWAY_TEST_CLOCK";

/// With [`ENV`] set, a stopped clock for the core, its control listening on the runtime; else
/// `None`. Refuses an address that is not loopback, or one it cannot bind.
pub fn start(runtime: &tokio::runtime::Runtime) -> anyhow::Result<Option<SharedClock>> {
    let Some(value) = std::env::var_os(ENV) else {
        return Ok(None);
    };
    let addr = control_address(&value.to_string_lossy())?;
    // Bound here, before the gateway listens, so the control is up by the time a test sees the
    // gateway's port open.
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("{ENV}: bind {addr}"))?;
    listener
        .set_nonblocking(true)
        .with_context(|| format!("{ENV}: {addr}"))?;
    let clock = ManualClock::starting_now();
    let app = router(clock.clone());
    runtime.spawn(async move {
        let served = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => axum::serve(listener, app).await,
            Err(err) => Err(err),
        };
        if let Err(err) = served {
            tracing::error!(%err, "the test clock's control stopped");
        }
    });
    tracing::warn!(%addr, "running on a test clock that moves when told: for tests only");
    Ok(Some(clock))
}

/// The control's address: loopback only, since whoever reaches it decides what time it is.
fn control_address(value: &str) -> anyhow::Result<SocketAddr> {
    let addr: SocketAddr = value.parse().with_context(|| {
        format!("{ENV} must be an address such as 127.0.0.1:9999, not {value:?}")
    })?;
    if !addr.ip().is_loopback() {
        bail!("{ENV} must be a loopback address, not {addr}");
    }
    Ok(addr)
}

#[derive(Debug, Serialize, Deserialize)]
struct Now {
    now: Timestamp,
}

#[derive(Debug, Deserialize)]
struct SetTo {
    at: Timestamp,
}

#[derive(Debug, Deserialize)]
struct Advance {
    seconds: i64,
}

fn router(clock: Arc<ManualClock>) -> Router {
    Router::new()
        .route("/clock", get(now).put(set))
        .route("/clock/advance", post(advance))
        .with_state(clock)
}

async fn now(State(clock): State<Arc<ManualClock>>) -> Json<Now> {
    Json(Now { now: clock.now() })
}

async fn set(State(clock): State<Arc<ManualClock>>, Json(to): Json<SetTo>) -> Json<Now> {
    clock.set(to.at);
    Json(Now { now: clock.now() })
}

async fn advance(State(clock): State<Arc<ManualClock>>, Json(by): Json<Advance>) -> Json<Now> {
    clock.advance(SignedDuration::from_secs(by.seconds));
    Json(Now { now: clock.now() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn call(app: &Router, method: &str, path: &str, body: &str) -> Timestamp {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        serde_json::from_slice::<Now>(&bytes).unwrap().now
    }

    #[tokio::test]
    async fn the_control_sets_and_moves_the_clock_the_core_reads() {
        let start: Timestamp = "2030-01-07T16:40:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        let app = router(clock.clone());
        assert_eq!(call(&app, "GET", "/clock", "").await, start);
        let moved = call(&app, "POST", "/clock/advance", r#"{"seconds": 300}"#).await;
        assert_eq!(moved, start + SignedDuration::from_mins(5));
        assert_eq!(clock.now(), moved);
        let set = call(&app, "PUT", "/clock", r#"{"at": "2030-01-08T09:00:00Z"}"#).await;
        assert_eq!(clock.now(), set);
        assert_eq!(set, "2030-01-08T09:00:00Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn the_control_listens_on_loopback_only() {
        assert!(control_address("127.0.0.1:9999").is_ok());
        assert!(control_address("[::1]:9999").is_ok());
        for refused in ["0.0.0.0:9999", "192.0.2.1:9999", "localhost:9999", "9999"] {
            assert!(control_address(refused).is_err(), "{refused}");
        }
    }
}

//! Entry points for the fuzz targets in `fuzz/`, built only with the `fuzzing` feature: every JSON
//! body and query string the API accepts, read by the very extractors its handlers use. The lists
//! name each type a handler takes through [`JsonBody`], [`OptionalJsonBody`] or [`QueryParams`];
//! a handler with a new body type adds it here.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use crate::web::envelope::ApiError;
use crate::web::extract::{JsonBody, OptionalJsonBody, QueryParams};

/// What reading the input as one type came to: its name, and the refusal if it was refused.
pub type Outcome = (&'static str, Result<(), ApiError>);

/// `body` as a JSON request with its length, as a client sends it.
fn json_request(body: &[u8]) -> Request {
    Request::builder()
        .method("POST")
        .uri("/")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body.to_vec()))
        .expect("a fixed method, URI and headers make a request whatever the body")
}

async fn json<T: DeserializeOwned>(body: &[u8]) -> Result<(), ApiError> {
    JsonBody::<T>::from_request(json_request(body), &())
        .await
        .map(drop)
}

async fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<(), ApiError> {
    OptionalJsonBody::<T>::from_request(json_request(body), &())
        .await
        .map(drop)
}

/// Reads `body` as each JSON request body of the API, through [`JsonBody`] (the `serde_json`
/// parse, then [`from_json_value`](crate::web::extract::from_json_value)) or [`OptionalJsonBody`],
/// and says what each made of it.
pub async fn json_bodies(body: &[u8]) -> Vec<Outcome> {
    use auth_core::{accounts, credentials, schedule, services};
    vec![
        ("Registration", json::<accounts::Registration>(body).await),
        (
            "ProfileChanges",
            json::<accounts::ProfileChanges>(body).await,
        ),
        (
            "TokenBody",
            json::<super::registration::TokenBody>(body).await,
        ),
        (
            "EmailBody",
            json::<super::registration::EmailBody>(body).await,
        ),
        (
            "ResetBody",
            json::<super::registration::ResetBody>(body).await,
        ),
        ("LoginBody", json::<super::auth::LoginBody>(body).await),
        (
            "RefreshBody",
            optional_json::<super::auth::RefreshBody>(body).await,
        ),
        ("AdminLogin", json::<credentials::AdminLogin>(body).await),
        (
            "NewPersonalAccessToken",
            json::<credentials::NewPersonalAccessToken>(body).await,
        ),
        ("NewService", json::<services::NewService>(body).await),
        ("ScanBody", json::<super::qr::ScanBody>(body).await),
        ("VerifyBody", json::<super::qr::VerifyBody>(body).await),
        ("Schedule", json::<schedule::Schedule>(body).await),
        ("ReasonBody", json::<super::admin::ReasonBody>(body).await),
        (
            "OptionalReason",
            optional_json::<super::admin::OptionalReason>(body).await,
        ),
    ]
}

async fn query<T: DeserializeOwned>(query: &str) -> Option<Result<(), ApiError>> {
    let request = Request::builder()
        .uri(format!("/?{query}"))
        .body(Body::empty())
        .ok()?;
    let (mut parts, _) = request.into_parts();
    Some(
        QueryParams::<T>::from_request_parts(&mut parts, &())
            .await
            .map(drop),
    )
}

/// Reads `raw` as the query string of each API route that takes one, through [`QueryParams`].
/// `None` when `raw` cannot be the query of a request URI at all (the HTTP parser refuses it
/// before any handler runs).
pub async fn query_params(raw: &str) -> Option<Vec<Outcome>> {
    Some(vec![
        (
            "SessionParams",
            query::<super::sessions::SessionParams>(raw).await?,
        ),
        (
            "AuditParams",
            query::<super::history::AuditParams>(raw).await?,
        ),
        (
            "HistoryParams",
            query::<super::history::HistoryParams>(raw).await?,
        ),
        (
            "UserListParams",
            query::<super::admin::UserListParams>(raw).await?,
        ),
        (
            "PageRequest",
            query::<auth_core::page::PageRequest>(raw).await?,
        ),
    ])
}

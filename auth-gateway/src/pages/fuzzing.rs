//! Entry points for the fuzz targets in `fuzz/`, built only with the `fuzzing` feature: every form
//! the pages accept, read by axum's `Form` extractor as their handlers read it, and every page
//! query string, read by [`QueryParams`]. A page with a new form or query type adds it here.

use axum::body::Body;
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use crate::web::extract::QueryParams;

/// What reading the input as one type came to: its name, and whether it was accepted.
pub type Outcome = (&'static str, bool);

async fn form<T: DeserializeOwned>(body: &[u8]) -> bool {
    let request = Request::builder()
        .method("POST")
        .uri("/")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body.to_vec()))
        .expect("a fixed method, URI and headers make a request whatever the body");
    Form::<T>::from_request(request, &()).await.is_ok()
}

/// Reads `body` as each form the pages take (`POST /login/verify`, `/m/login`, `/m/scan`,
/// `/verify-email`, `/reset-password`) and says which accepted it.
pub async fn forms(body: &[u8]) -> Vec<Outcome> {
    vec![
        (
            "login::VerifyForm",
            form::<super::login::VerifyForm>(body).await,
        ),
        (
            "phone::SignInForm",
            form::<super::phone::SignInForm>(body).await,
        ),
        (
            "phone::ConfirmForm",
            form::<super::phone::ConfirmForm>(body).await,
        ),
        (
            "mail_links::VerifyForm",
            form::<super::mail_links::VerifyForm>(body).await,
        ),
        (
            "mail_links::ResetForm",
            form::<super::mail_links::ResetForm>(body).await,
        ),
    ]
}

async fn query<T: DeserializeOwned>(query: &str) -> Option<bool> {
    let request = Request::builder()
        .uri(format!("/?{query}"))
        .body(Body::empty())
        .ok()?;
    let (mut parts, _) = request.into_parts();
    Some(
        QueryParams::<T>::from_request_parts(&mut parts, &())
            .await
            .is_ok(),
    )
}

/// Reads `raw` as the query string of each page that takes one (`GET /login`, `/login/status`,
/// `/m/scan`, `/verify-email`, `/reset-password`) and says which accepted it. `None` when `raw`
/// cannot be the query of a request URI at all (the HTTP parser refuses it first).
pub async fn queries(raw: &str) -> Option<Vec<Outcome>> {
    Some(vec![
        (
            "login::LoginQuery",
            query::<super::login::LoginQuery>(raw).await?,
        ),
        (
            "login::StatusQuery",
            query::<super::login::StatusQuery>(raw).await?,
        ),
        (
            "phone::ScanQuery",
            query::<super::phone::ScanQuery>(raw).await?,
        ),
        (
            "mail_links::TokenQuery",
            query::<super::mail_links::TokenQuery>(raw).await?,
        ),
    ])
}

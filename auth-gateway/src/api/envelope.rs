//! The one response shape of the API: `{"success": true, "data": …}` or
//! `{"success": false, "error": {"code", "message", "details"}}`, with the status from the error's
//! code and `Retry-After` on temporary refusals.

use auth_core::Error;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

/// The JSON body of a refusal.
pub fn error_json(err: &Error) -> serde_json::Value {
    json!({
        "success": false,
        "error": {
            "code": err.code().as_str(),
            "message": err.public_message(),
            "details": err.details(),
        }
    })
}

/// The HTTP status of a refusal.
pub fn error_status(err: &Error) -> StatusCode {
    StatusCode::from_u16(err.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An auth-core error as an API response.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Error::Internal(cause) = &self.0 {
            tracing::error!(%cause, "internal error");
        }
        let mut response = (error_status(&self.0), Json(error_json(&self.0))).into_response();
        if let Some(secs) = self.0.retry_after_secs()
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// A successful answer: 200 with the data in the envelope.
pub struct Data<T>(pub T);

impl<T: Serialize> IntoResponse for Data<T> {
    fn into_response(self) -> Response {
        Json(json!({ "success": true, "data": self.0 })).into_response()
    }
}

/// A successful creation: 201 with the data in the envelope.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (
            StatusCode::CREATED,
            Json(json!({ "success": true, "data": self.0 })),
        )
            .into_response()
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

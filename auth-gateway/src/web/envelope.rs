//! The one response shape of the API: `{"success": true, "data": …}` or
//! `{"success": false, "error": {"code", "message", "details"}}`, with the status from the error's
//! code and `Retry-After` on temporary refusals. The types here are also the OpenAPI schemas of
//! those shapes.

use auth_core::{Error, FieldError};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use super::health::HealthReport;
use super::refusal::{AnyCode, Refusal};

fn constant(value: bool) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([value]))
        .build()
}

fn always_true() -> Object {
    constant(true)
}

fn always_false() -> Object {
    constant(false)
}

/// A successful answer: `data` holds what the operation returns.
#[derive(Serialize, ToSchema)]
pub struct Success<T> {
    #[schema(schema_with = always_true)]
    success: bool,
    data: T,
}

impl<T> Success<T> {
    pub fn new(data: T) -> Self {
        Success {
            success: true,
            data,
        }
    }
}

/// A refusal: the stable `code` says which, `message` says it for people, `details` helps act on it.
#[derive(Serialize, ToSchema)]
pub struct Failure {
    #[schema(schema_with = always_false)]
    success: bool,
    error: ErrorBody,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The stable code; its HTTP status never changes.
    #[schema(value_type = AnyCode)]
    code: &'static str,
    /// Safe to show; never an internal cause.
    message: String,
    /// Null unless the code has more to say (see the shapes).
    #[schema(value_type = Option<ErrorDetails>, required = true)]
    details: Option<serde_json::Value>,
}

/// The `details` of a refusal, by code: the fields at fault (VALIDATION_ERROR), until when an account
/// is locked (ACCOUNT_LOCKED), the PINs left (PIN_INVALID), the kind of a credential that is not
/// accepted where it was presented (FORBIDDEN), when to retry (RATE_LIMITED,
/// SYSTEM_CLOSED with the next opening), or the health report (`/health`, SERVICE_UNAVAILABLE).
/// Only documents the JSON that auth-core builds; nothing is serialised from it.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ErrorDetails {
    Fields {
        fields: Vec<FieldError>,
    },
    Locked {
        locked_until: Timestamp,
    },
    Pin {
        attempts_left: u32,
    },
    /// FORBIDDEN for a credential that is not accepted at the route: which kind it is.
    Credential {
        credential: auth_core::credentials::CredentialKind,
    },
    Retry {
        retry_after_secs: u64,
        /// SYSTEM_CLOSED only: the next opening, null when not within a year.
        #[serde(skip_serializing_if = "Option::is_none")]
        opens_at: Option<Timestamp>,
    },
    Health(HealthReport),
}

/// The JSON body of a refusal.
pub fn error_json(err: &Refusal) -> serde_json::Value {
    let failure = Failure {
        success: false,
        error: ErrorBody {
            code: err.code(),
            message: err.message(),
            details: err.details(),
        },
    };
    serde_json::to_value(failure).unwrap_or(serde_json::Value::Null)
}

/// The HTTP status of a refusal.
pub fn error_status(err: &Refusal) -> StatusCode {
    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A refusal as an API response.
#[derive(Debug)]
pub struct ApiError(pub Refusal);

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError(Refusal::Core(err))
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        ApiError(refusal)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.0.is_internal() {
            let cause = &self.0 as &dyn std::error::Error;
            tracing::error!(error = cause, "internal error");
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
        Json(Success::new(self.0)).into_response()
    }
}

/// A successful creation: 201 with the data in the envelope.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(Success::new(self.0))).into_response()
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

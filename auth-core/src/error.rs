//! The one error type of auth-core: every refusal the core makes, each with a stable code and the
//! HTTP status a transport should answer with. What only a proxy refuses (a host it does not
//! serve, an upstream that does not answer, a malformed request) is the gateway's own refusal.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use crate::store::StoreError;

/// `Retry-After` of a refusal because the database or Redis does not answer.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

/// A problem with one input field, reported back so a client can point at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything auth-core refuses or fails at.
///
/// Messages are safe to show to the client; internal causes are logged, never returned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request is not valid")]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("an account with this email address already exists")]
    DuplicateEmail,
    #[error("this username is taken")]
    DuplicateUsername,
    #[error("login or password is wrong")]
    InvalidCredentials,
    #[error("this admin signs in with a code from an authenticator app as well")]
    SecondFactorRequired,
    #[error("the email address is not verified yet")]
    EmailNotVerified,
    #[error("the account waits for an administrator's approval")]
    AccountPending,
    #[error("the account request was rejected")]
    AccountRejected,
    #[error("the account is blocked")]
    AccountBlocked,
    #[error("the token is not valid")]
    InvalidToken,
    #[error("the token has expired")]
    ExpiredToken,
    #[error("authentication is required")]
    Unauthenticated,
    #[error("this credential is not accepted here")]
    /// The kind of credential (its stable name, `CredentialKind::as_str`).
    CredentialNotAccepted(&'static str),
    #[error("this needs an administrator's token")]
    NeedsAdmin,
    #[error("this needs a person's token")]
    NeedsPerson,
    #[error("the support role may only read")]
    ReadOnlyRole,
    #[error("the admin account is disabled")]
    AdminDisabled,
    #[error("the service {0} is disabled")]
    ServiceKeyDisabled(String),
    #[error("this QR code was shown in another browser")]
    ForeignBrowser,
    #[error("the account is locked")]
    AccountLocked { until: Timestamp },
    #[error("no such QR code")]
    QrNotFound,
    #[error("the QR code has expired")]
    QrExpired,
    #[error("the QR code was already scanned")]
    QrAlreadyScanned,
    #[error("the QR code has not been scanned yet")]
    QrNotScanned,
    #[error("the QR code was already used")]
    QrAlreadyUsed,
    #[error("too many wrong PINs: this QR code is dead, start again")]
    QrLocked,
    #[error("the PIN is wrong")]
    PinInvalid { attempts_left: u32 },
    #[error("the PIN has expired")]
    PinExpired,
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("the system is closed")]
    SystemClosed {
        opens_at: Option<Timestamp>,
        retry_after_secs: u64,
    },
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    /// An unexpected failure: the cause is kept as the source, for the log only.
    #[error("internal error")]
    Internal(#[source] InternalCause),
}

/// The cause of an internal error, kept whole (with its own sources) for the log.
pub type InternalCause = Box<dyn std::error::Error + Send + Sync>;

impl Error {
    /// A validation error about a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    /// An unexpected failure; the cause is kept for the log only.
    pub fn internal(cause: impl Into<InternalCause>) -> Self {
        Error::Internal(cause.into())
    }

    /// The stable, machine-readable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Validation(_) => ErrorCode::ValidationError,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::DuplicateEmail => ErrorCode::DuplicateEmail,
            Error::DuplicateUsername => ErrorCode::DuplicateUsername,
            Error::InvalidCredentials => ErrorCode::InvalidCredentials,
            Error::SecondFactorRequired => ErrorCode::SecondFactorRequired,
            Error::EmailNotVerified => ErrorCode::EmailNotVerified,
            Error::AccountPending => ErrorCode::AccountPending,
            Error::AccountRejected => ErrorCode::AccountRejected,
            Error::AccountBlocked => ErrorCode::AccountBlocked,
            Error::InvalidToken => ErrorCode::InvalidToken,
            Error::ExpiredToken => ErrorCode::ExpiredToken,
            Error::Unauthenticated => ErrorCode::Unauthenticated,
            Error::CredentialNotAccepted(_)
            | Error::NeedsAdmin
            | Error::NeedsPerson
            | Error::ReadOnlyRole
            | Error::AdminDisabled
            | Error::ServiceKeyDisabled(_)
            | Error::ForeignBrowser => ErrorCode::Forbidden,
            Error::AccountLocked { .. } => ErrorCode::AccountLocked,
            Error::QrNotFound => ErrorCode::QrNotFound,
            Error::QrExpired => ErrorCode::QrExpired,
            Error::QrAlreadyScanned => ErrorCode::QrAlreadyScanned,
            Error::QrNotScanned => ErrorCode::QrNotScanned,
            Error::QrAlreadyUsed => ErrorCode::QrAlreadyUsed,
            Error::QrLocked => ErrorCode::QrLocked,
            Error::PinInvalid { .. } => ErrorCode::PinInvalid,
            Error::PinExpired => ErrorCode::PinExpired,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::SystemClosed { .. } => ErrorCode::SystemClosed,
            Error::Unavailable(_) => ErrorCode::ServiceUnavailable,
            Error::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// Structured details a client can act on (which fields, until when, retry after).
    pub fn details(&self) -> Option<Value> {
        match self {
            Error::Validation(fields) => Some(json!({ "fields": fields })),
            Error::AccountLocked { until } => Some(json!({ "locked_until": until.to_string() })),
            Error::PinInvalid { attempts_left } => Some(json!({ "attempts_left": attempts_left })),
            Error::CredentialNotAccepted(kind) => Some(json!({ "credential": kind })),
            Error::RateLimited { retry_after_secs } => {
                Some(json!({ "retry_after_secs": retry_after_secs }))
            }
            Error::SystemClosed {
                opens_at,
                retry_after_secs,
            } => Some(json!({
                "opens_at": opens_at.map(|t| t.to_string()),
                "retry_after_secs": retry_after_secs,
            })),
            _ => None,
        }
    }

    /// Seconds a client should wait before trying again, when the refusal is temporary.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Error::SystemClosed {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            // A store that went away is usually back within a second or two (a restart, a
            // failover); the client is told to try again rather than left to guess.
            Error::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    /// The message to show a client: never the internal cause.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => "an internal error occurred".to_string(),
            other => other.to_string(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => Error::Unavailable("storage"),
            other => Error::Internal(Box::new(other)),
        }
    }
}

/// Stable error codes. Clients match on these strings; they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(rename_all = "SCREAMING_SNAKE_CASE")
)]
pub enum ErrorCode {
    ValidationError,
    NotFound,
    Conflict,
    DuplicateEmail,
    DuplicateUsername,
    InvalidCredentials,
    SecondFactorRequired,
    EmailNotVerified,
    AccountPending,
    AccountRejected,
    AccountBlocked,
    InvalidToken,
    ExpiredToken,
    Unauthenticated,
    Forbidden,
    AccountLocked,
    QrNotFound,
    QrExpired,
    QrAlreadyScanned,
    QrNotScanned,
    QrAlreadyUsed,
    QrLocked,
    PinInvalid,
    PinExpired,
    RateLimited,
    SystemClosed,
    ServiceUnavailable,
    InternalError,
}

impl ErrorCode {
    /// The code as clients see it, e.g. `ACCOUNT_LOCKED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationError => "VALIDATION_ERROR",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::DuplicateEmail => "DUPLICATE_EMAIL",
            ErrorCode::DuplicateUsername => "DUPLICATE_USERNAME",
            ErrorCode::InvalidCredentials => "INVALID_CREDENTIALS",
            ErrorCode::SecondFactorRequired => "SECOND_FACTOR_REQUIRED",
            ErrorCode::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            ErrorCode::AccountPending => "ACCOUNT_PENDING",
            ErrorCode::AccountRejected => "ACCOUNT_REJECTED",
            ErrorCode::AccountBlocked => "ACCOUNT_BLOCKED",
            ErrorCode::InvalidToken => "INVALID_TOKEN",
            ErrorCode::ExpiredToken => "EXPIRED_TOKEN",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::AccountLocked => "ACCOUNT_LOCKED",
            ErrorCode::QrNotFound => "QR_NOT_FOUND",
            ErrorCode::QrExpired => "QR_EXPIRED",
            ErrorCode::QrAlreadyScanned => "QR_ALREADY_SCANNED",
            ErrorCode::QrNotScanned => "QR_NOT_SCANNED",
            ErrorCode::QrAlreadyUsed => "QR_ALREADY_USED",
            ErrorCode::QrLocked => "QR_LOCKED",
            ErrorCode::PinInvalid => "PIN_INVALID",
            ErrorCode::PinExpired => "PIN_EXPIRED",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::SystemClosed => "SYSTEM_CLOSED",
            ErrorCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            ErrorCode::InternalError => "INTERNAL_ERROR",
        }
    }

    /// The HTTP status every transport answers this code with; the only such mapping.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::ValidationError => 422,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::DuplicateEmail | ErrorCode::DuplicateUsername => 409,
            ErrorCode::InvalidCredentials
            | ErrorCode::SecondFactorRequired
            | ErrorCode::InvalidToken
            | ErrorCode::ExpiredToken
            | ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden
            | ErrorCode::EmailNotVerified
            | ErrorCode::AccountPending
            | ErrorCode::AccountRejected
            | ErrorCode::AccountBlocked => 403,
            ErrorCode::AccountLocked | ErrorCode::QrLocked => 423,
            ErrorCode::QrNotFound => 404,
            ErrorCode::QrExpired | ErrorCode::PinExpired => 410,
            ErrorCode::QrAlreadyScanned | ErrorCode::QrNotScanned | ErrorCode::QrAlreadyUsed => 409,
            ErrorCode::PinInvalid => 401,
            ErrorCode::RateLimited => 429,
            ErrorCode::SystemClosed | ErrorCode::ServiceUnavailable => 503,
            ErrorCode::InternalError => 500,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result with auth-core's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_cause_never_reaches_the_client_message() {
        let err = Error::internal("connection to 10.0.0.3 refused: password for admin");
        assert_eq!(err.public_message(), "an internal error occurred");
        assert_eq!(err.code().as_str(), "INTERNAL_ERROR");
        assert_eq!(err.code().http_status(), 500);
    }

    #[test]
    fn refusals_map_to_their_documented_status() {
        let cases = [
            (Error::invalid("email", "bad"), 422, "VALIDATION_ERROR"),
            (Error::InvalidCredentials, 401, "INVALID_CREDENTIALS"),
            (Error::SecondFactorRequired, 401, "SECOND_FACTOR_REQUIRED"),
            (
                Error::AccountLocked {
                    until: Timestamp::UNIX_EPOCH,
                },
                423,
                "ACCOUNT_LOCKED",
            ),
            (
                Error::RateLimited {
                    retry_after_secs: 3,
                },
                429,
                "RATE_LIMITED",
            ),
            (
                Error::SystemClosed {
                    opens_at: None,
                    retry_after_secs: 60,
                },
                503,
                "SYSTEM_CLOSED",
            ),
            (Error::ReadOnlyRole, 403, "FORBIDDEN"),
            (Error::Conflict("taken".into()), 409, "CONFLICT"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.code().http_status(), status, "{code}");
            assert_eq!(err.code().as_str(), code);
        }
    }

    #[test]
    fn validation_details_name_the_field() {
        let details = Error::invalid("email", "is not an email address")
            .details()
            .unwrap();
        assert_eq!(details["fields"][0]["field"], "email");
    }

    #[test]
    fn storage_outage_is_unavailable_not_internal() {
        let err: Error = StoreError::Unavailable("connection refused".into()).into();
        assert_eq!(err.code(), ErrorCode::ServiceUnavailable);
        assert_eq!(err.retry_after_secs(), Some(UNAVAILABLE_RETRY_AFTER_SECS));
    }
}

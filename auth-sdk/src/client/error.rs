//! [`ClientError`]: why the gateway refused a call of the [`ServiceClient`](crate::ServiceClient),
//! one variant per refusal a login page has to tell apart, read from the gateway's error envelope
//! (`{"success":false,"error":{"code","message","details"}}`) and its `Retry-After`.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::Value;

/// A field the gateway found wrong (from a `VALIDATION_ERROR`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FieldProblem {
    /// The field, as the API names it (`pin`, `qr_token`, `user_agent`, …).
    pub field: String,
    /// What is wrong with it, for people.
    pub message: String,
}

/// Why a call of the [`ServiceClient`](crate::ServiceClient) did not succeed.
///
/// Each refusal of the QR + PIN login that a page reacts to differently has its own variant;
/// any other refusal is [`ClientError::Refused`] with the gateway's code. [`code()`](Self::code)
/// is the gateway's stable code (`PIN_INVALID`, `QR_LOCKED`, …) or, for failures on this side,
/// `TRANSPORT_ERROR`, `UNEXPECTED_ANSWER` or `INVALID_CONFIG`.
///
/// ```
/// use std::time::Duration;
/// use auth_sdk::ClientError;
///
/// let wrong = ClientError::WrongPin { attempts_left: 3 };
/// assert_eq!(wrong.code(), "PIN_INVALID");
/// assert_eq!(wrong.to_string(), "the PIN is wrong: 3 tries left");
/// let limited = ClientError::RateLimited { retry_after: Duration::from_secs(20) };
/// assert_eq!(limited.retry_after(), Some(Duration::from_secs(20)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// `PIN_INVALID`: the PIN is not the one the phone showed; the challenge takes
    /// `attempts_left` more tries.
    #[error("the PIN is wrong: {attempts_left} tries left")]
    WrongPin {
        /// Tries left before the challenge is dead.
        attempts_left: u32,
    },
    /// `QR_LOCKED`: too many wrong PINs; this challenge is dead, start a new login.
    #[error("too many wrong PINs: this code is dead, start again")]
    ChallengeDead,
    /// `QR_EXPIRED`: the QR code was not scanned (or its PIN typed) in time; show a new one.
    #[error("the QR code has expired")]
    ChallengeExpired,
    /// `PIN_EXPIRED`: the PIN was typed too late; start a new login.
    #[error("the PIN has expired")]
    PinExpired,
    /// `QR_NOT_FOUND`: no such challenge for this service (unknown, long gone, or another
    /// service's).
    #[error("no such QR code")]
    ChallengeNotFound,
    /// `QR_NOT_SCANNED`: a PIN was sent before the phone scanned the code.
    #[error("the QR code has not been scanned yet")]
    NotScanned,
    /// `QR_ALREADY_USED`: the challenge already logged someone in.
    #[error("the QR code was already used")]
    AlreadyUsed,
    /// `ACCOUNT_LOCKED`: too many wrong PINs or passwords for the person's account.
    #[error("the account is locked")]
    AccountLocked {
        /// When the lock ends, when the gateway says.
        until: Option<SystemTime>,
    },
    /// The person's account may not be used: `code` is `EMAIL_NOT_VERIFIED`, `ACCOUNT_PENDING`,
    /// `ACCOUNT_REJECTED`, `ACCOUNT_BLOCKED`, or `INVALID_CREDENTIALS` (the account is gone).
    #[error("the account may not be used ({code})")]
    AccountUnusable {
        /// The gateway's code.
        code: String,
    },
    /// `SYSTEM_CLOSED`: outside operating hours.
    #[error("the system is closed")]
    Closed {
        /// The next opening, when within a year.
        opens_at: Option<SystemTime>,
        /// How long to wait (`Retry-After`).
        retry_after: Duration,
    },
    /// `RATE_LIMITED`: too many calls; try again after `retry_after`.
    #[error("too many requests: retry in {} s", retry_after.as_secs())]
    RateLimited {
        /// How long to wait (`Retry-After`).
        retry_after: Duration,
    },
    /// `INVALID_TOKEN` or `EXPIRED_TOKEN`: the session token is not (or no longer) valid.
    #[error("the session is not valid: it ended, expired, or is not a session token")]
    InvalidSession,
    /// `UNAUTHENTICATED`: the gateway does not know the service's API key (wrong, or rotated).
    #[error("the gateway refused the service's API key")]
    BadApiKey,
    /// `FORBIDDEN`: the service is disabled, or the credential may not be used here.
    #[error("forbidden: {message}")]
    Forbidden {
        /// The gateway's message.
        message: String,
    },
    /// `VALIDATION_ERROR`: the gateway names the fields at fault.
    #[error("the request is not valid: {}", fields_text(fields))]
    Invalid {
        /// The fields at fault.
        fields: Vec<FieldProblem>,
    },
    /// `SERVICE_UNAVAILABLE`, or a 502/504: the gateway or its storage cannot answer now.
    #[error("the gateway is unavailable")]
    Unavailable {
        /// How long to wait, when the gateway said.
        retry_after: Option<Duration>,
    },
    /// Any other refusal, with the gateway's status, code and message.
    #[error("the gateway refused ({status} {code}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The gateway's stable code.
        code: String,
        /// The gateway's message.
        message: String,
    },
    /// The gateway could not be reached, or did not answer in time.
    #[error("the gateway could not be reached: {0}")]
    Transport(String),
    /// The answer is not the gateway's envelope, or lacks what the call returns.
    #[error("unexpected answer from the gateway: {0}")]
    UnexpectedAnswer(String),
    /// The client's settings are wrong; the message names the setting.
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn fields_text(fields: &[FieldProblem]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ClientError {
    /// The stable code: the gateway's for refusals, else `TRANSPORT_ERROR`,
    /// `UNEXPECTED_ANSWER` or `INVALID_CONFIG`.
    pub fn code(&self) -> &str {
        match self {
            ClientError::WrongPin { .. } => "PIN_INVALID",
            ClientError::ChallengeDead => "QR_LOCKED",
            ClientError::ChallengeExpired => "QR_EXPIRED",
            ClientError::PinExpired => "PIN_EXPIRED",
            ClientError::ChallengeNotFound => "QR_NOT_FOUND",
            ClientError::NotScanned => "QR_NOT_SCANNED",
            ClientError::AlreadyUsed => "QR_ALREADY_USED",
            ClientError::AccountLocked { .. } => "ACCOUNT_LOCKED",
            ClientError::AccountUnusable { code } => code,
            ClientError::Closed { .. } => "SYSTEM_CLOSED",
            ClientError::RateLimited { .. } => "RATE_LIMITED",
            ClientError::InvalidSession => "INVALID_TOKEN",
            ClientError::BadApiKey => "UNAUTHENTICATED",
            ClientError::Forbidden { .. } => "FORBIDDEN",
            ClientError::Invalid { .. } => "VALIDATION_ERROR",
            ClientError::Unavailable { .. } => "SERVICE_UNAVAILABLE",
            ClientError::Refused { code, .. } => code,
            ClientError::Transport(_) => "TRANSPORT_ERROR",
            ClientError::UnexpectedAnswer(_) => "UNEXPECTED_ANSWER",
            ClientError::Config(_) => "INVALID_CONFIG",
        }
    }

    /// How long to wait before trying again, for the refusals that say.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Closed { retry_after, .. } | ClientError::RateLimited { retry_after } => {
                Some(*retry_after)
            }
            ClientError::Unavailable { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Whether this challenge is over and the person must start again with a new QR code.
    pub fn needs_new_challenge(&self) -> bool {
        matches!(
            self,
            ClientError::ChallengeDead
                | ClientError::ChallengeExpired
                | ClientError::PinExpired
                | ClientError::ChallengeNotFound
                | ClientError::AlreadyUsed
        )
    }

    /// The error for a refusal: status, the envelope's `error` object, and `Retry-After`.
    pub(crate) fn from_refusal(status: u16, error: &Value, retry_after: Option<Duration>) -> Self {
        let code = error["code"].as_str().unwrap_or_default();
        let message = error["message"].as_str().unwrap_or_default().to_owned();
        let details = &error["details"];
        let secs = |field: &str| details[field].as_u64().map(Duration::from_secs);
        let wait = retry_after.or_else(|| secs("retry_after_secs"));
        match code {
            "PIN_INVALID" => ClientError::WrongPin {
                attempts_left: details["attempts_left"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0),
            },
            "QR_LOCKED" => ClientError::ChallengeDead,
            "QR_EXPIRED" => ClientError::ChallengeExpired,
            "PIN_EXPIRED" => ClientError::PinExpired,
            "QR_NOT_FOUND" => ClientError::ChallengeNotFound,
            "QR_NOT_SCANNED" => ClientError::NotScanned,
            "QR_ALREADY_USED" => ClientError::AlreadyUsed,
            "ACCOUNT_LOCKED" => ClientError::AccountLocked {
                until: details["locked_until"].as_str().and_then(instant),
            },
            "EMAIL_NOT_VERIFIED"
            | "ACCOUNT_PENDING"
            | "ACCOUNT_REJECTED"
            | "ACCOUNT_BLOCKED"
            | "INVALID_CREDENTIALS" => ClientError::AccountUnusable { code: code.into() },
            "SYSTEM_CLOSED" => ClientError::Closed {
                opens_at: details["opens_at"].as_str().and_then(instant),
                retry_after: wait.unwrap_or_default(),
            },
            "RATE_LIMITED" => ClientError::RateLimited {
                retry_after: wait.unwrap_or_default(),
            },
            "INVALID_TOKEN" | "EXPIRED_TOKEN" => ClientError::InvalidSession,
            "UNAUTHENTICATED" => ClientError::BadApiKey,
            "FORBIDDEN" => ClientError::Forbidden { message },
            "VALIDATION_ERROR" => ClientError::Invalid {
                fields: serde_json::from_value(details["fields"].clone()).unwrap_or_default(),
            },
            "SERVICE_UNAVAILABLE" => ClientError::Unavailable { retry_after: wait },
            _ if code.is_empty() && matches!(status, 502..=504) => {
                ClientError::Unavailable { retry_after: wait }
            }
            _ => ClientError::Refused {
                status,
                code: code.into(),
                message,
            },
        }
    }
}

/// An RFC 3339 instant as the gateway writes it.
pub(crate) fn instant(text: &str) -> Option<SystemTime> {
    text.parse::<jiff::Timestamp>().ok().map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(status: u16, code: &str, details: Value) -> ClientError {
        let error = json!({ "code": code, "message": "m", "details": details });
        ClientError::from_refusal(status, &error, None)
    }

    #[test]
    fn each_refusal_of_the_login_has_its_variant() {
        assert_eq!(
            refusal(401, "PIN_INVALID", json!({ "attempts_left": 2 })),
            ClientError::WrongPin { attempts_left: 2 }
        );
        assert_eq!(
            refusal(423, "QR_LOCKED", Value::Null),
            ClientError::ChallengeDead
        );
        assert_eq!(
            refusal(410, "QR_EXPIRED", Value::Null),
            ClientError::ChallengeExpired
        );
        assert_eq!(
            refusal(410, "PIN_EXPIRED", Value::Null),
            ClientError::PinExpired
        );
        assert_eq!(
            refusal(409, "QR_NOT_SCANNED", Value::Null),
            ClientError::NotScanned
        );
        assert_eq!(
            refusal(409, "QR_ALREADY_USED", Value::Null),
            ClientError::AlreadyUsed
        );
        assert_eq!(
            refusal(404, "QR_NOT_FOUND", Value::Null),
            ClientError::ChallengeNotFound
        );
        assert_eq!(
            refusal(401, "UNAUTHENTICATED", Value::Null),
            ClientError::BadApiKey
        );
        assert_eq!(
            refusal(401, "EXPIRED_TOKEN", Value::Null),
            ClientError::InvalidSession
        );
        assert_eq!(
            refusal(403, "ACCOUNT_BLOCKED", Value::Null).code(),
            "ACCOUNT_BLOCKED"
        );
    }

    #[test]
    fn closed_says_when_it_opens_and_how_long_to_wait() {
        let error = json!({ "code": "SYSTEM_CLOSED", "message": "closed",
            "details": { "opens_at": "2030-01-07T08:00:00Z", "retry_after_secs": 600 } });
        let closed = ClientError::from_refusal(503, &error, Some(Duration::from_secs(599)));
        let opens = SystemTime::UNIX_EPOCH + Duration::from_secs(1_894_003_200);
        assert_eq!(
            closed,
            ClientError::Closed {
                opens_at: Some(opens),
                retry_after: Duration::from_secs(599),
            }
        );
        let unknown = json!({ "code": "SYSTEM_CLOSED", "message": "closed",
            "details": { "opens_at": null, "retry_after_secs": 3600 } });
        assert_eq!(
            ClientError::from_refusal(503, &unknown, None).retry_after(),
            Some(Duration::from_secs(3600))
        );
    }

    #[test]
    fn locks_validation_and_unknown_codes_keep_what_the_gateway_said() {
        assert_eq!(
            refusal(
                423,
                "ACCOUNT_LOCKED",
                json!({ "locked_until": "1970-01-01T00:01:00Z" })
            ),
            ClientError::AccountLocked {
                until: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(60))
            }
        );
        let invalid = refusal(
            422,
            "VALIDATION_ERROR",
            json!({ "fields": [{ "field": "pin", "message": "must be six digits" }] }),
        );
        assert_eq!(
            invalid.to_string(),
            "the request is not valid: pin: must be six digits"
        );
        assert_eq!(
            refusal(418, "TEAPOT", Value::Null),
            ClientError::Refused {
                status: 418,
                code: "TEAPOT".into(),
                message: "m".into()
            }
        );
        assert!(refusal(410, "QR_EXPIRED", Value::Null).needs_new_challenge());
        assert!(!refusal(401, "PIN_INVALID", Value::Null).needs_new_challenge());
    }
}

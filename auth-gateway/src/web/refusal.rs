//! What the gateway refuses: either a refusal of auth-core's, or one only a proxy makes (a host it
//! does not serve, a service that is off or has no healthy upstream, an upstream that did not
//! answer, a request it cannot read). One mapping to status, stable code and message serves the
//! API's envelope, the edge's own answers and the pages.

use auth_core::{Error, ErrorCode};
use serde_json::Value;

/// A refusal of the gateway's. Messages are safe to show; causes are kept as sources for the log.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// What auth-core refused or failed at.
    #[error(transparent)]
    Core(#[from] Error),
    /// A request the gateway cannot read: duplicate gateway cookies, a body that is not JSON, a
    /// malformed head.
    #[error("{0}")]
    BadRequest(String),
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// The service's upstream did not answer; the proxy's account of why (its error with its
    /// causes, as Pingora renders them) is the source.
    #[error("the service did not answer")]
    Upstream(#[source] auth_core::InternalCause),
    #[error("the service {0} is disabled")]
    ServiceDisabled(String),
    #[error("no upstream of the service {0} is healthy")]
    NoHealthyUpstream(String),
    #[error("this gateway does not serve the host {0}")]
    UnknownHost(String),
}

/// The stable codes of the refusals only the gateway makes; auth-core's `ErrorCode` has the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EdgeCode {
    BadRequest,
    MethodNotAllowed,
    UpstreamError,
    ServiceDisabled,
    NoHealthyUpstream,
    UnknownHost,
}

impl EdgeCode {
    /// The code as clients see it.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeCode::BadRequest => "BAD_REQUEST",
            EdgeCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            EdgeCode::UpstreamError => "UPSTREAM_ERROR",
            EdgeCode::ServiceDisabled => "SERVICE_DISABLED",
            EdgeCode::NoHealthyUpstream => "NO_HEALTHY_UPSTREAM",
            EdgeCode::UnknownHost => "UNKNOWN_HOST",
        }
    }

    /// The HTTP status of the code; it never changes.
    pub fn http_status(self) -> u16 {
        match self {
            EdgeCode::BadRequest => 400,
            EdgeCode::MethodNotAllowed => 405,
            EdgeCode::UpstreamError => 502,
            EdgeCode::ServiceDisabled | EdgeCode::NoHealthyUpstream => 503,
            EdgeCode::UnknownHost => 421,
        }
    }
}

/// Either kind of code, as the envelope's `code` documents it.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(
    dead_code,
    reason = "only documents the `code` field; nothing is serialised from it"
)]
pub enum AnyCode {
    Core(ErrorCode),
    Edge(EdgeCode),
}

impl Refusal {
    /// The edge's own code, or the core error this refusal wraps.
    fn edge_code(&self) -> Result<EdgeCode, &Error> {
        Ok(match self {
            Refusal::Core(err) => return Err(err),
            Refusal::BadRequest(_) => EdgeCode::BadRequest,
            Refusal::MethodNotAllowed => EdgeCode::MethodNotAllowed,
            Refusal::Upstream(_) => EdgeCode::UpstreamError,
            Refusal::ServiceDisabled(_) => EdgeCode::ServiceDisabled,
            Refusal::NoHealthyUpstream(_) => EdgeCode::NoHealthyUpstream,
            Refusal::UnknownHost(_) => EdgeCode::UnknownHost,
        })
    }

    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self.edge_code() {
            Ok(code) => code.as_str(),
            Err(err) => err.code().as_str(),
        }
    }

    /// The HTTP status the code maps to.
    pub fn status(&self) -> u16 {
        match self.edge_code() {
            Ok(code) => code.http_status(),
            Err(err) => err.code().http_status(),
        }
    }

    /// The message to show a client: never an internal cause.
    pub fn message(&self) -> String {
        match self {
            Refusal::Core(err) => err.public_message(),
            other => other.to_string(),
        }
    }

    /// Structured details a client can act on.
    pub fn details(&self) -> Option<Value> {
        match self {
            Refusal::Core(err) => err.details(),
            _ => None,
        }
    }

    /// Seconds a client should wait before trying again, when the refusal is temporary.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Refusal::Core(err) => err.retry_after_secs(),
            _ => None,
        }
    }

    /// Whether this is a failure of ours (logged with its cause), not a refusal.
    pub fn is_internal(&self) -> bool {
        matches!(self, Refusal::Core(Error::Internal(_)))
    }

    /// A failure of ours, whose cause is kept for the log.
    pub fn internal(cause: impl Into<auth_core::InternalCause>) -> Self {
        Refusal::Core(Error::internal(cause))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_refusals_keep_their_codes_and_statuses() {
        let cases = [
            (
                Refusal::BadRequest("two cookies".into()),
                400,
                "BAD_REQUEST",
            ),
            (Refusal::MethodNotAllowed, 405, "METHOD_NOT_ALLOWED"),
            (
                Refusal::ServiceDisabled("b".into()),
                503,
                "SERVICE_DISABLED",
            ),
            (
                Refusal::NoHealthyUpstream("b".into()),
                503,
                "NO_HEALTHY_UPSTREAM",
            ),
            (Refusal::UnknownHost("x".into()), 421, "UNKNOWN_HOST"),
            (Refusal::Core(Error::QrExpired), 410, "QR_EXPIRED"),
        ];
        for (refusal, status, code) in cases {
            assert_eq!((refusal.status(), refusal.code()), (status, code));
        }
    }

    #[test]
    fn an_upstream_failure_keeps_its_cause_but_does_not_show_it() {
        let cause = pingora::Error::explain(pingora::ErrorType::ConnectRefused, "10.0.0.3:80");
        let refusal = Refusal::Upstream(cause.to_string().into());
        assert_eq!(refusal.status(), 502);
        assert!(!refusal.message().contains("10.0.0.3"));
        let source = std::error::Error::source(&refusal).map(|s| s.to_string());
        assert!(source.is_some_and(|s| s.contains("10.0.0.3")));
    }

    #[test]
    fn an_internal_cause_stays_in_the_log() {
        let refusal = Refusal::internal("password for db: hunter2");
        assert!(refusal.is_internal());
        assert_eq!(refusal.code(), "INTERNAL_ERROR");
        assert!(!refusal.message().contains("hunter2"));
    }
}

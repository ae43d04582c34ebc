//! The closing warning the gateway adds to every request it forwards: `X-Auth-Closes-At` (when
//! the system next closes, RFC 3339) and, inside the service's warning window,
//! `X-Auth-Closing-In` (seconds left). [`Closing`] reads them, so a service can show its own
//! notice ("save your work: closing in 5 minutes").
//!
//! The gateway removes any copy a client sends, so behind it these are the gateway's. They are
//! information, not a credential: a request that reached the service some other way may carry
//! anything, and nothing but a notice should depend on them.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::HeaderMap;
use http::request::Parts;

/// Header naming when the system next closes (RFC 3339, UTC).
pub const CLOSES_AT_HEADER: &str = "x-auth-closes-at";
/// Header with the seconds left, inside the warning window.
pub const CLOSING_IN_HEADER: &str = "x-auth-closing-in";

/// When the system closes, as the gateway said on this request.
///
/// ```
/// use auth_sdk::Closing;
/// use axum::response::Html;
///
/// async fn page(closing: Closing) -> Html<String> {
///     let notice = match closing.closing_in() {
///         Some(left) => format!("<p role=\"status\">Closing in {} minutes.</p>", left.as_secs().div_ceil(60)),
///         None => String::new(),
///     };
///     Html(format!("<h1>Orders</h1>{notice}"))
/// }
///
/// let app: axum::Router = axum::Router::new().route("/", axum::routing::get(page));
/// # let _ = app;
/// # let mut headers = http::HeaderMap::new();
/// # headers.insert("x-auth-closes-at", "2030-01-07T17:00:00Z".parse().unwrap());
/// # headers.insert("x-auth-closing-in", "300".parse().unwrap());
/// # let closing = Closing::from_headers(&headers);
/// # assert_eq!(closing.closes_at(), Some("2030-01-07T17:00:00Z"));
/// # assert_eq!(closing.closing_in(), Some(std::time::Duration::from_secs(300)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closing {
    closes_at: Option<String>,
    closing_in: Option<Duration>,
}

impl Closing {
    /// Reads the two headers; a missing or malformed one is absent.
    pub fn from_headers(headers: &HeaderMap) -> Closing {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Closing {
            closes_at: text(CLOSES_AT_HEADER)
                .filter(|v| looks_like_rfc3339(v))
                .map(str::to_string),
            closing_in: text(CLOSING_IN_HEADER)
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_secs),
        }
    }

    /// When the system next closes (RFC 3339), while it is open and a closing is scheduled.
    pub fn closes_at(&self) -> Option<&str> {
        self.closes_at.as_deref()
    }

    /// Time left before closing, inside the warning window only.
    pub fn closing_in(&self) -> Option<Duration> {
        self.closing_in
    }

    /// Whether the warning window has begun.
    pub fn warning(&self) -> bool {
        self.closing_in.is_some()
    }
}

/// `YYYY-MM-DDTHH:MM:SS…` with a zone: enough to refuse what is clearly not a time.
fn looks_like_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 20
        && b.len() <= 40
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't')
        && b[13] == b':'
        && text.is_ascii()
        && (text.ends_with('Z') || text.ends_with('z') || text[19..].contains(['+', '-']))
}

impl<S: Send + Sync> FromRequestParts<S> for Closing {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Closing::from_headers(&parts.headers))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Closing {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let closing = Closing::from_headers(&parts.headers);
        Ok((closing.closes_at.is_some() || closing.closing_in.is_some()).then_some(closing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_headers_are_absent() {
        let mut headers = HeaderMap::new();
        headers.insert(CLOSES_AT_HEADER, "tomorrow".parse().unwrap());
        headers.insert(CLOSING_IN_HEADER, "-5".parse().unwrap());
        assert_eq!(Closing::from_headers(&headers), Closing::default());
        headers.insert(
            CLOSES_AT_HEADER,
            "2030-01-07T17:00:00+01:00".parse().unwrap(),
        );
        assert!(Closing::from_headers(&headers).closes_at().is_some());
        assert!(!Closing::from_headers(&headers).warning());
    }
}

//! [`AuthLayer`]: a tower layer that verifies the request's credential and puts the [`Identity`]
//! into its extensions. It never answers by itself: requests without a valid credential go on
//! without an identity, and the [`AuthUser`](crate::AuthUser) extractor decides what to refuse.
//!
//! Behind the gateway the credential is `X-Auth-Assertion` (the gateway removes any such header a
//! client sends, then sets its own); a client reaching the service directly sends
//! `Authorization: Bearer <session token>`, or, for a service that runs its own login page, a
//! browser sends the session token in the service's own cookie ([`AuthLayer::with_cookie`]).
//! The first of these present is the only credential considered.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderMap, Request, header};
use tower::{Layer, Service};

use crate::error::Error;
use crate::identity::Identity;
use crate::verifier::Verifier;

/// The header in which the gateway hands a service the caller's identity.
pub const ASSERTION_HEADER: &str = "x-auth-assertion";

/// Why the request's credential was refused; put into the extensions instead of an [`Identity`]
/// so the extractor can say why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRefused(pub Error);

/// Verifies `X-Auth-Assertion`, or else `Authorization: Bearer`, with a [`Verifier`].
///
/// ```
/// use auth_sdk::{AuthLayer, AuthUser, Verifier};
/// use axum::{Router, routing::get};
///
/// async fn hello(user: AuthUser) -> String {
///     format!("hello {}", user.user_id)
/// }
///
/// let verifier = Verifier::builder(
///     "https://auth.example.com/.well-known/jwks.json",
///     "auth-gateway",
///     "service-b",
/// )
/// .build()
/// .expect("valid settings");
/// let app: Router = Router::new()
///     .route("/hello", get(hello))
///     .layer(AuthLayer::new(verifier));
/// ```
#[derive(Debug, Clone)]
pub struct AuthLayer {
    verifier: Verifier,
    cookie: Option<Arc<str>>,
}

impl AuthLayer {
    /// A layer that verifies credentials with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            cookie: None,
        }
    }

    /// Also reads a session token from the cookie `name`, when the request has neither
    /// `X-Auth-Assertion` nor `Authorization`: for a service that logs people in itself (with
    /// [`ServiceClient`](crate::ServiceClient)) and keeps the session token in its own
    /// `HttpOnly` cookie. A cookie sent twice is refused as malformed.
    ///
    /// ```
    /// # let verifier = auth_sdk::Verifier::builder(
    /// #     "https://auth.example.com/.well-known/jwks.json", "auth-gateway", "service-d",
    /// # ).build().unwrap();
    /// let layer = auth_sdk::AuthLayer::new(verifier).with_cookie("service_d_session");
    /// ```
    pub fn with_cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(Arc::from(name.into()));
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            verifier: self.verifier.clone(),
            cookie: self.cookie.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around yours.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    verifier: Verifier,
    cookie: Option<Arc<str>>,
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone is not ready; the one polled ready goes with this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let token = credential(request.headers())
            .or_else(|| cookie_credential(request.headers(), self.cookie.as_deref()?));
        Box::pin(async move {
            if let Some(token) = token {
                match verifier.verify(&token).await {
                    Ok(identity) => {
                        request.extensions_mut().insert::<Identity>(identity);
                    }
                    Err(error) => {
                        tracing::debug!(code = error.code(), %error, "credential refused");
                        request.extensions_mut().insert(CredentialRefused(error));
                    }
                }
            }
            inner.call(request).await
        })
    }
}

/// The token to verify: the single `X-Auth-Assertion` if present, else a bearer token.
/// A repeated or unreadable header yields an empty token, which is refused as malformed.
fn credential(headers: &HeaderMap) -> Option<String> {
    if headers.contains_key(ASSERTION_HEADER) {
        return Some(
            single(headers, ASSERTION_HEADER)
                .unwrap_or_default()
                .to_owned(),
        );
    }
    if !headers.contains_key(header::AUTHORIZATION) {
        return None;
    }
    let token = single(headers, header::AUTHORIZATION.as_str())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or_default();
    Some(token.to_owned())
}

/// The value of cookie `name` among the request's `Cookie` headers; a cookie of that name sent
/// more than once yields an empty token, refused as malformed.
fn cookie_credential(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().trim_matches('"'));
    let first = found.next()?;
    Some(match found.next() {
        None => first.to_owned(),
        Some(_) => String::new(),
    })
}

fn single<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn assertion_header_wins_over_bearer() {
        let found = credential(&headers(&[
            ("authorization", "Bearer session-token"),
            ("x-auth-assertion", "assertion-token"),
        ]));
        assert_eq!(found.as_deref(), Some("assertion-token"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let found = credential(&headers(&[("authorization", "bearer  tok ")]));
        assert_eq!(found.as_deref(), Some("tok"));
    }

    #[test]
    fn the_cookie_is_read_by_name_and_only_once() {
        let one = headers(&[("cookie", "theme=dark; service_d_session=tok; other=x")]);
        assert_eq!(
            cookie_credential(&one, "service_d_session").as_deref(),
            Some("tok")
        );
        assert_eq!(cookie_credential(&one, "session"), None);
        let twice = headers(&[
            ("cookie", "service_d_session=one"),
            ("cookie", "service_d_session=two"),
        ]);
        assert_eq!(
            cookie_credential(&twice, "service_d_session").as_deref(),
            Some("")
        );
    }

    #[test]
    fn no_credential_means_no_token() {
        assert_eq!(credential(&headers(&[("cookie", "a=b")])), None);
    }

    #[test]
    fn other_schemes_and_repeated_headers_give_an_empty_token() {
        let basic = credential(&headers(&[("authorization", "Basic dXNlcjpwdw==")]));
        assert_eq!(basic.as_deref(), Some(""));
        let twice = credential(&headers(&[
            ("x-auth-assertion", "one"),
            ("x-auth-assertion", "two"),
        ]));
        assert_eq!(twice.as_deref(), Some(""));
    }
}

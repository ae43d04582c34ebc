//! Axum extractors for the identity [`AuthLayer`](crate::AuthLayer) found: [`AuthUser`] refuses
//! with 401 when there is none, [`RequireRole`] also refuses with 403 when the role differs. Both
//! answer in the gateway's envelope:
//! `{"success":false,"error":{"code":"UNAUTHENTICATED","message":"…","details":null}}`.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::Json;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::error::Error;
use crate::identity::Identity;
use crate::layer::CredentialRefused;

/// The verified caller; refuses the request with 401 `UNAUTHENTICATED` when there is none (or
/// 503 when the gateway's keys or session check were unavailable).
///
/// Needs [`AuthLayer`](crate::AuthLayer) on the router. Dereferences to [`Identity`]. Use
/// `Option<AuthUser>` for routes open to everyone: it is `None` both without a credential and
/// with a refused one.
///
/// ```
/// use auth_sdk::AuthUser;
///
/// async fn profile(user: AuthUser) -> Result<String, auth_sdk::AuthRejection> {
///     user.require_role("editor")?;
///     Ok(format!("{} may edit", user.username.as_deref().unwrap_or("?")))
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser(pub Identity);

impl AuthUser {
    /// The identity if its role is `role`, else a 403 `FORBIDDEN` rejection to return.
    pub fn require_role(&self, role: &str) -> Result<&Identity, AuthRejection> {
        if self.0.has_role(role) {
            Ok(&self.0)
        } else {
            Err(AuthRejection::forbidden(role))
        }
    }

    /// The identity.
    pub fn into_inner(self) -> Identity {
        self.0
    }
}

impl Deref for AuthUser {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Identity>() {
            Some(identity) => Ok(AuthUser(identity.clone())),
            None => Err(AuthRejection::missing(
                parts.extensions.get::<CredentialRefused>(),
            )),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Identity>().cloned().map(AuthUser))
    }
}

/// A role name, for [`RequireRole`].
///
/// ```
/// struct Admin;
/// impl auth_sdk::Role for Admin {
///     const NAME: &'static str = "admin";
/// }
/// ```
pub trait Role {
    /// The value the token's `role` claim must have.
    const NAME: &'static str;
}

/// The verified caller, who must have role `R`: 401 without an identity, 403 `FORBIDDEN` with
/// another role. Dereferences to [`Identity`].
///
/// ```
/// use auth_sdk::{RequireRole, Role};
///
/// struct Admin;
/// impl Role for Admin {
///     const NAME: &'static str = "admin";
/// }
///
/// async fn purge(admin: RequireRole<Admin>) -> String {
///     format!("purged by {}", admin.user_id)
/// }
/// ```
pub struct RequireRole<R: Role> {
    identity: Identity,
    role: PhantomData<fn() -> R>,
}

impl<R: Role> RequireRole<R> {
    /// The identity.
    pub fn into_inner(self) -> Identity {
        self.identity
    }
}

impl<R: Role> Deref for RequireRole<R> {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.identity
    }
}

impl<R: Role> std::fmt::Debug for RequireRole<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireRole")
            .field("role", &R::NAME)
            .field("identity", &self.identity)
            .finish()
    }
}

impl<S: Send + Sync, R: Role> FromRequestParts<S> for RequireRole<R> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let AuthUser(identity) =
            <AuthUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if !identity.has_role(R::NAME) {
            return Err(AuthRejection::forbidden(R::NAME));
        }
        Ok(RequireRole {
            identity,
            role: PhantomData,
        })
    }
}

/// A refusal by [`AuthUser`] or [`RequireRole`], answered as the gateway's JSON envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRejection {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AuthRejection {
    fn missing(refused: Option<&CredentialRefused>) -> Self {
        match refused {
            None => Self {
                status: StatusCode::UNAUTHORIZED,
                code: "UNAUTHENTICATED",
                message: "sign in first: no credential was sent".into(),
            },
            Some(CredentialRefused(
                error @ (Error::KeysUnavailable(_) | Error::SessionCheckFailed(_)),
            )) => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: error.code(),
                message: "the credential cannot be checked right now; try again shortly".into(),
            },
            Some(CredentialRefused(error)) => Self {
                status: StatusCode::UNAUTHORIZED,
                code: "UNAUTHENTICATED",
                message: format!("sign in again: {error}"),
            },
        }
    }

    fn forbidden(role: &str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "FORBIDDEN",
            message: format!("this needs the `{role}` role"),
        }
    }

    /// The HTTP status: 401, 403 or 503.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error code in the body: `UNAUTHENTICATED`, `FORBIDDEN`, `KEYS_UNAVAILABLE` or
    /// `SESSION_CHECK_FAILED`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human-readable message in the body.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let body = json!({
            "success": false,
            "error": { "code": self.code, "message": self.message, "details": null },
        });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

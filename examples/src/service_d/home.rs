//! `GET /`: the signed-in page, for the person the session cookie (verified by auth-sdk's layer)
//! names; `POST /logout` ends the session at the gateway and clears the cookie.

use askama::Template;
use auth_sdk::{AuthUser, SessionToken, TokenKind};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::page::{self, cookie, same_origin, see_other, set_cookie};
use super::{SESSION_COOKIE, Shared};

#[derive(Template)]
#[template(path = "service_d/home.html")]
struct Home<'a> {
    who: &'a str,
    username: &'a str,
    email: &'a str,
    until: String,
    /// Behind the gateway the gateway's own logout ends the session.
    logout_action: &'a str,
}

/// The signed-in page, or the login page for anyone else.
pub(crate) async fn page(user: Option<AuthUser>) -> Response {
    let Some(user) = user else {
        return see_other("/login");
    };
    let who = user
        .name
        .as_deref()
        .or(user.username.as_deref())
        .unwrap_or("there");
    page::render(
        &Home {
            who,
            username: user.username.as_deref().unwrap_or(""),
            email: user.email.as_deref().unwrap_or(""),
            until: page::when(user.expires_at),
            logout_action: if user.kind == TokenKind::Assertion {
                "/_auth/logout"
            } else {
                "/logout"
            },
        },
        StatusCode::OK,
    )
}

/// Ends the session and clears the cookie; then the login page.
pub(crate) async fn logout(State(app): State<Shared>, headers: HeaderMap) -> Response {
    if !same_origin(&headers, &app.origin) {
        return page::message(
            StatusCode::FORBIDDEN,
            "Sign-out refused",
            "The form came from another site.",
            Some(("/", "Back to ServiceD")),
        );
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let token = SessionToken::from(token.to_string());
        if let Err(err) = app.client.logout(&token).await {
            // An ended session is what we want; anything else leaves it to expire.
            tracing::info!(
                code = err.code(),
                "logout at the gateway did not end a session"
            );
        }
    }
    let mut response = see_other("/login");
    set_cookie(
        &mut response,
        SESSION_COOKIE,
        "",
        std::time::Duration::ZERO,
        app.secure_cookies,
    );
    response
}

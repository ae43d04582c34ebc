//! `/api/auth/*` and `/api/register`: registration, email verification, password login, refresh,
//! logout, token validation, password reset, and the admin login.

use auth_core::Error;
use auth_core::accounts::{Registered, Registration};
use auth_core::credentials::{AdminLogin, LoginRequest, TokenValidity};
use auth_core::secret::Secret;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::cookies;
use super::envelope::{ApiResult, Created, Data};
use super::extract::{Caller, Client, JsonBody, OptionalJsonBody, Secure};
use crate::state::AppState;

pub async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(input): JsonBody<Registration>,
) -> ApiResult<Created<Registered>> {
    Ok(Created(
        state.core.accounts().register(input, &client).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    token: String,
}

pub async fn verify_email(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult<Data<serde_json::Value>> {
    let user = state
        .core
        .accounts()
        .verify_email(&body.token, &client)
        .await?;
    Ok(Data(json!({ "user_id": user.id, "status": user.status })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    email: String,
}

/// 202 whether or not the address has an account.
fn accepted(message: &str) -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({ "success": true, "data": { "message": message } })),
    )
        .into_response()
}

pub async fn resend_verification(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<EmailBody>,
) -> ApiResult<Response> {
    state
        .core
        .accounts()
        .resend_verification(&body.email, &client)
        .await?;
    Ok(accepted(
        "if this address has an unverified account, a new link is on its way",
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    login: String,
    password: Secret,
    /// Browsers may ask for HttpOnly cookies instead of tokens in the body.
    #[serde(default)]
    use_cookies: bool,
}

pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    JsonBody(body): JsonBody<LoginBody>,
) -> ApiResult<Response> {
    let tokens = state
        .core
        .credentials()
        .login(
            LoginRequest {
                login: body.login,
                password: body.password,
            },
            &client,
        )
        .await?;
    if !body.use_cookies {
        return Ok(Data(tokens).into_response());
    }
    let config = &state.core.config().tokens;
    let mut response = Data(json!({
        "token_type": "cookie",
        "expires_in": tokens.expires_in,
        "user_id": tokens.user_id,
    }))
    .into_response();
    for cookie in cookies::set_tokens(
        &tokens.access_token,
        config.access_ttl_secs,
        &tokens.refresh_token,
        config.refresh_ttl_secs,
        secure,
    ) {
        append_cookie(response.headers_mut(), cookie);
    }
    Ok(response)
}

fn append_cookie(headers: &mut HeaderMap, cookie: String) {
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, value);
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: Option<String>,
}

pub async fn refresh(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody<RefreshBody>,
) -> ApiResult<Response> {
    let from_body = body.refresh_token;
    let from_cookie = cookies::read(&headers, cookies::REFRESH);
    let uses_cookie = from_body.is_none() && from_cookie.is_some();
    let token = from_body
        .or(from_cookie)
        .ok_or_else(|| Error::invalid("refresh_token", "is required"))?;
    let tokens = state.core.credentials().refresh(&token, &client).await?;
    if !uses_cookie {
        return Ok(Data(tokens).into_response());
    }
    let config = &state.core.config().tokens;
    let mut response = Data(json!({
        "token_type": "cookie",
        "expires_in": tokens.expires_in,
        "user_id": tokens.user_id,
    }))
    .into_response();
    for cookie in cookies::set_tokens(
        &tokens.access_token,
        config.access_ttl_secs,
        &tokens.refresh_token,
        config.refresh_ttl_secs,
        secure,
    ) {
        append_cookie(response.headers_mut(), cookie);
    }
    Ok(response)
}

pub async fn logout(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    Caller(caller): Caller,
) -> ApiResult<Response> {
    state.core.credentials().logout(&caller, &client).await?;
    let mut response = Data(json!({ "logged_out": true })).into_response();
    for cookie in cookies::clear_tokens(secure) {
        append_cookie(response.headers_mut(), cookie);
    }
    Ok(response)
}

pub async fn validate_token(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult<Data<TokenValidity>> {
    Ok(Data(
        state
            .core
            .credentials()
            .validate_token(&body.token, &client)
            .await?,
    ))
}

pub async fn forgot_password(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<EmailBody>,
) -> ApiResult<Response> {
    state
        .core
        .credentials()
        .forgot_password(&body.email, &client)
        .await?;
    Ok(accepted(
        "if this address has an account, a reset link is on its way",
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    token: String,
    new_password: Secret,
}

pub async fn reset_password(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<ResetBody>,
) -> ApiResult<Data<serde_json::Value>> {
    state
        .core
        .credentials()
        .reset_password(&body.token, body.new_password.expose(), &client)
        .await?;
    Ok(Data(json!({ "password_changed": true })))
}

pub async fn admin_login(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<AdminLogin>,
) -> ApiResult<Response> {
    Ok(Data(state.core.credentials().admin_login(body, &client).await?).into_response())
}

pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = axum::Json(state.core.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

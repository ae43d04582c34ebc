//! `/api/auth/*` tokens: password login, refresh, logout and token validation; the admin login;
//! and the public signing keys. Registration and recovery are in `registration.rs`.

use auth_core::Error;
use auth_core::credentials::{AdminLogin, AdminToken, LoginRequest, LoginTokens, TokenValidity};
use auth_core::ids::UserId;
use auth_core::secret::Secret;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi as doc;
use super::registration::TokenBody;
use crate::web::cookies::{self, Jar, Owned};
use crate::web::envelope::{ApiResult, Data, Failure, Success};
use crate::web::extract::{Caller, Client, JsonBody, OptionalJsonBody, Secure};
use crate::web::refusal::Refusal;
use crate::web::state::AppState;

/// The answer of a login or refresh: the tokens, or the cookies that now hold them.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginAnswer {
    Tokens(LoginTokens),
    Cookies(CookieLogin),
}

/// A login whose tokens went into HttpOnly cookies (`Set-Cookie`), not the body.
#[derive(Serialize, ToSchema)]
pub struct CookieLogin {
    /// Always `cookie`.
    #[schema(pattern = "^cookie$")]
    token_type: &'static str,
    /// Lifetime of the access token, in seconds.
    expires_in: u64,
    user_id: UserId,
}

impl CookieLogin {
    fn of(tokens: &LoginTokens) -> Self {
        CookieLogin {
            token_type: "cookie",
            expires_in: tokens.expires_in,
            user_id: tokens.user_id,
        }
    }
}

/// The end of a session.
#[derive(Serialize, ToSchema)]
pub struct LoggedOut {
    logged_out: bool,
}

/// A password login.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// The email address or the username.
    login: String,
    password: Secret,
    /// Browsers may ask for HttpOnly cookies instead of tokens in the body.
    #[serde(default)]
    use_cookies: bool,
}

/// Log in with a password
///
/// An access token and a refresh token, or (with `use_cookies`) the same tokens as HttpOnly
/// cookies. Wrong passwords count towards the account's lockout.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in: the tokens, or `token_type: cookie` when they \
            went into cookies", body = Success<LoginAnswer>,
            headers(("Set-Cookie" = String, description = "With `use_cookies`: `auth_access` \
                and `auth_refresh`, HttpOnly, SameSite=Lax"))),
        doc::BodyRefusals,
        (status = 401, description = "INVALID_CREDENTIALS: unknown login or wrong password",
            body = Failure),
        (status = 403, description = "EMAIL_NOT_VERIFIED, ACCOUNT_PENDING, ACCOUNT_REJECTED or \
            ACCOUNT_BLOCKED (only with the right password)", body = Failure),
        (status = 422, description = "VALIDATION_ERROR: `login` or `password` missing, or an \
            unknown field", body = Failure),
        (status = 423, description = "ACCOUNT_LOCKED: too many wrong passwords or codes \
            (`details.locked_until`)", body = Failure),
        doc::RateLimited,
        doc::LoginRefusals,
    )
)]
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
        return Ok(Data(LoginAnswer::Tokens(tokens)).into_response());
    }
    let config = &state.core.config().tokens;
    let mut response = Data(LoginAnswer::Cookies(CookieLogin::of(&tokens))).into_response();
    for cookie in cookies::set_tokens(
        &Jar::new(secure),
        &tokens.access_token,
        config.access_ttl_secs,
        &tokens.refresh_token,
        config.refresh_ttl_secs,
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

/// The refresh token, unless the `auth_refresh` cookie holds it.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: Option<String>,
}

/// Rotate a refresh token
///
/// A new access and refresh token for the old refresh token, from the body or else the
/// `auth_refresh` cookie (then the answer sets cookies again). A refresh token used twice revokes
/// its whole family, except within `tokens.refresh_grace_secs`.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    request_body(content = Option<RefreshBody>, description = "May be left out when the \
        `auth_refresh` cookie is sent"),
    params(("auth_refresh" = Option<String>, Cookie, description = "The refresh token, when \
        the body has none")),
    responses(
        (status = 200, description = "New tokens, or `token_type: cookie` when the cookie was \
            used", body = Success<LoginAnswer>,
            headers(("Set-Cookie" = String, description = "When the cookie was used: new \
                `auth_access` and `auth_refresh`"))),
        doc::BodyRefusals,
        (status = 401, description = "INVALID_TOKEN: unknown, revoked or reused token; \
            EXPIRED_TOKEN", body = Failure),
        (status = 403, description = "ACCOUNT_BLOCKED and other states in which the account \
            may not be used", body = Failure),
        (status = 422, description = "VALIDATION_ERROR: `refresh_token` missing from both body \
            and cookie, or an unknown field", body = Failure),
        doc::RateLimited,
        doc::LoginRefusals,
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody<RefreshBody>,
) -> ApiResult<Response> {
    let from_body = body.refresh_token;
    let from_cookie = Jar::new(secure)
        .read(&headers, Owned::Refresh)
        .map_err(|dup| Refusal::BadRequest(dup.to_string()))?;
    let uses_cookie = from_body.is_none() && from_cookie.is_some();
    let token = from_body
        .or(from_cookie)
        .ok_or_else(|| Error::invalid("refresh_token", "is required"))?;
    let tokens = state.core.credentials().refresh(&token, &client).await?;
    if !uses_cookie {
        return Ok(Data(LoginAnswer::Tokens(tokens)).into_response());
    }
    let config = &state.core.config().tokens;
    let mut response = Data(LoginAnswer::Cookies(CookieLogin::of(&tokens))).into_response();
    for cookie in cookies::set_tokens(
        &Jar::new(secure),
        &tokens.access_token,
        config.access_ttl_secs,
        &tokens.refresh_token,
        config.refresh_ttl_secs,
    ) {
        append_cookie(response.headers_mut(), cookie);
    }
    Ok(response)
}

/// Log out
///
/// Ends the caller's session and its refresh tokens, and clears the cookies.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    security(("bearer" = []), ("access_cookie" = []), ("admin_bearer" = [])),
    responses(
        (status = 200, description = "The session has ended", body = Success<LoggedOut>,
            headers(("Set-Cookie" = String, description = "Clears `auth_access` and \
                `auth_refresh`"))),
        doc::SignedInRefusals,
        (status = 422, description = "VALIDATION_ERROR (field `authorization`): a personal \
            access token has no session", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    Caller(caller): Caller,
) -> ApiResult<Response> {
    state.core.credentials().logout(&caller, &client).await?;
    let mut response = Data(LoggedOut { logged_out: true }).into_response();
    for cookie in cookies::clear_tokens(&Jar::new(secure)) {
        append_cookie(response.headers_mut(), cookie);
    }
    Ok(response)
}

/// Check a token
///
/// Whether a person's access, session or personal access token is valid now, and whose it is.
/// An invalid token is an answer (`is_valid: false` and the code in `reason`), not a refusal.
#[utoipa::path(
    post,
    path = "/api/auth/validate-token",
    tag = "auth",
    request_body = TokenBody,
    responses(
        (status = 200, description = "Whether the token is valid", body = Success<TokenValidity>),
        doc::BodyRefusals,
        (status = 422, description = "VALIDATION_ERROR: `token` missing, or an unknown field",
            body = Failure),
        doc::StorageRefusals,
    )
)]
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

/// Log in as an administrator
///
/// An admin token carrying the role (`admin` or read-only `support`); no refresh token. An admin
/// who has enrolled an authenticator in the console (`/admin`) gives a `code` from it, or one of
/// its recovery codes, as well; wrong codes count towards the lockout as wrong passwords do.
#[utoipa::path(
    post,
    path = "/api/admin/login",
    tag = "admin",
    request_body = AdminLogin,
    responses(
        (status = 200, description = "The admin token", body = Success<AdminToken>),
        doc::BodyRefusals,
        (status = 401, description = "INVALID_CREDENTIALS: unknown username, wrong password or \
            wrong code; SECOND_FACTOR_REQUIRED: this admin has an authenticator, and `code` is \
            missing", body = Failure),
        (status = 403, description = "FORBIDDEN: the admin account is disabled", body = Failure),
        (status = 422, description = "VALIDATION_ERROR: `username` or `password` missing, or an \
            unknown field", body = Failure),
        (status = 423, description = "ACCOUNT_LOCKED: too many wrong passwords \
            (`details.locked_until`)", body = Failure),
        doc::RateLimited,
        doc::StorageRefusals,
    )
)]
pub async fn admin_login(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<AdminLogin>,
) -> ApiResult<Data<AdminToken>> {
    Ok(Data(
        state.core.credentials().admin_login(body, &client).await?,
    ))
}

/// The public signing keys, as auth-core builds them (documentation only: the handler serves
/// auth-core's JSON as it is).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

/// One Ed25519 public key (RFC 8037).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jwk {
    #[schema(pattern = "^OKP$")]
    kty: String,
    #[schema(pattern = "^Ed25519$")]
    crv: String,
    #[schema(pattern = "^EdDSA$")]
    alg: String,
    #[serde(rename = "use")]
    #[schema(pattern = "^sig$")]
    use_: String,
    /// The key's id, the `kid` of the tokens it signed.
    kid: String,
    /// The public key, base64url without padding.
    x: String,
}

/// The public signing keys
///
/// Every key that may still have signed a live token, as a JSON Web Key Set (not in the
/// envelope). Cached for five minutes.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "auth",
    responses(
        (status = 200, description = "The key set", body = Jwks,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    )
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = axum::Json(state.core.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

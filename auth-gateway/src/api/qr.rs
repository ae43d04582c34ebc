//! The QR + PIN login: `/api/auth/qr/*` and `/api/auth/pin/verify` (services, with their API key),
//! the scan (a person's phone), and `/api/auth/session`.

use auth_core::credentials::Principal;
use auth_core::ids::SessionId;
use auth_core::qr_login::{ChallengeState, NewChallenge, PinLogin, ScanResult, UserInfo};
use auth_core::sessions::Session;
use auth_core::{Error, RequestContext};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi as doc;
use crate::web::envelope::{ApiResult, Created, Data, Failure, Success};
use crate::web::extract::{Caller, Client, JsonBody, OptionalJsonBody, PathId, ServiceCaller};
use crate::web::state::AppState;

/// Who the end user is, as the service saw them: what the phone shows as "requested from".
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestedBy {
    /// The end user's IP address (v4 or v6), as the service's own server saw it.
    #[schema(schema_with = auth_core::openapi::ip_address, example = "203.0.113.7")]
    client_ip: Option<std::net::IpAddr>,
    /// The end user's browser (`User-Agent`), at most 512 characters, no control characters.
    #[schema(
        schema_with = user_agent_schema,
        example = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
    )]
    user_agent: Option<String>,
}

/// Longest user agent a service may pass on.
const MAX_USER_AGENT_CHARS: usize = 512;

fn user_agent_schema() -> utoipa::openapi::schema::Object {
    auth_core::openapi::user_agent(MAX_USER_AGENT_CHARS)
}

impl RequestedBy {
    /// Where the challenge says it was asked from: the end user the service names, trusted
    /// because the service authenticated with its key; with neither field, the caller itself.
    fn context(self, caller: RequestContext) -> Result<RequestContext, Error> {
        if let Some(agent) = &self.user_agent
            && (agent.chars().count() > MAX_USER_AGENT_CHARS || agent.chars().any(char::is_control))
        {
            return Err(Error::invalid(
                "user_agent",
                format!("at most {MAX_USER_AGENT_CHARS} characters, without control characters"),
            ));
        }
        if self.client_ip.is_none() && self.user_agent.is_none() {
            return Ok(caller);
        }
        Ok(RequestContext {
            client_ip: self.client_ip,
            user_agent: self.user_agent,
        })
    }
}

/// Start a QR login
///
/// A challenge for the calling service: a token, the QR code of its scan URL (SVG and PNG), and
/// how long it may be scanned. The body is optional: a service whose own server calls this names
/// the end user (`client_ip`, `user_agent`), and the phone shows that as "requested from"; without
/// it (or with `{}`) the phone shows the caller's own address and user agent. When the body names
/// the end user, a field left out is shown as unknown, never as the caller's.
#[utoipa::path(
    post,
    path = "/api/auth/qr/generate",
    tag = "qr-login",
    request_body(content = Option<RequestedBy>, description = "The end user, as the service saw \
        them (optional)"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "The new challenge", body = Success<NewChallenge>),
        doc::BodyRefusals,
        doc::ServiceRefusals,
        (status = 422, description = "VALIDATION_ERROR: `client_ip` not an IP address, \
            `user_agent` too long or with control characters, or an unknown field", body = Failure),
        doc::LoginRefusals,
    )
)]
pub async fn generate(
    State(state): State<AppState>,
    ServiceCaller(service): ServiceCaller,
    Client(client): Client,
    OptionalJsonBody(requested_by): OptionalJsonBody<RequestedBy>,
) -> ApiResult<Created<NewChallenge>> {
    let context = requested_by.context(client)?;
    Ok(Created(
        state
            .core
            .qr_login()
            .generate(&service, &context, None)
            .await?,
    ))
}

/// Poll a QR login
#[utoipa::path(
    get,
    path = "/api/auth/qr/{token}/status",
    operation_id = "qr_status",
    tag = "qr-login",
    params(("token" = String, Path, description = "The challenge's `qr_token`")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "`pending`, `scanned`, `used` or `expired`",
            body = Success<ChallengeState>),
        doc::ServiceRefusals,
        (status = 404, description = "QR_NOT_FOUND: unknown, long gone, or another service's",
            body = Failure),
        doc::LoginRefusals,
    )
)]
pub async fn status(
    State(state): State<AppState>,
    ServiceCaller(service): ServiceCaller,
    PathId(token): PathId<String>,
) -> ApiResult<Data<ChallengeState>> {
    Ok(Data(state.core.qr_login().state(&service, &token).await?))
}

/// The QR code's token, read from its scan URL.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanBody {
    qr_token: String,
}

/// Scan a QR code
///
/// From a person's signed-in phone (the access token of a password sign-in; no other credential,
/// not a service's session token nor a personal access token): ties the challenge to the person
/// and answers the PIN to type into the service.
#[utoipa::path(
    post,
    path = "/api/auth/qr/scan",
    tag = "qr-login",
    request_body = ScanBody,
    security(("bearer" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The PIN, and which service asks from where",
            body = Success<ScanResult>),
        doc::BodyRefusals,
        (status = 401, description = doc::NO_TOKEN, body = Failure),
        (status = 403, description = "FORBIDDEN: a credential that may not scan (a service \
            session, a personal access token, an admin's token; `details.credential` names it); \
            EMAIL_NOT_VERIFIED … ACCOUNT_BLOCKED: the account may not be used", body = Failure),
        (status = 404, description = "QR_NOT_FOUND", body = Failure),
        (status = 409, description = "QR_ALREADY_SCANNED", body = Failure),
        (status = 410, description = "QR_EXPIRED", body = Failure),
        (status = 422, description = "VALIDATION_ERROR: `qr_token` missing, or an unknown field",
            body = Failure),
        doc::RateLimited,
        doc::LoginRefusals,
    )
)]
pub async fn scan(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Client(client): Client,
    JsonBody(body): JsonBody<ScanBody>,
) -> ApiResult<Data<ScanResult>> {
    // The route's policy admits only what may scan: a person's access token from a password
    // sign-in on the phone.
    let user = caller.require_user()?;
    Ok(Data(
        state
            .core
            .qr_login()
            .scan(user, &body.qr_token, &client)
            .await?,
    ))
}

/// The PIN the person typed, for the challenge.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    qr_token: String,
    #[schema(schema_with = auth_core::openapi::pin)]
    pin: String,
}

/// Verify the PIN
///
/// The service sends the PIN the person typed; the answer is the person's session at the service,
/// which never outlives closing time. Wrong PINs count towards the challenge's and the account's
/// limits.
#[utoipa::path(
    post,
    path = "/api/auth/pin/verify",
    tag = "qr-login",
    request_body = VerifyBody,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The session token and whose it is", body = Success<PinLogin>),
        doc::BodyRefusals,
        (status = 401, description = "PIN_INVALID (`details.attempts_left`); \
            INVALID_CREDENTIALS: the account is gone; UNAUTHENTICATED: no or a wrong \
            `X-API-Key`", body = Failure),
        (status = 403, description = "FORBIDDEN: the service is disabled; EMAIL_NOT_VERIFIED … \
            ACCOUNT_BLOCKED: the account may not be used", body = Failure),
        (status = 404, description = "QR_NOT_FOUND: unknown or another service's", body = Failure),
        (status = 409, description = "QR_NOT_SCANNED or QR_ALREADY_USED", body = Failure),
        (status = 410, description = "QR_EXPIRED or PIN_EXPIRED", body = Failure),
        (status = 422, description = "VALIDATION_ERROR: `pin` not six digits, a field missing, \
            or an unknown field", body = Failure),
        (status = 423, description = "QR_LOCKED: too many wrong PINs for this challenge; \
            ACCOUNT_LOCKED: too many for the account (`details.locked_until`)", body = Failure),
        doc::RateLimited,
        doc::LoginRefusals,
    )
)]
pub async fn verify_pin(
    State(state): State<AppState>,
    ServiceCaller(service): ServiceCaller,
    Client(client): Client,
    JsonBody(body): JsonBody<VerifyBody>,
) -> ApiResult<Data<PinLogin>> {
    Ok(Data(
        state
            .core
            .qr_login()
            .verify_pin(&service, &body.qr_token, body.pin.trim(), &client, None)
            .await?,
    ))
}

/// The caller's live session and whose it is.
#[derive(Serialize, ToSchema)]
pub struct SessionInfo {
    live: bool,
    session: Session,
    /// The audience of the credential: the API's, or a service slug for session tokens.
    audience: String,
    user: UserInfo,
}

/// Whether a session is live.
#[derive(Serialize, ToSchema)]
pub struct Liveness {
    live: bool,
}

/// The caller's session
///
/// Whether the session of the caller's access or session token is live, and whose it is.
#[utoipa::path(
    get,
    path = "/api/auth/session",
    tag = "qr-login",
    security(("bearer" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The live session", body = Success<SessionInfo>),
        doc::SignedInRefusals,
        (status = 422, description = "VALIDATION_ERROR (field `authorization`): a personal \
            access token or an admin's token, which have no such session", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn session(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Data<SessionInfo>> {
    let Principal::User {
        user,
        session: Some(id),
        audience,
        ..
    } = &caller
    else {
        return Err(Error::invalid("authorization", "this needs a session or access token").into());
    };
    let session = state
        .core
        .sessions()
        .live(id)
        .await?
        .ok_or(Error::InvalidToken)?;
    Ok(Data(SessionInfo {
        live: true,
        session,
        audience: audience.clone(),
        user: UserInfo {
            user_id: user.id,
            username: user.username.clone(),
            email: user.email.clone(),
            full_name: user.full_name.clone(),
        },
    }))
}

/// Whether a session is live
///
/// For services that check revocation at once (the SDK's liveness option): is session `id`, at
/// the calling service or the API, live?
#[utoipa::path(
    get,
    path = "/api/auth/sessions/{id}",
    tag = "qr-login",
    params(("id" = SessionId, Path, description = "The session (`sid` of its tokens)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Whether it is live", body = Success<Liveness>),
        doc::ServiceRefusals,
        (status = 422, description = doc::BAD_ID, body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn session_live(
    State(state): State<AppState>,
    ServiceCaller(service): ServiceCaller,
    PathId(id): PathId<SessionId>,
) -> ApiResult<Data<Liveness>> {
    let live = state
        .core
        .credentials()
        .session_is_live(id, &service.slug)
        .await?;
    Ok(Data(Liveness { live }))
}

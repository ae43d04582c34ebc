//! The OpenAPI document of the API. Its frame (title, tags, security schemes) is here; each
//! operation comes from the `#[utoipa::path]` of its handler, and the paths from the router itself
//! (`OpenApiRouter` in `api/mod.rs`), so the document lists exactly the routes that are served.
//! The refusals every route shares are described once, below.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::web::envelope::{ErrorDetails, Failure};

const DESCRIPTION: &str = "\
The auth platform's API, served by the gateway in front of the services.

Every answer is JSON in one envelope: `{\"success\": true, \"data\": …}` (200, 201 or 202), or
`{\"success\": false, \"error\": {\"code\", \"message\", \"details\"}}` with the status the code
implies. Clients match on `code`; `details` says which fields are wrong, until when an account is
locked, how many PINs are left, or when to retry (also in `Retry-After`).

Before a request reaches its handler, the gateway may refuse it: 413 when the body is larger than
`gateway.max_body_bytes`, 429 RATE_LIMITED on the login, registration, scan and PIN routes, and
503 SYSTEM_CLOSED on the routes that log people in, outside operating hours. In the warning window
before closing, every answer carries `X-System-Closing-In` (seconds).";

/// The security schemes operations refer to by name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A person's credential: the access token of `POST /api/auth/login`, a \
                         personal access token (`pat_…`), or a session token of the QR login.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "access_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "auth_access",
                "The access token as the HttpOnly cookie that `POST /api/auth/login` sets with \
                 `\"use_cookies\": true`; read when there is no `Authorization` header.",
            ))),
        );
        components.add_security_scheme(
            "admin_bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An administrator's token from `POST /api/admin/login`. Role `admin` may \
                         do everything, `support` may only read; operations that change things \
                         list the role `admin`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A service's API key (`svc_…`), made with `POST /api/services/{slug}/rotate-key`.",
            ))),
        );
    }
}

/// The frame of the document; `api::openapi()` adds the operations.
#[derive(OpenApi)]
#[openapi(
    info(title = "Auth gateway API", description = DESCRIPTION),
    tags(
        (name = "auth", description = "Registration, email verification, password login, tokens"),
        (name = "accounts", description = "A person's own account and personal access tokens"),
        (name = "admin", description = "Approval queue, user management, sessions, history, audit, hours"),
        (name = "services", description = "The services behind the gateway and their API keys"),
        (name = "qr-login", description = "Logging into a service with a QR code and a PIN"),
        (name = "system", description = "Health, metrics, operating hours, this document"),
    ),
    components(schemas(Failure, ErrorDetails)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// 400 on every route that reads a JSON body.
pub const NOT_JSON: &str = "BAD_REQUEST: the body is not JSON (`Content-Type: application/json`) \
                            or could not be read";
/// 413 on every route that reads a body.
pub const TOO_LARGE: &str = "VALIDATION_ERROR (field `body`): the body is larger than \
                             `gateway.max_body_bytes`";
/// 401 of every route that needs a person's or an admin's token.
pub const NO_TOKEN: &str = "UNAUTHENTICATED: no credential; INVALID_TOKEN: not a valid token, or \
                            its session has ended; EXPIRED_TOKEN";
/// 403 of routes for people.
pub const NOT_USER: &str = "FORBIDDEN: an administrator's token; EMAIL_NOT_VERIFIED, \
                            ACCOUNT_PENDING, ACCOUNT_REJECTED or ACCOUNT_BLOCKED: the account \
                            may not be used";
/// 403 of routes any signed-in caller may use.
pub const NOT_USABLE: &str = "EMAIL_NOT_VERIFIED, ACCOUNT_PENDING, ACCOUNT_REJECTED or \
                              ACCOUNT_BLOCKED: the account may not be used; FORBIDDEN: the \
                              admin account is disabled";
/// 403 of read-only admin routes.
pub const NOT_ADMIN: &str = "FORBIDDEN: not an administrator's token, or the admin account is \
                             disabled; EMAIL_NOT_VERIFIED … ACCOUNT_BLOCKED for a person's token \
                             whose account may not be used";
/// 403 of admin routes that change things.
pub const NOT_ADMIN_WRITER: &str = "FORBIDDEN: not an administrator's token, the read-only \
                                    `support` role, or a disabled admin account";
/// 401 of routes for services.
pub const NO_API_KEY: &str = "UNAUTHENTICATED: no `X-API-Key`, or not a service's current key";
/// 403 of routes for services.
pub const SERVICE_DISABLED: &str = "FORBIDDEN: the service is disabled";
/// 429 of the rate-limited routes.
pub const RATE_LIMITED: &str = "RATE_LIMITED: too many requests from this address; retry after \
                                `Retry-After` seconds";
/// 503 of routes that use storage.
pub const UNAVAILABLE: &str = "SERVICE_UNAVAILABLE: the database or Redis does not answer; \
                               retry after `Retry-After` seconds";
/// 503 of routes that log people in.
pub const CLOSED: &str = "SYSTEM_CLOSED: outside operating hours (`details.opens_at`, \
                          `Retry-After`); SERVICE_UNAVAILABLE: the database or Redis does not \
                          answer, or every password-hashing thread is busy and its queue full \
                          (retry after `Retry-After` seconds)";
/// 500 of every route.
pub const INTERNAL: &str = "INTERNAL_ERROR: an unexpected failure (logged, never described)";
/// 422 of routes with an id in the path.
pub const BAD_ID: &str = "VALIDATION_ERROR (field `id`): the id is not a UUID";
/// 422 of paged lists.
pub const BAD_PAGE: &str = "VALIDATION_ERROR: `page` below 1, `per_page` outside 1..=200, or an \
                            unknown or malformed query parameter";

/// 500 and 503 of every route that uses storage.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum StorageRefusals {
    #[response(status = 500, description = INTERNAL)]
    Internal(Failure),
    #[response(status = 503, description = UNAVAILABLE)]
    Unavailable(Failure),
}

/// 500 and 503 of the routes that log people in, which close outside operating hours.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum LoginRefusals {
    #[response(status = 500, description = INTERNAL)]
    Internal(Failure),
    #[response(status = 503, description = CLOSED,
        headers(("Retry-After" = u64, description = "SYSTEM_CLOSED: seconds to opening")))]
    Closed(Failure),
}

/// 429 of the rate-limited routes.
#[derive(IntoResponses)]
#[response(status = 429, description = RATE_LIMITED,
    headers(("Retry-After" = u64, description = "Seconds to wait")))]
#[allow(dead_code)]
pub struct RateLimited(Failure);

/// 401 and 403 of the admin routes that only read.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum AdminReaderRefusals {
    #[response(status = 401, description = NO_TOKEN)]
    Unauthenticated(Failure),
    #[response(status = 403, description = NOT_ADMIN)]
    Forbidden(Failure),
}

/// 401 and 403 of the admin routes that change things.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum AdminWriterRefusals {
    #[response(status = 401, description = NO_TOKEN)]
    Unauthenticated(Failure),
    #[response(status = 403, description = NOT_ADMIN_WRITER)]
    Forbidden(Failure),
}

/// 401 and 403 of the routes any signed-in caller may use.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum SignedInRefusals {
    #[response(status = 401, description = NO_TOKEN)]
    Unauthenticated(Failure),
    #[response(status = 403, description = NOT_USABLE)]
    Forbidden(Failure),
}

/// 401 and 403 of the routes for people.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum PersonRefusals {
    #[response(status = 401, description = NO_TOKEN)]
    Unauthenticated(Failure),
    #[response(status = 403, description = NOT_USER)]
    Forbidden(Failure),
}

/// 401 and 403 of the routes for services.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ServiceRefusals {
    #[response(status = 401, description = NO_API_KEY)]
    Unauthenticated(Failure),
    #[response(status = 403, description = SERVICE_DISABLED)]
    Forbidden(Failure),
}

/// 400 and 413 of every route that reads a JSON body.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum BodyRefusals {
    #[response(status = 400, description = NOT_JSON)]
    NotJson(Failure),
    #[response(status = 413, description = TOO_LARGE)]
    TooLarge(Failure),
}

/// 400 of every route with a parameter in its path, answered by the edge before routing.
pub const BAD_PATH: &str = "BAD_REQUEST: an encoded slash, backslash or NUL in the path \
                            (refused before routing)";

/// What the router's document leaves to be said about every operation alike, added once here
/// so no route can miss it:
/// - a parameter in the path may carry an encoded `/`, `\` or NUL, which the edge refuses with
///   400 before routing;
/// - a body that may be left out is never `null`: a JSON `null` is refused like any body of
///   the wrong shape, so the schema of an optional body is the body's own, not "it or null".
pub fn complete(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            document_bad_path(operation);
            not_null_body(operation);
        }
    }
    document
}

fn document_bad_path(operation: &mut Operation) {
    let in_path = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
    if !in_path {
        return;
    }
    match operation.responses.responses.get_mut("400") {
        Some(RefOr::T(existing)) => {
            existing.description = format!("{}; {BAD_PATH}", existing.description);
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let failure = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Failure")))
                .build();
            let response = ResponseBuilder::new()
                .description(BAD_PATH)
                .content("application/json", failure)
                .build();
            operation
                .responses
                .responses
                .insert("400".into(), RefOr::T(response));
        }
    }
}

fn not_null_body(operation: &mut Operation) {
    let Some(RefOr::T(body)) = operation.request_body.as_mut() else {
        return;
    };
    for content in body.content.values_mut() {
        let RefOr::T(content) = content else {
            continue;
        };
        let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else {
            continue;
        };
        let is_null = |member: &RefOr<Schema>| {
            matches!(member, RefOr::T(Schema::Object(object))
                if object.schema_type == SchemaType::Type(Type::Null))
        };
        let kept: Vec<RefOr<Schema>> = one_of
            .items
            .iter()
            .filter(|m| !is_null(m))
            .cloned()
            .collect();
        if kept.len() == 1 && one_of.items.len() == 2 {
            content.schema = kept.into_iter().next();
        }
    }
}

/// The document as JSON, made once.
static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| {
    Bytes::from(super::openapi().to_json().unwrap_or_else(|err| {
        tracing::error!(%err, "the OpenAPI document could not be serialised");
        String::from("{}")
    }))
});

/// Builds the document now rather than at the first request.
pub fn prepare() {
    LazyLock::force(&DOCUMENT);
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "system",
    summary = "The OpenAPI document of this API",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document (not in the envelope)",
            body = inline(serde_json::Value), content_type = "application/json"),
    )
)]
pub async fn document() -> Response {
    let mut response = DOCUMENT.clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

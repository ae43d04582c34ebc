//! The events webhooks receive, in the OpenAPI document's `webhooks`: one POST per event type,
//! each with its body's JSON schema and the signature headers. The `data` structs below exist
//! for the document only; auth-core writes the same fields when it records the event.

#![allow(dead_code, reason = "the structs describe JSON written elsewhere")]

use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{
    ContentBuilder, HttpMethod, PathItem, PathsBuilder, Ref, Required, ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

/// `user.registered`: someone registered; the account waits for its email to be verified.
#[derive(ToSchema)]
pub struct UserRegistered {
    #[schema(format = Uuid)]
    user_id: String,
    email: String,
    username: String,
}

/// `user.email_verified`: the account's email address was confirmed.
#[derive(ToSchema)]
pub struct UserEmailVerified {
    #[schema(format = Uuid)]
    user_id: String,
}

/// `user.approved`: an admin approved the account; it may now log in.
#[derive(ToSchema)]
pub struct UserApproved {
    #[schema(format = Uuid)]
    user_id: String,
    /// The approving admin's id.
    #[schema(format = Uuid)]
    approved_by: Option<String>,
}

/// `user.rejected`: an admin rejected the account, with a reason.
#[derive(ToSchema)]
pub struct UserRejected {
    #[schema(format = Uuid)]
    user_id: String,
    #[schema(format = Uuid)]
    rejected_by: Option<String>,
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

/// `user.logged_in`: a successful login, by password, QR code + PIN, or personal access token.
#[derive(ToSchema)]
pub struct UserLoggedIn {
    #[schema(format = Uuid)]
    user_id: String,
    #[schema(pattern = "^(password|qr|pat)$")]
    method: String,
    /// The service logged into; null for the account API.
    service: Option<String>,
}

/// `user.locked`: too many wrong passwords (or PINs) locked the account for a while.
#[derive(ToSchema)]
pub struct UserLocked {
    #[schema(format = Uuid)]
    user_id: String,
    /// What was wrong too often.
    #[schema(pattern = "^(password|pin)$")]
    method: String,
    #[schema(format = DateTime)]
    locked_until: String,
}

/// `session.revoked`: a session ended before its time (logout, or an admin's decision).
#[derive(ToSchema)]
pub struct SessionRevoked {
    session_id: String,
    /// `user` or `admin`.
    #[schema(pattern = "^(user|admin)$")]
    subject_kind: String,
    subject_id: String,
    /// The service slug, or the API's audience.
    audience: String,
    reason: String,
    /// The admin who ended it; null when its owner did.
    #[schema(format = Uuid)]
    revoked_by: Option<String>,
}

/// Each event type with the schema of its `data`.
fn events() -> Vec<(
    &'static str,
    String,
    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
)> {
    vec![
        (
            "user.registered",
            UserRegistered::name().into(),
            UserRegistered::schema(),
        ),
        (
            "user.email_verified",
            UserEmailVerified::name().into(),
            UserEmailVerified::schema(),
        ),
        (
            "user.approved",
            UserApproved::name().into(),
            UserApproved::schema(),
        ),
        (
            "user.rejected",
            UserRejected::name().into(),
            UserRejected::schema(),
        ),
        (
            "user.logged_in",
            UserLoggedIn::name().into(),
            UserLoggedIn::schema(),
        ),
        (
            "user.locked",
            UserLocked::name().into(),
            UserLocked::schema(),
        ),
        (
            "session.revoked",
            SessionRevoked::name().into(),
            SessionRevoked::schema(),
        ),
    ]
}

const DELIVERY: &str = "\
POSTed to each `[[webhooks]]` URL subscribed to this event type, at least once: a receiver that \
does not answer 2xx within `events.webhook_timeout_secs` gets it again after 5 s, 10 s, 20 s, … \
(up to `events.webhook_max_attempts` attempts). Deduplicate by `id` (also `X-Webhook-Id`), the \
same on every retry. Verify `X-Webhook-Signature: v1=<hex>`: HMAC-SHA256 with the webhook's \
secret over `<X-Webhook-Timestamp>.<raw body>`, compared in constant time; refuse timestamps far \
from now.";

/// Adds the events to `document`: their schemas to the components, one webhook each.
pub fn describe(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let components = document.components.get_or_insert_with(Default::default);
    let mut hooks = PathsBuilder::new();
    for (kind, name, schema) in events() {
        components.schemas.insert(name.clone(), schema);
        let body = ObjectBuilder::new()
            .property(
                "id",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .description(Some("The event's id, the same on every retry")),
            )
            .required("id")
            .property(
                "type",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([kind])),
            )
            .required("type")
            .property(
                "created_at",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            )
            .required("created_at")
            .property("data", Ref::from_schema_name(name))
            .required("data");
        let header = |name: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some(description))
                .build()
        };
        let operation = OperationBuilder::new()
            .summary(Some(format!("The `{kind}` event")))
            .description(Some(DELIVERY))
            .parameter(header("X-Webhook-Id", "The event's id, for deduplication"))
            .parameter(header("X-Webhook-Event", "The event type"))
            .parameter(header(
                "X-Webhook-Timestamp",
                "Seconds since the Unix epoch at this attempt",
            ))
            .parameter(header(
                "X-Webhook-Signature",
                "`v1=` and the hex HMAC-SHA256 of `<timestamp>.<body>`",
            ))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(body)).build(),
                    )
                    .build(),
            ))
            .response(
                "2XX",
                ResponseBuilder::new().description("Received; not sent again"),
            )
            .response(
                "default",
                ResponseBuilder::new().description("Not received; sent again later"),
            );
        hooks = hooks.path(kind, PathItem::new(HttpMethod::Post, operation));
    }
    document.webhooks = Some(hooks.build());
    document
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_event_type_is_documented() {
        let document = super::describe(utoipa::openapi::OpenApi::default());
        let hooks = document.webhooks.unwrap();
        for kind in auth_core::events::KINDS {
            assert!(hooks.paths.contains_key(*kind), "{kind} is not documented");
        }
        assert_eq!(hooks.paths.len(), auth_core::events::KINDS.len());
    }
}

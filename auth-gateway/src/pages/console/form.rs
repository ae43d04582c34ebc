//! A posted console form: accepted only from a signed-in admin, from the gateway's own origin, and
//! with the CSRF token of the admin's session. A refused form changes nothing.

use auth_core::context::RequestContext;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Console;
use crate::pages::{public_url, same_origin};
use crate::web::extract::Client;
use crate::web::page::message;
use crate::web::state::AppState;

/// The largest console form read (a bulk decision names a few hundred ids at most).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The fields of a form, in order; a name may repeat (the boxes ticked in a list).
pub struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(body: &[u8]) -> Fields {
        Fields(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; None when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }
}

/// A console form that passed its checks, with who posted it and from where.
pub struct ConsoleForm {
    pub console: Console,
    pub fields: Fields,
    pub client: RequestContext,
}

fn refusal(status: StatusCode, text: &str) -> Response {
    message(
        status,
        "Not done",
        text,
        Some(("/admin".into(), "Back to the console".into())),
    )
}

impl FromRequest<AppState> for ConsoleForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let console = Console::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Client(client) = Client::from_request_parts(&mut parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        if !same_origin(&parts.headers, &public_url(state)) {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "The form came from another site. Nothing was changed.",
            ));
        }
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The form was too large. Nothing was changed.",
                )
            })?;
        let fields = Fields::parse(&bytes);
        let presented = fields.get("csrf").unwrap_or_default();
        if !state
            .core
            .credentials()
            .console_csrf_matches(&console.principal, presented)
        {
            tracing::warn!(admin = %console.admin.id, "a console form without its session's token");
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "The form's security token does not match your session (an old page, or a \
                 form from elsewhere). Nothing was changed. Open the page again and repeat.",
            ));
        }
        Ok(ConsoleForm {
            console,
            fields,
            client,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_all_kept_and_blanks_are_absent() {
        let fields = Fields::parse(b"id=a&id=b&reason=+&csrf=x%2By");
        assert_eq!(fields.all("id"), ["a", "b"]);
        assert_eq!(fields.get("reason"), None);
        assert_eq!(fields.get("csrf"), Some("x+y"));
        assert_eq!(fields.get("missing"), None);
    }
}

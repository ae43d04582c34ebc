//! `/account/tokens`: the account's personal access tokens, made, listed and revoked through the
//! operations of `/api/users/me/tokens`. A new token's secret is shown once, on the answer to the
//! form that made it, and never again.

use askama::Template;
use auth_core::credentials::{NewPersonalAccessToken, PersonalAccessToken, Principal};
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

use super::{DoneQuery, done, notice_of, person, refusal_text, status_of};
use crate::pages::{FormRefused, closing_in, posted_here, public_url, same_origin};
use crate::web::extract::{Client, MaybeCaller, PageQuery};
use crate::web::page::render;
use crate::web::state::AppState;

pub const TOKEN_REVOKED: &str = "The token is revoked.";

/// A service a token may name.
pub struct ServiceChoice {
    pub slug: String,
    pub name: String,
}

/// One token as the page lists it.
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub services: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub state: &'static str,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "account_tokens.html")]
struct TokensPage {
    current: &'static str,
    notice: Option<String>,
    error: Option<String>,
    new_token: Option<String>,
    services: Vec<ServiceChoice>,
    tokens: Vec<TokenRow>,
    form_name: String,
    form_days: u32,
    max_days: u32,
    closing_in: Option<i64>,
}

fn when(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn row(token: PersonalAccessToken, now: jiff::Timestamp) -> TokenRow {
    let (state, active) = match token.revoked_at {
        Some(_) => ("revoked", false),
        None if token.expires_at <= now => ("expired", false),
        None => ("active", true),
    };
    TokenRow {
        id: token.id,
        name: token.name,
        prefix: token.token_prefix,
        services: token.services.join(", "),
        created: when(token.created_at),
        expires: when(token.expires_at),
        last_used: token.last_used_at.map_or_else(|| "never".into(), when),
        state,
        active,
    }
}

/// What the page shows besides its list: a new secret, a notice, an error, the form as typed.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    error: Option<String>,
    new_token: Option<String>,
    form_name: String,
    form_days: Option<u32>,
}

async fn tokens_answer(
    state: &AppState,
    principal: &Principal,
    shown: Shown,
    status: StatusCode,
) -> Response {
    let now = state.core.clock().now();
    let tokens = match state
        .core
        .credentials()
        .list_pats(principal.subject())
        .await
    {
        Ok(page) => page.items.into_iter().map(|t| row(t, now)).collect(),
        Err(_) => Vec::new(),
    };
    let services = state
        .core
        .services()
        .list()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.enabled)
        .map(|s| ServiceChoice {
            slug: s.slug,
            name: s.name,
        })
        .collect();
    let max_days = state.core.config().tokens.pat_max_ttl_days;
    render(
        &TokensPage {
            current: "tokens",
            notice: shown.notice,
            error: shown.error,
            new_token: shown.new_token,
            services,
            tokens,
            form_name: shown.form_name,
            form_days: shown.form_days.unwrap_or(30.min(max_days)),
            max_days,
            closing_in: closing_in(state),
        },
        status,
    )
}

/// `GET /account/tokens`
pub async fn tokens_page(
    State(state): State<AppState>,
    MaybeCaller(signed_in): MaybeCaller,
    PageQuery(query): PageQuery<DoneQuery>,
) -> Response {
    let (_, principal) = match person(&state, signed_in) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let shown = Shown {
        notice: notice_of(query.done),
        ..Shown::default()
    };
    tokens_answer(&state, &principal, shown, StatusCode::OK).await
}

/// The fields of the new-token form. The services are checkboxes of one name, which the plain
/// form reader cannot gather, so the body is read here.
struct NewTokenFields {
    name: String,
    services: Vec<String>,
    days: Result<u32, String>,
}

fn new_token_fields(body: &[u8]) -> Option<NewTokenFields> {
    let mut name = None;
    let mut days = None;
    let mut services = Vec::new();
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "name" => name = Some(value.into_owned()),
            "expires_in_days" => days = Some(value.into_owned()),
            "services" => services.push(value.into_owned()),
            _ => return None,
        }
    }
    let days = days?;
    Some(NewTokenFields {
        name: name?,
        services,
        days: days.trim().parse::<u32>().map_err(|_| days),
    })
}

/// `POST /account/tokens`: makes a token and shows its secret this once.
pub async fn create_token(
    State(state): State<AppState>,
    Client(client): Client,
    MaybeCaller(signed_in): MaybeCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const HEADING: &str = "Cannot create the token";
    if !same_origin(&headers, &public_url(&state)) {
        return FormRefused::FromAnotherSite(HEADING).into_response();
    }
    let Some(fields) = new_token_fields(&body) else {
        return FormRefused::Incomplete(HEADING).into_response();
    };
    let (_, principal) = match person(&state, signed_in) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let refused = |error: String, days: Option<u32>| Shown {
        error: Some(format!("The token was not created. {error}")),
        form_name: fields.name.clone(),
        form_days: days,
        ..Shown::default()
    };
    let days = match fields.days {
        Ok(days) => days,
        Err(typed) => {
            let shown = refused(format!("“{typed}” is not a number of days."), None);
            return tokens_answer(&state, &principal, shown, StatusCode::UNPROCESSABLE_ENTITY)
                .await;
        }
    };
    let new = NewPersonalAccessToken {
        name: fields.name.clone(),
        expires_in_days: days,
        services: fields.services.clone(),
    };
    match state
        .core
        .credentials()
        .create_pat(principal.subject(), new, &client)
        .await
    {
        Ok(token) => {
            let shown = Shown {
                new_token: token.token,
                ..Shown::default()
            };
            tokens_answer(&state, &principal, shown, StatusCode::CREATED).await
        }
        Err(err) => {
            let labels = [
                ("name", "The name"),
                ("expires_in_days", "The number of days"),
                ("services", "The services"),
            ];
            let shown = refused(refusal_text(&err, &labels), Some(days));
            tokens_answer(&state, &principal, shown, status_of(&err)).await
        }
    }
}

#[derive(Deserialize)]
pub struct RevokeFields {
    id: String,
}

/// `POST /account/tokens/revoke`
pub async fn revoke_token(
    State(state): State<AppState>,
    Client(client): Client,
    MaybeCaller(signed_in): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<RevokeFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, form, "Cannot revoke the token") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let (_, principal) = match person(&state, signed_in) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    match state
        .core
        .credentials()
        .revoke_pat(principal.subject(), fields.id.trim(), &client)
        .await
    {
        Ok(()) => done("/account/tokens", TOKEN_REVOKED),
        Err(err) => {
            let text = match err {
                auth_core::Error::NotFound(_) => "There is no such token of yours.".to_string(),
                ref other => other.public_message(),
            };
            let shown = Shown {
                error: Some(text),
                ..Shown::default()
            };
            tokens_answer(&state, &principal, shown, status_of(&err)).await
        }
    }
}

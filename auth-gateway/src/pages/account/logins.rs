//! `/account/logins`: the login history of the account (`GET /api/users/me/logins`'s operation),
//! so a person can spot a login that was not theirs.

use askama::Template;
use auth_core::page::PageRequest;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{person, status_of};
use crate::pages::closing_in;
use crate::web::extract::{MaybeCaller, PageQuery};
use crate::web::page::{message, render};
use crate::web::state::AppState;

const PER_PAGE: u32 = 25;

/// One attempt as the page shows it.
pub struct LoginRow {
    pub at: String,
    pub service: String,
    pub method: &'static str,
    pub result: String,
    pub address: String,
    pub device: String,
}

#[derive(Template)]
#[template(path = "account_logins.html")]
struct LoginsPage {
    current: &'static str,
    notice: Option<String>,
    error: Option<String>,
    logins: Vec<LoginRow>,
    page: u32,
    pages: u32,
    previous: Option<u32>,
    next: Option<u32>,
    closing_in: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginsQuery {
    page: Option<u32>,
}

fn method_text(method: &str) -> &'static str {
    match method {
        "qr" => "QR code and PIN",
        "password" => "Password",
        "pat" => "Personal access token",
        _ => "Other",
    }
}

/// `GET /account/logins?page=N`
pub async fn logins_page(
    State(state): State<AppState>,
    MaybeCaller(signed_in): MaybeCaller,
    PageQuery(query): PageQuery<LoginsQuery>,
) -> Response {
    let (user, _) = match person(&state, signed_in) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let request = PageRequest {
        page: query.page.unwrap_or(1),
        per_page: PER_PAGE,
    };
    let found = match state.core.login_history().list_own(user.id, request).await {
        Ok(found) => found,
        Err(err) => {
            return message(
                status_of(&err),
                "Cannot show your logins",
                &err.public_message(),
                Some(("/account/logins".into(), "The newest logins".into())),
            );
        }
    };
    let services = state.core.services().list().await.unwrap_or_default();
    let pages = u32::try_from((found.total + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE))
        .unwrap_or(u32::MAX)
        .max(1);
    let logins = found
        .items
        .into_iter()
        .map(|row| LoginRow {
            at: row.at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
            service: match row.service {
                Some(slug) => services
                    .iter()
                    .find(|s| s.slug == slug)
                    .map_or(slug, |s| s.name.clone()),
                None => "Your account (password sign-in)".into(),
            },
            method: method_text(&row.method),
            result: match (row.success, row.failure_reason) {
                (true, _) => "Signed in".into(),
                (false, Some(reason)) => format!("Refused ({reason})"),
                (false, None) => "Refused".into(),
            },
            address: row.client_ip.unwrap_or_else(|| "unknown".into()),
            device: row.user_agent.unwrap_or_else(|| "unknown".into()),
        })
        .collect();
    render(
        &LoginsPage {
            current: "logins",
            notice: None,
            error: None,
            logins,
            page: found.page,
            pages,
            previous: (found.page > 1).then(|| found.page - 1),
            next: (found.page < pages).then(|| found.page + 1),
            closing_in: closing_in(&state),
        },
        StatusCode::OK,
    )
}

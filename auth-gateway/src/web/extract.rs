//! Extractors that turn a request into what handlers need, refusing bad input with the envelope:
//! a JSON body (422 naming the field, 400 for malformed JSON), query strings and path ids, the
//! client, and the caller's credentials (401 without, 403 with the wrong kind).

use auth_core::credentials::{AdminRead, AdminWrite, Place, PlaceKind, Principal};
use auth_core::{Error, RequestContext};
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::client::ClientInfo;
use super::cookies::{Jar, Owned};
use super::envelope::ApiError;
use super::refusal::Refusal;
use super::state::AppState;
use super::{credential, policy};

/// A JSON body, deserialised strictly.
pub struct JsonBody<T>(pub T);

/// The field serde's `message` is about, else the path it failed at, else the whole body.
fn field_of(message: &str, path: &str) -> String {
    if let Some(rest) = message.split_once("missing field `").map(|(_, r)| r)
        && let Some((name, _)) = rest.split_once('`')
        && !name.is_empty()
    {
        return name.to_string();
    }
    // A client chose this name, so it may hold backticks itself: it ends where serde's own text
    // after it begins, not at its first backtick.
    if let Some(rest) = message.split_once("unknown field `").map(|(_, r)| r) {
        let end = ["`, expected", "`, there are no fields"]
            .iter()
            .find_map(|tail| rest.rfind(tail))
            .or_else(|| rest.rfind('`'));
        if let Some(name) = end.map(|end| &rest[..end])
            && !name.is_empty()
        {
            return name.to_string();
        }
    }
    if path.is_empty() || path == "." {
        "body".to_string()
    } else {
        path.to_string()
    }
}

/// Writes every number with no fractional part (`80.0`, `1e2`) as the integer it is. JSON has
/// one number type and JSON Schema counts such a number as an `integer`, so an integer field
/// takes it as clients and the document mean it; serde alone would refuse it as a float.
fn whole_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    // 2^64 and -2^63, the first values past the integer types, exactly representable as f64.
    const PAST_U64: f64 = 18_446_744_073_709_551_616.0;
    const MIN_I64: f64 = -9_223_372_036_854_775_808.0;
    match value {
        Value::Number(number) if number.is_f64() => {
            let Some(float) = number.as_f64().filter(|f| f.fract() == 0.0) else {
                return;
            };
            if (0.0..PAST_U64).contains(&float) {
                *value = Value::from(float as u64);
            } else if (MIN_I64..0.0).contains(&float) {
                *value = Value::from(float as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// Deserialises `value` into `T`, naming the field at fault. A number with no fractional part
/// counts as an integer. Every body of the API is an object: an array is refused, although serde
/// would read a struct from one by position.
pub fn from_json_value<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, Error> {
    if value.is_array() {
        return Err(Error::invalid(
            "body",
            "must be a JSON object, not an array",
        ));
    }
    whole_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = field_of(&message, &path);
        let message = message
            .split(" at line")
            .next()
            .unwrap_or(&message)
            .to_string();
        Error::invalid(field, message)
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(Refusal::BadRequest(
                "the body must be JSON (Content-Type: application/json)".into(),
            )
            .into());
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| Refusal::BadRequest("the body could not be read".into()))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|err| Refusal::BadRequest(format!("the body is not valid JSON: {err}")))?;
        Ok(JsonBody(from_json_value(value)?))
    }
}

/// A JSON body that may be left out entirely (then `T::default()`).
pub struct OptionalJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let empty = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.trim() == "0")
            && !request.headers().contains_key(header::TRANSFER_ENCODING);
        if empty {
            return Ok(OptionalJsonBody(T::default()));
        }
        let JsonBody(value) = JsonBody::from_request(request, state).await?;
        Ok(OptionalJsonBody(value))
    }
}

/// Query-string parameters, deserialised strictly.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts)
            .map(QueryParams)
            .map_err(|(field, message)| ApiError(Error::invalid(field, message).into()))
    }
}

/// The query string as `T`, or the field at fault and what is wrong with it.
fn parse_query<T: DeserializeOwned>(parts: &Parts) -> Result<T, (String, String)> {
    let query = parts.uri.query().unwrap_or("");
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        (field_of(&message, &path), message)
    })
}

/// The query string of a page, read as strictly as [`QueryParams`]; a bad one answers 400 with
/// a page naming the parameter, as a browser expects, not the API's JSON envelope.
pub struct PageQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for PageQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        parse_query(parts)
            .map(PageQuery)
            .map_err(|(field, message)| {
                crate::web::page::message(
                    StatusCode::BAD_REQUEST,
                    "This address is not right",
                    &format!("The address has a bad `{field}`: {message}."),
                    None,
                )
            })
    }
}

/// Parses the path parameter of a route with one parameter (an id).
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: std::str::FromStr> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| Error::invalid("id", "missing id in the path"))?;
        raw.parse().map(PathId).map_err(|_| {
            ApiError(Error::invalid("id", format!("`{raw}` is not a valid id")).into())
        })
    }
}

/// The client as auth-core records it.
pub struct Client(pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<ClientInfo>().cloned();
        Ok(Client(RequestContext {
            client_ip: info.as_ref().and_then(|i| i.ip),
            user_agent: info.and_then(|i| i.user_agent),
        }))
    }
}

/// Whether the request came over TLS (cookies are then Secure).
pub struct Secure(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for Secure {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Secure(
            parts.extensions.get::<ClientInfo>().is_some_and(|i| i.tls),
        ))
    }
}

/// The bearer credential of a request: `Authorization: Bearer …`, else the access cookie. A
/// request with two access cookies is refused.
pub fn bearer(headers: &HeaderMap, tls: bool) -> Result<Option<String>, Refusal> {
    credential::presented(headers, &Jar::new(tls), Owned::Access)
        .map_err(|dup| Refusal::BadRequest(dup.to_string()))
}

/// The kind of place the matched route is, by its entry in the route policy table: where a
/// credential presented to it must be accepted. A route without one refuses every credential.
pub fn route_place(parts: &Parts) -> Result<Place<'static>, Error> {
    let pattern = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str())
        .ok_or_else(|| Error::internal("a credential on a route that did not match"))?;
    let rule = policy::by_pattern(&parts.method, pattern)
        .ok_or_else(|| Error::internal(format!("{pattern} has no route policy")))?;
    let place = match rule.caller.place() {
        Some(PlaceKind::AccountApi) => Place::AccountApi,
        Some(PlaceKind::AccountRead) => Place::AccountRead,
        Some(PlaceKind::PhoneScan) => Place::PhoneScan,
        Some(PlaceKind::OwnSession) => Place::OwnSession,
        Some(PlaceKind::Introspection) => Place::Introspection,
        Some(PlaceKind::AdminApi) => Place::AdminApi,
        Some(PlaceKind::AdminConsole) => Place::AdminConsole,
        Some(PlaceKind::QrService) => Place::QrService,
        Some(PlaceKind::TokenRefresh) => Place::TokenRefresh,
        Some(PlaceKind::Service | PlaceKind::HandoffCallback) | None => {
            return Err(Error::internal(format!(
                "{pattern} takes no credential by its route policy"
            )));
        }
    };
    Ok(place)
}

/// A caller whose credential checked out at the place the route's policy names.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let place = route_place(parts)?;
        let Secure(tls) = Secure::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        let token = bearer(&parts.headers, tls)?.ok_or(Error::Unauthenticated)?;
        let Client(context) = Client::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        let principal = state
            .core
            .credentials()
            .authenticate(&token, place, &context)
            .await?;
        Ok(Caller(principal))
    }
}

/// A caller who presented a credential accepted at the route, if any: for pages, which show a
/// sign-in form instead of refusing.
pub struct MaybeCaller(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeCaller(
            Caller::from_request_parts(parts, state)
                .await
                .ok()
                .map(|Caller(principal)| principal),
        ))
    }
}

/// A service, by its `X-API-Key`, at a route whose policy takes one.
pub struct ServiceCaller(pub auth_core::services::Service);

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let place = route_place(parts)?;
        let key = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .ok_or(Error::Unauthenticated)?;
        Ok(ServiceCaller(
            state.core.services().authenticate(key, place).await?,
        ))
    }
}

/// An admin of any role (read-only routes).
pub struct AdminReader(pub AdminRead);

impl FromRequestParts<AppState> for AdminReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        Ok(AdminReader(principal.admin_read()?))
    }
}

/// An admin allowed to change things (role `admin`).
pub struct AdminWriter(pub AdminWrite);

impl FromRequestParts<AppState> for AdminWriter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        Ok(AdminWriter(principal.admin_write()?))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[allow(dead_code)] // only its name matters here
        login: String,
    }

    fn refused_field(value: serde_json::Value) -> String {
        match from_json_value::<Body>(value) {
            Err(Error::Validation(fields)) => fields[0].field.clone(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn a_body_that_is_an_array_is_refused_though_serde_reads_structs_from_them() {
        assert_eq!(refused_field(serde_json::json!(["a"])), "body");
    }

    #[test]
    fn a_refused_body_names_the_field_at_fault() {
        assert_eq!(refused_field(serde_json::json!({})), "login");
        assert_eq!(
            refused_field(serde_json::json!({"login": "a", "extra": 1})),
            "extra"
        );
        assert_eq!(refused_field(serde_json::json!({"login": 5})), "login");
    }

    #[test]
    fn an_unknown_field_with_backticks_in_its_name_is_still_named() {
        // Found by the json_body fuzz target: the name was cut at its own first backtick.
        assert_eq!(
            refused_field(serde_json::json!({"login": "a", "`{": 1})),
            "`{"
        );
        assert_eq!(
            refused_field(serde_json::json!({"login": "a", "a`, b": 1})),
            "a`, b"
        );
        // An empty name cannot be shown as itself; the error still names something.
        assert_eq!(
            refused_field(serde_json::json!({"login": "a", "": 1})),
            "body"
        );
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Days {
        days: u32,
        offsets: Vec<i64>,
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_is_an_integer() {
        let days: Days = from_json_value(json!({ "days": 80.0, "offsets": [-3.0, 1e2] })).unwrap();
        assert_eq!(
            days,
            Days {
                days: 80,
                offsets: vec![-3, 100]
            }
        );
    }

    #[test]
    fn a_fraction_or_an_integer_out_of_range_is_still_refused() {
        for days in [json!(80.5), json!(1e20), json!(-1.0)] {
            let refused = from_json_value::<Days>(json!({ "days": days, "offsets": [] }));
            let Err(Error::Validation(fields)) = refused else {
                panic!("{days} accepted");
            };
            assert_eq!(fields[0].field, "days", "{days}");
        }
    }
}

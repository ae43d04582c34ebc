//! One call to the gateway's API: the request, the envelope of its answer, and when a failed
//! attempt is tried again.
//!
//! Only what cannot log anyone in twice is retried: a `GET` (it changes nothing) after any
//! failure to get an answer or a 502/503/504; a `POST` that may be repeated only when the
//! connection failed before the request was sent; a PIN never (a PIN sent twice is two tries of
//! five, and the first may have logged the person in).

use std::time::Duration;

use http::{HeaderValue, header};
use reqwest::{RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ClientError;

/// When an attempt that failed is made again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// A read: after a transport failure or a 502/503/504.
    Idempotent,
    /// Only when the connection failed, so the gateway never saw the request.
    BeforeSent,
    /// Never.
    Never,
}

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The HTTP side of the client.
#[derive(Clone)]
pub(crate) struct Transport {
    pub(crate) base: reqwest::Url,
    pub(crate) api_key: HeaderValue,
    pub(crate) http: reqwest::Client,
    pub(crate) retries: u32,
    pub(crate) backoff: Duration,
}

/// What one attempt came to.
enum Attempt<T> {
    Done(Result<T, ClientError>),
    /// Failed in a way `Retry` may allow trying again: `sent` says whether the gateway may have
    /// seen the request.
    Failed {
        error: ClientError,
        sent: bool,
    },
}

impl Transport {
    /// `base` with `segments` appended (each percent-encoded, so a `/` in a token stays inside
    /// its segment).
    pub(crate) fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends the request `build` makes (again on each attempt), with the service's API key
    /// unless `with_key` is false, and returns the envelope's `data`.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
        with_key: bool,
        retry: Retry,
    ) -> Result<T, ClientError> {
        let mut attempt = 0;
        loop {
            let mut request = build(&self.http).header(header::ACCEPT, "application/json");
            if with_key {
                request = request.header("x-api-key", self.api_key.clone());
            }
            let error = match self.attempt(request).await {
                Attempt::Done(result) => return result,
                Attempt::Failed { error, sent } => {
                    let again = match retry {
                        Retry::Idempotent => true,
                        Retry::BeforeSent => !sent,
                        Retry::Never => false,
                    };
                    if !again || attempt >= self.retries {
                        return Err(error);
                    }
                    error
                }
            };
            let pause = self
                .backoff
                .saturating_mul(1 << attempt.min(16))
                .min(MAX_BACKOFF);
            tracing::debug!(
                attempt,
                code = error.code(),
                ?pause,
                "retrying a call to the gateway"
            );
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    async fn attempt<T: DeserializeOwned>(&self, request: RequestBuilder) -> Attempt<T> {
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                return Attempt::Failed {
                    // A connection that could not be made carried nothing; anything later may
                    // have reached the gateway.
                    sent: !err.is_connect(),
                    error: ClientError::Transport(describe(&err)),
                };
            }
        };
        let status = response.status();
        let retry_after = retry_after(&response);
        let body = match read(response).await {
            Ok(body) => body,
            Err(error) => return Attempt::Failed { error, sent: true },
        };
        if status.is_success() {
            return Attempt::Done(data(body));
        }
        let error = match body.as_ref().map(|b| &b["error"]) {
            Some(error) if error.is_object() => {
                ClientError::from_refusal(status.as_u16(), error, retry_after)
            }
            _ if matches!(status.as_u16(), 502..=504) => ClientError::Unavailable { retry_after },
            _ => ClientError::UnexpectedAnswer(format!("{status} without the error envelope")),
        };
        if matches!(error, ClientError::Unavailable { .. }) {
            Attempt::Failed { error, sent: true }
        } else {
            Attempt::Done(Err(error))
        }
    }
}

/// The body as JSON; `None` when it is empty or not JSON (only acceptable for a refusal).
async fn read(response: Response) -> Result<Option<Value>, ClientError> {
    let bytes = response
        .bytes()
        .await
        .map_err(|err| ClientError::Transport(describe(&err)))?;
    Ok(serde_json::from_slice(&bytes).ok())
}

fn data<T: DeserializeOwned>(body: Option<Value>) -> Result<T, ClientError> {
    let Some(mut body) = body else {
        return Err(ClientError::UnexpectedAnswer(
            "the answer is not JSON".into(),
        ));
    };
    if body["success"] != Value::Bool(true) {
        return Err(ClientError::UnexpectedAnswer(
            "a success without `\"success\": true`".into(),
        ));
    }
    serde_json::from_value(body["data"].take())
        .map_err(|err| ClientError::UnexpectedAnswer(format!("`data`: {err}")))
}

fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// The error without the URL (which may carry a token in its path).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    match std::error::Error::source(err) {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_string(),
    }
}

//! Session liveness: asking the gateway whether a token's session is still live, so a logout or
//! revocation takes effect within seconds instead of at the token's expiry.
//!
//! `GET <gateway>/api/auth/sessions/<sid>` with the service's `X-API-Key` answers
//! `{"success":true,"data":{"live":true|false}}`. Answers are cached for a short time. When the
//! gateway cannot answer, the token is refused ([`Error::SessionCheckFailed`]): a service that asks
//! for this check wants revocation enforced, so it fails closed.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::HeaderValue;
use serde::Deserialize;

use crate::clock::Clock;
use crate::error::Error;
use crate::identity::SessionId;

/// Default time a liveness answer is reused.
pub const DEFAULT_SESSION_CACHE_TTL: Duration = Duration::from_secs(2);

/// Past this many cached answers, expired ones are dropped (and all, if none had expired).
const MAX_CACHED_SESSIONS: usize = 10_000;

/// The header that carries the service's API key.
const API_KEY_HEADER: &str = "x-api-key";

/// Settings for the session-liveness check: the gateway's base URL, this service's API key, and
/// how long an answer is reused (default 2 s).
///
/// ```
/// use std::time::Duration;
/// use auth_sdk::SessionCheck;
///
/// let check = SessionCheck::new("https://auth.example.com", "svc_key_from_the_gateway")
///     .cache_ttl(Duration::from_secs(5));
/// // The key never shows in logs.
/// assert!(!format!("{check:?}").contains("svc_key"));
/// ```
#[derive(Clone)]
pub struct SessionCheck {
    pub(crate) gateway: String,
    pub(crate) api_key: String,
    pub(crate) cache_ttl: Duration,
}

impl SessionCheck {
    /// Checks sessions at `gateway` (such as `https://auth.example.com`) with `api_key`, the key
    /// the gateway issued to this service.
    pub fn new(gateway: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            gateway: gateway.into(),
            api_key: api_key.into(),
            cache_ttl: DEFAULT_SESSION_CACHE_TTL,
        }
    }

    /// Reuses each answer for `ttl`; a session ended within that time is still accepted.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }
}

impl fmt::Debug for SessionCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCheck")
            .field("gateway", &self.gateway)
            .field("api_key", &"[redacted]")
            .field("cache_ttl", &self.cache_ttl)
            .finish()
    }
}

#[derive(Deserialize)]
struct Answer {
    success: bool,
    data: Option<Liveness>,
}

#[derive(Deserialize)]
struct Liveness {
    live: bool,
}

/// The running check: a client, the cache, and the validated settings.
pub(crate) struct SessionChecker {
    base: reqwest::Url,
    api_key: HeaderValue,
    ttl: Duration,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    answers: Mutex<HashMap<SessionId, (bool, SystemTime)>>,
}

impl SessionChecker {
    /// Validates `check`; names the setting that is wrong.
    pub(crate) fn new(
        check: SessionCheck,
        client: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        let base = reqwest::Url::parse(&check.gateway)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && !url.cannot_be_a_base())
            .ok_or_else(|| {
                Error::Config(format!(
                    "session check: gateway URL `{}` is not an http(s) URL",
                    check.gateway
                ))
            })?;
        let mut api_key = HeaderValue::from_str(&check.api_key)
            .ok()
            .filter(|_| !check.api_key.is_empty())
            .ok_or_else(|| {
                Error::Config("session check: the API key is empty or not a header value".into())
            })?;
        api_key.set_sensitive(true);
        Ok(Self {
            base,
            api_key,
            ttl: check.cache_ttl,
            client,
            clock,
            answers: Mutex::new(HashMap::new()),
        })
    }

    /// Ok if the gateway says session `sid` is live (or said so within the cache TTL).
    pub(crate) async fn ensure_live(&self, sid: SessionId) -> Result<(), Error> {
        let live = match self.cached(sid) {
            Some(live) => live,
            None => {
                let live = self.ask(sid).await?;
                self.remember(sid, live);
                live
            }
        };
        if live {
            Ok(())
        } else {
            Err(Error::SessionEnded)
        }
    }

    fn cached(&self, sid: SessionId) -> Option<bool> {
        let now = self.clock.now();
        let answers = self
            .answers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (live, at) = answers.get(&sid)?;
        let fresh = now.duration_since(*at).is_ok_and(|age| age < self.ttl);
        fresh.then_some(*live)
    }

    fn remember(&self, sid: SessionId, live: bool) {
        let now = self.clock.now();
        let mut answers = self
            .answers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if answers.len() >= MAX_CACHED_SESSIONS {
            answers.retain(|_, (_, at)| now.duration_since(*at).is_ok_and(|age| age < self.ttl));
            if answers.len() >= MAX_CACHED_SESSIONS {
                answers.clear();
            }
        }
        answers.insert(sid, (live, now));
    }

    async fn ask(&self, sid: SessionId) -> Result<bool, Error> {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["api", "auth", "sessions", &sid.to_string()]);
        }
        let response = self
            .client
            .get(url)
            .header(API_KEY_HEADER, self.api_key.clone())
            .send()
            .await
            .map_err(|err| Error::SessionCheckFailed(format!("request failed: {err}")))?;
        let status = response.status();
        if status == http::StatusCode::UNAUTHORIZED {
            return Err(Error::SessionCheckFailed(
                "the gateway refused the service's API key".into(),
            ));
        }
        if !status.is_success() {
            return Err(Error::SessionCheckFailed(format!(
                "the gateway answered {status}"
            )));
        }
        let answer: Answer = response
            .json()
            .await
            .map_err(|err| Error::SessionCheckFailed(format!("unreadable answer: {err}")))?;
        match answer {
            Answer {
                success: true,
                data: Some(Liveness { live }),
            } => Ok(live),
            _ => Err(Error::SessionCheckFailed(
                "the answer has no `live` field".into(),
            )),
        }
    }
}

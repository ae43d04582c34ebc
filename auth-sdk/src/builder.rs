//! [`VerifierBuilder`]: the verifier's settings, their defaults, and the one place they are
//! checked.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::claims::Policy;
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::identity::TokenKind;
use crate::key_cache::{KeyCache, KeySource};
use crate::session_check::{SessionCheck, SessionChecker};
use crate::verifier::{Inner, Verifier};

/// Default tolerance for clock skew between the gateway and the service.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(10);
/// Default minimum time between two JWKS fetches.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5);
/// Default age after which the cached key set is refreshed in passing.
pub const DEFAULT_MAX_KEY_AGE: Duration = Duration::from_secs(300);
/// Default timeout of each request to the gateway (JWKS, session check).
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings for a [`Verifier`]; start with [`Verifier::builder`].
///
/// ```
/// use std::time::Duration;
/// use auth_sdk::{SessionCheck, TokenKind, Verifier};
///
/// let verifier = Verifier::builder(
///     "https://auth.example.com/.well-known/jwks.json",
///     "auth-gateway",
///     "service-b",
/// )
/// .leeway(Duration::from_secs(5))
/// .accept([TokenKind::Assertion])
/// .refresh_interval(Duration::from_secs(10))
/// .session_check(SessionCheck::new("https://auth.example.com", "the-service-api-key"))
/// .build()
/// .expect("valid settings");
/// assert_eq!(verifier.audience(), "service-b");
///
/// // Settings are checked once, here.
/// let wrong = Verifier::builder("not a url", "auth-gateway", "service-b").build();
/// assert_eq!(wrong.unwrap_err().code(), "INVALID_CONFIG");
/// ```
pub struct VerifierBuilder {
    jwks_url: String,
    issuer: String,
    audience: String,
    leeway: Duration,
    kinds: Vec<TokenKind>,
    clock: Arc<dyn Clock>,
    refresh_interval: Duration,
    max_key_age: Duration,
    session_check: Option<SessionCheck>,
    http_client: Option<reqwest::Client>,
}

impl VerifierBuilder {
    pub(crate) fn new(jwks_url: String, issuer: String, audience: String) -> Self {
        Self {
            jwks_url,
            issuer,
            audience,
            leeway: DEFAULT_LEEWAY,
            kinds: vec![TokenKind::Assertion, TokenKind::Session],
            clock: Arc::new(SystemClock),
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            max_key_age: DEFAULT_MAX_KEY_AGE,
            session_check: None,
            http_client: None,
        }
    }

    /// Tolerates this much clock skew on `exp` and `nbf` (default 10 s; whole seconds count).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Accepts only these kinds of token (default: assertion and session). Any other `typ` is
    /// refused, so an access token for the gateway's API is never taken for a service's.
    pub fn accept(mut self, kinds: impl IntoIterator<Item = TokenKind>) -> Self {
        self.kinds = kinds.into_iter().collect();
        self
    }

    /// Reads the time from `clock` (default: the system clock). Tests pass a closure.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Fetches the JWKS at most once per `interval` when tokens name unknown keys (default 5 s).
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Refreshes a key set older than `age` in passing (default 5 min), so a key the gateway
    /// withdrew stops verifying even when no unknown `kid` comes along. If that refresh fails,
    /// the cached keys stay in use.
    pub fn max_key_age(mut self, age: Duration) -> Self {
        self.max_key_age = age;
        self
    }

    /// Asks the gateway whether each token's session is still live (cached briefly); tokens
    /// of ended sessions are refused with `SESSION_ENDED`. Off by default. Tokens without a
    /// `sid` (those from personal access tokens) are not checked.
    pub fn session_check(mut self, check: SessionCheck) -> Self {
        self.session_check = Some(check);
        self
    }

    /// Uses `client` for requests to the gateway (default: a client with a 5 s timeout).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Checks the settings and builds the verifier. Fetches nothing: the keys are fetched on
    /// first use (or by [`Verifier::refresh_keys`]).
    ///
    /// Refuses (`INVALID_CONFIG`, naming the setting): a JWKS or gateway URL that is not
    /// http(s), an empty issuer or audience, no accepted kind, an API key that cannot be a header.
    pub fn build(self) -> Result<Verifier, Error> {
        let url = reqwest::Url::parse(&self.jwks_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| {
                Error::Config(format!(
                    "jwks_url `{}` is not an http(s) URL",
                    self.jwks_url
                ))
            })?;
        if self.issuer.is_empty() {
            return Err(Error::Config("issuer is empty".into()));
        }
        if self.audience.is_empty() {
            return Err(Error::Config("audience is empty".into()));
        }
        if self.kinds.is_empty() {
            return Err(Error::Config("no token kind is accepted".into()));
        }
        let leeway_secs = i64::try_from(self.leeway.as_secs())
            .map_err(|_| Error::Config("leeway is too large".into()))?;
        let client = match self.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(DEFAULT_HTTP_TIMEOUT)
                .build()
                .map_err(|err| Error::Config(format!("HTTP client: {err}")))?,
        };
        let sessions = self
            .session_check
            .map(|check| SessionChecker::new(check, client.clone(), self.clock.clone()))
            .transpose()?;
        let source = KeySource {
            url,
            client,
            min_interval: self.refresh_interval,
            max_age: self.max_key_age,
        };
        Ok(Verifier::from_inner(Inner {
            policy: Policy {
                issuer: self.issuer,
                audience: self.audience,
                leeway_secs,
                kinds: self.kinds,
            },
            keys: KeyCache::new(source, self.clock.clone()),
            sessions,
            clock: self.clock,
        }))
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("jwks_url", &self.jwks_url)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("kinds", &self.kinds)
            .field("refresh_interval", &self.refresh_interval)
            .field("max_key_age", &self.max_key_age)
            .field("session_check", &self.session_check)
            .finish_non_exhaustive()
    }
}

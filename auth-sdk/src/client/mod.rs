//! [`ServiceClient`]: a service's own QR + PIN login through the gateway's API, for a service that
//! shows its own login page instead of sending browsers to the gateway's.
//!
//! The calls, with the service's API key: [`start_login`](ServiceClient::start_login) (`POST
//! /api/auth/qr/generate`), [`status`](ServiceClient::status) (`GET /api/auth/qr/{token}/status`),
//! [`verify_pin`](ServiceClient::verify_pin) (`POST /api/auth/pin/verify`); with a person's session
//! token: [`session`](ServiceClient::session) (`GET /api/auth/session`) and
//! [`logout`](ServiceClient::logout) (`POST /api/auth/logout`).

mod error;
mod transport;
mod types;

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use http::HeaderValue;
use serde::Deserialize;

pub use error::{ClientError, FieldProblem};
pub use types::{Challenge, ChallengeStatus, Login, Person, QrToken, SessionInfo, SessionToken};

use transport::{Retry, Transport};
use types::{ChallengeWire, EndUser, LoginWire, SessionWire, StatusWire};

/// Default limit on each call, from connecting to the end of the answer.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit on making the connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default number of further attempts of a call that may be retried.
pub const DEFAULT_RETRIES: u32 = 2;
/// Default pause before the first retry; it doubles with each further one.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(200);

/// The gateway's QR + PIN login, called from a service's own server with its API key.
///
/// Cheap to clone: clones share one connection pool. Build one at startup.
///
/// ```no_run
/// use auth_sdk::{ChallengeStatus, ClientError, ServiceClient};
///
/// # async fn login_page(pin_from_the_form: &str) -> Result<(), ClientError> {
/// let client = ServiceClient::new("https://auth.example.com", "svc_the_service_api_key")?;
///
/// // The page: show the QR code, keep the token for the PIN form.
/// let challenge = client
///     .start_login(Some("203.0.113.7".parse().unwrap()), Some("Mozilla/5.0 …"))
///     .await?;
/// println!("{}", challenge.qr_svg);
///
/// // Later, while the page waits: has the phone scanned it?
/// if client.status(&challenge.token).await? == ChallengeStatus::Scanned {
///     // The person types the PIN their phone shows.
///     match client.verify_pin(&challenge.token, pin_from_the_form).await {
///         Ok(login) => println!("hello {}", login.person.full_name),
///         Err(ClientError::WrongPin { attempts_left }) => println!("{attempts_left} tries left"),
///         Err(err) if err.needs_new_challenge() => println!("{err}: show a new code"),
///         Err(err) => return Err(err),
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ServiceClient {
    transport: Transport,
}

impl ServiceClient {
    /// A client for the gateway at `gateway_url` (such as `https://auth.example.com`) calling as
    /// the service whose API key is `api_key`, with the default timeouts and retries.
    ///
    /// Refuses (`INVALID_CONFIG`): a URL that is not http(s), an empty key or one that cannot be
    /// a header value.
    pub fn new(
        gateway_url: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Result<Self, ClientError> {
        Self::builder(gateway_url, api_key).build()
    }

    /// Starts building a client with other timeouts, retries or HTTP client.
    pub fn builder(
        gateway_url: impl Into<String>,
        api_key: impl Into<String>,
    ) -> ServiceClientBuilder {
        ServiceClientBuilder {
            gateway_url: gateway_url.into(),
            api_key: api_key.into(),
            timeout: DEFAULT_CALL_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            backoff: DEFAULT_RETRY_BACKOFF,
            http_client: None,
        }
    }

    /// Starts a QR login: a new challenge to show. `client_ip` and `user_agent` are the browser's
    /// as this service's server saw them; the phone shows them as "requested from" (without
    /// them, the gateway shows where this call came from).
    ///
    /// Refused with [`ClientError::Closed`] outside operating hours,
    /// [`ClientError::RateLimited`], [`ClientError::BadApiKey`] or [`ClientError::Forbidden`]
    /// (the service is disabled). Retried only when the connection could not be made.
    pub async fn start_login(
        &self,
        client_ip: Option<IpAddr>,
        user_agent: Option<&str>,
    ) -> Result<Challenge, ClientError> {
        let body = EndUser {
            ip: client_ip,
            user_agent,
        }
        .body();
        let url = self.transport.url(&["api", "auth", "qr", "generate"]);
        let wire: ChallengeWire = self
            .transport
            .call(
                |http| {
                    let request = http.post(url.clone());
                    match &body {
                        Some(body) => request.json(body),
                        None => request,
                    }
                },
                true,
                Retry::BeforeSent,
            )
            .await?;
        Ok(wire.into_challenge(SystemTime::now()))
    }

    /// Where the challenge stands: pending, scanned (ask for the PIN), used or expired.
    ///
    /// Refused with [`ClientError::ChallengeNotFound`] for an unknown token or another
    /// service's. A read: retried after transport failures and 502/503/504.
    pub async fn status(&self, token: &QrToken) -> Result<ChallengeStatus, ClientError> {
        let url = self
            .transport
            .url(&["api", "auth", "qr", token.as_str(), "status"]);
        let wire: StatusWire = self
            .transport
            .call(|http| http.get(url.clone()), true, Retry::Idempotent)
            .await?;
        Ok(wire.status)
    }

    /// Checks the PIN the person typed; on success, their session at this service and who they
    /// are.
    ///
    /// Refused with [`ClientError::WrongPin`] (and the tries left), then
    /// [`ClientError::ChallengeDead`] after too many; [`ClientError::NotScanned`],
    /// [`ClientError::ChallengeExpired`], [`ClientError::PinExpired`],
    /// [`ClientError::AlreadyUsed`], [`ClientError::ChallengeNotFound`],
    /// [`ClientError::AccountLocked`], [`ClientError::AccountUnusable`],
    /// [`ClientError::Invalid`] (not six digits), [`ClientError::Closed`],
    /// [`ClientError::RateLimited`]. Never retried: each attempt counts as a try.
    pub async fn verify_pin(&self, token: &QrToken, pin: &str) -> Result<Login, ClientError> {
        let url = self.transport.url(&["api", "auth", "pin", "verify"]);
        let body = serde_json::json!({ "qr_token": token.as_str(), "pin": pin });
        let wire: LoginWire = self
            .transport
            .call(
                |http| http.post(url.clone()).json(&body),
                true,
                Retry::Never,
            )
            .await?;
        Ok(wire.into_login(SystemTime::now()))
    }

    /// The live session `session_token` belongs to, and whose it is.
    ///
    /// Refused with [`ClientError::InvalidSession`] once it has ended (logout, revocation,
    /// expiry, closing time) or for a token that is not a session token. A read: retried after
    /// transport failures and 502/503/504.
    pub async fn session(&self, session_token: &SessionToken) -> Result<SessionInfo, ClientError> {
        let url = self.transport.url(&["api", "auth", "session"]);
        let wire: SessionWire = self
            .transport
            .call(
                |http| http.get(url.clone()).bearer_auth(session_token.as_str()),
                false,
                Retry::Idempotent,
            )
            .await?;
        wire.into_info()
    }

    /// Ends the session `session_token` belongs to, at the gateway: the token stops verifying
    /// wherever liveness is checked.
    ///
    /// Refused with [`ClientError::InvalidSession`] when it had already ended. Retried only when
    /// the connection could not be made.
    pub async fn logout(&self, session_token: &SessionToken) -> Result<(), ClientError> {
        #[derive(Deserialize)]
        struct LoggedOut {
            #[allow(dead_code)]
            logged_out: bool,
        }
        let url = self.transport.url(&["api", "auth", "logout"]);
        let _: LoggedOut = self
            .transport
            .call(
                |http| http.post(url.clone()).bearer_auth(session_token.as_str()),
                false,
                Retry::BeforeSent,
            )
            .await?;
        Ok(())
    }

    /// The gateway's base URL.
    pub fn gateway_url(&self) -> &str {
        self.transport.base.as_str()
    }
}

impl fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceClient")
            .field("gateway", &self.transport.base.as_str())
            .field("api_key", &"[redacted]")
            .field("retries", &self.transport.retries)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`ServiceClient`]; start with [`ServiceClient::builder`].
///
/// ```
/// use std::time::Duration;
/// use auth_sdk::ServiceClient;
///
/// let client = ServiceClient::builder("https://auth.example.com", "svc_key")
///     .timeout(Duration::from_secs(4))
///     .connect_timeout(Duration::from_secs(1))
///     .retries(1)
///     .build()
///     .expect("valid settings");
/// // The key never shows in logs.
/// assert!(!format!("{client:?}").contains("svc_key"));
///
/// let wrong = ServiceClient::builder("ftp://auth.example.com", "svc_key").build();
/// assert_eq!(wrong.unwrap_err().code(), "INVALID_CONFIG");
/// ```
pub struct ServiceClientBuilder {
    gateway_url: String,
    api_key: String,
    timeout: Duration,
    connect_timeout: Duration,
    retries: u32,
    backoff: Duration,
    http_client: Option<reqwest::Client>,
}

impl ServiceClientBuilder {
    /// Gives up on a call after `timeout`, from connecting to the end of the answer (default
    /// 10 s). Each attempt has its own.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Gives up on connecting after `timeout` (default 3 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Makes at most `retries` further attempts of a call that may be retried (default 2; 0
    /// turns retries off).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Waits `backoff` before the first retry, twice that before the second, and so on, up to
    /// 5 s (default 200 ms).
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Uses `client` for the calls, with its own timeouts (those set here are then ignored).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Checks the settings and builds the client; calls nothing.
    pub fn build(self) -> Result<ServiceClient, ClientError> {
        let base = reqwest::Url::parse(&self.gateway_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && !url.cannot_be_a_base())
            .ok_or_else(|| {
                ClientError::Config(format!(
                    "gateway URL `{}` is not an http(s) URL",
                    self.gateway_url
                ))
            })?;
        let mut api_key = HeaderValue::from_str(self.api_key.trim())
            .ok()
            .filter(|_| !self.api_key.trim().is_empty())
            .ok_or_else(|| {
                ClientError::Config("the API key is empty or not a header value".into())
            })?;
        api_key.set_sensitive(true);
        let http = match self.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout)
                .build()
                .map_err(|err| ClientError::Config(format!("HTTP client: {err}")))?,
        };
        Ok(ServiceClient {
            transport: Transport {
                base,
                api_key,
                http,
                retries: self.retries,
                backoff: self.backoff,
            },
        })
    }
}

impl fmt::Debug for ServiceClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceClientBuilder")
            .field("gateway_url", &self.gateway_url)
            .field("api_key", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

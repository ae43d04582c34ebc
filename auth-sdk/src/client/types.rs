//! What the [`ServiceClient`](crate::ServiceClient)'s calls return: the challenge to show, its
//! state, the login a right PIN yields, and the person and session behind a session token. The
//! two secrets among them, [`QrToken`] and [`SessionToken`], never show in `Debug`.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::error::{ClientError, instant};
use crate::identity::{SessionId, UserId};

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The token's text, to put where it belongs (a hidden form field, a cookie).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_string!(
    /// The one-time token of a QR challenge: whoever holds it with the PIN logs in, so it stays
    /// between the service's server and the browser that shows the code.
    QrToken
);
secret_string!(
    /// A person's session at this service, from a right PIN: send it as `Authorization: Bearer`,
    /// or keep it in an `HttpOnly` cookie and verify it with the [`Verifier`](crate::Verifier).
    SessionToken
);

/// Who a service's login page is showing the QR code to, as its own server sees them: the phone
/// shows this as "requested from". Values the gateway would refuse (control characters, a user
/// agent past 512 characters) are cleaned rather than sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EndUser<'a> {
    pub(crate) ip: Option<IpAddr>,
    pub(crate) user_agent: Option<&'a str>,
}

/// The longest user agent the gateway records.
pub(crate) const MAX_USER_AGENT_CHARS: usize = 512;

impl EndUser<'_> {
    /// The body of `POST /api/auth/qr/generate`, or none when nothing is known.
    pub(crate) fn body(&self) -> Option<serde_json::Value> {
        let mut body = serde_json::Map::new();
        if let Some(ip) = self.ip {
            body.insert("client_ip".into(), ip.to_string().into());
        }
        if let Some(agent) = self.user_agent {
            let clean: String = agent
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_USER_AGENT_CHARS)
                .collect();
            body.insert("user_agent".into(), clean.into());
        }
        (!body.is_empty()).then_some(serde_json::Value::Object(body))
    }
}

/// A new QR challenge: show [`qr_svg`](Self::qr_svg) (or the PNG) and the scan URL, keep
/// [`token`](Self::token) for the PIN.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Challenge {
    /// The challenge's token, for [`status`](crate::ServiceClient::status) and
    /// [`verify_pin`](crate::ServiceClient::verify_pin).
    pub token: QrToken,
    /// The URL the QR code carries: a phone can also open it as a link.
    pub scan_url: String,
    /// The QR code as an SVG document, to put inline in a page.
    pub qr_svg: String,
    /// The QR code as a PNG image, base64 (for a `data:` URL).
    pub qr_png_base64: String,
    /// How long the code may be scanned, as the gateway said.
    pub expires_in: Duration,
    /// When it stops being scannable, by this machine's clock.
    pub expires_at: SystemTime,
}

impl Challenge {
    /// The PNG image's bytes; `None` if the gateway sent something that is not base64.
    pub fn qr_png(&self) -> Option<Vec<u8>> {
        STANDARD.decode(&self.qr_png_base64).ok()
    }
}

#[derive(Deserialize)]
pub(crate) struct ChallengeWire {
    qr_token: QrToken,
    scan_url: String,
    qr_svg: String,
    qr_png_base64: String,
    expires_in: u64,
}

impl ChallengeWire {
    pub(crate) fn into_challenge(self, now: SystemTime) -> Challenge {
        let expires_in = Duration::from_secs(self.expires_in);
        Challenge {
            token: self.qr_token,
            scan_url: self.scan_url,
            qr_svg: self.qr_svg,
            qr_png_base64: self.qr_png_base64,
            expires_in,
            expires_at: now + expires_in,
        }
    }
}

/// Where a challenge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ChallengeStatus {
    /// Shown, not scanned yet.
    Pending,
    /// A phone scanned it and shows the PIN: ask for it.
    Scanned,
    /// Its PIN logged someone in.
    Used,
    /// Too late: show a new code.
    Expired,
}

impl ChallengeStatus {
    /// `pending`, `scanned`, `used` or `expired`, as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeStatus::Pending => "pending",
            ChallengeStatus::Scanned => "scanned",
            ChallengeStatus::Used => "used",
            ChallengeStatus::Expired => "expired",
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct StatusWire {
    pub(crate) status: ChallengeStatus,
}

/// The person logged in, as the gateway knows them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Person {
    /// Their stable account id (the `sub` of their tokens).
    pub user_id: UserId,
    /// Their login name.
    pub username: String,
    /// Their e-mail address.
    pub email: String,
    /// Their full name, to greet them with.
    pub full_name: String,
}

/// A right PIN: the person's session at this service.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Login {
    /// The session token (a JWT for this service, `typ: session`).
    pub session_token: SessionToken,
    /// The session's id (the `sid` of the token), for revocation.
    pub session_id: SessionId,
    /// How long the session lasts, as the gateway said; never past closing time.
    pub expires_in: Duration,
    /// When it ends, by this machine's clock: a cookie holding the token should end then too.
    pub expires_at: SystemTime,
    /// Who logged in.
    pub person: Person,
}

#[derive(Deserialize)]
pub(crate) struct LoginWire {
    session_token: SessionToken,
    expires_in: u64,
    session_id: SessionId,
    user_info: Person,
}

impl LoginWire {
    pub(crate) fn into_login(self, now: SystemTime) -> Login {
        let expires_in = Duration::from_secs(self.expires_in);
        Login {
            session_token: self.session_token,
            session_id: self.session_id,
            expires_in,
            expires_at: now + expires_in,
            person: self.user_info,
        }
    }
}

/// A live session, as [`session`](crate::ServiceClient::session) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session's id.
    pub session_id: SessionId,
    /// What the session is for: this service's slug.
    pub audience: String,
    /// When it began.
    pub created_at: SystemTime,
    /// When it ends.
    pub expires_at: SystemTime,
    /// The address it was started from, as the gateway recorded it.
    pub client_ip: Option<String>,
    /// The browser it was started from, as the gateway recorded it.
    pub user_agent: Option<String>,
    /// Whose it is.
    pub person: Person,
}

#[derive(Deserialize)]
pub(crate) struct SessionWire {
    session: SessionRecordWire,
    audience: String,
    user: Person,
}

#[derive(Deserialize)]
struct SessionRecordWire {
    id: SessionId,
    created_at: String,
    expires_at: String,
    client_ip: Option<String>,
    user_agent: Option<String>,
}

impl SessionWire {
    pub(crate) fn into_info(self) -> Result<SessionInfo, ClientError> {
        let at = |text: &str| {
            instant(text).ok_or_else(|| {
                ClientError::UnexpectedAnswer(format!("`{text}` is not an RFC 3339 instant"))
            })
        };
        Ok(SessionInfo {
            session_id: self.session.id,
            audience: self.audience,
            created_at: at(&self.session.created_at)?,
            expires_at: at(&self.session.expires_at)?,
            client_ip: self.session.client_ip,
            user_agent: self.session.user_agent,
            person: self.user,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let token = SessionToken::from("eyJhbGciOi.secret.sig".to_string());
        assert_eq!(format!("{token:?}"), "SessionToken([redacted])");
        assert_eq!(token.as_str(), "eyJhbGciOi.secret.sig");
        let qr = QrToken::from("qr-secret".to_string());
        assert!(!format!("{qr:?}").contains("qr-secret"));
    }

    #[test]
    fn the_end_user_is_sent_cleaned_and_only_when_known() {
        assert_eq!(EndUser::default().body(), None);
        let agent = format!("Mozilla\t/5.0\n{}", "x".repeat(600));
        let user = EndUser {
            ip: Some("203.0.113.7".parse().unwrap()),
            user_agent: Some(&agent),
        };
        let body = user.body().unwrap();
        assert_eq!(body["client_ip"], "203.0.113.7");
        let agent = body["user_agent"].as_str().unwrap();
        assert!(agent.starts_with("Mozilla/5.0x"), "{agent}");
        assert_eq!(agent.chars().count(), MAX_USER_AGENT_CHARS);
    }
}

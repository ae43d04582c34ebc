//! Who a verified token speaks for: the [`Identity`] handed to your code, its id newtypes and the
//! [`TokenKind`]s the gateway issues.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a token is for, from its `typ` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// A user's short-lived credential for the gateway's own API (`aud` is `auth-api`).
    Access,
    /// A user's session at one service, sent directly as `Authorization: Bearer`.
    Session,
    /// The gateway's statement of who is calling, sent to the service as `X-Auth-Assertion`.
    Assertion,
    /// An administrator's credential for the gateway's admin API.
    Admin,
}

impl TokenKind {
    /// The `typ` claim value: `access`, `session`, `assertion` or `admin`.
    ///
    /// ```
    /// assert_eq!(auth_sdk::TokenKind::Assertion.as_str(), "assertion");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Session => "session",
            TokenKind::Assertion => "assertion",
            TokenKind::Admin => "admin",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// The id as a UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        /// Parses the hyphenated UUID form the gateway writes; refuses anything else.
        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A user's account id, from the token's `sub`.
    ///
    /// ```
    /// let id: auth_sdk::UserId = "0192f0c1-7a1e-7cc0-9d3c-5b2f0a4e8d11".parse().unwrap();
    /// assert_eq!(id.to_string(), "0192f0c1-7a1e-7cc0-9d3c-5b2f0a4e8d11");
    /// ```
    UserId
);
uuid_id!(
    /// A gateway session id, from the token's `sid`.
    SessionId
);

/// The person behind a request, as a verified token states it.
///
/// Put into the request's extensions by [`AuthLayer`](crate::AuthLayer); read it with the
/// [`AuthUser`](crate::AuthUser) extractor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Identity {
    /// The account (`sub`).
    pub user_id: UserId,
    /// The login name, when the token carries it.
    pub username: Option<String>,
    /// The e-mail address, when the token carries it.
    pub email: Option<String>,
    /// The display name, when the token carries it.
    pub name: Option<String>,
    /// The gateway session the token belongs to (`sid`); none for personal access tokens.
    pub session_id: Option<SessionId>,
    /// The role the gateway granted (`role`), such as `user`.
    pub role: Option<String>,
    /// What kind of token this identity came from.
    pub kind: TokenKind,
    /// The token's id (`jti`), for logs and correlation.
    pub token_id: String,
    /// When the token stops being valid (`exp`, without leeway).
    pub expires_at: SystemTime,
}

impl Identity {
    /// Whether the token grants `role` (compared exactly).
    pub fn has_role(&self, role: &str) -> bool {
        self.role.as_deref() == Some(role)
    }
}

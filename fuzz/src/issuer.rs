//! A real [`AuthCore`] on the embedded store in a temporary folder, made once per fuzzing process,
//! and one token of each kind signed by its current key. The targets verify what the fuzzer makes
//! of these tokens with the very signer and keys the gateway uses.

use std::sync::OnceLock;

use auth_core::credentials::{ADMIN_AUDIENCE, TokenKind, TokenSpec};
use auth_core::{AuthCore, ManualClock, config};
use jiff::{SignedDuration, Timestamp};
use tokio::runtime::Runtime;

/// The service the tokens name: the audience of session tokens and assertions.
pub const SERVICE: &str = "service-b";
/// The subject of every token: a user id, as the gateway writes it.
pub const SUBJECT: &str = "0192f0c1-7a1e-7cc0-9d3c-5b2f0a4e8d11";
/// The session the session tokens and assertions name.
pub const SESSION: &str = "0192f0c1-7a1e-7cc0-9d3c-5b2f0a4e8d12";
/// The instant the core's clock stands at: every token is valid then.
pub const NOW: &str = "2026-03-02T10:00:00Z";

/// A token the core signed, and what it was made for.
#[derive(Debug, Clone)]
pub struct Issued {
    pub kind: TokenKind,
    pub audience: String,
    pub token: String,
    pub claims: auth_core::credentials::Claims,
}

/// The core and its tokens. Lives for the whole process, like the runtime it runs on.
pub struct Issuer {
    pub runtime: Runtime,
    pub core: AuthCore,
    pub now: Timestamp,
    pub issued: Vec<Issued>,
    _data_dir: tempfile::TempDir,
}

impl Issuer {
    /// The process's issuer, made on first use.
    pub fn get() -> &'static Issuer {
        static ISSUER: OnceLock<Issuer> = OnceLock::new();
        ISSUER.get_or_init(Issuer::start)
    }

    fn start() -> Issuer {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let data_dir = tempfile::tempdir().expect("a temporary data folder");
        let settings = format!("[storage]\ndata_dir = \"{}\"\n", data_dir.path().display());
        let config = config::from_toml(&settings).expect("the default configuration");
        let now: Timestamp = NOW.parse().expect("a fixed instant");
        let core = runtime
            .block_on(AuthCore::open(config, ManualClock::new(now)))
            .expect("a core on the embedded store");
        let api = core.config().tokens.api_audience.clone();
        let issued = [
            (TokenKind::Access, api.as_str(), None),
            (TokenKind::Session, SERVICE, Some(SESSION)),
            (TokenKind::Assertion, SERVICE, Some(SESSION)),
            (TokenKind::Admin, ADMIN_AUDIENCE, None),
        ]
        .into_iter()
        .map(|(kind, audience, sid)| {
            let spec = TokenSpec {
                sid: sid.map(str::to_string),
                role: Some("user".into()),
                username: Some("alice".into()),
                email: Some("alice@example.com".into()),
                name: Some("Alice Example".into()),
            };
            let (token, claims) = core
                .tokens()
                .issue(kind, SUBJECT, audience, SignedDuration::from_mins(30), spec)
                .expect("a signed token");
            Issued {
                kind,
                audience: audience.to_string(),
                token,
                claims,
            }
        })
        .collect();
        Issuer {
            runtime,
            core,
            now,
            issued,
            _data_dir: data_dir,
        }
    }

    /// The issued token that is exactly `token`, if any.
    pub fn issued(&self, token: &str) -> Option<&Issued> {
        self.issued.iter().find(|issued| issued.token == token)
    }
}

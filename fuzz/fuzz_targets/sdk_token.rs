//! auth-sdk's `Verifier::verify`, with the JWKS of a real core fetched once from loopback and
//! cached (no fetch while fuzzing), on any text and on structured mutations of the core's tokens.
//!
//! Checks, beyond not panicking: a token verifies only if it is, byte for byte, a session token
//! or assertion the core signed for this service, and then as the user and session it names;
//! every refusal is `INVALID_TOKEN` or `EXPIRED_TOKEN` (the keys are always there).
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::credentials::TokenKind;
use auth_fuzz::issuer::{Issuer, SERVICE, SESSION, SUBJECT};
use auth_fuzz::jwks_endpoint;
use auth_fuzz::jws::{self, TokenInput};
use auth_sdk::{Error, Verifier};
use libfuzzer_sys::fuzz_target;

/// Longer than any run: the key set is never refetched or refreshed while fuzzing.
const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let issuer = Issuer::get();
        let url = jwks_endpoint::serve(&issuer.runtime, issuer.core.jwks().to_string());
        let now = UNIX_EPOCH + Duration::from_secs(issuer.now.as_second().unsigned_abs());
        let verifier = Verifier::builder(url, issuer.core.config().tokens.issuer.clone(), SERVICE)
            .clock(move || -> SystemTime { now })
            .refresh_interval(YEAR)
            .max_key_age(YEAR)
            .build()
            .expect("a verifier");
        let keys = issuer
            .runtime
            .block_on(verifier.refresh_keys())
            .expect("the JWKS fetched");
        assert!(keys > 0, "the JWKS holds the core's key");
        verifier
    })
}

fn verify(input: TokenInput) {
    let issuer = Issuer::get();
    let verifier = verifier();
    let real: Vec<&str> = issuer.issued.iter().map(|i| i.token.as_str()).collect();
    let token = jws::token(&input, &real);
    match issuer.runtime.block_on(verifier.verify(&token)) {
        Ok(identity) => {
            let Some(issued) = issuer.issued(&token) else {
                panic!("a token the core never signed verified: {token:?} as {identity:?}");
            };
            assert!(
                matches!(issued.kind, TokenKind::Session | TokenKind::Assertion)
                    && issued.audience == SERVICE,
                "a {:?} token for {} accepted by the service",
                issued.kind,
                issued.audience
            );
            assert_eq!(identity.user_id.to_string(), SUBJECT);
            assert_eq!(
                identity.session_id.map(|s| s.to_string()).as_deref(),
                Some(SESSION)
            );
        }
        Err(Error::InvalidToken(_) | Error::ExpiredToken) => {}
        Err(other) => panic!("a token refused with {other:?}"),
    }
}

fuzz_target!(
    init: {
        verifier();
    },
    |input: TokenInput| verify(input)
);

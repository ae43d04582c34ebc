//! auth-core's token verifier, `TokenSigner::verify_signed` and `verify`, with the keys of a real
//! core, on any text and on structured mutations of the tokens that core signed.
//!
//! Checks, beyond not panicking: a token verifies only if it is, byte for byte, one the core
//! signed, and then with the claims it was signed with, for the audience and kind it was made
//! for; every refusal is `INVALID_TOKEN` or `EXPIRED_TOKEN`.
#![no_main]

use arbitrary::Arbitrary;
use auth_core::Error;
use auth_core::credentials::TokenKind;
use auth_fuzz::issuer::{Issuer, SERVICE};
use auth_fuzz::jws::{self, TokenInput};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    token: TokenInput,
    audience: Audience,
    /// With a kind, `verify`; without, `verify_signed`.
    kind: Option<Kind>,
}

#[derive(Debug, Arbitrary)]
enum Audience {
    Any,
    Service,
    Api,
    Admin,
    Other(String),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Kind {
    Access,
    Session,
    Assertion,
    Admin,
}

impl From<Kind> for TokenKind {
    fn from(kind: Kind) -> TokenKind {
        match kind {
            Kind::Access => TokenKind::Access,
            Kind::Session => TokenKind::Session,
            Kind::Assertion => TokenKind::Assertion,
            Kind::Admin => TokenKind::Admin,
        }
    }
}

fn verify(input: Input) {
    let issuer = Issuer::get();
    let real: Vec<&str> = issuer.issued.iter().map(|i| i.token.as_str()).collect();
    let token = jws::token(&input.token, &real);
    let api = issuer.core.config().tokens.api_audience.as_str();
    let audience = match &input.audience {
        Audience::Any => None,
        Audience::Service => Some(SERVICE),
        Audience::Api => Some(api),
        Audience::Admin => Some(auth_core::credentials::ADMIN_AUDIENCE),
        Audience::Other(other) => Some(other.as_str()),
    };
    let signer = issuer.core.tokens();
    let result = issuer.runtime.block_on(async {
        match (input.kind, audience) {
            (Some(kind), Some(audience)) => signer.verify(&token, kind.into(), audience).await,
            _ => signer.verify_signed(&token, audience).await,
        }
    });
    match result {
        Ok(claims) => {
            let Some(issued) = issuer.issued(&token) else {
                panic!("a token the core never signed verified: {token:?} as {claims:?}");
            };
            assert_eq!(claims, issued.claims, "claims other than those signed");
            if let Some(audience) = audience {
                assert_eq!(audience, issued.audience, "accepted for another audience");
            }
            if let (Some(kind), Some(_)) = (input.kind, audience) {
                assert_eq!(
                    TokenKind::from(kind),
                    issued.kind,
                    "accepted as another kind"
                );
            }
        }
        Err(Error::InvalidToken | Error::ExpiredToken) => {}
        Err(other) => panic!("a token refused with {other:?} ({:?})", other.code()),
    }
}

fuzz_target!(
    init: {
        Issuer::get();
    },
    |input: Input| verify(input)
);

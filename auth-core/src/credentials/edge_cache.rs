//! Memory for the gateway's hot path: tokens whose signature and claims already checked out (until
//! they expire), and the assertion last signed for each session and service (for half its life).
//! What a cache hit skips is the signature work; whether the session is still live is asked on every
//! request all the same, so revocation takes effect at once.

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use siphasher::sip128::{Hasher128, SipHasher13};

use super::edge::EdgeIdentity;

/// Beyond this many entries a map starts afresh: bounded memory under any load.
const MAX_ENTRIES: usize = 100_000;

/// An assertion is reused while younger than this (it lives one minute).
pub const ASSERTION_REUSE: SignedDuration = SignedDuration::from_secs(30);

/// A token that verified, and until when its claims allow it.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub identity: EdgeIdentity,
    pub expires_at: Timestamp,
    /// The service the token was presented at.
    pub service: String,
    /// The token's own audience, which its session must have.
    pub audience: String,
    /// The session record as stored when the token was checked, and the session's expiry: while
    /// the store holds these very bytes, the session is the one checked then.
    pub record: Vec<u8>,
    pub session_expires_at: Timestamp,
}

#[derive(Debug)]
pub(crate) struct EdgeCache {
    /// The key of the tokens' fingerprints, drawn at start and never leaving the process.
    key: [u8; 16],
    verified: Mutex<HashMap<[u8; 16], Arc<Verified>>>,
    assertions: Mutex<HashMap<(String, String), (String, Timestamp)>>,
}

impl Default for EdgeCache {
    fn default() -> Self {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).expect("the operating system's random number generator failed");
        Self {
            key,
            verified: Mutex::default(),
            assertions: Mutex::default(),
        }
    }
}

fn bounded<K, V>(map: &mut HashMap<K, V>) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
}

impl EdgeCache {
    /// Tokens are kept under a keyed 128-bit fingerprint, so the cache holds no usable
    /// credential. SipHash is a PRF under its secret key: without the key no one can make a
    /// token that lands on another's entry, and it costs a tenth of SHA-256 on every request.
    fn fingerprint(&self, token: &str) -> [u8; 16] {
        let mut hasher = SipHasher13::new_with_key(&self.key);
        hasher.write(token.as_bytes());
        hasher.finish128().as_bytes()
    }

    /// A remembered verification of `token` for `service`, if it has not expired by `now`.
    pub fn verified(&self, token: &str, service: &str, now: Timestamp) -> Option<Arc<Verified>> {
        let map = self.verified.lock().ok()?;
        map.get(&self.fingerprint(token))
            .filter(|v| v.service == service && v.expires_at > now)
            .cloned()
    }

    pub fn remember_verified(&self, token: &str, verified: Verified) {
        if let Ok(mut map) = self.verified.lock() {
            bounded(&mut map);
            map.insert(self.fingerprint(token), Arc::new(verified));
        }
    }

    /// An assertion for `subject` at `service` signed less than [`ASSERTION_REUSE`] ago.
    pub fn assertion(&self, subject: &str, service: &str, now: Timestamp) -> Option<String> {
        let map = self.assertions.lock().ok()?;
        map.get(&(subject.to_string(), service.to_string()))
            .filter(|(_, signed_at)| {
                now.duration_since(*signed_at) < ASSERTION_REUSE && *signed_at <= now
            })
            .map(|(token, _)| token.clone())
    }

    pub fn remember_assertion(
        &self,
        subject: &str,
        service: &str,
        token: String,
        signed_at: Timestamp,
    ) {
        if let Ok(mut map) = self.assertions.lock() {
            bounded(&mut map);
            map.insert(
                (subject.to_string(), service.to_string()),
                (token, signed_at),
            );
        }
    }
}

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
use crate::ids::{SessionId, UserId};

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
    /// Per subject, a few services at most: searched in order.
    assertions: Mutex<HashMap<Subject, Vec<Signed>>>,
}

impl Default for EdgeCache {
    fn default() -> Self {
        Self {
            key: crate::secret::random_bytes(),
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
    pub fn assertion(&self, subject: Subject, service: &str, now: Timestamp) -> Option<Arc<str>> {
        let map = self.assertions.lock().ok()?;
        map.get(&subject)?
            .iter()
            .find(|signed| signed.service == service)
            .filter(|signed| now.duration_since(signed.at) < ASSERTION_REUSE && signed.at <= now)
            .map(|signed| signed.token.clone())
    }

    pub fn remember_assertion(
        &self,
        subject: Subject,
        service: &str,
        token: Arc<str>,
        signed_at: Timestamp,
    ) {
        if let Ok(mut map) = self.assertions.lock() {
            bounded(&mut map);
            let signed = map.entry(subject).or_default();
            signed.retain(|signed| signed.service != service);
            signed.push(Signed {
                service: service.to_string(),
                token,
                at: signed_at,
            });
        }
    }
}

/// Whom an assertion speaks for: a session, or a user without one (a personal access token).
/// A key that needs no allocation to look up, on every proxied request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Subject {
    Session(SessionId),
    User(UserId),
}

/// An assertion signed for one service.
#[derive(Debug)]
pub(crate) struct Signed {
    service: String,
    token: Arc<str>,
    at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::scope::CredentialKind;

    fn verified(service: &str, expires_at: Timestamp) -> Verified {
        Verified {
            identity: EdgeIdentity {
                user_id: "01a2085c-66d6-76c6-88ec-658a8d402841".parse().unwrap(),
                username: "ann".into(),
                email: "ann@example.com".into(),
                name: None,
                session_id: None,
                credential: CredentialKind::ServiceSession,
            },
            expires_at,
            service: service.into(),
            audience: service.into(),
            record: b"{}".to_vec(),
            session_expires_at: expires_at,
        }
    }

    #[test]
    fn a_token_is_found_only_by_itself_at_its_service_until_it_expires() {
        let cache = EdgeCache::default();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let later = now + SignedDuration::from_mins(30);
        cache.remember_verified("token-a", verified("service-b", later));
        assert!(cache.verified("token-a", "service-b", now).is_some());
        assert!(cache.verified("token-b", "service-b", now).is_none());
        assert!(cache.verified("token-a", "app-c", now).is_none());
        assert!(cache.verified("token-a", "service-b", later).is_none());
    }

    #[test]
    fn fingerprints_are_keyed_per_process() {
        let (one, two) = (EdgeCache::default(), EdgeCache::default());
        assert_eq!(one.fingerprint("token-a"), one.fingerprint("token-a"));
        assert_ne!(one.fingerprint("token-a"), one.fingerprint("token-b"));
        // Another key, another fingerprint: none can be computed from the token alone.
        assert_ne!(one.fingerprint("token-a"), two.fingerprint("token-a"));
    }
}

//! The gateway's keys, cached: fetched on first use, refreshed when a token names an unknown `kid`
//! or the set has grown old, one fetch at a time and at most once per interval, so a flood of
//! tokens with made-up `kid`s costs the gateway one request per interval, not one per token.
//!
//! When the JWKS endpoint is down the cached keys keep verifying; only with nothing cached are
//! tokens refused, as [`Error::KeysUnavailable`].

use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime};

use ed25519_dalek::VerifyingKey;
use tokio::sync::Mutex;

use crate::clock::Clock;
use crate::error::{Error, TokenFlaw};
use crate::jwks::{self, KeySet};

/// Where the keys come from and how often they may be fetched.
pub(crate) struct KeySource {
    pub(crate) url: reqwest::Url,
    pub(crate) client: reqwest::Client,
    pub(crate) min_interval: Duration,
    pub(crate) max_age: Duration,
}

struct Cached {
    keys: KeySet,
    fetched_at: SystemTime,
}

#[derive(Default)]
struct Attempts {
    last: Option<SystemTime>,
    last_error: Option<String>,
}

/// The cached key set and the single-flight refresh around it.
pub(crate) struct KeyCache {
    source: KeySource,
    clock: Arc<dyn Clock>,
    cached: RwLock<Option<Cached>>,
    /// Held for the whole of a fetch: waiters find the fresh keys when they get it.
    attempts: Mutex<Attempts>,
}

enum Lookup {
    Fresh(VerifyingKey),
    Stale(VerifyingKey),
    Missing,
}

impl KeyCache {
    pub(crate) fn new(source: KeySource, clock: Arc<dyn Clock>) -> Self {
        Self {
            source,
            clock,
            cached: RwLock::new(None),
            attempts: Mutex::new(Attempts::default()),
        }
    }

    /// The key named `kid`, refreshing the set if needed and allowed.
    pub(crate) async fn key(&self, kid: &str) -> Result<VerifyingKey, Error> {
        match self.lookup(kid, self.clock.now()) {
            Lookup::Fresh(key) => Ok(key),
            Lookup::Stale(_) if self.refresh_in_passing().await => {
                // A key the gateway no longer publishes stops verifying.
                self.find(kid).ok_or(TokenFlaw::UnknownKey.into())
            }
            Lookup::Stale(key) => Ok(key),
            Lookup::Missing => self.refresh_for(kid).await,
        }
    }

    /// Fetches the key set now, whatever the interval (one fetch at a time). Returns how many
    /// keys it holds.
    pub(crate) async fn refresh(&self) -> Result<usize, Error> {
        let mut attempts = self.attempts.lock().await;
        self.fetch(&mut attempts)
            .await
            .map_err(Error::KeysUnavailable)
    }

    fn lookup(&self, kid: &str, now: SystemTime) -> Lookup {
        let cached = self.read();
        let Some(cached) = cached.as_ref() else {
            return Lookup::Missing;
        };
        match cached.keys.get(kid) {
            Some(key) if age(cached.fetched_at, now) >= self.source.max_age => Lookup::Stale(*key),
            Some(key) => Lookup::Fresh(*key),
            None => Lookup::Missing,
        }
    }

    fn find(&self, kid: &str) -> Option<VerifyingKey> {
        self.read()
            .as_ref()
            .and_then(|cached| cached.keys.get(kid).copied())
    }

    fn has_keys(&self) -> bool {
        self.read().is_some()
    }

    /// The cache for reading. A panic elsewhere cannot leave it half-written (it is replaced
    /// whole), so a poisoned lock is still safe to read.
    fn read(&self) -> RwLockReadGuard<'_, Option<Cached>> {
        self.cached
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The set is old: refresh it if nobody else is and the interval allows, without making this
    /// request wait for another's fetch. True when a fresh set was installed.
    async fn refresh_in_passing(&self) -> bool {
        let Ok(mut attempts) = self.attempts.try_lock() else {
            return false;
        };
        self.may_fetch(&attempts) && self.fetch(&mut attempts).await.is_ok()
    }

    /// `kid` is not cached: fetch once (single flight, rate limited) and look again.
    async fn refresh_for(&self, kid: &str) -> Result<VerifyingKey, Error> {
        let mut attempts = self.attempts.lock().await;
        // Whoever held the lock before us may have fetched the key.
        if let Some(key) = self.find(kid) {
            return Ok(key);
        }
        if self.may_fetch(&attempts) {
            tracing::debug!(kid, "unknown kid; fetching the JWKS");
            // A failed fetch is logged inside; the cached keys, if any, stay.
            let _ = self.fetch(&mut attempts).await;
        }
        if let Some(key) = self.find(kid) {
            return Ok(key);
        }
        if self.has_keys() {
            return Err(TokenFlaw::UnknownKey.into());
        }
        Err(Error::KeysUnavailable(
            attempts
                .last_error
                .clone()
                .unwrap_or_else(|| "no keys have been fetched yet".into()),
        ))
    }

    /// Whether the interval since the last attempt has passed (or the clock went back).
    fn may_fetch(&self, attempts: &Attempts) -> bool {
        attempts.last.is_none_or(|last| {
            self.clock
                .now()
                .duration_since(last)
                .map_or(true, |since| since >= self.source.min_interval)
        })
    }

    /// Fetches and installs the key set; the caller holds the attempts lock.
    async fn fetch(&self, attempts: &mut Attempts) -> Result<usize, String> {
        attempts.last = Some(self.clock.now());
        match jwks::fetch(&self.source.client, &self.source.url).await {
            Ok(keys) => {
                let count = keys.len();
                tracing::debug!(keys = count, "JWKS fetched");
                let mut cached = self
                    .cached
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                *cached = Some(Cached {
                    keys,
                    fetched_at: self.clock.now(),
                });
                attempts.last_error = None;
                Ok(count)
            }
            Err(err) => {
                tracing::warn!(error = %err, url = %self.source.url, "JWKS fetch failed; keeping cached keys");
                attempts.last_error = Some(err.clone());
                Err(err)
            }
        }
    }
}

/// How old something fetched at `fetched_at` is; zero if the clock went back.
fn age(fetched_at: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(fetched_at).unwrap_or(Duration::ZERO)
}

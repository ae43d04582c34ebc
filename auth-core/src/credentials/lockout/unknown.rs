//! The lockout of a login that names no account. Without it, the sixth wrong try at a real
//! account answers ACCOUNT_LOCKED while an unknown name keeps answering INVALID_CREDENTIALS, which
//! tells anyone which names exist. So an unknown name is counted and locked by the same rules, in
//! the short-lived store: one record per name (and, for admins, per client), under a keyed hash of
//! the normalised name, never the name itself.
//!
//! The record is changed by compare-and-swap only, so parallel attempts are counted exactly as the
//! SQL counters count them: admitted while fewer than `max_failures` are counted, refused after.
//! A record lives [`WINDOW`] plus the lock time from its first attempt and is then forgotten: the
//! store stays bounded however many names are tried. (A real account's count does not expire; the
//! two differ only for someone who spreads five tries over more than a day.)

use std::time::Duration;

use hmac::Mac;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{Admitted, Lockout};
use crate::error::{Error, Result};
use crate::store::Ephemeral;

/// How long the failures of an unknown name are remembered after the first one.
pub const WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// How many times an attempt retries its compare-and-swap before giving up. Only admitted attempts
/// and the locking one write, at most `max_failures + 2` per lock period, so a writer that keeps
/// losing is impossible in practice.
const SWAP_TRIES: usize = 64;

/// An unknown login: what was typed (normalised) and, for admins, the client it came from.
#[derive(Debug, Clone, Copy)]
pub struct UnknownLogin<'a> {
    /// `user` or `admin`: the two have separate counts, like their real accounts.
    pub realm: &'static str,
    pub login: &'a str,
    /// The client key (admins), or empty (users, whose count is per account).
    pub client: &'a str,
}

/// The record. Serialised with a fixed field order, so its bytes compare as its value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Record {
    count: i64,
    until: Option<Timestamp>,
}

impl Lockout {
    fn unknown_store_key(&self, login: &UnknownLogin<'_>) -> String {
        let mut mac = crate::secret::keyed_mac(&self.unknown_key);
        for part in [login.realm, login.login, login.client] {
            mac.update(part.as_bytes());
            // A separator no part can contain, so ("ab", "c") and ("a", "bc") differ.
            mac.update(&[0]);
        }
        format!("lockout:{}", hex::encode(mac.finalize().into_bytes()))
    }

    fn unknown_ttl(&self) -> Duration {
        Duration::from_secs((WINDOW + self.lock_for).as_secs().unsigned_abs())
    }

    /// Counts an attempt at an unknown login, or refuses it with [`Error::AccountLocked`], by the
    /// rule of [`Lockout::admit`].
    pub async fn admit_unknown(
        &self,
        store: &dyn Ephemeral,
        login: &UnknownLogin<'_>,
        now: Timestamp,
    ) -> Result<Admitted> {
        let key = self.unknown_store_key(login);
        for _ in 0..SWAP_TRIES {
            let Some(bytes) = store.get(&key).await? else {
                let first = encode(Record {
                    count: 1,
                    until: None,
                })?;
                if store.put_new(&key, first, self.unknown_ttl()).await? {
                    return Ok(Admitted { count: 1 });
                }
                continue;
            };
            let record = decode(&bytes)?;
            let next = match record.until {
                // A lock that has run out starts the count afresh.
                Some(until) if until <= now => Record {
                    count: 1,
                    until: None,
                },
                Some(until) => return Err(Error::AccountLocked { until }),
                None if record.count < self.max_failures => Record {
                    count: record.count + 1,
                    until: None,
                },
                // Counted to the limit but the locking attempt is still running.
                None => {
                    return Err(Error::AccountLocked {
                        until: now + self.lock_for,
                    });
                }
            };
            if store.replace_if(&key, &bytes, encode(next)?).await? {
                return Ok(Admitted { count: next.count });
            }
        }
        Err(Error::Unavailable("lockout"))
    }

    /// The admitted attempt at an unknown login failed (they always do). Returns the time it is
    /// locked until if this failure reached the limit.
    pub async fn failed_unknown(
        &self,
        store: &dyn Ephemeral,
        login: &UnknownLogin<'_>,
        attempt: Admitted,
        now: Timestamp,
    ) -> Result<Option<Timestamp>> {
        if attempt.count < self.max_failures {
            return Ok(None);
        }
        let key = self.unknown_store_key(login);
        let until = now + self.lock_for;
        for _ in 0..SWAP_TRIES {
            let Some(bytes) = store.get(&key).await? else {
                return Ok(None);
            };
            let record = decode(&bytes)?;
            if record.until.is_some() {
                return Ok(None);
            }
            let locked = encode(Record {
                count: record.count,
                until: Some(until),
            })?;
            if store.replace_if(&key, &bytes, locked).await? {
                return Ok(Some(until));
            }
        }
        Err(Error::Unavailable("lockout"))
    }
}

fn encode(record: Record) -> Result<Vec<u8>> {
    serde_json::to_vec(&record).map_err(Error::internal)
}

fn decode(bytes: &[u8]) -> Result<Record> {
    serde_json::from_slice(bytes).map_err(Error::internal)
}

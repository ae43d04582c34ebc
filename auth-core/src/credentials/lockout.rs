//! Lockout after repeated failures. The count is taken atomically *before* the password is checked:
//! an attempt is admitted only while fewer than `max_failures` have been counted, so any number of
//! parallel wrong attempts admits exactly `max_failures` of them, and the one that reaches the
//! limit locks the account.
//!
//! Three kinds of count, one rule: a user's (a column pair on the row), an admin's per client
//! address (table `admin_login_locks`, so nobody can keep an admin locked out from elsewhere), and
//! one for a login that names no account ([`unknown`], in the short-lived store), so that the sixth
//! try at an unknown name answers as it would for a real one.

mod unknown;

use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};

use super::store;
use crate::config::LockoutConfig;
use crate::error::{Error, Result};
use crate::store::sql::Db;

pub use super::store::{Counter, USER_PASSWORDS, USER_PINS};
pub use unknown::UnknownLogin;

/// The lockout rules.
#[derive(Clone)]
pub struct Lockout {
    max_failures: i64,
    lock_for: SignedDuration,
    /// Keys the hashes under which unknown logins are counted, so a dump of the short-lived store
    /// does not list the names people tried.
    unknown_key: [u8; 32],
}

impl std::fmt::Debug for Lockout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lockout")
            .field("max_failures", &self.max_failures)
            .field("lock_for", &self.lock_for)
            .finish_non_exhaustive()
    }
}

/// An attempt the lockout let through; report its outcome with [`Lockout::failed`] or
/// [`Lockout::succeeded`].
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Admitted {
    count: i64,
}

/// Where a client's attempts at an admin account are counted: its IPv4 address, or the /64 of its
/// IPv6 address (one host usually holds a whole /64, so single addresses would be free to rotate).
pub fn client_key(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let net = ipnet::Ipv6Net::new(v6, 64).map(|n| n.trunc());
            net.map_or_else(|_| v6.to_string(), |n| n.to_string())
        }
        None => "unknown".to_string(),
    }
}

impl Lockout {
    /// The rules of `config`; `unknown_key` keys the hashes of unknown logins.
    pub fn new(config: &LockoutConfig, unknown_key: [u8; 32]) -> Self {
        Self {
            max_failures: i64::from(config.max_failures),
            lock_for: SignedDuration::from_mins(i64::from(config.lock_minutes)),
            unknown_key,
        }
    }

    /// Counts an attempt on `id`, or refuses it with [`Error::AccountLocked`].
    pub async fn admit(
        &self,
        db: &Db,
        counter: Counter,
        id: &str,
        now: Timestamp,
    ) -> Result<Admitted> {
        match store::count_attempt(db, counter, id, now, self.max_failures).await? {
            Some(count) => Ok(Admitted { count }),
            None => {
                let until = store::locked_until(db, counter, id)
                    .await?
                    // Counted to the limit but the locking attempt is still running.
                    .unwrap_or(now + self.lock_for);
                Err(Error::AccountLocked { until })
            }
        }
    }

    /// The admitted attempt failed. Returns the time the account is locked until if this failure
    /// reached the limit.
    pub async fn failed(
        &self,
        db: &Db,
        counter: Counter,
        id: &str,
        attempt: Admitted,
        now: Timestamp,
    ) -> Result<Option<Timestamp>> {
        if attempt.count < self.max_failures {
            return Ok(None);
        }
        let until = now + self.lock_for;
        Ok(store::lock(db, counter, id, until).await?.then_some(until))
    }

    /// The admitted attempt succeeded: the count starts again.
    pub async fn succeeded(
        &self,
        db: &Db,
        counter: Counter,
        id: &str,
        _attempt: Admitted,
    ) -> Result<()> {
        self.clear(&mut db.clone(), counter, id).await
    }

    /// Clears count and lock (a success, or an admin unlocking the account, in the transaction
    /// that records it).
    pub async fn clear(
        &self,
        ex: &mut dyn crate::store::sql::Executor,
        counter: Counter,
        id: &str,
    ) -> Result<()> {
        store::clear(ex, counter, id).await
    }

    /// Counts an attempt at admin `admin` from `client` (keyed by `client_key`), or refuses it with
    /// [`Error::AccountLocked`]. Other clients keep their own count.
    pub async fn admit_admin(
        &self,
        db: &Db,
        admin: &str,
        client: &str,
        now: Timestamp,
    ) -> Result<Admitted> {
        if let Some(count) =
            store::count_admin_attempt(db, admin, client, now, self.max_failures).await?
        {
            return Ok(Admitted { count });
        }
        let until = store::admin_locked_until(db, admin, client)
            .await?
            .unwrap_or(now + self.lock_for);
        Err(Error::AccountLocked { until })
    }

    /// The admitted attempt at `admin` from `client` failed; the time it is locked until for that
    /// client if this failure reached the limit.
    pub async fn failed_admin(
        &self,
        db: &Db,
        admin: &str,
        client: &str,
        attempt: Admitted,
        now: Timestamp,
    ) -> Result<Option<Timestamp>> {
        if attempt.count < self.max_failures {
            return Ok(None);
        }
        let until = now + self.lock_for;
        Ok(store::lock_admin(db, admin, client, until)
            .await?
            .then_some(until))
    }

    /// The admitted attempt at `admin` from `client` succeeded: that client's count is gone.
    pub async fn succeeded_admin(
        &self,
        db: &Db,
        admin: &str,
        client: &str,
        _attempt: Admitted,
    ) -> Result<()> {
        self.clear_admin(db, admin, client).await
    }

    /// The admitted attempt at `admin` from `client` passed one step of a login with another to
    /// go: it no longer counts, but a count of earlier failures (wrong codes) stays.
    pub async fn passed_step_admin(
        &self,
        db: &Db,
        admin: &str,
        client: &str,
        _attempt: Admitted,
    ) -> Result<()> {
        store::refund_admin_attempt(db, admin, client).await
    }

    /// A login of `admin` from `client` that took several steps succeeded as a whole.
    pub(crate) async fn clear_admin(&self, db: &Db, admin: &str, client: &str) -> Result<()> {
        store::clear_admin(db, admin, client).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_keyed_by_ipv4_address_or_ipv6_slash_64() {
        let key = |ip: &str| client_key(Some(ip.parse().unwrap()));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(client_key(None), "unknown");
    }
}

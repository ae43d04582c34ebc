//! The logins in progress: which challenge each browser is showing, kept in memory under a random
//! id that the browser holds in a cookie. The QR token and its picture stay on the server, so a
//! reload shows the same code and a PIN counts only in the browser that showed it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use auth_sdk::Challenge;

/// How long after its code expires a login is kept: the phone's PIN may still be typed
/// (the gateway's PIN lives five minutes from the scan).
const PIN_GRACE: Duration = Duration::from_secs(300);

/// At most this many logins are kept; past it, ended ones go first, then the oldest.
const MAX_PENDING: usize = 1000;

struct Entry {
    challenge: Challenge,
    keep_until: SystemTime,
}

/// The logins in progress.
#[derive(Default)]
pub(crate) struct Pending {
    logins: Mutex<HashMap<String, Entry>>,
}

impl Pending {
    /// Keeps `challenge`; returns the id for the browser's cookie.
    pub(crate) fn insert(&self, challenge: Challenge) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = SystemTime::now();
        let mut logins = self.lock();
        if logins.len() >= MAX_PENDING {
            logins.retain(|_, entry| entry.keep_until > now);
            if logins.len() >= MAX_PENDING
                && let Some(oldest) = logins
                    .iter()
                    .min_by_key(|(_, entry)| entry.keep_until)
                    .map(|(id, _)| id.clone())
            {
                logins.remove(&oldest);
            }
        }
        let keep_until = challenge.expires_at + PIN_GRACE;
        logins.insert(
            id.clone(),
            Entry {
                challenge,
                keep_until,
            },
        );
        id
    }

    /// The challenge of login `id`, unless it is unknown or over.
    pub(crate) fn get(&self, id: &str) -> Option<Challenge> {
        let logins = self.lock();
        let entry = logins.get(id)?;
        (entry.keep_until > SystemTime::now()).then(|| entry.challenge.clone())
    }

    /// Forgets login `id` (it logged someone in, or its code is dead).
    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.logins
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

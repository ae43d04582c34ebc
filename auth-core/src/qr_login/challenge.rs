//! A QR challenge as it lives in the short-lived store, under the hash of its token (a dump of the
//! store reveals no usable token). Every change is a compare-and-swap on the whole record, so of
//! two racing scans or verifications exactly one wins.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::secret::hash_token;
use crate::store::Ephemeral;

/// Where a challenge is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Pending,
    Scanned,
    Used,
}

/// The record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Challenge {
    pub service_slug: String,
    pub service_name: String,
    pub stage: Stage,
    pub created_at: Timestamp,
    /// The QR can be scanned until then.
    pub expires_at: Timestamp,
    pub requested_ip: Option<String>,
    pub requested_user_agent: Option<String>,
    /// Hash of the nonce of the browser that showed the QR; a PIN typed elsewhere is refused.
    pub browser_binding: Option<String>,
    pub user_id: Option<UserId>,
    pub pin_mac: Option<String>,
    /// The PIN can be typed until then.
    pub pin_expires_at: Option<Timestamp>,
}

pub(crate) fn record_key(token: &str) -> String {
    format!("qr:{}", hash_token(token))
}

pub(crate) fn attempts_key(token: &str) -> String {
    format!("qr-attempts:{}", hash_token(token))
}

/// Kept long enough to tell "expired" from "unknown" after both windows have passed.
pub(crate) fn store_ttl(challenge_secs: u64, pin_secs: u64) -> Duration {
    Duration::from_secs(challenge_secs + pin_secs + 600)
}

impl Challenge {
    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(Error::internal)
    }

    /// The record under `token`, with its stored bytes (for compare-and-swap).
    pub async fn load(store: &dyn Ephemeral, token: &str) -> Result<(Challenge, Vec<u8>)> {
        let bytes = store
            .get(&record_key(token))
            .await?
            .ok_or(Error::QrNotFound)?;
        let challenge = serde_json::from_slice(&bytes).map_err(Error::internal)?;
        Ok((challenge, bytes))
    }

    /// Replaces the record if nobody changed it since `before` was read.
    pub async fn replace(&self, store: &dyn Ephemeral, token: &str, before: &[u8]) -> Result<bool> {
        Ok(store
            .replace_if(&record_key(token), before, self.encode()?)
            .await?)
    }

    /// The state a service sees when it polls.
    pub fn visible_state(&self, now: Timestamp) -> &'static str {
        match self.stage {
            Stage::Used => "used",
            Stage::Pending if now >= self.expires_at => "expired",
            Stage::Scanned if self.pin_expires_at.is_none_or(|at| now >= at) => "expired",
            Stage::Pending => "pending",
            Stage::Scanned => "scanned",
        }
    }
}

//! Carrying a new session from the login page to the service. The login page lives on the
//! gateway's host, but the session cookie must be scoped to the service's own host; so the page
//! sends the browser there with a one-time code, and the gateway, answering on that host, swaps the
//! code for the cookie. Codes are single-use, live one minute, are kept only as hashes, and work
//! only at the service they were made for, in the browser that was sent to log in: the edge set a
//! login-state cookie on the service's host before sending it to the login page, the page carried
//! the hash of that cookie's value, and the code is refused without the value.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::QrLogin;
use crate::access::scope::{self, Binding, CredentialKind, Place};
use crate::error::{Error, Result};
use crate::secret::{constant_time_eq, hash_token, random_token};

const HANDOFF_TTL: Duration = Duration::from_secs(60);

/// What a handoff code stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Handoff {
    pub service: String,
    pub session_token: String,
    pub expires_in: u64,
    /// Where the browser goes afterwards (already checked to be a place of the service).
    pub return_to: String,
    /// The hash of the login-state cookie of the browser the session is for.
    pub browser_binding: String,
}

fn key(code: &str) -> String {
    format!("handoff:{}", hash_token(code))
}

impl QrLogin<'_> {
    /// Makes a one-time code for `handoff`.
    pub async fn handoff(&self, handoff: &Handoff) -> Result<String> {
        let code = random_token("");
        let value = serde_json::to_vec(handoff).map_err(Error::internal)?;
        self.core
            .base
            .stores
            .ephemeral
            .put(&key(code.expose()), value, HANDOFF_TTL)
            .await?;
        Ok(code.expose().to_string())
    }

    /// Redeems a code at `service` for the browser presenting `login_state` (the value of its
    /// login-state cookie); works once, and only there.
    pub async fn redeem_handoff(
        &self,
        code: &str,
        service: &str,
        login_state: Option<&str>,
    ) -> Result<Handoff> {
        let store = &self.core.base.stores.ephemeral;
        let key = key(code);
        let value = store.get(&key).await?.ok_or(Error::InvalidToken)?;
        // Of two redemptions racing, only the one that removed the code goes on.
        if !store.remove(&key).await? {
            return Err(Error::InvalidToken);
        }
        let handoff: Handoff = serde_json::from_slice(&value).map_err(Error::internal)?;
        scope::check(
            CredentialKind::HandoffCode,
            Binding {
                service: Some(&handoff.service),
                services: &[],
            },
            Place::HandoffCallback(service),
        )?;
        let presented = login_state.map(hash_token).unwrap_or_default();
        if handoff.browser_binding.is_empty()
            || !constant_time_eq(presented.as_bytes(), handoff.browser_binding.as_bytes())
        {
            return Err(Error::ForeignBrowser);
        }
        Ok(handoff)
    }

    /// A challenge's QR code again, for a page showing it a second time (after a wrong PIN).
    pub fn images_of(&self, token: &str) -> Result<(String, String)> {
        let scan_url = self.scan_url(token);
        Ok((super::image::svg(&scan_url)?, scan_url))
    }

    pub(crate) fn scan_url(&self, token: &str) -> String {
        format!(
            "{}/m/scan?t={token}",
            self.core.base.config.gateway.public_url
        )
    }
}

//! The login page's challenge for one browser. A browser that reloads the page, or asks for it
//! again while its code is still scannable, gets the same code rather than a new one: a new code
//! is a store write kept for minutes, and a reload costs nothing more than a read. The browser is
//! known by its login nonce (an HttpOnly cookie); the store keeps, under the nonce's hash, the
//! code's token sealed with a key derived from the nonce, so a dump of the store yields no token.

use std::time::Duration;

use hmac::Mac;

use super::challenge::{Challenge, Stage};
use super::{NewChallenge, QrLogin, image};
use crate::context::RequestContext;
use crate::credentials::{open_with, seal_with};
use crate::error::Result;
use crate::secret::hash_token;
use crate::services::Service;

fn record_key(nonce: &str, service: &str) -> String {
    format!("qr-browser:{}:{service}", hash_token(nonce))
}

impl QrLogin<'_> {
    fn sealing_key(&self, nonce: &str) -> [u8; 32] {
        let mut mac = crate::secret::keyed_mac(&self.core.state.pin_key);
        mac.update(b"qr-browser:");
        mac.update(nonce.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The challenge the login page shows the browser holding `nonce` for `service`: the one it
    /// was shown before if that is still waiting to be scanned, else a new one bound to it.
    pub async fn challenge_for_browser(
        &self,
        service: &Service,
        context: &RequestContext,
        nonce: &str,
    ) -> Result<NewChallenge> {
        if let Some(pending) = self.pending_for_browser(service, nonce).await? {
            return Ok(pending);
        }
        let challenge = self.generate(service, context, Some(nonce)).await?;
        let sealed = seal_with(
            &self.sealing_key(nonce),
            service.slug.as_bytes(),
            challenge.qr_token.as_bytes(),
        )?;
        self.core
            .base
            .stores
            .ephemeral
            .put(
                &record_key(nonce, &service.slug),
                sealed,
                Duration::from_secs(challenge.expires_in),
            )
            .await?;
        Ok(challenge)
    }

    async fn pending_for_browser(
        &self,
        service: &Service,
        nonce: &str,
    ) -> Result<Option<NewChallenge>> {
        let store = self.core.base.stores.ephemeral.as_ref();
        let Some(sealed) = store.get(&record_key(nonce, &service.slug)).await? else {
            return Ok(None);
        };
        let Some(token) = open_with(&self.sealing_key(nonce), service.slug.as_bytes(), &sealed)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
        else {
            return Ok(None);
        };
        let Ok((challenge, _)) = Challenge::load(store, &token).await else {
            return Ok(None);
        };
        let now = self.core.base.clock.now();
        let bound_here = challenge.browser_binding.as_deref() == Some(hash_token(nonce).as_str());
        if challenge.stage != Stage::Pending
            || challenge.service_slug != service.slug
            || !bound_here
            || now >= challenge.expires_at
        {
            return Ok(None);
        }
        let left = challenge.expires_at.duration_since(now).as_secs().max(1) as u64;
        let scan_url = self.scan_url(&token);
        let images = image::images(&scan_url)?;
        Ok(Some(NewChallenge {
            qr_svg: images.svg,
            qr_png_base64: images.png_base64,
            qr_token: token,
            scan_url,
            expires_in: left,
        }))
    }
}

//! QR + PIN login into a service, the heart of the product.
//!
//! 1. The service asks for a challenge: a 256-bit token, good for two minutes, and a QR code of a
//!    gateway URL carrying it.
//! 2. The person's phone, signed in, scans it and receives a 6-digit PIN bound to that challenge and
//!    that person, good for five minutes. Only a keyed hash of the PIN is kept.
//! 3. The person types the PIN into the service, which verifies it: at most `max_pin_attempts`
//!    tries per challenge (then it is dead), wrong PINs also counting towards the account's lockout.
//!    The right PIN consumes the challenge once and starts a session for that service.

mod browser;
mod challenge;
mod handoff;
pub mod image;
mod pin;

use std::time::Duration;

use hmac::Mac;
use jiff::SignedDuration;
use serde::Serialize;

use crate::accounts::User;
use crate::audit::{AuditAction, AuditEntry};
use crate::context::Base;
use crate::context::{Actor, RequestContext};
use crate::credentials::CredentialState;
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId};
use crate::schedule::ScheduleStore;
use crate::secret::{hash_token, random_below, random_token};
use crate::services::Service;
use crate::sessions::Sessions;

use challenge::{Challenge, Stage, record_key, store_ttl};

pub use handoff::Handoff;

/// A new challenge, as the service receives it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewChallenge {
    pub qr_token: String,
    pub scan_url: String,
    pub qr_svg: String,
    pub qr_png_base64: String,
    pub expires_in: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceRef {
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestedFrom {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What the phone shows after a scan.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanResult {
    pub pin: String,
    pub expires_in: u64,
    pub service: ServiceRef,
    pub requested_from: RequestedFrom,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfo {
    pub user_id: UserId,
    pub username: String,
    pub email: String,
    pub full_name: String,
}

/// A successful PIN verification: the session at the service.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PinLogin {
    pub session_token: String,
    pub expires_in: u64,
    pub session_id: SessionId,
    pub user_info: UserInfo,
}

/// What a challenge looks like to the service that made it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeState {
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^(pending|scanned|used|expired)$")
    )]
    pub status: &'static str,
    pub service: String,
}

/// The QR login domain.
pub struct QrLogin<'a> {
    core: QrCore<'a>,
}

/// The QR login's own state: the key of the PINs' stored hashes, so a dump of the store cannot be
/// brute-forced offline.
pub(crate) struct QrState {
    pub pin_key: [u8; 32],
}

/// What the QR login borrows: the base, the signing keys and lockout (a PIN starts a session and
/// counts towards the account's lock), the sessions, the schedule (no login while closed).
#[derive(Clone, Copy)]
pub(crate) struct QrCore<'a> {
    pub base: &'a Base,
    pub credentials: &'a CredentialState,
    pub sessions: &'a Sessions,
    pub schedule: &'a ScheduleStore,
    pub state: &'a QrState,
}

fn secs(value: u64) -> SignedDuration {
    SignedDuration::from_secs(i64::try_from(value).unwrap_or(i64::MAX))
}

impl<'a> QrLogin<'a> {
    pub(crate) fn new(core: QrCore<'a>) -> Self {
        Self { core }
    }

    fn pin_mac(&self, token: &str, pin: &str) -> String {
        let mut mac = crate::secret::keyed_mac(&self.core.state.pin_key);
        mac.update(hash_token(token).as_bytes());
        mac.update(b":");
        mac.update(pin.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn ttl(&self) -> Duration {
        store_ttl(
            self.core.base.config.qr.challenge_ttl_secs,
            self.core.base.config.qr.pin_ttl_secs,
        )
    }

    /// Starts a challenge for `service`. `browser_nonce` binds it to the browser that shows it.
    pub async fn generate(
        &self,
        service: &Service,
        context: &RequestContext,
        browser_nonce: Option<&str>,
    ) -> Result<NewChallenge> {
        let now = self.core.base.clock.now();
        self.core.schedule.current().require_open(now)?;
        let token = random_token("");
        let ttl = self.core.base.config.qr.challenge_ttl_secs;
        let challenge = Challenge {
            service_slug: service.slug.clone(),
            service_name: service.name.clone(),
            stage: Stage::Pending,
            created_at: now,
            expires_at: now + secs(ttl),
            requested_ip: context.ip_string(),
            requested_user_agent: context.user_agent.clone(),
            browser_binding: browser_nonce.map(hash_token),
            user_id: None,
            pin_mac: None,
            pin_expires_at: None,
        };
        let stored = self
            .core
            .base
            .stores
            .ephemeral
            .put_new(&record_key(token.expose()), challenge.encode()?, self.ttl())
            .await?;
        if !stored {
            return Err(Error::internal("a fresh QR token collided"));
        }
        let scan_url = self.scan_url(token.expose());
        count_challenge("created");
        let images = image::images(&scan_url)?;
        Ok(NewChallenge {
            qr_svg: images.svg,
            qr_png_base64: images.png_base64,
            qr_token: token.expose().to_string(),
            scan_url,
            expires_in: ttl,
        })
    }

    /// The state of `service`'s own challenge.
    pub async fn state(&self, service: &Service, token: &str) -> Result<ChallengeState> {
        let (challenge, _) =
            Challenge::load(self.core.base.stores.ephemeral.as_ref(), token).await?;
        if challenge.service_slug != service.slug {
            return Err(Error::QrNotFound);
        }
        Ok(ChallengeState {
            status: challenge.visible_state(self.core.base.clock.now()),
            service: challenge.service_slug,
        })
    }

    /// What a phone sees before confirming a scan: which service asks, and from where.
    pub async fn preview(&self, token: &str) -> Result<(ServiceRef, RequestedFrom)> {
        let (challenge, _) =
            Challenge::load(self.core.base.stores.ephemeral.as_ref(), token).await?;
        if challenge.stage != Stage::Pending {
            return Err(Error::QrAlreadyScanned);
        }
        if self.core.base.clock.now() >= challenge.expires_at {
            return Err(Error::QrExpired);
        }
        Ok((
            ServiceRef {
                name: challenge.service_name,
                slug: challenge.service_slug,
            },
            RequestedFrom {
                ip: challenge.requested_ip,
                user_agent: challenge.requested_user_agent,
            },
        ))
    }

    /// The signed-in person scans the challenge and receives its PIN. Once per challenge.
    pub async fn scan(
        &self,
        user: &User,
        token: &str,
        context: &RequestContext,
    ) -> Result<ScanResult> {
        let now = self.core.base.clock.now();
        self.core.schedule.current().require_open(now)?;
        if let Some(refusal) = user.status.login_refusal() {
            return Err(refusal);
        }
        let store = self.core.base.stores.ephemeral.as_ref();
        let (challenge, before) = Challenge::load(store, token).await?;
        match challenge.stage {
            Stage::Pending if now >= challenge.expires_at => {
                count_challenge("expired");
                return Err(Error::QrExpired);
            }
            Stage::Pending => {}
            Stage::Scanned | Stage::Used => return Err(Error::QrAlreadyScanned),
        }
        let pin = format!("{:06}", random_below(1_000_000));
        let pin_ttl = self.core.base.config.qr.pin_ttl_secs;
        let scanned = Challenge {
            stage: Stage::Scanned,
            user_id: Some(user.id),
            pin_mac: Some(self.pin_mac(token, &pin)),
            pin_expires_at: Some(now + secs(pin_ttl)),
            ..challenge.clone()
        };
        if !scanned.replace(store, token, &before).await? {
            return Err(Error::QrAlreadyScanned);
        }
        AuditEntry::new(Actor::User(user.id), AuditAction::QrScanned)
            .target("service", &challenge.service_slug)
            .from_client(context)
            .write(&mut self.core.base.stores.db.clone(), now)
            .await?;
        count_challenge("scanned");
        Ok(ScanResult {
            pin,
            expires_in: pin_ttl,
            service: ServiceRef {
                name: challenge.service_name,
                slug: challenge.service_slug,
            },
            requested_from: RequestedFrom {
                ip: challenge.requested_ip,
                user_agent: challenge.requested_user_agent,
            },
        })
    }
}

/// Tells the installed meter, if any, that a challenge moved on.
pub(crate) fn count_challenge(outcome: &str) {
    if let Some(meter) = crate::measure::meter() {
        meter.qr_challenge(outcome);
    }
}

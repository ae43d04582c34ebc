//! QR + PIN login into a service, the heart of the product.
//!
//! 1. The service asks for a challenge: a 256-bit token, good for two minutes, and a QR code of a
//!    gateway URL carrying it.
//! 2. The person's phone, signed in, scans it and receives a 6-digit PIN bound to that challenge and
//!    that person, good for five minutes. Only a keyed hash of the PIN is kept.
//! 3. The person types the PIN into the service, which verifies it: at most `max_pin_attempts`
//!    tries per challenge (then it is dead), wrong PINs also counting towards the account's lockout.
//!    The right PIN consumes the challenge once and starts a session for that service.

mod challenge;
mod handoff;
pub mod image;

use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::SignedDuration;
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;

use crate::accounts::{User, UserStatus};
use crate::audit::{AuditEntry, Outcome};
use crate::context::{Actor, RequestContext};
use crate::core::CoreInner;
use crate::credentials::{TokenKind, TokenSpec, USER_PINS};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{SessionId, UserId};
use crate::login_history::LoginAttempt;
use crate::secret::{constant_time_eq, hash_token, random_below, random_token};
use crate::services::Service;
use crate::sessions::{LoginMethod, NewSession, Subject};

use challenge::{Challenge, Stage, attempts_key, record_key, store_ttl};

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
    core: &'a CoreInner,
}

fn secs(value: u64) -> SignedDuration {
    SignedDuration::from_secs(i64::try_from(value).unwrap_or(i64::MAX))
}

impl<'a> QrLogin<'a> {
    pub(crate) fn new(core: &'a CoreInner) -> Self {
        Self { core }
    }

    fn pin_mac(&self, token: &str, pin: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.core.pin_key).expect("HMAC takes any key");
        mac.update(hash_token(token).as_bytes());
        mac.update(b":");
        mac.update(pin.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn ttl(&self) -> Duration {
        store_ttl(
            self.core.config.qr.challenge_ttl_secs,
            self.core.config.qr.pin_ttl_secs,
        )
    }

    /// Starts a challenge for `service`. `browser_nonce` binds it to the browser that shows it.
    pub async fn generate(
        &self,
        service: &Service,
        context: &RequestContext,
        browser_nonce: Option<&str>,
    ) -> Result<NewChallenge> {
        let now = self.core.clock.now();
        self.core.schedule.current().require_open(now)?;
        let token = random_token("");
        let ttl = self.core.config.qr.challenge_ttl_secs;
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
            .stores
            .ephemeral
            .put_new(&record_key(token.expose()), challenge.encode()?, self.ttl())
            .await?;
        if !stored {
            return Err(Error::internal("a fresh QR token collided"));
        }
        let scan_url = self.scan_url(token.expose());
        Ok(NewChallenge {
            qr_svg: image::svg(&scan_url)?,
            qr_png_base64: image::png_base64(&scan_url)?,
            qr_token: token.expose().to_string(),
            scan_url,
            expires_in: ttl,
        })
    }

    /// The state of `service`'s own challenge.
    pub async fn state(&self, service: &Service, token: &str) -> Result<ChallengeState> {
        let (challenge, _) = Challenge::load(self.core.stores.ephemeral.as_ref(), token).await?;
        if challenge.service_slug != service.slug {
            return Err(Error::QrNotFound);
        }
        Ok(ChallengeState {
            status: challenge.visible_state(self.core.clock.now()),
            service: challenge.service_slug,
        })
    }

    /// What a phone sees before confirming a scan: which service asks, and from where.
    pub async fn preview(&self, token: &str) -> Result<(ServiceRef, RequestedFrom)> {
        let (challenge, _) = Challenge::load(self.core.stores.ephemeral.as_ref(), token).await?;
        if challenge.stage != Stage::Pending {
            return Err(Error::QrAlreadyScanned);
        }
        if self.core.clock.now() >= challenge.expires_at {
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
        let now = self.core.clock.now();
        self.core.schedule.current().require_open(now)?;
        if let Some(refusal) = user.status.login_refusal() {
            return Err(refusal);
        }
        let store = self.core.stores.ephemeral.as_ref();
        let (challenge, before) = Challenge::load(store, token).await?;
        match challenge.stage {
            Stage::Pending if now >= challenge.expires_at => return Err(Error::QrExpired),
            Stage::Pending => {}
            Stage::Scanned | Stage::Used => return Err(Error::QrAlreadyScanned),
        }
        let pin = format!("{:06}", random_below(1_000_000));
        let pin_ttl = self.core.config.qr.pin_ttl_secs;
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
        AuditEntry::new(Actor::User(user.id), "qr.scanned")
            .target("service", &challenge.service_slug)
            .from_client(context)
            .write(&mut self.core.stores.db.clone(), now)
            .await?;
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

    /// The service checks the PIN the person typed; the right one starts a session there.
    pub async fn verify_pin(
        &self,
        service: &Service,
        token: &str,
        pin: &str,
        context: &RequestContext,
        browser_nonce: Option<&str>,
    ) -> Result<PinLogin> {
        let core = self.core;
        let now = core.clock.now();
        let schedule = core.schedule.current().require_open(now)?;
        if pin.len() != 6 || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("pin", "must be 6 digits"));
        }
        let store = core.stores.ephemeral.as_ref();
        let (challenge, before) = Challenge::load(store, token).await?;
        if challenge.service_slug != service.slug {
            return Err(Error::QrNotFound);
        }
        if let Some(binding) = &challenge.browser_binding {
            let presented = browser_nonce.map(hash_token).unwrap_or_default();
            if !constant_time_eq(binding.as_bytes(), presented.as_bytes()) {
                return Err(Error::Forbidden(
                    "this QR code was shown in another browser".into(),
                ));
            }
        }
        match challenge.stage {
            Stage::Pending if now >= challenge.expires_at => return Err(Error::QrExpired),
            Stage::Pending => return Err(Error::QrNotScanned),
            Stage::Used => return Err(Error::QrAlreadyUsed),
            Stage::Scanned => {}
        }
        let (Some(user_id), Some(pin_mac), Some(pin_expires_at)) = (
            challenge.user_id,
            challenge.pin_mac.as_ref(),
            challenge.pin_expires_at,
        ) else {
            return Err(Error::internal("a scanned challenge lacks its PIN"));
        };
        if now >= pin_expires_at {
            return Err(Error::PinExpired);
        }

        let max = i64::from(core.config.qr.max_pin_attempts);
        let attempts = store.increment(&attempts_key(token), self.ttl()).await?;
        if attempts > max {
            return Err(Error::QrLocked);
        }
        let db = &core.stores.db;
        let admitted = core
            .lockout
            .admit(db, USER_PINS, &user_id.to_string(), now)
            .await?;
        if !constant_time_eq(pin_mac.as_bytes(), self.pin_mac(token, pin).as_bytes()) {
            if let Some(until) = core
                .lockout
                .failed(db, USER_PINS, &user_id.to_string(), admitted, now)
                .await?
            {
                AuditEntry::new(Actor::Anonymous, "user.pin_locked")
                    .target("user", user_id)
                    .from_client(context)
                    .outcome(Outcome::Denied)
                    .detail("locked_until", until.to_string())
                    .write(&mut db.clone(), now)
                    .await?;
            }
            self.history(user_id, &service.slug, Some("PIN_INVALID"), context)
                .await?;
            return Err(if attempts >= max {
                Error::QrLocked
            } else {
                Error::PinInvalid {
                    attempts_left: (max - attempts) as u32,
                }
            });
        }
        core.lockout
            .succeeded(db, USER_PINS, &user_id.to_string(), admitted)
            .await?;

        let used = Challenge {
            stage: Stage::Used,
            ..challenge
        };
        if !used.replace(store, token, &before).await? {
            return Err(Error::QrAlreadyUsed);
        }
        let user = crate::accounts::store::by_id(&mut db.clone(), user_id)
            .await?
            .ok_or(Error::InvalidCredentials)?;
        if user.status != UserStatus::Active {
            let refusal = user
                .status
                .login_refusal()
                .unwrap_or(Error::InvalidCredentials);
            self.history(
                user_id,
                &service.slug,
                Some(refusal.code().as_str()),
                context,
            )
            .await?;
            return Err(refusal);
        }
        self.start_session(&user, service, schedule.closes_at, context)
            .await
    }

    async fn start_session(
        &self,
        user: &User,
        service: &Service,
        closes_at: Option<jiff::Timestamp>,
        context: &RequestContext,
    ) -> Result<PinLogin> {
        let core = self.core;
        let now = core.clock.now();
        let mut expires_at = now + secs(core.config.sessions.service_ttl_secs);
        if let Some(closes_at) = closes_at {
            // A session never outlives closing time.
            expires_at = expires_at.min(closes_at);
        }
        let session = core
            .sessions
            .start(NewSession {
                id: SessionId::new(),
                subject: Subject::User(user.id),
                audience: &service.slug,
                method: LoginMethod::Qr,
                expires_at,
                context,
            })
            .await?;
        let lifetime = expires_at.duration_since(now);
        let (session_token, _) = core.tokens.issue(
            TokenKind::Session,
            &user.id.to_string(),
            &service.slug,
            lifetime,
            TokenSpec {
                sid: Some(session.id.to_string()),
                role: Some("user".into()),
                username: Some(user.username.clone()),
                email: Some(user.email.clone()),
                name: Some(user.full_name.clone()),
            },
        )?;
        let mut tx = core.stores.db.begin().await?;
        LoginAttempt {
            user_id: Some(user.id),
            service: Some(&service.slug),
            method: LoginMethod::Qr,
            failure: None,
            context,
        }
        .record(&mut tx, now)
        .await?;
        Event::about_user(
            "user.logged_in",
            user.id,
            json!({ "user_id": user.id, "method": "qr", "service": service.slug }),
        )
        .enqueue(&mut tx, now)
        .await?;
        tx.commit().await?;
        Ok(PinLogin {
            session_token,
            expires_in: lifetime.as_secs().max(0) as u64,
            session_id: session.id,
            user_info: UserInfo {
                user_id: user.id,
                username: user.username.clone(),
                email: user.email.clone(),
                full_name: user.full_name.clone(),
            },
        })
    }

    async fn history(
        &self,
        user: UserId,
        service: &str,
        failure: Option<&str>,
        context: &RequestContext,
    ) -> Result<()> {
        LoginAttempt {
            user_id: Some(user),
            service: Some(service),
            method: LoginMethod::Qr,
            failure,
            context,
        }
        .record(&mut self.core.stores.db.clone(), self.core.clock.now())
        .await?;
        Ok(())
    }
}

//! Step 3: the PIN typed into the service. Checked only against its own challenge, counted per
//! challenge and per account, and the right one consumes the challenge once and starts a session.

use super::challenge::{Challenge, Stage, attempts_key};
use super::{PinLogin, QrLogin, UserInfo, secs};
use crate::accounts::{User, UserStatus};
use crate::audit::{AuditAction, AuditEntry, Outcome};
use crate::context::{Actor, RequestContext};
use crate::credentials::{TokenKind, TokenSpec, USER_PINS};
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId};
use crate::login_history::{LoginAttempt, record_login};
use crate::secret::{constant_time_eq, hash_token};
use crate::services::Service;
use crate::sessions::{LoginMethod, NewSession, Subject};

impl QrLogin<'_> {
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
        let now = core.base.clock.now();
        let schedule = core.schedule.current().require_open(now)?;
        if pin.len() != 6 || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("pin", "must be 6 digits"));
        }
        let store = core.base.stores.ephemeral.as_ref();
        let (challenge, before) = Challenge::load(store, token).await?;
        if challenge.service_slug != service.slug {
            return Err(Error::QrNotFound);
        }
        if let Some(binding) = &challenge.browser_binding {
            let presented = browser_nonce.map(hash_token).unwrap_or_default();
            if !constant_time_eq(binding.as_bytes(), presented.as_bytes()) {
                return Err(Error::ForeignBrowser);
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

        let max = i64::from(core.base.config.qr.max_pin_attempts);
        let attempts = store.increment(&attempts_key(token), self.ttl()).await?;
        if attempts > max {
            return Err(Error::QrLocked);
        }
        let db = &core.base.stores.db;
        let admitted = core
            .credentials
            .lockout
            .admit(db, USER_PINS, &user_id.to_string(), now)
            .await?;
        if !constant_time_eq(pin_mac.as_bytes(), self.pin_mac(token, pin).as_bytes()) {
            if let Some(meter) = crate::measure::meter() {
                meter.pin_failure();
            }
            if let Some(until) = core
                .credentials
                .lockout
                .failed(db, USER_PINS, &user_id.to_string(), admitted, now)
                .await?
            {
                AuditEntry::new(Actor::Anonymous, AuditAction::UserPinLocked)
                    .target("user", user_id)
                    .from_client(context)
                    .outcome(Outcome::Failure)
                    .detail("locked_until", until.to_string())
                    .write(&mut db.clone(), now)
                    .await?;
                if let Some(meter) = crate::measure::meter() {
                    meter.lockout("pin");
                }
                crate::events::Event::about_user(
                    "user.locked",
                    user_id,
                    serde_json::json!({ "user_id": user_id, "method": "pin",
                                        "locked_until": until.to_string() }),
                )
                .enqueue(&mut db.clone(), now)
                .await?;
            }
            self.history(user_id, &service.slug, Some("PIN_INVALID"), context)
                .await?;
            if attempts >= max {
                super::count_challenge("locked");
            }
            return Err(if attempts >= max {
                Error::QrLocked
            } else {
                Error::PinInvalid {
                    attempts_left: (max - attempts) as u32,
                }
            });
        }
        core.credentials
            .lockout
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
        let login = self
            .start_session(&user, service, schedule.closes_at, context)
            .await?;
        super::count_challenge("completed");
        Ok(login)
    }

    async fn start_session(
        &self,
        user: &User,
        service: &Service,
        closes_at: Option<jiff::Timestamp>,
        context: &RequestContext,
    ) -> Result<PinLogin> {
        let core = self.core;
        let now = core.base.clock.now();
        let mut expires_at = now + secs(core.base.config.sessions.service_ttl_secs);
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
        let (session_token, _) = core.credentials.tokens.issue(
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
        let mut tx = core.base.stores.db.begin().await?;
        record_login(
            &mut tx,
            user.id,
            Some(&service.slug),
            LoginMethod::Qr,
            context,
            now,
        )
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
        .record(
            &mut self.core.base.stores.db.clone(),
            self.core.base.clock.now(),
        )
        .await?;
        Ok(())
    }
}

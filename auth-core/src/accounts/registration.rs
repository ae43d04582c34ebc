//! Registering, verifying the email address, and asking for the verification mail again.

use std::time::Duration;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::email_tokens::{self, Purpose};
use super::store::{self, Change, NewUser};
use super::{Accounts, User, UserStatus};
use crate::audit::{AuditAction, AuditEntry};
use crate::clock::SharedClock;
use crate::context::{Actor, RequestContext};
use crate::error::{Error, FieldError, Result};
use crate::events::Event;
use crate::ids::UserId;
use crate::mail::{AfterAnswer, Mailer, messages};
use crate::naming;
use crate::secret::Secret;
use crate::store::sql::Db;

/// What a person gives to register.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Registration {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::registration_email))]
    pub email: String,
    /// 3 to 32 letters, digits, dots, dashes or underscores, starting with a letter or digit.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}(?![\s\S])")
    )]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::full_name))]
    pub full_name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::new_password))]
    pub password: Secret,
    /// The same password again.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, format = Password, min_length = 10, max_length = 256)
    )]
    pub password_confirmation: Secret,
}

/// The new account.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registered {
    pub user_id: UserId,
    pub email: String,
    pub status: UserStatus,
}

impl Accounts<'_> {
    /// Registers an account (unverified) and mails the verification link. Refuses invalid fields
    /// (all of them at once) and taken emails or usernames (case-insensitively).
    pub async fn register(
        &self,
        input: Registration,
        context: &RequestContext,
    ) -> Result<Registered> {
        let mut problems: Vec<FieldError> = [
            naming::check_email(&input.email),
            naming::check_username(&input.username),
            naming::check_full_name(&input.full_name),
        ]
        .into_iter()
        .flatten()
        .collect();
        let password = match self.core.passwords.policy.check(
            "password",
            input.password.expose(),
            &[input.email.trim(), input.username.trim()],
        ) {
            Ok(password) => Some(password),
            Err(Error::Validation(mut fields)) => {
                problems.append(&mut fields);
                None
            }
            Err(other) => return Err(other),
        };
        if input.password != input.password_confirmation {
            problems.push(FieldError::new(
                "password_confirmation",
                "does not match the password",
            ));
        }
        let Some(password) = password.filter(|_| problems.is_empty()) else {
            return Err(Error::Validation(problems));
        };

        let db = &self.core.base.stores.db;
        if store::email_taken(db, &input.email).await? {
            return Err(Error::DuplicateEmail);
        }
        if store::username_taken(db, &input.username).await? {
            return Err(Error::DuplicateUsername);
        }
        let hash = self.core.passwords.hasher.hash(&password).await?;

        let now = self.core.base.clock.now();
        let id = UserId::new();
        let mut tx = db.begin().await?;
        store::insert(
            &mut tx,
            NewUser {
                id,
                email: &input.email,
                username: &input.username,
                full_name: &input.full_name,
                password_hash: &hash,
                now,
            },
        )
        .await?;
        let token = email_tokens::issue(
            &mut tx,
            id,
            Purpose::VerifyEmail,
            self.verification_ttl(),
            now,
        )
        .await?;
        Event::about_user(
            "user.registered",
            id,
            json!({ "user_id": id, "email": input.email.trim(), "username": input.username }),
        )
        .enqueue(&mut tx, now)
        .await?;
        AuditEntry::new(Actor::User(id), AuditAction::UserRegistered)
            .target("user", id)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        self.verification_mail(input.email.trim(), input.full_name.trim(), &token)
            .enqueue(&mut tx, now)
            .await?;
        tx.commit().await.map_err(store::duplicate_error)?;
        self.core.mailer.wake();
        Ok(Registered {
            user_id: id,
            email: input.email.trim().to_string(),
            status: UserStatus::Unverified,
        })
    }

    fn verification_ttl(&self) -> SignedDuration {
        SignedDuration::from_secs(self.core.base.config.tokens.email_verification_ttl_secs as i64)
    }

    fn verification_mail(&self, to: &str, name: &str, token: &Secret) -> crate::mail::OutgoingMail {
        messages::verify_email(
            to,
            name,
            &self.core.base.config.gateway.public_url,
            token.expose(),
            self.core.base.config.tokens.email_verification_ttl_secs / 3600,
        )
    }

    /// Verifies the email address with the mailed token; the account then waits for approval and
    /// every admin is told.
    pub async fn verify_email(&self, token: &str, context: &RequestContext) -> Result<User> {
        let now = self.core.base.clock.now();
        let mut tx = self.core.base.stores.db.begin().await?;
        let id = email_tokens::redeem(&mut tx, token, Purpose::VerifyEmail, now).await?;
        let user = store::apply(&mut tx, id, Change::EmailVerified, now).await?;
        Event::about_user("user.email_verified", id, json!({ "user_id": id }))
            .enqueue(&mut tx, now)
            .await?;
        AuditEntry::new(Actor::User(id), AuditAction::UserEmailVerified)
            .target("user", id)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        super::notices::notify_admins(&mut tx, now, &self.core.base.config.gateway.public_url)
            .await?;
        tx.commit().await?;
        self.core.mailer.wake();
        Ok(user)
    }

    /// Tells the admins of accounts that arrived while their notice window was still open
    /// (run in the background every minute); how many mails were queued.
    pub async fn notify_waiting_admins(&self) -> Result<usize> {
        let now = self.core.base.clock.now();
        let mut tx = self.core.base.stores.db.begin().await?;
        let queued =
            super::notices::notify_admins(&mut tx, now, &self.core.base.config.gateway.public_url)
                .await?;
        tx.commit().await?;
        if queued > 0 {
            self.core.mailer.wake();
        }
        Ok(queued)
    }

    /// Sends a new verification link to `email` if it names an unverified account. Says nothing
    /// about whether it does, in its answer or in its timing: the lookup, the token and the mail
    /// happen after the answer (see [`AfterAnswer`]). Refuses with RATE_LIMITED past the hourly
    /// allowance per address, known or not.
    pub async fn resend_verification(
        &self,
        email: &str,
        context: &RequestContext,
    ) -> Result<AfterAnswer> {
        let normalized = naming::normalize_email(email);
        let count = self
            .core
            .base
            .stores
            .ephemeral
            .increment(
                &format!("verify-resend:{normalized}"),
                Duration::from_secs(3600),
            )
            .await?;
        if count > i64::from(self.core.base.config.accounts.verification_resends_per_hour) {
            return Err(Error::RateLimited {
                retry_after_secs: 3600,
            });
        }
        let core = self.core;
        let job = VerificationMail {
            db: core.base.stores.db.clone(),
            clock: core.base.clock.clone(),
            mailer: core.mailer.clone(),
            public_url: core.base.config.gateway.public_url.clone(),
            ttl_secs: core.base.config.tokens.email_verification_ttl_secs,
            email: normalized,
            context: context.clone(),
        };
        Ok(AfterAnswer::start("verification mail", job.send()).await)
    }
}

/// What mailing a new verification link needs, owned, so it can run after the answer.
struct VerificationMail {
    db: Db,
    clock: SharedClock,
    mailer: Mailer,
    public_url: String,
    ttl_secs: u64,
    /// Normalised.
    email: String,
    context: RequestContext,
}

impl VerificationMail {
    async fn send(self) -> Result<()> {
        let Some((user, _)) = store::for_login(&self.db, &self.email).await? else {
            return Ok(());
        };
        if user.status != UserStatus::Unverified
            || naming::normalize_email(&user.email) != self.email
        {
            return Ok(());
        }
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let token = email_tokens::issue(
            &mut tx,
            user.id,
            Purpose::VerifyEmail,
            SignedDuration::from_secs(i64::try_from(self.ttl_secs).unwrap_or(i64::MAX)),
            now,
        )
        .await?;
        messages::verify_email(
            &user.email,
            &user.full_name,
            &self.public_url,
            token.expose(),
            self.ttl_secs / 3600,
        )
        .enqueue(&mut tx, now)
        .await?;
        AuditEntry::new(Actor::User(user.id), AuditAction::UserVerificationResent)
            .target("user", user.id)
            .from_client(&self.context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        self.mailer.wake();
        Ok(())
    }
}

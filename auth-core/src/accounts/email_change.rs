//! Moving an account to a new email address. The signed-in person asks; the new address gets a
//! single-use link and the current one a notice, and the account moves only when the link is
//! opened, so a typo or a stolen sign-in cannot take the account to an address nobody checked.

use jiff::SignedDuration;
use serde_json::json;

use super::email_tokens::{self, Purpose};
use super::{Accounts, User, UserStatus, store};
use crate::audit::{AuditAction, AuditEntry};
use crate::context::{Actor, RequestContext};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::mail::messages;
use crate::naming;

impl Accounts<'_> {
    /// Starts moving `user`'s account to `new_email`: a link to the new address, a notice to the
    /// current one, both in the transaction of the token. Refuses a malformed address and the
    /// account's own. An address another account has gets the same answer and no mail, so the
    /// form tells nobody which addresses have accounts; the move is checked again when the link is
    /// opened.
    pub async fn request_email_change(
        &self,
        user: &User,
        new_email: &str,
        context: &RequestContext,
    ) -> Result<()> {
        if let Some(problem) = naming::check_email(new_email) {
            return Err(Error::Validation(vec![problem]));
        }
        let new_email = new_email.trim();
        if naming::normalize_email(new_email) == naming::normalize_email(&user.email) {
            return Err(Error::invalid(
                "email",
                "is already the address of your account",
            ));
        }
        let db = &self.core.base.stores.db;
        let taken = store::email_taken(db, new_email).await?;
        let now = self.core.base.clock.now();
        let ttl_secs = self.core.base.config.tokens.email_verification_ttl_secs;
        let mut tx = db.begin().await?;
        AuditEntry::new(Actor::User(user.id), AuditAction::UserEmailChangeRequested)
            .target("user", user.id)
            .from_client(context)
            .detail("new_email", new_email)
            .write(&mut tx, now)
            .await?;
        messages::email_change_notice(&user.email, &user.full_name, new_email)
            .enqueue(&mut tx, now)
            .await?;
        if !taken {
            let token = email_tokens::issue_carrying(
                &mut tx,
                user.id,
                Purpose::ChangeEmail,
                SignedDuration::from_secs(i64::try_from(ttl_secs).unwrap_or(i64::MAX)),
                now,
                Some(new_email),
            )
            .await?;
            messages::email_change_link(
                new_email,
                &user.full_name,
                &self.core.base.config.gateway.public_url,
                token.expose(),
                ttl_secs / 3600,
            )
            .enqueue(&mut tx, now)
            .await?;
        }
        tx.commit().await?;
        self.core.mailer.wake();
        Ok(())
    }

    /// Uses a link mailed by [`Accounts::request_email_change`]: the account's address is the new
    /// one from now on. Works once; refuses an expired link, an account that can no longer sign
    /// in, and an address another account took meanwhile (DUPLICATE_EMAIL, nothing changed).
    pub async fn confirm_email_change(
        &self,
        token: &str,
        context: &RequestContext,
    ) -> Result<User> {
        let now = self.core.base.clock.now();
        let mut tx = self.core.base.stores.db.begin().await?;
        let (id, new_email) =
            email_tokens::redeem_carrying(&mut tx, token, Purpose::ChangeEmail, now).await?;
        let new_email = new_email.ok_or(Error::InvalidToken)?;
        let user = store::by_id(&mut tx, id)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or(Error::InvalidToken)?;
        store::set_email(&mut tx, id, &new_email, now).await?;
        AuditEntry::new(Actor::User(id), AuditAction::UserEmailChanged)
            .target("user", id)
            .from_client(context)
            .detail("old_email", user.email.as_str())
            .detail("new_email", new_email.as_str())
            .write(&mut tx, now)
            .await?;
        Event::about_user(
            "user.email_changed",
            id,
            json!({ "user_id": id, "email": new_email }),
        )
        .enqueue(&mut tx, now)
        .await?;
        tx.commit().await.map_err(store::duplicate_error)?;
        store::by_id(&mut self.core.base.stores.db.clone(), id)
            .await?
            .ok_or(Error::InvalidToken)
    }
}

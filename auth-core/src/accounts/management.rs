//! Managing accounts after the decision: listing, blocking, soft deletion and restoring (by admins),
//! and a person's own profile.

use serde::Deserialize;

use super::store::Change;
use super::{Accounts, User, UserQuery, store};
use crate::access::{AdminRead, AdminWrite};
use crate::audit::{AuditAction, AuditEntry};
use crate::context::{Actor, RequestContext};
use crate::error::{Error, FieldError, Result};
use crate::ids::UserId;
use crate::mail::{OutgoingMail, messages};
use crate::naming;
use crate::page::{Page, PageRequest};
use crate::sessions::Subject;

/// What a person may change about themselves.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProfileChanges {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::new_full_name))]
    pub full_name: Option<String>,
    /// 3 to 32 letters, digits, dots, dashes or underscores, starting with a letter or digit;
    /// null keeps it. At least one of the two fields must be given.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}(?![\s\S])")
    )]
    pub username: Option<String>,
}

impl Accounts<'_> {
    /// Users matching `query`, newest first.
    pub async fn list(
        &self,
        _reader: &AdminRead,
        query: &UserQuery,
        page: PageRequest,
    ) -> Result<Page<User>> {
        store::list(&self.core.base.stores.db, query, page, false).await
    }

    pub async fn get(&self, _reader: &AdminRead, id: UserId) -> Result<User> {
        store::by_id(&mut self.core.base.stores.db.clone(), id)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// Blocks an active account and signs it out everywhere.
    pub async fn block(
        &self,
        admin: &AdminWrite,
        id: UserId,
        reason: Option<&str>,
        context: &RequestContext,
    ) -> Result<User> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > 500) {
            return Err(Error::invalid("reason", "must be at most 500 characters"));
        }
        let notice = |user: &User| messages::blocked(&user.email, &user.full_name, reason);
        let user = self
            .change_with_notice(
                admin.actor(),
                id,
                Change::Blocked { reason },
                AuditAction::UserBlocked,
                context,
                Some(&notice),
            )
            .await?;
        self.sign_out_everywhere(id, "blocked").await?;
        Ok(user)
    }

    /// Lets a blocked account log in again.
    pub async fn unblock(
        &self,
        admin: &AdminWrite,
        id: UserId,
        context: &RequestContext,
    ) -> Result<User> {
        let notice = |user: &User| messages::unblocked(&user.email, &user.full_name);
        self.change_with_notice(
            admin.actor(),
            id,
            Change::Unblocked,
            AuditAction::UserUnblocked,
            context,
            Some(&notice),
        )
        .await
    }

    /// Soft-deletes an account (an admin's decision): it can no longer log in, and
    /// [`Accounts::restore`] brings it back as it was.
    pub async fn delete(
        &self,
        admin: &AdminWrite,
        id: UserId,
        context: &RequestContext,
    ) -> Result<User> {
        self.soft_delete(admin.actor(), id, context).await
    }

    /// The signed-in person `user` deletes their own account (softly, as [`Accounts::delete`]);
    /// the caller has checked the person's credential.
    pub async fn delete_own(&self, user: UserId, context: &RequestContext) -> Result<User> {
        self.soft_delete(Actor::User(user), user, context).await
    }

    async fn soft_delete(
        &self,
        actor: Actor,
        id: UserId,
        context: &RequestContext,
    ) -> Result<User> {
        let user = self
            .change(
                actor,
                id,
                Change::Deleted,
                AuditAction::UserDeleted,
                context,
            )
            .await?;
        self.sign_out_everywhere(id, "deleted").await?;
        Ok(user)
    }

    /// Brings a deleted account back in the state it had.
    pub async fn restore(
        &self,
        admin: &AdminWrite,
        id: UserId,
        context: &RequestContext,
    ) -> Result<User> {
        self.change(
            admin.actor(),
            id,
            Change::Restored,
            AuditAction::UserRestored,
            context,
        )
        .await
    }

    /// Changes a person's own name or username.
    pub async fn update_profile(
        &self,
        id: UserId,
        changes: ProfileChanges,
        context: &RequestContext,
    ) -> Result<User> {
        let problems: Vec<FieldError> = [
            changes
                .full_name
                .as_deref()
                .and_then(naming::check_full_name),
            changes.username.as_deref().and_then(naming::check_username),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        if changes.full_name.is_none() && changes.username.is_none() {
            return Err(Error::invalid(
                "body",
                "name at least one of full_name, username",
            ));
        }
        let change = Change::Profile {
            full_name: changes.full_name.as_deref(),
            username: changes.username.as_deref(),
        };
        self.change(
            Actor::User(id),
            id,
            change,
            AuditAction::UserProfileUpdated,
            context,
        )
        .await
    }

    /// One audited change in its own transaction.
    async fn change(
        &self,
        actor: Actor,
        id: UserId,
        change: Change<'_>,
        action: AuditAction,
        context: &RequestContext,
    ) -> Result<User> {
        self.change_with_notice(actor, id, change, action, context, None)
            .await
    }

    /// One audited change in its own transaction, with the mail that tells the person queued
    /// in the same transaction.
    async fn change_with_notice(
        &self,
        actor: Actor,
        id: UserId,
        change: Change<'_>,
        action: AuditAction,
        context: &RequestContext,
        notice: Option<&(dyn Fn(&User) -> OutgoingMail + Sync)>,
    ) -> Result<User> {
        let now = self.core.base.clock.now();
        let mut tx = self.core.base.stores.db.begin().await?;
        let user = store::apply(&mut tx, id, change, now).await?;
        AuditEntry::new(actor, action)
            .target("user", id)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        if let Some(notice) = notice {
            notice(&user).enqueue(&mut tx, now).await?;
        }
        tx.commit().await?;
        if notice.is_some() {
            self.core.mailer.wake();
        }
        Ok(user)
    }

    async fn sign_out_everywhere(&self, id: UserId, reason: &str) -> Result<()> {
        self.core
            .sessions
            .end_all(&Subject::User(id), reason, None)
            .await?;
        Ok(())
    }
}

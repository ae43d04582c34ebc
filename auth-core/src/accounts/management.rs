//! Managing accounts after the decision: listing, blocking, soft deletion and restoring (by admins),
//! and a person's own profile.

use serde::Deserialize;

use super::{Accounts, User, UserQuery, UserStatus, rules, store};
use crate::audit::AuditEntry;
use crate::context::{Actor, RequestContext};
use crate::credentials::{AdminRead, AdminWrite, Ending, Principal};
use crate::error::{Error, FieldError, Result};
use crate::ids::UserId;
use crate::page::{Page, PageRequest};
use crate::params;
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
        store::list(&self.core.stores.db, query, page, false).await
    }

    pub async fn get(&self, _reader: &AdminRead, id: UserId) -> Result<User> {
        store::by_id(&mut self.core.stores.db.clone(), id)
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
        let user = self
            .change(
                admin.actor(),
                id,
                &[UserStatus::Active],
                "status = 'blocked', blocked_reason = $2, updated_at = $3",
                params![reason, self.core.clock.now()],
                "user.blocked",
                context,
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
        self.change(
            admin.actor(),
            id,
            &[UserStatus::Blocked],
            "status = 'active', blocked_reason = NULL, updated_at = $2",
            params![self.core.clock.now()],
            "user.unblocked",
            context,
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

    /// The signed-in person deletes their own account (softly, as [`Accounts::delete`]).
    pub async fn delete_own(&self, person: &Principal, context: &RequestContext) -> Result<User> {
        let user = person.require_user()?;
        self.soft_delete(person.actor(), user.id, context).await
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
                &[
                    UserStatus::Unverified,
                    UserStatus::Pending,
                    UserStatus::Active,
                    UserStatus::Blocked,
                    UserStatus::Rejected,
                ],
                "status_before_delete = status, status = 'deleted', deleted_at = $2, updated_at = $2",
                params![self.core.clock.now()],
                "user.deleted",
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
            &[UserStatus::Deleted],
            "status = COALESCE(status_before_delete, 'active'), status_before_delete = NULL,
             deleted_at = NULL, updated_at = $2",
            params![self.core.clock.now()],
            "user.restored",
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
                .and_then(rules::check_full_name),
            changes.username.as_deref().and_then(rules::check_username),
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
        self.change(
            Actor::User(id),
            id,
            &[UserStatus::Active],
            "full_name = COALESCE($2, full_name), username = COALESCE($3, username),
             username_normalized = COALESCE($4, username_normalized), updated_at = $5",
            params![
                changes.full_name.as_deref().map(str::trim),
                changes.username.clone(),
                changes.username.as_deref().map(rules::normalize_username),
                self.core.clock.now()
            ],
            "user.profile_updated",
            context,
        )
        .await
    }

    /// One audited state change in its own transaction.
    #[allow(clippy::too_many_arguments)]
    async fn change(
        &self,
        actor: Actor,
        id: UserId,
        from: &[UserStatus],
        assignments: &str,
        values: Vec<crate::store::sql::SqlValue>,
        action: &str,
        context: &RequestContext,
    ) -> Result<User> {
        let now = self.core.clock.now();
        let mut tx = self.core.stores.db.begin().await?;
        let user = store::transition(&mut tx, id, from, assignments, values).await?;
        AuditEntry::new(actor, action)
            .target("user", id)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn sign_out_everywhere(&self, id: UserId, reason: &str) -> Result<()> {
        crate::credentials::sign_out_everywhere(
            self.core,
            Subject::User(id),
            reason,
            Ending::default(),
        )
        .await?;
        Ok(())
    }
}

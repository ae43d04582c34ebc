//! An admin correcting a person's name or email address (a typo at registration, a new address at
//! work). The admin vouches for the new address, so it applies at once; both the old and the new
//! address are told, and the change is audited with the admin, in the same transaction.

use serde::Deserialize;
use serde_json::json;

use super::{Accounts, User, UserStatus, store};
use crate::access::AdminWrite;
use crate::audit::{AuditAction, AuditEntry};
use crate::context::RequestContext;
use crate::error::{Error, FieldError, Result};
use crate::events::Event;
use crate::ids::UserId;
use crate::mail::messages;
use crate::naming;

/// What an admin may correct about a person; None keeps it.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AdminEdit {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::new_full_name))]
    pub full_name: Option<String>,
    /// The new address: applied at once (no confirmation mail, the admin vouches for it), and
    /// both the old and the new address are told.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::new_email))]
    pub email: Option<String>,
}

impl Accounts<'_> {
    /// Sets user `id`'s name and address as admin `admin` typed them. A deleted account is
    /// refused (restore it first); an address another account has is refused
    /// (`DUPLICATE_EMAIL`), and then nothing changes.
    pub async fn edit_by_admin(
        &self,
        admin: &AdminWrite,
        id: UserId,
        edit: AdminEdit,
        context: &RequestContext,
    ) -> Result<User> {
        let problems: Vec<FieldError> = [
            edit.full_name.as_deref().and_then(naming::check_full_name),
            edit.email.as_deref().and_then(naming::check_email),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        let now = self.core.base.clock.now();
        let mut tx = self.core.base.stores.db.begin().await?;
        let before = store::by_id(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("user"))?;
        if before.status == UserStatus::Deleted {
            return Err(Error::Conflict(
                "the account is deleted; restore it before changing it".into(),
            ));
        }
        let full_name = edit
            .full_name
            .as_deref()
            .map(str::trim)
            .filter(|name| *name != before.full_name);
        let email = edit.email.as_deref().map(str::trim).filter(|email| {
            naming::normalize_email(email) != naming::normalize_email(&before.email)
        });
        if full_name.is_none() && email.is_none() {
            return Ok(before);
        }
        if let Some(full_name) = full_name {
            store::set_full_name(&mut tx, id, full_name, now).await?;
            AuditEntry::new(admin.actor(), AuditAction::UserProfileUpdated)
                .target("user", id)
                .from_client(context)
                .detail("full_name", full_name)
                .write(&mut tx, now)
                .await?;
        }
        let name = full_name.unwrap_or(&before.full_name);
        if let Some(email) = email {
            store::set_email(&mut tx, id, email, now).await?;
            AuditEntry::new(admin.actor(), AuditAction::UserEmailChanged)
                .target("user", id)
                .from_client(context)
                .detail("old_email", before.email.as_str())
                .detail("new_email", email)
                .detail("by_admin", true)
                .write(&mut tx, now)
                .await?;
            Event::about_user(
                "user.email_changed",
                id,
                json!({ "user_id": id, "email": email }),
            )
            .enqueue(&mut tx, now)
            .await?;
            for to in [before.email.as_str(), email] {
                messages::email_changed_by_admin(to, name, email)
                    .enqueue(&mut tx, now)
                    .await?;
            }
        }
        tx.commit().await.map_err(store::duplicate_error)?;
        if email.is_some() {
            self.core.mailer.wake();
        }
        store::by_id(&mut self.core.base.stores.db.clone(), id)
            .await?
            .ok_or(Error::NotFound("user"))
    }
}

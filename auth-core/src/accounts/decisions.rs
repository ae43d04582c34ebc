//! The approval queue: admins approve or reject verified accounts. Two admins deciding the same
//! account at once: one wins, the other gets a conflict, and one notification goes out.

use serde_json::json;

use super::store::Change;
use super::{Accounts, User, UserStatus, store};
use crate::access::{AdminRead, AdminWrite};
use crate::audit::{AuditAction, AuditEntry};
use crate::context::RequestContext;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::UserId;
use crate::mail::messages;
use crate::page::{Page, PageRequest};
use crate::secret::random_bytes;

impl Accounts<'_> {
    /// Verified accounts waiting for a decision, oldest first.
    pub async fn pending(&self, _reader: &AdminRead, page: PageRequest) -> Result<Page<User>> {
        let query = store::UserQuery {
            status: Some(UserStatus::Pending),
            ..Default::default()
        };
        store::list(&self.core.base.stores.db, &query, page, true).await
    }

    /// Activates a pending account and gives it its stable `auth_key`.
    pub async fn approve(
        &self,
        admin: &AdminWrite,
        id: UserId,
        context: &RequestContext,
    ) -> Result<User> {
        let now = self.core.base.clock.now();
        let auth_key = format!("ak_{}", hex::encode(random_bytes::<16>()));
        let mut tx = self.core.base.stores.db.begin().await?;
        let change = Change::Approved {
            auth_key: &auth_key,
            by: admin.actor().id(),
        };
        let user = store::apply(&mut tx, id, change, now).await?;
        Event::about_user(
            "user.approved",
            id,
            json!({ "user_id": id, "approved_by": admin.actor().id() }),
        )
        .enqueue(&mut tx, now)
        .await?;
        AuditEntry::new(admin.actor(), AuditAction::UserApproved)
            .target("user", id)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        messages::approved(
            &user.email,
            &user.full_name,
            &self.core.base.config.gateway.public_url,
        )
        .enqueue(&mut tx, now)
        .await?;
        tx.commit().await?;
        self.core.mailer.wake();
        Ok(user)
    }

    /// Rejects a pending account, with a reason the person is told.
    pub async fn reject(
        &self,
        admin: &AdminWrite,
        id: UserId,
        reason: &str,
        context: &RequestContext,
    ) -> Result<User> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(Error::invalid("reason", "must be 1 to 500 characters"));
        }
        let now = self.core.base.clock.now();
        let mut tx = self.core.base.stores.db.begin().await?;
        let change = Change::Rejected {
            reason,
            by: admin.actor().id(),
        };
        let user = store::apply(&mut tx, id, change, now).await?;
        Event::about_user(
            "user.rejected",
            id,
            json!({ "user_id": id, "rejected_by": admin.actor().id(), "reason": reason }),
        )
        .enqueue(&mut tx, now)
        .await?;
        AuditEntry::new(admin.actor(), AuditAction::UserRejected)
            .target("user", id)
            .from_client(context)
            .detail("reason", reason)
            .write(&mut tx, now)
            .await?;
        messages::rejected(&user.email, &user.full_name, reason)
            .enqueue(&mut tx, now)
            .await?;
        tx.commit().await?;
        self.core.mailer.wake();
        Ok(user)
    }
}

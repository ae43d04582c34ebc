//! Refresh tokens: opaque, 256 random bits, stored as hashes, in families (one per login). Each use
//! spends the token and issues the next. Presenting a spent token means it was copied: the whole
//! family is revoked. Except that two refreshes of the same token within a short grace window (two
//! tabs) both get the same new pair, kept sealed for the window under a key only the holder of the
//! old token can derive.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use super::master_key::{open_with, seal_with};
use super::{Credentials, LoginTokens};
use crate::accounts::UserStatus;
use crate::audit::{AuditAction, AuditEntry, Outcome};
use crate::context::{Actor, RequestContext};
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId};
use crate::secret::{Secret, hash_token, random_token};
use crate::sessions::Subject;
use crate::sessions::store as families;
use crate::store::sql::Executor;

const REFRESH_PREFIX: &str = "rt_";

/// How long a loser of a refresh race waits for the winner's pair.
const GRACE_WAIT: Duration = Duration::from_secs(2);

/// Starts a family (its id is the session id) and returns its first token.
pub(super) async fn start_family(
    ex: &mut dyn Executor,
    family: SessionId,
    subject: Subject,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<Secret> {
    families::start_family(ex, family, subject, now).await?;
    mint(ex, family, expires_at, now).await
}

async fn mint(
    ex: &mut dyn Executor,
    family: SessionId,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<Secret> {
    let token = random_token(REFRESH_PREFIX);
    families::add_token(ex, family, hash_token(token.expose()), expires_at, now).await?;
    Ok(token)
}

fn grace_key(token: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"refresh-grace:")
        .chain_update(token.as_bytes())
        .finalize()
        .into()
}

impl Credentials<'_> {
    /// Spends `refresh_token` and returns a new access and refresh token.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        context: &RequestContext,
    ) -> Result<LoginTokens> {
        let core = self.core;
        let db = &core.base.stores.db;
        let hash = hash_token(refresh_token.trim());
        let found = families::token_by_hash(db, &hash)
            .await?
            .ok_or(Error::InvalidToken)?;
        let family = found.family;
        if found.family_revoked || found.subject_kind != "user" {
            return Err(Error::InvalidToken);
        }
        let user_id: UserId = found.subject_id.parse().map_err(|_| Error::InvalidToken)?;
        let now = core.base.clock.now();
        let grace = SignedDuration::from_secs(core.base.config.tokens.refresh_grace_secs as i64);

        if found.spent_at.is_none() {
            if found.expires_at <= now {
                return Err(Error::ExpiredToken);
            }
            if families::spend_token(db, &found.token_id, now).await? {
                return self
                    .rotate(refresh_token, &hash, family, user_id, context)
                    .await;
            }
        }

        // Spent already: the twin of a concurrent refresh, or a stolen copy.
        let spent_at = families::token_spent_at(db, &hash).await?;
        if spent_at.is_some_and(|at| now.duration_since(at) < grace)
            && let Some(pair) = self.wait_for_twin(refresh_token, &hash).await?
        {
            return Ok(pair);
        }
        self.revoke_family(family, user_id, "refresh token reused", context)
            .await?;
        Err(Error::InvalidToken)
    }

    async fn rotate(
        &self,
        old_token: &str,
        old_hash: &str,
        family: SessionId,
        user_id: UserId,
        context: &RequestContext,
    ) -> Result<LoginTokens> {
        let core = self.core;
        let user = crate::accounts::store::by_id(&mut core.base.stores.db.clone(), user_id)
            .await?
            .ok_or(Error::InvalidToken)?;
        if user.status != UserStatus::Active {
            self.revoke_family(family, user_id, "account no longer active", context)
                .await?;
            return Err(user.status.login_refusal().unwrap_or(Error::InvalidToken));
        }
        let now = core.base.clock.now();
        let expires_at =
            now + SignedDuration::from_secs(core.base.config.tokens.refresh_ttl_secs as i64);
        if !core.sessions.extend(&family, expires_at).await? {
            // The session was ended (logout, revocation): the family goes with it.
            self.revoke_family(family, user_id, "session ended", context)
                .await?;
            return Err(Error::InvalidToken);
        }
        let mut tx = core.base.stores.db.begin().await?;
        let next = mint(&mut tx, family, expires_at, now).await?;
        AuditEntry::new(Actor::User(user_id), AuditAction::TokenRefreshed)
            .target("session", family)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        let pair = self.tokens_for(&user, family, next)?;
        let sealed = seal_with(
            &grace_key(old_token),
            old_hash.as_bytes(),
            &serde_json::to_vec(&pair).map_err(Error::internal)?,
        )?;
        let grace = Duration::from_secs(core.base.config.tokens.refresh_grace_secs.max(1));
        core.base
            .stores
            .ephemeral
            .put(&format!("refresh-grace:{old_hash}"), sealed, grace)
            .await?;
        Ok(pair)
    }

    /// The pair the winner of a refresh race issued, once it is stored.
    async fn wait_for_twin(&self, token: &str, hash: &str) -> Result<Option<LoginTokens>> {
        let deadline = tokio::time::Instant::now() + GRACE_WAIT;
        loop {
            if let Some(sealed) = self
                .core
                .base
                .stores
                .ephemeral
                .get(&format!("refresh-grace:{hash}"))
                .await?
            {
                let plain = open_with(&grace_key(token), hash.as_bytes(), &sealed)?;
                return Ok(Some(
                    serde_json::from_slice(&plain).map_err(Error::internal)?,
                ));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn revoke_family(
        &self,
        family: SessionId,
        user_id: UserId,
        reason: &str,
        context: &RequestContext,
    ) -> Result<()> {
        let core = self.core;
        let now = core.base.clock.now();
        let mut tx = core.base.stores.db.begin().await?;
        families::revoke_families(&mut tx, families::Families::One(family), reason, now).await?;
        AuditEntry::new(Actor::Anonymous, AuditAction::RefreshFamilyRevoked)
            .target("user", user_id)
            .from_client(context)
            .outcome(Outcome::Denied)
            .detail("session", family.to_string())
            .detail("reason", reason)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        core.sessions.revoke(&family).await?;
        Ok(())
    }
}

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
use crate::audit::{AuditEntry, Outcome};
use crate::context::{Actor, RequestContext};
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId, row_id};
use crate::params;
use crate::secret::{Secret, hash_token, random_token};
use crate::sessions::Subject;
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
    ex.run_execute(
        "INSERT INTO refresh_families (id, subject_kind, subject_id, created_at) VALUES ($1, $2, $3, $4)",
        params![family, subject.kind(), subject.id_string(), now],
    )
    .await?;
    mint(ex, family, expires_at, now).await
}

async fn mint(
    ex: &mut dyn Executor,
    family: SessionId,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<Secret> {
    let token = random_token(REFRESH_PREFIX);
    ex.run_execute(
        "INSERT INTO refresh_tokens (id, family_id, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        params![
            row_id(),
            family,
            hash_token(token.expose()),
            now,
            expires_at
        ],
    )
    .await?;
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
        let db = &core.stores.db;
        let hash = hash_token(refresh_token.trim());
        let row = db
            .query_opt(
                "SELECT t.id, t.family_id, t.expires_at, t.spent_at, f.subject_kind, f.subject_id,
                        f.revoked_at
                 FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
                 WHERE t.token_hash = $1",
                params![hash.clone()],
            )
            .await?
            .ok_or(Error::InvalidToken)?;
        let family: SessionId = row.get("family_id")?;
        if row.get::<Option<Timestamp>>("revoked_at")?.is_some()
            || row.get::<String>("subject_kind")? != "user"
        {
            return Err(Error::InvalidToken);
        }
        let user_id: UserId = row
            .get::<String>("subject_id")?
            .parse()
            .map_err(|_| Error::InvalidToken)?;
        let now = core.clock.now();
        let grace = SignedDuration::from_secs(core.config.tokens.refresh_grace_secs as i64);

        if row.get::<Option<Timestamp>>("spent_at")?.is_none() {
            if row.get::<Timestamp>("expires_at")? <= now {
                return Err(Error::ExpiredToken);
            }
            let token_id: String = row.get("id")?;
            let won = db
                .execute(
                    "UPDATE refresh_tokens SET spent_at = $2 WHERE id = $1 AND spent_at IS NULL",
                    params![token_id, now],
                )
                .await?
                == 1;
            if won {
                return self
                    .rotate(refresh_token, &hash, family, user_id, context)
                    .await;
            }
        }

        // Spent already: the twin of a concurrent refresh, or a stolen copy.
        let spent_at: Option<Timestamp> = db
            .query_one(
                "SELECT spent_at FROM refresh_tokens WHERE token_hash = $1",
                params![hash.clone()],
            )
            .await?
            .get("spent_at")?;
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
        let user = crate::accounts::store::by_id(&mut core.stores.db.clone(), user_id)
            .await?
            .ok_or(Error::InvalidToken)?;
        if user.status != UserStatus::Active {
            self.revoke_family(family, user_id, "account no longer active", context)
                .await?;
            return Err(user.status.login_refusal().unwrap_or(Error::InvalidToken));
        }
        let now = core.clock.now();
        let expires_at =
            now + SignedDuration::from_secs(core.config.tokens.refresh_ttl_secs as i64);
        if !core.sessions.extend(&family, expires_at).await? {
            // The session was ended (logout, revocation): the family goes with it.
            self.revoke_family(family, user_id, "session ended", context)
                .await?;
            return Err(Error::InvalidToken);
        }
        let mut tx = core.stores.db.begin().await?;
        let next = mint(&mut tx, family, expires_at, now).await?;
        AuditEntry::new(Actor::User(user_id), "token.refreshed")
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
        let grace = Duration::from_secs(core.config.tokens.refresh_grace_secs.max(1));
        core.stores
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
        let now = core.clock.now();
        let mut tx = core.stores.db.begin().await?;
        tx.execute(
            "UPDATE refresh_families SET revoked_at = $2, revoked_reason = $3
             WHERE id = $1 AND revoked_at IS NULL",
            params![family, now, reason],
        )
        .await?;
        AuditEntry::new(Actor::Anonymous, "refresh_family.revoked")
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

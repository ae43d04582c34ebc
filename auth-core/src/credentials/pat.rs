//! Personal access tokens: named, expiring bearer credentials a user (or admin) makes for scripts.
//! The secret is shown once; only its hash is kept. Each use updates `last_used_at` and, at most
//! once a minute per token, writes an audit entry.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{CredentialKind, Credentials, Principal};
use crate::audit::AuditEntry;
use crate::context::RequestContext;
use crate::error::{Error, Result};
use crate::ids::row_id;
use crate::page::Page;
use crate::params;
use crate::secret::{hash_token, random_token};
use crate::sessions::Subject;
use crate::store::StoreError;
use crate::store::sql::Row;

/// Every personal access token starts with this, so a bearer credential's kind is plain to see.
pub const PAT_PREFIX: &str = "pat_";

const USE_AUDIT_INTERVAL: SignedDuration = SignedDuration::from_secs(60);

/// What to create.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPersonalAccessToken {
    pub name: String,
    pub expires_in_days: u32,
}

/// A token as its owner sees it (never the secret, except once at creation).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonalAccessToken {
    pub id: String,
    pub name: String,
    /// The first characters of the secret, to tell tokens apart.
    pub token_prefix: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// The secret: present only in the answer to creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl PersonalAccessToken {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.get("id")?,
            name: row.get("name")?,
            token_prefix: row.get("token_prefix")?,
            created_at: row.get("created_at")?,
            expires_at: row.get("expires_at")?,
            last_used_at: row.get("last_used_at")?,
            revoked_at: row.get("revoked_at")?,
            token: None,
        })
    }
}

const PAT_COLUMNS: &str =
    "id, name, token_prefix, created_at, expires_at, last_used_at, revoked_at";

impl Credentials<'_> {
    /// Creates a token for `owner`; the answer carries the secret, which is never shown again.
    pub async fn create_pat(
        &self,
        owner: Subject,
        new: NewPersonalAccessToken,
        context: &RequestContext,
    ) -> Result<PersonalAccessToken> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::invalid("name", "must be 1 to 100 characters"));
        }
        let max_days = self.core.config.tokens.pat_max_ttl_days;
        if new.expires_in_days == 0 || new.expires_in_days > max_days {
            return Err(Error::invalid(
                "expires_in_days",
                format!("must be between 1 and {max_days}"),
            ));
        }
        let now = self.core.clock.now();
        let token = random_token(PAT_PREFIX);
        let prefix: String = token.expose().chars().take(PAT_PREFIX.len() + 6).collect();
        let id = row_id();
        let expires_at = now + SignedDuration::from_hours(24 * i64::from(new.expires_in_days));
        let mut tx = self.core.stores.db.begin().await?;
        tx.execute(
            "INSERT INTO personal_access_tokens (id, owner_kind, owner_id, name, token_hash,
                                                 token_prefix, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            params![
                id.clone(),
                owner.kind(),
                owner.id_string(),
                name,
                hash_token(token.expose()),
                prefix.clone(),
                now,
                expires_at
            ],
        )
        .await?;
        AuditEntry::new(owner.into(), "pat.created")
            .target("pat", &id)
            .from_client(context)
            .detail("name", name)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        Ok(PersonalAccessToken {
            id,
            name: name.to_string(),
            token_prefix: prefix,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
            token: Some(token.expose().to_string()),
        })
    }

    /// The owner's tokens, newest first.
    pub async fn list_pats(&self, owner: Subject) -> Result<Page<PersonalAccessToken>> {
        let rows = self
            .core
            .stores
            .db
            .query(
                &format!(
                    "SELECT {PAT_COLUMNS} FROM personal_access_tokens WHERE owner_id = $1
                     ORDER BY created_at DESC, id DESC"
                ),
                params![owner.id_string()],
            )
            .await?;
        let items = rows
            .iter()
            .map(PersonalAccessToken::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let total = items.len() as i64;
        Ok(Page {
            per_page: items.len().max(1) as u32,
            items,
            page: 1,
            total,
        })
    }

    /// Revokes one of the owner's tokens; it stops working at once.
    pub async fn revoke_pat(
        &self,
        owner: Subject,
        id: &str,
        context: &RequestContext,
    ) -> Result<()> {
        let now = self.core.clock.now();
        let mut tx = self.core.stores.db.begin().await?;
        let changed = tx
            .execute(
                "UPDATE personal_access_tokens SET revoked_at = $3
                 WHERE id = $1 AND owner_id = $2 AND revoked_at IS NULL",
                params![id, owner.id_string(), now],
            )
            .await?;
        if changed == 0 {
            return Err(Error::NotFound("personal access token"));
        }
        AuditEntry::new(owner.into(), "pat.revoked")
            .target("pat", id)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn authenticate_pat(
        &self,
        token: &str,
        context: &RequestContext,
    ) -> Result<Principal> {
        let core = self.core;
        let now = core.clock.now();
        let row = core
            .stores
            .db
            .query_opt(
                "SELECT id, owner_kind, owner_id, expires_at, revoked_at, last_used_at
                 FROM personal_access_tokens WHERE token_hash = $1",
                params![hash_token(token)],
            )
            .await?
            .ok_or(Error::InvalidToken)?;
        if row.get::<Option<Timestamp>>("revoked_at")?.is_some() {
            return Err(Error::InvalidToken);
        }
        if row.get::<Timestamp>("expires_at")? <= now {
            return Err(Error::ExpiredToken);
        }
        let id: String = row.get("id")?;
        let owner_id: String = row.get("owner_id")?;
        let principal = match row.get::<String>("owner_kind")?.as_str() {
            "user" => Principal::User {
                user: Box::new(
                    self.usable_user(owner_id.parse().map_err(|_| Error::InvalidToken)?)
                        .await?,
                ),
                session: None,
                audience: core.config.tokens.api_audience.clone(),
                credential: CredentialKind::PersonalAccessToken,
            },
            "admin" => Principal::Admin {
                admin: self
                    .usable_admin(owner_id.parse().map_err(|_| Error::InvalidToken)?)
                    .await?,
                session: None,
                credential: CredentialKind::PersonalAccessToken,
            },
            _ => return Err(Error::InvalidToken),
        };
        let last_used: Option<Timestamp> = row.get("last_used_at")?;
        if last_used.is_none_or(|at| now.duration_since(at) >= USE_AUDIT_INTERVAL) {
            let mut tx = core.stores.db.begin().await?;
            tx.execute(
                "UPDATE personal_access_tokens SET last_used_at = $2 WHERE id = $1",
                params![id.clone(), now],
            )
            .await?;
            AuditEntry::new(principal.actor(), "pat.used")
                .target("pat", &id)
                .from_client(context)
                .write(&mut tx, now)
                .await?;
            tx.commit().await?;
        }
        Ok(principal)
    }
}

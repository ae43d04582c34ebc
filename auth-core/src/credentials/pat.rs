//! Personal access tokens: named, expiring bearer credentials a user (or admin) makes for scripts.
//! A person's token names the services it may open (at least one) and opens nothing else but the
//! reading of its owner's account; an admin's token opens the admin API only. The secret is shown
//! once; only its hash is kept. Each use updates `last_used_at` and, at most once a minute per
//! token, writes an audit entry.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{Credentials, Principal, store};
use crate::access::scope::{self, Binding, CredentialKind, Place};
use crate::audit::{AuditAction, AuditEntry};
use crate::context::RequestContext;
use crate::error::{Error, Result};
use crate::ids::row_id;
use crate::page::Page;
use crate::secret::{hash_token, random_token};
use crate::sessions::Subject;
use crate::store::StoreError;
use crate::store::sql::Row;

/// Every personal access token starts with this, so a bearer credential's kind is plain to see.
pub const PAT_PREFIX: &str = "pat_";

const USE_AUDIT_INTERVAL: SignedDuration = SignedDuration::from_secs(60);

/// Most services one token may name.
const MAX_SERVICES: usize = 50;

/// What to create.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPersonalAccessToken {
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = name_schema)
    )]
    pub name: String,
    /// Days until it expires: 1 to `tokens.pat_max_ttl_days` (365 by default).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 365))]
    pub expires_in_days: u32,
    /// The slugs of the services the token may open: at least one for a person's token, none for
    /// an admin's (which opens the admin API only).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::token_services))]
    pub services: Vec<String>,
}

#[cfg(feature = "openapi")]
fn name_schema() -> utoipa::openapi::schema::Object {
    crate::openapi::trimmed(
        100,
        false,
        "1 to 100 characters once surrounding whitespace is trimmed.",
    )
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
    /// The services the token may open.
    pub services: Vec<String>,
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
            services: services_of(row)?,
            token: None,
        })
    }
}

fn services_of(row: &Row) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(&row.get::<String>("services")?)
        .map_err(|_| StoreError::Malformed("personal_access_tokens.services".into()))
}

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
        let max_days = self.core.base.config.tokens.pat_max_ttl_days;
        if new.expires_in_days == 0 || new.expires_in_days > max_days {
            return Err(Error::invalid(
                "expires_in_days",
                format!("must be between 1 and {max_days}"),
            ));
        }
        let services = self.check_services(owner, new.services).await?;
        let now = self.core.base.clock.now();
        let token = random_token(PAT_PREFIX);
        let prefix: String = token.expose().chars().take(PAT_PREFIX.len() + 6).collect();
        let id = row_id();
        let expires_at = now + SignedDuration::from_hours(24 * i64::from(new.expires_in_days));
        let mut tx = self.core.base.stores.db.begin().await?;
        store::insert_pat(
            &mut tx,
            store::NewPat {
                id: &id,
                owner_kind: owner.kind(),
                owner_id: owner.id_string(),
                name,
                token_hash: hash_token(token.expose()),
                token_prefix: &prefix,
                created_at: now,
                expires_at,
                services: serde_json::to_string(&services).map_err(Error::internal)?,
            },
        )
        .await?;
        AuditEntry::new(owner.into(), AuditAction::PatCreated)
            .target("pat", &id)
            .from_client(context)
            .detail("name", name)
            .detail("services", services.clone())
            .write(&mut tx, now)
            .await?;
        // A token made by someone else in a person's name is what this mail would reveal.
        let notified = match owner {
            Subject::User(user_id) => {
                match crate::accounts::store::by_id(&mut tx, user_id).await? {
                    Some(user) => {
                        crate::mail::messages::pat_created(
                            &user.email,
                            &user.full_name,
                            name,
                            &services,
                            expires_at,
                        )
                        .enqueue(&mut tx, now)
                        .await?;
                        true
                    }
                    None => false,
                }
            }
            Subject::Admin(_) => false,
        };
        tx.commit().await?;
        if notified {
            self.core.mailer.wake();
        }
        Ok(PersonalAccessToken {
            id,
            name: name.to_string(),
            token_prefix: prefix,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
            services,
            token: Some(token.expose().to_string()),
        })
    }

    /// The services a new token of `owner` names, checked: a person's token names one to
    /// [`MAX_SERVICES`] existing services; an admin's names none.
    async fn check_services(&self, owner: Subject, services: Vec<String>) -> Result<Vec<String>> {
        if let Subject::Admin(_) = owner {
            if !services.is_empty() {
                return Err(Error::invalid(
                    "services",
                    "an administrator's token opens the admin API only, no service",
                ));
            }
            return Ok(services);
        }
        let mut named: Vec<String> = Vec::new();
        for slug in services {
            if !named.contains(&slug) {
                named.push(slug);
            }
        }
        if named.is_empty() || named.len() > MAX_SERVICES {
            return Err(Error::invalid(
                "services",
                format!("name 1 to {MAX_SERVICES} services the token may open"),
            ));
        }
        let known = crate::services::Services::new(self.core.base)
            .list()
            .await?;
        for (i, slug) in named.iter().enumerate() {
            if !known.iter().any(|s| &s.slug == slug) {
                return Err(Error::invalid(
                    format!("services[{i}]"),
                    format!("there is no service `{slug}`"),
                ));
            }
        }
        Ok(named)
    }

    /// The owner's tokens, newest first.
    pub async fn list_pats(&self, owner: Subject) -> Result<Page<PersonalAccessToken>> {
        let rows = store::pats_of(&self.core.base.stores.db, &owner.id_string()).await?;
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

    /// A user's tokens, newest first, as an admin sees them (never the secrets).
    pub async fn pats_of_user(
        &self,
        _reader: &super::AdminRead,
        user: crate::ids::UserId,
    ) -> Result<Page<PersonalAccessToken>> {
        self.list_pats(Subject::User(user)).await
    }

    /// Revokes one of the owner's tokens; it stops working at once.
    pub async fn revoke_pat(
        &self,
        owner: Subject,
        id: &str,
        context: &RequestContext,
    ) -> Result<()> {
        let now = self.core.base.clock.now();
        let mut tx = self.core.base.stores.db.begin().await?;
        if !store::revoke_pat(&mut tx, id, &owner.id_string(), now).await? {
            return Err(Error::NotFound("personal access token"));
        }
        AuditEntry::new(owner.into(), AuditAction::PatRevoked)
            .target("pat", id)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes personal access token `id` of `user` (an admin's decision), audited with the
    /// admin; NOT_FOUND when the user holds no such live token.
    pub async fn revoke_pat_of_user(
        &self,
        admin: &super::AdminWrite,
        user: crate::ids::UserId,
        id: &str,
        context: &RequestContext,
    ) -> Result<()> {
        let now = self.core.base.clock.now();
        let mut tx = self.core.base.stores.db.begin().await?;
        if !store::revoke_pat(&mut tx, id, &Subject::User(user).id_string(), now).await? {
            return Err(Error::NotFound("personal access token"));
        }
        AuditEntry::new(admin.actor(), AuditAction::PatRevoked)
            .target("pat", id)
            .from_client(context)
            .detail("user", user.to_string())
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The owner of personal access token `token`, presented at `place`: refused where the table
    /// does not accept the owner's kind of token, or at a service the token does not name, before
    /// its use is recorded.
    pub(super) async fn authenticate_pat(
        &self,
        token: &str,
        place: Place<'_>,
        context: &RequestContext,
    ) -> Result<Principal> {
        let core = self.core;
        let now = core.base.clock.now();
        let row = store::pat_by_hash(&core.base.stores.db, &hash_token(token))
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
        let owner_kind: String = row.get("owner_kind")?;
        let kind = match owner_kind.as_str() {
            "user" => CredentialKind::PersonalAccessToken,
            "admin" => CredentialKind::AdminPersonalAccessToken,
            _ => return Err(Error::InvalidToken),
        };
        let services = services_of(&row)?;
        scope::check(
            kind,
            Binding {
                service: None,
                services: &services,
            },
            place,
        )?;
        let principal = match owner_kind.as_str() {
            "user" => Principal::User {
                user: Box::new(
                    self.usable_user(owner_id.parse().map_err(|_| Error::InvalidToken)?)
                        .await?,
                ),
                session: None,
                audience: core.base.config.tokens.api_audience.clone(),
                credential: CredentialKind::PersonalAccessToken,
            },
            "admin" => Principal::Admin {
                admin: self
                    .usable_admin(owner_id.parse().map_err(|_| Error::InvalidToken)?)
                    .await?,
                session: None,
                credential: CredentialKind::AdminPersonalAccessToken,
            },
            _ => return Err(Error::InvalidToken),
        };
        let last_used: Option<Timestamp> = row.get("last_used_at")?;
        if last_used.is_none_or(|at| now.duration_since(at) >= USE_AUDIT_INTERVAL) {
            let mut tx = core.base.stores.db.begin().await?;
            store::touch_pat(&mut tx, &id, now).await?;
            AuditEntry::new(principal.actor(), AuditAction::PatUsed)
                .target("pat", &id)
                .from_client(context)
                .write(&mut tx, now)
                .await?;
            tx.commit().await?;
        }
        Ok(principal)
    }
}

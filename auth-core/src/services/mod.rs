//! Services placed behind the gateway: their names, how they are reached (hosts and path prefix),
//! where their upstreams are, and the API key each uses to call the auth API. Keys are shown once
//! and stored as hashes.

mod return_to;
mod rules;

use std::net::SocketAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::audit::AuditEntry;
use crate::config::ServiceSeed;
use crate::context::{Actor, RequestContext};
use crate::core::CoreInner;
use crate::credentials::AdminWrite;
use crate::credentials::scope::{self, Binding, CredentialKind, Place};
use crate::error::{Error, FieldError, Result};
use crate::ids::ServiceId;
use crate::params;
use crate::secret::{constant_time_eq, hash_token, random_token};
use crate::store::StoreError;
use crate::store::sql::Row;

pub use return_to::{safe_return_url, service_base, service_origins};
pub use rules::{validate_host, validate_path_prefix, validate_slug};

/// Every service API key starts with this.
pub const API_KEY_PREFIX: &str = "svc_";

/// Channel on which changes to services are announced, so gateways rebuild their routes.
pub const SERVICE_CHANGES: &str = "services:changed";

/// A registered service.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Service {
    pub id: ServiceId,
    pub slug: String,
    pub name: String,
    pub hosts: Vec<String>,
    pub path_prefix: Option<String>,
    /// Whether the path prefix is served on the gateway's own hosts, which then share the origin
    /// of the login pages and the API with this service: for trusted services only.
    pub share_gateway_origin: bool,
    pub upstreams: Vec<String>,
    pub enabled: bool,
    /// The first characters of the current API key; None until a key is made.
    pub api_key_prefix: Option<String>,
    pub key_rotated_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const SERVICE_COLUMNS: &str = "id, slug, name, hosts, path_prefix, share_gateway_origin, upstreams, \
     enabled, api_key_prefix, key_rotated_at, created_at, updated_at";

impl Service {
    fn from_row(row: &Row) -> Result<Service, StoreError> {
        let list = |column: &str| -> Result<Vec<String>, StoreError> {
            serde_json::from_str(&row.get::<String>(column)?)
                .map_err(|_| StoreError::Malformed(format!("services.{column}")))
        };
        Ok(Service {
            id: row.get("id")?,
            slug: row.get("slug")?,
            name: row.get("name")?,
            hosts: list("hosts")?,
            path_prefix: row.get("path_prefix")?,
            share_gateway_origin: row.get("share_gateway_origin")?,
            upstreams: list("upstreams")?,
            enabled: row.get("enabled")?,
            api_key_prefix: row.get("api_key_prefix")?,
            key_rotated_at: row.get("key_rotated_at")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }
}

/// What an admin gives to register a service.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewService {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::service_name))]
    pub name: String,
    /// 1 to 63 lowercase letters, digits and inner dashes.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?![\s\S])")
    )]
    pub slug: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::service_hosts))]
    pub hosts: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::path_prefix))]
    pub path_prefix: Option<String>,
    /// Serve the path prefix on the gateway's own hosts, sharing the origin of the login pages
    /// and the API (unsafe for a service that is not fully trusted; off by default).
    #[serde(default)]
    pub share_gateway_origin: bool,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::upstreams))]
    pub upstreams: Vec<String>,
}

/// A service with its API key, which is shown this once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceWithKey {
    #[serde(flatten)]
    pub service: Service,
    pub api_key: String,
}

fn check(new: &NewService) -> Result<()> {
    let mut problems = Vec::new();
    if new.name.trim().is_empty() || new.name.chars().count() > 100 {
        problems.push(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if let Err(e) = validate_slug(&new.slug) {
        problems.push(FieldError::new("slug", e));
    }
    for (i, host) in new.hosts.iter().enumerate() {
        if let Err(e) = validate_host(host) {
            problems.push(FieldError::new(format!("hosts[{i}]"), e));
        }
    }
    if let Some(Err(e)) = new.path_prefix.as_deref().map(validate_path_prefix) {
        problems.push(FieldError::new("path_prefix", e));
    }
    if new.hosts.is_empty() && !(new.path_prefix.is_some() && new.share_gateway_origin) {
        problems.push(FieldError::new(
            "hosts",
            "give at least one host (or a path_prefix with share_gateway_origin)",
        ));
    }
    if new.share_gateway_origin && new.path_prefix.is_none() {
        problems.push(FieldError::new(
            "share_gateway_origin",
            "needs a path_prefix to serve on the gateway's hosts",
        ));
    }
    if new.upstreams.is_empty() {
        problems.push(FieldError::new("upstreams", "give at least one ip:port"));
    }
    for (i, upstream) in new.upstreams.iter().enumerate() {
        if upstream.parse::<SocketAddr>().is_err() {
            problems.push(FieldError::new(
                format!("upstreams[{i}]"),
                "must be ip:port",
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(problems))
    }
}

/// The services domain.
pub struct Services<'a> {
    core: &'a CoreInner,
}

impl<'a> Services<'a> {
    pub(crate) fn new(core: &'a CoreInner) -> Self {
        Self { core }
    }

    /// Every service, by slug.
    pub async fn list(&self) -> Result<Vec<Service>> {
        let rows = self
            .core
            .stores
            .db
            .query(
                &format!("SELECT {SERVICE_COLUMNS} FROM services ORDER BY slug"),
                params![],
            )
            .await?;
        Ok(rows
            .iter()
            .map(Service::from_row)
            .collect::<Result<Vec<_>, _>>()?)
    }

    pub async fn get(&self, slug: &str) -> Result<Service> {
        let row = self
            .core
            .stores
            .db
            .query_opt(
                &format!("SELECT {SERVICE_COLUMNS} FROM services WHERE slug = $1"),
                params![slug],
            )
            .await?
            .ok_or(Error::NotFound("service"))?;
        Ok(Service::from_row(&row)?)
    }

    /// Registers a service and makes its API key.
    pub async fn register(
        &self,
        admin: &AdminWrite,
        new: NewService,
        context: &RequestContext,
    ) -> Result<ServiceWithKey> {
        check(&new)?;
        let existing = self.list().await?;
        if existing.iter().any(|s| s.slug == new.slug) {
            return Err(Error::Conflict(format!("the slug `{}` is taken", new.slug)));
        }
        for host in &new.hosts {
            if let Some(owner) = existing
                .iter()
                .find(|s| s.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
            {
                return Err(Error::Conflict(format!(
                    "the host `{host}` belongs to {}",
                    owner.slug
                )));
            }
        }
        if let Some(prefix) = &new.path_prefix
            && let Some(owner) = existing
                .iter()
                .find(|s| s.path_prefix.as_ref() == Some(prefix))
        {
            return Err(Error::Conflict(format!(
                "the path prefix `{prefix}` belongs to {}",
                owner.slug
            )));
        }
        self.insert(admin.actor(), &new, true, context).await?;
        self.announce().await;
        self.rotate_key(admin, &new.slug, context).await
    }

    async fn insert(
        &self,
        actor: Actor,
        new: &NewService,
        enabled: bool,
        context: &RequestContext,
    ) -> Result<()> {
        let now = self.core.clock.now();
        let hosts: Vec<String> = new.hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        let id = ServiceId::new();
        let mut tx = self.core.stores.db.begin().await?;
        tx.execute(
            "INSERT INTO services (id, slug, name, hosts, path_prefix, share_gateway_origin,
                                   upstreams, enabled, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            params![
                id,
                new.slug.clone(),
                new.name.trim(),
                serde_json::to_string(&hosts).map_err(Error::internal)?,
                new.path_prefix.clone(),
                new.share_gateway_origin,
                serde_json::to_string(&new.upstreams).map_err(Error::internal)?,
                enabled,
                now
            ],
        )
        .await
        .map_err(|err| match err {
            StoreError::Unique(_) => Error::Conflict("the slug or path prefix is taken".into()),
            other => other.into(),
        })?;
        AuditEntry::new(actor, "service.registered")
            .target("service", &new.slug)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates the services of the configuration that the store does not have yet (first start).
    /// They get no API key; an admin makes one with [`Services::rotate_key`].
    pub async fn seed(&self, seeds: &[ServiceSeed]) -> Result<usize> {
        let existing = self.list().await?;
        let mut created = 0;
        for seed in seeds
            .iter()
            .filter(|seed| !existing.iter().any(|s| s.slug == seed.slug))
        {
            let new = NewService {
                name: seed.name.clone(),
                slug: seed.slug.clone(),
                hosts: seed.hosts.clone(),
                path_prefix: seed.path_prefix.clone(),
                share_gateway_origin: seed.share_gateway_origin,
                upstreams: seed.upstreams.clone(),
            };
            match self
                .insert(Actor::System, &new, true, &RequestContext::default())
                .await
            {
                Ok(()) => created += 1,
                // Another gateway seeded it at the same moment.
                Err(Error::Conflict(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(created)
    }

    /// Makes a new API key for the service; the old one stops working at once.
    pub async fn rotate_key(
        &self,
        admin: &AdminWrite,
        slug: &str,
        context: &RequestContext,
    ) -> Result<ServiceWithKey> {
        let key = random_token(API_KEY_PREFIX);
        let prefix: String = key
            .expose()
            .chars()
            .take(API_KEY_PREFIX.len() + 6)
            .collect();
        let now = self.core.clock.now();
        let mut tx = self.core.stores.db.begin().await?;
        let changed = tx
            .execute(
                "UPDATE services SET api_key_hash = $2, api_key_prefix = $3, key_rotated_at = $4, updated_at = $4
                 WHERE slug = $1",
                params![slug, hash_token(key.expose()), prefix, now],
            )
            .await?;
        if changed == 0 {
            return Err(Error::NotFound("service"));
        }
        AuditEntry::new(admin.actor(), "service.key_rotated")
            .target("service", slug)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        Ok(ServiceWithKey {
            service: self.get(slug).await?,
            api_key: key.expose().to_string(),
        })
    }

    /// Turns a service on or off; a disabled service's traffic and key are refused.
    pub async fn set_enabled(
        &self,
        admin: &AdminWrite,
        slug: &str,
        enabled: bool,
        context: &RequestContext,
    ) -> Result<Service> {
        let now = self.core.clock.now();
        let mut tx = self.core.stores.db.begin().await?;
        let changed = tx
            .execute(
                "UPDATE services SET enabled = $2, updated_at = $3 WHERE slug = $1",
                params![slug, enabled, now],
            )
            .await?;
        if changed == 0 {
            return Err(Error::NotFound("service"));
        }
        AuditEntry::new(
            admin.actor(),
            if enabled {
                "service.enabled"
            } else {
                "service.disabled"
            },
        )
        .target("service", slug)
        .from_client(context)
        .write(&mut tx, now)
        .await?;
        tx.commit().await?;
        self.announce().await;
        self.get(slug).await
    }

    /// The enabled service whose API key this is, presented at `place` (a key opens the QR
    /// login calls only).
    pub async fn authenticate(&self, api_key: &str, place: Place<'_>) -> Result<Service> {
        if !api_key.starts_with(API_KEY_PREFIX) {
            return Err(Error::Unauthenticated);
        }
        scope::check(CredentialKind::ServiceApiKey, Binding::default(), place)?;
        let hash = hash_token(api_key.trim());
        let row = self
            .core
            .stores
            .db
            .query_opt(
                &format!(
                    "SELECT {SERVICE_COLUMNS}, api_key_hash FROM services WHERE api_key_hash = $1"
                ),
                params![hash.clone()],
            )
            .await?
            .ok_or(Error::Unauthenticated)?;
        let stored: String = row.get("api_key_hash")?;
        // The index found it; compare once more in constant time before trusting the match.
        if !constant_time_eq(stored.as_bytes(), hash.as_bytes()) {
            return Err(Error::Unauthenticated);
        }
        let service = Service::from_row(&row)?;
        if !service.enabled {
            return Err(Error::ServiceKeyDisabled(service.slug));
        }
        Ok(service)
    }

    async fn announce(&self) {
        if let Err(err) = self
            .core
            .stores
            .ephemeral
            .publish(SERVICE_CHANGES, b"changed".to_vec())
            .await
        {
            tracing::warn!(%err, "could not announce a service change");
        }
    }
}

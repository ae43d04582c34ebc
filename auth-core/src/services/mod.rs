//! Services placed behind the gateway: their names, how they are reached (hosts and path prefix),
//! where their upstreams are, and the API key each uses to call the auth API. Keys are shown once
//! and stored as hashes.

mod edit;
mod return_to;
mod store;

use jiff::Timestamp;
use serde::Serialize;

use crate::access::AdminWrite;
use crate::access::scope::{self, Binding, CredentialKind, Place};
use crate::audit::{AuditAction, AuditEntry};
use crate::context::Base;
use crate::context::{Actor, RequestContext};
use crate::error::{Error, Result};
use crate::ids::ServiceId;
use crate::secret::{constant_time_eq, hash_token, random_token};

pub use crate::config::service::{
    RESERVED_PATH_PREFIXES, check_host_not_gateways, check_prefix_not_reserved, validate_host,
    validate_path_prefix, validate_slug,
};
pub use edit::ServiceChanges;
pub use return_to::{safe_return_url, service_base, service_origins};

/// What an admin gives to register a service: the same definition as a `[[services]]` entry.
pub type NewService = crate::config::ServiceDefinition;

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
    /// Whether the closing banner goes into the service's pages, as an admin set it; None
    /// follows the configuration's `[service_warnings]` (on by default).
    pub warning_banner: Option<bool>,
    /// Minutes before closing the warning starts at this service, as an admin set it; None
    /// follows the configuration, then the schedule.
    pub warning_minutes: Option<u32>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A service with its API key, which is shown this once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceWithKey {
    #[serde(flatten)]
    pub service: Service,
    pub api_key: String,
}

/// Checks a new service; `gateway_hosts` are the gateway's own hosts, which no service may take.
fn check(new: &NewService, gateway_hosts: &[String]) -> Result<()> {
    let problems = new.problems(gateway_hosts);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(problems))
    }
}

/// The services domain.
pub struct Services<'a> {
    core: &'a Base,
}

impl<'a> Services<'a> {
    pub(crate) fn new(core: &'a Base) -> Self {
        Self { core }
    }

    /// Runs `reload` whenever a service changes (announced by any gateway on the shared store)
    /// and at least `every`, in a task of its own, for as long as the process runs.
    pub fn follow_changes<F, Fut>(&self, every: std::time::Duration, reload: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<()>> + Send,
    {
        crate::store::ephemeral::follow_announcements(
            self.core.stores.ephemeral.clone(),
            SERVICE_CHANGES,
            "services",
            every,
            reload,
        );
    }

    /// Every service, by slug.
    pub async fn list(&self) -> Result<Vec<Service>> {
        store::all(&self.core.stores.db).await
    }

    pub async fn get(&self, slug: &str) -> Result<Service> {
        store::by_slug(&self.core.stores.db, slug)
            .await?
            .ok_or(Error::NotFound("service"))
    }

    /// Registers a service and makes its API key.
    pub async fn register(
        &self,
        admin: &AdminWrite,
        new: NewService,
        context: &RequestContext,
    ) -> Result<ServiceWithKey> {
        check(&new, &self.core.config.gateway.own_hosts())?;
        if new.has_tls_settings() {
            return Err(Error::invalid(
                "tls",
                "upstream TLS is set in the configuration file's [[services]]",
            ));
        }
        let existing = self.list().await?;
        if existing.iter().any(|s| s.slug == new.slug) {
            return Err(Error::Conflict(format!("the slug `{}` is taken", new.slug)));
        }
        refuse_taken(&existing, &new.hosts, new.path_prefix.as_ref())?;
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
        let mut tx = self.core.stores.db.begin().await?;
        store::insert(&mut tx, new, enabled, now).await?;
        AuditEntry::new(actor, AuditAction::ServiceRegistered)
            .target("service", &new.slug)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Brings the services of a (re)loaded configuration into the store: new ones are created
    /// (without a key, as at first start) and those whose name, hosts, prefix or upstreams
    /// differ take the configuration's, audited as the system's doing; services only an admin
    /// registered are left alone. Returns (created, updated) and announces any change.
    pub async fn apply_config(&self, definitions: &[NewService]) -> Result<(usize, usize)> {
        let gateway_hosts = self.core.config.gateway.own_hosts();
        let existing = self.list().await?;
        for new in definitions {
            check(new, &gateway_hosts)?;
            if let Some(other) = existing.iter().find(|s| {
                s.slug != new.slug
                    && s.hosts
                        .iter()
                        .any(|h| new.hosts.iter().any(|n| n.eq_ignore_ascii_case(h)))
            }) {
                return Err(Error::Conflict(format!(
                    "a host of `{}` belongs to {}",
                    new.slug, other.slug
                )));
            }
        }
        let created = self.seed(definitions).await?;
        let mut updated = 0;
        for new in definitions {
            let Some(old) = existing.iter().find(|s| s.slug == new.slug) else {
                continue;
            };
            let hosts: Vec<String> = new.hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
            let same = old.name == new.name.trim()
                && old.hosts == hosts
                && old.path_prefix == new.path_prefix
                && old.share_gateway_origin == new.share_gateway_origin
                && old.upstreams == new.upstreams;
            if same {
                continue;
            }
            let now = self.core.clock.now();
            let mut tx = self.core.stores.db.begin().await?;
            if store::update_definition(&mut tx, new, now).await? {
                AuditEntry::new(Actor::System, AuditAction::ServiceUpdated)
                    .target("service", &new.slug)
                    .write(&mut tx, now)
                    .await?;
                updated += 1;
            }
            tx.commit().await?;
        }
        if created + updated > 0 {
            self.announce().await;
        }
        Ok((created, updated))
    }

    /// Creates the services of the configuration that the store does not have yet (first start).
    /// They get no API key; an admin makes one with [`Services::rotate_key`].
    pub async fn seed(&self, seeds: &[NewService]) -> Result<usize> {
        let existing = self.list().await?;
        let mut created = 0;
        for seed in seeds
            .iter()
            .filter(|seed| !existing.iter().any(|s| s.slug == seed.slug))
        {
            match self
                .insert(Actor::System, seed, true, &RequestContext::default())
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
        if !store::set_key(&mut tx, slug, hash_token(key.expose()), prefix, now).await? {
            return Err(Error::NotFound("service"));
        }
        AuditEntry::new(admin.actor(), AuditAction::ServiceKeyRotated)
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
        if !store::set_enabled(&mut tx, slug, enabled, now).await? {
            return Err(Error::NotFound("service"));
        }
        AuditEntry::new(
            admin.actor(),
            if enabled {
                AuditAction::ServiceEnabled
            } else {
                AuditAction::ServiceDisabled
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
        let (service, stored) = store::by_key_hash(&self.core.stores.db, &hash)
            .await?
            .ok_or(Error::Unauthenticated)?;
        // The index found it; compare once more in constant time before trusting the match.
        if !constant_time_eq(stored.as_bytes(), hash.as_bytes()) {
            return Err(Error::Unauthenticated);
        }
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

/// Refuses `hosts` or `prefix` when one of `others` already has it (`CONFLICT`, naming the owner).
fn refuse_taken(others: &[Service], hosts: &[String], prefix: Option<&String>) -> Result<()> {
    for host in hosts {
        if let Some(owner) = others
            .iter()
            .find(|s| s.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
        {
            return Err(Error::Conflict(format!(
                "the host `{host}` belongs to {}",
                owner.slug
            )));
        }
    }
    if let Some(prefix) = prefix
        && let Some(owner) = others
            .iter()
            .find(|s| s.path_prefix.as_ref() == Some(prefix))
    {
        return Err(Error::Conflict(format!(
            "the path prefix `{prefix}` belongs to {}",
            owner.slug
        )));
    }
    Ok(())
}

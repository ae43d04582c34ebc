//! Changing a registered service: its name, hosts, path prefix and upstreams, and its own closing
//! warning (banner on or off, the window in minutes). A service defined in the configuration
//! file keeps the file's definition (the file is applied again at every start and reload), so
//! only its warning changes here. Every gateway follows within seconds.

use serde::Deserialize;

use super::{NewService, Service, Services, check, refuse_taken, store};
use crate::access::AdminWrite;
use crate::audit::{AuditAction, AuditEntry};
use crate::context::RequestContext;
use crate::error::{Error, FieldError, Result};

/// The longest warning window, as the schedule allows it.
const MAX_WARNING_MINUTES: u32 = 24 * 60;

/// A service as an admin wants it: every field is the new value.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ServiceChanges {
    /// 1 to 100 characters.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::service_name))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::service_hosts))]
    pub hosts: Vec<String>,
    /// Served on the gateway's own hosts under this prefix, sharing their origin (trusted
    /// services only); null or absent for none.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::path_prefix))]
    pub path_prefix: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::upstreams))]
    pub upstreams: Vec<String>,
    /// Whether the service's HTML pages get the closing banner; null or absent follows the
    /// configuration's `[service_warnings]` (on by default).
    #[serde(default)]
    pub warning_banner: Option<bool>,
    /// Minutes before closing the warning starts at this service, 0 to 1440; null or absent
    /// follows the configuration, then the schedule.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1440))]
    pub warning_minutes: Option<u32>,
}

impl Services<'_> {
    /// Applies `changes` to service `slug`, audited with what changed. Refused: an unknown slug
    /// (`NOT_FOUND`), a bad field (`VALIDATION_FAILED`, every problem named), a host or prefix
    /// of another service (`CONFLICT`), and a new definition of a service the configuration
    /// file defines (`CONFLICT`: change the file).
    pub async fn update(
        &self,
        admin: &AdminWrite,
        slug: &str,
        changes: ServiceChanges,
        context: &RequestContext,
    ) -> Result<Service> {
        let before = self.get(slug).await?;
        let definition = NewService {
            name: changes.name.trim().to_string(),
            slug: before.slug.clone(),
            hosts: changes.hosts.clone(),
            // A new prefix is one to serve; an unchanged one keeps how it was served.
            share_gateway_origin: if changes.path_prefix == before.path_prefix {
                before.share_gateway_origin
            } else {
                changes.path_prefix.is_some()
            },
            path_prefix: changes.path_prefix.clone(),
            upstreams: changes.upstreams.clone(),
            tls: false,
            sni: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
        };
        let mut problems = match check(&definition, &self.core.config.gateway.own_hosts()) {
            Ok(()) => Vec::new(),
            Err(Error::Validation(problems)) => problems,
            Err(other) => return Err(other),
        };
        if changes
            .warning_minutes
            .is_some_and(|m| m > MAX_WARNING_MINUTES)
        {
            problems.push(FieldError::new(
                "warning_minutes",
                "must be at most 1440 (a day)",
            ));
        }
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        let hosts: Vec<String> = changes
            .hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let redefined = before.name != definition.name
            || before.hosts != hosts
            || before.path_prefix != definition.path_prefix
            || before.upstreams != definition.upstreams;
        let rewarned = before.warning_banner != changes.warning_banner
            || before.warning_minutes != changes.warning_minutes;
        if !redefined && !rewarned {
            return Ok(before);
        }
        if redefined {
            self.refuse_redefinition(&definition, &hosts).await?;
        }
        let now = self.core.clock.now();
        let mut tx = self.core.stores.db.begin().await?;
        if redefined {
            store::update_definition(&mut tx, &definition, now).await?;
        }
        if rewarned {
            store::set_warning(
                &mut tx,
                slug,
                changes.warning_banner,
                changes.warning_minutes,
                now,
            )
            .await?;
        }
        AuditEntry::new(admin.actor(), AuditAction::ServiceUpdated)
            .target("service", slug)
            .from_client(context)
            .detail("definition", redefined)
            .detail("warning", rewarned)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        self.announce().await;
        self.get(slug).await
    }

    /// Whether the service's definition lives in the configuration file.
    pub fn defined_in_config(&self, slug: &str) -> bool {
        self.core.config.services.iter().any(|s| s.slug == slug)
    }

    /// Refuses a new definition that the configuration file owns, or that takes another
    /// service's host or path prefix.
    async fn refuse_redefinition(&self, definition: &NewService, hosts: &[String]) -> Result<()> {
        if self.defined_in_config(&definition.slug) {
            return Err(Error::Conflict(format!(
                "{} is defined in the configuration file; change its hosts, prefix and upstreams \
                 there",
                definition.slug
            )));
        }
        let others: Vec<Service> = self
            .list()
            .await?
            .into_iter()
            .filter(|s| s.slug != definition.slug)
            .collect();
        refuse_taken(&others, hosts, definition.path_prefix.as_ref())
    }
}

//! The services table, as typed functions.

use jiff::Timestamp;

use super::{NewService, Service};
use crate::error::{Error, Result};
use crate::ids::ServiceId;
use crate::params;
use crate::store::StoreError;
use crate::store::sql::{Db, Executor, Row};

const COLUMNS: &str = "id, slug, name, hosts, path_prefix, share_gateway_origin, upstreams, \
     enabled, api_key_prefix, key_rotated_at, warning_banner, warning_minutes, created_at, \
     updated_at";

fn service(row: &Row) -> Result<Service, StoreError> {
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
        warning_banner: row.get("warning_banner")?,
        warning_minutes: row
            .get::<Option<i64>>("warning_minutes")?
            .map(|m| u32::try_from(m).map_err(|_| StoreError::Malformed("warning_minutes".into())))
            .transpose()?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

/// Every service, by slug.
pub(super) async fn all(db: &Db) -> Result<Vec<Service>> {
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM services ORDER BY slug"),
            params![],
        )
        .await?;
    Ok(rows.iter().map(service).collect::<Result<Vec<_>, _>>()?)
}

pub(super) async fn by_slug(db: &Db, slug: &str) -> Result<Option<Service>> {
    let row = db
        .query_opt(
            &format!("SELECT {COLUMNS} FROM services WHERE slug = $1"),
            params![slug],
        )
        .await?;
    Ok(row.as_ref().map(service).transpose()?)
}

/// The service whose key hashes to `key_hash`, with the stored hash.
pub(super) async fn by_key_hash(db: &Db, key_hash: &str) -> Result<Option<(Service, String)>> {
    let row = db
        .query_opt(
            &format!("SELECT {COLUMNS}, api_key_hash FROM services WHERE api_key_hash = $1"),
            params![key_hash],
        )
        .await?;
    match row {
        Some(row) => Ok(Some((service(&row)?, row.get("api_key_hash")?))),
        None => Ok(None),
    }
}

/// Stores a new service (hosts lowercased); a taken slug or prefix is a conflict.
pub(super) async fn insert(
    ex: &mut dyn Executor,
    new: &NewService,
    enabled: bool,
    now: Timestamp,
) -> Result<()> {
    let hosts: Vec<String> = new.hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
    ex.run_execute(
        "INSERT INTO services (id, slug, name, hosts, path_prefix, share_gateway_origin,
                               upstreams, enabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        params![
            ServiceId::new(),
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
    Ok(())
}

/// Replaces how service `slug` is reached (name, hosts, prefix, upstreams) with `new`'s; false
/// when there is none.
pub(super) async fn update_definition(
    ex: &mut dyn Executor,
    new: &NewService,
    now: Timestamp,
) -> Result<bool> {
    let hosts: Vec<String> = new.hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
    Ok(ex
        .run_execute(
            "UPDATE services SET name = $2, hosts = $3, path_prefix = $4,
                                 share_gateway_origin = $5, upstreams = $6, updated_at = $7
             WHERE slug = $1",
            params![
                new.slug.clone(),
                new.name.trim(),
                serde_json::to_string(&hosts).map_err(Error::internal)?,
                new.path_prefix.clone(),
                new.share_gateway_origin,
                serde_json::to_string(&new.upstreams).map_err(Error::internal)?,
                now
            ],
        )
        .await
        .map_err(|err| match err {
            StoreError::Unique(_) => Error::Conflict("the path prefix is taken".into()),
            other => other.into(),
        })?
        > 0)
}

/// Sets service `slug`'s own closing warning (None: the configuration's or the schedule's).
pub(super) async fn set_warning(
    ex: &mut dyn Executor,
    slug: &str,
    banner: Option<bool>,
    minutes: Option<u32>,
    now: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "UPDATE services SET warning_banner = $2, warning_minutes = $3, updated_at = $4
         WHERE slug = $1",
        params![slug, banner, minutes.map(i64::from), now],
    )
    .await?;
    Ok(())
}

/// Gives service `slug` a new key (by its hash and shown prefix); false when there is none.
pub(super) async fn set_key(
    ex: &mut dyn Executor,
    slug: &str,
    key_hash: String,
    key_prefix: String,
    now: Timestamp,
) -> Result<bool> {
    Ok(ex
        .run_execute(
            "UPDATE services SET api_key_hash = $2, api_key_prefix = $3, key_rotated_at = $4,
                                 updated_at = $4
             WHERE slug = $1",
            params![slug, key_hash, key_prefix, now],
        )
        .await?
        > 0)
}

/// Turns service `slug` on or off; false when there is none.
pub(super) async fn set_enabled(
    ex: &mut dyn Executor,
    slug: &str,
    enabled: bool,
    now: Timestamp,
) -> Result<bool> {
    Ok(ex
        .run_execute(
            "UPDATE services SET enabled = $2, updated_at = $3 WHERE slug = $1",
            params![slug, enabled, now],
        )
        .await?
        > 0)
}

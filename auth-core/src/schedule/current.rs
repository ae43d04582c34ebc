//! The schedule in force: the configured default until an admin stores another, cached in memory
//! and reloaded when another gateway announces a change.

use std::sync::{Arc, RwLock};

use super::{Schedule, store};
use crate::audit::{AuditAction, AuditEntry};
use crate::clock::SharedClock;
use crate::context::RequestContext;
use crate::error::{Error, Result};
use crate::store::Ephemeral;
use crate::store::sql::Db;

/// Channel on which schedule changes are announced.
pub const SCHEDULE_CHANGES: &str = "schedule:changed";

/// The current schedule.
#[derive(Clone)]
pub struct ScheduleStore {
    db: Db,
    ephemeral: Arc<dyn Ephemeral>,
    clock: SharedClock,
    default: Arc<RwLock<Arc<Schedule>>>,
    current: Arc<RwLock<Arc<Schedule>>>,
}

impl std::fmt::Debug for ScheduleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduleStore").finish_non_exhaustive()
    }
}

impl ScheduleStore {
    pub async fn open(
        db: Db,
        ephemeral: Arc<dyn Ephemeral>,
        clock: SharedClock,
        default: Schedule,
    ) -> Result<ScheduleStore> {
        let store = ScheduleStore {
            db,
            ephemeral,
            clock,
            default: Arc::new(RwLock::new(Arc::new(default.clone()))),
            current: Arc::new(RwLock::new(Arc::new(default))),
        };
        store.reload().await?;
        Ok(store)
    }

    /// The schedule in force.
    pub fn current(&self) -> Arc<Schedule> {
        self.current
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Takes `default` as the schedule of the configuration (after a reload of it); it is in
    /// force unless an admin has stored another.
    pub async fn set_default(&self, default: Schedule) -> Result<()> {
        if let Ok(mut current) = self.default.write() {
            *current = Arc::new(default);
        }
        self.reload().await
    }

    /// Reads the stored schedule again.
    pub async fn reload(&self) -> Result<()> {
        let schedule = match store::definition(&self.db).await? {
            Some(definition) => Arc::new(
                serde_json::from_str::<Schedule>(&definition)
                    .map_err(|e| Error::internal(format!("stored schedule: {e}")))?,
            ),
            None => self
                .default
                .read()
                .map(|s| s.clone())
                .unwrap_or_else(|poisoned| poisoned.into_inner().clone()),
        };
        if let Ok(mut current) = self.current.write() {
            *current = schedule;
        }
        Ok(())
    }

    /// Stores a new schedule (an admin's decision), audited, and tells the other gateways.
    pub async fn replace(
        &self,
        schedule: Schedule,
        admin: &crate::access::AdminWrite,
        context: &RequestContext,
    ) -> Result<Arc<Schedule>> {
        let now = self.clock.now();
        schedule.validate()?;
        let actor = admin.actor();
        let definition = serde_json::to_string(&schedule).map_err(Error::internal)?;
        let mut tx = self.db.begin().await?;
        store::save(&mut tx, &definition, now, actor.id()).await?;
        AuditEntry::new(actor, AuditAction::ScheduleChanged)
            .target("schedule", "1")
            .from_client(context)
            .detail(
                "schedule",
                serde_json::from_str::<serde_json::Value>(&definition).unwrap_or_default(),
            )
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        self.reload().await?;
        self.ephemeral
            .publish(SCHEDULE_CHANGES, b"changed".to_vec())
            .await?;
        Ok(self.current())
    }
}

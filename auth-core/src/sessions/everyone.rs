//! Everyone signed in now: each person's session is also a member of two ordered indexes in the
//! short-lived store, one of every service's sessions and one per service, scored by when the
//! session ends. So an admin counts and pages the live sessions of a service without reading
//! every record, and an index forgets what ended by itself.

use super::store::{self, Families};
use super::{Session, Sessions, Subject, revoked_event};
use crate::access::{AdminRead, AdminWrite};
use crate::audit::{AuditAction, AuditEntry};
use crate::context::RequestContext;
use crate::error::Result;
use crate::ids::SessionId;
use crate::page::{Page, PageRequest};

const EVERY_SERVICE: &str = "live-sessions";

fn service_index(audience: &str) -> String {
    format!("service-sessions:{audience}")
}

/// The indexes a session is a member of: people's sessions only (an admin's console session is
/// not "signed in to a service").
fn indexes_of(session: &Session) -> Option<[String; 2]> {
    matches!(session.subject, Subject::User(_))
        .then(|| [EVERY_SERVICE.to_string(), service_index(&session.audience)])
}

/// How many sessions of a service to end in one pass.
const ENDING_BATCH: usize = 500;

impl Sessions {
    fn floor(&self) -> i64 {
        self.clock.now().as_millisecond()
    }

    /// Puts `session` in its indexes (or moves it there, when its end moves).
    pub(super) async fn index(&self, session: &Session) -> Result<()> {
        let Some(indexes) = indexes_of(session) else {
            return Ok(());
        };
        for index in &indexes {
            self.store
                .index_add(
                    index,
                    &session.id.to_string(),
                    session.expires_at.as_millisecond(),
                    self.floor(),
                    self.store_ttl(session.expires_at),
                )
                .await?;
        }
        Ok(())
    }

    /// Takes `session` out of its indexes.
    pub(super) async fn unindex(&self, session: &Session) -> Result<()> {
        for index in indexes_of(session).into_iter().flatten() {
            self.store
                .index_remove(&index, &session.id.to_string())
                .await?;
        }
        Ok(())
    }

    /// How many people are signed in to service `audience` now.
    pub async fn live_count(&self, _reader: &AdminRead, audience: &str) -> Result<u64> {
        let range = self
            .store
            .index_range(&service_index(audience), self.floor(), 0, 0)
            .await?;
        Ok(range.total)
    }

    /// How many people's sessions are live now, in all and at each of `audiences` (in their
    /// order). Numbers only, for `/metrics`, which the gateway answers to allowed addresses.
    pub async fn live_numbers(&self, audiences: &[String]) -> Result<(u64, Vec<u64>)> {
        let floor = self.floor();
        let all = self.store.index_range(EVERY_SERVICE, floor, 0, 0).await?;
        let mut each = Vec::with_capacity(audiences.len());
        for audience in audiences {
            let range = self
                .store
                .index_range(&service_index(audience), floor, 0, 0)
                .await?;
            each.push(range.total);
        }
        Ok((all.total, each))
    }

    /// The live sessions of people at service `audience` (every service with `None`), the
    /// latest to end first.
    pub async fn everyone(
        &self,
        _reader: &AdminRead,
        audience: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Session>> {
        let index = audience.map_or_else(|| EVERY_SERVICE.to_string(), service_index);
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let range = self
            .store
            .index_range(&index, self.floor(), offset, page.per_page as usize)
            .await?;
        let sessions = self.records(&index, &range.members).await?;
        Ok(Page::new(
            sessions,
            page,
            i64::try_from(range.total).unwrap_or(i64::MAX),
        ))
    }

    /// The live records of `members` of `index`; a member whose record is gone leaves the index.
    async fn records(&self, index: &str, members: &[String]) -> Result<Vec<Session>> {
        let mut sessions = Vec::with_capacity(members.len());
        for member in members {
            let live = match member.parse::<SessionId>() {
                Ok(id) => self.live(&id).await?,
                Err(_) => None,
            };
            match live {
                Some(session) => sessions.push(session),
                None => self.store.index_remove(index, member).await?,
            }
        }
        Ok(sessions)
    }

    /// Ends every session of people at service `audience` (an admin's decision); returns how many
    /// ended. The audit entry, with how many were live, goes in the first batch's transaction.
    pub async fn end_all_of_service_by_admin(
        &self,
        admin: &AdminWrite,
        audience: &str,
        context: &RequestContext,
    ) -> Result<usize> {
        let index = service_index(audience);
        let now = self.clock.now();
        let mut audit = Some(
            AuditEntry::new(admin.actor(), AuditAction::SessionRevokedAllOfService)
                .target("service", audience)
                .from_client(context),
        );
        let (mut ended, mut passes, mut most_passes) = (0, 0, None);
        loop {
            let range = self
                .store
                .index_range(&index, self.floor(), 0, ENDING_BATCH)
                .await?;
            // Each pass takes its members out of the index (ended, or found gone), so this ends;
            // the bound only guards against a store that keeps what it was told to drop.
            passes += 1;
            let most = *most_passes.get_or_insert(range.total as usize / ENDING_BATCH + 2);
            if range.members.is_empty() || passes > most {
                break;
            }
            let batch = self.records(&index, &range.members).await?;
            let mut tx = self.db.begin().await?;
            if let Some(entry) = audit.take() {
                entry
                    .detail("sessions", range.total)
                    .write(&mut tx, now)
                    .await?;
            }
            for session in &batch {
                store::revoke_families(
                    &mut tx,
                    Families::One(session.id),
                    "revoked by an admin",
                    now,
                )
                .await?;
                revoked_event(session, "revoked by an admin", admin.actor().id())
                    .enqueue(&mut tx, now)
                    .await?;
            }
            tx.commit().await?;
            for session in &batch {
                self.revoke(&session.id).await?;
            }
            ended += batch.len();
        }
        if let Some(entry) = audit {
            let mut tx = self.db.begin().await?;
            entry.detail("sessions", 0).write(&mut tx, now).await?;
            tx.commit().await?;
        }
        Ok(ended)
    }
}

//! What admins see of the mail queue: the messages still waiting to go out (some after failed
//! tries) and those given up on, without their bodies (which carry single-use links).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{MAX_ATTEMPTS, store};
use crate::access::AdminRead;
use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::store::sql::Db;

/// Where an unsent message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MailState {
    /// Not sent yet; tried again at `next_attempt_at` (after a failure, with backoff).
    Waiting,
    /// Every attempt failed; it will not be tried again.
    Failed,
}

/// An unsent message, as admins see it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueuedMail {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub state: MailState,
    /// Delivery attempts made so far.
    pub attempts: i64,
    pub created_at: Timestamp,
    /// When it is tried next; null once it failed for good.
    pub next_attempt_at: Option<Timestamp>,
    /// What the mail server (or the network) said the last time.
    pub last_error: Option<String>,
}

/// How many messages wait and how many failed for good, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub waiting: i64,
    pub failed: i64,
}

/// One page of unsent messages (of one state, or both), oldest first.
pub async fn list(
    db: &Db,
    _reader: &AdminRead,
    state: Option<MailState>,
    page: PageRequest,
) -> Result<Page<QueuedMail>> {
    let page = page.validated()?;
    let (total, rows) = store::unsent(
        db,
        state.map(|s| s == MailState::Failed),
        MAX_ATTEMPTS,
        page,
    )
    .await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let failed = row.attempts >= MAX_ATTEMPTS;
            QueuedMail {
                id: row.id,
                recipient: row.recipient,
                subject: row.subject,
                state: if failed {
                    MailState::Failed
                } else {
                    MailState::Waiting
                },
                attempts: row.attempts,
                created_at: row.created_at,
                next_attempt_at: (!failed).then_some(row.next_attempt_at),
                last_error: row.last_error,
            }
        })
        .collect();
    Ok(Page::new(items, page, total))
}

/// How many messages wait and how many failed for good.
pub async fn depth(db: &Db) -> Result<QueueDepth> {
    let (waiting, failed) = store::depth(db, MAX_ATTEMPTS).await?;
    Ok(QueueDepth { waiting, failed })
}

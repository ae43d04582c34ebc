//! Telling admins that accounts wait for a decision, without flooding them: each admin of role
//! `admin` gets at most one mail per [`NOTICE_WINDOW`], naming every account verified since its
//! previous one. The first account after a quiet spell is told at once (in the transaction that
//! made it pending); those that arrive within the window are gathered by `notify_admins` run
//! again from the background once the window is over.

mod store;

use jiff::{SignedDuration, Timestamp};

use crate::error::Result;
use crate::mail::messages;
use crate::store::sql::Executor;

/// At most one mail per admin in this long.
pub const NOTICE_WINDOW: SignedDuration = SignedDuration::from_mins(10);
/// Accounts one mail names at most; the rest follow in the next.
const MAX_NAMED: i64 = 100;

/// Queues, through `ex`, one mail to each admin whose window is over and who has not been told
/// of every waiting account; returns how many mails were queued.
pub(crate) async fn notify_admins(
    ex: &mut dyn Executor,
    now: Timestamp,
    public_url: &str,
) -> Result<usize> {
    let mut queued = 0;
    for admin in store::admins(ex).await? {
        if admin
            .last_sent_at
            .is_some_and(|last| now.duration_since(last) < NOTICE_WINDOW)
        {
            continue;
        }
        let waiting = store::waiting_since(ex, admin.covered_until, MAX_NAMED).await?;
        let Some(newest) = waiting.last().map(|w| w.verified_at) else {
            continue;
        };
        if !store::claim(ex, &admin.id, admin.last_sent_at, now, newest).await? {
            continue;
        }
        let named: Vec<(String, String, String)> = waiting
            .into_iter()
            .map(|w| (w.username, w.email, w.full_name))
            .collect();
        messages::accounts_waiting(&admin.email, &named, public_url)
            .enqueue(ex, now)
            .await?;
        queued += 1;
    }
    Ok(queued)
}

//! Following announcements: a process reloads what another process changed (signing keys, the
//! schedule, the route table) as soon as the change is published, and on a timer regardless,
//! because publish/subscribe delivers at most once and a message sent while the subscription is
//! down is lost.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::Ephemeral;

/// How soon a lost subscription is tried again. Each attempt is followed by a reload, since
/// announcements may have been missed while it was down.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// Spawns a task that runs `reload` whenever a change is announced on `channel`, and at least
/// every `every`. A subscription that cannot be made (Redis not up yet) or that ends is made
/// again, so one bad moment at start-up does not leave the process deaf for its lifetime.
pub fn follow_announcements<F, Fut, E>(
    ephemeral: Arc<dyn Ephemeral>,
    channel: &'static str,
    what: &'static str,
    every: Duration,
    reload: F,
) where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        let mut announcements = None;
        loop {
            let Some(receiver) = announcements.as_mut() else {
                match ephemeral.subscribe(channel).await {
                    Ok(receiver) => announcements = Some(receiver),
                    Err(err) => {
                        tracing::warn!(%err, "could not follow changes to the {what}; trying again");
                        tokio::time::sleep(RESUBSCRIBE_AFTER.min(every)).await;
                    }
                }
                report(reload().await, what);
                continue;
            };
            tokio::select! {
                received = receiver.recv() => {
                    if let Err(RecvError::Closed) = received {
                        announcements = None;
                    }
                }
                () = tokio::time::sleep(every) => {}
            }
            report(reload().await, what);
        }
    });
}

fn report<E: std::fmt::Display>(reloaded: Result<(), E>, what: &str) {
    if let Err(err) = reloaded {
        tracing::warn!(%err, "could not reload the {what}");
    }
}

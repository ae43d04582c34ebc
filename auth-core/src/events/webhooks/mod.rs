//! Webhooks: every event of the outbox is fanned out into one delivery per configured webhook
//! that subscribes to its type, then POSTed as JSON with an HMAC-SHA256 signature
//! ([`signature`]), retried with doubling waits until the receiver answers 2xx or the attempts
//! run out. At least once: the body's `id` (and `X-Webhook-Id`) is the event's, the same on every
//! retry, so receivers deduplicate by it. A gateway takes a delivery with a lease before sending
//! it, so several gateways on one database never send the same one at the same time. Runs on
//! either database, with or without Redis.

pub mod signature;
mod store;

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use reqwest::header as http_header;
use serde::Serialize;
use serde_json::Value;

use crate::access::AdminRead;
use crate::clock::SharedClock;
use crate::config::{Config, EventsConfig, WebhookConfig};
use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::secret::Secret;
use crate::store::StoreError;
use crate::store::sql::Db;

use store::{Due, Outcome};

/// Events fanned out per pass.
const FAN_OUT_BATCH: i64 = 100;
/// Deliveries attempted per pass.
const DELIVERY_BATCH: i64 = 20;
/// The first wait after a failure; each later one doubles, up to [`LONGEST_WAIT`].
const FIRST_WAIT_SECS: i64 = 5;
const LONGEST_WAIT: SignedDuration = SignedDuration::from_hours(6);
/// Longest error text kept in the log.
const ERROR_CHARS: usize = 300;

/// One attempt to deliver an event, as admins read the delivery log.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    /// The attempt's own id.
    pub id: String,
    /// The delivery (one event to one webhook) this attempt belongs to.
    pub delivery_id: String,
    /// The event's id, sent as `X-Webhook-Id` and as the body's `id`.
    pub event_id: String,
    /// The webhook's `name` in the configuration.
    pub webhook: String,
    /// E.g. `user.approved`.
    pub event_type: String,
    /// 1 for the first attempt of the delivery.
    pub attempt: i64,
    pub attempted_at: Timestamp,
    /// The receiver's HTTP status; null when it gave none (refused, timed out).
    pub status: Option<i64>,
    /// What went wrong; null when delivered.
    pub error: Option<String>,
    /// `delivered`, `retrying` (another attempt is scheduled) or `given_up`.
    pub outcome: String,
}

struct Hook {
    config: WebhookConfig,
    secret: Secret,
}

/// Delivers events to the configured webhooks; cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    clock: SharedClock,
    hooks: Vec<Hook>,
    settings: EventsConfig,
    http: reqwest::Client,
    /// Whether events also go to a Redis Stream, so an event stays until it is published there.
    published_to_redis: bool,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .inner
            .hooks
            .iter()
            .map(|h| h.config.name.as_str())
            .collect();
        f.debug_struct("Webhooks").field("hooks", &names).finish()
    }
}

impl Webhooks {
    /// Reads each webhook's secret and builds the HTTP client.
    pub fn new(
        config: &Config,
        db: Db,
        clock: SharedClock,
        published_to_redis: bool,
    ) -> Result<Webhooks, String> {
        let hooks = config
            .webhooks
            .iter()
            .enumerate()
            .map(|(i, hook)| {
                Ok(Hook {
                    config: hook.clone(),
                    secret: hook
                        .secret()
                        .map_err(|err| format!("webhooks[{i}]: {err}"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.events.webhook_timeout_secs))
            // A receiver's redirect is its failure to answer, not a new destination.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("auth-gateway-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| format!("webhook HTTP client: {err}"))?;
        Ok(Webhooks {
            inner: Arc::new(Inner {
                db,
                clock,
                hooks,
                settings: config.events.clone(),
                http,
                published_to_redis,
            }),
        })
    }

    /// Fans out, delivers and sweeps until the process ends.
    pub async fn run_forever(self) {
        let mut last_sweep: Option<Timestamp> = None;
        loop {
            let busy = match self.run_once().await {
                Ok(n) => n > 0,
                Err(err) => {
                    tracing::warn!(%err, "webhook pass failed; will retry");
                    false
                }
            };
            let now = self.inner.clock.now();
            if last_sweep.is_none_or(|at| now.duration_since(at) > SignedDuration::from_mins(10)) {
                match self.sweep().await {
                    Ok(removed) if removed > 0 => tracing::info!(removed, "old events removed"),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(%err, "event sweep failed"),
                }
                last_sweep = Some(now);
            }
            if !busy {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    /// One pass: fan out new events, then attempt every delivery that is due. Returns how many
    /// events and deliveries it handled.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        Ok(self.fan_out().await? + self.deliver_due().await?)
    }

    /// Turns events not yet fanned out into deliveries (none when no webhook wants them, and the
    /// event is then simply done).
    pub async fn fan_out(&self) -> Result<usize, StoreError> {
        let db = &self.inner.db;
        let events = store::undispatched(db, FAN_OUT_BATCH).await?;
        for event in &events {
            let names: Vec<&str> = self
                .inner
                .hooks
                .iter()
                .filter(|hook| hook.config.wants(&event.kind))
                .map(|hook| hook.config.name.as_str())
                .collect();
            store::fan_out(db, event, &names, self.inner.clock.now()).await?;
        }
        Ok(events.len())
    }

    /// Attempts each delivery due now that no other gateway holds; returns how many it attempted.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let db = &self.inner.db;
        let now = self.inner.clock.now();
        // Longer than one attempt can take, so the lease never ends while the POST runs.
        let lease =
            SignedDuration::from_secs(self.inner.settings.webhook_timeout_secs as i64 * 2 + 30);
        let mut attempted = 0;
        for due in store::due(db, now, DELIVERY_BATCH).await? {
            if !store::claim(db, &due.id, now + lease, now).await? {
                continue;
            }
            attempted += 1;
            self.attempt(&due).await?;
        }
        Ok(attempted)
    }

    async fn attempt(&self, due: &Due) -> Result<(), StoreError> {
        let db = &self.inner.db;
        let Some(hook) = self
            .inner
            .hooks
            .iter()
            .find(|h| h.config.name == due.webhook)
        else {
            let at = self.inner.clock.now();
            let error = Some("the webhook is no longer configured".to_string());
            count("given_up");
            return store::record(db, due, None, error, Outcome::GiveUp, at).await;
        };
        let body = body(due);
        let timestamp = self.inner.clock.now().as_second();
        let signature =
            signature::sign(hook.secret.expose().as_bytes(), timestamp, body.as_bytes());
        let sent = self
            .inner
            .http
            .post(&hook.config.url)
            .header(http_header::CONTENT_TYPE, "application/json")
            .header(signature::ID_HEADER, &due.event_id)
            .header(signature::EVENT_HEADER, &due.event_type)
            .header(signature::TIMESTAMP_HEADER, timestamp.to_string())
            .header(signature::SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        let (status, error) = match sent {
            Ok(answer) if answer.status().is_success() => (Some(answer.status().as_u16()), None),
            Ok(answer) => (
                Some(answer.status().as_u16()),
                Some(format!("the receiver answered {}", answer.status())),
            ),
            // Without the URL: it may carry credentials in its query.
            Err(err) => (None, Some(short(&err.without_url().to_string()))),
        };
        let at = self.inner.clock.now();
        let outcome = if error.is_none() {
            count("delivered");
            Outcome::Delivered
        } else if due.attempts + 1 >= i64::from(self.inner.settings.webhook_max_attempts) {
            count("given_up");
            tracing::warn!(webhook = %due.webhook, event_id = %due.event_id, "webhook delivery given up");
            Outcome::GiveUp
        } else {
            count("retrying");
            Outcome::Retry(at + wait_after(due.attempts + 1))
        };
        if let Some(error) = &error {
            tracing::info!(webhook = %due.webhook, event_id = %due.event_id, %error, "webhook attempt failed");
        }
        store::record(db, due, status, error, outcome, at).await
    }

    /// Removes delivery log entries older than `events.delivery_log_days` and delivered events
    /// older than `events.retention_days`, one batch of each; returns how many rows went.
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        let now = self.inner.clock.now();
        let days = |d: u32| SignedDuration::from_hours(24 * i64::from(d));
        store::sweep(
            &self.inner.db,
            now - days(self.inner.settings.delivery_log_days),
            now - days(self.inner.settings.retention_days),
            self.inner.published_to_redis,
        )
        .await
    }

    /// The delivery log, newest attempt first; optionally of one webhook or one event.
    pub async fn attempts(
        &self,
        _reader: &AdminRead,
        webhook: Option<String>,
        event_id: Option<String>,
        page: PageRequest,
    ) -> Result<Page<DeliveryAttempt>> {
        store::attempts(&self.inner.db, webhook, event_id, page.validated()?).await
    }
}

/// The wait before attempt `attempts + 1`: 5 s, 10 s, 20 s, … up to six hours.
fn wait_after(attempts: i64) -> SignedDuration {
    let doublings = (attempts - 1).clamp(0, 20) as u32;
    SignedDuration::from_secs(FIRST_WAIT_SECS.saturating_mul(2_i64.pow(doublings)))
        .min(LONGEST_WAIT)
}

/// The JSON body: built from the stored event alone, so every retry sends the same bytes.
fn body(due: &Due) -> String {
    let data: Value = serde_json::from_str(&due.payload).unwrap_or(Value::Null);
    serde_json::json!({
        "id": due.event_id,
        "type": due.event_type,
        "created_at": due.event_at.to_string(),
        "data": data,
    })
    .to_string()
}

fn count(outcome: &str) {
    if let Some(meter) = crate::measure::meter() {
        meter.webhook_attempt(outcome);
    }
}

fn short(text: &str) -> String {
    text.chars().take(ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_five_seconds_up_to_six_hours() {
        assert_eq!(wait_after(1), SignedDuration::from_secs(5));
        assert_eq!(wait_after(2), SignedDuration::from_secs(10));
        assert_eq!(wait_after(4), SignedDuration::from_secs(40));
        assert_eq!(wait_after(30), LONGEST_WAIT);
    }
}

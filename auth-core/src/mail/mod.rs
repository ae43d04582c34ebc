//! Mail: messages are queued in the database with the change that causes them and delivered by a
//! background worker with retries, over SMTP (lettre) or, with no SMTP server configured, as one
//! `.eml` file per message in the outbox folder.

mod after_answer;
pub mod messages;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::ids::row_id;
use crate::params;
use crate::store::StoreError;
use crate::store::sql::{Db, Executor};

pub use after_answer::AfterAnswer;

/// After this many failed attempts a message is left undelivered (visible in the table, without
/// its body).
const MAX_ATTEMPTS: i64 = 12;
const CLAIM_FOR: SignedDuration = SignedDuration::from_secs(120);

/// A message to send.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl OutgoingMail {
    /// Queues the message through `ex`, normally the transaction of the change it reports.
    pub async fn enqueue(self, ex: &mut dyn Executor, at: Timestamp) -> Result<(), StoreError> {
        ex.run_execute(
            "INSERT INTO mail_queue (id, recipient, subject, body, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
            params![row_id(), self.to, self.subject, self.body, at],
        )
        .await?;
        Ok(())
    }
}

/// Checks an SMTP URL without connecting.
pub fn check_smtp_url(url: &str) -> Result<(), String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(|_| ())
        .map_err(|err| format!("not an SMTP URL: {err}"))
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Delivers queued mail.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<MailerInner>,
}

struct MailerInner {
    db: Db,
    clock: SharedClock,
    from: Mailbox,
    transport: Transport,
    wake: Notify,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.inner.from)
            .finish()
    }
}

impl Mailer {
    pub fn new(config: &Config, db: Db, clock: SharedClock) -> Result<Mailer, String> {
        let from: Mailbox = config
            .mail
            .from
            .parse()
            .map_err(|err| format!("mail.from: {err}"))?;
        let transport = match &config.mail.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|err| format!("mail.smtp_url: {err}"))?
                    .timeout(Some(Duration::from_secs(10)))
                    .build(),
            ),
            None => {
                let dir = config.outbox_dir();
                create_private_dir(&dir)?;
                Transport::Files(AsyncFileTransport::new(dir))
            }
        };
        Ok(Mailer {
            inner: Arc::new(MailerInner {
                db,
                clock,
                from,
                transport,
                wake: Notify::new(),
            }),
        })
    }

    /// Tells the worker that new mail was committed, so it goes out now rather than at the next poll.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Sends due mail until the process ends.
    pub async fn deliver_forever(self) {
        loop {
            match self.deliver_due().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "mail delivery pass failed"),
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), self.inner.wake.notified()).await;
        }
    }

    /// Sends every message that is due now; returns how many were attempted.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let now = self.inner.clock.now();
        let due = self
            .inner
            .db
            .query(
                "SELECT id, recipient, subject, body, attempts FROM mail_queue
                 WHERE sent_at IS NULL AND next_attempt_at <= $1 AND attempts < $2
                   AND (claimed_until IS NULL OR claimed_until < $1)
                 ORDER BY created_at LIMIT 20",
                params![now, MAX_ATTEMPTS],
            )
            .await?;
        let mut attempted = 0;
        for row in due {
            let id: String = row.get("id")?;
            // Claim it, so another gateway's worker does not send it too.
            let claimed = self
                .inner
                .db
                .execute(
                    "UPDATE mail_queue SET claimed_until = $1
                     WHERE id = $2 AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3)",
                    params![now + CLAIM_FOR, id.clone(), now],
                )
                .await?;
            if claimed == 0 {
                continue;
            }
            attempted += 1;
            let mail = OutgoingMail {
                to: row.get("recipient")?,
                subject: row.get("subject")?,
                body: row.get("body")?,
            };
            let attempts: i64 = row.get("attempts")?;
            match self.send(&mail).await {
                Ok(()) => {
                    // The body goes once sent: its links carry single-use tokens, which the store
                    // otherwise keeps only as hashes.
                    self.inner
                        .db
                        .execute(
                            "UPDATE mail_queue SET sent_at = $1, attempts = attempts + 1,
                             claimed_until = NULL, last_error = NULL, body = '' WHERE id = $2",
                            params![self.inner.clock.now(), id],
                        )
                        .await?;
                }
                Err(err) => {
                    tracing::warn!(mail_id = %id, %err, "mail not delivered; will retry");
                    let backoff = SignedDuration::from_secs(5 * 2_i64.pow(attempts.min(9) as u32));
                    self.inner
                        .db
                        .execute(
                            "UPDATE mail_queue SET attempts = attempts + 1, claimed_until = NULL,
                             next_attempt_at = $1, last_error = $2,
                             body = CASE WHEN attempts + 1 >= $4 THEN '' ELSE body END
                             WHERE id = $3",
                            params![self.inner.clock.now() + backoff, err, id, MAX_ATTEMPTS],
                        )
                        .await?;
                }
            }
        }
        Ok(attempted)
    }

    async fn send(&self, mail: &OutgoingMail) -> Result<(), String> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|err| format!("bad recipient: {err}"))?;
        let body = readable_body(&mail.body);
        let message = Message::builder()
            .from(self.inner.from.clone())
            .to(to)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|err| err.to_string())?;
        match &self.inner.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Transport::Files(files) => files
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}

/// The body as 8bit text with CRLF line ends, so the message (and its links) stays readable in
/// the outbox files and in any mail client's source view. SMTP allows 998 octets a line; our
/// texts are templates far below that, but anything longer falls back to an encoding lettre picks.
fn readable_body(text: &str) -> Body {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let fits = crlf.split("\r\n").all(|line| line.len() <= 998) && !crlf.contains('\0');
    if fits {
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit)
    } else {
        Body::new(text.to_string())
    }
}

fn create_private_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

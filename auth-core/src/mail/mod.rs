//! Mail: messages are queued in the database with the change that causes them and delivered by a
//! background worker with retries, over SMTP (lettre) or, with no SMTP server configured, as one
//! `.eml` file per message in the outbox folder.

mod after_answer;
pub mod messages;
pub mod queue;

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
use crate::store::StoreError;
use crate::store::sql::{Db, Executor};

mod store;

pub use after_answer::AfterAnswer;

/// After this many failed attempts a message is left undelivered (visible in the table, without
/// its body).
pub(crate) const MAX_ATTEMPTS: i64 = 12;
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
        store::enqueue(ex, &self, at).await
    }
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
        let due = store::due(&self.inner.db, now, MAX_ATTEMPTS).await?;
        let mut attempted = 0;
        for message in due {
            if !store::claim(&self.inner.db, &message.id, now + CLAIM_FOR, now).await? {
                continue;
            }
            attempted += 1;
            match self.send(&message.mail).await {
                Ok(()) => store::sent(&self.inner.db, &message.id, self.inner.clock.now()).await?,
                Err(err) => {
                    tracing::warn!(mail_id = %message.id, %err, "mail not delivered; will retry");
                    let backoff =
                        SignedDuration::from_secs(5 * 2_i64.pow(message.attempts.min(9) as u32));
                    let retry_at = self.inner.clock.now() + backoff;
                    store::failed(&self.inner.db, &message.id, err, retry_at, MAX_ATTEMPTS).await?;
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

/// Tries the configured transport without sending anything: the SMTP server answers a
/// connection (and its greeting), or the outbox folder can be written. What was checked, or why
/// it failed. For `auth-gateway check-config`.
pub async fn check_transport(config: &Config) -> Result<String, String> {
    match &config.mail.smtp_url {
        Some(url) => {
            let transport: AsyncSmtpTransport<Tokio1Executor> =
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|err| format!("mail.smtp_url: {err}"))?
                    .timeout(Some(Duration::from_secs(5)))
                    .build();
            let host = url::Url::parse(url)
                .ok()
                .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port().unwrap_or(25))))
                .unwrap_or_else(|| "the SMTP server".into());
            match transport.test_connection().await {
                Ok(true) => Ok(format!("SMTP server {host} answers")),
                Ok(false) => Err(format!("SMTP server {host} did not accept a connection")),
                Err(err) => Err(format!("SMTP server {host}: {err}")),
            }
        }
        None => {
            let dir = config.outbox_dir();
            if !dir.is_dir() {
                return Ok(format!(
                    "no SMTP server; mail will be written to {} (created at start)",
                    dir.display()
                ));
            }
            let probe = dir.join(".check-config");
            std::fs::write(&probe, b"")
                .map_err(|err| format!("cannot write in {}: {err}", dir.display()))?;
            let _ = std::fs::remove_file(&probe);
            Ok(format!(
                "no SMTP server; mail is written to {}",
                dir.display()
            ))
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

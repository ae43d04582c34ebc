//! [`AuthCore`]: the whole auth system as one value. It opens the stores, keys and mailer from a
//! [`Config`], runs the background work, and hands out the domains ([`AuthCore::accounts`],
//! [`AuthCore::admins`], [`AuthCore::credentials`], [`AuthCore::sessions`], …), each borrowing
//! the shared [`Base`] and only the state of the domains it calls. No domain reaches back here.

use std::sync::Arc;

use jiff::SignedDuration;
use serde_json::Value;

use crate::accounts::Accounts;
use crate::admins::Admins;
use crate::audit::Audit;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::context::Base;
use crate::credentials::{
    ConsoleKeys, CredentialState, Credentials, KeyRing, Lockout, MasterKey, TokenSigner,
};
use crate::error::{Error, Result};
use crate::events::webhooks::Webhooks;
use crate::login_history::LoginHistory;
use crate::mail::Mailer;
use crate::passwords::{PasswordHasher, PasswordPolicy, Passwords};
use crate::qr_login::{QrLogin, QrState};
use crate::schedule::{Schedule, ScheduleStore};
use crate::services::Services;
use crate::sessions::Sessions;
use crate::store::ephemeral::follow_announcements;
use crate::store::{Health, Stores};

/// Channel on which key rotations are announced.
const KEY_ROTATIONS: &str = "keys:rotated";
/// How often signing keys and the schedule are reloaded without an announcement (announcements do
/// not cross processes in the embedded mode, and Redis may drop one).
const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// The auth system; cheap to clone.
#[derive(Clone)]
pub struct AuthCore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuthCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCore").finish_non_exhaustive()
    }
}

/// What the system holds: the shared base, and each domain's own state.
struct Inner {
    base: Base,
    passwords: Passwords,
    credentials: CredentialState,
    sessions: Sessions,
    mailer: Mailer,
    schedule: ScheduleStore,
    qr: QrState,
    webhooks: Webhooks,
}

impl AuthCore {
    /// Opens the configured stores (applying migrations) and everything on top of them.
    pub async fn open(config: Config, clock: SharedClock) -> Result<AuthCore> {
        let stores = Stores::open(&config).await?;
        Self::with_stores(config, clock, stores).await
    }

    /// Builds the system on stores already open and migrated.
    pub async fn with_stores(
        config: Config,
        clock: SharedClock,
        stores: Stores,
    ) -> Result<AuthCore> {
        let passwords = config.passwords.clone();
        let hasher = tokio::task::spawn_blocking(move || PasswordHasher::new(&passwords))
            .await
            .map_err(Error::internal)??;
        let master = MasterKey::load_or_create(&config)?;
        let pin_key = master.derive(b"qr-pin");
        let unknown_logins_key = master.derive(b"unknown-logins");
        let console_keys = ConsoleKeys {
            totp: master.derive(b"admin-totp"),
            csrf: master.derive(b"console-csrf"),
        };
        let default_schedule = Schedule::from_config(&config.schedule)
            .map_err(|(key, message)| Error::internal(format!("schedule.{key}: {message}")))?;
        let schedule = ScheduleStore::open(
            stores.db.clone(),
            stores.ephemeral.clone(),
            clock.clone(),
            default_schedule,
        )
        .await?;
        let keys = KeyRing::open(
            stores.db.clone(),
            master,
            clock.clone(),
            longest_token_life(&config),
        )
        .await?;
        let tokens = TokenSigner::new(
            keys,
            clock.clone(),
            config.tokens.issuer.clone(),
            config.tokens.leeway_secs,
        );
        let mailer =
            Mailer::new(&config, stores.db.clone(), clock.clone()).map_err(Error::internal)?;
        let webhooks = Webhooks::new(
            &config,
            stores.db.clone(),
            clock.clone(),
            stores.redis().is_some(),
        )
        .map_err(Error::internal)?;
        let inner = Inner {
            webhooks,
            passwords: Passwords {
                hasher,
                policy: PasswordPolicy::new(&config.passwords),
            },
            credentials: CredentialState {
                lockout: Lockout::new(&config.lockout, unknown_logins_key),
                tokens,
                edge_cache: Default::default(),
                console: console_keys,
            },
            sessions: Sessions::new(stores.ephemeral.clone(), stores.db.clone(), clock.clone()),
            mailer,
            schedule,
            qr: QrState { pin_key },
            base: Base {
                stores,
                clock,
                config,
            },
        };
        let core = AuthCore {
            inner: Arc::new(inner),
        };
        let seeded = core
            .services()
            .seed(&core.inner.base.config.services)
            .await?;
        if seeded > 0 {
            tracing::info!(seeded, "created services from the configuration");
        }
        Ok(core)
    }

    /// Starts the background work on the current runtime: mail delivery, webhook delivery (and
    /// the removal of old events), event publishing (with Redis), and reloads of the signing keys
    /// and the schedule when another process changes them.
    pub fn spawn_background(&self) {
        tokio::spawn(self.inner.mailer.clone().deliver_forever());
        tokio::spawn(sweep_forever(self.clone()));
        tokio::spawn(notify_admins_forever(self.clone()));
        tokio::spawn(self.inner.webhooks.clone().run_forever());
        if let Some(redis) = self.inner.base.stores.redis() {
            redis.spawn_read_tracking();
            tokio::spawn(crate::events::publish_forever(
                self.inner.base.stores.db.clone(),
                redis.clone(),
                self.inner.base.clock.clone(),
            ));
        }
        let keys = self.inner.credentials.tokens.keys().clone();
        follow_announcements(
            self.inner.base.stores.ephemeral.clone(),
            KEY_ROTATIONS,
            "signing keys",
            RELOAD_EVERY,
            move || {
                let keys = keys.clone();
                async move { keys.reload().await }
            },
        );
        let schedule = self.inner.schedule.clone();
        follow_announcements(
            self.inner.base.stores.ephemeral.clone(),
            crate::schedule::SCHEDULE_CHANGES,
            "schedule",
            RELOAD_EVERY,
            move || {
                let schedule = schedule.clone();
                async move { schedule.reload().await }
            },
        );
    }

    /// Tells every gateway sharing this Redis to reload the signing keys now.
    pub async fn announce_key_rotation(&self) -> Result<()> {
        self.inner
            .base
            .stores
            .ephemeral
            .publish(KEY_ROTATIONS, b"rotated".to_vec())
            .await?;
        Ok(())
    }

    pub fn config(&self) -> &Config {
        &self.inner.base.config
    }

    pub fn clock(&self) -> &SharedClock {
        &self.inner.base.clock
    }

    pub fn stores(&self) -> &Stores {
        &self.inner.base.stores
    }

    /// The Redis every gateway of the deployment shares, when there is one: where limits that
    /// all gateways must agree on are counted.
    pub fn shared_redis(&self) -> Option<&crate::store::ephemeral::RedisStore> {
        self.inner.base.stores.redis()
    }

    /// How many password verifications (real or against the dummy hash) this core has started.
    pub fn password_verifications(&self) -> u64 {
        self.inner.passwords.hasher.verifications()
    }

    pub async fn health(&self) -> Health {
        self.inner.base.stores.health().await
    }

    pub fn accounts(&self) -> Accounts<'_> {
        let i = &self.inner;
        Accounts::new(crate::accounts::AccountsCore {
            base: &i.base,
            passwords: &i.passwords,
            mailer: &i.mailer,
            sessions: &i.sessions,
        })
    }

    pub fn admins(&self) -> Admins<'_> {
        Admins::new(
            &self.inner.base,
            &self.inner.passwords,
            &self.inner.sessions,
            &self.inner.mailer,
        )
    }

    pub fn credentials(&self) -> Credentials<'_> {
        let i = &self.inner;
        Credentials::new(crate::credentials::CredentialsCore {
            base: &i.base,
            passwords: &i.passwords,
            state: &i.credentials,
            sessions: &i.sessions,
            mailer: &i.mailer,
        })
    }

    /// The audit log, for admins to read.
    pub fn audit(&self) -> Audit<'_> {
        Audit::new(&self.inner.base.stores.db)
    }

    pub fn services(&self) -> Services<'_> {
        Services::new(&self.inner.base)
    }

    pub fn qr_login(&self) -> QrLogin<'_> {
        let i = &self.inner;
        QrLogin::new(crate::qr_login::QrCore {
            base: &i.base,
            credentials: &i.credentials,
            sessions: &i.sessions,
            schedule: &i.schedule,
            state: &i.qr,
        })
    }

    /// The retention sweep (run in the background by [`AuthCore::spawn_background`]).
    pub fn retention(&self) -> crate::retention::Retention<'_> {
        crate::retention::Retention::new(&self.inner.base)
    }

    pub fn login_history(&self) -> LoginHistory<'_> {
        LoginHistory::new(&self.inner.base)
    }

    /// The operating schedule in force.
    pub fn schedule(&self) -> &ScheduleStore {
        &self.inner.schedule
    }

    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    pub fn tokens(&self) -> &TokenSigner {
        &self.inner.credentials.tokens
    }

    pub fn mailer(&self) -> &Mailer {
        &self.inner.mailer
    }

    /// The mail still waiting to go out, or given up on, one page, for admins.
    pub async fn mail_queue(
        &self,
        reader: &crate::access::AdminRead,
        state: Option<crate::mail::queue::MailState>,
        page: crate::page::PageRequest,
    ) -> Result<crate::page::Page<crate::mail::queue::QueuedMail>> {
        crate::mail::queue::list(&self.inner.base.stores.db, reader, state, page).await
    }

    /// How many messages wait and how many were given up on, for `/metrics`.
    pub async fn mail_queue_depth(&self) -> Result<crate::mail::queue::QueueDepth> {
        crate::mail::queue::depth(&self.inner.base.stores.db).await
    }

    /// Delivery of events to webhooks, and the delivery log.
    pub fn webhooks(&self) -> &Webhooks {
        &self.inner.webhooks
    }

    /// The host operator's leave to act as an admin, for the command line on the host (which holds
    /// the database and the master key already) and for an application that embeds the whole
    /// system and decides itself who its operators are. Never derive it from a request.
    pub fn host_operator(&self) -> crate::access::AdminWrite {
        crate::access::host_operator()
    }

    /// The public signing keys, as `/.well-known/jwks.json` serves them.
    pub fn jwks(&self) -> Value {
        self.inner
            .credentials
            .tokens
            .keys()
            .jwks(self.inner.base.clock.now())
    }
}

/// Runs the retention sweep every `retention.sweep_every_minutes` (wall time) until the process
/// ends; the first a minute after start, so start-up is not slowed.
async fn sweep_forever(core: AuthCore) {
    let every = |core: &AuthCore| {
        std::time::Duration::from_secs(60 * u64::from(core.config().retention.sweep_every_minutes))
    };
    tokio::time::sleep(std::time::Duration::from_secs(60).min(every(&core))).await;
    loop {
        if let Err(err) = core.retention().sweep().await {
            tracing::warn!(%err, "retention sweep failed; will try again");
        }
        tokio::time::sleep(every(&core)).await;
    }
}

/// Gathers the accounts that arrived within an admin's notice window into the next mail, once
/// a minute.
async fn notify_admins_forever(core: AuthCore) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        if let Err(err) = core.accounts().notify_waiting_admins().await {
            tracing::warn!(%err, "could not notify admins of waiting accounts");
        }
    }
}

/// How long a token can live at most: a retired signing key verifies for this long.
fn longest_token_life(config: &Config) -> SignedDuration {
    let t = &config.tokens;
    let longest = t
        .access_ttl_secs
        .max(t.admin_ttl_secs)
        .max(config.sessions.service_ttl_secs);
    let longest = SignedDuration::from_secs(i64::try_from(longest).unwrap_or(i64::MAX))
        .max(crate::credentials::CONSOLE_MAX);
    longest + SignedDuration::from_secs(i64::try_from(t.leeway_secs).unwrap_or(i64::MAX))
}

//! What the core counts for an operator's metrics: logins by method and outcome, lockouts, QR
//! challenges by outcome, wrong PINs, webhook attempts, and how long each store call takes. The core knows no
//! metrics library; a program that wants the numbers installs a [`Meter`] once (the gateway's
//! feeds Prometheus), and without one nothing is counted.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Receives what the core counts. Every method has a default that ignores it.
pub trait Meter: Send + Sync {
    /// A login attempt by `method` (`password`, `qr`, `pat`, `admin`) that ended in `outcome`
    /// (`success` or the refusal's code, e.g. `INVALID_CREDENTIALS`).
    fn login(&self, _method: &str, _outcome: &str) {}
    /// An account was locked by too many wrong `kind` (`password`, `pin`, `admin_password`).
    fn lockout(&self, _kind: &str) {}
    /// A QR challenge moved on: `created`, `scanned`, `completed`.
    fn qr_challenge(&self, _outcome: &str) {}
    /// A wrong PIN was typed.
    fn pin_failure(&self) {}
    /// An attempt to deliver an event to a webhook: `delivered`, `retrying` or `given_up`.
    fn webhook_attempt(&self, _outcome: &str) {}
    /// A call to `store` (`sql` or `redis`) took `seconds`.
    fn store_call(&self, _store: &str, _seconds: f64) {}
}

static METER: OnceLock<Arc<dyn Meter>> = OnceLock::new();

/// Installs the process's meter; false if one was installed before (the first one stays).
pub fn install(meter: Arc<dyn Meter>) -> bool {
    METER.set(meter).is_ok()
}

/// The installed meter, if any.
pub(crate) fn meter() -> Option<&'static dyn Meter> {
    METER.get().map(|m| m.as_ref())
}

/// Times a store call and reports it when dropped.
pub(crate) struct StoreTimer {
    store: &'static str,
    started: Option<Instant>,
}

impl StoreTimer {
    pub(crate) fn start(store: &'static str) -> Self {
        Self {
            store,
            started: meter().map(|_| Instant::now()),
        }
    }
}

impl Drop for StoreTimer {
    fn drop(&mut self) {
        if let (Some(meter), Some(started)) = (meter(), self.started) {
            meter.store_call(self.store, started.elapsed().as_secs_f64());
        }
    }
}

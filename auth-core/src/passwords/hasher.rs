//! Argon2id hashing on the hashing threads (`hash_pool`): at most `max_concurrent_hashes` at once
//! and never every core, so a burst of logins neither exhausts memory (each hash takes
//! `argon2_memory_kib`) nor starves the proxy; past `max_queued_hashes` waiting, refused at once.
//!
//! A login for an account that does not exist verifies against a dummy hash made at start-up with
//! the same parameters, so it costs what a wrong password costs and timing tells nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::hash_pool::{self, HashPool};
use crate::config::PasswordConfig;
use crate::error::Error;
use crate::secret::{Secret, random_bytes};

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Wrong password (or no such account).
    No,
    /// Right password; `rehash` holds a new hash when the stored one used older parameters.
    Yes { rehash: Option<String> },
}

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    pool: HashPool,
    dummy_hash: Arc<str>,
    verifications: Arc<AtomicU64>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .finish()
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_now(params: &Params, password: &str) -> Result<String, Error> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(Error::internal)?;
    argon2(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(Error::internal)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl PasswordHasher {
    /// Prepares a hasher; computes the dummy hash (one hash of work, on the calling thread).
    pub fn new(config: &PasswordConfig) -> Result<Self, Error> {
        let params = Params::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            None,
        )
        .map_err(|err| Error::internal(format!("argon2 parameters: {err}")))?;
        let dummy = hash_now(&params, &hex::encode(random_bytes::<16>()))?;
        Ok(Self {
            params,
            pool: HashPool::start(
                hash_pool::threads_for(config.max_concurrent_hashes, cores()),
                config.max_queued_hashes,
            )?,
            dummy_hash: dummy.into(),
            verifications: Arc::default(),
        })
    }

    async fn on_blocking_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce(Params) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let params = self.params.clone();
        self.pool.run(move || work(params)).await
    }

    /// How many hashes can run at once.
    pub fn hashing_threads(&self) -> usize {
        self.pool.threads()
    }

    /// Hashes a (normalised) password.
    pub async fn hash(&self, password: &Secret) -> Result<String, Error> {
        let password = password.clone();
        self.on_blocking_pool(move |params| hash_now(&params, password.expose()))
            .await?
    }

    /// How many verifications this hasher has started: the work a login costs, which must not
    /// depend on whether the account exists or is locked.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no account
    /// (`stored` is None), which always answers [`Verified::No`] after the same work.
    pub async fn verify(&self, password: &Secret, stored: Option<&str>) -> Result<Verified, Error> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let password = password.clone();
        let is_real = stored.is_some();
        let stored: String = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_string);
        self.on_blocking_pool(move |params| {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Ok(Verified::No);
            };
            let matches = argon2(&params)
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok();
            if !matches || !is_real {
                return Ok(Verified::No);
            }
            let current = Params::try_from(&parsed).ok();
            let outdated = parsed.algorithm.as_str() != "argon2id"
                || current.is_none_or(|p| {
                    p.m_cost() != params.m_cost()
                        || p.t_cost() != params.t_cost()
                        || p.p_cost() != params.p_cost()
                });
            let rehash = if outdated {
                Some(hash_now(&params, password.expose())?)
            } else {
                None
            };
            Ok(Verified::Yes { rehash })
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PasswordConfig {
        crate::Config::defaults().passwords
    }

    #[tokio::test]
    async fn right_password_verifies_and_wrong_does_not() {
        let hasher = PasswordHasher::new(&config()).unwrap();
        let hash = hasher
            .hash(&Secret::new("river stone lantern"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            hasher
                .verify(&Secret::new("river stone lantern"), Some(&hash))
                .await
                .unwrap(),
            Verified::Yes { rehash: None }
        );
        assert_eq!(
            hasher
                .verify(&Secret::new("river stone lanterN"), Some(&hash))
                .await
                .unwrap(),
            Verified::No
        );
    }

    #[tokio::test]
    async fn unknown_account_never_verifies() {
        let hasher = PasswordHasher::new(&config()).unwrap();
        assert_eq!(
            hasher
                .verify(&Secret::new("anything at all"), None)
                .await
                .unwrap(),
            Verified::No
        );
    }

    #[tokio::test]
    async fn hash_with_older_parameters_is_upgraded() {
        let mut weak = config();
        weak.argon2_memory_kib = 8 * 1024;
        weak.argon2_iterations = 1;
        let old = PasswordHasher::new(&weak)
            .unwrap()
            .hash(&Secret::new("river stone lantern"))
            .await
            .unwrap();
        let hasher = PasswordHasher::new(&config()).unwrap();
        match hasher
            .verify(&Secret::new("river stone lantern"), Some(&old))
            .await
            .unwrap()
        {
            Verified::Yes { rehash: Some(new) } => {
                assert!(new.contains("m=19456,t=2,p=1"));
            }
            other => panic!("expected an upgrade, got {other:?}"),
        }
    }
}

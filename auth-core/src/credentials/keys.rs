//! Signing keys: Ed25519, made on first start, sealed at rest with the master key, published by
//! `kid` in the JWKS. Rotation makes a new key current; a retired key keeps verifying until every
//! token it signed has expired (`verify_until`), then leaves the JWKS.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{MasterKey, store};
use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::secret::random_bytes;
use crate::store::sql::Db;

/// Unknown `kid`s trigger a reload at most this often, so garbage tokens cannot hammer the store.
const RELOAD_AT_MOST_EVERY: Duration = Duration::from_secs(5);

struct VerifyKey {
    decoding: DecodingKey,
    public: [u8; 32],
    verify_until: Option<Timestamp>,
}

struct KeySet {
    signing_kid: String,
    /// Parsed once: signing is on every request's path (assertions), rebuilding it is not.
    signing: ed25519_dalek::SigningKey,
    verifying: HashMap<String, Arc<VerifyKey>>,
}

/// The signing keys, cached in memory and reloaded from the store when they change.
#[derive(Clone)]
pub struct KeyRing {
    db: Db,
    master: MasterKey,
    clock: SharedClock,
    /// How long a retired key keeps verifying: the longest token lifetime plus leeway.
    retire_for: SignedDuration,
    set: Arc<RwLock<Arc<KeySet>>>,
    last_reload: Arc<std::sync::Mutex<Instant>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

/// RFC 7638 thumbprint of an Ed25519 public key: a `kid` that names the key itself.
fn thumbprint(public: &[u8; 32]) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

impl KeyRing {
    /// Loads the keys, making the first one if the store has none.
    pub async fn open(
        db: Db,
        master: MasterKey,
        clock: SharedClock,
        retire_for: SignedDuration,
    ) -> Result<KeyRing> {
        if !store::has_current_key(&db).await? {
            insert_new_key(&db, &master, clock.now()).await?;
        }
        let set = load(&db, &master).await?;
        Ok(KeyRing {
            db,
            master,
            clock,
            retire_for,
            set: Arc::new(RwLock::new(Arc::new(set))),
            // The first unknown kid may reload at once.
            last_reload: Arc::new(std::sync::Mutex::new(
                Instant::now()
                    .checked_sub(RELOAD_AT_MOST_EVERY)
                    .unwrap_or_else(Instant::now),
            )),
        })
    }

    fn snapshot(&self) -> Arc<KeySet> {
        self.set
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Reads the keys from the store again (after a rotation by another process).
    pub async fn reload(&self) -> Result<()> {
        let fresh = load(&self.db, &self.master).await?;
        if let Ok(mut set) = self.set.write() {
            *set = Arc::new(fresh);
        }
        if let Ok(mut last) = self.last_reload.lock() {
            *last = Instant::now();
        }
        Ok(())
    }

    /// The key that signs now: its `kid` and the key in jsonwebtoken's form (for tools and tests;
    /// the gateway signs with [`KeyRing::sign_compact`]).
    pub fn signing_key(&self) -> (String, EncodingKey) {
        let set = self.snapshot();
        let der = set
            .signing
            .to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        (set.signing_kid.clone(), EncodingKey::from_ed_der(&der))
    }

    /// A compact JWS of `payload` (already base64url): an EdDSA header naming the current key,
    /// signed with that same key.
    pub fn sign_compact(&self, payload: &str) -> String {
        let set = self.snapshot();
        let header = serde_json::json!({ "alg": "EdDSA", "kid": set.signing_kid, "typ": "JWT" });
        let message = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header.to_string()));
        let signature = set.signing.sign(message.as_bytes()).to_bytes();
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The key named `kid`, if it still verifies at `now`. An unknown `kid` reloads the keys first
    /// (at most every few seconds), so a rotation by another gateway is picked up.
    pub async fn verifying_key(&self, kid: &str, now: Timestamp) -> Option<DecodingKey> {
        if let Some(key) = self.usable(kid, now) {
            return Some(key);
        }
        let may_reload = self
            .last_reload
            .lock()
            .map(|last| last.elapsed() >= RELOAD_AT_MOST_EVERY)
            .unwrap_or(false);
        if may_reload && self.reload().await.is_ok() {
            return self.usable(kid, now);
        }
        None
    }

    fn usable(&self, kid: &str, now: Timestamp) -> Option<DecodingKey> {
        let set = self.snapshot();
        let key = set.verifying.get(kid)?;
        match key.verify_until {
            Some(until) if until <= now => None,
            _ => Some(key.decoding.clone()),
        }
    }

    /// Makes a new signing key; the previous ones verify until their tokens have expired.
    /// Returns the new `kid`.
    pub async fn rotate(&self) -> Result<String> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        store::retire_current_key(&mut tx, now, now + self.retire_for).await?;
        let (kid, public, sealed) = new_key(&self.master)?;
        store::insert_key(&mut tx, &kid, &public, sealed, now).await?;
        tx.commit().await?;
        self.reload().await?;
        Ok(kid)
    }

    /// The JSON Web Key Set: every key that still verifies at `now`.
    pub fn jwks(&self, now: Timestamp) -> Value {
        let set = self.snapshot();
        let mut keys: Vec<(&String, &Arc<VerifyKey>)> = set
            .verifying
            .iter()
            .filter(|(_, k)| k.verify_until.is_none_or(|until| until > now))
            .collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        json!({
            "keys": keys.into_iter().map(|(kid, key)| json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(key.public),
            })).collect::<Vec<_>>()
        })
    }
}

fn new_key(master: &MasterKey) -> Result<(String, [u8; 32], Vec<u8>)> {
    let signing = ed25519_dalek::SigningKey::from_bytes(&random_bytes::<32>());
    let public = signing.verifying_key().to_bytes();
    let kid = thumbprint(&public);
    let der = signing
        .to_pkcs8_der()
        .map_err(|e| Error::internal(format!("encode signing key: {e}")))?;
    let sealed = master.seal(kid.as_bytes(), der.as_bytes())?;
    Ok((kid, public, sealed))
}

async fn insert_new_key(db: &Db, master: &MasterKey, now: Timestamp) -> Result<()> {
    let (kid, public, sealed) = new_key(master)?;
    store::insert_key(&mut db.clone(), &kid, &public, sealed, now).await
}

async fn load(db: &Db, master: &MasterKey) -> Result<KeySet> {
    let mut signing = None;
    let mut verifying = HashMap::new();
    for stored in store::keys(db).await? {
        let kid = stored.kid;
        let public: [u8; 32] = stored
            .public
            .try_into()
            .map_err(|_| Error::internal("stored public key is not 32 bytes"))?;
        if stored.retired_at.is_none() && signing.is_none() {
            let der = master.open(kid.as_bytes(), &stored.sealed).map_err(|_| {
                Error::internal(
                    "the signing key cannot be decrypted: this gateway's master key differs from \
                     the one that sealed it (keys.master_key must be shared by all gateways)",
                )
            })?;
            let key = ed25519_dalek::SigningKey::from_pkcs8_der(&der)
                .map_err(|e| Error::internal(format!("stored signing key: {e}")))?;
            signing = Some((kid.clone(), key));
        }
        verifying.insert(
            kid,
            Arc::new(VerifyKey {
                decoding: DecodingKey::from_ed_der(&public),
                public,
                verify_until: stored.verify_until,
            }),
        );
    }
    let (signing_kid, signing) =
        signing.ok_or_else(|| Error::internal("no current signing key in the store"))?;
    Ok(KeySet {
        signing_kid,
        signing,
        verifying,
    })
}

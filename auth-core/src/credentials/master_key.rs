//! The master key that seals signing keys at rest (ChaCha20-Poly1305). From configuration, or kept
//! in `data_dir/master.key` (created on first start, readable by the owner only).

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::config::Config;
use crate::error::Error;
use crate::secret::random_bytes;

/// File name of the master key inside `storage.data_dir`.
pub const MASTER_KEY_FILE: &str = "master.key";

const NONCE_LEN: usize = 12;

/// 32 secret bytes; never printed.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// Parses base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        crate::config::values::master_key_bytes(text).map(Self)
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        Self(random_bytes::<32>())
    }

    /// The configured key, or the one in the data folder (created there if absent).
    pub fn load_or_create(config: &Config) -> Result<Self, Error> {
        if let Some(text) = &config.keys.master_key {
            return Self::from_base64(text)
                .map_err(|e| Error::internal(format!("keys.master_key {e}")));
        }
        let path = config.storage.data_dir.join(MASTER_KEY_FILE);
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::internal(format!("cannot read {}: {e}", path.display())))?;
            return Self::from_base64(&text)
                .map_err(|e| Error::internal(format!("{} {e}", path.display())));
        }
        let key = Self::generate();
        write_owner_only(&path, &STANDARD.encode(key.0))?;
        tracing::info!(path = %path.display(), "created a master key for the signing keys");
        Ok(key)
    }

    /// A key for one purpose (`label`), derived so that the master key itself is used only here.
    pub fn derive(&self, label: &[u8]) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = crate::secret::keyed_mac(&self.0);
        mac.update(label);
        mac.finalize().into_bytes().into()
    }

    /// Encrypts `plaintext`, bound to `context` (which must be given again to open it).
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        seal_with(&self.0, context, plaintext)
    }

    /// Decrypts what [`MasterKey::seal`] produced; fails if either key or context differ.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Error> {
        open_with(&self.0, context, sealed)
    }
}

/// Encrypts with any 32-byte key: nonce followed by ciphertext.
pub(crate) fn seal_with(
    key: &[u8; 32],
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let nonce = random_bytes::<NONCE_LEN>();
    let mut out = nonce.to_vec();
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: context,
            },
        )
        .map_err(|_| Error::internal("encryption failed"))?;
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Decrypts what [`seal_with`] produced.
pub(crate) fn open_with(key: &[u8; 32], context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Error> {
    if sealed.len() < NONCE_LEN {
        return Err(Error::internal("sealed value too short"));
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    ChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: context,
            },
        )
        .map_err(|_| Error::internal("cannot decrypt: wrong master key or tampered data"))
}

fn write_owner_only(path: &Path, contents: &str) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_the_same_key_and_context() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"kid-1", b"private key").unwrap();
        assert_eq!(key.open(b"kid-1", &sealed).unwrap(), b"private key");
        assert!(key.open(b"kid-2", &sealed).is_err());
        assert!(MasterKey::generate().open(b"kid-1", &sealed).is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.open(b"kid-1", &tampered).is_err());
    }

    #[test]
    fn created_key_file_is_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::Config::defaults();
        config.storage.data_dir = dir.path().to_path_buf();
        let first = MasterKey::load_or_create(&config).unwrap();
        let second = MasterKey::load_or_create(&config).unwrap();
        assert_eq!(first.0, second.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_configured_keys_are_refused() {
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([1u8; 16])).is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([1u8; 32])).is_ok());
    }
}

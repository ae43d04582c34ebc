//! Reading values of the configuration that need more than serde: the master key's base64 and the
//! SMTP URL. The domains that use them (credentials, mail) read them through these same functions,
//! so what the configuration accepts is exactly what they can use.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The 32 bytes of a master key written as base64.
pub fn master_key_bytes(text: &str) -> Result<[u8; 32], String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| "must be base64".to_string())?;
    bytes
        .try_into()
        .map_err(|_| "must decode to exactly 32 bytes".to_string())
}

/// Refuses what lettre cannot send through (`smtp://host:port`, `smtps://user:pass@host`).
pub fn check_smtp_url(url: &str) -> Result<(), String> {
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
        .map(|_| ())
        .map_err(|err| format!("not an SMTP URL: {err}"))
}

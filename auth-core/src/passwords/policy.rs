//! What a new password must be, after NIST SP 800-63B: long enough, not too long to hash, no
//! composition rules, not easily guessed (a zxcvbn estimate, which knows common and leaked-style
//! passwords), and not built from the person's own email or username. Unicode is normalised (NFKC)
//! so the same password typed on two keyboards hashes the same.

use unicode_normalization::UnicodeNormalization;

use crate::config::PasswordConfig;
use crate::error::Error;
use crate::secret::Secret;

/// Below this zxcvbn score (0-4) a password is refused as too easy to guess.
const MIN_SCORE: u8 = 3;

/// zxcvbn's cost grows quickly with length; beyond this its estimate would not change anyway.
const ESTIMATE_PREFIX_CHARS: usize = 64;

/// The rules for new passwords.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    min_length: usize,
    max_length: usize,
}

impl PasswordPolicy {
    pub fn new(config: &PasswordConfig) -> Self {
        Self {
            min_length: config.min_length,
            max_length: config.max_length,
        }
    }

    /// The form of a password that is hashed and compared: NFKC-normalised.
    pub fn normalize(password: &str) -> Secret {
        Secret::new(password.nfkc().collect::<String>())
    }

    /// Checks a new password; returns it normalised, or a validation error on `field` saying why
    /// it is refused. `personal` holds the owner's email and username.
    pub fn check(&self, field: &str, password: &str, personal: &[&str]) -> Result<Secret, Error> {
        // Length is checked on the raw input first, so nothing huge is normalised or estimated.
        if password.chars().count() > self.max_length {
            return Err(Error::invalid(
                field,
                format!("must be at most {} characters", self.max_length),
            ));
        }
        let normalized = Self::normalize(password);
        let value = normalized.expose();
        let length = value.chars().count();
        if length < self.min_length {
            return Err(Error::invalid(
                field,
                format!("must be at least {} characters", self.min_length),
            ));
        }
        if length > self.max_length {
            return Err(Error::invalid(
                field,
                format!("must be at most {} characters", self.max_length),
            ));
        }
        let lowered = value.to_lowercase();
        for fragment in personal.iter().flat_map(|p| personal_fragments(p)) {
            if fragment.chars().count() >= 3 && lowered.contains(&fragment) {
                return Err(Error::invalid(
                    field,
                    "must not contain your email address or username",
                ));
            }
        }
        let prefix: String = value.chars().take(ESTIMATE_PREFIX_CHARS).collect();
        let estimate = zxcvbn::zxcvbn(&prefix, personal);
        if u8::from(estimate.score()) < MIN_SCORE {
            let reason = estimate
                .feedback()
                .and_then(|f| f.warning())
                .map(|w| format!("is too easy to guess: {w}"))
                .unwrap_or_else(|| {
                    "is too easy to guess; use a longer phrase of unrelated words".into()
                });
            return Err(Error::invalid(field, reason));
        }
        Ok(normalized)
    }
}

/// How hard a candidate password is to guess, for a form to show beside the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strength {
    /// zxcvbn's score, 0 (guessed at once) to 4 (very hard); new passwords need at least 3.
    pub score: u8,
    /// zxcvbn's warning and suggestions, in plain words; empty for a strong password.
    pub advice: Vec<String>,
}

impl Strength {
    /// The score in a word.
    pub fn label(&self) -> &'static str {
        match self.score {
            0 | 1 => "very weak",
            2 => "weak",
            3 => "good",
            _ => "strong",
        }
    }
}

impl PasswordPolicy {
    /// zxcvbn's estimate of `password` (its first 64 characters, as [`PasswordPolicy::check`]
    /// weighs them), with the owner's email and username as words an attacker would try.
    pub fn strength(password: &str, personal: &[&str]) -> Strength {
        let prefix: String = Self::normalize(password)
            .expose()
            .chars()
            .take(ESTIMATE_PREFIX_CHARS)
            .collect();
        let estimate = zxcvbn::zxcvbn(&prefix, personal);
        let mut advice = Vec::new();
        if let Some(feedback) = estimate.feedback() {
            if let Some(warning) = feedback.warning() {
                advice.push(warning.to_string());
            }
            advice.extend(feedback.suggestions().iter().map(ToString::to_string));
        }
        Strength {
            score: u8::from(estimate.score()),
            advice,
        }
    }
}

/// The parts of an email or username a password must not contain.
fn personal_fragments(value: &str) -> Vec<String> {
    let lowered = value.to_lowercase();
    match lowered.split_once('@') {
        Some((local, _)) => vec![lowered.clone(), local.to_string()],
        None => vec![lowered],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::new(&crate::Config::defaults().passwords)
    }

    fn refusal(password: &str) -> String {
        match policy().check("password", password, &["ann@example.com", "annsmith"]) {
            Err(Error::Validation(fields)) => {
                assert_eq!(fields[0].field, "password");
                fields[0].message.clone()
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_long_unusual_phrase_without_composition_rules() {
        assert!(
            policy()
                .check("password", "correct horse battery staple", &[])
                .is_ok()
        );
    }

    #[test]
    fn refuses_short_passwords() {
        assert!(refusal("x7#Qp!2").contains("at least 10"));
    }

    #[test]
    fn refuses_overlong_passwords_before_anything_else() {
        assert!(refusal(&"a".repeat(257)).contains("at most 256"));
    }

    #[test]
    fn refuses_common_passwords_with_the_reason() {
        let message = refusal("password1234");
        assert!(message.contains("too easy to guess"), "{message}");
        assert!(refusal("qwertyuiop").contains("too easy to guess"));
    }

    #[test]
    fn refuses_passwords_built_from_the_username_or_email() {
        assert!(refusal("annsmith-rocks-2026!").contains("username"));
        assert!(refusal("My ann@example.com pass").contains("email"));
    }

    #[test]
    fn strength_explains_a_weak_password_and_passes_a_strong_one() {
        let weak = PasswordPolicy::strength("password1234", &[]);
        assert!(weak.score < MIN_SCORE, "{weak:?}");
        assert!(!weak.advice.is_empty(), "{weak:?}");
        let strong = PasswordPolicy::strength("violet harbor tumbles", &[]);
        assert!(strong.score >= MIN_SCORE, "{strong:?}");
    }

    #[test]
    fn normalises_unicode_compatibility_forms() {
        // The ligature "ﬁ" (U+FB01) and the letters "fi" are one password after NFKC.
        assert_eq!(
            PasswordPolicy::normalize("ﬁsh tank gravel").expose(),
            PasswordPolicy::normalize("fish tank gravel").expose()
        );
    }
}

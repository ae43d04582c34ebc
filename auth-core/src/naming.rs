//! What a valid email address, username and full name look like. Each check answers with the field
//! and a message a person can act on.

use crate::error::FieldError;

/// Lowercased, trimmed: the form emails are compared and stored uniquely in.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Lowercased: usernames are unique regardless of case.
pub fn normalize_username(username: &str) -> String {
    username.trim().to_lowercase()
}

pub fn check_email(email: &str) -> Option<FieldError> {
    let email = email.trim();
    if email.len() > 254 || !email_address::EmailAddress::is_valid(email) {
        return Some(FieldError::new("email", "is not a valid email address"));
    }
    // The crate accepts forms that mail servers refuse; require a dotted domain with plain labels.
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    let plain_domain = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !plain_domain {
        return Some(FieldError::new(
            "email",
            "needs a domain such as example.com after the @",
        ));
    }
    None
}

pub fn check_username(username: &str) -> Option<FieldError> {
    let length = username.chars().count();
    if !(3..=32).contains(&length) {
        return Some(FieldError::new(
            "username",
            "must be 3 to 32 characters long",
        ));
    }
    let valid_chars = username
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !valid_chars {
        return Some(FieldError::new(
            "username",
            "may contain only letters, digits, dots, dashes and underscores",
        ));
    }
    if !username.as_bytes()[0].is_ascii_alphanumeric() {
        return Some(FieldError::new(
            "username",
            "must start with a letter or digit",
        ));
    }
    None
}

pub fn check_full_name(full_name: &str) -> Option<FieldError> {
    let trimmed = full_name.trim();
    if trimmed.is_empty() {
        return Some(FieldError::new("full_name", "must not be empty"));
    }
    if trimmed.chars().count() > 100 {
        return Some(FieldError::new(
            "full_name",
            "must be at most 100 characters",
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Some(FieldError::new(
            "full_name",
            "must not contain control characters",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(check_email("ann@example.com").is_none());
        assert!(check_email(" Ann.Smith+tag@Example.co.uk ").is_none());
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@localhost",
            "a b@example.com",
            "ann@exa_mple.com",
        ] {
            assert!(check_email(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn usernames() {
        assert!(check_username("ann_smith.2").is_none());
        for bad in ["an", "_ann", "ann smith", "ann@x", &"a".repeat(33), "änn"] {
            assert!(check_username(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn full_names() {
        assert!(check_full_name("Ann Smith-Øberg").is_none());
        assert!(check_full_name("   ").is_some());
        assert!(check_full_name("Ann\u{0007}").is_some());
        assert!(check_full_name(&"x".repeat(101)).is_some());
    }

    #[test]
    fn normalisation_ignores_case_and_spaces() {
        assert_eq!(normalize_email(" Ann@Example.COM "), "ann@example.com");
        assert_eq!(normalize_username("AnnSmith"), "annsmith");
    }
}

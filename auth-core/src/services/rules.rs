//! What a service's slug, hosts and path prefix may look like.

/// A slug names a service in URLs and tokens: lowercase letters, digits and dashes, 1 to 63 long.
pub fn validate_slug(slug: &str) -> Result<(), String> {
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{slug}` must be 1-63 lowercase letters, digits or inner dashes"
        ))
    }
}

/// A host is a DNS name (no port, no scheme), matched case-insensitively.
pub fn validate_host(host: &str) -> Result<(), String> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("`{host}` is not a host name (no scheme, no port)"))
    }
}

/// A path prefix starts with `/`, has no trailing `/`, and only plain segments.
pub fn validate_path_prefix(prefix: &str) -> Result<(), String> {
    let segments_ok = prefix.len() > 1
        && prefix.starts_with('/')
        && prefix[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
        });
    if segments_ok {
        Ok(())
    } else {
        Err(format!(
            "`{prefix}` must look like /name or /name/sub, without a trailing slash"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(validate_slug("service-b").is_ok());
        for bad in ["", "Service", "a_b", "-a", "a-", "a b", &"x".repeat(64)] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts() {
        assert!(validate_host("service-b.localhost").is_ok());
        for bad in ["", "http://x", "x:80", "a..b", "a/b"] {
            assert!(validate_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn path_prefixes() {
        assert!(validate_path_prefix("/service-b").is_ok());
        assert!(validate_path_prefix("/a/b").is_ok());
        for bad in [
            "",
            "/",
            "service-b",
            "/a/",
            "/a//b",
            "/../x",
            "/a/./b",
            "/a%2f",
        ] {
            assert!(validate_path_prefix(bad).is_err(), "{bad}");
        }
    }
}

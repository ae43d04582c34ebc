//! Schemas of input rules a single `#[schema]` attribute cannot state, so that the OpenAPI
//! document says exactly what validation checks: text that is trimmed before it is measured,
//! names without control characters, service hosts and upstream addresses, time-zone names,
//! weekdays. Used by the `schema_with` of the types that take such input, here and in the gateway.
//!
//! The patterns are read by ECMA-262 engines (JSON Schema) and by Python's `re` (schemathesis) alike:
//! - whitespace is spelled out as Unicode White_Space, exactly what `str::trim` removes, since
//!   `\s` differs between engines (and from Rust);
//! - the end of the text is `(?![\s\S])`, since `$` also matches before a final newline in Python.

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};

/// Unicode White_Space, inside a character class.
const WS: &str = r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// The C0 and C1 control characters (`char::is_control`), inside a character class.
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// The very end of the text.
const END: &str = r"(?![\s\S])";

/// Text that is 1 to `max` characters once surrounding whitespace is trimmed; no character of
/// the trimmed text may be in `forbidden` (a character-class body, possibly empty).
fn trimmed_pattern(max: usize, forbidden: &str) -> String {
    let edge = format!("[^{WS}{forbidden}]");
    let any = if forbidden.is_empty() {
        r"[\s\S]".to_string()
    } else {
        format!("[^{forbidden}]")
    };
    let rest = match max {
        0 | 1 => String::new(),
        _ => format!("(?:{any}{{0,{}}}{edge})?", max - 2),
    };
    format!("^[{WS}]*{edge}{rest}[{WS}]*$")
}

fn string(nullable: bool) -> ObjectBuilder {
    let kind: SchemaType = if nullable {
        [Type::String, Type::Null].into_iter().collect()
    } else {
        Type::String.into()
    };
    ObjectBuilder::new().schema_type(kind)
}

fn text(pattern: String, nullable: bool, description: &str) -> Object {
    string(nullable)
        .pattern(Some(pattern))
        .description(Some(description))
        .build()
}

/// Free text of 1 to `max` characters after trimming (a reason, a name).
pub fn trimmed(max: usize, nullable: bool, description: &str) -> Object {
    text(trimmed_pattern(max, ""), nullable, description)
}

/// Free text of at most `max` characters after trimming, where empty means none.
pub fn optional_trimmed(max: usize, description: &str) -> Object {
    let inner = trimmed_pattern(max, "");
    let body = inner
        .strip_prefix(&format!("^[{WS}]*"))
        .and_then(|rest| rest.strip_suffix(&format!("[{WS}]*$")))
        .unwrap_or(&inner);
    text(format!("^[{WS}]*(?:{body})?[{WS}]*$"), true, description)
}

/// A browser's user agent as a service passes it on: at most `max` characters, none of them a
/// control character; null or absent for unknown.
pub fn user_agent(max: usize) -> Object {
    string(true)
        .max_length(Some(max))
        .pattern(Some(format!("^[^{CONTROL}]{{0,{max}}}{END}")))
        .description(Some(format!(
            "At most {max} characters, without control characters."
        )))
        .build()
}

/// A person's full name: 1 to 100 characters after trimming, no control characters in them.
pub fn full_name() -> Object {
    text(
        trimmed_pattern(100, CONTROL),
        false,
        "1 to 100 characters once surrounding whitespace is trimmed, without control characters.",
    )
}

/// A new full name, or null to keep it.
pub fn new_full_name() -> Object {
    text(
        trimmed_pattern(100, CONTROL),
        true,
        "1 to 100 characters once surrounding whitespace is trimmed, without control characters; \
         null keeps the name.",
    )
}

/// A service's display name: 1 to 100 characters, not only whitespace.
pub fn service_name() -> Object {
    string(false)
        .min_length(Some(1))
        .max_length(Some(100))
        .pattern(Some(format!("[^{WS}]")))
        .description(Some("1 to 100 characters, not only whitespace."))
        .build()
}

/// A service's slug.
pub const SLUG_PATTERN: &str = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?![\s\S])";

fn slug_item() -> Object {
    string(false).pattern(Some(SLUG_PATTERN)).build()
}

/// The service slugs a person's token may open.
pub fn token_services() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(slug_item())
        .max_items(Some(50))
        .description(Some(
            "The slugs of the services the token may open: 1 to 50 existing services for a \
             person's token (repeats count once), none for an administrator's.",
        ))
        .build()
        .into()
}

/// A service's hosts: DNS names without scheme or port.
pub fn service_hosts() -> RefOr<Schema> {
    let host = string(false)
        .pattern(Some(format!(
            r"^(?=[\s\S]{{1,253}}{END})[A-Za-z0-9-]{{1,63}}(?:\.[A-Za-z0-9-]{{1,63}})*{END}"
        )))
        .build();
    ArrayBuilder::new()
        .items(host)
        .description(Some(
            "Host names (no scheme, no port) the service is reached on; at least one unless it \
             is served under `path_prefix` with `share_gateway_origin`.",
        ))
        .build()
        .into()
}

/// A service's path prefix on the gateway's hosts.
pub fn path_prefix() -> Object {
    string(true)
        .pattern(Some(format!(
            r"^(?:/(?!\.\.?(?:/|{END}))[A-Za-z0-9._~-]+)+{END}"
        )))
        .description(Some(
            "`/name` or `/name/sub`: plain segments (letters, digits, `-_.~`, not `.` or `..`), \
             no trailing slash.",
        ))
        .build()
}

/// An IPv4 or IPv6 socket address as `ip:port` or `[ip]:port` (what `SocketAddr` parses).
fn socket_address_pattern() -> String {
    let h16 = "[0-9A-Fa-f]{1,4}";
    let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    let v4 = format!(r"{octet}(?:\.{octet}){{3}}");
    let ls32 = format!("(?:{h16}:{h16}|{v4})");
    let v6 = [
        format!("(?:{h16}:){{6}}{ls32}"),
        format!("::(?:{h16}:){{5}}{ls32}"),
        format!("(?:{h16})?::(?:{h16}:){{4}}{ls32}"),
        format!("(?:(?:{h16}:){{0,1}}{h16})?::(?:{h16}:){{3}}{ls32}"),
        format!("(?:(?:{h16}:){{0,2}}{h16})?::(?:{h16}:){{2}}{ls32}"),
        format!("(?:(?:{h16}:){{0,3}}{h16})?::{h16}:{ls32}"),
        format!("(?:(?:{h16}:){{0,4}}{h16})?::{ls32}"),
        format!("(?:(?:{h16}:){{0,5}}{h16})?::{h16}"),
        format!("(?:(?:{h16}:){{0,6}}{h16})?::"),
    ]
    .join("|");
    let port = "0*(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)";
    format!(r"^(?:{v4}|\[(?:{v6})(?:%[0-9]{{1,9}})?\]):{port}{END}")
}

/// A service's upstream addresses.
pub fn upstreams() -> RefOr<Schema> {
    let address = string(false)
        .pattern(Some(socket_address_pattern()))
        .build();
    ArrayBuilder::new()
        .items(address)
        .min_items(Some(1))
        .description(Some(
            "Where the service listens: `ip:port` or `[ipv6]:port`, at least one.",
        ))
        .build()
        .into()
}

/// A time-zone name the gateway knows (IANA, from its bundled database).
pub fn timezone() -> Object {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.to_string())
        .collect();
    names.sort();
    string(false)
        .enum_values(Some(names))
        .description(Some("An IANA time zone name, e.g. `Europe/Berlin`."))
        .build()
}

/// The weekdays of a schedule, each with its hours.
pub fn weekly() -> Object {
    let days = string(false).enum_values(Some(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(days.build()))
        .additional_properties(Some(AdditionalProperties::RefOr(RefOr::Ref(
            Ref::from_schema_name("Hours"),
        ))))
        .description(Some(
            "Hours per weekday (`mon` … `sun`); a day not listed is closed. Each day closes \
             after it opens.",
        ))
        .build()
}

/// A new password: 10 to 256 characters by default (`passwords.min_length`, `max_length`; the
/// minimum counts the NFKC-normalised form), hard to guess, free of the owner's email address and
/// username. Only the length is a schema rule; the rest needs the strength estimate and the owner.
pub fn new_password() -> Object {
    string(false)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .min_length(Some(10))
        .max_length(Some(256))
        .description(Some(
            "10 to 256 characters (`passwords.min_length`, `max_length`), hard to guess (a \
             strength estimate), not containing the email address or username.",
        ))
        .build()
}

/// The current password, which a text longer than any password cannot be.
pub fn current_password() -> Object {
    string(false)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .max_length(Some(256))
        .description(Some(
            "The password the account has now (at most `passwords.max_length`, 256 by default).",
        ))
        .build()
}

/// The domain a registered email address must have besides the `email` format: two or more
/// dot-separated labels of 1 to 63 ASCII letters, digits and inner dashes (a search, not anchored
/// at the start, so it reads only what follows the last `@`).
const EMAIL_DOMAIN: &str = r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?![\s\S])";

/// The email address of a new account.
pub fn registration_email() -> Object {
    email_address(false, "")
}

/// An email address of at most 254 characters whose domain the gateway accepts; `nullable`
/// with what null means as `null_means`.
fn email_address(nullable: bool, null_means: &str) -> Object {
    string(nullable)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(254))
        .pattern(Some(EMAIL_DOMAIN))
        .description(Some(format!(
            "An email address (at most 254 characters) whose domain has two or more labels of \
             ASCII letters, digits and inner dashes; surrounding whitespace is ignored{null_means}."
        )))
        .build()
}

/// A new email address an admin sets, or null to keep it.
pub fn new_email() -> Object {
    email_address(true, "; null keeps the address")
}

/// An IP address, v4 or v6, or null.
pub fn ip_address() -> RefOr<Schema> {
    let ip = |format| {
        string(false)
            .format(Some(SchemaFormat::KnownFormat(format)))
            .build()
    };
    let one_of = utoipa::openapi::schema::OneOfBuilder::new()
        .item(ip(KnownFormat::Ipv4))
        .item(ip(KnownFormat::Ipv6))
        .item(ObjectBuilder::new().schema_type(Type::Null).build())
        .description(Some("An IP address, v4 or v6."))
        .build();
    RefOr::T(Schema::OneOf(one_of))
}

/// A six-digit PIN, surrounding whitespace ignored.
pub fn pin() -> Object {
    text(
        format!("^[{WS}]*[0-9]{{6}}[{WS}]*$"),
        false,
        "The six digits the phone shows (surrounding whitespace is ignored).",
    )
}

/// What a login-history summary is grouped by.
pub fn group_by() -> Object {
    let part = format!("[{WS}]*(?:user|service)?[{WS}]*");
    text(
        format!("^{part}(?:,{part})*$"),
        true,
        "`user`, `service` or `user,service` (the default), comma-separated.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimmed_text_allows_what_trim_and_a_length_allow() {
        // The shapes the document promises, written out for a reader of the patterns.
        assert_eq!(
            trimmed(500, false, "").pattern.as_deref(),
            Some(format!("^[{WS}]*[^{WS}](?:[\\s\\S]{{0,498}}[^{WS}])?[{WS}]*$").as_str())
        );
        let name = full_name().pattern.unwrap();
        assert!(name.contains(CONTROL) && name.contains("{0,98}"), "{name}");
    }

    #[test]
    fn every_known_time_zone_is_listed_and_accepted() {
        let zone = timezone();
        let names = zone.enum_values.unwrap();
        assert!(names.len() > 300, "{}", names.len());
        for name in names {
            let name = name.as_str().unwrap();
            assert!(jiff::tz::TimeZone::get(name).is_ok(), "{name}");
        }
    }
}

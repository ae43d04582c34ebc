//! The checks serde cannot make: addresses, URLs, ranges and cross-field rules. Each failure names
//! its key so an operator knows what to fix.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::str::FromStr;

use super::load::ConfigError;
use super::{Config, ServiceDefinition, StorageBackend};

impl Config {
    /// Checks every value that serde accepted but the program cannot use.
    pub fn validate(&self) -> Result<(), ConfigError> {
        socket_addr("gateway.listen", &self.gateway.listen)?;
        http_url("gateway.public_url", &self.gateway.public_url)?;
        at_least("gateway.threads", self.gateway.threads, 1)?;
        at_least("gateway.max_body_bytes", self.gateway.max_body_bytes, 1024)?;
        for (key, value) in [
            (
                "gateway.request_head_timeout_secs",
                self.gateway.request_head_timeout_secs,
            ),
            (
                "gateway.keepalive_idle_secs",
                self.gateway.keepalive_idle_secs,
            ),
        ] {
            at_least(key, value, 1)?;
            if value > 3600 {
                return Err(ConfigError::new(key, "must be at most 3600"));
            }
        }
        for (i, host) in self.gateway.hosts.iter().enumerate() {
            super::service::validate_host(host)
                .map_err(|message| ConfigError::new(format!("gateway.hosts[{i}]"), message))?;
        }
        ip_ranges("gateway.metrics_allow", &self.gateway.metrics_allow)?;
        super::webhooks::validate(&self.webhooks, &self.events)?;
        if let Some(tls) = &self.gateway.tls {
            socket_addr("gateway.tls.listen", &tls.listen)?;
            for (key, path) in [
                ("gateway.tls.cert", &tls.cert),
                ("gateway.tls.key", &tls.key),
            ] {
                if !path.is_file() {
                    return Err(ConfigError::new(
                        key,
                        format!("{} is not a readable file", path.display()),
                    ));
                }
            }
        }
        let r = &self.rate_limits;
        for (key, value) in [
            ("rate_limits.login_per_minute", r.login_per_minute),
            ("rate_limits.register_per_minute", r.register_per_minute),
            ("rate_limits.pin_per_minute", r.pin_per_minute),
            ("rate_limits.scan_per_minute", r.scan_per_minute),
            (
                "rate_limits.service_per_minute_per_session",
                r.service_per_minute_per_session,
            ),
            (
                "rate_limits.service_per_minute_per_ip",
                r.service_per_minute_per_ip,
            ),
        ] {
            at_least(key, value, 1)?;
        }
        ip_ranges("rate_limits.trusted_proxies", &r.trusted_proxies)?;
        if r.shared && self.redis.is_none() {
            return Err(ConfigError::new(
                "rate_limits.shared",
                "needs [redis] to share limits between gateways",
            ));
        }
        for (i, origin) in self.cors.allowed_origins.iter().enumerate() {
            let key = format!("cors.allowed_origins[{i}]");
            if origin.contains('*') {
                return Err(ConfigError::new(
                    key,
                    "wildcards are not allowed (credentials are)",
                ));
            }
            let url = url::Url::parse(origin).map_err(|_| {
                ConfigError::new(key.clone(), format!("`{origin}` is not an origin"))
            })?;
            if url.path() != "/" || url.query().is_some() || origin.ends_with('/') {
                return Err(ConfigError::new(
                    key,
                    format!("`{origin}` must be scheme://host[:port] only"),
                ));
            }
        }

        if self.storage.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("storage.data_dir", "must not be empty"));
        }
        if self.storage.backend == StorageBackend::Postgres {
            let pg = &self.storage.postgres;
            let parsed = tokio_postgres::Config::from_str(&pg.url).map_err(|err| {
                ConfigError::new(
                    "storage.postgres.url",
                    format!("not a PostgreSQL URL: {err}"),
                )
            })?;
            // With a primary and standbys listed, only `read-write` keeps the gateway from
            // settling on a standby, where every write would fail.
            if parsed.get_hosts().len() > 1
                && parsed.get_target_session_attrs()
                    != tokio_postgres::config::TargetSessionAttrs::ReadWrite
            {
                return Err(ConfigError::new(
                    "storage.postgres.url",
                    "lists several hosts: add `target_session_attrs=read-write` so the gateway \
                     connects to the primary only",
                ));
            }
            at_least("storage.postgres.pool_size", pg.pool_size, 1)?;
            at_least(
                "storage.postgres.connect_timeout_secs",
                pg.connect_timeout_secs,
                1,
            )?;
            at_least(
                "storage.postgres.acquire_timeout_secs",
                pg.acquire_timeout_secs,
                1,
            )?;
        }

        if let Some(redis) = &self.redis {
            redis.validate()?;
        }

        self.validate_credentials()?;
        self.retention.validate()?;

        let own_hosts = self.gateway.own_hosts();
        let mut slugs = HashSet::new();
        let mut hosts = HashSet::new();
        let mut prefixes = HashSet::new();
        for (index, service) in self.services.iter().enumerate() {
            let key = format!("services[{index}]");
            validate_service(&key, service, &own_hosts)?;
            if !slugs.insert(service.slug.as_str()) {
                return Err(ConfigError::new(
                    format!("{key}.slug"),
                    format!("`{}` is used by another service", service.slug),
                ));
            }
            for host in &service.hosts {
                if !hosts.insert(host.to_ascii_lowercase()) {
                    return Err(ConfigError::new(
                        format!("{key}.hosts"),
                        format!("`{host}` is used by another service"),
                    ));
                }
            }
            if let Some(prefix) = &service.path_prefix
                && !prefixes.insert(prefix.as_str())
            {
                return Err(ConfigError::new(
                    format!("{key}.path_prefix"),
                    format!("`{prefix}` is used by another service"),
                ));
            }
        }
        Ok(())
    }
}

impl Config {
    fn validate_credentials(&self) -> Result<(), ConfigError> {
        let p = &self.passwords;
        at_least("passwords.min_length", p.min_length, 8)?;
        if p.max_length < p.min_length || p.max_length > 4096 {
            return Err(ConfigError::new(
                "passwords.max_length",
                "must be between passwords.min_length and 4096",
            ));
        }
        at_least("passwords.argon2_memory_kib", p.argon2_memory_kib, 8 * 1024)?;
        at_least("passwords.argon2_iterations", p.argon2_iterations, 1)?;
        at_least("passwords.argon2_parallelism", p.argon2_parallelism, 1)?;
        // Argon2 needs at least 8 KiB of memory per lane; refused here rather than at start-up.
        if u64::from(p.argon2_memory_kib) < 8 * u64::from(p.argon2_parallelism) {
            return Err(ConfigError::new(
                "passwords.argon2_parallelism",
                "needs at least 8 KiB of argon2_memory_kib per lane",
            ));
        }
        // Each hash holds argon2_memory_kib; a bound past a few thousand means no bound at all.
        if !(1..=4096).contains(&p.max_concurrent_hashes) {
            return Err(ConfigError::new(
                "passwords.max_concurrent_hashes",
                "must be between 1 and 4096",
            ));
        }
        if !(1..=100_000).contains(&p.max_queued_hashes) {
            return Err(ConfigError::new(
                "passwords.max_queued_hashes",
                "must be between 1 and 100000",
            ));
        }
        at_least("lockout.max_failures", self.lockout.max_failures, 1)?;
        at_least("lockout.lock_minutes", self.lockout.lock_minutes, 1)?;

        let t = &self.tokens;
        if t.issuer.trim().is_empty() {
            return Err(ConfigError::new("tokens.issuer", "must not be empty"));
        }
        if t.api_audience.trim().is_empty() {
            return Err(ConfigError::new("tokens.api_audience", "must not be empty"));
        }
        for (key, value) in [
            ("tokens.access_ttl_secs", t.access_ttl_secs),
            ("tokens.refresh_ttl_secs", t.refresh_ttl_secs),
            ("tokens.admin_ttl_secs", t.admin_ttl_secs),
            (
                "tokens.email_verification_ttl_secs",
                t.email_verification_ttl_secs,
            ),
            ("tokens.password_reset_ttl_secs", t.password_reset_ttl_secs),
        ] {
            at_least(key, value, 30)?;
        }
        if t.leeway_secs > 300 {
            return Err(ConfigError::new(
                "tokens.leeway_secs",
                "must be at most 300",
            ));
        }
        at_least("tokens.pat_max_ttl_days", t.pat_max_ttl_days, 1)?;
        at_least(
            "sessions.service_ttl_secs",
            self.sessions.service_ttl_secs,
            60,
        )?;
        at_least("qr.challenge_ttl_secs", self.qr.challenge_ttl_secs, 10)?;
        at_least("qr.pin_ttl_secs", self.qr.pin_ttl_secs, 10)?;
        at_least("qr.max_pin_attempts", self.qr.max_pin_attempts, 1)?;
        self.schedule
            .weekly()
            .map_err(|(key, message)| ConfigError::new(format!("schedule.{key}"), message))?;
        for (slug, warning) in &self.service_warnings {
            if warning.warning_minutes.is_some_and(|m| m > 1440) {
                return Err(ConfigError::new(
                    format!("service_warnings.{slug}.warning_minutes"),
                    "must be at most 1440",
                ));
            }
        }

        if let Some(key) = &self.keys.master_key {
            super::values::master_key_bytes(key)
                .map_err(|message| ConfigError::new("keys.master_key", message))?;
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::new(
                "mail.from",
                "must be a mailbox such as `Auth <no-reply@example.com>`",
            ));
        }
        if let Some(url) = &self.mail.smtp_url {
            super::values::check_smtp_url(url)
                .map_err(|message| ConfigError::new("mail.smtp_url", message))?;
        }
        Ok(())
    }
}

fn validate_service(
    key: &str,
    service: &ServiceDefinition,
    gateway_hosts: &[String],
) -> Result<(), ConfigError> {
    let problems = service.problems(gateway_hosts).into_iter();
    match problems.chain(service.tls_problem()).next() {
        Some(problem) => Err(ConfigError::new(
            format!("{key}.{}", problem.field),
            problem.message,
        )),
        None => Ok(()),
    }
}

fn ip_ranges(key: &str, ranges: &[String]) -> Result<(), ConfigError> {
    for (i, range) in ranges.iter().enumerate() {
        if super::parse_ip_range(range).is_none() {
            return Err(ConfigError::new(
                format!("{key}[{i}]"),
                format!("`{range}` is not an address or CIDR"),
            ));
        }
    }
    Ok(())
}

fn socket_addr(key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        ConfigError::new(
            key,
            format!("`{value}` is not an address of the form ip:port with a port up to 65535"),
        )
    })
}

fn http_url(key: &str, value: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(value)
        .map_err(|err| ConfigError::new(key, format!("`{value}` is not a URL: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::new(key, "must be an http or https URL"));
    }
    Ok(())
}

fn at_least<T: PartialOrd + std::fmt::Display>(
    key: &str,
    value: T,
    min: T,
) -> Result<(), ConfigError> {
    if value < min {
        return Err(ConfigError::new(key, format!("must be at least {min}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::from_toml;

    fn refused_key(toml: &str) -> String {
        from_toml(toml).expect_err("should be refused").key
    }

    #[test]
    fn password_hashing_bounds_name_their_key() {
        for (toml, key) in [
            (
                "[passwords]\nmax_concurrent_hashes = 1000000000000\n",
                "passwords.max_concurrent_hashes",
            ),
            (
                "[passwords]\nmax_concurrent_hashes = 0\n",
                "passwords.max_concurrent_hashes",
            ),
            (
                "[passwords]\nargon2_memory_kib = 8192\nargon2_parallelism = 2000\n",
                "passwords.argon2_parallelism",
            ),
        ] {
            assert_eq!(refused_key(toml), key, "{toml}");
        }
    }

    #[test]
    fn defaults_are_valid() {
        let config = from_toml("").unwrap();
        assert_eq!(config.gateway.listen, "127.0.0.1:8080");
        assert_eq!(config.services.len(), 3);
        assert!(config.redis.is_none());
    }

    #[test]
    fn port_out_of_range_names_the_key() {
        assert_eq!(
            refused_key("[gateway]\nlisten = \"127.0.0.1:70000\""),
            "gateway.listen"
        );
    }

    #[test]
    fn malformed_database_url_names_the_key() {
        let toml = "[storage]\nbackend = \"postgres\"\n[storage.postgres]\nurl = \"postgres://a@b:notaport/x\"";
        assert_eq!(refused_key(toml), "storage.postgres.url");
    }

    #[test]
    fn several_database_hosts_need_read_write_sessions() {
        let pg = |url: &str| {
            format!("[storage]\nbackend = \"postgres\"\n[storage.postgres]\nurl = \"{url}\"")
        };
        assert_eq!(
            refused_key(&pg("postgres://auth@db1:5432,db2:5432/auth")),
            "storage.postgres.url"
        );
        let config = from_toml(&pg(
            "postgres://auth@db1:5432,db2:5433/auth?target_session_attrs=read-write",
        ))
        .unwrap();
        assert!(config.storage.postgres.url.contains("db2:5433"));
    }

    #[test]
    fn connection_deadlines_are_bounded_and_the_cap_defaults_on() {
        assert_eq!(
            refused_key("[gateway]\nrequest_head_timeout_secs = 0"),
            "gateway.request_head_timeout_secs"
        );
        assert_eq!(
            refused_key("[gateway]\nkeepalive_idle_secs = 86400"),
            "gateway.keepalive_idle_secs"
        );
        let gateway = from_toml("").unwrap().gateway;
        assert_eq!(gateway.request_head_timeout_secs, 20);
        assert_eq!(gateway.keepalive_idle_secs, 60);
        assert_eq!(gateway.max_connections_per_address, 256);
    }

    #[test]
    fn unknown_key_is_refused() {
        let err = from_toml("[gateway]\nlisten_on = \"x\"").unwrap_err();
        assert!(err.message.contains("listen_on"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        assert_eq!(
            refused_key("[gateway]\nthreads = \"many\""),
            "gateway.threads"
        );
    }

    #[test]
    fn unknown_backend_names_the_key() {
        assert_eq!(
            refused_key("[storage]\nbackend = \"mysql\""),
            "storage.backend"
        );
    }

    #[test]
    fn bad_upstream_names_the_service_and_index() {
        let toml = "[[services]]\nslug = \"x\"\nname = \"X\"\nhosts = [\"x.localhost\"]\nupstreams = [\"127.0.0.1:1\", \"nowhere\"]";
        assert_eq!(refused_key(toml), "services[0].upstreams[1]");
    }

    #[test]
    fn upstream_tls_needs_a_name_readable_files_and_tls_on() {
        let service = "[[services]]\nslug = \"x\"\nname = \"X\"\nhosts = [\"x.localhost\"]\n\
                       upstreams = [\"127.0.0.1:1\"]\n";
        assert_eq!(
            refused_key(&format!("{service}tls = true\n")),
            "services[0].sni"
        );
        assert_eq!(
            refused_key(&format!("{service}sni = \"x.internal\"\n")),
            "services[0].tls"
        );
        assert_eq!(
            refused_key(&format!(
                "{service}tls = true\nsni = \"x.internal\"\nca_file = \"/no/such/ca.pem\"\n"
            )),
            "services[0].ca_file"
        );
        assert_eq!(
            refused_key(&format!(
                "{service}tls = true\nsni = \"x.internal\"\nclient_cert = \"/etc/hostname\"\n"
            )),
            "services[0].client_cert"
        );
        assert!(
            crate::config::from_toml(&format!("{service}tls = true\nsni = \"x.internal\"\n"))
                .is_ok()
        );
    }

    #[test]
    fn duplicate_host_is_refused() {
        let toml = "[[services]]\nslug = \"a\"\nname = \"A\"\nhosts = [\"same.localhost\"]\nupstreams = [\"127.0.0.1:1\"]\n\
                    [[services]]\nslug = \"b\"\nname = \"B\"\nhosts = [\"SAME.localhost\"]\nupstreams = [\"127.0.0.1:2\"]";
        assert_eq!(refused_key(toml), "services[1].hosts");
    }

    #[test]
    fn wildcard_cors_origin_is_refused() {
        assert_eq!(
            refused_key("[cors]\nallowed_origins = [\"*\"]"),
            "cors.allowed_origins[0]"
        );
    }

    #[test]
    fn bad_trusted_proxy_is_refused() {
        assert_eq!(
            refused_key("[rate_limits]\ntrusted_proxies = [\"10.0.0.0/33\"]"),
            "rate_limits.trusted_proxies[0]"
        );
    }

    #[test]
    fn shared_limits_need_redis() {
        assert_eq!(
            refused_key("[rate_limits]\nshared = true"),
            "rate_limits.shared"
        );
    }

    #[test]
    fn bad_redis_url_names_the_key() {
        assert_eq!(
            refused_key("[redis]\nurl = \"http://not-redis\""),
            "redis.url"
        );
    }

    #[test]
    fn metrics_allow_is_checked_and_defaults_to_loopback() {
        assert_eq!(
            refused_key("[gateway]\nmetrics_allow = [\"127.0.0.1/32\", \"loopback\"]"),
            "gateway.metrics_allow[1]"
        );
        let gateway = from_toml("").unwrap().gateway;
        for (ip, allowed) in [
            ("127.0.0.1", true),
            ("::1", true),
            ("::ffff:127.0.0.1", true),
            ("127.0.0.2", false),
            ("10.0.0.1", false),
        ] {
            assert_eq!(
                gateway.metrics_allowed(Some(ip.parse().unwrap())),
                allowed,
                "{ip}"
            );
        }
        assert!(!gateway.metrics_allowed(None));
    }

    #[test]
    fn seeded_services_cannot_take_the_gateways_hosts_or_paths() {
        let seed = |hosts: &str, prefix: &str| {
            format!(
                "[[services]]\nslug = \"x\"\nname = \"X\"\nhosts = [{hosts}]\n{prefix}\
                 upstreams = [\"127.0.0.1:1\"]"
            )
        };
        assert_eq!(
            refused_key(&seed("\"x.localhost\", \"LOCALHOST\"", "")),
            "services[0].hosts[1]"
        );
        // The host of public_url is the gateway's too.
        assert_eq!(
            refused_key(&format!(
                "[gateway]\npublic_url = \"https://auth.example.com\"\n{}",
                seed("\"auth.example.com\"", "")
            )),
            "services[0].hosts[0]"
        );
        for prefix in ["/api", "/.well-known/x", "/m"] {
            assert_eq!(
                refused_key(&seed(
                    "\"x.localhost\"",
                    &format!("path_prefix = \"{prefix}\"\n")
                )),
                "services[0].path_prefix",
                "{prefix}"
            );
        }
    }
}

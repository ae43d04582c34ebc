//! Rate limits: each gateway route draws on the budget its entry in the route policy table names
//! (`policy.rs`), keyed by what an attacker spends: the client's address (IPv6 by its /64, so one
//! host cannot rotate through its own prefix), or the service API key presented. Service traffic
//! is limited per session and per address. In process with governor (keyed, old keys swept), or,
//! with `rate_limits.shared`, in Redis (`shared.rs`) so every gateway counts against the same
//! budget.

mod shared;

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::Error;
use auth_core::config::RateLimitConfig;
use auth_core::store::ephemeral::RedisStore;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::web::policy::{Budget, Class};

const CLASSES: [Class; 6] = [
    Class::Login,
    Class::Recovery,
    Class::Scan,
    Class::Pin,
    Class::Challenge,
    Class::Poll,
];

fn class_name(class: Class) -> &'static str {
    match class {
        Class::Login => "login",
        Class::Recovery => "recovery",
        Class::Scan => "scan",
        Class::Pin => "pin",
        Class::Challenge => "challenge",
        Class::Poll => "poll",
    }
}

fn index(class: Class) -> usize {
    CLASSES.iter().position(|c| *c == class).unwrap_or(0)
}

/// The address a budget is kept for: IPv4 as it is, IPv6 by its /64.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// A presented service API key, as a budget key: its hash, never the key.
fn service_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.trim().as_bytes()).into()
}

struct Local {
    by_address: Vec<DefaultKeyedRateLimiter<IpAddr>>,
    by_service_key: Vec<DefaultKeyedRateLimiter<[u8; 32]>>,
    service_ip: DefaultKeyedRateLimiter<IpAddr>,
    service_session: DefaultKeyedRateLimiter<String>,
}

/// All limits of one gateway.
pub struct Limits {
    config: RateLimitConfig,
    local: Arc<Local>,
    shared: Option<RedisStore>,
    leases: shared::Leases,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Limits {
    pub fn new(config: &RateLimitConfig, redis: Option<RedisStore>) -> Self {
        let quota = |class| per_minute(per_minute_of(config, class));
        let local = Local {
            by_address: CLASSES
                .iter()
                .map(|c| RateLimiter::keyed(quota(*c)))
                .collect(),
            by_service_key: CLASSES
                .iter()
                .map(|_| RateLimiter::keyed(per_minute(config.service_key_per_minute)))
                .collect(),
            service_ip: RateLimiter::keyed(per_minute(config.service_per_minute_per_ip)),
            service_session: RateLimiter::keyed(per_minute(config.service_per_minute_per_session)),
        };
        Self {
            shared: redis.filter(|_| config.shared),
            config: config.clone(),
            local: Arc::new(local),
            leases: shared::Leases::default(),
        }
    }

    /// Forgets keys that have not been seen for a while, every minute, so memory stays bounded.
    pub async fn sweep_forever(self: Arc<Self>) {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            for limiter in &self.local.by_address {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            for limiter in &self.local.by_service_key {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            self.local.service_ip.retain_recent();
            self.local.service_ip.shrink_to_fit();
            self.local.service_session.retain_recent();
            self.local.service_session.shrink_to_fit();
            self.leases.sweep(Instant::now());
        }
    }

    /// Draws one request from the budget a route's policy names: per service key when the route
    /// takes one and a key is presented, else per client address.
    pub async fn check(
        &self,
        budget: Budget,
        ip: Option<IpAddr>,
        presented_key: Option<&str>,
    ) -> Result<(), Error> {
        match (budget, presented_key) {
            (Budget::Unlimited, _) => Ok(()),
            (Budget::PerServiceKey(class), Some(key)) => self.check_key(class, key).await,
            (Budget::PerServiceKey(class) | Budget::PerAddress(class), _) => match ip {
                Some(ip) => self.check_address(class, ip).await,
                None => Ok(()),
            },
        }
    }

    async fn check_address(&self, class: Class, ip: IpAddr) -> Result<(), Error> {
        let ip = address_key(ip);
        if let Some(redis) = &self.shared {
            let key = format!("rl:{}:{ip}", class_name(class));
            return shared::draw_one(redis, &key, per_minute_of(&self.config, class)).await;
        }
        local(self.local.by_address[index(class)].check_key(&ip))
    }

    async fn check_key(&self, class: Class, key: &str) -> Result<(), Error> {
        let hash = service_key(key);
        if let Some(redis) = &self.shared {
            let key = format!("rl:{}:key:{}", class_name(class), hex::encode(hash));
            return shared::draw_one(redis, &key, self.config.service_key_per_minute).await;
        }
        local(self.local.by_service_key[index(class)].check_key(&hash))
    }

    /// Draws one request to a service from `ip`'s budget: checked before the credential, so a
    /// flood of unauthenticated requests is cut off before any signature work.
    pub async fn check_service_ip(&self, ip: IpAddr) -> Result<(), Error> {
        let ip = address_key(ip);
        if let Some(redis) = &self.shared {
            let key = format!("rl:service-ip:{ip}");
            let per_minute = self.config.service_per_minute_per_ip;
            return self.leases.spend(redis, key, per_minute).await;
        }
        local(self.local.service_ip.check_key(&ip))
    }

    /// Draws one request to a service from the budget of `session` (a session id, or the user of
    /// a personal access token).
    pub async fn check_session(&self, session: &str) -> Result<(), Error> {
        if let Some(redis) = &self.shared {
            let key = format!("rl:service-session:{session}");
            let per_minute = self.config.service_per_minute_per_session;
            return self.leases.spend(redis, key, per_minute).await;
        }
        local(self.local.service_session.check_key(&session.to_string()))
    }
}

fn per_minute_of(config: &RateLimitConfig, class: Class) -> u32 {
    match class {
        Class::Login => config.login_per_minute,
        Class::Recovery => config.register_per_minute,
        Class::Scan => config.scan_per_minute,
        Class::Pin => config.pin_per_minute,
        Class::Challenge => config.challenge_per_minute,
        Class::Poll => config.poll_per_minute,
    }
}

fn local(
    outcome: Result<(), governor::NotUntil<governor::clock::QuantaInstant>>,
) -> Result<(), Error> {
    outcome.map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        Error::RateLimited {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(n: u32) -> RateLimitConfig {
        let mut config = auth_core::Config::defaults().rate_limits;
        config.login_per_minute = n;
        config.pin_per_minute = n;
        config.service_key_per_minute = n;
        config.service_per_minute_per_session = n;
        config
    }

    const LOGIN: Budget = Budget::PerAddress(Class::Login);
    const PIN_BY_KEY: Budget = Budget::PerServiceKey(Class::Pin);

    #[tokio::test]
    async fn the_eleventh_login_in_a_minute_is_refused() {
        let limits = Limits::new(&config(10), None);
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        for _ in 0..10 {
            limits.check(LOGIN, Some(ip), None).await.unwrap();
        }
        match limits.check(LOGIN, Some(ip), None).await {
            Err(Error::RateLimited { retry_after_secs }) => {
                assert!((1..=6).contains(&retry_after_secs))
            }
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        // Another client has its own budget; other classes are separate.
        let other: IpAddr = "198.51.100.2".parse().unwrap();
        limits.check(LOGIN, Some(other), None).await.unwrap();
        let recovery = Budget::PerAddress(Class::Recovery);
        limits.check(recovery, Some(ip), None).await.unwrap();
    }

    #[tokio::test]
    async fn a_service_key_has_its_own_budget_apart_from_its_address() {
        let limits = Limits::new(&config(2), None);
        let ip: IpAddr = "198.51.100.4".parse().unwrap();
        limits
            .check(PIN_BY_KEY, Some(ip), Some("svc_a"))
            .await
            .unwrap();
        limits
            .check(PIN_BY_KEY, Some(ip), Some("svc_a"))
            .await
            .unwrap();
        assert!(
            limits
                .check(PIN_BY_KEY, Some(ip), Some("svc_a"))
                .await
                .is_err()
        );
        // The same backend address with another key, and the address's own PIN budget, go on.
        limits
            .check(PIN_BY_KEY, Some(ip), Some("svc_b"))
            .await
            .unwrap();
        limits.check(PIN_BY_KEY, Some(ip), None).await.unwrap();
    }

    #[tokio::test]
    async fn an_ipv6_host_cannot_rotate_through_its_prefix() {
        let limits = Limits::new(&config(2), None);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        limits.check(LOGIN, Some(a), None).await.unwrap();
        limits.check(LOGIN, Some(b), None).await.unwrap();
        assert!(limits.check(LOGIN, Some(a), None).await.is_err());
        limits.check(LOGIN, Some(elsewhere), None).await.unwrap();
    }

    #[tokio::test]
    async fn sessions_have_their_own_budget() {
        let limits = Limits::new(&config(2), None);
        let ip: IpAddr = "198.51.100.3".parse().unwrap();
        limits.check_session("a").await.unwrap();
        limits.check_session("a").await.unwrap();
        assert!(limits.check_session("a").await.is_err());
        limits.check_session("b").await.unwrap();
        // The address's own budget is apart from the sessions'.
        limits.check_service_ip(ip).await.unwrap();
    }

    #[test]
    fn mapped_ipv4_is_keyed_as_ipv4() {
        let mapped: IpAddr = "::ffff:198.51.100.7".parse().unwrap();
        assert_eq!(
            address_key(mapped),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
    }
}

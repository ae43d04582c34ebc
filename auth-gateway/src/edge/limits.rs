//! Rate limits by route class: the routes that guess at secrets or create things (login, register,
//! PIN verify, scan) are strict per client IP; service traffic is limited per session and per IP.
//! In process with governor (keyed, old keys swept), or, with `rate_limits.shared`, in Redis with a
//! GCRA script so every gateway counts against the same budget.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use auth_core::Error;
use auth_core::config::RateLimitConfig;
use auth_core::store::ephemeral::RedisStore;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Which budget a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    Login,
    Register,
    Pin,
    Scan,
    /// Everything else the gateway answers itself: not limited here.
    Other,
}

impl RouteClass {
    /// The class of a gateway path (already canonical).
    pub fn of(path: &str) -> RouteClass {
        match path {
            "/api/auth/login" | "/api/admin/login" | "/api/auth/refresh" | "/m/login" => {
                RouteClass::Login
            }
            "/api/register"
            | "/api/auth/resend-verification"
            | "/api/auth/password/forgot"
            | "/api/auth/password/reset"
            | "/api/auth/verify-email" => RouteClass::Register,
            "/api/auth/pin/verify" | "/login/verify" => RouteClass::Pin,
            "/api/auth/qr/scan" | "/m/scan" => RouteClass::Scan,
            _ => RouteClass::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            RouteClass::Login => "login",
            RouteClass::Register => "register",
            RouteClass::Pin => "pin",
            RouteClass::Scan => "scan",
            RouteClass::Other => "other",
        }
    }
}

struct Local {
    by_ip: [(RouteClass, DefaultKeyedRateLimiter<IpAddr>); 4],
    service_ip: DefaultKeyedRateLimiter<IpAddr>,
    service_session: DefaultKeyedRateLimiter<String>,
}

/// All limits of one gateway.
pub struct Limits {
    config: RateLimitConfig,
    local: Arc<Local>,
    shared: Option<RedisStore>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

/// GCRA over one key: the stored value is the theoretical arrival time (ms, Redis's clock).
/// ARGV: emission interval (ms), burst. Returns {allowed (0/1), retry after (ms)}.
/// Built once: `Script::new` hashes the source, which every request would otherwise repeat.
static GCRA: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(GCRA_SOURCE));
const GCRA_SOURCE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allowed_until = now + interval * burst
if new_tat > allowed_until then
  return {0, new_tat - allowed_until}
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
return {1, 0}";

impl Limits {
    pub fn new(config: &RateLimitConfig, redis: Option<RedisStore>) -> Self {
        let local = Local {
            by_ip: [
                (
                    RouteClass::Login,
                    RateLimiter::keyed(per_minute(config.login_per_minute)),
                ),
                (
                    RouteClass::Register,
                    RateLimiter::keyed(per_minute(config.register_per_minute)),
                ),
                (
                    RouteClass::Pin,
                    RateLimiter::keyed(per_minute(config.pin_per_minute)),
                ),
                (
                    RouteClass::Scan,
                    RateLimiter::keyed(per_minute(config.scan_per_minute)),
                ),
            ],
            service_ip: RateLimiter::keyed(per_minute(config.service_per_minute_per_ip)),
            service_session: RateLimiter::keyed(per_minute(config.service_per_minute_per_session)),
        };
        Self {
            shared: redis.filter(|_| config.shared),
            config: config.clone(),
            local: Arc::new(local),
        }
    }

    /// Forgets keys that have not been seen for a while, every minute, so memory stays bounded.
    pub async fn sweep_forever(self: Arc<Self>) {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            for (_, limiter) in &self.local.by_ip {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            self.local.service_ip.retain_recent();
            self.local.service_ip.shrink_to_fit();
            self.local.service_session.retain_recent();
            self.local.service_session.shrink_to_fit();
        }
    }

    fn per_minute_of(&self, class: RouteClass) -> u32 {
        match class {
            RouteClass::Login => self.config.login_per_minute,
            RouteClass::Register => self.config.register_per_minute,
            RouteClass::Pin => self.config.pin_per_minute,
            RouteClass::Scan => self.config.scan_per_minute,
            RouteClass::Other => u32::MAX,
        }
    }

    /// Draws one request of `class` from `ip`'s budget.
    pub async fn check_route(&self, class: RouteClass, ip: IpAddr) -> Result<(), Error> {
        if class == RouteClass::Other {
            return Ok(());
        }
        if let Some(redis) = &self.shared {
            return gcra(
                redis,
                &format!("rl:{}:{ip}", class.name()),
                self.per_minute_of(class),
            )
            .await;
        }
        match self.local.by_ip.iter().find(|(c, _)| *c == class) {
            Some((_, limiter)) => local(limiter.check_key(&ip)),
            None => Ok(()),
        }
    }

    /// Draws one request to a service from `ip`'s budget: checked before the credential, so a
    /// flood of unauthenticated requests is cut off before any signature work.
    pub async fn check_service_ip(&self, ip: IpAddr) -> Result<(), Error> {
        if let Some(redis) = &self.shared {
            let key = format!("rl:service-ip:{ip}");
            return gcra(redis, &key, self.config.service_per_minute_per_ip).await;
        }
        local(self.local.service_ip.check_key(&ip))
    }

    /// Draws one request to a service from the budget of `session` (a session id, or the user of
    /// a personal access token).
    pub async fn check_session(&self, session: &str) -> Result<(), Error> {
        if let Some(redis) = &self.shared {
            let key = format!("rl:service-session:{session}");
            return gcra(redis, &key, self.config.service_per_minute_per_session).await;
        }
        local(self.local.service_session.check_key(&session.to_string()))
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

async fn gcra(redis: &RedisStore, key: &str, per_minute: u32) -> Result<(), Error> {
    let interval_ms = 60_000 / u64::from(per_minute.max(1));
    let mut conn = redis.connection();
    let (allowed, retry_ms): (i64, i64) = GCRA
        .key(format!("{}{key}", redis.prefix()))
        .arg(interval_ms.max(1))
        .arg(per_minute)
        .invoke_async(&mut conn)
        .await
        // Fail closed: without Redis the shared budget is unknown (and sessions cannot be checked
        // either); /health reports the outage.
        .map_err(|_| Error::Unavailable("rate limits"))?;
    if allowed == 1 {
        Ok(())
    } else {
        Err(Error::RateLimited {
            retry_after_secs: (retry_ms as u64).div_ceil(1000).max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(n: u32) -> RateLimitConfig {
        let mut config = auth_core::Config::defaults().rate_limits;
        config.login_per_minute = n;
        config.service_per_minute_per_session = n;
        config
    }

    #[tokio::test]
    async fn the_eleventh_login_in_a_minute_is_refused() {
        let limits = Limits::new(&config(10), None);
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        for _ in 0..10 {
            limits.check_route(RouteClass::Login, ip).await.unwrap();
        }
        match limits.check_route(RouteClass::Login, ip).await {
            Err(Error::RateLimited { retry_after_secs }) => {
                assert!((1..=6).contains(&retry_after_secs))
            }
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        // Another client has its own budget; other classes are separate.
        limits
            .check_route(RouteClass::Login, "198.51.100.2".parse().unwrap())
            .await
            .unwrap();
        limits.check_route(RouteClass::Register, ip).await.unwrap();
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
    fn routes_fall_into_classes() {
        assert_eq!(RouteClass::of("/api/auth/login"), RouteClass::Login);
        assert_eq!(RouteClass::of("/api/register"), RouteClass::Register);
        assert_eq!(RouteClass::of("/api/auth/pin/verify"), RouteClass::Pin);
        assert_eq!(RouteClass::of("/api/auth/qr/scan"), RouteClass::Scan);
        assert_eq!(RouteClass::of("/health"), RouteClass::Other);
    }
}

//! Budgets shared by every gateway, kept in Redis by one GCRA script. Login, recovery, scan, PIN,
//! challenge and poll budgets count each attempt in Redis. Service traffic, which runs at request
//! rate, draws its budgets in leases: a gateway takes several requests' worth at once and spends
//! them here, so a busy session or address costs about one round trip a second instead of one per
//! request. A lease starts at one request and doubles while the last one was spent within its
//! life, up to a second's worth of the budget; what is left of it lapses after [`LEASE_LIFE`].
//! Leased requests are already counted in Redis, so leasing can only refuse early (by what lapses
//! unspent), never let more through than the budget.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use auth_core::Error;
use auth_core::store::ephemeral::RedisStore;

/// How long the unspent rest of a lease may be spent.
pub(super) const LEASE_LIFE: Duration = Duration::from_secs(1);
/// The largest lease, whatever the budget.
const LARGEST_LEASE: u32 = 1024;

/// GCRA over one key: the stored value is the theoretical arrival time (ms, Redis's clock).
/// ARGV: emission interval (ms), burst, requests wanted. Grants as many of those as the budget
/// holds now. Returns {granted, retry after (ms) when none}.
/// Built once: `Script::new` hashes the source, which every call would otherwise repeat.
static GCRA: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(GCRA_SOURCE));
const GCRA_SOURCE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed_until = now + interval * burst
local room = math.floor((allowed_until - tat) / interval)
if room < 1 then
  return {0, tat + interval - allowed_until}
end
local granted = math.min(wanted, room)
local new_tat = tat + interval * granted
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
return {granted, 0}";

/// Draws `wanted` requests (or as many as are left) from the budget of `per_minute` at `key`.
async fn draw(redis: &RedisStore, key: &str, per_minute: u32, wanted: u32) -> Result<u32, Error> {
    let interval_ms = (60_000 / u64::from(per_minute.max(1))).max(1);
    let mut conn = redis.connection();
    let (granted, retry_ms): (i64, i64) = GCRA
        .key(format!("{}{key}", redis.prefix()))
        .arg(interval_ms)
        .arg(per_minute)
        .arg(wanted.max(1))
        .invoke_async(&mut conn)
        .await
        // Fail closed: without Redis the shared budget is unknown (and sessions cannot be checked
        // either); /health reports the outage.
        .map_err(|_| Error::Unavailable("rate limits"))?;
    if granted >= 1 {
        Ok(u32::try_from(granted).unwrap_or(u32::MAX))
    } else {
        Err(Error::RateLimited {
            retry_after_secs: u64::try_from(retry_ms).unwrap_or(0).div_ceil(1000).max(1),
        })
    }
}

/// Draws one request from the budget at `key`, counted in Redis.
pub(super) async fn draw_one(redis: &RedisStore, key: &str, per_minute: u32) -> Result<(), Error> {
    draw(redis, key, per_minute, 1).await.map(|_| ())
}

#[derive(Debug)]
struct Lease {
    left: u32,
    size: u32,
    taken_at: Instant,
}

/// This gateway's leases of shared service budgets, by Redis key.
#[derive(Debug, Default)]
pub(super) struct Leases {
    held: Mutex<HashMap<String, Lease>>,
}

/// What spending from a lease found.
enum Spend {
    Spent,
    /// None left: draw a lease of this size.
    Draw(u32),
}

impl Leases {
    /// Spends one request of the budget at `key` (`per_minute`), drawing a lease when none is
    /// left.
    pub(super) async fn spend(
        &self,
        redis: &RedisStore,
        key: String,
        per_minute: u32,
    ) -> Result<(), Error> {
        let largest = (per_minute / 60).clamp(1, LARGEST_LEASE);
        let size = match self.try_spend(&key, largest, Instant::now()) {
            Spend::Spent => return Ok(()),
            Spend::Draw(size) => size,
        };
        let granted = draw(redis, &key, per_minute, size).await?;
        self.hold(key, granted, Instant::now());
        Ok(())
    }

    fn try_spend(&self, key: &str, largest: u32, now: Instant) -> Spend {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let Some(lease) = held.get_mut(key) else {
            return Spend::Draw(1);
        };
        let alive = now.duration_since(lease.taken_at) < LEASE_LIFE;
        if alive && lease.left > 0 {
            lease.left -= 1;
            return Spend::Spent;
        }
        // Spent within its life: the key is busy, so the next lease is twice as large.
        Spend::Draw(if alive {
            lease.size.saturating_mul(2).min(largest)
        } else {
            1
        })
    }

    /// Keeps a drawn lease of `granted`, one of which the caller spends now.
    fn hold(&self, key: String, granted: u32, now: Instant) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let lease = held.entry(key).or_insert(Lease {
            left: 0,
            size: 0,
            taken_at: now,
        });
        if now.duration_since(lease.taken_at) >= LEASE_LIFE {
            lease.left = 0;
        }
        // Leases drawn at once by requests racing for the same key add up.
        lease.left = lease.left.saturating_add(granted - 1);
        lease.size = granted;
        lease.taken_at = now;
    }

    /// Forgets leases past their life, so memory stays bounded.
    pub(super) fn sweep(&self, now: Instant) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|_, lease| now.duration_since(lease.taken_at) < LEASE_LIFE);
        held.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_grow_while_spent_within_their_life_and_lapse_after() {
        let leases = Leases::default();
        let start = Instant::now();
        assert!(matches!(leases.try_spend("k", 64, start), Spend::Draw(1)));
        leases.hold("k".into(), 1, start);
        // One request, spent at once: the next lease is twice as large, and so on to the cap.
        let mut size = 1;
        for expected in [2, 4, 8, 16, 32, 64, 64] {
            match leases.try_spend("k", 64, start) {
                Spend::Draw(next) => assert_eq!(next, expected),
                Spend::Spent => panic!("a spent lease still spent"),
            }
            leases.hold("k".into(), expected, start);
            size = expected;
            for _ in 1..size {
                assert!(matches!(leases.try_spend("k", 64, start), Spend::Spent));
            }
        }
        assert_eq!(size, 64);
        // Unspent requests lapse with their lease, and a quiet key starts again at one.
        leases.hold("k".into(), 64, start);
        let later = start + LEASE_LIFE;
        assert!(matches!(leases.try_spend("k", 64, later), Spend::Draw(1)));
        leases.sweep(later);
        assert!(leases.held.lock().unwrap().is_empty());
    }

    #[test]
    fn a_budget_granting_less_than_asked_gives_only_that() {
        let leases = Leases::default();
        let now = Instant::now();
        leases.hold("k".into(), 3, now);
        assert!(matches!(leases.try_spend("k", 64, now), Spend::Spent));
        assert!(matches!(leases.try_spend("k", 64, now), Spend::Spent));
        assert!(matches!(leases.try_spend("k", 64, now), Spend::Draw(6)));
    }
}

//! A local copy of the keys read on every request (session records), kept exact by Redis itself:
//! the connection has server-assisted tracking on (RESP3 `CLIENT TRACKING`), so Redis pushes an
//! invalidation the moment a key read here changes, expires or is deleted, on the same connection
//! and ahead of any later answer on it.
//!
//! Fails closed: the copy answers only while a heartbeat has proven, within the last [`FRESH`],
//! that tracking is on and that every invalidation Redis sent before the heartbeat has been
//! applied. The heartbeat proves the second by publishing its send time on a channel only this
//! process hears: the message comes back on the same connection and through the same queue as the
//! invalidations, so by the time it confirms the copy, every invalidation for a write made before
//! the heartbeat was sent is applied. Hence a change acknowledged at T is never answered from the
//! copy after T + [`FRESH`], however slow the network or this process; in practice it is applied
//! within a network round trip. A dropped connection, a new master, a silent network or a paused
//! Redis stops answers within [`FRESH`] and empties the copy; reads then go to Redis, and fail as
//! Redis does. A Cluster gets no copy: each node tracks its own clients, and one heartbeat cannot
//! vouch for all of them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use redis::Value;

use super::RedisConnection;

/// How often the heartbeat runs.
pub(super) const BEAT: Duration = Duration::from_millis(20);
/// How old the last good heartbeat may be for the copy to answer.
pub(super) const FRESH: Duration = Duration::from_millis(100);
/// At most this many keys are held; a full copy takes no more (reads of the rest go to Redis).
const CAPACITY: usize = 200_000;

/// The copy and what decides whether it may answer.
#[derive(Debug)]
pub(super) struct TrackedReads {
    entries: RwLock<HashMap<String, Arc<[u8]>>>,
    /// Moves on with every invalidation, so a read that an invalidation overtook is not kept.
    generation: AtomicU64,
    /// When (ms after `start`) the last heartbeat that found tracking on was sent; 0 for never or
    /// not since the copy was last emptied.
    confirmed_at_ms: AtomicU64,
    /// When the copy was last emptied: a heartbeat sent before then vouches for nothing.
    forgotten_at_ms: AtomicU64,
    start: Instant,
}

impl Default for TrackedReads {
    fn default() -> Self {
        Self {
            entries: RwLock::default(),
            generation: AtomicU64::new(0),
            confirmed_at_ms: AtomicU64::new(0),
            forgotten_at_ms: AtomicU64::new(0),
            start: Instant::now(),
        }
    }
}

/// What a read must bring back to be kept.
pub(super) struct ReadTicket {
    generation: u64,
}

impl TrackedReads {
    fn now_ms(&self) -> u64 {
        // +1 so that 0 keeps meaning "not confirmed".
        u64::try_from(self.start.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    /// Whether the copy may answer now.
    fn fresh(&self) -> bool {
        self.fresh_at(self.now_ms())
    }

    fn fresh_at(&self, now_ms: u64) -> bool {
        let confirmed = self.confirmed_at_ms.load(Ordering::Acquire);
        confirmed != 0 && now_ms.saturating_sub(confirmed) <= FRESH.as_millis() as u64
    }

    /// The copy of `key`, when the copy may answer and holds it.
    pub(super) fn get(&self, key: &str) -> Option<Vec<u8>> {
        if !self.fresh() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.get(key).map(|value| value.to_vec())
    }

    /// Taken before a read from Redis whose answer may be kept; None when it may not.
    pub(super) fn ticket(&self) -> Option<ReadTicket> {
        self.fresh().then(|| ReadTicket {
            generation: self.generation.load(Ordering::Acquire),
        })
    }

    /// Keeps what Redis answered for `key`, unless an invalidation came in since the ticket was
    /// taken (it may have been for this key, after Redis answered) or tracking is in doubt.
    pub(super) fn keep(&self, ticket: ReadTicket, key: &str, value: &[u8]) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != ticket.generation || !self.fresh() {
            return;
        }
        if entries.len() >= CAPACITY && !entries.contains_key(key) {
            return;
        }
        entries.insert(key.to_string(), Arc::from(value));
    }

    /// Handles an `invalidate` push: its keys, or (for a null, after `FLUSHALL` or a full
    /// tracking table on the server) everything.
    pub(super) fn invalidate(&self, data: Vec<Value>) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        match data.into_iter().next() {
            Some(Value::Array(keys)) => {
                for key in keys {
                    if let Ok(key) = redis::from_redis_value::<String>(key) {
                        entries.remove(&key);
                    }
                }
            }
            _ => entries.clear(),
        }
    }

    /// Stops answers and empties the copy: the connection dropped, or tracking is off or unknown,
    /// so invalidations may have been lost.
    pub(super) fn forget_all(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.confirmed_at_ms.store(0, Ordering::Release);
        self.forgotten_at_ms
            .fetch_max(self.now_ms(), Ordering::AcqRel);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
        entries.shrink_to(1024);
    }

    /// Forgets `key` after this process wrote it: Redis invalidates it too, but only after the
    /// write's answer, so a read right after the write would otherwise still find the old copy.
    pub(super) fn forget(&self, key: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(key);
    }

    /// The heartbeat sent at `sent_at_ms` came back: tracking was on, and every invalidation
    /// queued before it has been applied.
    pub(super) fn confirm(&self, sent_at_ms: u64) {
        // Under the lock, so it cannot interleave with emptying the copy.
        let _entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if sent_at_ms > self.forgotten_at_ms.load(Ordering::Acquire) {
            self.confirmed_at_ms.fetch_max(sent_at_ms, Ordering::AcqRel);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().unwrap().len()
    }
}

/// Keeps tracking on for `conn` and sends the heartbeats that vouch for the copy, until the
/// store is dropped. `beats` is the channel only this process listens on; its messages (the send
/// times) reach [`TrackedReads::confirm`] through the connection's push handler.
pub(super) async fn heartbeat_forever(
    reads: Weak<TrackedReads>,
    mut conn: RedisConnection,
    beats: String,
) {
    let mut listening = false;
    loop {
        let Some(tracked) = reads.upgrade() else {
            return;
        };
        if !listening {
            // Resubscribed by the connection itself after a reconnect or a failover.
            listening = conn.subscribe(&beats).await.is_ok();
        }
        let sent_at = tracked.now_ms();
        match tokio::time::timeout(FRESH, tracking_is_on(&mut conn)).await {
            Ok(Ok(true)) if listening => {
                let mut publish = redis::cmd("PUBLISH");
                publish.arg(&beats).arg(sent_at);
                let beat = publish.query_async::<i64>(&mut conn);
                // A lost beat confirms nothing; the copy ages out by itself.
                let _ = tokio::time::timeout(FRESH, beat).await;
            }
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                // A new connection (a reconnect, a new master): what was read before cannot be
                // trusted. Turn tracking on; a later heartbeat vouches for it.
                tracked.forget_all();
                let on = redis::cmd("CLIENT")
                    .arg("TRACKING")
                    .arg("ON")
                    .query_async::<()>(&mut conn)
                    .await;
                if let Err(err) = on {
                    tracing::debug!(%err, "could not turn Redis client tracking on");
                }
            }
            Ok(Err(_)) | Err(_) => tracked.forget_all(),
        }
        drop(tracked);
        tokio::time::sleep(BEAT).await;
    }
}

/// A heartbeat's message: the time it was sent.
pub(super) fn beat_sent_at(payload: &[u8]) -> Option<u64> {
    std::str::from_utf8(payload).ok()?.parse().ok()
}

/// Asks Redis whether tracking is on for this connection (`CLIENT TRACKINGINFO`, Redis 6.2+).
async fn tracking_is_on(conn: &mut RedisConnection) -> redis::RedisResult<bool> {
    let info: Value = redis::cmd("CLIENT")
        .arg("TRACKINGINFO")
        .query_async(conn)
        .await?;
    Ok(flags_say_on(info))
}

fn flags_say_on(info: Value) -> bool {
    let pairs: Vec<(Value, Value)> = match info {
        Value::Map(pairs) => pairs,
        Value::Array(items) => {
            let mut items = items.into_iter();
            std::iter::from_fn(|| Some((items.next()?, items.next()?))).collect()
        }
        _ => return false,
    };
    pairs.into_iter().any(|(name, value)| {
        redis::from_redis_value::<String>(name).is_ok_and(|n| n == "flags")
            && redis::from_redis_value::<Vec<String>>(value)
                .is_ok_and(|flags| flags.iter().any(|f| f == "on"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_of_this_process_drops_its_copy_at_once() {
        let reads = confirmed();
        let ticket = reads.ticket().unwrap();
        reads.keep(ticket, "session:a", b"record");
        let in_flight = reads.ticket().unwrap();
        reads.forget("session:a");
        assert_eq!(reads.get("session:a"), None);
        // A read that started before the write does not bring the old record back.
        reads.keep(in_flight, "session:a", b"record");
        assert_eq!(reads.get("session:a"), None);
    }

    #[test]
    fn heartbeats_carry_their_send_time() {
        assert_eq!(beat_sent_at(b"12345"), Some(12345));
        assert_eq!(beat_sent_at(b"x"), None);
    }

    fn confirmed() -> TrackedReads {
        let reads = TrackedReads::default();
        reads.confirm(reads.now_ms());
        reads
    }

    fn keys(names: &[&str]) -> Vec<Value> {
        vec![Value::Array(
            names
                .iter()
                .map(|n| Value::BulkString(n.as_bytes().to_vec()))
                .collect(),
        )]
    }

    #[test]
    fn nothing_is_kept_or_answered_before_tracking_is_confirmed() {
        let reads = TrackedReads::default();
        assert!(reads.ticket().is_none());
        let ticket = ReadTicket { generation: 0 };
        reads.keep(ticket, "session:a", b"record");
        assert_eq!(reads.get("session:a"), None);
        assert_eq!(reads.len(), 0);
    }

    #[test]
    fn a_kept_read_answers_until_its_key_is_invalidated() {
        let reads = confirmed();
        let ticket = reads.ticket().unwrap();
        reads.keep(ticket, "session:a", b"record");
        let ticket = reads.ticket().unwrap();
        reads.keep(ticket, "session:b", b"other");
        assert_eq!(reads.get("session:a").as_deref(), Some(&b"record"[..]));
        reads.invalidate(keys(&["session:a"]));
        assert_eq!(reads.get("session:a"), None);
        assert_eq!(reads.get("session:b").as_deref(), Some(&b"other"[..]));
        // A null invalidation (FLUSHALL, a full tracking table) drops everything.
        reads.invalidate(vec![Value::Nil]);
        assert_eq!(reads.get("session:b"), None);
    }

    #[test]
    fn a_read_overtaken_by_an_invalidation_is_not_kept() {
        let reads = confirmed();
        let ticket = reads.ticket().unwrap();
        // Redis answered the old record, then the key changed and its invalidation came first.
        reads.invalidate(keys(&["session:a"]));
        reads.keep(ticket, "session:a", b"old record");
        assert_eq!(reads.get("session:a"), None);
    }

    #[test]
    fn a_lost_connection_empties_the_copy_and_stops_answers() {
        let reads = confirmed();
        let ticket = reads.ticket().unwrap();
        reads.keep(ticket, "session:a", b"record");
        reads.forget_all();
        assert_eq!(reads.get("session:a"), None);
        assert!(reads.ticket().is_none());
        assert_eq!(reads.len(), 0);
    }

    #[test]
    fn an_old_confirmation_stops_answers() {
        let reads = TrackedReads::default();
        reads.confirm(1);
        let fresh = FRESH.as_millis() as u64;
        assert!(reads.fresh_at(1 + fresh));
        assert!(!reads.fresh_at(2 + fresh));
    }

    #[test]
    fn a_heartbeat_sent_before_the_copy_was_emptied_vouches_for_nothing() {
        let reads = TrackedReads::default();
        let sent_at = reads.now_ms();
        reads.forget_all();
        reads.confirm(sent_at);
        assert!(reads.ticket().is_none());
    }

    #[test]
    fn tracking_flags_are_read_from_either_reply_shape() {
        let flags = |f: &str| Value::Array(vec![Value::BulkString(f.as_bytes().to_vec())]);
        let name = Value::BulkString(b"flags".to_vec());
        let redirect = (Value::BulkString(b"redirect".to_vec()), Value::Int(-1));
        assert!(flags_say_on(Value::Map(vec![
            (name.clone(), flags("on")),
            redirect.clone()
        ])));
        assert!(!flags_say_on(Value::Map(vec![
            (name.clone(), flags("off")),
            redirect
        ])));
        assert!(flags_say_on(Value::Array(vec![name, flags("on")])));
        assert!(!flags_say_on(Value::Nil));
    }
}

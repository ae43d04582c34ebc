//! Short-lived state for the default mode: held in process for fast reads, written through to the
//! durable database (table `ephemeral_entries`) before a write returns, and reloaded on start, so a
//! restart loses no live session or challenge. One gateway only: several gateways need Redis.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::sync::broadcast;

mod index;

use self::index::{Index, parse_row_key, parse_score, row_key};
use super::Ephemeral;
use crate::params;
use crate::store::sql::Db;
use crate::store::{IndexRange, StoreError};

const SWEEP_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Bytes(Vec<u8>),
    Counter(i64),
    Set(BTreeSet<String>),
}

#[derive(Debug, Clone)]
struct Entry {
    value: Value,
    expires_at_ms: i64,
}

#[derive(Debug)]
struct Inner {
    entries: Mutex<HashMap<String, Entry>>,
    indexes: Mutex<HashMap<String, Index>>,
    channels: Mutex<HashMap<String, broadcast::Sender<Vec<u8>>>>,
    /// Serialises writers so the order of writes to the database matches the order in memory.
    writer: tokio::sync::Mutex<()>,
    db: Db,
}

/// Short-lived state in process, persisted to the durable database.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn expiry(ttl: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

fn lock_poisoned() -> StoreError {
    StoreError::Backend("embedded store lock poisoned".into())
}

impl EmbeddedStore {
    /// Loads the live entries kept in `db` and starts sweeping expired ones.
    pub async fn open(db: Db) -> Result<Self, StoreError> {
        let rows = db
            .query(
                "SELECT key, kind, value, expires_at FROM ephemeral_entries WHERE expires_at > $1",
                params![now_ms()],
            )
            .await?;
        let mut entries = HashMap::with_capacity(rows.len());
        let mut indexes: HashMap<String, Index> = HashMap::new();
        for row in rows {
            let kind: String = row.get("kind")?;
            let raw: Vec<u8> = row.get("value")?;
            let key: String = row.get("key")?;
            let expires_at_ms: i64 = row.get("expires_at")?;
            if kind == "index" {
                let (index, member) = parse_row_key(&key)
                    .ok_or_else(|| StoreError::Malformed("ephemeral index key".into()))?;
                indexes.entry(index.to_string()).or_default().insert(
                    member,
                    parse_score(&raw)?,
                    expires_at_ms,
                );
                continue;
            }
            entries.insert(
                key,
                Entry {
                    value: decode(&kind, raw)?,
                    expires_at_ms,
                },
            );
        }
        let store = Self {
            inner: Arc::new(Inner {
                entries: Mutex::new(entries),
                indexes: Mutex::new(indexes),
                channels: Mutex::default(),
                writer: tokio::sync::Mutex::new(()),
                db,
            }),
        };
        tokio::spawn(sweep_forever(Arc::downgrade(&store.inner)));
        Ok(store)
    }

    fn live(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let entries = self.inner.entries.lock().map_err(|_| lock_poisoned())?;
        Ok(entries
            .get(key)
            .filter(|e| e.expires_at_ms > now_ms())
            .cloned())
    }

    /// Applies `change` to the live entry at `key` (None when absent or expired) under the writer
    /// lock, then persists what it decided. `change` returns the new entry (None deletes) and the
    /// answer for the caller.
    async fn update<T>(
        &self,
        key: &str,
        change: impl FnOnce(Option<Entry>) -> (Option<Entry>, T),
    ) -> Result<T, StoreError> {
        let _writer = self.inner.writer.lock().await;
        let current = self.live(key)?;
        let before = current.clone();
        let (next, answer) = change(current);
        if before.as_ref().map(|e| (&e.value, e.expires_at_ms))
            == next.as_ref().map(|e| (&e.value, e.expires_at_ms))
        {
            return Ok(answer);
        }
        match &next {
            Some(entry) => {
                let (kind, raw) = encode(&entry.value);
                self.inner
                    .db
                    .execute(
                        "INSERT INTO ephemeral_entries (key, kind, value, expires_at) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, value = excluded.value,
                         expires_at = excluded.expires_at",
                        params![key, kind, raw, entry.expires_at_ms],
                    )
                    .await?;
            }
            None => {
                self.inner
                    .db
                    .execute("DELETE FROM ephemeral_entries WHERE key = $1", params![key])
                    .await?;
            }
        }
        let mut entries = self.inner.entries.lock().map_err(|_| lock_poisoned())?;
        match next {
            Some(entry) => entries.insert(key.to_string(), entry),
            None => entries.remove(key),
        };
        Ok(answer)
    }

    /// Deletes the rows of `members` of index `key` (the caller holds the writer lock).
    async fn delete_index_rows(&self, key: &str, members: &[String]) -> Result<(), StoreError> {
        for member in members {
            self.inner
                .db
                .execute(
                    "DELETE FROM ephemeral_entries WHERE key = $1",
                    params![row_key(key, member)],
                )
                .await?;
        }
        Ok(())
    }
}

fn encode(value: &Value) -> (&'static str, Vec<u8>) {
    match value {
        Value::Bytes(bytes) => ("bytes", bytes.clone()),
        Value::Counter(count) => ("counter", count.to_string().into_bytes()),
        Value::Set(members) => (
            "set",
            serde_json::to_vec(members).unwrap_or_else(|_| b"[]".to_vec()),
        ),
    }
}

fn decode(kind: &str, raw: Vec<u8>) -> Result<Value, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("ephemeral {what} entry"));
    match kind {
        "bytes" => Ok(Value::Bytes(raw)),
        "counter" => String::from_utf8(raw)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Value::Counter)
            .ok_or_else(|| malformed("counter")),
        "set" => serde_json::from_slice(&raw)
            .map(Value::Set)
            .map_err(|_| malformed("set")),
        _ => Err(malformed("unknown")),
    }
}

async fn sweep_forever(inner: Weak<Inner>) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let now = now_ms();
        if let Ok(mut entries) = inner.entries.lock() {
            entries.retain(|_, e| e.expires_at_ms > now);
        }
        if let Ok(mut indexes) = inner.indexes.lock() {
            for index in indexes.values_mut() {
                index.sweep(now);
            }
            indexes.retain(|_, index| !index.is_empty());
        }
        if let Err(err) = inner
            .db
            .execute(
                "DELETE FROM ephemeral_entries WHERE expires_at <= $1",
                params![now],
            )
            .await
        {
            tracing::warn!(%err, "could not sweep expired short-lived entries");
        }
    }
}

#[async_trait]
impl Ephemeral for EmbeddedStore {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let entry = Entry {
            value: Value::Bytes(value),
            expires_at_ms: expiry(ttl),
        };
        self.update(key, |_| (Some(entry), ())).await
    }

    async fn put_new(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool, StoreError> {
        self.update(key, |current| match current {
            Some(existing) => (Some(existing), false),
            None => (
                Some(Entry {
                    value: Value::Bytes(value),
                    expires_at_ms: expiry(ttl),
                }),
                true,
            ),
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.live(key)?.and_then(|e| match e.value {
            Value::Bytes(bytes) => Some(bytes),
            _ => None,
        }))
    }

    async fn remove(&self, key: &str) -> Result<bool, StoreError> {
        self.update(key, |current| (None, current.is_some())).await
    }

    async fn replace_if(
        &self,
        key: &str,
        expected: &[u8],
        value: Vec<u8>,
    ) -> Result<bool, StoreError> {
        self.update(key, |current| match current {
            Some(entry) if entry.value == Value::Bytes(expected.to_vec()) => (
                Some(Entry {
                    value: Value::Bytes(value),
                    expires_at_ms: entry.expires_at_ms,
                }),
                true,
            ),
            other => (other, false),
        })
        .await
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        self.update(key, |current| {
            let (count, expires_at_ms) = match current {
                Some(Entry {
                    value: Value::Counter(count),
                    expires_at_ms,
                }) => (count + 1, expires_at_ms),
                _ => (1, expiry(ttl)),
            };
            (
                Some(Entry {
                    value: Value::Counter(count),
                    expires_at_ms,
                }),
                count,
            )
        })
        .await
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> Result<(), StoreError> {
        self.update(key, |current| {
            let (mut members, expires_at_ms) = match current {
                Some(Entry {
                    value: Value::Set(members),
                    expires_at_ms,
                }) => (members, expires_at_ms.max(expiry(ttl))),
                _ => (BTreeSet::new(), expiry(ttl)),
            };
            members.insert(member.to_string());
            (
                Some(Entry {
                    value: Value::Set(members),
                    expires_at_ms,
                }),
                (),
            )
        })
        .await
    }

    async fn set_remove(&self, key: &str, member: &str) -> Result<(), StoreError> {
        self.update(key, |current| match current {
            Some(Entry {
                value: Value::Set(mut members),
                expires_at_ms,
            }) => {
                members.remove(member);
                let next = (!members.is_empty()).then_some(Entry {
                    value: Value::Set(members),
                    expires_at_ms,
                });
                (next, ())
            }
            other => (other, ()),
        })
        .await
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        Ok(match self.live(key)? {
            Some(Entry {
                value: Value::Set(members),
                ..
            }) => members.into_iter().collect(),
            _ => Vec::new(),
        })
    }

    async fn index_add(
        &self,
        key: &str,
        member: &str,
        score: i64,
        floor: i64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let _writer = self.inner.writer.lock().await;
        let expires_at_ms = expiry(ttl);
        self.inner
            .db
            .execute(
                "INSERT INTO ephemeral_entries (key, kind, value, expires_at) VALUES ($1, 'index', $2, $3)
                 ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, value = excluded.value,
                 expires_at = excluded.expires_at",
                params![row_key(key, member), score.to_string().into_bytes(), expires_at_ms],
            )
            .await?;
        let gone = {
            let mut indexes = self.inner.indexes.lock().map_err(|_| lock_poisoned())?;
            let index = indexes.entry(key.to_string()).or_default();
            index.insert(member, score, expires_at_ms);
            index.forget_up_to(floor)
        };
        self.delete_index_rows(key, &gone).await
    }

    async fn index_remove(&self, key: &str, member: &str) -> Result<(), StoreError> {
        let _writer = self.inner.writer.lock().await;
        let held = {
            let mut indexes = self.inner.indexes.lock().map_err(|_| lock_poisoned())?;
            indexes
                .get_mut(key)
                .is_some_and(|index| index.remove(member))
        };
        if held {
            self.delete_index_rows(key, &[member.to_string()]).await?;
        }
        Ok(())
    }

    async fn index_range(
        &self,
        key: &str,
        floor: i64,
        offset: usize,
        limit: usize,
    ) -> Result<IndexRange, StoreError> {
        let mut indexes = self.inner.indexes.lock().map_err(|_| lock_poisoned())?;
        Ok(match indexes.get_mut(key) {
            // What falls below the floor leaves memory now and its rows with their wall-clock
            // expiry; a restart before then brings them back to be forgotten again.
            Some(index) => {
                index.forget_up_to(floor);
                index.range(offset, limit)
            }
            None => IndexRange::default(),
        })
    }

    async fn publish(&self, channel: &str, message: Vec<u8>) -> Result<(), StoreError> {
        let channels = self.inner.channels.lock().map_err(|_| lock_poisoned())?;
        if let Some(sender) = channels.get(channel) {
            let _ = sender.send(message);
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<broadcast::Receiver<Vec<u8>>, StoreError> {
        let mut channels = self.inner.channels.lock().map_err(|_| lock_poisoned())?;
        Ok(channels
            .entry(channel.to_string())
            .or_insert_with(|| broadcast::channel(1024).0)
            .subscribe())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.db.ping().await
    }

    fn backend_name(&self) -> &'static str {
        "embedded"
    }
}

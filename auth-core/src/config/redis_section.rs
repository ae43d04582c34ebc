//! The `[redis]` section: one server (`url`), a Sentinel set-up (`redis+sentinel://` URL, or
//! `sentinels` with `master_name`) or a Cluster (`cluster`), and how writes are acknowledged.
//! [`RedisConfig::topology`] turns the keys into one [`RedisTopology`], refusing any mix of them.

use serde::{Deserialize, Serialize};

use super::load::ConfigError;

/// Where short-lived state lives when Redis is configured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// One server (`redis://`, `rediss://`), or Sentinel as
    /// `redis+sentinel://[user:password@]host:port[,host:port…]/master_name[/db]`.
    #[serde(default)]
    pub url: Option<String>,
    /// Sentinels (`host:port` or `redis://host:port`) that name the master `master_name`.
    #[serde(default)]
    pub sentinels: Vec<String>,
    #[serde(default)]
    pub master_name: Option<String>,
    /// Seed nodes of a Redis Cluster (`host:port` or `redis://host:port`).
    #[serde(default)]
    pub cluster: Vec<String>,
    /// Credentials of the data nodes when `sentinels` or `cluster` list them (a `url` carries its
    /// own).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Prefix of every key and channel, so several deployments can share one Redis.
    #[serde(default = "default_redis_prefix")]
    pub key_prefix: String,
    /// Replicas that must hold a write before it counts as done (`WAIT`); 0 answers as soon as the
    /// master has it, so a failover can lose the last writes.
    #[serde(default)]
    pub wait_replicas: u32,
    /// How long a write waits for those replicas before it is refused as unavailable.
    #[serde(default = "default_wait_timeout_ms")]
    pub wait_timeout_ms: u64,
}

fn default_redis_prefix() -> String {
    "auth:".to_string()
}

fn default_wait_timeout_ms() -> u64 {
    500
}

/// The Redis deployment a `[redis]` section names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTopology {
    /// One server, at this URL.
    Single { url: String },
    /// Whichever server the sentinels name as master of `master_name`.
    Sentinel {
        /// `redis://host:port` of each sentinel.
        sentinels: Vec<String>,
        master_name: String,
        db: i64,
        username: Option<String>,
        password: Option<String>,
    },
    /// A Redis Cluster, found through these seed nodes (`redis://host:port`).
    Cluster {
        nodes: Vec<String>,
        username: Option<String>,
        password: Option<String>,
    },
}

impl RedisConfig {
    /// A single server at `url`, with `key_prefix`; the other keys at their defaults.
    pub fn single(url: impl Into<String>, key_prefix: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            key_prefix: key_prefix.into(),
            wait_timeout_ms: default_wait_timeout_ms(),
            ..Self::default()
        }
    }

    /// The deployment these keys describe, or the key that is wrong.
    pub fn topology(&self) -> Result<RedisTopology, ConfigError> {
        let given = [
            self.url.is_some(),
            !self.sentinels.is_empty(),
            !self.cluster.is_empty(),
        ];
        match given {
            [false, false, false] => Err(ConfigError::new(
                "redis.url",
                "set one of `url`, `sentinels` (with `master_name`) or `cluster`",
            )),
            [true, false, false] => self.url_topology(),
            [false, true, false] => self.sentinel_topology(),
            [false, false, true] => {
                if self.master_name.is_some() {
                    return Err(ConfigError::new(
                        "redis.master_name",
                        "is for `sentinels`, not `cluster`",
                    ));
                }
                let nodes = node_urls("redis.cluster", &self.cluster)?;
                Ok(RedisTopology::Cluster {
                    nodes,
                    username: self.username.clone(),
                    password: self.password.clone(),
                })
            }
            _ => {
                let key = if self.url.is_some() {
                    "redis.url"
                } else {
                    "redis.cluster"
                };
                Err(ConfigError::new(
                    key,
                    "set only one of `url`, `sentinels` and `cluster`",
                ))
            }
        }
    }

    fn url_topology(&self) -> Result<RedisTopology, ConfigError> {
        let url = self.url.clone().unwrap_or_default();
        if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            if self.master_name.is_some() {
                return Err(ConfigError::new(
                    "redis.master_name",
                    "a `redis+sentinel://` URL names the master in its path",
                ));
            }
            return parse_sentinel_url(rest);
        }
        for key in ["master_name", "username", "password"] {
            let set = match key {
                "master_name" => self.master_name.is_some(),
                "username" => self.username.is_some(),
                _ => self.password.is_some(),
            };
            if set {
                return Err(ConfigError::new(
                    format!("redis.{key}"),
                    "is not used with a `redis://` URL (credentials go in the URL)",
                ));
            }
        }
        redis::Client::open(url.as_str())
            .map_err(|err| ConfigError::new("redis.url", format!("not a Redis URL: {err}")))?;
        Ok(RedisTopology::Single { url })
    }

    fn sentinel_topology(&self) -> Result<RedisTopology, ConfigError> {
        let Some(master_name) = self.master_name.clone().filter(|n| !n.trim().is_empty()) else {
            return Err(ConfigError::new(
                "redis.master_name",
                "`sentinels` need the name of the master they watch",
            ));
        };
        Ok(RedisTopology::Sentinel {
            sentinels: node_urls("redis.sentinels", &self.sentinels)?,
            master_name,
            db: 0,
            username: self.username.clone(),
            password: self.password.clone(),
        })
    }

    /// Checks the section: one deployment, and what `wait_replicas` needs.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.topology()?;
        if self.wait_replicas > 16 {
            return Err(ConfigError::new(
                "redis.wait_replicas",
                "must be at most 16",
            ));
        }
        if self.wait_replicas > 0 && !(1..=60_000).contains(&self.wait_timeout_ms) {
            return Err(ConfigError::new(
                "redis.wait_timeout_ms",
                "must be between 1 and 60000 when wait_replicas is set",
            ));
        }
        Ok(())
    }
}

/// `host:port` or `redis://host:port` entries as `redis://` URLs, each checked.
fn node_urls(key: &str, entries: &[String]) -> Result<Vec<String>, ConfigError> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let url = if entry.contains("://") {
                entry.clone()
            } else {
                format!("redis://{entry}")
            };
            let valid = redis::Client::open(url.as_str()).is_ok() && has_host(&url);
            if !valid {
                return Err(ConfigError::new(
                    format!("{key}[{i}]"),
                    format!("`{entry}` is not host:port or a redis:// URL"),
                ));
            }
            Ok(url)
        })
        .collect()
}

fn has_host(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
}

/// `[user:password@]host:port[,host:port…]/master_name[/db]`, after the scheme.
fn parse_sentinel_url(rest: &str) -> Result<RedisTopology, ConfigError> {
    let bad = |why: &str| ConfigError::new("redis.url", format!("not a redis+sentinel URL: {why}"));
    let (authority, path) = rest.split_once('/').ok_or_else(|| bad("no master name"))?;
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(info) => {
            let (user, pass) = info.split_once(':').unwrap_or((info, ""));
            let decode = |s: &str| {
                percent_decode(s).ok_or_else(|| bad("credentials are not percent-encoded UTF-8"))
            };
            let user = decode(user)?;
            let pass = decode(pass)?;
            (
                Some(user).filter(|u| !u.is_empty()),
                Some(pass).filter(|p| !p.is_empty()),
            )
        }
    };
    let mut segments = path.split('/');
    let master_name = segments
        .next()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad("no master name"))?
        .to_string();
    let db = match segments.next().filter(|s| !s.is_empty()) {
        None => 0,
        Some(db) => db
            .parse::<i64>()
            .ok()
            .filter(|db| *db >= 0)
            .ok_or_else(|| bad("the database must be a number"))?,
    };
    if segments.next().is_some() {
        return Err(bad("the path is /master_name[/db]"));
    }
    let entries: Vec<String> = hosts.split(',').map(str::to_string).collect();
    if entries.iter().any(|h| h.is_empty()) {
        return Err(bad("an empty sentinel address"));
    }
    let sentinels = node_urls("redis.url", &entries)?;
    Ok(RedisTopology::Sentinel {
        sentinels,
        master_name,
        db,
        username,
        password,
    })
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::from_toml;

    fn refused_key(toml: &str) -> String {
        from_toml(toml).expect_err("should be refused").key
    }

    fn topology(toml: &str) -> RedisTopology {
        from_toml(toml).unwrap().redis.unwrap().topology().unwrap()
    }

    #[test]
    fn a_sentinel_url_names_the_sentinels_the_master_and_the_credentials() {
        assert_eq!(
            topology(
                "[redis]\nurl = \"redis+sentinel://:s%40cret@10.0.0.1:26379,10.0.0.2:26380/main/2\""
            ),
            RedisTopology::Sentinel {
                sentinels: vec![
                    "redis://10.0.0.1:26379".into(),
                    "redis://10.0.0.2:26380".into()
                ],
                master_name: "main".into(),
                db: 2,
                username: None,
                password: Some("s@cret".into()),
            }
        );
    }

    #[test]
    fn sentinels_and_cluster_take_host_port_or_urls() {
        assert_eq!(
            topology(
                "[redis]\nsentinels = [\"s1:26379\", \"redis://s2:26379\"]\nmaster_name = \"m\""
            ),
            RedisTopology::Sentinel {
                sentinels: vec!["redis://s1:26379".into(), "redis://s2:26379".into()],
                master_name: "m".into(),
                db: 0,
                username: None,
                password: None,
            }
        );
        assert_eq!(
            topology("[redis]\ncluster = [\"n1:7000\", \"n2:7001\"]\npassword = \"p\""),
            RedisTopology::Cluster {
                nodes: vec!["redis://n1:7000".into(), "redis://n2:7001".into()],
                username: None,
                password: Some("p".into()),
            }
        );
    }

    #[test]
    fn each_wrong_redis_section_names_its_key() {
        for (toml, key) in [
            ("[redis]\nkey_prefix = \"x:\"", "redis.url"),
            ("[redis]\nsentinels = [\"s1:26379\"]", "redis.master_name"),
            (
                "[redis]\nurl = \"redis://r:6379\"\ncluster = [\"n1:7000\"]",
                "redis.url",
            ),
            (
                "[redis]\nsentinels = [\"s1:26379\"]\nmaster_name = \"m\"\ncluster = [\"n:1\"]",
                "redis.cluster",
            ),
            (
                "[redis]\ncluster = [\"n1:7000\", \"not a node\"]",
                "redis.cluster[1]",
            ),
            ("[redis]\nurl = \"redis+sentinel://s1:26379\"", "redis.url"),
            (
                "[redis]\nurl = \"redis+sentinel://s1:26379/m/x\"",
                "redis.url",
            ),
            (
                "[redis]\nurl = \"redis+sentinel://s1:26379/m\"\nmaster_name = \"m\"",
                "redis.master_name",
            ),
            (
                "[redis]\nurl = \"redis://r:6379\"\npassword = \"p\"",
                "redis.password",
            ),
            (
                "[redis]\nurl = \"redis://r:6379\"\nwait_replicas = 1\nwait_timeout_ms = 0",
                "redis.wait_timeout_ms",
            ),
            (
                "[redis]\nurl = \"redis://r:6379\"\nmastername = \"m\"",
                "redis",
            ),
        ] {
            let refused = refused_key(toml);
            assert!(refused.starts_with(key), "{toml}: {refused}");
        }
    }
}

//! [`RedisConfig`]: where Redis is, which keys are ours and how long a command may take.

use std::fmt;
use std::time::Duration;

/// How to reach Redis. Built by the binary from its configuration; the library never reads
/// the environment.
///
/// The URL may hold a password (`redis://:secret@host:6379`, or `rediss://` with the `tls`
/// feature): `Debug` prints it with the password replaced by `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://host:port[/db]`, or `rediss://...` for TLS (needs the `tls` feature).
    pub url: String,
    /// Namespace of every key this crate writes (`"shopkit"` gives `shopkit:cart:...`).
    /// Several shops, or tests running in parallel, share one Redis by taking different
    /// prefixes. An empty prefix means none.
    pub key_prefix: String,
    /// The longest any one command may take before it counts as failed. Keep it short
    /// (100-250 ms): a Redis that does not answer must degrade reads to the source quickly,
    /// not hold the shopper's request.
    pub command_timeout: Duration,
    /// How long opening a connection may take; also bounds the readiness `PING` (which may
    /// have to connect first).
    pub connect_timeout: Duration,
}

impl Default for RedisConfig {
    /// `redis://127.0.0.1:6379`, prefix `shopkit`, 250 ms per command, 1 s to connect.
    fn default() -> Self {
        RedisConfig {
            url: "redis://127.0.0.1:6379".into(),
            key_prefix: "shopkit".into(),
            command_timeout: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(1),
        }
    }
}

impl RedisConfig {
    /// The defaults with this `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig { url: url.into(), ..RedisConfig::default() }
    }

    /// The same settings with another key prefix.
    #[must_use]
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// The same settings with another command timeout.
    #[must_use]
    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &redacted(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("command_timeout", &self.command_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// `url` with the password (everything between the scheme's `//` and the last `@`, after
/// the first `:`) replaced by `***`.
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some(at) = rest.rfind('@') else {
        return url.to_owned();
    };
    let (userinfo, host) = rest.split_at(at);
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_password() {
        let config = RedisConfig::new("rediss://app:s3cr3t@cache.example:6380/0");

        let shown = format!("{config:?}");

        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("rediss://app:***@cache.example:6380/0"), "{shown}");
    }

    #[test]
    fn urls_without_a_password_are_shown_as_they_are() {
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redacted("redis://user@host:1"), "redis://user@host:1");
        assert_eq!(redacted("redis://:pw@host:1"), "redis://:***@host:1");
    }
}

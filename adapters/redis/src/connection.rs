//! [`RedisConnection`]: one auto-reconnecting connection to Redis, the key namespace, and
//! a timeout around every command.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, Pipeline, RedisError, ScriptInvocation};
use shopkit_core::ports::{Readiness, StoreError};

use crate::config::RedisConfig;

/// A connection to Redis shared by every adapter of this crate: a [`ConnectionManager`]
/// (one multiplexed connection that reconnects by itself after Redis restarts or fails
/// over), the key prefix, and the per-command timeout.
///
/// Every command runs under `command_timeout`, so a Redis that is down or stuck answers
/// "unavailable" within that time instead of holding the caller. Cheap to clone (clones
/// share the connection); make one per process and hand clones to each adapter.
///
/// Only a single Redis endpoint (ElastiCache with cluster mode *disabled*: a primary and
/// its replicas) is supported: the Lua scripts touch several keys of one namespace, which
/// cluster mode would require to share a hash slot.
#[derive(Clone)]
pub struct RedisConnection {
    manager: ConnectionManager,
    prefix: Arc<str>,
    command_timeout: Duration,
    connect_timeout: Duration,
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection")
            .field("prefix", &self.prefix)
            .field("command_timeout", &self.command_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// A connection to `config.url`, opened lazily by the first command: the shop starts
    /// (and degrades to its sources) while Redis is down.
    ///
    /// # Panics
    /// Outside a Tokio runtime (the connection's reconnect task runs on it).
    ///
    /// # Errors
    /// `StoreError::Invalid` when the URL is malformed or asks for TLS (`rediss://`)
    /// without the crate's `tls` feature.
    pub fn open(config: &RedisConfig) -> Result<Self, StoreError> {
        let invalid = |e: RedisError| StoreError::Invalid {
            reason: format!(
                "redis url {} is not usable ({e}): expected redis://host:port[/db] \
                 (rediss:// needs the `tls` feature)",
                crate::config::redacted(&config.url)
            ),
        };
        #[cfg(feature = "tls")]
        {
            // redis builds rustls without choosing a crypto provider; use ring unless the
            // application installed one already (then this does nothing).
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = redis::Client::open(config.url.as_str()).map_err(invalid)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.command_timeout))
            // Give up a reconnection quickly: the next command starts a new one, so a Redis
            // that comes back is used again within about a second, not after a long backoff.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let manager =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(invalid)?;
        Ok(Self::from_manager(manager, config))
    }

    /// Wraps a [`ConnectionManager`] built by the caller (custom TLS, credentials
    /// provider...); the URL of `config` is not used, its prefix and timeouts are.
    pub fn from_manager(manager: ConnectionManager, config: &RedisConfig) -> Self {
        RedisConnection {
            manager,
            prefix: Arc::from(config.key_prefix.as_str()),
            command_timeout: config.command_timeout,
            connect_timeout: config.connect_timeout,
        }
    }

    /// The namespace of this connection's keys.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The per-command timeout.
    pub fn command_timeout(&self) -> Duration {
        self.command_timeout
    }

    /// `"{prefix}:{rest}"` (or `rest` when the prefix is empty).
    pub(crate) fn key(&self, rest: fmt::Arguments<'_>) -> String {
        if self.prefix.is_empty() { rest.to_string() } else { format!("{}:{rest}", self.prefix) }
    }

    /// Runs one command under the timeout.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        op: &'static str,
        cmd: &Cmd,
    ) -> Result<T, RedisFailure> {
        let mut conn = self.manager.clone();
        self.timed(op, self.command_timeout, cmd.query_async(&mut conn)).await
    }

    /// Runs a Lua script (EVALSHA, loading it on `NOSCRIPT`) under the timeout.
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        op: &'static str,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, RedisFailure> {
        let mut conn = self.manager.clone();
        self.timed(op, self.command_timeout, invocation.invoke_async(&mut conn)).await
    }

    /// Runs a pipeline (one round trip) under the timeout.
    pub(crate) async fn pipeline<T: FromRedisValue>(
        &self,
        op: &'static str,
        pipe: &Pipeline,
    ) -> Result<T, RedisFailure> {
        let mut conn = self.manager.clone();
        self.timed(op, self.command_timeout, pipe.query_async(&mut conn)).await
    }

    async fn timed<T>(
        &self,
        op: &'static str,
        limit: Duration,
        fut: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, RedisFailure> {
        match tokio::time::timeout(limit, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(RedisFailure { op, cause: Cause::Redis(e) }),
            Err(_) => Err(RedisFailure { op, cause: Cause::TimedOut(limit) }),
        }
    }
}

#[async_trait]
impl Readiness for RedisConnection {
    fn name(&self) -> &str {
        "redis"
    }

    /// `PING`, within `connect_timeout` (it may have to open the connection first).
    async fn check(&self) -> Result<(), StoreError> {
        let mut conn = self.manager.clone();
        let ping = redis::cmd("PING");
        self.timed("PING", self.connect_timeout.max(self.command_timeout), async {
            ping.query_async::<String>(&mut conn).await
        })
        .await
        .map(drop)
        .map_err(StoreError::from)
    }
}

/// A Redis command that failed or timed out. Becomes `StoreError::Unavailable`
/// (retryable); the caching decorator turns it into a trip to the source instead.
#[derive(Debug, thiserror::Error)]
#[error("redis {op} failed: {cause}")]
pub(crate) struct RedisFailure {
    op: &'static str,
    #[source]
    cause: Cause,
}

#[derive(Debug, thiserror::Error)]
enum Cause {
    #[error("{0}")]
    Redis(RedisError),
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
}

impl From<RedisFailure> for StoreError {
    fn from(failure: RedisFailure) -> Self {
        StoreError::Unavailable {
            message: format!("{failure}: check that Redis is reachable, then retry"),
            source: Some(Box::new(failure)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_malformed_url_is_invalid() {
        let config = RedisConfig::new("http://:secret@not-redis");

        let result = RedisConnection::open(&config);

        match result {
            Err(StoreError::Invalid { reason }) => {
                assert!(reason.contains("redis url"), "{reason}");
                assert!(!reason.contains("secret"), "the password never shows: {reason}");
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn keys_live_under_the_prefix() {
        let conn = RedisConnection::open(&RedisConfig::default().with_key_prefix("shop1"))
            .expect("a lazy connection");
        let bare = RedisConnection::open(&RedisConfig::default().with_key_prefix(""))
            .expect("a lazy connection");

        assert_eq!(conn.key(format_args!("cart:{}", 7)), "shop1:cart:7");
        assert_eq!(bare.key(format_args!("cart:{}", 7)), "cart:7");
    }
}

//! [`RedisCache`]: the [`Cache`] port on Redis strings with a millisecond TTL.

use async_trait::async_trait;
use chrono::Duration;
use shopkit_core::ports::{Cache, StoreError};

use crate::connection::RedisConnection;

/// The [`Cache`] port on Redis: `SET key value PX ttl`, `GET`, `DEL`, under
/// `{prefix}:kv:{key}`.
///
/// - Values are bytes (binary and empty values round-trip).
/// - Redis expires keys on its own clock, at millisecond precision; a positive TTL below a
///   millisecond is rounded up to one.
/// - A TTL of zero or less is `StoreError::Invalid` (nothing is written).
/// - Every Redis failure or timeout is `StoreError::Unavailable`; callers treat it as a miss.
#[derive(Clone, Debug)]
pub struct RedisCache {
    redis: RedisConnection,
}

impl RedisCache {
    /// A cache on `redis`'s namespace.
    pub fn new(redis: RedisConnection) -> Self {
        RedisCache { redis }
    }

    fn key(&self, key: &str) -> String {
        self.redis.key(format_args!("kv:{key}"))
    }
}

/// `ttl` in whole milliseconds, at least 1, or `Invalid` when it is not positive.
pub(crate) fn ttl_millis(ttl: Duration) -> Result<u64, StoreError> {
    if ttl <= Duration::zero() {
        return Err(StoreError::Invalid {
            reason: format!("a cache TTL must be positive, got {ttl}: pass at least 1 ms"),
        });
    }
    let whole = ttl.num_milliseconds();
    let rounded_up = if Duration::milliseconds(whole) < ttl { whole + 1 } else { whole };
    Ok(u64::try_from(rounded_up.max(1)).unwrap_or(u64::MAX))
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let cmd = redis::cmd("GET").arg(self.key(key)).clone();
        Ok(self.redis.query("GET", &cmd).await?)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let px = ttl_millis(ttl)?;
        let cmd = redis::cmd("SET").arg(self.key(key)).arg(value).arg("PX").arg(px).clone();
        self.redis.query::<()>("SET", &cmd).await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let cmd = redis::cmd("DEL").arg(self.key(key)).clone();
        self.redis.query::<()>("DEL", &cmd).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_whole_milliseconds_rounded_up() {
        assert_eq!(ttl_millis(Duration::seconds(2)).ok(), Some(2000));
        assert_eq!(ttl_millis(Duration::microseconds(1)).ok(), Some(1));
        assert_eq!(ttl_millis(Duration::microseconds(1500)).ok(), Some(2));
    }

    #[test]
    fn a_ttl_of_zero_or_less_is_invalid() {
        for ttl in [Duration::zero(), Duration::seconds(-1)] {
            assert!(matches!(ttl_millis(ttl), Err(StoreError::Invalid { .. })), "{ttl}");
        }
    }
}

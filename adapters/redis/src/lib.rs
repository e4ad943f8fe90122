//! # shopkit-redis
//!
//! Redis adapters for shopkit: the ElastiCache role of the AWS profile (catalog cache and
//! volatile sessions), and a rate limiter shared by every instance of the shop.
//!
//! ```text
//! let redis = RedisConnection::open(&RedisConfig::new("redis://127.0.0.1:6379"))?;
//! let products = Arc::new(CachedProducts::new(dynamo_products, redis.clone(), CatalogCacheConfig::default()));
//! let carts = Arc::new(RedisCarts::new(redis.clone()));
//! let limiter = Arc::new(RedisRateLimiter::new(redis.clone()));
//! let readiness = Arc::new(redis) as Arc<dyn Readiness>;
//! ```
//!
//! # Layout
//! - [`config`](RedisConfig) and [`connection`](RedisConnection): one auto-reconnecting
//!   connection (`redis::aio::ConnectionManager`), opened lazily so the shop starts while
//!   Redis is down; every command under a short timeout (250 ms by default) so a dead
//!   Redis answers fast; keys under a prefix so shops and parallel tests share a server.
//!   The connection is also the `/readyz` [`Readiness`](shopkit_core::ports::Readiness)
//!   check (`PING`).
//! - [`CachedProducts`]: a decorator of any `ProductRepository`: read-through with TTL,
//!   negative caching, invalidation on write guarded by a generation, single flight per
//!   key, and graceful degradation to the source (see its module docs).
//! - [`RedisCache`]: the `Cache` port.
//! - [`RedisCarts`]: the `CartStore` port, optimistic concurrency in a Lua script.
//! - [`RateLimiter`] (a port for the HTTP layer) and [`RedisRateLimiter`] (GCRA in Lua).
//! - `src/scripts/*.lua`: every multi-step operation is one script, so it is atomic.
//!
//! # Errors
//! A Redis failure or timeout is `StoreError::Unavailable` (retryable) for the cart store
//! and the cache port. The catalog decorator never reports one: it answers from its
//! source. The rate limiter answers by its [`OnRedisError`] policy.
//!
//! # Deployment
//! One endpoint (ElastiCache with cluster mode disabled, or a Redis with replicas); the
//! scripts need Redis 6 or later (tested on 7.0).
//!
//! In-transit encryption (`rediss://host:6379`, ElastiCache with TLS on) needs the `tls`
//! feature: rustls with the `ring` provider (installed as the process default unless the
//! application installed one) and the system's root certificates (the image needs
//! `ca-certificates`; `SSL_CERT_FILE` points at another bundle). Put an AUTH token or ACL
//! user in the URL (`rediss://user:token@host:6379`); `RedisConfig`'s `Debug` hides it.

mod cache;
mod carts;
mod catalog;
mod config;
mod connection;
mod rate_limit;
mod shared_error;

pub use cache::RedisCache;
pub use carts::RedisCarts;
pub use catalog::{CacheMetrics, CachedProducts, CatalogCacheConfig};
pub use config::RedisConfig;
pub use connection::RedisConnection;
pub use rate_limit::{OnRedisError, Quota, RateDecision, RateLimiter, RedisRateLimiter};

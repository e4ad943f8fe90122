//! [`RedisCarts`]: the cart store on Redis (the volatile-session role of ElastiCache).
//!
//! # Keys (under the connection's prefix)
//! - `cart:{id}`: a hash `{version, body, customer, format}`; `body` is the cart as JSON.
//! - `cart-token:{sha256(token)}`: the cart id of a guest token. The token is a bearer
//!   secret, so only its hash appears in key names (which `SCAN`, `MONITOR` and slow logs
//!   show).
//! - `cart-customer:{customer}`: a sorted set of the customer's OPEN carts by `updated_at`.
//! - `carts-open`: a sorted set of every open cart by `updated_at`, for the abandoned-cart
//!   sweep.
//!
//! The cart and its token entry expire with the cart (see [`RedisCarts::with_expiry_grace`]);
//! each sorted set lives as long as its longest-lived cart. Entries of carts Redis has
//! expired are dropped lazily by the reads that meet them (`open_cart_of`, the sweep).
//!
//! The cart body is the domain `Cart`'s serde form (the core offers no other way to rebuild
//! a cart); the hash's `format` field versions it.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;
use sha2::{Digest, Sha256};
use shopkit_core::cart::{Cart, CartStatus};
use shopkit_core::ids::{CartId, CartToken, CustomerId};
use shopkit_core::ports::{CartQuery, CartStore, StoreError};

use crate::connection::RedisConnection;

/// How many of a customer's open carts `open_cart_of` looks at (newest first).
const CUSTOMER_CANDIDATES: usize = 50;

/// How many index entries `stale_open_carts` reads per round trip.
const SWEEP_BATCH: usize = 200;

/// The version of the stored layout (the `format` field of each cart hash).
const FORMAT: u8 = 1;

/// The [`CartStore`] on Redis.
///
/// - `save` runs one Lua script: it checks the stored version (version 0 inserts and is
///   `AlreadyExists` when the id is taken; another version must equal the stored one, else
///   `VersionConflict { expected, actual }`, or `NotFound` when nothing is stored), checks the
///   guest token is not another cart's (`AlreadyExists`), then writes the cart and its
///   indexes. Redis runs scripts one at a time, so of concurrent saves from one version
///   exactly one wins and a conflict changes nothing.
/// - Expiry is decided by the `now` each read passes (`Cart::is_expired`), like every cart
///   store; Redis deletes the keys on its own clock `expiry_grace` after `expires_at`, so
///   storage stays bounded without ever hiding a cart that `now` still considers live.
/// - A Redis failure or timeout is `StoreError::Unavailable` (retryable), within the
///   connection's command timeout.
#[derive(Clone, Debug)]
pub struct RedisCarts {
    redis: RedisConnection,
    expiry_grace: StdDuration,
    cart_prefix: String,
    token_prefix: String,
    customer_prefix: String,
    open_key: String,
    scripts: Scripts,
}

#[derive(Clone, Debug)]
struct Scripts {
    save: Script,
    by_token: Script,
    open_of_customer: Script,
    prune: Script,
}

impl RedisCarts {
    /// A cart store on `redis`'s namespace, with an expiry grace of one hour.
    pub fn new(redis: RedisConnection) -> Self {
        RedisCarts {
            cart_prefix: redis.key(format_args!("cart:")),
            token_prefix: redis.key(format_args!("cart-token:")),
            customer_prefix: redis.key(format_args!("cart-customer:")),
            open_key: redis.key(format_args!("carts-open")),
            redis,
            expiry_grace: StdDuration::from_secs(3600),
            scripts: Scripts {
                save: Script::new(include_str!("scripts/cart_save.lua")),
                by_token: Script::new(include_str!("scripts/cart_by_token.lua")),
                open_of_customer: Script::new(include_str!("scripts/cart_open_of_customer.lua")),
                prune: Script::new(include_str!("scripts/cart_prune.lua")),
            },
        }
    }

    /// How long after a cart's `expires_at` (by this process's wall clock) Redis keeps it.
    /// Reads hide expired carts by the `now` they are given anyway; the grace absorbs clock
    /// skew between application servers, so no server loses a cart it still considers live.
    #[must_use]
    pub fn with_expiry_grace(mut self, grace: StdDuration) -> Self {
        self.expiry_grace = grace;
        self
    }

    fn cart_key(&self, id: CartId) -> String {
        format!("{}{id}", self.cart_prefix)
    }

    fn token_key(&self, token: &CartToken) -> String {
        let digest = Sha256::digest(token.expose().as_bytes());
        format!("{}{}", self.token_prefix, hex::encode(digest))
    }

    /// Redis TTL of a cart: until its expiry by the wall clock, plus the grace.
    fn ttl_ms(&self, cart: &Cart) -> u64 {
        let until_expiry = (cart.expires_at() - Utc::now()).to_std().unwrap_or_default();
        u64::try_from((until_expiry + self.expiry_grace).as_millis()).unwrap_or(u64::MAX).max(1)
    }

    /// The carts at `ids`, in order; `None` where Redis has none.
    async fn load_many(&self, ids: &[String]) -> Result<Vec<Option<Cart>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HMGET").arg(format!("{}{id}", self.cart_prefix)).arg("version").arg("body");
        }
        let rows: Vec<(Option<u64>, Option<String>)> =
            self.redis.pipeline("HMGET carts", &pipe).await?;
        rows.into_iter()
            .map(|(version, body)| match (version, body) {
                (Some(version), Some(body)) => decode(version, &body).map(Some),
                _ => Ok(None),
            })
            .collect()
    }
}

/// A stored cart back as a `Cart`, at its stored `version`.
fn decode(version: u64, body: &str) -> Result<Cart, StoreError> {
    let mut cart: Cart = serde_json::from_str(body).map_err(|e| StoreError::Unavailable {
        message: format!(
            "a stored cart could not be decoded ({e}): it was written by an incompatible \
             release; clear the cart keys or roll back"
        ),
        source: Some(Box::new(e)),
    })?;
    cart.set_version(version);
    Ok(cart)
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

#[async_trait]
impl CartStore for RedisCarts {
    async fn get(&self, id: CartId, now: DateTime<Utc>) -> Result<Option<Cart>, StoreError> {
        let cmd = redis::cmd("HMGET").arg(self.cart_key(id)).arg("version").arg("body").clone();
        let (version, body): (Option<u64>, Option<String>) =
            self.redis.query("HMGET cart", &cmd).await?;
        let (Some(version), Some(body)) = (version, body) else {
            return Ok(None);
        };
        let cart = decode(version, &body)?;
        Ok((!cart.is_expired(now)).then_some(cart))
    }

    async fn by_token(
        &self,
        token: &CartToken,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError> {
        let mut call = self.scripts.by_token.key(self.token_key(token));
        call.arg(&self.cart_prefix);
        let found: Option<(Option<u64>, Option<String>)> =
            self.redis.invoke("cart by token", &call).await?;
        let Some((Some(version), Some(body))) = found else {
            return Ok(None);
        };
        let cart = decode(version, &body)?;
        Ok((cart.token() == token && !cart.is_expired(now)).then_some(cart))
    }

    async fn open_cart_of(
        &self,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError> {
        let mut call =
            self.scripts.open_of_customer.key(format!("{}{customer}", self.customer_prefix));
        call.arg(&self.cart_prefix).arg(CUSTOMER_CANDIDATES);
        let rows: Vec<(u64, String)> = self.redis.invoke("open carts of customer", &call).await?;
        let mut newest: Option<Cart> = None;
        for (version, body) in rows {
            let cart = decode(version, &body)?;
            let candidate = cart.customer() == Some(customer)
                && *cart.status() == CartStatus::Open
                && !cart.is_expired(now);
            let newer = newest
                .as_ref()
                .is_none_or(|best| (cart.updated_at(), cart.id()) > (best.updated_at(), best.id()));
            if candidate && newer {
                newest = Some(cart);
            }
        }
        Ok(newest)
    }

    async fn save(&self, cart: &Cart) -> Result<u64, StoreError> {
        let expected = cart.version();
        let mut stored = cart.clone();
        stored.set_version(expected + 1);
        let body = serde_json::to_string(&stored).map_err(|e| StoreError::Invalid {
            reason: format!("cart {} cannot be serialised: {e}", cart.id()),
        })?;
        let open = *cart.status() == CartStatus::Open;
        let mut call = self.scripts.save.key(self.cart_key(cart.id()));
        call.key(self.token_key(cart.token()))
            .key(&self.open_key)
            .arg(expected)
            .arg(body)
            .arg(cart.id().to_string())
            .arg(cart.customer().map(|c| c.to_string()).unwrap_or_default())
            .arg(if open { "1" } else { "0" })
            .arg(micros(cart.updated_at()))
            .arg(self.ttl_ms(cart))
            .arg(&self.customer_prefix)
            .arg(FORMAT);
        let (code, number): (i64, u64) = self.redis.invoke("save cart", &call).await?;
        match code {
            1 => Ok(number),
            2 => {
                Err(StoreError::AlreadyExists { entity: "cart", key: format!("id {}", cart.id()) })
            }
            3 => Err(StoreError::not_found("cart", cart.id())),
            4 => Err(StoreError::VersionConflict {
                entity: "cart",
                id: cart.id().to_string(),
                expected,
                actual: number,
            }),
            // Never put the token itself in an error: it is a bearer secret.
            5 => Err(StoreError::AlreadyExists { entity: "cart", key: "this guest token".into() }),
            other => Err(StoreError::Unavailable {
                message: format!("the cart save script answered {other}: redeploy the scripts"),
                source: None,
            }),
        }
    }

    async fn stale_open_carts(
        &self,
        query: &CartQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<Cart>, StoreError> {
        let mut found = Vec::new();
        let mut gone = Vec::new();
        let mut offset = 0;
        // Scores are whole microseconds; the exact `updated_at < updated_before` test is
        // made on the decoded cart.
        let upper = micros(query.updated_before);
        while found.len() < query.limit {
            let cmd = redis::cmd("ZRANGEBYSCORE")
                .arg(&self.open_key)
                .arg("-inf")
                .arg(upper)
                .arg("LIMIT")
                .arg(offset)
                .arg(SWEEP_BATCH)
                .clone();
            let ids: Vec<String> = self.redis.query("ZRANGEBYSCORE open carts", &cmd).await?;
            if ids.is_empty() {
                break;
            }
            offset += ids.len();
            for (id, cart) in ids.iter().zip(self.load_many(&ids).await?) {
                match cart {
                    None => gone.push(id.clone()),
                    Some(cart)
                        if *cart.status() == CartStatus::Open
                            && !cart.is_expired(now)
                            && cart.updated_at() < query.updated_before
                            && found.len() < query.limit =>
                    {
                        found.push(cart);
                    }
                    Some(_) => {}
                }
            }
        }
        if !gone.is_empty() {
            let mut call = self.scripts.prune.key(&self.open_key);
            call.arg(&self.cart_prefix).arg(&gone);
            if let Err(failure) = self.redis.invoke::<i64>("prune open carts", &call).await {
                tracing::debug!(%failure, "could not drop index entries of expired carts");
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RedisConfig;

    #[tokio::test]
    async fn token_keys_hold_a_hash_of_the_token_not_the_token() {
        let redis = RedisConnection::open(&RedisConfig::default()).expect("a lazy connection");
        let carts = RedisCarts::new(redis);
        let token = CartToken::new(&"ab".repeat(32)).expect("a token");

        let key = carts.token_key(&token);

        assert!(key.starts_with("shopkit:cart-token:"), "{key}");
        assert!(!key.contains(token.expose()), "{key}");
        assert_eq!(key.len(), "shopkit:cart-token:".len() + 64);
    }
}

//! [`DynamoCarts`]: the cart store.
//!
//! # Items
//! | item | `pk` | `sk` | index keys (only while the cart is open) |
//! |---|---|---|---|
//! | cart | `CART#<id>` | `CART` | gsi1 `CUSTOMER#<customer>` / `<updated>#<id>` (customer carts); gsi2 `CARTS-OPEN#<shard>` / `<updated>#<id>` |
//! | token mirror | `CART-TOKEN#<sha256(token)>` | `CART` | none |
//!
//! Both items hold the cart (its serde form: the core offers no other way to rebuild a
//! `Cart`), its version, status, customer, times, and `ttl_epoch` (DynamoDB's TTL deletes
//! the items some time after the cart expires; reads never rely on it: a cart past
//! `expires_at` at the `now` a read passes is not returned).
//!
//! Why this shape:
//! - **A save is one `TransactWriteItems`** of both items: the cart under
//!   `version = :read` (or `attribute_not_exists` for version 0), the mirror under "absent
//!   or mine". So the mirror never disagrees with the cart, and `by_token` is one
//!   consistent `GetItem`, like `get`. The token is a bearer secret: only its SHA-256 is a
//!   key.
//! - **Index keys exist only while the cart is open** (a `Put` replaces the whole item, so
//!   checking out or merging drops them): the indexes hold open carts only.
//! - **`open_cart_of`** reads the customer's partition of gsi1 newest first, then re-reads
//!   the candidates consistently (`BatchGetItem`), so a cart checked out a moment ago is
//!   never offered as open (index reads lag).
//! - **`stale_open_carts`** reads gsi2 oldest first. Every save of an open cart writes to
//!   that index, so its partition is split in 8 shards (by cart id) to stay under
//!   DynamoDB's per-partition write rate; the sweep reads the 8 shards and merges.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use futures::future::try_join_all;
use sha2::{Digest, Sha256};
use shopkit_core::cart::{Cart, CartStatus};
use shopkit_core::ids::{CartId, CartToken, CustomerId};
use shopkit_core::ports::{CartQuery, CartStore, StoreError};

use crate::config::DynamoConfig;
use crate::db::{Db, TransactError};
use crate::error::{corrupt, store_error};
use crate::item::{Item, Reader, check_size, epoch_seconds, key, n, s, time, time_key};
use crate::table::{GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, TTL};
use crate::write::{Expr, put};

/// How many shards the open-carts index partition is split into.
const OPEN_SHARDS: u8 = 8;

/// How many index entries `open_cart_of` reads per round trip.
const CUSTOMER_PAGE: i32 = 10;

fn cart_key(id: CartId) -> Item {
    key(format!("CART#{id}"), "CART")
}

fn token_key(token: &CartToken) -> Item {
    let digest = Sha256::digest(token.expose().as_bytes());
    key(format!("CART-TOKEN#{}", hex::encode(digest)), "CART")
}

fn shard(id: CartId) -> u8 {
    id.as_uuid().as_bytes()[15] % OPEN_SHARDS
}

fn status_code(status: &CartStatus) -> &'static str {
    match status {
        CartStatus::Open => "open",
        CartStatus::CheckedOut { .. } => "checked_out",
        CartStatus::Merged { .. } => "merged",
    }
}

/// The attributes both items hold, the cart stored at `version`.
fn body(cart: &Cart, version: u64) -> Result<Item, StoreError> {
    let json = serde_json::to_string(cart).map_err(|e| StoreError::Invalid {
        reason: format!("cart {} cannot be serialised: {e}", cart.id()),
    })?;
    let mut item = HashMap::from([
        ("cart_id".to_owned(), s(cart.id().to_string())),
        ("version".to_owned(), n(version)),
        ("body".to_owned(), s(json)),
        ("format".to_owned(), n(1)),
        ("status".to_owned(), s(status_code(cart.status()))),
        ("updated_at".to_owned(), time(cart.updated_at())),
        ("expires_at".to_owned(), time(cart.expires_at())),
        ("expires_key".to_owned(), s(time_key(cart.expires_at()))),
        (TTL.to_owned(), epoch_seconds(cart.expires_at())),
    ]);
    if let Some(customer) = cart.customer() {
        item.insert("customer".to_owned(), s(customer.to_string()));
    }
    Ok(item)
}

fn stored_cart(cart: &Cart, version: u64) -> Result<Item, StoreError> {
    let mut item = body(cart, version)?;
    item.extend(cart_key(cart.id()));
    item.insert("entity".to_owned(), s("cart"));
    if *cart.status() == CartStatus::Open {
        let position = format!("{}#{}", time_key(cart.updated_at()), cart.id());
        item.insert(GSI2PK.to_owned(), s(format!("CARTS-OPEN#{}", shard(cart.id()))));
        item.insert(GSI2SK.to_owned(), s(position.as_str()));
        if let Some(customer) = cart.customer() {
            item.insert(GSI1PK.to_owned(), s(format!("CUSTOMER#{customer}")));
            item.insert(GSI1SK.to_owned(), s(position));
        }
    }
    Ok(item)
}

fn stored_mirror(cart: &Cart, version: u64) -> Result<Item, StoreError> {
    let mut item = body(cart, version)?;
    item.extend(token_key(cart.token()));
    item.insert("entity".to_owned(), s("cart-token"));
    Ok(item)
}

/// A stored cart item (or mirror, or index copy) back as a `Cart` at its stored version.
fn decode(item: &Item) -> Result<Cart, StoreError> {
    let r = Reader::new(item, "cart");
    let mut cart: Cart = serde_json::from_str(r.str("body")?).map_err(|e| corrupt("cart", e))?;
    cart.set_version(r.u64("version")?);
    Ok(cart)
}

fn live(cart: Cart, now: DateTime<Utc>) -> Option<Cart> {
    (!cart.is_expired(now)).then_some(cart)
}

/// A read of one partition of an index of open carts.
struct IndexRead {
    /// The index name and its key attributes.
    index: (&'static str, &'static str, &'static str),
    /// The partition (`CUSTOMER#<id>`, `CARTS-OPEN#<shard>`).
    partition: String,
    /// Only sort keys below this one.
    before: Option<String>,
    /// Newest (highest sort key) first.
    newest_first: bool,
    /// Items evaluated per page.
    limit: Option<i32>,
}

/// The [`CartStore`] on DynamoDB (see the module docs for the items).
///
/// - `save` is one transaction (cart + token mirror): version 0 inserts
///   (`AlreadyExists` when the id or the token is taken); another version must equal the
///   stored one, else `VersionConflict { expected, actual }` (the stored version comes back
///   with the failed condition), or `NotFound` when nothing is stored. A conflict writes
///   nothing.
/// - `get` and `by_token` are one consistent `GetItem` each; carts past `expires_at` at
///   the given `now` are never returned.
/// - `open_cart_of` is a `Query` (gsi1) plus a consistent `BatchGetItem`;
///   `stale_open_carts` one `Query` (gsi2) per shard, eventually consistent (a sweep).
///
/// Clones share the client.
#[derive(Clone, Debug)]
pub struct DynamoCarts {
    db: Db,
}

impl DynamoCarts {
    /// The cart store on `config`'s table (create it with [`create_tables`](crate::create_tables)).
    pub fn new(client: Client, config: &DynamoConfig) -> Self {
        DynamoCarts { db: Db::new(client, config) }
    }

    /// One page of `read`, leaving out carts expired at `now`: the items and where the next
    /// page starts.
    async fn index_page(
        &self,
        read: &IndexRead,
        now: DateTime<Utc>,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let (name, pk_attr, sk_attr) = read.index;
        let mut condition = "#pk = :pk".to_owned();
        let mut request = self
            .db
            .client
            .query()
            .table_name(&*self.db.table)
            .index_name(name)
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", s(read.partition.as_str()))
            .filter_expression("#expires > :now")
            .expression_attribute_names("#expires", "expires_key")
            .expression_attribute_values(":now", s(time_key(now)))
            .scan_index_forward(!read.newest_first)
            .set_limit(read.limit)
            .set_exclusive_start_key(start);
        if let Some(bound) = &read.before {
            condition.push_str(" AND #sk < :sk");
            request = request
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":sk", s(bound.as_str()));
        }
        let out = request
            .key_condition_expression(condition)
            .send()
            .await
            .map_err(|e| store_error("Query", &self.db.table, e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// Up to `limit` open, unexpired carts of one shard last changed before `before`,
    /// oldest first.
    async fn stale_in_shard(
        &self,
        shard: u8,
        before: DateTime<Utc>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Cart>, StoreError> {
        let read = IndexRead {
            index: (GSI2, GSI2PK, GSI2SK),
            partition: format!("CARTS-OPEN#{shard}"),
            before: Some(time_key(before)),
            newest_first: false,
            limit: i32::try_from(limit).ok(),
        };
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let (items, last) = self.index_page(&read, now, start).await?;
            for item in &items {
                let cart = decode(item)?;
                if *cart.status() == CartStatus::Open
                    && !cart.is_expired(now)
                    && cart.updated_at() < before
                {
                    found.push(cart);
                }
            }
            if found.len() >= limit || last.is_none() {
                found.truncate(limit);
                return Ok(found);
            }
            start = last;
        }
    }
}

#[async_trait]
impl CartStore for DynamoCarts {
    async fn get(&self, id: CartId, now: DateTime<Utc>) -> Result<Option<Cart>, StoreError> {
        let item = self.db.get(cart_key(id)).await?;
        Ok(item.as_ref().map(decode).transpose()?.and_then(|c| live(c, now)))
    }

    async fn by_token(
        &self,
        token: &CartToken,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError> {
        let item = self.db.get(token_key(token)).await?;
        let cart = item.as_ref().map(decode).transpose()?;
        Ok(cart.filter(|c| c.token() == token).and_then(|c| live(c, now)))
    }

    async fn open_cart_of(
        &self,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError> {
        let read = IndexRead {
            index: (GSI1, GSI1PK, GSI1SK),
            partition: format!("CUSTOMER#{customer}"),
            before: None,
            newest_first: true,
            limit: Some(CUSTOMER_PAGE),
        };
        let mut start = None;
        loop {
            let (items, last) = self.index_page(&read, now, start).await?;
            let mut keys = Vec::new();
            for item in &items {
                let id: CartId = Reader::new(item, "cart").parse("cart_id")?;
                let k = cart_key(id);
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            // The index lags: re-read the candidates consistently before trusting them.
            let fresh = self.db.batch_get(keys).await?;
            let mut best: Option<Cart> = None;
            for item in &fresh {
                let cart = decode(item)?;
                let wanted = *cart.status() == CartStatus::Open
                    && cart.customer() == Some(customer)
                    && !cart.is_expired(now);
                if wanted && best.as_ref().is_none_or(|b| cart.updated_at() > b.updated_at()) {
                    best = Some(cart);
                }
            }
            if best.is_some() || last.is_none() {
                return Ok(best);
            }
            start = last;
        }
    }

    async fn save(&self, cart: &Cart) -> Result<u64, StoreError> {
        let read = cart.version();
        let version = read + 1;
        let cart_item = stored_cart(cart, version)?;
        check_size(&cart_item, &format!("cart {}", cart.id()), "remove lines from the cart")?;
        let table = &*self.db.table;
        let exists = Expr::new().name("#pk", PK);
        let (cart_write, mirror_write) = if read == 0 {
            (
                put(table, cart_item, Some("attribute_not_exists(#pk)"), &exists)?,
                put(
                    table,
                    stored_mirror(cart, version)?,
                    Some("attribute_not_exists(#pk)"),
                    &exists,
                )?,
            )
        } else {
            let expected = Expr::new().name("#version", "version").value(":expected", n(read));
            let mine = Expr::new()
                .name("#pk", PK)
                .name("#cart", "cart_id")
                .value(":id", s(cart.id().to_string()));
            (
                put(table, cart_item, Some("#version = :expected"), &expected)?,
                put(
                    table,
                    stored_mirror(cart, version)?,
                    Some("attribute_not_exists(#pk) OR #cart = :id"),
                    &mine,
                )?,
            )
        };
        let outcome = self
            .db
            .transact(vec![cart_write, mirror_write], &format!("saving cart {}", cart.id()), "")
            .await;
        match outcome {
            Ok(()) => Ok(version),
            Err(TransactError::Store(e)) => Err(e),
            Err(TransactError::Cancelled(reasons)) => {
                let cart_failed = reasons.first().filter(|r| r.condition_failed());
                let token_failed = reasons.get(1).is_some_and(|r| r.condition_failed());
                Err(match (cart_failed, read) {
                    (Some(_), 0) => StoreError::AlreadyExists {
                        entity: "cart",
                        key: format!("id {}", cart.id()),
                    },
                    (Some(reason), _) => match &reason.item {
                        Some(item) => StoreError::VersionConflict {
                            entity: "cart",
                            id: cart.id().to_string(),
                            expected: read,
                            actual: Reader::new(item, "cart").u64("version")?,
                        },
                        None => StoreError::not_found("cart", cart.id()),
                    },
                    (None, _) if token_failed => StoreError::AlreadyExists {
                        entity: "cart",
                        key: "token (of another cart)".to_owned(),
                    },
                    (None, _) => StoreError::Unavailable {
                        message: format!(
                            "DynamoDB cancelled saving cart {} without naming a failed condition: retry",
                            cart.id()
                        ),
                        source: None,
                    },
                })
            }
        }
    }

    async fn stale_open_carts(
        &self,
        query: &CartQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<Cart>, StoreError> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let shards = (0..OPEN_SHARDS)
            .map(|shard| self.stale_in_shard(shard, query.updated_before, query.limit, now));
        let mut carts: Vec<Cart> = try_join_all(shards).await?.into_iter().flatten().collect();
        carts.sort_by(|a, b| a.updated_at().cmp(&b.updated_at()).then_with(|| a.id().cmp(&b.id())));
        carts.truncate(query.limit);
        Ok(carts)
    }
}

//! The cart store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::cart::Cart;
use crate::ids::{CartId, CartToken, CustomerId};

/// Which carts a sweep wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartQuery {
    /// Open carts last changed before this instant.
    pub updated_before: DateTime<Utc>,
    /// At most this many.
    pub limit: usize,
}

/// Where carts live (DynamoDB or Redis in the AWS profile).
///
/// # Contract
/// - `save` of a cart with version 0 MUST insert it (`AlreadyExists` if the id is taken);
///   otherwise it MUST fail with `VersionConflict` unless the stored version equals
///   `cart.version()`. On success the stored version is the old one + 1, returned.
///   A conflict changes nothing: no lost update under any concurrency. Saving a cart with
///   version > 0 that is not stored MUST be `NotFound`.
/// - A cart past `expires_at` MUST NOT be returned by `get`, `by_token` or
///   `open_cart_of` (it may be deleted lazily).
/// - `open_cart_of` returns the customer's most recently updated open cart.
#[async_trait]
pub trait CartStore: Send + Sync + 'static {
    /// The cart with `id`, if present and not expired at `now`.
    async fn get(&self, id: CartId, now: DateTime<Utc>) -> Result<Option<Cart>, StoreError>;
    /// The cart with a guest `token`, if present and not expired at `now`.
    async fn by_token(
        &self,
        token: &CartToken,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError>;
    /// The customer's open cart, if any.
    async fn open_cart_of(
        &self,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError>;
    /// Inserts or updates with an optimistic version check; returns the new version.
    async fn save(&self, cart: &Cart) -> Result<u64, StoreError>;
    /// Open, unexpired carts untouched since `query.updated_before` (abandoned-cart sweep).
    async fn stale_open_carts(
        &self,
        query: &CartQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<Cart>, StoreError>;
}

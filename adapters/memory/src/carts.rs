//! [`MemoryCarts`]: the in-memory cart store, with optimistic versions and expiry.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopkit_core::cart::{Cart, CartStatus};
use shopkit_core::ids::{CartId, CartToken, CustomerId};
use shopkit_core::ports::{CartQuery, CartStore, StoreError};

#[derive(Debug, Default)]
struct State {
    carts: HashMap<CartId, Cart>,
    tokens: HashMap<CartToken, CartId>,
    by_customer: HashMap<CustomerId, HashSet<CartId>>,
}

impl State {
    fn visible(&self, id: &CartId, now: DateTime<Utc>) -> Option<&Cart> {
        self.carts.get(id).filter(|cart| !cart.is_expired(now))
    }

    fn unindex(&mut self, cart: &Cart) {
        self.tokens.remove(cart.token());
        if let Some(customer) = cart.customer()
            && let Some(carts) = self.by_customer.get_mut(&customer)
        {
            carts.remove(&cart.id());
            if carts.is_empty() {
                self.by_customer.remove(&customer);
            }
        }
    }

    fn index(&mut self, cart: &Cart) {
        self.tokens.insert(cart.token().clone(), cart.id());
        if let Some(customer) = cart.customer() {
            self.by_customer.entry(customer).or_default().insert(cart.id());
        }
    }
}

/// The in-memory [`CartStore`].
///
/// - `save` with version 0 inserts (`AlreadyExists` if the id or the guest token is
///   taken); any other version must equal the stored one or the save fails with
///   `VersionConflict` and changes nothing. The check and the write happen under one
///   lock, so of two concurrent saves of the same version exactly one wins.
/// - Carts past `expires_at` are invisible to every read (they stay stored: a later save
///   with the right version may still revive them, as the domain allows).
/// - Guest tokens and customers are indexed, so `by_token` and `open_cart_of` do not scan.
///
/// Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryCarts {
    state: Arc<Mutex<State>>,
}

impl MemoryCarts {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl CartStore for MemoryCarts {
    async fn get(&self, id: CartId, now: DateTime<Utc>) -> Result<Option<Cart>, StoreError> {
        Ok(self.lock().visible(&id, now).cloned())
    }

    async fn by_token(
        &self,
        token: &CartToken,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError> {
        let state = self.lock();
        Ok(state.tokens.get(token).and_then(|id| state.visible(id, now)).cloned())
    }

    async fn open_cart_of(
        &self,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError> {
        let state = self.lock();
        let newest = state
            .by_customer
            .get(&customer)
            .into_iter()
            .flatten()
            .filter_map(|id| state.visible(id, now))
            .filter(|cart| *cart.status() == CartStatus::Open)
            .max_by_key(|cart| (cart.updated_at(), cart.id()));
        Ok(newest.cloned())
    }

    async fn save(&self, cart: &Cart) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let token_owner = state.tokens.get(cart.token()).copied();
        if token_owner.is_some_and(|owner| owner != cart.id()) {
            // Never put the token itself in an error: it is a bearer secret.
            return Err(StoreError::AlreadyExists {
                entity: "cart",
                key: "this guest token".into(),
            });
        }
        let stored_version = state.carts.get(&cart.id()).map(Cart::version);
        let version = match (cart.version(), stored_version) {
            (0, None) => 1,
            (0, Some(_)) => {
                return Err(StoreError::AlreadyExists {
                    entity: "cart",
                    key: format!("id {}", cart.id()),
                });
            }
            (_, None) => return Err(StoreError::not_found("cart", cart.id())),
            (expected, Some(actual)) if expected != actual => {
                return Err(StoreError::VersionConflict {
                    entity: "cart",
                    id: cart.id().to_string(),
                    expected,
                    actual,
                });
            }
            (_, Some(actual)) => actual + 1,
        };
        if let Some(old) = state.carts.remove(&cart.id()) {
            state.unindex(&old);
        }
        let mut stored = cart.clone();
        stored.set_version(version);
        state.index(&stored);
        state.carts.insert(stored.id(), stored);
        Ok(version)
    }

    async fn stale_open_carts(
        &self,
        query: &CartQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<Cart>, StoreError> {
        let state = self.lock();
        let mut stale: Vec<&Cart> = state
            .carts
            .values()
            .filter(|cart| {
                *cart.status() == CartStatus::Open
                    && !cart.is_expired(now)
                    && cart.updated_at() < query.updated_before
            })
            .collect();
        stale.sort_by_key(|cart| (cart.updated_at(), cart.id()));
        Ok(stale.into_iter().take(query.limit).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use shopkit_core::cart::CartPolicy;
    use shopkit_core::ids::{LineId, Sku};
    use shopkit_core::money::Currency;
    use shopkit_core::quantity::Quantity;
    use uuid::Uuid;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn cart(customer: Option<CustomerId>, at: DateTime<Utc>) -> Cart {
        let token = CartToken::new(&Uuid::new_v4().simple().to_string()).unwrap();
        Cart::new(
            CartId::from_uuid(Uuid::new_v4()),
            token,
            customer,
            Currency::USD,
            at,
            &CartPolicy::default(),
        )
    }

    fn add(cart: &mut Cart, sku: &str, at: DateTime<Utc>) {
        let line = LineId::from_uuid(Uuid::new_v4());
        let shipped = shopkit_core::catalog::ShippingRequirement::Required;
        cart.add_line(
            line,
            Sku::new(sku).unwrap(),
            Quantity::ONE,
            shipped,
            at,
            &CartPolicy::default(),
        )
        .unwrap();
    }

    #[tokio::test]
    async fn concurrent_saves_of_one_version_let_exactly_one_win() {
        let store = MemoryCarts::new();
        let mut c = cart(None, now());
        c.set_version(store.save(&c).await.unwrap());
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let store = store.clone();
                let mut mine = c.clone();
                tokio::spawn(async move {
                    add(&mut mine, &format!("SKU{i}"), now());
                    store.save(&mine).await
                })
            })
            .collect();

        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(version) => {
                    wins += 1;
                    assert_eq!(version, 2);
                }
                Err(err) => assert!(matches!(
                    err,
                    StoreError::VersionConflict { expected: 1, actual: 2, .. }
                )),
            }
        }
        assert_eq!(wins, 1);
        assert_eq!(store.get(c.id(), now()).await.unwrap().unwrap().lines().len(), 1);
    }

    #[tokio::test]
    async fn inserting_a_taken_id_fails() {
        let store = MemoryCarts::new();
        let c = cart(None, now());
        store.save(&c).await.unwrap();
        assert!(matches!(store.save(&c).await, Err(StoreError::AlreadyExists { .. })));
    }

    #[tokio::test]
    async fn expired_carts_are_invisible_to_every_read() {
        let store = MemoryCarts::new();
        let customer = CustomerId::from_uuid(Uuid::new_v4());
        let c = cart(Some(customer), now());
        store.save(&c).await.unwrap();
        let later = c.expires_at();

        assert!(store.get(c.id(), later).await.unwrap().is_none());
        assert!(store.by_token(c.token(), later).await.unwrap().is_none());
        assert!(store.open_cart_of(customer, later).await.unwrap().is_none());
        let sweep = CartQuery { updated_before: later, limit: 10 };
        assert!(store.stale_open_carts(&sweep, later).await.unwrap().is_empty());
        assert!(store.by_token(c.token(), now()).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn open_cart_of_returns_the_newest_open_cart() {
        let store = MemoryCarts::new();
        let customer = CustomerId::from_uuid(Uuid::new_v4());
        let older = cart(Some(customer), now());
        let newer = cart(Some(customer), now() + Duration::minutes(5));
        let mut newest_closed = cart(Some(customer), now() + Duration::minutes(9));
        newest_closed
            .mark_checked_out(shopkit_core::ids::OrderId::from_uuid(Uuid::new_v4()), now())
            .unwrap();
        for c in [&older, &newer, &newest_closed] {
            store.save(c).await.unwrap();
        }

        let found =
            store.open_cart_of(customer, now() + Duration::minutes(10)).await.unwrap().unwrap();

        assert_eq!(found.id(), newer.id());
    }

    #[tokio::test]
    async fn a_guest_cart_assigned_to_a_customer_is_found_by_customer() {
        let store = MemoryCarts::new();
        let customer = CustomerId::from_uuid(Uuid::new_v4());
        let mut c = cart(None, now());
        c.set_version(store.save(&c).await.unwrap());
        c.assign_to(customer, now(), &CartPolicy::default()).unwrap();
        store.save(&c).await.unwrap();

        assert_eq!(store.open_cart_of(customer, now()).await.unwrap().unwrap().id(), c.id());
    }

    #[tokio::test]
    async fn stale_open_carts_come_oldest_first_up_to_the_limit() {
        let store = MemoryCarts::new();
        let mut ids = Vec::new();
        for hours in [3, 1, 2, 9] {
            let c = cart(None, now() + Duration::hours(hours));
            store.save(&c).await.unwrap();
            ids.push(c.id());
        }
        let query = CartQuery { updated_before: now() + Duration::hours(5), limit: 2 };

        let stale = store.stale_open_carts(&query, now() + Duration::hours(10)).await.unwrap();

        assert_eq!(stale.iter().map(Cart::id).collect::<Vec<_>>(), [ids[1], ids[2]]);
    }
}

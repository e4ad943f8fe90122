//! The contracts must be able to fail: each test here runs a contract against a
//! deliberately lax adapter (the bugs the conformance suite exists to catch: check-then-act
//! races, partial holds, missing version checks, events written on a refused insert,
//! claims without a lease) and checks that the contract panics.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use shopkit_core::cart::Cart;
use shopkit_core::events::{EventEnvelope, OutboxEntry, OutboxStatus};
use shopkit_core::ids::CouponCode;
use shopkit_core::ids::{
    AdjustmentId, CartId, CartToken, CustomerId, EventId, IdempotencyKey, LocationId, OrderId,
    PromotionId, RefundId, ReservationId, Sku,
};
use shopkit_core::inventory::{
    Adjusted, BackorderPolicy, InventoryError, Reservation, ReservationRequest, ReservationStatus,
    StockAdjustment, StockLevel,
};
use shopkit_core::orders::Order;
use shopkit_core::ports::{
    CartQuery, CartStore, Cursor, IdempotencyBegin, IdempotencyStore, InventoryStore, OrderQuery,
    OrderRepository, OutboxStore, Page, PricingSettings, PromotionRepository, RedeemError,
    StoreError,
};
use shopkit_core::pricing::Promotion;

/// Runs a contract on its own task and asserts that it panicked (failed).
async fn must_fail<F: Future<Output = ()> + Send + 'static>(what: &str, contract: F) {
    let outcome = tokio::spawn(contract).await;
    assert!(
        outcome.as_ref().is_err_and(tokio::task::JoinError::is_panic),
        "the contract passed against a lax adapter ({what}): it cannot catch that bug"
    );
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unsupported() -> StoreError {
    StoreError::Invalid { reason: "not supported by this lax adapter".into() }
}

// ---------------------------------------------------------------------------------------
// Inventory: check-then-act races (reservations, keyed adjustments), and partial holds.

#[derive(Clone, Copy, PartialEq, Eq)]
enum InventoryBug {
    /// Checks availability (or whether an adjustment key is new), lets other tasks run,
    /// then acts: oversells, or applies one key more than once, under concurrency.
    CheckThenAct,
    /// Holds line by line and does not roll back when a later line falls short.
    PartialHolds,
}

struct LaxInventory {
    bug: InventoryBug,
    levels: Mutex<HashMap<Sku, StockLevel>>,
    reservations: Mutex<HashMap<ReservationId, Reservation>>,
    adjustments: Mutex<Vec<AdjustmentId>>,
    /// Check-then-act adjustments meet here in pairs after their check, so two of them
    /// always act on the same stale check: the race happens every run, not by luck.
    checked: tokio::sync::Barrier,
}

impl LaxInventory {
    fn shared(bug: InventoryBug) -> Arc<dyn InventoryStore> {
        Arc::new(LaxInventory {
            bug,
            levels: Mutex::default(),
            reservations: Mutex::default(),
            adjustments: Mutex::default(),
            checked: tokio::sync::Barrier::new(2),
        })
    }

    fn short(&self, request: &ReservationRequest) -> Option<InventoryError> {
        let levels = lock(&self.levels);
        request.lines.iter().find_map(|l| {
            let lvl = levels.get(&l.sku)?;
            (lvl.available() < i64::from(l.quantity.get())).then(|| InventoryError::OutOfStock {
                sku: l.sku.clone(),
                requested: l.quantity.get(),
                available: lvl.available(),
            })
        })
    }
}

#[async_trait]
impl InventoryStore for LaxInventory {
    async fn set_stock(
        &self,
        sku: &Sku,
        location: &LocationId,
        on_hand: i64,
        backorder: BackorderPolicy,
    ) -> Result<StockLevel, InventoryError> {
        let level = StockLevel {
            sku: sku.clone(),
            location: location.clone(),
            on_hand,
            reserved: 0,
            backorder,
        };
        lock(&self.levels).insert(sku.clone(), level.clone());
        Ok(level)
    }
    async fn adjust(&self, _: &Sku, _: &LocationId, _: i64) -> Result<StockLevel, InventoryError> {
        Err(unsupported().into())
    }
    async fn adjust_once(&self, adjustment: &StockAdjustment) -> Result<Adjusted, InventoryError> {
        if lock(&self.adjustments).contains(&adjustment.id) {
            return Ok(Adjusted::AlreadyApplied);
        }
        if self.bug == InventoryBug::CheckThenAct {
            // A caller left without a partner (the last of an odd number) goes on alone.
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(2), self.checked.wait()).await;
        }
        lock(&self.adjustments).push(adjustment.id);
        let mut levels = lock(&self.levels);
        let level = levels.get_mut(&adjustment.sku).ok_or_else(unsupported)?;
        level.on_hand += adjustment.delta;
        Ok(Adjusted::Applied(level.clone()))
    }
    async fn levels(&self, skus: &[Sku]) -> Result<Vec<StockLevel>, InventoryError> {
        let levels = lock(&self.levels);
        Ok(skus.iter().filter_map(|s| levels.get(s).cloned()).collect())
    }
    async fn reserve(&self, request: &ReservationRequest) -> Result<Reservation, InventoryError> {
        match self.bug {
            InventoryBug::CheckThenAct => {
                if let Some(e) = self.short(request) {
                    return Err(e);
                }
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
                let mut levels = lock(&self.levels);
                for l in &request.lines {
                    if let Some(lvl) = levels.get_mut(&l.sku) {
                        lvl.reserved += i64::from(l.quantity.get());
                    }
                }
            }
            InventoryBug::PartialHolds => {
                let mut levels = lock(&self.levels);
                for l in &request.lines {
                    let lvl = levels.get_mut(&l.sku).ok_or_else(unsupported)?;
                    if lvl.available() < i64::from(l.quantity.get()) {
                        return Err(InventoryError::OutOfStock {
                            sku: l.sku.clone(),
                            requested: l.quantity.get(),
                            available: lvl.available(),
                        });
                    }
                    lvl.reserved += i64::from(l.quantity.get());
                }
            }
        }
        let r = Reservation {
            id: request.id,
            location: request.location.clone(),
            lines: request.lines.clone(),
            status: ReservationStatus::Active,
            expires_at: request.expires_at,
        };
        lock(&self.reservations).insert(r.id, r.clone());
        Ok(r)
    }
    async fn commit(&self, _: ReservationId) -> Result<Reservation, InventoryError> {
        Err(unsupported().into())
    }
    async fn release(&self, _: ReservationId) -> Result<Reservation, InventoryError> {
        Err(unsupported().into())
    }
    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>, InventoryError> {
        Ok(lock(&self.reservations).get(&id).cloned())
    }
    async fn active_reservations(&self, sku: &Sku) -> Result<Vec<Reservation>, InventoryError> {
        Ok(lock(&self.reservations)
            .values()
            .filter(|r| {
                r.status == ReservationStatus::Active && r.lines.iter().any(|l| &l.sku == sku)
            })
            .cloned()
            .collect())
    }
    async fn release_expired(&self, _: DateTime<Utc>) -> Result<usize, InventoryError> {
        Err(unsupported().into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_oversell_contract_catches_a_check_then_act_race() {
    must_fail(
        "check-then-act reservations",
        shopkit_testkit::inventory::concurrent_reservations_never_oversell(LaxInventory::shared(
            InventoryBug::CheckThenAct,
        )),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_adjust_once_contract_catches_a_check_then_act_race() {
    must_fail(
        "check-then-act keyed adjustments",
        shopkit_testkit::inventory::concurrent_applications_of_one_key_adjust_once(
            LaxInventory::shared(InventoryBug::CheckThenAct),
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_all_or_nothing_contract_catches_partial_holds() {
    must_fail(
        "partial holds",
        shopkit_testkit::inventory::reserve_is_all_or_nothing(LaxInventory::shared(
            InventoryBug::PartialHolds,
        )),
    )
    .await;
    must_fail(
        "partial holds under concurrency",
        shopkit_testkit::inventory::concurrent_multi_sku_reservations_leave_no_partial_holds(
            LaxInventory::shared(InventoryBug::PartialHolds),
        ),
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Carts: no version check (last writer wins).

#[derive(Default)]
struct LastWriterWinsCarts {
    carts: Mutex<HashMap<CartId, Cart>>,
}

#[async_trait]
impl CartStore for LastWriterWinsCarts {
    async fn get(&self, id: CartId, _: DateTime<Utc>) -> Result<Option<Cart>, StoreError> {
        Ok(lock(&self.carts).get(&id).cloned())
    }
    async fn by_token(&self, _: &CartToken, _: DateTime<Utc>) -> Result<Option<Cart>, StoreError> {
        Err(unsupported())
    }
    async fn open_cart_of(
        &self,
        _: CustomerId,
        _: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError> {
        Err(unsupported())
    }
    async fn save(&self, cart: &Cart) -> Result<u64, StoreError> {
        let mut carts = lock(&self.carts);
        let next = cart.version() + 1;
        let mut stored = cart.clone();
        stored.set_version(next);
        carts.insert(cart.id(), stored);
        Ok(next)
    }
    async fn stale_open_carts(
        &self,
        _: &CartQuery,
        _: DateTime<Utc>,
    ) -> Result<Vec<Cart>, StoreError> {
        Err(unsupported())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cart_contracts_catch_a_missing_version_check() {
    must_fail(
        "stale save",
        shopkit_testkit::carts::stale_version_save_is_a_conflict(Arc::new(
            LastWriterWinsCarts::default(),
        )),
    )
    .await;
    must_fail(
        "concurrent saves",
        shopkit_testkit::carts::concurrent_saves_from_one_version_have_one_winner(Arc::new(
            LastWriterWinsCarts::default(),
        )),
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Idempotency: a check-then-insert race.

#[derive(Default)]
struct RacyIdempotency {
    keys: Mutex<HashMap<String, String>>,
}

#[async_trait]
impl IdempotencyStore for RacyIdempotency {
    async fn begin(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        fp: &str,
        _: DateTime<Utc>,
        _: Duration,
    ) -> Result<IdempotencyBegin, StoreError> {
        let k = format!("{scope}/{key}");
        if lock(&self.keys).contains_key(&k) {
            return Ok(IdempotencyBegin::InProgress);
        }
        tokio::task::yield_now().await;
        lock(&self.keys).insert(k, fp.to_owned());
        Ok(IdempotencyBegin::Started)
    }
    async fn complete(
        &self,
        _: &str,
        _: &IdempotencyKey,
        _: &str,
        _: DateTime<Utc>,
        _: Duration,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }
    async fn abandon(&self, _: &str, _: &IdempotencyKey) -> Result<(), StoreError> {
        Err(unsupported())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_idempotency_contract_catches_a_check_then_insert_race() {
    must_fail(
        "check-then-insert begin",
        shopkit_testkit::idempotency::concurrent_begins_have_exactly_one_owner(Arc::new(
            RacyIdempotency::default(),
        )),
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Promotions: a read-then-increment race on the usage count.

#[derive(Default)]
struct RacyPromotions {
    promotions: Mutex<HashMap<PromotionId, (Promotion, u32)>>,
}

#[async_trait]
impl PromotionRepository for RacyPromotions {
    async fn upsert(&self, p: &Promotion) -> Result<(), StoreError> {
        lock(&self.promotions).insert(p.id(), (p.clone(), 0));
        Ok(())
    }
    async fn get(&self, id: PromotionId) -> Result<Option<Promotion>, StoreError> {
        Ok(lock(&self.promotions).get(&id).map(|(p, _)| p.clone()))
    }
    async fn by_coupon(&self, _: &CouponCode) -> Result<Option<Promotion>, StoreError> {
        Err(unsupported())
    }
    async fn all(&self) -> Result<Vec<Promotion>, StoreError> {
        Err(unsupported())
    }
    async fn delete(&self, _: PromotionId) -> Result<(), StoreError> {
        Err(unsupported())
    }
    async fn redeem(&self, id: PromotionId, _: OrderId) -> Result<(), RedeemError> {
        let (limit, used) = {
            let map = lock(&self.promotions);
            let (p, used) = map.get(&id).ok_or_else(unsupported)?;
            (p.usage_limit(), *used)
        };
        if limit.is_some_and(|l| used >= l) {
            return Err(RedeemError::UsageLimitReached { promotion: id });
        }
        tokio::task::yield_now().await;
        if let Some((_, used)) = lock(&self.promotions).get_mut(&id) {
            *used += 1;
        }
        Ok(())
    }
    async fn release(&self, _: PromotionId, _: OrderId) -> Result<(), StoreError> {
        Err(unsupported())
    }
    async fn settings(&self) -> Result<PricingSettings, StoreError> {
        Err(unsupported())
    }
    async fn save_settings(&self, _: &PricingSettings) -> Result<(), StoreError> {
        Err(unsupported())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_usage_limit_contract_catches_a_read_then_increment_race() {
    must_fail(
        "read-then-increment redemptions",
        shopkit_testkit::promotions::concurrent_redemptions_stay_within_the_usage_limit(Arc::new(
            RacyPromotions::default(),
        )),
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Outbox and orders: claims without a lease; events written before the existence check.

#[derive(Default)]
struct Log {
    entries: Mutex<Vec<OutboxEntry>>,
}

#[async_trait]
impl OutboxStore for Log {
    async fn append(&self, events: &[EventEnvelope]) -> Result<(), StoreError> {
        let mut entries = lock(&self.entries);
        for e in events {
            if !entries.iter().any(|x| x.envelope.id == e.id) {
                entries.push(OutboxEntry::new(e.clone()));
            }
        }
        Ok(())
    }
    /// The bug: due entries are returned but never leased.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        _: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let entries = lock(&self.entries);
        Ok(entries
            .iter()
            .filter(|e| e.status == OutboxStatus::Pending && e.next_attempt_at <= now)
            .take(limit)
            .cloned()
            .collect())
    }
    async fn mark_delivered(&self, _: EventId, _: &[String]) -> Result<(), StoreError> {
        Err(unsupported())
    }
    async fn mark_failed(
        &self,
        _: EventId,
        _: &[String],
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }
    async fn mark_dead(&self, _: EventId, _: &[String], _: &str) -> Result<(), StoreError> {
        Err(unsupported())
    }
    async fn redeliver(&self, _: EventId, _: DateTime<Utc>) -> Result<(), StoreError> {
        Err(unsupported())
    }
    async fn list(
        &self,
        _: Option<OutboxStatus>,
        _: Option<Cursor>,
        _: usize,
    ) -> Result<Page<OutboxEntry>, StoreError> {
        Ok(Page { items: lock(&self.entries).clone(), next_cursor: None })
    }
}

struct EventsFirstOrders {
    outbox: Arc<Log>,
    orders: Mutex<HashMap<OrderId, Order>>,
}

#[async_trait]
impl OrderRepository for EventsFirstOrders {
    /// The bug: events are appended before the id is checked.
    async fn insert(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError> {
        self.outbox.append(events).await?;
        let mut orders = lock(&self.orders);
        if orders.contains_key(&order.id()) {
            return Err(StoreError::AlreadyExists {
                entity: "order",
                key: format!("id {}", order.id()),
            });
        }
        let mut stored = order.clone();
        stored.set_version(1);
        orders.insert(order.id(), stored);
        Ok(1)
    }
    async fn update(&self, _: &Order, _: &[EventEnvelope]) -> Result<u64, StoreError> {
        Err(unsupported())
    }
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        Ok(lock(&self.orders).get(&id).cloned())
    }
    async fn by_refund(&self, _: RefundId) -> Result<Option<Order>, StoreError> {
        Err(unsupported())
    }
    async fn list(&self, _: &OrderQuery) -> Result<Page<Order>, StoreError> {
        Err(unsupported())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_claim_contract_catches_claims_without_a_lease() {
    must_fail(
        "claims without a lease",
        shopkit_testkit::outbox::concurrent_claimers_never_get_the_same_entry(Arc::new(
            Log::default(),
        )),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_outbox_atomicity_contract_catches_events_written_on_a_refused_insert() {
    let outbox = Arc::new(Log::default());
    let orders =
        Arc::new(EventsFirstOrders { outbox: Arc::clone(&outbox), orders: Mutex::default() });
    must_fail(
        "events appended before the existence check",
        shopkit_testkit::orders::insert_of_an_existing_id_writes_no_events(orders, outbox),
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Ids: a counter in place of a CSPRNG.

#[derive(Default)]
struct CounterIds {
    next: std::sync::atomic::AtomicU64,
}

impl shopkit_core::ports::IdGenerator for CounterIds {
    fn uuid(&self) -> uuid::Uuid {
        uuid::Uuid::from_u128(u128::from(
            self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        ))
    }
    fn cart_token(&self) -> CartToken {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        CartToken::new(&format!("{n:064x}")).unwrap_or_else(|e| panic!("a counter token: {e}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_token_contract_catches_counter_tokens() {
    must_fail(
        "counter cart tokens",
        shopkit_testkit::ids::cart_tokens_are_unguessable(Arc::new(CounterIds::default())),
    )
    .await;
}

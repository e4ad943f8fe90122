//! Tiny in-test fakes of the ports the service tests do not inject failures into, and
//! `mockall` mocks of those they do. The real in-memory adapters live in `shopkit-memory`,
//! which the core cannot depend on (not even as a dev-dependency: it would be a cycle);
//! the full flows run against them in `shopkit-testkit`'s checkout contracts.
//!
//! The fakes keep the rules the services rely on (versions, conflicts, `AlreadyExists`,
//! atomic reservations, idempotency leases) and skip the rest (pagination, cursors).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use crate::cart::{Cart, CartPolicy, CartStatus};
use crate::catalog::{Attributes, Category, Product, ProductStatus, Variant};
use crate::customers::{Address, Customer};
use crate::events::{EventEnvelope, OutboxEntry, OutboxStatus};
use crate::ids::{
    AdjustmentId, CartId, CartToken, CouponCode, CustomerId, Email, EventId, IdempotencyKey,
    LocationId, OrderId, ProductId, PromotionId, RefundId, RegionCode, ReservationId,
    ShippingMethodId, Sku, Slug, VariantId,
};
use crate::inventory::{
    Adjusted, BackorderPolicy, InventoryError, Reservation, ReservationRequest, ReservationStatus,
    StockAdjustment, StockLevel,
};
use crate::money::{Currency, Money};
use crate::orders::Order;
use crate::ports::{
    Authorization, AuthorizeRequest, CartQuery, CartStore, CheckoutJournal, CheckoutProgress,
    Clock, Cursor, CustomerRepository, EventSubscriber, IdGenerator, IdempotencyBegin,
    IdempotencyStore, InventoryStore, Message, Notifier, NotifyError, OrderQuery, OrderRepository,
    OutboxStore, Page, PaymentError, PaymentGateway, PaymentMethodToken, PricingSettings,
    ProductQuery, ProductRepository, PromotionRepository, RedeemError, RefundReceipt,
    SearchDocument, SearchError, SearchIndex, SearchQuery, SearchResults, StoreError,
    SubscriberError,
};
use crate::pricing::{Promotion, PromotionKind, ShippingPrice, ShippingRate, ShippingTable};
use crate::quantity::Quantity;

use super::access::CartAccess;
use super::checkout::{CheckoutConfig, CheckoutPorts, CheckoutRequest, CheckoutService};
use super::shop::Shop;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------
// Values.

pub(crate) fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}
pub(crate) fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}
pub(crate) fn sku(s: &str) -> Sku {
    Sku::new(s).unwrap()
}
pub(crate) fn qty(n: i64) -> Quantity {
    Quantity::new(n).unwrap()
}
pub(crate) fn coupon(code: &str) -> CouponCode {
    CouponCode::new(code).unwrap()
}
pub(crate) fn email() -> Email {
    Email::new("ann@example.com").unwrap()
}
pub(crate) fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}
pub(crate) fn visa() -> PaymentMethodToken {
    PaymentMethodToken("pm_card_visa".into())
}
pub(crate) fn address() -> Address {
    Address {
        id: None,
        name: "Ann Smith".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Springfield".into(),
        postal_code: "12345".into(),
        region: RegionCode::new("US-CA").unwrap(),
        phone: None,
    }
}
pub(crate) fn standard() -> ShippingMethodId {
    ShippingMethodId::new("standard").unwrap()
}

/// An active product with one variant per `(sku, price in cents)`.
pub(crate) fn product(n: u128, title: &str, variants: &[(&str, i64)]) -> Product {
    Product {
        id: ProductId::from_uuid(Uuid::from_u128(0x5000 + n)),
        slug: Slug::from_title(title).unwrap(),
        title: title.into(),
        description: format!("{title}, the best one"),
        status: ProductStatus::Active,
        categories: vec![],
        attributes: Attributes::new(),
        media: vec![],
        variants: variants
            .iter()
            .enumerate()
            .map(|(i, (s, cents))| Variant {
                id: VariantId::from_uuid(Uuid::from_u128(0x6000 + n * 100 + i as u128)),
                sku: sku(s),
                title: format!("{s} variant"),
                options: BTreeMap::new(),
                prices: vec![usd(*cents)],
                weight_grams: 250,
                shipping: crate::catalog::ShippingRequirement::Required,
            })
            .collect(),
        version: 0,
        created_at: start(),
        updated_at: start(),
    }
}

// ---------------------------------------------------------------------------------------
// Time and ids.

#[derive(Debug)]
pub(crate) struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(TestClock(Mutex::new(start())))
    }
    pub(crate) fn advance(&self, by: Duration) {
        *lock(&self.0) += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.0)
    }
}

#[derive(Debug, Default)]
pub(crate) struct TestIds(AtomicU64);

impl IdGenerator for TestIds {
    fn uuid(&self) -> Uuid {
        Uuid::from_u128(0x1d00_0000 + u128::from(self.0.fetch_add(1, Ordering::SeqCst)))
    }
    fn cart_token(&self) -> CartToken {
        CartToken::new(&format!("{:064x}", 0xabc0_0000 + self.0.fetch_add(1, Ordering::SeqCst)))
            .unwrap()
    }
}

// ---------------------------------------------------------------------------------------
// Catalog.

#[derive(Debug, Default)]
pub(crate) struct FakeProducts {
    products: Mutex<Vec<Product>>,
    categories: Mutex<Vec<Category>>,
}

impl FakeProducts {
    pub(crate) fn with(products: Vec<Product>) -> Arc<Self> {
        let fake = FakeProducts::default();
        *lock(&fake.products) = products.into_iter().map(|p| Product { version: 1, ..p }).collect();
        Arc::new(fake)
    }
}

#[async_trait]
impl ProductRepository for FakeProducts {
    async fn insert(&self, product: &Product) -> Result<u64, StoreError> {
        let mut products = lock(&self.products);
        if let Some(clash) = products.iter().find(|p| {
            p.id == product.id
                || p.slug == product.slug
                || p.variants.iter().any(|v| product.variant_by_sku(&v.sku).is_some())
        }) {
            return Err(StoreError::AlreadyExists {
                entity: "product",
                key: format!("slug {}", clash.slug),
            });
        }
        products.push(Product { version: 1, ..product.clone() });
        Ok(1)
    }
    async fn update(&self, product: &Product) -> Result<u64, StoreError> {
        let mut products = lock(&self.products);
        let stored = products
            .iter_mut()
            .find(|p| p.id == product.id)
            .ok_or_else(|| StoreError::not_found("product", product.id))?;
        if stored.version != product.version {
            return Err(StoreError::VersionConflict {
                entity: "product",
                id: product.id.to_string(),
                expected: product.version,
                actual: stored.version,
            });
        }
        *stored = Product { version: product.version + 1, ..product.clone() };
        Ok(stored.version)
    }
    async fn delete(&self, id: ProductId) -> Result<(), StoreError> {
        lock(&self.products).retain(|p| p.id != id);
        Ok(())
    }
    async fn get(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        Ok(lock(&self.products).iter().find(|p| p.id == id).cloned())
    }
    async fn by_slug(&self, slug: &Slug) -> Result<Option<Product>, StoreError> {
        Ok(lock(&self.products).iter().find(|p| &p.slug == slug).cloned())
    }
    async fn by_skus(&self, skus: &[Sku]) -> Result<Vec<Product>, StoreError> {
        Ok(lock(&self.products)
            .iter()
            .filter(|p| skus.iter().any(|s| p.variant_by_sku(s).is_some()))
            .cloned()
            .collect())
    }
    async fn list(&self, query: &ProductQuery) -> Result<Page<Product>, StoreError> {
        let items = lock(&self.products)
            .iter()
            .filter(|p| query.status.is_none_or(|s| p.status == s))
            .filter(|p| query.category.as_ref().is_none_or(|c| p.categories.contains(c)))
            .take(query.limit)
            .cloned()
            .collect();
        Ok(Page { items, next_cursor: None })
    }
    async fn upsert_category(&self, category: &Category) -> Result<(), StoreError> {
        let mut categories = lock(&self.categories);
        categories.retain(|c| c.id != category.id);
        categories.push(category.clone());
        Ok(())
    }
    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        Ok(lock(&self.categories).clone())
    }
}

#[derive(Debug, Default)]
pub(crate) struct FakeSearch {
    pub(crate) docs: Mutex<Vec<SearchDocument>>,
}

#[async_trait]
impl SearchIndex for FakeSearch {
    async fn index(&self, doc: &SearchDocument) -> Result<(), SearchError> {
        let mut docs = lock(&self.docs);
        docs.retain(|d| d.product_id != doc.product_id);
        docs.push(doc.clone());
        Ok(())
    }
    async fn remove(&self, id: ProductId) -> Result<(), SearchError> {
        lock(&self.docs).retain(|d| d.product_id != id);
        Ok(())
    }
    async fn search(&self, _query: &SearchQuery) -> Result<SearchResults, SearchError> {
        let hits = lock(&self.docs)
            .iter()
            .filter(|d| d.status == ProductStatus::Active)
            .map(|d| d.product_id)
            .collect::<Vec<_>>();
        Ok(SearchResults { total: hits.len() as u64, hits, facets: vec![], next_cursor: None })
    }
}

// ---------------------------------------------------------------------------------------
// Carts.

#[derive(Debug, Default)]
pub(crate) struct FakeCarts {
    carts: Mutex<HashMap<CartId, Cart>>,
    /// Conflicts to inject into the next saves (a concurrent writer).
    pub(crate) conflicts: AtomicUsize,
}

impl FakeCarts {
    pub(crate) fn stored(&self, id: CartId) -> Option<Cart> {
        lock(&self.carts).get(&id).cloned()
    }
}

#[async_trait]
impl CartStore for FakeCarts {
    async fn get(&self, id: CartId, now: DateTime<Utc>) -> Result<Option<Cart>, StoreError> {
        Ok(lock(&self.carts).get(&id).filter(|c| !c.is_expired(now)).cloned())
    }
    async fn by_token(
        &self,
        token: &CartToken,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError> {
        Ok(lock(&self.carts).values().find(|c| c.token() == token && !c.is_expired(now)).cloned())
    }
    async fn open_cart_of(
        &self,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StoreError> {
        Ok(lock(&self.carts)
            .values()
            .filter(|c| {
                c.customer() == Some(customer)
                    && c.status() == &CartStatus::Open
                    && !c.is_expired(now)
            })
            .max_by_key(|c| c.updated_at())
            .cloned())
    }
    async fn save(&self, cart: &Cart) -> Result<u64, StoreError> {
        let mut carts = lock(&self.carts);
        let stored = carts.get(&cart.id()).map(Cart::version);
        let injected = self.conflicts.load(Ordering::SeqCst) > 0;
        match stored {
            None if cart.version() == 0 => {}
            Some(v) if v == cart.version() && !injected => {}
            _ if cart.version() == 0 => {
                return Err(StoreError::AlreadyExists {
                    entity: "cart",
                    key: cart.id().to_string(),
                });
            }
            actual => {
                if injected {
                    self.conflicts.fetch_sub(1, Ordering::SeqCst);
                    // The concurrent writer's change: the stored cart moves on.
                    if let Some(c) = carts.get_mut(&cart.id()) {
                        c.set_version(c.version() + 1);
                    }
                }
                return Err(StoreError::VersionConflict {
                    entity: "cart",
                    id: cart.id().to_string(),
                    expected: cart.version(),
                    actual: actual.unwrap_or(0),
                });
            }
        }
        let mut saved = cart.clone();
        saved.set_version(cart.version() + 1);
        carts.insert(cart.id(), saved);
        Ok(cart.version() + 1)
    }
    async fn stale_open_carts(
        &self,
        query: &CartQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<Cart>, StoreError> {
        Ok(lock(&self.carts)
            .values()
            .filter(|c| {
                c.status() == &CartStatus::Open
                    && !c.is_expired(now)
                    && c.updated_at() < query.updated_before
            })
            .take(query.limit)
            .cloned()
            .collect())
    }
}

// ---------------------------------------------------------------------------------------
// Promotions.

#[derive(Debug, Default)]
pub(crate) struct FakePromotions {
    promotions: Mutex<Vec<Promotion>>,
    pub(crate) redemptions: Mutex<HashMap<PromotionId, HashSet<OrderId>>>,
    settings: Mutex<PricingSettings>,
}

impl FakePromotions {
    pub(crate) fn with(promotions: Vec<Promotion>) -> Arc<Self> {
        let fake = FakePromotions::default();
        *lock(&fake.promotions) = promotions;
        *lock(&fake.settings) = PricingSettings {
            shipping: ShippingTable {
                rates: vec![
                    ShippingRate::new(standard(), "Standard", ShippingPrice::Flat(usd(5_00)))
                        .unwrap(),
                ],
            },
            ..PricingSettings::default()
        };
        Arc::new(fake)
    }
    pub(crate) fn redeemed(&self, id: PromotionId) -> usize {
        lock(&self.redemptions).get(&id).map_or(0, HashSet::len)
    }
    /// Someone else redeems `id` (another order).
    pub(crate) fn use_up(&self, id: PromotionId) {
        lock(&self.redemptions)
            .entry(id)
            .or_default()
            .insert(OrderId::from_uuid(Uuid::from_u128(0xdead)));
    }
    fn with_times_used(p: &Promotion, used: usize) -> Promotion {
        let mut json = serde_json::to_value(p).unwrap();
        json["times_used"] = serde_json::json!(p.times_used() as usize + used);
        serde_json::from_value(json).unwrap()
    }
}

#[async_trait]
impl PromotionRepository for FakePromotions {
    async fn upsert(&self, promotion: &Promotion) -> Result<(), StoreError> {
        let mut all = lock(&self.promotions);
        all.retain(|p| p.id() != promotion.id());
        all.push(promotion.clone());
        Ok(())
    }
    async fn get(&self, id: PromotionId) -> Result<Option<Promotion>, StoreError> {
        Ok(self.all().await?.into_iter().find(|p| p.id() == id))
    }
    async fn by_coupon(&self, code: &CouponCode) -> Result<Option<Promotion>, StoreError> {
        Ok(self.all().await?.into_iter().find(|p| p.coupon() == Some(code)))
    }
    async fn all(&self) -> Result<Vec<Promotion>, StoreError> {
        let redemptions = lock(&self.redemptions);
        Ok(lock(&self.promotions)
            .iter()
            .map(|p| Self::with_times_used(p, redemptions.get(&p.id()).map_or(0, HashSet::len)))
            .collect())
    }
    async fn delete(&self, id: PromotionId) -> Result<(), StoreError> {
        lock(&self.promotions).retain(|p| p.id() != id);
        Ok(())
    }
    async fn redeem(&self, id: PromotionId, order: OrderId) -> Result<(), RedeemError> {
        let limit =
            lock(&self.promotions).iter().find(|p| p.id() == id).and_then(Promotion::usage_limit);
        let mut redemptions = lock(&self.redemptions);
        let used = redemptions.entry(id).or_default();
        if used.contains(&order) {
            return Ok(());
        }
        if limit.is_some_and(|l| used.len() >= l as usize) {
            return Err(RedeemError::UsageLimitReached { promotion: id });
        }
        used.insert(order);
        Ok(())
    }
    async fn release(&self, id: PromotionId, order: OrderId) -> Result<(), StoreError> {
        if let Some(used) = lock(&self.redemptions).get_mut(&id) {
            used.remove(&order);
        }
        Ok(())
    }
    async fn settings(&self) -> Result<PricingSettings, StoreError> {
        Ok(lock(&self.settings).clone())
    }
    async fn save_settings(&self, settings: &PricingSettings) -> Result<(), StoreError> {
        *lock(&self.settings) = settings.clone();
        Ok(())
    }
}

/// A 10 % coupon promotion usable `limit` times.
pub(crate) fn ten_percent(code: &str, limit: u32) -> Promotion {
    Promotion::builder(
        PromotionId::from_uuid(Uuid::from_u128(0x9e0)),
        "Ten percent",
        PromotionKind::Percentage(10.into()),
    )
    .coupon(coupon(code))
    .usage_limit(limit)
    .build()
    .unwrap()
}

// ---------------------------------------------------------------------------------------
// Inventory.

#[derive(Debug, Default)]
struct Stock {
    levels: HashMap<(Sku, LocationId), StockLevel>,
    reservations: HashMap<ReservationId, Reservation>,
    adjustments: HashMap<AdjustmentId, StockAdjustment>,
}

#[derive(Debug, Default)]
pub(crate) struct FakeInventory {
    stock: Mutex<Stock>,
    pub(crate) reserve_calls: AtomicUsize,
}

impl FakeInventory {
    pub(crate) fn with(levels: &[(&str, i64)]) -> Arc<Self> {
        let fake = FakeInventory::default();
        {
            let mut stock = lock(&fake.stock);
            for (s, on_hand) in levels {
                let level = StockLevel {
                    sku: sku(s),
                    location: LocationId::main(),
                    on_hand: *on_hand,
                    reserved: 0,
                    backorder: BackorderPolicy::Deny,
                };
                stock.levels.insert((sku(s), LocationId::main()), level);
            }
        }
        Arc::new(fake)
    }
    pub(crate) fn level(&self, s: &str) -> (i64, i64) {
        let stock = lock(&self.stock);
        let l = &stock.levels[&(sku(s), LocationId::main())];
        (l.on_hand, l.reserved)
    }
    pub(crate) fn reservations(&self) -> Vec<Reservation> {
        lock(&self.stock).reservations.values().cloned().collect()
    }
    fn give_back(
        stock: &mut Stock,
        id: ReservationId,
        to: ReservationStatus,
    ) -> Result<Reservation, InventoryError> {
        let r = stock
            .reservations
            .get(&id)
            .cloned()
            .ok_or(InventoryError::ReservationNotFound { id })?;
        if r.status != ReservationStatus::Active {
            return Ok(r);
        }
        for line in &r.lines {
            if let Some(l) = stock.levels.get_mut(&(line.sku.clone(), r.location.clone())) {
                l.reserved -= i64::from(line.quantity.get());
            }
        }
        let stored =
            stock.reservations.get_mut(&id).ok_or(InventoryError::ReservationNotFound { id })?;
        stored.status = to;
        Ok(stored.clone())
    }
}

#[async_trait]
impl InventoryStore for FakeInventory {
    async fn set_stock(
        &self,
        s: &Sku,
        location: &LocationId,
        on_hand: i64,
        backorder: BackorderPolicy,
    ) -> Result<StockLevel, InventoryError> {
        let mut stock = lock(&self.stock);
        let level = stock.levels.entry((s.clone(), location.clone())).or_insert(StockLevel {
            sku: s.clone(),
            location: location.clone(),
            on_hand,
            reserved: 0,
            backorder,
        });
        level.on_hand = on_hand;
        level.backorder = backorder;
        Ok(level.clone())
    }
    async fn adjust(
        &self,
        s: &Sku,
        location: &LocationId,
        delta: i64,
    ) -> Result<StockLevel, InventoryError> {
        let mut stock = lock(&self.stock);
        let level = stock.levels.get_mut(&(s.clone(), location.clone())).ok_or_else(|| {
            InventoryError::UnknownSku { sku: s.clone(), location: location.clone() }
        })?;
        level.on_hand += delta;
        Ok(level.clone())
    }
    async fn adjust_once(&self, adjustment: &StockAdjustment) -> Result<Adjusted, InventoryError> {
        let mut stock = lock(&self.stock);
        if let Some(applied) = stock.adjustments.get(&adjustment.id) {
            if applied != adjustment {
                return Err(InventoryError::Invalid {
                    reason: format!("adjustment {} was applied with other values", adjustment.id),
                });
            }
            return Ok(Adjusted::AlreadyApplied);
        }
        let key = (adjustment.sku.clone(), adjustment.location.clone());
        let level = stock.levels.get_mut(&key).ok_or_else(|| InventoryError::UnknownSku {
            sku: adjustment.sku.clone(),
            location: adjustment.location.clone(),
        })?;
        level.on_hand += adjustment.delta;
        let level = level.clone();
        stock.adjustments.insert(adjustment.id, adjustment.clone());
        Ok(Adjusted::Applied(level))
    }
    async fn levels(&self, skus: &[Sku]) -> Result<Vec<StockLevel>, InventoryError> {
        Ok(lock(&self.stock).levels.values().filter(|l| skus.contains(&l.sku)).cloned().collect())
    }
    async fn reserve(&self, request: &ReservationRequest) -> Result<Reservation, InventoryError> {
        self.reserve_calls.fetch_add(1, Ordering::SeqCst);
        request.validate()?;
        let mut stock = lock(&self.stock);
        if let Some(existing) = stock.reservations.get(&request.id) {
            if existing.lines != request.lines {
                return Err(InventoryError::ReservationMismatch { id: request.id });
            }
            return Ok(existing.clone());
        }
        for line in &request.lines {
            let level = stock
                .levels
                .get(&(line.sku.clone(), request.location.clone()))
                .ok_or_else(|| InventoryError::UnknownSku {
                    sku: line.sku.clone(),
                    location: request.location.clone(),
                })?;
            if level.reservable() < i64::from(line.quantity.get()) {
                return Err(InventoryError::OutOfStock {
                    sku: line.sku.clone(),
                    requested: line.quantity.get(),
                    available: level.reservable(),
                });
            }
        }
        for line in &request.lines {
            if let Some(level) = stock.levels.get_mut(&(line.sku.clone(), request.location.clone()))
            {
                level.reserved += i64::from(line.quantity.get());
            }
        }
        let reservation = Reservation {
            id: request.id,
            location: request.location.clone(),
            lines: request.lines.clone(),
            status: ReservationStatus::Active,
            expires_at: request.expires_at,
        };
        stock.reservations.insert(request.id, reservation.clone());
        Ok(reservation)
    }
    async fn commit(&self, id: ReservationId) -> Result<Reservation, InventoryError> {
        let mut stock = lock(&self.stock);
        let r = stock
            .reservations
            .get(&id)
            .cloned()
            .ok_or(InventoryError::ReservationNotFound { id })?;
        match r.status {
            ReservationStatus::Committed => return Ok(r),
            ReservationStatus::Released | ReservationStatus::Expired => {
                return Err(InventoryError::ReservationClosed { id, status: r.status });
            }
            ReservationStatus::Active => {}
        }
        for line in &r.lines {
            if let Some(l) = stock.levels.get_mut(&(line.sku.clone(), r.location.clone())) {
                l.reserved -= i64::from(line.quantity.get());
                l.on_hand -= i64::from(line.quantity.get());
            }
        }
        let stored =
            stock.reservations.get_mut(&id).ok_or(InventoryError::ReservationNotFound { id })?;
        stored.status = ReservationStatus::Committed;
        Ok(stored.clone())
    }
    async fn release(&self, id: ReservationId) -> Result<Reservation, InventoryError> {
        Self::give_back(&mut lock(&self.stock), id, ReservationStatus::Released)
    }
    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>, InventoryError> {
        Ok(lock(&self.stock).reservations.get(&id).cloned())
    }
    async fn active_reservations(&self, s: &Sku) -> Result<Vec<Reservation>, InventoryError> {
        Ok(lock(&self.stock)
            .reservations
            .values()
            .filter(|r| {
                r.status == ReservationStatus::Active && r.lines.iter().any(|l| &l.sku == s)
            })
            .cloned()
            .collect())
    }
    async fn release_expired(&self, now: DateTime<Utc>) -> Result<usize, InventoryError> {
        let mut stock = lock(&self.stock);
        let due: Vec<ReservationId> = stock
            .reservations
            .values()
            .filter(|r| r.status == ReservationStatus::Active && r.expires_at <= now)
            .map(|r| r.id)
            .collect();
        for id in &due {
            Self::give_back(&mut stock, *id, ReservationStatus::Expired)?;
        }
        Ok(due.len())
    }
}

// ---------------------------------------------------------------------------------------
// Outbox, orders, customers.

#[derive(Debug, Default)]
pub(crate) struct FakeOutbox {
    entries: Mutex<Vec<OutboxEntry>>,
}

impl FakeOutbox {
    pub(crate) fn entries(&self) -> Vec<OutboxEntry> {
        lock(&self.entries).clone()
    }
    fn push(&self, events: &[EventEnvelope]) {
        let mut entries = lock(&self.entries);
        for e in events {
            if !entries.iter().any(|x| x.envelope.id == e.id) {
                entries.push(OutboxEntry::new(e.clone()));
            }
        }
    }
    fn update(&self, id: EventId, f: impl FnOnce(&mut OutboxEntry)) -> Result<(), StoreError> {
        let mut entries = lock(&self.entries);
        let entry = entries
            .iter_mut()
            .find(|e| e.envelope.id == id)
            .ok_or_else(|| StoreError::not_found("event", id))?;
        f(entry);
        Ok(())
    }
}

#[async_trait]
impl OutboxStore for FakeOutbox {
    async fn append(&self, events: &[EventEnvelope]) -> Result<(), StoreError> {
        self.push(events);
        Ok(())
    }
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut entries = lock(&self.entries);
        let mut claimed = Vec::new();
        for e in entries.iter_mut() {
            if claimed.len() < limit
                && matches!(e.status, OutboxStatus::Pending | OutboxStatus::InFlight)
                && e.next_attempt_at <= now
            {
                e.status = OutboxStatus::InFlight;
                e.next_attempt_at = now + lease;
                e.attempts += 1;
                claimed.push(e.clone());
            }
        }
        Ok(claimed)
    }
    async fn mark_delivered(&self, id: EventId, delivered_to: &[String]) -> Result<(), StoreError> {
        self.update(id, |e| {
            e.status = OutboxStatus::Delivered;
            e.delivered_to = delivered_to.to_vec();
        })
    }
    async fn mark_failed(
        &self,
        id: EventId,
        delivered_to: &[String],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update(id, |e| {
            e.status = OutboxStatus::Pending;
            e.delivered_to = delivered_to.to_vec();
            e.last_error = Some(error.into());
            e.next_attempt_at = next_attempt_at;
        })
    }
    async fn mark_dead(
        &self,
        id: EventId,
        delivered_to: &[String],
        error: &str,
    ) -> Result<(), StoreError> {
        self.update(id, |e| {
            e.status = OutboxStatus::Dead;
            e.delivered_to = delivered_to.to_vec();
            e.last_error = Some(error.into());
        })
    }
    async fn redeliver(&self, id: EventId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.update(id, |e| {
            e.status = OutboxStatus::Pending;
            e.next_attempt_at = now;
            e.delivered_to.clear();
        })
    }
    async fn list(
        &self,
        status: Option<OutboxStatus>,
        _: Option<Cursor>,
        limit: usize,
    ) -> Result<Page<OutboxEntry>, StoreError> {
        let items = lock(&self.entries)
            .iter()
            .rev()
            .filter(|e| status.is_none_or(|s| e.status == s))
            .take(limit)
            .cloned()
            .collect();
        Ok(Page { items, next_cursor: None })
    }
}

#[derive(Debug)]
pub(crate) struct FakeOrders {
    orders: Mutex<Vec<Order>>,
    pub(crate) outbox: Arc<FakeOutbox>,
    pub(crate) conflicts: AtomicUsize,
}

impl FakeOrders {
    pub(crate) fn new(outbox: Arc<FakeOutbox>) -> Arc<Self> {
        Arc::new(FakeOrders { orders: Mutex::default(), outbox, conflicts: AtomicUsize::new(0) })
    }
    pub(crate) fn all(&self) -> Vec<Order> {
        lock(&self.orders).clone()
    }
}

#[async_trait]
impl OrderRepository for FakeOrders {
    async fn insert(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError> {
        let mut orders = lock(&self.orders);
        if orders.iter().any(|o| o.id() == order.id()) {
            return Err(StoreError::AlreadyExists { entity: "order", key: order.id().to_string() });
        }
        let mut stored = order.clone();
        stored.set_version(1);
        orders.push(stored);
        self.outbox.push(events);
        Ok(1)
    }
    async fn update(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError> {
        let mut orders = lock(&self.orders);
        let stored = orders
            .iter_mut()
            .find(|o| o.id() == order.id())
            .ok_or_else(|| StoreError::not_found("order", order.id()))?;
        if stored.version() != order.version() || self.conflicts.load(Ordering::SeqCst) > 0 {
            if self.conflicts.load(Ordering::SeqCst) > 0 {
                self.conflicts.fetch_sub(1, Ordering::SeqCst);
            }
            return Err(StoreError::VersionConflict {
                entity: "order",
                id: order.id().to_string(),
                expected: order.version(),
                actual: stored.version(),
            });
        }
        let mut next = order.clone();
        next.set_version(order.version() + 1);
        *stored = next;
        self.outbox.push(events);
        Ok(order.version() + 1)
    }
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        Ok(lock(&self.orders).iter().find(|o| o.id() == id).cloned())
    }
    async fn by_refund(&self, id: RefundId) -> Result<Option<Order>, StoreError> {
        Ok(lock(&self.orders).iter().find(|o| o.refund(id).is_some()).cloned())
    }
    async fn list(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        let items = lock(&self.orders)
            .iter()
            .rev()
            .filter(|o| query.customer.is_none_or(|c| o.customer() == Some(c)))
            .filter(|o| query.status.is_none_or(|s| o.status() == s))
            .take(query.limit)
            .cloned()
            .collect();
        Ok(Page { items, next_cursor: None })
    }
}

#[derive(Debug)]
pub(crate) struct FakeCustomers {
    customers: Mutex<Vec<Customer>>,
    outbox: Arc<FakeOutbox>,
}

impl FakeCustomers {
    pub(crate) fn new(outbox: Arc<FakeOutbox>) -> Arc<Self> {
        Arc::new(FakeCustomers { customers: Mutex::default(), outbox })
    }
}

#[async_trait]
impl CustomerRepository for FakeCustomers {
    async fn insert(
        &self,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<u64, StoreError> {
        let mut customers = lock(&self.customers);
        if customers.iter().any(|c| {
            c.id == customer.id || c.email.as_str().eq_ignore_ascii_case(customer.email.as_str())
        }) {
            return Err(StoreError::AlreadyExists { entity: "customer", key: "email".into() });
        }
        customers.push(Customer { version: 1, ..customer.clone() });
        self.outbox.push(events);
        Ok(1)
    }
    async fn update(&self, customer: &Customer) -> Result<u64, StoreError> {
        let mut customers = lock(&self.customers);
        let stored = customers
            .iter_mut()
            .find(|c| c.id == customer.id)
            .ok_or_else(|| StoreError::not_found("customer", customer.id))?;
        if stored.version != customer.version {
            return Err(StoreError::VersionConflict {
                entity: "customer",
                id: customer.id.to_string(),
                expected: customer.version,
                actual: stored.version,
            });
        }
        *stored = Customer { version: customer.version + 1, ..customer.clone() };
        Ok(stored.version)
    }
    async fn get(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        Ok(lock(&self.customers).iter().find(|c| c.id == id).cloned())
    }
    async fn by_email(&self, email: &Email) -> Result<Option<Customer>, StoreError> {
        Ok(lock(&self.customers)
            .iter()
            .find(|c| c.email.as_str().eq_ignore_ascii_case(email.as_str()))
            .cloned())
    }
    async fn list(&self, _: Option<Cursor>, limit: usize) -> Result<Page<Customer>, StoreError> {
        Ok(Page {
            items: lock(&self.customers).iter().take(limit).cloned().collect(),
            next_cursor: None,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Idempotency.

#[derive(Debug, Clone)]
enum Record {
    InProgress { fingerprint: String, lease_until: DateTime<Utc> },
    Completed { fingerprint: String, result: String },
}

#[derive(Debug, Default)]
pub(crate) struct FakeIdempotency {
    records: Mutex<HashMap<(String, String), Record>>,
}

impl FakeIdempotency {
    pub(crate) fn state(&self, scope: &str, k: &IdempotencyKey) -> Option<&'static str> {
        lock(&self.records).get(&(scope.to_owned(), k.as_str().to_owned())).map(|r| match r {
            Record::InProgress { .. } => "in_progress",
            Record::Completed { .. } => "completed",
        })
    }
}

#[async_trait]
impl IdempotencyStore for FakeIdempotency {
    async fn begin(
        &self,
        scope: &str,
        k: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyBegin, StoreError> {
        let mut records = lock(&self.records);
        let slot = (scope.to_owned(), k.as_str().to_owned());
        let answer = match records.get(&slot) {
            Some(
                Record::InProgress { fingerprint: f, .. }
                | Record::Completed { fingerprint: f, .. },
            ) if f != fingerprint => {
                return Ok(IdempotencyBegin::Mismatch);
            }
            Some(Record::Completed { result, .. }) => {
                return Ok(IdempotencyBegin::Completed(result.clone()));
            }
            Some(Record::InProgress { lease_until, .. }) if *lease_until > now => {
                return Ok(IdempotencyBegin::InProgress);
            }
            _ => IdempotencyBegin::Started,
        };
        records.insert(
            slot,
            Record::InProgress { fingerprint: fingerprint.to_owned(), lease_until: now + lease },
        );
        Ok(answer)
    }
    async fn complete(
        &self,
        scope: &str,
        k: &IdempotencyKey,
        result: &str,
        _now: DateTime<Utc>,
        _retention: Duration,
    ) -> Result<(), StoreError> {
        let mut records = lock(&self.records);
        let slot = (scope.to_owned(), k.as_str().to_owned());
        let fingerprint = match records.get(&slot) {
            Some(
                Record::InProgress { fingerprint, .. } | Record::Completed { fingerprint, .. },
            ) => fingerprint.clone(),
            None => return Err(StoreError::not_found("idempotency key", k)),
        };
        records.insert(slot, Record::Completed { fingerprint, result: result.to_owned() });
        Ok(())
    }
    async fn abandon(&self, scope: &str, k: &IdempotencyKey) -> Result<(), StoreError> {
        lock(&self.records).remove(&(scope.to_owned(), k.as_str().to_owned()));
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The gateway (a fake for flows; MockGateway for failure injection).

#[derive(Debug, Default)]
pub(crate) struct FakeGateway {
    authorizations: Mutex<HashMap<String, Authorization>>,
    pub(crate) captures: Mutex<Vec<(String, Money)>>,
    pub(crate) voids: Mutex<Vec<String>>,
    pub(crate) refunds: Mutex<HashMap<String, RefundReceipt>>,
    /// Authorizations actually made (not replays).
    pub(crate) authorized: AtomicUsize,
}

#[async_trait]
impl PaymentGateway for FakeGateway {
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<Authorization, PaymentError> {
        // Let concurrent checkouts interleave here, as a network call would.
        tokio::task::yield_now().await;
        if request.payment_method.0.contains("declined") {
            return Err(PaymentError::Declined { code: "card_declined".into() });
        }
        let mut all = lock(&self.authorizations);
        if let Some(a) = all.get(&request.idempotency_key) {
            return Ok(a.clone());
        }
        let n = self.authorized.fetch_add(1, Ordering::SeqCst) + 1;
        let a = Authorization { reference: format!("pi_{n}"), amount: request.amount };
        all.insert(request.idempotency_key.clone(), a.clone());
        Ok(a)
    }
    async fn capture(
        &self,
        reference: &str,
        amount: Money,
        _: &str,
    ) -> Result<Money, PaymentError> {
        lock(&self.captures).push((reference.to_owned(), amount));
        Ok(amount)
    }
    async fn void(&self, reference: &str, _: &str) -> Result<(), PaymentError> {
        lock(&self.voids).push(reference.to_owned());
        Ok(())
    }
    async fn refund(
        &self,
        reference: &str,
        amount: Money,
        k: &str,
    ) -> Result<RefundReceipt, PaymentError> {
        let mut refunds = lock(&self.refunds);
        let n = refunds.len() + 1;
        Ok(refunds
            .entry(k.to_owned())
            .or_insert_with(|| RefundReceipt { reference: format!("re_{n}_{reference}"), amount })
            .clone())
    }
}

mockall::mock! {
    pub(crate) Gateway {}
    #[async_trait]
    impl PaymentGateway for Gateway {
        async fn authorize(&self, request: &AuthorizeRequest) -> Result<Authorization, PaymentError>;
        async fn capture(&self, reference: &str, amount: Money, idempotency_key: &str) -> Result<Money, PaymentError>;
        async fn void(&self, reference: &str, idempotency_key: &str) -> Result<(), PaymentError>;
        async fn refund(&self, reference: &str, amount: Money, idempotency_key: &str) -> Result<RefundReceipt, PaymentError>;
    }
}

mockall::mock! {
    pub(crate) Orders {}
    #[async_trait]
    impl OrderRepository for Orders {
        async fn insert(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError>;
        async fn update(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError>;
        async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError>;
        async fn by_refund(&self, id: RefundId) -> Result<Option<Order>, StoreError>;
        async fn list(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError>;
    }
}

mockall::mock! {
    pub(crate) Notifier {}
    #[async_trait]
    impl Notifier for Notifier {
        async fn send(&self, message: &Message) -> Result<String, NotifyError>;
    }
}

mockall::mock! {
    pub(crate) Subscriber {}
    #[async_trait]
    impl EventSubscriber for Subscriber {
        fn name(&self) -> &str;
        async fn handle(&self, event: &EventEnvelope) -> Result<(), SubscriberError>;
    }
}

mockall::mock! {
    pub(crate) Search {}
    #[async_trait]
    impl SearchIndex for Search {
        async fn index(&self, doc: &SearchDocument) -> Result<(), SearchError>;
        async fn remove(&self, id: ProductId) -> Result<(), SearchError>;
        async fn search(&self, query: &SearchQuery) -> Result<SearchResults, SearchError>;
    }
}

pub(crate) fn unavailable() -> StoreError {
    StoreError::Unavailable { message: "injected outage".into(), source: None }
}

// ---------------------------------------------------------------------------------------
// A world: every port, fakes unless replaced.

/// Every port of a shop, as fakes, with a catalog of two products (TEE at 20.00 with 10 in
/// stock, MUG at 8.00 with 3) and a 10 % coupon `SAVE10` usable once.
pub(crate) struct World {
    pub(crate) clock: Arc<TestClock>,
    pub(crate) ids: Arc<TestIds>,
    pub(crate) products: Arc<FakeProducts>,
    pub(crate) search: Arc<FakeSearch>,
    pub(crate) carts: Arc<FakeCarts>,
    pub(crate) promotions: Arc<FakePromotions>,
    pub(crate) inventory: Arc<FakeInventory>,
    pub(crate) gateway: Arc<FakeGateway>,
    pub(crate) outbox: Arc<FakeOutbox>,
    pub(crate) orders: Arc<FakeOrders>,
    pub(crate) customers: Arc<FakeCustomers>,
    pub(crate) idempotency: Arc<FakeIdempotency>,
    pub(crate) journal: Arc<FakeJournal>,
}

impl World {
    pub(crate) fn new() -> Self {
        let outbox = Arc::new(FakeOutbox::default());
        World {
            clock: TestClock::new(),
            ids: Arc::new(TestIds::default()),
            products: FakeProducts::with(vec![
                product(1, "Tee", &[("TEE", 20_00)]),
                product(2, "Mug", &[("MUG", 8_00)]),
            ]),
            search: Arc::new(FakeSearch::default()),
            carts: Arc::new(FakeCarts::default()),
            promotions: FakePromotions::with(vec![ten_percent("SAVE10", 1)]),
            inventory: FakeInventory::with(&[("TEE", 10), ("MUG", 3)]),
            gateway: Arc::new(FakeGateway::default()),
            orders: FakeOrders::new(outbox.clone()),
            customers: FakeCustomers::new(outbox.clone()),
            outbox,
            idempotency: Arc::new(FakeIdempotency::default()),
            journal: Arc::new(FakeJournal::default()),
        }
    }

    pub(crate) fn shop(&self) -> Shop {
        self.shop_with(self.gateway.clone(), self.orders.clone())
    }

    pub(crate) fn shop_with(
        &self,
        gateway: Arc<dyn PaymentGateway>,
        orders: Arc<dyn OrderRepository>,
    ) -> Shop {
        Shop::builder()
            .products(self.products.clone())
            .search(self.search.clone())
            .carts(self.carts.clone())
            .promotions(self.promotions.clone())
            .inventory(self.inventory.clone())
            .payments(gateway)
            .orders(orders)
            .outbox(self.outbox.clone())
            .idempotency(self.idempotency.clone())
            .checkout_journal(self.journal.clone())
            .customers(self.customers.clone())
            .clock(self.clock.clone())
            .ids(self.ids.clone())
            .cart_policy(CartPolicy::default())
            .build()
            .unwrap()
    }

    pub(crate) fn checkout_with(
        &self,
        gateway: Arc<dyn PaymentGateway>,
        orders: Arc<dyn OrderRepository>,
    ) -> CheckoutService {
        CheckoutService::new(
            CheckoutPorts {
                carts: self.carts.clone(),
                products: self.products.clone(),
                promotions: self.promotions.clone(),
                inventory: self.inventory.clone(),
                gateway,
                orders,
                idempotency: self.idempotency.clone(),
                journal: self.journal.clone(),
                clock: self.clock.clone(),
                ids: self.ids.clone(),
            },
            CheckoutConfig::default(),
        )
    }

    /// A guest cart with `lines`, shipped to California by standard shipping.
    pub(crate) async fn guest_cart(&self, lines: &[(&str, i64)]) -> (Cart, CartAccess) {
        let carts = self.shop().carts().clone();
        let cart = carts.create_guest_cart(Currency::USD).await.unwrap();
        let access = CartAccess::Token(cart.token().clone());
        for (s, n) in lines {
            carts.add_line(cart.id(), &access, sku(s), qty(*n)).await.unwrap();
        }
        let delivery = super::cart::Delivery { address: Some(address()), method: Some(standard()) };
        let cart = carts.set_delivery(cart.id(), &access, delivery).await.unwrap();
        (cart, access)
    }
}

pub(crate) fn request(cart: &Cart, access: &CartAccess, k: &str) -> CheckoutRequest {
    CheckoutRequest {
        cart_id: cart.id(),
        access: access.clone(),
        email: email(),
        payment_method: visa(),
        expected_total: None,
        idempotency_key: key(k),
    }
}

/// Ann, a signed-in customer.
pub(crate) fn ann() -> crate::ids::CustomerId {
    crate::ids::CustomerId::from_uuid(Uuid::from_u128(0xa77))
}

impl World {
    /// An order placed by Ann for `lines`.
    pub(crate) async fn annes_order(&self, lines: &[(&str, i64)]) -> Order {
        let shop = self.shop();
        let access = CartAccess::Customer(ann());
        let cart = shop.carts().cart_for_customer(ann(), Currency::USD).await.unwrap();
        for (s, n) in lines {
            shop.carts().add_line(cart.id(), &access, sku(s), qty(*n)).await.unwrap();
        }
        let delivery = super::cart::Delivery { address: Some(address()), method: Some(standard()) };
        shop.carts().set_delivery(cart.id(), &access, delivery).await.unwrap();
        let k = format!("order-{}", self.ids.uuid());
        shop.checkout().checkout(request(&cart, &access, &k)).await.unwrap()
    }
}

impl World {
    /// The subscribers the shop's outbox delivers to in these tests.
    pub(crate) fn subscribers(&self) -> Vec<Arc<dyn EventSubscriber>> {
        vec![Arc::new(super::subscribers::RestockSubscriber::new(
            self.inventory.clone(),
            LocationId::main(),
        ))]
    }

    /// Delivers every due outbox entry once, as the shop's outbox worker would.
    pub(crate) async fn deliver(&self) -> super::dispatcher::DispatchReport {
        self.shop().dispatcher(self.subscribers()).run_once().await.unwrap()
    }
}

/// Orders that store a write carrying an event of `kind` and then fail, as when the process
/// dies right after the write: the order and its events are stored, nothing after the write
/// runs.
pub(crate) struct CrashAfterWrite {
    pub(crate) inner: Arc<FakeOrders>,
    pub(crate) kind: &'static str,
}

#[async_trait]
impl OrderRepository for CrashAfterWrite {
    async fn insert(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError> {
        self.inner.insert(order, events).await
    }
    async fn update(&self, order: &Order, events: &[EventEnvelope]) -> Result<u64, StoreError> {
        let version = self.inner.update(order, events).await?;
        if events.iter().any(|e| e.event.kind() == self.kind) {
            return Err(StoreError::Unavailable {
                message: format!("crashed after writing {}", self.kind),
                source: None,
            });
        }
        Ok(version)
    }
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.inner.get(id).await
    }
    async fn by_refund(&self, id: RefundId) -> Result<Option<Order>, StoreError> {
        self.inner.by_refund(id).await
    }
    async fn list(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        self.inner.list(query).await
    }
}

/// Checkout progress in a map.
#[derive(Default)]
pub(crate) struct FakeJournal {
    entries: Mutex<HashMap<OrderId, CheckoutProgress>>,
}

#[async_trait]
impl CheckoutJournal for FakeJournal {
    async fn save(&self, progress: &CheckoutProgress) -> Result<(), StoreError> {
        self.entries.lock().unwrap().insert(progress.order_id, progress.clone());
        Ok(())
    }
    async fn get(&self, order: OrderId) -> Result<Option<CheckoutProgress>, StoreError> {
        Ok(self.entries.lock().unwrap().get(&order).cloned())
    }
    async fn remove(&self, order: OrderId) -> Result<(), StoreError> {
        self.entries.lock().unwrap().remove(&order);
        Ok(())
    }
    async fn stale(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<CheckoutProgress>, StoreError> {
        let mut stale: Vec<_> = self
            .entries
            .lock()
            .unwrap()
            .values()
            .filter(|p| p.updated_at < before)
            .cloned()
            .collect();
        stale.sort_by_key(|p| p.updated_at);
        stale.truncate(limit);
        Ok(stale)
    }
}

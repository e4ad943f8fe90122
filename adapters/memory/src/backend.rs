//! [`InMemory`]: every memory adapter, wired together, for an embedded shop or a test.

use std::sync::Arc;

use shopkit_core::ids::LocationId;
use shopkit_core::ports::{Clock, EventSubscriber, IdGenerator, Readiness, StoreError};
use shopkit_core::services::subscribers::{
    AnalyticsSubscriber, CrmSubscriber, LedgerSubscriber, NotificationSubscriber,
    RecommenderSubscriber, RestockSubscriber,
};
use shopkit_core::services::{Shop, ShopBuilder};

use crate::{
    FakePaymentGateway, MemoryCache, MemoryCarts, MemoryCheckoutJournal, MemoryCustomers,
    MemoryIdempotency, MemoryInventory, MemoryMediaStore, MemoryOrders, MemoryOutbox,
    MemoryProducts, MemoryPromotions, MemoryRecommender, MemorySearch, RandomIds,
    RecordingAnalytics, RecordingCrm, RecordingFulfilment, RecordingLedger, RecordingNotifier,
    SystemClock,
};

/// One of every memory adapter, sharing one outbox (orders and customers write their events
/// to it atomically) and one clock. Fields are the concrete types so tests can script the
/// payment gateway or read what the notifier sent.
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let backend = shopkit_memory::InMemory::new();
/// let shop = backend.shop()?;
/// let dispatcher = shop.dispatcher(backend.subscribers("Demo shop"));
/// # let _ = dispatcher;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct InMemory {
    /// Products and categories.
    pub products: Arc<MemoryProducts>,
    /// Carts.
    pub carts: Arc<MemoryCarts>,
    /// Orders (with their refunds).
    pub orders: Arc<MemoryOrders>,
    /// The outbox shared by orders and customers.
    pub outbox: Arc<MemoryOutbox>,
    /// Customers.
    pub customers: Arc<MemoryCustomers>,
    /// Stock and reservations.
    pub inventory: Arc<MemoryInventory>,
    /// Idempotency records.
    pub idempotency: Arc<MemoryIdempotency>,
    /// Running checkouts, for recovery.
    pub checkout_journal: Arc<MemoryCheckoutJournal>,
    /// Promotions and pricing settings.
    pub promotions: Arc<MemoryPromotions>,
    /// A cache.
    pub cache: Arc<MemoryCache>,
    /// A scriptable payment gateway taking Stripe-style test payment methods.
    pub payments: Arc<FakePaymentGateway>,
    /// A notifier that records what it sends.
    pub notifier: Arc<RecordingNotifier>,
    /// Media bytes.
    pub media: Arc<MemoryMediaStore>,
    /// Product search.
    pub search: Arc<MemorySearch>,
    /// Recommendations.
    pub recommender: Arc<MemoryRecommender>,
    /// The accounting ledger.
    pub ledger: Arc<RecordingLedger>,
    /// The CRM.
    pub crm: Arc<RecordingCrm>,
    /// Analytics.
    pub analytics: Arc<RecordingAnalytics>,
    /// A fulfilment provider.
    pub fulfilment: Arc<RecordingFulfilment>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Ids and cart tokens.
    pub ids: Arc<dyn IdGenerator>,
}

impl std::fmt::Debug for InMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemory").finish_non_exhaustive()
    }
}

impl Default for InMemory {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemory {
    /// Empty stores on the system clock with random ids.
    pub fn new() -> Self {
        Self::with(Arc::new(SystemClock::new()), Arc::new(RandomIds::new()))
    }

    /// Empty stores on the given clock and id generator (a `ManualClock` in tests).
    pub fn with(clock: Arc<dyn Clock>, ids: Arc<dyn IdGenerator>) -> Self {
        let outbox = MemoryOutbox::new();
        InMemory {
            products: Arc::new(MemoryProducts::new()),
            carts: Arc::new(MemoryCarts::new()),
            orders: Arc::new(MemoryOrders::new(outbox.clone())),
            customers: Arc::new(MemoryCustomers::new(outbox.clone())),
            outbox: Arc::new(outbox),
            inventory: Arc::new(MemoryInventory::new()),
            idempotency: Arc::new(MemoryIdempotency::new()),
            checkout_journal: Arc::new(MemoryCheckoutJournal::new()),
            promotions: Arc::new(MemoryPromotions::new()),
            cache: Arc::new(MemoryCache::new(clock.clone())),
            payments: Arc::new(FakePaymentGateway::new()),
            notifier: Arc::new(RecordingNotifier::new()),
            media: Arc::new(MemoryMediaStore::new(clock.clone())),
            search: Arc::new(MemorySearch::new()),
            recommender: Arc::new(MemoryRecommender::new()),
            ledger: Arc::new(RecordingLedger::new()),
            crm: Arc::new(RecordingCrm::new()),
            analytics: Arc::new(RecordingAnalytics::new()),
            fulfilment: Arc::new(RecordingFulfilment::new()),
            clock,
            ids,
        }
    }

    /// A [`ShopBuilder`] with every port set to these adapters; add policies and build.
    pub fn shop_builder(&self) -> ShopBuilder {
        Shop::builder()
            .products(self.products.clone())
            .search(self.search.clone())
            .carts(self.carts.clone())
            .promotions(self.promotions.clone())
            .inventory(self.inventory.clone())
            .payments(self.payments.clone())
            .orders(self.orders.clone())
            .outbox(self.outbox.clone())
            .idempotency(self.idempotency.clone())
            .checkout_journal(self.checkout_journal.clone())
            .customers(self.customers.clone())
            .clock(self.clock.clone())
            .ids(self.ids.clone())
    }

    /// The shop with default policies.
    ///
    /// # Errors
    /// Never in practice: every port is set. The `Result` is the builder's.
    pub fn shop(&self) -> Result<Shop, shopkit_core::services::MissingPort> {
        self.shop_builder().build()
    }

    /// The readiness checks of these adapters: one, always ready (memory cannot be down).
    pub fn readiness(&self) -> Vec<Arc<dyn Readiness>> {
        vec![Arc::new(MemoryReadiness)]
    }

    /// The standard event subscribers over these adapters: restock (cancelled orders and
    /// restocking refunds put their units back; events that name no location restock at
    /// `main`), notifications (signed `shop_name`), ledger, CRM, analytics and
    /// recommendations.
    pub fn subscribers(&self, shop_name: &str) -> Vec<Arc<dyn EventSubscriber>> {
        vec![
            Arc::new(RestockSubscriber::new(self.inventory.clone(), LocationId::main())),
            Arc::new(NotificationSubscriber::new(
                self.notifier.clone(),
                self.customers.clone(),
                shop_name,
            )),
            Arc::new(LedgerSubscriber::new(self.ledger.clone(), self.orders.clone())),
            Arc::new(CrmSubscriber::new(self.crm.clone())),
            Arc::new(AnalyticsSubscriber::new(self.analytics.clone())),
            Arc::new(RecommenderSubscriber::new(self.recommender.clone(), self.products.clone())),
        ]
    }
}

/// The memory backend's readiness: always ready.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryReadiness;

#[async_trait::async_trait]
impl Readiness for MemoryReadiness {
    fn name(&self) -> &str {
        "memory"
    }

    async fn check(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

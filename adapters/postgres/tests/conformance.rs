//! The PostgreSQL adapters against every conformance suite of `shopkit-testkit` they
//! implement, contention cases included, plus the checkout saga's contracts over them.
//!
//! Each test gets its own schema in the database `SHOPKIT_TEST_POSTGRES_URL` points at,
//! so the tests run in parallel. Run with:
//! `SHOPKIT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p shopkit-postgres --test conformance`.
//! Without the variable every test skips with a printed reason; with `CI=true` it fails.

mod common;

use std::sync::Arc;

use shopkit_core::ports::{
    CartStore, CheckoutJournal, CustomerRepository, IdempotencyStore, InventoryStore,
    OrderRepository, OutboxStore, ProductRepository, PromotionRepository, SearchIndex,
};
use shopkit_memory::{FakePaymentGateway, ManualClock, RandomIds};
use shopkit_testkit::checkout::CheckoutWorld;
use shopkit_testkit::payments::PaymentMethods;

use common::fresh_store;

shopkit_testkit::products_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
    Arc::new(fresh_store(&url).await.products()) as Arc<dyn ProductRepository>
});

shopkit_testkit::carts_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
    Arc::new(fresh_store(&url).await.carts()) as Arc<dyn CartStore>
});

shopkit_testkit::orders_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
    let store = fresh_store(&url).await;
    (
        Arc::new(store.orders()) as Arc<dyn OrderRepository>,
        Arc::new(store.outbox()) as Arc<dyn OutboxStore>,
    )
});

shopkit_testkit::outbox_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
    Arc::new(fresh_store(&url).await.outbox()) as Arc<dyn OutboxStore>
});

shopkit_testkit::customers_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
    let store = fresh_store(&url).await;
    (
        Arc::new(store.customers()) as Arc<dyn CustomerRepository>,
        Arc::new(store.outbox()) as Arc<dyn OutboxStore>,
    )
});

shopkit_testkit::inventory_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
    Arc::new(fresh_store(&url).await.inventory()) as Arc<dyn InventoryStore>
});

shopkit_testkit::checkout_journal_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
    Arc::new(fresh_store(&url).await.checkout_journal()) as Arc<dyn CheckoutJournal>
});

shopkit_testkit::idempotency_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
    Arc::new(fresh_store(&url).await.idempotency()) as Arc<dyn IdempotencyStore>
});

shopkit_testkit::promotions_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
    Arc::new(fresh_store(&url).await.promotions()) as Arc<dyn PromotionRepository>
});

shopkit_testkit::search_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
    Arc::new(fresh_store(&url).await.search()) as Arc<dyn SearchIndex>
});

type Authorizations = Arc<dyn Fn() -> usize + Send + Sync>;

/// Every store of the checkout from one fresh schema; the payment gateway, the clock and
/// the ids from the memory adapters (no PostgreSQL role).
async fn world(url: &str) -> (CheckoutWorld, Authorizations) {
    let store = fresh_store(url).await;
    let gateway = Arc::new(FakePaymentGateway::new());
    let world = CheckoutWorld {
        products: Arc::new(store.products()),
        carts: Arc::new(store.carts()),
        promotions: Arc::new(store.promotions()),
        inventory: Arc::new(store.inventory()),
        gateway: gateway.clone(),
        orders: Arc::new(store.orders()),
        outbox: Arc::new(store.outbox()),
        idempotency: Arc::new(store.idempotency()),
        journal: Arc::new(store.checkout_journal()),
        held: {
            let gateway = gateway.clone();
            Arc::new(move || {
                gateway.payments().iter().filter(|p| !p.voided && p.captured.is_zero()).count()
            })
        },
        clock: Arc::new(ManualClock::at_fixed_start()),
        ids: Arc::new(RandomIds::new()),
        methods: PaymentMethods::stripe_test(),
    };
    (world, Arc::new(move || gateway.authorizations()))
}

shopkit_testkit::checkout_contracts!(requires "SHOPKIT_TEST_POSTGRES_URL", async |url: String| {
    world(&url).await
});

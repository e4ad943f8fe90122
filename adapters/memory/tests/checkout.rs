//! The checkout saga end to end against the memory adapters: `shopkit-testkit`'s
//! checkout contracts, each with a fresh set of adapters (one outbox shared by the orders).
//!
//! Run with: `cargo test -p shopkit-memory --test checkout`.

use std::sync::Arc;

use shopkit_memory::{
    FakePaymentGateway, ManualClock, MemoryCarts, MemoryIdempotency, MemoryInventory, MemoryOrders,
    MemoryOutbox, MemoryProducts, MemoryPromotions, RandomIds,
};
use shopkit_testkit::checkout::{self, CheckoutWorld};
use shopkit_testkit::payments::PaymentMethods;

/// Fresh adapters, and the gateway to count its authorizations.
fn world() -> (CheckoutWorld, Arc<FakePaymentGateway>) {
    let outbox = MemoryOutbox::new();
    let gateway = Arc::new(FakePaymentGateway::new());
    let world = CheckoutWorld {
        products: Arc::new(MemoryProducts::new()),
        carts: Arc::new(MemoryCarts::new()),
        promotions: Arc::new(MemoryPromotions::new()),
        inventory: Arc::new(MemoryInventory::new()),
        gateway: gateway.clone(),
        orders: Arc::new(MemoryOrders::new(outbox.clone())),
        outbox: Arc::new(outbox),
        idempotency: Arc::new(MemoryIdempotency::new()),
        clock: Arc::new(ManualClock::at_fixed_start()),
        ids: Arc::new(RandomIds::new()),
        methods: PaymentMethods::stripe_test(),
    };
    (world, gateway)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkout_places_one_order_per_idempotency_key() {
    let (world, gateway) = world();
    checkout::checkout_places_one_order_per_idempotency_key(world, &|| gateway.authorizations())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkout_fails_cleanly_when_stock_runs_out() {
    let (world, _) = world();
    checkout::checkout_fails_cleanly_when_stock_runs_out(world).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn declined_payment_releases_stock_and_places_no_order() {
    let (world, gateway) = world();
    checkout::declined_payment_releases_stock_and_places_no_order(world, &|| {
        gateway.authorizations()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkout_reconciles_quote_and_order_totals() {
    let (world, _) = world();
    checkout::checkout_reconciles_quote_and_order_totals(world).await;
}

//! The checkout saga end to end against the memory adapters: `shopkit-testkit`'s
//! checkout contracts, each with a fresh set of adapters (one outbox shared by the orders).
//!
//! Run with: `cargo test -p shopkit-memory --test checkout`.

use std::sync::Arc;

use shopkit_memory::{
    FakePaymentGateway, ManualClock, MemoryCarts, MemoryCheckoutJournal, MemoryIdempotency,
    MemoryInventory, MemoryOrders, MemoryOutbox, MemoryProducts, MemoryPromotions, RandomIds,
};
use shopkit_testkit::checkout::CheckoutWorld;
use shopkit_testkit::payments::PaymentMethods;

type Authorizations = Arc<dyn Fn() -> usize + Send + Sync>;

/// Fresh adapters, and the gateway's authorization count.
async fn world() -> (CheckoutWorld, Authorizations) {
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
        journal: Arc::new(MemoryCheckoutJournal::new()),
        held: {
            let gateway = gateway.clone();
            Arc::new(move || live_authorizations(&gateway))
        },
        clock: Arc::new(ManualClock::at_fixed_start()),
        ids: Arc::new(RandomIds::new()),
        methods: PaymentMethods::stripe_test(),
    };
    (world, Arc::new(move || gateway.authorizations()))
}

/// Authorizations holding money: neither voided nor captured.
fn live_authorizations(gateway: &FakePaymentGateway) -> usize {
    gateway.payments().iter().filter(|p| !p.voided && p.captured.is_zero()).count()
}

shopkit_testkit::checkout_contracts!(world);

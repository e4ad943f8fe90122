//! The memory adapters against every port conformance suite of `shopkit-testkit`.
//!
//! One macro invocation per port expands to one test per contract, each with a fresh
//! adapter. Run with: `cargo test -p shopkit-memory --test conformance`.

use std::sync::Arc;

use chrono::Duration;
use shopkit_core::ids::CustomerId;
use shopkit_core::ports::{
    Cache, CartStore, CheckoutJournal, CustomerRepository, IdGenerator, IdempotencyStore,
    IdentityVerifier, InventoryStore, MediaStore, Notifier, OrderRepository, OutboxStore,
    PaymentGateway, Principal, ProductRepository, PromotionRepository, Recommender, Role,
    SearchIndex,
};
use shopkit_memory::{
    FakePaymentGateway, ManualClock, MemoryCache, MemoryCarts, MemoryCheckoutJournal,
    MemoryCustomers, MemoryIdempotency, MemoryInventory, MemoryMediaStore, MemoryOrders,
    MemoryOutbox, MemoryProducts, MemoryPromotions, MemoryRecommender, MemorySearch, RandomIds,
    RecordingNotifier, StaticIdentityVerifier,
};
use shopkit_testkit::TimeControl;
use shopkit_testkit::fixtures::{t0, uuid};
use shopkit_testkit::identity::TestTokens;
use shopkit_testkit::media::{MediaLimits, PresignedUrls};
use shopkit_testkit::notifier::{Dedup, NotifierCases, email_to};
use shopkit_testkit::payments::PaymentMethods;

shopkit_testkit::products_contracts!(
    async || Arc::new(MemoryProducts::new()) as Arc<dyn ProductRepository>
);

shopkit_testkit::carts_contracts!(async || Arc::new(MemoryCarts::new()) as Arc<dyn CartStore>);

shopkit_testkit::orders_contracts!(async || {
    let outbox = MemoryOutbox::new();
    (
        Arc::new(MemoryOrders::new(outbox.clone())) as Arc<dyn OrderRepository>,
        Arc::new(outbox) as Arc<dyn OutboxStore>,
    )
});

shopkit_testkit::outbox_contracts!(async || Arc::new(MemoryOutbox::new()) as Arc<dyn OutboxStore>);

shopkit_testkit::customers_contracts!(async || {
    let outbox = MemoryOutbox::new();
    (
        Arc::new(MemoryCustomers::new(outbox.clone())) as Arc<dyn CustomerRepository>,
        Arc::new(outbox) as Arc<dyn OutboxStore>,
    )
});

shopkit_testkit::inventory_contracts!(
    async || Arc::new(MemoryInventory::new()) as Arc<dyn InventoryStore>
);

shopkit_testkit::checkout_journal_contracts!(async || {
    Arc::new(MemoryCheckoutJournal::new()) as Arc<dyn CheckoutJournal>
});

shopkit_testkit::idempotency_contracts!(
    async || Arc::new(MemoryIdempotency::new()) as Arc<dyn IdempotencyStore>
);

shopkit_testkit::promotions_contracts!(
    async || Arc::new(MemoryPromotions::new()) as Arc<dyn PromotionRepository>
);

shopkit_testkit::cache_contracts!(async || {
    let clock = ManualClock::new(t0());
    let cache = Arc::new(MemoryCache::new(Arc::new(clock.clone()))) as Arc<dyn Cache>;
    (
        cache,
        TimeControl::manual(move |by| {
            clock.advance(by);
        }),
    )
});

shopkit_testkit::payments_contracts!(async || {
    (Arc::new(FakePaymentGateway::new()) as Arc<dyn PaymentGateway>, PaymentMethods::stripe_test())
});

shopkit_testkit::notifier_contracts!(async || {
    let notifier = Arc::new(RecordingNotifier::new());
    let log = Arc::clone(&notifier);
    let down = RecordingNotifier::new();
    down.set_down(true);
    let cases = NotifierCases {
        accepted: email_to("ada@example.com"),
        rejected: email_to("not an email address"),
        unreachable: Arc::new(down),
        dedup: Dedup::Observable(Arc::new(move |key: &str| {
            log.sent().iter().filter(|s| s.message.dedup_key == key).count()
        })),
    };
    (notifier as Arc<dyn Notifier>, cases)
});

shopkit_testkit::media_contracts!(async || {
    let clock = ManualClock::new(t0());
    let max_bytes = 64 * 1024;
    let store = Arc::new(MemoryMediaStore::new(Arc::new(clock.clone())).with_max_bytes(max_bytes));
    let verifier = Arc::clone(&store);
    let now = clock.clone();
    let limits = MediaLimits {
        max_bytes,
        presigned: PresignedUrls::Enforced {
            works: Arc::new(move |url: String| {
                let ok =
                    verifier.verify_presigned(&url, shopkit_core::ports::Clock::now(&now)).is_ok();
                Box::pin(async move { ok })
            }),
            time: TimeControl::manual(move |by| {
                clock.advance(by);
            }),
        },
    };
    (store as Arc<dyn MediaStore>, limits)
});

shopkit_testkit::search_contracts!(async || Arc::new(MemorySearch::new()) as Arc<dyn SearchIndex>);

shopkit_testkit::recommender_contracts!(
    async || Arc::new(MemoryRecommender::new()) as Arc<dyn Recommender>
);

shopkit_testkit::ids_contracts!(async || Arc::new(RandomIds::new()) as Arc<dyn IdGenerator>);

shopkit_testkit::identity_contracts!(async || {
    let clock = ManualClock::new(t0());
    let customer = CustomerId::from_uuid(uuid());
    let principal = Principal { customer, email: None, roles: vec![Role::Customer] };
    let verifier = StaticIdentityVerifier::new(Arc::new(clock))
        .with_token("valid-token", principal.clone(), t0() + Duration::hours(1))
        .with_token("expired-token", principal, t0() - Duration::seconds(1));
    let tokens = TestTokens {
        valid: "valid-token".into(),
        customer,
        roles: vec![Role::Customer],
        expired: "expired-token".into(),
        tampered: "valid-tokem".into(),
        // Tokens of another issuer or audience are simply unknown to a static table.
        wrong_issuer: "token-of-another-pool".into(),
        wrong_audience: "token-for-another-client".into(),
    };
    (Arc::new(verifier) as Arc<dyn IdentityVerifier>, tokens)
});

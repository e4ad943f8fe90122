//! In-memory checkout end to end on one core: idempotency, pricing, promotion, reservation,
//! authorization, order + outbox, cart close. The baseline, measured in the same run, is
//! quoting the same cart (the read path checkout starts with).
//!
//! Run with: `cargo bench --bench checkout`

// `criterion_group!` makes a `pub fn benches` that cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use shopkit::core::catalog::ProductStatus;
use shopkit::core::customers::Address;
use shopkit::core::ids::{CartId, CouponCode, Email, IdempotencyKey, LocationId, PromotionId, Sku};
use shopkit::core::ids::{RegionCode, ShippingMethodId};
use shopkit::core::inventory::BackorderPolicy;
use shopkit::core::money::{Currency, Money};
use shopkit::core::ports::{PaymentMethodToken, PricingSettings, PromotionRepository};
use shopkit::core::pricing::{Promotion, PromotionKind, ShippingPrice, ShippingRate};
use shopkit::core::quantity::Quantity;
use shopkit::core::services::{
    CartAccess, CheckoutRequest, Delivery, ProductDraft, Shop, VariantDraft,
};
use shopkit::memory::InMemory;
use tokio::runtime::Runtime;

const LINES: usize = 3;

fn sku(i: usize) -> Sku {
    Sku::new(&format!("SKU-{i}")).expect("a valid sku")
}

async fn shop() -> (InMemory, Shop) {
    let backend = InMemory::new();
    let shop = backend.shop().expect("every port is set");
    for i in 0..LINES {
        let price = vec![Money::from_minor(1000 + i as i64 * 250, Currency::USD)];
        let draft = ProductDraft::new(
            format!("Product {i}"),
            vec![VariantDraft::new(sku(i), "One", price)],
        )
        .with_status(ProductStatus::Active);
        shop.catalog().create_product(draft).await.expect("a valid product");
        shop.inventory()
            .set_stock(&sku(i), &LocationId::main(), i64::MAX / 4, BackorderPolicy::Deny)
            .await
            .expect("stock");
    }
    let id = PromotionId::from_uuid(backend.ids.uuid());
    let promo = Promotion::builder(id, "Ten", PromotionKind::Percentage(Decimal::TEN))
        .coupon(CouponCode::new("TEN").expect("a valid code"))
        .build()
        .expect("a valid promotion");
    backend.promotions.upsert(&promo).await.expect("promotion stored");
    let flat = ShippingPrice::Flat(Money::from_minor(499, Currency::USD));
    let rate = ShippingRate::new(standard(), "Standard", flat).expect("a valid rate");
    let mut settings = PricingSettings::default();
    settings.shipping.rates.push(rate);
    backend.promotions.save_settings(&settings).await.expect("settings stored");
    (backend, shop)
}

fn standard() -> ShippingMethodId {
    ShippingMethodId::new("standard").expect("a valid method")
}

async fn cart(shop: &Shop) -> (CartId, CartAccess) {
    let cart = shop.carts().create_guest_cart(Currency::USD).await.expect("a cart");
    let access = CartAccess::Token(cart.token().clone());
    for i in 0..LINES {
        let qty = Quantity::new(1 + i as i64).expect("a quantity");
        shop.carts().add_line(cart.id(), &access, sku(i), qty).await.expect("a line");
    }
    let coupon = CouponCode::new("TEN").expect("a valid code");
    shop.carts().apply_coupon(cart.id(), &access, coupon).await.expect("the coupon applies");
    let address = Address {
        id: None,
        name: "Bench Shopper".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Springfield".into(),
        postal_code: "62701".into(),
        region: RegionCode::new("US-IL").expect("a valid region"),
        phone: None,
    };
    let delivery = Delivery { address: Some(address), method: Some(standard()) };
    shop.carts().set_delivery(cart.id(), &access, delivery).await.expect("delivery set");
    (cart.id(), access)
}

fn bench_checkout(c: &mut Criterion) {
    // One core: a current-thread runtime.
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let (_backend, shop) = rt.block_on(shop());
    let keys = AtomicU64::new(0);
    let mut group = c.benchmark_group("checkout");

    group.bench_function("memory_3_lines_coupon", |b| {
        b.iter_batched(
            || rt.block_on(cart(&shop)),
            |(cart_id, access)| {
                let n = keys.fetch_add(1, Ordering::Relaxed);
                let request = CheckoutRequest {
                    cart_id,
                    access,
                    email: Email::new("bench@example.com").expect("an email"),
                    payment_method: PaymentMethodToken("pm_card_visa".into()),
                    expected_total: None,
                    idempotency_key: IdempotencyKey::new(&format!("bench-{n}")).expect("a key"),
                };
                run(&rt, shop.checkout().checkout(request))
            },
            BatchSize::SmallInput,
        )
    });

    // The baseline: quoting the same kind of cart.
    let (cart_id, access) = rt.block_on(cart(&shop));
    group.bench_function("baseline_quote_3_lines_coupon", |b| {
        b.iter(|| run(&rt, shop.carts().quote(black_box(cart_id), &access)))
    });
    group.finish();
}

fn run<T, E: std::fmt::Debug>(
    rt: &Runtime,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> T {
    rt.block_on(f).expect("the operation succeeds")
}

criterion_group!(benches, bench_checkout);
criterion_main!(benches);

//! End-to-end journeys through the `shopkit` facade with every port in memory: what a
//! developer embedding the SDK sees, including the failure paths.
//!
//! Run with: `cargo test --test journeys`

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use shopkit::core::catalog::ProductStatus;
use shopkit::core::customers::Address;
use shopkit::core::events::OutboxStatus;
use shopkit::core::ids::{CouponCode, Email, IdempotencyKey, LocationId, PromotionId, Sku};
use shopkit::core::ids::{RegionCode, ShippingMethodId};
use shopkit::core::inventory::{BackorderPolicy, InventoryError};
use shopkit::core::money::{Currency, Money};
use shopkit::core::orders::{OrderStatus, RefundError, RefundRequest, RefundStatus};
use shopkit::core::ports::{
    LedgerAccount, OutboxStore, PaymentError, PaymentMethodToken, PricingSettings,
    PromotionRepository,
};
use shopkit::core::pricing::{
    CouponRejection, Promotion, PromotionKind, ShippingPrice, ShippingRate,
};
use shopkit::core::quantity::Quantity;
use shopkit::core::services::{
    Caller, CartAccess, CheckoutRequest, Delivery, FREE_ORDER_PAYMENT, ProductDraft, Registration,
    ShipmentRequest, Shop, ShopError, VariantDraft,
};
use shopkit::memory::{InMemory, ManualClock, RandomIds};

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

struct World {
    backend: InMemory,
    shop: Shop,
    clock: ManualClock,
}

/// A shop with one product (`TEE`, 25.00 USD, `stock` units), free `standard` shipping
/// everywhere, and coupons: `WELCOME10` (10% off), `FREE` (100% off), `OLD` (expired
/// yesterday).
async fn world(stock: i64) -> World {
    let clock = ManualClock::at_fixed_start();
    let backend = InMemory::with(Arc::new(clock.clone()), Arc::new(RandomIds::new()));
    let shop = backend.shop().unwrap();
    let variant = VariantDraft::new(sku(), "One size", vec![usd(2500)]);
    let draft = ProductDraft::new("Tee", vec![variant]).with_status(ProductStatus::Active);
    shop.catalog().create_product(draft).await.unwrap();
    shop.inventory()
        .set_stock(&sku(), &LocationId::main(), stock, BackorderPolicy::Deny)
        .await
        .unwrap();
    let now = clock_now(&clock);
    for (code, percent, ends) in
        [("WELCOME10", 10, None), ("FREE", 100, None), ("OLD", 50, Some(now - Duration::days(1)))]
    {
        let id = PromotionId::from_uuid(backend.ids.uuid());
        let mut p = Promotion::builder(id, code, PromotionKind::Percentage(Decimal::from(percent)))
            .coupon(CouponCode::new(code).unwrap());
        if let Some(end) = ends {
            p = p.starts_at(end - Duration::days(30)).ends_at(end);
        }
        backend.promotions.upsert(&p.build().unwrap()).await.unwrap();
    }
    let free = ShippingPrice::Flat(usd(0));
    let standard = ShippingRate::new(standard(), "Standard", free).unwrap();
    let mut settings = PricingSettings::default();
    settings.shipping.rates.push(standard);
    backend.promotions.save_settings(&settings).await.unwrap();
    World { backend, shop, clock }
}

fn standard() -> ShippingMethodId {
    ShippingMethodId::new("standard").unwrap()
}

/// Ships the cart to Ann's address by standard shipping: a cart of goods to ship needs
/// both before checkout.
async fn ship(w: &World, cart: &shopkit::core::cart::Cart, access: &CartAccess) {
    let address = Address {
        id: None,
        name: "Ann Lee".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Springfield".into(),
        postal_code: "62701".into(),
        region: RegionCode::new("US-IL").unwrap(),
        phone: None,
    };
    let delivery = Delivery { address: Some(address), method: Some(standard()) };
    w.shop.carts().set_delivery(cart.id(), access, delivery).await.unwrap();
}

fn clock_now(clock: &ManualClock) -> DateTime<Utc> {
    use shopkit::core::ports::Clock;
    clock.now()
}

fn sku() -> Sku {
    Sku::new("TEE").unwrap()
}

fn q(n: i64) -> Quantity {
    Quantity::new(n).unwrap()
}

fn checkout_request(
    cart: &shopkit::core::cart::Cart,
    access: CartAccess,
    method: &str,
    key: &str,
) -> CheckoutRequest {
    CheckoutRequest {
        cart_id: cart.id(),
        access,
        email: Email::new("ann@example.com").unwrap(),
        payment_method: PaymentMethodToken(method.into()),
        expected_total: None,
        idempotency_key: IdempotencyKey::new(key).unwrap(),
    }
}

async fn available(w: &World) -> i64 {
    w.shop.inventory().levels(&[sku()]).await.unwrap()[0].available()
}

#[tokio::test]
async fn a_customer_buys_gets_it_shipped_returns_one_and_everyone_hears_about_it() {
    let w = world(10).await;
    let registration = Registration {
        email: Email::new("ann@example.com").unwrap(),
        first_name: "Ann".into(),
        last_name: "Lee".into(),
        phone: None,
        accepts_marketing: true,
    };
    let ann = w.shop.customers().register(registration).await.unwrap();

    // A guest cart, merged into Ann's cart when she signs in.
    let guest = w.shop.carts().create_guest_cart(Currency::USD).await.unwrap();
    let token = CartAccess::Token(guest.token().clone());
    w.shop.carts().add_line(guest.id(), &token, sku(), q(3)).await.unwrap();
    let cart = w.shop.carts().merge_on_sign_in(guest.token(), ann.id).await.unwrap();
    let access = CartAccess::Customer(ann.id);
    w.shop
        .carts()
        .apply_coupon(cart.id(), &access, CouponCode::new("welcome10").unwrap())
        .await
        .unwrap();
    let quote = w.shop.carts().quote(cart.id(), &access).await.unwrap();
    assert_eq!(quote.grand_total(), usd(6750), "3 × 25.00 − 10%");
    assert!(quote.reconciles());
    ship(&w, &cart, &access).await;

    let order = w
        .shop
        .checkout()
        .checkout(checkout_request(&cart, access, "pm_card_visa", "k1"))
        .await
        .unwrap();
    assert_eq!(order.totals().grand_total, usd(6750));
    assert_eq!(order.customer(), Some(ann.id));
    assert_eq!(available(&w).await, 7);

    // Ann sees her order; another customer does not.
    let me = Caller::Customer(ann.id);
    assert_eq!(w.shop.orders().get(&me, order.id()).await.unwrap().id(), order.id());
    let stranger =
        Caller::Customer(shopkit::core::ids::CustomerId::from_uuid(w.backend.ids.uuid()));
    assert!(matches!(
        w.shop.orders().get(&stranger, order.id()).await,
        Err(ShopError::NotFound { .. })
    ));

    // Shipped (captured first), then one tee returned and refunded at its discounted price.
    let order = w
        .shop
        .orders()
        .fulfil(&Caller::Admin, order.id(), ShipmentRequest::remaining(None))
        .await
        .unwrap();
    assert_eq!(order.status(), OrderStatus::Fulfilled);
    assert_eq!(order.payment().captured, usd(6750));
    let units = vec![(order.lines()[0].id, q(1))];
    let refund = w
        .shop
        .refunds()
        .request(&me, order.id(), RefundRequest::returning(units, "too big"))
        .await
        .unwrap();
    assert_eq!(refund.amount, usd(2250));
    assert!(matches!(
        w.shop.refunds().approve(&me, refund.id).await,
        Err(ShopError::Forbidden { .. })
    ));
    let refund = w.shop.refunds().approve_and_process(&Caller::Admin, refund.id).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Processed);
    // The returned tee goes back from the outbox (the restock subscriber), once.
    w.shop.dispatcher(w.backend.subscribers("Test Shop")).run_once().await.unwrap();
    assert_eq!(available(&w).await, 8, "the returned tee is back in stock");
    let gateway = w.backend.payments.payment(&order.payment().reference).unwrap();
    assert_eq!(gateway.refunded, usd(2250));

    // Events reach every subscriber: welcome, confirmation, shipped and refund emails;
    // balanced ledger postings.
    let report = w.shop.dispatcher(w.backend.subscribers("Test Shop")).run_once().await.unwrap();
    assert_eq!(report.dead, 0);
    let subjects: Vec<String> =
        w.backend.notifier.sent().into_iter().map(|m| m.message.subject).collect();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("confirmed")));
    assert!(subjects.iter().any(|s| s.contains("shipped")));
    assert!(subjects.iter().any(|s| s.contains("refund")));
    let receivable =
        w.backend.ledger.balance(LedgerAccount::PaymentsReceivable, Currency::USD).unwrap();
    assert_eq!(receivable, usd(6750 - 2250), "captured minus refunded is still owed by the PSP");
}

#[tokio::test]
async fn a_declined_card_places_no_order_and_gives_the_stock_back() {
    let w = world(5).await;
    let cart = w.shop.carts().create_guest_cart(Currency::USD).await.unwrap();
    let access = CartAccess::Token(cart.token().clone());
    w.shop.carts().add_line(cart.id(), &access, sku(), q(2)).await.unwrap();
    ship(&w, &cart, &access).await;

    let declined = w
        .shop
        .checkout()
        .checkout(checkout_request(&cart, access.clone(), "pm_card_chargeDeclined", "k1"))
        .await;
    assert!(matches!(declined, Err(ShopError::Payment(PaymentError::Declined { .. }))));
    assert_eq!(available(&w).await, 5);
    assert_eq!(
        w.backend.outbox.list(None, None, 100).await.unwrap().items.len(),
        0,
        "no OrderPlaced"
    );

    // The same key with another card goes through: the decline did not spend the key.
    let order = w
        .shop
        .checkout()
        .checkout(checkout_request(&cart, access, "pm_card_visa", "k1"))
        .await
        .unwrap();
    assert_eq!(order.status(), OrderStatus::Placed);
    assert_eq!(available(&w).await, 3);
}

#[tokio::test]
async fn out_of_stock_is_a_clear_error_and_the_cart_is_still_there() {
    let w = world(1).await;
    let cart = w.shop.carts().create_guest_cart(Currency::USD).await.unwrap();
    let access = CartAccess::Token(cart.token().clone());
    w.shop.carts().add_line(cart.id(), &access, sku(), q(2)).await.unwrap();
    ship(&w, &cart, &access).await;
    let result = w
        .shop
        .checkout()
        .checkout(checkout_request(&cart, access.clone(), "pm_card_visa", "k1"))
        .await;
    match result {
        Err(ShopError::Inventory(InventoryError::OutOfStock { sku: s, requested, available })) => {
            assert_eq!((s, requested, available), (sku(), 2, 1));
        }
        other => panic!("expected out of stock, got {other:?}"),
    }
    assert_eq!(w.backend.payments.authorizations(), 0);
    let cart = w.shop.carts().get(cart.id(), &access).await.unwrap();
    assert_eq!(cart.lines().len(), 1, "nothing was lost");
}

#[tokio::test]
async fn a_fully_discounted_cart_places_a_free_order_without_the_gateway() {
    let w = world(3).await;
    let cart = w.shop.carts().create_guest_cart(Currency::USD).await.unwrap();
    let access = CartAccess::Token(cart.token().clone());
    w.shop.carts().add_line(cart.id(), &access, sku(), q(1)).await.unwrap();
    w.shop
        .carts()
        .apply_coupon(cart.id(), &access, CouponCode::new("FREE").unwrap())
        .await
        .unwrap();
    ship(&w, &cart, &access).await;
    let order = w
        .shop
        .checkout()
        .checkout(checkout_request(&cart, access, "pm_card_visa", "k1"))
        .await
        .unwrap();
    assert!(order.totals().grand_total.is_zero());
    assert_eq!(order.payment().reference, FREE_ORDER_PAYMENT);
    assert_eq!(w.backend.payments.calls().len(), 0, "the gateway was never called");
    let order = w
        .shop
        .orders()
        .fulfil(&Caller::Admin, order.id(), ShipmentRequest::remaining(None))
        .await
        .unwrap();
    assert_eq!(order.status(), OrderStatus::Fulfilled);
}

#[tokio::test]
async fn bad_input_gets_typed_errors_and_changes_nothing() {
    let w = world(3).await;
    let cart = w.shop.carts().create_guest_cart(Currency::USD).await.unwrap();
    let access = CartAccess::Token(cart.token().clone());
    w.shop.carts().add_line(cart.id(), &access, sku(), q(1)).await.unwrap();
    let before = w.shop.carts().get(cart.id(), &access).await.unwrap();

    assert!(
        Quantity::new(0).is_err() && Quantity::new(-1).is_err(),
        "no zero or negative quantity exists"
    );
    let unknown =
        w.shop.carts().add_line(cart.id(), &access, Sku::new("NOPE").unwrap(), q(1)).await;
    assert!(matches!(unknown, Err(ShopError::UnknownSku { .. })), "{unknown:?}");
    let huge = w.shop.carts().add_line(cart.id(), &access, sku(), q(1_000)).await;
    assert!(matches!(huge, Err(ShopError::Cart(_))), "{huge:?}");
    let expired =
        w.shop.carts().apply_coupon(cart.id(), &access, CouponCode::new("OLD").unwrap()).await;
    assert!(
        matches!(expired, Err(ShopError::Coupon { reason: CouponRejection::Expired { .. }, .. })),
        "{expired:?}"
    );
    let unknown_coupon =
        w.shop.carts().apply_coupon(cart.id(), &access, CouponCode::new("NOPE").unwrap()).await;
    assert!(matches!(unknown_coupon, Err(ShopError::Coupon { .. })));
    let eur = w.shop.carts().create_guest_cart(Currency::EUR).await.unwrap();
    let eur_access = CartAccess::Token(eur.token().clone());
    let no_price = w.shop.carts().add_line(eur.id(), &eur_access, sku(), q(1)).await;
    assert!(matches!(no_price, Err(ShopError::NoPriceInCurrency { .. })), "{no_price:?}");
    let other_token = CartAccess::Token(eur.token().clone());
    assert!(matches!(
        w.shop.carts().get(cart.id(), &other_token).await,
        Err(ShopError::NotFound { .. })
    ));

    assert_eq!(
        w.shop.carts().get(cart.id(), &access).await.unwrap(),
        before,
        "the cart is unchanged"
    );

    // Refunds above what was captured are refused whole.
    ship(&w, &before, &access).await;
    let order = w
        .shop
        .checkout()
        .checkout(checkout_request(&before, access, "pm_card_visa", "k1"))
        .await
        .unwrap();
    let order = w.shop.orders().capture(&Caller::Admin, order.id()).await.unwrap();
    let too_much = RefundRequest::amount(usd(2501), "goodwill");
    let result = w.shop.refunds().request(&Caller::Admin, order.id(), too_much).await;
    assert!(
        matches!(result, Err(ShopError::Refund(RefundError::RefundExceedsCaptured { .. }))),
        "{result:?}"
    );
    let order = w.shop.orders().get(&Caller::Admin, order.id()).await.unwrap();
    assert!(order.refunds().is_empty());
}

#[tokio::test]
async fn a_notifier_outage_loses_nothing_and_the_email_goes_out_when_it_is_back() {
    let w = world(3).await;
    let cart = w.shop.carts().create_guest_cart(Currency::USD).await.unwrap();
    let access = CartAccess::Token(cart.token().clone());
    w.shop.carts().add_line(cart.id(), &access, sku(), q(1)).await.unwrap();
    ship(&w, &cart, &access).await;
    w.backend.notifier.set_down(true);
    let order = w
        .shop
        .checkout()
        .checkout(checkout_request(&cart, access, "pm_card_visa", "k1"))
        .await
        .unwrap();

    let dispatcher = w.shop.dispatcher(w.backend.subscribers("Test Shop"));
    let report = dispatcher.run_once().await.unwrap();
    assert_eq!((report.delivered, report.retried), (0, 1));
    assert!(w.backend.notifier.sent().is_empty());
    assert!(w.shop.orders().get(&Caller::Admin, order.id()).await.is_ok(), "the order is safe");

    // Back up; nothing is due until the backoff passes, then it is delivered once.
    w.backend.notifier.set_down(false);
    assert_eq!(dispatcher.run_once().await.unwrap().total(), 0);
    w.clock.advance(Duration::minutes(5));
    let report = dispatcher.run_once().await.unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(w.backend.notifier.sent().len(), 1);
    let delivered = w.backend.outbox.list(Some(OutboxStatus::Delivered), None, 10).await.unwrap();
    assert_eq!(delivered.items.len(), 1);
    // The CRM etc. that had it already were not called twice (idempotent anyway).
    assert_eq!(w.backend.analytics.events().len(), 1);
}

#[tokio::test]
async fn an_abandoned_cart_of_a_customer_who_accepts_marketing_gets_one_reminder() {
    let w = world(3).await;
    let registration = Registration {
        email: Email::new("bo@example.com").unwrap(),
        first_name: "Bo".into(),
        last_name: "Ng".into(),
        phone: None,
        accepts_marketing: true,
    };
    let bo = w.shop.customers().register(registration).await.unwrap();
    let cart = w.shop.carts().cart_for_customer(bo.id, Currency::USD).await.unwrap();
    w.shop.carts().add_line(cart.id(), &CartAccess::Customer(bo.id), sku(), q(1)).await.unwrap();

    w.clock.advance(Duration::hours(5));
    let now = clock_now(&w.clock);
    assert_eq!(w.shop.carts().sweep_abandoned(now, 100).await.unwrap(), 1);
    assert_eq!(w.shop.carts().sweep_abandoned(now, 100).await.unwrap(), 0, "once per idle spell");
    w.shop.dispatcher(w.backend.subscribers("Test Shop")).run_once().await.unwrap();
    let to_bo = w.backend.notifier.sent_to("bo@example.com");
    assert_eq!(to_bo.len(), 2, "welcome and the reminder: {to_bo:?}");
}

//! Contracts of the checkout saga, run end to end through the core's services against a
//! set of real adapters: the guarantees no single port can give alone.
//!
//! - [`checkout_places_one_order_per_idempotency_key`]: 20 concurrent retries with one key
//!   make one order, one authorization, and take the stock once.
//! - [`checkout_fails_cleanly_when_stock_runs_out`]: nothing is held, no order is written,
//!   and the key can be retried once the cart is fixable.
//! - [`declined_payment_releases_stock_and_places_no_order`]: and another card then works.
//! - [`a_checkout_cut_off_after_any_step_is_finished_or_undone_by_recovery`]: a crash
//!   after any step leaves nothing held (or the one order complete) once recovery ran.
//! - [`checkout_reconciles_quote_and_order_totals`]: with a coupon, exclusive tax on lines
//!   and shipping, the order's totals are the quote's, to the minor unit, and the
//!   authorization is for the grand total.
//!
//! Each contract takes a [`CheckoutWorld`] of FRESH, empty adapters (one database) and,
//! where it counts charges, `authorizations`: how many distinct authorizations the
//! gateway holds (a replay of a key is not a new one). Concurrency contracts spawn tasks:
//! run them on the multi-thread runtime.

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;
use shopkit_core::cart::{CartPolicy, CartStatus};
use shopkit_core::customers::Address;
use shopkit_core::ids::{
    CouponCode, Email, IdempotencyKey, LocationId, PromotionId, RegionCode, ShippingMethodId, Sku,
};
use shopkit_core::inventory::{BackorderPolicy, InventoryError};
use shopkit_core::money::Money;
use shopkit_core::orders::Order;
use shopkit_core::ports::{
    CartStore, CheckoutJournal, Clock, IdGenerator, IdempotencyStore, InventoryStore, OrderQuery,
    OrderRepository, OutboxStore, PaymentError, PaymentGateway, PaymentMethodToken,
    PricingSettings, ProductRepository, PromotionRepository,
};
use shopkit_core::pricing::{
    Promotion, PromotionKind, ShippingPrice, ShippingRate, ShippingTable, TaxRate, TaxTable,
};
use shopkit_core::quantity::Quantity;
use shopkit_core::services::{
    CartAccess, CartService, CheckoutConfig, CheckoutPorts, CheckoutProbe, CheckoutRequest,
    CheckoutService, CheckoutStep, Delivery, ShopError,
};

use crate::fixtures::{product, unique, uuid};
use crate::payments::PaymentMethods;
use crate::support::{Must, race};

/// The adapters a checkout touches: fresh and empty, sharing one database where the
/// adapter family does (orders and outbox write atomically together).
#[derive(Clone)]
pub struct CheckoutWorld {
    /// Products.
    pub products: Arc<dyn ProductRepository>,
    /// Carts.
    pub carts: Arc<dyn CartStore>,
    /// Promotions and pricing settings.
    pub promotions: Arc<dyn PromotionRepository>,
    /// Stock.
    pub inventory: Arc<dyn InventoryStore>,
    /// The payment gateway.
    pub gateway: Arc<dyn PaymentGateway>,
    /// Orders, written with their events.
    pub orders: Arc<dyn OrderRepository>,
    /// The outbox the orders write to.
    pub outbox: Arc<dyn OutboxStore>,
    /// Idempotency records.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Where running checkouts got to.
    pub journal: Arc<dyn CheckoutJournal>,
    /// How many authorizations hold money right now (made, neither voided nor captured).
    pub held: Arc<dyn Fn() -> usize + Send + Sync>,
    /// The time (a manual clock or the system clock: no contract moves it).
    pub clock: Arc<dyn Clock>,
    /// Fresh ids.
    pub ids: Arc<dyn IdGenerator>,
    /// The gateway's approving and declining payment methods, and the currency to sell in.
    pub methods: PaymentMethods,
}

impl std::fmt::Debug for CheckoutWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckoutWorld").field("methods", &self.methods).finish_non_exhaustive()
    }
}

/// The services of one world.
struct Services {
    carts: CartService,
    checkout: CheckoutService,
}

impl CheckoutWorld {
    fn services(&self) -> Services {
        self.services_with(CheckoutConfig::default())
    }

    fn services_with(&self, config: CheckoutConfig) -> Services {
        Services {
            carts: CartService::new(
                self.carts.clone(),
                self.products.clone(),
                self.promotions.clone(),
                self.outbox.clone(),
                self.clock.clone(),
                self.ids.clone(),
                CartPolicy::default(),
            ),
            checkout: CheckoutService::new(
                CheckoutPorts {
                    carts: self.carts.clone(),
                    products: self.products.clone(),
                    promotions: self.promotions.clone(),
                    inventory: self.inventory.clone(),
                    gateway: self.gateway.clone(),
                    orders: self.orders.clone(),
                    idempotency: self.idempotency.clone(),
                    journal: self.journal.clone(),
                    clock: self.clock.clone(),
                    ids: self.ids.clone(),
                },
                config,
            ),
        }
    }

    fn money(&self, minor: i64) -> Money {
        Money::from_minor(minor, self.methods.currency)
    }

    /// A product with one SKU at `price_minor`, and `on_hand` units of it at the main
    /// location.
    async fn stocked(&self, price_minor: i64, on_hand: i64) -> Sku {
        let p = product().prices(&[self.money(price_minor)]).build();
        let sku = p.variants[0].sku.clone();
        self.products.insert(&p).await.must("insert a product");
        self.inventory
            .set_stock(&sku, &LocationId::main(), on_hand, BackorderPolicy::Deny)
            .await
            .must("set stock");
        sku
    }

    /// `(on_hand, reserved)` of `sku` at the main location.
    async fn level(&self, sku: &Sku) -> (i64, i64) {
        let levels =
            self.inventory.levels(std::slice::from_ref(sku)).await.must("read stock levels");
        let level =
            levels.iter().find(|l| l.location == LocationId::main()).must("a stock level at main");
        (level.on_hand, level.reserved)
    }

    /// A free `standard` shipping method serving everywhere in the world's currency (added
    /// to the pricing settings unless `standard` already has a rate in it).
    async fn free_shipping(&self) -> ShippingMethodId {
        let standard = ShippingMethodId::new("standard").must("a method");
        let mut settings = self.promotions.settings().await.must("read the pricing settings");
        let currency = self.methods.currency;
        if !settings
            .shipping
            .rates
            .iter()
            .any(|r| r.method() == &standard && r.currency() == currency)
        {
            let free =
                ShippingRate::new(standard.clone(), "Standard", ShippingPrice::Flat(self.money(0)))
                    .must("a rate");
            settings.shipping.rates.push(free);
            self.promotions.save_settings(&settings).await.must("store the pricing settings");
        }
        standard
    }

    async fn all_orders(&self) -> Vec<Order> {
        let query = OrderQuery { limit: 100, ..OrderQuery::default() };
        self.orders.list(&query).await.must("list orders").items
    }
}

/// A guest cart with `lines`, its access, shipped to California by `method`, or by free
/// standard shipping when `None` (goods to ship need an address and a method before
/// checkout).
async fn guest_cart(
    world: &CheckoutWorld,
    carts: &CartService,
    lines: &[(&Sku, u32)],
    method: Option<ShippingMethodId>,
) -> (shopkit_core::cart::Cart, CartAccess) {
    let cart = carts.create_guest_cart(world.methods.currency).await.must("create a guest cart");
    let access = CartAccess::Token(cart.token().clone());
    for (sku, n) in lines {
        let quantity = Quantity::new(i64::from(*n)).must("a quantity");
        carts.add_line(cart.id(), &access, (*sku).clone(), quantity).await.must("add a line");
    }
    let method = match method {
        Some(method) => method,
        None => world.free_shipping().await,
    };
    let delivery = Delivery { address: Some(california()), method: Some(method) };
    carts.set_delivery(cart.id(), &access, delivery).await.must("set delivery");
    let cart = carts.get(cart.id(), &access).await.must("read the cart");
    (cart, access)
}

fn california() -> Address {
    Address {
        id: None,
        name: "Ann Smith".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Sacramento".into(),
        postal_code: "95814".into(),
        region: RegionCode::new("US-CA").must("a region"),
        phone: None,
    }
}

fn request(
    cart: &shopkit_core::cart::Cart,
    access: &CartAccess,
    key: &IdempotencyKey,
    method: &PaymentMethodToken,
) -> CheckoutRequest {
    CheckoutRequest {
        cart_id: cart.id(),
        access: access.clone(),
        email: Email::new("ann@example.com").must("an email"),
        payment_method: method.clone(),
        expected_total: None,
        idempotency_key: key.clone(),
    }
}

fn fresh_key() -> IdempotencyKey {
    IdempotencyKey::new(&format!("testkit-checkout-{}", unique())).must("an idempotency key")
}

/// Twenty concurrent checkouts with one idempotency key (a client retrying in a panic)
/// place ONE order: every attempt answers with that order or "in progress", the gateway
/// holds ONE authorization, the stock is taken once, and one `OrderPlaced` is written.
/// A retry after the dust settles replays the same order.
pub async fn checkout_places_one_order_per_idempotency_key(
    world: CheckoutWorld,
    authorizations: &dyn Fn() -> usize,
) {
    let Services { carts, checkout } = world.services();
    let sku = world.stocked(1999, 10).await;
    let (cart, access) = guest_cart(&world, &carts, &[(&sku, 2)], None).await;
    let key = fresh_key();
    let before = authorizations();

    let results = race(20, |_| {
        let (checkout, req) =
            (checkout.clone(), request(&cart, &access, &key, &world.methods.approves));
        async move { checkout.checkout(req).await }
    })
    .await;

    let placed: Vec<&Order> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    for r in &results {
        assert!(
            matches!(r, Ok(_) | Err(ShopError::CheckoutInProgress)),
            "a concurrent retry answers with the order or 'in progress', got {r:?}"
        );
    }
    let order = placed.first().must("at least one attempt returns the order");
    assert!(placed.iter().all(|o| o.id() == order.id()), "every attempt names the same order");
    let replay = checkout
        .checkout(request(&cart, &access, &key, &world.methods.approves))
        .await
        .must("a later retry with the key");
    assert_eq!(replay.id(), order.id(), "a retry replays the order");
    assert_eq!(world.all_orders().await.len(), 1, "one order per key");
    assert_eq!(authorizations() - before, 1, "one authorization per key");
    assert_eq!(order.payment().authorized, order.totals().grand_total);
    assert_eq!(
        world.level(&sku).await,
        (8, 0),
        "the stock is taken once and nothing stays reserved"
    );
    let events = world.outbox.list(None, None, 100).await.must("read the outbox").items;
    let placed_events = events
        .iter()
        .filter(|e| {
            e.envelope.event.kind() == "order_placed"
                && e.envelope.event.order_id() == Some(order.id())
        })
        .count();
    assert_eq!(placed_events, 1, "one OrderPlaced event");
    let stored =
        world.carts.get(cart.id(), world.clock.now()).await.must("read the cart").must("the cart");
    assert_eq!(stored.status(), &CartStatus::CheckedOut { order: order.id() });
}

/// A checkout of more than the stock fails with `OutOfStock` naming the SKU and what is
/// left; it holds nothing (all or nothing over the lines), writes no order and does not
/// charge; the key stays usable, so once the stock is there the same key checks out.
pub async fn checkout_fails_cleanly_when_stock_runs_out(world: CheckoutWorld) {
    let Services { carts, checkout } = world.services();
    let plenty = world.stocked(500, 5).await;
    let scarce = world.stocked(700, 1).await;
    let (cart, access) = guest_cart(&world, &carts, &[(&plenty, 2), (&scarce, 2)], None).await;
    let key = fresh_key();

    let err = checkout
        .checkout(request(&cart, &access, &key, &world.methods.approves))
        .await
        .expect_err("a checkout of more than the stock fails");

    match err {
        ShopError::Inventory(InventoryError::OutOfStock { sku, requested, available }) => {
            assert_eq!(
                (sku, requested, available),
                (scarce.clone(), 2, 1),
                "OutOfStock names the SKU and what is left"
            );
        }
        other => panic!("expected OutOfStock, got {other:?}"),
    }
    assert_eq!(world.level(&plenty).await, (5, 0), "nothing of the other line is held");
    assert_eq!(world.level(&scarce).await, (1, 0));
    assert!(world.all_orders().await.is_empty(), "no order");

    world
        .inventory
        .set_stock(&scarce, &LocationId::main(), 2, BackorderPolicy::Deny)
        .await
        .must("restock");
    let order = checkout
        .checkout(request(&cart, &access, &key, &world.methods.approves))
        .await
        .must("the same key once the stock is there");
    assert_eq!(order.lines().len(), 2);
    assert_eq!(world.level(&scarce).await, (0, 0));
}

/// A declined card gives back the reserved stock and places no order; the cart stays
/// open and the same key then checks out with another card, with one authorization in
/// all.
pub async fn declined_payment_releases_stock_and_places_no_order(
    world: CheckoutWorld,
    authorizations: &dyn Fn() -> usize,
) {
    let Services { carts, checkout } = world.services();
    let sku = world.stocked(2500, 4).await;
    let (cart, access) = guest_cart(&world, &carts, &[(&sku, 3)], None).await;
    let key = fresh_key();
    let before = authorizations();

    let err = checkout
        .checkout(request(&cart, &access, &key, &world.methods.declines))
        .await
        .expect_err("a declined card fails the checkout");

    assert!(
        matches!(err, ShopError::Payment(PaymentError::Declined { .. })),
        "expected a decline, got {err:?}"
    );
    assert_eq!(world.level(&sku).await, (4, 0), "the reservation is released");
    assert!(world.all_orders().await.is_empty(), "no order");
    let open =
        world.carts.get(cart.id(), world.clock.now()).await.must("read the cart").must("the cart");
    assert_eq!(open.status(), &CartStatus::Open, "the cart stays open");
    assert_eq!(authorizations() - before, 0, "a decline holds nothing");

    let order = checkout
        .checkout(request(&cart, &access, &key, &world.methods.approves))
        .await
        .must("the same key with another card");
    assert_eq!(world.level(&sku).await, (1, 0));
    assert_eq!(authorizations() - before, 1);
    assert_eq!(world.all_orders().await.iter().map(Order::id).collect::<Vec<_>>(), [order.id()]);
}

/// With a coupon, tax added on lines and shipping, and a flat shipping rate, the order's
/// totals and lines are exactly the cart's quote, the totals reconcile
/// (`grand = Σ line totals + shipping`), and the authorization is for the grand total.
pub async fn checkout_reconciles_quote_and_order_totals(world: CheckoutWorld) {
    let Services { carts, checkout } = world.services();
    let standard = ShippingMethodId::new("standard").must("a method");
    let code = CouponCode::new(&format!("TK{}", unique())).must("a coupon code");
    let fifteen = Promotion::builder(
        PromotionId::from_uuid(uuid()),
        "Fifteen off",
        PromotionKind::Percentage(Decimal::from(15)),
    )
    .coupon(code.clone())
    .build()
    .must("a promotion");
    world.promotions.upsert(&fifteen).await.must("store the promotion");
    let settings = PricingSettings {
        taxes: TaxTable {
            rates: vec![
                TaxRate::new(
                    RegionCode::new("US-CA").must("a region"),
                    Decimal::new(725, 4),
                    "CA sales tax",
                )
                .must("a tax rate"),
            ],
            prices_include_tax: false,
            tax_shipping: true,
        },
        shipping: ShippingTable {
            rates: vec![
                ShippingRate::new(
                    standard.clone(),
                    "Standard",
                    ShippingPrice::Flat(world.money(499)),
                )
                .must("a rate"),
            ],
        },
        ..PricingSettings::default()
    };
    world.promotions.save_settings(&settings).await.must("store the pricing settings");
    let shirt = world.stocked(1999, 10).await;
    let socks = world.stocked(555, 10).await;
    let (cart, access) =
        guest_cart(&world, &carts, &[(&shirt, 3), (&socks, 1)], Some(standard)).await;
    carts.apply_coupon(cart.id(), &access, code.clone()).await.must("apply the coupon");
    let quote = carts.quote(cart.id(), &access).await.must("quote the cart");
    assert!(quote.reconciles());
    assert!(
        !quote.discount_total().is_zero() && !quote.tax_total().is_zero(),
        "the case exercises discount and tax"
    );

    let order = checkout
        .checkout(request(&cart, &access, &fresh_key(), &world.methods.approves))
        .await
        .must("check out");

    let totals = order.totals();
    assert_eq!(totals.subtotal, quote.subtotal());
    assert_eq!(totals.discount_total, quote.discount_total());
    assert_eq!(totals.tax_total, quote.tax_total());
    assert_eq!(totals.shipping_total, quote.shipping_total());
    let shipping_charged = totals.shipping_charged().must("shipping charged");
    assert_eq!(Some(shipping_charged), quote.shipping().map(|s| s.total));
    assert_eq!(totals.grand_total, quote.grand_total());
    assert_eq!(totals.applied_promotions, quote.applied_promotions());
    let line_totals: Vec<Money> = order.lines().iter().map(|l| l.total).collect();
    let sum = Money::sum(order.currency(), &line_totals).must("sum the lines");
    assert_eq!(
        sum.checked_add(&shipping_charged).must("add shipping"),
        totals.grand_total,
        "the order reconciles"
    );
    for (line, quoted) in order.lines().iter().zip(quote.lines()) {
        assert_eq!(
            (&line.sku, line.quantity, line.unit_price, line.discount, line.tax, line.total),
            (
                &quoted.sku,
                quoted.quantity,
                quoted.unit_price,
                quoted.discount,
                quoted.tax,
                quoted.total
            )
        );
    }
    assert_eq!(
        order.payment().authorized,
        quote.grand_total(),
        "the authorization is for the grand total"
    );
    assert_eq!(order.coupons(), std::slice::from_ref(&code));
    assert_eq!(order.currency(), world.methods.currency);
}

/// Blocks the saga forever right after one step, and says when it got there.
struct CrashAfter {
    step: CheckoutStep,
    there: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl CheckoutProbe for CrashAfter {
    async fn reached(&self, step: CheckoutStep) {
        if step == self.step {
            self.there.notify_one();
            std::future::pending::<()>().await;
        }
    }
}

/// A checkout cut off right after any step of the saga (its task aborted, as in a crash)
/// is settled by recovery, with no client: cut before the stock is committed, nothing is
/// held anywhere afterwards (stock back, no live authorization, the usage-limited
/// promotion's use given back); cut after, its one order exists, its stock committed, its
/// cart closed and its authorization holds. The journal is empty either way.
pub async fn a_checkout_cut_off_after_any_step_is_finished_or_undone_by_recovery(
    world: CheckoutWorld,
) {
    // Every record is stale and every lease lapsed at once: no clock needs to move.
    let config = CheckoutConfig {
        idempotency_lease: Duration::zero(),
        recovery_after: Duration::seconds(-1),
        ..CheckoutConfig::default()
    };
    let Services { carts, checkout } = world.services_with(config);
    let limited = Promotion::builder(
        PromotionId::from_uuid(uuid()),
        "Ten off, 100 uses",
        PromotionKind::Percentage(Decimal::from(10)),
    )
    .usage_limit(100)
    .build()
    .must("a promotion");
    world.promotions.upsert(&limited).await.must("store the promotion");
    let mut orders_placed = 0;

    for step in CheckoutStep::ALL {
        // Arrange
        let sku = world.stocked(2500, 4).await;
        let (cart, access) = guest_cart(&world, &carts, &[(&sku, 1)], None).await;
        let crash = Arc::new(CrashAfter { step, there: tokio::sync::Notify::new() });
        let doomed = checkout.clone().with_probe(crash.clone());
        let req = request(&cart, &access, &fresh_key(), &world.methods.approves);
        let held_before = world.held.as_ref()();

        // Act: the process dies right after `step`, then recovery runs.
        let mut task = tokio::spawn(async move { doomed.checkout(req).await });
        tokio::select! {
            () = crash.there.notified() => task.abort(),
            ended = &mut task => panic!("the checkout ended before {step:?}: {ended:?}"),
        }
        let _aborted = task.await;
        let report = checkout.recover(100).await.must("recover");

        // Assert
        let mine: Vec<Order> =
            world.all_orders().await.into_iter().filter(|o| o.cart_id() == cart.id()).collect();
        let stored = world
            .carts
            .get(cart.id(), world.clock.now())
            .await
            .must("read the cart")
            .must("the cart");
        let committed = step >= CheckoutStep::Committed;
        if committed {
            orders_placed += 1;
            assert_eq!(mine.len(), 1, "cut after {step:?}: its one order exists");
            assert_eq!(world.level(&sku).await, (3, 0), "cut after {step:?}: the unit is sold");
            assert_eq!(
                stored.status(),
                &CartStatus::CheckedOut { order: mine[0].id() },
                "cut after {step:?}: the cart is closed"
            );
            assert_eq!(world.held.as_ref()(), held_before + 1, "cut after {step:?}: paid once");
        } else {
            assert!(mine.is_empty(), "cut after {step:?}: no order");
            assert_eq!(world.level(&sku).await, (4, 0), "cut after {step:?}: nothing held");
            assert_eq!(stored.status(), &CartStatus::Open, "cut after {step:?}: the cart is open");
            assert_eq!(
                world.held.as_ref()(),
                held_before,
                "cut after {step:?}: no live authorization"
            );
        }
        let uses = world.promotions.get(limited.id()).await.must("read").must("the promotion");
        assert_eq!(uses.times_used(), orders_placed, "cut after {step:?}: uses match orders");
        assert!(
            world
                .journal
                .stale(world.clock.now() + Duration::days(1), 10)
                .await
                .must("stale")
                .is_empty(),
            "cut after {step:?}: nothing left to recover ({report:?})"
        );
    }
}

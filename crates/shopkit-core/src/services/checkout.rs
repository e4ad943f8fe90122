//! Checkout: the saga that turns a cart into an order, resumable by the client's
//! idempotency key.
//!
//! # The saga
//! 1. **Claim the key**: `idempotency.begin("checkout", key, cart + caller)`. A completed
//!    key replays its order; a running one answers [`ShopError::CheckoutInProgress`]; a key
//!    used for another cart or caller is [`ShopError::IdempotencyKeyReused`].
//! 2. **Price**: load the cart (access checked), `ensure_checkout_ready`, and quote it with
//!    the same code as the cart's quote. A coupon that no longer applies fails the
//!    checkout ([`ShopError::Coupon`]): the shopper is never charged a surprise price.
//! 3. **Derive ids from the key**: the order id and reservation id are UUID v5 of the key,
//!    the gateway key is `checkout:{order}:{digest(payment method)}`, so every step of a
//!    retried or resumed checkout is a no-op where it already happened.
//! 4. **Redeem** usage-limited promotions for the order (a used-up one releases the others
//!    and fails with [`ShopError::PromotionUsedUp`]).
//! 5. **Reserve** every line, until now + `reservation_ttl` (same id: same reservation; a
//!    closed one is replaced under a fresh id). Out of stock releases the promotions.
//! 6. **Authorize** the grand total. A refusal releases stock and promotions.
//! 7. **Commit** the reservation, then **insert** the order with its `OrderPlaced` event
//!    (one atomic write). `AlreadyExists` means a concurrent twin won: its order is returned.
//! 8. **Close** the cart (a conflict is ignored) and complete the key with the order id.
//!
//! # What happens to the key on failure
//! - Failed *without effects* (bad cart, out of stock, declined card...): everything taken
//!   is given back and the key is **abandoned**, so the shopper can fix the problem and
//!   retry with the same key (a decline replays for the same card; another card gets a new
//!   gateway key).
//! - Failed with an **unknown outcome** (gateway timeout, storage outage mid-way): stock and
//!   promotions are given back (nothing leaks if the shopper never returns) but the key is
//!   **kept in progress** until its lease ends. A retry with the same key then resumes and
//!   asks the gateway with the same gateway key, which returns the authorization it made,
//!   if it made one: one charge per key, never two.
//! - Failed **after voiding the authorization** (the order could not be written, or the
//!   cart changed between attempts under one key): the key is **spent** (completed with a
//!   failure marker), because its gateway key now names a voided payment; later uses of it
//!   answer [`ShopError::IdempotencyKeyReused`].
//!
//! # Why commit before insert
//! A crash between the two leaves stock taken with no order (undersold, found by a stock
//! count; a resumed checkout finds the reservation committed and completes), never an
//! order whose stock went back on sale (oversold).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, Utc};

use crate::cart::{Cart, CartError, CartStatus};
use crate::catalog::ShippingRequirement;
use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::{
    AdjustmentId, CartId, Email, IdempotencyKey, LocationId, OrderId, PromotionId, ReservationId,
};
use crate::inventory::{
    InventoryError, Reservation, ReservationLine, ReservationRequest, ReservationStatus,
    StockAdjustment,
};
use crate::money::Money;
use crate::orders::{NewOrder, Order, OrderLine, OrderTotals, Payment};
use crate::ports::{
    Authorization, AuthorizeRequest, CartStore, CheckoutJournal, CheckoutProgress, Clock,
    IdGenerator, IdempotencyBegin, IdempotencyStore, InventoryStore, OrderRepository, PaymentError,
    PaymentGateway, PaymentMethodToken, PendingPayment, PlacedOrder, ProductRepository,
    PromotionRepository, RedeemError, StoreError,
};
use crate::pricing::AppliedPromotion;

use super::MAX_ATTEMPTS;
use super::access::CartAccess;
use super::error::ShopError;
use super::keys;
use super::quoting::{CartPricer, PricedCart};

/// Settings of the checkout saga.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutConfig {
    /// How long reserved stock is held before it lapses (default 15 minutes).
    pub reservation_ttl: Duration,
    /// How long one attempt owns an idempotency key before a retry may take over
    /// (default 30 seconds). Longer than a gateway call, shorter than a shopper's patience.
    pub idempotency_lease: Duration,
    /// How long a completed key replays its order (default 24 hours).
    pub idempotency_retention: Duration,
    /// The stock location orders ship from.
    pub location: LocationId,
    /// How long a checkout may make no progress before [`CheckoutService::recover`]
    /// settles it (default 5 minutes; keep it well above `idempotency_lease` and a gateway
    /// call, below `reservation_ttl`).
    pub recovery_after: Duration,
}

impl Default for CheckoutConfig {
    fn default() -> Self {
        CheckoutConfig {
            reservation_ttl: Duration::minutes(15),
            idempotency_lease: Duration::seconds(30),
            idempotency_retention: Duration::hours(24),
            location: LocationId::main(),
            recovery_after: Duration::minutes(5),
        }
    }
}

/// What a shopper sends to check out. No amount: the server prices the cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// The cart.
    pub cart_id: CartId,
    /// How the caller may use the cart.
    pub access: CartAccess,
    /// Where to send the confirmation.
    pub email: Email,
    /// The gateway's token for the payment method (never card data).
    pub payment_method: PaymentMethodToken,
    /// The client's key for this checkout: retries MUST reuse it.
    pub idempotency_key: IdempotencyKey,
    /// The grand total the shopper was shown, if the client sends it: a cart that now
    /// costs anything else is refused with [`ShopError::PriceChanged`] (and its new quote)
    /// before anything is taken, never charged silently.
    pub expected_total: Option<Money>,
}

/// The ports checkout orchestrates.
#[derive(Clone)]
pub struct CheckoutPorts {
    /// Carts.
    pub carts: Arc<dyn CartStore>,
    /// Products (prices, titles).
    pub products: Arc<dyn ProductRepository>,
    /// Promotions and pricing settings.
    pub promotions: Arc<dyn PromotionRepository>,
    /// Stock.
    pub inventory: Arc<dyn InventoryStore>,
    /// The payment gateway.
    pub gateway: Arc<dyn PaymentGateway>,
    /// Orders (with the outbox).
    pub orders: Arc<dyn OrderRepository>,
    /// Idempotency records.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Where running checkouts got to (for recovery).
    pub journal: Arc<dyn CheckoutJournal>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Fresh ids.
    pub ids: Arc<dyn IdGenerator>,
}

impl std::fmt::Debug for CheckoutPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckoutPorts").finish_non_exhaustive()
    }
}

/// Places orders from carts; see the [module docs](self) for the saga and its guarantees:
/// one order and at most one authorization per idempotency key, whatever the retries.
#[derive(Clone)]
pub struct CheckoutService {
    ports: CheckoutPorts,
    pricer: CartPricer,
    config: CheckoutConfig,
    probe: Option<Arc<dyn CheckoutProbe>>,
}

/// A step of the checkout saga, reported to a [`CheckoutProbe`] once done. Ordered as the
/// saga takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CheckoutStep {
    /// The idempotency key is this attempt's.
    Claimed,
    /// Usage-limited promotions are redeemed (the journal knows the checkout).
    Redeemed,
    /// Stock is reserved.
    Reserved,
    /// The payment is authorized.
    Authorized,
    /// The reservation is committed (a sale).
    Committed,
    /// The order and its event are written.
    Written,
    /// The cart is closed.
    CartClosed,
    /// The key records the order.
    Completed,
}

impl CheckoutStep {
    /// Every step, in the order the saga takes them.
    pub const ALL: [CheckoutStep; 8] = [
        CheckoutStep::Claimed,
        CheckoutStep::Redeemed,
        CheckoutStep::Reserved,
        CheckoutStep::Authorized,
        CheckoutStep::Committed,
        CheckoutStep::Written,
        CheckoutStep::CartClosed,
        CheckoutStep::Completed,
    ];
}

/// Watches the saga's steps, for fault-injection tests: a probe that never returns from
/// `reached` is a crash right after that step. Shops in production set none.
#[async_trait::async_trait]
pub trait CheckoutProbe: Send + Sync + 'static {
    /// The saga has just completed `step`.
    async fn reached(&self, step: CheckoutStep);
}

/// One attempt at a checkout: the request and who makes it.
struct Attempt<'a> {
    request: &'a CheckoutRequest,
    /// The caller's idempotency scope.
    scope: String,
    fingerprint: String,
    /// The caller ([`CartAccess::subject`]).
    subject: String,
    /// Whether the journal entry holds nothing this attempt did not give back, so a failed
    /// attempt may remove it. Otherwise (a payment an earlier attempt asked for, whose
    /// outcome this one never learnt) it stays for recovery to settle.
    journal_clean: AtomicBool,
}

impl Attempt<'_> {
    fn set_journal_clean(&self, clean: bool) {
        self.journal_clean.store(clean, Ordering::SeqCst);
    }
}

/// Whether the caller of `request` may see `order`: a customer their own orders, a guest
/// the order of the cart their token opens.
fn owns(request: &CheckoutRequest, order: &Order) -> bool {
    match &request.access {
        CartAccess::Customer(customer) => order.customer() == Some(*customer),
        CartAccess::Token(_) | CartAccess::Admin => order.cart_id() == request.cart_id,
    }
}

/// Refuses goods to ship without an address and a method, judged on the variants as they
/// are now (a product made physical since it was added to the cart needs delivery too).
fn ensure_deliverable(cart: &Cart, priced: &PricedCart) -> Result<(), ShopError> {
    if !priced.lines.iter().any(|l| l.shipping == ShippingRequirement::Required) {
        return Ok(());
    }
    if cart.shipping_address().is_none() {
        return Err(CartError::ShippingAddressRequired { cart: cart.id() }.into());
    }
    if cart.shipping_method().is_none() {
        return Err(CartError::ShippingMethodRequired { cart: cart.id() }.into());
    }
    Ok(())
}

/// The usage-limited promotions a priced cart redeems.
fn limited_promotions(priced: &PricedCart) -> impl Iterator<Item = &AppliedPromotion> {
    priced.quote.applied_promotions().iter().filter(|applied| {
        priced.rules.promotions.iter().any(|p| p.id() == applied.id && p.usage_limit().is_some())
    })
}

/// The `OrderPlaced` event of an order, with an id derived from the order.
fn placed_event(order_id: OrderId, event: DomainEvent, now: DateTime<Utc>) -> EventEnvelope {
    EventEnvelope {
        id: keys::event_id("order_placed", &order_id.to_string()),
        occurred_at: now,
        event,
    }
}

impl std::fmt::Debug for CheckoutService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckoutService").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The result string of a key whose payment was voided.
const SPENT: &str = "failed:payment-voided";

/// The payment reference of an order whose total is zero: no gateway was involved.
pub const FREE_ORDER_PAYMENT: &str = "none:free-order";
/// The prefix of a completed key's result.
const ORDER_PREFIX: &str = "order:";

/// What to do with the idempotency record when an attempt fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyFate {
    /// No effect remains: free the key for a corrected retry.
    Abandon,
    /// The outcome is unknown: leave it in progress so a retry after the lease resumes.
    Keep,
    /// The authorization under this key was voided: the key can never succeed again.
    Spend,
}

struct Failure {
    error: ShopError,
    fate: KeyFate,
}

fn fail(error: impl Into<ShopError>, fate: KeyFate) -> Failure {
    Failure { error: error.into(), fate }
}

/// What the saga holds at a point, for compensation.
struct Held<'a> {
    order_id: OrderId,
    redeemed: Vec<PromotionId>,
    reservation: Option<&'a Reservation>,
}

impl CheckoutService {
    /// A checkout service.
    pub fn new(ports: CheckoutPorts, config: CheckoutConfig) -> Self {
        let pricer = CartPricer::new(ports.products.clone(), ports.promotions.clone());
        CheckoutService { ports, pricer, config, probe: None }
    }

    /// The same service reporting each step it completes to `probe` (fault-injection
    /// tests: a probe that never returns from a step is a crash right after it).
    #[must_use]
    pub fn with_probe(mut self, probe: Arc<dyn CheckoutProbe>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// The saga's settings.
    pub fn config(&self) -> &CheckoutConfig {
        &self.config
    }

    async fn reached(&self, step: CheckoutStep) {
        if let Some(probe) = &self.probe {
            probe.reached(step).await;
        }
    }

    /// Checks a cart out: the order, placed once per caller and idempotency key.
    ///
    /// # Errors
    /// - [`ShopError::CheckoutInProgress`]: the same key is running, or its outcome is
    ///   unknown (retry with the SAME key after a few seconds);
    /// - [`ShopError::IdempotencyKeyReused`]: the key belongs to another request;
    /// - [`ShopError::NotFound`], [`ShopError::Cart`] (empty, closed, expired cart);
    /// - [`ShopError::UnknownSku`], [`ShopError::NotForSale`], [`ShopError::NoPriceInCurrency`],
    ///   [`ShopError::Pricing`], [`ShopError::Coupon`], [`ShopError::PromotionUsedUp`];
    /// - [`ShopError::Inventory`] (`OutOfStock` names the SKU);
    /// - [`ShopError::Payment`] (declined: another method; timeout: retry the same key);
    /// - [`ShopError::Unavailable`] when a store is down.
    pub async fn checkout(&self, request: CheckoutRequest) -> Result<Order, ShopError> {
        let p = &self.ports;
        let key = &request.idempotency_key;
        let subject = request.access.subject();
        let scope = keys::checkout_scope(&subject);
        let fingerprint = format!("cart:{};{subject}", request.cart_id);
        let now = p.clock.now();
        match p
            .idempotency
            .begin(&scope, key, &fingerprint, now, self.config.idempotency_lease)
            .await?
        {
            IdempotencyBegin::Started => {}
            IdempotencyBegin::InProgress => return Err(ShopError::CheckoutInProgress),
            IdempotencyBegin::Mismatch => return Err(ShopError::IdempotencyKeyReused),
            IdempotencyBegin::Completed(result) => return self.replay(&result, &request).await,
        }
        self.reached(CheckoutStep::Claimed).await;
        let attempt = Attempt {
            request: &request,
            scope,
            fingerprint,
            subject,
            journal_clean: AtomicBool::new(false),
        };
        match self.run(&attempt, now).await {
            Ok(order) => {
                let result = format!("{ORDER_PREFIX}{}", order.id());
                self.finish(&attempt.scope, key, &result).await;
                self.reached(CheckoutStep::Completed).await;
                self.forget(order.id()).await;
                Ok(order)
            }
            Err(Failure { error, fate }) => {
                let order_id = keys::checkout_order_id(&attempt.subject, key);
                match fate {
                    KeyFate::Abandon => {
                        if let Err(e) = p.idempotency.abandon(&attempt.scope, key).await {
                            tracing::warn!(error = %e, "idempotency key not released; it frees itself when its lease ends");
                        }
                        if attempt.journal_clean.load(Ordering::SeqCst) {
                            self.forget(order_id).await;
                        }
                    }
                    KeyFate::Keep => {
                        // The journal stays: a retry resumes it, or recovery settles it.
                        tracing::warn!(error = %error, "checkout outcome unknown; the key stays in progress until its lease ends");
                    }
                    KeyFate::Spend => {
                        // Every payment under the key was voided: nothing is left to settle.
                        self.finish(&attempt.scope, key, SPENT).await;
                        self.forget(order_id).await;
                    }
                }
                Err(error)
            }
        }
    }

    /// Removes an ended checkout from the journal (a leftover is settled by recovery).
    async fn forget(&self, order: OrderId) {
        if let Err(e) = self.ports.journal.remove(order).await {
            tracing::warn!(order = %order, error = %e, "checkout journal entry not removed; recovery will settle it");
        }
    }

    async fn finish(&self, scope: &str, key: &IdempotencyKey, result: &str) {
        let p = &self.ports;
        if let Err(e) = p
            .idempotency
            .complete(scope, key, result, p.clock.now(), self.config.idempotency_retention)
            .await
        {
            // A retry after the lease resumes and finds the order (AlreadyExists).
            tracing::warn!(error = %e, result, "checkout result not recorded for its idempotency key");
        }
    }

    /// Answers a completed key, to the caller that owns its order only.
    async fn replay(&self, result: &str, request: &CheckoutRequest) -> Result<Order, ShopError> {
        if result == SPENT {
            return Err(ShopError::IdempotencyKeyReused);
        }
        let id: OrderId =
            result.strip_prefix(ORDER_PREFIX).and_then(|id| id.parse().ok()).ok_or_else(|| {
                ShopError::Internal { message: "unreadable checkout idempotency record".into() }
            })?;
        let order = self.ports.orders.get(id).await?.ok_or_else(|| ShopError::Internal {
            message: format!("checkout completed with order {id}, which is missing"),
        })?;
        if owns(request, &order) { Ok(order) } else { Err(ShopError::IdempotencyKeyReused) }
    }

    async fn run(&self, attempt: &Attempt<'_>, now: DateTime<Utc>) -> Result<Order, Failure> {
        let p = &self.ports;
        let request = attempt.request;
        // 2. Price the cart exactly as the shopper saw it.
        let cart = p
            .carts
            .get(request.cart_id, now)
            .await
            .map_err(|e| fail(e, KeyFate::Abandon))?
            .filter(|c| request.access.allows(c))
            .ok_or_else(|| fail(ShopError::not_found("cart", request.cart_id), KeyFate::Abandon))?;
        let order_id = keys::checkout_order_id(&attempt.subject, &request.idempotency_key);
        if cart.status() == (&CartStatus::CheckedOut { order: order_id }) {
            // A previous attempt under this key got to the end but its result was not
            // recorded (a crash, a lost `complete`): this is its order.
            let order = self.existing(order_id).await?;
            return if owns(request, &order) {
                Ok(order)
            } else {
                Err(fail(ShopError::IdempotencyKeyReused, KeyFate::Abandon))
            };
        }
        cart.ensure_checkout_ready(now).map_err(|e| fail(e, KeyFate::Abandon))?;
        let priced = self.pricer.price(&cart, now).await.map_err(|e| fail(e, KeyFate::Abandon))?;
        ensure_deliverable(&cart, &priced).map_err(|e| fail(e, KeyFate::Abandon))?;
        if let Some(expected) = request.expected_total
            && expected != priced.quote.grand_total()
        {
            let error = ShopError::PriceChanged { expected, quote: Box::new(priced.quote) };
            return Err(fail(error, KeyFate::Abandon));
        }
        if let Some(rejected) = priced.quote.unapplied_coupons().first() {
            let error =
                ShopError::Coupon { code: rejected.code.clone(), reason: rejected.reason.clone() };
            return Err(fail(error, KeyFate::Abandon));
        }

        // 3. Ids from the caller and the key.
        let gateway_key = keys::authorization_key(order_id, &request.payment_method);
        let new_order = new_order(order_id, &cart, request, &priced, now)
            .map_err(|e| fail(e, KeyFate::Abandon))?;

        // The journal: what earlier attempts under this key left, and what this one takes.
        let mut progress = self.progress(attempt, order_id, &priced, now).await?;
        self.settle_other_payments(&mut progress, &gateway_key).await?;
        attempt.set_journal_clean(progress.payments.is_empty());
        self.save(&mut progress).await.map_err(|e| fail(e, KeyFate::Abandon))?;

        // 4. Usage-limited promotions.
        let mut held = Held { order_id, redeemed: Vec::new(), reservation: None };
        self.redeem(&priced, &mut held).await?;
        self.reached(CheckoutStep::Redeemed).await;

        // 5. Stock.
        let reservation = match self.reserve(attempt, &cart, now).await {
            Ok(r) => r,
            Err(e) => {
                let fate = if matches!(e, ShopError::Unavailable { .. }) {
                    KeyFate::Keep
                } else {
                    KeyFate::Abandon
                };
                self.release_promotions(&held).await;
                return Err(fail(e, fate));
            }
        };
        held.reservation = Some(&reservation);
        progress.reservation = Some(reservation.id);
        if let Err(e) = self.save(&mut progress).await {
            self.release_all(&held).await;
            return Err(fail(e, KeyFate::Abandon));
        }
        self.reached(CheckoutStep::Reserved).await;

        // 6. Payment.
        let grand_total = priced.quote.grand_total();
        if !grand_total.is_zero() && !progress.payments.iter().any(|p| p.gateway_key == gateway_key)
        {
            progress.payments.push(PendingPayment {
                gateway_key: gateway_key.clone(),
                amount: grand_total,
                payment_method: request.payment_method.clone(),
                email: Some(request.email.clone()),
            });
            if let Err(e) = self.save(&mut progress).await {
                self.release_all(&held).await;
                return Err(fail(e, KeyFate::Abandon));
            }
        }
        let authorization =
            match self.authorize(request, order_id, &gateway_key, grand_total, &held).await {
                Ok(authorization) => authorization,
                Err(failure) => {
                    // A refusal for this key holds nothing; with no other payment recorded,
                    // nothing is left to settle.
                    let only_this = progress.payments.iter().all(|p| p.gateway_key == gateway_key);
                    attempt.set_journal_clean(failure.fate != KeyFate::Keep && only_this);
                    return Err(failure);
                }
            };
        self.reached(CheckoutStep::Authorized).await;

        // 7. Order, stock committed first.
        let payment = Payment {
            reference: authorization.reference.clone(),
            authorized: authorization.amount,
            captured: Money::zero(grand_total.currency()),
            refunded: Money::zero(grand_total.currency()),
            voided: false,
        };
        let (order, event) = match Order::place(NewOrder { payment, ..new_order }) {
            Ok(placed) => placed,
            Err(e) => {
                self.void(&authorization, order_id).await;
                self.release_all(&held).await;
                return Err(fail(e, KeyFate::Spend));
            }
        };
        let placed = PlacedOrder {
            order,
            event: placed_event(order_id, event, now),
            gateway_key: gateway_key.clone(),
        };
        progress.placed = Some(placed.clone());
        if let Err(e) = self.save(&mut progress).await {
            self.void(&authorization, order_id).await;
            self.release_all(&held).await;
            return Err(fail(e, KeyFate::Spend));
        }
        let committed = self.commit(&reservation, &cart, now).await;
        let committed = match committed {
            Ok(r) => r,
            Err(Failure { error, fate: KeyFate::Keep }) => {
                self.release_all(&held).await;
                return Err(fail(error, KeyFate::Keep));
            }
            Err(Failure { error, .. }) => {
                self.void(&authorization, order_id).await;
                self.release_all(&held).await;
                return Err(fail(error, KeyFate::Spend));
            }
        };
        self.reached(CheckoutStep::Committed).await;
        let PlacedOrder { order, event: envelope, .. } = placed;
        let order = match p.orders.insert(&order, std::slice::from_ref(&envelope)).await {
            Ok(version) => {
                let mut order = order;
                order.set_version(version);
                order
            }
            Err(StoreError::AlreadyExists { .. }) => {
                // A concurrent twin (same key, after a lease takeover) placed it first. Give
                // back what only this attempt took: a reservation under a fresh id, an
                // authorization under another payment method's gateway key.
                let existing = self.existing(order_id).await?;
                if committed.id
                    != keys::checkout_reservation_id(&attempt.subject, &request.idempotency_key)
                {
                    self.restock(&committed).await;
                }
                if existing.payment().reference != authorization.reference {
                    self.void(&authorization, order_id).await;
                }
                existing
            }
            Err(e) => match p.orders.get(order_id).await {
                Ok(Some(existing)) => existing,
                Ok(None) => {
                    tracing::warn!(order = %order_id, error = %e, "order not written; voiding the authorization");
                    self.void(&authorization, order_id).await;
                    self.restock(&committed).await;
                    self.release_promotions(&held).await;
                    return Err(fail(e, KeyFate::Spend));
                }
                Err(read) => {
                    // The journal keeps the order: a retry or recovery writes it.
                    tracing::warn!(order = %order_id, error = %e, read_error = %read, "order write outcome unknown");
                    return Err(fail(e, KeyFate::Keep));
                }
            },
        };
        self.reached(CheckoutStep::Written).await;

        // 8. Close the cart.
        self.close_cart(request.cart_id, order.id()).await;
        self.reached(CheckoutStep::CartClosed).await;
        Ok(order)
    }

    /// The journal entry of this checkout: the one earlier attempts left, or a new one.
    async fn progress(
        &self,
        attempt: &Attempt<'_>,
        order_id: OrderId,
        priced: &PricedCart,
        now: DateTime<Utc>,
    ) -> Result<CheckoutProgress, Failure> {
        let earlier = self.ports.journal.get(order_id).await.map_err(|e| fail(e, KeyFate::Keep))?;
        let mut progress = earlier.unwrap_or_else(|| CheckoutProgress {
            order_id,
            scope: attempt.scope.clone(),
            idempotency_key: attempt.request.idempotency_key.clone(),
            fingerprint: attempt.fingerprint.clone(),
            cart: attempt.request.cart_id,
            redeemable: Vec::new(),
            reservation: None,
            payments: Vec::new(),
            placed: None,
            updated_at: now,
        });
        for limited in limited_promotions(priced).map(|applied| applied.id) {
            if !progress.redeemable.contains(&limited) {
                progress.redeemable.push(limited);
            }
        }
        Ok(progress)
    }

    async fn save(&self, progress: &mut CheckoutProgress) -> Result<(), StoreError> {
        progress.updated_at = self.ports.clock.now();
        self.ports.journal.save(progress).await
    }

    /// Voids what earlier attempts under this key authorized with another payment method
    /// (a retry with another card after a timeout): one charge per checkout.
    async fn settle_other_payments(
        &self,
        progress: &mut CheckoutProgress,
        gateway_key: &str,
    ) -> Result<(), Failure> {
        let mut kept = Vec::with_capacity(progress.payments.len());
        for payment in std::mem::take(&mut progress.payments) {
            if payment.gateway_key == gateway_key {
                kept.push(payment);
                continue;
            }
            match self.cancel_payment(progress.order_id, &payment).await {
                Ok(_) => {}
                Err(e) => {
                    kept.push(payment);
                    progress.payments.extend(kept);
                    return Err(fail(e, KeyFate::Keep));
                }
            }
        }
        progress.payments = kept;
        Ok(())
    }

    /// Asks the gateway again under the payment's key (which replays the authorization if
    /// it made one) and voids what it held. `Ok(true)` when something was voided.
    async fn cancel_payment(
        &self,
        order_id: OrderId,
        payment: &PendingPayment,
    ) -> Result<bool, ShopError> {
        let again = AuthorizeRequest {
            idempotency_key: payment.gateway_key.clone(),
            amount: payment.amount,
            payment_method: payment.payment_method.clone(),
            order_id,
            email: payment.email.clone(),
        };
        match self.ports.gateway.authorize(&again).await {
            Ok(authorization) => {
                self.ports
                    .gateway
                    .void(
                        &authorization.reference,
                        &keys::void_key(order_id, &authorization.reference),
                    )
                    .await?;
                Ok(true)
            }
            Err(PaymentError::Timeout | PaymentError::Unavailable { .. }) => {
                Err(ShopError::Payment(PaymentError::Unavailable {
                    message: "the gateway could not say whether an earlier payment holds money"
                        .into(),
                }))
            }
            // Declined or refused: nothing is held under this key.
            Err(_) => Ok(false),
        }
    }

    async fn existing(&self, id: OrderId) -> Result<Order, Failure> {
        match self.ports.orders.get(id).await {
            Ok(Some(order)) => Ok(order),
            Ok(None) => Err(fail(
                ShopError::Internal { message: format!("order {id} exists and cannot be read") },
                KeyFate::Keep,
            )),
            Err(e) => Err(fail(e, KeyFate::Keep)),
        }
    }

    async fn redeem(&self, priced: &PricedCart, held: &mut Held<'_>) -> Result<(), Failure> {
        for applied in limited_promotions(priced) {
            match self.ports.promotions.redeem(applied.id, held.order_id).await {
                Ok(()) => held.redeemed.push(applied.id),
                Err(e) => {
                    self.release_promotions(held).await;
                    let error = match e {
                        RedeemError::UsageLimitReached { promotion } => {
                            ShopError::PromotionUsedUp {
                                promotion,
                                name: applied.name.clone(),
                                coupon: applied.coupon.clone(),
                            }
                        }
                        other => other.into(),
                    };
                    return Err(fail(error, KeyFate::Abandon));
                }
            }
        }
        Ok(())
    }

    fn reservation_request(
        &self,
        id: ReservationId,
        cart: &Cart,
        now: DateTime<Utc>,
    ) -> ReservationRequest {
        ReservationRequest {
            id,
            location: self.config.location.clone(),
            lines: cart
                .lines()
                .iter()
                .map(|l| ReservationLine { sku: l.sku.clone(), quantity: l.quantity })
                .collect(),
            expires_at: now + self.config.reservation_ttl,
        }
    }

    /// Reserves under the key's reservation id; a released or expired one (an earlier
    /// attempt gave it back) is replaced under a fresh id.
    async fn reserve(
        &self,
        attempt: &Attempt<'_>,
        cart: &Cart,
        now: DateTime<Utc>,
    ) -> Result<Reservation, ShopError> {
        let inventory = &self.ports.inventory;
        let derived =
            keys::checkout_reservation_id(&attempt.subject, &attempt.request.idempotency_key);
        match inventory.reserve(&self.reservation_request(derived, cart, now)).await {
            Ok(r)
                if matches!(r.status, ReservationStatus::Active | ReservationStatus::Committed) =>
            {
                Ok(r)
            }
            Ok(_) | Err(InventoryError::ReservationClosed { .. }) => {
                let fresh = ReservationId::from_uuid(self.ports.ids.uuid());
                Ok(inventory.reserve(&self.reservation_request(fresh, cart, now)).await?)
            }
            // The cart changed since an earlier attempt under this key.
            Err(InventoryError::ReservationMismatch { .. }) => Err(ShopError::IdempotencyKeyReused),
            Err(e) => Err(e.into()),
        }
    }

    /// Commits the reservation; one that lapsed while the gateway answered is replaced by a
    /// fresh one and committed (or fails out of stock).
    async fn commit(
        &self,
        reservation: &Reservation,
        cart: &Cart,
        now: DateTime<Utc>,
    ) -> Result<Reservation, Failure> {
        let inventory = &self.ports.inventory;
        let unknown = |e: InventoryError| {
            let e = ShopError::from(e);
            let fate = if matches!(e, ShopError::Unavailable { .. }) {
                KeyFate::Keep
            } else {
                KeyFate::Spend
            };
            fail(e, fate)
        };
        match inventory.commit(reservation.id).await {
            Ok(r) => Ok(r),
            Err(InventoryError::ReservationClosed { .. }) => {
                let fresh = ReservationId::from_uuid(self.ports.ids.uuid());
                let again = inventory
                    .reserve(&self.reservation_request(fresh, cart, now))
                    .await
                    .map_err(unknown)?;
                inventory.commit(again.id).await.map_err(unknown)
            }
            Err(e) => Err(unknown(e)),
        }
    }

    async fn authorize(
        &self,
        request: &CheckoutRequest,
        order_id: OrderId,
        gateway_key: &str,
        amount: Money,
        held: &Held<'_>,
    ) -> Result<Authorization, Failure> {
        if amount.is_zero() {
            // A free order (a 100% discount): nothing to hold, and gateways refuse zero.
            return Ok(Authorization { reference: FREE_ORDER_PAYMENT.to_owned(), amount });
        }
        let authorize = AuthorizeRequest {
            idempotency_key: gateway_key.to_owned(),
            amount,
            payment_method: request.payment_method.clone(),
            order_id,
            email: Some(request.email.clone()),
        };
        match self.ports.gateway.authorize(&authorize).await {
            Ok(authorization) if authorization.amount == amount => Ok(authorization),
            Ok(stale) => {
                // An earlier attempt under this key authorized another amount: the cart
                // changed in between. Void it; the key cannot place this cart.
                tracing::warn!(order = %order_id, "authorization amount differs from the quote; voiding it");
                self.void(&stale, order_id).await;
                self.release_all(held).await;
                Err(fail(ShopError::IdempotencyKeyReused, KeyFate::Spend))
            }
            Err(e) => {
                self.release_all(held).await;
                let fate = match e {
                    PaymentError::Timeout | PaymentError::Unavailable { .. } => KeyFate::Keep,
                    PaymentError::Declined { .. }
                    | PaymentError::InvalidPaymentMethod { .. }
                    | PaymentError::UnknownPayment { .. }
                    | PaymentError::InvalidState { .. } => KeyFate::Abandon,
                };
                Err(fail(e, fate))
            }
        }
    }

    async fn void(&self, authorization: &Authorization, order_id: OrderId) {
        if authorization.amount.is_zero() {
            return;
        }
        if let Err(e) = self
            .ports
            .gateway
            .void(&authorization.reference, &keys::void_key(order_id, &authorization.reference))
            .await
        {
            tracing::error!(order = %order_id, error = %e, "authorization not voided; it lapses at the gateway");
        }
    }

    async fn release_all(&self, held: &Held<'_>) {
        if let Some(reservation) = held.reservation
            && let Err(e) = self.ports.inventory.release(reservation.id).await
        {
            tracing::warn!(reservation = %reservation.id, error = %e, "reservation not released; it expires by itself");
        }
        self.release_promotions(held).await;
    }

    async fn release_promotions(&self, held: &Held<'_>) {
        for id in &held.redeemed {
            if let Err(e) = self.ports.promotions.release(*id, held.order_id).await {
                tracing::warn!(promotion = %id, order = %held.order_id, error = %e, "promotion redemption not released");
            }
        }
    }

    /// Gives committed stock back after the order could not be written.
    /// Gives committed stock back after the order could not be written, once per
    /// reservation and SKU whatever the retries (keyed adjustments).
    async fn restock(&self, committed: &Reservation) {
        for line in &committed.lines {
            let adjustment = StockAdjustment {
                id: AdjustmentId::from_uuid(keys::derive(&[
                    "checkout-restock",
                    &committed.id.to_string(),
                    line.sku.as_str(),
                ])),
                sku: line.sku.clone(),
                location: committed.location.clone(),
                delta: i64::from(line.quantity.get()),
            };
            if let Err(e) = self.ports.inventory.adjust_once(&adjustment).await {
                tracing::error!(sku = %line.sku, reservation = %committed.id, error = %e, "stock not given back; correct it by hand");
            }
        }
    }

    async fn close_cart(&self, cart_id: CartId, order: OrderId) {
        for _ in 0..MAX_ATTEMPTS {
            let now = self.ports.clock.now();
            let mut cart = match self.ports.carts.get(cart_id, now).await {
                Ok(Some(cart)) => cart,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(cart = %cart_id, error = %e, "cart not closed after checkout");
                    return;
                }
            };
            if cart.mark_checked_out(order, now).is_err() {
                return;
            }
            match self.ports.carts.save(&cart).await {
                Ok(_) => return,
                Err(StoreError::VersionConflict { .. }) => {}
                Err(e) => {
                    tracing::warn!(cart = %cart_id, error = %e, "cart not closed after checkout");
                    return;
                }
            }
        }
        tracing::warn!(cart = %cart_id, "cart kept changing; not closed after checkout");
    }
}

/// What one [`CheckoutService::recover`] round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Checkouts finished: their order is written, the cart closed, the key completed.
    pub finished: usize,
    /// Checkouts undone: payments voided, stock and promotions given back, key freed.
    pub undone: usize,
    /// Checkouts another attempt is working on right now (left alone).
    pub busy: usize,
    /// Checkouts that could not be settled now (a backend down); the next round retries.
    pub failed: usize,
}

impl RecoveryReport {
    /// How many checkouts this round settled.
    pub fn settled(&self) -> usize {
        self.finished + self.undone
    }
}

/// How one stale checkout was settled.
enum Settled {
    Finished,
    Undone,
    Busy,
}

impl CheckoutService {
    /// Settles checkouts that made no progress for
    /// [`recovery_after`](CheckoutConfig::recovery_after) (a crash, a killed task, a client
    /// that never retried after a timeout), at most `limit` per round. Run it from a
    /// background worker.
    ///
    /// - A checkout whose order was written, or whose stock was committed to its ready
    ///   order, is **finished**: the order is written (once), the cart closed, the key
    ///   completed with the order.
    /// - Any other is **undone**: every payment it asked for is asked again under its
    ///   gateway key (which reveals an authorization the gateway made) and voided, the
    ///   reservation released, the redemptions given back, the key freed (spent when a
    ///   payment was voided).
    ///
    /// Each is first claimed through its idempotency key, so a live attempt is left alone.
    ///
    /// # Errors
    /// [`ShopError::Unavailable`] when the journal cannot be read; a checkout that cannot
    /// be settled is counted in [`RecoveryReport::failed`] and retried next round.
    pub async fn recover(&self, limit: usize) -> Result<RecoveryReport, ShopError> {
        let now = self.ports.clock.now();
        let stale = self.ports.journal.stale(now - self.config.recovery_after, limit).await?;
        let mut report = RecoveryReport::default();
        for progress in stale {
            let order = progress.order_id;
            match self.settle(progress, now).await {
                Ok(Settled::Finished) => report.finished += 1,
                Ok(Settled::Undone) => report.undone += 1,
                Ok(Settled::Busy) => report.busy += 1,
                Err(e) => {
                    tracing::warn!(order = %order, error = %e, "stale checkout not settled; retried next round");
                    report.failed += 1;
                }
            }
        }
        if report.settled() > 0 {
            tracing::info!(
                finished = report.finished,
                undone = report.undone,
                "stale checkouts settled"
            );
        }
        Ok(report)
    }

    async fn settle(
        &self,
        progress: CheckoutProgress,
        now: DateTime<Utc>,
    ) -> Result<Settled, ShopError> {
        let p = &self.ports;
        let key = &progress.idempotency_key;
        match p
            .idempotency
            .begin(&progress.scope, key, &progress.fingerprint, now, self.config.idempotency_lease)
            .await?
        {
            IdempotencyBegin::Started => {}
            IdempotencyBegin::InProgress => return Ok(Settled::Busy),
            IdempotencyBegin::Completed(_) | IdempotencyBegin::Mismatch => {
                // An attempt ended it and cleaned up (its journal entry was not removed).
                p.journal.remove(progress.order_id).await?;
                return Ok(Settled::Finished);
            }
        }
        let order = match p.orders.get(progress.order_id).await? {
            Some(order) => Some(order),
            None => self.write_if_committed(&progress).await?,
        };
        if let Some(order) = order {
            // Forward: the sale happened. Void what other payment methods held (the
            // order's own payment is the one its ready version names).
            let paid_with = progress.placed.as_ref().map(|p| p.gateway_key.as_str());
            for payment in &progress.payments {
                if paid_with.is_some_and(|key| key != payment.gateway_key) {
                    self.cancel_payment(order.id(), payment).await?;
                }
            }
            self.close_cart(progress.cart, order.id()).await;
            let result = format!("{ORDER_PREFIX}{}", order.id());
            self.finish(&progress.scope, key, &result).await;
            p.journal.remove(progress.order_id).await?;
            return Ok(Settled::Finished);
        }
        // Backward: undo everything this checkout may hold.
        let mut voided = false;
        for payment in &progress.payments {
            voided |= self.cancel_payment(progress.order_id, payment).await?;
        }
        if let Some(id) = progress.reservation
            && let Some(reservation) = p.inventory.reservation(id).await?
            && reservation.status == ReservationStatus::Active
        {
            p.inventory.release(id).await?;
        }
        for promotion in &progress.redeemable {
            p.promotions.release(*promotion, progress.order_id).await?;
        }
        if voided {
            self.finish(&progress.scope, key, SPENT).await;
        } else {
            p.idempotency.abandon(&progress.scope, key).await?;
        }
        p.journal.remove(progress.order_id).await?;
        Ok(Settled::Undone)
    }

    /// Writes the journal's ready order when its stock was committed (a crash between the
    /// commit and the write); `None` when the checkout never got that far.
    async fn write_if_committed(
        &self,
        progress: &CheckoutProgress,
    ) -> Result<Option<Order>, ShopError> {
        let (Some(placed), Some(reservation)) = (&progress.placed, progress.reservation) else {
            return Ok(None);
        };
        let committed = self
            .ports
            .inventory
            .reservation(reservation)
            .await?
            .is_some_and(|r| r.status == ReservationStatus::Committed);
        if !committed {
            return Ok(None);
        }
        match self.ports.orders.insert(&placed.order, std::slice::from_ref(&placed.event)).await {
            Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(self.ports.orders.get(placed.order.id()).await?)
    }
}

/// The order a priced cart becomes (its payment is filled in after authorization).
fn new_order(
    id: OrderId,
    cart: &Cart,
    request: &CheckoutRequest,
    priced: &PricedCart,
    now: DateTime<Utc>,
) -> Result<NewOrder, ShopError> {
    let quote = &priced.quote;
    let currency = quote.currency();
    let lines = quote
        .lines()
        .iter()
        .map(|q| {
            let resolved = priced.line(&q.sku).ok_or_else(|| ShopError::Internal {
                message: format!("quoted SKU {} was not resolved", q.sku),
            })?;
            Ok(OrderLine {
                id: q.line_id,
                product_id: resolved.line.product_id,
                sku: q.sku.clone(),
                title: resolved.title.clone(),
                quantity: q.quantity,
                unit_price: q.unit_price,
                subtotal: q.subtotal,
                discount: q.discount,
                tax: q.tax,
                total: q.total,
                fulfilled: 0,
                refunded: 0,
            })
        })
        .collect::<Result<Vec<_>, ShopError>>()?;
    let zero = Money::zero(currency);
    Ok(NewOrder {
        id,
        cart_id: cart.id(),
        customer: cart.customer(),
        email: request.email.clone(),
        currency,
        lines,
        totals: OrderTotals::from(quote),
        shipping_address: cart.shipping_address().cloned(),
        shipping_method: cart.shipping_method().cloned(),
        coupons: quote.applied_promotions().iter().filter_map(|a| a.coupon.clone()).collect(),
        payment: Payment {
            reference: String::new(),
            authorized: zero,
            captured: zero,
            refunded: zero,
            voided: false,
        },
        placed_at: now,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::Duration;

    use super::*;
    use crate::cart::CartStatus;
    use crate::events::DomainEvent;
    use crate::inventory::InventoryError;
    use crate::pricing::CouponRejection;
    use crate::services::test_support::*;

    fn ok_authorization(request: &AuthorizeRequest) -> Result<Authorization, PaymentError> {
        Ok(Authorization { reference: "pi_mock".into(), amount: request.amount })
    }

    #[tokio::test]
    async fn checkout_places_the_quoted_order_and_replays_it_for_the_same_key() {
        let world = World::new();
        let shop = world.shop();
        let (cart, access) = world.guest_cart(&[("TEE", 2), ("MUG", 1)]).await;
        shop.carts().apply_coupon(cart.id(), &access, coupon("save10")).await.unwrap();
        let quote = shop.carts().quote(cart.id(), &access).await.unwrap();

        let order = shop.checkout().checkout(request(&cart, &access, "k-1")).await.unwrap();

        assert_eq!(order.totals().grand_total, quote.grand_total());
        assert_eq!(order.totals().grand_total, usd(48_00 - 4_80 + 5_00));
        assert_eq!(order.lines().len(), 2);
        assert_eq!(order.lines()[0].title, "Tee / TEE variant");
        assert_eq!(order.coupons(), &[coupon("SAVE10")]);
        assert_eq!(world.inventory.level("TEE"), (8, 0), "stock committed, nothing left reserved");
        assert_eq!(world.inventory.level("MUG"), (2, 0));
        assert_eq!(world.promotions.redeemed(ten_percent("X", 1).id()), 1);
        assert!(
            matches!(world.carts.stored(cart.id()).unwrap().status(), CartStatus::CheckedOut { order: o } if *o == order.id())
        );
        let placed: Vec<_> = world
            .outbox
            .entries()
            .into_iter()
            .filter(|e| e.envelope.event.kind() == "order_placed")
            .collect();
        assert_eq!(placed.len(), 1);
        assert_eq!(
            world.idempotency.state(&keys::checkout_scope(&access.subject()), &key("k-1")),
            Some("completed")
        );

        let again = shop.checkout().checkout(request(&cart, &access, "k-1")).await.unwrap();
        assert_eq!(again.id(), order.id());
        assert_eq!(world.gateway.authorized.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(world.orders.all().len(), 1);
    }

    #[tokio::test]
    async fn twenty_concurrent_retries_with_one_key_place_one_order_and_one_authorization() {
        let world = World::new();
        let shop = world.shop();
        let (cart, access) = world.guest_cart(&[("TEE", 3)]).await;

        let attempts =
            (0..20).map(|_| shop.checkout().checkout(request(&cart, &access, "same-key")));
        let results = futures::future::join_all(attempts).await;

        let placed: Vec<OrderId> =
            results.iter().filter_map(|r| r.as_ref().ok().map(Order::id)).collect();
        assert!(!placed.is_empty());
        assert!(placed.iter().all(|id| *id == placed[0]));
        assert!(results.iter().all(|r| matches!(r, Ok(_) | Err(ShopError::CheckoutInProgress))));
        assert!(
            results.iter().any(|r| matches!(r, Err(ShopError::CheckoutInProgress))),
            "the attempts overlapped"
        );
        assert_eq!(world.orders.all().len(), 1);
        assert_eq!(world.gateway.authorized.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(world.inventory.level("TEE"), (7, 0), "stock taken once");
    }

    #[tokio::test]
    async fn a_coupon_that_expired_since_it_was_applied_fails_the_checkout_before_anything_is_taken()
     {
        let world = World::new();
        let expiring = crate::pricing::Promotion::builder(
            PromotionId::from_uuid(uuid::Uuid::from_u128(77)),
            "Happy hour",
            crate::pricing::PromotionKind::Percentage(20.into()),
        )
        .coupon(coupon("HAPPY"))
        .ends_at(start() + Duration::hours(1))
        .build()
        .unwrap();
        world.promotions.upsert(&expiring).await.unwrap();
        let shop = world.shop();
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;
        shop.carts().apply_coupon(cart.id(), &access, coupon("HAPPY")).await.unwrap();
        world.clock.advance(Duration::hours(2));

        let err = shop.checkout().checkout(request(&cart, &access, "k-1")).await.unwrap_err();

        assert!(
            matches!(err, ShopError::Coupon { ref code, reason: CouponRejection::Expired { .. } } if code.as_str() == "HAPPY")
        );
        assert_eq!(world.inventory.reserve_calls.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(world.gateway.authorized.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(
            world.idempotency.state(&keys::checkout_scope(&access.subject()), &key("k-1")),
            None,
            "the key is free for a corrected retry"
        );
    }

    #[tokio::test]
    async fn checkout_fails_when_stock_runs_out_and_releases_the_redemption() {
        let world = World::new();
        let shop = world.shop();
        let (cart, access) = world.guest_cart(&[("TEE", 1), ("MUG", 3)]).await;
        shop.carts().apply_coupon(cart.id(), &access, coupon("SAVE10")).await.unwrap();
        world.inventory.adjust(&sku("MUG"), &LocationId::main(), -2).await.unwrap();

        let err = shop.checkout().checkout(request(&cart, &access, "k-1")).await.unwrap_err();

        let ShopError::Inventory(InventoryError::OutOfStock { sku: short, requested, available }) =
            err
        else {
            panic!("expected out of stock, got {err:?}");
        };
        assert_eq!((short.as_str(), requested, available), ("MUG", 3, 1));
        assert_eq!(world.inventory.level("TEE"), (10, 0), "all or nothing");
        assert_eq!(world.promotions.redeemed(ten_percent("X", 1).id()), 0);
        assert!(world.orders.all().is_empty());
        assert_eq!(
            world.idempotency.state(&keys::checkout_scope(&access.subject()), &key("k-1")),
            None
        );
    }

    #[tokio::test]
    async fn a_declined_payment_releases_the_reservation_and_the_redemption_and_places_no_order() {
        let world = World::new();
        let keys_seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut gateway = MockGateway::new();
        let seen = keys_seen.clone();
        gateway.expect_authorize().times(2).returning(move |r| {
            seen.lock().unwrap().push(r.idempotency_key.clone());
            if r.payment_method == visa() {
                Err(PaymentError::Declined { code: "card_declined".into() })
            } else {
                ok_authorization(r)
            }
        });
        gateway.expect_void().never();
        let checkout = world.checkout_with(Arc::new(gateway), world.orders.clone());
        let (cart, access) = world.guest_cart(&[("TEE", 2)]).await;
        world.shop().carts().apply_coupon(cart.id(), &access, coupon("SAVE10")).await.unwrap();

        let err = checkout.checkout(request(&cart, &access, "k-1")).await.unwrap_err();

        assert!(matches!(err, ShopError::Payment(PaymentError::Declined { .. })));
        assert_eq!(world.inventory.level("TEE"), (10, 0), "reservation released");
        assert!(
            world.inventory.reservations().iter().all(|r| r.status == ReservationStatus::Released)
        );
        assert_eq!(world.promotions.redeemed(ten_percent("X", 1).id()), 0, "redemption released");
        assert!(world.orders.all().is_empty());
        assert_eq!(
            world.idempotency.state(&keys::checkout_scope(&access.subject()), &key("k-1")),
            None
        );

        // The same key with another card goes through, under another gateway key.
        let mut retry = request(&cart, &access, "k-1");
        retry.payment_method = PaymentMethodToken("pm_card_amex".into());
        let order = checkout.checkout(retry).await.unwrap();
        assert_eq!(order.payment().reference, "pi_mock");
        let seen = keys_seen.lock().unwrap().clone();
        assert_ne!(seen[0], seen[1]);
        assert_eq!(world.inventory.level("TEE"), (8, 0));
    }

    #[tokio::test]
    async fn a_gateway_timeout_keeps_the_key_and_a_retry_after_the_lease_reuses_the_gateway_key() {
        let world = World::new();
        let keys_seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut gateway = MockGateway::new();
        let seen = keys_seen.clone();
        gateway.expect_authorize().times(2).returning(move |r| {
            let mut seen = seen.lock().unwrap();
            seen.push(r.idempotency_key.clone());
            if seen.len() == 1 { Err(PaymentError::Timeout) } else { ok_authorization(r) }
        });
        let checkout = world.checkout_with(Arc::new(gateway), world.orders.clone());
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;

        let err = checkout.checkout(request(&cart, &access, "k-1")).await.unwrap_err();
        assert!(matches!(err, ShopError::Payment(PaymentError::Timeout)) && err.is_retryable());
        assert_eq!(
            world.idempotency.state(&keys::checkout_scope(&access.subject()), &key("k-1")),
            Some("in_progress")
        );
        assert_eq!(world.inventory.level("TEE"), (10, 0), "nothing held for an unknown outcome");

        let early = checkout.checkout(request(&cart, &access, "k-1")).await.unwrap_err();
        assert!(matches!(early, ShopError::CheckoutInProgress));

        world.clock.advance(Duration::seconds(31));
        let order = checkout.checkout(request(&cart, &access, "k-1")).await.unwrap();

        let seen = keys_seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0], seen[1], "the retry asks the gateway with the same key");
        assert_eq!(order.id(), keys::checkout_order_id(&access.subject(), &key("k-1")));
        assert_eq!(world.inventory.level("TEE"), (9, 0));
    }

    #[tokio::test]
    async fn a_failed_order_write_voids_the_authorization_and_gives_everything_back() {
        let world = World::new();
        let mut gateway = MockGateway::new();
        gateway.expect_authorize().times(1).returning(ok_authorization);
        gateway
            .expect_void()
            .withf(|reference, _| reference == "pi_mock")
            .times(1)
            .returning(|_, _| Ok(()));
        let mut orders = MockOrders::new();
        orders.expect_insert().times(1).returning(|_, _| Err(unavailable()));
        orders.expect_get().times(1).returning(|_| Ok(None));
        let checkout = world.checkout_with(Arc::new(gateway), Arc::new(orders));
        let (cart, access) = world.guest_cart(&[("TEE", 2)]).await;
        world.shop().carts().apply_coupon(cart.id(), &access, coupon("SAVE10")).await.unwrap();

        let err = checkout.checkout(request(&cart, &access, "k-1")).await.unwrap_err();

        assert!(matches!(err, ShopError::Unavailable { .. }));
        assert_eq!(world.inventory.level("TEE"), (10, 0), "committed stock given back");
        assert_eq!(world.promotions.redeemed(ten_percent("X", 1).id()), 0);
        assert_eq!(world.carts.stored(cart.id()).unwrap().status(), &CartStatus::Open);
        let spent = checkout.checkout(request(&cart, &access, "k-1")).await.unwrap_err();
        assert!(
            matches!(spent, ShopError::IdempotencyKeyReused),
            "its gateway key names a voided payment"
        );
    }

    #[tokio::test]
    async fn an_order_written_by_a_concurrent_twin_is_returned_instead() {
        let world = World::new();
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;
        let twin = world.shop().checkout().checkout(request(&cart, &access, "k-1")).await.unwrap();
        // The twin's attempt placed the order, then its key record was lost (lease ran out).
        world
            .idempotency
            .abandon(&keys::checkout_scope(&access.subject()), &key("k-1"))
            .await
            .unwrap();
        let mut reopened = world.carts.stored(cart.id()).unwrap();
        reopened = serde_json::from_value({
            let mut json = serde_json::to_value(&reopened).unwrap();
            json["status"] = serde_json::json!({ "state": "open" });
            json
        })
        .unwrap();
        world.carts.save(&reopened).await.unwrap();

        let order = world.shop().checkout().checkout(request(&cart, &access, "k-1")).await.unwrap();

        assert_eq!(order.id(), twin.id());
        assert_eq!(world.orders.all().len(), 1);
        assert_eq!(
            world.inventory.level("TEE"),
            (9, 0),
            "the shared reservation was committed once"
        );
        assert_eq!(world.gateway.authorized.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_checkout_whose_result_was_not_recorded_resumes_to_its_order() {
        let world = World::new();
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;
        let shop = world.shop();
        let placed = shop.checkout().checkout(request(&cart, &access, "k-1")).await.unwrap();
        // The process died after closing the cart, before recording the key's result; the
        // record's lease ran out.
        world
            .idempotency
            .abandon(&keys::checkout_scope(&access.subject()), &key("k-1"))
            .await
            .unwrap();

        let resumed = shop.checkout().checkout(request(&cart, &access, "k-1")).await.unwrap();

        assert_eq!(resumed.id(), placed.id());
        assert_eq!(
            world.idempotency.state(&keys::checkout_scope(&access.subject()), &key("k-1")),
            Some("completed")
        );
        assert_eq!(world.gateway.authorized.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(world.inventory.level("TEE"), (9, 0));
    }

    #[tokio::test]
    async fn only_the_carts_owner_can_check_it_out_and_keys_belong_to_their_caller() {
        let world = World::new();
        let shop = world.shop();
        let (cart, _) = world.guest_cart(&[("TEE", 1)]).await;
        let stranger = CartAccess::Token(crate::ids::CartToken::new(&"ef".repeat(32)).unwrap());

        let err = shop.checkout().checkout(request(&cart, &stranger, "k-1")).await.unwrap_err();
        assert!(matches!(err, ShopError::NotFound { entity: "cart", .. }));

        // Two shoppers who pick the same key each get their own order: keys are per caller,
        // so no record lapsing can ever hand one the other's order (email, address).
        let (mine, access) = world.guest_cart(&[("MUG", 1)]).await;
        let my_order = shop.checkout().checkout(request(&mine, &access, "k-2")).await.unwrap();
        let (theirs, their_access) = world.guest_cart(&[("MUG", 1)]).await;
        let their_order =
            shop.checkout().checkout(request(&theirs, &their_access, "k-2")).await.unwrap();
        assert_ne!(my_order.id(), their_order.id());
        assert_eq!(their_order.cart_id(), theirs.id());
        let replayed = shop.checkout().checkout(request(&mine, &access, "k-2")).await.unwrap();
        assert_eq!(replayed.id(), my_order.id(), "each caller's replay is their own order");
    }

    #[tokio::test]
    async fn a_customer_key_belongs_to_one_cart_and_a_replay_never_shows_another_callers_order() {
        let world = World::new();
        let shop = world.shop();
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;
        let order = shop.checkout().checkout(request(&cart, &access, "k-1")).await.unwrap();
        // The same caller and key for another cart is another request.
        let (other, _) = world.guest_cart(&[("MUG", 1)]).await;
        let other_cart_same_key = shop
            .checkout()
            .checkout(CheckoutRequest { cart_id: other.id(), ..request(&cart, &access, "k-1") })
            .await
            .unwrap_err();
        assert!(matches!(other_cart_same_key, ShopError::IdempotencyKeyReused));

        // A stored result is only replayed to the order's owner.
        let stranger = CheckoutRequest {
            access: CartAccess::Customer(crate::ids::CustomerId::from_uuid(uuid::Uuid::from_u128(
                9,
            ))),
            ..request(&cart, &access, "k-1")
        };
        let result = format!("{ORDER_PREFIX}{}", order.id());
        let refused = shop.checkout().replay(&result, &stranger).await.unwrap_err();
        assert!(matches!(refused, ShopError::IdempotencyKeyReused));
    }

    #[tokio::test]
    async fn a_product_made_physical_after_it_was_added_needs_delivery_at_checkout() {
        let world = World::new();
        let mut ebook = product(90, "Ebook", &[("EBOOK", 9_00)]);
        ebook.variants[0].shipping = crate::catalog::ShippingRequirement::NotRequired;
        let version = world.products.insert(&ebook).await.unwrap();
        world
            .inventory
            .set_stock(
                &sku("EBOOK"),
                &LocationId::main(),
                10,
                crate::inventory::BackorderPolicy::Deny,
            )
            .await
            .unwrap();
        let shop = world.shop();
        let cart = shop.carts().create_guest_cart(crate::money::Currency::USD).await.unwrap();
        let access = CartAccess::Token(cart.token().clone());
        shop.carts().add_line(cart.id(), &access, sku("EBOOK"), qty(1)).await.unwrap();
        ebook.variants[0].shipping = crate::catalog::ShippingRequirement::Required;
        ebook.version = version;
        world.products.update(&ebook).await.unwrap();

        let err = shop.checkout().checkout(request(&cart, &access, "k-1")).await.unwrap_err();

        assert!(
            matches!(err, ShopError::Cart(CartError::ShippingAddressRequired { .. })),
            "{err:?}"
        );
        assert_eq!(world.gateway.authorized.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn an_authorization_whose_answer_was_lost_is_voided_by_recovery_even_if_the_retry_fails()
    {
        let world = World::new();
        let calls = Arc::new(Mutex::new(0));
        let mut gateway = MockGateway::new();
        let seen = calls.clone();
        gateway.expect_authorize().times(2).returning(move |r| {
            let mut n = seen.lock().unwrap();
            *n += 1;
            // The first answer is lost on the way back; asked again, the gateway tells.
            if *n == 1 { Err(PaymentError::Timeout) } else { ok_authorization(r) }
        });
        gateway
            .expect_void()
            .withf(|reference, _| reference == "pi_mock")
            .times(1)
            .returning(|_, _| Ok(()));
        let checkout = world.checkout_with(Arc::new(gateway), world.orders.clone());
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;

        let lost = checkout.checkout(request(&cart, &access, "k-1")).await.unwrap_err();
        world.inventory.adjust(&sku("TEE"), &LocationId::main(), -10).await.unwrap();
        world.clock.advance(Duration::seconds(31));
        let retried = checkout.checkout(request(&cart, &access, "k-1")).await.unwrap_err();
        world.clock.advance(Duration::minutes(6));
        let report = checkout.recover(10).await.unwrap();

        assert!(matches!(lost, ShopError::Payment(PaymentError::Timeout)));
        assert!(matches!(retried, ShopError::Inventory(InventoryError::OutOfStock { .. })));
        assert_eq!(report, RecoveryReport { undone: 1, ..RecoveryReport::default() });
        assert!(
            world
                .journal
                .stale(world.clock.now() + Duration::days(1), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(world.orders.all().is_empty());
    }

    #[tokio::test]
    async fn a_retry_with_another_card_voids_what_the_first_card_may_hold() {
        let world = World::new();
        let mut gateway = MockGateway::new();
        let first_answers = Arc::new(Mutex::new(0));
        let seen = first_answers.clone();
        gateway.expect_authorize().times(3).returning(move |r| {
            if r.payment_method == visa() {
                let mut n = seen.lock().unwrap();
                *n += 1;
                if *n == 1 {
                    return Err(PaymentError::Timeout);
                }
                return Ok(Authorization { reference: "pi_visa".into(), amount: r.amount });
            }
            Ok(Authorization { reference: "pi_amex".into(), amount: r.amount })
        });
        gateway
            .expect_void()
            .withf(|reference, _| reference == "pi_visa")
            .times(1)
            .returning(|_, _| Ok(()));
        let checkout = world.checkout_with(Arc::new(gateway), world.orders.clone());
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;

        let lost = checkout.checkout(request(&cart, &access, "k-1")).await.unwrap_err();
        world.clock.advance(Duration::seconds(31));
        let mut amex = request(&cart, &access, "k-1");
        amex.payment_method = PaymentMethodToken("pm_card_amex".into());
        let order = checkout.checkout(amex).await.unwrap();

        assert!(matches!(lost, ShopError::Payment(PaymentError::Timeout)));
        assert_eq!(order.payment().reference, "pi_amex", "one hold: the new card's");
        assert!(
            world
                .journal
                .stale(world.clock.now() + Duration::days(1), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn the_order_placed_event_carries_the_totals_and_a_key_derived_id() {
        let world = World::new();
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;
        let order = world.shop().checkout().checkout(request(&cart, &access, "k-1")).await.unwrap();
        let entry = world
            .outbox
            .entries()
            .into_iter()
            .find(|e| e.envelope.event.kind() == "order_placed")
            .unwrap();
        assert_eq!(entry.envelope.id, keys::event_id("order_placed", &order.id().to_string()));
        let DomainEvent::OrderPlaced { total, shipping, .. } = entry.envelope.event else {
            unreachable!()
        };
        assert_eq!((total, shipping), (usd(25_00), usd(5_00)));
    }
}

//! The shopper's cart: lines, coupons, delivery, quote, sign-in merge, abandoned carts.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cart::{Cart, CartPolicy, CartStatus};
use crate::customers::Address;
use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::{CartId, CartToken, CouponCode, CustomerId, LineId, ShippingMethodId, Sku};
use crate::money::{Currency, Money};
use crate::ports::{
    CartQuery, CartStore, Clock, IdGenerator, OutboxStore, ProductRepository, PromotionRepository,
    StoreError,
};
use crate::pricing::{Quote, QuotedShipping, check_coupon};
use crate::quantity::Quantity;

use super::MAX_ATTEMPTS;
use super::access::CartAccess;
use super::error::ShopError;
use super::keys;
use super::quoting::CartPricer;

/// Where and how to ship a cart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// The destination (validated; its region selects tax and shipping rates).
    pub address: Option<Address>,
    /// One of the shop's shipping methods that serves the destination.
    pub method: Option<ShippingMethodId>,
}

/// A shipping method that can ship a cart, priced for it
/// ([`CartService::shipping_options`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShippingOption {
    /// The method and what it would cost this cart, exactly as the cart's quote would show
    /// it with the method chosen: `price` after the free-over threshold, `discount` from
    /// free-shipping promotions, `tax`, and `total`.
    pub shipping: QuotedShipping,
    /// The discounted merchandise total from which the method ships free, if it does.
    pub free_over: Option<Money>,
}

/// A cart with what it costs now, priced in one pass ([`CartService::with_quote`]): what a
/// storefront answers to every cart call, totals included, as Shopify's and Medusa's carts
/// carry theirs.
#[derive(Debug)]
#[non_exhaustive]
pub struct QuotedCart {
    /// The cart.
    pub cart: Cart,
    /// Its quote now, exactly as [`CartService::quote`] gives it; or why the cart cannot be
    /// priced now (a line no longer sold in its currency, a shipping method that cannot
    /// ship it, a backend outage): the error says what to change. The cart is there either
    /// way, so a change that was saved is never reported as failed.
    pub quote: Result<Quote, ShopError>,
}

/// Carts: create, read (with access checks), change, price, merge on sign-in, and the
/// abandoned-cart sweep.
///
/// Every change loads the cart, applies the change to the aggregate and saves it with its
/// version; a concurrent change (`VersionConflict`) is retried up to three times on a
/// fresh copy (the change is re-applied, never the stale cart saved), then reported as
/// [`ShopError::Conflict`].
#[derive(Clone)]
pub struct CartService {
    carts: Arc<dyn CartStore>,
    pricer: CartPricer,
    outbox: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    policy: CartPolicy,
}

impl std::fmt::Debug for CartService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CartService").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl CartService {
    /// A cart service. `outbox` receives `CartAbandoned` events from the sweep.
    pub fn new(
        carts: Arc<dyn CartStore>,
        products: Arc<dyn ProductRepository>,
        promotions: Arc<dyn PromotionRepository>,
        outbox: Arc<dyn OutboxStore>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        policy: CartPolicy,
    ) -> Self {
        CartService {
            carts,
            pricer: CartPricer::new(products, promotions),
            outbox,
            clock,
            ids,
            policy,
        }
    }

    /// The limits this service enforces.
    pub fn policy(&self) -> &CartPolicy {
        &self.policy
    }

    /// A new guest cart. Hand `cart.token()` to the client: it is the cart's only key.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn create_guest_cart(&self, currency: Currency) -> Result<Cart, ShopError> {
        self.create(None, currency).await
    }

    /// The customer's open cart in `currency`, or a new one when they have none. An open
    /// cart in another currency is switched to `currency`, as [`CartService::set_currency`]
    /// does: the shopper asked for prices in it.
    ///
    /// # Errors
    /// As [`CartService::set_currency`] for an open cart in another currency (a line not
    /// sold in `currency` is [`ShopError::NoPriceInCurrency`]); storage errors.
    pub async fn cart_for_customer(
        &self,
        customer: CustomerId,
        currency: Currency,
    ) -> Result<Cart, ShopError> {
        match self.carts.open_cart_of(customer, self.clock.now()).await? {
            Some(cart) if cart.currency() == currency => Ok(cart),
            Some(cart) => {
                self.set_currency(cart.id(), &CartAccess::Customer(customer), currency).await
            }
            None => self.create(Some(customer), currency).await,
        }
    }

    async fn create(
        &self,
        customer: Option<CustomerId>,
        currency: Currency,
    ) -> Result<Cart, ShopError> {
        let id = CartId::from_uuid(self.ids.uuid());
        let mut cart = Cart::new(
            id,
            self.ids.cart_token(),
            customer,
            currency,
            self.clock.now(),
            &self.policy,
        );
        let version = self.carts.save(&cart).await?;
        cart.set_version(version);
        Ok(cart)
    }

    /// A cart the caller may see.
    ///
    /// # Errors
    /// [`ShopError::NotFound`] when there is no such cart, it expired, or the caller may not
    /// see it (the two are not told apart).
    pub async fn get(&self, id: CartId, access: &CartAccess) -> Result<Cart, ShopError> {
        self.load(id, access, self.clock.now()).await
    }

    /// The guest cart a token opens.
    ///
    /// # Errors
    /// [`ShopError::NotFound`] when the token opens no guest cart.
    pub async fn by_token(&self, token: &CartToken) -> Result<Cart, ShopError> {
        self.carts
            .by_token(token, self.clock.now())
            .await?
            .filter(|c| CartAccess::Token(token.clone()).allows(c))
            .ok_or_else(|| ShopError::not_found("cart", "for this token"))
    }

    async fn load(
        &self,
        id: CartId,
        access: &CartAccess,
        now: DateTime<Utc>,
    ) -> Result<Cart, ShopError> {
        self.carts
            .get(id, now)
            .await?
            .filter(|c| access.allows(c))
            .ok_or_else(|| ShopError::not_found("cart", id))
    }

    /// Loads, changes and saves a cart, retrying version conflicts on a fresh copy.
    async fn change(
        &self,
        id: CartId,
        access: &CartAccess,
        apply: impl Fn(&mut Cart, DateTime<Utc>) -> Result<(), ShopError>,
    ) -> Result<Cart, ShopError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let now = self.clock.now();
            let mut cart = self.load(id, access, now).await?;
            apply(&mut cart, now)?;
            match self.carts.save(&cart).await {
                Ok(version) => {
                    cart.set_version(version);
                    return Ok(cart);
                }
                Err(StoreError::VersionConflict { .. }) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(cart = %id, attempt, "cart changed concurrently; re-applying the change");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ShopError::Conflict { entity: "cart", id: id.to_string() })
    }

    /// Adds `quantity` of `sku` (an existing line of the SKU grows). The price is never
    /// taken from the request: it comes from the catalog at quote time.
    ///
    /// # Errors
    /// [`ShopError::UnknownSku`], [`ShopError::NotForSale`], [`ShopError::NoPriceInCurrency`]
    /// naming the SKU; [`ShopError::Cart`] for a cart limit or a closed cart.
    pub async fn add_line(
        &self,
        id: CartId,
        access: &CartAccess,
        sku: Sku,
        quantity: Quantity,
    ) -> Result<Cart, ShopError> {
        let currency = self.get(id, access).await?.currency();
        let shipping = self.pricer.check_sellable(&sku, currency).await?;
        self.change(id, access, |cart, now| {
            if cart.currency() != currency {
                // Its currency changed meanwhile: the SKU was checked in the other one.
                return Err(ShopError::Conflict { entity: "cart", id: id.to_string() });
            }
            let line = LineId::from_uuid(self.ids.uuid());
            cart.add_line(line, sku.clone(), quantity, shipping, now, &self.policy)?;
            Ok(())
        })
        .await
    }

    /// Sets a line's quantity.
    ///
    /// # Errors
    /// [`ShopError::Cart`] for an unknown line, the quantity limit or a closed cart.
    pub async fn set_quantity(
        &self,
        id: CartId,
        access: &CartAccess,
        line: LineId,
        quantity: Quantity,
    ) -> Result<Cart, ShopError> {
        self.change(id, access, |cart, now| {
            Ok(cart.set_quantity(line, quantity, now, &self.policy)?)
        })
        .await
    }

    /// Removes a line.
    ///
    /// # Errors
    /// [`ShopError::Cart`] for an unknown line or a closed cart.
    pub async fn remove_line(
        &self,
        id: CartId,
        access: &CartAccess,
        line: LineId,
    ) -> Result<Cart, ShopError> {
        self.change(id, access, |cart, now| {
            cart.remove_line(line, now, &self.policy).map(|_| ()).map_err(Into::into)
        })
        .await
    }

    /// Applies a coupon after checking it against the current promotions (dates, usage
    /// limit, currency, minimum subtotal). Whether it targets a line and how it stacks
    /// shows in the quote's unapplied coupons.
    ///
    /// # Errors
    /// [`ShopError::Coupon`] with the reason (unknown, expired, used up...);
    /// [`ShopError::Cart`] for too many coupons or a closed cart.
    pub async fn apply_coupon(
        &self,
        id: CartId,
        access: &CartAccess,
        code: CouponCode,
    ) -> Result<Cart, ShopError> {
        let now = self.clock.now();
        let cart = self.load(id, access, now).await?;
        let (lines, rules) = futures::try_join!(self.pricer.resolve(&cart), self.pricer.rules())?;
        let subtotals = lines
            .iter()
            .map(|l| l.line.unit_price.checked_mul(u64::from(l.line.quantity)))
            .collect::<Result<Vec<_>, _>>()?;
        let subtotal = Money::sum(cart.currency(), &subtotals)?;
        if let Err(reason) = check_coupon(&rules, &code, &subtotal, now) {
            return Err(ShopError::Coupon { code, reason });
        }
        self.change(id, access, |cart, now| {
            Ok(cart.apply_coupon(code.clone(), now, &self.policy)?)
        })
        .await
    }

    /// Removes a coupon (removing one that is not applied is fine).
    ///
    /// # Errors
    /// [`ShopError::Cart`] for a closed cart.
    pub async fn remove_coupon(
        &self,
        id: CartId,
        access: &CartAccess,
        code: &CouponCode,
    ) -> Result<Cart, ShopError> {
        self.change(id, access, |cart, now| Ok(cart.remove_coupon(code, now, &self.policy)?)).await
    }

    /// Sets where and how to ship. The address must be complete and the method one of the
    /// shop's methods that serves the address's region ([`CartService::shipping_options`]
    /// lists them). Checkout of goods to ship needs both.
    ///
    /// # Errors
    /// [`ShopError::Invalid`] for an incomplete address; [`ShopError::Pricing`] for an
    /// unknown method or one that does not deliver there (both `shipping_unavailable`).
    pub async fn set_delivery(
        &self,
        id: CartId,
        access: &CartAccess,
        delivery: Delivery,
    ) -> Result<Cart, ShopError> {
        if let Some(address) = &delivery.address {
            address.validate()?;
        }
        if let Some(method) = &delivery.method {
            let currency = self.get(id, access).await?.currency();
            let rules = self.pricer.rules().await?;
            let region = delivery.address.as_ref().map(|a| &a.region);
            rules.shipping.rate_for(method, region, currency)?;
        }
        self.change(id, access, |cart, now| {
            Ok(cart.set_delivery(
                delivery.address.clone(),
                delivery.method.clone(),
                now,
                &self.policy,
            )?)
        })
        .await
    }

    /// Prices the cart in `currency` from now on, as a Medusa cart changes region or a
    /// Shopify cart its buyer's country: its lines are repriced from the catalog in
    /// `currency`; coupons and delivery stay (the quote tells which coupons still apply and
    /// whether the shipping method ships in `currency`). Asking for the currency it has
    /// changes nothing.
    ///
    /// # Errors
    /// [`ShopError::NoPriceInCurrency`] naming the first line not sold in `currency` (remove
    /// it, or keep the currency), [`ShopError::UnknownSku`] / [`ShopError::NotForSale`] for
    /// a line no longer sold at all; [`ShopError::Cart`] for a closed cart; nothing changes.
    pub async fn set_currency(
        &self,
        id: CartId,
        access: &CartAccess,
        currency: Currency,
    ) -> Result<Cart, ShopError> {
        let cart = self.get(id, access).await?;
        if cart.currency() == currency {
            return Ok(cart);
        }
        // A closed cart says so before its lines are looked at.
        cart.clone().set_currency(currency, self.clock.now(), &self.policy)?;
        let checked = self.pricer.resolve_in(&cart, currency).await?;
        self.change(id, access, |cart, now| {
            if cart.lines().iter().any(|l| !checked.iter().any(|c| c.line.sku == l.sku)) {
                // A line was added meanwhile: it was not checked in `currency`.
                return Err(ShopError::Conflict { entity: "cart", id: id.to_string() });
            }
            Ok(cart.set_currency(currency, now, &self.policy)?)
        })
        .await
    }

    /// `cart` with its quote now, in one pricing pass (one catalog read, one read of the
    /// rules): hand it the cart a change just returned. A cart that cannot be priced comes
    /// with the reason instead of a quote ([`QuotedCart::quote`]).
    pub async fn with_quote(&self, cart: Cart) -> QuotedCart {
        let quote = self.pricer.price(&cart, self.clock.now()).await.map(|priced| priced.quote);
        if let Err(e) = &quote
            && !e.is_client_error()
        {
            tracing::warn!(cart = %cart.id(), error = %e, "cart answered without its quote");
        }
        QuotedCart { cart, quote }
    }

    /// What the cart costs now: catalog prices in the cart's currency, promotions, shipping
    /// and tax. Coupons that no longer apply are listed with the reason, not dropped.
    ///
    /// # Errors
    /// [`ShopError::UnknownSku`], [`ShopError::NotForSale`] or
    /// [`ShopError::NoPriceInCurrency`] for a line that cannot be sold any more (remove it);
    /// [`ShopError::Pricing`] when the shipping method cannot ship the cart.
    pub async fn quote(&self, id: CartId, access: &CartAccess) -> Result<Quote, ShopError> {
        let now = self.clock.now();
        let cart = self.load(id, access, now).await?;
        Ok(self.pricer.price(&cart, now).await?.quote)
    }

    /// The shipping methods that can ship the cart now: those serving its address (set the
    /// address first; without one, only methods serving everywhere are listed) in its
    /// currency that can carry its weight, in the shop's order, each priced for this cart
    /// as its quote would price it with that method chosen. A cart with nothing to ship
    /// (empty, or only digital goods) has none.
    ///
    /// # Errors
    /// [`ShopError::NotFound`] for a cart the caller may not see; as
    /// [`CartService::quote`] for a line that can no longer be sold.
    pub async fn shipping_options(
        &self,
        id: CartId,
        access: &CartAccess,
    ) -> Result<Vec<ShippingOption>, ShopError> {
        let now = self.clock.now();
        let cart = self.load(id, access, now).await?;
        self.pricer.shipping_options(&cart, now).await
    }

    /// On sign-in: merges the guest cart a token opens into the customer's open cart
    /// (quantities add up to the line limit, coupons join, the guest cart closes as
    /// merged), or hands the guest cart to the customer when they have none. Idempotent:
    /// repeating it returns the customer's cart.
    ///
    /// The customer's cart is saved before the guest cart is closed: if the second write
    /// fails, the shopper sees the items twice rather than losing them.
    ///
    /// # Errors
    /// [`ShopError::NotFound`] when the token opens no cart (or one of another customer);
    /// [`ShopError::Cart`] for carts in different currencies or a checked-out guest cart.
    pub async fn merge_on_sign_in(
        &self,
        guest_token: &CartToken,
        customer: CustomerId,
    ) -> Result<Cart, ShopError> {
        let not_found = || ShopError::not_found("cart", "for this token");
        for attempt in 1..=MAX_ATTEMPTS {
            let now = self.clock.now();
            let mut guest = self.carts.by_token(guest_token, now).await?.ok_or_else(not_found)?;
            match (guest.customer(), guest.status()) {
                (Some(owner), _) if owner == customer => return Ok(guest),
                (Some(_), _) => return Err(not_found()),
                (None, CartStatus::Merged { into }) => {
                    let into = *into;
                    return self.load(into, &CartAccess::Customer(customer), now).await;
                }
                (None, _) => {}
            }
            let saved = match self.carts.open_cart_of(customer, now).await? {
                None => {
                    guest.assign_to(customer, now, &self.policy)?;
                    self.carts.save(&guest).await.map(|v| {
                        guest.set_version(v);
                        guest
                    })
                }
                Some(mut mine) => {
                    let snapshot = guest.clone();
                    mine.merge_from(
                        &mut guest,
                        &mut || LineId::from_uuid(self.ids.uuid()),
                        now,
                        &self.policy,
                    )?;
                    match self.carts.save(&mine).await {
                        Ok(v) => {
                            mine.set_version(v);
                            self.close_merged_guest(guest, snapshot, &mine).await;
                            Ok(mine)
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match saved {
                Ok(cart) => return Ok(cart),
                Err(StoreError::VersionConflict { .. }) if attempt < MAX_ATTEMPTS => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(ShopError::Conflict { entity: "cart", id: "merge".into() })
    }

    /// Saves the guest cart as merged; on a conflict, closes the fresh copy the same way.
    async fn close_merged_guest(&self, mut merged: Cart, snapshot: Cart, into: &Cart) {
        for _ in 0..MAX_ATTEMPTS {
            match self.carts.save(&merged).await {
                Ok(_) => return,
                Err(StoreError::VersionConflict { .. }) => {
                    let now = self.clock.now();
                    let Ok(Some(mut fresh)) = self.carts.get(snapshot.id(), now).await else {
                        break;
                    };
                    if fresh.status() != &CartStatus::Open {
                        return;
                    }
                    // Close it by merging into a throwaway copy: the customer's cart is saved.
                    let mut scratch = into.clone();
                    if scratch
                        .merge_from(
                            &mut fresh,
                            &mut || LineId::from_uuid(self.ids.uuid()),
                            now,
                            &self.policy,
                        )
                        .is_err()
                    {
                        break;
                    }
                    merged = fresh;
                }
                Err(e) => {
                    tracing::warn!(cart = %snapshot.id(), error = %e, "guest cart not closed after a merge; it may merge again");
                    return;
                }
            }
        }
        tracing::warn!(cart = %snapshot.id(), "guest cart not closed after a merge; it may merge again");
    }

    /// Emits `CartAbandoned` for up to `limit` customer carts untouched for the policy's
    /// `abandoned_after` at `now`. Returns how many events were emitted.
    ///
    /// For each cart the event is appended to the outbox FIRST, with an id derived from the
    /// cart id and its last change, and only then is the cart marked notified: a crash in
    /// between re-appends the same event id on the next sweep, which the outbox ignores.
    /// A conflict marking the cart (the shopper came back) is ignored.
    ///
    /// # Errors
    /// Storage errors of the cart store or the outbox.
    pub async fn sweep_abandoned(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, ShopError> {
        let query = CartQuery { updated_before: now - self.policy.abandoned_after, limit };
        let stale = self.carts.stale_open_carts(&query, now).await?;
        let mut emitted = 0;
        for mut cart in stale.into_iter().filter(|c| c.is_abandoned(now, &self.policy)) {
            let Some(customer_id) = cart.customer() else {
                continue;
            };
            let envelope = EventEnvelope {
                id: keys::cart_abandoned_event_id(cart.id(), cart.updated_at()),
                occurred_at: now,
                event: DomainEvent::CartAbandoned {
                    cart_id: cart.id(),
                    customer_id,
                    item_count: cart.item_count(),
                },
            };
            self.outbox.append(std::slice::from_ref(&envelope)).await?;
            emitted += 1;
            cart.mark_abandoned_notified();
            match self.carts.save(&cart).await {
                Ok(_) | Err(StoreError::VersionConflict { .. }) => {}
                Err(e) => {
                    tracing::warn!(cart = %cart.id(), error = %e, "abandoned cart not marked; the next sweep re-appends the same event id");
                }
            }
        }
        Ok(emitted)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use chrono::Duration;

    use super::*;
    use crate::cart::CartError;
    use crate::catalog::{ProductStatus, ShippingRequirement};
    use crate::events::DomainEvent;
    use crate::ids::LocationId;
    use crate::inventory::BackorderPolicy;
    use crate::ports::InventoryStore;
    use crate::pricing::{CouponRejection, PricingError};
    use crate::services::test_support::*;

    fn ann() -> CustomerId {
        CustomerId::from_uuid(uuid::Uuid::from_u128(0xa77))
    }

    #[tokio::test]
    async fn adding_a_sku_that_cannot_be_sold_names_the_sku() {
        let world = World::new();
        let mut draft = product(3, "Cap", &[("CAP", 12_00)]);
        draft.status = ProductStatus::Draft;
        let mut euro_only = product(4, "Scarf", &[("SCARF", 30_00)]);
        euro_only.variants[0].prices = vec![Money::from_minor(30_00, Currency::EUR)];
        world.products.insert(&draft).await.unwrap();
        world.products.insert(&euro_only).await.unwrap();
        let carts = world.shop().carts().clone();
        let cart = carts.create_guest_cart(Currency::USD).await.unwrap();
        let access = CartAccess::Token(cart.token().clone());

        let unknown = carts.add_line(cart.id(), &access, sku("NOPE"), qty(1)).await.unwrap_err();
        let unsold = carts.add_line(cart.id(), &access, sku("CAP"), qty(1)).await.unwrap_err();
        let unpriced = carts.add_line(cart.id(), &access, sku("SCARF"), qty(1)).await.unwrap_err();

        assert!(matches!(unknown, ShopError::UnknownSku { sku } if sku.as_str() == "NOPE"));
        assert!(matches!(unsold, ShopError::NotForSale { sku } if sku.as_str() == "CAP"));
        assert!(
            matches!(unpriced, ShopError::NoPriceInCurrency { sku, currency: Currency::USD } if sku.as_str() == "SCARF")
        );
        assert!(carts.get(cart.id(), &access).await.unwrap().lines().is_empty());
    }

    #[tokio::test]
    async fn a_concurrent_change_is_re_applied_to_the_fresh_cart_and_reported_when_it_persists() {
        let world = World::new();
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;
        let carts = world.shop().carts().clone();

        world.carts.conflicts.store(2, Ordering::SeqCst);
        let changed = carts.add_line(cart.id(), &access, sku("MUG"), qty(2)).await.unwrap();
        assert_eq!(changed.lines().len(), 2);
        assert_eq!(world.carts.stored(cart.id()).unwrap().lines().len(), 2);

        world.carts.conflicts.store(3, Ordering::SeqCst);
        let err = carts
            .set_quantity(cart.id(), &access, changed.lines()[1].id, qty(3))
            .await
            .unwrap_err();
        assert!(matches!(err, ShopError::Conflict { entity: "cart", .. }));
        assert_eq!(
            world.carts.stored(cart.id()).unwrap().lines()[1].quantity,
            qty(2),
            "nothing half-written"
        );
    }

    #[tokio::test]
    async fn a_cart_is_not_found_by_other_customers_or_tokens() {
        let world = World::new();
        let carts = world.shop().carts().clone();
        let mine = carts.cart_for_customer(ann(), Currency::USD).await.unwrap();
        let other = CustomerId::from_uuid(uuid::Uuid::from_u128(0xb0b));

        let err = carts.get(mine.id(), &CartAccess::Customer(other)).await.unwrap_err();
        assert!(matches!(err, ShopError::NotFound { entity: "cart", .. }));
        let err = carts.get(mine.id(), &CartAccess::Token(mine.token().clone())).await.unwrap_err();
        assert!(
            matches!(err, ShopError::NotFound { .. }),
            "a token does not open a customer's cart"
        );
        assert_eq!(carts.cart_for_customer(ann(), Currency::USD).await.unwrap().id(), mine.id());
    }

    #[tokio::test]
    async fn a_coupon_that_cannot_be_used_is_refused_with_the_reason() {
        let world = World::new();
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;
        let carts = world.shop().carts().clone();

        let unknown = carts.apply_coupon(cart.id(), &access, coupon("NOPE")).await.unwrap_err();
        world.promotions.use_up(ten_percent("X", 1).id());
        let used_up = carts.apply_coupon(cart.id(), &access, coupon("SAVE10")).await.unwrap_err();

        assert!(matches!(unknown, ShopError::Coupon { reason: CouponRejection::Unknown, .. }));
        assert!(matches!(
            used_up,
            ShopError::Coupon { reason: CouponRejection::UsageLimitReached { limit: 1 }, .. }
        ));
        assert!(carts.get(cart.id(), &access).await.unwrap().coupons().is_empty());
    }

    #[tokio::test]
    async fn delivery_needs_a_complete_address_and_a_method_that_exists() {
        let world = World::new();
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;
        let carts = world.shop().carts().clone();
        let mut incomplete = address();
        incomplete.city = " ".into();

        let bad_address = carts
            .set_delivery(cart.id(), &access, Delivery { address: Some(incomplete), method: None })
            .await
            .unwrap_err();
        let express = ShippingMethodId::new("express").unwrap();
        let bad_method = carts
            .set_delivery(
                cart.id(),
                &access,
                Delivery { address: Some(address()), method: Some(express) },
            )
            .await
            .unwrap_err();

        assert!(matches!(bad_address, ShopError::Invalid { field: "address", .. }));
        assert!(matches!(
            bad_method,
            ShopError::Pricing(PricingError::UnknownShippingMethod { .. })
        ));
    }

    /// An e-book: a digital product, not shipped.
    async fn ebook(world: &World) {
        let mut ebook = product(5, "E-book", &[("EBOOK", 9_00)]);
        ebook.variants[0].shipping = ShippingRequirement::NotRequired;
        world.products.insert(&ebook).await.unwrap();
    }

    #[tokio::test]
    async fn checkout_refuses_goods_to_ship_without_an_address_or_a_method() {
        let world = World::new();
        let carts = world.shop().carts().clone();
        let cart = carts.create_guest_cart(Currency::USD).await.unwrap();
        let access = CartAccess::Token(cart.token().clone());
        carts.add_line(cart.id(), &access, sku("TEE"), qty(1)).await.unwrap();
        let checkout = world.shop().checkout().clone();

        let no_address = checkout.checkout(request(&cart, &access, "k1")).await.unwrap_err();
        let address_only = Delivery { address: Some(address()), method: None };
        carts.set_delivery(cart.id(), &access, address_only).await.unwrap();
        let no_method = checkout.checkout(request(&cart, &access, "k2")).await.unwrap_err();

        assert!(
            matches!(no_address, ShopError::Cart(CartError::ShippingAddressRequired { .. })),
            "{no_address:?}"
        );
        assert!(
            matches!(no_method, ShopError::Cart(CartError::ShippingMethodRequired { .. })),
            "{no_method:?}"
        );
        assert!(world.orders.all().is_empty(), "no order without a destination");
        assert_eq!(world.inventory.level("TEE"), (10, 0), "nothing held");
    }

    #[tokio::test]
    async fn a_cart_of_digital_goods_checks_out_without_an_address_and_pays_no_shipping() {
        let world = World::new();
        ebook(&world).await;
        world
            .inventory
            .set_stock(&sku("EBOOK"), &LocationId::main(), 100, BackorderPolicy::Deny)
            .await
            .unwrap();
        let carts = world.shop().carts().clone();
        let cart = carts.create_guest_cart(Currency::USD).await.unwrap();
        let access = CartAccess::Token(cart.token().clone());
        let cart = carts.add_line(cart.id(), &access, sku("EBOOK"), qty(1)).await.unwrap();
        let digital_only = world.shop().checkout().checkout(request(&cart, &access, "k1")).await;
        let other = carts.create_guest_cart(Currency::USD).await.unwrap();
        let other_access = CartAccess::Token(other.token().clone());
        carts.add_line(other.id(), &other_access, sku("EBOOK"), qty(1)).await.unwrap();
        let with_method = Delivery { address: None, method: Some(standard()) };
        carts.set_delivery(other.id(), &other_access, with_method).await.unwrap();
        let quote = carts.quote(other.id(), &other_access).await.unwrap();

        let order = digital_only.unwrap();
        assert!(!cart.requires_shipping());
        assert_eq!(order.totals().shipping_total, usd(0));
        assert_eq!(order.totals().grand_total, usd(9_00));
        assert_eq!(quote.shipping(), None, "nothing to ship, whatever method is named");
        assert!(carts.shipping_options(other.id(), &other_access).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn shipping_options_are_the_methods_serving_the_address_priced_for_the_cart() {
        let world = World::new();
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;
        let carts = world.shop().carts().clone();
        let quote = carts.quote(cart.id(), &access).await.unwrap();

        let options = carts.shipping_options(cart.id(), &access).await.unwrap();

        assert_eq!(options.len(), 1);
        assert_eq!(Some(&options[0].shipping), quote.shipping(), "priced as the quote prices it");
        assert_eq!(options[0].shipping.method, standard());
        assert_eq!(options[0].free_over, None);
    }

    /// A scarf at 30.00 USD or 25.00 EUR.
    async fn scarf(world: &World) {
        let mut scarf = product(4, "Scarf", &[("SCARF", 30_00)]);
        scarf.variants[0].prices.push(Money::from_minor(25_00, Currency::EUR));
        world.products.insert(&scarf).await.unwrap();
    }

    #[tokio::test]
    async fn a_cart_changes_currency_only_when_every_line_is_sold_in_it() {
        let world = World::new();
        scarf(&world).await;
        let carts = world.shop().carts().clone();
        let cart = carts.create_guest_cart(Currency::USD).await.unwrap();
        let access = CartAccess::Token(cart.token().clone());
        carts.add_line(cart.id(), &access, sku("SCARF"), qty(2)).await.unwrap();
        let tee =
            carts.add_line(cart.id(), &access, sku("TEE"), qty(1)).await.unwrap().lines()[1].id;

        let refused = carts.set_currency(cart.id(), &access, Currency::EUR).await.unwrap_err();
        let unchanged = carts.get(cart.id(), &access).await.unwrap();
        carts.remove_line(cart.id(), &access, tee).await.unwrap();
        let euros = carts.set_currency(cart.id(), &access, Currency::EUR).await.unwrap();
        let again = carts.set_currency(cart.id(), &access, Currency::EUR).await.unwrap();
        let quoted = carts.with_quote(euros.clone()).await;

        assert!(
            matches!(&refused, ShopError::NoPriceInCurrency { sku, currency: Currency::EUR } if sku.as_str() == "TEE"),
            "{refused:?}"
        );
        assert_eq!(unchanged.currency(), Currency::USD, "nothing changed");
        assert_eq!(euros.currency(), Currency::EUR);
        assert_eq!(again.version(), euros.version(), "the same currency changes nothing");
        assert_eq!(quoted.cart, euros);
        let quote = quoted.quote.unwrap();
        assert_eq!(quote.subtotal(), Money::from_minor(50_00, Currency::EUR));
        assert_eq!(quote, carts.quote(cart.id(), &access).await.unwrap());
    }

    #[tokio::test]
    async fn a_customer_asking_for_another_currency_gets_their_open_cart_in_it() {
        let world = World::new();
        scarf(&world).await;
        let carts = world.shop().carts().clone();
        let mine = carts.cart_for_customer(ann(), Currency::USD).await.unwrap();
        carts
            .add_line(mine.id(), &CartAccess::Customer(ann()), sku("SCARF"), qty(1))
            .await
            .unwrap();

        let euros = carts.cart_for_customer(ann(), Currency::EUR).await.unwrap();

        assert_eq!((euros.id(), euros.currency()), (mine.id(), Currency::EUR));
        assert_eq!(euros.lines().len(), 1);
    }

    #[tokio::test]
    async fn a_cart_that_cannot_be_priced_comes_with_the_reason_instead_of_a_quote() {
        let world = World::new();
        let (cart, access) = world.guest_cart(&[("TEE", 1)]).await;
        let carts = world.shop().carts().clone();
        let tee = world.products.by_skus(&[sku("TEE")]).await.unwrap().remove(0);
        world.shop().catalog().set_status(tee.id, ProductStatus::Archived).await.unwrap();

        let quoted = carts.with_quote(carts.get(cart.id(), &access).await.unwrap()).await;

        assert_eq!(quoted.cart.lines().len(), 1);
        assert!(matches!(quoted.quote, Err(ShopError::NotForSale { .. })), "{:?}", quoted.quote);
    }

    #[tokio::test]
    async fn the_quote_takes_prices_from_the_catalog() {
        let world = World::new();
        let (cart, access) = world.guest_cart(&[("TEE", 2), ("MUG", 1)]).await;
        let quote = world.shop().carts().quote(cart.id(), &access).await.unwrap();
        assert_eq!(quote.subtotal(), usd(48_00));
        assert_eq!(quote.grand_total(), usd(53_00));
        assert!(quote.reconciles());
    }

    #[tokio::test]
    async fn signing_in_merges_the_guest_cart_into_the_customers_cart_once() {
        let world = World::new();
        let carts = world.shop().carts().clone();
        let mine = carts.cart_for_customer(ann(), Currency::USD).await.unwrap();
        carts.add_line(mine.id(), &CartAccess::Customer(ann()), sku("TEE"), qty(1)).await.unwrap();
        let (guest, _) = world.guest_cart(&[("TEE", 2), ("MUG", 1)]).await;

        let merged = carts.merge_on_sign_in(guest.token(), ann()).await.unwrap();

        assert_eq!(merged.id(), mine.id());
        let units: Vec<(String, u32)> =
            merged.lines().iter().map(|l| (l.sku.to_string(), l.quantity.get())).collect();
        assert_eq!(units, [("TEE".to_owned(), 3), ("MUG".to_owned(), 1)]);
        assert_eq!(
            world.carts.stored(guest.id()).unwrap().status(),
            &CartStatus::Merged { into: mine.id() }
        );
        let again = carts.merge_on_sign_in(guest.token(), ann()).await.unwrap();
        assert_eq!(again.lines(), merged.lines(), "repeating the sign-in merges nothing twice");
    }

    #[tokio::test]
    async fn signing_in_without_a_cart_hands_the_guest_cart_over() {
        let world = World::new();
        let carts = world.shop().carts().clone();
        let (guest, _) = world.guest_cart(&[("MUG", 1)]).await;

        let mine = carts.merge_on_sign_in(guest.token(), ann()).await.unwrap();

        assert_eq!((mine.id(), mine.customer()), (guest.id(), Some(ann())));
        assert!(carts.by_token(guest.token()).await.is_err(), "the token no longer opens it");
    }

    #[tokio::test]
    async fn the_sweep_emits_one_cart_abandoned_event_per_idle_customer_cart() {
        let world = World::new();
        let carts = world.shop().carts().clone();
        let mine = carts.cart_for_customer(ann(), Currency::USD).await.unwrap();
        carts.add_line(mine.id(), &CartAccess::Customer(ann()), sku("TEE"), qty(2)).await.unwrap();
        world.guest_cart(&[("MUG", 1)]).await; // guests have no one to remind
        let later = start() + Duration::hours(5);

        assert_eq!(carts.sweep_abandoned(start() + Duration::hours(1), 100).await.unwrap(), 0);
        assert_eq!(carts.sweep_abandoned(later, 100).await.unwrap(), 1);
        assert_eq!(carts.sweep_abandoned(later, 100).await.unwrap(), 0, "notified once");

        let entries = world.outbox.entries();
        assert_eq!(entries.len(), 1);
        let stored = world.carts.stored(mine.id()).unwrap();
        assert_eq!(
            entries[0].envelope.id,
            keys::cart_abandoned_event_id(mine.id(), stored.updated_at())
        );
        assert_eq!(
            entries[0].envelope.event,
            DomainEvent::CartAbandoned { cart_id: mine.id(), customer_id: ann(), item_count: 2 }
        );
        assert!(stored.abandoned_notified());
    }
}

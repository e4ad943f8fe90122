//! The cart: a guest's (by token) or a customer's lines, coupons and delivery choices.
//!
//! The cart holds SKUs and quantities only: prices are computed by the pricing engine at
//! quote time from the catalog, never taken from the cart or the client. Mutations bump
//! nothing by themselves; the cart store checks `version` on save (optimistic concurrency)
//! and hands back the next one.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::ShippingRequirement;
use crate::customers::Address;
use crate::ids::{
    CartId, CartToken, CouponCode, CustomerId, LineId, OrderId, ShippingMethodId, Sku,
};
use crate::money::Currency;
use crate::quantity::Quantity;

/// Limits a shop puts on carts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartPolicy {
    /// The most units of one SKU in a cart.
    pub max_quantity_per_line: u32,
    /// The most distinct lines in a cart.
    pub max_lines: usize,
    /// The most coupons at once.
    pub max_coupons: usize,
    /// How long an untouched cart lives.
    pub ttl: Duration,
    /// How long after its last change an unpaid cart with lines counts as abandoned.
    pub abandoned_after: Duration,
}

impl Default for CartPolicy {
    fn default() -> Self {
        CartPolicy {
            max_quantity_per_line: 99,
            max_lines: 100,
            max_coupons: 5,
            ttl: Duration::days(30),
            abandoned_after: Duration::hours(4),
        }
    }
}

/// A line of a cart: a SKU, how many, and whether it ships.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    /// The line id (stable across quantity changes).
    pub id: LineId,
    /// What is bought.
    pub sku: Sku,
    /// How many.
    pub quantity: Quantity,
    /// Whether the variant is shipped, as the catalog said when the line was last added
    /// to (lines stored before the notion existed are shipped).
    #[serde(default)]
    pub shipping: ShippingRequirement,
}

/// Where a cart is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CartStatus {
    /// Being filled.
    Open,
    /// Became an order; read-only.
    CheckedOut {
        /// The order.
        order: OrderId,
    },
    /// Merged into the customer's cart on sign-in; read-only.
    Merged {
        /// The cart it went into.
        into: CartId,
    },
}

/// A cart rule broken by a change. Each says what to do instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CartError {
    /// The line quantity would exceed the shop's limit.
    #[error("at most {max} units of {sku} per cart (asked for {requested})")]
    QuantityLimit {
        /// The SKU.
        sku: Sku,
        /// The quantity the change would give.
        requested: u64,
        /// The limit.
        max: u32,
    },
    /// Too many distinct lines.
    #[error("a cart holds at most {max} lines: remove one first")]
    TooManyLines {
        /// The limit.
        max: usize,
    },
    /// Too many coupons.
    #[error("a cart holds at most {max} coupons: remove one first")]
    TooManyCoupons {
        /// The limit.
        max: usize,
    },
    /// No such line in this cart.
    #[error("cart {cart} has no line {line}")]
    UnknownLine {
        /// The cart.
        cart: CartId,
        /// The line asked for.
        line: LineId,
    },
    /// The cart was checked out or merged and can no longer change.
    #[error("cart {cart} is closed ({status}): start a new cart")]
    Closed {
        /// The cart.
        cart: CartId,
        /// Why it is closed.
        status: &'static str,
    },
    /// The cart has passed its expiry.
    #[error("cart {cart} expired: start a new cart")]
    Expired {
        /// The cart.
        cart: CartId,
    },
    /// Carts in different currencies cannot be merged line by line without repricing.
    #[error("cannot merge a {from} cart into a {into} cart")]
    CurrencyMismatch {
        /// The guest cart's currency.
        from: Currency,
        /// The customer cart's currency.
        into: Currency,
    },
    /// Checkout needs at least one line.
    #[error("cart {cart} is empty: add a product first")]
    Empty {
        /// The cart.
        cart: CartId,
    },
    /// The cart holds goods to ship but no shipping address.
    #[error(
        "cart {cart} holds goods to ship but no shipping address: set the delivery address, then check out"
    )]
    ShippingAddressRequired {
        /// The cart.
        cart: CartId,
    },
    /// The cart holds goods to ship but no shipping method.
    #[error(
        "cart {cart} holds goods to ship but no shipping method: choose one of the shipping methods listed for the cart, then check out"
    )]
    ShippingMethodRequired {
        /// The cart.
        cart: CartId,
    },
}

/// A shopping cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    id: CartId,
    token: CartToken,
    customer: Option<CustomerId>,
    currency: Currency,
    lines: Vec<CartLine>,
    coupons: Vec<CouponCode>,
    shipping_address: Option<Address>,
    shipping_method: Option<ShippingMethodId>,
    status: CartStatus,
    version: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    abandoned_notified: bool,
}

impl Cart {
    /// A new, empty cart (version 0: not yet stored).
    pub fn new(
        id: CartId,
        token: CartToken,
        customer: Option<CustomerId>,
        currency: Currency,
        now: DateTime<Utc>,
        policy: &CartPolicy,
    ) -> Self {
        Cart {
            id,
            token,
            customer,
            currency,
            lines: Vec::new(),
            coupons: Vec::new(),
            shipping_address: None,
            shipping_method: None,
            status: CartStatus::Open,
            version: 0,
            created_at: now,
            updated_at: now,
            expires_at: now + policy.ttl,
            abandoned_notified: false,
        }
    }

    /// The cart id.
    pub fn id(&self) -> CartId {
        self.id
    }
    /// The guest token (a bearer secret).
    pub fn token(&self) -> &CartToken {
        &self.token
    }
    /// The owning customer, for a signed-in cart.
    pub fn customer(&self) -> Option<CustomerId> {
        self.customer
    }
    /// The currency the cart is priced in.
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The lines, in the order they were added.
    pub fn lines(&self) -> &[CartLine] {
        &self.lines
    }
    /// The coupon codes applied.
    pub fn coupons(&self) -> &[CouponCode] {
        &self.coupons
    }
    /// Where to ship.
    pub fn shipping_address(&self) -> Option<&Address> {
        self.shipping_address.as_ref()
    }
    /// How to ship.
    pub fn shipping_method(&self) -> Option<&ShippingMethodId> {
        self.shipping_method.as_ref()
    }
    /// Open, checked out or merged.
    pub fn status(&self) -> &CartStatus {
        &self.status
    }
    /// The stored version this cart was read at (0: never stored).
    pub fn version(&self) -> u64 {
        self.version
    }
    /// When the cart was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    /// When the cart last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    /// When the cart expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
    /// Whether a `CartAbandoned` event was already emitted for this cart.
    pub fn abandoned_notified(&self) -> bool {
        self.abandoned_notified
    }
    /// Whether any line is shipped: checkout then needs a shipping address and method.
    pub fn requires_shipping(&self) -> bool {
        self.lines.iter().any(|l| l.shipping.is_required())
    }
    /// Total units over all lines.
    pub fn item_count(&self) -> u64 {
        self.lines.iter().map(|l| u64::from(l.quantity)).sum()
    }

    /// Records the version the store gave this cart on save. Called by cart stores only.
    pub fn set_version(&mut self, version: u64) {
        self.version = version;
    }

    /// Whether the cart is past its expiry at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// Whether the cart counts as abandoned at `now`: open, with lines, owned by a customer
    /// (someone to remind), untouched for `policy.abandoned_after`, not yet notified.
    pub fn is_abandoned(&self, now: DateTime<Utc>, policy: &CartPolicy) -> bool {
        self.status == CartStatus::Open
            && !self.lines.is_empty()
            && self.customer.is_some()
            && !self.abandoned_notified
            && now - self.updated_at >= policy.abandoned_after
    }

    fn ensure_open(&self, now: DateTime<Utc>) -> Result<(), CartError> {
        match self.status {
            CartStatus::Open if self.is_expired(now) => Err(CartError::Expired { cart: self.id }),
            CartStatus::Open => Ok(()),
            CartStatus::CheckedOut { .. } => {
                Err(CartError::Closed { cart: self.id, status: "checked out" })
            }
            CartStatus::Merged { .. } => Err(CartError::Closed { cart: self.id, status: "merged" }),
        }
    }

    fn touch(&mut self, now: DateTime<Utc>, policy: &CartPolicy) {
        self.updated_at = now;
        self.expires_at = now + policy.ttl;
        self.abandoned_notified = false;
    }

    /// Adds `quantity` of `sku`; an existing line for the SKU grows instead (and takes the
    /// given `shipping`, the catalog's latest word). Returns the line.
    ///
    /// The caller has checked that the SKU exists and is on sale, and read whether it ships
    /// (the cart cannot know).
    pub fn add_line(
        &mut self,
        new_line_id: LineId,
        sku: Sku,
        quantity: Quantity,
        shipping: ShippingRequirement,
        now: DateTime<Utc>,
        policy: &CartPolicy,
    ) -> Result<&CartLine, CartError> {
        self.ensure_open(now)?;
        let idx = match self.lines.iter().position(|l| l.sku == sku) {
            Some(i) => {
                let total = u64::from(self.lines[i].quantity) + u64::from(quantity);
                check_limit(&sku, total, policy)?;
                self.lines[i].quantity =
                    Quantity::new(total as i64).map_err(|_| CartError::QuantityLimit {
                        sku: sku.clone(),
                        requested: total,
                        max: policy.max_quantity_per_line,
                    })?;
                self.lines[i].shipping = shipping;
                i
            }
            None => {
                if self.lines.len() >= policy.max_lines {
                    return Err(CartError::TooManyLines { max: policy.max_lines });
                }
                check_limit(&sku, u64::from(quantity), policy)?;
                self.lines.push(CartLine { id: new_line_id, sku, quantity, shipping });
                self.lines.len() - 1
            }
        };
        self.touch(now, policy);
        Ok(&self.lines[idx])
    }

    /// Sets a line's quantity.
    pub fn set_quantity(
        &mut self,
        line: LineId,
        quantity: Quantity,
        now: DateTime<Utc>,
        policy: &CartPolicy,
    ) -> Result<(), CartError> {
        self.ensure_open(now)?;
        let cart = self.id;
        let l = self
            .lines
            .iter_mut()
            .find(|l| l.id == line)
            .ok_or(CartError::UnknownLine { cart, line })?;
        check_limit(&l.sku, u64::from(quantity), policy)?;
        l.quantity = quantity;
        self.touch(now, policy);
        Ok(())
    }

    /// Removes a line.
    pub fn remove_line(
        &mut self,
        line: LineId,
        now: DateTime<Utc>,
        policy: &CartPolicy,
    ) -> Result<CartLine, CartError> {
        self.ensure_open(now)?;
        let idx = self
            .lines
            .iter()
            .position(|l| l.id == line)
            .ok_or(CartError::UnknownLine { cart: self.id, line })?;
        let removed = self.lines.remove(idx);
        self.touch(now, policy);
        Ok(removed)
    }

    /// Applies a coupon (the caller has checked it with the pricing rules). Idempotent.
    pub fn apply_coupon(
        &mut self,
        code: CouponCode,
        now: DateTime<Utc>,
        policy: &CartPolicy,
    ) -> Result<(), CartError> {
        self.ensure_open(now)?;
        if self.coupons.contains(&code) {
            return Ok(());
        }
        if self.coupons.len() >= policy.max_coupons {
            return Err(CartError::TooManyCoupons { max: policy.max_coupons });
        }
        self.coupons.push(code);
        self.touch(now, policy);
        Ok(())
    }

    /// Removes a coupon; removing one that is not applied is not an error.
    pub fn remove_coupon(
        &mut self,
        code: &CouponCode,
        now: DateTime<Utc>,
        policy: &CartPolicy,
    ) -> Result<(), CartError> {
        self.ensure_open(now)?;
        self.coupons.retain(|c| c != code);
        self.touch(now, policy);
        Ok(())
    }

    /// Sets where and how to ship.
    pub fn set_delivery(
        &mut self,
        address: Option<Address>,
        method: Option<ShippingMethodId>,
        now: DateTime<Utc>,
        policy: &CartPolicy,
    ) -> Result<(), CartError> {
        self.ensure_open(now)?;
        self.shipping_address = address;
        self.shipping_method = method;
        self.touch(now, policy);
        Ok(())
    }

    /// Prices the cart in `currency` from now on. The lines stay (they hold no price: the
    /// quote takes them from the catalog in the cart's currency); the caller has checked
    /// that every line is sold in `currency`. Changing to the cart's own currency changes
    /// nothing.
    pub fn set_currency(
        &mut self,
        currency: Currency,
        now: DateTime<Utc>,
        policy: &CartPolicy,
    ) -> Result<(), CartError> {
        self.ensure_open(now)?;
        if self.currency != currency {
            self.currency = currency;
            self.touch(now, policy);
        }
        Ok(())
    }

    /// Merges a guest cart into this (the customer's) cart on sign-in: quantities of the
    /// same SKU add up, capped at the per-line limit (the shopper keeps as much as allowed
    /// rather than losing the merge); coupons join. The guest cart closes as `Merged`.
    pub fn merge_from(
        &mut self,
        guest: &mut Cart,
        new_line_ids: &mut dyn FnMut() -> LineId,
        now: DateTime<Utc>,
        policy: &CartPolicy,
    ) -> Result<(), CartError> {
        self.ensure_open(now)?;
        guest.ensure_open(now)?;
        if guest.currency != self.currency {
            return Err(CartError::CurrencyMismatch { from: guest.currency, into: self.currency });
        }
        for g in &guest.lines {
            match self.lines.iter().position(|l| l.sku == g.sku) {
                Some(i) => {
                    let l = &mut self.lines[i];
                    let total = (u64::from(l.quantity) + u64::from(g.quantity))
                        .min(u64::from(policy.max_quantity_per_line));
                    l.quantity = Quantity::new(total as i64).unwrap_or(l.quantity);
                }
                None if self.lines.len() < policy.max_lines => {
                    let qty = g.quantity.get().min(policy.max_quantity_per_line);
                    let quantity = Quantity::new(i64::from(qty)).unwrap_or(Quantity::ONE);
                    self.lines.push(CartLine {
                        id: new_line_ids(),
                        sku: g.sku.clone(),
                        quantity,
                        shipping: g.shipping,
                    });
                }
                None => {
                    return Err(CartError::TooManyLines { max: policy.max_lines });
                }
            }
        }
        for c in &guest.coupons {
            if !self.coupons.contains(c) && self.coupons.len() < policy.max_coupons {
                self.coupons.push(c.clone());
            }
        }
        if self.shipping_address.is_none() {
            self.shipping_address = guest.shipping_address.clone();
            self.shipping_method = guest.shipping_method.clone();
        }
        guest.status = CartStatus::Merged { into: self.id };
        guest.updated_at = now;
        self.touch(now, policy);
        Ok(())
    }

    /// Hands a guest cart to a customer who signs in and has no cart of their own.
    pub fn assign_to(
        &mut self,
        customer: CustomerId,
        now: DateTime<Utc>,
        policy: &CartPolicy,
    ) -> Result<(), CartError> {
        self.ensure_open(now)?;
        self.customer = Some(customer);
        self.touch(now, policy);
        Ok(())
    }

    /// Checks the cart can be checked out now: open, not empty, and, when a line is
    /// shipped, with a shipping address and a shipping method (tax and shipping are priced
    /// from them; an order of physical goods without a destination cannot be fulfilled).
    /// A cart of only digital goods needs neither.
    pub fn ensure_checkout_ready(&self, now: DateTime<Utc>) -> Result<(), CartError> {
        self.ensure_open(now)?;
        if self.lines.is_empty() {
            return Err(CartError::Empty { cart: self.id });
        }
        if self.requires_shipping() {
            if self.shipping_address.is_none() {
                return Err(CartError::ShippingAddressRequired { cart: self.id });
            }
            if self.shipping_method.is_none() {
                return Err(CartError::ShippingMethodRequired { cart: self.id });
            }
        }
        Ok(())
    }

    /// Closes the cart after checkout. Idempotent for the same order.
    pub fn mark_checked_out(
        &mut self,
        order: OrderId,
        now: DateTime<Utc>,
    ) -> Result<(), CartError> {
        if self.status == (CartStatus::CheckedOut { order }) {
            return Ok(());
        }
        self.ensure_open(now)?;
        self.status = CartStatus::CheckedOut { order };
        self.updated_at = now;
        Ok(())
    }

    /// Records that the abandoned-cart event was emitted.
    pub fn mark_abandoned_notified(&mut self) {
        self.abandoned_notified = true;
    }
}

fn check_limit(sku: &Sku, requested: u64, policy: &CartPolicy) -> Result<(), CartError> {
    if requested > u64::from(policy.max_quantity_per_line) {
        return Err(CartError::QuantityLimit {
            sku: sku.clone(),
            requested,
            max: policy.max_quantity_per_line,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn now() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(20_000)
    }
    fn line_id() -> LineId {
        LineId::from_uuid(Uuid::new_v4())
    }
    fn cart(customer: Option<CustomerId>) -> Cart {
        let token = CartToken::new(&"ab".repeat(32)).unwrap();
        Cart::new(
            CartId::from_uuid(Uuid::new_v4()),
            token,
            customer,
            Currency::USD,
            now(),
            &CartPolicy::default(),
        )
    }
    fn sku(s: &str) -> Sku {
        Sku::new(s).unwrap()
    }
    fn q(n: i64) -> Quantity {
        Quantity::new(n).unwrap()
    }
    const SHIPPED: ShippingRequirement = ShippingRequirement::Required;
    const DIGITAL: ShippingRequirement = ShippingRequirement::NotRequired;

    #[test]
    fn adding_the_same_sku_grows_the_line() {
        let p = CartPolicy::default();
        let mut c = cart(None);
        c.add_line(line_id(), sku("A"), q(2), SHIPPED, now(), &p).unwrap();
        c.add_line(line_id(), sku("A"), q(3), SHIPPED, now(), &p).unwrap();
        assert_eq!(c.lines().len(), 1);
        assert_eq!(c.lines()[0].quantity.get(), 5);
    }

    #[test]
    fn quantity_limit_is_enforced_and_leaves_the_cart_unchanged() {
        let p = CartPolicy::default();
        let mut c = cart(None);
        c.add_line(line_id(), sku("A"), q(90), SHIPPED, now(), &p).unwrap();
        let before = c.clone();
        let err = c.add_line(line_id(), sku("A"), q(10), SHIPPED, now(), &p).unwrap_err();
        assert!(matches!(err, CartError::QuantityLimit { requested: 100, max: 99, .. }));
        assert_eq!(c, before);
    }

    #[test]
    fn a_checked_out_cart_cannot_change() {
        let p = CartPolicy::default();
        let mut c = cart(None);
        c.add_line(line_id(), sku("A"), q(1), SHIPPED, now(), &p).unwrap();
        let order = OrderId::from_uuid(Uuid::new_v4());
        c.mark_checked_out(order, now()).unwrap();
        c.mark_checked_out(order, now()).unwrap();
        assert!(matches!(
            c.add_line(line_id(), sku("B"), q(1), SHIPPED, now(), &p),
            Err(CartError::Closed { .. })
        ));
    }

    #[test]
    fn expired_carts_reject_changes() {
        let p = CartPolicy::default();
        let mut c = cart(None);
        let later = now() + p.ttl;
        assert!(matches!(
            c.add_line(line_id(), sku("A"), q(1), SHIPPED, later, &p),
            Err(CartError::Expired { .. })
        ));
    }

    #[test]
    fn merging_adds_quantities_caps_at_the_limit_and_closes_the_guest_cart() {
        let p = CartPolicy::default();
        let customer = CustomerId::from_uuid(Uuid::new_v4());
        let mut mine = cart(Some(customer));
        mine.add_line(line_id(), sku("A"), q(60), SHIPPED, now(), &p).unwrap();
        let mut guest = cart(None);
        guest.add_line(line_id(), sku("A"), q(60), SHIPPED, now(), &p).unwrap();
        guest.add_line(line_id(), sku("B"), q(1), SHIPPED, now(), &p).unwrap();
        guest.apply_coupon(CouponCode::new("SAVE").unwrap(), now(), &p).unwrap();
        mine.merge_from(&mut guest, &mut line_id, now(), &p).unwrap();
        assert_eq!(mine.lines().len(), 2);
        assert_eq!(mine.lines()[0].quantity.get(), 99);
        assert_eq!(mine.coupons().len(), 1);
        assert_eq!(guest.status(), &CartStatus::Merged { into: mine.id() });
    }

    #[test]
    fn abandoned_means_a_customer_cart_with_lines_untouched_for_a_while() {
        let p = CartPolicy::default();
        let mut c = cart(Some(CustomerId::from_uuid(Uuid::new_v4())));
        assert!(!c.is_abandoned(now() + Duration::days(1), &p), "empty carts are not abandoned");
        c.add_line(line_id(), sku("A"), q(1), SHIPPED, now(), &p).unwrap();
        assert!(!c.is_abandoned(now() + Duration::hours(1), &p));
        assert!(c.is_abandoned(now() + Duration::hours(5), &p));
        c.mark_abandoned_notified();
        assert!(!c.is_abandoned(now() + Duration::hours(5), &p));
    }

    #[test]
    fn goods_to_ship_need_an_address_and_a_method_before_checkout() {
        let p = CartPolicy::default();
        let mut c = cart(None);
        c.add_line(line_id(), sku("TEE"), q(1), SHIPPED, now(), &p).unwrap();
        let address = Address {
            id: None,
            name: "Ann Lee".into(),
            line1: "1 Main St".into(),
            line2: None,
            city: "Sacramento".into(),
            postal_code: "95814".into(),
            region: crate::ids::RegionCode::new("US-CA").unwrap(),
            phone: None,
        };
        let standard = ShippingMethodId::new("standard").unwrap();

        let no_address = c.ensure_checkout_ready(now());
        c.set_delivery(Some(address.clone()), None, now(), &p).unwrap();
        let no_method = c.ensure_checkout_ready(now());
        c.set_delivery(Some(address), Some(standard), now(), &p).unwrap();

        assert_eq!(no_address, Err(CartError::ShippingAddressRequired { cart: c.id() }));
        assert_eq!(no_method, Err(CartError::ShippingMethodRequired { cart: c.id() }));
        assert_eq!(c.ensure_checkout_ready(now()), Ok(()));
    }

    #[test]
    fn digital_goods_check_out_without_an_address_until_a_shipped_line_joins() {
        let p = CartPolicy::default();
        let mut c = cart(None);
        c.add_line(line_id(), sku("EBOOK"), q(1), DIGITAL, now(), &p).unwrap();

        assert!(!c.requires_shipping());
        assert_eq!(c.ensure_checkout_ready(now()), Ok(()));
        c.add_line(line_id(), sku("TEE"), q(1), SHIPPED, now(), &p).unwrap();
        assert!(c.requires_shipping());
        assert!(matches!(
            c.ensure_checkout_ready(now()),
            Err(CartError::ShippingAddressRequired { .. })
        ));
    }

    #[test]
    fn merging_keeps_whether_each_line_ships() {
        let p = CartPolicy::default();
        let mut mine = cart(Some(CustomerId::from_uuid(Uuid::new_v4())));
        let mut guest = cart(None);
        guest.add_line(line_id(), sku("EBOOK"), q(1), DIGITAL, now(), &p).unwrap();

        mine.merge_from(&mut guest, &mut line_id, now(), &p).unwrap();

        assert_eq!(mine.lines()[0].shipping, DIGITAL);
        assert!(!mine.requires_shipping());
    }
}

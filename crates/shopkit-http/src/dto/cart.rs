//! Carts and their quotes on the wire.
//!
//! Requests carry SKUs, quantities, coupon codes and delivery choices only: a client never
//! sends a price. Members a request type does not define (`price`, `total`, or anything a
//! newer or older app version sends) are ignored, never read: prices always come from the
//! server's catalog and promotions, in the quote.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use shopkit_core::cart::{Cart, CartStatus};
use shopkit_core::ids::{CouponCode, ShippingMethodId, Sku};
use shopkit_core::money::Currency;
use shopkit_core::pricing::{
    AppliedPromotion, CouponRejection, Quote, QuotedLine, QuotedShipping, RejectedCoupon,
};
use shopkit_core::quantity::Quantity;
use shopkit_core::services::{Delivery, ShippingOption};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{AddressDto, AddressRequest, MoneyDto, ProblemDto, parse_currency};
use crate::error::ApiError;

/// A quantity as a client sends it: a JSON integer from 1 to 4294967295 (the cart's own
/// per-line limit is checked by the cart: `quantity_limit`). `0`, negative numbers,
/// decimals (`1.5`, `2.0`), strings (`"2"`) and larger numbers are refused with
/// `422 validation_failed` naming the member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(value_type = u32, minimum = 1, example = 2)]
pub struct QuantityInput(u32);

impl QuantityInput {
    /// The count.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for QuantityInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Whole;

        impl Visitor<'_> for Whole {
            type Value = QuantityInput;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a whole number from 1 to {}", u32::MAX)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<QuantityInput, E> {
                match u32::try_from(v) {
                    Ok(n) if n > 0 => Ok(QuantityInput(n)),
                    _ => Err(E::custom(format!(
                        "quantity {v} is out of range: send a whole number from 1 to {}",
                        u32::MAX
                    ))),
                }
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<QuantityInput, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!(
                        "quantity {v} is out of range: send a whole number of 1 or more"
                    ))),
                }
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<QuantityInput, E> {
                Err(E::custom(format!(
                    "quantity {v} is not a whole number: send an integer such as 2"
                )))
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<QuantityInput, E> {
                Err(E::custom("the quantity is a string: send it as a JSON number, such as 2"))
            }
        }

        deserializer.deserialize_any(Whole)
    }
}

/// The domain quantity of an optional request member; `field` names it in errors.
///
/// # Errors
/// `422 validation_failed` when it is missing (or `null`).
pub(crate) fn required_quantity(
    quantity: Option<QuantityInput>,
    field: &str,
) -> Result<Quantity, ApiError> {
    let q = quantity.ok_or_else(|| {
        ApiError::validation(field, format!("{field} is required: a whole number of 1 or more"))
    })?;
    Quantity::new(i64::from(q.get())).map_err(|e| ApiError::validation(field, e.to_string()))
}

/// A new cart (`POST /carts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateCartRequest {
    /// The ISO 4217 currency the cart is priced in. A signed-in customer who already has
    /// an open cart gets that cart, switched to this currency when it is in another (its
    /// lines repriced in it, as `PATCH /carts/{cart_id}` does).
    #[schema(value_type = crate::openapi::CurrencyCodeSchema)]
    pub currency: String,
}

impl CreateCartRequest {
    /// The currency.
    ///
    /// # Errors
    /// `422 validation_failed` (`field: "currency"`) for an unknown code.
    pub fn currency(&self) -> Result<Currency, ApiError> {
        parse_currency(&self.currency, "currency")
    }
}

/// A change of a cart's own settings (`PATCH /carts/{cart_id}`). A member left out stays
/// as it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UpdateCartRequest {
    /// The ISO 4217 currency to price the cart in from now on. Every line must be sold in
    /// it (`422 no_price_in_currency` names the first that is not: remove it, or keep the
    /// currency); coupons and delivery stay, and the quote tells whether they still apply.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::CurrencyCodeSchema>)]
    pub currency: Option<String>,
}

impl UpdateCartRequest {
    /// The currency asked for, if any.
    ///
    /// # Errors
    /// `422 validation_failed` (`field: "currency"`) for an unknown code.
    pub fn currency(&self) -> Result<Option<Currency>, ApiError> {
        self.currency.as_deref().map(|c| parse_currency(c, "currency")).transpose()
    }
}

/// Where a cart is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CartStatusDto {
    /// Being filled.
    Open,
    /// Became an order (`order_id`); read-only.
    CheckedOut,
    /// Merged into the customer's cart on sign-in (`merged_into`); read-only.
    Merged,
}

/// A line of a cart: a SKU and how many (prices are in the quote).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartLineDto {
    /// The line id (stable across quantity changes).
    pub id: Uuid,
    /// What is bought.
    pub sku: String,
    /// How many.
    pub quantity: u32,
    /// Whether it is shipped (physical goods) rather than delivered without shipping
    /// (digital goods, services).
    pub requires_shipping: bool,
}

/// A cart: lines, coupons and delivery choices, with what it costs now (`quote`, the same
/// as `GET /carts/{cart_id}/quote`). Every cart call answers this, so a client needs no
/// second request for the totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CartDto {
    /// The cart id.
    pub id: Uuid,
    /// Open, checked out or merged.
    pub status: CartStatusDto,
    /// The order it became, once checked out.
    pub order_id: Option<Uuid>,
    /// The cart it was merged into, once merged.
    pub merged_into: Option<Uuid>,
    /// The ISO 4217 currency it is priced in.
    pub currency: String,
    /// The lines, in the order they were added.
    pub lines: Vec<CartLineDto>,
    /// Total units over all lines.
    pub item_count: u64,
    /// Whether a line is shipped: checkout then needs `shipping_address` and
    /// `shipping_method` (`PUT /carts/{cart_id}/delivery`). A cart of only digital goods
    /// checks out without them.
    pub requires_shipping: bool,
    /// Coupon codes applied (upper case). Whether each still applies is in the quote.
    pub coupons: Vec<String>,
    /// Where to ship.
    pub shipping_address: Option<AddressDto>,
    /// How to ship (a shipping method handle).
    pub shipping_method: Option<String>,
    /// Changes with every change of the cart: a client can tell whether its copy is
    /// current.
    pub version: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it expires unless changed again.
    pub expires_at: DateTime<Utc>,
    /// What the cart costs now, as checkout would charge it; `null` when it cannot be
    /// priced now (see `quote_problem`).
    pub quote: Option<QuoteDto>,
    /// Why the cart cannot be priced now, as the problem `GET /carts/{cart_id}/quote` would
    /// answer: a line no longer sold (`unknown_sku`, `not_for_sale`,
    /// `no_price_in_currency`: remove it), a shipping method that cannot ship the cart
    /// (`shipping_unavailable`: choose another), or a backend outage (`unavailable`: read
    /// the cart again later). `null` when `quote` is there. The change asked for was made
    /// either way.
    pub quote_problem: Option<ProblemDto>,
}

impl CartDto {
    /// The cart `c` with its quote, or the problem that kept it from being priced.
    pub fn new(c: &Cart, quote: Result<Quote, ProblemDto>) -> Self {
        let (status, order_id, merged_into) = match c.status() {
            CartStatus::Open => (CartStatusDto::Open, None, None),
            CartStatus::CheckedOut { order } => {
                (CartStatusDto::CheckedOut, Some(order.as_uuid()), None)
            }
            CartStatus::Merged { into } => (CartStatusDto::Merged, None, Some(into.as_uuid())),
        };
        CartDto {
            id: c.id().as_uuid(),
            status,
            order_id,
            merged_into,
            currency: c.currency().code().to_owned(),
            lines: c
                .lines()
                .iter()
                .map(|l| CartLineDto {
                    id: l.id.as_uuid(),
                    sku: l.sku.to_string(),
                    quantity: l.quantity.get(),
                    requires_shipping: l.shipping.is_required(),
                })
                .collect(),
            item_count: c.item_count(),
            requires_shipping: c.requires_shipping(),
            coupons: c.coupons().iter().map(|code| code.as_str().to_owned()).collect(),
            shipping_address: c.shipping_address().map(AddressDto::from),
            shipping_method: c.shipping_method().map(|m| m.as_str().to_owned()),
            version: c.version(),
            created_at: c.created_at(),
            updated_at: c.updated_at(),
            expires_at: c.expires_at(),
            quote: quote.as_ref().ok().map(QuoteDto::from),
            quote_problem: quote.err(),
        }
    }
}

/// A cart just handed out by `POST /carts`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedCartDto {
    /// The cart.
    pub cart: CartDto,
    /// For a guest cart only, and only in this response: the cart's secret. Send it as
    /// `X-Cart-Token` on every call for this cart, and at sign-in to merge the cart into
    /// the customer's. `null` for a signed-in customer (their bearer token opens it).
    pub cart_token: Option<String>,
}

impl fmt::Debug for CreatedCartDto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedCartDto").field("cart", &self.cart).finish_non_exhaustive()
    }
}

/// Units of a SKU to add (`POST /carts/{cart_id}/lines`); a line of the same SKU grows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AddLineRequest {
    /// The variant's SKU.
    #[schema(value_type = crate::openapi::SkuSchema)]
    pub sku: String,
    /// How many to add.
    #[serde(default)]
    #[schema(value_type = QuantityInput, required = true)]
    pub quantity: Option<QuantityInput>,
}

impl AddLineRequest {
    /// The SKU and quantity.
    ///
    /// # Errors
    /// `422 validation_failed` naming `sku` or `quantity`.
    pub fn parse(self) -> Result<(Sku, Quantity), ApiError> {
        let sku =
            Sku::new(self.sku.trim()).map_err(|e| ApiError::validation("sku", e.to_string()))?;
        Ok((sku, required_quantity(self.quantity, "quantity")?))
    }
}

/// A line's new quantity (`PATCH /carts/{cart_id}/lines/{line_id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UpdateLineRequest {
    /// The new quantity (remove the line with `DELETE` instead of sending 0).
    #[serde(default)]
    #[schema(value_type = QuantityInput, required = true)]
    pub quantity: Option<QuantityInput>,
}

impl UpdateLineRequest {
    /// The quantity.
    ///
    /// # Errors
    /// `422 validation_failed` naming `quantity`.
    pub fn parse(self) -> Result<Quantity, ApiError> {
        required_quantity(self.quantity, "quantity")
    }
}

/// A coupon to apply (`POST /carts/{cart_id}/coupons`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplyCouponRequest {
    /// The code, case-insensitive.
    #[schema(value_type = crate::openapi::CouponCodeSchema)]
    pub code: String,
}

impl ApplyCouponRequest {
    /// The code.
    ///
    /// # Errors
    /// `422 validation_failed` (`field: "code"`) for a code of the wrong shape.
    pub fn parse(&self) -> Result<CouponCode, ApiError> {
        CouponCode::new(&self.code).map_err(|e| ApiError::validation("code", e.to_string()))
    }
}

/// Where and how to ship (`PUT /carts/{cart_id}/delivery`). Replaces both: a missing or
/// `null` member clears it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryRequest {
    /// The destination.
    #[serde(default)]
    pub address: Option<AddressRequest>,
    /// A shipping method handle of the shop that serves the destination.
    #[serde(default)]
    #[schema(example = "standard")]
    pub shipping_method: Option<String>,
}

impl TryFrom<DeliveryRequest> for Delivery {
    type Error = ApiError;

    fn try_from(r: DeliveryRequest) -> Result<Self, ApiError> {
        let address = r.address.as_ref().map(|a| a.to_address("address")).transpose()?;
        let method = r
            .shipping_method
            .as_deref()
            .map(|m| ShippingMethodId::new(m.trim()))
            .transpose()
            .map_err(|e| ApiError::validation("shipping_method", e.to_string()))?;
        Ok(Delivery { address, method })
    }
}

/// One priced line of a quote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuotedLineDto {
    /// The cart line.
    pub line_id: Uuid,
    /// Its SKU.
    pub sku: String,
    /// How many units.
    pub quantity: u32,
    /// The catalog price of one unit.
    pub unit_price: MoneyDto,
    /// `unit_price × quantity`.
    pub subtotal: MoneyDto,
    /// What promotions take off this line.
    pub discount: MoneyDto,
    /// The tax on the line (contained in `total` when `prices_include_tax`).
    pub tax: MoneyDto,
    /// What the line costs: `subtotal − discount`, plus `tax` when tax is added on top.
    pub total: MoneyDto,
}

impl From<&QuotedLine> for QuotedLineDto {
    fn from(l: &QuotedLine) -> Self {
        QuotedLineDto {
            line_id: l.line_id.as_uuid(),
            sku: l.sku.to_string(),
            quantity: l.quantity.get(),
            unit_price: l.unit_price.into(),
            subtotal: l.subtotal.into(),
            discount: l.discount.into(),
            tax: l.tax.into(),
            total: l.total.into(),
        }
    }
}

/// The shipping part of a quote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuotedShippingDto {
    /// The shipping method handle.
    pub method: String,
    /// Its name.
    pub name: String,
    /// The price before promotions.
    pub price: MoneyDto,
    /// What free-shipping promotions take off.
    pub discount: MoneyDto,
    /// The tax on shipping.
    pub tax: MoneyDto,
    /// What shipping adds to the grand total: `price − discount`, plus `tax` when tax is
    /// added on top.
    pub total: MoneyDto,
}

impl From<&QuotedShipping> for QuotedShippingDto {
    fn from(s: &QuotedShipping) -> Self {
        QuotedShippingDto {
            method: s.method.as_str().to_owned(),
            name: s.name.clone(),
            price: s.price.into(),
            discount: s.discount.into(),
            tax: s.tax.into(),
            total: s.total.into(),
        }
    }
}

/// A shipping method that can ship a cart, priced for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartShippingMethodDto {
    /// The method handle: send it as `shipping_method` to `PUT /carts/{cart_id}/delivery`.
    #[schema(example = "standard")]
    pub id: String,
    /// Its name, for the shopper.
    #[schema(example = "Standard (3-5 days)")]
    pub name: String,
    /// What it costs this cart before promotions (zero once the cart reaches `free_over`).
    pub price: MoneyDto,
    /// What free-shipping promotions take off.
    pub discount: MoneyDto,
    /// The tax on shipping.
    pub tax: MoneyDto,
    /// What shipping would cost: the quote's `shipping.total` with this method chosen.
    pub total: MoneyDto,
    /// The discounted merchandise total from which it ships free; `null` if it never does.
    pub free_over: Option<MoneyDto>,
}

impl From<&ShippingOption> for CartShippingMethodDto {
    fn from(o: &ShippingOption) -> Self {
        let s = &o.shipping;
        CartShippingMethodDto {
            id: s.method.as_str().to_owned(),
            name: s.name.clone(),
            price: s.price.into(),
            discount: s.discount.into(),
            tax: s.tax.into(),
            total: s.total.into(),
            free_over: o.free_over.map(MoneyDto::from),
        }
    }
}

/// The shipping methods that can ship a cart to its address
/// (`GET /carts/{cart_id}/shipping-methods`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartShippingMethodsDto {
    /// The methods, in the shop's order; empty when the cart has nothing to ship or no
    /// method serves its address.
    pub shipping_methods: Vec<CartShippingMethodDto>,
}

impl From<&[ShippingOption]> for CartShippingMethodsDto {
    fn from(options: &[ShippingOption]) -> Self {
        CartShippingMethodsDto {
            shipping_methods: options.iter().map(CartShippingMethodDto::from).collect(),
        }
    }
}

/// A promotion that applies to the cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppliedPromotionDto {
    /// The promotion.
    pub id: Uuid,
    /// Its name, for the customer.
    pub name: String,
    /// The coupon that unlocked it; `null` for an automatic promotion.
    pub coupon: Option<String>,
    /// What it takes off (lines and shipping together).
    pub amount: MoneyDto,
}

impl From<&AppliedPromotion> for AppliedPromotionDto {
    fn from(p: &AppliedPromotion) -> Self {
        AppliedPromotionDto {
            id: p.id.as_uuid(),
            name: p.name.clone(),
            coupon: p.coupon.as_ref().map(|c| c.as_str().to_owned()),
            amount: p.amount.into(),
        }
    }
}

/// A coupon of the cart that does not apply now, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RejectedCouponDto {
    /// The code.
    pub code: String,
    /// Why, as a stable code: `unknown`, `not_started`, `expired`, `usage_limit_reached`,
    /// `wrong_currency`, `min_subtotal_not_met`, `no_eligible_line`, `not_enough_items`,
    /// `not_combinable` or `other` (the `reason` of a `coupon_rejected` problem).
    pub reason: String,
    /// What to do, for a person.
    pub detail: String,
}

/// The stable code of a coupon rejection (the same as a `coupon_rejected` problem's).
pub(crate) fn rejection_code(reason: &CouponRejection) -> &'static str {
    match reason {
        CouponRejection::Unknown => "unknown",
        CouponRejection::NotStarted { .. } => "not_started",
        CouponRejection::Expired { .. } => "expired",
        CouponRejection::UsageLimitReached { .. } => "usage_limit_reached",
        CouponRejection::WrongCurrency { .. } => "wrong_currency",
        CouponRejection::MinSubtotalNotMet { .. } => "min_subtotal_not_met",
        CouponRejection::NoEligibleLine => "no_eligible_line",
        CouponRejection::NotEnoughItems { .. } => "not_enough_items",
        CouponRejection::NotCombinable { .. } => "not_combinable",
        _ => "other",
    }
}

impl From<&RejectedCoupon> for RejectedCouponDto {
    fn from(r: &RejectedCoupon) -> Self {
        RejectedCouponDto {
            code: r.code.as_str().to_owned(),
            reason: rejection_code(&r.reason).to_owned(),
            detail: r.reason.to_string(),
        }
    }
}

/// What a cart costs now, as the server prices it: catalog prices in the cart's currency,
/// promotions, shipping and tax. Checkout charges exactly this. Reconciles to the minor
/// unit: `grand_total = Σ lines.total + shipping.total`, and it reads as a receipt:
/// `subtotal − discount_total + shipping_total + tax_total = grand_total` when tax is
/// added on top; when prices include tax (`prices_include_tax`), `subtotal −
/// discount_total + shipping_total = grand_total` and `tax_total` is the tax they contain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuoteDto {
    /// The ISO 4217 currency of every amount.
    pub currency: String,
    /// The priced lines, in cart order.
    pub lines: Vec<QuotedLineDto>,
    /// The sum of the line subtotals, before discounts.
    pub subtotal: MoneyDto,
    /// Every discount: lines and shipping (`shipping.discount`).
    pub discount_total: MoneyDto,
    /// Shipping at its price (`shipping.price`), before its discount (in
    /// `discount_total`) and its tax (in `tax_total`); zero until a method is chosen.
    pub shipping_total: MoneyDto,
    /// Shipping apart, once a method is chosen (and the cart has lines).
    pub shipping: Option<QuotedShippingDto>,
    /// Every tax: lines and shipping (`shipping.tax`).
    pub tax_total: MoneyDto,
    /// What the customer pays.
    pub grand_total: MoneyDto,
    /// Whether prices and totals include tax (otherwise tax is added on top).
    pub prices_include_tax: bool,
    /// The promotions that apply, in the order they were applied.
    pub applied_promotions: Vec<AppliedPromotionDto>,
    /// The cart's coupons that do not apply now, with the reason (a checkout with one of
    /// them is refused: remove it first).
    pub unapplied_coupons: Vec<RejectedCouponDto>,
}

impl From<&Quote> for QuoteDto {
    fn from(q: &Quote) -> Self {
        QuoteDto {
            currency: q.currency().code().to_owned(),
            lines: q.lines().iter().map(QuotedLineDto::from).collect(),
            subtotal: q.subtotal().into(),
            discount_total: q.discount_total().into(),
            shipping_total: q.shipping_total().into(),
            shipping: q.shipping().map(QuotedShippingDto::from),
            tax_total: q.tax_total().into(),
            grand_total: q.grand_total().into(),
            prices_include_tax: q.prices_include_tax(),
            applied_promotions: q.applied_promotions().iter().map(Into::into).collect(),
            unapplied_coupons: q.unapplied_coupons().iter().map(Into::into).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn add(body: serde_json::Value) -> Result<(Sku, Quantity), ApiError> {
        crate::extract::parse_json::<AddLineRequest>(body.to_string().as_bytes())?.parse()
    }

    #[test]
    fn only_whole_quantities_from_one_up_are_accepted() {
        for bad in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!(2.0),
            json!("2"),
            json!(1_000_000_000_000_i64),
            json!(null),
            json!(true),
        ] {
            let err = add(json!({"sku": "TEE", "quantity": bad})).unwrap_err();
            assert_eq!(err.status(), 422, "{bad}");
            assert_eq!(err.extension("field").unwrap(), "quantity", "{bad}");
        }
        let missing = add(json!({"sku": "TEE"})).unwrap_err();
        assert_eq!(missing.extension("field").unwrap(), "quantity");
        assert_eq!(add(json!({"sku": "TEE", "quantity": 3})).unwrap().1.get(), 3);
    }

    #[test]
    fn prices_and_other_unknown_members_are_ignored() {
        let (sku, quantity) =
            add(json!({"sku": "TEE", "quantity": 1, "price": "0.01", "total": "0.01"})).unwrap();

        assert_eq!((sku.as_str(), quantity.get()), ("TEE", 1));
    }

    #[test]
    fn a_malformed_sku_names_the_field() {
        let err = add(json!({"sku": "has space", "quantity": 1})).unwrap_err();

        assert_eq!(err.extension("field").unwrap(), "sku");
    }
}

//! The pricing engine: cart lines plus the shop's rules in, a [`Quote`] whose totals
//! reconcile to the minor unit out.
//!
//! Pure CPU: plain functions and values, no traits, no I/O, no clock (the time comes in the
//! request), no floats. The same request and rules always give the same quote.
//!
//! # Layout
//! - `promotion`: [`Promotion`] and its builder, [`CouponRejection`], [`check_coupon`].
//! - `discount`: turning the applicable promotions into per-line discounts (stacking).
//! - `tax`: [`TaxTable`] and [`TaxRate`], inclusive and exclusive tax.
//! - `shipping`: [`ShippingTable`], [`ShippingRate`], flat and weight-band prices.
//! - `quote`: [`QuoteRequest`] in, [`Quote`] out, and [`quote`] that joins the rest.
//!
//! # How a quote is computed
//! 1. **Lines.** `subtotal = unit_price × quantity`, exact. Every unit price must be in the
//!    request's currency and not negative.
//! 2. **Promotions.** Candidates are the automatic promotions plus those whose coupon is in
//!    the request, ordered by priority (highest first) then id, so the order never depends
//!    on how the rules were loaded. A candidate applies when it is within its dates, under
//!    its usage limit, in the cart's currency, its minimum subtotal (checked against the
//!    subtotal *before* discounts) is met, and it targets at least one line (and, for
//!    buy-X-get-Y, enough units). If the first applicable one is
//!    [`Stacking::Exclusive`], it alone applies; otherwise every applicable
//!    [`Stacking::Combinable`] one applies in order, each on what is left of a line after
//!    the earlier ones. Coupons in the request that end up not applying are reported with
//!    the reason ([`Quote::unapplied_coupons`]), never silently dropped.
//! 3. **Shipping.** Only when a method is chosen and the cart is not empty. The most
//!    specific rate of that method serving the destination is used; `free_over` compares
//!    against the discounted merchandise total (before tax added on top). A
//!    [`PromotionKind::FreeShipping`] promotion discounts the whole shipping price.
//! 4. **Tax.** The most specific [`TaxRate`] for `ship_to`, per line and on shipping (when
//!    [`TaxTable::tax_shipping`]), each rounded with [`PricingRules::rounding`]. Inclusive
//!    prices have their tax extracted (the total is unchanged); exclusive prices have it
//!    added.
//!
//! # Invariant
//! Every [`Quote`] satisfies, exactly and in its currency (checked by
//! [`Quote::reconciles`] and by a property test):
//! - `subtotal = Σ line.subtotal`, and `line.subtotal = unit_price × quantity`;
//! - `0 ≤ line.discount ≤ line.subtotal`;
//! - `line.total = line.subtotal − line.discount (+ line.tax when prices exclude tax)`;
//! - `shipping.total = shipping.price − shipping.discount (+ shipping.tax when exclusive)`;
//! - `discount_total = Σ line.discount + shipping.discount = Σ applied.amount`;
//! - `tax_total = Σ line.tax + shipping.tax`;
//! - `grand_total = Σ line.total + shipping.total ≥ 0`;
//! - and so it reads as a receipt, with [`Quote::shipping_total`] the shipping price
//!   before its discount and tax: `subtotal − discount_total + shipping_total + tax_total =
//!   grand_total` when prices exclude tax. When they include it, `subtotal −
//!   discount_total + shipping_total = grand_total` and `tax_total` is the tax those
//!   amounts contain (the "of which VAT" line).

mod discount;
mod promotion;
mod quote;
mod shipping;
mod tax;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod test_support;

use crate::ids::{LineId, RegionCode, ShippingMethodId};
use crate::money::{Currency, Money, MoneyError, RoundingPolicy};

pub use promotion::{
    CouponRejection, Promotion, PromotionBuilder, PromotionError, PromotionKind, PromotionTarget,
    Stacking, check_coupon,
};
pub(crate) use quote::receipt_total;
pub use quote::{
    AppliedPromotion, Quote, QuoteLine, QuoteRequest, QuotedLine, QuotedShipping, RejectedCoupon,
    quote,
};
pub use shipping::{ShippingPrice, ShippingRate, ShippingRateError, ShippingTable, WeightBand};
pub use tax::{TaxRate, TaxRateError, TaxTable};

/// Everything a quote needs besides the cart: promotions, taxes, shipping and rounding.
///
/// A plain value the caller builds (and, later, loads from a store). Each part is valid by
/// construction ([`Promotion::builder`], [`TaxRate::new`], [`ShippingRate::new`]); the
/// order of `promotions` does not matter, the engine orders them itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PricingRules {
    /// Every promotion the shop runs, automatic or behind a coupon, active or not.
    pub promotions: Vec<Promotion>,
    /// Tax rates by region, and whether prices include tax.
    pub taxes: TaxTable,
    /// Shipping methods and their prices.
    pub shipping: ShippingTable,
    /// How percentages and taxes are rounded to the minor unit.
    pub rounding: RoundingPolicy,
}

/// Why a cart could not be quoted. Each variant says what to fix.
///
/// Coupons that do not apply are *not* errors: they are reported in the quote
/// ([`Quote::unapplied_coupons`]) so the customer can be told why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PricingError {
    /// A money computation failed (overflow, or currencies that do not match).
    #[error("money arithmetic failed while pricing: {0}")]
    Money(#[from] MoneyError),
    /// A line is priced in another currency than the quote; resolve prices in one currency.
    #[error("line {line_id} is priced in {found}, but the quote is in {expected}")]
    LineCurrencyMismatch {
        /// The line.
        line_id: LineId,
        /// The quote's currency.
        expected: Currency,
        /// The line's currency.
        found: Currency,
    },
    /// A line has a negative unit price; prices come from the catalog and are never negative.
    #[error("line {line_id} has a negative unit price {price}")]
    NegativeUnitPrice {
        /// The line.
        line_id: LineId,
        /// The price as given.
        price: Money,
    },
    /// The shipping method is not in the shipping table; pick one of the shop's methods.
    #[error("unknown shipping method {method}: choose one of the shop's shipping methods")]
    UnknownShippingMethod {
        /// The method as requested.
        method: ShippingMethodId,
    },
    /// The method exists but does not deliver to the destination (or no destination was
    /// given and the method only serves some regions).
    #[error(
        "shipping method {method} does not deliver to {}: choose another method or address",
        .region.as_ref().map_or("an unknown address", RegionCode::as_str)
    )]
    ShippingUnavailable {
        /// The method.
        method: ShippingMethodId,
        /// The destination, if one was given.
        region: Option<RegionCode>,
    },
    /// The parcel is heavier than the method's last weight band.
    #[error(
        "shipping method {method} has no rate for {weight_grams} g: split the order or choose another method"
    )]
    NoShippingRate {
        /// The method.
        method: ShippingMethodId,
        /// The total weight of the cart.
        weight_grams: u64,
    },
    /// The shipping rate is priced in another currency than the quote; configure one shipping
    /// table per currency.
    #[error("shipping method {method} is priced in {found}, but the quote is in {expected}")]
    ShippingCurrencyMismatch {
        /// The method.
        method: ShippingMethodId,
        /// The quote's currency.
        expected: Currency,
        /// The rate's currency.
        found: Currency,
    },
}

//! A quote: what a cart costs, line by line, with discounts, shipping and tax, reconciled.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::discount::{self, Cart};
use super::{CouponRejection, PricingError, PricingRules};
use crate::ids::{
    CategoryId, CouponCode, LineId, ProductId, PromotionId, RegionCode, ShippingMethodId, Sku,
};
use crate::money::{Currency, Money, MoneyError};
use crate::quantity::Quantity;

/// One cart line to price. The unit price is resolved by the caller from the catalog;
/// clients never send prices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuoteLine {
    /// The cart line.
    pub line_id: LineId,
    /// The variant's SKU (promotions can target it).
    pub sku: Sku,
    /// The product.
    pub product_id: ProductId,
    /// The product's categories (promotions can target them).
    pub categories: Vec<CategoryId>,
    /// How many units.
    pub quantity: Quantity,
    /// The catalog price of one unit, in the quote's currency, not negative.
    pub unit_price: Money,
    /// The weight of one unit, for weight-banded shipping.
    pub weight_grams: u32,
}

/// What to quote: lines, coupons, destination and shipping method, at an instant.
///
/// Borrows everything, so building one per request costs nothing.
#[derive(Clone, Copy, Debug)]
pub struct QuoteRequest<'a> {
    /// The currency of every price and of the quote.
    pub currency: Currency,
    /// The cart's lines, in display order.
    pub lines: &'a [QuoteLine],
    /// Coupon codes the customer entered (duplicates count once).
    pub coupons: &'a [CouponCode],
    /// The destination: selects the tax rate and the shipping rate. `None` means no tax.
    pub ship_to: Option<&'a RegionCode>,
    /// The chosen shipping method. `None` means no shipping charge yet.
    pub shipping_method: Option<&'a ShippingMethodId>,
    /// The instant promotions are checked against (from the caller's clock).
    pub now: DateTime<Utc>,
}

impl<'a> QuoteRequest<'a> {
    /// A request for `lines` with no coupon, destination or shipping method.
    pub fn new(currency: Currency, lines: &'a [QuoteLine], now: DateTime<Utc>) -> Self {
        QuoteRequest { currency, lines, coupons: &[], ship_to: None, shipping_method: None, now }
    }

    /// With these coupon codes.
    #[must_use]
    pub fn coupons(mut self, coupons: &'a [CouponCode]) -> Self {
        self.coupons = coupons;
        self
    }

    /// Shipped to `region`.
    #[must_use]
    pub fn ship_to(mut self, region: &'a RegionCode) -> Self {
        self.ship_to = Some(region);
        self
    }

    /// With shipping `method`.
    #[must_use]
    pub fn shipping_method(mut self, method: &'a ShippingMethodId) -> Self {
        self.shipping_method = Some(method);
        self
    }
}

/// One priced line of a [`Quote`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuotedLine {
    /// The cart line.
    pub line_id: LineId,
    /// Its SKU.
    pub sku: Sku,
    /// How many units.
    pub quantity: Quantity,
    /// The price of one unit.
    pub unit_price: Money,
    /// `unit_price × quantity`.
    pub subtotal: Money,
    /// Every promotion's discount on this line, at most `subtotal`.
    pub discount: Money,
    /// The tax on `subtotal − discount` (contained in it when prices include tax).
    pub tax: Money,
    /// `subtotal − discount`, plus `tax` when prices exclude tax.
    pub total: Money,
}

/// The shipping part of a [`Quote`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuotedShipping {
    /// The method.
    pub method: ShippingMethodId,
    /// The rate's name.
    pub name: String,
    /// The price before promotions (zero over the rate's free-over threshold).
    pub price: Money,
    /// What free-shipping promotions take off, at most `price`.
    pub discount: Money,
    /// The tax on `price − discount` (contained in it when prices include tax).
    pub tax: Money,
    /// `price − discount`, plus `tax` when prices exclude tax.
    pub total: Money,
}

/// A promotion that applied, and what it took off in total (lines and shipping). Orders
/// keep the list their quote had (`OrderTotals::applied_promotions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedPromotion {
    /// The promotion.
    pub id: PromotionId,
    /// Its name, for the customer.
    pub name: String,
    /// The coupon that unlocked it; `None` for an automatic promotion.
    pub coupon: Option<CouponCode>,
    /// What it took off. Can be zero (free shipping before a method is chosen).
    pub amount: Money,
}

/// A coupon of the request that does not apply, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectedCoupon {
    /// The code as entered (normalised).
    pub code: CouponCode,
    /// Why it does not apply; its message tells the customer what to do.
    pub reason: CouponRejection,
}

/// What a cart costs. Only [`quote`] makes one, and every quote reconciles exactly (see
/// the invariant in the [`pricing`](super) docs and [`Quote::reconciles`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quote {
    currency: Currency,
    lines: Vec<QuotedLine>,
    subtotal: Money,
    discount_total: Money,
    shipping: Option<QuotedShipping>,
    tax_total: Money,
    grand_total: Money,
    applied_promotions: Vec<AppliedPromotion>,
    unapplied_coupons: Vec<RejectedCoupon>,
    prices_include_tax: bool,
}

impl Quote {
    /// The currency of every amount.
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The priced lines, in request order.
    pub fn lines(&self) -> &[QuotedLine] {
        &self.lines
    }
    /// The sum of the line subtotals, before discounts.
    pub fn subtotal(&self) -> Money {
        self.subtotal
    }
    /// Every discount: lines and shipping.
    pub fn discount_total(&self) -> Money {
        self.discount_total
    }
    /// Shipping, when a method was chosen and the cart is not empty.
    pub fn shipping(&self) -> Option<&QuotedShipping> {
        self.shipping.as_ref()
    }
    /// Shipping on the receipt: its price before its discount (in
    /// [`Quote::discount_total`]) and its tax (in [`Quote::tax_total`]); zero without
    /// shipping. So `subtotal − discount_total + shipping_total + tax_total = grand_total`
    /// when prices exclude tax, and `subtotal − discount_total + shipping_total =
    /// grand_total` (tax included in it) when they include it.
    pub fn shipping_total(&self) -> Money {
        self.shipping.as_ref().map_or(Money::zero(self.currency), |s| s.price)
    }
    /// Every tax: lines and shipping (contained in the totals when prices include tax).
    pub fn tax_total(&self) -> Money {
        self.tax_total
    }
    /// What the customer pays: line totals plus shipping total. Never negative.
    pub fn grand_total(&self) -> Money {
        self.grand_total
    }
    /// The promotions that applied, in application order.
    pub fn applied_promotions(&self) -> &[AppliedPromotion] {
        &self.applied_promotions
    }
    /// The request's coupons that did not apply, with the reason.
    pub fn unapplied_coupons(&self) -> &[RejectedCoupon] {
        &self.unapplied_coupons
    }
    /// Whether the prices (and totals) include tax.
    pub fn prices_include_tax(&self) -> bool {
        self.prices_include_tax
    }

    /// Whether the quote satisfies its invariant, exactly (see the [`pricing`](super)
    /// docs). Always true for a quote from [`quote`]; there for tests and for audits.
    pub fn reconciles(&self) -> bool {
        self.check().is_ok()
    }

    /// The first broken rule of the invariant, if any.
    pub(super) fn check(&self) -> Result<(), &'static str> {
        fn ok(cond: Result<bool, MoneyError>, rule: &'static str) -> Result<(), &'static str> {
            if cond == Ok(true) { Ok(()) } else { Err(rule) }
        }
        let c = self.currency;
        let exclusive = !self.prices_include_tax;
        let zero = Money::zero(c);
        let (mut subtotal, mut discounts, mut taxes, mut totals) = (zero, zero, zero, zero);
        for l in &self.lines {
            ok(Ok(l.unit_price.currency() == c), "a line is in another currency")?;
            ok(
                l.unit_price.checked_mul(u64::from(l.quantity)).map(|s| s == l.subtotal),
                "line subtotal = unit price × quantity",
            )?;
            ok(
                l.discount
                    .try_cmp(&zero)
                    .map(|o| o.is_ge())
                    .and_then(|ge| Ok(ge && l.discount.try_cmp(&l.subtotal)?.is_le())),
                "0 ≤ line discount ≤ line subtotal",
            )?;
            ok(Ok(!l.tax.is_negative() && l.tax.currency() == c), "line tax ≥ 0")?;
            ok(
                total_of(&l.subtotal, &l.discount, &l.tax, exclusive).map(|t| t == l.total),
                "line total = subtotal − discount (+ tax if exclusive)",
            )?;
            subtotal = subtotal.checked_add(&l.subtotal).map_err(|_| "sum of line subtotals")?;
            discounts = discounts.checked_add(&l.discount).map_err(|_| "sum of line discounts")?;
            taxes = taxes.checked_add(&l.tax).map_err(|_| "sum of line taxes")?;
            totals = totals.checked_add(&l.total).map_err(|_| "sum of line totals")?;
        }
        if let Some(s) = &self.shipping {
            ok(
                s.discount
                    .try_cmp(&zero)
                    .map(|o| o.is_ge())
                    .and_then(|ge| Ok(ge && s.discount.try_cmp(&s.price)?.is_le())),
                "0 ≤ shipping discount ≤ shipping price",
            )?;
            ok(Ok(!s.tax.is_negative() && s.tax.currency() == c), "shipping tax ≥ 0")?;
            ok(
                total_of(&s.price, &s.discount, &s.tax, exclusive).map(|t| t == s.total),
                "shipping total = price − discount (+ tax if exclusive)",
            )?;
            discounts = discounts.checked_add(&s.discount).map_err(|_| "shipping discount")?;
            taxes = taxes.checked_add(&s.tax).map_err(|_| "shipping tax")?;
            totals = totals.checked_add(&s.total).map_err(|_| "shipping total")?;
        }
        ok(Ok(subtotal == self.subtotal), "subtotal = Σ line subtotals")?;
        ok(
            Ok(discounts == self.discount_total),
            "discount total = Σ line discounts + shipping discount",
        )?;
        ok(
            Money::sum(c, self.applied_promotions.iter().map(|a| &a.amount))
                .map(|s| s == self.discount_total),
            "discount total = Σ applied promotion amounts",
        )?;
        ok(Ok(taxes == self.tax_total), "tax total = Σ line taxes + shipping tax")?;
        ok(Ok(totals == self.grand_total), "grand total = Σ line totals + shipping total")?;
        ok(Ok(!self.grand_total.is_negative()), "grand total ≥ 0")?;
        ok(
            receipt_total(
                &self.subtotal,
                &self.discount_total,
                &self.shipping_total(),
                &self.tax_total,
                exclusive,
            )
            .map(|t| t == self.grand_total),
            "grand total = subtotal − discount total + shipping total (+ tax total if exclusive)",
        )?;
        Ok(())
    }
}

/// The bottom line of a receipt: `subtotal − discounts + shipping`, plus `tax` when prices
/// exclude tax (when they include it, the tax is inside the other amounts).
pub(crate) fn receipt_total(
    subtotal: &Money,
    discounts: &Money,
    shipping: &Money,
    tax: &Money,
    exclusive: bool,
) -> Result<Money, MoneyError> {
    let before_tax = subtotal.checked_sub(discounts)?.checked_add(shipping)?;
    if exclusive { before_tax.checked_add(tax) } else { Ok(before_tax) }
}

/// `amount − discount`, plus `tax` when prices exclude tax.
fn total_of(
    amount: &Money,
    discount: &Money,
    tax: &Money,
    exclusive: bool,
) -> Result<Money, MoneyError> {
    let net = amount.checked_sub(discount)?;
    if exclusive { net.checked_add(tax) } else { Ok(net) }
}

/// Prices a cart: line subtotals, promotions (with stacking), shipping, tax and totals that
/// reconcile exactly. Deterministic and pure: the same rules and request give the same
/// quote. An empty cart quotes to zero (with no shipping, and every coupon reported as
/// having no eligible line).
///
/// # Errors
/// - [`PricingError::LineCurrencyMismatch`] / [`PricingError::NegativeUnitPrice`] for a
///   line priced in another currency or below zero;
/// - [`PricingError::UnknownShippingMethod`], [`PricingError::ShippingUnavailable`],
///   [`PricingError::NoShippingRate`], [`PricingError::ShippingCurrencyMismatch`] when the
///   chosen method cannot ship the cart;
/// - [`PricingError::Money`] when amounts overflow the decimal range.
///
/// Coupons that do not apply are not errors: see [`Quote::unapplied_coupons`].
pub fn quote(rules: &PricingRules, request: &QuoteRequest<'_>) -> Result<Quote, PricingError> {
    let currency = request.currency;
    let rounding = rules.rounding;
    let zero = Money::zero(currency);

    // 1. Lines.
    let mut subtotals = Vec::with_capacity(request.lines.len());
    let mut subtotal = zero;
    for line in request.lines {
        let price = line.unit_price;
        if price.currency() != currency {
            return Err(PricingError::LineCurrencyMismatch {
                line_id: line.line_id,
                expected: currency,
                found: price.currency(),
            });
        }
        if price.is_negative() {
            return Err(PricingError::NegativeUnitPrice { line_id: line.line_id, price });
        }
        let line_subtotal = price.checked_mul(u64::from(line.quantity))?;
        subtotal = subtotal.checked_add(&line_subtotal)?;
        subtotals.push(line_subtotal);
    }

    // 2. Promotions.
    let cart = Cart {
        currency,
        lines: request.lines,
        subtotals: &subtotals,
        subtotal,
        coupons: request.coupons,
        now: request.now,
    };
    let discounts = discount::apply(&rules.promotions, &cart, rounding)?;

    // 3. Lines' tax and totals.
    let taxes = &rules.taxes;
    let exclusive = !taxes.prices_include_tax;
    let tax_rate = request.ship_to.and_then(|r| taxes.rate_for(r));
    let mut lines = Vec::with_capacity(request.lines.len());
    let (mut discount_total, mut tax_total, mut grand_total) = (zero, zero, zero);
    let mut merchandise = zero;
    for ((line, line_subtotal), discount) in
        request.lines.iter().zip(&subtotals).zip(&discounts.per_line)
    {
        let net = line_subtotal.checked_sub(discount)?;
        let tax = match tax_rate {
            Some(rate) => taxes.tax_for(rate, &net, rounding)?,
            None => zero,
        };
        let total = if exclusive { net.checked_add(&tax)? } else { net };
        merchandise = merchandise.checked_add(&net)?;
        discount_total = discount_total.checked_add(discount)?;
        tax_total = tax_total.checked_add(&tax)?;
        grand_total = grand_total.checked_add(&total)?;
        lines.push(QuotedLine {
            line_id: line.line_id,
            sku: line.sku.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            subtotal: *line_subtotal,
            discount: *discount,
            tax,
            total,
        });
    }

    let mut applied_promotions: Vec<AppliedPromotion> = discounts
        .applied
        .iter()
        .map(|(p, amount)| AppliedPromotion {
            id: p.id(),
            name: p.name().to_owned(),
            coupon: p.coupon().cloned(),
            amount: *amount,
        })
        .collect();

    // 4. Shipping.
    let shipping = match request.shipping_method {
        Some(method) if !request.lines.is_empty() => {
            let rate = rules.shipping.rate_for(method, request.ship_to, request.currency)?;
            let weight_grams = request.lines.iter().fold(0u64, |w, l| {
                w.saturating_add(u64::from(l.weight_grams).saturating_mul(u64::from(l.quantity)))
            });
            let price = rate.charge(weight_grams, &merchandise)?;
            let discount = match discounts.free_shipping() {
                Some(i) => {
                    let promotion = &mut applied_promotions[i];
                    promotion.amount = promotion.amount.checked_add(&price)?;
                    price
                }
                None => zero,
            };
            let net = price.checked_sub(&discount)?;
            let tax = match tax_rate {
                Some(rate) if taxes.tax_shipping => taxes.tax_for(rate, &net, rounding)?,
                _ => zero,
            };
            let total = if exclusive { net.checked_add(&tax)? } else { net };
            discount_total = discount_total.checked_add(&discount)?;
            tax_total = tax_total.checked_add(&tax)?;
            grand_total = grand_total.checked_add(&total)?;
            Some(QuotedShipping {
                method: method.clone(),
                name: rate.name().to_owned(),
                price,
                discount,
                tax,
                total,
            })
        }
        _ => None,
    };

    Ok(Quote {
        currency,
        lines,
        subtotal,
        discount_total,
        shipping,
        tax_total,
        grand_total,
        applied_promotions,
        unapplied_coupons: discounts.rejected,
        prices_include_tax: taxes.prices_include_tax,
    })
}

#[cfg(test)]
#[allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts in minor units are written units_cents: usd(19_99) is 19.99"
)]
mod tests {
    use super::*;
    use crate::pricing::test_support::*;
    use crate::pricing::{
        Promotion, PromotionKind, PromotionTarget, ShippingPrice, ShippingRate, ShippingTable,
        Stacking, TaxRate, TaxTable, WeightBand,
    };
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    fn percent(id: u128, name: &str, p: Decimal) -> crate::pricing::PromotionBuilder {
        Promotion::builder(promo_id(id), name, PromotionKind::Percentage(p))
    }

    fn rules(promotions: Vec<Promotion>) -> PricingRules {
        PricingRules { promotions, ..PricingRules::default() }
    }

    fn taxes(rates: &[(&str, Decimal)], prices_include_tax: bool) -> TaxTable {
        TaxTable {
            rates: rates
                .iter()
                .map(|(r, rate)| TaxRate::new(region(r), *rate, "tax").unwrap())
                .collect(),
            prices_include_tax,
            tax_shipping: false,
        }
    }

    fn flat_shipping(price: Money) -> ShippingTable {
        ShippingTable {
            rates: vec![
                ShippingRate::new(method("standard"), "Standard", ShippingPrice::Flat(price))
                    .unwrap(),
            ],
        }
    }

    fn quoted(rules: &PricingRules, request: &QuoteRequest<'_>) -> Quote {
        let q = quote(rules, request).unwrap();
        assert_eq!(q.check(), Ok(()), "{q:#?}");
        q
    }

    fn discounts(q: &Quote) -> Vec<Money> {
        q.lines().iter().map(|l| l.discount).collect()
    }

    #[test]
    fn a_cart_without_rules_costs_the_sum_of_its_lines() {
        let lines = [line(1, usd(19_99), 2), line(2, usd(5_00), 1)];
        let q = quoted(&PricingRules::default(), &request(&lines));
        assert_eq!(q.subtotal(), usd(44_98));
        assert_eq!(q.grand_total(), usd(44_98));
        assert!(q.discount_total().is_zero() && q.tax_total().is_zero());
        assert!(q.shipping().is_none());
    }

    #[test]
    fn percentage_off_rounds_half_even_per_line() {
        // 50 % of 0.05 is 0.025 → 0.02; of 0.15 is 0.075 → 0.08 (ties to the even cent).
        let lines = [line(1, usd(5), 1), line(2, usd(15), 1)];
        let r = rules(vec![percent(1, "Half", dec!(50)).build().unwrap()]);
        let q = quoted(&r, &request(&lines));
        assert_eq!(discounts(&q), [usd(2), usd(8)]);
        assert_eq!(q.applied_promotions()[0].amount, usd(10));
    }

    #[test]
    fn the_rounding_policy_of_the_rules_is_used() {
        let lines = [line(1, usd(5), 1)];
        let mut r = rules(vec![percent(1, "Half", dec!(50)).build().unwrap()]);
        r.rounding = crate::money::RoundingPolicy::HalfUp;
        assert_eq!(discounts(&quoted(&r, &request(&lines))), [usd(3)]);
    }

    #[test]
    fn combinable_percentages_apply_to_what_remains() {
        let lines = [line(1, usd(100_00), 1)];
        let r = rules(vec![
            percent(1, "Ten", dec!(10)).priority(2).build().unwrap(),
            percent(2, "Twenty", dec!(20)).priority(1).build().unwrap(),
        ]);
        let q = quoted(&r, &request(&lines));
        // 10 % of 100 = 10, then 20 % of 90 = 18.
        assert_eq!(q.discount_total(), usd(28_00));
        let amounts: Vec<_> = q.applied_promotions().iter().map(|a| a.amount).collect();
        assert_eq!(amounts, [usd(10_00), usd(18_00)]);
    }

    #[test]
    fn exclusive_promotion_beats_combinable_ones() {
        let lines = [line(1, usd(100_00), 1)];
        let r = rules(vec![
            percent(1, "Auto 10", dec!(10)).build().unwrap(),
            percent(2, "VIP 30", dec!(30))
                .coupon(coupon("VIP"))
                .priority(10)
                .stacking(Stacking::Exclusive)
                .build()
                .unwrap(),
        ]);
        let codes = [coupon("VIP")];
        let q = quoted(&r, &request(&lines).coupons(&codes));
        assert_eq!(q.discount_total(), usd(30_00));
        assert_eq!(q.applied_promotions().len(), 1);
        assert_eq!(q.applied_promotions()[0].coupon, Some(coupon("VIP")));
        assert!(q.unapplied_coupons().is_empty());
    }

    #[test]
    fn an_exclusive_coupon_that_loses_is_reported_as_not_combinable() {
        let lines = [line(1, usd(100_00), 1)];
        let r = rules(vec![
            percent(1, "Summer sale", dec!(10)).priority(10).build().unwrap(),
            percent(2, "Solo", dec!(30))
                .coupon(coupon("SOLO"))
                .stacking(Stacking::Exclusive)
                .build()
                .unwrap(),
        ]);
        let codes = [coupon("SOLO")];
        let q = quoted(&r, &request(&lines).coupons(&codes));
        assert_eq!(q.discount_total(), usd(10_00));
        assert_eq!(
            q.unapplied_coupons(),
            [RejectedCoupon {
                code: coupon("SOLO"),
                reason: CouponRejection::NotCombinable { with: "Summer sale".into() }
            }]
        );
    }

    #[test]
    fn expired_coupon_is_reported_not_applied() {
        let lines = [line(1, usd(10_00), 1)];
        let r = rules(vec![
            percent(1, "Spring", dec!(10))
                .coupon(coupon("SPRING"))
                .ends_at(at(100))
                .build()
                .unwrap(),
        ]);
        let codes = [coupon("spring"), coupon("NOPE"), coupon("SPRING")];
        let q = quoted(&r, &request(&lines).coupons(&codes));
        assert!(q.discount_total().is_zero());
        assert_eq!(
            q.unapplied_coupons(),
            [
                RejectedCoupon {
                    code: coupon("SPRING"),
                    reason: CouponRejection::Expired { ended_at: at(100) }
                },
                RejectedCoupon { code: coupon("NOPE"), reason: CouponRejection::Unknown },
            ],
            "each code once, in request order"
        );
    }

    #[test]
    fn used_up_and_below_minimum_coupons_are_reported() {
        let lines = [line(1, usd(10_00), 1)];
        let r = rules(vec![
            percent(1, "Once", dec!(10))
                .coupon(coupon("ONCE"))
                .usage_limit(3)
                .times_used(3)
                .build()
                .unwrap(),
            percent(2, "Big", dec!(10))
                .coupon(coupon("BIG"))
                .min_subtotal(usd(50_00))
                .build()
                .unwrap(),
        ]);
        let codes = [coupon("ONCE"), coupon("BIG")];
        let q = quoted(&r, &request(&lines).coupons(&codes));
        let reasons: Vec<_> = q.unapplied_coupons().iter().map(|c| &c.reason).collect();
        assert_eq!(
            reasons,
            [
                &CouponRejection::UsageLimitReached { limit: 3 },
                &CouponRejection::MinSubtotalNotMet { required: usd(50_00), subtotal: usd(10_00) },
            ]
        );
    }

    #[test]
    fn a_coupon_for_other_products_has_no_eligible_line() {
        let mut shoe = line(1, usd(80_00), 1);
        shoe.categories = vec![category("shoes")];
        let lines = [shoe, line(2, usd(20_00), 1)];
        let r = rules(vec![
            percent(1, "Socks", dec!(50))
                .coupon(coupon("SOCKS"))
                .target(PromotionTarget::Categories(vec![category("socks")]))
                .build()
                .unwrap(),
            percent(2, "Shoes", dec!(25))
                .target(PromotionTarget::Categories(vec![category("shoes")]))
                .build()
                .unwrap(),
        ]);
        let codes = [coupon("SOCKS")];
        let q = quoted(&r, &request(&lines).coupons(&codes));
        assert_eq!(discounts(&q), [usd(20_00), usd(0)]);
        assert_eq!(q.unapplied_coupons()[0].reason, CouponRejection::NoEligibleLine);
    }

    #[test]
    fn a_promotion_can_target_skus() {
        let lines = [line(1, usd(10_00), 1), line(2, usd(10_00), 1)];
        let r = rules(vec![
            percent(1, "Sku 2", dec!(10))
                .target(PromotionTarget::Skus(vec![sku("SKU-2")]))
                .build()
                .unwrap(),
        ]);
        assert_eq!(discounts(&quoted(&r, &request(&lines))), [usd(0), usd(1_00)]);
    }

    #[test]
    fn fixed_discount_never_exceeds_eligible_total() {
        let mut cheap = line(1, usd(30_00), 1);
        cheap.categories = vec![category("sale")];
        let lines = [cheap, line(2, usd(100_00), 1)];
        let r = rules(vec![
            Promotion::builder(
                promo_id(1),
                "50 off sale items",
                PromotionKind::FixedAmount(usd(50_00)),
            )
            .target(PromotionTarget::Categories(vec![category("sale")]))
            .build()
            .unwrap(),
        ]);
        let q = quoted(&r, &request(&lines));
        assert_eq!(discounts(&q), [usd(30_00), usd(0)]);
        assert_eq!(q.grand_total(), usd(100_00));
    }

    #[test]
    fn fixed_discount_is_spread_by_largest_remainder() {
        let lines = [line(1, usd(5_00), 1), line(2, usd(5_00), 1), line(3, usd(5_00), 1)];
        let r = rules(vec![
            Promotion::builder(promo_id(1), "Ten off", PromotionKind::FixedAmount(usd(10_00)))
                .build()
                .unwrap(),
        ]);
        let q = quoted(&r, &request(&lines));
        assert_eq!(discounts(&q), [usd(3_34), usd(3_33), usd(3_33)]);
    }

    #[test]
    fn a_fixed_discount_in_another_currency_does_not_apply() {
        let lines = [line(1, usd(50_00), 1)];
        let r = rules(vec![
            Promotion::builder(promo_id(1), "Five euros", PromotionKind::FixedAmount(eur(5_00)))
                .coupon(coupon("FIVE"))
                .build()
                .unwrap(),
        ]);
        let codes = [coupon("FIVE")];
        let q = quoted(&r, &request(&lines).coupons(&codes));
        assert!(q.discount_total().is_zero());
        assert!(matches!(q.unapplied_coupons()[0].reason, CouponRejection::WrongCurrency { .. }));
    }

    fn three_for_two() -> PricingRules {
        rules(vec![
            Promotion::builder(
                promo_id(1),
                "3 for 2",
                PromotionKind::BuyXGetY { buy: 2, get: 1, percent_off: dec!(100) },
            )
            .coupon(coupon("3FOR2"))
            .build()
            .unwrap(),
        ])
    }

    #[test]
    fn buy_two_get_one_frees_the_cheapest_unit() {
        let lines = [line(1, usd(10_00), 2), line(2, usd(4_00), 1)];
        let codes = [coupon("3FOR2")];
        let q = quoted(&three_for_two(), &request(&lines).coupons(&codes));
        assert_eq!(discounts(&q), [usd(0), usd(4_00)]);
        assert_eq!(q.grand_total(), usd(20_00));
    }

    #[test]
    fn buy_two_get_one_counts_groups_across_lines() {
        // 7 units → 2 groups → the 2 cheapest units free: one at 3.00 and one of the 5.00s.
        let lines = [line(1, usd(5_00), 3), line(2, usd(9_00), 3), line(3, usd(3_00), 1)];
        let codes = [coupon("3FOR2")];
        let q = quoted(&three_for_two(), &request(&lines).coupons(&codes));
        assert_eq!(discounts(&q), [usd(5_00), usd(0), usd(3_00)]);
    }

    #[test]
    fn buy_two_get_one_needs_three_units() {
        let lines = [line(1, usd(10_00), 2)];
        let codes = [coupon("3FOR2")];
        let q = quoted(&three_for_two(), &request(&lines).coupons(&codes));
        assert!(q.discount_total().is_zero());
        assert_eq!(
            q.unapplied_coupons()[0].reason,
            CouponRejection::NotEnoughItems { required: 3, found: 2 }
        );
    }

    #[test]
    fn buy_x_get_y_at_a_percentage_discounts_part_of_a_line() {
        // Buy 1 get 1 half price; 3 units at 9.99 → 1 unit at 50 % = 4.995 → 5.00 (half even).
        let lines = [line(1, usd(9_99), 3)];
        let r = rules(vec![
            Promotion::builder(
                promo_id(1),
                "BOGO half",
                PromotionKind::BuyXGetY { buy: 1, get: 1, percent_off: dec!(50) },
            )
            .build()
            .unwrap(),
        ]);
        assert_eq!(discounts(&quoted(&r, &request(&lines))), [usd(5_00)]);
    }

    #[test]
    fn inclusive_tax_is_extracted_not_added() {
        let lines = [line(1, eur(119_00), 1)];
        let de = region("DE");
        let r =
            PricingRules { taxes: taxes(&[("DE", dec!(0.19))], true), ..PricingRules::default() };
        let q = quoted(&r, &request(&lines).ship_to(&de));
        assert_eq!(q.lines()[0].tax, eur(19_00));
        assert_eq!(q.tax_total(), eur(19_00));
        assert_eq!(q.grand_total(), eur(119_00));
        assert!(q.prices_include_tax());
    }

    #[test]
    fn exclusive_tax_is_added_on_the_discounted_total() {
        let lines = [line(1, usd(100_00), 1)];
        let ca = region("US-CA");
        let r = PricingRules {
            promotions: vec![percent(1, "Ten", dec!(10)).build().unwrap()],
            taxes: taxes(&[("US", dec!(0.05)), ("US-CA", dec!(0.0725))], false),
            ..PricingRules::default()
        };
        let q = quoted(&r, &request(&lines).ship_to(&ca));
        // 7.25 % of 90.00 = 6.525 → 6.52 (half even).
        assert_eq!(q.tax_total(), usd(6_52));
        assert_eq!(q.grand_total(), usd(96_52));
    }

    #[test]
    fn no_destination_or_no_matching_rate_means_no_tax() {
        let lines = [line(1, usd(100_00), 1)];
        let fr = region("FR");
        let r =
            PricingRules { taxes: taxes(&[("US", dec!(0.05))], false), ..PricingRules::default() };
        assert!(quoted(&r, &request(&lines)).tax_total().is_zero());
        assert!(quoted(&r, &request(&lines).ship_to(&fr)).tax_total().is_zero());
    }

    #[test]
    fn jpy_quotes_have_no_minor_unit() {
        let yen = |n| Money::from_minor(n, crate::money::Currency::JPY);
        let lines = [line(1, yen(999), 3)];
        let jp = region("JP");
        let r = PricingRules {
            promotions: vec![percent(1, "15", dec!(15)).build().unwrap()],
            taxes: taxes(&[("JP", dec!(0.10))], false),
            ..PricingRules::default()
        };
        let q = quoted(&r, &request(&lines).ship_to(&jp));
        // 2997 × 15 % = 449.55 → 450; tax on 2547 = 254.7 → 255.
        assert_eq!(q.discount_total(), yen(450));
        assert_eq!(q.tax_total(), yen(255));
        assert_eq!(q.grand_total(), yen(2802));
        assert_eq!(q.grand_total().amount().scale(), 0);
    }

    #[test]
    fn kwd_three_decimals() {
        let kwd = |n| Money::from_minor(n, crate::money::Currency::KWD);
        let lines = [line(1, kwd(1_250), 3), line(2, kwd(333), 1)];
        let r = rules(vec![
            percent(1, "Ten", dec!(10)).priority(1).build().unwrap(),
            Promotion::builder(promo_id(2), "Fils off", PromotionKind::FixedAmount(kwd(100)))
                .build()
                .unwrap(),
        ]);
        let q = quoted(&r, &request(&lines));
        // 10 %: 0.375 and 0.0333 → 0.033; then 0.100 over 3.375 / 0.300 → 0.092 / 0.008.
        assert_eq!(discounts(&q), [kwd(467), kwd(41)]);
        assert_eq!(q.grand_total(), kwd(3_575));
        assert_eq!(q.grand_total().amount().to_string(), "3.575");
    }

    #[test]
    fn shipping_is_charged_only_once_a_method_is_chosen() {
        let lines = [line(1, usd(10_00), 1)];
        let standard = method("standard");
        let r = PricingRules { shipping: flat_shipping(usd(4_99)), ..PricingRules::default() };
        assert!(quoted(&r, &request(&lines)).shipping().is_none());
        let q = quoted(&r, &request(&lines).shipping_method(&standard));
        assert_eq!(q.shipping().unwrap().total, usd(4_99));
        assert_eq!(q.grand_total(), usd(14_99));
    }

    #[test]
    fn free_shipping_over_threshold() {
        let standard = method("standard");
        let rate = ShippingRate::new(standard.clone(), "Standard", ShippingPrice::Flat(usd(4_99)))
            .unwrap()
            .free_over(usd(50_00))
            .unwrap();
        let r = PricingRules {
            promotions: vec![percent(1, "Ten", dec!(10)).build().unwrap()],
            shipping: ShippingTable { rates: vec![rate] },
            ..PricingRules::default()
        };
        let over = [line(1, usd(60_00), 1)];
        let q = quoted(&r, &request(&over).shipping_method(&standard));
        assert!(q.shipping().unwrap().price.is_zero(), "54.00 after discount");
        // 55.00 − 10 % = 49.50: under the threshold once discounted.
        let under = [line(1, usd(55_00), 1)];
        let q = quoted(&r, &request(&under).shipping_method(&standard));
        assert_eq!(q.shipping().unwrap().price, usd(4_99));
    }

    #[test]
    fn a_free_shipping_promotion_waives_the_shipping_price() {
        let lines = [line(1, usd(10_00), 1)];
        let standard = method("standard");
        let codes = [coupon("SHIPFREE")];
        let r = PricingRules {
            promotions: vec![
                Promotion::builder(promo_id(1), "Free shipping", PromotionKind::FreeShipping)
                    .coupon(coupon("SHIPFREE"))
                    .build()
                    .unwrap(),
            ],
            shipping: flat_shipping(usd(4_99)),
            ..PricingRules::default()
        };
        let q = quoted(&r, &request(&lines).coupons(&codes).shipping_method(&standard));
        let shipping = q.shipping().unwrap();
        assert_eq!(
            (shipping.price, shipping.discount, shipping.total),
            (usd(4_99), usd(4_99), usd(0))
        );
        assert_eq!(q.discount_total(), usd(4_99));
        assert_eq!(q.applied_promotions()[0].amount, usd(4_99));
        assert_eq!(q.grand_total(), usd(10_00));
    }

    #[test]
    fn a_free_shipping_quote_reads_as_a_receipt() {
        // Issue 8 item 11: 0.99 − 4.99 + 4.99 + 0.07 = 1.06, the waived shipping at its price.
        let lines = [line(1, usd(99), 1)];
        let (ca, standard) = (region("US-CA"), method("standard"));
        let codes = [coupon("FREESHIP")];
        let mut tax = taxes(&[("US-CA", dec!(0.0725))], false);
        tax.tax_shipping = true;
        let r = PricingRules {
            promotions: vec![
                Promotion::builder(promo_id(1), "Free shipping", PromotionKind::FreeShipping)
                    .coupon(coupon("FREESHIP"))
                    .build()
                    .unwrap(),
            ],
            taxes: tax,
            shipping: flat_shipping(usd(4_99)),
            ..PricingRules::default()
        };
        let q =
            quoted(&r, &request(&lines).coupons(&codes).ship_to(&ca).shipping_method(&standard));
        assert_eq!(
            (q.subtotal(), q.discount_total(), q.shipping_total(), q.tax_total(), q.grand_total()),
            (usd(99), usd(4_99), usd(4_99), usd(7), usd(1_06))
        );
    }

    #[test]
    fn taxed_shipping_is_on_the_receipt_once() {
        let lines = [line(1, usd(19_80), 1)];
        let (ca, standard) = (region("US-CA"), method("standard"));
        let mut tax = taxes(&[("US-CA", dec!(0.0725))], false);
        tax.tax_shipping = true;
        let r = PricingRules {
            taxes: tax,
            shipping: flat_shipping(usd(4_99)),
            ..PricingRules::default()
        };
        let q = quoted(&r, &request(&lines).ship_to(&ca).shipping_method(&standard));
        // Line tax 1.44, shipping tax 0.36: once in tax_total, not in shipping_total.
        assert_eq!(q.shipping_total(), usd(4_99));
        assert_eq!(q.shipping().unwrap().total, usd(5_35));
        assert_eq!(q.tax_total(), usd(1_80));
        assert_eq!(q.grand_total(), usd(26_59));
    }

    #[test]
    fn an_inclusive_receipt_contains_its_tax() {
        let lines = [line(1, eur(119_00), 1)];
        let (de, standard) = (region("DE"), method("standard"));
        let mut tax = taxes(&[("DE", dec!(0.19))], true);
        tax.tax_shipping = true;
        let r = PricingRules {
            taxes: tax,
            shipping: flat_shipping(eur(5_95)),
            ..PricingRules::default()
        };
        let q = quoted(&r, &request(&lines).ship_to(&de).shipping_method(&standard));
        // 119.00 + 5.95 = 124.95, of which VAT 19.00 + 0.95.
        assert_eq!(q.grand_total(), eur(124_95));
        assert_eq!(q.tax_total(), eur(19_95));
        assert_eq!(q.shipping_total(), eur(5_95));
    }

    #[test]
    fn shipping_is_taxed_when_the_table_says_so() {
        let lines = [line(1, eur(10_00), 1)];
        let (de, standard) = (region("DE"), method("standard"));
        let mut tax = taxes(&[("DE", dec!(0.19))], false);
        tax.tax_shipping = true;
        let r = PricingRules {
            taxes: tax,
            shipping: flat_shipping(eur(5_00)),
            ..PricingRules::default()
        };
        let q = quoted(&r, &request(&lines).ship_to(&de).shipping_method(&standard));
        assert_eq!(q.shipping().unwrap().tax, eur(95));
        assert_eq!(q.tax_total(), eur(2_85));
        assert_eq!(q.grand_total(), eur(17_85));
    }

    #[test]
    fn weight_band_above_last_band_is_an_error() {
        let parcel = method("parcel");
        let r = PricingRules {
            shipping: ShippingTable {
                rates: vec![
                    ShippingRate::new(
                        parcel.clone(),
                        "Parcel",
                        ShippingPrice::WeightBands(vec![WeightBand {
                            up_to_grams: 1000,
                            price: usd(5_00),
                        }]),
                    )
                    .unwrap(),
                ],
            },
            ..PricingRules::default()
        };
        let light = [line(1, usd(1_00), 10)]; // 10 × 100 g
        assert!(quote(&r, &request(&light).shipping_method(&parcel)).is_ok());
        let heavy = [line(1, usd(1_00), 11)];
        assert_eq!(
            quote(&r, &request(&heavy).shipping_method(&parcel)),
            Err(PricingError::NoShippingRate { method: parcel.clone(), weight_grams: 1100 })
        );
    }

    #[test]
    fn an_unknown_shipping_method_is_an_error() {
        let lines = [line(1, usd(1_00), 1)];
        let express = method("express");
        let r = PricingRules { shipping: flat_shipping(usd(4_99)), ..PricingRules::default() };
        assert!(matches!(
            quote(&r, &request(&lines).shipping_method(&express)),
            Err(PricingError::UnknownShippingMethod { .. })
        ));
    }

    #[test]
    fn a_line_in_another_currency_is_an_error() {
        let lines = [line(1, usd(1_00), 1), line(2, eur(1_00), 1)];
        assert!(matches!(
            quote(&PricingRules::default(), &request(&lines)),
            Err(PricingError::LineCurrencyMismatch { expected: crate::money::Currency::USD, .. })
        ));
        let negative = [line(1, usd(-1), 1)];
        assert!(matches!(
            quote(&PricingRules::default(), &request(&negative)),
            Err(PricingError::NegativeUnitPrice { .. })
        ));
    }

    #[test]
    fn an_empty_cart_quotes_to_zero() {
        let standard = method("standard");
        let codes = [coupon("SAVE")];
        let r = PricingRules {
            promotions: vec![percent(1, "Save", dec!(10)).coupon(coupon("SAVE")).build().unwrap()],
            shipping: flat_shipping(usd(4_99)),
            ..PricingRules::default()
        };
        let q = quoted(&r, &request(&[]).coupons(&codes).shipping_method(&standard));
        assert!(q.grand_total().is_zero() && q.shipping().is_none());
        assert_eq!(q.unapplied_coupons()[0].reason, CouponRejection::NoEligibleLine);
    }

    #[test]
    fn the_same_input_gives_the_same_quote_whatever_the_rule_order() {
        let lines = [line(1, usd(12_34), 3), line(2, usd(56_78), 1), line(3, usd(9_99), 5)];
        let mut promotions = vec![
            percent(1, "A", dec!(12.5)).build().unwrap(),
            percent(2, "B", dec!(7)).build().unwrap(),
            Promotion::builder(promo_id(3), "C", PromotionKind::FixedAmount(usd(10_01)))
                .priority(1)
                .build()
                .unwrap(),
        ];
        let first = quoted(&rules(promotions.clone()), &request(&lines));
        assert_eq!(first, quoted(&rules(promotions.clone()), &request(&lines)));
        promotions.reverse();
        assert_eq!(first, quoted(&rules(promotions), &request(&lines)));
        assert_eq!(first.applied_promotions()[0].name, "C", "priority first");
    }

    #[test]
    fn a_tampered_quote_does_not_reconcile() {
        let lines = [line(1, usd(10_00), 1)];
        let mut q = quoted(&PricingRules::default(), &request(&lines));
        q.grand_total = usd(9_99);
        assert!(!q.reconciles());
    }

    #[test]
    fn quotes_serialize_with_string_amounts() {
        let lines = [line(1, usd(10_00), 1)];
        let codes = [coupon("NOPE")];
        let q = quoted(&PricingRules::default(), &request(&lines).coupons(&codes));
        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(json["grand_total"]["amount"], "10.00");
        assert_eq!(json["unapplied_coupons"][0]["code"], "NOPE");
        assert_eq!(json["unapplied_coupons"][0]["reason"]["reason"], "unknown");
    }
}

//! Property tests: for random carts, promotions, taxes and shipping, a quote never fails
//! or panics, always reconciles, and reads as a receipt.

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::test_support::*;
use super::*;
use crate::ids::CouponCode;
use crate::money::{Currency, Money, RoundingPolicy};

const CODES: [&str; 4] = ["A", "B", "C", "D"];
const REGIONS: [&str; 4] = ["US", "US-CA", "DE", "JP"];

#[derive(Clone, Debug)]
struct LineSpec {
    price_minor: i64,
    quantity: u32,
    weight: u32,
    category: usize,
}

#[derive(Clone, Debug)]
struct PromoSpec {
    kind: u8,
    percent: Decimal,
    fixed_minor: i64,
    buy: u32,
    get: u32,
    coupon: Option<usize>,
    priority: i32,
    exclusive: bool,
    min_subtotal_minor: Option<i64>,
    target: u8,
    window: u8,
    limit: Option<u32>,
}

fn line_spec() -> impl Strategy<Value = LineSpec> {
    (0i64..2_000_000, 1u32..50, 0u32..5_000, 0usize..3).prop_map(
        |(price_minor, quantity, weight, category)| LineSpec {
            price_minor,
            quantity,
            weight,
            category,
        },
    )
}

fn promo_spec() -> impl Strategy<Value = PromoSpec> {
    (
        (0u8..4, 1i64..=10_000, 1i64..500_000, 1u32..4, 1u32..3),
        (
            prop::option::of(0usize..CODES.len()),
            -2i32..3,
            any::<bool>(),
            prop::option::weighted(0.3, 0i64..5_000_000),
            0u8..3,
            0u8..4,
            prop::option::weighted(0.2, 0u32..3),
        ),
    )
        .prop_map(
            |(
                (kind, percent, fixed_minor, buy, get),
                (coupon, priority, exclusive, min, target, window, limit),
            )| {
                PromoSpec {
                    kind,
                    percent: Decimal::new(percent, 2),
                    fixed_minor,
                    buy,
                    get,
                    coupon,
                    priority,
                    exclusive,
                    min_subtotal_minor: min,
                    target,
                    window,
                    limit,
                }
            },
        )
}

fn promotion(n: usize, spec: &PromoSpec, currency: Currency) -> Promotion {
    let kind = match spec.kind {
        0 => PromotionKind::Percentage(spec.percent),
        1 => PromotionKind::FixedAmount(Money::from_minor(spec.fixed_minor, currency)),
        2 => PromotionKind::BuyXGetY { buy: spec.buy, get: spec.get, percent_off: spec.percent },
        _ => PromotionKind::FreeShipping,
    };
    let mut b = Promotion::builder(promo_id(n as u128), format!("P{n}"), kind)
        .priority(spec.priority)
        .stacking(if spec.exclusive { Stacking::Exclusive } else { Stacking::Combinable })
        .target(match spec.target {
            0 => PromotionTarget::AllLines,
            1 => PromotionTarget::Categories(vec![category("c0"), category("c1")]),
            _ => PromotionTarget::Skus(vec![sku("SKU-1"), sku("SKU-3")]),
        });
    if let Some(c) = spec.coupon {
        b = b.coupon(coupon(CODES[c]));
    }
    if let Some(min) = spec.min_subtotal_minor {
        b = b.min_subtotal(Money::from_minor(min, currency));
    }
    if let Some(limit) = spec.limit {
        b = b.usage_limit(limit).times_used(1);
    }
    b = match spec.window {
        0 => b,
        1 => b.starts_at(at(0)).ends_at(at(1000)), // active at at(500)
        2 => b.ends_at(at(100)),                   // expired
        _ => b.starts_at(at(1000)),                // not started
    };
    b.build().unwrap()
}

fn shipping(currency: Currency, banded: bool, free_over: Option<i64>) -> ShippingTable {
    let m = |minor| Money::from_minor(minor, currency);
    let price = if banded {
        ShippingPrice::WeightBands(vec![
            WeightBand { up_to_grams: 1_000, price: m(500) },
            WeightBand { up_to_grams: 20_000_000, price: m(2_500) },
        ])
    } else {
        ShippingPrice::Flat(m(999))
    };
    let mut rate = ShippingRate::new(method("standard"), "Standard", price).unwrap();
    if let Some(threshold) = free_over {
        rate = rate.free_over(m(threshold)).unwrap();
    }
    ShippingTable { rates: vec![rate] }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn every_random_cart_quotes_to_a_reconciling_quote(
        currency in prop::sample::select(vec![Currency::USD, Currency::EUR, Currency::JPY, Currency::KWD]),
        line_specs in prop::collection::vec(line_spec(), 1..30),
        promo_specs in prop::collection::vec(promo_spec(), 0..6),
        coupon_picks in prop::collection::vec(0usize..CODES.len() + 1, 0..4),
        (rate_bp, inclusive, tax_shipping, ship_to) in
            (0i64..=3_000, any::<bool>(), any::<bool>(), prop::option::of(0usize..REGIONS.len())),
        (with_shipping, banded, free_over) in
            (any::<bool>(), any::<bool>(), prop::option::of(0i64..10_000_000)),
        rounding in prop::sample::select(vec![
            RoundingPolicy::HalfEven, RoundingPolicy::HalfUp, RoundingPolicy::Down, RoundingPolicy::Up,
        ]),
    ) {
        let lines: Vec<QuoteLine> = line_specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut l = line(i as u128, Money::from_minor(s.price_minor, currency), s.quantity);
                l.weight_grams = s.weight;
                l.categories = vec![category(["c0", "c1", "c2"][s.category])];
                l
            })
            .collect();
        let rules = PricingRules {
            promotions: promo_specs.iter().enumerate().map(|(n, s)| promotion(n, s, currency)).collect(),
            taxes: TaxTable {
                rates: vec![
                    TaxRate::new(region("US-CA"), Decimal::new(rate_bp, 4), "state").unwrap(),
                    TaxRate::new(region("US"), Decimal::new(rate_bp / 2, 4), "federal").unwrap(),
                    TaxRate::new(region("DE"), Decimal::new(rate_bp, 4), "VAT").unwrap(),
                ],
                prices_include_tax: inclusive,
                tax_shipping,
            },
            shipping: shipping(currency, banded, free_over),
            rounding,
        };
        // Index CODES.len() is a code no promotion has.
        let codes: Vec<CouponCode> = coupon_picks
            .iter()
            .map(|i| coupon(CODES.get(*i).copied().unwrap_or("UNKNOWN")))
            .collect();
        let destination = ship_to.map(|i| region(REGIONS[i]));
        let standard = method("standard");
        let mut request = QuoteRequest::new(currency, &lines, at(500)).coupons(&codes);
        if let Some(d) = &destination {
            request = request.ship_to(d);
        }
        if with_shipping {
            request = request.shipping_method(&standard);
        }

        let q = quote(&rules, &request).expect("every valid cart quotes");
        prop_assert_eq!(q.check(), Ok(()));
        prop_assert!(q.reconciles());
        for l in q.lines() {
            prop_assert!(l.discount.amount() <= l.subtotal.amount(), "{:?}", l);
            prop_assert!(!l.discount.is_negative());
            prop_assert_eq!(l.total.amount().scale(), currency.minor_units());
        }
        prop_assert!(!q.grand_total().is_negative());
        prop_assert_eq!(q.grand_total().currency(), currency);
        // A receipt: subtotal − discounts + shipping (+ tax when added on top) = grand total.
        let before_tax = q
            .subtotal()
            .checked_sub(&q.discount_total())
            .and_then(|m| m.checked_add(&q.shipping_total()))
            .unwrap();
        let receipt = if inclusive { before_tax } else { before_tax.checked_add(&q.tax_total()).unwrap() };
        prop_assert_eq!(receipt, q.grand_total(), "{:#?}", q);
        prop_assert_eq!(
            q.shipping_total(),
            q.shipping().map_or(Money::zero(currency), |s| s.price),
            "shipping on the receipt is its price, before discount and tax"
        );
        // Every requested code is either applied or reported, never both.
        for code in &codes {
            let applied = q.applied_promotions().iter().any(|a| a.coupon.as_ref() == Some(code));
            let rejected = q.unapplied_coupons().iter().filter(|r| &r.code == code).count();
            prop_assert!(applied != (rejected == 1), "{:?}", code);
        }
        prop_assert_eq!(&quote(&rules, &request).unwrap(), &q, "deterministic");
        // The order placed at this quote keeps the receipt: `Order::place` accepts its totals.
        let placed = crate::orders::Order::place(order_at(&q));
        prop_assert!(placed.is_ok(), "{:?}\n{:#?}", placed.err(), q);
    }
}

/// The order a checkout places at `q`.
fn order_at(q: &Quote) -> crate::orders::NewOrder {
    use crate::ids::{CartId, Email, OrderId, ProductId};
    use crate::orders::{NewOrder, OrderLine, OrderTotals, Payment};
    let zero = Money::zero(q.currency());
    NewOrder {
        id: OrderId::from_uuid(uuid::Uuid::from_u128(1)),
        cart_id: CartId::from_uuid(uuid::Uuid::from_u128(2)),
        customer: None,
        email: Email::new("ann@example.com").unwrap(),
        currency: q.currency(),
        lines: q
            .lines()
            .iter()
            .map(|l| OrderLine {
                id: l.line_id,
                product_id: ProductId::from_uuid(uuid::Uuid::from_u128(3)),
                sku: l.sku.clone(),
                title: l.sku.to_string(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                subtotal: l.subtotal,
                discount: l.discount,
                tax: l.tax,
                total: l.total,
                fulfilled: 0,
                refunded: 0,
            })
            .collect(),
        totals: OrderTotals::from(q),
        shipping_address: None,
        shipping_method: None,
        coupons: Vec::new(),
        payment: Payment {
            reference: String::new(),
            authorized: zero,
            captured: zero,
            refunded: zero,
            voided: false,
        },
        placed_at: at(500),
    }
}

//! The pricing engine's hot path: quoting a cart with promotions, tax and shipping.
//!
//! Run with: `cargo bench --bench quote`

// `criterion_group!` makes a `pub fn benches` that cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use shopkit::core::ids::{
    CategoryId, CouponCode, LineId, ProductId, PromotionId, RegionCode, ShippingMethodId, Sku,
};
use shopkit::core::money::{Currency, Money, RoundingPolicy};
use shopkit::core::pricing::{
    PricingRules, Promotion, PromotionKind, PromotionTarget, QuoteLine, QuoteRequest,
    ShippingPrice, ShippingRate, ShippingTable, TaxRate, TaxTable, quote,
};
use shopkit::core::quantity::Quantity;

fn id<T: std::str::FromStr>(n: usize) -> T
where
    T::Err: std::fmt::Debug,
{
    format!("00000000-0000-0000-0000-{n:012}").parse().expect("a valid uuid")
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

/// `n` lines at varied prices and quantities, half of them in the "sale" category.
fn cart(n: usize) -> Vec<QuoteLine> {
    (0..n)
        .map(|i| QuoteLine {
            line_id: id::<LineId>(i),
            sku: Sku::new(&format!("SKU-{i}")).expect("a valid sku"),
            product_id: id::<ProductId>(i),
            categories: vec![
                CategoryId::new(if i % 2 == 0 { "sale" } else { "new" }).expect("a valid category"),
            ],
            quantity: Quantity::new(1 + (i % 4) as i64).expect("a valid quantity"),
            unit_price: usd(499 + (i as i64 * 137) % 10_000),
            weight_grams: 250,
        })
        .collect()
}

/// An automatic 15 % off sale items, a 10.00-off coupon over 50.00, and a buy-2-get-1.
fn rules() -> PricingRules {
    let coupon = CouponCode::new("TENOFF").expect("a valid code");
    let promotions = vec![
        Promotion::builder(
            id::<PromotionId>(1),
            "Sale",
            PromotionKind::Percentage(Decimal::from(15)),
        )
        .priority(10)
        .target(PromotionTarget::Categories(vec![
            CategoryId::new("sale").expect("a valid category"),
        ])),
        Promotion::builder(id::<PromotionId>(2), "Ten off", PromotionKind::FixedAmount(usd(1000)))
            .coupon(coupon)
            .min_subtotal(usd(5000)),
        Promotion::builder(
            id::<PromotionId>(3),
            "3 for 2",
            PromotionKind::BuyXGetY { buy: 2, get: 1, percent_off: Decimal::ONE_HUNDRED },
        ),
    ]
    .into_iter()
    .map(|b| b.build().expect("a valid promotion"))
    .collect();
    let rate = |region: &str, bp: i64| {
        TaxRate::new(RegionCode::new(region).expect("a valid region"), Decimal::new(bp, 4), region)
            .expect("a valid rate")
    };
    PricingRules {
        promotions,
        taxes: TaxTable {
            rates: vec![rate("US", 500), rate("US-CA", 725), rate("US-NY", 400), rate("DE", 1900)],
            prices_include_tax: false,
            tax_shipping: true,
        },
        shipping: ShippingTable {
            rates: vec![
                ShippingRate::new(
                    ShippingMethodId::new("standard").expect("a valid method"),
                    "Standard",
                    ShippingPrice::Flat(usd(599)),
                )
                .expect("a valid shipping rate"),
            ],
        },
        rounding: RoundingPolicy::HalfEven,
    }
}

fn bench_quote(c: &mut Criterion) {
    let rules = rules();
    let coupons = [CouponCode::new("TENOFF").expect("a valid code")];
    let ship_to = RegionCode::new("US-CA").expect("a valid region");
    let method = ShippingMethodId::new("standard").expect("a valid method");
    let mut group = c.benchmark_group("quote");
    for n in [10, 100] {
        let lines = cart(n);
        // The epoch: no promotion here has dates.
        let request = QuoteRequest::new(Currency::USD, &lines, Default::default())
            .coupons(&coupons)
            .ship_to(&ship_to)
            .shipping_method(&method);
        let sample = quote(&rules, &request).expect("the cart quotes");
        assert_eq!(sample.applied_promotions().len(), 3, "every promotion applies");
        assert!(sample.reconciles());
        group.bench_function(format!("{n}_lines_3_promotions_tax"), |b| {
            b.iter(|| quote(black_box(&rules), black_box(&request)))
        });
        // The baseline, measured in the same run: the least any pricing must do, the
        // exact subtotal (unit price × quantity, summed). docs/PERFORMANCE.md reports the
        // quote as a ratio of this.
        group.bench_function(format!("{n}_lines_baseline_subtotal"), |b| {
            b.iter(|| {
                black_box(&lines).iter().try_fold(Money::zero(Currency::USD), |acc, l| {
                    acc.checked_add(&l.unit_price.checked_mul(u64::from(l.quantity))?)
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_quote);
criterion_main!(benches);

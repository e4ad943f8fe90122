//! Small builders shared by the pricing tests.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::{QuoteLine, QuoteRequest};
use crate::ids::{CategoryId, CouponCode, LineId, PromotionId, RegionCode, ShippingMethodId, Sku};
use crate::money::{Currency, Money};
use crate::quantity::Quantity;

pub(crate) fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

pub(crate) fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, 0).single().expect("a valid timestamp")
}

pub(crate) fn promo_id(n: u128) -> PromotionId {
    PromotionId::from_uuid(Uuid::from_u128(n))
}

pub(crate) fn coupon(code: &str) -> CouponCode {
    CouponCode::new(code).unwrap()
}

pub(crate) fn region(code: &str) -> RegionCode {
    RegionCode::new(code).unwrap()
}

pub(crate) fn method(id: &str) -> ShippingMethodId {
    ShippingMethodId::new(id).unwrap()
}

pub(crate) fn sku(code: &str) -> Sku {
    Sku::new(code).unwrap()
}

pub(crate) fn category(id: &str) -> CategoryId {
    CategoryId::new(id).unwrap()
}

/// A line `n` of `quantity` units at `unit_price`, SKU `SKU-n`, 100 g a unit.
pub(crate) fn line(n: u128, unit_price: Money, quantity: u32) -> QuoteLine {
    QuoteLine {
        line_id: LineId::from_uuid(Uuid::from_u128(n)),
        sku: sku(&format!("SKU-{n}")),
        product_id: crate::ids::ProductId::from_uuid(Uuid::from_u128(1000 + n)),
        categories: Vec::new(),
        quantity: Quantity::new(i64::from(quantity)).unwrap(),
        unit_price,
        weight_grams: 100,
    }
}

/// A request for `lines` in their first line's currency (USD when empty), at `at(500)`.
pub(crate) fn request(lines: &[QuoteLine]) -> QuoteRequest<'_> {
    let currency = lines.first().map_or(Currency::USD, |l| l.unit_price.currency());
    QuoteRequest::new(currency, lines, at(500))
}

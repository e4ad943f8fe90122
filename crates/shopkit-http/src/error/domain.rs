//! `From<ShopError> for ApiError`: every domain error, nested enums included, gets a code,
//! a status and its extension members.
//!
//! # Exhaustiveness
//! The status of every error comes from its stable code, [`ShopError::code`], an
//! exhaustive match inside `shopkit-core` (where `#[non_exhaustive]` forces no wildcard),
//! mapped here by [`problem_code`], an exhaustive match over `ErrorCode` (which is not
//! `#[non_exhaustive]`). So a new domain error fails to compile in the core until it has a
//! code, and a new code fails to compile here until it has a problem code: nothing ships
//! unmapped. The detailed matches below only add extension members (`sku`, `available`…);
//! their wildcard arms, forced by `#[non_exhaustive]`, fall back to the code's problem
//! without extensions. The unit test `every_known_variant_maps_to_its_intended_status`
//! pins the choices.

use shopkit_core::catalog::CatalogError;
use shopkit_core::inventory::InventoryError;
use shopkit_core::money::{Money, MoneyError};
use shopkit_core::orders::{OrderError, RefundError};
use shopkit_core::ports::{AccountError, PaymentError, StoreError};
use shopkit_core::pricing::{CouponRejection, PricingError};
use shopkit_core::services::{ErrorCode, ShopError};

use axum::http::HeaderValue;
use axum::http::header::WWW_AUTHENTICATE;
use shopkit_core::cart::CartError;

use super::{ApiError, ProblemCode as Code};
use crate::dto::{MoneyDto, QuoteDto};

fn money(m: Money) -> MoneyDto {
    MoneyDto::from(m)
}

/// The problem code of a domain error code. Exhaustive, no wildcard: a new `ErrorCode`
/// fails to compile until it is mapped here.
pub(crate) fn problem_code(code: ErrorCode) -> Code {
    match code {
        ErrorCode::InvalidCredentials => Code::InvalidCredentials,
        ErrorCode::SessionEnded => Code::SessionEnded,
        ErrorCode::PaymentDeclined => Code::PaymentDeclined,
        ErrorCode::Forbidden => Code::Forbidden,
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::Conflict => Code::Conflict,
        ErrorCode::AlreadyExists => Code::AlreadyExists,
        ErrorCode::EmailTaken => Code::EmailTaken,
        ErrorCode::OutOfStock => Code::OutOfStock,
        ErrorCode::CheckoutInProgress => Code::IdempotencyInProgress,
        ErrorCode::CartClosed => Code::CartClosed,
        ErrorCode::CartExpired => Code::CartExpired,
        ErrorCode::PromotionUsedUp => Code::PromotionUsedUp,
        ErrorCode::IllegalTransition => Code::IllegalTransition,
        ErrorCode::NotRefundable => Code::NotRefundable,
        ErrorCode::ReservationClosed => Code::ReservationClosed,
        ErrorCode::PaymentConflict => Code::PaymentConflict,
        ErrorCode::ValidationFailed => Code::ValidationFailed,
        ErrorCode::IdempotencyKeyReused => Code::IdempotencyKeyReused,
        ErrorCode::UnknownSku => Code::UnknownSku,
        ErrorCode::NotForSale => Code::NotForSale,
        ErrorCode::NoPriceInCurrency => Code::NoPriceInCurrency,
        ErrorCode::PriceChanged => Code::PriceChanged,
        ErrorCode::NoStockRecord => Code::NoStockRecord,
        ErrorCode::QuantityLimit => Code::QuantityLimit,
        ErrorCode::TooManyLines => Code::TooManyLines,
        ErrorCode::TooManyCoupons => Code::TooManyCoupons,
        ErrorCode::CartEmpty => Code::CartEmpty,
        ErrorCode::ShippingAddressRequired => Code::ShippingAddressRequired,
        ErrorCode::ShippingMethodRequired => Code::ShippingMethodRequired,
        ErrorCode::CurrencyMismatch => Code::CurrencyMismatch,
        ErrorCode::CouponRejected => Code::CouponRejected,
        ErrorCode::ShippingUnavailable => Code::ShippingUnavailable,
        ErrorCode::PricingFailed => Code::PricingFailed,
        ErrorCode::InvalidPaymentMethod => Code::InvalidPaymentMethod,
        ErrorCode::UnknownLine => Code::UnknownLine,
        ErrorCode::OverFulfilment => Code::OverFulfilment,
        ErrorCode::CaptureExceedsAuthorized => Code::CaptureExceedsAuthorized,
        ErrorCode::RefundExceedsCaptured => Code::RefundExceedsCaptured,
        ErrorCode::TooManyUnits => Code::TooManyUnits,
        ErrorCode::TooManyAttempts => Code::TooManyAttempts,
        ErrorCode::PaymentGatewayUnavailable => Code::PaymentGatewayUnavailable,
        ErrorCode::Unavailable => Code::Unavailable,
        ErrorCode::Internal => Code::Internal,
    }
}

/// A variant a detailed match below does not name (a `#[non_exhaustive]` wildcard): the
/// problem of its code, without extension members.
fn by_code(code: Code, detail: String) -> ApiError {
    match code {
        Code::Internal => ApiError::internal(detail),
        Code::Unavailable => ApiError::unavailable(std::io::Error::other(detail)),
        code => ApiError::new(code, detail),
    }
}

impl From<ShopError> for ApiError {
    fn from(e: ShopError) -> Self {
        let retryable = e.is_retryable();
        let fallback = problem_code(e.code());
        let detail = e.to_string();
        let error = match e {
            ShopError::Cart(e) => cart(e, detail, fallback),
            ShopError::Catalog(e) => catalog(e, detail, fallback),
            ShopError::Pricing(e) => pricing(e, detail, fallback),
            ShopError::Coupon { code, reason } => coupon(reason, detail).with("coupon", code),
            ShopError::PromotionUsedUp { promotion, name, coupon } => {
                ApiError::new(Code::PromotionUsedUp, detail)
                    .with("promotion", promotion.to_string())
                    .with("name", name)
                    .with("coupon", coupon)
            }
            ShopError::UnknownSku { sku } => {
                ApiError::new(Code::UnknownSku, detail).with("sku", sku)
            }
            ShopError::NotForSale { sku } => {
                ApiError::new(Code::NotForSale, detail).with("sku", sku)
            }
            ShopError::NoPriceInCurrency { sku, currency } => {
                ApiError::new(Code::NoPriceInCurrency, detail)
                    .with("sku", sku)
                    .with("currency", currency)
            }
            ShopError::PriceChanged { expected, quote } => {
                ApiError::new(Code::PriceChanged, detail)
                    .with("expected", MoneyDto::from(expected))
                    .with("quote", QuoteDto::from(&*quote))
            }
            ShopError::Inventory(e) => inventory(e, detail, fallback),
            ShopError::Payment(e) => payment(e, detail, fallback),
            ShopError::Order(e) => order(e, detail, fallback),
            ShopError::Refund(e) => refund(e, detail, fallback),
            ShopError::Account(e) => account(e, detail, fallback),
            ShopError::NotFound { entity, id } => {
                ApiError::new(Code::NotFound, detail).with("entity", entity).with("id", id)
            }
            // Cursors only ever come from the `cursor` query parameter.
            ShopError::Invalid { field: "cursor", reason } => {
                ApiError::invalid_query("cursor", reason)
            }
            ShopError::Invalid { field, reason } => ApiError::validation(field, reason),
            ShopError::AlreadyExists { entity, key } => {
                ApiError::new(Code::AlreadyExists, detail).with("entity", entity).with("key", key)
            }
            ShopError::Conflict { entity, id } => {
                ApiError::new(Code::Conflict, detail).with("entity", entity).with("id", id)
            }
            ShopError::IdempotencyKeyReused => ApiError::new(Code::IdempotencyKeyReused, detail),
            ShopError::CheckoutInProgress => {
                ApiError::new(Code::IdempotencyInProgress, detail).retry_after(1)
            }
            ShopError::Forbidden { action } => {
                ApiError::new(Code::Forbidden, detail).with("action", action)
            }
            ShopError::Unavailable { source } => ApiError::unavailable(source),
            ShopError::Internal { message } => ApiError::internal(message),
            // `ShopError` is #[non_exhaustive] (see the module docs and the variant test).
            other => by_code(fallback, other.to_string()),
        };
        let retryable = retryable || error.is_retryable();
        error.retryable(retryable)
    }
}

fn cart(e: CartError, detail: String, fallback: Code) -> ApiError {
    match e {
        CartError::QuantityLimit { sku, requested, max } => {
            ApiError::new(Code::QuantityLimit, detail)
                .with("sku", sku)
                .with("requested", requested)
                .with("max", max)
        }
        CartError::TooManyLines { max } => {
            ApiError::new(Code::TooManyLines, detail).with("max", max)
        }
        CartError::TooManyCoupons { max } => {
            ApiError::new(Code::TooManyCoupons, detail).with("max", max)
        }
        CartError::UnknownLine { cart: _, line } => ApiError::new(Code::NotFound, detail)
            .with("entity", "cart line")
            .with("id", line.to_string()),
        CartError::Closed { cart, status } => ApiError::new(Code::CartClosed, detail)
            .with("cart", cart.to_string())
            .with("cart_status", status),
        CartError::Expired { cart } => {
            ApiError::new(Code::CartExpired, detail).with("cart", cart.to_string())
        }
        CartError::CurrencyMismatch { from, into } => {
            ApiError::new(Code::CurrencyMismatch, detail).with("from", from).with("into", into)
        }
        CartError::Empty { cart } => {
            ApiError::new(Code::CartEmpty, detail).with("cart", cart.to_string())
        }
        CartError::ShippingAddressRequired { cart } => {
            ApiError::new(Code::ShippingAddressRequired, detail).with("cart", cart.to_string())
        }
        CartError::ShippingMethodRequired { cart } => {
            ApiError::new(Code::ShippingMethodRequired, detail).with("cart", cart.to_string())
        }
        _ => by_code(fallback, detail),
    }
}

fn catalog(e: CatalogError, detail: String, fallback: Code) -> ApiError {
    match e {
        CatalogError::NoVariants { product: _ } => ApiError::validation("variants", detail),
        CatalogError::DuplicateSku { sku } => {
            ApiError::validation("variants", detail).with("sku", sku)
        }
        CatalogError::DuplicatePrice { sku, currency } => {
            ApiError::validation("variants.prices", detail)
                .with("sku", sku)
                .with("currency", currency)
        }
        CatalogError::NegativePrice { sku, price: _ } => {
            ApiError::validation("variants.prices", detail).with("sku", sku)
        }
        CatalogError::BadTitle => ApiError::validation("title", detail),
        _ => by_code(fallback, detail),
    }
}

fn pricing(e: PricingError, detail: String, fallback: Code) -> ApiError {
    match e {
        PricingError::Money(e) => money_error(e, detail, fallback),
        PricingError::LineCurrencyMismatch { line_id, expected, found } => {
            ApiError::new(Code::CurrencyMismatch, detail)
                .with("line", line_id.to_string())
                .with("expected", expected)
                .with("found", found)
        }
        PricingError::NegativeUnitPrice { line_id, price: _ } => {
            ApiError::new(Code::PricingFailed, detail).with("line", line_id.to_string())
        }
        PricingError::UnknownShippingMethod { method } => {
            ApiError::new(Code::ShippingUnavailable, detail).with("method", method)
        }
        PricingError::ShippingUnavailable { method, region } => {
            ApiError::new(Code::ShippingUnavailable, detail)
                .with("method", method)
                .with("region", region)
        }
        PricingError::NoShippingRate { method, weight_grams } => {
            ApiError::new(Code::ShippingUnavailable, detail)
                .with("method", method)
                .with("weight_grams", weight_grams)
        }
        PricingError::ShippingCurrencyMismatch { method, expected, found } => {
            ApiError::new(Code::CurrencyMismatch, detail)
                .with("method", method)
                .with("expected", expected)
                .with("found", found)
        }
        _ => by_code(fallback, detail),
    }
}

fn money_error(e: MoneyError, detail: String, fallback: Code) -> ApiError {
    match e {
        MoneyError::CurrencyMismatch { expected, found } => {
            ApiError::new(Code::CurrencyMismatch, detail)
                .with("expected", expected)
                .with("found", found)
        }
        MoneyError::UnknownCurrency { code: _ } => ApiError::validation("currency", detail),
        MoneyError::TooPrecise { amount: _, currency, minor_units } => {
            ApiError::validation("amount", detail)
                .with("currency", currency)
                .with("minor_units", minor_units)
        }
        MoneyError::Overflow => ApiError::validation("amount", detail),
        MoneyError::InvalidAllocation { reason: _ } => ApiError::validation("amount", detail),
        _ => by_code(fallback, detail),
    }
}

fn coupon(reason: CouponRejection, detail: String) -> ApiError {
    let rejected =
        |reason: &str| ApiError::new(Code::CouponRejected, detail.clone()).with("reason", reason);
    match reason {
        CouponRejection::Unknown => rejected("unknown"),
        CouponRejection::NotStarted { starts_at } => {
            rejected("not_started").with("starts_at", starts_at)
        }
        CouponRejection::Expired { ended_at } => rejected("expired").with("ended_at", ended_at),
        CouponRejection::UsageLimitReached { limit } => {
            rejected("usage_limit_reached").with("limit", limit)
        }
        CouponRejection::WrongCurrency { accepted, cart } => {
            rejected("wrong_currency").with("accepted", accepted).with("cart_currency", cart)
        }
        CouponRejection::MinSubtotalNotMet { required, subtotal } => {
            rejected("min_subtotal_not_met")
                .with("required", money(required))
                .with("subtotal", money(subtotal))
        }
        CouponRejection::NoEligibleLine => rejected("no_eligible_line"),
        CouponRejection::NotEnoughItems { required, found } => {
            rejected("not_enough_items").with("required", required).with("found", found)
        }
        CouponRejection::NotCombinable { with } => rejected("not_combinable").with("with", with),
        _ => rejected("other"),
    }
}

fn inventory(e: InventoryError, detail: String, fallback: Code) -> ApiError {
    match e {
        InventoryError::OutOfStock { sku, requested, available } => {
            ApiError::new(Code::OutOfStock, detail)
                .with("sku", sku)
                .with("requested", requested)
                .with("available", available.max(0))
        }
        InventoryError::UnknownSku { sku, location } => {
            ApiError::new(Code::NoStockRecord, detail).with("sku", sku).with("location", location)
        }
        InventoryError::ReservationNotFound { id } => ApiError::new(Code::NotFound, detail)
            .with("entity", "reservation")
            .with("id", id.to_string()),
        InventoryError::ReservationClosed { id, status } => {
            ApiError::new(Code::ReservationClosed, detail)
                .with("reservation", id.to_string())
                .with("reservation_status", status)
        }
        InventoryError::ReservationMismatch { id } => ApiError::new(Code::Conflict, detail)
            .with("entity", "reservation")
            .with("id", id.to_string()),
        InventoryError::Invalid { reason } => ApiError::validation("inventory", reason),
        InventoryError::Store(e) => store(e, detail, fallback),
        _ => by_code(fallback, detail),
    }
}

/// A storage error that reached the HTTP layer without being folded into a `ShopError`
/// case (only possible inside `InventoryError::Store`).
fn store(e: StoreError, detail: String, fallback: Code) -> ApiError {
    match e {
        StoreError::NotFound { entity, id } => ApiError::not_found(entity, id),
        StoreError::VersionConflict { entity, id, expected: _, actual: _ } => {
            ApiError::new(Code::Conflict, detail).with("entity", entity).with("id", id)
        }
        StoreError::AlreadyExists { entity, key } => {
            ApiError::new(Code::AlreadyExists, detail).with("entity", entity).with("key", key)
        }
        StoreError::InvalidCursor => ApiError::validation("cursor", detail),
        StoreError::Invalid { reason } => ApiError::validation("request", reason),
        e @ StoreError::Unavailable { .. } => ApiError::unavailable(e),
        _ => by_code(fallback, detail),
    }
}

fn payment(e: PaymentError, detail: String, fallback: Code) -> ApiError {
    match e {
        PaymentError::Declined { code } => {
            ApiError::new(Code::PaymentDeclined, detail).with("decline_code", code)
        }
        PaymentError::InvalidPaymentMethod { reason: _ } => {
            ApiError::new(Code::InvalidPaymentMethod, detail)
        }
        PaymentError::UnknownPayment { reference: _ } => {
            ApiError::new(Code::PaymentConflict, detail)
        }
        PaymentError::InvalidState { reference: _, action, reason: _ } => {
            ApiError::new(Code::PaymentConflict, detail).with("action", action)
        }
        e @ PaymentError::Timeout => {
            ApiError::new(Code::PaymentGatewayUnavailable, detail).retry_after(2).with_source(e)
        }
        e @ PaymentError::Unavailable { .. } => {
            ApiError::new(Code::PaymentGatewayUnavailable, detail).retry_after(5).with_source(e)
        }
        _ => by_code(fallback, detail),
    }
}

fn order(e: OrderError, detail: String, fallback: Code) -> ApiError {
    match e {
        OrderError::IllegalTransition { order, status, action } => {
            ApiError::new(Code::IllegalTransition, detail)
                .with("order", order.to_string())
                .with("order_status", status)
                .with("action", action)
        }
        OrderError::UnknownLine { order: _, line } => {
            ApiError::new(Code::UnknownLine, detail).with("line", line.to_string())
        }
        OrderError::OverFulfilment { line, requested, remaining } => {
            ApiError::new(Code::OverFulfilment, detail)
                .with("line", line.to_string())
                .with("requested", requested)
                .with("remaining", remaining)
        }
        OrderError::CaptureExceedsAuthorized { requested, authorized } => {
            ApiError::new(Code::CaptureExceedsAuthorized, detail)
                .with("requested", money(requested))
                .with("authorized", money(authorized))
        }
        OrderError::EmptyShipment => ApiError::validation("lines", detail),
        OrderError::Money(e) => money_error(e, detail, fallback),
        _ => by_code(fallback, detail),
    }
}

fn refund(e: RefundError, detail: String, fallback: Code) -> ApiError {
    match e {
        RefundError::NotRefundable { order, status } => ApiError::new(Code::NotRefundable, detail)
            .with("order", order.to_string())
            .with("order_status", status),
        RefundError::RefundExceedsCaptured { requested, refundable } => {
            ApiError::new(Code::RefundExceedsCaptured, detail)
                .with("requested", money(requested))
                .with("refundable", money(refundable))
        }
        RefundError::TooManyUnits { line, requested, refundable } => {
            ApiError::new(Code::TooManyUnits, detail)
                .with("line", line.to_string())
                .with("requested", requested)
                .with("refundable", refundable)
        }
        RefundError::UnknownLine { order: _, line } => {
            ApiError::new(Code::UnknownLine, detail).with("line", line.to_string())
        }
        RefundError::UnknownRefund { order: _, refund } => ApiError::new(Code::NotFound, detail)
            .with("entity", "refund")
            .with("id", refund.to_string()),
        RefundError::IllegalTransition { refund, status, action } => {
            ApiError::new(Code::IllegalTransition, detail)
                .with("refund", refund.to_string())
                .with("refund_status", status)
                .with("action", action)
        }
        RefundError::Empty => ApiError::validation("lines", detail),
        RefundError::DuplicateId { refund } => ApiError::new(Code::AlreadyExists, detail)
            .with("entity", "refund")
            .with("key", refund.to_string()),
        RefundError::Money(e) => money_error(e, detail, fallback),
        _ => by_code(fallback, detail),
    }
}

fn account(e: AccountError, detail: String, fallback: Code) -> ApiError {
    let challenge = || HeaderValue::from_static(r#"Bearer realm="shopkit""#);
    match e {
        AccountError::InvalidCredentials => ApiError::new(Code::InvalidCredentials, detail)
            .with_header(WWW_AUTHENTICATE, challenge()),
        AccountError::EmailTaken => ApiError::new(Code::EmailTaken, detail),
        AccountError::WeakPassword { reason: _ } => ApiError::validation("password", detail),
        AccountError::SessionEnded => {
            ApiError::new(Code::SessionEnded, detail).with_header(WWW_AUTHENTICATE, challenge())
        }
        AccountError::Throttled { retry_after_seconds } => {
            ApiError::new(Code::TooManyAttempts, detail).retry_after(retry_after_seconds)
        }
        e @ AccountError::Unavailable { .. } => ApiError::unavailable(e),
        _ => by_code(fallback, detail),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use chrono::{DateTime, Utc};
    use http_body_util::BodyExt;
    use shopkit_core::ids::{
        CartId, CouponCode, LineId, LocationId, OrderId, ProductId, PromotionId, RefundId,
        ReservationId, ShippingMethodId, Sku,
    };
    use shopkit_core::inventory::ReservationStatus;
    use shopkit_core::money::Currency;
    use uuid::Uuid;

    use super::*;

    fn sku() -> Sku {
        Sku::new("TEE-M").unwrap()
    }
    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }
    fn id() -> Uuid {
        Uuid::from_u128(7)
    }
    fn method() -> ShippingMethodId {
        ShippingMethodId::new("express").unwrap()
    }
    fn at() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
    }
    fn secret_source() -> Box<dyn std::error::Error + Send + Sync> {
        Box::new(std::io::Error::other("connect 10.0.0.7:5432 password=hunter2"))
    }

    fn money_errors() -> Vec<MoneyError> {
        vec![
            MoneyError::CurrencyMismatch { expected: Currency::USD, found: Currency::EUR },
            MoneyError::UnknownCurrency { code: "XXX".into() },
            MoneyError::TooPrecise {
                amount: rust_decimal::Decimal::new(1234, 3),
                currency: Currency::USD,
                minor_units: 2,
            },
            MoneyError::Overflow,
            MoneyError::InvalidAllocation { reason: "no parts" },
        ]
    }

    /// Every variant known today, nested ones included, with the code it must map to.
    /// Add new domain variants here (see the module docs).
    fn every_known_variant() -> Vec<(ShopError, Code)> {
        let cart = CartId::from_uuid(id());
        let line = LineId::from_uuid(id());
        let order = OrderId::from_uuid(id());
        let refund = RefundId::from_uuid(id());
        let reservation = ReservationId::from_uuid(id());
        let coupon =
            |reason| ShopError::Coupon { code: CouponCode::new("SAVE10").unwrap(), reason };
        let mut all = vec![
            (
                CartError::QuantityLimit { sku: sku(), requested: 120, max: 99 }.into(),
                Code::QuantityLimit,
            ),
            (CartError::TooManyLines { max: 100 }.into(), Code::TooManyLines),
            (CartError::TooManyCoupons { max: 5 }.into(), Code::TooManyCoupons),
            (CartError::UnknownLine { cart, line }.into(), Code::NotFound),
            (CartError::Closed { cart, status: "checked out" }.into(), Code::CartClosed),
            (CartError::Expired { cart }.into(), Code::CartExpired),
            (
                CartError::CurrencyMismatch { from: Currency::EUR, into: Currency::USD }.into(),
                Code::CurrencyMismatch,
            ),
            (CartError::Empty { cart }.into(), Code::CartEmpty),
            (CartError::ShippingAddressRequired { cart }.into(), Code::ShippingAddressRequired),
            (CartError::ShippingMethodRequired { cart }.into(), Code::ShippingMethodRequired),
            (
                CatalogError::NoVariants { product: ProductId::from_uuid(id()) }.into(),
                Code::ValidationFailed,
            ),
            (CatalogError::DuplicateSku { sku: sku() }.into(), Code::ValidationFailed),
            (
                CatalogError::DuplicatePrice { sku: sku(), currency: Currency::USD }.into(),
                Code::ValidationFailed,
            ),
            (
                CatalogError::NegativePrice { sku: sku(), price: usd(-1) }.into(),
                Code::ValidationFailed,
            ),
            (CatalogError::BadTitle.into(), Code::ValidationFailed),
            (
                PricingError::LineCurrencyMismatch {
                    line_id: line,
                    expected: Currency::USD,
                    found: Currency::EUR,
                }
                .into(),
                Code::CurrencyMismatch,
            ),
            (
                PricingError::NegativeUnitPrice { line_id: line, price: usd(-1) }.into(),
                Code::PricingFailed,
            ),
            (
                PricingError::UnknownShippingMethod { method: method() }.into(),
                Code::ShippingUnavailable,
            ),
            (
                PricingError::ShippingUnavailable { method: method(), region: None }.into(),
                Code::ShippingUnavailable,
            ),
            (
                PricingError::NoShippingRate { method: method(), weight_grams: 90_000 }.into(),
                Code::ShippingUnavailable,
            ),
            (
                PricingError::ShippingCurrencyMismatch {
                    method: method(),
                    expected: Currency::USD,
                    found: Currency::EUR,
                }
                .into(),
                Code::CurrencyMismatch,
            ),
            (coupon(CouponRejection::Unknown), Code::CouponRejected),
            (coupon(CouponRejection::NotStarted { starts_at: at() }), Code::CouponRejected),
            (coupon(CouponRejection::Expired { ended_at: at() }), Code::CouponRejected),
            (coupon(CouponRejection::UsageLimitReached { limit: 3 }), Code::CouponRejected),
            (
                coupon(CouponRejection::WrongCurrency {
                    accepted: Currency::EUR,
                    cart: Currency::USD,
                }),
                Code::CouponRejected,
            ),
            (
                coupon(CouponRejection::MinSubtotalNotMet {
                    required: usd(50_00),
                    subtotal: usd(10_00),
                }),
                Code::CouponRejected,
            ),
            (coupon(CouponRejection::NoEligibleLine), Code::CouponRejected),
            (
                coupon(CouponRejection::NotEnoughItems { required: 3, found: 1 }),
                Code::CouponRejected,
            ),
            (
                coupon(CouponRejection::NotCombinable { with: "Summer".into() }),
                Code::CouponRejected,
            ),
            (
                ShopError::PromotionUsedUp {
                    promotion: PromotionId::from_uuid(id()),
                    name: "Summer".into(),
                    coupon: None,
                },
                Code::PromotionUsedUp,
            ),
            (ShopError::UnknownSku { sku: sku() }, Code::UnknownSku),
            (ShopError::NotForSale { sku: sku() }, Code::NotForSale),
            (
                ShopError::NoPriceInCurrency { sku: sku(), currency: Currency::JPY },
                Code::NoPriceInCurrency,
            ),
            (
                ShopError::Inventory(InventoryError::OutOfStock {
                    sku: sku(),
                    requested: 3,
                    available: 1,
                }),
                Code::OutOfStock,
            ),
            (
                ShopError::Inventory(InventoryError::UnknownSku {
                    sku: sku(),
                    location: LocationId::main(),
                }),
                Code::NoStockRecord,
            ),
            (
                ShopError::Inventory(InventoryError::ReservationNotFound { id: reservation }),
                Code::NotFound,
            ),
            (
                ShopError::Inventory(InventoryError::ReservationClosed {
                    id: reservation,
                    status: ReservationStatus::Expired,
                }),
                Code::ReservationClosed,
            ),
            (
                ShopError::Inventory(InventoryError::ReservationMismatch { id: reservation }),
                Code::Conflict,
            ),
            (
                ShopError::Inventory(InventoryError::Invalid { reason: "no lines".into() }),
                Code::ValidationFailed,
            ),
            (
                ShopError::Inventory(InventoryError::Store(StoreError::Unavailable {
                    message: "timeout".into(),
                    source: Some(secret_source()),
                })),
                Code::Unavailable,
            ),
            (
                ShopError::Payment(PaymentError::Declined { code: "card_declined".into() }),
                Code::PaymentDeclined,
            ),
            (
                ShopError::Payment(PaymentError::InvalidPaymentMethod {
                    reason: "unknown token".into(),
                }),
                Code::InvalidPaymentMethod,
            ),
            (
                ShopError::Payment(PaymentError::UnknownPayment { reference: "pi_1".into() }),
                Code::PaymentConflict,
            ),
            (
                ShopError::Payment(PaymentError::InvalidState {
                    reference: "pi_1".into(),
                    action: "captured",
                    reason: "voided".into(),
                }),
                Code::PaymentConflict,
            ),
            (ShopError::Payment(PaymentError::Timeout), Code::PaymentGatewayUnavailable),
            (
                ShopError::Payment(PaymentError::Unavailable {
                    message: "stripe 10.0.0.7 down".into(),
                }),
                Code::PaymentGatewayUnavailable,
            ),
            (
                OrderError::IllegalTransition { order, status: "cancelled", action: "ship" }.into(),
                Code::IllegalTransition,
            ),
            (OrderError::UnknownLine { order, line }.into(), Code::UnknownLine),
            (
                OrderError::OverFulfilment { line, requested: 3, remaining: 1 }.into(),
                Code::OverFulfilment,
            ),
            (
                OrderError::CaptureExceedsAuthorized {
                    requested: usd(20_00),
                    authorized: usd(10_00),
                }
                .into(),
                Code::CaptureExceedsAuthorized,
            ),
            (OrderError::EmptyShipment.into(), Code::ValidationFailed),
            (RefundError::NotRefundable { order, status: "placed" }.into(), Code::NotRefundable),
            (
                RefundError::RefundExceedsCaptured {
                    requested: usd(20_00),
                    refundable: usd(10_00),
                }
                .into(),
                Code::RefundExceedsCaptured,
            ),
            (
                RefundError::TooManyUnits { line, requested: 3, refundable: 1 }.into(),
                Code::TooManyUnits,
            ),
            (RefundError::UnknownLine { order, line }.into(), Code::UnknownLine),
            (RefundError::UnknownRefund { order, refund }.into(), Code::NotFound),
            (
                RefundError::IllegalTransition { refund, status: "processed", action: "approve" }
                    .into(),
                Code::IllegalTransition,
            ),
            (RefundError::Empty.into(), Code::ValidationFailed),
            (RefundError::DuplicateId { refund }.into(), Code::AlreadyExists),
            (ShopError::Account(AccountError::InvalidCredentials), Code::InvalidCredentials),
            (ShopError::Account(AccountError::EmailTaken), Code::EmailTaken),
            (
                ShopError::Account(AccountError::WeakPassword { reason: "too short" }),
                Code::ValidationFailed,
            ),
            (ShopError::Account(AccountError::SessionEnded), Code::SessionEnded),
            (
                ShopError::Account(AccountError::Throttled { retry_after_seconds: 30 }),
                Code::TooManyAttempts,
            ),
            (
                ShopError::Account(AccountError::Unavailable {
                    message: "cognito 10.0.0.7".into(),
                }),
                Code::Unavailable,
            ),
            (ShopError::not_found("order", order), Code::NotFound),
            (
                ShopError::Invalid { field: "quantity", reason: "at least 1".into() },
                Code::ValidationFailed,
            ),
            (
                ShopError::Invalid { field: "cursor", reason: "pass it back".into() },
                Code::InvalidQuery,
            ),
            (
                ShopError::AlreadyExists { entity: "product", key: "slug tee".into() },
                Code::AlreadyExists,
            ),
            (ShopError::Conflict { entity: "cart", id: cart.to_string() }, Code::Conflict),
            (ShopError::IdempotencyKeyReused, Code::IdempotencyKeyReused),
            (ShopError::CheckoutInProgress, Code::IdempotencyInProgress),
            (ShopError::Forbidden { action: "approve refunds" }, Code::Forbidden),
            (ShopError::Unavailable { source: secret_source() }, Code::Unavailable),
            (ShopError::Internal { message: "order missing; db=10.0.0.7".into() }, Code::Internal),
        ];
        for e in money_errors() {
            let expected = match &e {
                MoneyError::CurrencyMismatch { .. } => Code::CurrencyMismatch,
                _ => Code::ValidationFailed,
            };
            all.push((PricingError::Money(e.clone()).into(), expected));
            all.push((OrderError::Money(e.clone()).into(), expected));
            all.push((RefundError::Money(e).into(), expected));
        }
        all
    }

    #[test]
    fn every_known_variant_maps_to_its_intended_status() {
        for (error, expected) in every_known_variant() {
            let debug = format!("{error:?}");
            let by_code = problem_code(error.code());
            let api = ApiError::from(error);
            assert_eq!(api.code(), expected, "{debug}");
            // The detailed match and the exhaustive code agree (cursors are the one
            // refinement: a query-string problem rather than a body validation).
            if expected != Code::InvalidQuery {
                assert_eq!(by_code, expected, "{debug}: ErrorCode and the detailed match disagree");
            }
            assert_eq!(api.status(), expected.status(), "{debug}");
        }
    }

    #[test]
    fn the_http_status_agrees_with_the_domains_client_or_server_verdict() {
        for (error, _) in every_known_variant() {
            let debug = format!("{error:?}");
            let client = error.is_client_error();
            let api = ApiError::from(error);
            assert_eq!(api.status().is_client_error(), client, "{debug} -> {}", api.status());
        }
    }

    #[test]
    fn retryable_domain_errors_stay_retryable() {
        for (error, _) in every_known_variant() {
            let debug = format!("{error:?}");
            let retryable = error.is_retryable();
            let api = ApiError::from(error);
            if retryable {
                assert!(api.is_retryable(), "{debug}");
            }
        }
    }

    #[tokio::test]
    async fn server_errors_never_leak_internal_detail() {
        for (error, _) in every_known_variant() {
            let debug = format!("{error:?}");
            let api = ApiError::from(error);
            if !api.status().is_server_error() {
                continue;
            }
            let response = api.into_response();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let text = String::from_utf8_lossy(&body);
            for secret in ["10.0.0.7", "hunter2", "stripe", "cognito", "order missing", "timeout"] {
                assert!(!text.contains(secret), "{debug} leaked {secret:?}: {text}");
            }
        }
    }

    #[test]
    fn out_of_stock_carries_the_sku_and_quantities() {
        let api = ApiError::from(ShopError::Inventory(InventoryError::OutOfStock {
            sku: sku(),
            requested: 3,
            available: -2,
        }));
        assert_eq!(api.extension("sku").unwrap(), "TEE-M");
        assert_eq!(api.extension("requested").unwrap(), 3);
        assert_eq!(api.extension("available").unwrap(), 0, "backorders never show as negative");
    }

    #[test]
    fn invalid_input_names_the_field() {
        let api =
            ApiError::from(ShopError::Invalid { field: "quantity", reason: "at least 1".into() });
        assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(api.extension("field").unwrap(), "quantity");
        assert_eq!(api.detail(), "at least 1");
    }

    #[test]
    fn retry_after_accompanies_outages_throttling_and_in_progress_checkouts() {
        for error in [
            ShopError::Unavailable { source: secret_source() },
            ShopError::CheckoutInProgress,
            ShopError::Account(AccountError::Throttled { retry_after_seconds: 30 }),
            ShopError::Payment(PaymentError::Timeout),
        ] {
            let debug = format!("{error:?}");
            let api = ApiError::from(error);
            assert!(api.headers().contains_key(axum::http::header::RETRY_AFTER), "{debug}");
        }
        let throttled =
            ApiError::from(ShopError::Account(AccountError::Throttled { retry_after_seconds: 30 }));
        assert_eq!(throttled.headers()[axum::http::header::RETRY_AFTER], "30");
    }
}

//! [`ErrorCode`]: the stable, machine-readable code of every [`ShopError`].
//!
//! `ShopError::code` is an exhaustive match over every variant, nested enums included.
//! It lives in this crate, where `#[non_exhaustive]` does not force a wildcard, so adding
//! a variant anywhere in the core fails to compile until it is given a code. `ErrorCode`
//! itself is NOT `#[non_exhaustive]`: an inbound adapter (HTTP) matches it exhaustively,
//! so a new code fails to compile there until it is given a status. Together: a new
//! domain error cannot ship unmapped.

use crate::cart::CartError;
use crate::catalog::CatalogError;
use crate::inventory::InventoryError;
use crate::money::MoneyError;
use crate::orders::{OrderError, RefundError};
use crate::ports::{AccountError, PaymentError};
use crate::pricing::PricingError;

use super::error::ShopError;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal;)+) => {
        /// The stable code of a [`ShopError`] (`out_of_stock`), for clients to branch on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as clients see it (`snake_case`).
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)+ }
            }
        }
    };
}

error_codes! {
    /// Wrong email or password.
    InvalidCredentials = "invalid_credentials";
    /// The refresh token is spent or expired.
    SessionEnded = "session_ended";
    /// The card was declined.
    PaymentDeclined = "payment_declined";
    /// The caller lacks the role.
    Forbidden = "forbidden";
    /// No such record (or not the caller's).
    NotFound = "not_found";
    /// Changed concurrently.
    Conflict = "conflict";
    /// A unique key is taken.
    AlreadyExists = "already_exists";
    /// An account with the email exists.
    EmailTaken = "email_taken";
    /// Not enough stock.
    OutOfStock = "out_of_stock";
    /// A checkout with the key is running.
    CheckoutInProgress = "checkout_in_progress";
    /// The cart was checked out or merged.
    CartClosed = "cart_closed";
    /// The cart expired.
    CartExpired = "cart_expired";
    /// A usage-limited promotion ran out during checkout.
    PromotionUsedUp = "promotion_used_up";
    /// The order or refund state does not allow it.
    IllegalTransition = "illegal_transition";
    /// The order has no captured money to refund.
    NotRefundable = "not_refundable";
    /// The reservation was released or expired.
    ReservationClosed = "reservation_closed";
    /// The payment's state at the gateway does not allow it.
    PaymentConflict = "payment_conflict";
    /// A malformed or out-of-range value.
    ValidationFailed = "validation_failed";
    /// The idempotency key belongs to another request.
    IdempotencyKeyReused = "idempotency_key_reused";
    /// No product has the SKU.
    UnknownSku = "unknown_sku";
    /// The SKU's product is not on sale.
    NotForSale = "not_for_sale";
    /// The SKU has no price in the currency.
    NoPriceInCurrency = "no_price_in_currency";
    /// The cart's total changed since the shopper saw it.
    PriceChanged = "price_changed";
    /// The SKU has no stock record at the location.
    NoStockRecord = "no_stock_record";
    /// Too many units on a cart line.
    QuantityLimit = "quantity_limit";
    /// Too many lines in a cart.
    TooManyLines = "too_many_lines";
    /// Too many coupons in a cart.
    TooManyCoupons = "too_many_coupons";
    /// Checkout of an empty cart.
    CartEmpty = "cart_empty";
    /// Checkout of goods to ship without a shipping address.
    ShippingAddressRequired = "shipping_address_required";
    /// Checkout of goods to ship without a shipping method.
    ShippingMethodRequired = "shipping_method_required";
    /// Amounts in different currencies.
    CurrencyMismatch = "currency_mismatch";
    /// The coupon does not apply.
    CouponRejected = "coupon_rejected";
    /// No shipping rate for the method (or no such method), region, weight or currency.
    ShippingUnavailable = "shipping_unavailable";
    /// The cart cannot be priced.
    PricingFailed = "pricing_failed";
    /// The payment method token is unusable.
    InvalidPaymentMethod = "invalid_payment_method";
    /// No such line on the order.
    UnknownLine = "unknown_line";
    /// More units than remain to ship.
    OverFulfilment = "over_fulfilment";
    /// A capture above the authorization.
    CaptureExceedsAuthorized = "capture_exceeds_authorized";
    /// Refunds would exceed what was captured.
    RefundExceedsCaptured = "refund_exceeds_captured";
    /// More units than remain to refund.
    TooManyUnits = "too_many_units";
    /// Too many failed sign-ins.
    TooManyAttempts = "too_many_attempts";
    /// The payment gateway timed out or is down.
    PaymentGatewayUnavailable = "payment_gateway_unavailable";
    /// A backend is down.
    Unavailable = "unavailable";
    /// A broken invariant between stores.
    Internal = "internal";
}

impl ShopError {
    /// The stable code of this error. Exhaustive over every variant (see the module docs).
    pub fn code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            ShopError::Cart(e) => match e {
                CartError::QuantityLimit { .. } => C::QuantityLimit,
                CartError::TooManyLines { .. } => C::TooManyLines,
                CartError::TooManyCoupons { .. } => C::TooManyCoupons,
                CartError::UnknownLine { .. } => C::NotFound,
                CartError::Closed { .. } => C::CartClosed,
                CartError::Expired { .. } => C::CartExpired,
                CartError::CurrencyMismatch { .. } => C::CurrencyMismatch,
                CartError::Empty { .. } => C::CartEmpty,
                CartError::ShippingAddressRequired { .. } => C::ShippingAddressRequired,
                CartError::ShippingMethodRequired { .. } => C::ShippingMethodRequired,
            },
            ShopError::Catalog(e) => match e {
                CatalogError::NoVariants { .. }
                | CatalogError::DuplicateSku { .. }
                | CatalogError::DuplicatePrice { .. }
                | CatalogError::NegativePrice { .. }
                | CatalogError::BadTitle => C::ValidationFailed,
            },
            ShopError::Pricing(e) => match e {
                PricingError::Money(m) => money(m),
                PricingError::LineCurrencyMismatch { .. }
                | PricingError::ShippingCurrencyMismatch { .. } => C::CurrencyMismatch,
                PricingError::NegativeUnitPrice { .. } => C::PricingFailed,
                PricingError::UnknownShippingMethod { .. }
                | PricingError::ShippingUnavailable { .. }
                | PricingError::NoShippingRate { .. } => C::ShippingUnavailable,
            },
            ShopError::Coupon { .. } => C::CouponRejected,
            ShopError::PromotionUsedUp { .. } => C::PromotionUsedUp,
            ShopError::UnknownSku { .. } => C::UnknownSku,
            ShopError::NotForSale { .. } => C::NotForSale,
            ShopError::NoPriceInCurrency { .. } => C::NoPriceInCurrency,
            ShopError::PriceChanged { .. } => C::PriceChanged,
            ShopError::Inventory(e) => match e {
                InventoryError::OutOfStock { .. } => C::OutOfStock,
                InventoryError::UnknownSku { .. } => C::NoStockRecord,
                InventoryError::ReservationNotFound { .. } => C::NotFound,
                InventoryError::ReservationClosed { .. } => C::ReservationClosed,
                InventoryError::ReservationMismatch { .. } => C::Conflict,
                InventoryError::Invalid { .. } => C::ValidationFailed,
                InventoryError::Store(_) => C::Unavailable,
            },
            ShopError::Payment(e) => match e {
                PaymentError::Declined { .. } => C::PaymentDeclined,
                PaymentError::InvalidPaymentMethod { .. } => C::InvalidPaymentMethod,
                PaymentError::UnknownPayment { .. } | PaymentError::InvalidState { .. } => {
                    C::PaymentConflict
                }
                PaymentError::Timeout | PaymentError::Unavailable { .. } => {
                    C::PaymentGatewayUnavailable
                }
            },
            ShopError::Order(e) => match e {
                OrderError::IllegalTransition { .. } => C::IllegalTransition,
                OrderError::UnknownLine { .. } => C::UnknownLine,
                OrderError::OverFulfilment { .. } => C::OverFulfilment,
                OrderError::CaptureExceedsAuthorized { .. } => C::CaptureExceedsAuthorized,
                OrderError::EmptyShipment => C::ValidationFailed,
                OrderError::Money(m) => money(m),
            },
            ShopError::Refund(e) => match e {
                RefundError::NotRefundable { .. } => C::NotRefundable,
                RefundError::RefundExceedsCaptured { .. } => C::RefundExceedsCaptured,
                RefundError::TooManyUnits { .. } => C::TooManyUnits,
                RefundError::UnknownLine { .. } => C::UnknownLine,
                RefundError::UnknownRefund { .. } => C::NotFound,
                RefundError::IllegalTransition { .. } => C::IllegalTransition,
                RefundError::Empty => C::ValidationFailed,
                RefundError::DuplicateId { .. } => C::AlreadyExists,
                RefundError::Money(m) => money(m),
            },
            ShopError::Account(e) => match e {
                AccountError::InvalidCredentials => C::InvalidCredentials,
                AccountError::EmailTaken => C::EmailTaken,
                AccountError::WeakPassword { .. } => C::ValidationFailed,
                AccountError::SessionEnded => C::SessionEnded,
                AccountError::Throttled { .. } => C::TooManyAttempts,
                AccountError::Unavailable { .. } => C::Unavailable,
            },
            ShopError::NotFound { .. } => C::NotFound,
            ShopError::Invalid { .. } => C::ValidationFailed,
            ShopError::AlreadyExists { .. } => C::AlreadyExists,
            ShopError::Conflict { .. } => C::Conflict,
            ShopError::IdempotencyKeyReused => C::IdempotencyKeyReused,
            ShopError::CheckoutInProgress => C::CheckoutInProgress,
            ShopError::Forbidden { .. } => C::Forbidden,
            ShopError::Unavailable { .. } => C::Unavailable,
            ShopError::Internal { .. } => C::Internal,
        }
    }
}

fn money(e: &MoneyError) -> ErrorCode {
    match e {
        MoneyError::CurrencyMismatch { .. } => ErrorCode::CurrencyMismatch,
        MoneyError::UnknownCurrency { .. }
        | MoneyError::TooPrecise { .. }
        | MoneyError::Overflow
        | MoneyError::InvalidAllocation { .. } => ErrorCode::ValidationFailed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Sku;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "{c:?} repeats");
            assert!(c.as_str().chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'));
        }
    }

    #[test]
    fn client_errors_and_server_errors_get_codes_that_agree() {
        let out: ShopError =
            InventoryError::OutOfStock { sku: Sku::new("A").unwrap(), requested: 2, available: 1 }
                .into();
        assert_eq!(out.code(), ErrorCode::OutOfStock);
        assert!(out.is_client_error());
        let down = ShopError::Internal { message: "x".into() };
        assert_eq!(down.code(), ErrorCode::Internal);
        assert!(!down.is_client_error());
    }
}

//! [`ProblemCode`]: the stable, machine-readable `code` of every problem.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! problem_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:ident, $title:literal;)+) => {
        /// The stable code of a problem: clients branch on it (never on `detail`, which is
        /// prose). Each code always comes with the same HTTP status, and its `type` URI is
        /// `https://shopkit.dev/problems/<code>`. New codes may be added; existing ones
        /// never change meaning.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ProblemCode {
            $($(#[$doc])* $variant,)+
        }

        impl ProblemCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ProblemCode] = &[$(ProblemCode::$variant,)+];

            /// The code as it appears on the wire (`"out_of_stock"`).
            pub const fn as_str(self) -> &'static str {
                match self { $(ProblemCode::$variant => $code,)+ }
            }

            /// The HTTP status that always accompanies this code.
            pub const fn status(self) -> StatusCode {
                match self { $(ProblemCode::$variant => StatusCode::$status,)+ }
            }

            /// A short, fixed summary of the problem type (RFC 9457 `title`).
            pub const fn title(self) -> &'static str {
                match self { $(ProblemCode::$variant => $title,)+ }
            }
        }
    };
}

problem_codes! {
    /// The request could not be read (a generic 400).
    MalformedRequest = "malformed_request", BAD_REQUEST, "Malformed request";
    /// The body is not valid JSON (syntax), or is empty where JSON is required.
    MalformedJson = "malformed_json", BAD_REQUEST, "Malformed JSON body";
    /// A query parameter has the wrong form; `field` names it.
    InvalidQuery = "invalid_query", BAD_REQUEST, "Invalid query parameter";
    /// A path segment (an id, a slug) has the wrong form.
    InvalidPath = "invalid_path", BAD_REQUEST, "Invalid path parameter";
    /// A header has the wrong form; `header` names it.
    InvalidHeader = "invalid_header", BAD_REQUEST, "Invalid header";
    /// This call changes money or orders and needs an `Idempotency-Key` header.
    IdempotencyKeyRequired = "idempotency_key_required", BAD_REQUEST, "Idempotency key required";
    /// No bearer token, or one that is invalid, tampered with or expired.
    Unauthenticated = "unauthenticated", UNAUTHORIZED, "Authentication required";
    /// Wrong email or password.
    InvalidCredentials = "invalid_credentials", UNAUTHORIZED, "Invalid credentials";
    /// The refresh token is used, revoked or expired: sign in again.
    SessionEnded = "session_ended", UNAUTHORIZED, "Session ended";
    /// The payment method was declined: use another one.
    PaymentDeclined = "payment_declined", PAYMENT_REQUIRED, "Payment declined";
    /// The caller may not do this (a customer calling a back-office route).
    Forbidden = "forbidden", FORBIDDEN, "Forbidden";
    /// No such record, or one the caller may not see.
    NotFound = "not_found", NOT_FOUND, "Not found";
    /// No route has this path.
    RouteNotFound = "route_not_found", NOT_FOUND, "No such route";
    /// The route exists but not with this method; see the `Allow` header.
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed";
    /// The record changed concurrently: reload it and try again.
    Conflict = "conflict", CONFLICT, "Conflict";
    /// A unique key (slug, SKU, id) is taken.
    AlreadyExists = "already_exists", CONFLICT, "Already exists";
    /// An account with this email exists: sign in instead.
    EmailTaken = "email_taken", CONFLICT, "Email taken";
    /// Not enough stock; `sku`, `requested` and `available` say how much.
    OutOfStock = "out_of_stock", CONFLICT, "Out of stock";
    /// The same idempotency key is being processed: retry after `Retry-After` seconds.
    IdempotencyInProgress = "idempotency_in_progress", CONFLICT, "Request in progress";
    /// The cart was checked out or merged: start a new cart.
    CartClosed = "cart_closed", CONFLICT, "Cart closed";
    /// The cart has expired: start a new cart.
    CartExpired = "cart_expired", CONFLICT, "Cart expired";
    /// A promotion ran out while checking out: review the new total and check out again.
    PromotionUsedUp = "promotion_used_up", CONFLICT, "Promotion used up";
    /// The order or refund is not in a state that allows this.
    IllegalTransition = "illegal_transition", CONFLICT, "Illegal state transition";
    /// Only paid orders can be refunded.
    NotRefundable = "not_refundable", CONFLICT, "Not refundable";
    /// The stock reservation was released or expired.
    ReservationClosed = "reservation_closed", CONFLICT, "Reservation closed";
    /// The payment at the gateway is not in a state that allows this.
    PaymentConflict = "payment_conflict", CONFLICT, "Payment state conflict";
    /// The body exceeds the size limit.
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE, "Payload too large";
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type";
    /// A value is missing, of the wrong type or breaks a rule; `field` names it.
    ValidationFailed = "validation_failed", UNPROCESSABLE_ENTITY, "Validation failed";
    /// The idempotency key was used with another request: use a new key.
    IdempotencyKeyReused = "idempotency_key_reused", UNPROCESSABLE_ENTITY, "Idempotency key reused";
    /// No product has this SKU.
    UnknownSku = "unknown_sku", UNPROCESSABLE_ENTITY, "Unknown SKU";
    /// The SKU's product is not on sale.
    NotForSale = "not_for_sale", UNPROCESSABLE_ENTITY, "Not for sale";
    /// The SKU is not sold in the cart's currency.
    NoPriceInCurrency = "no_price_in_currency", UNPROCESSABLE_ENTITY, "No price in currency";
    /// The cart's total changed since the shopper saw it (`expected_total` of a checkout):
    /// `quote` holds the new one; nothing was taken.
    PriceChanged = "price_changed", CONFLICT, "Price changed";
    /// The SKU has no stock record at the location.
    NoStockRecord = "no_stock_record", UNPROCESSABLE_ENTITY, "No stock record";
    /// A cart line would exceed the per-line quantity limit.
    QuantityLimit = "quantity_limit", UNPROCESSABLE_ENTITY, "Quantity limit";
    /// The cart holds the maximum number of lines.
    TooManyLines = "too_many_lines", UNPROCESSABLE_ENTITY, "Too many lines";
    /// The cart holds the maximum number of coupons.
    TooManyCoupons = "too_many_coupons", UNPROCESSABLE_ENTITY, "Too many coupons";
    /// Checkout needs at least one line.
    CartEmpty = "cart_empty", UNPROCESSABLE_ENTITY, "Cart empty";
    /// The cart holds goods to ship: set its shipping address (`PUT
    /// /carts/{cart_id}/delivery`) before checkout.
    ShippingAddressRequired = "shipping_address_required", UNPROCESSABLE_ENTITY, "Shipping address required";
    /// The cart holds goods to ship: choose one of its shipping methods (`GET
    /// /carts/{cart_id}/shipping-methods`) before checkout.
    ShippingMethodRequired = "shipping_method_required", UNPROCESSABLE_ENTITY, "Shipping method required";
    /// Amounts or carts in different currencies were combined.
    CurrencyMismatch = "currency_mismatch", UNPROCESSABLE_ENTITY, "Currency mismatch";
    /// A coupon does not apply; `reason` says why.
    CouponRejected = "coupon_rejected", UNPROCESSABLE_ENTITY, "Coupon rejected";
    /// The shipping method does not exist, or does not deliver this cart to this address
    /// (in its currency, at its weight); `method` names it. `GET
    /// /carts/{cart_id}/shipping-methods` lists those that do.
    ShippingUnavailable = "shipping_unavailable", UNPROCESSABLE_ENTITY, "Shipping unavailable";
    /// The cart cannot be priced.
    PricingFailed = "pricing_failed", UNPROCESSABLE_ENTITY, "Pricing failed";
    /// The payment method is unknown or unusable.
    InvalidPaymentMethod = "invalid_payment_method", UNPROCESSABLE_ENTITY, "Invalid payment method";
    /// No such line on the order.
    UnknownLine = "unknown_line", UNPROCESSABLE_ENTITY, "Unknown line";
    /// More units than remain to ship.
    OverFulfilment = "over_fulfilment", UNPROCESSABLE_ENTITY, "Over-fulfilment";
    /// A capture above the authorized amount.
    CaptureExceedsAuthorized = "capture_exceeds_authorized", UNPROCESSABLE_ENTITY, "Capture exceeds authorization";
    /// A refund above what is still refundable.
    RefundExceedsCaptured = "refund_exceeds_captured", UNPROCESSABLE_ENTITY, "Refund exceeds captured amount";
    /// More units than are left to refund on a line.
    TooManyUnits = "too_many_units", UNPROCESSABLE_ENTITY, "Too many units";
    /// Too many requests from this client: wait `Retry-After` seconds.
    RateLimited = "rate_limited", TOO_MANY_REQUESTS, "Rate limited";
    /// Too many sign-in attempts for this account: wait `Retry-After` seconds.
    TooManyAttempts = "too_many_attempts", TOO_MANY_REQUESTS, "Too many attempts";
    /// The server failed; the details are logged under the `request_id`.
    Internal = "internal", INTERNAL_SERVER_ERROR, "Internal error";
    /// A backend is unavailable: retry after `Retry-After` seconds.
    Unavailable = "unavailable", SERVICE_UNAVAILABLE, "Service unavailable";
    /// The payment gateway did not answer: retry with the SAME idempotency key.
    PaymentGatewayUnavailable = "payment_gateway_unavailable", SERVICE_UNAVAILABLE, "Payment gateway unavailable";
    /// The request took too long; it may or may not have taken effect: retry idempotent
    /// calls with the same key.
    TimedOut = "timed_out", SERVICE_UNAVAILABLE, "Timed out";
}

impl ProblemCode {
    /// The RFC 9457 `type` URI: `https://shopkit.dev/problems/<code>`.
    pub fn type_uri(self) -> String {
        format!("https://shopkit.dev/problems/{}", self.as_str())
    }

    /// The code a bare error status gets when something other than a handler produced it
    /// (axum's method router, a tower layer).
    pub fn for_status(status: StatusCode) -> ProblemCode {
        match status {
            StatusCode::UNAUTHORIZED => ProblemCode::Unauthenticated,
            StatusCode::FORBIDDEN => ProblemCode::Forbidden,
            StatusCode::NOT_FOUND => ProblemCode::RouteNotFound,
            StatusCode::METHOD_NOT_ALLOWED => ProblemCode::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ProblemCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemCode::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ProblemCode::ValidationFailed,
            StatusCode::TOO_MANY_REQUESTS => ProblemCode::RateLimited,
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ProblemCode::TimedOut,
            s if s == StatusCode::SERVICE_UNAVAILABLE || s == StatusCode::BAD_GATEWAY => {
                ProblemCode::Unavailable
            }
            s if s.is_server_error() => ProblemCode::Internal,
            _ => ProblemCode::MalformedRequest,
        }
    }
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_and_serialize_as_themselves() {
        let unique: HashSet<_> = ProblemCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(unique.len(), ProblemCode::ALL.len());
        for code in ProblemCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }
}

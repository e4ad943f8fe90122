//! [`ShopError`]: the one error every service returns.
//!
//! It wraps the domain errors unchanged (so `OutOfStock` or `RefundExceedsCaptured` stay
//! inspectable) and folds the ports' storage errors into a few service-level cases the HTTP
//! layer maps to problem+json: not found, invalid, already exists, conflict, unavailable.
//! Backend errors are kept as sources only, never as variants.

use std::error::Error as StdError;

use crate::cart::CartError;
use crate::catalog::CatalogError;
use crate::customers::InvalidAddress;
use crate::ids::{CouponCode, InvalidId, PromotionId, Sku};
use crate::inventory::InventoryError;
use crate::money::{Currency, Money, MoneyError};
use crate::orders::{OrderError, RefundError};
use crate::ports::{AccountError, PaymentError, RedeemError, SearchError, StoreError};
use crate::pricing::{CouponRejection, PricingError, Quote};
use crate::quantity::InvalidQuantity;

/// What a use case can fail with. Every message says what the caller can do about it.
///
/// The HTTP layer maps this enum exhaustively; [`ShopError::is_client_error`] tells a
/// caller's mistake (4xx) from the shop's trouble (5xx), and [`ShopError::is_retryable`]
/// whether the same request may succeed later.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShopError {
    /// A cart rule was broken (quantity limit, closed or expired cart, empty cart...).
    #[error(transparent)]
    Cart(#[from] CartError),
    /// A product breaks a catalog rule.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The cart cannot be priced (shipping method unavailable, currency mismatch...).
    #[error(transparent)]
    Pricing(#[from] PricingError),
    /// A coupon cannot be applied, or no longer applies at checkout.
    #[error("coupon {code} cannot be used: {reason}")]
    Coupon {
        /// The code.
        code: CouponCode,
        /// Why, in words the customer can act on.
        reason: CouponRejection,
    },
    /// A promotion with a usage limit was used up by other orders while this checkout ran.
    /// Nothing was charged; the next quote no longer contains it.
    #[error(
        "the promotion \"{name}\" has just reached its usage limit: review the new total and check out again"
    )]
    PromotionUsedUp {
        /// The promotion.
        promotion: PromotionId,
        /// Its name, as the customer saw it on the quote.
        name: String,
        /// The coupon that unlocked it, if any (remove it from the cart).
        coupon: Option<CouponCode>,
    },
    /// No product has this SKU.
    #[error("no product has SKU {sku}: check the SKU, or remove it from the cart")]
    UnknownSku {
        /// The SKU.
        sku: Sku,
    },
    /// The SKU's product is a draft or archived.
    #[error("{sku} is not on sale: remove it from the cart")]
    NotForSale {
        /// The SKU.
        sku: Sku,
    },
    /// The SKU has no price in the cart's currency.
    #[error("{sku} is not sold in {currency}: remove it, or shop in another currency")]
    NoPriceInCurrency {
        /// The SKU.
        sku: Sku,
        /// The cart's currency.
        currency: Currency,
    },
    /// The cart's total is not the one the shopper was shown (`expected_total` of the
    /// checkout): a price, promotion, tax or shipping rate changed. Nothing was taken.
    #[error(
        "the cart now costs {} (you were shown {expected}): review the new quote and check out with its grand total",
        quote.grand_total()
    )]
    PriceChanged {
        /// The total the shopper expected to pay.
        expected: Money,
        /// The cart's quote now.
        quote: Box<Quote>,
    },
    /// Stock could not be reserved or changed; `OutOfStock` names the SKU and what is left.
    #[error(transparent)]
    Inventory(InventoryError),
    /// The payment gateway refused or failed (declined: use another payment method;
    /// timeout/unavailable: retry with the same idempotency key).
    #[error(transparent)]
    Payment(PaymentError),
    /// An order transition the order's state does not allow.
    #[error(transparent)]
    Order(#[from] OrderError),
    /// A refund the order's rules do not allow.
    #[error(transparent)]
    Refund(#[from] RefundError),
    /// Signing up, in or out failed (wrong credentials, email taken, session ended...).
    #[error(transparent)]
    Account(AccountError),
    /// No such record, or one the caller may not see (never says which).
    #[error("{entity} {id} not found: check the id")]
    NotFound {
        /// The kind of record (`"order"`).
        entity: &'static str,
        /// The id as asked for.
        id: String,
    },
    /// A malformed input (an id, a quantity, an address field, an amount, a cursor).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The input at fault.
        field: &'static str,
        /// What a valid value looks like.
        reason: String,
    },
    /// A unique key is taken (a slug, a SKU, a customer's email).
    #[error("{entity} with {key} already exists: choose another")]
    AlreadyExists {
        /// The kind of record.
        entity: &'static str,
        /// The clashing key.
        key: String,
    },
    /// The record kept changing concurrently (or was changed since the caller read it).
    #[error("{entity} {id} was changed by someone else: reload it and try again")]
    Conflict {
        /// The kind of record.
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// The idempotency key was used for another request (another cart or caller, a cart
    /// that changed since the first attempt, or a checkout whose payment was voided).
    #[error("this idempotency key belongs to another request: send this request with a new key")]
    IdempotencyKeyReused,
    /// A checkout with the same idempotency key is running (or its outcome is still
    /// unknown after a gateway timeout).
    #[error(
        "a checkout with this idempotency key is in progress: retry with the same key in a few seconds"
    )]
    CheckoutInProgress,
    /// The caller may not do this (a customer calling a back-office operation).
    #[error("not allowed to {action}: this needs the admin role")]
    Forbidden {
        /// What was attempted.
        action: &'static str,
    },
    /// A backend (store, search, gateway network) is unreachable. Retry later.
    #[error("a backend is unavailable: retry later")]
    Unavailable {
        /// The port's error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// A broken invariant between stores (a completed checkout whose order is missing).
    /// Not the caller's fault; logged for an operator.
    #[error("internal error ({message}): retry later or contact support")]
    Internal {
        /// What was inconsistent (no secrets).
        message: String,
    },
}

impl ShopError {
    /// Whether the caller can fix the request (4xx) rather than the shop (5xx).
    pub fn is_client_error(&self) -> bool {
        match self {
            ShopError::Cart(_)
            | ShopError::Catalog(_)
            | ShopError::Pricing(_)
            | ShopError::Coupon { .. }
            | ShopError::PromotionUsedUp { .. }
            | ShopError::UnknownSku { .. }
            | ShopError::NotForSale { .. }
            | ShopError::NoPriceInCurrency { .. }
            | ShopError::PriceChanged { .. }
            | ShopError::Order(_)
            | ShopError::Refund(_)
            | ShopError::NotFound { .. }
            | ShopError::Invalid { .. }
            | ShopError::AlreadyExists { .. }
            | ShopError::Conflict { .. }
            | ShopError::IdempotencyKeyReused
            | ShopError::CheckoutInProgress
            | ShopError::Forbidden { .. } => true,
            ShopError::Inventory(e) => match e {
                InventoryError::OutOfStock { .. }
                | InventoryError::UnknownSku { .. }
                | InventoryError::ReservationNotFound { .. }
                | InventoryError::ReservationClosed { .. }
                | InventoryError::ReservationMismatch { .. }
                | InventoryError::Invalid { .. } => true,
                InventoryError::Store(_) => false,
            },
            ShopError::Account(e) => match e {
                AccountError::InvalidCredentials
                | AccountError::EmailTaken
                | AccountError::WeakPassword { .. }
                | AccountError::SessionEnded
                | AccountError::Throttled { .. } => true,
                AccountError::Unavailable { .. } => false,
            },
            ShopError::Payment(e) => match e {
                PaymentError::Declined { .. }
                | PaymentError::InvalidPaymentMethod { .. }
                | PaymentError::UnknownPayment { .. }
                | PaymentError::InvalidState { .. } => true,
                PaymentError::Timeout | PaymentError::Unavailable { .. } => false,
            },
            ShopError::Unavailable { .. } | ShopError::Internal { .. } => false,
        }
    }

    /// Whether sending the same request again later may succeed (with the same
    /// idempotency key, for a checkout).
    pub fn is_retryable(&self) -> bool {
        match self {
            ShopError::Unavailable { .. }
            | ShopError::Conflict { .. }
            | ShopError::CheckoutInProgress => true,
            ShopError::Payment(e) => e.is_retryable(),
            ShopError::Account(e) => {
                matches!(e, AccountError::Unavailable { .. } | AccountError::Throttled { .. })
            }
            ShopError::Inventory(InventoryError::Store(e)) => e.is_retryable(),
            _ => false,
        }
    }

    /// A `NotFound` for `entity` with `id`.
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        ShopError::NotFound { entity, id: id.to_string() }
    }

    pub(crate) fn unavailable(source: impl StdError + Send + Sync + 'static) -> Self {
        ShopError::Unavailable { source: Box::new(source) }
    }
}

impl From<StoreError> for ShopError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity, id } => ShopError::NotFound { entity, id },
            StoreError::VersionConflict { entity, id, .. } => ShopError::Conflict { entity, id },
            StoreError::AlreadyExists { entity, key } => ShopError::AlreadyExists { entity, key },
            StoreError::InvalidCursor => ShopError::Invalid {
                field: "cursor",
                reason: "pass back a next_cursor exactly as it was returned".into(),
            },
            StoreError::Invalid { reason } => ShopError::Invalid { field: "request", reason },
            e @ StoreError::Unavailable { .. } => ShopError::unavailable(e),
        }
    }
}

impl From<InventoryError> for ShopError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::Store(store) => store.into(),
            other => ShopError::Inventory(other),
        }
    }
}

impl From<AccountError> for ShopError {
    fn from(e: AccountError) -> Self {
        ShopError::Account(e)
    }
}

impl From<PaymentError> for ShopError {
    fn from(e: PaymentError) -> Self {
        ShopError::Payment(e)
    }
}

impl From<RedeemError> for ShopError {
    fn from(e: RedeemError) -> Self {
        match e {
            RedeemError::UsageLimitReached { promotion } => {
                ShopError::PromotionUsedUp { promotion, name: promotion.to_string(), coupon: None }
            }
            RedeemError::Store(store) => store.into(),
        }
    }
}

impl From<SearchError> for ShopError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Invalid { reason } => ShopError::Invalid { field: "search", reason },
            e @ SearchError::Unavailable { .. } => ShopError::unavailable(e),
        }
    }
}

impl From<InvalidId> for ShopError {
    fn from(e: InvalidId) -> Self {
        ShopError::Invalid { field: e.kind, reason: e.to_string() }
    }
}

impl From<InvalidQuantity> for ShopError {
    fn from(e: InvalidQuantity) -> Self {
        ShopError::Invalid { field: "quantity", reason: e.to_string() }
    }
}

impl From<InvalidAddress> for ShopError {
    fn from(e: InvalidAddress) -> Self {
        ShopError::Invalid { field: "address", reason: e.to_string() }
    }
}

impl From<MoneyError> for ShopError {
    fn from(e: MoneyError) -> Self {
        ShopError::Invalid { field: "amount", reason: e.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Sku;

    #[test]
    fn out_of_stock_stays_inspectable_and_is_the_clients_problem() {
        let e: ShopError =
            InventoryError::OutOfStock { sku: Sku::new("A").unwrap(), requested: 3, available: 1 }
                .into();
        assert!(matches!(
            &e,
            ShopError::Inventory(InventoryError::OutOfStock { available: 1, .. })
        ));
        assert!(e.is_client_error());
        assert!(!e.is_retryable());
    }

    #[test]
    fn storage_outages_are_retryable_server_errors_with_their_source() {
        let store = StoreError::Unavailable { message: "connection refused".into(), source: None };
        let e: ShopError = InventoryError::Store(store).into();
        assert!(matches!(e, ShopError::Unavailable { .. }));
        assert!(!e.is_client_error());
        assert!(e.is_retryable());
        assert!(e.source().is_some_and(|s| s.to_string().contains("connection refused")));
    }

    #[test]
    fn version_conflicts_become_conflicts_and_malformed_input_becomes_invalid() {
        let e: ShopError =
            StoreError::VersionConflict { entity: "cart", id: "c1".into(), expected: 1, actual: 2 }
                .into();
        assert!(matches!(e, ShopError::Conflict { entity: "cart", .. }));
        let e: ShopError = Sku::new("has space").unwrap_err().into();
        assert!(matches!(e, ShopError::Invalid { field: "sku", .. }));
        let e: ShopError = crate::quantity::Quantity::new(0).unwrap_err().into();
        assert!(matches!(e, ShopError::Invalid { field: "quantity", .. }));
    }

    #[test]
    fn a_declined_payment_is_the_clients_problem_and_a_timeout_is_not() {
        let declined = ShopError::from(PaymentError::Declined { code: "card_declined".into() });
        assert!(declined.is_client_error() && !declined.is_retryable());
        let timeout = ShopError::from(PaymentError::Timeout);
        assert!(!timeout.is_client_error() && timeout.is_retryable());
    }
}

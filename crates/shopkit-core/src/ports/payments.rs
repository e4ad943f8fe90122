//! The payment gateway.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ids::{Email, OrderId};
use crate::money::Money;

/// A gateway's token for a payment method (`pm_card_visa`): never card data. Its `Debug`
/// is redacted.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PaymentMethodToken(pub String);

impl fmt::Debug for PaymentMethodToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PaymentMethodToken(<redacted>)")
    }
}

/// An authorization request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The gateway idempotency key: the same key MUST yield the same authorization.
    pub idempotency_key: String,
    /// The amount to hold.
    pub amount: Money,
    /// The payment method.
    pub payment_method: PaymentMethodToken,
    /// The order it pays for.
    pub order_id: OrderId,
    /// For the receipt.
    pub email: Option<Email>,
}

/// A successful authorization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    /// The gateway's reference for the payment.
    pub reference: String,
    /// The amount held.
    pub amount: Money,
}

/// A successful refund at the gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundReceipt {
    /// The gateway's reference for the refund.
    pub reference: String,
    /// The amount refunded.
    pub amount: Money,
}

/// What a gateway can answer. Each says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentError {
    /// The card or method was declined: ask the shopper for another method.
    #[error("payment declined ({code}): use another payment method")]
    Declined {
        /// The gateway's decline code (`card_declined`, `insufficient_funds`).
        code: String,
    },
    /// The payment method token is unknown or unusable.
    #[error("invalid payment method: {reason}")]
    InvalidPaymentMethod {
        /// Why.
        reason: String,
    },
    /// No such payment at the gateway.
    #[error("no payment {reference} at the gateway")]
    UnknownPayment {
        /// The reference.
        reference: String,
    },
    /// The operation does not fit the payment's state (capture of a voided payment,
    /// refund above what was captured).
    #[error("payment {reference} cannot be {action}: {reason}")]
    InvalidState {
        /// The reference.
        reference: String,
        /// What was attempted.
        action: &'static str,
        /// Why not.
        reason: String,
    },
    /// The gateway did not answer in time: the outcome is unknown. Retry with the SAME
    /// idempotency key; never with a new one.
    #[error("payment gateway timed out: retry with the same idempotency key")]
    Timeout,
    /// The gateway is unreachable or failed. Retryable with the same idempotency key.
    #[error("payment gateway unavailable: {message}")]
    Unavailable {
        /// What failed (no secrets).
        message: String,
    },
}

impl PaymentError {
    /// Whether the same call with the same key may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, PaymentError::Timeout | PaymentError::Unavailable { .. })
    }
}

/// A payment gateway (Stripe in the AWS profile; a scriptable fake in memory).
///
/// # Contract
/// - `authorize` MUST hold `amount` and, called again with the same idempotency key, MUST
///   return the same authorization without holding money twice (one charge per key).
/// - `capture` MUST capture at most the authorized amount, once per payment (partial
///   capture releases the rest, as Stripe does); capturing again with the same key returns
///   the same result.
/// - Idempotency keys are scoped per operation: the same key string given to `authorize`
///   and to `refund` names two different operations. Adapters whose gateway scopes keys
///   account-wide (Stripe) prefix the key with the operation.
/// - `void` releases an uncaptured authorization; voiding twice is not an error.
/// - `refund` MUST refuse (`InvalidState`) to take total refunds above what was captured,
///   and with the same idempotency key MUST NOT refund twice.
#[async_trait]
pub trait PaymentGateway: Send + Sync + 'static {
    /// Holds money on a payment method.
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<Authorization, PaymentError>;
    /// Captures (part of) an authorization.
    async fn capture(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<Money, PaymentError>;
    /// Releases an uncaptured authorization.
    async fn void(&self, reference: &str, idempotency_key: &str) -> Result<(), PaymentError>;
    /// Pays captured money back.
    async fn refund(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<RefundReceipt, PaymentError>;
}

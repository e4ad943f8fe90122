//! Contracts of [`PaymentGateway`]: one authorization per idempotency key, captures of at
//! most what was authorized, voids, and refunds that never exceed what was captured.
//!
//! Each contract takes a gateway and the [`PaymentMethods`] that succeed and decline on it
//! (Stripe's test mode: `pm_card_visa` and `pm_card_chargeDeclined`), so the same suite
//! runs against the fake and against Stripe in test mode. Idempotency keys are unique per
//! run, since a real gateway remembers them for a day.

use std::sync::Arc;

use shopkit_core::ids::OrderId;
use shopkit_core::money::{Currency, Money};
use shopkit_core::ports::{
    Authorization, AuthorizeRequest, PaymentError, PaymentGateway, PaymentMethodToken,
};

use crate::fixtures::{unique, uuid};
use crate::support::Must;

/// The payment methods a gateway's test mode approves and declines.
#[derive(Clone, Debug)]
pub struct PaymentMethods {
    /// A method the gateway authorizes.
    pub approves: PaymentMethodToken,
    /// A method the gateway declines (`PaymentError::Declined`).
    pub declines: PaymentMethodToken,
    /// The currency to charge in.
    pub currency: Currency,
}

impl PaymentMethods {
    /// Stripe's test-mode methods, in USD: `pm_card_visa` succeeds,
    /// `pm_card_chargeDeclined` is declined.
    pub fn stripe_test() -> Self {
        PaymentMethods {
            approves: PaymentMethodToken("pm_card_visa".into()),
            declines: PaymentMethodToken("pm_card_chargeDeclined".into()),
            currency: Currency::USD,
        }
    }

    fn money(&self, minor: i64) -> Money {
        Money::from_minor(minor, self.currency)
    }

    fn request(&self, minor: i64, method: &PaymentMethodToken) -> AuthorizeRequest {
        AuthorizeRequest {
            idempotency_key: key("auth"),
            amount: self.money(minor),
            payment_method: method.clone(),
            order_id: OrderId::from_uuid(uuid()),
            email: None,
        }
    }
}

fn key(what: &str) -> String {
    format!("testkit-{what}-{}-{}", unique(), unique())
}

async fn authorized(
    gateway: &dyn PaymentGateway,
    methods: &PaymentMethods,
    minor: i64,
) -> Authorization {
    gateway.authorize(&methods.request(minor, &methods.approves)).await.must("authorize")
}

fn is_invalid_state(r: &Result<impl std::fmt::Debug, PaymentError>) -> bool {
    matches!(r, Err(PaymentError::InvalidState { .. }))
}

/// `authorize` holds the amount and names the payment.
pub async fn authorize_holds_the_amount(gateway: Arc<dyn PaymentGateway>, methods: PaymentMethods) {
    // Arrange
    let request = methods.request(5000, &methods.approves);

    // Act
    let auth = gateway.authorize(&request).await.must("authorize");

    // Assert
    assert_eq!(auth.amount, request.amount, "the authorization holds the amount asked for");
    assert!(!auth.reference.trim().is_empty(), "the authorization has a gateway reference");
}

/// `authorize` again with the same idempotency key returns the same authorization (one
/// charge per key); another key is another authorization.
pub async fn authorize_is_idempotent_by_key(
    gateway: Arc<dyn PaymentGateway>,
    methods: PaymentMethods,
) {
    // Arrange
    let request = methods.request(5000, &methods.approves);
    let first = gateway.authorize(&request).await.must("authorize");

    // Act
    let again = gateway.authorize(&request).await.must("authorize again with the same key");
    let other = gateway
        .authorize(&AuthorizeRequest { idempotency_key: key("auth"), ..request.clone() })
        .await
        .must("authorize with another key");

    // Assert
    assert_eq!(again, first, "the same key must yield the same authorization");
    assert_ne!(other.reference, first.reference, "another key is another payment");
}

/// A declining payment method is `Declined`.
pub async fn a_declining_method_is_declined(
    gateway: Arc<dyn PaymentGateway>,
    methods: PaymentMethods,
) {
    // Arrange
    let request = methods.request(5000, &methods.declines);

    // Act
    let result = gateway.authorize(&request).await;

    // Assert
    assert!(
        matches!(result, Err(PaymentError::Declined { .. })),
        "expected Declined, got {result:?}"
    );
}

/// `capture` takes at most the authorized amount: more is `InvalidState`; the full amount
/// (or less) is captured.
pub async fn capture_never_exceeds_the_authorized_amount(
    gateway: Arc<dyn PaymentGateway>,
    methods: PaymentMethods,
) {
    // Arrange
    let auth = authorized(&*gateway, &methods, 5000).await;

    // Act
    let too_much = gateway.capture(&auth.reference, methods.money(5001), &key("capture")).await;
    let exact = gateway.capture(&auth.reference, methods.money(5000), &key("capture")).await;

    // Assert
    assert!(
        is_invalid_state(&too_much),
        "capturing above the authorization must be InvalidState, got {too_much:?}"
    );
    assert_eq!(exact.must("capture the authorized amount"), methods.money(5000));
}

/// `capture` again with the same idempotency key returns the same result.
pub async fn capture_is_idempotent_by_key(
    gateway: Arc<dyn PaymentGateway>,
    methods: PaymentMethods,
) {
    // Arrange
    let auth = authorized(&*gateway, &methods, 5000).await;
    let k = key("capture");
    let first =
        gateway.capture(&auth.reference, methods.money(4000), &k).await.must("capture part");

    // Act
    let again = gateway
        .capture(&auth.reference, methods.money(4000), &k)
        .await
        .must("capture again, same key");

    // Assert
    assert_eq!(first, methods.money(4000), "a partial capture captures what was asked");
    assert_eq!(again, first, "the same key returns the same capture");
}

/// `void` releases an uncaptured authorization, voiding twice is not an error, and a
/// voided authorization cannot be captured.
pub async fn a_voided_authorization_cannot_be_captured(
    gateway: Arc<dyn PaymentGateway>,
    methods: PaymentMethods,
) {
    // Arrange
    let auth = authorized(&*gateway, &methods, 5000).await;

    // Act
    gateway.void(&auth.reference, &key("void")).await.must("void");
    gateway.void(&auth.reference, &key("void")).await.must("void twice");
    let capture = gateway.capture(&auth.reference, methods.money(5000), &key("capture")).await;

    // Assert
    assert!(
        is_invalid_state(&capture),
        "capturing a voided payment must be InvalidState, got {capture:?}"
    );
}

/// Cumulative refunds never exceed what was captured: a refund that would is
/// `InvalidState` and refunds nothing.
pub async fn refunds_never_exceed_what_was_captured(
    gateway: Arc<dyn PaymentGateway>,
    methods: PaymentMethods,
) {
    // Arrange
    let auth = authorized(&*gateway, &methods, 5000).await;
    gateway
        .capture(&auth.reference, methods.money(4000), &key("capture"))
        .await
        .must("capture 40.00 of 50.00");

    // Act
    let first = gateway.refund(&auth.reference, methods.money(2500), &key("refund")).await;
    let over = gateway.refund(&auth.reference, methods.money(1501), &key("refund")).await;
    let rest = gateway.refund(&auth.reference, methods.money(1500), &key("refund")).await;
    let beyond = gateway.refund(&auth.reference, methods.money(1), &key("refund")).await;

    // Assert
    assert_eq!(first.must("refund part of the capture").amount, methods.money(2500));
    assert!(
        is_invalid_state(&over),
        "refunds above the capture must be InvalidState, got {over:?}"
    );
    assert_eq!(rest.must("refund the rest of the capture").amount, methods.money(1500));
    assert!(is_invalid_state(&beyond), "nothing is left to refund, got {beyond:?}");
}

/// `refund` again with the same idempotency key returns the same receipt and refunds once.
pub async fn refund_is_idempotent_by_key(
    gateway: Arc<dyn PaymentGateway>,
    methods: PaymentMethods,
) {
    // Arrange
    let auth = authorized(&*gateway, &methods, 5000).await;
    gateway.capture(&auth.reference, methods.money(5000), &key("capture")).await.must("capture");
    let k = key("refund");
    let first = gateway.refund(&auth.reference, methods.money(3000), &k).await.must("refund");

    // Act
    let again = gateway
        .refund(&auth.reference, methods.money(3000), &k)
        .await
        .must("refund again, same key");
    let rest = gateway.refund(&auth.reference, methods.money(2000), &key("refund")).await;

    // Assert
    assert_eq!(again, first, "the same key returns the same refund");
    rest.must("the replay refunded nothing: 20.00 of the 50.00 captured are left");
}

/// Capturing or refunding a payment the gateway never made is `UnknownPayment`.
pub async fn an_unknown_payment_is_unknown(
    gateway: Arc<dyn PaymentGateway>,
    methods: PaymentMethods,
) {
    // Arrange
    let reference = format!("pi_testkit_unknown_{}", unique());

    // Act
    let capture = gateway.capture(&reference, methods.money(100), &key("capture")).await;
    let refund = gateway.refund(&reference, methods.money(100), &key("refund")).await;

    // Assert
    assert!(matches!(capture, Err(PaymentError::UnknownPayment { .. })), "got {capture:?}");
    assert!(matches!(refund, Err(PaymentError::UnknownPayment { .. })), "got {refund:?}");
}

//! Deterministic ids and idempotency keys.
//!
//! A retried operation must reuse the ids of its first attempt so every step it repeats is
//! a no-op (a reservation with the same id, an authorization with the same gateway key, an
//! insert that hits `AlreadyExists`). These ids are UUID v5 (SHA-1, name-based) in a
//! namespace of shopkit's own, over the parts joined by a newline (no part can contain
//! one: idempotency keys are visible ASCII, the rest are ids).
//!
//! Changing [`NAMESPACE`] or a derivation changes the ids of every in-flight retry: don't.

use uuid::Uuid;

use crate::ids::{CartId, IdempotencyKey, OrderId, RefundId, ReservationId};
use crate::ports::PaymentMethodToken;

/// shopkit's UUID v5 namespace. Fixed forever.
pub(crate) const NAMESPACE: Uuid = Uuid::from_u128(0x6a2f_43c1_9d0b_5e7a_8c11_2b4d_f0e3_7a95);

/// The UUID v5 of `parts`.
pub(crate) fn derive(parts: &[&str]) -> Uuid {
    Uuid::new_v5(&NAMESPACE, parts.join("\n").as_bytes())
}

/// The idempotency scope of checkouts.
pub(crate) const CHECKOUT_SCOPE: &str = "checkout";

/// The idempotency scope of one caller's checkouts (`subject` from
/// [`CartAccess::subject`](super::CartAccess)): keys are the caller's own, so two callers
/// who pick the same key never meet, whatever the retention.
pub(crate) fn checkout_scope(subject: &str) -> String {
    format!("{CHECKOUT_SCOPE}/{subject}")
}

/// The order a checkout by `subject` with `key` creates.
pub(crate) fn checkout_order_id(subject: &str, key: &IdempotencyKey) -> OrderId {
    OrderId::from_uuid(derive(&[CHECKOUT_SCOPE, "order", subject, key.as_str()]))
}

/// The stock reservation a checkout by `subject` with `key` holds.
pub(crate) fn checkout_reservation_id(subject: &str, key: &IdempotencyKey) -> ReservationId {
    ReservationId::from_uuid(derive(&[CHECKOUT_SCOPE, "reservation", subject, key.as_str()]))
}

/// The gateway idempotency key of a checkout's authorization: one per (checkout, payment
/// method), so a decline with one card does not block a retry with another, while a retry
/// with the same card gets the same authorization. Bounded length (gateways cap keys at
/// 255 characters; client keys may be that long themselves) and free of the token.
pub(crate) fn authorization_key(order: OrderId, method: &PaymentMethodToken) -> String {
    format!("checkout:{order}:{}", derive(&["payment-method", &method.0]))
}

/// The gateway key for capturing an order's payment.
pub(crate) fn capture_key(order: OrderId) -> String {
    format!("capture:{order}")
}

/// The gateway key for voiding one authorization of an order (an order may meet more
/// than one when concurrent attempts used different payment methods).
pub(crate) fn void_key(order: OrderId, payment_reference: &str) -> String {
    format!("void:{order}:{}", derive(&["payment", payment_reference]))
}

/// The gateway key for refunding a cancelled paid order.
pub(crate) fn cancel_refund_key(order: OrderId) -> String {
    format!("cancel-refund:{order}")
}

/// The gateway key for paying out a refund.
pub(crate) fn refund_key(refund: RefundId) -> String {
    format!("refund:{refund}")
}

/// The id of an event that is derived from what it records, so recording it twice
/// appends it once.
pub(crate) fn event_id(kind: &str, subject: &str) -> crate::ids::EventId {
    crate::ids::EventId::from_uuid(derive(&["event", kind, subject]))
}

/// The `CartAbandoned` event of a cart left untouched since `updated_at`: a second sweep of
/// the same idle cart makes the same event (appended once); a cart touched and abandoned
/// again makes a new one.
pub(crate) fn cart_abandoned_event_id(
    cart: CartId,
    updated_at: chrono::DateTime<chrono::Utc>,
) -> crate::ids::EventId {
    event_id(
        "cart_abandoned",
        &format!("{cart}@{}", updated_at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct_per_purpose_and_per_caller() {
        let key = IdempotencyKey::new("k-1").unwrap();
        let ann = "customer:ann";
        assert_eq!(checkout_order_id(ann, &key), checkout_order_id(ann, &key));
        assert_ne!(
            checkout_order_id(ann, &key).as_uuid(),
            checkout_reservation_id(ann, &key).as_uuid()
        );
        assert_ne!(
            checkout_order_id(ann, &key),
            checkout_order_id(ann, &IdempotencyKey::new("k-2").unwrap())
        );
        assert_ne!(
            checkout_order_id(ann, &key),
            checkout_order_id("customer:bob", &key),
            "another caller's same key is another order"
        );
        assert_eq!(derive(&["a", "b"]).get_version_num(), 5);
        assert_ne!(derive(&["a", "b"]), derive(&["ab"]));
    }

    #[test]
    fn the_authorization_key_depends_on_the_method_and_hides_it() {
        let order = checkout_order_id("admin", &IdempotencyKey::new(&"x".repeat(255)).unwrap());
        let visa = PaymentMethodToken("pm_card_visa".into());
        let amex = PaymentMethodToken("pm_card_amex".into());
        let key = authorization_key(order, &visa);
        assert_eq!(key, authorization_key(order, &visa));
        assert_ne!(key, authorization_key(order, &amex));
        assert!(!key.contains("pm_card_visa"));
        assert!(key.len() < 100);
    }
}

//! A scriptable fake of a Stripe-like payment gateway.
//!
//! It is as strict as Stripe in the ways a shop's code can get wrong: one hold per
//! idempotency key, an idempotency error when a key is reused with other parameters, one
//! capture of at most the authorized amount, no capture after a void, cumulative refunds
//! capped at what was captured. Faults (declines, timeouts, outages) are scripted, so the
//! checkout saga's failure paths can be tested without a network.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use shopkit_core::ids::OrderId;
use shopkit_core::money::Money;
use shopkit_core::ports::{
    Authorization, AuthorizeRequest, PaymentError, PaymentGateway, PaymentMethodToken,
    RefundReceipt,
};

/// The longest idempotency key Stripe accepts.
const MAX_KEY_LEN: usize = 255;

/// A failure to inject into one gateway call (see [`FakePaymentGateway::fail_after`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The gateway **did** process the call but its answer was lost: the caller gets
    /// [`PaymentError::Timeout`] while the effect (a hold, a capture, a refund) happened. A
    /// retry with the same idempotency key reveals it; a retry with a new key is a second
    /// charge, which [`FakePaymentGateway::authorizations`] shows.
    Timeout,
    /// The gateway never got the call: [`PaymentError::Unavailable`], nothing happened.
    Unavailable,
}

/// Which gateway operation a [`GatewayCall`] was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GatewayOperation {
    /// [`PaymentGateway::authorize`].
    Authorize,
    /// [`PaymentGateway::capture`].
    Capture,
    /// [`PaymentGateway::void`].
    Void,
    /// [`PaymentGateway::refund`].
    Refund,
}

/// One call the gateway received, whatever its outcome (see [`FakePaymentGateway::calls`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayCall {
    /// The operation.
    pub operation: GatewayOperation,
    /// The idempotency key the caller sent.
    pub idempotency_key: String,
    /// The payment: the one named by the caller, or for a successful `authorize` the one
    /// created (or replayed).
    pub reference: Option<String>,
    /// The amount the caller sent (`None` for a void).
    pub amount: Option<Money>,
    /// `None` when the call succeeded, else the error's message.
    pub error: Option<String>,
}

/// What the fake knows about one authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakePayment {
    /// The gateway reference (`pi_fake_000001`).
    pub reference: String,
    /// The order it pays for.
    pub order_id: OrderId,
    /// The amount held.
    pub authorized: Money,
    /// The amount captured (zero until captured; a payment is captured at most once).
    pub captured: Money,
    /// The total refunded so far (never above `captured`).
    pub refunded: Money,
    /// Whether the authorization was voided (released).
    pub voided: bool,
    /// Every refund, in order.
    pub refunds: Vec<RefundReceipt>,
}

/// A fake payment gateway that behaves like Stripe in test mode.
///
/// # Payment methods
/// | token | outcome |
/// | --- | --- |
/// | `pm_card_chargeDeclined`, `pm_card_visa_chargeDeclined` | `Declined { code: "card_declined" }` |
/// | `pm_card_insufficientFunds`, `pm_card_chargeDeclinedInsufficientFunds`, `pm_card_visa_chargeDeclinedInsufficientFunds` | `Declined { code: "insufficient_funds" }` |
/// | `pm_card_chargeDeclinedExpiredCard` | `Declined { code: "expired_card" }` |
/// | `pm_card_chargeDeclinedIncorrectCvc` | `Declined { code: "incorrect_cvc" }` |
/// | `pm_card_chargeDeclinedProcessingError` | `Declined { code: "processing_error" }` |
/// | any other `pm_…` (`pm_card_visa`, `pm_card_mastercard`, `pm_1Abc…`) | authorized |
/// | anything else | `InvalidPaymentMethod` |
///
/// # Idempotency
/// Keys are scoped per operation (an `authorize` key and a `capture` key may be equal).
/// Within an operation a key replays its first result, a decline included, as Stripe does;
/// the same key with other parameters (amount, payment method, order, payment) is
/// `InvalidState`, like Stripe's idempotency error. Calls refused before processing (an
/// invalid payment method, an outage) are not remembered.
///
/// # Scripting
/// [`decline_next`](Self::decline_next), [`timeout_next`](Self::timeout_next),
/// [`fail_after`](Self::fail_after) and [`unavailable`](Self::unavailable). Per-call faults
/// queue up in the order they are scripted and are consumed by every call, replays
/// included. [`hold_authorizations`](Self::hold_authorizations) parks authorizations until
/// released, to test what happens while a checkout waits on the gateway (a request
/// timeout, a client that disconnects, a crash).
#[derive(Debug)]
pub struct FakePaymentGateway {
    state: Mutex<State>,
    /// `true` while authorizations are parked.
    held: tokio::sync::watch::Sender<bool>,
}

impl Default for FakePaymentGateway {
    fn default() -> Self {
        FakePaymentGateway { state: Mutex::default(), held: tokio::sync::watch::Sender::new(false) }
    }
}

#[derive(Debug, Default)]
struct State {
    payments: BTreeMap<String, FakePayment>,
    authorize_keys: HashMap<String, KeyedAuthorize>,
    capture_keys: HashMap<String, KeyedAmount<Money>>,
    void_keys: HashMap<String, String>,
    refund_keys: HashMap<String, KeyedAmount<RefundReceipt>>,
    /// Per call, in order: `None` lets the call through, `Some` fails it.
    plan: VecDeque<Option<Fault>>,
    declines: usize,
    down: bool,
    calls: Vec<GatewayCall>,
    next_payment: u64,
    next_refund: u64,
}

#[derive(Debug)]
struct KeyedAuthorize {
    amount: Money,
    payment_method: PaymentMethodToken,
    order_id: OrderId,
    outcome: AuthorizeOutcome,
}

#[derive(Debug)]
enum AuthorizeOutcome {
    Authorized(Authorization),
    Declined(String),
}

#[derive(Debug)]
struct KeyedAmount<T> {
    reference: String,
    amount: Money,
    result: T,
}

impl FakePaymentGateway {
    /// A gateway with no payments and no scripted faults.
    pub fn new() -> Self {
        FakePaymentGateway::default()
    }

    /// Declines the next `n` authorizations that would otherwise succeed with
    /// `card_declined` (adds to any declines still pending). Nothing is held.
    pub fn decline_next(&self, n: usize) {
        self.lock().declines += n;
    }

    /// Makes the next `n` calls (of any operation) time out after the gateway processed
    /// them: see [`Fault::Timeout`].
    pub fn timeout_next(&self, n: usize) {
        self.lock().plan.extend(std::iter::repeat_n(Some(Fault::Timeout), n));
    }

    /// Lets the next `n_calls` calls through, then fails the one after with `fault`.
    pub fn fail_after(&self, n_calls: usize, fault: Fault) {
        let mut state = self.lock();
        state.plan.extend(std::iter::repeat_n(None, n_calls));
        state.plan.push_back(Some(fault));
    }

    /// Takes the gateway down (`true`): every call fails with
    /// [`PaymentError::Unavailable`] and changes nothing, until `unavailable(false)`.
    pub fn unavailable(&self, down: bool) {
        self.lock().down = down;
    }

    /// Parks every authorization from now on (before the gateway processes it) until
    /// [`release_authorizations`](Self::release_authorizations); [`parked`](Self::parked)
    /// tells how many are waiting.
    pub fn hold_authorizations(&self) {
        self.held.send_replace(true);
    }

    /// Lets parked and later authorizations through.
    pub fn release_authorizations(&self) {
        self.held.send_replace(false);
    }

    /// How many authorizations are parked by
    /// [`hold_authorizations`](Self::hold_authorizations) right now.
    pub fn parked(&self) -> usize {
        // Every parked call holds one receiver.
        self.held.receiver_count()
    }

    /// How many distinct authorizations hold (or held) money: replays and declines do not
    /// count. A checkout that charged once has exactly one.
    pub fn authorizations(&self) -> usize {
        self.lock().payments.len()
    }

    /// The payment with `reference`, if the gateway made it.
    pub fn payment(&self, reference: &str) -> Option<FakePayment> {
        self.lock().payments.get(reference).cloned()
    }

    /// Every payment, by reference.
    pub fn payments(&self) -> Vec<FakePayment> {
        self.lock().payments.values().cloned().collect()
    }

    /// Every call received, in order, with its outcome.
    pub fn calls(&self) -> Vec<GatewayCall> {
        self.lock().calls.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs one call: outage and scripted faults first, then `op`, then logs the call.
    fn call<T>(
        &self,
        operation: GatewayOperation,
        idempotency_key: &str,
        reference: Option<&str>,
        amount: Option<Money>,
        op: impl FnOnce(&mut State) -> Result<T, PaymentError>,
        reference_of: impl FnOnce(&T) -> Option<String>,
    ) -> Result<T, PaymentError> {
        let mut state = self.lock();
        let result = if state.down {
            Err(PaymentError::Unavailable {
                message: "the fake gateway is down (unavailable(true))".into(),
            })
        } else {
            match state.plan.pop_front().flatten() {
                Some(Fault::Unavailable) => Err(PaymentError::Unavailable {
                    message: "scripted outage (fail_after)".into(),
                }),
                Some(Fault::Timeout) => {
                    // Processed, whatever the outcome; the answer is lost on the way back.
                    let _lost = op(&mut state);
                    Err(PaymentError::Timeout)
                }
                None => op(&mut state),
            }
        };
        let logged_reference = match &result {
            Ok(value) => reference_of(value).or_else(|| reference.map(str::to_owned)),
            Err(_) => reference.map(str::to_owned),
        };
        state.calls.push(GatewayCall {
            operation,
            idempotency_key: idempotency_key.to_owned(),
            reference: logged_reference,
            amount,
            error: result.as_ref().err().map(ToString::to_string),
        });
        result
    }
}

fn invalid(
    reference: impl Into<String>,
    action: &'static str,
    reason: impl Into<String>,
) -> PaymentError {
    PaymentError::InvalidState { reference: reference.into(), action, reason: reason.into() }
}

fn check_key(key: &str, reference: &str, action: &'static str) -> Result<(), PaymentError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(invalid(
            reference,
            action,
            format!("the idempotency key must be 1 to {MAX_KEY_LEN} characters"),
        ));
    }
    Ok(())
}

fn key_reused(key: &str) -> String {
    format!(
        "idempotency key {key:?} was first used with different parameters: use a new key for a new request"
    )
}

/// What a payment method token does: `Ok(None)` approves, `Ok(Some(code))` declines.
fn classify(token: &PaymentMethodToken) -> Result<Option<&'static str>, PaymentError> {
    let token = token.0.as_str();
    let decline = match token {
        "pm_card_chargeDeclined" | "pm_card_visa_chargeDeclined" => Some("card_declined"),
        "pm_card_insufficientFunds"
        | "pm_card_chargeDeclinedInsufficientFunds"
        | "pm_card_visa_chargeDeclinedInsufficientFunds" => Some("insufficient_funds"),
        "pm_card_chargeDeclinedExpiredCard" => Some("expired_card"),
        "pm_card_chargeDeclinedIncorrectCvc" => Some("incorrect_cvc"),
        "pm_card_chargeDeclinedProcessingError" => Some("processing_error"),
        _ => None,
    };
    let well_formed = token.strip_prefix("pm_").is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if !well_formed {
        // Never echo the token: it identifies a customer's card.
        return Err(PaymentError::InvalidPaymentMethod {
            reason: "not a payment method id: expected pm_… (such as pm_card_visa)".into(),
        });
    }
    Ok(decline)
}

/// Checks a capture or refund amount against the payment's currency.
fn check_amount(
    payment: &FakePayment,
    amount: Money,
    action: &'static str,
) -> Result<(), PaymentError> {
    if amount.currency() != payment.authorized.currency() {
        return Err(invalid(
            &payment.reference,
            action,
            format!(
                "the amount is in {} but the payment is in {}",
                amount.currency(),
                payment.authorized.currency()
            ),
        ));
    }
    if !amount.is_positive() {
        return Err(invalid(
            &payment.reference,
            action,
            format!("the amount must be above zero, got {amount}"),
        ));
    }
    Ok(())
}

impl State {
    fn authorize(&mut self, request: &AuthorizeRequest) -> Result<Authorization, PaymentError> {
        let subject = format!("for order {}", request.order_id);
        check_key(&request.idempotency_key, &subject, "authorized")?;
        if let Some(prev) = self.authorize_keys.get(&request.idempotency_key) {
            let same = prev.amount == request.amount
                && prev.payment_method == request.payment_method
                && prev.order_id == request.order_id;
            if !same {
                let reference = match &prev.outcome {
                    AuthorizeOutcome::Authorized(a) => a.reference.clone(),
                    AuthorizeOutcome::Declined(_) => subject,
                };
                return Err(invalid(reference, "authorized", key_reused(&request.idempotency_key)));
            }
            return match &prev.outcome {
                AuthorizeOutcome::Authorized(a) => Ok(a.clone()),
                AuthorizeOutcome::Declined(code) => {
                    Err(PaymentError::Declined { code: code.clone() })
                }
            };
        }
        if !request.amount.is_positive() {
            return Err(invalid(
                subject,
                "authorized",
                format!("the amount must be above zero, got {}", request.amount),
            ));
        }
        let mut decline = classify(&request.payment_method)?;
        if decline.is_none() && self.declines > 0 {
            self.declines -= 1;
            decline = Some("card_declined");
        }
        let outcome = match decline {
            Some(code) => AuthorizeOutcome::Declined(code.to_owned()),
            None => {
                self.next_payment += 1;
                let reference = format!("pi_fake_{:06}", self.next_payment);
                let zero = Money::zero(request.amount.currency());
                self.payments.insert(
                    reference.clone(),
                    FakePayment {
                        reference: reference.clone(),
                        order_id: request.order_id,
                        authorized: request.amount,
                        captured: zero,
                        refunded: zero,
                        voided: false,
                        refunds: Vec::new(),
                    },
                );
                AuthorizeOutcome::Authorized(Authorization { reference, amount: request.amount })
            }
        };
        let result = match &outcome {
            AuthorizeOutcome::Authorized(a) => Ok(a.clone()),
            AuthorizeOutcome::Declined(code) => Err(PaymentError::Declined { code: code.clone() }),
        };
        self.authorize_keys.insert(
            request.idempotency_key.clone(),
            KeyedAuthorize {
                amount: request.amount,
                payment_method: request.payment_method.clone(),
                order_id: request.order_id,
                outcome,
            },
        );
        result
    }

    fn capture(
        &mut self,
        reference: &str,
        amount: Money,
        key: &str,
    ) -> Result<Money, PaymentError> {
        check_key(key, reference, "captured")?;
        if let Some(prev) = self.capture_keys.get(key) {
            if prev.reference != reference || prev.amount != amount {
                return Err(invalid(reference, "captured", key_reused(key)));
            }
            return Ok(prev.result);
        }
        let payment = self
            .payments
            .get_mut(reference)
            .ok_or_else(|| PaymentError::UnknownPayment { reference: reference.to_owned() })?;
        if payment.voided {
            return Err(invalid(
                reference,
                "captured",
                "the authorization was voided: authorize again",
            ));
        }
        if payment.captured.is_positive() {
            return Err(invalid(
                reference,
                "captured",
                format!(
                    "it was already captured ({}); a payment is captured once",
                    payment.captured
                ),
            ));
        }
        check_amount(payment, amount, "captured")?;
        if amount.amount() > payment.authorized.amount() {
            return Err(invalid(
                reference,
                "captured",
                format!("{amount} is more than the {} authorized", payment.authorized),
            ));
        }
        payment.captured = amount;
        self.capture_keys.insert(
            key.to_owned(),
            KeyedAmount { reference: reference.to_owned(), amount, result: amount },
        );
        Ok(amount)
    }

    fn void(&mut self, reference: &str, key: &str) -> Result<(), PaymentError> {
        check_key(key, reference, "voided")?;
        if let Some(prev) = self.void_keys.get(key) {
            if prev != reference {
                return Err(invalid(reference, "voided", key_reused(key)));
            }
            return Ok(());
        }
        let payment = self
            .payments
            .get_mut(reference)
            .ok_or_else(|| PaymentError::UnknownPayment { reference: reference.to_owned() })?;
        if !payment.voided && payment.captured.is_positive() {
            return Err(invalid(reference, "voided", "it was captured: refund it instead"));
        }
        payment.voided = true;
        self.void_keys.insert(key.to_owned(), reference.to_owned());
        Ok(())
    }

    fn refund(
        &mut self,
        reference: &str,
        amount: Money,
        key: &str,
    ) -> Result<RefundReceipt, PaymentError> {
        check_key(key, reference, "refunded")?;
        if let Some(prev) = self.refund_keys.get(key) {
            if prev.reference != reference || prev.amount != amount {
                return Err(invalid(reference, "refunded", key_reused(key)));
            }
            return Ok(prev.result.clone());
        }
        let payment = self
            .payments
            .get_mut(reference)
            .ok_or_else(|| PaymentError::UnknownPayment { reference: reference.to_owned() })?;
        if !payment.captured.is_positive() {
            return Err(invalid(
                reference,
                "refunded",
                "nothing was captured: void the authorization instead",
            ));
        }
        check_amount(payment, amount, "refunded")?;
        let refunded = payment
            .refunded
            .checked_add(&amount)
            .map_err(|e| invalid(reference, "refunded", e.to_string()))?;
        if refunded.amount() > payment.captured.amount() {
            let left = payment.captured.checked_sub(&payment.refunded).unwrap_or(payment.captured);
            return Err(invalid(
                reference,
                "refunded",
                format!(
                    "{amount} is more than the {left} left of the {} captured",
                    payment.captured
                ),
            ));
        }
        self.next_refund += 1;
        let receipt =
            RefundReceipt { reference: format!("re_fake_{:06}", self.next_refund), amount };
        payment.refunded = refunded;
        payment.refunds.push(receipt.clone());
        self.refund_keys.insert(
            key.to_owned(),
            KeyedAmount { reference: reference.to_owned(), amount, result: receipt.clone() },
        );
        Ok(receipt)
    }
}

#[async_trait]
impl PaymentGateway for FakePaymentGateway {
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<Authorization, PaymentError> {
        if *self.held.borrow() {
            let mut released = self.held.subscribe();
            // The sender lives as long as `self`, so this ends only by a release.
            let _ = released.wait_for(|held| !held).await;
        }
        self.call(
            GatewayOperation::Authorize,
            &request.idempotency_key,
            None,
            Some(request.amount),
            |s| s.authorize(request),
            |a| Some(a.reference.clone()),
        )
    }

    async fn capture(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<Money, PaymentError> {
        self.call(
            GatewayOperation::Capture,
            idempotency_key,
            Some(reference),
            Some(amount),
            |s| s.capture(reference, amount, idempotency_key),
            |_| None,
        )
    }

    async fn void(&self, reference: &str, idempotency_key: &str) -> Result<(), PaymentError> {
        self.call(
            GatewayOperation::Void,
            idempotency_key,
            Some(reference),
            None,
            |s| s.void(reference, idempotency_key),
            |_| None,
        )
    }

    async fn refund(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<RefundReceipt, PaymentError> {
        self.call(
            GatewayOperation::Refund,
            idempotency_key,
            Some(reference),
            Some(amount),
            |s| s.refund(reference, amount, idempotency_key),
            |_| None,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use shopkit_core::money::Currency;
    use uuid::Uuid;

    use super::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn request(key: &str, minor: i64, method: &str) -> AuthorizeRequest {
        AuthorizeRequest {
            idempotency_key: key.into(),
            amount: usd(minor),
            payment_method: PaymentMethodToken(method.into()),
            order_id: OrderId::from_uuid(Uuid::from_u128(7)),
            email: None,
        }
    }

    async fn authorized(gateway: &FakePaymentGateway, key: &str, minor: i64) -> Authorization {
        gateway.authorize(&request(key, minor, "pm_card_visa")).await.unwrap()
    }

    #[tokio::test]
    async fn a_visa_authorization_holds_the_amount() {
        let gateway = FakePaymentGateway::new();

        let auth = authorized(&gateway, "k1", 5000).await;

        assert_eq!(auth.amount, usd(5000));
        let payment = gateway.payment(&auth.reference).unwrap();
        assert_eq!(payment.authorized, usd(5000));
        assert_eq!(payment.captured, usd(0));
        assert!(!payment.voided);
        assert_eq!(gateway.authorizations(), 1);
    }

    #[tokio::test]
    async fn the_same_key_returns_the_same_authorization_without_a_second_hold() {
        let gateway = FakePaymentGateway::new();

        let first = authorized(&gateway, "k1", 5000).await;
        let again = authorized(&gateway, "k1", 5000).await;

        assert_eq!(first, again);
        assert_eq!(gateway.authorizations(), 1);
    }

    #[tokio::test]
    async fn the_same_key_with_another_amount_is_an_idempotency_error() {
        let gateway = FakePaymentGateway::new();
        let first = authorized(&gateway, "k1", 5000).await;

        let err = gateway.authorize(&request("k1", 4000, "pm_card_visa")).await.unwrap_err();

        assert!(
            matches!(err, PaymentError::InvalidState { ref reference, .. } if *reference == first.reference)
        );
        assert_eq!(gateway.authorizations(), 1);
    }

    #[tokio::test]
    async fn distinct_keys_make_distinct_authorizations() {
        let gateway = FakePaymentGateway::new();

        let a = authorized(&gateway, "k1", 5000).await;
        let b = authorized(&gateway, "k2", 5000).await;

        assert_ne!(a.reference, b.reference);
        assert_eq!(gateway.authorizations(), 2);
    }

    #[tokio::test]
    async fn declining_test_cards_are_declined_with_their_code() {
        let gateway = FakePaymentGateway::new();

        let declined = gateway.authorize(&request("k1", 100, "pm_card_chargeDeclined")).await;
        let broke = gateway.authorize(&request("k2", 100, "pm_card_insufficientFunds")).await;
        let expired =
            gateway.authorize(&request("k3", 100, "pm_card_chargeDeclinedExpiredCard")).await;

        assert!(
            matches!(declined, Err(PaymentError::Declined { code }) if code == "card_declined")
        );
        assert!(
            matches!(broke, Err(PaymentError::Declined { code }) if code == "insufficient_funds")
        );
        assert!(matches!(expired, Err(PaymentError::Declined { code }) if code == "expired_card"));
        assert_eq!(gateway.authorizations(), 0);
    }

    #[tokio::test]
    async fn other_pm_card_tokens_are_approved() {
        let gateway = FakePaymentGateway::new();

        let result = gateway.authorize(&request("k1", 100, "pm_card_mastercard")).await;

        assert!(result.is_ok());
    }

    #[tokio::test]
    async fn a_token_that_is_not_a_payment_method_is_refused_without_echoing_it() {
        let gateway = FakePaymentGateway::new();

        let err = gateway.authorize(&request("k1", 100, "4242424242424242")).await.unwrap_err();

        assert!(matches!(err, PaymentError::InvalidPaymentMethod { .. }));
        assert!(!err.to_string().contains("4242"));
        assert!(matches!(
            gateway.authorize(&request("k2", 100, "pm_")).await,
            Err(PaymentError::InvalidPaymentMethod { .. })
        ));
    }

    #[tokio::test]
    async fn a_decline_is_replayed_for_the_same_key() {
        let gateway = FakePaymentGateway::new();
        gateway.decline_next(1);
        let first = gateway.authorize(&request("k1", 100, "pm_card_visa")).await;

        let retry = gateway.authorize(&request("k1", 100, "pm_card_visa")).await;

        assert!(matches!(first, Err(PaymentError::Declined { .. })));
        assert!(matches!(retry, Err(PaymentError::Declined { code }) if code == "card_declined"));
        assert_eq!(gateway.authorizations(), 0);
    }

    #[tokio::test]
    async fn decline_next_declines_only_the_next_authorizations() {
        let gateway = FakePaymentGateway::new();
        gateway.decline_next(2);

        let one = gateway.authorize(&request("k1", 100, "pm_card_visa")).await;
        let two = gateway.authorize(&request("k2", 100, "pm_card_visa")).await;
        let three = gateway.authorize(&request("k3", 100, "pm_card_visa")).await;

        assert!(one.is_err() && two.is_err());
        assert!(three.is_ok());
    }

    #[tokio::test]
    async fn a_zero_amount_cannot_be_authorized() {
        let gateway = FakePaymentGateway::new();

        let result = gateway.authorize(&request("k1", 0, "pm_card_visa")).await;

        assert!(matches!(result, Err(PaymentError::InvalidState { action: "authorized", .. })));
    }

    #[tokio::test]
    async fn a_capture_takes_at_most_the_authorized_amount() {
        let gateway = FakePaymentGateway::new();
        let auth = authorized(&gateway, "k1", 5000).await;

        let too_much = gateway.capture(&auth.reference, usd(5001), "c1").await;
        let exact = gateway.capture(&auth.reference, usd(5000), "c2").await;

        assert!(matches!(too_much, Err(PaymentError::InvalidState { action: "captured", .. })));
        assert_eq!(exact.unwrap(), usd(5000));
        assert_eq!(gateway.payment(&auth.reference).unwrap().captured, usd(5000));
    }

    #[tokio::test]
    async fn a_partial_capture_is_allowed_once() {
        let gateway = FakePaymentGateway::new();
        let auth = authorized(&gateway, "k1", 5000).await;

        let first = gateway.capture(&auth.reference, usd(3000), "c1").await;
        let second = gateway.capture(&auth.reference, usd(2000), "c2").await;

        assert_eq!(first.unwrap(), usd(3000));
        assert!(matches!(second, Err(PaymentError::InvalidState { .. })));
    }

    #[tokio::test]
    async fn a_capture_with_the_same_key_returns_the_same_result() {
        let gateway = FakePaymentGateway::new();
        let auth = authorized(&gateway, "k1", 5000).await;
        let first = gateway.capture(&auth.reference, usd(5000), "c1").await.unwrap();

        let again = gateway.capture(&auth.reference, usd(5000), "c1").await.unwrap();
        let other_amount = gateway.capture(&auth.reference, usd(4000), "c1").await;

        assert_eq!(first, again);
        assert!(matches!(other_amount, Err(PaymentError::InvalidState { .. })));
    }

    #[tokio::test]
    async fn a_capture_in_another_currency_is_refused() {
        let gateway = FakePaymentGateway::new();
        let auth = authorized(&gateway, "k1", 5000).await;

        let result =
            gateway.capture(&auth.reference, Money::from_minor(5000, Currency::EUR), "c1").await;

        assert!(matches!(result, Err(PaymentError::InvalidState { .. })));
    }

    #[tokio::test]
    async fn a_voided_payment_cannot_be_captured() {
        let gateway = FakePaymentGateway::new();
        let auth = authorized(&gateway, "k1", 5000).await;
        gateway.void(&auth.reference, "v1").await.unwrap();

        let result = gateway.capture(&auth.reference, usd(5000), "c1").await;

        assert!(matches!(result, Err(PaymentError::InvalidState { action: "captured", .. })));
        assert!(gateway.payment(&auth.reference).unwrap().voided);
    }

    #[tokio::test]
    async fn voiding_twice_is_not_an_error() {
        let gateway = FakePaymentGateway::new();
        let auth = authorized(&gateway, "k1", 5000).await;

        let first = gateway.void(&auth.reference, "v1").await;
        let same_key = gateway.void(&auth.reference, "v1").await;
        let new_key = gateway.void(&auth.reference, "v2").await;

        assert!(first.is_ok() && same_key.is_ok() && new_key.is_ok());
    }

    #[tokio::test]
    async fn a_captured_payment_cannot_be_voided() {
        let gateway = FakePaymentGateway::new();
        let auth = authorized(&gateway, "k1", 5000).await;
        gateway.capture(&auth.reference, usd(5000), "c1").await.unwrap();

        let result = gateway.void(&auth.reference, "v1").await;

        assert!(matches!(result, Err(PaymentError::InvalidState { action: "voided", .. })));
    }

    #[tokio::test]
    async fn refunds_never_exceed_what_was_captured_in_total() {
        let gateway = FakePaymentGateway::new();
        let auth = authorized(&gateway, "k1", 5000).await;
        gateway.capture(&auth.reference, usd(4000), "c1").await.unwrap();

        let first = gateway.refund(&auth.reference, usd(3000), "r1").await;
        let too_much = gateway.refund(&auth.reference, usd(1001), "r2").await;
        let rest = gateway.refund(&auth.reference, usd(1000), "r3").await;

        assert_eq!(first.unwrap().amount, usd(3000));
        assert!(matches!(too_much, Err(PaymentError::InvalidState { action: "refunded", .. })));
        assert_eq!(rest.unwrap().amount, usd(1000));
        let payment = gateway.payment(&auth.reference).unwrap();
        assert_eq!(payment.refunded, usd(4000));
        assert_eq!(payment.refunds.len(), 2);
    }

    #[tokio::test]
    async fn a_refund_with_the_same_key_refunds_once() {
        let gateway = FakePaymentGateway::new();
        let auth = authorized(&gateway, "k1", 5000).await;
        gateway.capture(&auth.reference, usd(5000), "c1").await.unwrap();

        let first = gateway.refund(&auth.reference, usd(1000), "r1").await.unwrap();
        let again = gateway.refund(&auth.reference, usd(1000), "r1").await.unwrap();

        assert_eq!(first, again);
        assert_eq!(gateway.payment(&auth.reference).unwrap().refunded, usd(1000));
    }

    #[tokio::test]
    async fn an_uncaptured_payment_cannot_be_refunded() {
        let gateway = FakePaymentGateway::new();
        let auth = authorized(&gateway, "k1", 5000).await;

        let result = gateway.refund(&auth.reference, usd(100), "r1").await;

        assert!(matches!(result, Err(PaymentError::InvalidState { .. })));
    }

    #[tokio::test]
    async fn an_unknown_reference_is_an_unknown_payment() {
        let gateway = FakePaymentGateway::new();

        let capture = gateway.capture("pi_nope", usd(1), "c1").await;
        let void = gateway.void("pi_nope", "v1").await;
        let refund = gateway.refund("pi_nope", usd(1), "r1").await;

        assert!(matches!(capture, Err(PaymentError::UnknownPayment { .. })));
        assert!(matches!(void, Err(PaymentError::UnknownPayment { .. })));
        assert!(matches!(refund, Err(PaymentError::UnknownPayment { .. })));
    }

    #[tokio::test]
    async fn a_timeout_hides_a_hold_that_a_retry_with_the_same_key_reveals() {
        let gateway = FakePaymentGateway::new();
        gateway.timeout_next(1);

        let lost = gateway.authorize(&request("k1", 5000, "pm_card_visa")).await;
        let retry = gateway.authorize(&request("k1", 5000, "pm_card_visa")).await;

        assert!(matches!(lost, Err(PaymentError::Timeout)));
        assert!(retry.is_ok());
        assert_eq!(gateway.authorizations(), 1);
    }

    #[tokio::test]
    async fn retrying_a_timeout_with_a_new_key_charges_twice_and_shows_it() {
        let gateway = FakePaymentGateway::new();
        gateway.timeout_next(1);

        let _lost = gateway.authorize(&request("k1", 5000, "pm_card_visa")).await;
        let _wrong_retry = gateway.authorize(&request("k2", 5000, "pm_card_visa")).await;

        assert_eq!(gateway.authorizations(), 2);
    }

    #[tokio::test]
    async fn fail_after_lets_calls_through_then_fails_exactly_one() {
        let gateway = FakePaymentGateway::new();
        gateway.fail_after(1, Fault::Unavailable);
        let auth = authorized(&gateway, "k1", 5000).await;

        let failed = gateway.capture(&auth.reference, usd(5000), "c1").await;
        let retried = gateway.capture(&auth.reference, usd(5000), "c1").await;

        assert!(matches!(failed, Err(PaymentError::Unavailable { .. })));
        assert_eq!(retried.unwrap(), usd(5000));
    }

    #[tokio::test]
    async fn an_unavailable_gateway_changes_nothing_until_it_is_back() {
        let gateway = FakePaymentGateway::new();
        gateway.unavailable(true);

        let down = gateway.authorize(&request("k1", 5000, "pm_card_visa")).await;
        gateway.unavailable(false);
        let up = gateway.authorize(&request("k1", 5000, "pm_card_visa")).await;

        assert!(matches!(&down, Err(e) if e.is_retryable()));
        assert!(up.is_ok());
        assert_eq!(gateway.authorizations(), 1);
    }

    #[tokio::test]
    async fn calls_record_every_attempt_with_its_outcome() {
        let gateway = FakePaymentGateway::new();
        let auth = authorized(&gateway, "k1", 5000).await;
        let _ = gateway.capture(&auth.reference, usd(9999), "c1").await;

        let calls = gateway.calls();

        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].operation, GatewayOperation::Authorize);
        assert_eq!(calls[0].reference.as_deref(), Some(auth.reference.as_str()));
        assert_eq!(calls[0].error, None);
        assert_eq!(calls[1].operation, GatewayOperation::Capture);
        assert_eq!(calls[1].idempotency_key, "c1");
        assert!(calls[1].error.is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_authorizations_with_one_key_hold_money_once() {
        let gateway = Arc::new(FakePaymentGateway::new());

        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let gateway = Arc::clone(&gateway);
                tokio::spawn(async move {
                    gateway.authorize(&request("same", 5000, "pm_card_visa")).await
                })
            })
            .collect();
        let mut references = Vec::new();
        for task in tasks {
            references.push(task.await.unwrap().unwrap().reference);
        }

        references.dedup();
        assert_eq!(references.len(), 1);
        assert_eq!(gateway.authorizations(), 1);
    }
}

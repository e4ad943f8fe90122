//! Double-entry postings from payment events.

use std::sync::Arc;

use async_trait::async_trait;

use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::OrderId;
use crate::money::{Money, MoneyError};
use crate::orders::Order;
use crate::ports::{
    AccountingLedger, EventSubscriber, JournalEntry, LedgerAccount, OrderRepository, Posting,
    PostingSide, SubscriberError,
};

use super::{integration, store};

/// Posts balanced journal entries, one per event (the entry id is the event id, so a
/// redelivery posts once):
/// - `OrderPaid` (full capture): Dr PaymentsReceivable = captured; Cr Revenue = line totals
///   net of their tax; Cr ShippingRevenue = shipping net of its tax; Cr TaxPayable = all tax.
///   The split comes from the order (read from the repository). A partial capture credits
///   Revenue with the whole amount.
/// - `RefundProcessed`: Dr Refunds = amount net of its tax; Dr TaxPayable = the tax of its
///   units (see [`Order::refund_tax`]); Cr PaymentsReceivable = amount.
/// - `OrderCancelled` of a paid order (the capture is refunded in full): Dr Refunds =
///   captured net of tax; Dr TaxPayable = all tax; Cr PaymentsReceivable = captured.
///
/// Tax goes back only after a full capture: a partial capture credited no tax (see above),
/// so its refunds debit no tax either. An authorization (`OrderPlaced`) is not money
/// received and posts nothing, nor does the cancellation of an order never captured.
#[derive(Clone)]
pub struct LedgerSubscriber {
    ledger: Arc<dyn AccountingLedger>,
    orders: Arc<dyn OrderRepository>,
}

impl std::fmt::Debug for LedgerSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerSubscriber").finish_non_exhaustive()
    }
}

fn posting(account: LedgerAccount, side: PostingSide, amount: Money) -> Posting {
    Posting { account, side, amount }
}

/// The credit side of a captured order: revenue, shipping revenue and tax.
fn capture_postings(order: &Order, captured: Money) -> Result<Vec<Posting>, MoneyError> {
    let totals = order.totals();
    let mut postings =
        vec![posting(LedgerAccount::PaymentsReceivable, PostingSide::Debit, captured)];
    if captured != totals.grand_total {
        postings.push(posting(LedgerAccount::Revenue, PostingSide::Credit, captured));
        return Ok(postings);
    }
    let currency = captured.currency();
    let line_totals: Vec<Money> = order.lines().iter().map(|l| l.total).collect();
    let line_taxes: Vec<Money> = order.lines().iter().map(|l| l.tax).collect();
    let line_tax = Money::sum(currency, &line_taxes)?;
    let revenue = Money::sum(currency, &line_totals)?.checked_sub(&line_tax)?;
    // What shipping charged includes its own tax, inclusive or exclusive.
    let shipping_tax = totals.tax_total.checked_sub(&line_tax)?;
    let shipping = totals.shipping_charged()?.checked_sub(&shipping_tax)?;
    for (account, amount) in [
        (LedgerAccount::Revenue, revenue),
        (LedgerAccount::ShippingRevenue, shipping),
        (LedgerAccount::TaxPayable, totals.tax_total),
    ] {
        if !amount.is_zero() {
            postings.push(posting(account, PostingSide::Credit, amount));
        }
    }
    Ok(postings)
}

/// Money paid back: Dr Refunds (net of tax) and Dr TaxPayable; Cr PaymentsReceivable.
fn refund_postings(amount: Money, tax: Money) -> Result<Vec<Posting>, MoneyError> {
    let mut postings =
        vec![posting(LedgerAccount::Refunds, PostingSide::Debit, amount.checked_sub(&tax)?)];
    if !tax.is_zero() {
        postings.push(posting(LedgerAccount::TaxPayable, PostingSide::Debit, tax));
    }
    postings.push(posting(LedgerAccount::PaymentsReceivable, PostingSide::Credit, amount));
    Ok(postings)
}

/// Whether the whole grand total was captured, so the capture credited tax payable.
fn fully_captured(order: &Order) -> bool {
    order.payment().captured == order.totals().grand_total
}

fn permanent(e: impl std::fmt::Display) -> SubscriberError {
    SubscriberError::Permanent(e.to_string())
}

impl LedgerSubscriber {
    /// A subscriber posting to `ledger`, reading orders for the revenue and tax split.
    pub fn new(ledger: Arc<dyn AccountingLedger>, orders: Arc<dyn OrderRepository>) -> Self {
        LedgerSubscriber { ledger, orders }
    }

    async fn order(&self, id: OrderId) -> Result<Order, SubscriberError> {
        // Not found yet: a lagging replica, most likely; retried until dead.
        self.orders
            .get(id)
            .await
            .map_err(store)?
            .ok_or_else(|| SubscriberError::Transient(format!("order {id} not found")))
    }
}

#[async_trait]
impl EventSubscriber for LedgerSubscriber {
    fn name(&self) -> &str {
        "ledger"
    }

    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), SubscriberError> {
        let (memo, postings) = match &envelope.event {
            DomainEvent::OrderPaid { order_id, amount } => {
                let order = self.order(*order_id).await?;
                let postings = capture_postings(&order, *amount).map_err(permanent)?;
                (format!("payment captured for order {order_id}"), postings)
            }
            DomainEvent::RefundProcessed { refund_id, order_id, amount, .. } => {
                let order = self.order(*order_id).await?;
                let tax = if fully_captured(&order) {
                    order.refund_tax(*refund_id).map_err(permanent)?
                } else {
                    Money::zero(amount.currency())
                };
                let postings = refund_postings(*amount, tax).map_err(permanent)?;
                (format!("refund {refund_id} of order {order_id}"), postings)
            }
            DomainEvent::OrderCancelled { order_id, .. } => {
                let order = self.order(*order_id).await?;
                let captured = order.payment().captured;
                if captured.is_zero() {
                    return Ok(()); // an authorization voided: nothing was posted
                }
                let tax = if fully_captured(&order) {
                    order.totals().tax_total
                } else {
                    Money::zero(captured.currency())
                };
                let postings = refund_postings(captured, tax).map_err(permanent)?;
                (format!("order {order_id} cancelled: capture refunded"), postings)
            }
            _ => return Ok(()),
        };
        let entry = JournalEntry::new(envelope.id, envelope.occurred_at, memo, postings)
            .map_err(|e| SubscriberError::Permanent(format!("unbalanced journal entry: {e}")))?;
        self.ledger.post(&entry).await.map_err(integration)
    }
}

#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping, reason = "amounts in cents: 115_50 reads as 115.50")]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::ids::{CartId, EventId, LineId, OrderId, ProductId, RefundId};
    use crate::orders::{NewOrder, OrderLine, OrderTotals, Payment};
    use crate::ports::IntegrationError;
    use crate::services::test_support::*;

    #[derive(Default)]
    struct Ledger {
        entries: Mutex<Vec<JournalEntry>>,
        down: bool,
    }

    #[async_trait]
    impl AccountingLedger for Ledger {
        async fn post(&self, entry: &JournalEntry) -> Result<(), IntegrationError> {
            if self.down {
                return Err(IntegrationError::Unavailable { message: "ledger down".into() });
            }
            self.entries.lock().unwrap().push(entry.clone());
            Ok(())
        }
    }

    /// 2 × 50.00 net + 10 % tax added = 110.00; shipping 5.00 + 0.50 tax = 5.50.
    fn taxed_order() -> Order {
        let id = OrderId::from_uuid(uuid::Uuid::from_u128(5));
        let line = OrderLine {
            id: LineId::from_uuid(uuid::Uuid::from_u128(6)),
            product_id: ProductId::from_uuid(uuid::Uuid::from_u128(7)),
            sku: sku("TEE"),
            title: "Tee".into(),
            quantity: qty(2),
            unit_price: usd(50_00),
            subtotal: usd(100_00),
            discount: usd(0),
            tax: usd(10_00),
            total: usd(110_00),
            fulfilled: 0,
            refunded: 0,
        };
        let (order, _) = Order::place(NewOrder {
            id,
            cart_id: CartId::from_uuid(uuid::Uuid::from_u128(8)),
            customer: None,
            email: email(),
            currency: crate::money::Currency::USD,
            lines: vec![line],
            totals: OrderTotals {
                subtotal: usd(100_00),
                discount_total: usd(0),
                shipping_total: usd(5_00),
                tax_total: usd(10_50),
                grand_total: usd(115_50),
                shipping_discount: usd(0),
                shipping_tax: usd(50),
                prices_include_tax: false,
                applied_promotions: vec![],
            },
            shipping_address: None,
            shipping_method: None,
            coupons: vec![],
            payment: Payment {
                reference: "pi_1".into(),
                authorized: usd(115_50),
                captured: usd(0),
                refunded: usd(0),
                voided: false,
            },
            placed_at: start(),
        })
        .unwrap();
        order
    }

    fn envelope(event: DomainEvent) -> EventEnvelope {
        EventEnvelope {
            id: EventId::from_uuid(uuid::Uuid::from_u128(99)),
            occurred_at: start(),
            event,
        }
    }

    fn credit(entry: &JournalEntry, account: LedgerAccount) -> Option<Money> {
        entry
            .postings()
            .iter()
            .find(|p| p.account == account && p.side == PostingSide::Credit)
            .map(|p| p.amount)
    }

    #[tokio::test]
    async fn a_full_capture_posts_revenue_shipping_and_tax_that_balance() {
        let world = World::new();
        let order = taxed_order();
        world.orders.insert(&order, &[]).await.unwrap();
        let ledger = Arc::new(Ledger::default());
        let subscriber = LedgerSubscriber::new(ledger.clone(), world.orders.clone());

        subscriber
            .handle(&envelope(DomainEvent::OrderPaid { order_id: order.id(), amount: usd(115_50) }))
            .await
            .unwrap();

        let entries = ledger.entries.lock().unwrap().clone();
        let entry = &entries[0];
        assert_eq!(entry.id(), EventId::from_uuid(uuid::Uuid::from_u128(99)));
        assert_eq!(
            entry.postings()[0],
            posting(LedgerAccount::PaymentsReceivable, PostingSide::Debit, usd(115_50))
        );
        assert_eq!(credit(entry, LedgerAccount::Revenue), Some(usd(100_00)));
        assert_eq!(credit(entry, LedgerAccount::ShippingRevenue), Some(usd(5_00)));
        assert_eq!(credit(entry, LedgerAccount::TaxPayable), Some(usd(10_50)));
    }

    fn debit(entry: &JournalEntry, account: LedgerAccount) -> Option<Money> {
        entry
            .postings()
            .iter()
            .find(|p| p.account == account && p.side == PostingSide::Debit)
            .map(|p| p.amount)
    }

    /// The taxed order, paid, with a processed refund of `units` of its line.
    fn refunded_order(units: i64) -> (Order, RefundId) {
        let mut order = taxed_order();
        order.mark_paid(usd(115_50), start()).unwrap();
        let id = RefundId::from_uuid(uuid::Uuid::from_u128(1));
        let line = order.lines()[0].id;
        let request = crate::orders::RefundRequest::returning(vec![(line, qty(units))], "x");
        order.request_refund(id, request, start()).unwrap();
        order.approve_refund(id, start()).unwrap();
        order.refund_processed(id, "re_1".into(), start()).unwrap();
        (order, id)
    }

    #[tokio::test]
    async fn a_processed_refund_debits_refunds_and_an_outage_is_transient() {
        let world = World::new();
        let (order, refund_id) = refunded_order(2);
        world.orders.insert(&order, &[]).await.unwrap();
        let ledger = Arc::new(Ledger::default());
        let subscriber = LedgerSubscriber::new(ledger.clone(), world.orders.clone());
        let refund = envelope(DomainEvent::RefundProcessed {
            refund_id,
            order_id: order.id(),
            email: email(),
            amount: usd(110_00),
            restock: vec![],
            location: None,
        });

        subscriber.handle(&refund).await.unwrap();
        let entry = ledger.entries.lock().unwrap()[0].clone();
        assert_eq!(entry.postings()[0].account, LedgerAccount::Refunds);
        assert_eq!(entry.postings()[0].side, PostingSide::Debit);
        assert_eq!(credit(&entry, LedgerAccount::PaymentsReceivable), Some(usd(110_00)));

        let down = LedgerSubscriber::new(
            Arc::new(Ledger { down: true, ..Ledger::default() }),
            world.orders.clone(),
        );
        assert!(matches!(down.handle(&refund).await, Err(SubscriberError::Transient(_))));
    }

    #[tokio::test]
    async fn a_refund_of_units_gives_their_tax_back() {
        let world = World::new();
        let (order, refund_id) = refunded_order(1);
        world.orders.insert(&order, &[]).await.unwrap();
        let ledger = Arc::new(Ledger::default());
        let subscriber = LedgerSubscriber::new(ledger.clone(), world.orders.clone());

        subscriber
            .handle(&envelope(DomainEvent::RefundProcessed {
                refund_id,
                order_id: order.id(),
                email: email(),
                amount: usd(55_00),
                restock: vec![],
                location: None,
            }))
            .await
            .unwrap();

        let entry = ledger.entries.lock().unwrap()[0].clone();
        assert_eq!(debit(&entry, LedgerAccount::Refunds), Some(usd(50_00)));
        assert_eq!(debit(&entry, LedgerAccount::TaxPayable), Some(usd(5_00)));
        assert_eq!(credit(&entry, LedgerAccount::PaymentsReceivable), Some(usd(55_00)));
    }

    #[tokio::test]
    async fn cancelling_a_paid_order_posts_the_refund_of_its_capture_and_tax() {
        let world = World::new();
        let mut order = taxed_order();
        order.mark_paid(usd(115_50), start()).unwrap();
        let cancelled = order.cancel("fraud".into(), start()).unwrap();
        world.orders.insert(&order, &[]).await.unwrap();
        let ledger = Arc::new(Ledger::default());
        let subscriber = LedgerSubscriber::new(ledger.clone(), world.orders.clone());

        subscriber.handle(&envelope(cancelled)).await.unwrap();

        let entries = ledger.entries.lock().unwrap().clone();
        assert_eq!(entries.len(), 1, "{entries:?}");
        let entry = &entries[0];
        assert_eq!(debit(entry, LedgerAccount::Refunds), Some(usd(105_00)));
        assert_eq!(debit(entry, LedgerAccount::TaxPayable), Some(usd(10_50)));
        assert_eq!(credit(entry, LedgerAccount::PaymentsReceivable), Some(usd(115_50)));
    }

    #[tokio::test]
    async fn cancelling_an_unpaid_order_posts_nothing() {
        let world = World::new();
        let mut order = taxed_order();
        let cancelled = order.cancel("changed my mind".into(), start()).unwrap();
        world.orders.insert(&order, &[]).await.unwrap();
        let ledger = Arc::new(Ledger::default());
        let subscriber = LedgerSubscriber::new(ledger.clone(), world.orders.clone());

        subscriber.handle(&envelope(cancelled)).await.unwrap();

        assert!(ledger.entries.lock().unwrap().is_empty(), "an authorization was never posted");
    }
}

//! Double-entry postings from payment events.

use std::sync::Arc;

use async_trait::async_trait;

use crate::events::{DomainEvent, EventEnvelope};
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
/// - `RefundProcessed`: Dr Refunds / Cr PaymentsReceivable.
///
/// An authorization (`OrderPlaced`) is not money received and posts nothing.
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
    // Shipping totals include their own tax, inclusive or exclusive.
    let shipping_tax = totals.tax_total.checked_sub(&line_tax)?;
    let shipping = totals.shipping_total.checked_sub(&shipping_tax)?;
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

impl LedgerSubscriber {
    /// A subscriber posting to `ledger`, reading orders for the revenue split.
    pub fn new(ledger: Arc<dyn AccountingLedger>, orders: Arc<dyn OrderRepository>) -> Self {
        LedgerSubscriber { ledger, orders }
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
                // Not found yet: a lagging replica, most likely; retried until dead.
                let order = self.orders.get(*order_id).await.map_err(store)?.ok_or_else(|| {
                    SubscriberError::Transient(format!("order {order_id} not found"))
                })?;
                let postings = capture_postings(&order, *amount)
                    .map_err(|e| SubscriberError::Permanent(e.to_string()))?;
                (format!("payment captured for order {order_id}"), postings)
            }
            DomainEvent::RefundProcessed { refund_id, order_id, amount, .. } => (
                format!("refund {refund_id} of order {order_id}"),
                vec![
                    posting(LedgerAccount::Refunds, PostingSide::Debit, *amount),
                    posting(LedgerAccount::PaymentsReceivable, PostingSide::Credit, *amount),
                ],
            ),
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
                shipping_total: usd(5_50),
                tax_total: usd(10_50),
                grand_total: usd(115_50),
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

    #[tokio::test]
    async fn a_processed_refund_debits_refunds_and_an_outage_is_transient() {
        let world = World::new();
        let ledger = Arc::new(Ledger::default());
        let subscriber = LedgerSubscriber::new(ledger.clone(), world.orders.clone());
        let refund = envelope(DomainEvent::RefundProcessed {
            refund_id: RefundId::from_uuid(uuid::Uuid::from_u128(1)),
            order_id: OrderId::from_uuid(uuid::Uuid::from_u128(5)),
            email: email(),
            amount: usd(20_00),
            restock: vec![],
        });

        subscriber.handle(&refund).await.unwrap();
        let entry = ledger.entries.lock().unwrap()[0].clone();
        assert_eq!(
            entry.postings()[0],
            posting(LedgerAccount::Refunds, PostingSide::Debit, usd(20_00))
        );
        assert_eq!(credit(&entry, LedgerAccount::PaymentsReceivable), Some(usd(20_00)));

        let down = LedgerSubscriber::new(
            Arc::new(Ledger { down: true, ..Ledger::default() }),
            world.orders.clone(),
        );
        assert!(matches!(down.handle(&refund).await, Err(SubscriberError::Transient(_))));
    }
}

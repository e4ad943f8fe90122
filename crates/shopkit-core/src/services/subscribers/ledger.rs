//! Double-entry postings from payment events.

use std::sync::Arc;

use async_trait::async_trait;

use crate::events::{DomainEvent, EventEnvelope};
use crate::money::{Money, MoneyError};
use crate::orders::Order;
use crate::ports::{
    AccountingLedger, EventSubscriber, JournalEntry, LedgerAccount, OrderRepository, Posting, PostingSide,
    SubscriberError,
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
    let mut postings = vec![posting(LedgerAccount::PaymentsReceivable, PostingSide::Debit, captured)];
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
                let order = self
                    .orders
                    .get(*order_id)
                    .await
                    .map_err(store)?
                    .ok_or_else(|| SubscriberError::Transient(format!("order {order_id} not found")))?;
                let postings = capture_postings(&order, *amount).map_err(|e| SubscriberError::Permanent(e.to_string()))?;
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

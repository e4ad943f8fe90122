//! Domain events and the outbox record that carries them to subscribers.
//!
//! Every state change of an order, refund, customer or cart that the world cares about is
//! a [`DomainEvent`]. Events are saved in the same atomic write as the change (the order
//! repository's `insert`/`update`, the customer repository's `insert`), then delivered at
//! least once by the [`Dispatcher`](crate::services::dispatcher::Dispatcher); subscribers
//! deduplicate by [`EventId`]. Events never carry card data, passwords or tokens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{
    CartId, CustomerId, Email, EventId, LocationId, OrderId, RefundId, ShipmentId, Sku,
};
use crate::money::Money;
use crate::orders::Tracking;

/// A SKU and a count, as events report them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLine {
    /// The SKU.
    pub sku: Sku,
    /// Units.
    pub quantity: u32,
    /// What the customer paid for these units (after discounts, with tax), when known.
    pub total: Option<Money>,
}

/// Something that happened in the shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DomainEvent {
    /// A checkout became an order (payment authorized).
    OrderPlaced {
        /// The order.
        order_id: OrderId,
        /// The customer, for a signed-in checkout.
        customer_id: Option<CustomerId>,
        /// Where to send the confirmation.
        email: Email,
        /// The grand total.
        total: Money,
        /// Tax in the total.
        tax: Money,
        /// Shipping in the total.
        shipping: Money,
        /// What was bought.
        lines: Vec<EventLine>,
    },
    /// Payment was captured.
    OrderPaid {
        /// The order.
        order_id: OrderId,
        /// The amount captured.
        amount: Money,
    },
    /// Some or all lines were shipped.
    OrderShipped {
        /// The order.
        order_id: OrderId,
        /// The shipment.
        shipment_id: ShipmentId,
        /// Where to send the notice.
        email: Email,
        /// What was shipped.
        lines: Vec<EventLine>,
        /// Carrier tracking.
        tracking: Option<Tracking>,
    },
    /// The order arrived.
    OrderDelivered {
        /// The order.
        order_id: OrderId,
    },
    /// A cancellation started: the order is held (nothing ships) while its payment is
    /// voided or refunded; `OrderCancelled` or `OrderCancellationAbandoned` follows.
    OrderCancellationStarted {
        /// The order.
        order_id: OrderId,
        /// Why.
        reason: String,
    },
    /// The gateway refused to void or refund: the cancellation was dropped, no money moved
    /// and the order carries on.
    OrderCancellationAbandoned {
        /// The order.
        order_id: OrderId,
        /// The gateway's refusal.
        reason: String,
    },
    /// The order was cancelled before fulfilment.
    OrderCancelled {
        /// The order.
        order_id: OrderId,
        /// Where to send the notice.
        email: Email,
        /// Why.
        reason: String,
        /// Stock to give back (the restock subscriber puts it back on hand).
        lines: Vec<EventLine>,
        /// Where the stock goes back; `None` in events stored before it was recorded (the
        /// restock subscriber's own location then).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<LocationId>,
    },
    /// A customer or an admin asked for a refund.
    RefundRequested {
        /// The refund.
        refund_id: RefundId,
        /// The order.
        order_id: OrderId,
        /// The amount asked for.
        amount: Money,
    },
    /// An admin approved a refund.
    RefundApproved {
        /// The refund.
        refund_id: RefundId,
        /// The order.
        order_id: OrderId,
        /// The amount.
        amount: Money,
    },
    /// An admin rejected a refund.
    RefundRejected {
        /// The refund.
        refund_id: RefundId,
        /// The order.
        order_id: OrderId,
        /// Why.
        reason: String,
    },
    /// The gateway paid the refund back.
    RefundProcessed {
        /// The refund.
        refund_id: RefundId,
        /// The order.
        order_id: OrderId,
        /// Where to send the notice.
        email: Email,
        /// The amount paid back.
        amount: Money,
        /// Units to put back in stock (empty when not restocking; the restock subscriber
        /// puts them back on hand).
        restock: Vec<EventLine>,
        /// Where restocked units go back; `None` in events stored before it was recorded
        /// (the restock subscriber's own location then).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<LocationId>,
    },
    /// The gateway refused or failed the refund.
    RefundFailed {
        /// The refund.
        refund_id: RefundId,
        /// The order.
        order_id: OrderId,
        /// Why.
        reason: String,
    },
    /// A customer registered.
    CustomerRegistered {
        /// The customer.
        customer_id: CustomerId,
        /// Their address.
        email: Email,
    },
    /// A customer left a cart with lines untouched for a while.
    CartAbandoned {
        /// The cart.
        cart_id: CartId,
        /// The customer.
        customer_id: CustomerId,
        /// Units left in the cart.
        item_count: u64,
    },
}

impl DomainEvent {
    /// The event's type name as it appears in the outbox and on the wire (`order_placed`).
    pub fn kind(&self) -> &'static str {
        match self {
            DomainEvent::OrderPlaced { .. } => "order_placed",
            DomainEvent::OrderPaid { .. } => "order_paid",
            DomainEvent::OrderShipped { .. } => "order_shipped",
            DomainEvent::OrderDelivered { .. } => "order_delivered",
            DomainEvent::OrderCancellationStarted { .. } => "order_cancellation_started",
            DomainEvent::OrderCancellationAbandoned { .. } => "order_cancellation_abandoned",
            DomainEvent::OrderCancelled { .. } => "order_cancelled",
            DomainEvent::RefundRequested { .. } => "refund_requested",
            DomainEvent::RefundApproved { .. } => "refund_approved",
            DomainEvent::RefundRejected { .. } => "refund_rejected",
            DomainEvent::RefundProcessed { .. } => "refund_processed",
            DomainEvent::RefundFailed { .. } => "refund_failed",
            DomainEvent::CustomerRegistered { .. } => "customer_registered",
            DomainEvent::CartAbandoned { .. } => "cart_abandoned",
        }
    }

    /// Records where the stock an `OrderCancelled` or `RefundProcessed` gives back goes
    /// (the aggregate knows no locations; the service that writes the event does). Other
    /// events are returned unchanged.
    #[must_use]
    pub fn restocking_at(mut self, at: &LocationId) -> Self {
        if let DomainEvent::OrderCancelled { location, .. }
        | DomainEvent::RefundProcessed { location, .. } = &mut self
        {
            *location = Some(at.clone());
        }
        self
    }

    /// The order the event is about, if any.
    pub fn order_id(&self) -> Option<OrderId> {
        match self {
            DomainEvent::OrderPlaced { order_id, .. }
            | DomainEvent::OrderPaid { order_id, .. }
            | DomainEvent::OrderShipped { order_id, .. }
            | DomainEvent::OrderDelivered { order_id }
            | DomainEvent::OrderCancellationStarted { order_id, .. }
            | DomainEvent::OrderCancellationAbandoned { order_id, .. }
            | DomainEvent::OrderCancelled { order_id, .. }
            | DomainEvent::RefundRequested { order_id, .. }
            | DomainEvent::RefundApproved { order_id, .. }
            | DomainEvent::RefundRejected { order_id, .. }
            | DomainEvent::RefundProcessed { order_id, .. }
            | DomainEvent::RefundFailed { order_id, .. } => Some(*order_id),
            DomainEvent::CustomerRegistered { .. } | DomainEvent::CartAbandoned { .. } => None,
        }
    }
}

/// An event with its identity and time: what the outbox stores and subscribers receive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// Unique id; subscribers deduplicate on it.
    pub id: EventId,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// What happened.
    pub event: DomainEvent,
}

/// Delivery state of an outbox entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for (re)delivery at `next_attempt_at`.
    Pending,
    /// Claimed by a dispatcher until `lease_until`.
    InFlight,
    /// Every subscriber has it.
    Delivered,
    /// Gave up after the dispatcher's attempt limit; redeliver by hand.
    Dead,
}

/// An event in the outbox, with its delivery bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The event.
    pub envelope: EventEnvelope,
    /// Delivery state.
    pub status: OutboxStatus,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (for `Pending`), or the lease ends (for `InFlight`).
    pub next_attempt_at: DateTime<Utc>,
    /// Subscribers that have already handled it (not called again on retry).
    pub delivered_to: Vec<String>,
    /// The last delivery error, for the back-office event log.
    pub last_error: Option<String>,
}

impl OutboxEntry {
    /// A fresh entry, due at once.
    pub fn new(envelope: EventEnvelope) -> Self {
        let due = envelope.occurred_at;
        OutboxEntry {
            envelope,
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: due,
            delivered_to: Vec::new(),
            last_error: None,
        }
    }
}

//! Orders: the state machine from placement to delivery, shipments, and the refunds that
//! belong to the order.
//!
//! Refunds live inside the order aggregate: the rule "cumulative refunds never exceed what
//! was captured" spans all of an order's refunds, so one aggregate with one version guards
//! it, and a concurrent second refund loses on the version check instead of overdrawing.

mod order;
mod refund;

pub use order::{
    NewOrder, Order, OrderError, OrderLine, OrderStatus, OrderTotals, Payment, PendingCancellation,
    Shipment, StatusChange, Tracking,
};
pub use refund::{Refund, RefundError, RefundLine, RefundRequest, RefundStatus};

#[cfg(test)]
mod tests;

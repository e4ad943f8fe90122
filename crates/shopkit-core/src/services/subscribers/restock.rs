//! Stock back on the shelf: cancelled orders and restocking refunds.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::events::{DomainEvent, EventEnvelope, EventLine};
use crate::ids::{AdjustmentId, EventId, LocationId, Sku};
use crate::inventory::{Adjusted, InventoryError, StockAdjustment};
use crate::ports::{EventSubscriber, InventoryStore, SubscriberError};
use crate::services::keys;

/// Puts units back on hand when an event says they return to the shelf:
/// - `OrderCancelled`: every unit of the order (a cancelled order shipped nothing);
/// - `RefundProcessed` with `restock` lines: those units.
///
/// The services write these events with the state change (one atomic write) and give no
/// stock back themselves, so a crash right after the write loses no restock: the outbox
/// still holds the event. Each SKU of an event goes back with one
/// [`InventoryStore::adjust_once`] keyed by the event id and the SKU, so a redelivered
/// event (or one whose delivery died half-way) restocks every unit once.
///
/// Units go back at the event's location, or at this subscriber's location for events
/// stored before events recorded one.
///
/// Errors: a store outage is `Transient` (the dispatcher retries). A SKU with no stock
/// record at the location, or a key applied before with other values, is `Permanent`: the
/// entry goes dead for a human, who sets the stock record and redelivers it (SKUs already
/// restocked are not restocked again). One failing SKU does not keep the others of the
/// event from going back.
#[derive(Clone)]
pub struct RestockSubscriber {
    inventory: Arc<dyn InventoryStore>,
    location: LocationId,
}

impl std::fmt::Debug for RestockSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestockSubscriber")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl RestockSubscriber {
    /// A subscriber putting stock back into `inventory`; `location` is where units of
    /// events that name no location go (the shop's checkout location).
    pub fn new(inventory: Arc<dyn InventoryStore>, location: LocationId) -> Self {
        RestockSubscriber { inventory, location }
    }
}

/// The key of the adjustment that gives back `sku` for `event`: fixed by the event, so
/// every delivery of it asks for the same adjustment.
fn adjustment_id(event: EventId, sku: &Sku) -> AdjustmentId {
    AdjustmentId::from_uuid(keys::derive(&["restock", &event.to_string(), sku.as_str()]))
}

/// Units per SKU (an event may name a SKU on more than one line).
fn units_per_sku(lines: &[EventLine]) -> BTreeMap<&Sku, i64> {
    let mut units: BTreeMap<&Sku, i64> = BTreeMap::new();
    for line in lines {
        let total = units.entry(&line.sku).or_default();
        *total = total.saturating_add(i64::from(line.quantity));
    }
    units.retain(|_, n| *n > 0);
    units
}

fn subscriber_error(e: &InventoryError) -> SubscriberError {
    match e {
        InventoryError::Store(store) if store.is_retryable() => {
            SubscriberError::Transient(e.to_string())
        }
        _ => SubscriberError::Permanent(e.to_string()),
    }
}

#[async_trait]
impl EventSubscriber for RestockSubscriber {
    fn name(&self) -> &str {
        "restock"
    }

    async fn handle(&self, envelope: &EventEnvelope) -> Result<(), SubscriberError> {
        let (lines, location) = match &envelope.event {
            DomainEvent::OrderCancelled { lines, location, .. } => (lines, location),
            DomainEvent::RefundProcessed { restock, location, .. } => (restock, location),
            _ => return Ok(()),
        };
        let location = location.as_ref().unwrap_or(&self.location);
        let mut failure: Option<SubscriberError> = None;
        for (sku, units) in units_per_sku(lines) {
            let adjustment = StockAdjustment {
                id: adjustment_id(envelope.id, sku),
                sku: sku.clone(),
                location: location.clone(),
                delta: units,
            };
            match self.inventory.adjust_once(&adjustment).await {
                Ok(Adjusted::Applied(level)) => {
                    tracing::debug!(event = %envelope.id, %sku, %location, units, on_hand = level.on_hand, "stock given back");
                }
                Ok(Adjusted::AlreadyApplied) => {
                    tracing::debug!(event = %envelope.id, %sku, %location, "stock already given back for this event");
                }
                Err(e) => {
                    tracing::warn!(event = %envelope.id, %sku, %location, units, error = %e, "stock not given back");
                    // A retry helps a transient failure; keep that over a permanent one.
                    if !matches!(failure, Some(SubscriberError::Transient(_))) {
                        failure = Some(subscriber_error(&e));
                    }
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrderId, RefundId};
    use crate::services::test_support::*;

    fn envelope(id: u128, event: DomainEvent) -> EventEnvelope {
        EventEnvelope {
            id: EventId::from_uuid(uuid::Uuid::from_u128(id)),
            occurred_at: start(),
            event,
        }
    }

    fn line(s: &str, quantity: u32) -> EventLine {
        EventLine { sku: sku(s), quantity, total: None }
    }

    fn cancelled(lines: Vec<EventLine>, location: Option<LocationId>) -> DomainEvent {
        DomainEvent::OrderCancelled {
            order_id: OrderId::from_uuid(uuid::Uuid::from_u128(1)),
            email: email(),
            reason: "fraud".into(),
            lines,
            location,
        }
    }

    fn refunded(restock: Vec<EventLine>) -> DomainEvent {
        DomainEvent::RefundProcessed {
            refund_id: RefundId::from_uuid(uuid::Uuid::from_u128(2)),
            order_id: OrderId::from_uuid(uuid::Uuid::from_u128(1)),
            email: email(),
            amount: usd(20_00),
            restock,
            location: Some(LocationId::main()),
        }
    }

    fn subscriber(inventory: Arc<FakeInventory>) -> RestockSubscriber {
        RestockSubscriber::new(inventory, LocationId::main())
    }

    #[tokio::test]
    async fn a_cancelled_order_goes_back_on_the_shelf_once_however_often_it_is_delivered() {
        let inventory = FakeInventory::with(&[("TEE", 5), ("MUG", 1)]);
        let restock = subscriber(inventory.clone());
        let event = envelope(
            7,
            cancelled(
                vec![line("TEE", 2), line("MUG", 1), line("TEE", 1)],
                Some(LocationId::main()),
            ),
        );

        restock.handle(&event).await.unwrap();
        restock.handle(&event).await.unwrap();

        assert_eq!(inventory.level("TEE"), (8, 0), "both TEE lines, once");
        assert_eq!(inventory.level("MUG"), (2, 0));
    }

    #[tokio::test]
    async fn restocking_refunds_go_back_and_other_events_change_nothing() {
        let inventory = FakeInventory::with(&[("TEE", 5)]);
        let restock = subscriber(inventory.clone());

        restock.handle(&envelope(1, refunded(vec![line("TEE", 1)]))).await.unwrap();
        restock.handle(&envelope(2, refunded(vec![]))).await.unwrap();
        let paid = DomainEvent::OrderPaid {
            order_id: OrderId::from_uuid(uuid::Uuid::from_u128(1)),
            amount: usd(20_00),
        };
        restock.handle(&envelope(3, paid)).await.unwrap();
        restock.handle(&envelope(4, refunded(vec![line("TEE", 2)]))).await.unwrap();

        assert_eq!(inventory.level("TEE"), (8, 0), "two refunds, one unit and two");
    }

    #[tokio::test]
    async fn an_event_stored_without_a_location_restocks_at_the_subscribers_location() {
        let inventory = FakeInventory::with(&[("TEE", 5)]);
        let stored = serde_json::json!({
            "type": "order_cancelled",
            "order_id": uuid::Uuid::from_u128(1),
            "email": "ann@example.com",
            "reason": "fraud",
            "lines": [{"sku": "TEE", "quantity": 2, "total": null}],
        });
        let event: DomainEvent = serde_json::from_value(stored).unwrap();

        subscriber(inventory.clone()).handle(&envelope(9, event)).await.unwrap();

        assert_eq!(inventory.level("TEE"), (7, 0));
    }

    #[tokio::test]
    async fn an_unknown_sku_is_permanent_and_the_other_skus_still_go_back() {
        let inventory = FakeInventory::with(&[("TEE", 5)]);
        let restock = subscriber(inventory.clone());
        let event = envelope(5, cancelled(vec![line("GONE", 1), line("TEE", 1)], None));

        let err = restock.handle(&event).await.unwrap_err();

        assert!(matches!(err, SubscriberError::Permanent(_)), "{err:?}");
        assert_eq!(inventory.level("TEE"), (6, 0));
    }

    #[tokio::test]
    async fn an_inventory_outage_is_transient() {
        struct Down;
        #[async_trait]
        impl InventoryStore for Down {
            async fn set_stock(
                &self,
                _: &Sku,
                _: &LocationId,
                _: i64,
                _: crate::inventory::BackorderPolicy,
            ) -> Result<crate::inventory::StockLevel, InventoryError> {
                Err(unavailable().into())
            }
            async fn adjust(
                &self,
                _: &Sku,
                _: &LocationId,
                _: i64,
            ) -> Result<crate::inventory::StockLevel, InventoryError> {
                Err(unavailable().into())
            }
            async fn adjust_once(&self, _: &StockAdjustment) -> Result<Adjusted, InventoryError> {
                Err(unavailable().into())
            }
            async fn levels(
                &self,
                _: &[Sku],
            ) -> Result<Vec<crate::inventory::StockLevel>, InventoryError> {
                Err(unavailable().into())
            }
            async fn reserve(
                &self,
                _: &crate::inventory::ReservationRequest,
            ) -> Result<crate::inventory::Reservation, InventoryError> {
                Err(unavailable().into())
            }
            async fn commit(
                &self,
                _: crate::ids::ReservationId,
            ) -> Result<crate::inventory::Reservation, InventoryError> {
                Err(unavailable().into())
            }
            async fn release(
                &self,
                _: crate::ids::ReservationId,
            ) -> Result<crate::inventory::Reservation, InventoryError> {
                Err(unavailable().into())
            }
            async fn reservation(
                &self,
                _: crate::ids::ReservationId,
            ) -> Result<Option<crate::inventory::Reservation>, InventoryError> {
                Err(unavailable().into())
            }
            async fn active_reservations(
                &self,
                _: &Sku,
            ) -> Result<Vec<crate::inventory::Reservation>, InventoryError> {
                Err(unavailable().into())
            }
            async fn release_expired(
                &self,
                _: chrono::DateTime<chrono::Utc>,
            ) -> Result<usize, InventoryError> {
                Err(unavailable().into())
            }
        }
        let restock = RestockSubscriber::new(Arc::new(Down), LocationId::main());

        let err = restock.handle(&envelope(1, refunded(vec![line("TEE", 1)]))).await.unwrap_err();

        assert!(matches!(err, SubscriberError::Transient(_)), "{err:?}");
    }
}

//! [`MemoryInventory`]: stock levels per SKU and location, and reservations.
//!
//! Every operation runs under one lock: a multi-SKU reservation checks every line and
//! then holds every line in the same critical section, so it is all or nothing and no
//! interleaving of concurrent reservations can oversell a `Deny` SKU.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopkit_core::ids::{AdjustmentId, LocationId, ReservationId, Sku};
use shopkit_core::inventory::{
    Adjusted, BackorderPolicy, InventoryError, Reservation, ReservationLine, ReservationRequest,
    ReservationStatus, StockAdjustment, StockLevel,
};
use shopkit_core::ports::InventoryStore;

#[derive(Debug, Default)]
struct State {
    /// Stock records: SKU, then location.
    levels: HashMap<Sku, BTreeMap<LocationId, StockLevel>>,
    reservations: HashMap<ReservationId, Reservation>,
    /// Active reservations by expiry, for `release_expired` and `active_reservations`.
    active: BTreeSet<(DateTime<Utc>, ReservationId)>,
    /// Keyed adjustments applied so far (`adjust_once`), kept for good.
    adjustments: HashMap<AdjustmentId, StockAdjustment>,
}

impl State {
    fn level_mut(
        &mut self,
        sku: &Sku,
        location: &LocationId,
    ) -> Result<&mut StockLevel, InventoryError> {
        self.levels.get_mut(sku).and_then(|at| at.get_mut(location)).ok_or_else(|| {
            InventoryError::UnknownSku { sku: sku.clone(), location: location.clone() }
        })
    }

    /// Adds `delta` to on-hand stock, refusing to take a `Deny` SKU below its reservations.
    fn adjust(
        &mut self,
        sku: &Sku,
        location: &LocationId,
        delta: i64,
    ) -> Result<StockLevel, InventoryError> {
        let level = self.level_mut(sku, location)?;
        let on_hand = level.on_hand.checked_add(delta).ok_or_else(|| {
            invalid(format!("adjusting {sku} at {location} by {delta} overflows"))
        })?;
        if level.backorder == BackorderPolicy::Deny && on_hand < level.reserved {
            return Err(invalid(format!(
                "cannot take {sku} at {location} to {on_hand} on hand: {} units are reserved; release reservations first",
                level.reserved
            )));
        }
        level.on_hand = on_hand;
        Ok(level.clone())
    }

    /// Ends an active reservation: gives its stock back (`Released`, `Expired`) or takes it
    /// off the shelf (`Committed`). The caller has checked that it is active.
    fn close(&mut self, id: ReservationId, status: ReservationStatus) -> Option<Reservation> {
        let reservation = self.reservations.get_mut(&id)?;
        reservation.status = status;
        let reservation = reservation.clone();
        self.active.remove(&(reservation.expires_at, id));
        for line in &reservation.lines {
            let quantity = i64::from(line.quantity.get());
            if let Some(level) =
                self.levels.get_mut(&line.sku).and_then(|at| at.get_mut(&reservation.location))
            {
                level.reserved -= quantity;
                if status == ReservationStatus::Committed {
                    level.on_hand -= quantity;
                }
            }
        }
        Some(reservation)
    }
}

/// Whether two line lists hold the same SKUs and quantities, in any order.
fn same_lines(a: &[ReservationLine], b: &[ReservationLine]) -> bool {
    let key = |lines: &[ReservationLine]| {
        let mut pairs: Vec<(Sku, u32)> =
            lines.iter().map(|l| (l.sku.clone(), l.quantity.get())).collect();
        pairs.sort();
        pairs
    };
    key(a) == key(b)
}

fn invalid(reason: impl Into<String>) -> InventoryError {
    InventoryError::Invalid { reason: reason.into() }
}

/// The in-memory [`InventoryStore`].
///
/// - `reserve` checks every line (in request order: the first unknown SKU is
///   `UnknownSku`, the first short one `OutOfStock` with `available` = the units that
///   could be reserved) and only then holds them all, in one lock;
/// - a repeated `reserve` with the same id, location and lines (in any order) returns the
///   stored reservation, whatever its state, and holds nothing more; other lines are a
///   `ReservationMismatch`;
/// - `commit` is idempotent and refuses a released or expired reservation
///   (`ReservationClosed`); `release` is idempotent and leaves a committed reservation as
///   it is; `release_expired` marks active reservations due at `now` as `Expired`;
/// - `adjust` refuses (`Invalid`) to take `on_hand` below `reserved` for a `Deny` SKU;
///   `adjust_once` does the same and records its key in the same lock (a key seen before
///   is `AlreadyApplied`, or `Invalid` with other values; a refused one is not recorded);
///   `set_stock` refuses a negative count but, being a stock take, may record fewer units
///   than are reserved (nothing more can then be reserved until stock comes in).
///
/// Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryInventory {
    state: Arc<Mutex<State>>,
}

impl MemoryInventory {
    /// An inventory with no stock records.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl InventoryStore for MemoryInventory {
    async fn set_stock(
        &self,
        sku: &Sku,
        location: &LocationId,
        on_hand: i64,
        backorder: BackorderPolicy,
    ) -> Result<StockLevel, InventoryError> {
        if on_hand < 0 {
            return Err(invalid(format!(
                "stock of {sku} at {location} cannot be negative ({on_hand}): count what is there"
            )));
        }
        let mut state = self.lock();
        let level =
            state.levels.entry(sku.clone()).or_default().entry(location.clone()).or_insert_with(
                || StockLevel {
                    sku: sku.clone(),
                    location: location.clone(),
                    on_hand: 0,
                    reserved: 0,
                    backorder,
                },
            );
        level.on_hand = on_hand;
        level.backorder = backorder;
        Ok(level.clone())
    }

    async fn adjust(
        &self,
        sku: &Sku,
        location: &LocationId,
        delta: i64,
    ) -> Result<StockLevel, InventoryError> {
        self.lock().adjust(sku, location, delta)
    }

    async fn adjust_once(&self, adjustment: &StockAdjustment) -> Result<Adjusted, InventoryError> {
        let mut state = self.lock();
        if let Some(applied) = state.adjustments.get(&adjustment.id) {
            if applied != adjustment {
                return Err(invalid(format!(
                    "adjustment {} was applied as {:+} of {} at {}: a key names one adjustment",
                    adjustment.id, applied.delta, applied.sku, applied.location
                )));
            }
            return Ok(Adjusted::AlreadyApplied);
        }
        let level = state.adjust(&adjustment.sku, &adjustment.location, adjustment.delta)?;
        state.adjustments.insert(adjustment.id, adjustment.clone());
        Ok(Adjusted::Applied(level))
    }

    async fn levels(&self, skus: &[Sku]) -> Result<Vec<StockLevel>, InventoryError> {
        let state = self.lock();
        let mut seen = BTreeSet::new();
        Ok(skus
            .iter()
            .filter(|sku| seen.insert(*sku))
            .filter_map(|sku| state.levels.get(sku))
            .flat_map(|at| at.values().cloned())
            .collect())
    }

    async fn reserve(&self, request: &ReservationRequest) -> Result<Reservation, InventoryError> {
        request.validate()?;
        let mut state = self.lock();
        if let Some(existing) = state.reservations.get(&request.id) {
            if existing.location == request.location && same_lines(&existing.lines, &request.lines)
            {
                return Ok(existing.clone());
            }
            return Err(InventoryError::ReservationMismatch { id: request.id });
        }
        // Check every line before holding any.
        for line in &request.lines {
            let level = state.level_mut(&line.sku, &request.location)?;
            let requested = i64::from(line.quantity.get());
            let available = level.reservable();
            if requested > available {
                return Err(InventoryError::OutOfStock {
                    sku: line.sku.clone(),
                    requested: line.quantity.get(),
                    available,
                });
            }
            if level.reserved.checked_add(requested).is_none() {
                return Err(invalid(format!("reserving {requested} of {} overflows", line.sku)));
            }
        }
        for line in &request.lines {
            let level = state.level_mut(&line.sku, &request.location)?;
            level.reserved += i64::from(line.quantity.get());
        }
        let reservation = Reservation {
            id: request.id,
            location: request.location.clone(),
            lines: request.lines.clone(),
            status: ReservationStatus::Active,
            expires_at: request.expires_at,
        };
        state.active.insert((reservation.expires_at, reservation.id));
        state.reservations.insert(reservation.id, reservation.clone());
        Ok(reservation)
    }

    async fn commit(&self, id: ReservationId) -> Result<Reservation, InventoryError> {
        let mut state = self.lock();
        let status = state
            .reservations
            .get(&id)
            .map(|r| r.status)
            .ok_or(InventoryError::ReservationNotFound { id })?;
        match status {
            ReservationStatus::Active => state
                .close(id, ReservationStatus::Committed)
                .ok_or(InventoryError::ReservationNotFound { id }),
            ReservationStatus::Committed => state
                .reservations
                .get(&id)
                .cloned()
                .ok_or(InventoryError::ReservationNotFound { id }),
            ReservationStatus::Released | ReservationStatus::Expired => {
                Err(InventoryError::ReservationClosed { id, status })
            }
        }
    }

    async fn release(&self, id: ReservationId) -> Result<Reservation, InventoryError> {
        let mut state = self.lock();
        let status = state
            .reservations
            .get(&id)
            .map(|r| r.status)
            .ok_or(InventoryError::ReservationNotFound { id })?;
        let released = match status {
            ReservationStatus::Active => state.close(id, ReservationStatus::Released),
            ReservationStatus::Committed
            | ReservationStatus::Released
            | ReservationStatus::Expired => state.reservations.get(&id).cloned(),
        };
        released.ok_or(InventoryError::ReservationNotFound { id })
    }

    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>, InventoryError> {
        Ok(self.lock().reservations.get(&id).cloned())
    }

    async fn active_reservations(&self, sku: &Sku) -> Result<Vec<Reservation>, InventoryError> {
        let state = self.lock();
        Ok(state
            .active
            .iter()
            .filter_map(|(_, id)| state.reservations.get(id))
            .filter(|r| r.lines.iter().any(|l| &l.sku == sku))
            .cloned()
            .collect())
    }

    async fn release_expired(&self, now: DateTime<Utc>) -> Result<usize, InventoryError> {
        let mut state = self.lock();
        let due: Vec<ReservationId> = state
            .active
            .iter()
            .take_while(|(expires_at, _)| *expires_at <= now)
            .map(|(_, id)| *id)
            .collect();
        for id in &due {
            state.close(*id, ReservationStatus::Expired);
        }
        Ok(due.len())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use shopkit_core::quantity::Quantity;
    use uuid::Uuid;

    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn sku(s: &str) -> Sku {
        Sku::new(s).unwrap()
    }

    fn request(lines: &[(&str, i64)]) -> ReservationRequest {
        ReservationRequest {
            id: ReservationId::from_uuid(Uuid::new_v4()),
            location: LocationId::main(),
            lines: lines
                .iter()
                .map(|(s, q)| ReservationLine { sku: sku(s), quantity: Quantity::new(*q).unwrap() })
                .collect(),
            expires_at: t0() + Duration::minutes(15),
        }
    }

    async fn stocked(items: &[(&str, i64, BackorderPolicy)]) -> MemoryInventory {
        let inventory = MemoryInventory::new();
        for (s, on_hand, policy) in items {
            inventory.set_stock(&sku(s), &LocationId::main(), *on_hand, *policy).await.unwrap();
        }
        inventory
    }

    async fn level(inventory: &MemoryInventory, s: &str) -> StockLevel {
        inventory.levels(&[sku(s)]).await.unwrap().remove(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sixty_four_racers_for_ten_units_get_exactly_ten() {
        let inventory = stocked(&[("LAST", 10, BackorderPolicy::Deny)]).await;
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let inventory = inventory.clone();
                tokio::spawn(async move { inventory.reserve(&request(&[("LAST", 1)])).await })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(InventoryError::OutOfStock { available, .. }) => assert_eq!(available, 0),
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert_eq!(won, 10);
        let last = level(&inventory, "LAST").await;
        assert_eq!((last.on_hand, last.reserved, last.available()), (10, 10, 0));
    }

    #[tokio::test]
    async fn a_short_line_holds_nothing_and_is_named_in_request_order() {
        let inventory = stocked(&[
            ("A", 5, BackorderPolicy::Deny),
            ("B", 1, BackorderPolicy::Deny),
            ("C", 0, BackorderPolicy::Deny),
        ])
        .await;

        let err = inventory.reserve(&request(&[("A", 2), ("B", 3), ("C", 1)])).await.unwrap_err();

        assert!(
            matches!(err, InventoryError::OutOfStock { ref sku, requested: 3, available: 1 } if sku.as_str() == "B")
        );
        assert_eq!(level(&inventory, "A").await.reserved, 0);
    }

    #[tokio::test]
    async fn an_unknown_sku_fails_before_anything_is_held() {
        let inventory = stocked(&[("A", 5, BackorderPolicy::Deny)]).await;
        let err = inventory.reserve(&request(&[("A", 1), ("NOPE", 1)])).await.unwrap_err();
        assert!(matches!(err, InventoryError::UnknownSku { .. }));
        assert_eq!(level(&inventory, "A").await.reserved, 0);
    }

    #[tokio::test]
    async fn a_retried_reservation_holds_stock_once() {
        let inventory =
            stocked(&[("A", 5, BackorderPolicy::Deny), ("B", 5, BackorderPolicy::Deny)]).await;
        let first = request(&[("A", 2), ("B", 1)]);
        let mut retry = first.clone();
        retry.lines.reverse();
        let mut other = first.clone();
        other.lines[0].quantity = Quantity::new(3).unwrap();

        let a = inventory.reserve(&first).await.unwrap();
        let b = inventory.reserve(&retry).await.unwrap();
        let mismatch = inventory.reserve(&other).await.unwrap_err();

        assert_eq!(a, b);
        assert_eq!(level(&inventory, "A").await.reserved, 2);
        assert!(matches!(mismatch, InventoryError::ReservationMismatch { .. }));
    }

    #[tokio::test]
    async fn commit_takes_stock_off_the_shelf_once() {
        let inventory = stocked(&[("A", 5, BackorderPolicy::Deny)]).await;
        let r = inventory.reserve(&request(&[("A", 2)])).await.unwrap();

        inventory.commit(r.id).await.unwrap();
        let again = inventory.commit(r.id).await.unwrap();
        let released = inventory.release(r.id).await.unwrap();

        assert_eq!(
            (again.status, released.status),
            (ReservationStatus::Committed, ReservationStatus::Committed)
        );
        let a = level(&inventory, "A").await;
        assert_eq!((a.on_hand, a.reserved), (3, 0));
    }

    #[tokio::test]
    async fn a_released_reservation_cannot_be_committed() {
        let inventory = stocked(&[("A", 5, BackorderPolicy::Deny)]).await;
        let r = inventory.reserve(&request(&[("A", 2)])).await.unwrap();
        inventory.release(r.id).await.unwrap();
        inventory.release(r.id).await.unwrap();

        let err = inventory.commit(r.id).await.unwrap_err();

        assert!(matches!(
            err,
            InventoryError::ReservationClosed { status: ReservationStatus::Released, .. }
        ));
        let a = level(&inventory, "A").await;
        assert_eq!((a.on_hand, a.reserved), (5, 0));
    }

    #[tokio::test]
    async fn expired_reservations_give_their_stock_back() {
        let inventory = stocked(&[("A", 5, BackorderPolicy::Deny)]).await;
        let early = inventory.reserve(&request(&[("A", 2)])).await.unwrap();
        let mut later_request = request(&[("A", 1)]);
        later_request.expires_at = t0() + Duration::hours(1);
        let later = inventory.reserve(&later_request).await.unwrap();

        let expired = inventory.release_expired(early.expires_at).await.unwrap();

        assert_eq!(expired, 1);
        assert_eq!(
            inventory.reservation(early.id).await.unwrap().unwrap().status,
            ReservationStatus::Expired
        );
        assert_eq!(inventory.active_reservations(&sku("A")).await.unwrap(), vec![later]);
        assert_eq!(level(&inventory, "A").await.reserved, 1);
        assert!(matches!(
            inventory.commit(early.id).await,
            Err(InventoryError::ReservationClosed { .. })
        ));
    }

    #[tokio::test]
    async fn adjust_cannot_take_a_deny_sku_below_its_reservations() {
        let inventory = stocked(&[("A", 5, BackorderPolicy::Deny)]).await;
        inventory.reserve(&request(&[("A", 3)])).await.unwrap();

        let err = inventory.adjust(&sku("A"), &LocationId::main(), -3).await.unwrap_err();
        let ok = inventory.adjust(&sku("A"), &LocationId::main(), -2).await.unwrap();

        assert!(matches!(err, InventoryError::Invalid { .. }));
        assert_eq!((ok.on_hand, ok.reserved), (3, 3));
        assert!(matches!(
            inventory.adjust(&sku("NOPE"), &LocationId::main(), 1).await,
            Err(InventoryError::UnknownSku { .. })
        ));
    }

    #[tokio::test]
    async fn backorders_allow_overselling_up_to_the_limit() {
        let inventory = stocked(&[("PRE", 1, BackorderPolicy::Allow { limit: Some(2) })]).await;

        inventory.reserve(&request(&[("PRE", 3)])).await.unwrap();
        let err = inventory.reserve(&request(&[("PRE", 1)])).await.unwrap_err();

        assert!(matches!(err, InventoryError::OutOfStock { available: 0, .. }));
    }

    #[tokio::test]
    async fn set_stock_keeps_reservations() {
        let inventory = stocked(&[("A", 5, BackorderPolicy::Deny)]).await;
        inventory.reserve(&request(&[("A", 2)])).await.unwrap();

        let level = inventory
            .set_stock(&sku("A"), &LocationId::main(), 8, BackorderPolicy::Deny)
            .await
            .unwrap();

        assert_eq!((level.on_hand, level.reserved), (8, 2));
    }
}

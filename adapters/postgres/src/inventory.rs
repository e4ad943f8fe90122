//! [`PgInventory`]: stock levels and reservations that never oversell.
//!
//! # Lock order
//! Every transaction that changes stock takes its locks in one order: first the
//! reservation rows (a new one is inserted, an existing one is `FOR UPDATE`d), then the
//! `inventory_levels` rows, always `ORDER BY sku, location` `FOR UPDATE`. Two transactions
//! can therefore never wait for each other in a cycle (no deadlocks between reservations
//! of overlapping SKUs, commits and releases). Should PostgreSQL still report one (or a
//! serialization failure), the whole transaction runs again.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopkit_core::ids::{LocationId, ReservationId, Sku};
use shopkit_core::inventory::{
    Adjusted, BackorderPolicy, InventoryError, Reservation, ReservationLine, ReservationRequest,
    ReservationStatus, StockAdjustment, StockLevel,
};
use shopkit_core::ports::{InventoryStore, StoreError};
use shopkit_core::quantity::Quantity;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::error::{Fail, retrying, sqlstate, store_error, violated};
use crate::shared::Shared;

type Attempt<T> = Result<T, Fail<InventoryError>>;

fn invalid(reason: impl Into<String>) -> InventoryError {
    InventoryError::Invalid { reason: reason.into() }
}

/// Adds `$3` to the on-hand stock of (`$1` SKU, `$2` location) unless that would leave
/// fewer units than are reserved (backorder SKUs excepted); returns the level. No row: the
/// SKU has no record there, or the change was refused.
const ADJUST_STOCK: &str = "UPDATE inventory_levels SET on_hand = on_hand + $3
     WHERE sku = $1 AND location = $2 AND (backorder = 'allow' OR on_hand + $3 >= reserved)
     RETURNING sku, location, on_hand, reserved, backorder, backorder_allowance";

/// Maps a database error to the inventory's terms.
fn inventory_error(e: sqlx::Error) -> InventoryError {
    if violated(&e, sqlstate::CHECK_VIOLATION) == Some("inventory_levels_no_oversell") {
        return invalid(
            "the database refused to hold more stock than can be sold; retry the reservation",
        );
    }
    if crate::error::code(&e).is_some_and(|c| c.starts_with("22")) {
        return invalid("a stock count or quantity is out of range");
    }
    InventoryError::Store(store_error(e))
}

fn into_inventory(e: Fail<InventoryError>) -> InventoryError {
    match e {
        Fail::Db(db) => inventory_error(db),
        Fail::Domain(e) => e,
    }
}

fn corrupt(what: String) -> InventoryError {
    InventoryError::Store(StoreError::Unavailable { message: what, source: None })
}

fn status_str(status: ReservationStatus) -> &'static str {
    match status {
        ReservationStatus::Active => "active",
        ReservationStatus::Committed => "committed",
        ReservationStatus::Released => "released",
        ReservationStatus::Expired => "expired",
    }
}

fn parse_status(raw: &str) -> Result<ReservationStatus, InventoryError> {
    Ok(match raw {
        "active" => ReservationStatus::Active,
        "committed" => ReservationStatus::Committed,
        "released" => ReservationStatus::Released,
        "expired" => ReservationStatus::Expired,
        other => return Err(corrupt(format!("reservation status {other:?} is unknown"))),
    })
}

/// `(backorder, backorder_allowance)` columns of a policy.
fn policy_columns(policy: BackorderPolicy) -> (&'static str, Option<i64>) {
    match policy {
        BackorderPolicy::Deny => ("deny", Some(0)),
        BackorderPolicy::Allow { limit } => ("allow", limit.map(i64::from)),
    }
}

fn level_from_row(row: &PgRow) -> Result<StockLevel, InventoryError> {
    let sku: String = row.try_get("sku").map_err(inventory_error)?;
    let location: String = row.try_get("location").map_err(inventory_error)?;
    let backorder: String = row.try_get("backorder").map_err(inventory_error)?;
    let allowance: Option<i64> = row.try_get("backorder_allowance").map_err(inventory_error)?;
    let backorder = match backorder.as_str() {
        "deny" => BackorderPolicy::Deny,
        _ => BackorderPolicy::Allow {
            limit: allowance.map(|a| u32::try_from(a).unwrap_or(u32::MAX)),
        },
    };
    Ok(StockLevel {
        sku: Sku::new(&sku).map_err(|_| corrupt(format!("stored SKU {sku:?} is invalid")))?,
        location: LocationId::new(&location)
            .map_err(|_| corrupt(format!("stored location {location:?} is invalid")))?,
        on_hand: row.try_get("on_hand").map_err(inventory_error)?,
        reserved: row.try_get("reserved").map_err(inventory_error)?,
        backorder,
    })
}

/// Microsecond precision, as `timestamptz` stores it: what a read returns later.
fn stored_instant(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

fn reservation_from_row(row: &PgRow) -> Result<Reservation, InventoryError> {
    let id: Uuid = row.try_get("id").map_err(inventory_error)?;
    let location: String = row.try_get("location").map_err(inventory_error)?;
    let status: String = row.try_get("status").map_err(inventory_error)?;
    let skus: Vec<String> = row.try_get("skus").map_err(inventory_error)?;
    let quantities: Vec<i64> = row.try_get("quantities").map_err(inventory_error)?;
    let lines = skus
        .iter()
        .zip(quantities)
        .map(|(sku, quantity)| {
            Ok(ReservationLine {
                sku: Sku::new(sku)
                    .map_err(|_| corrupt(format!("stored SKU {sku:?} is invalid")))?,
                quantity: Quantity::new(quantity)
                    .map_err(|_| corrupt(format!("stored quantity {quantity} is invalid")))?,
            })
        })
        .collect::<Result<_, InventoryError>>()?;
    Ok(Reservation {
        id: ReservationId::from_uuid(id),
        location: LocationId::new(&location)
            .map_err(|_| corrupt(format!("stored location {location:?} is invalid")))?,
        lines,
        status: parse_status(&status)?,
        expires_at: row.try_get("expires_at").map_err(inventory_error)?,
    })
}

/// Reads reservations with their lines (in request order). `lock` adds `FOR UPDATE OF r`.
macro_rules! select_reservations {
    ($($rest:literal)*) => {
        concat!(
            "SELECT r.id, r.location, r.status, r.expires_at,
                    ARRAY(SELECT l.sku FROM reservation_lines l WHERE l.reservation_id = r.id ORDER BY l.position) AS skus,
                    ARRAY(SELECT l.quantity FROM reservation_lines l WHERE l.reservation_id = r.id ORDER BY l.position) AS quantities
             FROM reservations r ",
            $($rest),*
        )
    };
}

/// Whether two line lists hold the same SKUs and quantities, in any order.
fn same_lines(a: &[ReservationLine], b: &[ReservationLine]) -> bool {
    let key = |lines: &[ReservationLine]| {
        let mut pairs: Vec<(String, u32)> =
            lines.iter().map(|l| (l.sku.as_str().to_owned(), l.quantity.get())).collect();
        pairs.sort();
        pairs
    };
    key(a) == key(b)
}

/// Ends the active reservations `ids` (locked by the caller) with `status`: gives their
/// units back (`Released`, `Expired`) or takes them off the shelf (`Committed`). Locks the
/// stock rows in SKU order first (see the module docs).
async fn close(
    conn: &mut PgConnection,
    ids: &[Uuid],
    status: ReservationStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT 1 FROM inventory_levels i
         WHERE (i.sku, i.location) IN (
             SELECT l.sku, r.location FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
             WHERE r.id = ANY($1))
         ORDER BY i.sku COLLATE \"C\", i.location COLLATE \"C\"
         FOR UPDATE OF i",
    )
    .bind(ids)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "WITH held AS (
             SELECT l.sku, r.location, sum(l.quantity) AS quantity
             FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
             WHERE r.id = ANY($1)
             GROUP BY l.sku, r.location
         ),
         stock AS (
             UPDATE inventory_levels i
             SET reserved = i.reserved - held.quantity,
                 on_hand = i.on_hand - CASE WHEN $2 = 'committed' THEN held.quantity ELSE 0 END
             FROM held
             WHERE i.sku = held.sku AND i.location = held.location
         )
         UPDATE reservations SET status = $2 WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(status_str(status))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The PostgreSQL [`InventoryStore`] (tables `inventory_levels`, `reservations`,
/// `reservation_lines`, `stock_adjustments`).
///
/// - `reserve` runs one transaction (5 round trips): claim the reservation id (`INSERT ...
///   ON CONFLICT DO NOTHING`: a concurrent retry of the same id waits for the first and
///   then returns its reservation), lock the SKUs' stock rows in SKU order, check every
///   line in request order (the first unknown SKU is `UnknownSku`, the first short one
///   `OutOfStock` with what could have been reserved), then hold every line with one
///   `UPDATE` and record the lines. Any failure rolls back: all lines or none. A trigger
///   refuses any change that would hold more than `on_hand` plus the backorder allowance,
///   whatever the code above does.
/// - A repeated `reserve` with the same id, location and lines (any order) returns the
///   stored reservation, whatever its state; other lines are `ReservationMismatch`.
/// - `commit` and `release` lock the reservation, then its stock rows, and are
///   idempotent; `commit` refuses a released or expired reservation (`ReservationClosed`);
///   `release` of a committed one returns it unchanged.
/// - `release_expired` expires every due active reservation not locked by another
///   transaction right now (`FOR UPDATE SKIP LOCKED`: a reservation being committed at
///   that moment is left to the commit).
/// - `adjust` is one conditional `UPDATE`: `Invalid` rather than take a `Deny` SKU's
///   `on_hand` below `reserved`. `adjust_once` runs the same `UPDATE` in one transaction
///   with the claim of its key (`INSERT ... ON CONFLICT DO NOTHING` into
///   `stock_adjustments`, first): a concurrent application of the key waits for the first
///   and then finds it applied; a refused update rolls the claim back. `set_stock` refuses a negative count but, being a stock
///   take, may record fewer units than are held (nothing more is then reservable).
/// - Expiry instants are stored to the microsecond; a reservation is returned as stored.
#[derive(Clone, Debug)]
pub struct PgInventory {
    shared: Arc<Shared>,
}

impl PgInventory {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        PgInventory { shared }
    }

    async fn reserve_once(&self, request: &ReservationRequest) -> Attempt<Reservation> {
        let mut tx = self.shared.pool.begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO reservations (id, location, status, expires_at) VALUES ($1, $2, 'active', $3)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(request.id.as_uuid())
        .bind(request.location.as_str())
        .bind(request.expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !claimed {
            let row = sqlx::query(select_reservations!("WHERE r.id = $1"))
                .bind(request.id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            let existing = match row {
                Some(row) => reservation_from_row(&row).map_err(Fail::Domain)?,
                None => {
                    return Err(Fail::Domain(InventoryError::Store(StoreError::Unavailable {
                        message: "a concurrent reservation with this id vanished; retry".into(),
                        source: None,
                    })));
                }
            };
            if existing.location == request.location && same_lines(&existing.lines, &request.lines)
            {
                return Ok(existing);
            }
            return Err(Fail::Domain(InventoryError::ReservationMismatch { id: request.id }));
        }

        let skus: Vec<&str> = request.lines.iter().map(|l| l.sku.as_str()).collect();
        let rows = sqlx::query(
            "SELECT sku, location, on_hand, reserved, backorder, backorder_allowance
             FROM inventory_levels
             WHERE location = $1 AND sku = ANY($2)
             ORDER BY sku COLLATE \"C\", location COLLATE \"C\"
             FOR UPDATE",
        )
        .bind(request.location.as_str())
        .bind(&skus)
        .fetch_all(&mut *tx)
        .await?;
        let mut levels = HashMap::with_capacity(rows.len());
        for row in &rows {
            let level = level_from_row(row).map_err(Fail::Domain)?;
            levels.insert(level.sku.clone(), level);
        }
        // Every line is checked against the locked rows before any is held.
        for line in &request.lines {
            let level = levels.get(&line.sku).ok_or_else(|| {
                Fail::Domain(InventoryError::UnknownSku {
                    sku: line.sku.clone(),
                    location: request.location.clone(),
                })
            })?;
            let available = level.reservable();
            if i64::from(line.quantity.get()) > available {
                return Err(Fail::Domain(InventoryError::OutOfStock {
                    sku: line.sku.clone(),
                    requested: line.quantity.get(),
                    available,
                }));
            }
        }
        let quantities: Vec<i64> =
            request.lines.iter().map(|l| i64::from(l.quantity.get())).collect();
        let positions: Vec<i32> =
            (0..request.lines.len()).map(|i| i32::try_from(i).unwrap_or(i32::MAX)).collect();
        let held: i64 = sqlx::query_scalar(
            "WITH held AS (
                 UPDATE inventory_levels i SET reserved = i.reserved + r.quantity
                 FROM unnest($2::text[], $3::int8[]) AS r(sku, quantity)
                 WHERE i.location = $1 AND i.sku = r.sku
                 RETURNING i.sku
             ),
             lines AS (
                 INSERT INTO reservation_lines (reservation_id, position, sku, quantity)
                 SELECT $4, r.position, r.sku, r.quantity
                 FROM unnest($2::text[], $3::int8[], $5::int4[]) AS r(sku, quantity, position)
             )
             SELECT count(*) FROM held",
        )
        .bind(request.location.as_str())
        .bind(&skus)
        .bind(&quantities)
        .bind(request.id.as_uuid())
        .bind(&positions)
        .fetch_one(&mut *tx)
        .await?;
        if held != request.lines.len() as i64 {
            return Err(Fail::Domain(InventoryError::Store(StoreError::Unavailable {
                message: "a stock row changed while it was locked; retry".into(),
                source: None,
            })));
        }
        tx.commit().await?;
        Ok(Reservation {
            id: request.id,
            location: request.location.clone(),
            lines: request.lines.clone(),
            status: ReservationStatus::Active,
            expires_at: stored_instant(request.expires_at),
        })
    }

    /// Commits (`Committed`) or releases (`Released`) one reservation.
    async fn finish_once(&self, id: ReservationId, to: ReservationStatus) -> Attempt<Reservation> {
        let mut tx = self.shared.pool.begin().await?;
        let row = sqlx::query(select_reservations!("WHERE r.id = $1 FOR UPDATE OF r"))
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
        let mut reservation = match row {
            Some(row) => reservation_from_row(&row).map_err(Fail::Domain)?,
            None => return Err(Fail::Domain(InventoryError::ReservationNotFound { id })),
        };
        match (reservation.status, to) {
            (ReservationStatus::Active, _) => {
                close(&mut tx, &[id.as_uuid()], to).await?;
                tx.commit().await?;
                reservation.status = to;
                Ok(reservation)
            }
            (ReservationStatus::Committed, _) => Ok(reservation),
            (
                status @ (ReservationStatus::Released | ReservationStatus::Expired),
                ReservationStatus::Committed,
            ) => Err(Fail::Domain(InventoryError::ReservationClosed { id, status })),
            (ReservationStatus::Released | ReservationStatus::Expired, _) => Ok(reservation),
        }
    }

    async fn release_expired_once(&self, now: DateTime<Utc>) -> Attempt<usize> {
        let mut tx = self.shared.pool.begin().await?;
        let due: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM reservations
             WHERE status = 'active' AND expires_at <= $1
             ORDER BY id
             FOR UPDATE SKIP LOCKED",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        if due.is_empty() {
            return Ok(0);
        }
        close(&mut tx, &due, ReservationStatus::Expired).await?;
        tx.commit().await?;
        Ok(due.len())
    }

    async fn adjust_once_attempt(&self, adjustment: &StockAdjustment) -> Attempt<Adjusted> {
        let StockAdjustment { id, sku, location, delta } = adjustment;
        let mut tx = self.shared.pool.begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO stock_adjustments (id, sku, location, delta) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.as_uuid())
        .bind(sku.as_str())
        .bind(location.as_str())
        .bind(delta)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !claimed {
            let applied: Option<(String, String, i64)> =
                sqlx::query_as("SELECT sku, location, delta FROM stock_adjustments WHERE id = $1")
                    .bind(id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
            return match applied {
                Some((s, l, d)) if s == sku.as_str() && l == location.as_str() && d == *delta => {
                    Ok(Adjusted::AlreadyApplied)
                }
                Some((s, l, d)) => Err(Fail::Domain(invalid(format!(
                    "adjustment {id} was applied as {d:+} of {s} at {l}: a key names one adjustment"
                )))),
                None => Err(Fail::Domain(InventoryError::Store(StoreError::Unavailable {
                    message: format!("adjustment {id} vanished while being applied; retry"),
                    source: None,
                }))),
            };
        }
        let row = sqlx::query(ADJUST_STOCK)
            .bind(sku.as_str())
            .bind(location.as_str())
            .bind(delta)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            // Dropping the transaction rolls the claim back: the key stays free.
            let level = sqlx::query(
                "SELECT sku, location, on_hand, reserved, backorder, backorder_allowance
                 FROM inventory_levels WHERE sku = $1 AND location = $2",
            )
            .bind(sku.as_str())
            .bind(location.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            return Err(Fail::Domain(match level {
                None => InventoryError::UnknownSku { sku: sku.clone(), location: location.clone() },
                Some(row) => {
                    let level = level_from_row(&row).map_err(Fail::Domain)?;
                    invalid(format!(
                        "cannot take {sku} at {location} to {} on hand: {} units are reserved; release reservations first",
                        level.on_hand.saturating_add(*delta),
                        level.reserved
                    ))
                }
            }));
        };
        let level = level_from_row(&row).map_err(Fail::Domain)?;
        tx.commit().await?;
        Ok(Adjusted::Applied(level))
    }

    async fn level_or_unknown(
        &self,
        sku: &Sku,
        location: &LocationId,
    ) -> Result<StockLevel, InventoryError> {
        let row = sqlx::query(
            "SELECT sku, location, on_hand, reserved, backorder, backorder_allowance
             FROM inventory_levels WHERE sku = $1 AND location = $2",
        )
        .bind(sku.as_str())
        .bind(location.as_str())
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(inventory_error)?;
        match row {
            Some(row) => level_from_row(&row),
            None => {
                Err(InventoryError::UnknownSku { sku: sku.clone(), location: location.clone() })
            }
        }
    }
}

#[async_trait]
impl InventoryStore for PgInventory {
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
        let (policy, allowance) = policy_columns(backorder);
        let row = sqlx::query(
            "INSERT INTO inventory_levels (sku, location, on_hand, reserved, backorder, backorder_allowance)
             VALUES ($1, $2, $3, 0, $4, $5)
             ON CONFLICT (sku, location) DO UPDATE
             SET on_hand = EXCLUDED.on_hand, backorder = EXCLUDED.backorder,
                 backorder_allowance = EXCLUDED.backorder_allowance
             RETURNING sku, location, on_hand, reserved, backorder, backorder_allowance",
        )
        .bind(sku.as_str())
        .bind(location.as_str())
        .bind(on_hand)
        .bind(policy)
        .bind(allowance)
        .fetch_one(&self.shared.pool)
        .await
        .map_err(inventory_error)?;
        level_from_row(&row)
    }

    async fn adjust(
        &self,
        sku: &Sku,
        location: &LocationId,
        delta: i64,
    ) -> Result<StockLevel, InventoryError> {
        let row = sqlx::query(ADJUST_STOCK)
            .bind(sku.as_str())
            .bind(location.as_str())
            .bind(delta)
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(inventory_error)?;
        if let Some(row) = row {
            return level_from_row(&row);
        }
        let level = self.level_or_unknown(sku, location).await?;
        Err(invalid(format!(
            "cannot take {sku} at {location} to {} on hand: {} units are reserved; release reservations first",
            level.on_hand.saturating_add(delta),
            level.reserved
        )))
    }

    async fn adjust_once(&self, adjustment: &StockAdjustment) -> Result<Adjusted, InventoryError> {
        retrying(|| self.adjust_once_attempt(adjustment)).await.map_err(into_inventory)
    }

    async fn levels(&self, skus: &[Sku]) -> Result<Vec<StockLevel>, InventoryError> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let skus: Vec<&str> = skus.iter().map(Sku::as_str).collect();
        let rows = sqlx::query(
            "SELECT sku, location, on_hand, reserved, backorder, backorder_allowance
             FROM inventory_levels WHERE sku = ANY($1)
             ORDER BY sku COLLATE \"C\", location COLLATE \"C\"",
        )
        .bind(skus)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(inventory_error)?;
        rows.iter().map(level_from_row).collect()
    }

    async fn reserve(&self, request: &ReservationRequest) -> Result<Reservation, InventoryError> {
        request.validate()?;
        retrying(|| self.reserve_once(request)).await.map_err(into_inventory)
    }

    async fn commit(&self, id: ReservationId) -> Result<Reservation, InventoryError> {
        retrying(|| self.finish_once(id, ReservationStatus::Committed))
            .await
            .map_err(into_inventory)
    }

    async fn release(&self, id: ReservationId) -> Result<Reservation, InventoryError> {
        retrying(|| self.finish_once(id, ReservationStatus::Released)).await.map_err(into_inventory)
    }

    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>, InventoryError> {
        let row = sqlx::query(select_reservations!("WHERE r.id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(inventory_error)?;
        row.as_ref().map(reservation_from_row).transpose()
    }

    async fn active_reservations(&self, sku: &Sku) -> Result<Vec<Reservation>, InventoryError> {
        let rows = sqlx::query(select_reservations!(
            "WHERE r.status = 'active'
               AND r.id IN (SELECT reservation_id FROM reservation_lines WHERE sku = $1)
             ORDER BY r.expires_at, r.id"
        ))
        .bind(sku.as_str())
        .fetch_all(&self.shared.pool)
        .await
        .map_err(inventory_error)?;
        rows.iter().map(reservation_from_row).collect()
    }

    async fn release_expired(&self, now: DateTime<Utc>) -> Result<usize, InventoryError> {
        retrying(|| self.release_expired_once(now)).await.map_err(into_inventory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_round_trip_through_their_columns() {
        for policy in [
            BackorderPolicy::Deny,
            BackorderPolicy::Allow { limit: None },
            BackorderPolicy::Allow { limit: Some(3) },
        ] {
            let (name, allowance) = policy_columns(policy);
            let back = match name {
                "deny" => BackorderPolicy::Deny,
                _ => BackorderPolicy::Allow { limit: allowance.map(|a| a as u32) },
            };
            assert_eq!(back, policy);
        }
    }

    #[test]
    fn stored_instants_keep_microseconds() {
        let at = DateTime::from_timestamp(1_900_000_000, 123_456_789).unwrap();

        assert_eq!(stored_instant(at).timestamp_subsec_nanos(), 123_456_000);
    }
}

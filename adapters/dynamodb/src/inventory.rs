//! [`DynamoInventory`]: stock levels and reservations.
//!
//! # Items
//! | item | `pk` | `sk` | index keys | holds |
//! |---|---|---|---|---|
//! | stock level | `STOCK#<sku>` | `LOCATION#<location>` | | `on_hand`, `reserved`, `headroom`, `policy`, `backorder_limit` |
//! | reservation | `RESERVATION#<id>` | `RESERVATION` | while active: gsi1 `RESERVATIONS-ACTIVE#<shard>` / `<expires>#<id>` | location, lines, `skus` (a string set), status, expiry |
//! | applied adjustment key | `ADJUSTMENT#<id>` | `ADJUSTMENT` | | `sku`, `location`, `delta` |
//!
//! # Never below zero, all or nothing
//! A condition expression cannot compute `on_hand - reserved`, so each stock item keeps
//! `headroom`: the units that may still be reserved (`on_hand - reserved`, plus the
//! backorder allowance of an `Allow { limit }` SKU), updated by every write in the same
//! expression as the counters it derives from. Then:
//! - **`reserve`** is ONE `TransactWriteItems`: a `Put` of the reservation under
//!   `attribute_not_exists`, and per line an `Update`
//!   `SET reserved = reserved + :q, headroom = headroom - :q` under
//!   `attribute_exists(pk) AND (policy = unlimited OR headroom >= :q)`. DynamoDB applies all
//!   of them or none; concurrent reservations of the last units serialise on the stock
//!   items' conditions, so a `Deny` SKU is never oversold. A 10-line cart is one request.
//! - A cancelled transaction says which write failed and, with
//!   `ReturnValuesOnConditionCheckFailure = ALL_OLD`, what it found: a failed reservation
//!   `Put` is a retry (same lines: the stored reservation is returned, nothing more is
//!   held; other lines: `ReservationMismatch`); a failed line is `UnknownSku` (no item) or
//!   `OutOfStock { sku, requested, available }` for the FIRST such line in request order.
//!   That is also why a retried checkout never reserves twice without a `ClientRequestToken`
//!   (which moto does not emulate): the reservation's own key is the idempotency key.
//! - **`commit` / `release`** read the reservation (one consistent `GetItem`) and close it
//!   in one transaction: the reservation under `status = active` (so two closers cannot
//!   both give stock back) plus one `Update` per line.
//! - **`adjust_once`** is ONE `TransactWriteItems`: a `Put` of the adjustment's key item
//!   under `attribute_not_exists` and the `Update` of `adjust` (same condition). Both or
//!   neither: a key is recorded exactly when its delta is applied. A failed `Put` means
//!   the key was applied before (`AlreadyApplied`, or `Invalid` if it was applied with
//!   other values); a failed `Update` alone is `UnknownSku` or `Invalid` and records nothing.
//!   Concurrent applications of one key conflict or fail the `Put` condition: one applies.
//! - **`release_expired`** queries the active reservations due at `now` on gsi1 (a sparse
//!   index: the keys are removed when a reservation closes) and closes each one as above.
//!   The active partition is split in 8 shards (by reservation id) so checkouts do not
//!   all write one index partition.
//!
//! Limits: one transaction holds 100 writes, so a reservation holds at most 99 lines
//! (`Invalid` beyond, before anything is sent). Closed reservations get a TTL 30 days
//! after their expiry (a retried commit or release within that time is still
//! idempotent); active ones never expire by TTL (that would leak held stock). Adjustment
//! keys never expire (a dead outbox entry may be redelivered by hand at any time).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt as _;
use futures::TryStreamExt as _;
use shopkit_core::ids::{AdjustmentId, LocationId, ReservationId, Sku};
use shopkit_core::inventory::{
    Adjusted, BackorderPolicy, InventoryError, Reservation, ReservationLine, ReservationRequest,
    ReservationStatus, StockAdjustment, StockLevel,
};
use shopkit_core::ports::{InventoryStore, StoreError};
use shopkit_core::quantity::Quantity;

use crate::config::DynamoConfig;
use crate::db::{Db, Reason, TRANSACTION_LIMIT, TransactError};
use crate::error::{corrupt, store_error};
use crate::item::{Item, Reader, epoch_seconds, key, n, s, time, time_key};
use crate::table::{GSI1, GSI1PK, GSI1SK, PK, TTL};
use crate::write::{Expr, put, update};

/// How many shards the active-reservations index partition is split into.
const ACTIVE_SHARDS: u8 = 8;

/// The most lines of one reservation: a transaction of 100 writes, one of them the
/// reservation itself.
pub(crate) const MAX_LINES: usize = TRANSACTION_LIMIT - 1;

/// How many SKUs `levels` reads at once, and reservations `release_expired` closes at once.
const CONCURRENCY: usize = 16;

/// How often `commit` / `release` re-read a reservation that another caller changed
/// between their read and their write.
const CLOSE_ATTEMPTS: usize = 5;

/// How long a closed reservation stays readable past its expiry.
const CLOSED_RETENTION_DAYS: i64 = 30;

fn stock_key(sku: &Sku, location: &LocationId) -> Item {
    key(format!("STOCK#{sku}"), format!("LOCATION#{location}"))
}

fn reservation_key(id: ReservationId) -> Item {
    key(format!("RESERVATION#{id}"), "RESERVATION")
}

fn adjustment_key(id: AdjustmentId) -> Item {
    key(format!("ADJUSTMENT#{id}"), "ADJUSTMENT")
}

fn stored_adjustment(adjustment: &StockAdjustment) -> Item {
    let mut item = adjustment_key(adjustment.id);
    item.extend([
        ("entity".to_owned(), s("stock_adjustment")),
        ("id".to_owned(), s(adjustment.id.to_string())),
        ("sku".to_owned(), s(adjustment.sku.as_str())),
        ("location".to_owned(), s(adjustment.location.as_str())),
        ("delta".to_owned(), n(adjustment.delta)),
    ]);
    item
}

/// Whether a stored key item records `adjustment` (same SKU, location and delta).
fn records(item: &Item, adjustment: &StockAdjustment) -> Result<bool, StoreError> {
    let r = Reader::new(item, "stock adjustment");
    Ok(r.str("sku")? == adjustment.sku.as_str()
        && r.str("location")? == adjustment.location.as_str()
        && r.i64("delta")? == adjustment.delta)
}

fn shard(id: ReservationId) -> u8 {
    id.as_uuid().as_bytes()[15] % ACTIVE_SHARDS
}

fn invalid(reason: impl Into<String>) -> InventoryError {
    InventoryError::Invalid { reason: reason.into() }
}

/// The stored form of a backorder policy: `(policy, backorder_limit)`.
fn policy_code(policy: BackorderPolicy) -> (&'static str, u32) {
    match policy {
        BackorderPolicy::Deny => ("deny", 0),
        BackorderPolicy::Allow { limit: Some(limit) } => ("allow", limit),
        BackorderPolicy::Allow { limit: None } => ("unlimited", 0),
    }
}

fn decode_level(item: &Item) -> Result<StockLevel, StoreError> {
    let r = Reader::new(item, "stock level");
    let backorder = match r.str("policy")? {
        "deny" => BackorderPolicy::Deny,
        "allow" => BackorderPolicy::Allow { limit: Some(r.u32("backorder_limit")?) },
        "unlimited" => BackorderPolicy::Allow { limit: None },
        other => return Err(corrupt("stock level", format_args!("unknown policy {other:?}"))),
    };
    Ok(StockLevel {
        sku: Sku::new(r.str("sku")?).map_err(|e| corrupt("stock level", e))?,
        location: LocationId::new(r.str("location")?).map_err(|e| corrupt("stock level", e))?,
        on_hand: r.i64("on_hand")?,
        reserved: r.i64("reserved")?,
        backorder,
    })
}

fn status_code(status: ReservationStatus) -> &'static str {
    match status {
        ReservationStatus::Active => "active",
        ReservationStatus::Committed => "committed",
        ReservationStatus::Released => "released",
        ReservationStatus::Expired => "expired",
    }
}

fn stored_reservation(reservation: &Reservation) -> Item {
    let lines = reservation
        .lines
        .iter()
        .map(|l| {
            AttributeValue::M(HashMap::from([
                ("sku".to_owned(), s(l.sku.as_str())),
                ("quantity".to_owned(), n(l.quantity.get())),
            ]))
        })
        .collect();
    let mut item = reservation_key(reservation.id);
    item.extend([
        ("entity".to_owned(), s("reservation")),
        ("id".to_owned(), s(reservation.id.to_string())),
        ("location".to_owned(), s(reservation.location.as_str())),
        ("lines".to_owned(), AttributeValue::L(lines)),
        (
            "skus".to_owned(),
            AttributeValue::Ss(
                reservation.lines.iter().map(|l| l.sku.as_str().to_owned()).collect(),
            ),
        ),
        ("status".to_owned(), s(status_code(reservation.status))),
        ("expires_at".to_owned(), time(reservation.expires_at)),
        (GSI1PK.to_owned(), s(format!("RESERVATIONS-ACTIVE#{}", shard(reservation.id)))),
        (GSI1SK.to_owned(), s(format!("{}#{}", time_key(reservation.expires_at), reservation.id))),
    ]);
    item
}

fn decode_reservation(item: &Item) -> Result<Reservation, StoreError> {
    const WHAT: &str = "reservation";
    let r = Reader::new(item, WHAT);
    let status = match r.str("status")? {
        "active" => ReservationStatus::Active,
        "committed" => ReservationStatus::Committed,
        "released" => ReservationStatus::Released,
        "expired" => ReservationStatus::Expired,
        other => return Err(corrupt(WHAT, format_args!("unknown status {other:?}"))),
    };
    let lines = r
        .list("lines")?
        .iter()
        .map(|line| {
            let AttributeValue::M(line) = line else {
                return Err(corrupt(WHAT, "a line is not a map"));
            };
            let l = Reader::new(line, WHAT);
            Ok(ReservationLine {
                sku: Sku::new(l.str("sku")?).map_err(|e| corrupt(WHAT, e))?,
                quantity: Quantity::new(l.i64("quantity")?).map_err(|e| corrupt(WHAT, e))?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Reservation {
        id: r.parse("id")?,
        location: LocationId::new(r.str("location")?).map_err(|e| corrupt(WHAT, e))?,
        lines,
        status,
        expires_at: r.time("expires_at")?,
    })
}

/// Whether two line lists hold the same SKUs and quantities, in any order.
fn same_lines(a: &[ReservationLine], b: &[ReservationLine]) -> bool {
    fn sorted(lines: &[ReservationLine]) -> Vec<(&str, u32)> {
        let mut pairs: Vec<(&str, u32)> =
            lines.iter().map(|l| (l.sku.as_str(), l.quantity.get())).collect();
        pairs.sort_unstable();
        pairs
    }
    sorted(a) == sorted(b)
}

/// What closing a reservation does to its stock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closing {
    /// The units leave the shelf: `on_hand` and `reserved` drop.
    Commit,
    /// The units go back: `reserved` drops, `headroom` grows.
    GiveBack(ReservationStatus),
}

/// The [`InventoryStore`] on DynamoDB (see the module docs for the items and conditions).
///
/// - `reserve` is one transaction, whatever the number of lines (up to 99); `OutOfStock`
///   names the first short SKU in request order with the units that were available.
/// - `commit` and `release` are a consistent read and one transaction; both are
///   idempotent, `commit` of a released or expired reservation is `ReservationClosed`.
/// - `adjust` is one conditional `UpdateItem`: it never takes `on_hand` below `reserved`
///   for a `Deny` SKU (`Invalid`); `set_stock` is one `UpdateItem` that keeps `reserved`.
/// - `adjust_once` is one transaction: the key item (`attribute_not_exists`) and the
///   update of `adjust`, both or neither.
/// - `levels` is one consistent `Query` per SKU (every location), 16 at a time.
///
/// Clones share the client.
#[derive(Clone, Debug)]
pub struct DynamoInventory {
    db: Db,
}

impl DynamoInventory {
    /// The inventory on `config`'s table (create it with [`create_tables`](crate::create_tables)).
    pub fn new(client: Client, config: &DynamoConfig) -> Self {
        DynamoInventory { db: Db::new(client, config) }
    }

    async fn levels_of(&self, sku: &Sku) -> Result<Vec<StockLevel>, StoreError> {
        let mut levels = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .db
                .client
                .query()
                .table_name(&*self.db.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", s(format!("STOCK#{sku}")))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error("Query", &self.db.table, e))?;
            for item in out.items() {
                levels.push(decode_level(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(levels);
            }
        }
    }

    /// The ids of active reservations in one shard of the index, optionally only those due
    /// at `due` or holding `sku`.
    async fn active_ids(
        &self,
        shard: u8,
        due: Option<DateTime<Utc>>,
        sku: Option<&Sku>,
    ) -> Result<Vec<ReservationId>, StoreError> {
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let mut condition = "#pk = :pk".to_owned();
            let mut request = self
                .db
                .client
                .query()
                .table_name(&*self.db.table)
                .index_name(GSI1)
                .expression_attribute_names("#pk", GSI1PK)
                .expression_attribute_values(":pk", s(format!("RESERVATIONS-ACTIVE#{shard}")))
                .set_exclusive_start_key(start);
            if let Some(now) = due {
                // `<expires>#<id>` sorts below `<now>$` exactly when expires <= now (to the µs).
                condition.push_str(" AND #sk < :due");
                request = request
                    .expression_attribute_names("#sk", GSI1SK)
                    .expression_attribute_values(":due", s(format!("{}$", time_key(now))));
            }
            if let Some(sku) = sku {
                request = request
                    .filter_expression("contains(#skus, :sku)")
                    .expression_attribute_names("#skus", "skus")
                    .expression_attribute_values(":sku", s(sku.as_str()));
            }
            let out = request
                .key_condition_expression(condition)
                .send()
                .await
                .map_err(|e| store_error("Query", &self.db.table, e))?;
            for item in out.items() {
                ids.push(Reader::new(item, "reservation").parse::<ReservationId>("id")?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(ids);
            }
        }
    }

    /// Closes an active reservation as `closing` says, in one transaction. `Ok(None)` when
    /// it was not active any more at the write (another caller closed it first).
    async fn close(
        &self,
        reservation: &Reservation,
        closing: Closing,
    ) -> Result<Option<Reservation>, InventoryError> {
        let table = &*self.db.table;
        let status = match closing {
            Closing::Commit => ReservationStatus::Committed,
            Closing::GiveBack(status) => status,
        };
        let retention = reservation.expires_at + Duration::days(CLOSED_RETENTION_DAYS);
        let close = Expr::new()
            .name("#status", "status")
            .name("#ttl", TTL)
            .name("#g1pk", GSI1PK)
            .name("#g1sk", GSI1SK)
            .value(":active", s("active"))
            .value(":new", s(status_code(status)))
            .value(":ttl", epoch_seconds(retention));
        let mut writes = vec![update(
            table,
            reservation_key(reservation.id),
            "SET #status = :new, #ttl = :ttl REMOVE #g1pk, #g1sk",
            Some("#status = :active"),
            &close,
        )?];
        // `#counter` is `on_hand` for a sale, `headroom` for units given back.
        let (stock_update, counter) = match closing {
            Closing::Commit => {
                ("SET #counter = #counter - :q, #reserved = #reserved - :q", "on_hand")
            }
            Closing::GiveBack(_) => {
                ("SET #reserved = #reserved - :q, #counter = #counter + :q", "headroom")
            }
        };
        for line in &reservation.lines {
            let expr = Expr::new()
                .name("#pk", PK)
                .name("#reserved", "reserved")
                .name("#counter", counter)
                .value(":q", n(line.quantity.get()));
            writes.push(update(
                table,
                stock_key(&line.sku, &reservation.location),
                stock_update,
                Some("attribute_exists(#pk)"),
                &expr,
            )?);
        }
        let what = format!("closing reservation {}", reservation.id);
        match self.db.transact(writes, &what, "").await {
            Ok(()) => Ok(Some(Reservation { status, ..reservation.clone() })),
            Err(TransactError::Store(e)) => Err(e.into()),
            Err(TransactError::Cancelled(reasons)) => {
                if reasons.first().is_some_and(Reason::condition_failed) {
                    return Ok(None);
                }
                let missing = reasons
                    .iter()
                    .skip(1)
                    .zip(&reservation.lines)
                    .find(|(r, _)| r.condition_failed())
                    .map(|(_, l)| l.sku.to_string())
                    .unwrap_or_default();
                Err(StoreError::Unavailable {
                    message: format!(
                        "reservation {} holds {missing} at {}, which has no stock record any more: restore the record with set_stock",
                        reservation.id, reservation.location
                    ),
                    source: None,
                }
                .into())
            }
        }
    }

    /// Commits or releases `id`, re-reading when another caller changed it in between.
    async fn finish(
        &self,
        id: ReservationId,
        closing: Closing,
    ) -> Result<Reservation, InventoryError> {
        for _ in 0..CLOSE_ATTEMPTS {
            let current =
                self.reservation(id).await?.ok_or(InventoryError::ReservationNotFound { id })?;
            match (closing, current.status) {
                (_, ReservationStatus::Active) => {
                    if let Some(closed) = self.close(&current, closing).await? {
                        return Ok(closed);
                    }
                }
                (Closing::Commit, ReservationStatus::Committed) => return Ok(current),
                (Closing::Commit, status) => {
                    return Err(InventoryError::ReservationClosed { id, status });
                }
                (Closing::GiveBack(_), _) => return Ok(current),
            }
        }
        Err(StoreError::Unavailable {
            message: format!("reservation {id} kept changing while being closed ({CLOSE_ATTEMPTS} attempts): retry"),
            source: None,
        }
        .into())
    }

    /// Expires `id` if it is still active and due at `now`; whether this call expired it.
    async fn expire(&self, id: ReservationId, now: DateTime<Utc>) -> Result<bool, InventoryError> {
        let Some(current) = self.reservation(id).await? else {
            return Ok(false);
        };
        if current.status != ReservationStatus::Active || current.expires_at > now {
            return Ok(false);
        }
        Ok(self.close(&current, Closing::GiveBack(ReservationStatus::Expired)).await?.is_some())
    }

    /// The outcome of a cancelled `adjust_once` transaction: the key was applied before
    /// (with these values or others), or the stock update was refused.
    async fn explain_adjustment(
        &self,
        adjustment: &StockAdjustment,
        reasons: &[Reason],
    ) -> Result<Adjusted, InventoryError> {
        let StockAdjustment { id, sku, location, delta } = adjustment;
        if let Some(claim) = reasons.first().filter(|r| r.condition_failed()) {
            let stored = match &claim.item {
                Some(item) => Some(item.clone()),
                None => self.db.get(adjustment_key(*id)).await?,
            };
            return match stored {
                Some(item) if records(&item, adjustment)? => Ok(Adjusted::AlreadyApplied),
                Some(_) => Err(invalid(format!(
                    "adjustment {id} was applied to other values than {delta:+} of {sku} at {location}: a key names one adjustment"
                ))),
                None => Err(StoreError::Unavailable {
                    message: format!("adjustment {id} vanished while being applied: retry"),
                    source: None,
                }
                .into()),
            };
        }
        if let Some(stock) = reasons.get(1).filter(|r| r.condition_failed()) {
            return Err(match &stock.item {
                None => InventoryError::UnknownSku { sku: sku.clone(), location: location.clone() },
                Some(item) => {
                    let level = decode_level(item)?;
                    invalid(format!(
                        "cannot take {sku} at {location} to {} on hand: {} units are reserved; release reservations first",
                        i128::from(level.on_hand) + i128::from(*delta),
                        level.reserved
                    ))
                }
            });
        }
        Err(StoreError::Unavailable {
            message: format!(
                "DynamoDB cancelled adjustment {id} without naming a failed condition: retry"
            ),
            source: None,
        }
        .into())
    }

    /// The error for a cancelled reservation transaction: a retry (same or other lines),
    /// an unknown SKU or the first short line, in request order.
    async fn explain(
        &self,
        request: &ReservationRequest,
        reasons: &[Reason],
    ) -> Result<Reservation, InventoryError> {
        if let Some(existing) = reasons.first().filter(|r| r.condition_failed()) {
            let stored = match &existing.item {
                Some(item) => Some(decode_reservation(item)?),
                None => self.reservation(request.id).await?,
            };
            return match stored {
                Some(stored)
                    if stored.location == request.location
                        && same_lines(&stored.lines, &request.lines) =>
                {
                    Ok(stored)
                }
                Some(_) => Err(InventoryError::ReservationMismatch { id: request.id }),
                None => Err(StoreError::Unavailable {
                    message: format!(
                        "reservation {} vanished while being retried: retry",
                        request.id
                    ),
                    source: None,
                }
                .into()),
            };
        }
        for (line, reason) in request.lines.iter().zip(reasons.iter().skip(1)) {
            if !reason.condition_failed() {
                continue;
            }
            let level = match &reason.item {
                Some(item) => Some(decode_level(item)?),
                None => self
                    .db
                    .get(stock_key(&line.sku, &request.location))
                    .await?
                    .as_ref()
                    .map(decode_level)
                    .transpose()?,
            };
            return Err(match level {
                None => InventoryError::UnknownSku {
                    sku: line.sku.clone(),
                    location: request.location.clone(),
                },
                Some(level) => InventoryError::OutOfStock {
                    sku: line.sku.clone(),
                    requested: line.quantity.get(),
                    available: level.reservable(),
                },
            });
        }
        Err(StoreError::Unavailable {
            message: format!(
                "DynamoDB cancelled reservation {} without naming a failed condition: retry",
                request.id
            ),
            source: None,
        }
        .into())
    }
}

#[async_trait]
impl InventoryStore for DynamoInventory {
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
        let (policy, limit) = policy_code(backorder);
        let out = self
            .db
            .client
            .update_item()
            .table_name(&*self.db.table)
            .set_key(Some(stock_key(sku, location)))
            .update_expression(
                "SET #entity = :entity, #sku = :sku, #location = :location, #on_hand = :on_hand, \
                 #policy = :policy, #limit = :limit, #reserved = if_not_exists(#reserved, :zero), \
                 #headroom = :base - if_not_exists(#reserved, :zero)",
            )
            .expression_attribute_names("#entity", "entity")
            .expression_attribute_names("#sku", "sku")
            .expression_attribute_names("#location", "location")
            .expression_attribute_names("#on_hand", "on_hand")
            .expression_attribute_names("#policy", "policy")
            .expression_attribute_names("#limit", "backorder_limit")
            .expression_attribute_names("#reserved", "reserved")
            .expression_attribute_names("#headroom", "headroom")
            .expression_attribute_values(":entity", s("stock"))
            .expression_attribute_values(":sku", s(sku.as_str()))
            .expression_attribute_values(":location", s(location.as_str()))
            .expression_attribute_values(":on_hand", n(on_hand))
            .expression_attribute_values(":policy", s(policy))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":base", n(i128::from(on_hand) + i128::from(limit)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", &self.db.table, e))?;
        let item = out
            .attributes
            .ok_or_else(|| corrupt("stock level", "UpdateItem returned no attributes"))?;
        Ok(decode_level(&item)?)
    }

    async fn adjust(
        &self,
        sku: &Sku,
        location: &LocationId,
        delta: i64,
    ) -> Result<StockLevel, InventoryError> {
        let neg = delta
            .checked_neg()
            .ok_or_else(|| invalid(format!("adjusting {sku} by {delta} overflows")))?;
        let sent = self
            .db
            .client
            .update_item()
            .table_name(&*self.db.table)
            .set_key(Some(stock_key(sku, location)))
            .update_expression("SET #on_hand = #on_hand + :delta, #headroom = #headroom + :delta")
            .condition_expression(
                "attribute_exists(#pk) AND (#policy <> :deny OR #headroom >= :neg)",
            )
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#on_hand", "on_hand")
            .expression_attribute_names("#headroom", "headroom")
            .expression_attribute_names("#policy", "policy")
            .expression_attribute_values(":delta", n(delta))
            .expression_attribute_values(":neg", n(neg))
            .expression_attribute_values(":deny", s("deny"))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(out) => {
                let item = out
                    .attributes
                    .ok_or_else(|| corrupt("stock level", "UpdateItem returned no attributes"))?;
                Ok(decode_level(&item)?)
            }
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    match failed.item() {
                        None => Err(InventoryError::UnknownSku {
                            sku: sku.clone(),
                            location: location.clone(),
                        }),
                        Some(item) => {
                            let level = decode_level(item)?;
                            Err(invalid(format!(
                                "cannot take {sku} at {location} to {} on hand: {} units are reserved; release reservations first",
                                i128::from(level.on_hand) + i128::from(delta),
                                level.reserved
                            )))
                        }
                    }
                }
                _ => Err(store_error("UpdateItem", &self.db.table, e).into()),
            },
        }
    }

    async fn adjust_once(&self, adjustment: &StockAdjustment) -> Result<Adjusted, InventoryError> {
        let StockAdjustment { id, sku, location, delta } = adjustment;
        let neg = delta
            .checked_neg()
            .ok_or_else(|| invalid(format!("adjusting {sku} by {delta} overflows")))?;
        let table = &*self.db.table;
        let claim = put(
            table,
            stored_adjustment(adjustment),
            Some("attribute_not_exists(#pk)"),
            &Expr::new().name("#pk", PK),
        )?;
        let stock = Expr::new()
            .name("#pk", PK)
            .name("#on_hand", "on_hand")
            .name("#headroom", "headroom")
            .name("#policy", "policy")
            .value(":delta", n(delta))
            .value(":neg", n(neg))
            .value(":deny", s("deny"));
        let change = update(
            table,
            stock_key(sku, location),
            "SET #on_hand = #on_hand + :delta, #headroom = #headroom + :delta",
            Some("attribute_exists(#pk) AND (#policy <> :deny OR #headroom >= :neg)"),
            &stock,
        )?;
        let what = format!("adjustment {id}");
        match self.db.transact(vec![claim, change], &what, "").await {
            Ok(()) => {
                // A transaction returns no attributes: read the level it wrote.
                let item = self.db.get(stock_key(sku, location)).await?.ok_or_else(|| {
                    corrupt("stock level", "the stock item vanished after an adjustment")
                })?;
                Ok(Adjusted::Applied(decode_level(&item)?))
            }
            Err(TransactError::Store(e)) => Err(e.into()),
            Err(TransactError::Cancelled(reasons)) => {
                self.explain_adjustment(adjustment, &reasons).await
            }
        }
    }

    async fn levels(&self, skus: &[Sku]) -> Result<Vec<StockLevel>, InventoryError> {
        // A plain loop, not a lazy iterator of closures held across `.await` (which trips
        // the `Send` inference of `async_trait`).
        let mut seen = std::collections::HashSet::new();
        let mut reads = Vec::with_capacity(skus.len());
        for sku in skus {
            if seen.insert(sku) {
                reads.push(self.levels_of(sku));
            }
        }
        let per_sku: Vec<Vec<StockLevel>> =
            futures::stream::iter(reads).buffered(CONCURRENCY).try_collect().await?;
        Ok(per_sku.into_iter().flatten().collect())
    }

    async fn reserve(&self, request: &ReservationRequest) -> Result<Reservation, InventoryError> {
        request.validate()?;
        if request.lines.len() > MAX_LINES {
            return Err(invalid(format!(
                "a reservation holds at most {MAX_LINES} lines in DynamoDB (one transaction of {TRANSACTION_LIMIT} writes, one of them the reservation), got {}: split the order",
                request.lines.len()
            )));
        }
        let reservation = Reservation {
            id: request.id,
            location: request.location.clone(),
            lines: request.lines.clone(),
            status: ReservationStatus::Active,
            expires_at: request.expires_at,
        };
        let table = &*self.db.table;
        let mut writes = vec![put(
            table,
            stored_reservation(&reservation),
            Some("attribute_not_exists(#pk)"),
            &Expr::new().name("#pk", PK),
        )?];
        for line in &request.lines {
            let expr = Expr::new()
                .name("#pk", PK)
                .name("#reserved", "reserved")
                .name("#headroom", "headroom")
                .name("#policy", "policy")
                .value(":q", n(line.quantity.get()))
                .value(":unlimited", s("unlimited"));
            writes.push(update(
                table,
                stock_key(&line.sku, &request.location),
                "SET #reserved = #reserved + :q, #headroom = #headroom - :q",
                Some("attribute_exists(#pk) AND (#policy = :unlimited OR #headroom >= :q)"),
                &expr,
            )?);
        }
        let what = format!("reservation {}", request.id);
        match self.db.transact(writes, &what, "split the order").await {
            Ok(()) => Ok(reservation),
            Err(TransactError::Store(e)) => Err(e.into()),
            Err(TransactError::Cancelled(reasons)) => self.explain(request, &reasons).await,
        }
    }

    async fn commit(&self, id: ReservationId) -> Result<Reservation, InventoryError> {
        self.finish(id, Closing::Commit).await
    }

    async fn release(&self, id: ReservationId) -> Result<Reservation, InventoryError> {
        self.finish(id, Closing::GiveBack(ReservationStatus::Released)).await
    }

    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>, InventoryError> {
        let item = self.db.get(reservation_key(id)).await?;
        Ok(item.as_ref().map(decode_reservation).transpose()?)
    }

    async fn active_reservations(&self, sku: &Sku) -> Result<Vec<Reservation>, InventoryError> {
        let shards = (0..ACTIVE_SHARDS).map(|shard| self.active_ids(shard, None, Some(sku)));
        let ids: Vec<ReservationId> =
            futures::future::try_join_all(shards).await?.into_iter().flatten().collect();
        // The index lags: re-read consistently and keep what is still active.
        let items = self.db.batch_get(ids.into_iter().map(reservation_key).collect()).await?;
        let mut active = Vec::new();
        for item in &items {
            let r = decode_reservation(item)?;
            if r.status == ReservationStatus::Active && r.lines.iter().any(|l| &l.sku == sku) {
                active.push(r);
            }
        }
        active.sort_by(|a, b| a.expires_at.cmp(&b.expires_at).then_with(|| a.id.cmp(&b.id)));
        Ok(active)
    }

    async fn release_expired(&self, now: DateTime<Utc>) -> Result<usize, InventoryError> {
        let shards = (0..ACTIVE_SHARDS).map(|shard| self.active_ids(shard, Some(now), None));
        let due: Vec<ReservationId> =
            futures::future::try_join_all(shards).await?.into_iter().flatten().collect();
        let mut expiries = Vec::with_capacity(due.len());
        for id in due {
            expiries.push(self.expire(id, now));
        }
        let expired: Vec<bool> =
            futures::stream::iter(expiries).buffer_unordered(CONCURRENCY).try_collect().await?;
        Ok(expired.into_iter().filter(|e| *e).count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, q: i64) -> ReservationLine {
        ReservationLine { sku: Sku::new(sku).unwrap(), quantity: Quantity::new(q).unwrap() }
    }

    #[test]
    fn lines_are_the_same_in_any_order() {
        assert!(same_lines(&[line("A", 1), line("B", 2)], &[line("B", 2), line("A", 1)]));
        assert!(!same_lines(&[line("A", 1)], &[line("A", 2)]));
    }

    #[test]
    fn a_reservation_survives_the_round_trip() {
        let r = Reservation {
            id: ReservationId::from_uuid(uuid::Uuid::new_v4()),
            location: LocationId::main(),
            lines: vec![line("B", 2), line("A", 1)],
            status: ReservationStatus::Active,
            expires_at: DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000),
        };
        assert_eq!(decode_reservation(&stored_reservation(&r)).unwrap(), r);
    }

    #[test]
    fn policies_round_trip_through_their_stored_form() {
        for policy in [
            BackorderPolicy::Deny,
            BackorderPolicy::Allow { limit: Some(3) },
            BackorderPolicy::Allow { limit: None },
        ] {
            let (code, limit) = policy_code(policy);
            let item = Item::from([
                ("sku".to_owned(), s("A")),
                ("location".to_owned(), s("main")),
                ("on_hand".to_owned(), n(5)),
                ("reserved".to_owned(), n(1)),
                ("policy".to_owned(), s(code)),
                ("backorder_limit".to_owned(), n(limit)),
            ]);
            assert_eq!(decode_level(&item).unwrap().backorder, policy);
        }
    }
}

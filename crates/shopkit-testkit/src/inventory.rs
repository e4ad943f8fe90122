//! Contracts of [`InventoryStore`]: all-or-nothing reservations that never oversell under
//! any concurrency, idempotent retries, commit / release / expiry, and stock adjustments
//! (plain, and keyed ones applied once).
//!
//! Each contract takes a fresh, empty store.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Duration;
use shopkit_core::ids::{AdjustmentId, LocationId, ReservationId, Sku};
use shopkit_core::inventory::{
    Adjusted, BackorderPolicy, InventoryError, Reservation, ReservationRequest, ReservationStatus,
    StockAdjustment, StockLevel,
};
use shopkit_core::ports::InventoryStore;

use crate::fixtures::{at, reservation, t0, unique_sku};
use crate::support::{Must, race};

/// Stocks a fresh SKU at `main` with `on_hand` units and `Deny` backorders.
async fn stocked(store: &dyn InventoryStore, on_hand: i64) -> Sku {
    let sku = unique_sku();
    store
        .set_stock(&sku, &LocationId::main(), on_hand, BackorderPolicy::Deny)
        .await
        .must("set the stock of a fresh SKU");
    sku
}

/// The stock of `sku` at `main`.
async fn level(store: &dyn InventoryStore, sku: &Sku) -> StockLevel {
    store
        .levels(std::slice::from_ref(sku))
        .await
        .must("read stock levels")
        .into_iter()
        .find(|l| &l.sku == sku && l.location == LocationId::main())
        .must("find the stock record just set")
}

fn expires() -> chrono::DateTime<chrono::Utc> {
    t0() + Duration::minutes(15)
}

/// `reserve` holds every line or none: when one SKU falls short, the other lines stay
/// unheld and the error is `OutOfStock` for the short SKU.
pub async fn reserve_is_all_or_nothing(store: Arc<dyn InventoryStore>) {
    // Arrange
    let plenty = stocked(&*store, 5).await;
    let scarce = stocked(&*store, 1).await;
    let request = reservation(&[(&plenty, 2), (&scarce, 2)], expires());

    // Act
    let result = store.reserve(&request).await;

    // Assert
    match result {
        Err(InventoryError::OutOfStock { sku, requested, available }) => {
            assert_eq!(sku, scarce, "OutOfStock must name the SKU that fell short");
            assert_eq!(requested, 2, "OutOfStock must report the units asked for");
            assert_eq!(available, 1, "OutOfStock must report the units available");
        }
        other => {
            panic!("reserving more than is available must fail with OutOfStock, got {other:?}")
        }
    }
    assert_eq!(level(&*store, &plenty).await.reserved, 0, "a failed reservation must hold no line");
    assert_eq!(level(&*store, &scarce).await.reserved, 0, "a failed reservation must hold no line");
    let held = store.reservation(request.id).await.must("look up the failed reservation");
    assert!(
        held.as_ref().is_none_or(|r| r.status != ReservationStatus::Active),
        "a failed reservation must not be stored as active: {held:?}"
    );
}

/// When several lines fall short, `OutOfStock` names the first of them in request order.
pub async fn out_of_stock_names_the_first_short_sku_in_request_order(
    store: Arc<dyn InventoryStore>,
) {
    // Arrange
    let fine = stocked(&*store, 10).await;
    let first_short = stocked(&*store, 0).await;
    let second_short = stocked(&*store, 1).await;
    let request = reservation(&[(&fine, 1), (&first_short, 1), (&second_short, 5)], expires());

    // Act
    let result = store.reserve(&request).await;

    // Assert
    match result {
        Err(InventoryError::OutOfStock { sku, .. }) => {
            assert_eq!(
                sku, first_short,
                "OutOfStock must name the FIRST short SKU in request order"
            );
        }
        other => panic!("expected OutOfStock, got {other:?}"),
    }
}

/// 64 tasks race to reserve 1 unit each of a SKU with 10: exactly 10 succeed, the rest
/// are `OutOfStock`, and `reserved == on_hand == 10` with availability never negative.
pub async fn concurrent_reservations_never_oversell(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;

    // Act
    let results = race(64, |_| {
        let store = Arc::clone(&store);
        let request = reservation(&[(&sku, 1)], expires());
        async move { store.reserve(&request).await }
    })
    .await;

    // Assert
    let mut won = 0;
    for r in &results {
        match r {
            Ok(res) => {
                assert_eq!(res.status, ReservationStatus::Active);
                won += 1;
            }
            Err(InventoryError::OutOfStock { .. }) => {}
            Err(e) => panic!("a losing reservation must be OutOfStock, got {e:?}"),
        }
    }
    assert_eq!(won, 10, "exactly the 10 units on hand must be reservable by 64 racing tasks");
    let after = level(&*store, &sku).await;
    assert_eq!(after.on_hand, 10, "reserving must not change on_hand");
    assert_eq!(after.reserved, 10, "reserved must equal the units won");
    assert!(after.available() >= 0, "available must never go negative: {after:?}");
    let active = store.active_reservations(&sku).await.must("list active reservations");
    assert_eq!(active.len(), 10, "each winner must hold exactly one active reservation");
}

/// Reservations of A+B race reservations of A alone and of B alone. Whatever wins, no
/// partial hold remains: every active reservation holds all of its lines, the reserved
/// counts equal what the winners hold, and neither SKU is oversold.
pub async fn concurrent_multi_sku_reservations_leave_no_partial_holds(
    store: Arc<dyn InventoryStore>,
) {
    // Arrange
    // A is plentiful enough that B must sell out whatever order the tasks run in.
    let a = stocked(&*store, 40).await;
    let b = stocked(&*store, 6).await;
    let requests: Vec<ReservationRequest> = (0..64)
        .map(|i| match i % 3 {
            0 => reservation(&[(&a, 1), (&b, 1)], expires()),
            1 => reservation(&[(&a, 1)], expires()),
            _ => reservation(&[(&b, 1), (&a, 1)], expires()),
        })
        .collect();
    let requests = Arc::new(requests);

    // Act
    let results = race(requests.len(), |i| {
        let store = Arc::clone(&store);
        let requests = Arc::clone(&requests);
        async move { store.reserve(&requests[i]).await }
    })
    .await;

    // Assert
    let mut want: HashMap<Sku, i64> = HashMap::new();
    let mut winners = HashSet::new();
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(res) => {
                assert_eq!(
                    res.lines, requests[i].lines,
                    "a reservation must hold exactly its lines"
                );
                winners.insert(res.id);
                for l in &res.lines {
                    *want.entry(l.sku.clone()).or_default() += i64::from(l.quantity.get());
                }
            }
            Err(InventoryError::OutOfStock { .. }) => {}
            Err(e) => panic!("a losing reservation must be OutOfStock, got {e:?}"),
        }
    }
    for sku in [&a, &b] {
        let lvl = level(&*store, sku).await;
        assert_eq!(
            lvl.reserved,
            want.get(sku).copied().unwrap_or(0),
            "reserved units of {sku} must equal what the successful reservations hold (no partial holds)"
        );
        assert!(lvl.reserved <= lvl.on_hand, "{sku} oversold: {lvl:?}");
        let active: HashSet<ReservationId> = store
            .active_reservations(sku)
            .await
            .must("list active reservations")
            .into_iter()
            .map(|r| r.id)
            .collect();
        let expected: HashSet<ReservationId> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .filter(|r| r.lines.iter().any(|l| &l.sku == sku))
            .map(|r| r.id)
            .collect();
        assert_eq!(active, expected, "the active holds of {sku} must be exactly the winners'");
    }
    assert_eq!(
        level(&*store, &b).await.reserved,
        6,
        "B (6 units, wanted by 43 tasks) must sell out exactly"
    );
    for (i, r) in results.iter().enumerate() {
        if r.is_err() {
            let stored =
                store.reservation(requests[i].id).await.must("look up a failed reservation");
            assert!(
                stored.as_ref().is_none_or(|s| s.status != ReservationStatus::Active),
                "a failed reservation must not remain active: {stored:?}"
            );
        }
    }
    assert!(winners.len() >= 6, "at least the 6 units of B must have been won");
}

/// `reserve` again with the same id and lines returns the stored reservation and holds
/// nothing more (a retried checkout reserves once).
pub async fn reserve_with_a_known_id_and_the_same_lines_holds_stock_once(
    store: Arc<dyn InventoryStore>,
) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let request = reservation(&[(&sku, 3)], expires());
    let first = store.reserve(&request).await.must("reserve");

    // Act
    let again = store.reserve(&request).await.must("reserve again with the same id and lines");

    // Assert
    assert_eq!(again, first, "a retry must return the stored reservation");
    assert_eq!(level(&*store, &sku).await.reserved, 3, "a retry must not hold stock twice");
}

/// Concurrent retries of one reservation all succeed with the same reservation and hold
/// its stock once.
pub async fn concurrent_retries_of_one_reservation_hold_stock_once(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let request = reservation(&[(&sku, 2)], expires());

    // Act
    let results = race(16, |_| {
        let store = Arc::clone(&store);
        let request = request.clone();
        async move { store.reserve(&request).await }
    })
    .await;

    // Assert
    for r in &results {
        match r {
            Ok(res) => assert_eq!(res.id, request.id),
            Err(e) => panic!("every retry of one reservation must succeed, got {e:?}"),
        }
    }
    assert_eq!(level(&*store, &sku).await.reserved, 2, "concurrent retries must hold stock once");
}

/// `reserve` with an id that exists with other lines fails with `ReservationMismatch`
/// and holds nothing more.
pub async fn reserve_with_a_known_id_and_other_lines_is_a_mismatch(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let request = reservation(&[(&sku, 3)], expires());
    store.reserve(&request).await.must("reserve");
    let mut other = request.clone();
    other.lines[0].quantity = crate::fixtures::qty(4);

    // Act
    let result = store.reserve(&other).await;

    // Assert
    assert!(
        matches!(result, Err(InventoryError::ReservationMismatch { id }) if id == request.id),
        "the same id with other lines must be ReservationMismatch, got {result:?}"
    );
    assert_eq!(level(&*store, &sku).await.reserved, 3);
}

/// `commit` turns an active reservation into a sale (`on_hand` and `reserved` both drop
/// by its quantities) and is idempotent.
pub async fn commit_turns_a_reservation_into_a_sale_once(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let res = store.reserve(&reservation(&[(&sku, 3)], expires())).await.must("reserve");

    // Act
    let committed = store.commit(res.id).await.must("commit");
    let again = store.commit(res.id).await.must("commit again");

    // Assert
    assert_eq!(committed.status, ReservationStatus::Committed);
    assert_eq!(again.status, ReservationStatus::Committed, "commit must be idempotent");
    let lvl = level(&*store, &sku).await;
    assert_eq!((lvl.on_hand, lvl.reserved), (7, 0), "a commit takes the units off on_hand once");
    assert!(store.active_reservations(&sku).await.must("list active").is_empty());
}

/// `commit` of a released or an expired reservation fails with `ReservationClosed`.
pub async fn commit_of_a_released_or_expired_reservation_is_closed(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let released = store.reserve(&reservation(&[(&sku, 1)], expires())).await.must("reserve");
    store.release(released.id).await.must("release");
    let expiring = store.reserve(&reservation(&[(&sku, 1)], at(60))).await.must("reserve");
    store.release_expired(at(60)).await.must("release expired");

    // Act
    let r1 = store.commit(released.id).await;
    let r2 = store.commit(expiring.id).await;

    // Assert
    assert!(
        matches!(
            r1,
            Err(InventoryError::ReservationClosed { status: ReservationStatus::Released, .. })
        ),
        "commit of a released reservation must be ReservationClosed(Released), got {r1:?}"
    );
    assert!(
        matches!(
            r2,
            Err(InventoryError::ReservationClosed { status: ReservationStatus::Expired, .. })
        ),
        "commit of an expired reservation must be ReservationClosed(Expired), got {r2:?}"
    );
    let lvl = level(&*store, &sku).await;
    assert_eq!((lvl.on_hand, lvl.reserved), (10, 0), "a refused commit changes nothing");
}

/// `release` gives the stock back and is idempotent.
pub async fn release_gives_stock_back_once(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let held = store.reserve(&reservation(&[(&sku, 4)], expires())).await.must("reserve");
    let other = store.reserve(&reservation(&[(&sku, 1)], expires())).await.must("reserve another");

    // Act
    let released = store.release(held.id).await.must("release");
    let again = store.release(held.id).await.must("release again");

    // Assert
    assert_eq!(released.status, ReservationStatus::Released);
    assert_eq!(again.status, ReservationStatus::Released, "release must be idempotent");
    let lvl = level(&*store, &sku).await;
    assert_eq!((lvl.on_hand, lvl.reserved), (10, 1), "a release gives its units back once");
    let active: Vec<ReservationId> = store
        .active_reservations(&sku)
        .await
        .must("list active")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(active, vec![other.id]);
}

/// `release` of a committed reservation is a no-op returning it unchanged.
pub async fn release_of_a_committed_reservation_changes_nothing(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let res = store.reserve(&reservation(&[(&sku, 2)], expires())).await.must("reserve");
    let committed = store.commit(res.id).await.must("commit");

    // Act
    let released = store.release(res.id).await.must("release a committed reservation");

    // Assert
    assert_eq!(released, committed, "release of a committed reservation returns it unchanged");
    let lvl = level(&*store, &sku).await;
    assert_eq!(
        (lvl.on_hand, lvl.reserved),
        (8, 0),
        "release after commit must not give stock back"
    );
}

/// `release_expired` releases every active reservation with `expires_at <= now` as
/// `Expired`, returns how many, and leaves later ones and closed ones alone.
pub async fn release_expired_expires_only_due_reservations(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let due_early = store.reserve(&reservation(&[(&sku, 1)], at(10))).await.must("reserve");
    let due_now = store.reserve(&reservation(&[(&sku, 2)], at(20))).await.must("reserve");
    let later = store.reserve(&reservation(&[(&sku, 3)], at(21))).await.must("reserve");
    let committed = store.reserve(&reservation(&[(&sku, 1)], at(5))).await.must("reserve");
    store.commit(committed.id).await.must("commit");

    // Act
    let released = store.release_expired(at(20)).await.must("release expired");
    let again = store.release_expired(at(20)).await.must("release expired again");

    // Assert
    assert_eq!(released, 2, "two active reservations were due at t0+20s (expires_at <= now)");
    assert_eq!(again, 0, "expired reservations are released once");
    for (id, status) in [
        (due_early.id, ReservationStatus::Expired),
        (due_now.id, ReservationStatus::Expired),
        (later.id, ReservationStatus::Active),
        (committed.id, ReservationStatus::Committed),
    ] {
        let r =
            store.reservation(id).await.must("look up a reservation").must("find a reservation");
        assert_eq!(r.status, status, "reservation {id} after release_expired");
    }
    let lvl = level(&*store, &sku).await;
    assert_eq!((lvl.on_hand, lvl.reserved), (9, 3), "only the unexpired hold remains");
}

/// `adjust` adds `delta` (negative to remove) to `on_hand` and returns the new level.
pub async fn adjust_adds_to_on_hand(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;

    // Act
    let up = store.adjust(&sku, &LocationId::main(), 5).await.must("adjust up");
    let down = store.adjust(&sku, &LocationId::main(), -12).await.must("adjust down");

    // Assert
    assert_eq!(up.on_hand, 15);
    assert_eq!(down.on_hand, 3);
    assert_eq!(level(&*store, &sku).await.on_hand, 3);
}

/// `adjust` refuses with `Invalid` to take `on_hand` below `reserved` for a `Deny` SKU,
/// and changes nothing.
pub async fn adjust_never_takes_on_hand_below_reserved(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    store.reserve(&reservation(&[(&sku, 6)], expires())).await.must("reserve");

    // Act
    let result = store.adjust(&sku, &LocationId::main(), -5).await;

    // Assert
    assert!(
        matches!(result, Err(InventoryError::Invalid { .. })),
        "taking on_hand (10) below reserved (6) must be Invalid, got {result:?}"
    );
    let lvl = level(&*store, &sku).await;
    assert_eq!((lvl.on_hand, lvl.reserved), (10, 6));
    store.adjust(&sku, &LocationId::main(), -4).await.must("adjust down to exactly reserved");
}

/// An unknown SKU or location in `reserve` or `adjust` is `UnknownSku`.
pub async fn unknown_skus_are_unknown(store: Arc<dyn InventoryStore>) {
    // Arrange
    let known = stocked(&*store, 10).await;
    let unknown = unique_sku();
    let elsewhere = LocationId::new("elsewhere").must("build a location");

    // Act
    let reserve = store.reserve(&reservation(&[(&known, 1), (&unknown, 1)], expires())).await;
    let adjust = store.adjust(&unknown, &LocationId::main(), 1).await;
    let wrong_location = store.adjust(&known, &elsewhere, 1).await;

    // Assert
    assert!(
        matches!(&reserve, Err(InventoryError::UnknownSku { sku, .. }) if *sku == unknown),
        "reserving an unknown SKU must be UnknownSku naming it, got {reserve:?}"
    );
    assert!(matches!(adjust, Err(InventoryError::UnknownSku { .. })), "got {adjust:?}");
    assert!(
        matches!(wrong_location, Err(InventoryError::UnknownSku { .. })),
        "a SKU with no record at the location must be UnknownSku, got {wrong_location:?}"
    );
    assert_eq!(level(&*store, &known).await.reserved, 0, "a refused reservation holds nothing");
}

/// `set_stock` replaces a record's on-hand count and policy but keeps its reservations.
pub async fn set_stock_keeps_reservations(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let res = store.reserve(&reservation(&[(&sku, 4)], expires())).await.must("reserve");

    // Act
    let lvl = store
        .set_stock(&sku, &LocationId::main(), 20, BackorderPolicy::Deny)
        .await
        .must("set the stock again");

    // Assert
    assert_eq!((lvl.on_hand, lvl.reserved), (20, 4), "set_stock must keep the reserved units");
    let active = store.active_reservations(&sku).await.must("list active");
    assert_eq!(active.iter().map(|r| r.id).collect::<Vec<_>>(), vec![res.id]);
    store.commit(res.id).await.must("commit a reservation made before set_stock");
    let after = level(&*store, &sku).await;
    assert_eq!((after.on_hand, after.reserved), (16, 0));
}

/// A SKU with `BackorderPolicy::Allow { limit }` can be reserved up to `limit` units
/// beyond its availability (`StockLevel::reservable`), not further.
pub async fn backorders_allow_reserving_up_to_their_limit(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = unique_sku();
    store
        .set_stock(&sku, &LocationId::main(), 2, BackorderPolicy::Allow { limit: Some(3) })
        .await
        .must("set stock with a backorder allowance");

    // Act
    let within = store.reserve(&reservation(&[(&sku, 5)], expires())).await;
    let beyond = store.reserve(&reservation(&[(&sku, 1)], expires())).await;

    // Assert
    within.must("reserve 5 of 2 on hand with 3 backorderable");
    assert!(
        matches!(beyond, Err(InventoryError::OutOfStock { .. })),
        "reserving past the backorder limit must be OutOfStock, got {beyond:?}"
    );
    let lvl = level(&*store, &sku).await;
    assert_eq!((lvl.on_hand, lvl.reserved), (2, 5));
}

/// A reservation with no lines or with a SKU twice is `Invalid` and holds nothing.
pub async fn malformed_reservations_are_invalid(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let empty = reservation(&[], expires());
    let twice = reservation(&[(&sku, 1), (&sku, 2)], expires());

    // Act
    let r1 = store.reserve(&empty).await;
    let r2 = store.reserve(&twice).await;

    // Assert
    assert!(
        matches!(r1, Err(InventoryError::Invalid { .. })),
        "no lines must be Invalid, got {r1:?}"
    );
    assert!(
        matches!(r2, Err(InventoryError::Invalid { .. })),
        "a SKU twice must be Invalid, got {r2:?}"
    );
    assert_eq!(level(&*store, &sku).await.reserved, 0);
}

/// `levels` returns the records that exist for the SKUs asked for (unknown ones are
/// simply absent), and `reservation` finds a reservation by id.
pub async fn levels_and_reservations_can_be_read_back(store: Arc<dyn InventoryStore>) {
    // Arrange
    let a = stocked(&*store, 3).await;
    let b = stocked(&*store, 7).await;
    let res: Reservation = store.reserve(&reservation(&[(&a, 1)], expires())).await.must("reserve");

    // Act
    let levels = store.levels(&[a.clone(), unique_sku(), b.clone()]).await.must("read levels");
    let found = store.reservation(res.id).await.must("read a reservation");
    let missing =
        store.reservation(ReservationId::from_uuid(crate::fixtures::uuid())).await.must("read");

    // Assert
    let mut got: Vec<(Sku, i64, i64)> =
        levels.into_iter().map(|l| (l.sku, l.on_hand, l.reserved)).collect();
    got.sort();
    let mut want = vec![(a, 3, 1), (b, 7, 0)];
    want.sort();
    assert_eq!(got, want, "levels must hold exactly the existing records");
    assert_eq!(found, Some(res));
    assert_eq!(missing, None);
}

/// A keyed adjustment of `sku` at `main` under a fresh key.
fn keyed(sku: &Sku, delta: i64) -> StockAdjustment {
    StockAdjustment {
        id: AdjustmentId::from_uuid(crate::fixtures::uuid()),
        sku: sku.clone(),
        location: LocationId::main(),
        delta,
    }
}

/// `adjust_once` applies a key once: the first call adds its delta and returns `Applied`
/// with the new level; a repeat returns `AlreadyApplied` and changes nothing.
pub async fn adjust_once_applies_a_key_once(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let restock = keyed(&sku, 3);

    // Act
    let first = store.adjust_once(&restock).await.must("apply a keyed adjustment");
    let again = store.adjust_once(&restock).await.must("apply the same key again");

    // Assert
    match first {
        Adjusted::Applied(level) => {
            assert_eq!(level.on_hand, 13, "Applied must return the level after the adjustment");
        }
        other => panic!("the first application of a key must be Applied, got {other:?}"),
    }
    assert_eq!(again, Adjusted::AlreadyApplied, "a repeated key must be AlreadyApplied");
    assert_eq!(level(&*store, &sku).await.on_hand, 13, "a key must adjust stock once");
}

/// 16 tasks apply one key at once: exactly one applies it, the others find it applied,
/// and the stock moves once.
pub async fn concurrent_applications_of_one_key_adjust_once(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let restock = keyed(&sku, 2);

    // Act
    let results = race(16, |_| {
        let store = Arc::clone(&store);
        let restock = restock.clone();
        async move { store.adjust_once(&restock).await }
    })
    .await;

    // Assert
    let mut applied = 0;
    for r in &results {
        match r {
            Ok(Adjusted::Applied(_)) => applied += 1,
            Ok(Adjusted::AlreadyApplied) => {}
            Ok(other) => panic!("unexpected outcome {other:?}"),
            Err(e) => panic!("every application of one key must succeed, got {e:?}"),
        }
    }
    assert_eq!(applied, 1, "exactly one of 16 racing applications of a key must apply it");
    assert_eq!(level(&*store, &sku).await.on_hand, 12, "racing applications must adjust once");
}

/// Different keys are different adjustments: they add up, concurrently too.
pub async fn adjustments_under_different_keys_add_up(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let adjustments: Arc<Vec<StockAdjustment>> =
        Arc::new((0..8).map(|i| keyed(&sku, if i % 4 == 3 { -1 } else { 2 })).collect());

    // Act
    let results = race(adjustments.len(), |i| {
        let store = Arc::clone(&store);
        let adjustments = Arc::clone(&adjustments);
        async move { store.adjust_once(&adjustments[i]).await }
    })
    .await;

    // Assert
    for r in &results {
        assert!(matches!(r, Ok(Adjusted::Applied(_))), "each key must be applied once, got {r:?}");
    }
    assert_eq!(level(&*store, &sku).await.on_hand, 10 + 6 * 2 - 2, "different keys add up");
}

/// A key applied before, asked for again with another SKU, location or delta, is `Invalid`
/// and changes nothing.
pub async fn a_key_reused_for_another_adjustment_is_invalid(store: Arc<dyn InventoryStore>) {
    // Arrange
    let sku = stocked(&*store, 10).await;
    let other_sku = stocked(&*store, 10).await;
    let restock = keyed(&sku, 3);
    store.adjust_once(&restock).await.must("apply a keyed adjustment");
    let other_delta = StockAdjustment { delta: 4, ..restock.clone() };
    let other_target = StockAdjustment { sku: other_sku.clone(), ..restock.clone() };

    // Act
    let r1 = store.adjust_once(&other_delta).await;
    let r2 = store.adjust_once(&other_target).await;

    // Assert
    assert!(
        matches!(r1, Err(InventoryError::Invalid { .. })),
        "a known key with another delta must be Invalid, got {r1:?}"
    );
    assert!(
        matches!(r2, Err(InventoryError::Invalid { .. })),
        "a known key for another SKU must be Invalid, got {r2:?}"
    );
    assert_eq!(level(&*store, &sku).await.on_hand, 13);
    assert_eq!(level(&*store, &other_sku).await.on_hand, 10);
}

/// A refused `adjust_once` (`UnknownSku`; `Invalid` below the reservations of a `Deny`
/// SKU) changes nothing and does not use its key up: once the cause is fixed, the same key
/// applies.
pub async fn a_refused_adjustment_leaves_its_key_unused(store: Arc<dyn InventoryStore>) {
    // Arrange
    let unknown = unique_sku();
    let restock = keyed(&unknown, 2);
    let held = stocked(&*store, 10).await;
    store.reserve(&reservation(&[(&held, 6)], expires())).await.must("reserve");
    let removal = keyed(&held, -5);

    // Act
    let r1 = store.adjust_once(&restock).await;
    let r2 = store.adjust_once(&removal).await;
    store
        .set_stock(&unknown, &LocationId::main(), 1, BackorderPolicy::Deny)
        .await
        .must("set the stock of the SKU");
    let retried = store.adjust_once(&restock).await.must("apply the key once the SKU exists");

    // Assert
    assert!(
        matches!(&r1, Err(InventoryError::UnknownSku { sku, .. }) if *sku == unknown),
        "adjusting an unknown SKU must be UnknownSku, got {r1:?}"
    );
    assert!(
        matches!(r2, Err(InventoryError::Invalid { .. })),
        "taking on_hand (10) below reserved (6) must be Invalid, got {r2:?}"
    );
    assert!(
        matches!(retried, Adjusted::Applied(ref l) if l.on_hand == 3),
        "a key whose first application was refused must apply later, got {retried:?}"
    );
    assert_eq!(level(&*store, &held).await.on_hand, 10, "a refused adjustment changes nothing");
}

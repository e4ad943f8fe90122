//! Contracts of [`CheckoutJournal`]: progress saved, replaced, read back whole, removed,
//! and found by age for recovery.
//!
//! Each contract takes a fresh, empty journal.

use std::sync::Arc;

use shopkit_core::ids::{CartId, IdempotencyKey, OrderId, PromotionId, ReservationId};
use shopkit_core::ports::{CheckoutJournal, CheckoutProgress, PaymentMethodToken, PendingPayment};

use crate::fixtures::{at, unique, unique_email, usd, uuid};
use crate::support::Must;

fn progress(updated_at: i64) -> CheckoutProgress {
    CheckoutProgress {
        order_id: OrderId::from_uuid(uuid()),
        scope: format!("checkout/guest:{}", unique()),
        idempotency_key: IdempotencyKey::new(&format!("key-{}", unique()))
            .must("build an idempotency key"),
        fingerprint: "cart:1;guest:2".into(),
        cart: CartId::from_uuid(uuid()),
        redeemable: vec![PromotionId::from_uuid(uuid())],
        reservation: None,
        payments: Vec::new(),
        placed: None,
        updated_at: at(updated_at),
    }
}

/// What is saved is read back whole; a second save replaces the first.
pub async fn progress_is_saved_replaced_and_read_back_whole(journal: Arc<dyn CheckoutJournal>) {
    // Arrange
    let mut first = progress(0);
    journal.save(&first).await.must("save");
    first.reservation = Some(ReservationId::from_uuid(uuid()));
    first.payments.push(PendingPayment {
        gateway_key: "checkout:1:2".into(),
        amount: usd(25_00),
        payment_method: PaymentMethodToken("pm_card_visa".into()),
        email: Some(unique_email()),
    });
    first.updated_at = at(5);

    // Act
    journal.save(&first).await.must("save again");
    let read = journal.get(first.order_id).await.must("get");
    let unknown = journal.get(OrderId::from_uuid(uuid())).await.must("get an unknown one");

    // Assert
    assert_eq!(read, Some(first), "the last save, field for field");
    assert_eq!(unknown, None);
}

/// `remove` forgets a checkout; removing it again (or an unknown one) is fine.
pub async fn removed_progress_is_gone(journal: Arc<dyn CheckoutJournal>) {
    // Arrange
    let entry = progress(0);
    journal.save(&entry).await.must("save");

    // Act
    journal.remove(entry.order_id).await.must("remove");
    journal.remove(entry.order_id).await.must("remove again");

    // Assert
    assert_eq!(journal.get(entry.order_id).await.must("get"), None);
    assert!(journal.stale(at(1_000), 10).await.must("stale").is_empty());
}

/// `stale` lists what was saved before the cut-off, oldest first, at most `limit`; a save
/// moves an entry to its new age.
pub async fn stale_lists_the_oldest_first_up_to_the_limit(journal: Arc<dyn CheckoutJournal>) {
    // Arrange
    let old = progress(10);
    let older = progress(5);
    let mut refreshed = progress(1);
    let fresh = progress(100);
    for entry in [&old, &older, &refreshed, &fresh] {
        journal.save(entry).await.must("save");
    }
    refreshed.updated_at = at(200);
    journal.save(&refreshed).await.must("save with progress");

    // Act
    let all_stale = journal.stale(at(50), 10).await.must("stale");
    let limited = journal.stale(at(50), 1).await.must("stale, limited");

    // Assert
    let ids = |list: &[CheckoutProgress]| list.iter().map(|p| p.order_id).collect::<Vec<_>>();
    assert_eq!(ids(&all_stale), vec![older.order_id, old.order_id], "oldest first, none fresh");
    assert_eq!(ids(&limited), vec![older.order_id]);
}

//! Contracts of [`CustomerRepository`]: unique ids and case-insensitive unique emails,
//! the customer and its events written atomically, versioned updates, and paging.
//!
//! Each contract takes a fresh, empty repository and the outbox it writes to.

use std::collections::HashSet;
use std::sync::Arc;

use shopkit_core::customers::Customer;
use shopkit_core::events::DomainEvent;
use shopkit_core::ids::{CustomerId, Email};
use shopkit_core::ports::{Cursor, CustomerRepository, OutboxStore, StoreError};

use crate::fixtures::{at, customer, customer_with_email, envelope, t0, unique, unique_email};
use crate::orders::outbox_ids;
use crate::support::{Must, race};

fn registered(c: &Customer) -> shopkit_core::events::EventEnvelope {
    envelope(
        DomainEvent::CustomerRegistered { customer_id: c.id, email: c.email.clone() },
        c.created_at,
    )
}

async fn inserted(repo: &dyn CustomerRepository, mut c: Customer) -> Customer {
    let e = registered(&c);
    c.version = repo.insert(&c, &[e]).await.must("insert a customer");
    c
}

/// `insert` stores the customer at version 1 and appends its events to the outbox.
pub async fn insert_writes_the_customer_and_its_events(
    repo: Arc<dyn CustomerRepository>,
    outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let c = customer(t0());
    let e = registered(&c);

    // Act
    let version = repo.insert(&c, std::slice::from_ref(&e)).await.must("insert");

    // Assert
    assert_eq!(version, 1, "insert stores version 1");
    let mut want = c.clone();
    want.version = 1;
    assert_eq!(repo.get(c.id).await.must("get"), Some(want.clone()));
    assert_eq!(repo.by_email(&c.email).await.must("by_email"), Some(want));
    assert_eq!(outbox_ids(&*outbox).await, HashSet::from([e.id]), "the event is in the outbox");
}

/// `insert` with a taken id, or an email taken in any letter case, is `AlreadyExists`
/// and writes neither the customer nor its events.
pub async fn insert_rejects_a_taken_id_or_email_and_writes_no_events(
    repo: Arc<dyn CustomerRepository>,
    outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let local = format!("Ada.{}", unique());
    let existing = inserted(
        &*repo,
        customer_with_email(Email::new(&format!("{local}@example.com")).must("email"), t0()),
    )
    .await;
    let before = outbox_ids(&*outbox).await;
    let mut same_id = customer(t0());
    same_id.id = existing.id;
    let shouted = customer_with_email(
        Email::new(&format!("{}@EXAMPLE.com", local.to_uppercase())).must("email"),
        t0(),
    );

    // Act
    let r1 = repo.insert(&same_id, &[registered(&same_id)]).await;
    let r2 = repo.insert(&shouted, &[registered(&shouted)]).await;

    // Assert
    assert!(
        matches!(r1, Err(StoreError::AlreadyExists { .. })),
        "a taken id must be AlreadyExists, got {r1:?}"
    );
    assert!(
        matches!(r2, Err(StoreError::AlreadyExists { .. })),
        "an email differing only in case must be AlreadyExists, got {r2:?}"
    );
    assert_eq!(outbox_ids(&*outbox).await, before, "a refused insert appends no event");
    assert_eq!(repo.get(existing.id).await.must("get"), Some(existing));
    assert_eq!(repo.get(shouted.id).await.must("get"), None);
}

/// Concurrent registrations with one email: exactly one wins, with its event only.
pub async fn concurrent_inserts_with_one_email_have_one_winner(
    repo: Arc<dyn CustomerRepository>,
    outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let email = unique_email();

    // Act
    let results = race(16, |_| {
        let repo = Arc::clone(&repo);
        let c = customer_with_email(email.clone(), t0());
        let e = registered(&c);
        async move { (repo.insert(&c, std::slice::from_ref(&e)).await, e.id) }
    })
    .await;

    // Assert
    let winners: Vec<_> = results.iter().filter(|(r, _)| r.is_ok()).map(|(_, id)| *id).collect();
    assert_eq!(winners.len(), 1, "exactly one of 16 registrations with one email must win");
    for (r, _) in &results {
        assert!(
            matches!(r, Ok(1) | Err(StoreError::AlreadyExists { .. })),
            "losers are AlreadyExists, got {r:?}"
        );
    }
    assert_eq!(
        outbox_ids(&*outbox).await,
        HashSet::from([winners[0]]),
        "only the winner's event is written"
    );
}

/// `by_email` compares case-insensitively.
pub async fn by_email_ignores_letter_case(
    repo: Arc<dyn CustomerRepository>,
    _outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let local = format!("Grace.{}", unique());
    let c = inserted(
        &*repo,
        customer_with_email(Email::new(&format!("{local}@example.com")).must("email"), t0()),
    )
    .await;

    // Act
    let found = repo
        .by_email(&Email::new(&format!("{}@Example.COM", local.to_lowercase())).must("email"))
        .await
        .must("by_email");

    // Assert
    assert_eq!(found, Some(c));
    assert_eq!(repo.by_email(&unique_email()).await.must("by_email"), None);
}

/// `update` at the stored version stores the change and returns version + 1; from a stale
/// version it is a `VersionConflict` that changes nothing.
pub async fn update_checks_the_version(
    repo: Arc<dyn CustomerRepository>,
    _outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let original = inserted(&*repo, customer(t0())).await;
    let mut winner = original.clone();
    winner.first_name = "Winner".into();
    let mut stale = original.clone();
    stale.first_name = "Stale".into();

    // Act
    let v = repo.update(&winner).await.must("update");
    let conflict = repo.update(&stale).await;

    // Assert
    assert_eq!(v, 2, "update returns the stored version + 1");
    winner.version = 2;
    assert!(
        matches!(conflict, Err(StoreError::VersionConflict { expected: 1, actual: 2, .. })),
        "a stale update must be VersionConflict {{ expected: 1, actual: 2 }}, got {conflict:?}"
    );
    assert_eq!(repo.get(original.id).await.must("get"), Some(winner));
}

/// Email uniqueness holds on `update`: taking another customer's email (in any case) is
/// `AlreadyExists`; changing to a free email frees the old one.
pub async fn update_keeps_emails_unique(
    repo: Arc<dyn CustomerRepository>,
    _outbox: Arc<dyn OutboxStore>,
) {
    // Arrange
    let other = inserted(&*repo, customer(t0())).await;
    let mine = inserted(&*repo, customer(t0())).await;
    let mut steal = mine.clone();
    let (local, domain) = other.email.as_str().split_once('@').must("split an email");
    steal.email = Email::new(&format!("{}@{domain}", local.to_uppercase())).must("email");

    // Act
    let result = repo.update(&steal).await;

    // Assert
    assert!(
        matches!(result, Err(StoreError::AlreadyExists { .. })),
        "taking an email on update, got {result:?}"
    );
    assert_eq!(repo.get(mine.id).await.must("get"), Some(mine.clone()));
    let mut moved = mine.clone();
    moved.email = unique_email();
    repo.update(&moved).await.must("update to a free email");
    assert_eq!(repo.by_email(&mine.email).await.must("by_email"), None, "the old email is free");
    let reuse = customer_with_email(mine.email.clone(), at(1));
    repo.insert(&reuse, &[]).await.must("register with the freed email");
}

/// `list` pages by id without repeats or gaps and rejects a foreign cursor.
pub async fn list_pages_by_id(repo: Arc<dyn CustomerRepository>, _outbox: Arc<dyn OutboxStore>) {
    // Arrange
    let mut ids = Vec::new();
    for _ in 0..11 {
        ids.push(inserted(&*repo, customer(t0())).await.id);
    }
    ids.sort();

    // Act
    let mut got: Vec<CustomerId> = Vec::new();
    let mut cursor = None;
    for _ in 0..100 {
        let page = repo.list(cursor, 4).await.must("list");
        assert!(page.items.len() <= 4);
        got.extend(page.items.iter().map(|c| c.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let foreign = repo.list(Some(Cursor("bogus".into())), 4).await;

    // Assert
    assert_eq!(got, ids, "every customer once, by id");
    assert!(
        matches!(foreign, Err(StoreError::InvalidCursor)),
        "a foreign cursor must be InvalidCursor, got {foreign:?}"
    );
}

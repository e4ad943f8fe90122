//! [`MemoryCustomers`]: the in-memory customer repository, writing registrations and their
//! events to a shared [`MemoryOutbox`] atomically (lock order: customers -> outbox).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use shopkit_core::customers::Customer;
use shopkit_core::events::EventEnvelope;
use shopkit_core::ids::{CustomerId, Email};
use shopkit_core::ports::{
    Cursor, CursorCodec, CustomerRepository, Page, StoreError, clamp_page_limit,
};

use crate::ids::random_cursor_codec;
use crate::outbox::MemoryOutbox;

/// The uniqueness key of an email: the whole address lower-cased.
fn email_key(email: &Email) -> String {
    email.as_str().to_lowercase()
}

/// The clashing-key text for an email, without the address (personal data in error logs).
fn email_clash() -> StoreError {
    StoreError::AlreadyExists { entity: "customer", key: "this email address".into() }
}

#[derive(Debug, Default)]
struct State {
    customers: BTreeMap<CustomerId, Customer>,
    emails: HashMap<String, CustomerId>,
}

impl State {
    fn check_email(&self, customer: &Customer) -> Result<(), StoreError> {
        match self.emails.get(&email_key(&customer.email)) {
            Some(owner) if *owner != customer.id => Err(email_clash()),
            _ => Ok(()),
        }
    }

    fn store(&mut self, mut customer: Customer, version: u64) {
        if let Some(old) = self.customers.remove(&customer.id) {
            self.emails.remove(&email_key(&old.email));
        }
        customer.version = version;
        self.emails.insert(email_key(&customer.email), customer.id);
        self.customers.insert(customer.id, customer);
    }
}

/// The in-memory [`CustomerRepository`].
///
/// - emails are unique compared case-insensitively (`Ann@Example.com` clashes with
///   `ann@example.com`), on insert and on update; the `AlreadyExists` error does not repeat
///   the address;
/// - `insert` stores version 1 and appends its events to the outbox in one atomic step, or
///   writes nothing;
/// - `update` checks `customer.version` and stores version + 1;
/// - `list` is by id, with opaque cursors.
///
/// Clones share the same data and outbox.
#[derive(Debug, Clone)]
pub struct MemoryCustomers {
    state: Arc<Mutex<State>>,
    outbox: MemoryOutbox,
    cursors: CursorCodec,
}

impl MemoryCustomers {
    /// An empty repository whose events go to `outbox`.
    pub fn new(outbox: MemoryOutbox) -> Self {
        MemoryCustomers { state: Arc::default(), outbox, cursors: random_cursor_codec("customers") }
    }

    /// The outbox this repository appends to.
    pub fn outbox(&self) -> &MemoryOutbox {
        &self.outbox
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl CustomerRepository for MemoryCustomers {
    async fn insert(
        &self,
        customer: &Customer,
        events: &[EventEnvelope],
    ) -> Result<u64, StoreError> {
        let mut state = self.lock();
        if state.customers.contains_key(&customer.id) {
            return Err(StoreError::AlreadyExists {
                entity: "customer",
                key: format!("id {}", customer.id),
            });
        }
        state.check_email(customer)?;
        // Lock order: customers (held) -> outbox.
        let mut outbox = self.outbox.lock();
        outbox.append(events);
        state.store(customer.clone(), 1);
        Ok(1)
    }

    async fn update(&self, customer: &Customer) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let actual = state
            .customers
            .get(&customer.id)
            .map(|c| c.version)
            .ok_or_else(|| StoreError::not_found("customer", customer.id))?;
        if actual != customer.version {
            return Err(StoreError::VersionConflict {
                entity: "customer",
                id: customer.id.to_string(),
                expected: customer.version,
                actual,
            });
        }
        state.check_email(customer)?;
        state.store(customer.clone(), actual + 1);
        Ok(actual + 1)
    }

    async fn get(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        Ok(self.lock().customers.get(&id).cloned())
    }

    async fn by_email(&self, email: &Email) -> Result<Option<Customer>, StoreError> {
        let state = self.lock();
        Ok(state.emails.get(&email_key(email)).and_then(|id| state.customers.get(id)).cloned())
    }

    async fn list(
        &self,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page<Customer>, StoreError> {
        let after = match &cursor {
            Some(c) => Bound::Excluded(
                self.cursors
                    .decode(c)?
                    .parse::<CustomerId>()
                    .map_err(|_| StoreError::InvalidCursor)?,
            ),
            None => Bound::Unbounded,
        };
        let limit = clamp_page_limit(limit);
        let state = self.lock();
        let mut rest = state.customers.range((after, Bound::Unbounded)).map(|(_, c)| c);
        let items: Vec<Customer> = rest.by_ref().take(limit).cloned().collect();
        let next_cursor = match items.last() {
            Some(last) if rest.next().is_some() => Some(self.cursors.encode(&last.id.to_string())),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use shopkit_core::events::DomainEvent;
    use shopkit_core::ids::EventId;
    use shopkit_core::ports::OutboxStore;
    use uuid::Uuid;

    use super::*;

    fn customer(email: &str) -> Customer {
        Customer {
            id: CustomerId::from_uuid(Uuid::new_v4()),
            email: Email::new(email).unwrap(),
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            phone: None,
            addresses: vec![],
            default_address: None,
            groups: vec![],
            accepts_marketing: false,
            version: 0,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    fn registered(c: &Customer) -> Vec<EventEnvelope> {
        vec![EventEnvelope {
            id: EventId::from_uuid(Uuid::new_v4()),
            occurred_at: c.created_at,
            event: DomainEvent::CustomerRegistered { customer_id: c.id, email: c.email.clone() },
        }]
    }

    #[tokio::test]
    async fn a_clashing_email_in_another_case_writes_neither_customer_nor_event() {
        let outbox = MemoryOutbox::new();
        let repo = MemoryCustomers::new(outbox.clone());
        let ann = customer("ann@example.com");
        repo.insert(&ann, &registered(&ann)).await.unwrap();
        let twin = customer("ANN@Example.com");

        let err = repo.insert(&twin, &registered(&twin)).await.unwrap_err();

        assert!(matches!(err, StoreError::AlreadyExists { .. }));
        assert!(!err.to_string().contains("ann"), "no address in the error: {err}");
        assert!(repo.get(twin.id).await.unwrap().is_none());
        assert_eq!(outbox.list(None, None, 10).await.unwrap().items.len(), 1);
        let found = repo.by_email(&Email::new("aNN@example.COM").unwrap()).await.unwrap().unwrap();
        assert_eq!(found.id, ann.id);
    }

    #[tokio::test]
    async fn changing_email_frees_the_old_one_and_respects_uniqueness() {
        let repo = MemoryCustomers::new(MemoryOutbox::new());
        let mut ann = customer("ann@example.com");
        let bob = customer("bob@example.com");
        ann.version = repo.insert(&ann, &[]).await.unwrap();
        repo.insert(&bob, &[]).await.unwrap();

        let mut taken = ann.clone();
        taken.email = Email::new("Bob@example.com").unwrap();
        assert!(matches!(repo.update(&taken).await, Err(StoreError::AlreadyExists { .. })));
        ann.email = Email::new("ann.lee@example.com").unwrap();
        assert_eq!(repo.update(&ann).await.unwrap(), 2);

        assert!(repo.by_email(&Email::new("ann@example.com").unwrap()).await.unwrap().is_none());
        repo.insert(&customer("ann@example.com"), &[]).await.unwrap();
    }

    #[tokio::test]
    async fn a_stale_update_conflicts() {
        let repo = MemoryCustomers::new(MemoryOutbox::new());
        let mut ann = customer("ann@example.com");
        ann.version = repo.insert(&ann, &[]).await.unwrap();
        repo.update(&ann).await.unwrap();

        let err = repo.update(&ann).await.unwrap_err();

        assert!(matches!(err, StoreError::VersionConflict { expected: 1, actual: 2, .. }));
    }

    #[tokio::test]
    async fn list_pages_by_id() {
        let repo = MemoryCustomers::new(MemoryOutbox::new());
        let mut ids = Vec::new();
        for i in 0..5 {
            let c = customer(&format!("c{i}@example.com"));
            ids.push(c.id);
            repo.insert(&c, &[]).await.unwrap();
        }
        ids.sort();

        let first = repo.list(None, 3).await.unwrap();
        let second = repo.list(first.next_cursor.clone(), 3).await.unwrap();

        let got: Vec<CustomerId> = first.items.iter().chain(&second.items).map(|c| c.id).collect();
        assert_eq!(got, ids);
        assert_eq!(second.next_cursor, None);
        assert!(matches!(
            repo.list(Some(Cursor("x.y".into())), 3).await,
            Err(StoreError::InvalidCursor)
        ));
    }
}

//! [`MemoryCheckoutJournal`]: where running checkouts got to, in memory.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shopkit_core::ids::OrderId;
use shopkit_core::ports::{CheckoutJournal, CheckoutProgress, StoreError};

#[derive(Debug, Default)]
struct State {
    entries: HashMap<OrderId, CheckoutProgress>,
    /// `(updated_at, order)` of every entry, so `stale` reads the oldest without a scan.
    by_age: BTreeSet<(DateTime<Utc>, OrderId)>,
}

/// The in-memory [`CheckoutJournal`]. Entries are stored as copies, as a database would.
#[derive(Debug, Default)]
pub struct MemoryCheckoutJournal {
    state: Mutex<State>,
}

impl MemoryCheckoutJournal {
    /// An empty journal.
    pub fn new() -> Self {
        MemoryCheckoutJournal::default()
    }

    /// How many checkouts it holds (tests: 0 once every checkout ended).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl CheckoutJournal for MemoryCheckoutJournal {
    async fn save(&self, progress: &CheckoutProgress) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(old) = state.entries.insert(progress.order_id, progress.clone()) {
            state.by_age.remove(&(old.updated_at, old.order_id));
        }
        state.by_age.insert((progress.updated_at, progress.order_id));
        Ok(())
    }

    async fn get(&self, order: OrderId) -> Result<Option<CheckoutProgress>, StoreError> {
        Ok(self.lock().entries.get(&order).cloned())
    }

    async fn remove(&self, order: OrderId) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(old) = state.entries.remove(&order) {
            state.by_age.remove(&(old.updated_at, old.order_id));
        }
        Ok(())
    }

    async fn stale(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<CheckoutProgress>, StoreError> {
        let state = self.lock();
        Ok(state
            .by_age
            .iter()
            .take_while(|(at, _)| *at < before)
            .take(limit)
            .filter_map(|(_, order)| state.entries.get(order).cloned())
            .collect())
    }
}

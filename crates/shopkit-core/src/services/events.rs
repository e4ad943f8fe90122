//! [`EventLogService`]: the back-office view of the outbox, with redelivery.

use std::sync::Arc;

use crate::events::{OutboxEntry, OutboxStatus};
use crate::ids::EventId;
use crate::ports::{Clock, Cursor, OutboxStore, Page};

use super::access::Caller;
use super::error::ShopError;

/// The event log: what was published, what was delivered, what went dead and why.
#[derive(Clone)]
pub struct EventLogService {
    outbox: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for EventLogService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLogService").finish_non_exhaustive()
    }
}

impl EventLogService {
    /// A service over the outbox.
    pub fn new(outbox: Arc<dyn OutboxStore>, clock: Arc<dyn Clock>) -> Self {
        EventLogService { outbox, clock }
    }

    /// A page of the log, newest first, optionally one status.
    ///
    /// # Errors
    /// [`ShopError::Forbidden`]; [`ShopError::Invalid`] for a foreign cursor.
    pub async fn list(
        &self,
        caller: &Caller,
        status: Option<OutboxStatus>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page<OutboxEntry>, ShopError> {
        caller.require_admin("read the event log")?;
        Ok(self.outbox.list(status, cursor, limit.clamp(1, 100)).await?)
    }

    /// Puts a delivered or dead event back for delivery now (subscribers dedupe by id).
    ///
    /// # Errors
    /// [`ShopError::Forbidden`]; [`ShopError::NotFound`]; [`ShopError::Invalid`] for an
    /// event being delivered right now.
    pub async fn redeliver(&self, caller: &Caller, id: EventId) -> Result<(), ShopError> {
        caller.require_admin("redeliver events")?;
        Ok(self.outbox.redeliver(id, self.clock.now()).await?)
    }
}

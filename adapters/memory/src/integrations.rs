//! Recorders for the integration ports: accounting, fulfilment, CRM and analytics.
//!
//! Each is idempotent the way its contract says (a repeat with the same id is accepted and
//! not recorded twice) and stricter than a silent dedup: a repeat whose content differs from
//! the first is `Rejected`, because it means the subscriber built two different requests
//! from one event (a timestamp taken from the clock instead of the event, say). Each has
//! `set_down(true)` to answer `Unavailable`, for testing the outbox's retries.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use shopkit_core::ids::{CustomerId, EventId};
use shopkit_core::money::{Currency, Money, MoneyError};
use shopkit_core::ports::{
    AccountingLedger, AnalyticsEvent, AnalyticsSink, Crm, CrmContact, FulfilmentProvider,
    FulfilmentRequest, IntegrationError, JournalEntry, LedgerAccount, PostingSide,
};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn check_up(down: &AtomicBool, what: &str) -> Result<(), IntegrationError> {
    if down.load(Ordering::SeqCst) {
        return Err(IntegrationError::Unavailable {
            message: format!("the {what} is down (set_down(true))"),
        });
    }
    Ok(())
}

fn conflicting_repeat(kind: &str, id: EventId) -> IntegrationError {
    IntegrationError::Rejected {
        reason: format!(
            "{kind} {id} was already received with different content: build it from the event alone"
        ),
    }
}

fn rejected(reason: impl Into<String>) -> IntegrationError {
    IntegrationError::Rejected { reason: reason.into() }
}

/// An [`AccountingLedger`] that keeps the posted journal entries.
#[derive(Debug, Default)]
pub struct RecordingLedger {
    entries: Mutex<Recorded<JournalEntry>>,
    down: AtomicBool,
}

impl RecordingLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        RecordingLedger::default()
    }

    /// Every entry posted, in order, each once.
    pub fn entries(&self) -> Vec<JournalEntry> {
        lock(&self.entries).items.clone()
    }

    /// The balance of `account` in `currency`: debits minus credits.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] if the sum does not fit.
    pub fn balance(&self, account: LedgerAccount, currency: Currency) -> Result<Money, MoneyError> {
        let entries = &lock(&self.entries).items;
        let postings = entries
            .iter()
            .flat_map(JournalEntry::postings)
            .filter(|p| p.account == account && p.amount.currency() == currency);
        let mut balance = Money::zero(currency);
        for posting in postings {
            balance = match posting.side {
                PostingSide::Debit => balance.checked_add(&posting.amount)?,
                PostingSide::Credit => balance.checked_sub(&posting.amount)?,
            };
        }
        Ok(balance)
    }

    /// Takes the ledger down (`true`): every call is `Unavailable` until `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

#[async_trait]
impl AccountingLedger for RecordingLedger {
    async fn post(&self, entry: &JournalEntry) -> Result<(), IntegrationError> {
        check_up(&self.down, "ledger")?;
        match lock(&self.entries).record(entry.id(), entry) {
            Repeat::New | Repeat::Same => Ok(()),
            Repeat::Conflicting => Err(conflicting_repeat("journal entry", entry.id())),
        }
    }
}

/// A shipment request a [`RecordingFulfilment`] accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfilmentRecord {
    /// The provider reference returned (`ful_000001`).
    pub reference: String,
    /// The request.
    pub request: FulfilmentRequest,
}

/// A [`FulfilmentProvider`] that keeps the shipment requests.
///
/// Like a 3PL it refuses (`Rejected`) a request without lines, with a zero quantity, or
/// without a valid shipping address.
#[derive(Debug, Default)]
pub struct RecordingFulfilment {
    requests: Mutex<Vec<FulfilmentRecord>>,
    down: AtomicBool,
}

impl RecordingFulfilment {
    /// A provider with no requests.
    pub fn new() -> Self {
        RecordingFulfilment::default()
    }

    /// Every accepted request, in order, each once.
    pub fn requests(&self) -> Vec<FulfilmentRecord> {
        lock(&self.requests).clone()
    }

    /// Takes the provider down (`true`): every call is `Unavailable` until `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

fn check_fulfilment(request: &FulfilmentRequest) -> Result<(), IntegrationError> {
    if request.lines.is_empty() {
        return Err(rejected("a shipment needs at least one line"));
    }
    if let Some(line) = request.lines.iter().find(|l| l.quantity == 0) {
        return Err(rejected(format!("line {} has a zero quantity", line.sku)));
    }
    let Some(address) = &request.address else {
        return Err(rejected("a shipment needs a shipping address"));
    };
    address.validate().map_err(|e| rejected(format!("the shipping address is unusable: {e}")))
}

#[async_trait]
impl FulfilmentProvider for RecordingFulfilment {
    async fn request(&self, request: &FulfilmentRequest) -> Result<String, IntegrationError> {
        check_up(&self.down, "fulfilment provider")?;
        let mut requests = lock(&self.requests);
        if let Some(first) = requests.iter().find(|r| r.request.id == request.id) {
            if first.request != *request {
                return Err(conflicting_repeat("fulfilment request", request.id));
            }
            return Ok(first.reference.clone());
        }
        check_fulfilment(request)?;
        let reference = format!("ful_{:06}", requests.len() + 1);
        requests.push(FulfilmentRecord { reference: reference.clone(), request: request.clone() });
        Ok(reference)
    }
}

/// An activity on a contact's timeline, as a [`RecordingCrm`] received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrmActivity {
    /// The contact.
    pub customer: CustomerId,
    /// The event it records (the idempotency key).
    pub event: EventId,
    /// What happened (`order_placed`).
    pub activity: String,
}

/// A [`Crm`] that keeps contacts (last upsert wins) and timeline activities.
#[derive(Debug, Default)]
pub struct RecordingCrm {
    state: Mutex<CrmState>,
    down: AtomicBool,
}

#[derive(Debug, Default)]
struct CrmState {
    contacts: BTreeMap<CustomerId, CrmContact>,
    activities: Vec<CrmActivity>,
}

impl RecordingCrm {
    /// A CRM with no contacts.
    pub fn new() -> Self {
        RecordingCrm::default()
    }

    /// Every contact, by customer id.
    pub fn contacts(&self) -> Vec<CrmContact> {
        lock(&self.state).contacts.values().cloned().collect()
    }

    /// The contact of `customer`, if upserted.
    pub fn contact(&self, customer: CustomerId) -> Option<CrmContact> {
        lock(&self.state).contacts.get(&customer).cloned()
    }

    /// Every activity, in order, each event once.
    pub fn activities(&self) -> Vec<CrmActivity> {
        lock(&self.state).activities.clone()
    }

    /// Takes the CRM down (`true`): every call is `Unavailable` until `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

#[async_trait]
impl Crm for RecordingCrm {
    async fn upsert_contact(&self, contact: &CrmContact) -> Result<(), IntegrationError> {
        check_up(&self.down, "CRM")?;
        lock(&self.state).contacts.insert(contact.customer, contact.clone());
        Ok(())
    }

    async fn record_activity(
        &self,
        customer: CustomerId,
        event: EventId,
        activity: &str,
    ) -> Result<(), IntegrationError> {
        check_up(&self.down, "CRM")?;
        if activity.trim().is_empty() {
            return Err(rejected("an activity needs a name"));
        }
        let mut state = lock(&self.state);
        let record = CrmActivity { customer, event, activity: activity.to_owned() };
        match state.activities.iter().find(|a| a.event == event) {
            Some(first) if *first == record => Ok(()),
            Some(_) => Err(conflicting_repeat("activity for event", event)),
            None => {
                state.activities.push(record);
                Ok(())
            }
        }
    }
}

/// An [`AnalyticsSink`] that keeps the tracked events.
#[derive(Debug, Default)]
pub struct RecordingAnalytics {
    events: Mutex<Recorded<AnalyticsEvent>>,
    down: AtomicBool,
}

impl RecordingAnalytics {
    /// A sink with no events.
    pub fn new() -> Self {
        RecordingAnalytics::default()
    }

    /// Every tracked event, in order, each once.
    pub fn events(&self) -> Vec<AnalyticsEvent> {
        lock(&self.events).items.clone()
    }

    /// The tracked events named `name`.
    pub fn named(&self, name: &str) -> Vec<AnalyticsEvent> {
        lock(&self.events).items.iter().filter(|e| e.name == name).cloned().collect()
    }

    /// Takes the sink down (`true`): every call is `Unavailable` until `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

#[async_trait]
impl AnalyticsSink for RecordingAnalytics {
    async fn track(&self, event: &AnalyticsEvent) -> Result<(), IntegrationError> {
        check_up(&self.down, "analytics sink")?;
        if event.name.trim().is_empty() {
            return Err(rejected("an analytics event needs a name"));
        }
        match lock(&self.events).record(event.id, event) {
            Repeat::New | Repeat::Same => Ok(()),
            Repeat::Conflicting => Err(conflicting_repeat("analytics event", event.id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::DateTime;
    use shopkit_core::customers::Address;
    use shopkit_core::events::EventLine;
    use shopkit_core::ids::{Email, OrderId, RegionCode, Sku};
    use shopkit_core::ports::Posting;
    use uuid::Uuid;

    use super::*;

    fn event_id(n: u128) -> EventId {
        EventId::from_uuid(Uuid::from_u128(n))
    }

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn sale(n: u128, memo: &str) -> JournalEntry {
        let leg = |account, side, amount| Posting { account, side, amount };
        JournalEntry::new(
            event_id(n),
            DateTime::UNIX_EPOCH,
            memo.into(),
            vec![
                leg(LedgerAccount::PaymentsReceivable, PostingSide::Debit, usd(1100)),
                leg(LedgerAccount::Revenue, PostingSide::Credit, usd(1000)),
                leg(LedgerAccount::TaxPayable, PostingSide::Credit, usd(100)),
            ],
        )
        .unwrap()
    }

    fn address() -> Address {
        Address {
            id: None,
            name: "Ann".into(),
            line1: "1 Main St".into(),
            line2: None,
            city: "Springfield".into(),
            postal_code: "12345".into(),
            region: RegionCode::new("US-CA").unwrap(),
            phone: None,
        }
    }

    fn shipment(n: u128) -> FulfilmentRequest {
        FulfilmentRequest {
            id: event_id(n),
            order_id: OrderId::from_uuid(Uuid::from_u128(77)),
            lines: vec![EventLine { sku: Sku::new("TEE-M").unwrap(), quantity: 2, total: None }],
            address: Some(address()),
        }
    }

    fn analytics(n: u128, name: &str) -> AnalyticsEvent {
        AnalyticsEvent {
            id: event_id(n),
            name: name.into(),
            customer: None,
            at: DateTime::UNIX_EPOCH,
            properties: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn a_repeated_journal_entry_is_posted_once() {
        let ledger = RecordingLedger::new();

        ledger.post(&sale(1, "order 77")).await.unwrap();
        ledger.post(&sale(1, "order 77")).await.unwrap();

        assert_eq!(ledger.entries().len(), 1);
        assert_eq!(ledger.balance(LedgerAccount::Revenue, Currency::USD).unwrap(), usd(-1000));
        assert_eq!(
            ledger.balance(LedgerAccount::PaymentsReceivable, Currency::USD).unwrap(),
            usd(1100)
        );
    }

    #[tokio::test]
    async fn a_repeated_entry_id_with_other_content_is_rejected() {
        let ledger = RecordingLedger::new();
        ledger.post(&sale(1, "order 77")).await.unwrap();

        let result = ledger.post(&sale(1, "something else")).await;

        assert!(matches!(result, Err(IntegrationError::Rejected { .. })));
        assert_eq!(ledger.entries().len(), 1);
    }

    #[tokio::test]
    async fn a_down_ledger_is_unavailable_and_records_nothing() {
        let ledger = RecordingLedger::new();
        ledger.set_down(true);

        let result = ledger.post(&sale(1, "order 77")).await;

        assert!(matches!(result, Err(IntegrationError::Unavailable { .. })));
        assert!(ledger.entries().is_empty());
    }

    #[tokio::test]
    async fn a_repeated_fulfilment_request_returns_the_same_reference_once() {
        let provider = RecordingFulfilment::new();

        let first = provider.request(&shipment(1)).await.unwrap();
        let again = provider.request(&shipment(1)).await.unwrap();
        let other = provider.request(&shipment(2)).await.unwrap();

        assert_eq!(first, again);
        assert_ne!(first, other);
        assert_eq!(provider.requests().len(), 2);
    }

    #[tokio::test]
    async fn a_shipment_without_lines_or_address_is_rejected() {
        let provider = RecordingFulfilment::new();
        let no_lines = FulfilmentRequest { lines: vec![], ..shipment(1) };
        let no_address = FulfilmentRequest { address: None, ..shipment(2) };
        let bad_address = FulfilmentRequest {
            address: Some(Address { city: " ".into(), ..address() }),
            ..shipment(3)
        };

        for request in [no_lines, no_address, bad_address] {
            assert!(matches!(
                provider.request(&request).await,
                Err(IntegrationError::Rejected { .. })
            ));
        }
        assert!(provider.requests().is_empty());
    }

    #[tokio::test]
    async fn a_down_fulfilment_provider_is_unavailable() {
        let provider = RecordingFulfilment::new();
        provider.set_down(true);

        assert!(matches!(
            provider.request(&shipment(1)).await,
            Err(IntegrationError::Unavailable { .. })
        ));
    }

    #[tokio::test]
    async fn contacts_are_upserted_and_activities_recorded_once_per_event() {
        let crm = RecordingCrm::new();
        let customer = CustomerId::from_uuid(Uuid::from_u128(5));
        let email = Email::new("ann@example.com").unwrap();

        crm.upsert_contact(&CrmContact { customer, email: email.clone(), orders: 1 })
            .await
            .unwrap();
        crm.upsert_contact(&CrmContact { customer, email, orders: 2 }).await.unwrap();
        crm.record_activity(customer, event_id(1), "order_placed").await.unwrap();
        crm.record_activity(customer, event_id(1), "order_placed").await.unwrap();
        let conflict = crm.record_activity(customer, event_id(1), "order_paid").await;

        assert_eq!(crm.contacts().len(), 1);
        assert_eq!(crm.contact(customer).unwrap().orders, 2);
        assert_eq!(crm.activities().len(), 1);
        assert!(matches!(conflict, Err(IntegrationError::Rejected { .. })));
    }

    #[tokio::test]
    async fn a_down_crm_is_unavailable() {
        let crm = RecordingCrm::new();
        crm.set_down(true);

        let result =
            crm.record_activity(CustomerId::from_uuid(Uuid::nil()), event_id(1), "x").await;

        assert!(matches!(result, Err(IntegrationError::Unavailable { .. })));
    }

    #[tokio::test]
    async fn analytics_events_are_tracked_once_per_id() {
        let sink = RecordingAnalytics::new();

        sink.track(&analytics(1, "order_placed")).await.unwrap();
        sink.track(&analytics(1, "order_placed")).await.unwrap();
        sink.track(&analytics(2, "cart_abandoned")).await.unwrap();

        assert_eq!(sink.events().len(), 2);
        assert_eq!(sink.named("order_placed").len(), 1);
    }

    #[tokio::test]
    async fn an_analytics_event_without_a_name_is_rejected_and_a_down_sink_is_unavailable() {
        let sink = RecordingAnalytics::new();

        let unnamed = sink.track(&analytics(1, "")).await;
        sink.set_down(true);
        let down = sink.track(&analytics(2, "x")).await;

        assert!(matches!(unnamed, Err(IntegrationError::Rejected { .. })));
        assert!(matches!(down, Err(IntegrationError::Unavailable { .. })));
    }
}

/// Items recorded once per event id, in arrival order, with an index so a repeat is found
/// in constant time (a long-running embedded shop records one per order).
#[derive(Debug)]
struct Recorded<T> {
    items: Vec<T>,
    by_id: HashMap<EventId, usize>,
}

impl<T> Default for Recorded<T> {
    fn default() -> Self {
        Recorded { items: Vec::new(), by_id: HashMap::new() }
    }
}

/// What recording an item found.
enum Repeat {
    /// First time: recorded.
    New,
    /// The same item again: nothing to do.
    Same,
    /// The same id with other content: refused.
    Conflicting,
}

impl<T: Clone + PartialEq> Recorded<T> {
    fn record(&mut self, id: EventId, item: &T) -> Repeat {
        match self.by_id.get(&id) {
            Some(&i) if self.items[i] == *item => Repeat::Same,
            Some(_) => Repeat::Conflicting,
            None => {
                self.by_id.insert(id, self.items.len());
                self.items.push(item.clone());
                Repeat::New
            }
        }
    }
}

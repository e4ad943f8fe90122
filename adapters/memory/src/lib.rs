//! # shopkit-memory
//!
//! In-memory adapters of every shopkit port: the embedded default of the reference shop,
//! and the fakes testers swap in. They are as strict as the real backends (versions,
//! conflicts, TTLs, atomic multi-SKU reservations) and pass the same conformance suites
//! in `shopkit-testkit`; a fake that is laxer than the real thing would hide bugs.
//!
//! Locks are `std::sync::Mutex`es held only inside synchronous sections, never across an
//! `.await` (clippy's `await_holding_lock` is denied workspace-wide).
//!
//! # Layout
//! - storage: [`MemoryProducts`], [`MemoryCarts`], [`MemoryOrders`] and [`MemoryOutbox`]
//!   (one atomic write for an order and its events), [`MemoryCustomers`],
//!   [`MemoryInventory`], [`MemoryIdempotency`], [`MemoryPromotions`], [`MemoryCache`];
//! - the world: [`FakePaymentGateway`] (scriptable), [`RecordingNotifier`],
//!   [`MemoryMediaStore`], [`MemorySearch`], [`MemoryRecommender`],
//!   [`StaticIdentityVerifier`], [`RecordingLedger`] and the other integration recorders;
//! - [`SystemClock`], [`ManualClock`], [`RandomIds`];
//! - [`InMemory`]: all of the above wired together, with `shop()` and `subscribers()`.

mod backend;
mod cache;
mod carts;
mod catalog;
mod checkout_journal;
mod customers;
mod idempotency;
mod inventory;
mod orders;
mod outbox;
mod promotions;

mod clock;
mod identity;
mod ids;
mod integrations;
mod media;
mod notifier;
mod payments;
mod recommender;
mod search;

pub use backend::{InMemory, MemoryReadiness};
pub use cache::MemoryCache;
pub use carts::MemoryCarts;
pub use catalog::MemoryProducts;
pub use checkout_journal::MemoryCheckoutJournal;
pub use customers::MemoryCustomers;
pub use idempotency::MemoryIdempotency;
pub use inventory::MemoryInventory;
pub use orders::MemoryOrders;
pub use outbox::MemoryOutbox;
pub use promotions::MemoryPromotions;

pub use clock::{ManualClock, SystemClock};
pub use identity::StaticIdentityVerifier;
pub use ids::{RandomIds, SequentialIds};
pub use integrations::{
    CrmActivity, FulfilmentRecord, RecordingAnalytics, RecordingCrm, RecordingFulfilment,
    RecordingLedger,
};
pub use media::{
    DEFAULT_MAX_MEDIA_BYTES, DEFAULT_PRESIGN_BASE_URL, MAX_PRESIGNED_VALIDITY, MemoryMediaStore,
    PresignedError, PresignedMethod, PresignedRequest,
};
pub use notifier::{RecordingNotifier, SentMessage};
pub use payments::{FakePayment, FakePaymentGateway, Fault, GatewayCall, GatewayOperation};
pub use recommender::MemoryRecommender;
pub use search::{MAX_SEARCH_LIMIT, MemorySearch};

//! Ports: what the core needs from the world, as dyn-compatible async traits speaking
//! domain types only.
//!
//! Each port documents its contract with MUST clauses; `shopkit-testkit` holds one
//! conformance suite per port that the in-memory adapter and every real adapter run.
//! No backend type (sqlx, AWS SDK, redis) crosses a port: adapters map their errors to the
//! port's error enum, keeping the backend error as a `source` only.

mod accounts;
mod cache;
mod carts;
mod catalog;
mod checkout;
mod cursor_codec;
mod customers;
mod error;
mod events;
mod idempotency;
mod identity;
mod integrations;
mod inventory;
mod media;
mod notifier;
mod orders;
mod payments;
mod pricing;
mod rate_limit;
mod recommender;
mod search;
mod system;

pub use accounts::{AccountError, IdentityProvider, Password, TokenPair};
pub use cache::Cache;
pub use carts::{CartQuery, CartStore};
pub use catalog::{ProductQuery, ProductRepository};
pub use checkout::{CheckoutJournal, CheckoutProgress, PendingPayment, PlacedOrder};
pub use cursor_codec::{CursorCodec, CursorError, CursorKey, MAX_PAGE_LIMIT, clamp_page_limit};
pub use customers::CustomerRepository;
pub use error::{Cursor, Page, StoreError};
pub use events::{EventSubscriber, OutboxStore, SubscriberError};
pub use idempotency::{IdempotencyBegin, IdempotencyStore};
pub use identity::{IdentityError, IdentityVerifier, Principal, Role};
pub use integrations::{
    AccountingLedger, AnalyticsEvent, AnalyticsSink, Crm, CrmContact, FulfilmentProvider,
    FulfilmentRequest, IntegrationError, JournalEntry, LedgerAccount, Posting, PostingSide,
};
pub use inventory::InventoryStore;
pub use media::{MediaContentType, MediaError, MediaKey, MediaObject, MediaStore, MediaUpload};
pub use notifier::{Channel, Message, Notifier, NotifyError};
pub use orders::{OrderQuery, OrderRepository};
pub use payments::{
    Authorization, AuthorizeRequest, PaymentError, PaymentGateway, PaymentMethodToken,
    RefundReceipt,
};
pub use pricing::{PricingSettings, PromotionRepository, RedeemError};
pub use rate_limit::{Quota, RateDecision, RateLimiter};
pub use recommender::{Interaction, InteractionKind, Recommender};
pub use search::{
    Facet, FacetCount, SearchDocument, SearchError, SearchIndex, SearchQuery, SearchResults,
    SearchSort,
};
pub use system::{Clock, IdGenerator, Readiness};

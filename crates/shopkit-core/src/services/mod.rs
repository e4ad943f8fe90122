//! Use cases: services that orchestrate the ports and do no I/O of their own.
//!
//! Each service takes only the ports it needs in its constructor (as `Arc<dyn Port>`),
//! checks who is calling ([`CartAccess`], [`Caller`]), and returns [`ShopError`]. [`Shop`]
//! builds them all from one set of ports.
//!
//! # Layout
//! - [`error`]: [`ShopError`], what every use case fails with.
//! - [`access`]: [`CartAccess`] and [`Caller`].
//! - [`catalog`], [`cart`], [`checkout`], [`orders`], [`refunds`], [`customers`],
//!   [`accounts`], [`inventory`], [`promotions`], [`events`], [`recommendations`],
//!   [`media`]: one service per area.
//! - [`dispatcher`]: delivers outbox events to [`subscribers`] at least once.
//! - [`shop`]: the [`Shop`] facade and its builder.
//!
//! # Conventions
//! - A change loads the aggregate, calls its method, and saves it with the version it
//!   read; a version conflict is retried up to [`MAX_ATTEMPTS`] times on a fresh copy
//!   (the change is re-applied), then surfaces as [`ShopError::Conflict`].
//! - Events are written with the state change they record (the repository's atomic
//!   write); subscribers hear of them through the dispatcher, never directly.
//! - Gateway and inventory calls carry ids derived from what they are for (order, refund,
//!   idempotency key), so any retried step is a no-op where it already happened.

pub mod access;
pub mod accounts;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod customers;
pub mod dispatcher;
pub mod error;
pub mod error_code;
pub mod events;
pub mod inventory;
pub mod media;
pub mod orders;
pub mod promotions;
pub mod recommendations;
pub mod refunds;
pub mod shop;
pub mod subscribers;

mod keys;
mod quoting;

#[cfg(test)]
mod test_support;

pub use access::{Caller, CartAccess};
pub use accounts::AccountService;
pub use cart::{CartService, Delivery, QuotedCart, ShippingOption};
pub use catalog::{CatalogService, ProductDraft, ProductListing, VariantDraft, Visibility};
pub use checkout::{
    CheckoutConfig, CheckoutPorts, CheckoutProbe, CheckoutRequest, CheckoutService, CheckoutStep,
    FREE_ORDER_PAYMENT, RecoveryReport,
};
pub use customers::{CustomerService, ProfileUpdate, Registration};
pub use dispatcher::{DispatchConfig, DispatchReport, Dispatcher};
pub use error::ShopError;
pub use error_code::ErrorCode;
pub use events::EventLogService;
pub use inventory::{Availability, InventoryService};
pub use media::MediaService;
pub use orders::{OrderListing, OrderService, ShipLines, ShipmentRequest};
pub use promotions::PromotionService;
pub use recommendations::RecommendationService;
pub use refunds::RefundService;
pub use shop::{MissingPort, Shop, ShopBuilder};
pub use subscribers::{
    AnalyticsSubscriber, CrmSubscriber, LedgerSubscriber, NotificationSubscriber,
    RecommenderSubscriber,
};

/// Attempts of a change before a version conflict is reported (the first try and two
/// retries on a fresh copy).
pub const MAX_ATTEMPTS: u32 = 3;

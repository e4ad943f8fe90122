//! # shopkit-core
//!
//! The e-commerce domain and the ports it needs from the world. This crate does no I/O:
//! it has no database, network or runtime in its dependency tree. Adapters implement
//! the ports; services (use cases) take the ports they need in a constructor.
//!
//! # Layout
//! - [`money`]: `Money` and `Currency`, rounding and allocation.
//! - [`ids`], [`quantity`]: newtypes for every id, code and count.
//! - [`catalog`]: products, variants (with their shipping requirement), categories, open
//!   attributes.
//! - [`pricing`]: the pricing engine (promotions, coupons, tax, shipping) as pure
//!   functions, producing a [`pricing::Quote`] that reads as a receipt.
//! - [`cart`]: the cart aggregate and its limits.
//! - [`inventory`]: stock levels, reservations, keyed adjustments.
//! - [`orders`]: the order aggregate: its state machine, shipments, refunds (inside the
//!   order, ADR 0004) and cancellation.
//! - [`customers`]: customers and addresses.
//! - [`events`]: domain events and the outbox envelope.
//! - [`ports`]: the traits the core needs from the world, each with its contract (and the
//!   pure helpers adapters share: the signed cursor codec, media keys).
//! - [`services`]: the use cases (catalog, carts, the checkout saga and its recovery,
//!   orders, refunds, customers, accounts, inventory, the outbox dispatcher and its
//!   subscribers), composed by [`services::Shop::builder`].
pub mod cart;
pub mod catalog;
pub mod customers;
pub mod events;
pub mod ids;
pub mod inventory;
pub mod money;
pub mod orders;
pub mod ports;
pub mod pricing;
pub mod quantity;
pub mod services;

//! # shopkit-core
//!
//! The e-commerce domain and the ports it needs from the world. This crate does no I/O:
//! it has no database, network or runtime in its dependency tree. Adapters implement
//! the ports; services (use cases) take the ports they need in a constructor.
//!
//! # Layout
//! - [`money`]: `Money` and `Currency`, rounding and allocation.
//! - [`ids`], [`quantity`]: newtypes for every id, code and count.
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

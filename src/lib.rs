//! # shopkit
//!
//! An embeddable e-commerce SDK, built hexagonally. This crate is a thin facade:
//!
//! - [`core`] is the domain (money, catalog, pricing, cart, checkout, orders, refunds,
//!   inventory, customers, events) and the ports it needs from the world;
//! - [`memory`] (feature `memory`, on by default) holds in-memory adapters of every port.
//!
//! See `docs/ARCHITECTURE.md` for the map.

pub use shopkit_core as core;
#[cfg(feature = "memory")]
pub use shopkit_memory as memory;

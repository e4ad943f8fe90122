//! # shopkit-core
//!
//! The e-commerce domain and the ports it needs from the world. This crate does no I/O:
//! it has no database, network or runtime in its dependency tree. Adapters implement
//! the ports; services (use cases) take the ports they need in a constructor.
//!
//! # Layout
//! - [`money`]: `Money` and `Currency`, rounding and allocation.
pub mod money;

//! The shopkit reference shop: configuration -> wiring -> serve.
//!
//! The shop holds no domain logic: it reads its configuration, composes the adapters of a
//! profile into a `shopkit_core::services::Shop`, optionally loads a demo catalog, and
//! serves the HTTP API.
//!
//! # Layout
//! - [`config`]: [`ShopConfig`], merged from defaults, a TOML file, `SHOPKIT_*` variables
//!   and flags ([`Cli`]), validated once, secrets redacted.
//! - [`seed`]: [`seed_demo`], a deterministic demo catalog (products, stock, promotions,
//!   tax and shipping) written through the services.
//!
//! - [`wiring`]: one composition function per profile ([`wiring::embedded`]) from the
//!   configuration to the ports, services and HTTP state.
//! - [`app`]: [`start`] serves a [`wiring::Wiring`] with its workers (outbox delivery,
//!   reservation expiry, abandoned carts); [`RunningShop::shutdown`] stops gracefully.
//! - `main.rs`: flags, logs, signals.

pub mod app;
pub mod config;
pub mod seed;
pub mod subscribers;
pub mod wiring;

pub use app::{RunningShop, start};
pub use config::{Cli, Command, ConfigError, LogFormat, Profile, Secret, ShopConfig};
pub use seed::{SeedReport, seed_demo};
pub use wiring::{StartError, Wiring};

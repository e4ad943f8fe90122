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
//! The HTTP wiring and `main` come with the HTTP crate.

pub mod config;
pub mod seed;

pub use config::{Cli, Command, ConfigError, Profile, Secret, ShopConfig};
pub use seed::{SeedReport, seed_demo};

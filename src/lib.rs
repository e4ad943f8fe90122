//! # shopkit
//!
//! An embeddable e-commerce SDK, built hexagonally. This crate is a thin facade:
//!
//! - [`core`] is the domain (money, catalog, pricing, cart, checkout, orders, refunds,
//!   inventory, customers, events), the ports it needs from the world, and the services;
//! - adapters, each behind a feature named after its backend:
//!   - `memory` (on by default): every port in memory, plus scriptable fakes for tests;
//!   - `http`: the axum storefront and back-office API (`shopkit::http::router`);
//!   - `local-identity`: sign-up/sign-in with argon2 and JWTs, for the embedded profile;
//!   - `redis`: the catalog cache, cart store and shared rate limiter on Redis;
//!   - `postgres`: every persistent port on PostgreSQL (sqlx);
//!   - `dynamodb`: products, carts, inventory and idempotency on DynamoDB;
//!   - `s3`: product media on S3 (behind a CDN).
//!
//! See `docs/ARCHITECTURE.md` for the map.

pub use shopkit_core as core;
#[cfg(feature = "dynamodb")]
pub use shopkit_dynamodb as dynamodb;
#[cfg(feature = "http")]
pub use shopkit_http as http;
#[cfg(feature = "local-identity")]
pub use shopkit_local_identity as local_identity;
#[cfg(feature = "memory")]
pub use shopkit_memory as memory;
#[cfg(feature = "postgres")]
pub use shopkit_postgres as postgres;
#[cfg(feature = "redis")]
pub use shopkit_redis as redis;
#[cfg(feature = "s3")]
pub use shopkit_s3 as s3;

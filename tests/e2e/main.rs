//! End-to-end tests of the reference shop over HTTP, in one binary (one link in CI): the
//! real shop on `127.0.0.1:0`, driven by a real HTTP client. `SHOPKIT_E2E_PROFILE`
//! (embedded, postgres, aws) picks the storage under test; see [`support`].
//!
//! Run with: `cargo test --all-features --test e2e`

mod bad_input;
mod contention;
mod journey;
mod security;
mod support;

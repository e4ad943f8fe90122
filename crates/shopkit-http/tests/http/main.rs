//! Tests of the HTTP adapter through its router (`tower::ServiceExt::oneshot`), over the
//! in-memory adapters. One binary, one module per concern.

mod common;

mod auth;
mod catalog;
mod health;
mod idempotency;
mod limits;
mod local_identity;
mod openapi;
mod problems;
mod serve;

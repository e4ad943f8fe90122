//! Tests of the HTTP adapter through its router (`tower::ServiceExt::oneshot`), over the
//! in-memory adapters. One binary, one module per concern.

mod common;

mod admin_auth;
mod admin_catalog;
mod admin_customers;
mod admin_events;
mod admin_inventory;
mod admin_media;
mod admin_orders;
mod admin_promotions;
mod admin_refunds;
mod admin_support;
mod auth;
mod catalog;
mod health;
mod idempotency;
mod limits;
mod local_identity;
mod openapi;
mod openapi_constraints;
mod problems;
mod serve;
mod storefront_account;
mod storefront_carts;
mod storefront_checkout;
mod storefront_orders;
mod storefront_receipts;
mod storefront_search;
mod storefront_support;

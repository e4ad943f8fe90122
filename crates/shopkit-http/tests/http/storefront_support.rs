//! Helpers of the storefront tests: a shop without a rate limit (a test sends many
//! requests from one "client"), catalog fixtures, and short request builders.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use shopkit_core::catalog::{AttributeName, AttributeValue, Attributes, Product, ProductStatus};
use shopkit_core::ids::{CategoryId, CouponCode, PromotionId, RegionCode, ShippingMethodId, Sku};
use shopkit_core::money::{Currency, Money};
use shopkit_core::ports::{Clock, PricingSettings, PromotionRepository};
use shopkit_core::pricing::{Promotion, PromotionKind, ShippingPrice, ShippingRate};
use shopkit_core::services::{ProductDraft, VariantDraft};
use shopkit_http::HttpConfig;
use uuid::Uuid;

use crate::common::*;

pub(crate) fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

/// A shop over fresh memory adapters, without a rate limit.
pub(crate) fn shop() -> App {
    App::with_config(HttpConfig { rate_limit_per_second: 0, ..HttpConfig::default() })
}

/// An active product with one variant per `(sku, USD minor price)`, in `categories`, with
/// text `attributes`.
pub(crate) async fn product(
    app: &App,
    title: &str,
    variants: &[(&str, i64)],
    categories: &[&str],
    attributes: &[(&str, &str)],
) -> Product {
    let variants = variants
        .iter()
        .map(|(sku, price)| VariantDraft::new(Sku::new(sku).unwrap(), *sku, vec![usd(*price)]))
        .collect();
    let mut draft = ProductDraft::new(title, variants).with_status(ProductStatus::Active);
    draft.categories = categories.iter().map(|c| CategoryId::new(c).unwrap()).collect();
    let mut attrs = Attributes::new();
    for (name, value) in attributes {
        attrs.insert(AttributeName::new(name).unwrap(), AttributeValue::Text((*value).into()));
    }
    draft.attributes = attrs;
    app.state.shop().catalog().create_product(draft).await.unwrap()
}

/// `TEE` at 25.00 USD with `stock` units.
pub(crate) async fn tee(app: &App, stock: i64) -> Product {
    let tee = product(app, "Tee", &[("TEE", 25_00)], &[], &[]).await;
    app.stock("TEE", stock).await;
    tee
}

/// A percentage coupon; `expired` ended yesterday.
pub(crate) async fn coupon(app: &App, code: &str, percent: i64, expired: bool) {
    let id = PromotionId::from_uuid(Uuid::new_v4());
    let mut builder =
        Promotion::builder(id, code, PromotionKind::Percentage(Decimal::from(percent)))
            .coupon(CouponCode::new(code).unwrap());
    if expired {
        let now = app.clock.now();
        builder = builder.starts_at(now - Duration::days(30)).ends_at(now - Duration::days(1));
    }
    app.backend.promotions.upsert(&builder.build().unwrap()).await.unwrap();
}

/// A `standard` shipping rate: 5.00 USD to the US.
pub(crate) async fn us_shipping(app: &App) {
    let rate = ShippingRate::new(
        ShippingMethodId::new("standard").unwrap(),
        "Standard",
        ShippingPrice::Flat(usd(5_00)),
    )
    .unwrap()
    .serving(vec![RegionCode::new("US").unwrap()]);
    let mut settings = PricingSettings::default();
    settings.shipping.rates.push(rate);
    app.backend.promotions.save_settings(&settings).await.unwrap();
}

/// Headers: a bearer token or a guest cart token.
pub(crate) enum Who<'a> {
    Bearer(&'a str),
    Guest(&'a str),
    Anonymous,
}

impl Who<'_> {
    pub(crate) fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Who::Bearer(token) => vec![("authorization", bearer(token))],
            Who::Guest(token) => vec![("x-cart-token", (*token).to_owned())],
            Who::Anonymous => Vec::new(),
        }
    }
}

fn with<'a>(
    who: &'a [(&'static str, String)],
    extra: &'a [(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    who.iter().map(|(k, v)| (*k, v.as_str())).chain(extra.iter().copied()).collect()
}

/// Sends `method uri` with a JSON `body` (or none) as `who`, plus `extra` headers.
pub(crate) async fn call(
    app: &App,
    method: Method,
    uri: &str,
    body: Option<&Value>,
    who: &Who<'_>,
    extra: &[(&str, &str)],
) -> Reply {
    let who = who.headers();
    let headers = with(&who, extra);
    let request = match body {
        Some(body) => json(method, uri, body, &headers),
        None => {
            let mut builder = axum::http::Request::builder().method(method).uri(uri);
            for (name, value) in &headers {
                builder = builder.header(*name, *value);
            }
            builder.body(axum::body::Body::empty()).unwrap()
        }
    };
    app.send(request).await
}

/// A new guest cart in USD: its id and token.
pub(crate) async fn guest_cart(app: &App) -> (String, String) {
    let reply = call(
        app,
        Method::POST,
        "/api/v1/carts",
        Some(&json!({"currency": "USD"})),
        &Who::Anonymous,
        &[],
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&reply.body));
    let body = reply.json();
    (
        body["cart"]["id"].as_str().unwrap().to_owned(),
        body["cart_token"].as_str().unwrap().to_owned(),
    )
}

/// The signed-in customer's open cart in USD.
pub(crate) async fn customer_cart(app: &App, token: &str) -> String {
    let reply = call(
        app,
        Method::POST,
        "/api/v1/carts",
        Some(&json!({"currency": "USD"})),
        &Who::Bearer(token),
        &[],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()["cart"]["id"].as_str().unwrap().to_owned()
}

/// Adds `quantity` of `sku` to a cart; returns the reply.
pub(crate) async fn add(app: &App, cart: &str, who: &Who<'_>, sku: &str, quantity: i64) -> Reply {
    let uri = format!("/api/v1/carts/{cart}/lines");
    call(app, Method::POST, &uri, Some(&json!({"sku": sku, "quantity": quantity})), who, &[]).await
}

/// A complete address in California (`US-CA`), as a client sends it.
pub(crate) fn california() -> Value {
    json!({"name": "Ann Lee", "line1": "1 Main St", "city": "Sacramento",
           "postal_code": "95814", "region": "US-CA"})
}

/// Posts a checkout of the cart as it is (no delivery chosen for it first).
pub(crate) async fn checkout_as_is(
    app: &App,
    cart: &str,
    who: &Who<'_>,
    key: &str,
    payment_method: &str,
) -> Reply {
    let body =
        json!({"cart_id": cart, "email": "ann@example.com", "payment_method": payment_method});
    call(app, Method::POST, "/api/v1/checkout", Some(&body), who, &[("idempotency-key", key)]).await
}

/// Adds a free `standard` rate serving everywhere in USD, unless the shop already has a
/// `standard` rate in USD (such as [`us_shipping`]'s).
pub(crate) async fn free_standard_shipping(app: &App) {
    let mut settings = app.backend.promotions.settings().await.unwrap();
    let standard = ShippingMethodId::new("standard").unwrap();
    if settings
        .shipping
        .rates
        .iter()
        .any(|r| r.method() == &standard && r.currency() == Currency::USD)
    {
        return;
    }
    let free = ShippingRate::new(standard, "Standard", ShippingPrice::Flat(usd(0))).unwrap();
    settings.shipping.rates.push(free);
    app.backend.promotions.save_settings(&settings).await.unwrap();
}

/// Chooses delivery as a shopper's client does before paying: when `who` can see the cart
/// and it is open, holds goods to ship and lacks an address or a method, it is shipped to
/// [`california`] (or its own address) by `standard` (or its own method), with
/// [`free_standard_shipping`] when the shop has no `standard` rate in USD.
pub(crate) async fn choose_delivery(app: &App, cart: &str, who: &Who<'_>) {
    let uri = format!("/api/v1/carts/{cart}");
    let reply = call(app, Method::GET, &uri, None, who, &[]).await;
    if reply.status != StatusCode::OK {
        return;
    }
    let current = reply.json();
    let chosen = !current["shipping_address"].is_null() && !current["shipping_method"].is_null();
    if current["status"] != "open" || current["requires_shipping"] != json!(true) || chosen {
        return;
    }
    free_standard_shipping(app).await;
    let address = match &current["shipping_address"] {
        Value::Null => california(),
        address => address.clone(),
    };
    let method = match &current["shipping_method"] {
        Value::Null => json!("standard"),
        method => method.clone(),
    };
    let delivery = json!({"address": address, "shipping_method": method});
    let set = call(app, Method::PUT, &format!("{uri}/delivery"), Some(&delivery), who, &[]).await;
    assert_eq!(set.status, StatusCode::OK, "{}", String::from_utf8_lossy(&set.body));
}

/// Checks a cart out with `payment_method` under `key`, choosing its delivery first
/// ([`choose_delivery`]) as a client does.
pub(crate) async fn checkout(
    app: &App,
    cart: &str,
    who: &Who<'_>,
    key: &str,
    payment_method: &str,
) -> Reply {
    choose_delivery(app, cart, who).await;
    checkout_as_is(app, cart, who, key, payment_method).await
}

/// A placed order of the signed-in customer `token`: `quantity` tees, paid by card.
pub(crate) async fn placed_order(app: &App, token: &str, quantity: i64) -> Value {
    let cart = customer_cart(app, token).await;
    let who = Who::Bearer(token);
    assert_eq!(add(app, &cart, &who, "TEE", quantity).await.status, StatusCode::OK);
    let reply = checkout(app, &cart, &who, &format!("order-{cart}"), "pm_card_visa").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

/// Units of `sku` that can still be sold.
pub(crate) async fn available(app: &App, sku: &str) -> i64 {
    app.state.shop().inventory().levels(&[Sku::new(sku).unwrap()]).await.unwrap()[0].available()
}

//! Promotions and coupons (validated through `Promotion::builder`), and the pricing
//! settings (tax rates inclusive or exclusive, shipping rates).

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin_support::*;
use crate::common::*;

fn spring() -> Value {
    json!({
        "name": "Spring sale",
        "kind": {"type": "percentage", "percent": "15"},
        "coupon": "spring15",
        "starts_at": "2030-03-01T00:00:00Z",
        "ends_at": "2030-06-01T00:00:00Z",
        "usage_limit": 100,
        "target": {"type": "skus", "skus": ["TEE"]}
    })
}

#[tokio::test]
async fn a_promotion_is_created_read_replaced_listed_and_deleted() {
    let app = App::new();

    let created = app.admin(Method::POST, "/promotions", Some(&spring()), None).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&created.body));
    let body = created.json();
    let id = id_of(&body);
    assert_eq!(created.header("location"), Some(format!("{ADMIN}/promotions/{id}").as_str()));
    assert_eq!(body["coupon"], "SPRING15");
    assert_eq!(body["kind"], json!({"type": "percentage", "percent": "15"}));
    assert_eq!(body["times_used"], 0);

    let mut replacement = spring();
    replacement["kind"] = json!({"type": "buy_x_get_y", "buy": 2, "get": 1, "percent_off": "100"});
    let replaced =
        app.admin(Method::PUT, &format!("/promotions/{id}"), Some(&replacement), None).await;
    let read = app.admin_get(&format!("/promotions/{id}")).await;
    let list = app.admin_get("/promotions").await.json();
    let deleted = app.admin(Method::DELETE, &format!("/promotions/{id}"), None, None).await;
    let gone = app.admin_get(&format!("/promotions/{id}")).await;

    assert_eq!(replaced.status, StatusCode::OK);
    assert_eq!(read.json()["kind"]["type"], "buy_x_get_y");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["next_cursor"], Value::Null);
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_percentage_of_150_is_a_422_naming_the_percent() {
    let app = App::new();
    let mut body = spring();
    body["kind"]["percent"] = json!("150");

    let reply = app.admin(Method::POST, "/promotions", Some(&body), None).await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = reply.problem();
    assert_eq!(problem["code"], "validation_failed");
    assert_eq!(problem["field"], "kind.percent");
    assert!(problem["detail"].as_str().unwrap().contains("at most 100"));
    assert_eq!(app.admin_get("/promotions").await.json()["items"], json!([]));
}

#[tokio::test]
async fn a_promotion_that_ends_before_it_starts_is_a_422_naming_ends_at() {
    let app = App::new();
    let mut body = spring();
    body["ends_at"] = json!("2030-02-01T00:00:00Z");

    let created = app.admin(Method::POST, "/promotions", Some(&body), None).await;
    let replaced = app
        .admin(Method::PUT, "/promotions/0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a", Some(&body), None)
        .await;

    for reply in [created, replaced] {
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.problem()["field"], "ends_at");
    }
}

#[tokio::test]
async fn other_invalid_promotions_name_their_field() {
    let app = App::new();
    let with = |pointer: &str, value: Value| {
        let mut body = spring();
        *body.pointer_mut(pointer).unwrap() = value;
        body
    };

    for (body, field) in [
        (with("/name", json!(" ")), "name"),
        (with("/coupon", json!("no spaces")), "coupon"),
        (with("/target", json!({"type": "skus", "skus": []})), "target.skus"),
        (
            with(
                "/kind",
                json!({"type": "fixed_amount", "amount": {"amount": "0", "currency": "EUR"}}),
            ),
            "kind.amount",
        ),
        // A type error inside the tagged `kind` is reported on `kind` itself.
        (with("/kind", json!({"type": "percentage", "percent": 15})), "kind"),
        (with("/kind", json!({"type": "half_off"})), "kind.type"),
    ] {
        let reply = app.admin(Method::POST, "/promotions", Some(&body), None).await;

        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(reply.problem()["field"], field);
    }
}

#[tokio::test]
async fn a_coupon_code_held_by_another_promotion_is_a_409() {
    let app = App::new();
    app.admin(Method::POST, "/promotions", Some(&spring()), None).await;

    let clash = app.admin(Method::POST, "/promotions", Some(&spring()), None).await;

    assert_eq!(clash.status, StatusCode::CONFLICT);
    assert_eq!(clash.problem()["code"], "already_exists");
}

fn settings() -> Value {
    json!({
        "taxes": {
            "prices_include_tax": true,
            "tax_shipping": true,
            "rates": [{"region": "DE", "rate": "0.19", "name": "MwSt"},
                      {"region": "US-CA", "rate": "0.0725", "name": "Sales tax"}]
        },
        "shipping": {"rates": [
            {"method": "standard", "name": "Standard", "regions": ["DE"],
             "price": {"type": "flat", "amount": {"amount": "4.90", "currency": "EUR"}},
             "free_over": {"amount": "50.00", "currency": "EUR"}},
            {"method": "parcel", "name": "Parcel", "regions": [], "free_over": null,
             "price": {"type": "weight_bands", "bands": [
                 {"up_to_grams": 1000, "price": {"amount": "5.00", "currency": "USD"}},
                 {"up_to_grams": 5000, "price": {"amount": "12.00", "currency": "USD"}}]}}
        ]},
        "rounding": "half_up"
    })
}

#[tokio::test]
async fn pricing_settings_are_replaced_and_read_back() {
    let app = App::new();
    let before = app.admin_get("/settings/pricing").await.json();

    let saved = app.admin(Method::PUT, "/settings/pricing", Some(&settings()), None).await;
    let read = app.admin_get("/settings/pricing").await.json();

    assert_eq!(before["taxes"]["rates"], json!([]));
    assert_eq!(saved.status, StatusCode::OK, "{}", String::from_utf8_lossy(&saved.body));
    assert_eq!(saved.json(), settings());
    assert_eq!(read, settings());
}

#[tokio::test]
async fn invalid_pricing_settings_are_a_422_naming_the_field_and_change_nothing() {
    let app = App::new();
    app.admin(Method::PUT, "/settings/pricing", Some(&settings()), None).await;
    let with = |pointer: &str, value: Value| {
        let mut body = settings();
        *body.pointer_mut(pointer).unwrap() = value;
        body
    };

    for (body, field) in [
        (with("/taxes/rates/0/rate", json!("19")), "taxes.rates[0].rate"),
        (with("/taxes/rates/1/region", json!("California")), "taxes.rates[1].region"),
        (with("/shipping/rates/1/price/bands", json!([])), "shipping.rates[1].price.bands"),
        (
            with("/shipping/rates/1/price/bands/1/price/currency", json!("EUR")),
            "shipping.rates[1].price",
        ),
        (with("/shipping/rates/0/price/amount/amount", json!("-1")), "shipping.rates[0].price"),
        (with("/shipping/rates/0/method", json!("Standard Post")), "shipping.rates[0].method"),
        (with("/rounding", json!("sideways")), "rounding"),
    ] {
        let reply = app.admin(Method::PUT, "/settings/pricing", Some(&body), None).await;

        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(reply.problem()["field"], field);
    }
    assert_eq!(app.admin_get("/settings/pricing").await.json(), settings());
}

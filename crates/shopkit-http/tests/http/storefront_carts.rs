//! Carts over HTTP: lifecycle, who may open a cart, input validation, server-side prices,
//! coupons and delivery.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shopkit_core::catalog::ProductStatus;
use shopkit_core::ids::{RegionCode, ShippingMethodId, Sku};
use shopkit_core::money::{Currency, Money};
use shopkit_core::ports::{PricingSettings, PromotionRepository};
use shopkit_core::pricing::{ShippingPrice, ShippingRate, WeightBand};
use shopkit_core::services::{ProductDraft, VariantDraft};

use crate::common::*;
use crate::storefront_support::*;

async fn get_cart(app: &App, cart: &str, who: &Who<'_>) -> Reply {
    call(app, Method::GET, &format!("/api/v1/carts/{cart}"), None, who, &[]).await
}

async fn quote(app: &App, cart: &str, who: &Who<'_>) -> Value {
    let reply =
        call(app, Method::GET, &format!("/api/v1/carts/{cart}/quote"), None, who, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

#[tokio::test]
async fn a_guest_cart_goes_through_add_change_remove_with_its_token() {
    let app = shop();
    tee(&app, 10).await;
    product(&app, "Cap", &[("CAP", 10_00)], &[], &[]).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);

    let added = add(&app, &cart, &guest, "TEE", 2).await;
    let line = added.json()["lines"][0]["id"].as_str().unwrap().to_owned();
    add(&app, &cart, &guest, "CAP", 1).await;
    let lines = format!("/api/v1/carts/{cart}/lines/{line}");
    let changed =
        call(&app, Method::PATCH, &lines, Some(&json!({"quantity": 3})), &guest, &[]).await;
    let removed = call(&app, Method::DELETE, &lines, None, &guest, &[]).await;
    let read = get_cart(&app, &cart, &guest).await;

    assert_eq!(added.status, StatusCode::OK);
    assert_eq!(added.json()["lines"][0]["quantity"], 2);
    assert_eq!(changed.json()["lines"][0]["quantity"], 3);
    assert_eq!(changed.json()["item_count"], 4);
    assert_eq!(removed.status, StatusCode::OK);
    let body = read.json();
    assert_eq!(body["lines"].as_array().unwrap().len(), 1);
    assert_eq!(body["lines"][0]["sku"], "CAP");
    assert_eq!(body["status"], "open");
    assert_eq!(body["currency"], "USD");
    assert!(body["version"].as_u64().unwrap() > added.json()["version"].as_u64().unwrap());
    assert!(body.get("cart_token").is_none(), "the token is handed out once, at creation");
}

#[tokio::test]
async fn a_signed_in_customer_gets_the_same_open_cart_back() {
    let app = shop();

    let first = customer_cart(&app, CUSTOMER_TOKEN).await;
    let again = call(
        &app,
        Method::POST,
        "/api/v1/carts",
        Some(&json!({"currency": "USD"})),
        &Who::Bearer(CUSTOMER_TOKEN),
        &[],
    )
    .await;

    assert_eq!(again.json()["cart"]["id"], first.as_str());
    assert_eq!(again.json()["cart_token"], Value::Null);
}

#[tokio::test]
async fn an_unknown_currency_is_a_422_naming_it() {
    let app = shop();

    let reply = call(
        &app,
        Method::POST,
        "/api/v1/carts",
        Some(&json!({"currency": "XXX"})),
        &Who::Anonymous,
        &[],
    )
    .await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.problem()["field"], "currency");
}

#[tokio::test]
async fn nobody_else_opens_a_cart_and_strangers_see_404_not_403() {
    let app = shop();
    tee(&app, 10).await;
    let mine = customer_cart(&app, CUSTOMER_TOKEN).await;
    let (guest_cart_id, guest_token) = guest_cart(&app).await;
    let (_, other_guest_token) = guest_cart(&app).await;

    let other_customer = get_cart(&app, &mine, &Who::Bearer(OTHER_CUSTOMER_TOKEN)).await;
    let guest_on_customer_cart = get_cart(&app, &mine, &Who::Guest(&guest_token)).await;
    let wrong_token = get_cart(&app, &guest_cart_id, &Who::Guest(&other_guest_token)).await;
    let customer_on_guest_cart = get_cart(&app, &guest_cart_id, &Who::Bearer(CUSTOMER_TOKEN)).await;
    let stranger_adds = add(&app, &guest_cart_id, &Who::Guest(&other_guest_token), "TEE", 1).await;
    let anonymous = get_cart(&app, &guest_cart_id, &Who::Anonymous).await;

    for reply in [
        &other_customer,
        &guest_on_customer_cart,
        &wrong_token,
        &customer_on_guest_cart,
        &stranger_adds,
    ] {
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.problem()["code"], "not_found");
    }
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let untouched = get_cart(&app, &guest_cart_id, &Who::Guest(&guest_token)).await;
    assert_eq!(untouched.json()["lines"], json!([]));
}

#[tokio::test]
async fn bad_quantities_are_refused_and_change_nothing() {
    let app = shop();
    tee(&app, 10).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    let first = add(&app, &cart, &guest, "TEE", 1).await.json();
    let line = first["lines"][0]["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/v1/carts/{cart}/lines");
    let line_uri = format!("{uri}/{line}");

    let bad: [(&str, Value); 8] = [
        ("zero", json!(0)),
        ("negative", json!(-1)),
        ("fractional", json!(1.5)),
        ("string", json!("2")),
        ("huge", json!(1_000_000_000_000_i64)),
        ("null", Value::Null),
        ("boolean", json!(true)),
        ("float two", json!(2.0)),
    ];
    for (case, quantity) in bad {
        let added = call(
            &app,
            Method::POST,
            &uri,
            Some(&json!({"sku": "TEE", "quantity": quantity})),
            &guest,
            &[],
        )
        .await;
        let changed =
            call(&app, Method::PATCH, &line_uri, Some(&json!({"quantity": quantity})), &guest, &[])
                .await;
        for reply in [added, changed] {
            assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{case}");
            let problem = reply.problem();
            assert_eq!(problem["code"], "validation_failed", "{case}");
            assert_eq!(problem["field"], "quantity", "{case}");
        }
    }
    let missing = call(&app, Method::POST, &uri, Some(&json!({"sku": "TEE"})), &guest, &[]).await;
    let over_limit = add(&app, &cart, &guest, "TEE", 99).await;
    let not_json =
        call(&app, Method::POST, &uri, None, &guest, &[("content-type", "application/json")]).await;

    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.problem()["field"], "quantity");
    assert_eq!(over_limit.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(over_limit.problem()["code"], "quantity_limit");
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    let after = get_cart(&app, &cart, &guest).await.json();
    assert_eq!(after["lines"], first["lines"], "nothing changed");
    assert_eq!(after["version"], first["version"]);
}

#[tokio::test]
async fn an_unknown_sku_is_a_422_naming_it() {
    let app = shop();
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);

    let unknown = add(&app, &cart, &guest, "NOPE", 1).await;
    let malformed = add(&app, &cart, &guest, "has space", 1).await;

    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = unknown.problem();
    assert_eq!(
        (problem["code"].as_str(), problem["sku"].as_str()),
        (Some("unknown_sku"), Some("NOPE"))
    );
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(malformed.problem()["field"], "sku");
    assert_eq!(get_cart(&app, &cart, &guest).await.json()["lines"], json!([]));
}

#[tokio::test]
async fn a_client_sent_price_is_ignored_and_the_quote_is_the_servers() {
    let app = shop();
    tee(&app, 10).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    let body = json!({
        "sku": "TEE", "quantity": 2, "price": "0.01", "unit_price": {"amount": "0.01", "currency": "USD"},
        "total": "0.01", "from_an_app_version_we_do_not_know": true
    });

    let added =
        call(&app, Method::POST, &format!("/api/v1/carts/{cart}/lines"), Some(&body), &guest, &[])
            .await;
    let quote = quote(&app, &cart, &guest).await;

    assert_eq!(added.status, StatusCode::OK);
    assert_eq!(quote["lines"][0]["unit_price"], json!({"amount": "25.00", "currency": "USD"}));
    assert_eq!(quote["subtotal"]["amount"], "50.00");
    assert_eq!(quote["grand_total"], json!({"amount": "50.00", "currency": "USD"}));
}

#[tokio::test]
async fn a_coupon_is_applied_priced_and_removed() {
    let app = shop();
    tee(&app, 10).await;
    coupon(&app, "WELCOME10", 10, false).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 2).await;
    let coupons = format!("/api/v1/carts/{cart}/coupons");

    let applied =
        call(&app, Method::POST, &coupons, Some(&json!({"code": "welcome10"})), &guest, &[]).await;
    let discounted = quote(&app, &cart, &guest).await;
    let removed =
        call(&app, Method::DELETE, &format!("{coupons}/welcome10"), None, &guest, &[]).await;
    let full = quote(&app, &cart, &guest).await;

    assert_eq!(applied.status, StatusCode::OK);
    assert_eq!(applied.json()["coupons"], json!(["WELCOME10"]));
    assert_eq!(discounted["discount_total"]["amount"], "5.00");
    assert_eq!(discounted["grand_total"]["amount"], "45.00");
    assert_eq!(discounted["applied_promotions"][0]["coupon"], "WELCOME10");
    assert_eq!(removed.json()["coupons"], json!([]));
    assert_eq!(full["grand_total"]["amount"], "50.00");
}

#[tokio::test]
async fn an_expired_or_unknown_coupon_is_refused_with_the_reason() {
    let app = shop();
    tee(&app, 10).await;
    coupon(&app, "OLD", 50, true).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 1).await;
    let coupons = format!("/api/v1/carts/{cart}/coupons");

    let expired =
        call(&app, Method::POST, &coupons, Some(&json!({"code": "OLD"})), &guest, &[]).await;
    let unknown =
        call(&app, Method::POST, &coupons, Some(&json!({"code": "NOPE"})), &guest, &[]).await;

    assert_eq!(expired.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = expired.problem();
    assert_eq!(problem["code"], "coupon_rejected");
    assert_eq!(problem["reason"], "expired");
    assert_eq!(unknown.problem()["reason"], "unknown");
    assert_eq!(get_cart(&app, &cart, &guest).await.json()["coupons"], json!([]));
}

#[tokio::test]
async fn delivery_adds_shipping_to_the_quote() {
    let app = shop();
    tee(&app, 10).await;
    us_shipping(&app).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 1).await;
    let address = json!({"name": "Ann Lee", "line1": "1 Main St", "city": "Springfield",
                         "postal_code": "12345", "region": "us-ca"});
    let delivery = format!("/api/v1/carts/{cart}/delivery");

    let set = call(
        &app,
        Method::PUT,
        &delivery,
        Some(&json!({"address": address, "shipping_method": "standard"})),
        &guest,
        &[],
    )
    .await;
    let priced = quote(&app, &cart, &guest).await;
    let abroad = call(&app, Method::PUT, &delivery,
        Some(&json!({"address": {"region": "DE", "name": "A", "line1": "B", "city": "C", "postal_code": "1"},
                     "shipping_method": "standard"})), &guest, &[]).await;
    let incomplete = call(&app, Method::PUT, &delivery,
        Some(&json!({"address": {"region": "US", "name": "A", "line1": "", "city": "C", "postal_code": "1"}})),
        &guest, &[]).await;

    assert_eq!(set.status, StatusCode::OK);
    assert_eq!(set.json()["shipping_address"]["region"], "US-CA");
    assert_eq!(set.json()["shipping_method"], "standard");
    assert_eq!(priced["shipping"]["total"]["amount"], "5.00");
    assert_eq!(priced["grand_total"]["amount"], "30.00");
    assert_eq!(abroad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(abroad.problem()["code"], "shipping_unavailable");
    assert_eq!(incomplete.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(incomplete.problem()["field"], "address.line1");
}

#[tokio::test]
async fn malformed_ids_in_the_path_are_400() {
    let app = shop();
    let (_, token) = guest_cart(&app).await;

    let reply = get_cart(&app, "not-a-uuid", &Who::Guest(&token)).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.problem()["code"], "invalid_path");
}

/// `standard` (5.00 to the US, free from 50.00, and 4.49 EUR anywhere), `express` (by weight,
/// to the US) and `local` (3.00, Germany only).
async fn three_shipping_methods(app: &App) {
    let method = |m: &str| ShippingMethodId::new(m).unwrap();
    let us = || vec![RegionCode::new("US").unwrap()];
    let rates = vec![
        ShippingRate::new(method("standard"), "Standard", ShippingPrice::Flat(usd(5_00)))
            .unwrap()
            .serving(us())
            .free_over(usd(50_00))
            .unwrap(),
        ShippingRate::new(
            method("standard"),
            "Standard",
            ShippingPrice::Flat(Money::from_minor(4_49, Currency::EUR)),
        )
        .unwrap(),
        ShippingRate::new(
            method("express"),
            "Express",
            ShippingPrice::WeightBands(vec![
                WeightBand { up_to_grams: 1_000, price: usd(12_00) },
                WeightBand { up_to_grams: 5_000, price: usd(20_00) },
            ]),
        )
        .unwrap()
        .serving(us()),
        ShippingRate::new(method("local"), "Local courier", ShippingPrice::Flat(usd(3_00)))
            .unwrap()
            .serving(vec![RegionCode::new("DE").unwrap()]),
    ];
    let mut settings = PricingSettings::default();
    settings.shipping.rates = rates;
    app.backend.promotions.save_settings(&settings).await.unwrap();
}

#[tokio::test]
async fn a_cart_lists_the_shipping_methods_that_serve_its_address_priced_for_it() {
    let app = shop();
    tee(&app, 10).await;
    three_shipping_methods(&app).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 1).await;
    let delivery = format!("/api/v1/carts/{cart}/delivery");
    call(&app, Method::PUT, &delivery, Some(&json!({"address": california()})), &guest, &[]).await;
    let methods = format!("/api/v1/carts/{cart}/shipping-methods");

    let one_tee = call(&app, Method::GET, &methods, None, &guest, &[]).await;
    add(&app, &cart, &guest, "TEE", 1).await;
    add(&app, &cart, &guest, "TEE", 1).await;
    let free_from_fifty = call(&app, Method::GET, &methods, None, &guest, &[]).await;
    let stranger = call(&app, Method::GET, &methods, None, &Who::Anonymous, &[]).await;

    assert_eq!(one_tee.status, StatusCode::OK, "{}", String::from_utf8_lossy(&one_tee.body));
    let listed = one_tee.json();
    let ids: Vec<&str> = listed["shipping_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["standard", "express"], "no EUR rate, nothing for Germany only: {listed}");
    let standard = &listed["shipping_methods"][0];
    assert_eq!(standard["name"], "Standard");
    assert_eq!(standard["price"], json!({"amount": "5.00", "currency": "USD"}));
    assert_eq!(standard["free_over"], json!({"amount": "50.00", "currency": "USD"}));
    assert_eq!(listed["shipping_methods"][1]["price"]["amount"], "12.00");
    assert_eq!(listed["shipping_methods"][1]["free_over"], Value::Null);
    let standard_now = &free_from_fifty.json()["shipping_methods"][0];
    assert_eq!(standard_now["price"]["amount"], "0.00", "75.00 of tees ship free");
    assert_eq!(stranger.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unknown_shipping_method_is_shipping_unavailable_not_a_validation_failure() {
    let app = shop();
    tee(&app, 10).await;
    three_shipping_methods(&app).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 1).await;
    let delivery = format!("/api/v1/carts/{cart}/delivery");

    let unknown = call(
        &app,
        Method::PUT,
        &delivery,
        Some(&json!({"address": california(), "shipping_method": "teleport"})),
        &guest,
        &[],
    )
    .await;
    let elsewhere = call(
        &app,
        Method::PUT,
        &delivery,
        Some(&json!({"address": california(), "shipping_method": "local"})),
        &guest,
        &[],
    )
    .await;

    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.problem()["code"], "shipping_unavailable");
    assert_eq!(unknown.problem()["method"], "teleport");
    assert_eq!(elsewhere.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(elsewhere.problem()["code"], "shipping_unavailable");
    assert_eq!(elsewhere.problem()["region"], "US-CA");
}

#[tokio::test]
async fn every_cart_response_carries_the_cart_priced_now() {
    let app = shop();
    tee(&app, 10).await;
    us_shipping(&app).await;
    coupon(&app, "WELCOME10", 10, false).await;
    let created = call(
        &app,
        Method::POST,
        "/api/v1/carts",
        Some(&json!({"currency": "USD"})),
        &Who::Anonymous,
        &[],
    )
    .await;
    let cart = created.json()["cart"]["id"].as_str().unwrap().to_owned();
    let token = created.json()["cart_token"].as_str().unwrap().to_owned();
    let guest = Who::Guest(&token);
    let uri = format!("/api/v1/carts/{cart}");

    let added = add(&app, &cart, &guest, "TEE", 2).await;
    let line = added.json()["lines"][0]["id"].as_str().unwrap().to_owned();
    let lines = format!("{uri}/lines/{line}");
    let changed =
        call(&app, Method::PATCH, &lines, Some(&json!({"quantity": 3})), &guest, &[]).await;
    let coupon = call(
        &app,
        Method::POST,
        &format!("{uri}/coupons"),
        Some(&json!({"code": "WELCOME10"})),
        &guest,
        &[],
    )
    .await;
    let delivery = json!({"address": california(), "shipping_method": "standard"});
    let delivered =
        call(&app, Method::PUT, &format!("{uri}/delivery"), Some(&delivery), &guest, &[]).await;
    let read = get_cart(&app, &cart, &guest).await;
    let quoted = quote(&app, &cart, &guest).await;
    let uncouponed =
        call(&app, Method::DELETE, &format!("{uri}/coupons/welcome10"), None, &guest, &[]).await;
    let removed = call(&app, Method::DELETE, &lines, None, &guest, &[]).await;

    let grand = |reply: &Reply| reply.json()["quote"]["grand_total"]["amount"].clone();
    assert_eq!(created.json()["cart"]["quote"]["grand_total"]["amount"], "0.00");
    assert_eq!(added.json()["quote"]["lines"][0]["unit_price"]["amount"], "25.00");
    assert_eq!(grand(&added), "50.00");
    assert_eq!(grand(&changed), "75.00");
    assert_eq!(coupon.json()["quote"]["discount_total"]["amount"], "7.50");
    assert_eq!(grand(&coupon), "67.50");
    assert_eq!(delivered.json()["quote"]["shipping"]["total"]["amount"], "5.00");
    assert_eq!(grand(&delivered), "72.50");
    assert_eq!(read.json()["quote"], quoted, "the same price as the quote endpoint's");
    assert_eq!(grand(&uncouponed), "80.00");
    assert_eq!(grand(&removed), "0.00");
    for reply in [&added, &changed, &coupon, &delivered, &read, &uncouponed, &removed] {
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json()["quote_problem"], Value::Null);
    }
    let customer = call(
        &app,
        Method::POST,
        "/api/v1/carts",
        Some(&json!({"currency": "USD"})),
        &Who::Bearer(CUSTOMER_TOKEN),
        &[],
    )
    .await;
    assert_eq!(customer.json()["cart"]["quote"]["currency"], "USD");
}

#[tokio::test]
async fn a_cart_that_cannot_be_priced_now_comes_with_the_reason_instead_of_a_quote() {
    let app = shop();
    let tee = tee(&app, 10).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 1).await;
    app.state.shop().catalog().set_status(tee.id, ProductStatus::Archived).await.unwrap();

    let read = get_cart(&app, &cart, &guest).await;

    assert_eq!(read.status, StatusCode::OK);
    let body = read.json();
    assert_eq!(body["lines"][0]["sku"], "TEE");
    assert_eq!(body["quote"], Value::Null);
    assert_eq!(body["quote_problem"]["code"], "not_for_sale");
    assert_eq!(body["quote_problem"]["sku"], "TEE");
}

/// `TEE` at 25.00 USD or 3800 JPY, and `CAP` at 10.00 USD only.
async fn tee_in_two_currencies(app: &App) {
    let variant = VariantDraft::new(
        Sku::new("TEE").unwrap(),
        "Tee",
        vec![usd(25_00), Money::from_minor(3800, Currency::JPY)],
    );
    let draft = ProductDraft::new("Tee", vec![variant]).with_status(ProductStatus::Active);
    app.state.shop().catalog().create_product(draft).await.unwrap();
    product(app, "Cap", &[("CAP", 10_00)], &[], &[]).await;
}

async fn create_as(app: &App, who: &Who<'_>, currency: &str) -> Reply {
    call(app, Method::POST, "/api/v1/carts", Some(&json!({"currency": currency})), who, &[]).await
}

#[tokio::test]
async fn a_signed_in_customer_asking_for_another_currency_gets_the_open_cart_priced_in_it() {
    let app = shop();
    tee_in_two_currencies(&app).await;
    let customer = Who::Bearer(CUSTOMER_TOKEN);
    let cart = customer_cart(&app, CUSTOMER_TOKEN).await;
    add(&app, &cart, &customer, "TEE", 2).await;

    let yen = create_as(&app, &customer, "JPY").await;

    assert_eq!(yen.status, StatusCode::OK, "{}", String::from_utf8_lossy(&yen.body));
    let body = &yen.json()["cart"];
    assert_eq!(body["id"], cart.as_str(), "the same open cart");
    assert_eq!(body["currency"], "JPY");
    assert_eq!(body["lines"][0]["quantity"], 2);
    assert_eq!(body["quote"]["grand_total"], json!({"amount": "7600", "currency": "JPY"}));
    assert_eq!(get_cart(&app, &cart, &customer).await.json()["currency"], "JPY");
}

#[tokio::test]
async fn a_currency_change_a_line_is_not_sold_in_is_refused_naming_the_line() {
    let app = shop();
    tee_in_two_currencies(&app).await;
    let customer = Who::Bearer(CUSTOMER_TOKEN);
    let cart = customer_cart(&app, CUSTOMER_TOKEN).await;
    add(&app, &cart, &customer, "TEE", 1).await;
    add(&app, &cart, &customer, "CAP", 1).await;

    let yen = create_as(&app, &customer, "JPY").await;
    let patched = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/carts/{cart}"),
        Some(&json!({"currency": "JPY"})),
        &customer,
        &[],
    )
    .await;

    for reply in [&yen, &patched] {
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        let problem = reply.problem();
        assert_eq!(problem["code"], "no_price_in_currency");
        assert_eq!(problem["sku"], "CAP");
        assert_eq!(problem["currency"], "JPY");
    }
    assert_eq!(get_cart(&app, &cart, &customer).await.json()["currency"], "USD", "unchanged");
}

#[tokio::test]
async fn a_cart_changes_currency_with_patch_and_is_repriced() {
    let app = shop();
    tee_in_two_currencies(&app).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 1).await;
    let uri = format!("/api/v1/carts/{cart}");

    let yen = call(&app, Method::PATCH, &uri, Some(&json!({"currency": "jpy"})), &guest, &[]).await;
    let unknown =
        call(&app, Method::PATCH, &uri, Some(&json!({"currency": "XXX"})), &guest, &[]).await;
    let same =
        call(&app, Method::PATCH, &uri, Some(&json!({"currency": "JPY"})), &guest, &[]).await;

    assert_eq!(yen.status, StatusCode::OK, "{}", String::from_utf8_lossy(&yen.body));
    assert_eq!(yen.json()["currency"], "JPY");
    assert_eq!(yen.json()["quote"]["lines"][0]["unit_price"]["amount"], "3800");
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.problem()["field"], "currency");
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(same.json()["version"], yen.json()["version"], "no change, no new version");
}

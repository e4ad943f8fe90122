//! Bad input of every kind is a 4xx problem+json, never a 500, and changes nothing.

use axum::http::{Method, StatusCode};
use serde_json::json;
use shopkit_core::catalog::ProductStatus;
use shopkit_http::HttpConfig;

use crate::common::*;

const ADMIN_PRODUCTS: &str = "/api/admin/v1/products";

async fn products_in_catalog(app: &App) -> usize {
    let page = app.send(get("/api/v1/products?limit=100")).await.json();
    page["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn malformed_json_is_a_400_malformed_json_problem() {
    let app = App::new();
    let admin = bearer(ADMIN_TOKEN);

    let reply = app
        .send(raw(
            Method::POST,
            ADMIN_PRODUCTS,
            r#"{"title": "#,
            "application/json",
            &[("authorization", &admin)],
        ))
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.problem()["code"], "malformed_json");
    assert_eq!(products_in_catalog(&app).await, 0);
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_a_422_naming_its_json_path() {
    let app = App::new();
    let admin = bearer(ADMIN_TOKEN);
    let mut body = new_product("Tee", "TEE");
    body["variants"][0]["weight_grams"] = json!("heavy");

    let reply =
        app.send(json(Method::POST, ADMIN_PRODUCTS, &body, &[("authorization", &admin)])).await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = reply.problem();
    assert_eq!(problem["code"], "validation_failed");
    assert_eq!(problem["field"], "variants[0].weight_grams");
    assert_eq!(products_in_catalog(&app).await, 0);
}

#[tokio::test]
async fn negative_zero_and_huge_numbers_are_422s_not_500s() {
    let app = App::new();
    let admin = bearer(ADMIN_TOKEN);
    for (field, value) in [
        ("weight_grams", json!(-1)),
        ("weight_grams", json!(1e20)),
        ("weight_grams", json!(4_294_967_296u64)),
    ] {
        let mut body = new_product("Tee", "TEE");
        body["variants"][0][field] = value.clone();

        let reply =
            app.send(json(Method::POST, ADMIN_PRODUCTS, &body, &[("authorization", &admin)])).await;

        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
        assert_eq!(reply.problem()["field"], format!("variants[0].{field}"));
    }
    let mut negative_price = new_product("Tee", "TEE");
    negative_price["variants"][0]["prices"][0]["amount"] = json!("-1.00");
    let reply = app
        .send(json(Method::POST, ADMIN_PRODUCTS, &negative_price, &[("authorization", &admin)]))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.problem()["code"], "validation_failed");
    assert_eq!(products_in_catalog(&app).await, 0);
}

#[tokio::test]
async fn an_unknown_currency_or_a_malformed_sku_names_the_field() {
    let app = App::new();
    let admin = bearer(ADMIN_TOKEN);
    let mut unknown_currency = new_product("Tee", "TEE");
    unknown_currency["variants"][0]["prices"][0]["currency"] = json!("XXX");
    let bad_sku = new_product("Tee", "HAS SPACE");

    let currency = app
        .send(json(Method::POST, ADMIN_PRODUCTS, &unknown_currency, &[("authorization", &admin)]))
        .await;
    let sku =
        app.send(json(Method::POST, ADMIN_PRODUCTS, &bad_sku, &[("authorization", &admin)])).await;

    assert_eq!(currency.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(currency.problem()["field"], "variants[0].prices[0].currency");
    assert_eq!(sku.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(sku.problem()["field"], "variants[0].sku");
    assert_eq!(products_in_catalog(&app).await, 0);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = App::new();
    let admin = bearer(ADMIN_TOKEN);

    let reply = app
        .send(raw(
            Method::POST,
            ADMIN_PRODUCTS,
            "title=Tee",
            "application/x-www-form-urlencoded",
            &[("authorization", &admin)],
        ))
        .await;

    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.problem()["code"], "unsupported_media_type");
}

#[tokio::test]
async fn an_oversized_body_is_a_413_and_nothing_is_created() {
    let app = App::with_config(HttpConfig { body_limit_bytes: 1024, ..HttpConfig::default() });
    let admin = bearer(ADMIN_TOKEN);
    let mut body = new_product("Tee", "TEE");
    body["description"] = json!("x".repeat(4096));

    let reply =
        app.send(json(Method::POST, ADMIN_PRODUCTS, &body, &[("authorization", &admin)])).await;

    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.problem()["code"], "payload_too_large");
    assert_eq!(products_in_catalog(&app).await, 0);
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = App::new();

    let reply = app.send(get("/api/v1/nope")).await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.problem()["code"], "route_not_found");
}

#[tokio::test]
async fn a_known_route_with_another_method_is_a_405_problem_with_allow() {
    let app = App::new();

    let reply = app.send(json(Method::DELETE, "/api/v1/products", &json!({}), &[])).await;

    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.problem()["code"], "method_not_allowed");
    assert!(reply.header("allow").unwrap().contains("GET"));
}

#[tokio::test]
async fn a_bad_cursor_is_a_400_naming_the_cursor() {
    let app = App::new();
    app.product("Tee", &["TEE"], ProductStatus::Active).await;

    let reply = app.send(get("/api/v1/products?cursor=not-a-cursor")).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let problem = reply.problem();
    assert_eq!(problem["code"], "invalid_query");
    assert_eq!(problem["field"], "cursor");
}

#[tokio::test]
async fn bad_query_parameters_are_400s_naming_the_parameter() {
    let app = App::new();
    for (query, field) in [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("currency=XXX", "currency"),
        ("sort=cheapest", "sort"),
        ("min_price=-1&currency=EUR", "min_price"),
        ("min_price=5", "currency"),
        ("category=Not%20A%20Handle", "category"),
    ] {
        let reply = app.send(get(&format!("/api/v1/products?{query}"))).await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        let problem = reply.problem();
        assert_eq!(problem["code"], "invalid_query", "{query}");
        assert_eq!(problem["field"], field, "{query}");
    }
}

#[tokio::test]
async fn a_malformed_product_identifier_is_a_400_and_an_unknown_one_a_404() {
    let app = App::new();

    let malformed = app.send(get("/api/v1/products/Not_A_Slug!")).await;
    let unknown = app.send(get("/api/v1/products/00000000-0000-0000-0000-000000000001")).await;

    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.problem()["code"], "invalid_path");
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.problem()["code"], "not_found");
}

#[tokio::test]
async fn a_request_id_is_echoed_and_quoted_in_problems() {
    let app = App::new();

    let given = app.send(get_with("/api/v1/nope", &[("x-request-id", "trace-me-42")])).await;
    let generated = app.send(get("/api/v1/nope")).await;

    assert_eq!(given.header("x-request-id"), Some("trace-me-42"));
    assert_eq!(given.problem()["request_id"], "trace-me-42");
    let id = generated.header("x-request-id").expect("a generated id").to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).map(|u| u.get_version_num()), Ok(4));
    assert_eq!(generated.problem()["request_id"], id.as_str());
}

#[tokio::test]
async fn a_taken_slug_is_a_409_and_the_first_product_stays() {
    let app = App::new();
    let admin = bearer(ADMIN_TOKEN);
    let first = app
        .send(json(
            Method::POST,
            ADMIN_PRODUCTS,
            &new_product("Tee", "TEE-1"),
            &[("authorization", &admin)],
        ))
        .await;

    let second = app
        .send(json(
            Method::POST,
            ADMIN_PRODUCTS,
            &new_product("Tee", "TEE-2"),
            &[("authorization", &admin)],
        ))
        .await;

    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.problem()["code"], "already_exists");
    assert_eq!(products_in_catalog(&app).await, 1);
}

//! Bearer auth on the back office (401 vs 403), and the account routes.

use axum::http::{Method, StatusCode};
use serde_json::json;
use shopkit_core::catalog::ProductStatus;
use shopkit_core::ids::Sku;
use shopkit_core::money::Currency;
use shopkit_core::quantity::Quantity;
use shopkit_core::services::CartAccess;

use crate::common::*;

const ADMIN_PRODUCTS: &str = "/api/admin/v1/products";

async fn create_as(app: &App, authorization: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> =
        authorization.map(|a| vec![("authorization", a)]).unwrap_or_default();
    app.send(json(Method::POST, ADMIN_PRODUCTS, &new_product("Tee", "TEE"), &headers)).await
}

#[tokio::test]
async fn the_back_office_answers_401_without_a_token() {
    let app = App::new();

    let reply = create_as(&app, None).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.problem()["code"], "unauthenticated");
    assert_eq!(reply.header("www-authenticate"), Some(r#"Bearer realm="shopkit""#));
}

#[tokio::test]
async fn the_back_office_answers_401_to_tampered_expired_and_non_bearer_tokens() {
    let app = App::new();
    let tampered = bearer(&format!("{ADMIN_TOKEN}x"));
    let expired = bearer(EXPIRED_TOKEN);
    let basic = format!("Basic {ADMIN_TOKEN}");

    for authorization in [tampered.as_str(), expired.as_str(), basic.as_str(), "Bearer "] {
        let reply = create_as(&app, Some(authorization)).await;

        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{authorization}");
        assert_eq!(reply.problem()["code"], "unauthenticated");
        assert!(reply.header("www-authenticate").unwrap().contains("invalid_token"));
    }
}

#[tokio::test]
async fn the_back_office_answers_403_to_a_customer() {
    let app = App::new();

    let reply = create_as(&app, Some(&bearer(CUSTOMER_TOKEN))).await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.problem()["code"], "forbidden");
}

#[tokio::test]
async fn an_identity_provider_outage_is_a_503_not_a_401() {
    let app = App::new();
    app.identity.set_down(true);

    let reply = create_as(&app, Some(&bearer(ADMIN_TOKEN))).await;

    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.problem()["code"], "unavailable");
    assert!(reply.header("retry-after").is_some());
}

#[tokio::test]
async fn auth_is_checked_before_the_body_is_read() {
    let app = App::new();

    let reply =
        app.send(raw(Method::POST, ADMIN_PRODUCTS, "{not json", "application/json", &[])).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_admin_creates_a_product_and_gets_its_location_and_version() {
    let app = App::new();

    let reply = create_as(&app, Some(&bearer(ADMIN_TOKEN))).await;

    assert_eq!(reply.status, StatusCode::CREATED);
    let product = reply.json();
    assert_eq!(product["slug"], "tee");
    assert_eq!(product["status"], "active");
    assert_eq!(product["version"], 1);
    assert_eq!(product["variants"][0]["prices"][0], json!({"amount": "19.90", "currency": "EUR"}));
    assert_eq!(
        reply.header("location").unwrap(),
        format!("/api/admin/v1/products/{}", product["id"].as_str().unwrap())
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

fn sign_up_body(email: &str) -> serde_json::Value {
    json!({"email": email, "password": "correct horse battery", "first_name": "Ann", "last_name": "Lee"})
}

#[tokio::test]
async fn signing_up_signs_in_and_the_token_works_on_the_api() {
    let app = App::new();

    let reply = app
        .send(json(Method::POST, "/api/v1/auth/sign-up", &sign_up_body("ann@example.com"), &[]))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["customer"]["email"], "ann@example.com");
    assert_eq!(body["tokens"]["token_type"], "Bearer");
    assert_eq!(body["tokens"]["roles"], json!(["customer"]));
    let access = body["tokens"]["access_token"].as_str().unwrap();
    let as_customer = create_as(&app, Some(&bearer(access))).await;
    assert_eq!(as_customer.status, StatusCode::FORBIDDEN, "a verified customer, not an admin");
}

#[tokio::test]
async fn signing_up_twice_with_one_email_is_a_409_and_a_weak_password_a_422() {
    let app = App::new();
    app.send(json(Method::POST, "/api/v1/auth/sign-up", &sign_up_body("ann@example.com"), &[]))
        .await;

    let again = app
        .send(json(Method::POST, "/api/v1/auth/sign-up", &sign_up_body("ann@example.com"), &[]))
        .await;
    let mut weak = sign_up_body("bob@example.com");
    weak["password"] = json!("short");
    let weak = app.send(json(Method::POST, "/api/v1/auth/sign-up", &weak, &[])).await;

    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.problem()["code"], "email_taken");
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.problem()["field"], "password");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_are_the_same_401() {
    let app = App::new();
    app.send(json(Method::POST, "/api/v1/auth/sign-up", &sign_up_body("ann@example.com"), &[]))
        .await;

    let wrong = app
        .send(json(
            Method::POST,
            "/api/v1/auth/sign-in",
            &json!({"email": "ann@example.com", "password": "wrong password"}),
            &[],
        ))
        .await;
    let unknown = app
        .send(json(
            Method::POST,
            "/api/v1/auth/sign-in",
            &json!({"email": "zed@example.com", "password": "wrong password"}),
            &[],
        ))
        .await;
    let malformed = app
        .send(json(
            Method::POST,
            "/api/v1/auth/sign-in",
            &json!({"email": "nope", "password": "x"}),
            &[],
        ))
        .await;

    for reply in [&wrong, &unknown, &malformed] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.problem()["code"], "invalid_credentials");
    }
    assert_eq!(wrong.problem()["detail"], unknown.problem()["detail"]);
}

#[tokio::test]
async fn a_refresh_token_works_once_and_sign_out_ends_the_session() {
    let app = App::new();
    let signed_up = app
        .send(json(Method::POST, "/api/v1/auth/sign-up", &sign_up_body("ann@example.com"), &[]))
        .await
        .json();
    let refresh = signed_up["tokens"]["refresh_token"].clone();

    let first = app
        .send(json(Method::POST, "/api/v1/auth/refresh", &json!({"refresh_token": refresh}), &[]))
        .await;
    let replayed = app
        .send(json(Method::POST, "/api/v1/auth/refresh", &json!({"refresh_token": refresh}), &[]))
        .await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replayed.problem()["code"], "session_ended");
    let current = first.json()["refresh_token"].clone();
    let out = app
        .send(json(Method::POST, "/api/v1/auth/sign-out", &json!({"refresh_token": current}), &[]))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = app
        .send(json(Method::POST, "/api/v1/auth/refresh", &json!({"refresh_token": current}), &[]))
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn signing_in_with_a_guest_cart_token_merges_that_cart() {
    let app = App::new();
    app.product("Tee", &["TEE"], ProductStatus::Active).await;
    let signed_up = app
        .send(json(Method::POST, "/api/v1/auth/sign-up", &sign_up_body("ann@example.com"), &[]))
        .await
        .json();
    let carts = app.state.shop().carts();
    let guest = carts.create_guest_cart(Currency::EUR).await.unwrap();
    let access = CartAccess::Token(guest.token().clone());
    carts
        .add_line(guest.id(), &access, Sku::new("TEE").unwrap(), Quantity::new(2).unwrap())
        .await
        .unwrap();

    let reply = app
        .send(json(
            Method::POST,
            "/api/v1/auth/sign-in",
            &json!({"email": "ann@example.com", "password": "correct horse battery"}),
            &[("x-cart-token", guest.token().expose())],
        ))
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    let customer = shopkit_core::ids::CustomerId::from_uuid(
        uuid::Uuid::parse_str(signed_up["customer"]["id"].as_str().unwrap()).unwrap(),
    );
    let cart = carts.cart_for_customer(customer, Currency::EUR).await.unwrap();
    assert_eq!(cart.lines().len(), 1, "the guest's line is now the customer's");
}

#[tokio::test]
async fn a_malformed_cart_token_is_a_400_naming_the_header() {
    let app = App::new();

    let reply = app
        .send(json(
            Method::POST,
            "/api/v1/auth/sign-in",
            &json!({"email": "ann@example.com", "password": "correct horse battery"}),
            &[("x-cart-token", "not-hex")],
        ))
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let problem = reply.problem();
    assert_eq!(problem["code"], "invalid_header");
    assert_eq!(problem["header"], "X-Cart-Token");
}

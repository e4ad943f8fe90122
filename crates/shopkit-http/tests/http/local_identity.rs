//! End to end with real tokens: the embedded profile's `LocalIdentity` issues HS256 JWTs,
//! and the HTTP layer verifies them through the identity port.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};
use shopkit_core::ids::Email;
use shopkit_core::ports::Password;
use shopkit_core::services::Registration;
use shopkit_http::HttpConfig;
use shopkit_local_identity::{HashCost, LocalIdentity, LocalIdentityConfig, MAX_FAILURES};

use crate::common::*;

fn app() -> App {
    App::assemble(HttpConfig::default(), Vec::new(), |clock, _| {
        let mut config = LocalIdentityConfig::generate("https://shop.test", "shop-web").unwrap();
        // A cheap hash keeps debug-build tests fast; production keeps the default cost.
        config.password_hashing = HashCost::new(64, 1, 1).unwrap();
        Arc::new(LocalIdentity::new(config, clock).unwrap())
    })
}

async fn sign_up(app: &App, email: &str) -> Value {
    let body = json!({"email": email, "password": "correct horse battery", "first_name": "Ann", "last_name": "Lee"});
    let reply = app.send(json(Method::POST, "/api/v1/auth/sign-up", &body, &[])).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

async fn sign_in(app: &App, email: &str, password: &str) -> Reply {
    let body = json!({"email": email, "password": password});
    app.send(json(Method::POST, "/api/v1/auth/sign-in", &body, &[])).await
}

async fn create_product(app: &App, access_token: &str) -> Reply {
    let authorization = bearer(access_token);
    app.send(json(
        Method::POST,
        "/api/admin/v1/products",
        &new_product("Tee", "TEE"),
        &[("authorization", &authorization)],
    ))
    .await
}

/// A JWT with one character of its signature changed.
fn tampered(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let last = chars.len() - 2;
    chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[tokio::test]
async fn a_customer_jwt_is_forbidden_on_the_back_office_and_an_admin_jwt_is_not() {
    let app = app();
    let customer = sign_up(&app, "ann@example.com").await;
    let registration = Registration {
        email: Email::new("boss@example.com").unwrap(),
        first_name: "Bo".into(),
        last_name: "Ss".into(),
        phone: None,
        accepts_marketing: false,
    };
    let password = Password::new("correct horse battery").unwrap();
    app.state.accounts().ensure_admin(registration, &password).await.unwrap();
    let admin = sign_in(&app, "boss@example.com", "correct horse battery").await.json();

    let as_customer =
        create_product(&app, customer["tokens"]["access_token"].as_str().unwrap()).await;
    let as_admin = create_product(&app, admin["access_token"].as_str().unwrap()).await;

    assert_eq!(as_customer.status, StatusCode::FORBIDDEN);
    assert_eq!(as_admin.status, StatusCode::CREATED);
    assert_eq!(admin["roles"], json!(["customer", "admin"]));
}

#[tokio::test]
async fn a_tampered_or_expired_jwt_is_a_401() {
    let app = app();
    let customer = sign_up(&app, "ann@example.com").await;
    let access = customer["tokens"]["access_token"].as_str().unwrap().to_owned();

    let forged = create_product(&app, &tampered(&access)).await;
    app.clock.advance(Duration::minutes(16));
    let expired = create_product(&app, &access).await;

    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(forged.problem()["code"], "unauthenticated");
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert!(expired.problem()["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_with_retry_after() {
    let app = app();
    sign_up(&app, "ann@example.com").await;

    for _ in 0..MAX_FAILURES {
        let wrong = sign_in(&app, "ann@example.com", "wrong password!").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    let locked = sign_in(&app, "ann@example.com", "correct horse battery").await;

    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.problem()["code"], "too_many_attempts");
    assert!(locked.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
}

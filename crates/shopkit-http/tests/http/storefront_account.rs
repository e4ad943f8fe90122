//! The signed-in customer's profile and address book over HTTP.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::storefront_support::*;

/// Signs Ann up; returns her access token.
async fn ann(app: &App) -> String {
    let body = json!({"email": "ann@example.com", "password": "correct horse battery",
                      "first_name": "Ann", "last_name": "Lee"});
    let reply =
        call(app, Method::POST, "/api/v1/auth/sign-up", Some(&body), &Who::Anonymous, &[]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()["tokens"]["access_token"].as_str().unwrap().to_owned()
}

fn home() -> Value {
    json!({"name": "Ann Lee", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "region": "US-CA"})
}

#[tokio::test]
async fn a_customer_reads_and_changes_their_profile() {
    let app = shop();
    let token = ann(&app).await;
    let me = Who::Bearer(&token);

    let read = call(&app, Method::GET, "/api/v1/me", None, &me, &[]).await;
    let patched = call(
        &app,
        Method::PATCH,
        "/api/v1/me",
        Some(&json!({"first_name": "Annie", "phone": "+1 555 0100", "accepts_marketing": true})),
        &me,
        &[],
    )
    .await;
    let phone_removed =
        call(&app, Method::PATCH, "/api/v1/me", Some(&json!({"phone": null})), &me, &[]).await;
    let email =
        call(&app, Method::PATCH, "/api/v1/me", Some(&json!({"email": "x@example.com"})), &me, &[])
            .await;

    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["email"], "ann@example.com");
    assert_eq!(read.json()["addresses"], json!([]));
    assert_eq!(patched.json()["first_name"], "Annie");
    assert_eq!(patched.json()["last_name"], "Lee", "absent members stay");
    assert_eq!(patched.json()["phone"], "+1 555 0100");
    assert_eq!(phone_removed.json()["phone"], Value::Null);
    assert_eq!(phone_removed.json()["first_name"], "Annie");
    assert_eq!(email.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(email.problem()["field"], "email");
    let after = call(&app, Method::GET, "/api/v1/me", None, &me, &[]).await.json();
    assert_eq!(after["email"], "ann@example.com");
}

#[tokio::test]
async fn a_customer_keeps_an_address_book_with_a_default() {
    let app = shop();
    let token = ann(&app).await;
    let me = Who::Bearer(&token);

    let first = call(&app, Method::POST, "/api/v1/me/addresses", Some(&home()), &me, &[]).await;
    let mut office = home();
    office["line1"] = json!("2 Office Rd");
    let second =
        call(&app, Method::POST, "/api/v1/me/addresses", Some(&office), &me, &[]).await.json();
    let office_id = second["addresses"][1]["id"].as_str().unwrap().to_owned();
    let default = call(
        &app,
        Method::PUT,
        &format!("/api/v1/me/addresses/{office_id}/default"),
        None,
        &me,
        &[],
    )
    .await;
    let removed =
        call(&app, Method::DELETE, &format!("/api/v1/me/addresses/{office_id}"), None, &me, &[])
            .await;
    let gone =
        call(&app, Method::DELETE, &format!("/api/v1/me/addresses/{office_id}"), None, &me, &[])
            .await;

    assert_eq!(first.status, StatusCode::CREATED);
    let first = first.json();
    assert_eq!(
        first["default_address_id"], first["addresses"][0]["id"],
        "the first address is the default"
    );
    assert_eq!(first["addresses"][0]["region"], "US-CA");
    assert_eq!(default.json()["default_address_id"], office_id.as_str());
    assert_eq!(removed.json()["addresses"].as_array().unwrap().len(), 1);
    assert_eq!(removed.json()["default_address_id"], Value::Null);
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_incomplete_address_is_a_422_naming_the_field() {
    let app = shop();
    let token = ann(&app).await;
    let mut address = home();
    address["postal_code"] = json!("");

    let reply =
        call(&app, Method::POST, "/api/v1/me/addresses", Some(&address), &Who::Bearer(&token), &[])
            .await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.problem()["field"], "postal_code");
}

#[tokio::test]
async fn the_profile_needs_a_signed_in_customer_and_is_theirs_only() {
    let app = shop();
    let token = ann(&app).await;
    let ann_id =
        call(&app, Method::GET, "/api/v1/me", None, &Who::Bearer(&token), &[]).await.json()["id"]
            .clone();

    let anonymous = app.send(get("/api/v1/me")).await;
    let other =
        call(&app, Method::GET, "/api/v1/me", None, &Who::Bearer(OTHER_CUSTOMER_TOKEN), &[]).await;

    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(other.status, StatusCode::NOT_FOUND, "a user without a profile has none to see");
    assert!(!String::from_utf8_lossy(&other.body).contains(ann_id.as_str().unwrap()));
}

//! Customer accounts in the back office.

use axum::http::StatusCode;
use serde_json::Value;
use shopkit_core::ids::Email;
use shopkit_core::services::Registration;

use crate::common::*;

async fn register(app: &App, email: &str, first_name: &str) -> String {
    let registration = Registration {
        email: Email::new(email).unwrap(),
        first_name: first_name.into(),
        last_name: "Lee".into(),
        phone: Some("+49 30 1234".into()),
        accepts_marketing: true,
    };
    app.state.shop().customers().register(registration).await.unwrap().id.to_string()
}

#[tokio::test]
async fn customers_are_listed_in_pages_and_read_one_by_one() {
    let app = App::new();
    let ann = register(&app, "ann@example.com", "Ann").await;
    register(&app, "bob@example.com", "Bob").await;

    let first = app.admin_get("/customers?limit=1").await.json();
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    let second = app.admin_get(&format!("/customers?limit=1&cursor={cursor}")).await.json();
    let one = app.admin_get(&format!("/customers/{ann}")).await;

    let emails: Vec<&str> = [&first, &second]
        .iter()
        .flat_map(|p: &&Value| p["items"].as_array().unwrap())
        .map(|c| c["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 2);
    assert!(emails.contains(&"ann@example.com") && emails.contains(&"bob@example.com"));
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(one.status, StatusCode::OK);
    let ann = one.json();
    assert_eq!(ann["first_name"], "Ann");
    assert_eq!(ann["phone"], "+49 30 1234");
    assert_eq!(ann["addresses"], serde_json::json!([]));
    assert_eq!(ann["version"], 1);
}

#[tokio::test]
async fn an_unknown_customer_is_404_and_a_bad_limit_is_400() {
    let app = App::new();

    let unknown = app.admin_get("/customers/0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a").await;
    let bad = app.admin_get("/customers?limit=500").await;

    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.problem()["field"], "limit");
}

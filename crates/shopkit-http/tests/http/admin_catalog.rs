//! Back-office catalog: list of any status, read, full update with optimistic
//! concurrency, status changes, deleting drafts only, categories.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shopkit_core::catalog::ProductStatus;

use crate::admin_support::*;
use crate::common::*;

async fn create(app: &App, body: &Value) -> Value {
    let reply = app.admin(Method::POST, "/products", Some(body), None).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

#[tokio::test]
async fn the_back_office_lists_products_of_every_status_and_filters_by_status() {
    let app = App::new();
    app.product("Tee", &["TEE"], ProductStatus::Active).await;
    app.product("Secret", &["SECRET"], ProductStatus::Draft).await;
    app.product("Old", &["OLD"], ProductStatus::Archived).await;

    let all = app.admin_get("/products").await.json();
    let drafts = app.admin_get("/products?status=draft").await.json();

    let titles = |page: &Value| -> Vec<String> {
        let mut t: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_owned())
            .collect();
        t.sort();
        t
    };
    assert_eq!(titles(&all), ["Old", "Secret", "Tee"]);
    assert_eq!(titles(&drafts), ["Secret"]);
    assert_eq!(drafts["items"][0]["status"], "draft");
    assert_eq!(drafts["items"][0]["version"], 1);
}

#[tokio::test]
async fn the_back_office_list_filters_by_category_and_attribute() {
    let app = App::new();
    let mut linen = new_product("Linen shirt", "LINEN");
    linen["status"] = json!("draft");
    linen["categories"] = json!(["shirts"]);
    linen["attributes"] = json!({"material": {"type": "text", "value": "linen"}});
    create(&app, &linen).await;
    let mut cotton = new_product("Cotton shirt", "COTTON");
    cotton["categories"] = json!(["shirts"]);
    cotton["attributes"] = json!({"material": {"type": "text", "value": "cotton"}});
    create(&app, &cotton).await;
    create(&app, &new_product("Hat", "HAT")).await;

    let shirts = app.admin_get("/products?category=shirts").await.json();
    let linen = app.admin_get("/products?category=shirts&attributes=material:linen").await.json();
    let bad = app.admin_get("/products?attributes=material").await;

    assert_eq!(shirts["items"].as_array().unwrap().len(), 2);
    assert_eq!(linen["items"].as_array().unwrap().len(), 1);
    assert_eq!(linen["items"][0]["title"], "Linen shirt");
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.problem()["field"], "attributes");
}

#[tokio::test]
async fn the_back_office_list_pages_with_its_cursor() {
    let app = App::new();
    for n in 0..3 {
        app.product(&format!("Tee {n}"), &[&format!("TEE-{n}")], ProductStatus::Draft).await;
    }

    let first = app.admin_get("/products?limit=2").await.json();
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    let second = app.admin_get(&format!("/products?limit=2&cursor={cursor}")).await.json();
    let bad = app.admin_get("/products?cursor=forged").await;

    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.problem()["field"], "cursor");
}

#[tokio::test]
async fn an_update_replaces_the_variants_and_prices_and_bumps_the_version() {
    let app = App::new();
    let created = create(&app, &new_product("Tee", "TEE")).await;
    let id = id_of(&created);
    let mut edit = created.clone();
    edit["title"] = json!("Tee (organic)");
    edit["variants"][0]["prices"] = json!([
        {"amount": "24.90", "currency": "EUR"}, {"amount": "26.90", "currency": "USD"}
    ]);
    edit["variants"].as_array_mut().unwrap().push(
        json!({"sku": "TEE-XL", "title": "XL", "prices": [{"amount": "29.90", "currency": "EUR"}]}),
    );

    let reply = app.admin(Method::PUT, &format!("/products/{id}"), Some(&edit), None).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
    let updated = reply.json();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["title"], "Tee (organic)");
    assert_eq!(updated["slug"], created["slug"], "the slug stays when a title changes");
    assert_eq!(updated["variants"][0]["id"], created["variants"][0]["id"], "same SKU, same id");
    assert_eq!(updated["variants"][0]["prices"].as_array().unwrap().len(), 2);
    assert_eq!(updated["variants"][1]["sku"], "TEE-XL");
    let read = app.admin_get(&format!("/products/{id}")).await.json();
    assert_eq!(read, updated);
}

#[tokio::test]
async fn an_update_from_a_stale_version_is_a_409_and_changes_nothing() {
    let app = App::new();
    let created = create(&app, &new_product("Tee", "TEE")).await;
    let id = id_of(&created);
    let mut first = created.clone();
    first["title"] = json!("First edit");
    let mut second = created.clone();
    second["title"] = json!("Second edit");

    let ok = app.admin(Method::PUT, &format!("/products/{id}"), Some(&first), None).await;
    let stale = app.admin(Method::PUT, &format!("/products/{id}"), Some(&second), None).await;

    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let problem = stale.problem();
    assert_eq!(problem["code"], "conflict");
    assert_eq!(problem["entity"], "product");
    assert_eq!(app.admin_get(&format!("/products/{id}")).await.json()["title"], "First edit");
}

#[tokio::test]
async fn an_update_with_a_bad_variant_names_the_field_and_an_unknown_product_is_404() {
    let app = App::new();
    let created = create(&app, &new_product("Tee", "TEE")).await;
    let mut bad = created.clone();
    bad["variants"][0]["prices"][0]["currency"] = json!("XXX");
    let mut missing_version = created.clone();
    missing_version.as_object_mut().unwrap().remove("version");

    let invalid =
        app.admin(Method::PUT, &format!("/products/{}", id_of(&created)), Some(&bad), None).await;
    let unversioned = app
        .admin(Method::PUT, &format!("/products/{}", id_of(&created)), Some(&missing_version), None)
        .await;
    let unknown = app
        .admin(Method::PUT, "/products/0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a", Some(&created), None)
        .await;
    let malformed = app.admin_get("/products/not-a-uuid").await;

    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.problem()["field"], "variants[0].prices[0].currency");
    assert_eq!(unversioned.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.problem()["code"], "invalid_path");
}

#[tokio::test]
async fn publishing_a_draft_makes_it_visible_on_the_storefront() {
    let app = App::new();
    let draft = create(
        &app,
        &json!({"title": "Hat", "variants": [
            {"sku": "HAT", "title": "One", "prices": [{"amount": "9.90", "currency": "EUR"}]}
        ]}),
    )
    .await;
    let id = id_of(&draft);
    assert_eq!(draft["status"], "draft");
    assert_eq!(
        app.send(get(&format!("/api/v1/products/{id}"))).await.status,
        StatusCode::NOT_FOUND
    );

    let reply = app
        .admin(
            Method::POST,
            &format!("/products/{id}/status"),
            Some(&json!({"status": "active"})),
            None,
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "active");
    assert_eq!(app.send(get(&format!("/api/v1/products/{id}"))).await.status, StatusCode::OK);
}

#[tokio::test]
async fn only_drafts_are_deleted_and_others_are_a_422_naming_the_status() {
    let app = App::new();
    let draft = app.product("Draft", &["DRAFT"], ProductStatus::Draft).await;
    let active = app.product("Live", &["LIVE"], ProductStatus::Active).await;

    let deleted = app.admin(Method::DELETE, &format!("/products/{}", draft.id), None, None).await;
    let refused = app.admin(Method::DELETE, &format!("/products/{}", active.id), None, None).await;
    let gone = app.admin_get(&format!("/products/{}", draft.id)).await;

    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = refused.problem();
    assert_eq!(problem["code"], "validation_failed");
    assert_eq!(problem["field"], "status");
    assert!(problem["detail"].as_str().unwrap().contains("archive"));
    assert_eq!(app.admin_get(&format!("/products/{}", active.id)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn categories_are_upserted_by_handle_and_listed() {
    let app = App::new();

    let created = app
        .admin(
            Method::PUT,
            "/categories/shirts",
            Some(&json!({"name": "Shirts", "position": 2})),
            None,
        )
        .await;
    let child = app
        .admin(
            Method::PUT,
            "/categories/linen-shirts",
            Some(&json!({"name": "Linen", "parent": "shirts"})),
            None,
        )
        .await;
    let renamed = app
        .admin(Method::PUT, "/categories/shirts", Some(&json!({"name": "All shirts"})), None)
        .await;
    let blank =
        app.admin(Method::PUT, "/categories/hats", Some(&json!({"name": "  "})), None).await;
    let own_parent = app
        .admin(
            Method::PUT,
            "/categories/hats",
            Some(&json!({"name": "Hats", "parent": "hats"})),
            None,
        )
        .await;
    let bad_handle = app
        .admin(Method::PUT, "/categories/Not%20A%20Handle", Some(&json!({"name": "X"})), None)
        .await;
    let list = app.admin_get("/categories").await.json();

    assert_eq!(created.status, StatusCode::OK);
    assert_eq!(created.json()["position"], 2);
    assert_eq!(child.json()["parent"], "shirts");
    assert_eq!(renamed.json()["name"], "All shirts");
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(blank.problem()["field"], "name");
    assert_eq!(own_parent.problem()["field"], "parent");
    assert_eq!(bad_handle.status, StatusCode::BAD_REQUEST);
    let names: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"All shirts") && names.contains(&"Linen"));
}

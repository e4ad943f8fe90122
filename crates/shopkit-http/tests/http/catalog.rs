//! Catalog reads: listing, filters, paging, currency, stock, ETag / 304.

use axum::http::StatusCode;
use serde_json::json;
use shopkit_core::catalog::{Category, ProductStatus};
use shopkit_core::ids::CategoryId;

use crate::common::*;

#[tokio::test]
async fn the_storefront_lists_active_products_only() {
    let app = App::new();
    app.product("Tee", &["TEE"], ProductStatus::Active).await;
    app.product("Secret", &["SECRET"], ProductStatus::Draft).await;

    let page = app.send(get("/api/v1/products")).await.json();

    let titles: Vec<_> =
        page["items"].as_array().unwrap().iter().map(|p| p["title"].clone()).collect();
    assert_eq!(titles, [json!("Tee")]);
    assert_eq!(page["next_cursor"], json!(null));
}

#[tokio::test]
async fn pages_follow_the_cursor_without_repeats() {
    let app = App::new();
    for n in 0..3 {
        app.product(&format!("Tee {n}"), &[&format!("TEE-{n}")], ProductStatus::Active).await;
    }

    let first = app.send(get("/api/v1/products?limit=2")).await.json();
    let cursor = first["next_cursor"].as_str().expect("a next page").to_owned();
    let second = app.send(get(&format!("/api/v1/products?limit=2&cursor={cursor}"))).await.json();

    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["next_cursor"], json!(null));
    assert!(!first["items"].as_array().unwrap().contains(&second["items"][0]));
}

#[tokio::test]
async fn a_currency_filters_prices_and_gives_the_from_price() {
    let app = App::new();
    app.product("Tee", &["TEE"], ProductStatus::Active).await;

    let page = app.send(get("/api/v1/products?currency=usd")).await.json();

    let product = &page["items"][0];
    assert_eq!(product["variants"][0]["prices"], json!([{"amount": "21.90", "currency": "USD"}]));
    assert_eq!(product["price_from"], json!({"amount": "21.90", "currency": "USD"}));
    let all = app.send(get("/api/v1/products")).await.json();
    assert_eq!(all["items"][0]["variants"][0]["prices"].as_array().unwrap().len(), 2);
    assert_eq!(all["items"][0]["price_from"], json!(null));
}

#[tokio::test]
async fn variants_say_whether_they_are_in_stock() {
    let app = App::new();
    app.product("Tee", &["TEE-S", "TEE-M", "TEE-L"], ProductStatus::Active).await;
    app.stock("TEE-S", 3).await;
    app.stock("TEE-M", 0).await;

    let page = app.send(get("/api/v1/products")).await.json();

    let stock: Vec<_> = page["items"][0]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["in_stock"].clone())
        .collect();
    assert_eq!(stock, [json!(true), json!(false), json!(false)]);
}

#[tokio::test]
async fn a_product_is_found_by_slug_or_id_and_a_draft_is_not_found() {
    let app = App::new();
    let tee = app.product("Blue Tee", &["TEE"], ProductStatus::Active).await;
    let draft = app.product("Secret", &["SECRET"], ProductStatus::Draft).await;

    let by_slug = app.send(get("/api/v1/products/blue-tee")).await;
    let by_id = app.send(get(&format!("/api/v1/products/{}", tee.id))).await;
    let hidden = app.send(get(&format!("/api/v1/products/{}", draft.id))).await;

    assert_eq!(by_slug.status, StatusCode::OK);
    assert_eq!(by_slug.json()["id"], tee.id.to_string());
    assert_eq!(by_id.json()["slug"], "blue-tee");
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(hidden.problem()["code"], "not_found");
}

#[tokio::test]
async fn catalog_reads_carry_an_etag_and_answer_304_to_it() {
    let app = App::new();
    app.product("Tee", &["TEE"], ProductStatus::Active).await;

    let fresh = app.send(get("/api/v1/products/tee")).await;
    let etag = fresh.header("etag").expect("an ETag").to_owned();
    let cached = app.send(get_with("/api/v1/products/tee", &[("if-none-match", &etag)])).await;
    let stale = app.send(get_with("/api/v1/products/tee", &[("if-none-match", "\"old\"")])).await;

    assert_eq!(fresh.status, StatusCode::OK);
    assert_eq!(fresh.header("cache-control"), Some("public, max-age=60"));
    assert!(!etag.starts_with("W/"), "a strong validator");
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.body.is_empty());
    assert_eq!(cached.header("etag"), Some(etag.as_str()));
    assert_eq!(stale.status, StatusCode::OK);
}

#[tokio::test]
async fn the_etag_changes_when_the_body_changes() {
    let app = App::new();
    app.product("Tee", &["TEE"], ProductStatus::Active).await;
    let before = app.send(get("/api/v1/products/tee")).await.header("etag").unwrap().to_owned();

    app.stock("TEE", 5).await;
    let after = app.send(get("/api/v1/products/tee")).await;

    assert_eq!(after.json()["variants"][0]["in_stock"], true);
    assert_ne!(Some(before.as_str()), after.header("etag"));
}

#[tokio::test]
async fn categories_come_as_one_page() {
    let app = App::new();
    let shirts = Category {
        id: CategoryId::new("shirts").unwrap(),
        name: "Shirts".into(),
        parent: None,
        position: 1,
    };
    app.state.shop().catalog().upsert_category(shirts).await.unwrap();

    let reply = app.send(get("/api/v1/categories")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("etag").is_some());
    assert_eq!(
        reply.json(),
        json!({"items": [{"id": "shirts", "name": "Shirts", "parent": null, "position": 1}], "next_cursor": null})
    );
}

#[tokio::test]
async fn free_text_and_price_filters_go_through_search() {
    let app = App::new();
    app.product("Linen Shirt", &["LINEN"], ProductStatus::Active).await;
    app.product("Wool Socks", &["WOOL"], ProductStatus::Active).await;

    let linen = app.send(get("/api/v1/products?q=linen")).await.json();
    let cheap = app.send(get("/api/v1/products?currency=EUR&max_price=10")).await.json();
    let affordable =
        app.send(get("/api/v1/products?currency=EUR&max_price=20&sort=title")).await.json();

    assert_eq!(linen["items"].as_array().unwrap().len(), 1);
    assert_eq!(linen["items"][0]["title"], "Linen Shirt");
    assert_eq!(cheap["items"].as_array().unwrap().len(), 0);
    let titles: Vec<_> =
        affordable["items"].as_array().unwrap().iter().map(|p| p["title"].clone()).collect();
    assert_eq!(titles, [json!("Linen Shirt"), json!("Wool Socks")]);
}

#[tokio::test]
async fn media_come_with_urls_and_a_media_outage_only_blanks_them() {
    let app = App::new();
    let mut body = new_product("Tee", "TEE");
    body["media"] = json!([{"key": "products/tee/front.jpg", "kind": "image", "alt": "Front"}]);
    let admin = bearer(ADMIN_TOKEN);
    let created = app
        .send(crate::common::json(
            axum::http::Method::POST,
            "/api/admin/v1/products",
            &body,
            &[("authorization", &admin)],
        ))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);

    let up = app.send(get("/api/v1/products/tee")).await.json();
    app.backend.media.set_down(true);
    let down = app.send(get("/api/v1/products/tee")).await;

    let url = up["media"][0]["url"].as_str().expect("a URL");
    assert!(url.contains("products/tee/front.jpg"), "{url}");
    assert_eq!(up["media"][0]["alt"], "Front");
    assert_eq!(down.status, StatusCode::OK);
    assert_eq!(down.json()["media"][0]["url"], json!(null));
}

//! Search, recommendations and availability over HTTP.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shopkit_core::catalog::ProductStatus;
use shopkit_core::ids::{CustomerId, LocationId, ProductId, Sku};
use shopkit_core::inventory::BackorderPolicy;
use shopkit_core::ports::{Clock, Interaction, InteractionKind, Recommender};
use uuid::Uuid;

use crate::common::*;
use crate::storefront_support::*;

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn wardrobe(app: &App) {
    product(app, "Red Linen Shirt", &[("SHIRT-RED", 40_00)], &["shirts"], &[("colour", "red")])
        .await;
    product(app, "Blue Linen Shirt", &[("SHIRT-BLUE", 45_00)], &["shirts"], &[("colour", "blue")])
        .await;
    product(app, "Red Wool Socks", &[("SOCKS-RED", 9_00)], &["socks"], &[("colour", "red")]).await;
    app.product("Secret Linen Draft", &["DRAFT"], ProductStatus::Draft).await;
}

#[tokio::test]
async fn search_finds_products_on_sale_with_facets_and_prices_in_the_currency() {
    let app = shop();
    wardrobe(&app).await;

    let reply = app
        .send(get("/api/v1/search?q=linen&currency=USD&facets=category,colour&sort=price_asc"))
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("etag").is_some(), "search is cacheable");
    let page = reply.json();
    assert_eq!(titles(&page), ["Red Linen Shirt", "Blue Linen Shirt"]);
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["price_from"], json!({"amount": "40.00", "currency": "USD"}));
    assert_eq!(page["items"][0]["categories"], json!(["shirts"]));
    let facets = page["facets"].as_array().unwrap();
    let colour = facets.iter().find(|f| f["name"] == "colour").expect("a colour facet");
    assert_eq!(
        colour["counts"],
        json!([{"value": "blue", "count": 1}, {"value": "red", "count": 1}])
    );
    let category = facets.iter().find(|f| f["name"] == "category").expect("a category facet");
    assert_eq!(category["counts"], json!([{"value": "shirts", "count": 2}]));
}

#[tokio::test]
async fn attribute_category_and_price_filters_narrow_the_results() {
    let app = shop();
    wardrobe(&app).await;

    let red = app.send(get("/api/v1/search?attr.colour=red&sort=title")).await.json();
    let red_shirts = app.send(get("/api/v1/search?attr.colour=red&category=shirts")).await.json();
    let cheap = app.send(get("/api/v1/search?currency=USD&max_price=10")).await.json();
    let paged = app.send(get("/api/v1/search?sort=title&limit=2")).await.json();

    assert_eq!(titles(&red), ["Red Linen Shirt", "Red Wool Socks"]);
    assert_eq!(titles(&red_shirts), ["Red Linen Shirt"]);
    assert_eq!(titles(&cheap), ["Red Wool Socks"]);
    assert_eq!(paged["items"].as_array().unwrap().len(), 2);
    assert_eq!(paged["total"], 3, "drafts are never found");
    let cursor = paged["next_cursor"].as_str().expect("a next page");
    let rest =
        app.send(get(&format!("/api/v1/search?sort=title&limit=2&cursor={cursor}"))).await.json();
    assert_eq!(titles(&rest), ["Red Wool Socks"]);
}

#[tokio::test]
async fn malformed_search_parameters_are_400_naming_them() {
    let app = shop();

    for (uri, field) in [
        ("/api/v1/search?max_price=10", "currency"),
        ("/api/v1/search?sort=price_desc", "currency"),
        ("/api/v1/search?attr.Colour=red", "attr.Colour"),
        ("/api/v1/search?facets=Bad%20Name", "facets"),
        ("/api/v1/search?limit=0", "limit"),
        ("/api/v1/search?currency=XXX", "currency"),
    ] {
        let reply = app.send(get(uri)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(reply.problem()["field"], field, "{uri}");
    }
}

#[tokio::test]
async fn products_show_availability_without_stock_counts() {
    let app = shop();
    product(
        &app,
        "Tee",
        &[("TEE-S", 25_00), ("TEE-M", 25_00), ("TEE-L", 25_00), ("TEE-XL", 25_00)],
        &[],
        &[],
    )
    .await;
    app.stock("TEE-S", 50).await;
    app.stock("TEE-M", 3).await;
    app.state
        .shop()
        .inventory()
        .set_stock(
            &Sku::new("TEE-L").unwrap(),
            &LocationId::main(),
            0,
            BackorderPolicy::Allow { limit: None },
        )
        .await
        .unwrap();

    let detail = app.send(get("/api/v1/products/tee")).await.json();
    let list = app.send(get("/api/v1/products")).await.json();

    let availability = &detail["availability"];
    assert_eq!(
        availability["TEE-S"],
        json!({"in_stock": true, "backorder": false, "low_stock": null})
    );
    assert_eq!(
        availability["TEE-M"],
        json!({"in_stock": true, "backorder": false, "low_stock": 3})
    );
    assert_eq!(
        availability["TEE-L"],
        json!({"in_stock": true, "backorder": true, "low_stock": null})
    );
    assert_eq!(
        availability["TEE-XL"],
        json!({"in_stock": false, "backorder": false, "low_stock": null})
    );
    assert_eq!(detail["variants"][3]["in_stock"], false);
    assert_eq!(list["items"][0]["availability"], *availability);
}

async fn liked(app: &App, customer: u128, products: &[ProductId]) {
    for product in products {
        let interaction = Interaction {
            customer: CustomerId::from_uuid(Uuid::from_u128(customer)),
            product: *product,
            kind: InteractionKind::Purchase,
            at: app.clock.now(),
        };
        app.backend.recommender.record(&interaction).await.unwrap();
    }
}

#[tokio::test]
async fn similar_products_come_from_what_other_customers_liked() {
    let app = shop();
    let tee = product(&app, "Tee", &[("TEE", 25_00)], &[], &[]).await;
    let cap = product(&app, "Cap", &[("CAP", 10_00)], &[], &[]).await;
    let hidden = app.product("Hidden", &["HIDDEN"], ProductStatus::Draft).await;
    liked(&app, 0xB0B, &[tee.id, cap.id, hidden.id]).await;

    let reply = app.send(get(&format!("/api/v1/products/{}/similar?currency=USD", tee.id))).await;
    let unknown = app.send(get(&format!("/api/v1/products/{}/similar", Uuid::from_u128(9)))).await;
    let malformed = app.send(get("/api/v1/products/tee/similar")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("etag").is_some());
    let page = reply.json();
    assert_eq!(titles(&page), ["Cap"], "drafts are never recommended");
    assert_eq!(page["items"][0]["price_from"]["amount"], "10.00");
    assert_eq!(unknown.json(), json!({"items": [], "next_cursor": null}));
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn recommendations_for_you_need_a_signed_in_customer() {
    let app = shop();
    let tee = product(&app, "Tee", &[("TEE", 25_00)], &[], &[]).await;
    let cap = product(&app, "Cap", &[("CAP", 10_00)], &[], &[]).await;
    liked(&app, 0xB0B, &[tee.id, cap.id]).await;
    liked(&app, 0xC1, &[tee.id]).await; // the customer of CUSTOMER_TOKEN

    let mine =
        call(&app, Method::GET, "/api/v1/recommendations", None, &Who::Bearer(CUSTOMER_TOKEN), &[])
            .await;
    let anonymous = app.send(get("/api/v1/recommendations")).await;

    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(titles(&mine.json()), ["Cap"]);
    assert_eq!(mine.header("cache-control"), Some("no-store"), "personal: never cached");
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_recommender_outage_is_an_empty_list() {
    let app = shop();
    let tee = product(&app, "Tee", &[("TEE", 25_00)], &[], &[]).await;
    app.backend.recommender.set_down(true);

    let reply = app.send(get(&format!("/api/v1/products/{}/similar", tee.id))).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["items"], json!([]));
}

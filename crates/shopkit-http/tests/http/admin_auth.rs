//! Every back-office route refuses callers who are not staff: 401 without a token or with
//! a tampered one, 403 for a customer. The route table is checked against the OpenAPI
//! document both ways, so a new admin route cannot escape this test.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::json;
use shopkit_http::HttpConfig;

use crate::admin_support::*;
use crate::common::*;

/// Every back-office operation, relative to `/api/admin/v1`, as documented.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/products"),
    ("POST", "/products"),
    ("GET", "/products/{id}"),
    ("PUT", "/products/{id}"),
    ("DELETE", "/products/{id}"),
    ("POST", "/products/{id}/status"),
    ("GET", "/categories"),
    ("PUT", "/categories/{id}"),
    ("GET", "/promotions"),
    ("POST", "/promotions"),
    ("GET", "/promotions/{id}"),
    ("PUT", "/promotions/{id}"),
    ("DELETE", "/promotions/{id}"),
    ("GET", "/settings/pricing"),
    ("PUT", "/settings/pricing"),
    ("GET", "/inventory/{sku}"),
    ("PUT", "/inventory/{sku}"),
    ("POST", "/inventory/{sku}/adjustments"),
    ("GET", "/orders"),
    ("GET", "/orders/{order_id}"),
    ("POST", "/orders/{order_id}/capture"),
    ("POST", "/orders/{order_id}/shipments"),
    ("POST", "/orders/{order_id}/deliver"),
    ("POST", "/orders/{order_id}/cancel"),
    ("POST", "/orders/{order_id}/refunds"),
    ("GET", "/refunds/{refund_id}"),
    ("POST", "/refunds/{refund_id}/approve"),
    ("POST", "/refunds/{refund_id}/reject"),
    ("POST", "/refunds/{refund_id}/process"),
    ("POST", "/refunds/{refund_id}/approve-and-process"),
    ("GET", "/customers"),
    ("GET", "/customers/{id}"),
    ("GET", "/events"),
    ("POST", "/events/{event_id}/redeliver"),
    ("PUT", "/media/{key}"),
];

/// A concrete URI for a documented path: ids become a UUID, the SKU and media key
/// well-formed values.
fn concrete(path: &str) -> String {
    let id = "0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a";
    path.replace("{id}", id)
        .replace("{order_id}", id)
        .replace("{refund_id}", id)
        .replace("{event_id}", id)
        .replace("{sku}", "TEE")
        .replace("{key}", "products/tee/front.jpg")
}

/// An app without a rate limit: the table sends more requests than a burst allows.
fn unlimited() -> App {
    App::with_config(HttpConfig { rate_limit_per_second: 0, ..HttpConfig::default() })
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

#[tokio::test]
async fn the_route_table_is_exactly_the_documented_back_office() {
    let spec = serde_json::to_value(shopkit_http::openapi()).unwrap();

    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(relative) = path.strip_prefix(ADMIN) else { continue };
        for verb in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&verb.as_str()) {
                documented.insert((verb.to_uppercase(), relative.to_owned()));
            }
        }
    }
    let table: BTreeSet<(String, String)> =
        ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();

    assert_eq!(documented, table);
}

#[tokio::test]
async fn every_back_office_route_answers_401_without_a_token_or_with_a_tampered_one() {
    let app = unlimited();
    let tampered = bearer(&format!("{ADMIN_TOKEN}x"));

    for (verb, path) in ROUTES {
        let uri = format!("{ADMIN}{}", concrete(path));
        let key = [("idempotency-key", "auth-test")];
        let anonymous = app.send(json(method(verb), &uri, &json!({}), &key)).await;
        let forged = app
            .send(json(
                method(verb),
                &uri,
                &json!({}),
                &[("authorization", tampered.as_str()), key[0]],
            ))
            .await;

        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{verb} {path}");
        assert_eq!(anonymous.problem()["code"], "unauthenticated", "{verb} {path}");
        assert!(anonymous.header("www-authenticate").unwrap().starts_with("Bearer"));
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{verb} {path}");
        assert!(forged.header("www-authenticate").unwrap().contains("invalid_token"));
    }
}

#[tokio::test]
async fn every_back_office_route_answers_403_to_a_customer_and_lets_an_admin_through() {
    let app = unlimited();

    for (verb, path) in ROUTES {
        let path = concrete(path);
        let body = json!({});
        let customer = app
            .send(request_as(CUSTOMER_TOKEN, method(verb), &path, Some(&body), Some("k1")))
            .await;
        let admin =
            app.send(request_as(ADMIN_TOKEN, method(verb), &path, Some(&body), Some("k2"))).await;

        assert_eq!(customer.status, StatusCode::FORBIDDEN, "{verb} {path}");
        assert_eq!(customer.problem()["code"], "forbidden", "{verb} {path}");
        assert!(
            admin.status != StatusCode::UNAUTHORIZED && admin.status != StatusCode::FORBIDDEN,
            "{verb} {path}: the admin got {}",
            admin.status
        );
    }
}

#[test]
fn operation_ids_are_unique_so_back_office_and_storefront_handlers_never_clash() {
    let spec = serde_json::to_value(shopkit_http::openapi()).unwrap();

    let mut seen = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (verb, operation) in item.as_object().unwrap() {
            let Some(id) = operation["operationId"].as_str() else { continue };
            assert!(seen.insert(id.to_owned()), "{verb} {path}: operationId {id} is used twice");
            if path.starts_with(ADMIN) {
                assert!(id.starts_with("admin_"), "{verb} {path}: {id} lacks the admin_ prefix");
            }
        }
    }
}

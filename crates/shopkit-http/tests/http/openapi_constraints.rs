//! The OpenAPI document is as strict as the server: SKUs, slugs, currencies, regions,
//! emails, coupon codes and the `Idempotency-Key` header carry the pattern, lengths or
//! enum of their validators (the constants next to them in `shopkit_core::ids`), so a
//! generated client can refuse a bad value before sending it.

use serde_json::{Value, json};
use shopkit_core::ids;
use shopkit_core::money::Currency;

use crate::common::*;

/// The constraints a field of each kind must carry.
fn constraints(kind: &str) -> Value {
    let string = |pattern: &str, min: Option<usize>, max: Option<usize>| {
        let mut schema = json!({"type": "string", "pattern": pattern});
        if let Some(min) = min {
            schema["minLength"] = json!(min);
        }
        if let Some(max) = max {
            schema["maxLength"] = json!(max);
        }
        schema
    };
    match kind {
        "sku" => string(ids::SKU_PATTERN, Some(1), Some(ids::SKU_MAX_LEN)),
        "slug" => string(ids::SLUG_PATTERN, Some(1), Some(ids::SLUG_MAX_LEN)),
        "coupon" => string(ids::COUPON_CODE_PATTERN, Some(1), Some(ids::COUPON_CODE_MAX_LEN)),
        "region" => string(ids::REGION_CODE_PATTERN, None, None),
        "email" => string(ids::EMAIL_PATTERN, None, Some(ids::EMAIL_MAX_LEN)),
        "idempotency key" => {
            string(ids::IDEMPOTENCY_KEY_PATTERN, Some(1), Some(ids::IDEMPOTENCY_KEY_MAX_LEN))
        }
        "currency" => {
            let codes: Vec<&str> = Currency::ALL.iter().map(|c| c.code()).collect();
            json!({"type": "string", "enum": codes})
        }
        other => panic!("no constraints for {other}"),
    }
}

/// Follows `$ref`s to the schema they name.
fn resolve<'a>(spec: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(reference) = schema["$ref"].as_str() {
        let name = reference.strip_prefix("#/components/schemas/").expect(reference);
        schema = &spec["components"]["schemas"][name];
        assert!(schema.is_object(), "{reference} is not in the components");
    }
    schema
}

/// The schemas a value of `schema` may match: references followed, `oneOf`/`anyOf`/`allOf`
/// alternatives (a tagged enum's variants, an optional member's `null`) flattened, `null`
/// itself left out.
fn alternatives<'a>(spec: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    let schema = resolve(spec, schema);
    let nested: Vec<&Value> = ["oneOf", "anyOf", "allOf"]
        .iter()
        .filter_map(|k| schema[*k].as_array())
        .flatten()
        .collect();
    if nested.is_empty() {
        if schema["type"] == "null" { vec![] } else { vec![schema] }
    } else {
        nested.into_iter().flat_map(|s| alternatives(spec, s)).collect()
    }
}

/// The schemas of the member at `path` (`variants[].prices[].currency`: `[]` steps into
/// an array's items), in every alternative that has it.
fn members<'a>(spec: &'a Value, root: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![root];
    for segment in path.split('.') {
        let (name, into_items) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        current = current
            .into_iter()
            .flat_map(|s| alternatives(spec, s))
            .filter_map(|s| s["properties"].get(name))
            .collect();
        if into_items {
            current = current
                .into_iter()
                .flat_map(|s| alternatives(spec, s))
                .filter_map(|s| s.get("items"))
                .collect();
        }
    }
    current
}

/// Asserts that `schema` (a member's, a parameter's) carries every constraint of `kind`.
fn assert_constrained(spec: &Value, schema: &Value, kind: &str, at: &str) {
    let expected = constraints(kind);
    let found = alternatives(spec, schema);
    assert!(!found.is_empty(), "{at}: no schema");
    for schema in found {
        for (keyword, value) in expected.as_object().unwrap() {
            assert_eq!(&schema[keyword], value, "{at}: `{keyword}` ({kind}) in {schema}");
        }
    }
}

fn request_body<'a>(spec: &'a Value, method: &str, path: &str) -> &'a Value {
    let operation = &spec["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is not documented");
    let content = operation["requestBody"]["content"].as_object().expect("a request body");
    &content.values().next().unwrap()["schema"]
}

#[tokio::test]
async fn request_bodies_publish_the_constraints_of_the_server() {
    let app = App::new();

    let spec = app.send(get("/api/openapi.json")).await.json();

    for (method, path, member, kind) in [
        ("post", "/api/v1/carts", "currency", "currency"),
        ("patch", "/api/v1/carts/{cart_id}", "currency", "currency"),
        ("post", "/api/v1/carts/{cart_id}/lines", "sku", "sku"),
        ("post", "/api/v1/carts/{cart_id}/coupons", "code", "coupon"),
        ("post", "/api/v1/auth/sign-up", "email", "email"),
        ("post", "/api/v1/auth/sign-in", "email", "email"),
        ("post", "/api/v1/me/addresses", "region", "region"),
        ("put", "/api/v1/carts/{cart_id}/delivery", "address.region", "region"),
        ("post", "/api/v1/checkout", "email", "email"),
        ("post", "/api/v1/checkout", "expected_total.currency", "currency"),
        ("post", "/api/admin/v1/products", "slug", "slug"),
        ("post", "/api/admin/v1/products", "variants[].sku", "sku"),
        ("post", "/api/admin/v1/products", "variants[].prices[].currency", "currency"),
        ("put", "/api/admin/v1/products/{id}", "slug", "slug"),
        ("put", "/api/admin/v1/products/{id}", "variants[].sku", "sku"),
        ("put", "/api/admin/v1/products/{id}", "variants[].prices[].currency", "currency"),
        ("post", "/api/admin/v1/promotions", "coupon", "coupon"),
        ("post", "/api/admin/v1/promotions", "target.skus[]", "sku"),
        ("post", "/api/admin/v1/promotions", "kind.amount.currency", "currency"),
        ("post", "/api/admin/v1/promotions", "min_subtotal.currency", "currency"),
        ("put", "/api/admin/v1/promotions/{id}", "coupon", "coupon"),
        ("put", "/api/admin/v1/settings/pricing", "taxes.rates[].region", "region"),
        ("put", "/api/admin/v1/settings/pricing", "shipping.rates[].regions[]", "region"),
        (
            "put",
            "/api/admin/v1/settings/pricing",
            "shipping.rates[].price.amount.currency",
            "currency",
        ),
        (
            "put",
            "/api/admin/v1/settings/pricing",
            "shipping.rates[].free_over.currency",
            "currency",
        ),
        ("post", "/api/admin/v1/orders/{order_id}/refunds", "amount.currency", "currency"),
    ] {
        let at = format!("{method} {path} {member}");
        let found = members(&spec, request_body(&spec, method, path), member);
        assert!(!found.is_empty(), "{at} is not documented");
        for schema in found {
            assert_constrained(&spec, schema, kind, &at);
        }
    }
}

#[tokio::test]
async fn every_currency_is_the_shared_currency_code_component() {
    let app = App::new();

    let spec = app.send(get("/api/openapi.json")).await.json();

    assert_constrained(
        &spec,
        &spec["components"]["schemas"]["CurrencyCode"],
        "currency",
        "CurrencyCode",
    );
    let money = &spec["components"]["schemas"]["MoneyDto"]["properties"]["currency"];
    assert_eq!(money["$ref"], "#/components/schemas/CurrencyCode", "MoneyDto.currency: {money}");
}

#[tokio::test]
async fn the_idempotency_key_header_publishes_its_pattern_and_length() {
    let app = App::new();

    let spec = app.send(get("/api/openapi.json")).await.json();

    let mut documented = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let parameters = operation["parameters"].as_array().into_iter().flatten();
            for parameter in parameters.filter(|p| p["name"] == "Idempotency-Key") {
                let at = format!("{method} {path} Idempotency-Key");
                assert_eq!(parameter["in"], "header", "{at}");
                assert_eq!(parameter["required"], true, "{at}");
                assert_constrained(&spec, &parameter["schema"], "idempotency key", &at);
                documented.push(format!("{method} {path}"));
            }
        }
    }
    for expected in ["post /api/v1/checkout", "post /api/admin/v1/orders/{order_id}/refunds"] {
        assert!(documented.iter().any(|d| d == expected), "{expected} lacks the header");
    }
}

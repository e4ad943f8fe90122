//! The OpenAPI 3.1 document, generated from the code: every route registered through
//! `utoipa_axum::routes!` is in it (routing and documentation come from the same
//! `#[utoipa::path]`), with its DTO schemas, the `bearer` and `cart_token` security
//! schemes, and the problem schema as the error response of every operation.
//!
//! Served at `/api/openapi.json`; a Scalar reference page reads it at `/api/docs`.

use std::borrow::Cow;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use shopkit_core::ids;
use shopkit_core::money::Currency;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as OpenApiDoc, Ref, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::dto::{MoneyDto, ProblemDto};
use crate::error::{PROBLEM_JSON, ProblemCode};

/// The document's fixed parts; paths are added by the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "shopkit API",
        description = "Storefront (`/api/v1`) and back-office (`/api/admin/v1`) APIs of a shopkit shop.\n\n\
            Errors are RFC 9457 `application/problem+json` documents with a stable `code`. \
            Lists are `{\"items\": [...], \"next_cursor\": ...}`: pass `next_cursor` back as `cursor`. \
            Money is `{\"amount\": \"12.50\", \"currency\": \"EUR\"}` with the amount as a decimal string. \
            Checkout, payment and refund calls need an `Idempotency-Key` header; a retry with the same key \
            replays the first response (`Idempotent-Replayed: true`).",
        license(name = "MIT OR Apache-2.0"),
    ),
    modifiers(&SecuritySchemes),
    components(schemas(
        ProblemDto,
        ProblemCode,
        MoneyDto,
        CurrencyCodeSchema,
        SkuSchema,
        SlugSchema,
        CouponCodeSchema,
        RegionCodeSchema,
        EmailSchema
    )),
    tags(
        (name = "catalog", description = "Products and categories (cacheable: ETag, Cache-Control)"),
        (name = "auth", description = "Accounts and sessions"),
        (name = "admin-catalog", description = "Back office: products (admin role)"),
        (name = "health", description = "Liveness and readiness probes"),
    )
)]
pub(crate) struct ApiDoc;

/// Declares a schema-only type: a shared component (`name`) for a string the core
/// validates, built from the constants next to its validator. utoipa's `pattern`,
/// `min_length` and `max_length` attributes take literals only, so DTO fields point here
/// with `#[schema(value_type = crate::openapi::SkuSchema)]` instead of repeating them.
macro_rules! string_component {
    ($(#[$doc:meta])* $ty:ident as $name:literal => $schema:expr) => {
        $(#[$doc])*
        pub(crate) struct $ty;

        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                let schema: ObjectBuilder = $schema;
                schema.schema_type(Type::String).build().into()
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

string_component!(
    /// `CurrencyCode`: the ISO 4217 codes the server knows ([`Currency::ALL`]).
    CurrencyCodeSchema as "CurrencyCode" => ObjectBuilder::new()
        .description(Some("An ISO 4217 currency code the shop supports (upper case)."))
        .enum_values(Some(Currency::ALL.iter().map(|c| c.code())))
        .examples(["EUR"])
);

string_component!(
    /// `Sku`: [`ids::SKU_PATTERN`], 1 to [`ids::SKU_MAX_LEN`] characters.
    SkuSchema as "Sku" => ObjectBuilder::new()
        .description(Some("A stock-keeping unit: letters, digits, `-`, `_` and `.`, case preserved."))
        .pattern(Some(ids::SKU_PATTERN))
        .min_length(Some(1))
        .max_length(Some(ids::SKU_MAX_LEN))
        .examples(["TEE-RED-M"])
);

string_component!(
    /// `Slug`: [`ids::SLUG_PATTERN`], 1 to [`ids::SLUG_MAX_LEN`] characters.
    SlugSchema as "Slug" => ObjectBuilder::new()
        .description(Some("A URL handle: lowercase letters and digits, single dashes between them."))
        .pattern(Some(ids::SLUG_PATTERN))
        .min_length(Some(1))
        .max_length(Some(ids::SLUG_MAX_LEN))
        .examples(["linen-shirt"])
);

string_component!(
    /// `CouponCode`: [`ids::COUPON_CODE_PATTERN`], 1 to [`ids::COUPON_CODE_MAX_LEN`]
    /// characters.
    CouponCodeSchema as "CouponCode" => ObjectBuilder::new()
        .description(Some("A coupon code: letters, digits, `-` and `_`; case-insensitive (stored upper case)."))
        .pattern(Some(ids::COUPON_CODE_PATTERN))
        .min_length(Some(1))
        .max_length(Some(ids::COUPON_CODE_MAX_LEN))
        .examples(["WELCOME10"])
);

string_component!(
    /// `RegionCode`: [`ids::REGION_CODE_PATTERN`].
    RegionCodeSchema as "RegionCode" => ObjectBuilder::new()
        .description(Some("An ISO 3166 country, optionally `-` and a subdivision (`DE`, `US-CA`); case-insensitive."))
        .pattern(Some(ids::REGION_CODE_PATTERN))
        .examples(["US-CA"])
);

string_component!(
    /// `Email`: [`ids::EMAIL_PATTERN`], at most [`ids::EMAIL_MAX_LEN`] characters.
    EmailSchema as "Email" => ObjectBuilder::new()
        .description(Some("An email address: one `@`, a dotted domain, no whitespace."))
        .pattern(Some(ids::EMAIL_PATTERN))
        .max_length(Some(ids::EMAIL_MAX_LEN))
        .examples(["ann@example.com"])
);

string_component!(
    /// The `Idempotency-Key` header's schema (inlined in the parameter):
    /// [`ids::IDEMPOTENCY_KEY_PATTERN`], 1 to [`ids::IDEMPOTENCY_KEY_MAX_LEN`] characters.
    IdempotencyKeySchema as "IdempotencyKey" => ObjectBuilder::new()
        .pattern(Some(ids::IDEMPOTENCY_KEY_PATTERN))
        .min_length(Some(1))
        .max_length(Some(ids::IDEMPOTENCY_KEY_MAX_LEN))
);

/// The `bearer` (JWT access token) and `cart_token` (guest cart) schemes.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The access_token of /api/v1/auth/sign-in. Back-office routes need the admin role.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cart_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Cart-Token",
                "The token of a guest cart, returned when the cart is created.",
            ))),
        );
    }
}

fn problem(status: &str, description: &str) -> utoipa::openapi::Response {
    let response = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, Content::new(Some(Ref::from_schema_name("Problem"))));
    let response = if matches!(status, "429" | "503") {
        response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(Object::with_type(Type::Integer)))
                .description(Some("Seconds to wait before retrying"))
                .build(),
        )
    } else {
        response
    };
    response.build()
}

/// Adds the problem responses every operation can give, unless the operation documents
/// that status itself: `400`, `422` (when it takes a body), `401` (when it needs a bearer
/// token), `403` (back office), `429`, `500`, `503`, and `default`.
fn add_problem_responses(path: &str, operation: &mut Operation) {
    let has_input = operation.request_body.is_some()
        || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    // `SecurityRequirement` keeps its map private: read it through its JSON form. An
    // empty requirement (`{}`) in the list makes authentication optional.
    let needs_bearer = operation.security.as_ref().is_some_and(|requirements| {
        let json = serde_json::to_value(requirements).unwrap_or_default();
        let optional = json
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r.as_object().is_some_and(|o| o.is_empty())));
        !optional && json.to_string().contains("\"bearer\"")
    });
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    if has_input {
        wanted.push(("400", "The request cannot be read (`malformed_json`, `invalid_query`, `invalid_path`, `invalid_header`)"));
    }
    if operation.request_body.is_some() {
        wanted.push(("413", "The body is too large (`payload_too_large`)"));
        wanted.push(("415", "The body is not JSON (`unsupported_media_type`)"));
        wanted.push((
            "422",
            "A value is invalid (`validation_failed` with `field`, or a domain rule)",
        ));
    }
    if needs_bearer {
        wanted.push(("401", "No bearer token, or an invalid or expired one (`unauthenticated`)"));
    }
    if path.starts_with("/api/admin/") {
        wanted.push(("403", "The caller is not back-office staff (`forbidden`)"));
    }
    wanted.push(("429", "Too many requests from this client (`rate_limited`; see `Retry-After`)"));
    wanted.push(("500", "The server failed (`internal`; quote the `request_id`)"));
    wanted.push(("503", "A backend is unavailable or the request timed out (`unavailable`, `timed_out`; see `Retry-After`)"));
    wanted.push(("default", "A problem (RFC 9457): branch on `code`"));
    for (status, description) in wanted {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(status, description).into());
    }
}

/// Completes a document assembled from the routers.
pub(crate) fn finish(mut doc: OpenApiDoc) -> OpenApiDoc {
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            add_problem_responses(path, operation);
        }
    }
    doc
}

const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>shopkit API reference</title>
  </head>
  <body>
    <script id="api-reference" data-url="openapi.json"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
  </body>
</html>
"#;

/// `/api/openapi.json` (the document, serialized once) and `/api/docs` (a Scalar page that
/// loads its script from a CDN when viewed; nothing is downloaded at build time).
pub(crate) fn routes(doc: &OpenApiDoc) -> Router {
    let json = match doc.to_json() {
        Ok(json) => Some(json),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document could not be serialized");
            None
        }
    };
    Router::new()
        .route(
            "/api/openapi.json",
            get(move || {
                let json = json.clone();
                async move { openapi_json(json) }
            }),
        )
        .route("/api/docs", get(docs))
}

fn openapi_json(json: Option<String>) -> Response {
    match json {
        Some(json) => (
            [
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
            ],
            json,
        )
            .into_response(),
        None => crate::ApiError::internal("the OpenAPI document could not be serialized")
            .into_response(),
    }
}

async fn docs() -> Html<&'static str> {
    Html(DOCS_PAGE)
}

//! [`ProblemDto`]: the RFC 9457 problem document, as a schema.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::ProblemCode;

/// An error (RFC 9457 `application/problem+json`). Branch on `code`; show `detail` to a
/// person. Extension members (`field`, `sku`, `available`, ...) depend on the code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Problem, example = json!({
    "type": "https://shopkit.dev/problems/out_of_stock",
    "title": "Out of stock",
    "status": 409,
    "detail": "out of stock: TEE-M has 1 available, 3 requested",
    "code": "out_of_stock",
    "request_id": "0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a",
    "sku": "TEE-M",
    "requested": 3,
    "available": 1
}))]
pub struct ProblemDto {
    /// `https://shopkit.dev/problems/<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the problem type (fixed per code).
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong and what to do, for a person.
    pub detail: String,
    /// The stable, machine-readable code.
    pub code: ProblemCode,
    /// The request's `X-Request-Id`: quote it to support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Members specific to the code (`field` for validation, `sku`/`requested`/`available`
    /// for out of stock, `reason` for a rejected coupon...).
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub extensions: Map<String, Value>,
}

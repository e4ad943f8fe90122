//! Extractors that answer bad input with problem+json instead of axum's plain-text
//! rejections: [`ApiJson`], [`ApiPath`], [`ApiQuery`]. Use them instead of axum's `Json`,
//! `Path` and `Query` in every handler.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ProblemCode};

/// A JSON request body.
///
/// - not `application/json` (or `*/*+json`): `415 unsupported_media_type`;
/// - over the body limit: `413 payload_too_large`;
/// - empty or not JSON: `400 malformed_json`;
/// - JSON with a wrong, missing or out-of-range value (a string for a number, `-1` for an
///   unsigned quantity, `1e20` for a `u32`): `422 validation_failed` whose `field` is the
///   JSON path (`lines[0].quantity`).
///
/// Must be the last extractor of a handler (it consumes the body).
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        require_json(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// `415` unless the content type is JSON.
pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false);
    if json {
        Ok(())
    } else {
        Err(ApiError::new(
            ProblemCode::UnsupportedMediaType,
            "send the body as JSON with Content-Type: application/json",
        ))
    }
}

/// The body could not be read: too large (413) or cut off (400).
pub(crate) fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ProblemCode::PayloadTooLarge,
            "the request body is larger than this server accepts: send less data",
        )
    } else {
        ApiError::new(ProblemCode::MalformedRequest, "the request body could not be read")
            .with_source(rejection)
    }
}

/// Parses a JSON body, telling syntax errors (400) from value errors (422 with the path).
///
/// # Errors
/// As [`ApiJson`].
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            ProblemCode::MalformedJson,
            "the request body is empty: send a JSON document",
        ));
    }
    // Every request body of this API is a JSON object. serde would also read a struct
    // from an array of its fields in order (`["SKU-1", 2]`): refuse that encoding rather
    // than accept a body whose meaning depends on field order.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Err(e) => json_error(e, "body".to_owned()),
            Ok(_) => ApiError::validation("body", "the request body must be a JSON object"),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = match e.path().to_string() {
            p if p == "." || p.is_empty() => "body".to_owned(),
            p => p,
        };
        json_error(e.into_inner(), field)
    })?;
    de.end().map_err(|e| json_error(e, "body".to_owned()))?;
    Ok(value)
}

fn json_error(e: serde_json::Error, field: String) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => ApiError::validation(field, e.to_string()),
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::new(ProblemCode::MalformedJson, format!("the body is not valid JSON: {e}"))
        }
    }
}

/// Path parameters. A segment of the wrong form (an id that is not a UUID) is
/// `400 invalid_path`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) if rejection.status().is_client_error() => {
                Err(ApiError::new(ProblemCode::InvalidPath, rejection.body_text()))
            }
            // A route whose pattern does not match its extractor: a bug, not bad input.
            Err(rejection) => Err(ApiError::internal(rejection.body_text())),
        }
    }
}

/// Query parameters. A parameter of the wrong form (`limit=abc`, an unknown `sort`) is
/// `400 invalid_query` naming the `field`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|e| {
            let field = e.path().to_string();
            let detail = format!("invalid query string: {}", e.inner());
            ApiError::invalid_query(if field == "." { "query".to_owned() } else { field }, detail)
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[test]
    fn a_body_must_be_an_object_not_the_fields_in_an_array() {
        let err = parse_json::<Line>(br#"["SKU-1", 2]"#).unwrap_err();
        assert_eq!(err.code(), ProblemCode::ValidationFailed);
        let err = parse_json::<Line>(b"  42 ").unwrap_err();
        assert_eq!(err.code(), ProblemCode::ValidationFailed);
        let err = parse_json::<Line>(b"[1, 2").unwrap_err();
        assert_eq!(err.code(), ProblemCode::MalformedJson);
        assert!(parse_json::<Line>(br#" {"sku": "SKU-1", "quantity": 2}"#).is_ok());
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Line {
        sku: String,
        quantity: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Lines {
        lines: Vec<Line>,
    }

    #[test]
    fn a_syntax_error_is_a_400_and_a_wrong_value_is_a_422_naming_its_path() {
        let syntax = parse_json::<Lines>(br#"{"lines": ["#).unwrap_err();
        let negative =
            parse_json::<Lines>(br#"{"lines": [{"sku": "A", "quantity": -1}]}"#).unwrap_err();
        let huge =
            parse_json::<Lines>(br#"{"lines": [{"sku": "A", "quantity": 1e20}]}"#).unwrap_err();
        let missing = parse_json::<Lines>(br#"{}"#).unwrap_err();
        let trailing = parse_json::<Lines>(br#"{"lines": []} x"#).unwrap_err();
        let empty = parse_json::<Lines>(b"  ").unwrap_err();

        assert_eq!(syntax.code(), ProblemCode::MalformedJson);
        assert_eq!(negative.code(), ProblemCode::ValidationFailed);
        assert_eq!(negative.extension("field").unwrap(), "lines[0].quantity");
        assert_eq!(huge.extension("field").unwrap(), "lines[0].quantity");
        assert_eq!(missing.extension("field").unwrap(), "body");
        assert_eq!(trailing.code(), ProblemCode::MalformedJson);
        assert_eq!(empty.code(), ProblemCode::MalformedJson);
    }

    #[test]
    fn json_content_types_include_the_plus_json_family() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/json; charset=utf-8".parse().unwrap());
        assert!(require_json(&headers).is_ok());
        headers.insert(CONTENT_TYPE, "application/merge-patch+json".parse().unwrap());
        assert!(require_json(&headers).is_ok());
        headers.insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(require_json(&headers).unwrap_err().code(), ProblemCode::UnsupportedMediaType);
    }
}

//! HTTP caching of catalog reads, so a CDN (CloudFront) and browsers can keep them:
//! a strong `ETag` (a hash of the exact body), `Cache-Control: public, max-age=N`, and
//! `304 Not Modified` when `If-None-Match` names the current ETag.
//!
//! Only for responses that are the same for every caller (no auth, no cart): the URL,
//! query string included, must be the whole cache key.

use std::convert::Infallible;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// Answers a cacheable catalog read: `cache.respond(&dto)`.
#[derive(Clone, Debug)]
pub struct CatalogCache {
    if_none_match: Option<HeaderValue>,
    max_age: u32,
}

impl<S> FromRequestParts<S> for CatalogCache
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        Ok(CatalogCache {
            if_none_match: parts.headers.get(IF_NONE_MATCH).cloned(),
            max_age: AppState::from_ref(state).config().catalog_max_age_seconds,
        })
    }
}

/// The strong ETag of a body: a quoted, URL-safe SHA-256 prefix (128 bits).
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]))
}

/// Whether `If-None-Match` matches `etag` (weak comparison, as RFC 9110 asks for GET).
fn matches(if_none_match: &HeaderValue, etag: &str) -> bool {
    let Ok(value) = if_none_match.to_str() else {
        return false;
    };
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    value.split(',').any(|tag| tag.trim() == "*" || bare(tag) == bare(etag))
}

impl CatalogCache {
    /// A `200` JSON response of `value` with `ETag` and `Cache-Control`, or a bodiless
    /// `304` when the client already has this exact body.
    pub fn respond<T: Serialize>(&self, value: &T) -> Response {
        let body = match serde_json::to_vec(value) {
            Ok(body) => body,
            Err(e) => {
                return ApiError::internal(format!("catalog response not serialized: {e}"))
                    .into_response();
            }
        };
        let etag = etag_of(&body);
        let cache_control = format!("public, max-age={}", self.max_age);
        let headers = [
            (ETAG, HeaderValue::from_str(&etag).ok()),
            (CACHE_CONTROL, HeaderValue::from_str(&cache_control).ok()),
        ];
        let mut response = if self.if_none_match.as_ref().is_some_and(|inm| matches(inm, &etag)) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
        };
        for (name, value) in headers {
            if let Some(value) = value {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_strong_stable_and_content_addressed() {
        assert_eq!(etag_of(b"[1]"), etag_of(b"[1]"));
        assert_ne!(etag_of(b"[1]"), etag_of(b"[2]"));
        assert!(etag_of(b"x").starts_with('"') && !etag_of(b"x").starts_with("W/"));
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let etag = etag_of(b"x");
        assert!(matches(&HeaderValue::from_str(&etag).unwrap(), &etag));
        assert!(matches(&HeaderValue::from_str(&format!("\"a\", W/{etag}")).unwrap(), &etag));
        assert!(matches(&HeaderValue::from_static("*"), &etag));
        assert!(!matches(&HeaderValue::from_static("\"other\""), &etag));
    }

    #[test]
    fn a_matching_tag_answers_304_with_the_same_validators() {
        let fresh = CatalogCache { if_none_match: None, max_age: 60 }.respond(&[1, 2]);
        let etag = fresh.headers()[ETAG].clone();
        let again =
            CatalogCache { if_none_match: Some(etag.clone()), max_age: 60 }.respond(&[1, 2]);

        assert_eq!(fresh.status(), StatusCode::OK);
        assert_eq!(fresh.headers()[CACHE_CONTROL], "public, max-age=60");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[ETAG], etag);
    }
}

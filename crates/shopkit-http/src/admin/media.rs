//! Media uploads: `PUT /media/{key}` with the raw bytes as the body and their MIME type as
//! `Content-Type`. The key may contain slashes (`products/tee/front.jpg`). Returns the
//! stored object and its URL; reference it from a product's `media` by key.
//!
//! Size limits: a body above the server's limit (`HttpConfig::body_limit_bytes`) is `413
//! payload_too_large` before it is read to the end; one within it but above the media
//! store's limit is `422 validation_failed` (`field: "media"`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use shopkit_core::catalog::{MediaKind, MediaRef};
use shopkit_core::ports::MediaUpload;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminAuth;
use crate::dto::{ProblemDto, UploadedMediaDto};
use crate::error::{ApiError, ProblemCode};
use crate::extract::{ApiPath, body_error};
use crate::state::AppState;

/// The media routes. The key is a catch-all path segment, which the OpenAPI document
/// shows as `{key}`: the handler is routed at `/media/{*key}` and documented at
/// `/media/{key}`.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    let (schemas, paths, method_router) = routes!(upload_media);
    let mut router = OpenApiRouter::new().route("/media/{*key}", method_router);
    let doc = router.get_openapi_mut();
    doc.paths.paths.extend(paths.paths);
    doc.components.get_or_insert_with(Default::default).schemas.extend(schemas);
    router
}

fn content_type(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ProblemCode::UnsupportedMediaType,
                "send the file's MIME type as Content-Type (image/jpeg, video/mp4...)",
            )
        })
}

/// Stores (or replaces) the object at `key`.
#[utoipa::path(
    put,
    path = "/media/{key}",
    operation_id = "admin_upload_media",
    tag = "admin-media",
    security(("bearer" = [])),
    params(("key" = String, Path, description = "The object key: 1 to 512 of `a-z A-Z 0-9 / - _ .`, slashes allowed, no `..` (`products/tee/front.jpg`)")),
    request_body(
        description = "The raw bytes; `Content-Type` is stored with them",
        content(("image/*"), ("video/*"), ("application/octet-stream")),
    ),
    responses(
        (status = 200, description = "The stored object and its URL", body = UploadedMediaDto),
        (status = 413, description = "The body is larger than the server accepts (`payload_too_large`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 415, description = "No `Content-Type` (`unsupported_media_type`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "A malformed key or content type, or a body above the media store's limit (`validation_failed`, `field: \"media\"`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn upload_media(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<UploadedMediaDto>, ApiError> {
    let content_type = content_type(&headers)?;
    let bytes = body.map_err(body_error)?;
    let kind = if content_type.starts_with("video/") { MediaKind::Video } else { MediaKind::Image };
    let upload = MediaUpload { key, content_type, bytes: bytes.to_vec() };
    let object = state.media().upload(&admin.caller(), upload).await?;
    let url = state.media().url(&MediaRef { key: object.key.clone(), kind, alt: None }).await;
    Ok(Json(UploadedMediaDto::new(object, url)))
}

//! An uploaded media object on the wire.

use serde::{Deserialize, Serialize};
use shopkit_core::ports::MediaObject;
use utoipa::ToSchema;

/// A stored media object (`PUT /media/{key}`): reference it from a product's `media` by
/// `key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UploadedMediaDto {
    /// The key (`products/tee/front.jpg`).
    pub key: String,
    /// The MIME type it was stored with.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Where to load it (CDN or presigned URL); `null` when the store cannot make one now.
    pub url: Option<String>,
}

impl UploadedMediaDto {
    /// The stored object and its URL.
    pub fn new(object: MediaObject, url: Option<String>) -> Self {
        UploadedMediaDto {
            key: object.key,
            content_type: object.content_type,
            size: object.size,
            sha256: object.sha256,
            url,
        }
    }
}

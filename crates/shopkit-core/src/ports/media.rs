//! Media storage: product images and videos.

use async_trait::async_trait;
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// An upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaUpload {
    /// The key (`products/<id>/front.jpg`): 1 to 512 of `a-z A-Z 0-9 / - _ .`, no `..`.
    pub key: String,
    /// The MIME type (`image/jpeg`).
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A stored object's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaObject {
    /// The key.
    pub key: String,
    /// The MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
}

/// A media store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// No object at the key.
    #[error("no media at {key}")]
    NotFound {
        /// The key.
        key: String,
    },
    /// Larger than the store's limit.
    #[error("media of {size} bytes exceeds the {max} byte limit")]
    TooLarge {
        /// The size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A malformed key or a content type the store does not take.
    #[error("invalid media: {reason}")]
    Invalid {
        /// Why.
        reason: String,
    },
    /// The backend is unreachable. Retryable.
    #[error("media store unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
    },
}

/// Stores media bytes (S3 behind CloudFront in the AWS profile).
///
/// # Contract
/// - `put` MUST reject keys outside the allowed shape and bodies above the limit with a
///   typed error, and overwrite an existing key.
/// - `get` of a missing key MUST be `NotFound`; `delete` of one is not an error.
/// - URLs from `presigned_get`/`presigned_put` MUST stop working after `expires_in`
///   (for backends that can enforce it).
#[async_trait]
pub trait MediaStore: Send + Sync + 'static {
    /// Stores an object.
    async fn put(&self, upload: MediaUpload) -> Result<MediaObject, MediaError>;
    /// Reads an object.
    async fn get(&self, key: &str) -> Result<(MediaObject, Vec<u8>), MediaError>;
    /// Deletes an object.
    async fn delete(&self, key: &str) -> Result<(), MediaError>;
    /// Objects under a prefix (`products/<id>/`), by key.
    async fn list(&self, prefix: &str) -> Result<Vec<MediaObject>, MediaError>;
    /// A URL that reads the object until `expires_in` passes.
    async fn presigned_get(&self, key: &str, expires_in: Duration) -> Result<String, MediaError>;
    /// A URL that uploads the object until `expires_in` passes.
    async fn presigned_put(
        &self,
        key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<String, MediaError>;
    /// The public (CDN) URL of the object, when the store has one.
    fn public_url(&self, key: &str) -> Option<String>;
}

//! [`MediaService`]: media URLs for product responses, and uploads for the back office.

use std::sync::Arc;

use chrono::Duration;

use crate::catalog::MediaRef;
use crate::ports::{MediaError, MediaObject, MediaStore, MediaUpload};

use super::access::Caller;
use super::error::ShopError;

/// Resolves media references to URLs (the CDN URL when the store has one, else a presigned
/// URL valid for `presign_for`) and stores uploads.
#[derive(Clone)]
pub struct MediaService {
    media: Arc<dyn MediaStore>,
    presign_for: Duration,
}

impl std::fmt::Debug for MediaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaService")
            .field("presign_for", &self.presign_for)
            .finish_non_exhaustive()
    }
}

impl MediaService {
    /// A service over the media store; presigned URLs last `presign_for`.
    pub fn new(media: Arc<dyn MediaStore>, presign_for: Duration) -> Self {
        MediaService { media, presign_for }
    }

    /// The URL of a media reference, or `None` when it cannot be made (logged): a product
    /// page still renders without its picture.
    pub async fn url(&self, media: &MediaRef) -> Option<String> {
        if let Some(url) = self.media.public_url(&media.key) {
            return Some(url);
        }
        match self.media.presigned_get(&media.key, self.presign_for).await {
            Ok(url) => Some(url),
            Err(e) => {
                tracing::warn!(key = %media.key, error = %e, "no URL for media");
                None
            }
        }
    }

    /// Stores an upload (back office).
    ///
    /// # Errors
    /// [`ShopError::Forbidden`]; [`ShopError::Invalid`] for a bad key, content type or a
    /// body above the store's limit; [`ShopError::Unavailable`].
    pub async fn upload(
        &self,
        caller: &Caller,
        upload: MediaUpload,
    ) -> Result<MediaObject, ShopError> {
        caller.require_admin("upload media")?;
        self.media.put(upload).await.map_err(media_error)
    }
}

fn media_error(e: MediaError) -> ShopError {
    match e {
        MediaError::NotFound { key } => ShopError::NotFound { entity: "media", id: key },
        MediaError::TooLarge { size, max } => ShopError::Invalid {
            field: "media",
            reason: format!("{size} bytes exceeds the {max} byte limit"),
        },
        MediaError::Invalid { reason } => ShopError::Invalid { field: "media", reason },
        e @ MediaError::Unavailable { .. } => ShopError::unavailable(e),
    }
}

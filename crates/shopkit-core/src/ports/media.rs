//! Media storage: product images and videos, and the shape of their keys ([`MediaKey`]) and
//! content types ([`MediaContentType`]), which every media store checks the same way.

use std::fmt;

use async_trait::async_trait;
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// A media object key (`products/<id>/front.jpg`): 1 to [`MAX_LEN`](Self::MAX_LEN) of
/// `a-z A-Z 0-9 / - _ .`, without `..`.
///
/// The rule every [`MediaStore`] applies to the keys it is given (and S3 to its key prefix),
/// so the in-memory store is exactly as strict as the real one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaKey(String);

impl MediaKey {
    /// The longest key, in bytes.
    pub const MAX_LEN: usize = 512;

    /// Whether `raw` has the shape of a key (for callers that only filter, such as a store
    /// skipping foreign objects).
    pub fn is_valid(raw: &str) -> bool {
        !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
            && !raw.contains("..")
    }

    /// Checks `raw` against the key rule.
    ///
    /// # Errors
    /// [`MediaError::Invalid`] naming the rule.
    pub fn new(raw: &str) -> Result<Self, MediaError> {
        if !Self::is_valid(raw) {
            return Err(MediaError::Invalid {
                reason: format!(
                    "key {:?} must be 1 to {} of a-z A-Z 0-9 / - _ . without `..`",
                    raw.chars().take(80).collect::<String>(),
                    Self::MAX_LEN
                ),
            });
        }
        Ok(MediaKey(raw.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for MediaKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<MediaKey> for String {
    fn from(key: MediaKey) -> Self {
        key.0
    }
}

impl fmt::Display for MediaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MediaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaKey({:?})", self.0)
    }
}

/// A media content type: `type/subtype` with RFC 6838 restricted names, optionally followed
/// by `; parameters` (printable ASCII), in at most [`MAX_LEN`](Self::MAX_LEN) characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MediaContentType(String);

impl MediaContentType {
    /// The longest content type, in bytes.
    pub const MAX_LEN: usize = 255;

    /// Checks `raw` against the content-type rule.
    ///
    /// # Errors
    /// [`MediaError::Invalid`] with an example of the expected shape.
    pub fn new(raw: &str) -> Result<Self, MediaError> {
        let (essence, params) = raw.split_once(';').unwrap_or((raw, ""));
        let essence_ok = essence
            .split_once('/')
            .is_some_and(|(t, s)| is_restricted_name(t) && is_restricted_name(s));
        let params_ok = params.chars().all(|c| c.is_ascii() && !c.is_ascii_control());
        if raw.len() > Self::MAX_LEN || !essence_ok || !params_ok {
            return Err(MediaError::Invalid {
                reason: format!(
                    "content type {:?} must look like type/subtype (image/jpeg)",
                    raw.chars().take(80).collect::<String>()
                ),
            });
        }
        Ok(MediaContentType(raw.to_owned()))
    }

    /// The content type as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for MediaContentType {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<MediaContentType> for String {
    fn from(content_type: MediaContentType) -> Self {
        content_type.0
    }
}

impl fmt::Display for MediaContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MediaContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaContentType({:?})", self.0)
    }
}

/// An RFC 6838 restricted name: a letter or digit, then up to 126 of `a-z 0-9 ! # $ & - ^ _ . +`.
fn is_restricted_name(name: &str) -> bool {
    name.len() <= 127
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
}

/// An upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaUpload {
    /// The key (`products/<id>/front.jpg`): a [`MediaKey`], 1 to 512 of `a-z A-Z 0-9 / - _ .`,
    /// no `..`.
    pub key: String,
    /// The MIME type (`image/jpeg`): a [`MediaContentType`].
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
/// - `put` MUST reject keys outside the allowed shape ([`MediaKey`]), content types outside
///   theirs ([`MediaContentType`]) and bodies above the limit with a typed error, and
///   overwrite an existing key.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_outside_the_allowed_shape_are_invalid() {
        let long = "a".repeat(513);

        for key in
            ["", "products/../secret", "with space.jpg", "ünicode.jpg", "q?x=1", long.as_str()]
        {
            assert!(
                matches!(MediaKey::new(key), Err(MediaError::Invalid { .. })),
                "key {key:?} was accepted"
            );
            assert!(!MediaKey::is_valid(key));
        }
        assert!(MediaKey::new(&"a".repeat(512)).is_ok());
        assert_eq!(
            MediaKey::new("products/1/front-v2_large.jpg").unwrap().as_str(),
            "products/1/front-v2_large.jpg"
        );
    }

    #[test]
    fn an_invalid_key_is_named_truncated_in_the_reason() {
        let Err(MediaError::Invalid { reason }) = MediaKey::new(&"ü".repeat(300)) else {
            panic!("an invalid key was accepted");
        };

        assert!(reason.contains(&"ü".repeat(80)) && !reason.contains(&"ü".repeat(81)), "{reason}");
        assert!(reason.contains("1 to 512"), "{reason}");
    }

    #[test]
    fn content_types_must_look_like_type_slash_subtype() {
        for bad in ["", "jpeg", "image/", "/jpeg", "image/jp eg", "image/jpeg/x", "text/x;\u{7}"] {
            assert!(
                matches!(MediaContentType::new(bad), Err(MediaError::Invalid { .. })),
                "{bad:?} was accepted"
            );
        }
        for good in ["image/svg+xml", "video/mp4", "text/plain; charset=utf-8"] {
            assert!(MediaContentType::new(good).is_ok(), "{good:?} was refused");
        }
        assert!(MediaContentType::new(&format!("image/{}", "x".repeat(250))).is_err());
    }
}

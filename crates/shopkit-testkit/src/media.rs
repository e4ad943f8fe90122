//! Contracts of [`MediaStore`]: bytes and metadata round-trip, keys and sizes are checked,
//! missing keys are `NotFound`, listings are by prefix, presigned URLs expire.
//!
//! Each contract takes a store (empty, or at least without keys under a fresh prefix: the
//! contracts put everything under `testkit/<random>/`) and its [`MediaLimits`].

use std::fmt;
use std::sync::Arc;

use chrono::Duration;
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use shopkit_core::ports::{MediaError, MediaStore, MediaUpload};

use crate::fixtures::unique;
use crate::support::{Must, TimeControl};

/// Whether the test can check that presigned URLs stop working.
#[derive(Clone)]
pub enum PresignedUrls {
    /// The backend enforces expiry. `works(url)` says whether the backend honours the URL
    /// now (the memory store verifies it; an S3 run fetches it); `time` lets time pass.
    Enforced {
        /// Whether a URL is honoured now.
        works: Arc<dyn Fn(String) -> BoxFuture<'static, bool> + Send + Sync>,
        /// How to let time pass for the backend.
        time: TimeControl,
    },
    /// The backend cannot enforce expiry (a local directory): the contract checks only that
    /// URLs are issued.
    NotEnforced,
}

impl fmt::Debug for PresignedUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PresignedUrls::Enforced { .. } => f.write_str("PresignedUrls::Enforced"),
            PresignedUrls::NotEnforced => f.write_str("PresignedUrls::NotEnforced"),
        }
    }
}

/// What the media contracts need to know of the store under test.
#[derive(Clone, Debug)]
pub struct MediaLimits {
    /// The largest body the store accepts, in bytes (the contract uploads one byte more).
    pub max_bytes: u64,
    /// Whether presigned URL expiry can be checked.
    pub presigned: PresignedUrls,
}

fn prefix() -> String {
    format!("testkit/{}/", unique())
}

fn upload(key: &str, content_type: &str, bytes: &[u8]) -> MediaUpload {
    MediaUpload {
        key: key.to_owned(),
        content_type: content_type.to_owned(),
        bytes: bytes.to_vec(),
    }
}

/// `put` then `get` returns the bytes, the content type, the size and the SHA-256 (hex).
pub async fn put_then_get_returns_the_bytes_and_metadata(store: Arc<dyn MediaStore>) {
    // Arrange
    let key = format!("{}front.jpg", prefix());
    let bytes: Vec<u8> = (0..=255).cycle().take(3000).collect();

    // Act
    let stored = store.put(upload(&key, "image/jpeg", &bytes)).await.must("put");
    let (meta, got) = store.get(&key).await.must("get");

    // Assert
    let sha = hex::encode(Sha256::digest(&bytes));
    assert_eq!(got, bytes, "get returns the bytes put");
    assert_eq!(meta, stored, "get returns the metadata put returned");
    assert_eq!(meta.key, key);
    assert_eq!(meta.content_type, "image/jpeg");
    assert_eq!(meta.size, 3000);
    assert_eq!(meta.sha256, sha, "sha256 is the lowercase hex SHA-256 of the bytes");
}

/// `put` of an existing key overwrites it.
pub async fn put_overwrites_an_existing_key(store: Arc<dyn MediaStore>) {
    // Arrange
    let key = format!("{}clip.mp4", prefix());
    store.put(upload(&key, "video/mp4", b"first")).await.must("put");

    // Act
    store.put(upload(&key, "image/png", b"second version")).await.must("put again");

    // Assert
    let (meta, bytes) = store.get(&key).await.must("get");
    assert_eq!(bytes, b"second version");
    assert_eq!((meta.content_type.as_str(), meta.size), ("image/png", 14));
}

/// `get` of a missing key is `NotFound`; `delete` of one is not an error; `delete` removes.
pub async fn missing_keys_are_not_found_and_delete_tolerates_them(store: Arc<dyn MediaStore>) {
    // Arrange
    let p = prefix();
    let key = format!("{p}gone.png");
    store.put(upload(&key, "image/png", b"png")).await.must("put");

    // Act
    store.delete(&key).await.must("delete");
    store.delete(&key).await.must("delete again");
    store.delete(&format!("{p}never.png")).await.must("delete a key never put");
    let result = store.get(&key).await;

    // Assert
    assert!(
        matches!(result, Err(MediaError::NotFound { .. })),
        "get of a deleted key must be NotFound, got {result:?}"
    );
}

/// `list` returns the objects under a prefix, by key, and nothing else.
pub async fn list_returns_objects_under_a_prefix_by_key(store: Arc<dyn MediaStore>) {
    // Arrange
    let p = prefix();
    for name in ["b.jpg", "a.jpg", "sub/c.jpg"] {
        store.put(upload(&format!("{p}{name}"), "image/jpeg", name.as_bytes())).await.must("put");
    }
    let other = prefix();
    store.put(upload(&format!("{other}x.jpg"), "image/jpeg", b"x")).await.must("put elsewhere");

    // Act
    let listed = store.list(&p).await.must("list");

    // Assert
    let keys: Vec<String> = listed.iter().map(|o| o.key.clone()).collect();
    assert_eq!(keys, vec![format!("{p}a.jpg"), format!("{p}b.jpg"), format!("{p}sub/c.jpg")]);
    assert_eq!(listed[0].size, 5);
}

/// Keys outside `1..=512` of `a-z A-Z 0-9 / - _ .`, or with `..`, are `Invalid`, and
/// nothing is stored.
pub async fn malformed_keys_are_invalid(store: Arc<dyn MediaStore>) {
    // Arrange
    let p = prefix();
    let bad = [
        String::new(),
        format!("{p}../escape.jpg"),
        format!("{p}a b.jpg"),
        format!("{p}ümlaut.jpg"),
        format!("{p}{}", "x".repeat(513)),
    ];

    // Act / Assert
    for key in &bad {
        let result = store.put(upload(key, "image/jpeg", b"x")).await;
        assert!(
            matches!(result, Err(MediaError::Invalid { .. })),
            "key {key:?} must be Invalid, got {result:?}"
        );
    }
    assert!(store.list(&p).await.must("list").is_empty(), "nothing is stored under a refused key");
}

/// A body above the store's limit is `TooLarge` and is not stored.
pub async fn bodies_above_the_limit_are_too_large(store: Arc<dyn MediaStore>, limits: MediaLimits) {
    // Arrange
    let key = format!("{}huge.bin", prefix());
    let size = usize::try_from(limits.max_bytes + 1).must("a limit that fits in memory");
    let body = vec![0u8; size];

    // Act
    let result = store
        .put(MediaUpload { key: key.clone(), content_type: "video/mp4".into(), bytes: body })
        .await;

    // Assert
    assert!(
        matches!(result, Err(MediaError::TooLarge { size, max }) if size == limits.max_bytes + 1 && max == limits.max_bytes),
        "a body one byte over the limit must be TooLarge {{ size, max }}, got {result:?}"
    );
    assert!(matches!(store.get(&key).await, Err(MediaError::NotFound { .. })), "nothing is stored");
}

/// Presigned URLs are issued for reads and uploads, and, where the backend enforces it,
/// work until `expires_in` passes and not after.
pub async fn presigned_urls_stop_working_after_they_expire(
    store: Arc<dyn MediaStore>,
    limits: MediaLimits,
) {
    // Arrange
    let key = format!("{}front.jpg", prefix());
    store.put(upload(&key, "image/jpeg", b"jpeg")).await.must("put");

    // Act
    let get = store.presigned_get(&key, Duration::seconds(2)).await.must("presign a read");
    let put = store
        .presigned_put(&key, "image/jpeg", Duration::seconds(2))
        .await
        .must("presign an upload");

    // Assert
    assert!(!get.trim().is_empty() && !put.trim().is_empty(), "presigned URLs are issued");
    assert_ne!(get, put, "a read URL is not an upload URL");
    if let PresignedUrls::Enforced { works, time } = &limits.presigned {
        assert!(works(get.clone()).await, "a fresh presigned read URL works");
        assert!(works(put.clone()).await, "a fresh presigned upload URL works");
        time.advance(Duration::seconds(3)).await;
        assert!(!works(get).await, "a presigned read URL must stop working after expires_in");
        assert!(!works(put).await, "a presigned upload URL must stop working after expires_in");
    }
}

//! The S3 media store against the `shopkit-testkit` media suite and its own guarantees, on
//! moto (an S3 emulator).
//!
//! Run with: `SHOPKIT_TEST_AWS_ENDPOINT=http://127.0.0.1:5000 cargo test -p shopkit-s3 --test conformance`
//! (`eval "$(scripts/services)"` starts moto and exports the variable). Without the variable
//! every test prints why it skips; with `CI=true` it fails instead.
//!
//! Every test creates its own bucket (`shopkit-s3-<uuid>`), so tests run in parallel on one
//! moto and nothing resets it.
//!
//! What moto cannot show: it checks neither SigV4 signatures nor expiry of presigned URLs
//! (so the suite runs with `PresignedUrls::NotEnforced` and the adapter tests fetch URLs
//! only while fresh), and it does not enforce S3's checksums the way S3 does. Throttling and
//! 5xx answers are in `tests/errors.rs`, on scripted responses.

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, Region};
use chrono::Duration;
use sha2::{Digest, Sha256};
use shopkit_core::ports::{MediaError, MediaStore, MediaUpload, Readiness};
use shopkit_s3::{S3Config, S3MediaStore, create_bucket};
use shopkit_testkit::media::{MediaLimits, PresignedUrls};
use shopkit_testkit::require_service;

const ENDPOINT_VAR: &str = "SHOPKIT_TEST_AWS_ENDPOINT";

/// Small limits keep the suite's over-the-limit body small. The suite uploads its
/// over-the-limit body as `video/mp4`, so the limit it must see is the video limit.
const SUITE_MAX_BYTES: u64 = 64 * 1024;
const SUITE_MAX_VIDEO_BYTES: u64 = 256 * 1024;

/// A client for moto: static credentials, path-style addressing (the bucket in the path).
async fn moto_client(endpoint: &str) -> Client {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .endpoint_url(endpoint)
        .load()
        .await;
    Client::from_conf(aws_sdk_s3::config::Builder::from(&shared).force_path_style(true).build())
}

/// A bucket nobody else uses.
async fn fresh_bucket(client: &Client) -> String {
    let bucket = format!("shopkit-s3-{}", uuid::Uuid::new_v4().simple());
    create_bucket(client, &bucket).await.expect("create a test bucket on moto");
    bucket
}

/// A store on a fresh bucket, configured by `change`.
async fn fresh_store(endpoint: &str, change: impl FnOnce(&mut S3Config)) -> (S3MediaStore, Client) {
    let client = moto_client(endpoint).await;
    let mut config = S3Config::new(fresh_bucket(&client).await);
    change(&mut config);
    (S3MediaStore::new(client.clone(), config).expect("a valid test config"), client)
}

fn suite_limits(config: &mut S3Config) {
    config.max_bytes = SUITE_MAX_BYTES;
    config.max_video_bytes = SUITE_MAX_VIDEO_BYTES;
}

fn upload(key: &str, content_type: &str, bytes: Vec<u8>) -> MediaUpload {
    MediaUpload { key: key.to_owned(), content_type: content_type.to_owned(), bytes }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// moto checks neither signatures nor expiry: the suite checks that URLs are issued, and
/// the tests below that fresh ones work.
fn moto_limits() -> MediaLimits {
    MediaLimits { max_bytes: SUITE_MAX_VIDEO_BYTES, presigned: PresignedUrls::NotEnforced }
}

/// Every body goes up in one `PutObject`.
mod single_put {
    use super::*;

    shopkit_testkit::media_contracts!(requires "SHOPKIT_TEST_AWS_ENDPOINT", async |endpoint: String| {
        let (store, _) = fresh_store(&endpoint, suite_limits).await;
        (Arc::new(store) as Arc<dyn MediaStore>, moto_limits())
    });
}

/// Every body goes up as a multipart upload (a threshold of 0: one short part each), under
/// a key prefix: the same contracts hold.
mod multipart_with_a_key_prefix {
    use super::*;

    shopkit_testkit::media_contracts!(requires "SHOPKIT_TEST_AWS_ENDPOINT", async |endpoint: String| {
        let (store, _) = fresh_store(&endpoint, |c| {
            suite_limits(c);
            c.multipart_threshold = 0;
            c.key_prefix = Some("shop-a/media/".into());
        })
        .await;
        (Arc::new(store) as Arc<dyn MediaStore>, moto_limits())
    });
}

#[tokio::test]
async fn a_12_mib_video_round_trips_through_a_multipart_upload_with_its_sha256() {
    let Some(endpoint) = require_service(ENDPOINT_VAR) else { return };
    // Arrange: the defaults (multipart above 8 MiB) with the smallest parts S3 allows.
    let (store, client) = fresh_store(&endpoint, |c| c.part_size = 5 * 1024 * 1024).await;
    let bytes: Vec<u8> = (0..12 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let key = "products/42/demo.mp4";

    // Act
    let stored = store.put(upload(key, "video/mp4", bytes.clone())).await.expect("put 12 MiB");
    let (meta, got) = store.get(key).await.expect("get it back");

    // Assert
    assert_eq!(stored.sha256, sha256_hex(&bytes));
    assert_eq!(meta, stored, "get describes what put stored");
    assert!(got == bytes, "the bytes round-trip");
    let head = client
        .head_object()
        .bucket(&store.config().bucket)
        .key(key)
        .send()
        .await
        .expect("head the object");
    let e_tag = head.e_tag().unwrap_or_default();
    assert!(e_tag.trim_matches('"').ends_with("-3"), "3 parts of 5+5+2 MiB, ETag {e_tag}");
    assert_eq!(
        head.metadata().and_then(|m| m.get("sha256")).map(String::as_str),
        Some(stored.sha256.as_str()),
        "the hash is stored as x-amz-meta-sha256"
    );
    assert_eq!(head.content_type(), Some("video/mp4"));
    let listed = store.list("products/42/").await.expect("list");
    assert_eq!(listed, vec![stored], "list reads size, type and hash back");
    store.delete(key).await.expect("free moto's memory");
}

#[tokio::test]
async fn a_single_put_stores_its_sha256_as_metadata_under_the_key_prefix() {
    let Some(endpoint) = require_service(ENDPOINT_VAR) else { return };
    // Arrange
    let (store, client) = fresh_store(&endpoint, |c| c.key_prefix = Some("shop-a/".into())).await;

    // Act
    let stored =
        store.put(upload("products/1/a.png", "image/png", b"png".to_vec())).await.expect("put");

    // Assert
    let head = client
        .head_object()
        .bucket(&store.config().bucket)
        .key("shop-a/products/1/a.png")
        .send()
        .await
        .expect("the object lives under the prefix");
    assert_eq!(
        head.metadata().and_then(|m| m.get("sha256")).map(String::as_str),
        Some(sha256_hex(b"png").as_str())
    );
    assert_eq!(head.content_type(), Some("image/png"));
    assert_eq!(stored.key, "products/1/a.png", "the port never sees the prefix");
}

#[tokio::test]
async fn list_by_product_prefix_pages_through_every_object() {
    let Some(endpoint) = require_service(ENDPOINT_VAR) else { return };
    // Arrange: two keys per page, seven objects of product 7 and some of its neighbours.
    let (store, _) = fresh_store(&endpoint, |c| c.list_page_size = 2).await;
    let names = ["g.jpg", "a.jpg", "f.mp4", "c.jpg", "b.jpg", "e.jpg", "d/x.jpg"];
    for name in names {
        let key = format!("products/7/{name}");
        store.put(upload(&key, "image/jpeg", key.clone().into_bytes())).await.expect("put");
    }
    for other in ["products/70/a.jpg", "products/6/z.jpg"] {
        store.put(upload(other, "image/jpeg", b"x".to_vec())).await.expect("put a neighbour");
    }

    // Act
    let listed = store.list("products/7/").await.expect("list");

    // Assert
    let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    let mut expected: Vec<String> = names.iter().map(|n| format!("products/7/{n}")).collect();
    expected.sort();
    assert_eq!(keys, expected, "every page, in key order, nothing of other products");
    for object in &listed {
        assert_eq!(object.sha256, sha256_hex(object.key.as_bytes()), "{}", object.key);
        assert_eq!(object.size, object.key.len() as u64);
    }
}

#[tokio::test]
async fn a_presigned_get_url_fetched_over_http_returns_the_bytes() {
    let Some(endpoint) = require_service(ENDPOINT_VAR) else { return };
    // Arrange
    let (store, _) = fresh_store(&endpoint, |_| ()).await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    store.put(upload("products/3/front.jpg", "image/jpeg", bytes.clone())).await.expect("put");

    // Act
    let url =
        store.presigned_get("products/3/front.jpg", Duration::minutes(5)).await.expect("presign");
    let response = reqwest::get(&url).await.expect("fetch the presigned URL");

    // Assert
    assert!(url.starts_with(&endpoint), "the URL points at the client's endpoint: {url}");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("image/jpeg")
    );
    assert!(response.bytes().await.expect("read the body") == bytes);
}

#[tokio::test]
async fn a_presigned_put_uploads_bytes_that_get_and_list_then_describe() {
    let Some(endpoint) = require_service(ENDPOINT_VAR) else { return };
    // Arrange
    let (store, _) = fresh_store(&endpoint, |_| ()).await;
    let key = "products/4/side.webp";
    let bytes = b"uploaded straight to the bucket".to_vec();
    let url = store.presigned_put(key, "image/webp", Duration::minutes(5)).await.expect("presign");

    // Act: a browser-like upload, with the signed content type and no hash metadata.
    let response = reqwest::Client::new()
        .put(&url)
        .header("content-type", "image/webp")
        .body(bytes.clone())
        .send()
        .await
        .expect("upload through the presigned URL");

    // Assert
    assert!(response.status().is_success(), "upload answered {}", response.status());
    let (meta, got) = store.get(key).await.expect("get the uploaded object");
    assert_eq!(got, bytes);
    assert_eq!(meta.content_type, "image/webp");
    assert_eq!(meta.sha256, sha256_hex(&bytes));
    let listed = store.list("products/4/").await.expect("list");
    assert_eq!(listed, vec![meta], "list hashes an object that has no sha256 metadata");
}

#[tokio::test]
async fn images_have_their_own_limit_below_the_video_limit() {
    let Some(endpoint) = require_service(ENDPOINT_VAR) else { return };
    // Arrange
    let (store, _) = fresh_store(&endpoint, suite_limits).await;
    let body = vec![7u8; usize::try_from(SUITE_MAX_BYTES).unwrap() + 1];

    // Act
    let image = store.put(upload("products/5/big.jpg", "image/jpeg", body.clone())).await;
    let video = store.put(upload("products/5/big.mp4", "video/mp4", body)).await;

    // Assert
    assert!(
        matches!(image, Err(MediaError::TooLarge { max: SUITE_MAX_BYTES, .. })),
        "an image over max_bytes is TooLarge, got {image:?}"
    );
    assert_eq!(video.expect("a video of that size is stored").size, SUITE_MAX_BYTES + 1);
}

#[tokio::test]
async fn get_refuses_an_object_above_the_limit_put_there_by_someone_else() {
    let Some(endpoint) = require_service(ENDPOINT_VAR) else { return };
    // Arrange: 70 KiB written straight to the bucket, past the store's 64 KiB image limit.
    let (store, client) = fresh_store(&endpoint, suite_limits).await;
    client
        .put_object()
        .bucket(&store.config().bucket)
        .key("products/8/huge.jpg")
        .content_type("image/jpeg")
        .body(vec![0u8; 70 * 1024].into())
        .send()
        .await
        .expect("write out of band");

    // Act
    let result = store.get("products/8/huge.jpg").await;

    // Assert
    assert!(
        matches!(result, Err(MediaError::TooLarge { size: 71_680, max: SUITE_MAX_BYTES })),
        "got {result:?}"
    );
}

#[tokio::test]
async fn create_bucket_is_idempotent() {
    let Some(endpoint) = require_service(ENDPOINT_VAR) else { return };
    // Arrange
    let client = moto_client(&endpoint).await;
    let bucket = fresh_bucket(&client).await;

    // Act
    let again = create_bucket(&client, &bucket).await;
    let bad_name = create_bucket(&client, "Not_A_Bucket").await;

    // Assert
    assert!(again.is_ok(), "creating an existing bucket of ours is fine, got {again:?}");
    assert!(matches!(bad_name, Err(MediaError::Invalid { .. })), "got {bad_name:?}");
}

#[tokio::test]
async fn the_store_is_ready_when_its_bucket_answers() {
    let Some(endpoint) = require_service(ENDPOINT_VAR) else { return };
    // Arrange
    let (store, client) = fresh_store(&endpoint, |_| ()).await;
    let missing = S3MediaStore::new(client, S3Config::new("shopkit-s3-no-such-bucket"))
        .expect("a valid config");

    // Act
    let ready = store.check().await;
    let not_ready = missing.check().await;

    // Assert
    assert_eq!(store.name(), "s3");
    assert!(ready.is_ok(), "got {ready:?}");
    let err = not_ready.expect_err("a missing bucket is not ready");
    assert!(err.to_string().contains("does not exist"), "the reason says what to do: {err}");
}

#[tokio::test]
async fn a_missing_bucket_is_unavailable_not_a_missing_key() {
    let Some(endpoint) = require_service(ENDPOINT_VAR) else { return };
    // Arrange
    let client = moto_client(&endpoint).await;
    let store = S3MediaStore::new(client, S3Config::new("shopkit-s3-no-such-bucket"))
        .expect("a valid config");

    // Act
    let result = store.get("products/1/a.jpg").await;

    // Assert
    assert!(
        matches!(&result, Err(MediaError::Unavailable { message }) if message.contains("create it")),
        "got {result:?}"
    );
}

//! [`S3MediaStore`]: the `MediaStore` port on an S3 bucket.

use std::fmt;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumMode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use chrono::Duration;
use futures::{StreamExt as _, TryStreamExt as _};
use sha2::{Digest, Sha256};
use shopkit_core::ports::{
    MediaContentType, MediaError, MediaKey, MediaObject, MediaStore, MediaUpload,
};

use crate::config::{S3Config, S3ConfigError};
use crate::error::{Failure, classify, media_error};
use crate::key::{SHA256_METADATA, is_video, url_path};
use crate::multipart;

/// The longest validity S3 (SigV4) allows a presigned URL: 7 days.
pub const MAX_PRESIGNED_VALIDITY: Duration = Duration::days(7);

/// What S3 reports for an object stored without a content type.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// How many `HeadObject` calls `list` keeps in flight.
const HEAD_CONCURRENCY: usize = 8;

/// The [`MediaStore`] port on an S3 bucket (S3 behind CloudFront in the AWS profile).
///
/// - Keys: the port's rule (1 to 512 of `a-z A-Z 0-9 / - _ .`, no `..`), else `Invalid`,
///   exactly like the memory store; stored as `{key_prefix}{key}`.
/// - Content types: `type/subtype` with RFC 6838 names, optional `; parameters`, at most
///   255 characters, else `Invalid`; stored as the object's `Content-Type`.
/// - Sizes: `video/*` bodies up to `max_video_bytes`, others up to `max_bytes`, else
///   `TooLarge`, checked before any request.
/// - Integrity: the hex SHA-256 is stored as `x-amz-meta-sha256`, and sent as S3's
///   `ChecksumSHA256` (single puts) or per part (multipart), so S3 refuses a body damaged
///   on the way.
/// - Bodies above `multipart_threshold` go up in `part_size` parts, four at a time; a
///   failed part or completion aborts the upload. An upload whose future is dropped midway
///   is not aborted: give the bucket an `AbortIncompleteMultipartUpload` lifecycle rule.
/// - `get` computes the SHA-256 of the bytes it returns; `list` reads it from the metadata,
///   else from S3's full-object `ChecksumSHA256`, else (objects uploaded through a
///   presigned URL) by streaming the object once. A listing costs one `ListObjectsV2` per
///   `list_page_size` keys plus one `HeadObject` per object (eight in flight).
/// - Presigned URLs: SigV4 query-signed by the client's credentials, 1 s to 7 days (S3's
///   limit), else `Invalid`; sub-second parts are cut, so a URL never lives longer than
///   asked. A presigned upload must send the `Content-Type` it was signed for.
/// - [`public_url`](MediaStore::public_url): `{cdn_base_url}/{key_prefix}{key}`, each path
///   segment percent-encoded, only when a CDN is configured.
///
/// Timeouts and retries are the client's (`aws_sdk_s3::config::Builder::timeout_config`,
/// `retry_config`): give it an operation timeout so a stuck S3 call cannot hold a request.
pub struct S3MediaStore {
    client: Client,
    config: S3Config,
    cdn_base_url: Option<String>,
}

impl fmt::Debug for S3MediaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client holds the credentials provider: not shown.
        f.debug_struct("S3MediaStore").field("config", &self.config).finish_non_exhaustive()
    }
}

impl S3MediaStore {
    /// A store on `config.bucket` through `client`. The bucket must exist
    /// ([`create_bucket`](crate::create_bucket) makes it); nothing is sent to S3 here.
    ///
    /// For emulators and S3-compatible stores, build the client with `force_path_style(true)`.
    ///
    /// # Errors
    /// [`S3ConfigError`] when a setting is out of range (see its variants).
    pub fn new(client: Client, config: S3Config) -> Result<Self, S3ConfigError> {
        config.check()?;
        let cdn_base_url =
            config.cdn_base_url.as_deref().map(|url| url.trim_end_matches('/').to_owned());
        Ok(S3MediaStore { client, config, cdn_base_url })
    }

    /// The configuration in force.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    fn bucket(&self) -> &str {
        &self.config.bucket
    }

    /// Where `key` lives in the bucket.
    fn object_key(&self, key: &str) -> String {
        format!("{}{key}", self.config.prefix())
    }

    /// The size limit of bodies of `content_type`.
    fn limit_for(&self, content_type: &str) -> u64 {
        if is_video(content_type) { self.config.max_video_bytes } else { self.config.max_bytes }
    }

    /// A presigning configuration for `expires_in`: 1 s to 7 days, sub-second parts cut.
    fn presigning(expires_in: Duration) -> Result<PresigningConfig, MediaError> {
        let invalid = || MediaError::Invalid {
            reason: format!("a presigned URL is valid for 1 second to 7 days, not {expires_in}"),
        };
        if expires_in > MAX_PRESIGNED_VALIDITY {
            return Err(invalid());
        }
        let seconds = u64::try_from(expires_in.num_seconds()).ok().filter(|s| *s >= 1);
        let seconds = seconds.ok_or_else(invalid)?;
        PresigningConfig::expires_in(std::time::Duration::from_secs(seconds)).map_err(|e| {
            MediaError::Invalid { reason: format!("cannot presign for {expires_in}: {e}") }
        })
    }

    /// The metadata of `key` (already without the key prefix), or `None` when it vanished
    /// since it was listed.
    async fn describe(&self, key: String) -> Result<Option<MediaObject>, MediaError> {
        let head = self
            .client
            .head_object()
            .bucket(self.bucket())
            .key(self.object_key(&key))
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await;
        let head = match head {
            Ok(head) => head,
            Err(e) if classify(&e) == Failure::NotFound => return Ok(None),
            Err(e) => return Err(media_error("HeadObject", self.bucket(), &key, e)),
        };
        let sha256 = head
            .metadata()
            .and_then(|m| m.get(SHA256_METADATA))
            .filter(|sha| is_sha256_hex(sha))
            .cloned()
            .or_else(|| head.checksum_sha256().and_then(full_object_sha256_hex));
        let Some(sha256) = sha256 else {
            // Uploaded without our metadata (a presigned upload): hash it once, from one
            // response, so size, type and hash describe the same version.
            return self.describe_by_reading(key).await;
        };
        Ok(Some(MediaObject {
            content_type: head.content_type().unwrap_or(DEFAULT_CONTENT_TYPE).to_owned(),
            size: head.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            sha256,
            key,
        }))
    }

    /// The metadata of `key` from streaming its body through SHA-256.
    async fn describe_by_reading(&self, key: String) -> Result<Option<MediaObject>, MediaError> {
        let object = self.client.get_object().bucket(self.bucket()).key(self.object_key(&key));
        let mut out = match object.send().await {
            Ok(out) => out,
            Err(e) if classify(&e) == Failure::NotFound => return Ok(None),
            Err(e) => return Err(media_error("GetObject", self.bucket(), &key, e)),
        };
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = out.body.try_next().await.map_err(|e| self.body_error(&key, &e))? {
            size += u64::try_from(chunk.len()).unwrap_or(u64::MAX);
            hasher.update(&chunk);
        }
        Ok(Some(MediaObject {
            content_type: out.content_type().unwrap_or(DEFAULT_CONTENT_TYPE).to_owned(),
            size,
            sha256: hex::encode(hasher.finalize()),
            key,
        }))
    }

    fn body_error(&self, key: &str, e: &dyn std::error::Error) -> MediaError {
        MediaError::Unavailable {
            message: format!("reading {}/{key} from S3 broke off; retry later: {e}", self.bucket()),
        }
    }
}

/// Whether `sha` is 64 lowercase hex digits.
fn is_sha256_hex(sha: &str) -> bool {
    sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The hex form of S3's base64 `ChecksumSHA256` when it covers the whole object (a
/// composite multipart checksum ends in `-<parts>` and is not the body's hash).
fn full_object_sha256_hex(checksum: &str) -> Option<String> {
    if checksum.contains('-') {
        return None;
    }
    let digest = BASE64.decode(checksum).ok().filter(|d| d.len() == 32)?;
    Some(hex::encode(digest))
}

#[async_trait]
impl MediaStore for S3MediaStore {
    async fn put(&self, upload: MediaUpload) -> Result<MediaObject, MediaError> {
        MediaKey::new(&upload.key)?;
        MediaContentType::new(&upload.content_type)?;
        let size = u64::try_from(upload.bytes.len()).unwrap_or(u64::MAX);
        let max = self.limit_for(&upload.content_type);
        if size > max {
            return Err(MediaError::TooLarge { size, max });
        }
        let digest = Sha256::digest(&upload.bytes);
        let meta = MediaObject {
            key: upload.key,
            content_type: upload.content_type,
            size,
            sha256: hex::encode(digest),
        };
        let object_key = self.object_key(&meta.key);
        let body = Bytes::from(upload.bytes);
        if size > self.config.multipart_threshold {
            let target = multipart::Target {
                client: &self.client,
                bucket: self.bucket(),
                object_key: &object_key,
                key: &meta.key,
            };
            target.upload(&meta, body, self.config.part_size).await?;
        } else {
            self.client
                .put_object()
                .bucket(self.bucket())
                .key(&object_key)
                .content_type(&meta.content_type)
                .content_length(i64::try_from(size).unwrap_or(i64::MAX))
                .metadata(SHA256_METADATA, &meta.sha256)
                .checksum_sha256(BASE64.encode(digest))
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| media_error("PutObject", self.bucket(), &meta.key, e))?;
        }
        Ok(meta)
    }

    async fn get(&self, key: &str) -> Result<(MediaObject, Vec<u8>), MediaError> {
        MediaKey::new(key)?;
        let out = self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(self.object_key(key))
            .send()
            .await
            .map_err(|e| media_error("GetObject", self.bucket(), key, e))?;
        let content_type = out.content_type().unwrap_or(DEFAULT_CONTENT_TYPE).to_owned();
        // An object uploaded out of band (a presigned upload) may exceed the limits: refuse
        // to buffer it rather than exhaust memory.
        let max = self.limit_for(&content_type);
        let announced = out.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        if announced > max {
            return Err(MediaError::TooLarge { size: announced, max });
        }
        let bytes = out.body.collect().await.map_err(|e| self.body_error(key, &e))?.to_vec();
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if size > max {
            return Err(MediaError::TooLarge { size, max });
        }
        let meta = MediaObject {
            key: key.to_owned(),
            content_type,
            size,
            sha256: hex::encode(Sha256::digest(&bytes)),
        };
        Ok((meta, bytes))
    }

    async fn delete(&self, key: &str) -> Result<(), MediaError> {
        MediaKey::new(key)?;
        let deleted = self
            .client
            .delete_object()
            .bucket(self.bucket())
            .key(self.object_key(key))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // S3 answers 204 for a missing key; some compatible stores say NoSuchKey.
            Err(e) if classify(&e) == Failure::NotFound => Ok(()),
            Err(e) => Err(media_error("DeleteObject", self.bucket(), key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<MediaObject>, MediaError> {
        let key_prefix = self.config.prefix();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(self.bucket())
            .prefix(format!("{key_prefix}{prefix}"))
            .into_paginator()
            .page_size(i32::from(self.config.list_page_size))
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| media_error("ListObjectsV2", self.bucket(), prefix, e))?;
            for object in page.contents() {
                let Some(key) = object.key().and_then(|k| k.strip_prefix(key_prefix)) else {
                    continue;
                };
                if MediaKey::is_valid(key) {
                    keys.push(key.to_owned());
                } else {
                    // Put there by something else: the port could not address it anyway.
                    tracing::debug!(
                        bucket = self.bucket(),
                        key,
                        "skipping a key outside the port's shape"
                    );
                }
            }
        }
        // `buffered` keeps S3's order, which is by key (UTF-8 binary order).
        let described: Vec<Option<MediaObject>> = futures::stream::iter(keys)
            .map(|key| self.describe(key))
            .buffered(HEAD_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(described.into_iter().flatten().collect())
    }

    async fn presigned_get(&self, key: &str, expires_in: Duration) -> Result<String, MediaError> {
        MediaKey::new(key)?;
        let presigning = Self::presigning(expires_in)?;
        let request = self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(self.object_key(key))
            .presigned(presigning)
            .await
            .map_err(|e| media_error("GetObject (presign)", self.bucket(), key, e))?;
        Ok(request.uri().to_owned())
    }

    async fn presigned_put(
        &self,
        key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<String, MediaError> {
        MediaKey::new(key)?;
        MediaContentType::new(content_type)?;
        let presigning = Self::presigning(expires_in)?;
        let request = self
            .client
            .put_object()
            .bucket(self.bucket())
            .key(self.object_key(key))
            .content_type(content_type)
            .presigned(presigning)
            .await
            .map_err(|e| media_error("PutObject (presign)", self.bucket(), key, e))?;
        Ok(request.uri().to_owned())
    }

    fn public_url(&self, key: &str) -> Option<String> {
        let base = self.cdn_base_url.as_ref()?;
        if !MediaKey::is_valid(key) {
            return None;
        }
        Some(format!("{base}/{}", url_path(&self.object_key(key))))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

    use super::*;

    /// A client that never sends anything in these tests: presigning and URLs are local.
    fn offline_client() -> Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
            .build();
        Client::from_conf(config)
    }

    fn store(change: impl FnOnce(&mut S3Config)) -> S3MediaStore {
        let mut config = S3Config::new("shop-media");
        change(&mut config);
        S3MediaStore::new(offline_client(), config).unwrap()
    }

    #[test]
    fn public_urls_exist_only_behind_a_cdn() {
        let plain = store(|_| ());
        let cdn = store(|c| c.cdn_base_url = Some("https://cdn.example.com/m/".into()));

        assert_eq!(plain.public_url("products/1/a.jpg"), None);
        assert_eq!(
            cdn.public_url("products/1/a.jpg").as_deref(),
            Some("https://cdn.example.com/m/products/1/a.jpg")
        );
        assert_eq!(cdn.public_url("../etc/passwd"), None);
        assert_eq!(cdn.public_url("a b.jpg"), None);
    }

    #[test]
    fn public_urls_carry_the_key_prefix() {
        let cdn = store(|c| {
            c.cdn_base_url = Some("https://d111111abcdef8.cloudfront.net".into());
            c.key_prefix = Some("shop-a/media/".into());
        });

        assert_eq!(
            cdn.public_url("products/7/front.jpg").as_deref(),
            Some("https://d111111abcdef8.cloudfront.net/shop-a/media/products/7/front.jpg")
        );
    }

    #[tokio::test]
    async fn presigned_urls_are_valid_for_one_second_to_seven_days() {
        let media = store(|_| ());

        let zero = media.presigned_get("a.jpg", Duration::zero()).await;
        let sub_second = media.presigned_get("a.jpg", Duration::milliseconds(999)).await;
        let too_long = media.presigned_get("a.jpg", Duration::days(7) + Duration::seconds(1)).await;
        let put_too_long = media.presigned_put("a.jpg", "image/jpeg", Duration::days(8)).await;
        let week = media.presigned_get("a.jpg", Duration::days(7)).await;

        assert!(matches!(zero, Err(MediaError::Invalid { .. })), "{zero:?}");
        assert!(matches!(sub_second, Err(MediaError::Invalid { .. })), "{sub_second:?}");
        assert!(matches!(too_long, Err(MediaError::Invalid { .. })), "{too_long:?}");
        assert!(matches!(put_too_long, Err(MediaError::Invalid { .. })), "{put_too_long:?}");
        assert!(week.unwrap().contains("X-Amz-Expires=604800"));
    }

    #[tokio::test]
    async fn a_presigned_get_names_the_prefixed_key_and_its_expiry() {
        let media = store(|c| c.key_prefix = Some("shop-a/".into()));

        let url = media.presigned_get("products/1/a.jpg", Duration::minutes(15)).await.unwrap();

        assert!(url.contains("shop-a/products/1/a.jpg?"), "{url}");
        assert!(url.contains("X-Amz-Expires=900"), "{url}");
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(!url.contains("secret"), "the secret key never shows: {url}");
    }

    #[tokio::test]
    async fn a_presigned_put_signs_its_content_type_and_no_checksum_of_an_empty_body() {
        let media = store(|_| ());

        let url = media.presigned_put("v/clip.mp4", "video/mp4", Duration::hours(1)).await.unwrap();

        // The uploader must send the Content-Type it was signed for...
        assert!(url.contains("content-type"), "content-type is a signed header: {url}");
        // ...and nothing pins the body: a checksum computed at signing time would be the
        // empty body's and make every real upload fail.
        assert!(!url.to_ascii_lowercase().contains("x-amz-checksum"), "{url}");
        assert!(url.contains("x-id=PutObject"), "{url}");
    }

    #[tokio::test]
    async fn presigning_checks_the_key_and_content_type() {
        let media = store(|_| ());

        let bad_key = media.presigned_get("../x", Duration::minutes(1)).await;
        let bad_type = media.presigned_put("a.jpg", "jpeg", Duration::minutes(1)).await;

        assert!(matches!(bad_key, Err(MediaError::Invalid { .. })));
        assert!(matches!(bad_type, Err(MediaError::Invalid { .. })));
    }

    #[test]
    fn an_s3_full_object_checksum_becomes_hex_but_a_composite_one_does_not() {
        // SHA-256 of "abc".
        let b64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";

        assert_eq!(
            full_object_sha256_hex(b64).as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(full_object_sha256_hex(&format!("{b64}-3")), None);
        assert_eq!(full_object_sha256_hex("not base64"), None);
    }

    #[test]
    fn the_debug_output_shows_the_config_but_not_the_client() {
        let media = store(|_| ());

        let debug = format!("{media:?}");

        assert!(debug.contains("shop-media"));
        assert!(!debug.contains("secret"));
    }
}

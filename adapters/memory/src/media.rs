//! Media bytes in memory, with presigned URLs whose expiry can be checked.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use hmac::Mac as _;
use sha2::{Digest, Sha256};
use shopkit_core::ports::{
    Clock, MediaContentType, MediaError, MediaKey, MediaObject, MediaStore, MediaUpload,
};

use crate::ids::{HmacSha256, hmac_sha256, os_random};

/// The default size limit: 50 MiB.
pub const DEFAULT_MAX_MEDIA_BYTES: u64 = 50 * 1024 * 1024;

/// The longest validity a presigned URL may have: 7 days, as for S3 (SigV4).
pub const MAX_PRESIGNED_VALIDITY: Duration = Duration::days(7);

/// Where presigned URLs of a [`MemoryMediaStore`] point unless configured otherwise.
pub const DEFAULT_PRESIGN_BASE_URL: &str = "memory://media";

/// The HTTP method a presigned URL allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PresignedMethod {
    /// Read the object.
    Get,
    /// Upload the object.
    Put,
}

impl PresignedMethod {
    fn as_str(self) -> &'static str {
        match self {
            PresignedMethod::Get => "GET",
            PresignedMethod::Put => "PUT",
        }
    }
}

/// What a verified presigned URL allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedRequest {
    /// Read or upload.
    pub method: PresignedMethod,
    /// The object key.
    pub key: String,
    /// For an upload, the content type the upload must declare.
    pub content_type: Option<String>,
    /// The instant from which the URL no longer works.
    pub expires_at: DateTime<Utc>,
}

/// Why a presigned URL was refused by [`MemoryMediaStore::verify_presigned`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresignedError {
    /// Not a URL this store hands out (wrong base, missing or garbled parameters).
    #[error("not a presigned URL of this media store: ask for a new one")]
    Malformed,
    /// The signature does not match: the URL was altered or signed by another store.
    #[error("the presigned URL's signature does not match: ask for a new URL")]
    BadSignature,
    /// The URL's validity has passed.
    #[error("the presigned URL expired at {expired_at}: ask for a new one")]
    Expired {
        /// When it stopped working.
        expired_at: DateTime<Utc>,
    },
}

/// An in-memory [`MediaStore`], strict like S3 behind a CDN.
///
/// - Keys: the port's [`MediaKey`] rule (1 to 512 of `a-z A-Z 0-9 / - _ .`, no `..`), else
///   `Invalid` (for every method).
/// - Content types: the port's [`MediaContentType`] rule (`type/subtype` with RFC 6838
///   names, optionally `; parameters`, at most 255 characters), else `Invalid`.
/// - Bodies above the limit ([`DEFAULT_MAX_MEDIA_BYTES`] unless
///   [`with_max_bytes`](Self::with_max_bytes)) are `TooLarge`.
/// - Presigned URLs carry the method, key, content type (uploads), expiry (Unix
///   milliseconds) and an HMAC-SHA-256 signature under the store's secret;
///   [`verify_presigned`](Self::verify_presigned) checks them. Validity is 1 ms to 7 days.
///   Like S3, signing does not check that the object exists.
/// - [`public_url`](MediaStore::public_url) is `Some` only with a CDN base URL
///   ([`with_cdn_base_url`](Self::with_cdn_base_url)).
/// - [`set_down`](Self::set_down) makes every call `Unavailable`.
pub struct MemoryMediaStore {
    clock: Arc<dyn Clock>,
    max_bytes: u64,
    cdn_base_url: Option<String>,
    presign_base_url: String,
    secret: Vec<u8>,
    objects: Mutex<BTreeMap<String, StoredObject>>,
    down: AtomicBool,
}

struct StoredObject {
    meta: MediaObject,
    bytes: Vec<u8>,
}

impl fmt::Debug for MemoryMediaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryMediaStore")
            .field("max_bytes", &self.max_bytes)
            .field("cdn_base_url", &self.cdn_base_url)
            .field("presign_base_url", &self.presign_base_url)
            .field("secret", &"<redacted>")
            .field("objects", &self.lock().len())
            .finish_non_exhaustive()
    }
}

impl MemoryMediaStore {
    /// An empty store with the default limit, no CDN, and a random signing secret. Presigned
    /// URLs expire by `clock`.
    ///
    /// # Panics
    /// When the operating system cannot provide randomness for the secret.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MemoryMediaStore {
            clock,
            max_bytes: DEFAULT_MAX_MEDIA_BYTES,
            cdn_base_url: None,
            presign_base_url: DEFAULT_PRESIGN_BASE_URL.to_owned(),
            secret: os_random::<32>().to_vec(),
            objects: Mutex::new(BTreeMap::new()),
            down: AtomicBool::new(false),
        }
    }

    /// Sets the size limit in bytes.
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Serves [`public_url`](MediaStore::public_url)s under `base` (`https://cdn.example.com/media`).
    pub fn with_cdn_base_url(mut self, base: impl Into<String>) -> Self {
        self.cdn_base_url = Some(base.into().trim_end_matches('/').to_owned());
        self
    }

    /// Points presigned URLs at `base` (where the embedded shop serves them).
    pub fn with_presign_base_url(mut self, base: impl Into<String>) -> Self {
        self.presign_base_url = base.into().trim_end_matches('/').to_owned();
        self
    }

    /// Signs presigned URLs with `secret` instead of a random one, so URLs survive a
    /// restart or are shared by several stores.
    pub fn with_signing_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret = secret.as_ref().to_vec();
        self
    }

    /// Takes the store down (`true`): every call is `Unavailable` until `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Checks a URL from [`presigned_get`](MediaStore::presigned_get) or
    /// [`presigned_put`](MediaStore::presigned_put) at `now`: it must be this store's, with an
    /// intact signature, and `now` must be before its expiry.
    ///
    /// # Errors
    /// [`PresignedError::Malformed`] for anything this store did not hand out,
    /// [`PresignedError::BadSignature`] for an altered URL, [`PresignedError::Expired`] once
    /// `now` reaches the expiry.
    pub fn verify_presigned(
        &self,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<PresignedRequest, PresignedError> {
        let rest = url
            .strip_prefix(self.presign_base_url.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .ok_or(PresignedError::Malformed)?;
        let (key, query) = rest.split_once('?').ok_or(PresignedError::Malformed)?;
        if !MediaKey::is_valid(key) {
            return Err(PresignedError::Malformed);
        }
        let mut method = None;
        let mut expires = None;
        let mut content_type = None;
        let mut signature = None;
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').ok_or(PresignedError::Malformed)?;
            let value = percent_decode(value).ok_or(PresignedError::Malformed)?;
            let slot = match name {
                "method" => &mut method,
                "expires" => &mut expires,
                "content_type" => &mut content_type,
                "signature" => &mut signature,
                _ => return Err(PresignedError::Malformed),
            };
            if slot.replace(value).is_some() {
                return Err(PresignedError::Malformed);
            }
        }
        let method = match method.as_deref() {
            Some("GET") if content_type.is_none() => PresignedMethod::Get,
            Some("PUT") if content_type.is_some() => PresignedMethod::Put,
            _ => return Err(PresignedError::Malformed),
        };
        let expires_ms: i64 = expires
            .ok_or(PresignedError::Malformed)?
            .parse()
            .map_err(|_| PresignedError::Malformed)?;
        let signature = signature.ok_or(PresignedError::Malformed)?;
        let signature = hex::decode(signature).map_err(|_| PresignedError::Malformed)?;
        self.mac(method, key, expires_ms, content_type.as_deref())
            .verify_slice(&signature)
            .map_err(|_| PresignedError::BadSignature)?;
        let expires_at =
            DateTime::from_timestamp_millis(expires_ms).ok_or(PresignedError::Malformed)?;
        if now >= expires_at {
            return Err(PresignedError::Expired { expired_at: expires_at });
        }
        Ok(PresignedRequest { method, key: key.to_owned(), content_type, expires_at })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, StoredObject>> {
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_up(&self) -> Result<(), MediaError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(MediaError::Unavailable {
                message: "the media store is down (set_down(true))".into(),
            });
        }
        Ok(())
    }

    /// The HMAC of a presigned URL's fields under the store's secret: `finalize` it to sign,
    /// `verify_slice` a signature against it.
    fn mac(
        &self,
        method: PresignedMethod,
        key: &str,
        expires_ms: i64,
        content_type: Option<&str>,
    ) -> HmacSha256 {
        let message =
            format!("{}\n{key}\n{expires_ms}\n{}", method.as_str(), content_type.unwrap_or(""));
        hmac_sha256(&self.secret).chain_update(message.as_bytes())
    }

    fn presign(
        &self,
        method: PresignedMethod,
        key: &str,
        content_type: Option<&str>,
        expires_in: Duration,
    ) -> Result<String, MediaError> {
        self.check_up()?;
        MediaKey::new(key)?;
        if expires_in <= Duration::zero() || expires_in > MAX_PRESIGNED_VALIDITY {
            return Err(MediaError::Invalid {
                reason: format!("a presigned URL is valid for 1 ms to 7 days, not {expires_in}"),
            });
        }
        let expires_at = self.clock.now().checked_add_signed(expires_in).ok_or_else(|| {
            MediaError::Invalid { reason: "the expiry is out of the clock's range".into() }
        })?;
        // Rounded down to the millisecond: the URL never lives longer than asked.
        let expires_ms = expires_at.timestamp_millis();
        let signature =
            hex::encode(self.mac(method, key, expires_ms, content_type).finalize().into_bytes());
        let content_type = content_type
            .map(|ct| format!("&content_type={}", percent_encode(ct)))
            .unwrap_or_default();
        Ok(format!(
            "{}/{key}?method={}&expires={expires_ms}{content_type}&signature={signature}",
            self.presign_base_url,
            method.as_str()
        ))
    }
}

fn percent_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[async_trait]
impl MediaStore for MemoryMediaStore {
    async fn put(&self, upload: MediaUpload) -> Result<MediaObject, MediaError> {
        self.check_up()?;
        MediaKey::new(&upload.key)?;
        MediaContentType::new(&upload.content_type)?;
        let size = u64::try_from(upload.bytes.len()).unwrap_or(u64::MAX);
        if size > self.max_bytes {
            return Err(MediaError::TooLarge { size, max: self.max_bytes });
        }
        let meta = MediaObject {
            key: upload.key.clone(),
            content_type: upload.content_type,
            size,
            sha256: hex::encode(Sha256::digest(&upload.bytes)),
        };
        self.lock().insert(upload.key, StoredObject { meta: meta.clone(), bytes: upload.bytes });
        Ok(meta)
    }

    async fn get(&self, key: &str) -> Result<(MediaObject, Vec<u8>), MediaError> {
        self.check_up()?;
        MediaKey::new(key)?;
        self.lock()
            .get(key)
            .map(|o| (o.meta.clone(), o.bytes.clone()))
            .ok_or_else(|| MediaError::NotFound { key: key.to_owned() })
    }

    async fn delete(&self, key: &str) -> Result<(), MediaError> {
        self.check_up()?;
        MediaKey::new(key)?;
        self.lock().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<MediaObject>, MediaError> {
        self.check_up()?;
        Ok(self
            .lock()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, o)| o.meta.clone())
            .collect())
    }

    async fn presigned_get(&self, key: &str, expires_in: Duration) -> Result<String, MediaError> {
        self.presign(PresignedMethod::Get, key, None, expires_in)
    }

    async fn presigned_put(
        &self,
        key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<String, MediaError> {
        MediaContentType::new(content_type)?;
        self.presign(PresignedMethod::Put, key, Some(content_type), expires_in)
    }

    fn public_url(&self, key: &str) -> Option<String> {
        let base = self.cdn_base_url.as_ref()?;
        if !MediaKey::is_valid(key) {
            return None;
        }
        Some(format!("{base}/{}", key.trim_start_matches('/')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn store() -> (MemoryMediaStore, ManualClock) {
        let clock = ManualClock::default();
        (MemoryMediaStore::new(Arc::new(clock.clone())), clock)
    }

    fn upload(key: &str, bytes: &[u8]) -> MediaUpload {
        MediaUpload { key: key.into(), content_type: "image/jpeg".into(), bytes: bytes.to_vec() }
    }

    #[tokio::test]
    async fn a_stored_object_reads_back_with_its_size_and_sha256() {
        let (media, _) = store();

        let meta = media.put(upload("products/1/front.jpg", b"abc")).await.unwrap();
        let (read, bytes) = media.get("products/1/front.jpg").await.unwrap();

        assert_eq!(meta, read);
        assert_eq!(bytes, b"abc");
        assert_eq!(meta.size, 3);
        assert_eq!(meta.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[tokio::test]
    async fn a_put_overwrites_an_existing_key() {
        let (media, _) = store();
        media.put(upload("a.jpg", b"old")).await.unwrap();

        media.put(upload("a.jpg", b"newer")).await.unwrap();

        assert_eq!(media.get("a.jpg").await.unwrap().1, b"newer");
    }

    #[tokio::test]
    async fn keys_outside_the_allowed_shape_are_invalid() {
        let (media, _) = store();
        let long = "a".repeat(513);

        for key in
            ["", "products/../secret", "with space.jpg", "ünicode.jpg", "q?x=1", long.as_str()]
        {
            let result = media.put(upload(key, b"x")).await;
            assert!(matches!(result, Err(MediaError::Invalid { .. })), "key {key:?} was accepted");
        }
        assert!(media.put(upload(&"a".repeat(512), b"x")).await.is_ok());
    }

    #[tokio::test]
    async fn content_types_must_look_like_type_slash_subtype() {
        let (media, _) = store();
        let with = |ct: &str| MediaUpload { content_type: ct.into(), ..upload("a.bin", b"x") };

        for bad in ["", "jpeg", "image/", "/jpeg", "image/jp eg", "image/jpeg/x"] {
            assert!(
                matches!(media.put(with(bad)).await, Err(MediaError::Invalid { .. })),
                "{bad:?} was accepted"
            );
        }
        for good in ["image/svg+xml", "video/mp4", "text/plain; charset=utf-8"] {
            assert!(media.put(with(good)).await.is_ok(), "{good:?} was refused");
        }
    }

    #[tokio::test]
    async fn bodies_above_the_limit_are_too_large() {
        let clock = ManualClock::default();
        let media = MemoryMediaStore::new(Arc::new(clock)).with_max_bytes(4);

        let at_limit = media.put(upload("a.jpg", b"1234")).await;
        let above = media.put(upload("b.jpg", b"12345")).await;

        assert!(at_limit.is_ok());
        assert!(matches!(above, Err(MediaError::TooLarge { size: 5, max: 4 })));
    }

    #[tokio::test]
    async fn the_default_limit_is_50_mib() {
        let (media, _) = store();

        let result = media.put(upload("big.mp4", &vec![0; 50 * 1024 * 1024 + 1])).await;

        assert!(matches!(result, Err(MediaError::TooLarge { max: DEFAULT_MAX_MEDIA_BYTES, .. })));
    }

    #[tokio::test]
    async fn a_missing_key_is_not_found_and_deleting_it_is_fine() {
        let (media, _) = store();

        let get = media.get("nothing.jpg").await;
        let delete = media.delete("nothing.jpg").await;

        assert!(matches!(get, Err(MediaError::NotFound { .. })));
        assert!(delete.is_ok());
    }

    #[tokio::test]
    async fn a_deleted_object_is_gone() {
        let (media, _) = store();
        media.put(upload("a.jpg", b"x")).await.unwrap();

        media.delete("a.jpg").await.unwrap();

        assert!(matches!(media.get("a.jpg").await, Err(MediaError::NotFound { .. })));
    }

    #[tokio::test]
    async fn listing_returns_the_objects_under_a_prefix_by_key() {
        let (media, _) = store();
        for key in ["products/2/b.jpg", "products/1/b.jpg", "products/1/a.jpg", "products/10/a.jpg"]
        {
            media.put(upload(key, b"x")).await.unwrap();
        }

        let listed: Vec<String> =
            media.list("products/1/").await.unwrap().into_iter().map(|o| o.key).collect();

        assert_eq!(listed, ["products/1/a.jpg", "products/1/b.jpg"]);
        assert_eq!(media.list("").await.unwrap().len(), 4);
    }

    #[tokio::test]
    async fn a_presigned_get_works_until_it_expires() {
        let (media, clock) = store();
        let url = media.presigned_get("products/1/a.jpg", Duration::minutes(15)).await.unwrap();

        let fresh = media.verify_presigned(&url, clock.now());
        let almost = media.verify_presigned(
            &url,
            clock.now() + Duration::minutes(15) - Duration::milliseconds(1),
        );
        let expired = media.verify_presigned(&url, clock.now() + Duration::minutes(15));

        let request = fresh.unwrap();
        assert_eq!(request.method, PresignedMethod::Get);
        assert_eq!(request.key, "products/1/a.jpg");
        assert!(almost.is_ok());
        assert!(matches!(expired, Err(PresignedError::Expired { .. })));
    }

    #[tokio::test]
    async fn a_presigned_put_carries_its_content_type() {
        let (media, clock) = store();

        let url =
            media.presigned_put("v/clip.mp4", "image/svg+xml", Duration::hours(1)).await.unwrap();

        let request = media.verify_presigned(&url, clock.now()).unwrap();
        assert_eq!(request.method, PresignedMethod::Put);
        assert_eq!(request.content_type.as_deref(), Some("image/svg+xml"));
    }

    #[tokio::test]
    async fn a_tampered_presigned_url_is_refused() {
        let (media, clock) = store();
        let url = media.presigned_get("a.jpg", Duration::minutes(5)).await.unwrap();

        let other_key = url.replace("/a.jpg?", "/b.jpg?");
        let longer = url.replace("expires=", "expires=9");
        let as_put = url.replace("method=GET", "method=PUT") + "&content_type=image%2Fjpeg";

        assert_eq!(
            media.verify_presigned(&other_key, clock.now()),
            Err(PresignedError::BadSignature)
        );
        assert_eq!(media.verify_presigned(&longer, clock.now()), Err(PresignedError::BadSignature));
        assert!(media.verify_presigned(&as_put, clock.now()).is_err());
        assert_eq!(
            media.verify_presigned("https://elsewhere/a.jpg", clock.now()),
            Err(PresignedError::Malformed)
        );
    }

    #[tokio::test]
    async fn a_url_signed_by_another_store_is_refused() {
        let clock = ManualClock::default();
        let ours = MemoryMediaStore::new(Arc::new(clock.clone())).with_signing_secret("ours");
        let theirs = MemoryMediaStore::new(Arc::new(clock.clone())).with_signing_secret("theirs");

        let url = theirs.presigned_get("a.jpg", Duration::minutes(5)).await.unwrap();

        assert_eq!(ours.verify_presigned(&url, clock.now()), Err(PresignedError::BadSignature));
    }

    #[tokio::test]
    async fn presigned_validity_is_limited_to_seven_days() {
        let (media, _) = store();

        let zero = media.presigned_get("a.jpg", Duration::zero()).await;
        let too_long = media.presigned_get("a.jpg", Duration::days(7) + Duration::seconds(1)).await;
        let week = media.presigned_get("a.jpg", Duration::days(7)).await;

        assert!(matches!(zero, Err(MediaError::Invalid { .. })));
        assert!(matches!(too_long, Err(MediaError::Invalid { .. })));
        assert!(week.is_ok());
    }

    #[tokio::test]
    async fn public_urls_exist_only_behind_a_cdn() {
        let (plain, _) = store();
        let cdn = MemoryMediaStore::new(Arc::new(ManualClock::default()))
            .with_cdn_base_url("https://cdn.example.com/m/");

        assert_eq!(plain.public_url("a.jpg"), None);
        assert_eq!(
            cdn.public_url("products/1/a.jpg").as_deref(),
            Some("https://cdn.example.com/m/products/1/a.jpg")
        );
        assert_eq!(cdn.public_url("../etc/passwd"), None);
    }

    #[tokio::test]
    async fn a_down_store_is_unavailable() {
        let (media, _) = store();
        media.set_down(true);

        let result = media.put(upload("a.jpg", b"x")).await;

        assert!(matches!(result, Err(MediaError::Unavailable { .. })));
    }

    #[test]
    fn the_secret_never_shows_in_debug() {
        let media =
            MemoryMediaStore::new(Arc::new(ManualClock::default())).with_signing_secret("hunter2");

        assert!(!format!("{media:?}").contains("hunter2"));
    }

    #[test]
    fn percent_encoding_round_trips() {
        let raw = "text/plain; charset=utf-8+x";

        assert_eq!(percent_decode(&percent_encode(raw)).as_deref(), Some(raw));
        assert_eq!(percent_decode("%4"), None);
    }
}

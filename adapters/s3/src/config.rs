//! [`S3Config`]: the bucket, where keys live in it, how they are served and the limits.

use std::time::Duration;

use crate::key::is_valid_prefix;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// The default size limit of images and other non-video media: 50 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 50 * MIB;

/// The default size limit of videos (`video/*`): 256 MiB. `put` holds the whole body in
/// memory; larger files belong in a presigned upload (`presigned_put`, up to 5 GiB).
pub const DEFAULT_MAX_VIDEO_BYTES: u64 = 256 * MIB;

/// Bodies above this many bytes go up as a multipart upload: 8 MiB.
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 8 * MIB;

/// The default multipart part size: 8 MiB.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;

/// S3's smallest part (all but the last): 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 * MIB;

/// S3's largest part, and its largest single `PutObject`: 5 GiB.
pub const MAX_SINGLE_UPLOAD: u64 = 5 * GIB;

/// S3's largest number of parts in one multipart upload.
pub const MAX_PARTS: u64 = 10_000;

/// The default `ListObjectsV2` page size (S3's maximum): 1000.
pub const DEFAULT_LIST_PAGE_SIZE: u16 = 1000;

/// How long the readiness check waits for `HeadBucket` by default: 1 s.
pub const DEFAULT_READINESS_TIMEOUT: Duration = Duration::from_secs(1);

/// How an [`S3MediaStore`](crate::S3MediaStore) uses its bucket.
///
/// Start from [`S3Config::new`] and change what you need:
///
/// ```
/// use shopkit_s3::S3Config;
///
/// let config = S3Config {
///     key_prefix: Some("shop-a/".into()),
///     cdn_base_url: Some("https://d111111abcdef8.cloudfront.net".into()),
///     ..S3Config::new("shop-media")
/// };
/// # let _ = config;
/// ```
///
/// [`S3MediaStore::new`](crate::S3MediaStore::new) checks it (see [`S3ConfigError`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Config {
    /// The bucket (3 to 63 of `a-z 0-9 . -`, starting and ending with a letter or digit).
    pub bucket: String,
    /// Put in front of every key in the bucket (`shop-a/`), so shops or environments can
    /// share a bucket. Keys the port sees never carry it. Same characters as keys, no `..`.
    pub key_prefix: Option<String>,
    /// The CDN (CloudFront) URL whose origin is the bucket (`https://media.example.com`):
    /// when set, `public_url` is `{cdn_base_url}/{key_prefix}{key}`, and product responses
    /// carry it instead of a presigned URL. `http://` or `https://`, no query or fragment.
    pub cdn_base_url: Option<String>,
    /// The size limit of non-video bodies, in bytes ([`DEFAULT_MAX_BYTES`]).
    pub max_bytes: u64,
    /// The size limit of `video/*` bodies, in bytes ([`DEFAULT_MAX_VIDEO_BYTES`]).
    pub max_video_bytes: u64,
    /// Bodies larger than this go up in parts ([`DEFAULT_MULTIPART_THRESHOLD`]; at most
    /// [`MAX_SINGLE_UPLOAD`]).
    pub multipart_threshold: u64,
    /// The part size of multipart uploads: [`MIN_PART_SIZE`] to [`MAX_SINGLE_UPLOAD`], and
    /// large enough that the biggest allowed body needs at most [`MAX_PARTS`] parts.
    pub part_size: u64,
    /// How many keys `list` asks for per `ListObjectsV2` page: 1 to 1000.
    pub list_page_size: u16,
    /// How long the readiness check (`HeadBucket`) may take.
    pub readiness_timeout: Duration,
}

impl S3Config {
    /// The defaults for `bucket`: no key prefix, no CDN, 50 MiB per image, 256 MiB per
    /// video, multipart above 8 MiB in 8 MiB parts, 1000 keys per listing page, a 1 s
    /// readiness timeout.
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            key_prefix: None,
            cdn_base_url: None,
            max_bytes: DEFAULT_MAX_BYTES,
            max_video_bytes: DEFAULT_MAX_VIDEO_BYTES,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
            list_page_size: DEFAULT_LIST_PAGE_SIZE,
            readiness_timeout: DEFAULT_READINESS_TIMEOUT,
        }
    }

    /// Checks every setting; see [`S3ConfigError`] for the rules.
    pub(crate) fn check(&self) -> Result<(), S3ConfigError> {
        check_bucket_name(&self.bucket)?;
        if let Some(prefix) = &self.key_prefix
            && !is_valid_prefix(prefix)
        {
            return Err(S3ConfigError::InvalidKeyPrefix { prefix: prefix.clone() });
        }
        if let Some(url) = &self.cdn_base_url {
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            let host_ok = url.split_once("://").is_some_and(|(_, rest)| {
                !rest.trim_end_matches('/').is_empty() && !rest.starts_with('/')
            });
            if !scheme_ok
                || !host_ok
                || url.contains(['?', '#'])
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(S3ConfigError::InvalidCdnBaseUrl { url: url.clone() });
            }
        }
        if self.max_bytes == 0 || self.max_video_bytes == 0 {
            return Err(S3ConfigError::InvalidSetting {
                field: "max_bytes / max_video_bytes",
                reason: "a size limit of 0 refuses every upload: set at least 1 byte".into(),
            });
        }
        if !(MIN_PART_SIZE..=MAX_SINGLE_UPLOAD).contains(&self.part_size) {
            return Err(S3ConfigError::InvalidPartSize { part_size: self.part_size });
        }
        if self.multipart_threshold > MAX_SINGLE_UPLOAD {
            return Err(S3ConfigError::InvalidSetting {
                field: "multipart_threshold",
                reason: format!(
                    "{} bytes is above S3's single-upload limit of {MAX_SINGLE_UPLOAD}: lower it",
                    self.multipart_threshold
                ),
            });
        }
        let largest = self.max_bytes.max(self.max_video_bytes);
        if largest > self.multipart_threshold && largest.div_ceil(self.part_size) > MAX_PARTS {
            return Err(S3ConfigError::TooManyParts {
                max_bytes: largest,
                part_size: self.part_size,
            });
        }
        if !(1..=1000).contains(&self.list_page_size) {
            return Err(S3ConfigError::InvalidSetting {
                field: "list_page_size",
                reason: format!("{} is outside 1..=1000", self.list_page_size),
            });
        }
        if self.readiness_timeout.is_zero() {
            return Err(S3ConfigError::InvalidSetting {
                field: "readiness_timeout",
                reason: "a zero timeout fails every check: use about a second".into(),
            });
        }
        Ok(())
    }

    /// The key prefix, `""` when there is none.
    pub(crate) fn prefix(&self) -> &str {
        self.key_prefix.as_deref().unwrap_or("")
    }
}

/// Checks S3's bucket naming rules (the common subset): 3 to 63 of `a-z 0-9 . -`, starting
/// and ending with a letter or digit, no `..`.
pub(crate) fn check_bucket_name(bucket: &str) -> Result<(), S3ConfigError> {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge_ok(bucket.chars().next())
        && edge_ok(bucket.chars().last())
        && !bucket.contains("..");
    if ok { Ok(()) } else { Err(S3ConfigError::InvalidBucket { bucket: bucket.to_owned() }) }
}

/// A setting of [`S3Config`] that S3 or the store cannot work with. Fix the configuration;
/// retrying does not help.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum S3ConfigError {
    /// Not a valid bucket name.
    #[error(
        "bucket {bucket:?} is not a valid S3 bucket name: use 3 to 63 of a-z 0-9 . - starting and ending with a letter or digit"
    )]
    InvalidBucket {
        /// The name given.
        bucket: String,
    },
    /// The key prefix has characters keys may not have.
    #[error("key prefix {prefix:?} must be a-z A-Z 0-9 / - _ . (at most 512) without `..`")]
    InvalidKeyPrefix {
        /// The prefix given.
        prefix: String,
    },
    /// The CDN base URL is not an absolute `http(s)` URL without query or fragment.
    #[error("CDN base URL {url:?} must look like https://media.example.com[/path], without ? or #")]
    InvalidCdnBaseUrl {
        /// The URL given.
        url: String,
    },
    /// The part size is outside S3's 5 MiB to 5 GiB.
    #[error("part size {part_size} must be between 5 MiB (5242880) and 5 GiB")]
    InvalidPartSize {
        /// The size given.
        part_size: u64,
    },
    /// The largest allowed body would need more than 10,000 parts.
    #[error(
        "a {max_bytes} byte body needs more than 10000 parts of {part_size} bytes: raise part_size or lower the limit"
    )]
    TooManyParts {
        /// The largest body the limits allow.
        max_bytes: u64,
        /// The part size.
        part_size: u64,
    },
    /// Another setting is out of range.
    #[error("{field}: {reason}")]
    InvalidSetting {
        /// The setting.
        field: &'static str,
        /// What is wrong and what to do.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(change: impl FnOnce(&mut S3Config)) -> Result<(), S3ConfigError> {
        let mut config = S3Config::new("shop-media");
        change(&mut config);
        config.check()
    }

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(with(|_| ()), Ok(()));
    }

    #[test]
    fn bucket_names_follow_s3s_rules() {
        for bad in ["", "ab", "Shop", "shop_media", "-shop", "shop-", "a..b", &"a".repeat(64)] {
            assert!(
                matches!(
                    with(|c| c.bucket = bad.to_owned()),
                    Err(S3ConfigError::InvalidBucket { .. })
                ),
                "{bad:?} was accepted"
            );
        }
        assert_eq!(with(|c| c.bucket = "media.shop-1".into()), Ok(()));
    }

    #[test]
    fn a_key_prefix_uses_key_characters() {
        assert!(matches!(
            with(|c| c.key_prefix = Some("../other/".into())),
            Err(S3ConfigError::InvalidKeyPrefix { .. })
        ));
        assert_eq!(with(|c| c.key_prefix = Some("shop-a/".into())), Ok(()));
        assert_eq!(with(|c| c.key_prefix = Some(String::new())), Ok(()));
    }

    #[test]
    fn a_cdn_base_url_is_an_absolute_http_url() {
        for bad in [
            "cdn.example.com",
            "ftp://cdn",
            "https://",
            "https:///x",
            "https://cdn?x=1",
            "https://c dn",
        ] {
            assert!(
                matches!(
                    with(|c| c.cdn_base_url = Some(bad.into())),
                    Err(S3ConfigError::InvalidCdnBaseUrl { .. })
                ),
                "{bad:?} was accepted"
            );
        }
        assert_eq!(with(|c| c.cdn_base_url = Some("https://cdn.example.com/m/".into())), Ok(()));
    }

    #[test]
    fn parts_are_between_5_mib_and_5_gib() {
        assert_eq!(
            with(|c| c.part_size = MIN_PART_SIZE - 1),
            Err(S3ConfigError::InvalidPartSize { part_size: MIN_PART_SIZE - 1 })
        );
        assert_eq!(with(|c| c.part_size = MIN_PART_SIZE), Ok(()));
        assert!(with(|c| c.part_size = MAX_SINGLE_UPLOAD + 1).is_err());
    }

    #[test]
    fn the_largest_body_must_fit_in_10000_parts() {
        let result = with(|c| {
            c.part_size = MIN_PART_SIZE;
            c.max_video_bytes = MIN_PART_SIZE * MAX_PARTS + 1;
        });

        assert!(matches!(result, Err(S3ConfigError::TooManyParts { .. })));
    }

    #[test]
    fn other_settings_are_range_checked() {
        assert!(with(|c| c.max_bytes = 0).is_err());
        assert!(with(|c| c.multipart_threshold = MAX_SINGLE_UPLOAD + 1).is_err());
        assert!(with(|c| c.list_page_size = 0).is_err());
        assert!(with(|c| c.list_page_size = 1001).is_err());
        assert!(with(|c| c.readiness_timeout = Duration::ZERO).is_err());
    }
}

//! # shopkit-s3
//!
//! The S3 role of the AWS profile: product images and videos in a bucket, served through a
//! CDN (CloudFront) when one is configured, else through presigned URLs.
//!
//! ```no_run
//! # async fn demo(client: aws_sdk_s3::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use shopkit_core::ports::{MediaStore, Readiness};
//! use shopkit_s3::{S3Config, S3MediaStore, create_bucket};
//!
//! create_bucket(&client, "shop-media").await?; // setup: idempotent
//! let config = S3Config {
//!     cdn_base_url: Some("https://media.example.com".into()),
//!     ..S3Config::new("shop-media")
//! };
//! let store = Arc::new(S3MediaStore::new(client, config)?);
//! let media = store.clone() as Arc<dyn MediaStore>;
//! let readiness = store as Arc<dyn Readiness>;
//! # let _ = (media, readiness);
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//! - [`config`](S3Config): the bucket, an optional key prefix, the CDN base URL, size
//!   limits (images and videos apart), the multipart threshold and part size, checked by
//!   [`S3MediaStore::new`] ([`S3ConfigError`]).
//! - `key`: the key prefix rule, URL-path encoding and video detection (the key and
//!   content-type rules are the port's `MediaKey` and `MediaContentType`, shared with the
//!   memory store).
//! - [`store`](S3MediaStore): the `MediaStore` port (see its docs for the guarantees).
//! - `multipart`: uploads above the threshold; abort on failure.
//! - `bucket`: [`create_bucket`] and the `/readyz` [`Readiness`](shopkit_core::ports::Readiness)
//!   check (`HeadBucket` under a short timeout).
//! - `error`: S3 error codes and HTTP statuses to `MediaError` (the table is there).
//!
//! # The client
//! The store takes a built `aws_sdk_s3::Client`; it never reads the environment. Give the
//! client an operation timeout and the retry policy you want: the store adds neither
//! (except the readiness check's timeout). Against moto, MinIO or another S3-compatible
//! store, set `force_path_style(true)`.
//!
//! # Deployment
//! Give the bucket an `AbortIncompleteMultipartUpload` lifecycle rule (a day is plenty):
//! an upload abandoned midway (the process stopped, the request was cancelled) is not
//! aborted by the store. With CloudFront, keep the bucket private (origin access control)
//! and set `cdn_base_url`; note that an overwritten key keeps its URL, so either version
//! keys (`front-v2.jpg`) or invalidate the CDN path.

mod bucket;
mod config;
mod error;
mod key;
mod multipart;
mod store;

pub use bucket::create_bucket;
pub use config::{
    DEFAULT_LIST_PAGE_SIZE, DEFAULT_MAX_BYTES, DEFAULT_MAX_VIDEO_BYTES,
    DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, DEFAULT_READINESS_TIMEOUT, MAX_PARTS,
    MAX_SINGLE_UPLOAD, MIN_PART_SIZE, S3Config, S3ConfigError,
};
pub use store::{MAX_PRESIGNED_VALIDITY, S3MediaStore};

//! Multipart uploads: create, upload the parts (a few at a time), complete; abort on any
//! failure so no orphaned parts are billed.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use sha2::{Digest, Sha256};
use shopkit_core::ports::{MediaError, MediaObject};

use crate::error::media_error;
use crate::key::SHA256_METADATA;

/// How many parts are in flight at once.
const PART_CONCURRENCY: usize = 4;

/// Where a multipart upload goes.
pub(crate) struct Target<'a> {
    pub(crate) client: &'a Client,
    pub(crate) bucket: &'a str,
    /// The key in the bucket (with the store's prefix).
    pub(crate) object_key: &'a str,
    /// The port's key, for errors.
    pub(crate) key: &'a str,
}

impl Target<'_> {
    /// Uploads `body` as `meta` describes it, in parts of `part_size` bytes.
    ///
    /// # Errors
    /// The mapped error of the first failed call; the upload is then aborted (an abort
    /// that fails is logged: the bucket's lifecycle rule is the backstop).
    pub(crate) async fn upload(
        &self,
        meta: &MediaObject,
        body: Bytes,
        part_size: u64,
    ) -> Result<(), MediaError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(self.bucket)
            .key(self.object_key)
            .content_type(&meta.content_type)
            .metadata(SHA256_METADATA, &meta.sha256)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| media_error("CreateMultipartUpload", self.bucket, self.key, e))?;
        let Some(upload_id) = created.upload_id() else {
            return Err(MediaError::Unavailable {
                message: format!(
                    "S3 CreateMultipartUpload on {}/{} returned no upload id; retry later",
                    self.bucket, self.key
                ),
            });
        };
        let result = self.upload_parts_and_complete(upload_id, body, part_size).await;
        if result.is_err() {
            self.abort(upload_id).await;
        }
        result
    }

    async fn upload_parts_and_complete(
        &self,
        upload_id: &str,
        body: Bytes,
        part_size: u64,
    ) -> Result<(), MediaError> {
        let parts = split(body, part_size);
        // `try_collect` stops at the first failure and drops the parts still in flight.
        let completed: Vec<CompletedPart> = futures::stream::iter(parts)
            .map(|(number, chunk)| self.upload_part(upload_id, number, chunk))
            .buffered(PART_CONCURRENCY)
            .try_collect()
            .await?;
        self.client
            .complete_multipart_upload()
            .bucket(self.bucket)
            .key(self.object_key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder().set_parts(Some(completed)).build(),
            )
            .send()
            .await
            .map_err(|e| media_error("CompleteMultipartUpload", self.bucket, self.key, e))?;
        Ok(())
    }

    async fn upload_part(
        &self,
        upload_id: &str,
        number: i32,
        chunk: Bytes,
    ) -> Result<CompletedPart, MediaError> {
        let checksum = BASE64.encode(Sha256::digest(&chunk));
        let length = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
        let out = self
            .client
            .upload_part()
            .bucket(self.bucket)
            .key(self.object_key)
            .upload_id(upload_id)
            .part_number(number)
            .content_length(length)
            .checksum_sha256(&checksum)
            .body(ByteStream::from(chunk))
            .send()
            .await
            .map_err(|e| media_error("UploadPart", self.bucket, self.key, e))?;
        let Some(e_tag) = out.e_tag() else {
            return Err(MediaError::Unavailable {
                message: format!(
                    "S3 UploadPart {number} of {}/{} returned no ETag; retry later",
                    self.bucket, self.key
                ),
            });
        };
        Ok(CompletedPart::builder()
            .part_number(number)
            .e_tag(e_tag)
            .checksum_sha256(checksum)
            .build())
    }

    /// Aborts the upload; a failure is logged, not returned (the caller reports the error
    /// that made it abort).
    async fn abort(&self, upload_id: &str) {
        let aborted = self
            .client
            .abort_multipart_upload()
            .bucket(self.bucket)
            .key(self.object_key)
            .upload_id(upload_id)
            .send()
            .await;
        if let Err(e) = aborted {
            tracing::warn!(
                bucket = self.bucket,
                key = self.object_key,
                upload_id,
                error = %DisplayErrorContext(&e),
                "could not abort a failed multipart upload: its parts stay until the bucket's \
                 AbortIncompleteMultipartUpload lifecycle rule removes them"
            );
        }
    }
}

/// `body` in parts of `part_size` bytes (the last one shorter), numbered from 1.
fn split(body: Bytes, part_size: u64) -> Vec<(i32, Bytes)> {
    let part_size = usize::try_from(part_size).unwrap_or(usize::MAX).max(1);
    let mut parts = Vec::with_capacity(body.len().div_ceil(part_size));
    let mut start = 0;
    let mut number = 1;
    while start < body.len() {
        let end = start.saturating_add(part_size).min(body.len());
        parts.push((number, body.slice(start..end)));
        start = end;
        number += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_splits_into_numbered_parts_with_a_shorter_last_one() {
        let body = Bytes::from((0..=255u8).cycle().take(2500).collect::<Vec<u8>>());

        let parts = split(body.clone(), 1000);

        let numbers: Vec<i32> = parts.iter().map(|(n, _)| *n).collect();
        let sizes: Vec<usize> = parts.iter().map(|(_, p)| p.len()).collect();
        assert_eq!(numbers, [1, 2, 3]);
        assert_eq!(sizes, [1000, 1000, 500]);
        assert_eq!(parts.iter().flat_map(|(_, p)| p.iter().copied()).collect::<Vec<u8>>(), body);
    }

    #[test]
    fn a_body_of_exactly_one_part_is_one_part() {
        assert_eq!(split(Bytes::from(vec![0; 1000]), 1000).len(), 1);
    }
}

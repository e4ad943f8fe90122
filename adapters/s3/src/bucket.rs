//! The bucket itself: creating it (setup and tests) and checking it answers (`/readyz`).

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use shopkit_core::ports::{MediaError, Readiness, StoreError};

use crate::config::check_bucket_name;
use crate::error::{Failure, classify, media_error};
use crate::store::S3MediaStore;

/// Creates `bucket` in the client's region, or does nothing when this account already has
/// it. For the shop's setup command and for tests; in production, infrastructure code
/// usually owns the bucket (with an `AbortIncompleteMultipartUpload` lifecycle rule and
/// CloudFront's origin access).
///
/// # Errors
/// [`MediaError::Invalid`] for a name S3 does not allow, or one taken by another account;
/// [`MediaError::Unavailable`] when S3 cannot be reached or refuses the credentials.
pub async fn create_bucket(client: &Client, bucket: &str) -> Result<(), MediaError> {
    check_bucket_name(bucket).map_err(|e| MediaError::Invalid { reason: e.to_string() })?;
    let mut request = client.create_bucket().bucket(bucket);
    // us-east-1 takes no location constraint (S3 refuses one naming it).
    if let Some(region) = client.config().region().map(|r| r.as_ref().to_owned())
        && region != "us-east-1"
    {
        let location = CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region.as_str()))
            .build();
        request = request.create_bucket_configuration(location);
    }
    let err = match request.send().await {
        Ok(_) => return Ok(()),
        Err(err) => err,
    };
    match err.code() {
        Some("BucketAlreadyOwnedByYou") => Ok(()),
        // Someone has the name; if it is reachable with our credentials it is ours to use.
        Some("BucketAlreadyExists") => match client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(_) => Err(MediaError::Invalid {
                reason: format!(
                    "bucket name {bucket} is taken by another AWS account: choose another name"
                ),
            }),
        },
        _ => Err(media_error("CreateBucket", bucket, "", err)),
    }
}

#[async_trait]
impl Readiness for S3MediaStore {
    fn name(&self) -> &str {
        "s3"
    }

    /// `HeadBucket` within the configured `readiness_timeout` (1 s by default). Changes
    /// nothing.
    async fn check(&self) -> Result<(), StoreError> {
        let bucket = &self.config().bucket;
        let timeout = self.config().readiness_timeout;
        let head = self.client().head_bucket().bucket(bucket).send();
        match tokio::time::timeout(timeout, head).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                let why = match classify(&e) {
                    Failure::NotFound | Failure::NoSuchBucket => {
                        "does not exist: create it (shop setup) or fix the configured bucket"
                    }
                    Failure::Credentials => "refuses our credentials: check the role or keys",
                    Failure::Transient | Failure::Invalid => "did not answer HeadBucket",
                };
                Err(StoreError::unavailable(format!("S3 bucket {bucket} {why}"), e))
            }
            Err(_) => Err(StoreError::Unavailable {
                message: format!("S3 bucket {bucket} did not answer HeadBucket within {timeout:?}"),
                source: None,
            }),
        }
    }
}

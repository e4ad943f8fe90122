//! S3 failures an emulator cannot produce (throttling, 5xx, refused credentials, a part
//! that fails midway), on scripted SDK responses (`aws-smithy-mocks`), plus an endpoint
//! that refuses connections and one that never answers.
//!
//! Run with: `cargo test -p shopkit-s3 --test errors` (no service needed).
//!
//! The scripted answers are real HTTP responses (status + S3's XML error body), so the
//! SDK's own error parsing runs before the store maps the error code. Retries are off: the
//! retry policy is the client's, and these tests are about the mapping.

use std::time::Duration as StdDuration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::operation::abort_multipart_upload::AbortMultipartUploadOutput;
use aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput;
use aws_sdk_s3::operation::create_multipart_upload::CreateMultipartUploadOutput;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::operation::upload_part::UploadPartOutput;
use aws_sdk_s3::types::Object;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use shopkit_core::ports::{MediaError, MediaStore, MediaUpload, Readiness, StoreError};
use shopkit_s3::{S3Config, S3MediaStore, create_bucket};

const KEY: &str = "products/1/clip.mp4";
const MIB: usize = 1024 * 1024;

/// S3's XML error body for `code`.
fn s3_error(code: &str) -> Option<String> {
    Some(format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>scripted {code}</Message><RequestId>req-1</RequestId><HostId>host-1</HostId></Error>"#
    ))
}

/// A rule answering every call of an operation with `status` and S3 error `code`.
macro_rules! always_fails {
    ($operation:path, $status:expr, $code:expr) => {
        mock!($operation).sequence().http_status($status, s3_error($code)).repeatedly().build()
    };
}

fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules, |b| b.retry_config(RetryConfig::disabled()))
}

fn store_with(client: Client, change: impl FnOnce(&mut S3Config)) -> S3MediaStore {
    let mut config = S3Config::new("shop-media");
    change(&mut config);
    S3MediaStore::new(client, config).expect("a valid config")
}

fn store(rules: &[&Rule]) -> S3MediaStore {
    store_with(client(rules), |_| ())
}

fn image(bytes: &[u8]) -> MediaUpload {
    MediaUpload { key: KEY.into(), content_type: "image/jpeg".into(), bytes: bytes.to_vec() }
}

fn video(size: usize) -> MediaUpload {
    MediaUpload { key: KEY.into(), content_type: "video/mp4".into(), bytes: vec![1; size] }
}

fn is_unavailable<T: std::fmt::Debug>(result: &Result<T, MediaError>) -> bool {
    matches!(result, Err(MediaError::Unavailable { .. }))
}

#[tokio::test]
async fn slow_down_503_is_unavailable() {
    let put = always_fails!(Client::put_object, 503, "SlowDown");
    let media = store(&[&put]);

    let result = media.put(image(b"jpeg")).await;

    assert!(is_unavailable(&result), "got {result:?}");
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn a_503_without_a_body_is_unavailable() {
    let get = mock!(Client::get_object).sequence().http_status(503, None).repeatedly().build();
    let media = store(&[&get]);

    let result = media.get(KEY).await;

    assert!(is_unavailable(&result), "got {result:?}");
}

#[tokio::test]
async fn a_500_internal_error_is_unavailable() {
    let get = always_fails!(Client::get_object, 500, "InternalError");
    let media = store(&[&get]);

    let result = media.get(KEY).await;

    assert!(is_unavailable(&result), "got {result:?}");
}

#[tokio::test]
async fn throttling_while_listing_is_unavailable() {
    let list = always_fails!(Client::list_objects_v2, 503, "SlowDown");
    let media = store(&[&list]);

    let result = media.list("products/1/").await;

    assert!(is_unavailable(&result), "got {result:?}");
}

#[tokio::test]
async fn no_such_key_is_not_found() {
    let get = always_fails!(Client::get_object, 404, "NoSuchKey");
    let media = store(&[&get]);

    let result = media.get(KEY).await;

    assert!(matches!(&result, Err(MediaError::NotFound { key }) if key == KEY), "got {result:?}");
}

#[tokio::test]
async fn deleting_a_key_s3_calls_missing_is_fine() {
    let delete = always_fails!(Client::delete_object, 404, "NoSuchKey");
    let media = store(&[&delete]);

    let result = media.delete(KEY).await;

    assert!(result.is_ok(), "got {result:?}");
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn a_missing_bucket_is_unavailable_and_says_to_create_it() {
    let put = always_fails!(Client::put_object, 404, "NoSuchBucket");
    let media = store(&[&put]);

    let result = media.put(image(b"jpeg")).await;

    assert!(
        matches!(&result, Err(MediaError::Unavailable { message }) if message.contains("create it")),
        "got {result:?}"
    );
}

#[tokio::test]
async fn refused_credentials_are_unavailable_and_say_so() {
    let get = always_fails!(Client::get_object, 403, "AccessDenied");
    let media = store(&[&get]);

    let result = media.get(KEY).await;

    assert!(
        matches!(&result, Err(MediaError::Unavailable { message }) if message.contains("credentials")),
        "got {result:?}"
    );
}

#[tokio::test]
async fn entity_too_large_and_invalid_argument_are_invalid() {
    for code in ["EntityTooLarge", "InvalidArgument"] {
        let put = always_fails!(Client::put_object, 400, code);
        let media = store(&[&put]);

        let result = media.put(image(b"jpeg")).await;

        assert!(
            matches!(&result, Err(MediaError::Invalid { reason }) if reason.contains(code)),
            "{code}: got {result:?}"
        );
    }
}

#[tokio::test]
async fn an_object_deleted_between_listing_and_describing_is_left_out() {
    let list = mock!(Client::list_objects_v2).then_output(|| {
        ListObjectsV2Output::builder()
            .contents(Object::builder().key("products/1/gone.jpg").size(3).build())
            .contents(Object::builder().key("products/1/here.jpg").size(4).build())
            .build()
    });
    let gone = mock!(Client::head_object)
        .match_requests(|r| r.key() == Some("products/1/gone.jpg"))
        .sequence()
        .http_status(404, None)
        .repeatedly()
        .build();
    let here = mock!(Client::head_object)
        .match_requests(|r| r.key() == Some("products/1/here.jpg"))
        .then_output(|| {
            HeadObjectOutput::builder()
                .content_type("image/jpeg")
                .content_length(4)
                .metadata("sha256", "a".repeat(64))
                .build()
        });
    let media = store(&[&list, &gone, &here]);

    let listed = media.list("products/1/").await.expect("list");

    let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["products/1/here.jpg"]);
    assert_eq!(gone.num_calls(), 1);
}

/// The rules of a multipart upload whose parts all succeed; `complete` is given.
fn multipart_rules(complete: Rule) -> (Rule, Rule, Rule, Rule) {
    let create = mock!(Client::create_multipart_upload)
        .match_requests(|r| {
            r.key() == Some(KEY)
                && r.content_type() == Some("video/mp4")
                && r.metadata().and_then(|m| m.get("sha256")).is_some()
        })
        .then_output(|| CreateMultipartUploadOutput::builder().upload_id("upload-1").build());
    let part = mock!(Client::upload_part)
        .match_requests(|r| r.upload_id() == Some("upload-1") && r.checksum_sha256().is_some())
        .then_compute_output(|r| {
            UploadPartOutput::builder()
                .e_tag(format!("\"etag-{}\"", r.part_number().unwrap_or_default()))
                .build()
        });
    let abort = mock!(Client::abort_multipart_upload)
        .match_requests(|r| r.upload_id() == Some("upload-1") && r.key() == Some(KEY))
        .then_output(|| AbortMultipartUploadOutput::builder().build());
    (create, part, complete, abort)
}

#[tokio::test]
async fn a_multipart_upload_completes_with_every_part_in_order() {
    let complete = mock!(Client::complete_multipart_upload)
        .match_requests(|r| {
            let parts = r.multipart_upload().map(|m| m.parts()).unwrap_or_default();
            let numbers: Vec<i32> = parts.iter().filter_map(|p| p.part_number()).collect();
            let tagged = parts.iter().all(|p| {
                p.e_tag() == Some(&format!("\"etag-{}\"", p.part_number().unwrap_or_default()))
                    && p.checksum_sha256().is_some()
            });
            r.upload_id() == Some("upload-1") && numbers == [1, 2, 3] && tagged
        })
        .then_output(|| CompleteMultipartUploadOutput::builder().build());
    let (create, part, complete, abort) = multipart_rules(complete);
    let media = store_with(client(&[&create, &part, &complete, &abort]), |c| {
        c.multipart_threshold = 8 * MIB as u64;
        c.part_size = 5 * MIB as u64;
    });

    let stored = media.put(video(11 * MIB)).await;

    assert_eq!(stored.expect("put").size, 11 * MIB as u64);
    assert_eq!((create.num_calls(), part.num_calls()), (1, 3), "one upload of 5+5+1 MiB");
    assert_eq!((complete.num_calls(), abort.num_calls()), (1, 0));
}

#[tokio::test]
async fn a_failed_upload_part_aborts_the_multipart_upload() {
    let create = mock!(Client::create_multipart_upload)
        .then_output(|| CreateMultipartUploadOutput::builder().upload_id("upload-1").build());
    let part = mock!(Client::upload_part)
        .sequence()
        .output(|| UploadPartOutput::builder().e_tag("\"etag\"").build())
        .http_status(500, s3_error("InternalError"))
        .repeatedly()
        .build();
    let complete = mock!(Client::complete_multipart_upload)
        .then_output(|| CompleteMultipartUploadOutput::builder().build());
    let abort = mock!(Client::abort_multipart_upload)
        .match_requests(|r| r.upload_id() == Some("upload-1") && r.key() == Some(KEY))
        .then_output(|| AbortMultipartUploadOutput::builder().build());
    let media = store_with(client(&[&create, &part, &complete, &abort]), |c| {
        c.multipart_threshold = 0;
        c.part_size = 5 * MIB as u64;
    });

    let result = media.put(video(6 * MIB)).await; // parts of 5 and 1 MiB: one fails

    assert!(is_unavailable(&result), "a 500 on a part is Unavailable, got {result:?}");
    assert_eq!(abort.num_calls(), 1, "the upload is aborted once");
    assert_eq!(complete.num_calls(), 0, "a failed upload is never completed");
}

#[tokio::test]
async fn a_failed_completion_aborts_the_multipart_upload() {
    let complete = always_fails!(Client::complete_multipart_upload, 500, "InternalError");
    let (create, part, complete, abort) = multipart_rules(complete);
    let media = store_with(client(&[&create, &part, &complete, &abort]), |c| {
        c.multipart_threshold = 0;
    });

    let result = media.put(video(1000)).await;

    assert!(is_unavailable(&result), "got {result:?}");
    assert_eq!((part.num_calls(), complete.num_calls(), abort.num_calls()), (1, 1, 1));
}

#[tokio::test]
async fn a_failed_abort_still_reports_the_failure_that_caused_it() {
    let complete = always_fails!(Client::complete_multipart_upload, 400, "InvalidPart");
    let (create, part, complete, _) = multipart_rules(complete);
    let abort = always_fails!(Client::abort_multipart_upload, 503, "SlowDown");
    let media = store_with(client(&[&create, &part, &complete, &abort]), |c| {
        c.multipart_threshold = 0;
    });

    let result = media.put(video(1000)).await;

    assert!(
        matches!(&result, Err(MediaError::Invalid { reason }) if reason.contains("InvalidPart")),
        "the completion's error, not the abort's: {result:?}"
    );
    assert_eq!(abort.num_calls(), 1);
}

#[tokio::test]
async fn refused_requests_never_reach_s3() {
    let put = mock!(Client::put_object).then_output(|| PutObjectOutput::builder().build());
    let media = store_with(client(&[&put]), |c| c.max_bytes = 3);

    let bad_key = media.put(MediaUpload { key: "../x".into(), ..image(b"x") }).await;
    let bad_type = media.put(MediaUpload { content_type: "jpeg".into(), ..image(b"x") }).await;
    let too_large = media.put(image(b"1234")).await;

    assert!(matches!(bad_key, Err(MediaError::Invalid { .. })));
    assert!(matches!(bad_type, Err(MediaError::Invalid { .. })));
    assert!(matches!(too_large, Err(MediaError::TooLarge { size: 4, max: 3 })));
    assert_eq!(put.num_calls(), 0);
}

#[tokio::test]
async fn readiness_fails_when_head_bucket_is_throttled() {
    let head = mock!(Client::head_bucket).sequence().http_status(503, None).repeatedly().build();
    let media = store(&[&head]);

    let result = media.check().await;

    assert!(matches!(result, Err(StoreError::Unavailable { .. })), "got {result:?}");
}

#[tokio::test]
async fn create_bucket_accepts_a_bucket_we_already_own() {
    let create = always_fails!(Client::create_bucket, 409, "BucketAlreadyOwnedByYou");

    let result = create_bucket(&client(&[&create]), "shop-media").await;

    assert!(result.is_ok(), "got {result:?}");
}

#[tokio::test]
async fn create_bucket_refuses_a_name_another_account_has() {
    let create = always_fails!(Client::create_bucket, 409, "BucketAlreadyExists");
    let head = mock!(Client::head_bucket).sequence().http_status(403, None).repeatedly().build();

    let result = create_bucket(&client(&[&create, &head]), "shop-media").await;

    assert!(
        matches!(&result, Err(MediaError::Invalid { reason }) if reason.contains("another AWS account")),
        "got {result:?}"
    );
}

/// A client for a real endpoint, with short timeouts and no retries.
fn endpoint_client(endpoint: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn an_endpoint_that_refuses_connections_is_unavailable() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let media = store_with(endpoint_client(&format!("http://127.0.0.1:{port}")), |_| ());

    let result = media.get(KEY).await;
    let ready = media.check().await;

    assert!(is_unavailable(&result), "got {result:?}");
    assert!(matches!(ready, Err(StoreError::Unavailable { .. })), "got {ready:?}");
}

#[tokio::test]
async fn readiness_gives_up_on_a_bucket_that_never_answers() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let media = store_with(endpoint_client(&endpoint), |c| {
        c.readiness_timeout = StdDuration::from_millis(200);
    });

    let started = std::time::Instant::now();
    let result = media.check().await;

    assert!(
        matches!(&result, Err(StoreError::Unavailable { message, .. }) if message.contains("within")),
        "got {result:?}"
    );
    assert!(started.elapsed() < StdDuration::from_secs(5), "answered within the timeout");
    held.abort();
}

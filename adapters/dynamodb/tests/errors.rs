//! Error paths an emulator cannot produce, driven through `aws-smithy-mocks`: throttling,
//! server errors, partial batch results, cancelled and conflicting transactions, items
//! above DynamoDB's limits, an unreachable endpoint.
//!
//! Run with: `cargo test -p shopkit-dynamodb --test errors` (no service needed).
//!
//! Each test scripts the SDK's answers (modeled errors, or raw HTTP bodies as DynamoDB
//! sends them, so the SDK's own error parsing is exercised) and checks the port error the
//! adapter maps them to. Retries of the SDK itself are off, so each scripted answer is
//! seen once; the adapter's own retries (unprocessed keys, transaction conflicts) sleep on
//! tokio's paused clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, KeysAndAttributes};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use chrono::{Duration, TimeZone, Utc};
use shopkit_core::ids::{IdempotencyKey, LocationId, ProductId, ReservationId, Sku};
use shopkit_core::inventory::{
    InventoryError, ReservationLine, ReservationRequest, ReservationStatus,
};
use shopkit_core::ports::{
    CartStore, IdempotencyStore, InventoryStore, ProductRepository, StoreError,
};
use shopkit_core::quantity::Quantity;
use shopkit_dynamodb::{
    DynamoCarts, DynamoConfig, DynamoIdempotency, DynamoInventory, DynamoProducts,
};
use shopkit_testkit::fixtures::{category, product};

const TABLE: &str = "shopkit-mocked";

type Item = HashMap<String, AttributeValue>;

fn config() -> DynamoConfig {
    DynamoConfig::new(TABLE).expect("a valid table name")
}

/// A client answering from `rules` (first matching rule wins), SDK retries off.
fn mocked(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

/// A DynamoDB error response as it comes over the wire (JSON protocol).
fn wire_error(code: &str) -> String {
    format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"scripted {code}"}}"#)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn sku(raw: &str) -> Sku {
    Sku::new(raw).expect("a valid SKU")
}

fn request(lines: &[(&str, u32)]) -> ReservationRequest {
    ReservationRequest {
        id: ReservationId::from_uuid(uuid::Uuid::new_v4()),
        location: LocationId::main(),
        lines: lines
            .iter()
            .map(|(s, q)| ReservationLine {
                sku: sku(s),
                quantity: Quantity::new(i64::from(*q)).expect("a quantity"),
            })
            .collect(),
        expires_at: Utc.with_ymd_and_hms(2030, 1, 1, 0, 15, 0).single().expect("an instant"),
    }
}

/// A stock item as the adapter stores it.
fn stock_item(sku: &str, on_hand: i64, reserved: i64) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(&format!("STOCK#{sku}"))),
        ("sk".to_owned(), s("LOCATION#main")),
        ("sku".to_owned(), s(sku)),
        ("location".to_owned(), s("main")),
        ("on_hand".to_owned(), n(on_hand)),
        ("reserved".to_owned(), n(reserved)),
        ("headroom".to_owned(), n(on_hand - reserved)),
        ("policy".to_owned(), s("deny")),
        ("backorder_limit".to_owned(), n(0)),
    ])
}

fn reason(code: &str, item: Option<Item>) -> CancellationReason {
    CancellationReason::builder().code(code).set_item(item).build()
}

fn cancelled(reasons: Vec<CancellationReason>) -> TransactWriteItemsError {
    TransactWriteItemsError::TransactionCanceledException(
        TransactionCanceledException::builder()
            .message("Transaction cancelled")
            .set_cancellation_reasons(Some(reasons))
            .build(),
    )
}

fn assert_retryable_unavailable(result: Result<impl std::fmt::Debug, StoreError>, what: &str) {
    match result {
        Err(e @ StoreError::Unavailable { .. }) => {
            assert!(e.is_retryable(), "{what}: Unavailable must be retryable");
        }
        other => panic!("{what}: expected a retryable Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn throttling_is_a_retryable_unavailable() {
    // Arrange
    let throttled_get = mock!(Client::get_item)
        .sequence()
        .http_status(400, Some(wire_error("ThrottlingException")))
        .repeatedly()
        .build();
    let throughput_exceeded_query = mock!(Client::query)
        .sequence()
        .http_status(400, Some(wire_error("ProvisionedThroughputExceededException")))
        .repeatedly()
        .build();
    let request_limit_put = mock!(Client::put_item)
        .sequence()
        .http_status(400, Some(wire_error("RequestLimitExceeded")))
        .repeatedly()
        .build();
    let client = mocked(&[&throttled_get, &throughput_exceeded_query, &request_limit_put]);
    let products = DynamoProducts::new(client.clone(), &config());
    let idempotency = DynamoIdempotency::new(client, &config());

    // Act
    let get = products.get(ProductId::from_uuid(uuid::Uuid::new_v4())).await;
    let listing = products.list(&Default::default()).await;
    let begin = idempotency
        .begin(
            "checkout",
            &IdempotencyKey::new("k-1").expect("a key"),
            "fp",
            Utc::now(),
            Duration::seconds(30),
        )
        .await;

    // Assert
    assert!(
        matches!(&get, Err(StoreError::Unavailable { message, .. }) if message.contains("throttled")),
        "the message says it was throttled: {get:?}"
    );
    assert_retryable_unavailable(get, "GetItem throttled");
    assert_retryable_unavailable(listing, "Query over provisioned throughput");
    assert_retryable_unavailable(begin, "PutItem over the request limit");
    assert_eq!(throttled_get.num_calls(), 1, "SDK retries are off: one attempt");
}

#[tokio::test]
async fn server_errors_are_a_retryable_unavailable() {
    // Arrange
    let internal = mock!(Client::get_item)
        .sequence()
        .http_status(500, Some(wire_error("InternalServerError")))
        .repeatedly()
        .build();
    let bare_503 = mock!(Client::query).sequence().http_status(503, None).repeatedly().build();
    let client = mocked(&[&internal, &bare_503]);
    let products = DynamoProducts::new(client, &config());

    // Act
    let get = products.get(ProductId::from_uuid(uuid::Uuid::new_v4())).await;
    let categories = products.categories().await;

    // Assert
    assert_retryable_unavailable(get, "a 500 InternalServerError");
    assert_retryable_unavailable(categories, "a bare 503");
}

#[tokio::test]
async fn a_missing_table_says_to_create_it() {
    // Arrange
    let missing = mock!(Client::get_item)
        .sequence()
        .http_status(400, Some(wire_error("ResourceNotFoundException")))
        .repeatedly()
        .build();
    let products = DynamoProducts::new(mocked(&[&missing]), &config());

    // Act
    let result = products.get(ProductId::from_uuid(uuid::Uuid::new_v4())).await;

    // Assert
    assert!(
        matches!(&result, Err(StoreError::Unavailable { message, .. }) if message.contains("create_tables")),
        "got {result:?}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_retryable_unavailable() {
    // Arrange: nothing listens on port 1 of the loopback interface.
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "t", "t", None, None, "static",
        ))
        .endpoint_url("http://127.0.0.1:1")
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let products = DynamoProducts::new(Client::new(&shared), &config());

    // Act
    let result = products.get(ProductId::from_uuid(uuid::Uuid::new_v4())).await;

    // Assert
    assert!(
        matches!(&result, Err(StoreError::Unavailable { message, .. }) if message.contains("could not be reached")),
        "got {result:?}"
    );
    assert_retryable_unavailable(result, "a refused connection");
}

/// Scripts writes as DynamoDB would accept them and keeps what was written.
fn recording_transactions() -> (Rule, Arc<Mutex<Vec<Item>>>) {
    let written: Arc<Mutex<Vec<Item>>> = Arc::default();
    let sink = Arc::clone(&written);
    let rule = mock!(Client::transact_write_items).then_compute_output(move |req| {
        let puts = req.transact_items().iter().filter_map(|w| w.put()).map(|p| p.item().clone());
        sink.lock().expect("the write log").extend(puts);
        TransactWriteItemsOutput::builder().build()
    });
    (rule, written)
}

fn same_key(item: &Item, key: &Item) -> bool {
    item.get("pk") == key.get("pk") && item.get("sk") == key.get("sk")
}

#[tokio::test(start_paused = true)]
async fn batch_reads_ask_again_for_unprocessed_keys_until_done() {
    // Arrange: two products written through the adapter; then a DynamoDB that processes
    // one key per BatchGetItem and returns the rest as UnprocessedKeys.
    let (writes, written) = recording_transactions();
    let a = product().variants(2).build();
    let b = product().build();
    {
        let products = DynamoProducts::new(mocked(&[&writes]), &config());
        products.insert(&a).await.expect("insert a");
        products.insert(&b).await.expect("insert b");
    }
    let stored = written.lock().expect("the write log").clone();
    let one_key_per_call = mock!(Client::batch_get_item).then_compute_output(move |req| {
        let keys = req
            .request_items()
            .and_then(|r| r.get(TABLE))
            .map(|k| k.keys().to_vec())
            .unwrap_or_default();
        let (now, later) = keys.split_at(keys.len().min(1));
        let found: Vec<Item> =
            stored.iter().filter(|item| now.iter().any(|k| same_key(item, k))).cloned().collect();
        let mut out = BatchGetItemOutput::builder().responses(TABLE, found);
        if !later.is_empty() {
            let rest =
                KeysAndAttributes::builder().set_keys(Some(later.to_vec())).build().expect("keys");
            out = out.unprocessed_keys(TABLE, rest);
        }
        out.build()
    });
    let products = DynamoProducts::new(mocked(&[&one_key_per_call]), &config());
    let skus =
        vec![a.variants[0].sku.clone(), a.variants[1].sku.clone(), b.variants[0].sku.clone()];

    // Act
    let found = products.by_skus(&skus).await.expect("by_skus");

    // Assert
    let mut ids: Vec<ProductId> = found.iter().map(|p| p.id).collect();
    ids.sort();
    let mut want = vec![a.id, b.id];
    want.sort();
    assert_eq!(ids, want, "every product, once, after the unprocessed keys were asked again");
    assert_eq!(one_key_per_call.num_calls(), 3 + 2, "3 SKU claims and 2 products, one per call");
}

#[tokio::test]
async fn batch_reads_ask_for_at_most_100_keys_at_a_time() {
    // Arrange: 250 SKUs (none of them stored).
    let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
    let seen = Arc::clone(&sizes);
    let counting = mock!(Client::batch_get_item).then_compute_output(move |req| {
        let asked = req.request_items().and_then(|r| r.get(TABLE)).map_or(0, |k| k.keys().len());
        seen.lock().expect("the size log").push(asked);
        BatchGetItemOutput::builder().responses(TABLE, Vec::new()).build()
    });
    let products = DynamoProducts::new(mocked(&[&counting]), &config());
    let skus: Vec<Sku> = (0..250).map(|i| sku(&format!("SKU-{i}"))).collect();

    // Act
    let found = products.by_skus(&skus).await.expect("by_skus");

    // Assert
    assert!(found.is_empty());
    let mut sizes = sizes.lock().expect("the size log").clone();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![50, 100, 100], "chunks of at most 100 keys, every SKU asked once");
}

#[tokio::test(start_paused = true)]
async fn keys_that_stay_unprocessed_end_in_a_retryable_unavailable() {
    // Arrange
    let never = mock!(Client::batch_get_item).then_compute_output(|req| {
        let wanted = req.request_items().and_then(|r| r.get(TABLE)).cloned().expect("keys");
        BatchGetItemOutput::builder().unprocessed_keys(TABLE, wanted).build()
    });
    let products = DynamoProducts::new(mocked(&[&never]), &config());

    // Act
    let result = products.by_skus(&[sku("A"), sku("B")]).await;

    // Assert
    assert_retryable_unavailable(result, "keys left unprocessed");
    assert_eq!(never.num_calls(), 8, "the adapter gives up after 8 attempts");
}

#[tokio::test]
async fn a_cancelled_reservation_is_out_of_stock_for_the_first_short_sku() {
    // Arrange: lines A, B, C; DynamoDB reports B and C short (request order: B first).
    let short = mock!(Client::transact_write_items).then_error(|| {
        cancelled(vec![
            reason("None", None),
            reason("None", None),
            reason("ConditionalCheckFailed", Some(stock_item("B", 3, 2))),
            reason("ConditionalCheckFailed", Some(stock_item("C", 0, 0))),
        ])
    });
    let inventory = DynamoInventory::new(mocked(&[&short]), &config());

    // Act
    let result = inventory.reserve(&request(&[("A", 1), ("B", 2), ("C", 5)])).await;

    // Assert
    match result {
        Err(InventoryError::OutOfStock { sku: short_sku, requested, available }) => {
            assert_eq!(short_sku, sku("B"), "the first short SKU in request order");
            assert_eq!((requested, available), (2, 1), "asked 2, 3 on hand less 2 reserved");
        }
        other => panic!("expected OutOfStock for B, got {other:?}"),
    }
}

#[tokio::test]
async fn a_cancelled_line_without_a_stock_record_is_an_unknown_sku() {
    // Arrange: the condition `attribute_exists(pk)` failed and no item came back.
    let missing = mock!(Client::transact_write_items).then_error(|| {
        cancelled(vec![reason("None", None), reason("ConditionalCheckFailed", None)])
    });
    let nothing_there = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let inventory = DynamoInventory::new(mocked(&[&missing, &nothing_there]), &config());

    // Act
    let result = inventory.reserve(&request(&[("GHOST", 1)])).await;

    // Assert
    assert!(
        matches!(&result, Err(InventoryError::UnknownSku { sku: s, .. }) if *s == sku("GHOST")),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_replayed_reservation_returns_the_stored_one() {
    // Arrange: the first attempt committed but its answer was lost; the replay's
    // reservation `Put` fails its `attribute_not_exists` and returns the stored item.
    // (This is the path a ClientRequestToken would take; moto does not emulate those
    // tokens, and the adapter does not need them: the reservation id is the key.)
    let req = request(&[("A", 2)]);
    let stored: Item = HashMap::from([
        ("pk".to_owned(), s(&format!("RESERVATION#{}", req.id))),
        ("sk".to_owned(), s("RESERVATION")),
        ("id".to_owned(), s(&req.id.to_string())),
        ("location".to_owned(), s("main")),
        (
            "lines".to_owned(),
            AttributeValue::L(vec![AttributeValue::M(HashMap::from([
                ("sku".to_owned(), s("A")),
                ("quantity".to_owned(), n(2)),
            ]))]),
        ),
        ("status".to_owned(), s("active")),
        ("expires_at".to_owned(), s(&req.expires_at.to_rfc3339())),
    ]);
    let replay = mock!(Client::transact_write_items).then_error(move || {
        cancelled(vec![
            reason("ConditionalCheckFailed", Some(stored.clone())),
            reason("ConditionalCheckFailed", Some(stock_item("A", 2, 2))),
        ])
    });
    let inventory = DynamoInventory::new(mocked(&[&replay]), &config());

    // Act
    let result = inventory.reserve(&req).await.expect("a replay of a stored reservation succeeds");

    // Assert
    assert_eq!(result.id, req.id);
    assert_eq!(result.status, ReservationStatus::Active);
    assert_eq!(result.lines, req.lines);
}

#[tokio::test(start_paused = true)]
async fn transactions_conflicting_with_concurrent_ones_are_retried() {
    // Arrange: DynamoDB cancels twice for a conflict with another transaction, then commits.
    let conflicted = mock!(Client::transact_write_items)
        .sequence()
        .error(|| cancelled(vec![reason("None", None), reason("TransactionConflict", None)]))
        .times(2)
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let inventory = DynamoInventory::new(mocked(&[&conflicted]), &config());

    // Act
    let result = inventory.reserve(&request(&[("A", 1)])).await;

    // Assert
    assert!(result.is_ok(), "the third attempt commits: {result:?}");
    assert_eq!(conflicted.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn endless_transaction_conflicts_end_in_a_retryable_unavailable() {
    // Arrange
    let conflicted = mock!(Client::transact_write_items)
        .then_error(|| cancelled(vec![reason("None", None), reason("TransactionConflict", None)]));
    let inventory = DynamoInventory::new(mocked(&[&conflicted]), &config());

    // Act
    let result = inventory.reserve(&request(&[("A", 1)])).await;

    // Assert
    match result {
        Err(InventoryError::Store(e @ StoreError::Unavailable { .. })) => assert!(e.is_retryable()),
        other => panic!("expected a retryable Unavailable, got {other:?}"),
    }
    assert_eq!(conflicted.num_calls(), 10, "the adapter gives up after 10 attempts");
}

#[tokio::test]
async fn a_throttled_transaction_is_a_retryable_unavailable() {
    // Arrange
    let throttled = mock!(Client::transact_write_items)
        .then_error(|| cancelled(vec![reason("ThrottlingError", None), reason("None", None)]));
    let inventory = DynamoInventory::new(mocked(&[&throttled]), &config());

    // Act
    let result = inventory.reserve(&request(&[("A", 1)])).await;

    // Assert
    assert!(
        matches!(&result, Err(InventoryError::Store(e @ StoreError::Unavailable { .. })) if e.is_retryable()),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_product_above_400_kb_is_invalid_before_anything_is_sent() {
    // Arrange
    let (writes, _) = recording_transactions();
    let products = DynamoProducts::new(mocked(&[&writes]), &config());
    let huge = product().description(&"x".repeat(410 * 1024)).build();

    // Act
    let result = products.insert(&huge).await;

    // Assert
    match &result {
        Err(StoreError::Invalid { reason }) => {
            assert!(reason.contains("400 KB"), "the message names the limit: {reason}");
            assert!(reason.contains("description"), "the message says what to shorten: {reason}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(writes.num_calls(), 0, "nothing is sent");
}

#[tokio::test]
async fn an_item_dynamodb_refuses_as_too_large_is_invalid() {
    // Arrange: the service's own check (ValidationException) on a write.
    let refused = mock!(Client::put_item)
        .sequence()
        .http_status(
            400,
            Some(
                r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"Item size has exceeded the maximum allowed size"}"#
                    .to_owned(),
            ),
        )
        .repeatedly()
        .build();
    let products = DynamoProducts::new(mocked(&[&refused]), &config());

    // Act
    let result = products.upsert_category(&category("shirts", "Shirts", 1)).await;

    // Assert
    assert!(
        matches!(&result, Err(StoreError::Invalid { reason }) if reason.contains("ValidationException") && reason.contains("maximum allowed size")),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_reservation_above_99_lines_is_invalid_before_anything_is_sent() {
    // Arrange
    let (writes, _) = recording_transactions();
    let inventory = DynamoInventory::new(mocked(&[&writes]), &config());
    let names: Vec<String> = (0..100).map(|i| format!("SKU-{i}")).collect();
    let lines: Vec<(&str, u32)> = names.iter().map(|s| (s.as_str(), 1)).collect();

    // Act
    let result = inventory.reserve(&request(&lines)).await;

    // Assert
    assert!(
        matches!(&result, Err(InventoryError::Invalid { reason }) if reason.contains("99 lines")),
        "got {result:?}"
    );
    assert_eq!(writes.num_calls(), 0, "nothing is sent");
}

#[tokio::test]
async fn a_product_needing_more_than_100_writes_is_invalid_before_anything_is_sent() {
    // Arrange: 99 variants + slug + product = 101 writes.
    let (writes, _) = recording_transactions();
    let products = DynamoProducts::new(mocked(&[&writes]), &config());
    let wide = product().variants(99).build();

    // Act
    let result = products.insert(&wide).await;

    // Assert
    assert!(
        matches!(&result, Err(StoreError::Invalid { reason }) if reason.contains("limit of 100") && reason.contains("variant")),
        "got {result:?}"
    );
    assert_eq!(writes.num_calls(), 0, "nothing is sent");
}

#[tokio::test]
async fn a_cart_token_never_appears_in_a_key() {
    // Arrange: the token is a bearer secret; keys show up in consoles, logs and metrics.
    let (writes, written) = recording_transactions();
    let carts = DynamoCarts::new(mocked(&[&writes]), &config());
    let cart = shopkit_testkit::fixtures::cart(None, shopkit_testkit::fixtures::t0());
    let token = cart.token().expose().to_owned();

    // Act
    carts.save(&cart).await.expect("save a new cart");

    // Assert
    let written = written.lock().expect("the write log");
    assert_eq!(written.len(), 2, "the cart and its token mirror");
    for item in written.iter() {
        let pk = match item.get("pk") {
            Some(AttributeValue::S(pk)) => pk.clone(),
            other => panic!("every item has a string pk, got {other:?}"),
        };
        assert!(!pk.contains(&token), "a key holds the raw token: {pk}");
    }
}

//! [`DynamoIdempotency`]: one remembered result per `(scope, key)`.
//!
//! # Item
//! `pk = IDEMPOTENCY#<sha256(scope, key)>`, `sk = IDEMPOTENCY`: the fingerprint, the
//! state (`started` with a lease, or `completed` with the result and the end of its
//! retention), and `ttl_epoch` so DynamoDB deletes old records (reads never rely on it).
//! The key is hashed: keys are client-chosen (up to 255 characters, scopes unbounded) and
//! DynamoDB partition keys are limited to 2 KB; a hash also spreads them over partitions.
//!
//! Every decision is ONE conditional write, so it is atomic under any concurrency:
//! - `begin` puts a `started` record if none exists, or the existing one is completed and
//!   past its retention, or started with the same fingerprint and past its lease;
//!   otherwise the failed condition returns the record (`ALL_OLD`) and `begin` answers
//!   `Mismatch` (other fingerprint), `Completed(result)` or `InProgress`;
//! - `complete` updates a `started` record (a completed one keeps its first result; a
//!   missing one is `NotFound`);
//! - `abandon` deletes a `started` record (a completed one is kept).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use shopkit_core::ids::IdempotencyKey;
use shopkit_core::ports::{IdempotencyBegin, IdempotencyStore, StoreError};

use crate::config::DynamoConfig;
use crate::db::Db;
use crate::error::{corrupt, store_error};
use crate::item::{Item, Reader, epoch_seconds, key, s, time, time_key};
use crate::table::{PK, TTL};

/// How long a started record outlives its lease before DynamoDB's TTL may delete it.
const STARTED_GRACE_DAYS: i64 = 1;

fn record_key(scope: &str, key_: &IdempotencyKey) -> Item {
    let mut hash = Sha256::new();
    hash.update(scope.as_bytes());
    hash.update([0u8]);
    hash.update(key_.as_str().as_bytes());
    key(format!("IDEMPOTENCY#{}", hex::encode(hash.finalize())), "IDEMPOTENCY")
}

fn after(now: DateTime<Utc>, span: Duration, what: &str) -> Result<DateTime<Utc>, StoreError> {
    now.checked_add_signed(span).ok_or_else(|| StoreError::Invalid {
        reason: format!("a {what} of {span} from {now} is out of range: use a shorter one"),
    })
}

/// The [`IdempotencyStore`] on DynamoDB (see the module docs): each call is one
/// conditional write.
///
/// Clones share the client.
#[derive(Clone, Debug)]
pub struct DynamoIdempotency {
    db: Db,
}

impl DynamoIdempotency {
    /// The idempotency store on `config`'s table (create it with
    /// [`create_tables`](crate::create_tables)).
    pub fn new(client: Client, config: &DynamoConfig) -> Self {
        DynamoIdempotency { db: Db::new(client, config) }
    }
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotency {
    async fn begin(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyBegin, StoreError> {
        let lease_until = after(now, lease, "lease")?;
        let forget_at = after(lease_until, Duration::days(STARTED_GRACE_DAYS), "lease")?;
        let mut item = record_key(scope, key);
        item.extend([
            ("entity".to_owned(), s("idempotency")),
            ("scope".to_owned(), s(scope)),
            ("fingerprint".to_owned(), s(fingerprint)),
            ("state".to_owned(), s("started")),
            ("lease_until".to_owned(), time(lease_until)),
            ("lease_key".to_owned(), s(time_key(lease_until))),
            (TTL.to_owned(), epoch_seconds(forget_at)),
        ]);
        let sent = self
            .db
            .client
            .put_item()
            .table_name(&*self.db.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(#pk) \
                 OR (#state = :completed AND #expires <= :now) \
                 OR (#state = :started AND #lease <= :now AND #fp = :fp)",
            )
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#expires", "expires_key")
            .expression_attribute_names("#lease", "lease_key")
            .expression_attribute_names("#fp", "fingerprint")
            .expression_attribute_values(":completed", s("completed"))
            .expression_attribute_values(":started", s("started"))
            .expression_attribute_values(":now", s(time_key(now)))
            .expression_attribute_values(":fp", s(fingerprint))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match sent {
            Ok(_) => return Ok(IdempotencyBegin::Started),
            Err(err) => err,
        };
        let Some(stored) = condition_failed_item(&err) else {
            return Err(store_error("PutItem", &self.db.table, err));
        };
        let stored = stored.ok_or_else(|| {
            corrupt("idempotency record", "a failed condition returned no record")
        })?;
        let r = Reader::new(&stored, "idempotency record");
        if r.str("fingerprint")? != fingerprint {
            return Ok(IdempotencyBegin::Mismatch);
        }
        Ok(match r.str("state")? {
            "completed" => IdempotencyBegin::Completed(r.str("result")?.to_owned()),
            _ => IdempotencyBegin::InProgress,
        })
    }

    async fn complete(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        result: &str,
        now: DateTime<Utc>,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let expires = after(now, retention, "retention")?;
        let sent = self
            .db
            .client
            .update_item()
            .table_name(&*self.db.table)
            .set_key(Some(record_key(scope, key)))
            .update_expression(
                "SET #state = :completed, #result = :result, #expires = :expires, \
                 #expires_at = :expires_at, #ttl = :ttl REMOVE #lease, #lease_until",
            )
            .condition_expression("#state = :started")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#result", "result")
            .expression_attribute_names("#expires", "expires_key")
            .expression_attribute_names("#expires_at", "expires_at")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_names("#lease", "lease_key")
            .expression_attribute_names("#lease_until", "lease_until")
            .expression_attribute_values(":completed", s("completed"))
            .expression_attribute_values(":started", s("started"))
            .expression_attribute_values(":result", s(result))
            .expression_attribute_values(":expires", s(time_key(expires)))
            .expression_attribute_values(":expires_at", time(expires))
            .expression_attribute_values(":ttl", epoch_seconds(expires))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match sent {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        let Some(stored) = condition_failed_item(&err) else {
            return Err(store_error("UpdateItem", &self.db.table, err));
        };
        let not_found = || StoreError::not_found("idempotency key", format!("{scope}/{key}"));
        let Some(stored) = stored else {
            return Err(not_found());
        };
        // Completed already: the first result stays (a replay never changes), unless its
        // retention is over, when the key counts as unknown.
        let r = Reader::new(&stored, "idempotency record");
        if r.str("state")? == "completed" && r.str("expires_key")? > time_key(now).as_str() {
            return Ok(());
        }
        Err(not_found())
    }

    async fn abandon(&self, scope: &str, key: &IdempotencyKey) -> Result<(), StoreError> {
        let sent = self
            .db
            .client
            .delete_item()
            .table_name(&*self.db.table)
            .set_key(Some(record_key(scope, key)))
            .condition_expression("#state = :started")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":started", s("started"))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            // Completed (kept) or unknown (nothing to forget).
            Err(err) if condition_failed_item(&err).is_some() => Ok(()),
            Err(err) => Err(store_error("DeleteItem", &self.db.table, err)),
        }
    }
}

/// When `err` is a failed condition: `Some(the stored item, if any)`.
fn condition_failed_item<E>(
    err: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Option<Option<Item>>
where
    E: ConditionFailure,
{
    err.as_service_error().and_then(ConditionFailure::failed_item)
}

/// Operation errors that can be a `ConditionalCheckFailedException`.
trait ConditionFailure {
    /// `Some(the item returned with the failure)` when this is a failed condition.
    fn failed_item(&self) -> Option<Option<Item>>;
}

impl ConditionFailure for aws_sdk_dynamodb::operation::put_item::PutItemError {
    fn failed_item(&self) -> Option<Option<Item>> {
        match self {
            Self::ConditionalCheckFailedException(e) => Some(e.item().cloned()),
            _ => None,
        }
    }
}

impl ConditionFailure for aws_sdk_dynamodb::operation::update_item::UpdateItemError {
    fn failed_item(&self) -> Option<Option<Item>> {
        match self {
            Self::ConditionalCheckFailedException(e) => Some(e.item().cloned()),
            _ => None,
        }
    }
}

impl ConditionFailure for aws_sdk_dynamodb::operation::delete_item::DeleteItemError {
    fn failed_item(&self) -> Option<Option<Item>> {
        match self {
            Self::ConditionalCheckFailedException(e) => Some(e.item().cloned()),
            _ => None,
        }
    }
}

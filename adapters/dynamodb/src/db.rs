//! [`Db`]: the client and table every adapter shares, with the operations that need more
//! than one call to get right: batch reads (chunks of 100, unprocessed keys retried with
//! backoff) and transactions (the 100-item limit checked before sending, cancellation
//! reasons read back, conflicts with concurrent transactions retried).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{KeysAndAttributes, TransactWriteItem};
use futures::future::try_join_all;
use shopkit_core::ports::StoreError;

use crate::config::DynamoConfig;
use crate::error::store_error;
use crate::item::Item;

/// The most keys one `BatchGetItem` may ask for.
pub(crate) const BATCH_GET_LIMIT: usize = 100;

/// The most writes one `TransactWriteItems` may hold.
pub(crate) const TRANSACTION_LIMIT: usize = 100;

/// How often a batch read re-asks for unprocessed keys before giving up (`Unavailable`).
const BATCH_ATTEMPTS: u32 = 8;

/// How often a transaction cancelled only by conflicts with concurrent transactions is
/// retried before giving up (`Unavailable`).
const TRANSACTION_ATTEMPTS: u32 = 10;

/// The client and the table name, shared (cheaply cloned) by every adapter.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pub(crate) client: Client,
    pub(crate) table: Arc<str>,
}

/// Why a transaction was cancelled: one entry per write, in request order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Reason {
    /// `None` for a write that was fine; otherwise DynamoDB's code (`ConditionalCheckFailed`).
    pub(crate) code: Option<String>,
    /// The item as it was, for a failed condition with `ReturnValuesOnConditionCheckFailure`
    /// set to `ALL_OLD` (absent when no item existed).
    pub(crate) item: Option<Item>,
}

impl Reason {
    /// Whether this write's condition failed.
    pub(crate) fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }
}

/// How a transaction failed.
#[derive(Debug)]
pub(crate) enum TransactError {
    /// One or more conditions failed: nothing was written. One reason per write.
    Cancelled(Vec<Reason>),
    /// Anything else (throttled, unreachable, invalid), already mapped.
    Store(StoreError),
}

impl From<StoreError> for TransactError {
    fn from(e: StoreError) -> Self {
        TransactError::Store(e)
    }
}

impl Db {
    pub(crate) fn new(client: Client, config: &DynamoConfig) -> Self {
        Db { client, table: Arc::from(config.table()) }
    }

    /// The item at `key`, read with strong consistency.
    pub(crate) async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", &self.table, e))?;
        Ok(out.item)
    }

    /// The items at `keys` that exist (in no particular order), read with strong
    /// consistency: chunks of 100 keys, sent concurrently; keys DynamoDB leaves unprocessed
    /// (throttling, the 16 MB response limit) are asked for again with backoff.
    ///
    /// The caller passes distinct keys (DynamoDB refuses duplicates in one batch).
    pub(crate) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let chunks: Vec<Vec<Item>> = keys.chunks(BATCH_GET_LIMIT).map(<[Item]>::to_vec).collect();
        let pages =
            try_join_all(chunks.into_iter().map(|chunk| self.batch_get_chunk(chunk))).await?;
        Ok(pages.into_iter().flatten().collect())
    }

    async fn batch_get_chunk(&self, mut keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut attempt = 0;
        while !keys.is_empty() {
            let wanted = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut keys)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Invalid {
                    reason: format!("could not build a BatchGetItem request: {e}"),
                })?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&*self.table, wanted)
                .send()
                .await
                .map_err(|e| store_error("BatchGetItem", &self.table, e))?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(&*self.table).unwrap_or_default());
            }
            keys = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&*self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if keys.is_empty() {
                break;
            }
            attempt += 1;
            if attempt >= BATCH_ATTEMPTS {
                return Err(StoreError::Unavailable {
                    message: format!(
                        "DynamoDB left {} keys of a BatchGetItem on {} unprocessed after {attempt} attempts (throttled): retry later",
                        keys.len(),
                        self.table
                    ),
                    source: None,
                });
            }
            tracing::debug!(
                table = %self.table,
                unprocessed = keys.len(),
                attempt,
                "BatchGetItem left keys unprocessed; asking again"
            );
            tokio::time::sleep(backoff(attempt)).await;
        }
        Ok(found)
    }

    /// Runs `items` as one transaction (`what` names it in errors).
    ///
    /// - More than 100 writes is `Invalid` before anything is sent (`limit_advice` says
    ///   what the caller should do instead).
    /// - Cancelled by failed conditions: `TransactError::Cancelled` with one reason per
    ///   write, for the caller to map (`VersionConflict`, `OutOfStock`...).
    /// - Cancelled only by conflicts with concurrent transactions (`TransactionConflict`):
    ///   retried with backoff, then `Unavailable`.
    /// - Cancelled by throttling: `Unavailable`; by a validation error (item too large):
    ///   `Invalid`.
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        what: &str,
        limit_advice: &str,
    ) -> Result<(), TransactError> {
        if items.len() > TRANSACTION_LIMIT {
            return Err(TransactError::Store(StoreError::Invalid {
                reason: format!(
                    "{what} needs {} writes in one DynamoDB transaction, above its limit of {TRANSACTION_LIMIT}: {limit_advice}",
                    items.len()
                ),
            }));
        }
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match sent {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let reasons = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|r| Reason {
                        code: r.code().filter(|c| *c != "None").map(str::to_owned),
                        item: r.item().cloned(),
                    })
                    .collect::<Vec<_>>(),
                _ => return Err(store_error("TransactWriteItems", &self.table, err).into()),
            };
            let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code.as_deref()).collect();
            if codes.contains(&"ConditionalCheckFailed") {
                return Err(TransactError::Cancelled(reasons));
            }
            if codes
                .iter()
                .any(|c| matches!(*c, "ThrottlingError" | "ProvisionedThroughputExceeded"))
            {
                return Err(TransactError::Store(StoreError::Unavailable {
                    message: format!(
                        "DynamoDB throttled {what} on {} ({codes:?}): retry with backoff",
                        self.table
                    ),
                    source: Some(Box::new(err)),
                }));
            }
            if codes
                .iter()
                .any(|c| matches!(*c, "ValidationError" | "ItemCollectionSizeLimitExceeded"))
            {
                return Err(TransactError::Store(StoreError::Invalid {
                    reason: format!(
                        "DynamoDB refused {what} on {} ({codes:?}): an item may exceed the 400 KB limit",
                        self.table
                    ),
                }));
            }
            attempt += 1;
            if attempt >= TRANSACTION_ATTEMPTS || codes.iter().any(|c| *c != "TransactionConflict")
            {
                return Err(TransactError::Store(StoreError::Unavailable {
                    message: format!(
                        "{what} on {} was cancelled {attempt} times ({codes:?}, concurrent transactions on the same items): retry",
                        self.table
                    ),
                    source: Some(Box::new(err)),
                }));
            }
            tracing::debug!(table = %self.table, what, attempt, "transaction conflicted; retrying");
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
}

/// A pause before retry `attempt` (from 1): exponential from 10 ms, capped at 1 s, with
/// full jitter so racing retries spread out.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let ceiling_ms = (10u64 << attempt.min(7)).min(1000);
    let mut random = [0u8; 8];
    // Without randomness the pause is the ceiling: still a backoff, only less spread.
    let jitter = match getrandom::fill(&mut random) {
        Ok(()) => u64::from_le_bytes(random) % (ceiling_ms + 1),
        Err(_) => ceiling_ms,
    };
    Duration::from_millis(jitter.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_capped() {
        for attempt in 1..20 {
            let pause = backoff(attempt);
            assert!(pause >= Duration::from_millis(1));
            assert!(pause <= Duration::from_millis(1000));
        }
        assert!(backoff(1) <= Duration::from_millis(20));
    }
}

//! The table: its definition ([`table_definition`]) and its creation ([`create_tables`]).
//!
//! One table, keys `pk`/`sk` (strings), on-demand billing, two overloaded global secondary
//! indexes (projection `ALL`) and a TTL attribute. The crate docs list every item kind.

use std::fmt;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use shopkit_core::ports::StoreError;

use crate::config::DynamoConfig;
use crate::error::store_error;

/// The partition key attribute.
pub(crate) const PK: &str = "pk";
/// The sort key attribute.
pub(crate) const SK: &str = "sk";
/// The first index: product listings (all, by category), active reservations by expiry,
/// a customer's open carts by last change.
pub(crate) const GSI1: &str = "gsi1";
pub(crate) const GSI1PK: &str = "gsi1pk";
pub(crate) const GSI1SK: &str = "gsi1sk";
/// The second index: products by slug, open carts by last change.
pub(crate) const GSI2: &str = "gsi2";
pub(crate) const GSI2PK: &str = "gsi2pk";
pub(crate) const GSI2SK: &str = "gsi2sk";
/// The TTL attribute (epoch seconds): carts, closed reservations, idempotency records.
pub(crate) const TTL: &str = "ttl_epoch";

/// How long [`create_tables`] waits for a new table and its indexes to become active.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(600);

/// A global secondary index of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexDefinition {
    /// The index name.
    pub name: &'static str,
    /// Its partition key attribute (a string).
    pub partition_key: &'static str,
    /// Its sort key attribute (a string).
    pub sort_key: &'static str,
}

/// What [`create_tables`] creates: the table the adapters expect, described without any
/// SDK type (for a `shop` subcommand, infrastructure-as-code, or a review).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableDefinition {
    /// The table name.
    pub name: String,
    /// The partition key attribute (a string).
    pub partition_key: &'static str,
    /// The sort key attribute (a string).
    pub sort_key: &'static str,
    /// The global secondary indexes, each projecting every attribute.
    pub indexes: Vec<IndexDefinition>,
    /// The attribute DynamoDB's TTL deletes expired items by (epoch seconds).
    pub ttl_attribute: &'static str,
}

impl TableDefinition {
    /// The `CreateTable` request as JSON, for `aws dynamodb create-table --cli-input-json`
    /// (on-demand billing). Enable TTL on [`ttl_attribute`](Self::ttl_attribute) afterwards.
    pub fn to_create_table_json(&self) -> String {
        let mut attributes = vec![self.partition_key, self.sort_key];
        for index in &self.indexes {
            attributes.extend([index.partition_key, index.sort_key]);
        }
        let attribute_definitions: Vec<serde_json::Value> = attributes
            .iter()
            .map(|a| serde_json::json!({ "AttributeName": a, "AttributeType": "S" }))
            .collect();
        let key = |pk: &str, sk: &str| {
            serde_json::json!([
                { "AttributeName": pk, "KeyType": "HASH" },
                { "AttributeName": sk, "KeyType": "RANGE" }
            ])
        };
        let indexes: Vec<serde_json::Value> = self
            .indexes
            .iter()
            .map(|i| {
                serde_json::json!({
                    "IndexName": i.name,
                    "KeySchema": key(i.partition_key, i.sort_key),
                    "Projection": { "ProjectionType": "ALL" }
                })
            })
            .collect();
        let request = serde_json::json!({
            "TableName": self.name,
            "AttributeDefinitions": attribute_definitions,
            "KeySchema": key(self.partition_key, self.sort_key),
            "GlobalSecondaryIndexes": indexes,
            "BillingMode": "PAY_PER_REQUEST"
        });
        serde_json::to_string_pretty(&request).unwrap_or_default()
    }
}

impl fmt::Display for TableDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "table {} (on-demand)", self.name)?;
        writeln!(f, "  key: {} (S, hash), {} (S, range)", self.partition_key, self.sort_key)?;
        for i in &self.indexes {
            writeln!(
                f,
                "  index {}: {} (S, hash), {} (S, range), projection ALL",
                i.name, i.partition_key, i.sort_key
            )?;
        }
        write!(f, "  TTL: {}", self.ttl_attribute)
    }
}

/// The table the adapters configured with `config` expect.
pub fn table_definition(config: &DynamoConfig) -> TableDefinition {
    TableDefinition {
        name: config.table().to_owned(),
        partition_key: PK,
        sort_key: SK,
        indexes: vec![
            IndexDefinition { name: GSI1, partition_key: GSI1PK, sort_key: GSI1SK },
            IndexDefinition { name: GSI2, partition_key: GSI2PK, sort_key: GSI2SK },
        ],
        ttl_attribute: TTL,
    }
}

fn build_error(e: BuildError) -> StoreError {
    StoreError::Invalid { reason: format!("could not build the table definition: {e}") }
}

fn key_schema(pk: &str, sk: &str) -> Result<Vec<KeySchemaElement>, StoreError> {
    Ok(vec![
        KeySchemaElement::builder()
            .attribute_name(pk)
            .key_type(KeyType::Hash)
            .build()
            .map_err(build_error)?,
        KeySchemaElement::builder()
            .attribute_name(sk)
            .key_type(KeyType::Range)
            .build()
            .map_err(build_error)?,
    ])
}

/// Creates the table of `config` with its indexes and TTL, and waits until it is active.
///
/// Idempotent: an existing table is fine (it is checked to have the expected keys and
/// indexes, and TTL is enabled if it is not). Safe to run at every start of the shop or of
/// a test.
///
/// # Errors
/// `StoreError::Invalid` when a table of that name exists with other keys or without the
/// indexes; `StoreError::Unavailable` when DynamoDB fails, refuses the credentials, or the
/// table is not active within 10 minutes.
pub async fn create_tables(client: &Client, config: &DynamoConfig) -> Result<(), StoreError> {
    let definition = table_definition(config);
    let table = definition.name.as_str();
    let mut attributes = Vec::new();
    let mut names = vec![definition.partition_key, definition.sort_key];
    for i in &definition.indexes {
        names.extend([i.partition_key, i.sort_key]);
    }
    for name in names {
        attributes.push(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_error)?,
        );
    }
    let mut request = client
        .create_table()
        .table_name(table)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(definition.partition_key, definition.sort_key)?))
        .billing_mode(BillingMode::PayPerRequest);
    for i in &definition.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(i.name)
                .set_key_schema(Some(key_schema(i.partition_key, i.sort_key)?))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(build_error)?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(CreateTableError::ResourceInUseException(_))
            ) => {}
        Err(e) => return Err(store_error("CreateTable", table, e)),
    }
    wait_until_active(client, &definition).await?;
    enable_ttl(client, &definition).await
}

/// Polls `DescribeTable` until the table and every index are `ACTIVE`, checking that the
/// table has the expected keys and indexes.
async fn wait_until_active(
    client: &Client,
    definition: &TableDefinition,
) -> Result<(), StoreError> {
    let table = definition.name.as_str();
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| store_error("DescribeTable", table, e))?;
        let Some(description) = described.table() else {
            return Err(StoreError::Unavailable {
                message: format!("DynamoDB described table {table} without a description: retry"),
                source: None,
            });
        };
        let keys: Vec<(&str, &KeyType)> =
            description.key_schema().iter().map(|k| (k.attribute_name(), k.key_type())).collect();
        if keys != [(PK, &KeyType::Hash), (SK, &KeyType::Range)] {
            return Err(StoreError::Invalid {
                reason: format!(
                    "table {table} exists with other keys ({keys:?}); shopkit needs pk (hash) and sk (range): use another table name"
                ),
            });
        }
        let indexes = description.global_secondary_indexes();
        for wanted in &definition.indexes {
            if !indexes.iter().any(|i| i.index_name() == Some(wanted.name)) {
                return Err(StoreError::Invalid {
                    reason: format!(
                        "table {table} has no index {}: add it ({} hash, {} range, projection ALL) or use another table name",
                        wanted.name, wanted.partition_key, wanted.sort_key
                    ),
                });
            }
        }
        let table_active = description.table_status() == Some(&TableStatus::Active);
        let indexes_active =
            indexes.iter().all(|i| i.index_status().is_none_or(|s| *s == IndexStatus::Active));
        if table_active && indexes_active {
            return Ok(());
        }
        if started.elapsed() > ACTIVE_TIMEOUT {
            return Err(StoreError::Unavailable {
                message: format!(
                    "table {table} is not active after {} s: check it in the console and retry",
                    ACTIVE_TIMEOUT.as_secs()
                ),
                source: None,
            });
        }
        // Waiting on the service's own progress (table creation), not synchronising threads.
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

async fn enable_ttl(client: &Client, definition: &TableDefinition) -> Result<(), StoreError> {
    let table = definition.name.as_str();
    let described = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| store_error("DescribeTimeToLive", table, e))?;
    let status = described.time_to_live_description().and_then(|d| d.time_to_live_status());
    if matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
        return Ok(());
    }
    let specification = TimeToLiveSpecification::builder()
        .attribute_name(definition.ttl_attribute)
        .enabled(true)
        .build()
        .map_err(build_error)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(specification)
        .send()
        .await
        .map_err(|e| store_error("UpdateTimeToLive", table, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_names_the_keys_indexes_and_ttl() {
        let config = DynamoConfig::new("shop-prod").unwrap();
        let definition = table_definition(&config);
        assert_eq!(definition.name, "shop-prod");
        assert_eq!(definition.indexes.len(), 2);
        let json: serde_json::Value =
            serde_json::from_str(&definition.to_create_table_json()).unwrap();
        assert_eq!(json["TableName"], "shop-prod");
        assert_eq!(json["GlobalSecondaryIndexes"][1]["IndexName"], "gsi2");
        assert_eq!(json["AttributeDefinitions"].as_array().unwrap().len(), 6);
        assert!(definition.to_string().contains("TTL: ttl_epoch"));
    }
}

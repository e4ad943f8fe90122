//! Shared by the moto tests: a client for the emulator that counts its round trips, and a
//! fresh table per test.

#![allow(dead_code)]

use std::sync::{Arc, Mutex, PoisonError};

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use shopkit_dynamodb::{DynamoConfig, create_tables};

/// Counts the requests a client sends (every attempt, retries included), by operation.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoundTrips {
    sent: Arc<Mutex<Vec<String>>>,
}

impl RoundTrips {
    /// Forgets what was counted so far.
    pub(crate) fn reset(&self) {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// The operations sent since the last reset, in order (`"GetItem"`).
    pub(crate) fn operations(&self) -> Vec<String> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // DynamoDB's JSON protocol names the operation in this header:
        // `DynamoDB_20120810.GetItem`.
        let operation = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_owned();
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).push(operation);
        Ok(())
    }
}

/// A client for the emulator at `endpoint` (static test credentials, us-east-1) and the
/// counter of its round trips.
pub(crate) async fn client(endpoint: &str) -> (Client, RoundTrips) {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .endpoint_url(endpoint)
        .load()
        .await;
    let counter = RoundTrips::default();
    let config =
        aws_sdk_dynamodb::config::Builder::from(&shared).interceptor(counter.clone()).build();
    (Client::from_conf(config), counter)
}

/// A new table of its own (never shared with another test: moto is never reset).
pub(crate) async fn fresh_table(client: &Client) -> DynamoConfig {
    let name = format!("shopkit-test-{}", uuid::Uuid::new_v4().simple());
    let config = DynamoConfig::new(name).expect("a valid table name");
    create_tables(client, &config).await.expect("create the test table in the emulator");
    config
}

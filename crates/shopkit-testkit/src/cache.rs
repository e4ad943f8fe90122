//! Contracts of [`Cache`]: values round-trip until their TTL passes, `set` replaces,
//! `delete` of a missing key is fine.
//!
//! Each contract takes a fresh, empty cache and a [`TimeControl`]: how to let time pass for
//! that cache. An in-memory cache reads an injected clock that the test moves
//! ([`TimeControl::manual`]); Redis expires keys on the server's own clock, so its run lets
//! real time pass ([`TimeControl::wall`]). The contracts use TTLs of a few seconds so both
//! stay fast.

use std::sync::Arc;

use chrono::Duration;
use shopkit_core::ports::Cache;

use crate::fixtures::unique;
use crate::support::{Must, TimeControl};

fn key(name: &str) -> String {
    format!("testkit:{}:{name}", unique())
}

/// `get` after `set` returns the bytes stored (binary and empty values included); keys
/// are independent and an unknown key is a miss.
pub async fn get_returns_what_set_stored(cache: Arc<dyn Cache>) {
    // Arrange
    let (a, b, empty) = (key("a"), key("b"), key("empty"));
    let binary: Vec<u8> = (0..=255).collect();

    // Act
    cache.set(&a, b"alpha", Duration::minutes(5)).await.must("set a");
    cache.set(&b, &binary, Duration::minutes(5)).await.must("set b");
    cache.set(&empty, b"", Duration::minutes(5)).await.must("set an empty value");

    // Assert
    assert_eq!(cache.get(&a).await.must("get a"), Some(b"alpha".to_vec()));
    assert_eq!(cache.get(&b).await.must("get b"), Some(binary), "values are bytes, not text");
    assert_eq!(
        cache.get(&empty).await.must("get empty"),
        Some(Vec::new()),
        "an empty value is a hit"
    );
    assert_eq!(cache.get(&key("missing")).await.must("get missing"), None);
}

/// `set` of an existing key replaces its value.
pub async fn set_replaces_the_value(cache: Arc<dyn Cache>) {
    // Arrange
    let k = key("k");
    cache.set(&k, b"old", Duration::minutes(5)).await.must("set");

    // Act
    cache.set(&k, b"new", Duration::minutes(5)).await.must("set again");

    // Assert
    assert_eq!(cache.get(&k).await.must("get"), Some(b"new".to_vec()));
}

/// A value is returned until its TTL passes, then it is a miss; a replacing `set` starts
/// a new TTL.
pub async fn values_expire_after_their_ttl(cache: Arc<dyn Cache>, time: TimeControl) {
    // Arrange
    let short = key("short");
    let renewed = key("renewed");
    cache.set(&short, b"v", Duration::seconds(2)).await.must("set with a 2 s TTL");
    cache.set(&renewed, b"v1", Duration::seconds(2)).await.must("set with a 2 s TTL");

    // Act
    time.advance(Duration::seconds(1)).await;
    let fresh = cache.get(&short).await.must("get within the TTL");
    cache.set(&renewed, b"v2", Duration::seconds(4)).await.must("replace with a 4 s TTL");
    time.advance(Duration::milliseconds(1500)).await;
    let stale = cache.get(&short).await.must("get after the TTL");
    let still = cache.get(&renewed).await.must("get a renewed key");

    // Assert
    assert_eq!(fresh, Some(b"v".to_vec()), "a value is returned until its TTL passes");
    assert_eq!(stale, None, "a value past its TTL is a miss");
    assert_eq!(still, Some(b"v2".to_vec()), "a replacing set starts a new TTL");
}

/// `delete` removes a value; deleting a missing key is not an error.
pub async fn delete_removes_and_tolerates_missing_keys(cache: Arc<dyn Cache>) {
    // Arrange
    let k = key("k");
    cache.set(&k, b"v", Duration::minutes(5)).await.must("set");

    // Act
    cache.delete(&k).await.must("delete");
    cache.delete(&k).await.must("delete again");
    cache.delete(&key("never-set")).await.must("delete a key never set");

    // Assert
    assert_eq!(cache.get(&k).await.must("get"), None);
}

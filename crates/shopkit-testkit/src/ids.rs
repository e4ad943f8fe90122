//! Contracts of [`IdGenerator`]: UUIDs never repeat within a process, even from many
//! threads at once; cart tokens carry at least 128 bits and look uniformly random.
//!
//! Randomness cannot be proven by a test; these contracts catch the failures that matter
//! in practice (counters, short tokens, a constant seed), with bounds so wide that a real
//! CSPRNG fails them with negligible probability.

use std::collections::HashSet;
use std::sync::Arc;

use shopkit_core::ports::IdGenerator;
use uuid::Uuid;

use crate::support::race;

/// 8 threads take 2 000 UUIDs each at once: no UUID repeats.
pub async fn uuids_never_repeat(ids: Arc<dyn IdGenerator>) {
    // Act
    let batches = race(8, |_| {
        let ids = Arc::clone(&ids);
        async move { (0..2000).map(|_| ids.uuid()).collect::<Vec<Uuid>>() }
    })
    .await;

    // Assert
    let all: Vec<Uuid> = batches.into_iter().flatten().collect();
    let unique: HashSet<&Uuid> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a UUID repeated within the process");
}

/// Cart tokens have at least 128 bits (32 hex digits), never repeat, and their hex digits
/// are spread like random ones (a counter or a constant would not be).
pub async fn cart_tokens_are_unguessable(ids: Arc<dyn IdGenerator>) {
    // Act
    let tokens: Vec<String> = (0..512).map(|_| ids.cart_token().expose().to_owned()).collect();

    // Assert
    let unique: HashSet<&String> = tokens.iter().collect();
    assert_eq!(unique.len(), tokens.len(), "a cart token repeated");
    let mut counts = [0usize; 16];
    let mut digits = 0usize;
    for t in &tokens {
        assert!(
            t.len() >= 32,
            "a cart token needs at least 128 bits (32 hex digits), got {}",
            t.len()
        );
        let distinct: HashSet<char> = t.chars().collect();
        assert!(
            distinct.len() >= 6,
            "a cart token uses only {} distinct hex digits: not random",
            distinct.len()
        );
        for c in t.chars() {
            if let Some(d) = c.to_digit(16) {
                counts[d as usize] += 1;
                digits += 1;
            }
        }
    }
    // Each hex digit should make up about 1/16 of all digits; allow 1/32 to 1/8 (over ten
    // standard deviations for 16 000+ digits).
    for (d, n) in counts.iter().enumerate() {
        assert!(
            *n * 32 >= digits && *n * 8 <= digits,
            "hex digit {d:x} makes up {n} of {digits} token digits: tokens are not uniformly random"
        );
    }
}

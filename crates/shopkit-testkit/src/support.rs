//! Small helpers the contracts share: failing a step with a clear message, gating real
//! adapters on their service, and running racing tasks.

use std::fmt::{self, Display};
use std::future::Future;
use std::io::Write;
use std::sync::Arc;

use chrono::Duration;
use futures::future::BoxFuture;
use tokio::sync::Barrier;

/// Turns a failed step of a contract into a panic that says which step failed and why.
///
/// Contracts are assertions: failing loudly is their job. `must` reads better than
/// `unwrap` and names the step, so an adapter author sees "contract step failed: insert a
/// fresh product: storage unavailable: ..." instead of a bare `Err` debug dump.
pub trait Must<T> {
    /// The value, or a panic naming `step` and the error.
    fn must(self, step: &str) -> T;
}

impl<T, E: Display> Must<T> for Result<T, E> {
    #[track_caller]
    fn must(self, step: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("contract step failed: {step}: {e}"),
        }
    }
}

impl<T> Must<T> for Option<T> {
    #[track_caller]
    fn must(self, step: &str) -> T {
        match self {
            Some(v) => v,
            None => panic!("contract step failed: {step}: found nothing"),
        }
    }
}

/// The value of `env_var` when the service it points to is configured.
///
/// Real adapters' tests talk to real servers or emulators configured by environment
/// variables (`SHOPKIT_TEST_POSTGRES_URL`). Call this first:
/// - the variable is set and not blank: returns its value;
/// - it is missing and `CI=true` (or `CI=1`): **panics**, so a CI job that forgot to start
///   the service fails instead of passing green with nothing tested;
/// - it is missing elsewhere: writes the reason to stderr (past the test harness's output
///   capture, so it shows in a plain `cargo test`) and returns `None`: skip the test.
///
/// # Panics
/// When the variable is missing and `CI` is `true` or `1`.
pub fn require_service(env_var: &str) -> Option<String> {
    if let Some(value) = std::env::var(env_var).ok().filter(|v| !v.trim().is_empty()) {
        return Some(value);
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    if in_ci {
        panic!(
            "{env_var} is not set but CI=true: start the service and export {env_var} \
             (a conformance run in CI must never skip)"
        );
    }
    // Written straight to stderr: libtest captures `eprintln!` of passing tests, and a skip
    // nobody sees is a silent skip.
    let _ = writeln!(
        std::io::stderr(),
        "skipping: {env_var} is not set (export it to run this conformance test against a real service)"
    );
    None
}

/// Runs `n` copies of a task on the runtime's worker threads, released together by a
/// barrier so they really race, and returns their results in task order.
///
/// # Panics
/// When a task panics (its panic is re-raised with the task number).
pub async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let barrier = Arc::clone(&barrier);
        let fut = task(i);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            fut.await
        }));
    }
    let mut out = Vec::with_capacity(n);
    for (i, h) in futures::future::join_all(handles).await.into_iter().enumerate() {
        match h {
            Ok(v) => out.push(v),
            Err(e) => panic!("racing task {i} failed: {e}"),
        }
    }
    out
}

/// How a contract lets time pass for the adapter under test (cache TTLs, presigned URL
/// expiry).
#[derive(Clone)]
pub struct TimeControl {
    advance: Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>,
}

impl fmt::Debug for TimeControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TimeControl")
    }
}

impl TimeControl {
    /// For an adapter that reads an injected clock: `advance` moves that clock (a
    /// `ManualClock::advance`), no time passes for real.
    pub fn manual(advance: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        let advance = Arc::new(advance);
        TimeControl {
            advance: Arc::new(move |by| {
                advance(by);
                Box::pin(async {})
            }),
        }
    }

    /// For a backend that expires things on its own clock (Redis TTLs, S3 presigned URLs):
    /// real time passes. Not a sleep for synchronisation: the server's expiry is what is
    /// under test.
    pub fn wall() -> Self {
        TimeControl {
            advance: Arc::new(|by: Duration| {
                let wait = by.to_std().unwrap_or_default();
                Box::pin(tokio::time::sleep(wait))
            }),
        }
    }

    /// Lets `by` pass.
    pub async fn advance(&self, by: Duration) {
        (self.advance)(by).await;
    }
}

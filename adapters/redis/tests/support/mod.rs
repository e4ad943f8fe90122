//! What the Redis test files share: a fresh key prefix per test, the cleanup of old test
//! keys, throwaway `redis-server` processes for fault tests, and a counting product source.
#![allow(dead_code)] // each test file uses a part

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use shopkit_core::catalog::{Category, Product};
use shopkit_core::ids::{ProductId, Sku, Slug};
use shopkit_core::ports::{Page, ProductQuery, ProductRepository, StoreError};
use shopkit_memory::MemoryProducts;
use shopkit_redis::{RedisConfig, RedisConnection};
use tokio::process::{Child, Command};
use tokio::sync::Notify;
use uuid::Uuid;

/// The env var that turns the Redis tests on; CI sets it to `redis://127.0.0.1:6379`
/// (`scripts/services` prints it).
pub(crate) const REDIS_URL_VAR: &str = "SHOPKIT_TEST_REDIS_URL";

/// Where test keys live: `shopkit-test:{unix seconds}:{uuid}:...`.
const TEST_NAMESPACE: &str = "shopkit-test";

/// Test keys older than this are deleted by the first test of a later run.
const OLD_TEST_KEYS: Duration = Duration::from_secs(3600);

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A key prefix no other test uses.
pub(crate) fn fresh_prefix() -> String {
    format!("{TEST_NAMESPACE}:{}:{}", unix_now(), Uuid::new_v4().simple())
}

/// A connection to the test Redis under a fresh prefix, with a generous timeout (the
/// suites run in parallel on small machines; the fault tests use short ones).
pub(crate) async fn fresh_connection(url: &str) -> RedisConnection {
    sweep_old_test_keys(url).await;
    let config = RedisConfig::new(url)
        .with_key_prefix(fresh_prefix())
        .with_command_timeout(Duration::from_secs(2));
    RedisConnection::open(&config).expect("open a connection to the test Redis")
}

/// Once per test process: deletes the keys of test runs older than an hour (carts made at
/// the testkit's instant, 2030, would otherwise stay for years in a developer's Redis).
async fn sweep_old_test_keys(url: &str) {
    static SWEPT: AtomicBool = AtomicBool::new(false);
    if SWEPT.swap(true, Ordering::SeqCst) {
        return;
    }
    let client = redis::Client::open(url).expect("a valid SHOPKIT_TEST_REDIS_URL");
    let mut conn =
        client.get_multiplexed_async_connection().await.expect("connect to SHOPKIT_TEST_REDIS_URL");
    let cutoff = unix_now().saturating_sub(OLD_TEST_KEYS.as_secs());
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{TEST_NAMESPACE}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .expect("scan test keys");
        let old: Vec<&String> = keys
            .iter()
            .filter(|k| {
                k.split(':').nth(1).and_then(|s| s.parse::<u64>().ok()).is_some_and(|t| t < cutoff)
            })
            .collect();
        if !old.is_empty() {
            let _: () = redis::cmd("UNLINK")
                .arg(&old)
                .query_async(&mut conn)
                .await
                .expect("delete old test keys");
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}

/// A plain connection for arranging and inspecting keys directly.
pub(crate) async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("a valid redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis")
}

/// A `redis-server` of this test alone, on a free loopback port.
pub(crate) struct ThrowawayRedis {
    port: u16,
    dir: Option<PathBuf>,
    child: Option<Child>,
}

impl ThrowawayRedis {
    /// Starts a server that keeps nothing on disk.
    pub(crate) async fn start() -> Self {
        Self::start_with(None).await
    }

    /// Starts a server that logs every write to an append-only file in `dir` (fsync each
    /// write), so a restart brings its data back, as a failover to a replica would.
    pub(crate) async fn start_persistent(dir: &Path) -> Self {
        Self::start_with(Some(dir.to_path_buf())).await
    }

    async fn start_with(dir: Option<PathBuf>) -> Self {
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            probe.local_addr().expect("a local address").port()
        };
        let mut server = ThrowawayRedis { port, dir, child: None };
        server.spawn().await;
        server
    }

    /// `redis://127.0.0.1:{port}`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let binary =
            std::env::var("SHOPKIT_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut cmd = Command::new(&binary);
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--save")
            .arg("")
            .arg("--daemonize")
            .arg("no")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        match &self.dir {
            Some(dir) => {
                cmd.arg("--dir").arg(dir).args(["--appendonly", "yes", "--appendfsync", "always"]);
            }
            None => {
                cmd.args(["--appendonly", "no"]);
            }
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "could not start {binary} ({e}): the fault tests need a redis-server binary \
                 (apt-get install redis-server, or set SHOPKIT_TEST_REDIS_SERVER to its path)"
            )
        });
        self.child = Some(child);
        self.wait_until_up().await;
    }

    async fn wait_until_up(&self) {
        let client = redis::Client::open(self.url()).expect("a valid url");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let ping = async {
                let mut conn = client.get_multiplexed_async_connection().await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await
            };
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(500), ping).await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server on port {} did not answer within 10 s",
                self.port
            );
            // Polling a process we just started; nothing to synchronise with but its socket.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the server (SIGKILL: no goodbye, no final save).
    pub(crate) async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill redis-server");
        }
    }

    /// Starts the server again on the same port (and directory).
    pub(crate) async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    pub(crate) fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Thaws a frozen server (SIGCONT).
    pub(crate) fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().and_then(Child::id).expect("a running redis-server");
        let status = std::process::Command::new("kill")
            .arg(signal)
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid} failed");
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // A frozen process still dies of SIGKILL.
            let _ = child.start_kill();
        }
    }
}

/// A product source that counts its reads and can hold the first `get` until released.
#[derive(Default)]
pub(crate) struct CountingProducts {
    inner: MemoryProducts,
    pub gets: AtomicUsize,
    pub by_slugs: AtomicUsize,
    pub category_reads: AtomicUsize,
    hold_next_get: AtomicBool,
    pub held: Notify,
    pub release: Notify,
}

impl CountingProducts {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The next `get` reads the product, then waits for `release` before answering (a
    /// database read that happened before a concurrent write). `held` fires when it waits.
    pub(crate) fn hold_next_get(&self) {
        self.hold_next_get.store(true, Ordering::SeqCst);
    }

    pub(crate) fn loads(&self) -> usize {
        self.gets.load(Ordering::SeqCst) + self.by_slugs.load(Ordering::SeqCst)
    }

    /// Writes straight to the source, behind the cache's back.
    pub(crate) fn behind_the_cache(&self) -> &MemoryProducts {
        &self.inner
    }
}

#[async_trait]
impl ProductRepository for CountingProducts {
    async fn insert(&self, product: &Product) -> Result<u64, StoreError> {
        self.inner.insert(product).await
    }
    async fn update(&self, product: &Product) -> Result<u64, StoreError> {
        self.inner.update(product).await
    }
    async fn delete(&self, id: ProductId) -> Result<(), StoreError> {
        self.inner.delete(id).await
    }
    async fn get(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        let found = self.inner.get(id).await;
        if self.hold_next_get.swap(false, Ordering::SeqCst) {
            self.held.notify_one();
            self.release.notified().await;
        }
        found
    }
    async fn by_slug(&self, slug: &Slug) -> Result<Option<Product>, StoreError> {
        self.by_slugs.fetch_add(1, Ordering::SeqCst);
        self.inner.by_slug(slug).await
    }
    async fn by_skus(&self, skus: &[Sku]) -> Result<Vec<Product>, StoreError> {
        self.inner.by_skus(skus).await
    }
    async fn list(&self, query: &ProductQuery) -> Result<Page<Product>, StoreError> {
        self.inner.list(query).await
    }
    async fn upsert_category(&self, category: &Category) -> Result<(), StoreError> {
        self.inner.upsert_category(category).await
    }
    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        self.category_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.categories().await
    }
}

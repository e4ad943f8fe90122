//! PostgreSQL and Redis (issue 4), every comparison measured in the same run.
//!
//! 1. **Product detail**: `CachedProducts` over `PgProducts` (warm) vs `PgProducts::get`
//!    vs a bare Redis `GET` of the cached entry itself (same bytes) through the SAME
//!    `ConnectionManager`; single-task latency (criterion) and throughput of `TASKS`
//!    concurrent tasks; `redis-benchmark` on the same key as an external reference.
//! 2. **Checkout on PostgreSQL**: the checkout service over the PG stores (products
//!    behind the Redis cache, the fake gateway in memory: the shop's `postgres` profile),
//!    orders/s at concurrency 1 and `TASKS`, vs `benches/pg_ceiling.sh` (pgbench issuing the
//!    same statements) at the same client count. Run with the default `PgConfig`, without
//!    the ping before use, and with a pool as large as the concurrency.
//! 3. **No oversell at 500-way contention**: 500 concurrent 1-unit reservations through
//!    `PgInventory` of a SKU with 100 units: exactly 100 succeed, reserved == on_hand. An
//!    assertion, not a timing.
//!
//! Everything lives in a schema and a Redis key prefix of its own (`bench_pgr_<run>`,
//! `bench-pgr-<run>`), dropped at the end, also when a step fails (not when the process is
//! killed).
//!
//! Single-task latencies run on a current-thread runtime (caller, Redis connection driver
//! and pool on one thread, like `benches/checkout.rs`); throughput runs `TASKS` tasks (32,
//! or `SHOPKIT_BENCH_TASKS`) on a 2-worker multi-thread runtime. Diagnostic rows break the
//! cached read down (bare MGET, JSON decode, clone, a near-cache what-if) and try
//! `PgConfig` settings (`ping_before_use`, pool size); while each checkout run goes on, a
//! sampler records what the PostgreSQL sessions wait for (`pg_stat_activity`). Checkout
//! runs alternate with their pgbench run, `rounds` times, and report medians.
//!
//! Run with (loopback servers; `eval "$(scripts/services)"` starts them):
//! `SHOPKIT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test
//!  SHOPKIT_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo bench --bench postgres_redis`
//!
//! Without `--bench` (`cargo test --bench postgres_redis`) it runs a smoke version: small
//! counts, each criterion bench once, the oversell assertion in full.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::Criterion;
use criterion::measurement::WallTime;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use rust_decimal::Decimal;
use shopkit::core::catalog::{Product, ProductStatus};
use shopkit::core::ids::{
    CartId, CouponCode, Email, IdempotencyKey, LocationId, ProductId, PromotionId, ReservationId,
    Sku,
};
use shopkit::core::inventory::{
    BackorderPolicy, InventoryError, ReservationLine, ReservationRequest,
};
use shopkit::core::money::{Currency, Money};
use shopkit::core::ports::{
    InventoryStore, PaymentMethodToken, ProductQuery, ProductRepository, PromotionRepository,
};
use shopkit::core::pricing::{Promotion, PromotionKind};
use shopkit::core::quantity::Quantity;
use shopkit::core::services::{
    CartAccess, CheckoutRequest, Delivery, ProductDraft, Shop, VariantDraft,
};
use shopkit::memory::InMemory;
use shopkit_postgres::{PgConfig, PgStore};
use shopkit_redis::{CachedProducts, CatalogCacheConfig, RedisConfig, RedisConnection};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// Demo products seeded (the shop's `seed_demo`): the product-detail working set.
const DEMO_PRODUCTS: usize = 64;
/// Lines of each checkout cart (with a 10% coupon, like `benches/checkout.rs`).
const LINES: usize = 3;
/// The oversell check: this many racing reservations of 1 unit ...
const CONTENDERS: usize = 500;
/// ... of a SKU with this many units.
const UNITS: i64 = 100;

/// How much work each part does.
#[derive(Clone, Copy, Debug)]
struct Scale {
    /// Concurrent tasks of the throughput runs (and pgbench clients).
    tasks: usize,
    /// Operations per product-detail throughput run, Redis paths.
    redis_ops: usize,
    /// Operations per product-detail throughput run, PostgreSQL path.
    pg_ops: usize,
    /// Throughput runs per path, and rounds of checkout runs (medians are reported).
    rounds: usize,
    /// Checkouts at concurrency 1, and at concurrency `tasks`.
    checkouts_single: usize,
    checkouts_concurrent: usize,
    /// redis-benchmark requests per run.
    redis_benchmark_requests: usize,
    /// Criterion settings.
    sample_size: usize,
    measurement: Duration,
    warm_up: Duration,
}

impl Scale {
    fn full(tasks: usize) -> Self {
        Scale {
            tasks,
            redis_ops: 60_000,
            pg_ops: 12_000,
            rounds: 3,
            checkouts_single: 300,
            checkouts_concurrent: 1_500,
            redis_benchmark_requests: 100_000,
            sample_size: 40,
            measurement: Duration::from_secs(5),
            warm_up: Duration::from_secs(1),
        }
    }

    fn smoke(tasks: usize) -> Self {
        Scale {
            tasks,
            redis_ops: 640,
            pg_ops: 320,
            rounds: 1,
            checkouts_single: 10,
            checkouts_concurrent: 64,
            redis_benchmark_requests: 1_000,
            sample_size: 10,
            measurement: Duration::from_millis(100),
            warm_up: Duration::from_millis(50),
        }
    }
}

/// One row of the summary.
struct Row {
    what: String,
    value: String,
    baseline: String,
    ratio: String,
    target: String,
}

/// What the run measured, printed at the end as markdown.
#[derive(Default)]
struct Report {
    sections: Vec<(String, Vec<Row>)>,
    notes: Vec<String>,
}

impl Report {
    fn section(&mut self, title: &str) {
        self.sections.push((title.to_owned(), Vec::new()));
    }

    fn row(&mut self, what: &str, value: String, baseline: String, ratio: String, target: &str) {
        let row = Row { what: what.to_owned(), value, baseline, ratio, target: target.to_owned() };
        println!(
            "postgres_redis: {} = {} | baseline {} | ratio {} | {}",
            row.what, row.value, row.baseline, row.ratio, row.target
        );
        if self.sections.is_empty() {
            self.section("results");
        }
        if let Some((_, rows)) = self.sections.last_mut() {
            rows.push(row);
        }
    }

    fn note(&mut self, note: String) {
        println!("postgres_redis: {note}");
        self.notes.push(note);
    }

    fn markdown(&self) -> String {
        let mut out = String::new();
        for (title, rows) in &self.sections {
            let _ = writeln!(out, "\n### {title}\n");
            let _ = writeln!(out, "| measured | value | baseline | ratio | target |");
            let _ = writeln!(out, "| --- | --- | --- | --- | --- |");
            for r in rows {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    r.what, r.value, r.baseline, r.ratio, r.target
                );
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out);
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }
}

/// The servers, the stores and the names this run owns.
struct Fixture {
    pg_url: String,
    redis_url: String,
    schema: String,
    prefix: String,
    /// The store with the default `PgConfig` (the shop's `postgres` profile).
    store: PgStore,
    /// The Redis connection manager every Redis path of the throughput runs shares.
    manager: ConnectionManager,
    redis: RedisConnection,
    redis_config: RedisConfig,
    world: InMemory,
    demo_ids: Vec<ProductId>,
}

fn unix_nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

fn pg_config(schema: &str) -> PgConfig {
    PgConfig { schema: Some(schema.to_owned()), ..PgConfig::default() }
}

fn sku(i: usize) -> Sku {
    Sku::new(&format!("BENCH-{i}")).expect("a valid sku")
}

/// The shop's `postgres` profile (examples/shop/src/wiring.rs): every persistent port in
/// PostgreSQL, products behind the Redis cache, payments and time in memory.
fn pg_shop(store: &PgStore, redis: &RedisConnection, world: &InMemory) -> Shop {
    let source: Arc<dyn ProductRepository> = Arc::new(store.products());
    let products: Arc<dyn ProductRepository> =
        Arc::new(CachedProducts::new(source, redis.clone(), CatalogCacheConfig::default()));
    Shop::builder()
        .products(products)
        .search(Arc::new(store.search()))
        .carts(Arc::new(store.carts()))
        .promotions(Arc::new(store.promotions()))
        .inventory(Arc::new(store.inventory()))
        .payments(world.payments.clone())
        .orders(Arc::new(store.orders()))
        .outbox(Arc::new(store.outbox()))
        .idempotency(Arc::new(store.idempotency()))
        .checkout_journal(Arc::new(store.checkout_journal()))
        .customers(Arc::new(store.customers()))
        .clock(world.clock.clone())
        .ids(world.ids.clone())
        .build()
        .expect("every port is set")
}

/// The connection manager `RedisConnection::open` builds (same settings), built here so
/// the bare commands can share it with the adapter: one multiplexed connection.
async fn redis_manager(config: &RedisConfig) -> ConnectionManager {
    let client = redis::Client::open(config.url.as_str()).expect("a redis url");
    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.command_timeout))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_with_config(client, manager_config).await.expect("Redis")
}

impl Fixture {
    async fn new(pg_url: String, redis_url: String, names: &RunNames) -> Fixture {
        let (schema, prefix) = (names.schema.clone(), names.prefix.clone());
        let store = PgStore::connect(&pg_url, pg_config(&schema)).await.expect("PostgreSQL");
        store.migrate().await.expect("migrations");

        // The manager `RedisConnection::open` builds, built here so the bare GETs can
        // share it: one multiplexed connection for every Redis path of the run.
        let redis_config =
            RedisConfig { key_prefix: prefix.clone(), ..RedisConfig::new(&redis_url) };
        let manager = redis_manager(&redis_config).await;
        let redis = RedisConnection::from_manager(manager.clone(), &redis_config);

        let world = InMemory::new();
        let mut fixture = Fixture {
            pg_url,
            redis_url,
            schema,
            prefix,
            store,
            manager,
            redis,
            redis_config,
            world,
            demo_ids: Vec::new(),
        };
        fixture.seed().await;
        fixture
    }

    /// The demo catalog, promotions and tax settings (the shop's seed), plus the checkout
    /// products: `LINES` SKUs with stock that never runs out, and a 10% coupon.
    async fn seed(&mut self) {
        let shop = pg_shop(&self.store, &self.redis, &self.world);
        let promotions: Arc<dyn PromotionRepository> = Arc::new(self.store.promotions());
        shop::seed_demo(&shop, &promotions, DEMO_PRODUCTS, 42).await.expect("the demo catalog");
        let page = self
            .store
            .products()
            .list(&ProductQuery { limit: 100, ..ProductQuery::default() })
            .await
            .expect("a product page");
        self.demo_ids = page.items.iter().map(|p| p.id).collect();
        assert_eq!(self.demo_ids.len(), DEMO_PRODUCTS, "the demo catalog is seeded");

        for i in 0..LINES {
            let price = vec![Money::from_minor(1000 + i as i64 * 250, Currency::USD)];
            let draft = ProductDraft::new(
                format!("Bench product {i}"),
                vec![VariantDraft::new(sku(i), "One", price)],
            )
            .with_status(ProductStatus::Active);
            shop.catalog().create_product(draft).await.expect("a valid product");
            shop.inventory()
                .set_stock(&sku(i), &LocationId::main(), i64::MAX / 4, BackorderPolicy::Deny)
                .await
                .expect("stock");
        }
        let id = PromotionId::from_uuid(uuid::Uuid::new_v4());
        let promo = Promotion::builder(id, "Ten", PromotionKind::Percentage(Decimal::TEN))
            .coupon(CouponCode::new("TEN").expect("a valid code"))
            .build()
            .expect("a valid promotion");
        promotions.upsert(&promo).await.expect("promotion stored");
    }
}

/// The schema and Redis key prefix of one run (`bench_pgr_<pid>_<nanos>`).
struct RunNames {
    schema: String,
    prefix: String,
}

impl RunNames {
    fn new() -> RunNames {
        let run = format!("{}_{}", std::process::id(), unix_nanos() % 1_000_000_000);
        RunNames { schema: format!("bench_pgr_{run}"), prefix: format!("bench-pgr-{run}") }
    }

    /// Drops the schema and deletes every key under the prefix (whatever the run got to
    /// create); reports what it could not remove.
    async fn drop_all(&self, pg_url: &str, redis_url: &str) {
        match sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(pg_url).await {
            Ok(pool) => {
                let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
                if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await {
                    eprintln!("postgres_redis: schema {} not dropped: {e}", self.schema);
                }
                pool.close().await;
            }
            Err(e) => eprintln!("postgres_redis: schema {} not dropped: {e}", self.schema),
        }
        let pattern = format!("{}:*", self.prefix);
        let client = redis::Client::open(redis_url);
        let Ok(mut conn) = (match client {
            Ok(client) => client.get_multiplexed_async_connection().await,
            Err(e) => Err(e),
        }) else {
            eprintln!("postgres_redis: keys {pattern} not deleted (no connection)");
            return;
        };
        let mut cursor: u64 = 0;
        loop {
            let scanned: Result<(u64, Vec<String>), _> = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await;
            let Ok((next, keys)) = scanned else {
                eprintln!("postgres_redis: keys {pattern} not deleted");
                break;
            };
            if !keys.is_empty() {
                let _: Result<i64, _> =
                    redis::cmd("UNLINK").arg(&keys).query_async(&mut conn).await;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
}

/// `ANALYZE` of every table of the run's schema (and only those), as autovacuum would do
/// on a production server. The test server runs with `autovacuum = off`: without this, the
/// statistics stay those of the empty tables, and the generic plans the pool's long-lived
/// connections cached early (a sequential scan of `reservation_lines` in
/// `PgInventory::commit`) are never replaced, so every commit grows slower, under the stock
/// rows' locks. pgbench connects afresh for each run and escapes it; `SHOPKIT_BENCH_ANALYZE=0`
/// measures the app without it.
async fn analyze_schema(pg_url: &str, schema: &str) {
    let Ok(pool) = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(pg_url).await
    else {
        eprintln!("postgres_redis: schema {schema} not analyzed (no connection)");
        return;
    };
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = $1")
            .bind(schema)
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
    for table in tables {
        // `schema` passed the store's identifier check; table names come from the catalog.
        let analyze = format!("ANALYZE {schema}.\"{table}\"");
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(analyze)).execute(&pool).await {
            eprintln!("postgres_redis: {schema}.{table} not analyzed: {e}");
        }
    }
    pool.close().await;
}

fn analyze_wanted() -> bool {
    std::env::var("SHOPKIT_BENCH_ANALYZE").map_or(true, |v| v != "0")
}

// ---------------------------------------------------------------------------------------
// Measuring.

/// Registers a criterion bench of `op` (run `iters` times in a row on one task) and
/// returns the per-iteration time of each measured sample, in ns (criterion's median is
/// the median of these).
fn latency<F, Fut>(
    group: &mut criterion::BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: &str,
    sample_size: usize,
    mut op: F,
) -> Vec<f64>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let samples = RefCell::new(Vec::new());
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let elapsed = rt.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    op(i).await;
                }
                start.elapsed()
            });
            samples.borrow_mut().push(elapsed.as_nanos() as f64 / iters.max(1) as f64);
            elapsed
        })
    });
    let all = samples.into_inner();
    // Warm-up runs come first; the last `sample_size` are the measured samples.
    all[all.len().saturating_sub(sample_size)..].to_vec()
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[rank.min(v.len() - 1)]
}

/// CPU time used by this process and by the whole machine, from `/proc` (Linux).
#[derive(Clone, Copy, Debug)]
struct Cpu {
    /// This process, user + system, in clock ticks.
    process: u64,
    /// The machine: busy and total jiffies over every core.
    busy: u64,
    total: u64,
}

impl Cpu {
    fn now() -> Cpu {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the command name (which may hold spaces): state is field 3, utime 14.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<u64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
        let process = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
        let all = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let jiffies: Vec<u64> = all
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let total: u64 = jiffies.iter().sum();
        let idle = jiffies.get(3).copied().unwrap_or(0) + jiffies.get(4).copied().unwrap_or(0);
        Cpu { process, busy: total - idle, total }
    }

    /// Since `start`: (this process's CPU in ms per op, machine busy share).
    fn since(start: Cpu, ops: usize) -> (f64, f64) {
        let end = Cpu::now();
        let tick_ms = 1000.0 / 100.0; // USER_HZ is 100 on Linux
        let process_ms = (end.process - start.process) as f64 * tick_ms;
        let total = (end.total - start.total).max(1) as f64;
        (process_ms / ops.max(1) as f64, (end.busy - start.busy) as f64 / total)
    }
}

/// `ops` calls of `op(task, n)` spread over `tasks` concurrent tasks, released together;
/// operations per second.
async fn throughput<F, Fut>(tasks: usize, ops: usize, op: F) -> f64
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let op = Arc::new(op);
    let per_task = ops / tasks;
    let barrier = Arc::new(tokio::sync::Barrier::new(tasks + 1));
    let mut set = JoinSet::new();
    for t in 0..tasks {
        let (op, barrier) = (Arc::clone(&op), Arc::clone(&barrier));
        set.spawn(async move {
            barrier.wait().await;
            for n in 0..per_task {
                op(t, n).await;
            }
        });
    }
    barrier.wait().await;
    let start = Instant::now();
    while let Some(done) = set.join_next().await {
        done.expect("a throughput task");
    }
    (per_task * tasks) as f64 / start.elapsed().as_secs_f64()
}

/// A throughput measurement: the median rate of its rounds, this process's CPU per
/// operation and how busy the whole machine was meanwhile.
#[derive(Clone, Copy, Debug)]
struct Rate {
    per_s: f64,
    cpu_us_per_op: f64,
    machine_busy: f64,
}

async fn median_throughput<F, Fut>(rounds: usize, tasks: usize, ops: usize, op: F) -> Rate
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let op = Arc::new(op);
    let mut rates = Vec::with_capacity(rounds);
    let start = Cpu::now();
    for _ in 0..rounds {
        let op = Arc::clone(&op);
        rates.push(throughput(tasks, ops, move |t, n| op(t, n)).await);
    }
    let (cpu_ms, machine_busy) = Cpu::since(start, ops * rounds);
    Rate { per_s: median(&rates), cpu_us_per_op: cpu_ms * 1000.0, machine_busy }
}

fn cpu_note(rate: Rate) -> String {
    format!(
        "bench process CPU {:.1} µs/op, machine {:.0}% busy",
        rate.cpu_us_per_op,
        rate.machine_busy * 100.0
    )
}

fn us(ns: f64) -> String {
    format!("{:.1} µs", ns / 1000.0)
}

fn per_s(rate: f64) -> String {
    format!("{:.0}/s", rate)
}

fn pct(ratio: f64) -> String {
    format!("{:.0}%", ratio * 100.0)
}

fn verdict(ratio: f64, target: f64) -> String {
    let met = if ratio >= target { "met" } else { "MISSED" };
    format!("≥ {:.0}%: {met}", target * 100.0)
}

/// `(host, port)` of a `redis://host:port[/db]` URL.
fn redis_host_port(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let hostport = rest.split('/').next().unwrap_or("127.0.0.1:6379");
    match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.to_owned()),
        None => (hostport.to_owned(), "6379".to_owned()),
    }
}

/// `redis-benchmark` GETs of `key` with `clients` connections: requests/s, or why not.
fn redis_benchmark(url: &str, key: &str, clients: usize, requests: usize) -> Result<f64, String> {
    let (host, port) = redis_host_port(url);
    let out = Command::new("redis-benchmark")
        .args(["-h", &host, "-p", &port, "-c", &clients.to_string()])
        .args(["-n", &requests.to_string(), "-q", "GET", key])
        .output()
        .map_err(|e| format!("redis-benchmark did not run ({e})"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `GET bench-...: 45045.04 requests per second, p50=0.015 msec` (after \r progress lines)
    text.split(['\r', '\n'])
        .filter_map(|l| l.split_once(" requests per second").map(|(head, _)| head))
        .filter_map(|head| head.rsplit(' ').next()?.parse::<f64>().ok())
        .next_back()
        .ok_or_else(|| format!("no rate in redis-benchmark's output: {text}"))
}

// ---------------------------------------------------------------------------------------
// 1. Product detail.

fn product_detail(
    c: &mut Criterion,
    rt: &Runtime,
    fx: &Fixture,
    scale: Scale,
    report: &mut Report,
) {
    report.section("Product detail (warm cache, 64 demo products, round robin)");
    let pg = Arc::new(fx.store.products());
    let cached = Arc::new(CachedProducts::new(
        Arc::clone(&pg),
        fx.redis.clone(),
        CatalogCacheConfig::default(),
    ));
    let ids: Arc<Vec<ProductId>> = Arc::new(fx.demo_ids.clone());
    let n = ids.len();
    // The cache entry of each product: what the bare GET reads.
    let keys: Arc<Vec<String>> =
        Arc::new(ids.iter().map(|id| format!("{}:catalog:v1:id:{id}", fx.prefix)).collect());
    let generation = Arc::new(format!("{}:catalog:v1:generation", fx.prefix));
    let entries: Vec<Vec<u8>> = rt.block_on(async {
        for id in ids.iter() {
            cached.get(*id).await.expect("a product").expect("the product exists");
        }
        let mut conn = fx.manager.clone();
        let mut entries = Vec::with_capacity(n);
        for key in keys.iter() {
            let bytes: Option<Vec<u8>> =
                redis::cmd("GET").arg(key).query_async(&mut conn).await.expect("GET");
            let bytes = bytes.unwrap_or_default();
            assert!(!bytes.is_empty(), "the cache entry {key} exists (did the key layout change?)");
            entries.push(bytes);
        }
        entries
    });
    let sizes: Vec<f64> = entries.iter().map(|e| e.len() as f64).collect();
    let decoded: Vec<Option<Product>> = entries
        .iter()
        .map(|e| serde_json::from_slice(e).expect("a cached product decodes"))
        .collect();
    let warm = cached.metrics();

    // Single-task latency on ONE thread (a current-thread runtime, like
    // benches/checkout.rs): the caller, the Redis connection's driver and the pool all run
    // on it, so a read costs its round trip plus the client's own work, without the
    // cross-thread wake-ups of a multi-thread runtime (which dominate on 2 cores). Its own
    // connection manager, shared by the bare commands and the cache; same keys.
    let lrt =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let (lmanager, lcached, lpg, lpg_np, lstores) = lrt.block_on(async {
        let manager = redis_manager(&fx.redis_config).await;
        let redis = RedisConnection::from_manager(manager.clone(), &fx.redis_config);
        let store = PgStore::connect(&fx.pg_url, pg_config(&fx.schema)).await.expect("PostgreSQL");
        let no_ping = PgStore::connect(
            &fx.pg_url,
            PgConfig { ping_before_use: false, ..pg_config(&fx.schema) },
        )
        .await
        .expect("PostgreSQL");
        let cached =
            CachedProducts::new(Arc::new(store.products()), redis, CatalogCacheConfig::default());
        (manager, cached, store.products(), no_ping.products(), [store, no_ping])
    });
    let rt_multi = rt;
    let rt = &lrt;

    let mut group = c.benchmark_group("postgres_redis/product_detail");
    group
        .sample_size(scale.sample_size)
        .measurement_time(scale.measurement)
        .warm_up_time(scale.warm_up);
    let raw_ns = latency(&mut group, rt, "redis_get_same_client", scale.sample_size, |i| {
        let mut conn = lmanager.clone();
        let key = &keys[i as usize % n];
        async move {
            let bytes: Vec<u8> =
                redis::cmd("GET").arg(key).query_async(&mut conn).await.expect("GET");
            std::hint::black_box(bytes);
        }
    });
    let cached_ns = latency(&mut group, rt, "cached_products_get", scale.sample_size, |i| {
        let (cached, id) = (&lcached, ids[i as usize % n]);
        async move {
            std::hint::black_box(cached.get(id).await.expect("a product"));
        }
    });
    let pg_ns = latency(&mut group, rt, "pg_products_get", scale.sample_size, |i| {
        let (pg, id) = (&lpg, ids[i as usize % n]);
        async move {
            std::hint::black_box(pg.get(id).await.expect("a product"));
        }
    });
    // Where the cached read's time goes: the same MGET it sends (entry + generation),
    // then the JSON decode and the clone every reader of a flight gets.
    let mget_ns = latency(&mut group, rt, "diag_redis_mget_same_client", scale.sample_size, |i| {
        let mut conn = lmanager.clone();
        let (key, generation) = (&keys[i as usize % n], generation.as_str());
        async move {
            let got: (Option<Vec<u8>>, Option<u64>) = redis::cmd("MGET")
                .arg(key)
                .arg(generation)
                .query_async(&mut conn)
                .await
                .expect("MGET");
            std::hint::black_box(got);
        }
    });
    let decode_ns = latency(&mut group, rt, "diag_decode_product_json", scale.sample_size, |i| {
        let bytes = &entries[i as usize % n];
        async move {
            let product: Option<Product> = serde_json::from_slice(bytes).expect("decodes");
            std::hint::black_box(product);
        }
    });
    let clone_ns = latency(&mut group, rt, "diag_clone_product", scale.sample_size, |i| {
        let product = &decoded[i as usize % n];
        async move {
            std::hint::black_box(product.clone());
        }
    });
    // What `PgProducts` does with the row's JSON: a `serde_json::Value` tree first, then
    // the product from it.
    let via_value_ns =
        latency(&mut group, rt, "diag_decode_product_via_value", scale.sample_size, |i| {
            let bytes = &entries[i as usize % n];
            async move {
                let value: serde_json::Value = serde_json::from_slice(bytes).expect("json");
                let product: Option<Product> = serde_json::from_value(value).expect("decodes");
                std::hint::black_box(product);
            }
        });
    let mget_decode_ns = latency(&mut group, rt, "diag_mget_then_decode", scale.sample_size, |i| {
        let mut conn = lmanager.clone();
        let (key, generation) = (&keys[i as usize % n], generation.as_str());
        async move {
            let got: (Option<Vec<u8>>, Option<u64>) = redis::cmd("MGET")
                .arg(key)
                .arg(generation)
                .query_async(&mut conn)
                .await
                .expect("MGET");
            let product: Option<Product> =
                serde_json::from_slice(&got.0.unwrap_or_default()).expect("decodes");
            std::hint::black_box(product);
        }
    });
    // The same read on a pool that does not ping a connection before handing it out.
    let pg_np_ns = latency(&mut group, rt, "pg_products_get_no_ping", scale.sample_size, |i| {
        let (pg, id) = (&lpg_np, ids[i as usize % n]);
        async move {
            std::hint::black_box(pg.get(id).await.expect("a product"));
        }
    });
    group.finish();
    lrt.block_on(async {
        for store in &lstores {
            store.close().await;
        }
    });
    let rt = rt_multi;
    // The multi-thread runtime's no-ping pool, for the throughput runs.
    let no_ping = rt.block_on(async {
        let config = PgConfig { ping_before_use: false, ..pg_config(&fx.schema) };
        PgStore::connect(&fx.pg_url, config).await.expect("PostgreSQL")
    });
    let pg_np = Arc::new(no_ping.products());

    let (raw, cached_m, pg_m, np_m) =
        (median(&raw_ns), median(&cached_ns), median(&pg_ns), median(&pg_np_ns));
    let (mget, decode, clone, mget_decode) =
        (median(&mget_ns), median(&decode_ns), median(&clone_ns), median(&mget_decode_ns));
    report.note(format!(
        "product entry sizes in Redis: median {:.0} B, min {:.0} B, max {:.0} B",
        median(&sizes),
        percentile(&sizes, 0.0),
        percentile(&sizes, 1.0)
    ));
    report.row(
        "latency, 1 task: cached get (median)",
        us(cached_m),
        format!("bare GET {}", us(raw)),
        format!("{} of the GET rate", pct(raw / cached_m)),
        &verdict(raw / cached_m, 0.70),
    );
    report.row(
        "latency, 1 task: PgProducts::get (median)",
        us(pg_m),
        format!("cached {}", us(cached_m)),
        format!("cache {:.1}× faster", pg_m / cached_m),
        "-",
    );
    report.row(
        "latency, 1 task: PgProducts::get, ping_before_use off",
        us(np_m),
        format!("default {}", us(pg_m)),
        format!("{:.2}×", pg_m / np_m),
        "diagnostic",
    );
    report.row(
        "latency breakdown: bare MGET (entry + generation)",
        us(mget),
        format!("bare GET {}", us(raw)),
        format!("+{}", us(mget - raw)),
        "diagnostic",
    );
    report.row(
        "latency breakdown: JSON decode of the entry / clone of the product (CPU only)",
        format!("{} / {}", us(decode), us(clone)),
        format!("cached get {}", us(cached_m)),
        format!("{} of it", pct((decode + clone) / cached_m)),
        "diagnostic",
    );
    report.row(
        "CPU: JSON decode through a serde_json::Value first (PgProducts' way)",
        us(median(&via_value_ns)),
        format!("straight from bytes {}", us(decode)),
        format!("{:.1}×", median(&via_value_ns) / decode),
        "diagnostic",
    );
    report.row(
        "latency breakdown: bare MGET then decode (the cached hit without the decorator)",
        us(mget_decode),
        format!("cached get {}", us(cached_m)),
        format!("decorator's own +{}", us(cached_m - mget_decode)),
        "diagnostic",
    );

    // Throughput: `tasks` concurrent tasks on the multi-thread runtime.
    let tasks = scale.tasks;
    // Task `t` reads product `(t + tasks * j) % n` at its `j`-th read: with n = 64 and 32
    // tasks no two tasks ever read the same product, so the cache's single flight never
    // merges two reads and each read costs what it costs alone (the hot-product row below
    // shows the opposite case).
    let pick = move |t: usize, j: usize| (t + tasks * j) % n;
    report.note(format!("before the throughput runs: {}", background_busy(rt)));
    let raw_rate = rt.block_on(median_throughput(scale.rounds, tasks, scale.redis_ops, {
        let (manager, keys) = (fx.manager.clone(), Arc::clone(&keys));
        move |t, j| {
            let mut conn = manager.clone();
            let key = keys[pick(t, j)].clone();
            async move {
                let bytes: Vec<u8> =
                    redis::cmd("GET").arg(&key).query_async(&mut conn).await.expect("GET");
                std::hint::black_box(bytes);
            }
        }
    }));
    let cached_rate = rt.block_on(median_throughput(scale.rounds, tasks, scale.redis_ops, {
        let (cached, ids) = (Arc::clone(&cached), Arc::clone(&ids));
        move |t, j| {
            let (cached, id) = (Arc::clone(&cached), ids[pick(t, j)]);
            async move {
                std::hint::black_box(cached.get(id).await.expect("a product"));
            }
        }
    }));
    let mget_decode_rate = rt.block_on(median_throughput(scale.rounds, tasks, scale.redis_ops, {
        let (manager, keys, generation) =
            (fx.manager.clone(), Arc::clone(&keys), Arc::clone(&generation));
        move |t, j| {
            let mut conn = manager.clone();
            let key = keys[pick(t, j)].clone();
            let generation = Arc::clone(&generation);
            async move {
                let got: (Option<Vec<u8>>, Option<u64>) = redis::cmd("MGET")
                    .arg(&key)
                    .arg(generation.as_str())
                    .query_async(&mut conn)
                    .await
                    .expect("MGET");
                let product: Option<Product> =
                    serde_json::from_slice(&got.0.unwrap_or_default()).expect("decodes");
                std::hint::black_box(product);
            }
        }
    }));
    // What-if of a fix: an in-process copy of each decoded product, still checked
    // against Redis on every read (one GET of the 8-byte catalog generation, the same
    // round trip), then cloned for the caller: no 1.3 KB transfer and no JSON decode.
    let near_rate = rt.block_on(median_throughput(scale.rounds, tasks, scale.redis_ops, {
        let (manager, generation, decoded) =
            (fx.manager.clone(), Arc::clone(&generation), Arc::new(decoded.clone()));
        move |t, j| {
            let mut conn = manager.clone();
            let (generation, decoded) = (Arc::clone(&generation), Arc::clone(&decoded));
            async move {
                let seen: Option<u64> = redis::cmd("GET")
                    .arg(generation.as_str())
                    .query_async(&mut conn)
                    .await
                    .expect("GET");
                std::hint::black_box(seen);
                std::hint::black_box(decoded[pick(t, j)].clone());
            }
        }
    }));
    let pg_rate = rt.block_on(median_throughput(scale.rounds, tasks, scale.pg_ops, {
        let (pg, ids) = (Arc::clone(&pg), Arc::clone(&ids));
        move |t, j| {
            let (pg, id) = (Arc::clone(&pg), ids[pick(t, j)]);
            async move {
                std::hint::black_box(pg.get(id).await.expect("a product"));
            }
        }
    }));
    let pg_np_rate = rt.block_on(median_throughput(scale.rounds, tasks, scale.pg_ops, {
        let (pg, ids) = (Arc::clone(&pg_np), Arc::clone(&ids));
        move |t, j| {
            let (pg, id) = (Arc::clone(&pg), ids[pick(t, j)]);
            async move {
                std::hint::black_box(pg.get(id).await.expect("a product"));
            }
        }
    }));
    // One hot product: every task reads the same one. Concurrent cached reads of it share
    // one flight (one MGET + one decode for all of them); bare GETs cannot.
    let hot_raw = rt.block_on(median_throughput(scale.rounds, tasks, scale.redis_ops, {
        let (manager, key) = (fx.manager.clone(), Arc::new(keys[0].clone()));
        move |_, _| {
            let (mut conn, key) = (manager.clone(), Arc::clone(&key));
            async move {
                let bytes: Vec<u8> =
                    redis::cmd("GET").arg(key.as_str()).query_async(&mut conn).await.expect("GET");
                std::hint::black_box(bytes);
            }
        }
    }));
    let hot_cached = rt.block_on(median_throughput(scale.rounds, tasks, scale.redis_ops, {
        let (cached, id) = (Arc::clone(&cached), ids[0]);
        move |_, _| {
            let cached = Arc::clone(&cached);
            async move {
                std::hint::black_box(cached.get(id).await.expect("a product"));
            }
        }
    }));
    let after = cached.metrics();
    report.row(
        &format!("throughput, {tasks} tasks: cached get ({})", cpu_note(cached_rate)),
        per_s(cached_rate.per_s),
        format!("bare GET {} ({})", per_s(raw_rate.per_s), cpu_note(raw_rate)),
        pct(cached_rate.per_s / raw_rate.per_s),
        &verdict(cached_rate.per_s / raw_rate.per_s, 0.70),
    );
    report.row(
        &format!(
            "throughput, {tasks} tasks: bare MGET then decode ({})",
            cpu_note(mget_decode_rate)
        ),
        per_s(mget_decode_rate.per_s),
        format!("bare GET {}", per_s(raw_rate.per_s)),
        pct(mget_decode_rate.per_s / raw_rate.per_s),
        "diagnostic",
    );
    report.row(
        &format!(
            "throughput, {tasks} tasks: what-if near cache (GET generation + clone) ({})",
            cpu_note(near_rate)
        ),
        per_s(near_rate.per_s),
        format!("bare GET {}", per_s(raw_rate.per_s)),
        pct(near_rate.per_s / raw_rate.per_s),
        "diagnostic",
    );
    report.row(
        &format!("throughput, {tasks} tasks: PgProducts::get, pool 10 ({})", cpu_note(pg_rate)),
        per_s(pg_rate.per_s),
        format!("cached {}", per_s(cached_rate.per_s)),
        format!("cache {:.1}×", cached_rate.per_s / pg_rate.per_s),
        "-",
    );
    report.row(
        &format!("throughput, {tasks} tasks: PgProducts::get, pool 10, no ping"),
        per_s(pg_np_rate.per_s),
        format!("with ping {}", per_s(pg_rate.per_s)),
        format!("{:.2}×", pg_np_rate.per_s / pg_rate.per_s),
        "diagnostic",
    );
    report.row(
        &format!(
            "throughput, {tasks} tasks, one hot product: cached get ({})",
            cpu_note(hot_cached)
        ),
        per_s(hot_cached.per_s),
        format!("bare GET {} ({})", per_s(hot_raw.per_s), cpu_note(hot_raw)),
        pct(hot_cached.per_s / hot_raw.per_s),
        "diagnostic (single flight)",
    );
    report.note(format!(
        "cache during the runs: {} hits, {} misses ({} loads at warm-up), {} Redis errors",
        after.hits - warm.hits,
        after.misses - warm.misses,
        warm.source_loads,
        after.redis_errors
    ));

    // External reference: redis-benchmark on the first entry's key.
    for clients in [1, tasks] {
        match redis_benchmark(&fx.redis_url, &keys[0], clients, scale.redis_benchmark_requests) {
            Ok(rate) => {
                let ours = if clients == 1 { 1e9 / raw } else { raw_rate.per_s };
                report.row(
                    &format!("redis-benchmark GET, -c {clients} (same key, same bytes)"),
                    per_s(rate),
                    format!("bare GET via redis-rs {}", per_s(ours)),
                    format!("redis-rs at {}", pct(ours / rate)),
                    "reference",
                );
            }
            Err(why) => report.note(format!("redis-benchmark -c {clients}: not measured: {why}")),
        }
    }
    rt.block_on(no_ping.close());
}

// ---------------------------------------------------------------------------------------
// 2. Checkout.

/// A guest cart of `LINES` lines with the coupon, shipped by the seed's `standard` method
/// to Illinois: ready to check out.
async fn cart(shop: &Shop) -> (CartId, CartAccess) {
    let cart = shop.carts().create_guest_cart(Currency::USD).await.expect("a cart");
    let access = CartAccess::Token(cart.token().clone());
    for i in 0..LINES {
        let qty = Quantity::new(1 + i as i64).expect("a quantity");
        shop.carts().add_line(cart.id(), &access, sku(i), qty).await.expect("a line");
    }
    let coupon = CouponCode::new("TEN").expect("a valid code");
    shop.carts().apply_coupon(cart.id(), &access, coupon).await.expect("the coupon applies");
    let address = shopkit::core::customers::Address {
        id: None,
        name: "Bench Shopper".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Springfield".into(),
        postal_code: "62701".into(),
        region: shopkit::core::ids::RegionCode::new("US-IL").expect("a valid region"),
        phone: None,
    };
    let standard = shopkit::core::ids::ShippingMethodId::new("standard").expect("a method");
    let delivery = Delivery { address: Some(address), method: Some(standard) };
    shop.carts().set_delivery(cart.id(), &access, delivery).await.expect("delivery set");
    (cart.id(), access)
}

/// `count` carts, made by `tasks` tasks at once (set-up, not measured).
async fn carts(shop: &Shop, count: usize, tasks: usize) -> Vec<(CartId, CartAccess)> {
    let mut set = JoinSet::new();
    for t in 0..tasks {
        let shop = shop.clone();
        let mine = count / tasks + usize::from(t < count % tasks);
        set.spawn(async move {
            let mut made = Vec::with_capacity(mine);
            for _ in 0..mine {
                made.push(cart(&shop).await);
            }
            made
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(made) = set.join_next().await {
        all.extend(made.expect("a cart task"));
    }
    all
}

/// Checks every cart out with `tasks` concurrent tasks: orders/s and each checkout's
/// latency in ms.
async fn checkout_run(
    shop: &Shop,
    carts: Vec<(CartId, CartAccess)>,
    tasks: usize,
) -> (f64, Vec<f64>) {
    let carts = Arc::new(carts);
    let next = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(tasks + 1));
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let (shop, carts, next, barrier) =
            (shop.clone(), Arc::clone(&carts), Arc::clone(&next), Arc::clone(&barrier));
        set.spawn(async move {
            barrier.wait().await;
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((cart_id, access)) = carts.get(i).cloned() else { break };
                let request = CheckoutRequest {
                    cart_id,
                    access,
                    email: Email::new("bench@example.com").expect("an email"),
                    payment_method: PaymentMethodToken("pm_card_visa".into()),
                    expected_total: None,
                    idempotency_key: IdempotencyKey::new(&format!(
                        "bench-{}",
                        uuid::Uuid::new_v4()
                    ))
                    .expect("a key"),
                };
                let start = Instant::now();
                shop.checkout().checkout(request).await.expect("the checkout succeeds");
                latencies.push(start.elapsed().as_secs_f64() * 1000.0);
            }
            latencies
        });
    }
    barrier.wait().await;
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(carts.len());
    while let Some(done) = set.join_next().await {
        latencies.extend(done.expect("a checkout task"));
    }
    (carts.len() as f64 / start.elapsed().as_secs_f64(), latencies)
}

/// Samples, every 10 ms on its own thread and connection, what PostgreSQL's sessions of
/// one application (`shopkit` for the stores, `pgbench`) are doing while a run goes on:
/// active (and what they wait for) or idle inside a transaction (waiting for their
/// client, with their locks held).
struct Activity {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(u64, BTreeMap<String, u64>)>,
}

impl Activity {
    fn start(pg_url: &str, application: &'static str) -> Activity {
        let stop = Arc::new(AtomicBool::new(false));
        let (url, flag) = (pg_url.to_owned(), Arc::clone(&stop));
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let mut counts = BTreeMap::new();
                let mut samples = 0;
                let Ok(pool) =
                    sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await
                else {
                    return (samples, counts);
                };
                while !flag.load(Ordering::Relaxed) {
                    let states: Vec<String> = sqlx::query_scalar(
                        "SELECT state || coalesce(' (' || wait_event_type || ':' || wait_event || ')', '')
                                || CASE WHEN wait_event_type IS DISTINCT FROM 'Lock'
                                        THEN ' `' || left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 48) || '`'
                                        ELSE '' END
                         FROM pg_stat_activity
                         WHERE application_name = $1 AND state <> 'idle' AND pid <> pg_backend_pid()",
                    )
                    .bind(application)
                    .fetch_all(&pool)
                    .await
                    .unwrap_or_default();
                    for state in states {
                        *counts.entry(state).or_insert(0) += 1;
                    }
                    samples += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                pool.close().await;
                (samples, counts)
            })
        });
        Activity { stop, handle }
    }

    /// `2.1 active (Lock:tuple), 1.3 idle in transaction (Client:ClientRead) \`COMMIT\`, ...`:
    /// sessions in each state (with the statement, unless waiting for a lock) on average
    /// over the samples, the 6 most frequent.
    fn finish(self) -> String {
        self.stop.store(true, Ordering::Relaxed);
        let (samples, counts) = self.handle.join().unwrap_or_default();
        let mut by_count: Vec<(String, u64)> = counts.into_iter().collect();
        by_count.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        let total: u64 = by_count.iter().map(|(_, c)| c).sum();
        let per_sample = |c: u64| c as f64 / samples.max(1) as f64;
        let top: Vec<String> = by_count
            .iter()
            .take(6)
            .map(|(state, c)| format!("{:.2} {state}", per_sample(*c)))
            .collect();
        format!("{:.1} busy sessions on average: {}", per_sample(total), top.join(", "))
    }
}

/// `benches/pg_ceiling.sh` at `clients`: pgbench transactions (checkouts) per second.
fn pg_ceiling(fx: &Fixture, clients: usize, transactions: usize) -> Result<f64, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/pg_ceiling.sh");
    let out = Command::new("bash")
        .arg(script)
        .env("PG_URL", &fx.pg_url)
        .env("SCHEMA", &fx.schema)
        .env("CLIENTS", clients.to_string())
        .env("TRANSACTIONS", transactions.to_string())
        .output()
        .map_err(|e| format!("pg_ceiling.sh did not run ({e})"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{}{}", stdout, String::from_utf8_lossy(&out.stderr)));
    }
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("pg_ceiling "))
        .flat_map(|l| l.split(' '))
        .filter_map(|kv| kv.strip_prefix("tps="))
        .find_map(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("no tps in pg_ceiling.sh's output: {stdout}"))
}

fn checkout(rt: &Runtime, fx: &Fixture, scale: Scale, report: &mut Report) {
    report.section(
        "Checkout on PostgreSQL (3 lines + coupon, fake gateway, products cached in Redis)",
    );
    let tasks = scale.tasks;
    let default_pool = PgConfig::default().max_connections as usize;
    let tuned_config = PgConfig {
        max_connections: u32::try_from(tasks).unwrap_or(u32::MAX).max(1),
        ping_before_use: false,
        ..pg_config(&fx.schema)
    };
    let tuned_store = rt.block_on(PgStore::connect(&fx.pg_url, tuned_config)).expect("PostgreSQL");
    let no_ping_store = rt
        .block_on(PgStore::connect(
            &fx.pg_url,
            PgConfig { ping_before_use: false, ..pg_config(&fx.schema) },
        ))
        .expect("PostgreSQL");
    let default_shop = pg_shop(&fx.store, &fx.redis, &fx.world);
    let no_ping_shop = pg_shop(&no_ping_store, &fx.redis, &fx.world);
    let tuned_shop = pg_shop(&tuned_store, &fx.redis, &fx.world);
    let setups = [
        ("default PgConfig (pool 10, ping before use)", &default_shop),
        ("pool 10, ping_before_use off", &no_ping_shop),
        ("pool = concurrency, ping_before_use off", &tuned_shop),
    ];

    // Warm every pool (connections open, statements prepared) with real checkouts; the
    // first of them is the sample pg_ceiling.sh replays.
    rt.block_on(async {
        for (_, shop) in setups {
            let made = carts(shop, tasks, tasks).await;
            checkout_run(shop, made, tasks).await;
        }
    });

    // Rounds: pgbench, then every setup, in turn, so that slow spells of the machine
    // (checkpoints, WAL flush stalls, other processes) hit both sides; each app run is
    // compared with the pgbench run of its own round, and medians are reported.
    report.note(if analyze_wanted() {
        "the run's schema is ANALYZEd before each checkout round (the server runs with \
         autovacuum off; SHOPKIT_BENCH_ANALYZE=0 skips it)"
            .to_owned()
    } else {
        "no ANALYZE before the checkout rounds (SHOPKIT_BENCH_ANALYZE=0): statistics and the \
         pools' cached plans stay those of the empty tables"
            .to_owned()
    });
    for (concurrency, count) in [(1, scale.checkouts_single), (tasks, scale.checkouts_concurrent)] {
        report.note(format!(
            "before the checkout runs at concurrency {concurrency}: {}",
            background_busy(rt)
        ));
        // Carts for every round, made up front (set-up, not measured).
        let mut made: Vec<Vec<Vec<(CartId, CartAccess)>>> = setups
            .iter()
            .map(|(_, shop)| {
                (0..scale.rounds).map(|_| rt.block_on(carts(shop, count, tasks))).collect()
            })
            .collect();
        let mut ceilings = Vec::new();
        let mut pool_ceilings = Vec::new();
        let mut pgbench_sessions = String::new();
        let mut rates = vec![Vec::new(); setups.len()];
        let mut ratios = vec![Vec::new(); setups.len()];
        let mut latencies = vec![Vec::new(); setups.len()];
        let mut cpu_ms = vec![Vec::new(); setups.len()];
        let mut busy = vec![Vec::new(); setups.len()];
        let mut sessions = vec![String::new(); setups.len()];
        for _ in 0..scale.rounds {
            if analyze_wanted() {
                rt.block_on(analyze_schema(&fx.pg_url, &fx.schema));
            }
            let activity = Activity::start(&fx.pg_url, "pgbench");
            let ceiling = pg_ceiling(fx, concurrency, count);
            pgbench_sessions = activity.finish();
            match &ceiling {
                Ok(tps) => ceilings.push(*tps),
                Err(why) => {
                    report.note(format!("pg_ceiling.sh at {concurrency} clients failed: {why}"))
                }
            }
            if concurrency == tasks && tasks > default_pool {
                // The storage ceiling at the default pool's size (the app's connections).
                match pg_ceiling(fx, default_pool, count) {
                    Ok(tps) => pool_ceilings.push(tps),
                    Err(why) => {
                        report.note(format!("pg_ceiling.sh at {default_pool} failed: {why}"))
                    }
                }
            }
            for (s, (_, shop)) in setups.iter().enumerate() {
                let round_carts = made[s].pop().unwrap_or_default();
                let start = Cpu::now();
                let activity = Activity::start(&fx.pg_url, "shopkit");
                let (rate, lat) = rt.block_on(checkout_run(shop, round_carts, concurrency));
                sessions[s] = activity.finish();
                let (cpu, machine) = Cpu::since(start, count);
                rates[s].push(rate);
                latencies[s].extend(lat);
                cpu_ms[s].push(cpu);
                busy[s].push(machine);
                if let Ok(tps) = &ceiling {
                    ratios[s].push(rate / tps);
                }
            }
        }
        let range = |v: &[f64], f: fn(f64) -> String| {
            format!("{} ({}–{})", f(median(v)), f(percentile(v, 0.0)), f(percentile(v, 1.0)))
        };
        report.note(format!(
            "pgbench, {concurrency} clients, {} rounds of {count} checkouts: {}; last round: {pgbench_sessions}",
            ceilings.len(),
            range(&ceilings, per_s)
        ));
        if !pool_ceilings.is_empty() {
            report.note(format!(
                "pgbench at the default pool's size, {default_pool} clients: {}",
                range(&pool_ceilings, per_s)
            ));
        }
        for (s, (label, _)) in setups.iter().enumerate() {
            report.note(format!(
                "app, {label}, concurrency {concurrency}, last round: {}",
                sessions[s]
            ));
            let what = format!(
                "{} × {count} checkouts, concurrency {concurrency}, {label} (p50 {:.2} ms, p99 \
                 {:.2} ms; bench process CPU {:.2} ms/checkout, machine {:.0}% busy)",
                rates[s].len(),
                percentile(&latencies[s], 0.5),
                percentile(&latencies[s], 0.99),
                median(&cpu_ms[s]),
                median(&busy[s]) * 100.0
            );
            if ratios[s].is_empty() {
                report.row(
                    &what,
                    range(&rates[s], per_s),
                    "not measured".into(),
                    "-".into(),
                    "≥ 50%: unknown",
                );
            } else {
                report.row(
                    &what,
                    range(&rates[s], per_s),
                    format!(
                        "pgbench, same statements, {concurrency} clients: {}",
                        range(&ceilings, per_s)
                    ),
                    range(&ratios[s], pct),
                    &verdict(median(&ratios[s]), 0.50),
                );
            }
        }
    }
    rt.block_on(tuned_store.close());
    rt.block_on(no_ping_store.close());
}

// ---------------------------------------------------------------------------------------
// 3. No oversell.

fn oversell(rt: &Runtime, fx: &Fixture, report: &mut Report) {
    report.section("No oversell: 500 concurrent 1-unit reservations of a SKU with 100 units");
    let hot = Sku::new("BENCH-HOT").expect("a valid sku");
    let (ok, out_of_stock, other, level, elapsed) = rt.block_on(async {
        // A long acquire timeout: 500 callers queue for the pool, none may time out.
        let config = PgConfig {
            max_connections: 20,
            acquire_timeout: Duration::from_secs(120),
            ..pg_config(&fx.schema)
        };
        let store = PgStore::connect(&fx.pg_url, config).await.expect("PostgreSQL");
        let inventory = Arc::new(store.inventory());
        inventory
            .set_stock(&hot, &LocationId::main(), UNITS, BackorderPolicy::Deny)
            .await
            .expect("stock");
        let start = Instant::now();
        let results = shopkit_testkit::race(CONTENDERS, |_| {
            let (inventory, hot) = (Arc::clone(&inventory), hot.clone());
            async move {
                let request = ReservationRequest {
                    id: ReservationId::from_uuid(uuid::Uuid::new_v4()),
                    location: LocationId::main(),
                    lines: vec![ReservationLine {
                        sku: hot,
                        quantity: Quantity::new(1).expect("a quantity"),
                    }],
                    expires_at: chrono::Utc::now() + chrono::Duration::minutes(15),
                };
                inventory.reserve(&request).await
            }
        })
        .await;
        let elapsed = start.elapsed();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let out_of_stock =
            results.iter().filter(|r| matches!(r, Err(InventoryError::OutOfStock { .. }))).count();
        let other: Vec<String> = results
            .iter()
            .filter_map(|r| match r {
                Err(InventoryError::OutOfStock { .. }) | Ok(_) => None,
                Err(e) => Some(e.to_string()),
            })
            .collect();
        let level = inventory.levels(std::slice::from_ref(&hot)).await.expect("levels");
        store.close().await;
        (ok, out_of_stock, other, level, elapsed)
    });
    let level = level.first().expect("the SKU's level");
    report.row(
        "reservations that succeeded",
        ok.to_string(),
        format!("{UNITS} units"),
        format!("reserved {} / on hand {}", level.reserved, level.on_hand),
        if ok as i64 == UNITS && level.reserved == level.on_hand {
            "exactly N: met"
        } else {
            "FAILED"
        },
    );
    report.note(format!(
        "oversell race: {ok} reserved, {out_of_stock} out of stock, {} other errors, in {:.2} s",
        other.len(),
        elapsed.as_secs_f64()
    ));
    assert!(other.is_empty(), "no reservation fails for another reason: {other:?}");
    assert_eq!(ok as i64, UNITS, "exactly {UNITS} of {CONTENDERS} reservations succeed");
    assert_eq!(out_of_stock, CONTENDERS - UNITS as usize, "the others are out of stock");
    assert_eq!(level.reserved, UNITS, "every unit is reserved once");
    assert_eq!(level.reserved, level.on_hand, "reserved == on_hand: nothing oversold");
}

// ---------------------------------------------------------------------------------------

/// How busy the machine is while this bench does nothing for a second: the load other
/// processes put on it right before a measurement.
fn background_busy(rt: &Runtime) -> String {
    let start = Cpu::now();
    rt.block_on(async { tokio::time::sleep(Duration::from_secs(1)).await });
    let (_, busy) = Cpu::since(start, 1);
    format!("other processes kept the machine {:.0}% busy", busy * 100.0)
}

/// Busy processes (cargo, rustc) at start: how loaded the machine was.
fn machine_load() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let builds = Command::new("pgrep")
        .args(["-c", "-x", "cargo|rustc"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    format!(
        "load average {} ; cargo/rustc processes: {builds}",
        loadavg.split(' ').take(3).collect::<Vec<_>>().join(" ")
    )
}

/// Whether `SHOPKIT_BENCH_PARTS` (comma-separated: `product_detail`, `checkout`,
/// `oversell`; all when unset) asks for `part`.
fn wanted(part: &str) -> bool {
    std::env::var("SHOPKIT_BENCH_PARTS")
        .map_or(true, |parts| parts.split(',').any(|p| p.trim() == part))
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let (Some(pg_url), Some(redis_url)) = (
        shopkit_testkit::require_service("SHOPKIT_TEST_POSTGRES_URL"),
        shopkit_testkit::require_service("SHOPKIT_TEST_REDIS_URL"),
    ) else {
        return;
    };
    let tasks =
        std::env::var("SHOPKIT_BENCH_TASKS").ok().and_then(|v| v.parse().ok()).unwrap_or(32);
    let scale = if bench_mode { Scale::full(tasks) } else { Scale::smoke(tasks) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut report = Report::default();
    report.note(format!("at start: {}", machine_load()));
    let names = RunNames::new();
    let mut criterion = Criterion::default().configure_from_args();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let fixture = rt.block_on(Fixture::new(pg_url.clone(), redis_url.clone(), &names));
        if wanted("product_detail") {
            product_detail(&mut criterion, &rt, &fixture, scale, &mut report);
        }
        if wanted("checkout") {
            checkout(&rt, &fixture, scale, &mut report);
        }
        if wanted("oversell") {
            oversell(&rt, &fixture, &mut report);
        }
        rt.block_on(fixture.store.close());
    }));
    // Also after a failed step: nothing of the run stays on the servers.
    rt.block_on(names.drop_all(&pg_url, &redis_url));
    report.note(format!("at end: {}", machine_load()));
    criterion.final_summary();
    println!("\n## postgres_redis summary{}", report.markdown());
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

//! PostgreSQL and Redis (issue 4), every comparison measured in the same run.
//!
//! 1. **Product detail**: `CachedProducts` over `PgProducts` (warm) vs `PgProducts::get`
//!    vs a bare Redis `GET` of the cached entry itself (same bytes) through the SAME
//!    `ConnectionManager`; single-task latency (criterion) and throughput of `TASKS`
//!    concurrent tasks; `redis-benchmark` on the same key as an external reference.
//! 2. **Checkout on PostgreSQL**: the checkout service over the PG stores (products
//!    behind the Redis cache, the fake gateway in memory: the shop's `postgres` profile),
//!    orders/s at concurrency 1 and `TASKS`, vs `benches/pg_ceiling.sh` (pgbench issuing the
//!    same statements) at the same client count. Run with the default `PgConfig` and with
//!    a tuned one (pool as large as the concurrency, no ping before use).
//! 3. **No oversell at 500-way contention**: 500 concurrent 1-unit reservations through
//!    `PgInventory` of a SKU with 100 units: exactly 100 succeed, reserved == on_hand. An
//!    assertion, not a timing.
//!
//! Everything lives in a schema and a Redis key prefix of its own (`bench_pgr_<run>`),
//! dropped at the end, also when a step fails.
//!
//! Run with (loopback servers; `eval "$(scripts/services)"` starts them):
//! `SHOPKIT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test
//!  SHOPKIT_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo bench --bench postgres_redis`
//!
//! Without `--bench` (`cargo test --bench postgres_redis`) it runs a smoke version: small
//! counts, each criterion bench once, the oversell assertion in full.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
use shopkit::core::services::{CartAccess, CheckoutRequest, ProductDraft, Shop, VariantDraft};
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
    /// Throughput runs per path (the median is reported).
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
            checkouts_single: 500,
            checkouts_concurrent: 3_000,
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
    /// The Redis connection manager every Redis path of this run shares.
    manager: ConnectionManager,
    redis: RedisConnection,
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
        .customers(Arc::new(store.customers()))
        .clock(world.clock.clone())
        .ids(world.ids.clone())
        .build()
        .expect("every port is set")
}

impl Fixture {
    async fn new(pg_url: String, redis_url: String) -> Fixture {
        let run = format!("{}_{}", std::process::id(), unix_nanos() % 1_000_000_000);
        let schema = format!("bench_pgr_{run}");
        let prefix = format!("bench-pgr-{run}");
        let store = PgStore::connect(&pg_url, pg_config(&schema)).await.expect("PostgreSQL");
        store.migrate().await.expect("migrations");

        // The manager `RedisConnection::open` builds, built here so the bare GETs can
        // share it: one multiplexed connection for every Redis path of the run.
        let redis_config =
            RedisConfig { key_prefix: prefix.clone(), ..RedisConfig::new(&redis_url) };
        let client = redis::Client::open(redis_url.as_str()).expect("a redis url");
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(redis_config.connect_timeout))
            .set_response_timeout(Some(redis_config.command_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let manager =
            ConnectionManager::new_with_config(client, manager_config).await.expect("Redis");
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

    /// Drops the schema and deletes every key under the prefix.
    async fn teardown(&self) {
        self.store.close().await;
        match sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&self.pg_url).await {
            Ok(pool) => {
                let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
                if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await {
                    eprintln!("postgres_redis: schema {} not dropped: {e}", self.schema);
                }
                pool.close().await;
            }
            Err(e) => eprintln!("postgres_redis: schema {} not dropped: {e}", self.schema),
        }
        let mut conn = self.manager.clone();
        let pattern = format!("{}:*", self.prefix);
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

    let mut group = c.benchmark_group("postgres_redis/product_detail");
    group
        .sample_size(scale.sample_size)
        .measurement_time(scale.measurement)
        .warm_up_time(scale.warm_up);
    let raw_ns = latency(&mut group, rt, "redis_get_same_client", scale.sample_size, |i| {
        let mut conn = fx.manager.clone();
        let key = &keys[i as usize % n];
        async move {
            let bytes: Vec<u8> =
                redis::cmd("GET").arg(key).query_async(&mut conn).await.expect("GET");
            std::hint::black_box(bytes);
        }
    });
    let cached_ns = latency(&mut group, rt, "cached_products_get", scale.sample_size, |i| {
        let (cached, id) = (&cached, ids[i as usize % n]);
        async move {
            std::hint::black_box(cached.get(id).await.expect("a product"));
        }
    });
    let pg_ns = latency(&mut group, rt, "pg_products_get", scale.sample_size, |i| {
        let (pg, id) = (&pg, ids[i as usize % n]);
        async move {
            std::hint::black_box(pg.get(id).await.expect("a product"));
        }
    });
    // Where the cached read's time goes: the same MGET it sends (entry + generation),
    // then the JSON decode and the clone every reader of a flight gets.
    let mget_ns = latency(&mut group, rt, "diag_redis_mget_same_client", scale.sample_size, |i| {
        let mut conn = fx.manager.clone();
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
    let mget_decode_ns = latency(&mut group, rt, "diag_mget_then_decode", scale.sample_size, |i| {
        let mut conn = fx.manager.clone();
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
    let no_ping = rt.block_on(async {
        let config = PgConfig { ping_before_use: false, ..pg_config(&fx.schema) };
        PgStore::connect(&fx.pg_url, config).await.expect("PostgreSQL")
    });
    let pg_np = Arc::new(no_ping.products());
    let pg_np_ns = latency(&mut group, rt, "pg_products_get_no_ping", scale.sample_size, |i| {
        let (pg, id) = (&pg_np, ids[i as usize % n]);
        async move {
            std::hint::black_box(pg.get(id).await.expect("a product"));
        }
    });
    group.finish();

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
        "latency breakdown: bare MGET then decode (the cached hit without the decorator)",
        us(mget_decode),
        format!("cached get {}", us(cached_m)),
        format!("decorator's own +{}", us(cached_m - mget_decode)),
        "diagnostic",
    );

    // Throughput: `tasks` concurrent tasks on the multi-thread runtime.
    let tasks = scale.tasks;
    let stagger = (n / tasks).max(1);
    let raw_rate = rt.block_on(median_throughput(scale.rounds, tasks, scale.redis_ops, {
        let (manager, keys) = (fx.manager.clone(), Arc::clone(&keys));
        move |t, j| {
            let mut conn = manager.clone();
            let key = keys[(t * stagger + j) % n].clone();
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
            let (cached, id) = (Arc::clone(&cached), ids[(t * stagger + j) % n]);
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
            let key = keys[(t * stagger + j) % n].clone();
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
                std::hint::black_box(decoded[(t * stagger + j) % n].clone());
            }
        }
    }));
    let pg_rate = rt.block_on(median_throughput(scale.rounds, tasks, scale.pg_ops, {
        let (pg, ids) = (Arc::clone(&pg), Arc::clone(&ids));
        move |t, j| {
            let (pg, id) = (Arc::clone(&pg), ids[(t * stagger + j) % n]);
            async move {
                std::hint::black_box(pg.get(id).await.expect("a product"));
            }
        }
    }));
    let pg_np_rate = rt.block_on(median_throughput(scale.rounds, tasks, scale.pg_ops, {
        let (pg, ids) = (Arc::clone(&pg_np), Arc::clone(&ids));
        move |t, j| {
            let (pg, id) = (Arc::clone(&pg), ids[(t * stagger + j) % n]);
            async move {
                std::hint::black_box(pg.get(id).await.expect("a product"));
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

/// A guest cart of `LINES` lines with the coupon, ready to check out.
async fn cart(shop: &Shop) -> (CartId, CartAccess) {
    let cart = shop.carts().create_guest_cart(Currency::USD).await.expect("a cart");
    let access = CartAccess::Token(cart.token().clone());
    for i in 0..LINES {
        let qty = Quantity::new(1 + i as i64).expect("a quantity");
        shop.carts().add_line(cart.id(), &access, sku(i), qty).await.expect("a line");
    }
    let coupon = CouponCode::new("TEN").expect("a valid code");
    shop.carts().apply_coupon(cart.id(), &access, coupon).await.expect("the coupon applies");
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

    let mut runs = vec![(1, scale.checkouts_single), (tasks, scale.checkouts_concurrent)];
    if tasks > default_pool {
        runs.push((default_pool, scale.checkouts_concurrent));
    }
    for (concurrency, count) in runs {
        let start = Cpu::now();
        let ceiling = pg_ceiling(fx, concurrency, count);
        let (_, ceiling_busy) = Cpu::since(start, count);
        match &ceiling {
            Ok(tps) => report.note(format!(
                "pgbench (pg_ceiling.sh), {concurrency} clients, {count} checkouts: {} \
                 (machine {:.0}% busy)",
                per_s(*tps),
                ceiling_busy * 100.0
            )),
            Err(why) => {
                report.note(format!("pg_ceiling.sh at {concurrency} clients failed: {why}"))
            }
        }
        if concurrency != 1 && concurrency != tasks {
            continue; // pgbench at the default pool's size: a note only
        }
        for (label, shop) in setups {
            let made = rt.block_on(carts(shop, count, tasks));
            let start = Cpu::now();
            let (rate, latencies) = rt.block_on(checkout_run(shop, made, concurrency));
            let (cpu_ms, busy) = Cpu::since(start, count);
            let what = format!(
                "{count} checkouts, concurrency {concurrency}, {label} (p50 {:.2} ms, p99 {:.2} \
                 ms; bench process CPU {:.2} ms/checkout, machine {:.0}% busy)",
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.99),
                cpu_ms,
                busy * 100.0
            );
            match &ceiling {
                Ok(tps) => report.row(
                    &what,
                    per_s(rate),
                    format!("pgbench, same statements, {concurrency} clients: {}", per_s(*tps)),
                    pct(rate / tps),
                    &verdict(rate / tps, 0.50),
                ),
                Err(_) => report.row(
                    &what,
                    per_s(rate),
                    "not measured".into(),
                    "-".into(),
                    "≥ 50%: unknown",
                ),
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

/// Busy processes (cargo, rustc) at start: how loaded the machine was.
fn machine_load() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let builds = Command::new("pgrep")
        .args(["-c", "-f", "cargo|rustc"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    format!(
        "load average {} ; cargo/rustc processes: {builds}",
        loadavg.split(' ').take(3).collect::<Vec<_>>().join(" ")
    )
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
    let fixture = rt.block_on(Fixture::new(pg_url, redis_url));
    let mut criterion = Criterion::default().configure_from_args();

    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        product_detail(&mut criterion, &rt, &fixture, scale, &mut report);
        checkout(&rt, &fixture, scale, &mut report);
        oversell(&rt, &fixture, &mut report);
    }));
    rt.block_on(fixture.teardown());
    report.note(format!("at end: {}", machine_load()));
    criterion.final_summary();
    println!("\n## postgres_redis summary{}", report.markdown());
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

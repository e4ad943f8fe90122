//! Faults the PostgreSQL adapters must survive, against the real server: a connection
//! killed in the middle of a checkout's order write, a process that dies between reserving
//! stock and writing the order, a statement that outlives its timeout, an unreachable
//! server, concurrent migrations, a raw write that would oversell; and the round trips of
//! a product page, counted on the wire.
//!
//! Run with:
//! `SHOPKIT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p shopkit-postgres --test faults`.
//! Without the variable the tests that need the server skip with a printed reason; with
//! `CI=true` they fail.

mod common;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Duration as Span;
use shopkit_core::cart::CartPolicy;
use shopkit_core::catalog::Product;
use shopkit_core::customers::Address;
use shopkit_core::ids::{
    Email, IdempotencyKey, LocationId, ProductId, RegionCode, ShippingMethodId,
};
use shopkit_core::inventory::{BackorderPolicy, ReservationStatus};
use shopkit_core::money::Currency;
use shopkit_core::ports::{
    CartStore, Clock, IdGenerator, IdempotencyStore, InventoryStore, OrderQuery, OrderRepository,
    OutboxStore, PaymentGateway, PaymentMethodToken, ProductQuery, ProductRepository,
    PromotionRepository, Readiness, SearchIndex, SearchQuery, StoreError,
};
use shopkit_core::pricing::{ShippingPrice, ShippingRate};
use shopkit_core::quantity::Quantity;
use shopkit_core::services::{
    CartAccess, CartService, CheckoutConfig, CheckoutPorts, CheckoutRequest, CheckoutService,
    Delivery, ShopError,
};
use shopkit_memory::{FakePaymentGateway, ManualClock, RandomIds};
use shopkit_postgres::{PgConfig, PgStore};
use shopkit_testkit::fixtures::{placed_order, product, reservation, t0, usd};
use shopkit_testkit::require_service;
use shopkit_testkit::search::document;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use common::{config, drop_schema, fresh_schema, schema_name};

const ENV: &str = "SHOPKIT_TEST_POSTGRES_URL";

/// Writes a line to stderr, past the test harness's capture (reports, not assertions).
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Holds every order write of one schema inside its transaction: a statement trigger on
/// `outbox` waits for an advisory lock that this trap holds, so the writer has inserted
/// its order row (uncommitted) and then blocks on the events. The lock key is random, so
/// parallel tests do not block each other.
struct OrderWriteTrap {
    control: PgConnection,
    schema: String,
    key: i64,
}

impl OrderWriteTrap {
    async fn install(url: &str, schema: &str) -> OrderWriteTrap {
        let key = i64::from(uuid::Uuid::new_v4().as_u128() as u32 >> 1);
        let mut control = PgConnection::connect(url).await.expect("a control connection");
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key)
            .execute(&mut control)
            .await
            .expect("take the trap's lock");
        // `schema` is a generated plain identifier; `key` a number.
        sqlx::query(AssertSqlSafe(format!(
            "CREATE FUNCTION {schema}.hold_order_writes() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN PERFORM pg_advisory_xact_lock({key}); RETURN NULL; END $$"
        )))
        .execute(&mut control)
        .await
        .expect("create the trap function");
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TRIGGER hold_order_writes BEFORE INSERT ON {schema}.outbox
             FOR EACH STATEMENT EXECUTE FUNCTION {schema}.hold_order_writes()"
        )))
        .execute(&mut control)
        .await
        .expect("create the trap trigger");
        OrderWriteTrap { control, schema: schema.to_owned(), key }
    }

    /// The backend blocked in the trap, once a writer reaches it. Polls the lock table
    /// (each poll is a round trip to the server; no sleeping).
    async fn caught_writer(&mut self, writer: &tokio::task::JoinHandle<impl Sized>) -> i32 {
        for _ in 0..100_000 {
            let pid: Option<i32> = sqlx::query_scalar(
                "SELECT pid FROM pg_locks
                 WHERE locktype = 'advisory' AND NOT granted
                   AND classid = 0 AND objid = $1::int8::oid AND objsubid = 1",
            )
            .bind(self.key)
            .fetch_optional(&mut self.control)
            .await
            .expect("read pg_locks");
            if let Some(pid) = pid {
                return pid;
            }
            assert!(!writer.is_finished(), "the checkout ended before it wrote its events");
            tokio::task::yield_now().await;
        }
        panic!("no order write reached the trap");
    }

    async fn count(&mut self, table: &str) -> i64 {
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}.{table}", self.schema)))
            .fetch_one(&mut self.control)
            .await
            .expect("count rows")
    }

    async fn kill(&mut self, pid: i32) {
        let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .fetch_one(&mut self.control)
            .await
            .expect("terminate the writer's backend");
        assert!(killed, "the writer's backend was terminated");
    }

    async fn remove(mut self) {
        sqlx::query(AssertSqlSafe(format!(
            "DROP TRIGGER hold_order_writes ON {}.outbox",
            self.schema
        )))
        .execute(&mut self.control)
        .await
        .expect("drop the trap");
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut self.control)
            .await
            .expect("release the trap's lock");
        let _ = self.control.close().await;
    }
}

/// A checkout over PostgreSQL stores, with the memory adapters' fake gateway and clock.
struct Checkout {
    carts: CartService,
    checkout: CheckoutService,
    gateway: Arc<FakePaymentGateway>,
    products: Arc<dyn ProductRepository>,
    promotions: Arc<dyn PromotionRepository>,
    inventory: Arc<dyn InventoryStore>,
    orders: Arc<dyn OrderRepository>,
    outbox: Arc<dyn OutboxStore>,
}

impl Checkout {
    fn over(store: &PgStore) -> Checkout {
        let gateway = Arc::new(FakePaymentGateway::new());
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at_fixed_start());
        let ids: Arc<dyn IdGenerator> = Arc::new(RandomIds::new());
        let cart_store: Arc<dyn CartStore> = Arc::new(store.carts());
        let products: Arc<dyn ProductRepository> = Arc::new(store.products());
        let promotions: Arc<dyn PromotionRepository> = Arc::new(store.promotions());
        let inventory: Arc<dyn InventoryStore> = Arc::new(store.inventory());
        let orders: Arc<dyn OrderRepository> = Arc::new(store.orders());
        let outbox: Arc<dyn OutboxStore> = Arc::new(store.outbox());
        let idempotency: Arc<dyn IdempotencyStore> = Arc::new(store.idempotency());
        Checkout {
            carts: CartService::new(
                cart_store.clone(),
                products.clone(),
                promotions.clone(),
                outbox.clone(),
                clock.clone(),
                ids.clone(),
                CartPolicy::default(),
            ),
            checkout: CheckoutService::new(
                CheckoutPorts {
                    carts: cart_store,
                    products: products.clone(),
                    promotions: promotions.clone(),
                    inventory: inventory.clone(),
                    gateway: gateway.clone() as Arc<dyn PaymentGateway>,
                    orders: orders.clone(),
                    idempotency,
                    journal: Arc::new(store.checkout_journal()),
                    clock,
                    ids,
                },
                CheckoutConfig::default(),
            ),
            gateway,
            products,
            promotions,
            inventory,
            orders,
            outbox,
        }
    }

    /// A guest cart holding `n` of a fresh product with 10 in stock, shipped to California
    /// by free `standard` shipping, and a checkout of it.
    async fn request(&self, n: i64) -> (CheckoutRequest, shopkit_core::ids::Sku) {
        let p = product().prices(&[usd(1999)]).build();
        let sku = p.variants[0].sku.clone();
        self.products.insert(&p).await.expect("insert a product");
        self.inventory
            .set_stock(&sku, &LocationId::main(), 10, BackorderPolicy::Deny)
            .await
            .expect("set stock");
        let cart = self.carts.create_guest_cart(Currency::USD).await.expect("a cart");
        let access = CartAccess::Token(cart.token().clone());
        self.carts
            .add_line(cart.id(), &access, sku.clone(), Quantity::new(n).expect("a quantity"))
            .await
            .expect("add a line");
        let standard = ShippingMethodId::new("standard").expect("a method");
        let mut settings = self.promotions.settings().await.expect("the pricing settings");
        if settings.shipping.rates.is_empty() {
            let free = ShippingPrice::Flat(usd(0));
            let rate = ShippingRate::new(standard.clone(), "Standard", free).expect("a rate");
            settings.shipping.rates.push(rate);
            self.promotions.save_settings(&settings).await.expect("save the pricing settings");
        }
        let address = Address {
            id: None,
            name: "Ann Smith".into(),
            line1: "1 Main St".into(),
            line2: None,
            city: "Sacramento".into(),
            postal_code: "95814".into(),
            region: RegionCode::new("US-CA").expect("a region"),
            phone: None,
        };
        let delivery = Delivery { address: Some(address), method: Some(standard) };
        self.carts.set_delivery(cart.id(), &access, delivery).await.expect("set delivery");
        let request = CheckoutRequest {
            cart_id: cart.id(),
            access,
            email: Email::new("ann@example.com").expect("an email"),
            payment_method: PaymentMethodToken("pm_card_visa".into()),
            expected_total: None,
            idempotency_key: IdempotencyKey::new(&format!("fault-{}", uuid::Uuid::new_v4()))
                .expect("a key"),
        };
        (request, sku)
    }

    async fn level(&self, sku: &shopkit_core::ids::Sku) -> (i64, i64) {
        let levels = self.inventory.levels(std::slice::from_ref(sku)).await.expect("levels");
        (levels[0].on_hand, levels[0].reserved)
    }

    async fn order_count(&self) -> usize {
        let query = OrderQuery { limit: 100, ..OrderQuery::default() };
        self.orders.list(&query).await.expect("list orders").items.len()
    }

    async fn event_count(&self) -> usize {
        self.outbox.list(None, None, 100).await.expect("list the outbox").items.len()
    }
}

/// The connection writing a checkout's order is killed after the order row went in and
/// before its events did: nothing of the order survives (no order, no event), the saga
/// gives the stock back and voids the authorization, and the store then writes the next
/// order and its event together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connection_killed_mid_checkout_leaves_neither_the_order_nor_its_events() {
    let Some(url) = require_service(ENV) else { return };
    // Arrange
    let (store, schema) = fresh_schema(&url).await;
    let shop = Checkout::over(&store);
    let (request, sku) = shop.request(2).await;
    let mut trap = OrderWriteTrap::install(&url, &schema).await;

    // Act
    let checkout = shop.checkout.clone();
    let attempt = tokio::spawn(async move { checkout.checkout(request).await });
    let writer = trap.caught_writer(&attempt).await;
    let visible_while_open = trap.count("orders").await;
    trap.kill(writer).await;
    let result = attempt.await.expect("the checkout task");
    trap.remove().await;

    // Assert
    assert_eq!(visible_while_open, 0, "an order row is invisible until its events commit with it");
    assert!(
        matches!(result, Err(ShopError::Unavailable { .. })),
        "a checkout whose order write died is Unavailable, got {result:?}"
    );
    assert_eq!(shop.order_count().await, 0, "no order survives the killed transaction");
    assert_eq!(shop.event_count().await, 0, "no event survives the killed transaction");
    assert_eq!(shop.level(&sku).await, (10, 0), "the stock is given back");
    let payments = shop.gateway.payments();
    assert_eq!(payments.len(), 1);
    assert!(payments[0].voided, "the authorization is voided");

    // ... and the next checkout writes its order and its event together.
    let (again, _) = shop.request(1).await;
    let order = shop.checkout.checkout(again).await.expect("a checkout after the fault");
    assert!(shop.orders.get(order.id()).await.expect("get").is_some());
    let events = shop.outbox.list(None, None, 100).await.expect("list").items;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].envelope.event.order_id(), Some(order.id()));
    store.close().await;
    drop_schema(&url, &schema).await;
}

/// The process dies between reserving stock and writing the order (its pool is gone).
/// After a restart nothing is left to resume it: the reservation expires, its stock comes
/// back, and there is no order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_between_reserve_and_order_gives_the_stock_back_once_the_reservation_expires() {
    let Some(url) = require_service(ENV) else { return };
    // Arrange
    let (before_crash, schema) = fresh_schema(&url).await;
    let p = product().build();
    let sku = p.variants[0].sku.clone();
    let inventory = before_crash.inventory();
    inventory.set_stock(&sku, &LocationId::main(), 5, BackorderPolicy::Deny).await.expect("stock");
    let held = inventory
        .reserve(&reservation(&[(&sku, 3)], t0() + Span::minutes(15)))
        .await
        .expect("reserve");

    // Act: the crash, then a restart on the same schema.
    before_crash.close().await;
    drop((before_crash, inventory));
    let restarted = PgStore::connect(&url, config(&schema)).await.expect("reconnect");
    let inventory = restarted.inventory();
    let still_held = inventory.levels(std::slice::from_ref(&sku)).await.expect("levels");
    let early = inventory.release_expired(t0() + Span::minutes(14)).await.expect("sweep early");
    let due = inventory.release_expired(t0() + Span::minutes(15)).await.expect("sweep");

    // Assert
    assert_eq!(still_held[0].reserved, 3, "the crash leaves the stock held");
    assert_eq!(early, 0, "nothing expires before its time");
    assert_eq!(due, 1, "the orphaned reservation expires");
    let after = inventory.levels(std::slice::from_ref(&sku)).await.expect("levels");
    assert_eq!((after[0].on_hand, after[0].reserved), (5, 0), "the stock is back");
    let r = inventory.reservation(held.id).await.expect("read").expect("the reservation");
    assert_eq!(r.status, ReservationStatus::Expired);
    let orders = restarted.orders();
    let listed = orders.list(&OrderQuery { limit: 10, ..OrderQuery::default() }).await;
    assert!(listed.expect("list orders").items.is_empty(), "no order was written");
    restarted.close().await;
    drop_schema(&url, &schema).await;
}

/// A statement stuck behind a row lock past `statement_timeout` is cancelled by the
/// server: the call is `Unavailable` (retryable), changes nothing, and succeeds once the
/// lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_past_the_timeout_is_unavailable_and_changes_nothing() {
    let Some(url) = require_service(ENV) else { return };
    // Arrange
    let (store, schema) = fresh_schema(&url).await;
    drop(store);
    let impatient = PgStore::connect(
        &url,
        PgConfig { statement_timeout: Duration::from_millis(300), ..config(&schema) },
    )
    .await
    .expect("connect with a short statement timeout");
    let repo = impatient.products();
    let mut p = product().build();
    p.version = repo.insert(&p).await.expect("insert");
    let mut blocker = PgConnection::connect(&url).await.expect("connect");
    sqlx::query("BEGIN").execute(&mut blocker).await.expect("begin");
    sqlx::query(AssertSqlSafe(format!("SELECT 1 FROM {schema}.products WHERE id = $1 FOR UPDATE")))
        .bind(p.id.as_uuid())
        .execute(&mut blocker)
        .await
        .expect("lock the product row");
    let mut renamed = p.clone();
    renamed.title = "Renamed".into();

    // Act
    let stuck = repo.update(&renamed).await;
    sqlx::query("ROLLBACK").execute(&mut blocker).await.expect("release the row");
    let retried = repo.update(&renamed).await;

    // Assert
    match &stuck {
        Err(e @ StoreError::Unavailable { .. }) => assert!(e.is_retryable()),
        other => panic!("a statement past its timeout must be Unavailable, got {other:?}"),
    }
    assert_eq!(retried.expect("the retry once the lock is gone"), 2);
    impatient.close().await;
    drop_schema(&url, &schema).await;
}

/// A server nobody listens for: every call is `Unavailable` (retryable), readiness fails,
/// and nothing of sqlx shows but a boxed source.
#[tokio::test]
async fn an_unreachable_server_is_unavailable_and_retryable() {
    // Arrange: port 1 on loopback refuses connections.
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy("postgres://postgres@127.0.0.1:1/test")
        .expect("a lazy pool");
    let store = PgStore::new(pool);

    // Act
    let get = store.products().get(ProductId::from_uuid(uuid::Uuid::new_v4())).await;
    let ready = store.readiness().check().await;
    let search = store.search().search(&SearchQuery { limit: 10, ..SearchQuery::default() }).await;

    // Assert
    match get {
        Err(e @ StoreError::Unavailable { source: Some(_), .. }) => assert!(e.is_retryable()),
        other => panic!("an unreachable server must be Unavailable with a source, got {other:?}"),
    }
    assert!(matches!(ready, Err(StoreError::Unavailable { .. })), "readiness fails: {ready:?}");
    assert!(
        matches!(search, Err(shopkit_core::ports::SearchError::Unavailable { .. })),
        "search is unavailable: {search:?}"
    );
}

/// Readiness answers `Ok` when the server does.
#[tokio::test]
async fn readiness_answers_when_the_server_is_up() {
    let Some(url) = require_service(ENV) else { return };
    let (store, schema) = fresh_schema(&url).await;

    let ready = store.readiness().check().await;

    assert!(ready.is_ok(), "{ready:?}");
    assert_eq!(store.readiness().name(), "postgres");
    store.close().await;
    drop_schema(&url, &schema).await;
}

/// Two processes starting at once both migrate one new schema: one applies the
/// migrations, the other waits and finds nothing to do; a third run is a no-op.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_of_one_schema_both_succeed() {
    let Some(url) = require_service(ENV) else { return };
    // Arrange
    let schema = schema_name();
    let a = PgStore::connect(&url, config(&schema)).await.expect("connect");
    let b = PgStore::connect(&url, config(&schema)).await.expect("connect");

    // Act
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    let again = a.migrate().await;

    // Assert
    ra.expect("the first migration");
    rb.expect("the concurrent migration");
    again.expect("a migration with nothing to do");
    let products = a.products().list(&ProductQuery { limit: 1, ..ProductQuery::default() }).await;
    assert!(products.expect("the migrated tables answer").items.is_empty());
    a.close().await;
    b.close().await;
    drop_schema(&url, &schema).await;
}

/// The oversell rule holds in the database itself, whatever code writes to it: raising
/// `reserved` past `on_hand` for a `Deny` SKU is refused by the trigger (by constraint
/// name), while a stock count below what is held is accepted and then nothing more can be
/// reserved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_an_oversell_but_accepts_a_short_stock_count() {
    let Some(url) = require_service(ENV) else { return };
    // Arrange
    let (store, schema) = fresh_schema(&url).await;
    let inventory = store.inventory();
    let p = product().build();
    let sku = p.variants[0].sku.clone();
    inventory.set_stock(&sku, &LocationId::main(), 5, BackorderPolicy::Deny).await.expect("stock");
    inventory.reserve(&reservation(&[(&sku, 4)], t0() + Span::minutes(15))).await.expect("hold 4");
    let mut sql = PgConnection::connect(&url).await.expect("connect");

    // Act
    let raw_oversell = sqlx::query(AssertSqlSafe(format!(
        "UPDATE {schema}.inventory_levels SET reserved = reserved + 2 WHERE sku = $1"
    )))
    .bind(sku.as_str())
    .execute(&mut sql)
    .await;
    let counted = inventory.set_stock(&sku, &LocationId::main(), 3, BackorderPolicy::Deny).await;
    let more = inventory.reserve(&reservation(&[(&sku, 1)], t0() + Span::minutes(15))).await;

    // Assert
    let refused = raw_oversell.expect_err("the trigger refuses an oversell");
    let db = refused.as_database_error().expect("a database error");
    assert_eq!(db.code().as_deref(), Some("23514"));
    assert_eq!(db.constraint(), Some("inventory_levels_no_oversell"));
    let counted = counted.expect("a stock count below what is held is recorded");
    assert_eq!((counted.on_hand, counted.reserved), (3, 4));
    assert!(
        matches!(
            more,
            Err(shopkit_core::inventory::InventoryError::OutOfStock { available: 0, .. })
        ),
        "nothing more is reservable, got {more:?}"
    );
    let _ = sql.close().await;
    store.close().await;
    drop_schema(&url, &schema).await;
}

/// A TCP proxy in front of PostgreSQL that counts, on the wire, the statements clients
/// run (`Bind` of a prepared statement, or a simple `Query` such as `BEGIN`/`COMMIT`) and
/// the statements they prepare (`Parse`). Each statement costs the caller one round trip
/// (sqlx sends Bind, Execute and Sync together and waits for the answer); preparing adds
/// one, the first time a connection runs a statement. The pool's own health pings send a
/// bare `Sync` and are not counted.
struct StatementCounter {
    url: String,
    statements: Arc<AtomicUsize>,
    prepares: Arc<AtomicUsize>,
}

impl StatementCounter {
    /// A proxy to the server of `url`; [`url`](Self::url) connects through it.
    async fn start(url: &str) -> StatementCounter {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let after_user = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let upstream = after_user.split('/').next().unwrap_or(after_user).to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let local = listener.local_addr().expect("the proxy's address");
        let proxied = url.replacen(&upstream, &local.to_string(), 1);
        // The proxy reads plain protocol messages: no TLS through it (with the `tls`
        // feature, sqlx would otherwise upgrade when the server offers it).
        let sep = if proxied.contains('?') { '&' } else { '?' };
        let proxied = format!("{proxied}{sep}sslmode=disable");
        let statements = Arc::new(AtomicUsize::new(0));
        let prepares = Arc::new(AtomicUsize::new(0));
        let counters = (Arc::clone(&statements), Arc::clone(&prepares));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else { continue };
                let counters = (Arc::clone(&counters.0), Arc::clone(&counters.1));
                tokio::spawn(async move {
                    let (mut from_client, mut to_client) = client.into_split();
                    let (mut from_server, mut to_server) = server.into_split();
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                    });
                    let _ = forward_counting(
                        &mut from_client,
                        &mut to_server,
                        &counters.0,
                        &counters.1,
                    )
                    .await;
                });
            }
        });
        StatementCounter { url: proxied, statements, prepares }
    }

    fn url(&self) -> &str {
        &self.url
    }

    /// `(statements, prepares)` so far.
    fn now(&self) -> (usize, usize) {
        (self.statements.load(Ordering::SeqCst), self.prepares.load(Ordering::SeqCst))
    }
}

/// Copies a client's messages to the server, counting statements and preparations.
async fn forward_counting(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    statements: &AtomicUsize,
    prepares: &AtomicUsize,
) -> std::io::Result<()> {
    // Untyped first: an SSL or GSS encryption request (refused with one byte, then the
    // client goes on), then the startup message.
    loop {
        let len = from.read_i32().await?;
        let mut body = vec![0; usize::try_from(len).unwrap_or(4).saturating_sub(4)];
        from.read_exact(&mut body).await?;
        to.write_i32(len).await?;
        to.write_all(&body).await?;
        let code = body.get(..4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if !matches!(code, Some(80_877_103 | 80_877_104)) {
            break;
        }
    }
    loop {
        let tag = from.read_u8().await?;
        let len = from.read_i32().await?;
        let mut body = vec![0; usize::try_from(len).unwrap_or(4).saturating_sub(4)];
        from.read_exact(&mut body).await?;
        match tag {
            b'B' | b'Q' => statements.fetch_add(1, Ordering::SeqCst),
            b'P' => prepares.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
        to.write_u8(tag).await?;
        to.write_i32(len).await?;
        to.write_all(&body).await?;
    }
}

/// Runs `call` twice on the counter's connection and returns `(statements, prepares of
/// the first run, statements of the second run, value of the second run)`.
macro_rules! measure {
    ($counter:expr, $call:expr) => {{
        let (s0, p0) = $counter.now();
        let _ = $call.await.expect("a measured call");
        let (s1, p1) = $counter.now();
        let value = $call.await.expect("a measured call");
        let (s2, _) = $counter.now();
        (s1 - s0, p1 - p0, s2 - s1, value)
    }};
}

/// The round trips behind the calls a storefront makes most, counted on the wire: a
/// product page with all its variants is ONE statement, as are a page of 20 products, the
/// products of a cart's SKUs, and a search with facets. Also reports an order write and a
/// reservation (five each, a transaction's BEGIN and COMMIT included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_page_is_one_statement() {
    let Some(url) = require_service(ENV) else { return };
    // Arrange: 20 products of 5 variants each, indexed for search, in a fresh schema; a
    // one-connection store that talks through the counting proxy.
    let (setup, schema) = fresh_schema(&url).await;
    let counter = StatementCounter::start(&url).await;
    let store = PgStore::connect(counter.url(), PgConfig { max_connections: 1, ..config(&schema) })
        .await
        .expect("connect through the proxy");
    let repo = store.products();
    let search = store.search();
    let mut catalog: Vec<Product> = Vec::new();
    for _ in 0..20 {
        let p = product().variants(5).build();
        setup.products().insert(&p).await.expect("insert");
        let mut doc = document(&format!("Pebble {}", p.title), 1000);
        doc.product_id = p.id;
        setup.search().index(&doc).await.expect("index");
        catalog.push(p);
    }
    let page = ProductQuery { limit: 20, ..ProductQuery::default() };
    repo.list(&page).await.expect("warm up: load the cursor key");
    let skus: Vec<_> = catalog.iter().take(3).map(|p| p.variants[4].sku.clone()).collect();
    let text = SearchQuery {
        text: "pebble".into(),
        facets: vec!["category".into()],
        limit: 10,
        ..SearchQuery::default()
    };
    setup
        .inventory()
        .set_stock(&skus[0], &LocationId::main(), 100, BackorderPolicy::Deny)
        .await
        .expect("stock");
    let orders = store.orders();
    let stock = store.inventory();

    // Act
    let get = measure!(counter, repo.get(catalog[7].id));
    let slug = measure!(counter, repo.by_slug(&catalog[8].slug));
    let list = measure!(counter, repo.list(&page));
    let by_skus = measure!(counter, repo.by_skus(&skus));
    let found = measure!(counter, search.search(&text));
    let insert = measure!(counter, async {
        let (order, placed) = placed_order(None, t0());
        orders.insert(&order, &[placed]).await
    });
    let reserve = measure!(counter, stock.reserve(&reservation(&[(&skus[0], 1)], t0())));

    // Assert
    report("statements (one round trip each) per call, PostgreSQL adapter:");
    report(&format!("  product page, get (5 variants): {} (+{} prepare)", get.0, get.1));
    report(&format!("  product page, by_slug: {} (+{})", slug.0, slug.1));
    report(&format!("  list, a page of 20 products with 100 variants: {} (+{})", list.0, list.1));
    report(&format!("  by_skus of 3 SKUs: {} (+{})", by_skus.0, by_skus.1));
    report(&format!("  search with facets: {} (+{})", found.0, found.1));
    report(&format!("  order insert with 1 event: {} (+{})", insert.0, insert.1));
    report(&format!("  reserve: {} (+{})", reserve.0, reserve.1));
    assert_eq!(get.3.expect("the product").variants.len(), 5);
    assert_eq!(list.3.items.len(), 20);
    assert_eq!(by_skus.3.len(), 3);
    assert_eq!(found.3.total, 20);
    for (what, first, again) in [
        ("a product page (get)", get.0, get.2),
        ("a product page (by_slug)", slug.0, slug.2),
        ("a page of products", list.0, list.2),
        ("by_skus", by_skus.0, by_skus.2),
        ("a search", found.0, found.2),
    ] {
        assert_eq!((first, again), (1, 1), "{what} must be one statement (no N+1)");
    }
    assert_eq!(
        (insert.0, insert.2),
        (5, 5),
        "order insert: begin, order, projections, outbox, commit"
    );
    assert_eq!((reserve.0, reserve.2), (5, 5), "reserve: begin, claim, lock, hold, commit");
    store.close().await;
    setup.close().await;
    drop_schema(&url, &schema).await;
}

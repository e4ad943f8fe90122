//! Profiles: each is one composition function from the configuration to the ports.
//!
//! A profile decides where each port lives; everything after it (services, HTTP, workers)
//! is the same for every profile: [`embedded`] (no service at all), [`postgres`]
//! (PostgreSQL, optionally Redis) and [`aws`] (DynamoDB, RDS PostgreSQL, S3, ElastiCache).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use shopkit_core::ports::{
    CartStore, CheckoutJournal, Clock, CustomerRepository, IdempotencyStore, IdentityProvider,
    InventoryStore, MediaStore, OrderRepository, OutboxStore, ProductRepository,
    PromotionRepository, RateLimiter, Readiness, SearchIndex,
};
use shopkit_core::services::{
    EventLogService, MediaService, PromotionService, RecommendationService, Registration, Shop,
};
use shopkit_dynamodb::{DynamoCarts, DynamoConfig, DynamoInventory, DynamoProducts};
use shopkit_http::{AppState, HttpConfig};
use shopkit_local_identity::{LocalIdentity, LocalIdentityConfig, SigningKey};
use shopkit_memory::InMemory;
use shopkit_postgres::{PgConfig, PgStore};
use shopkit_redis::{
    CachedProducts, CatalogCacheConfig, RedisConfig, RedisConnection, RedisRateLimiter,
};
use shopkit_s3::{S3Config, S3MediaStore};

use crate::config::{ConfigError, Profile, ShopConfig};
use crate::seed::{SeedReport, seed_demo};
use crate::subscribers::Subscribers;

/// Why the shop could not start. Each says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A setting is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The identity provider rejected its settings (a short signing key).
    #[error("identity provider: {0}")]
    Identity(String),
    /// The HTTP layer rejected its settings.
    #[error("HTTP settings: {0}")]
    Http(String),
    /// Seeding the demo catalog or the admin account failed.
    #[error("seeding: {0}")]
    Seed(#[from] shopkit_core::services::ShopError),
    /// The database (or Redis) could not be reached or migrated.
    #[error(
        "database: {0}: check SHOPKIT_DATABASE_URL / SHOPKIT_REDIS_URL and that the server is up"
    )]
    Database(String),
    /// The server failed while running.
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Everything a profile composes: the shop, the HTTP state, and what the workers need.
pub struct Wiring {
    /// The use cases.
    pub shop: Shop,
    /// The HTTP layer's state.
    pub state: AppState,
    /// Event subscribers the outbox worker delivers to.
    pub subscribers: Subscribers,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// The embedded adapters in use (all of them in the embedded profile; payments,
    /// notifications, media and recommendations in the postgres profile): tests read what
    /// the fake gateway and the recording notifier saw.
    pub memory: Option<InMemory>,
    /// What the demo seed wrote, when seeding was on.
    pub seeded: Option<SeedReport>,
}

impl std::fmt::Debug for Wiring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wiring").field("seeded", &self.seeded).finish_non_exhaustive()
    }
}

/// Composes the profile the configuration names.
///
/// # Errors
/// [`StartError`] naming what to fix.
pub async fn compose(config: &ShopConfig) -> Result<Wiring, StartError> {
    match config.profile {
        Profile::Embedded => embedded(config).await,
        Profile::Postgres => postgres(config).await,
        Profile::Aws => aws(config).await,
    }
}

/// The embedded profile: every port in memory, a local identity issuer, no service at all.
///
/// # Errors
/// [`StartError`] naming what to fix.
pub async fn embedded(config: &ShopConfig) -> Result<Wiring, StartError> {
    let memory = InMemory::new();
    let shop = memory.shop().map_err(|e| StartError::Http(e.to_string()))?;
    let key = config.jwt_signing_key_or_random()?;
    let key = SigningKey::new(key.expose().as_bytes().to_vec())
        .map_err(|e| StartError::Identity(e.to_string()))?;
    let identity_config = LocalIdentityConfig::new(config.public_base_url.clone(), "shopkit", key);
    let identity = LocalIdentity::new(identity_config, memory.clock.clone())
        .map_err(|e| StartError::Identity(e.to_string()))?;
    let identity: Arc<dyn IdentityProvider> = Arc::new(identity);
    let promotions: Arc<dyn PromotionRepository> = memory.promotions.clone();
    let idempotency: Arc<dyn IdempotencyStore> = memory.idempotency.clone();
    let readiness: Vec<Arc<dyn Readiness>> = memory.readiness();

    let state = app_state(AppParts {
        shop: shop.clone(),
        identity,
        promotions: promotions.clone(),
        events: EventLogService::new(memory.outbox.clone(), memory.clock.clone()),
        recommendations: RecommendationService::new(
            memory.recommender.clone(),
            memory.products.clone(),
            memory.clock.clone(),
        ),
        media: MediaService::new(memory.media.clone(), Duration::hours(1)),
        idempotency,
        readiness,
        clock: memory.clock.clone(),
        http: http_config(config),
        rate_limiter: None,
    })?;

    let seeded = seed(config, &state, &promotions).await?;
    Ok(Wiring {
        shop,
        subscribers: Subscribers::new(memory.subscribers("shopkit demo shop")),
        clock: memory.clock.clone(),
        state,
        memory: Some(memory),
        seeded,
    })
}

/// The parts every profile hands to the HTTP layer.
struct AppParts {
    shop: Shop,
    identity: Arc<dyn IdentityProvider>,
    promotions: Arc<dyn PromotionRepository>,
    events: EventLogService,
    recommendations: RecommendationService,
    media: MediaService,
    idempotency: Arc<dyn IdempotencyStore>,
    readiness: Vec<Arc<dyn Readiness>>,
    clock: Arc<dyn Clock>,
    http: HttpConfig,
    rate_limiter: Option<Arc<dyn RateLimiter>>,
}

fn app_state(parts: AppParts) -> Result<AppState, StartError> {
    let mut builder = AppState::builder()
        .shop(parts.shop)
        .identity(parts.identity)
        .promotions(PromotionService::new(parts.promotions))
        .events(parts.events)
        .recommendations(parts.recommendations)
        .media(parts.media)
        .idempotency(parts.idempotency)
        .clock(parts.clock)
        .config(parts.http);
    for check in parts.readiness {
        builder = builder.readiness(check);
    }
    if let Some(limiter) = parts.rate_limiter {
        builder = builder.rate_limiter(limiter);
    }
    builder.build().map_err(|e| StartError::Http(e.to_string()))
}

/// The HTTP settings from the shop's.
pub fn http_config(config: &ShopConfig) -> HttpConfig {
    HttpConfig {
        body_limit_bytes: usize::try_from(config.body_limit_bytes.get()).unwrap_or(usize::MAX),
        request_timeout: config.request_timeout,
        checkout_wait: config.checkout_wait,
        cors_allowed_origins: config.cors_allowed_origins.clone(),
        rate_limit_per_second: config.rate_limit_per_second.get(),
        rate_limit_burst: config.rate_limit_burst.get(),
        ..HttpConfig::default()
    }
}

/// The demo admin account (always, so the back office is usable) and the demo catalog
/// (when seeding is on).
async fn seed(
    config: &ShopConfig,
    state: &AppState,
    promotions: &Arc<dyn PromotionRepository>,
) -> Result<Option<SeedReport>, StartError> {
    let password =
        shopkit_core::ports::Password::new(config.admin_password.expose()).map_err(|e| {
            StartError::Config(ConfigError::Invalid {
                setting: "admin_password",
                origin: "the configuration".into(),
                reason: e.to_string(),
            })
        })?;
    let admin = Registration {
        email: config.admin_email.clone(),
        first_name: "Shop".into(),
        last_name: "Admin".into(),
        phone: None,
        accepts_marketing: false,
    };
    state.accounts().ensure_admin(admin, &password).await?;
    if !config.seed {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let report = seed_demo(state.shop(), promotions, config.seed_products, 42).await?;
    tracing::info!(
        products = report.products,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo catalog seeded"
    );
    Ok(Some(report))
}

/// How often the maintenance worker runs (reservation expiry, abandoned carts).
pub const MAINTENANCE_EVERY: StdDuration = StdDuration::from_secs(30);

/// Where the persistent ports of a profile live; the rest of the wiring is shared.
struct Storage {
    products: Arc<dyn ProductRepository>,
    search: Arc<dyn SearchIndex>,
    carts: Arc<dyn CartStore>,
    promotions: Arc<dyn PromotionRepository>,
    inventory: Arc<dyn InventoryStore>,
    orders: Arc<dyn OrderRepository>,
    outbox: Arc<dyn OutboxStore>,
    idempotency: Arc<dyn IdempotencyStore>,
    checkout_journal: Arc<dyn CheckoutJournal>,
    customers: Arc<dyn CustomerRepository>,
    media: Option<Arc<dyn MediaStore>>,
    readiness: Vec<Arc<dyn Readiness>>,
    rate_limiter: Option<Arc<dyn RateLimiter>>,
}

/// Connects to PostgreSQL (and migrates when asked).
async fn connect_postgres(config: &ShopConfig) -> Result<PgStore, StartError> {
    let url = config.database_url.as_ref().ok_or_else(|| {
        StartError::Config(ConfigError::Invalid {
            setting: "database_url",
            origin: "the configuration".into(),
            reason: format!("the {} profile needs SHOPKIT_DATABASE_URL", config.profile.as_str()),
        })
    })?;
    let pg_config = PgConfig { schema: config.database_schema.clone(), ..PgConfig::default() };
    let store = PgStore::connect(url.expose(), pg_config)
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
    if config.migrate {
        store.migrate().await.map_err(|e| StartError::Database(e.to_string()))?;
        tracing::info!("database migrations applied");
    }
    Ok(store)
}

/// With `redis_url`: the catalog cached in Redis and the rate limit shared by every
/// instance (keys prefixed by the schema, so shops on different schemas never meet).
fn with_redis(config: &ShopConfig, storage: &mut Storage) -> Result<(), StartError> {
    let Some(redis_url) = &config.redis_url else {
        return Ok(());
    };
    let prefix = format!("shopkit:{}", config.database_schema.as_deref().unwrap_or("public"));
    let redis_config = RedisConfig { key_prefix: prefix, ..RedisConfig::new(redis_url.expose()) };
    let redis = RedisConnection::open(&redis_config)
        .map_err(|e| StartError::Database(format!("redis: {e}")))?;
    storage.readiness.push(Arc::new(redis.clone()));
    storage.rate_limiter = Some(Arc::new(RedisRateLimiter::new(redis.clone())));
    storage.products = Arc::new(CachedProducts::new(
        storage.products.clone(),
        redis,
        CatalogCacheConfig::default(),
    ));
    Ok(())
}

/// The postgres profile: every persistent port in PostgreSQL (customers, orders with
/// refunds and payments, the outbox, products and search, carts, inventory, idempotency,
/// promotions); with `redis_url`, the catalog is cached in Redis and the rate limit is
/// shared by every instance. Payments, notifications, media and recommendations have no
/// PostgreSQL role: they stay on the embedded adapters until their own adapters (Stripe,
/// SES, S3, Personalize) are configured.
///
/// # Errors
/// [`StartError`] naming what to fix (an unreachable database, failed migrations...).
pub async fn postgres(config: &ShopConfig) -> Result<Wiring, StartError> {
    let store = connect_postgres(config).await?;
    let mut storage = Storage {
        products: Arc::new(store.products()),
        search: Arc::new(store.search()),
        carts: Arc::new(store.carts()),
        promotions: Arc::new(store.promotions()),
        inventory: Arc::new(store.inventory()),
        orders: Arc::new(store.orders()),
        outbox: Arc::new(store.outbox()),
        idempotency: Arc::new(store.idempotency()),
        checkout_journal: Arc::new(store.checkout_journal()),
        customers: Arc::new(store.customers()),
        media: None,
        readiness: vec![Arc::new(store.readiness())],
        rate_limiter: None,
    };
    with_redis(config, &mut storage)?;
    persistent(config, storage).await
}

/// The aws profile, the reference architecture: products, carts and inventory in DynamoDB
/// (schemaless attributes, conditional writes); customers, orders with refunds and
/// payments, the outbox, promotions, idempotency and product search in PostgreSQL (RDS);
/// media in S3 behind an optional CDN; with `redis_url`, the catalog cache and the shared
/// rate limiter in Redis (ElastiCache). The AWS clients follow the SDK's usual settings
/// (`AWS_REGION`, credentials chain, `AWS_ENDPOINT_URL` for an emulator such as moto).
///
/// # Errors
/// [`StartError`] naming what to fix.
pub async fn aws(config: &ShopConfig) -> Result<Wiring, StartError> {
    let store = connect_postgres(config).await?;
    let (dynamo, s3) = aws_clients().await;
    let table = DynamoConfig::new(config.dynamodb_table.clone())
        .map_err(|e| StartError::Database(format!("dynamodb table: {e}")))?;
    if config.migrate {
        shopkit_dynamodb::create_tables(&dynamo, &table)
            .await
            .map_err(|e| StartError::Database(format!("dynamodb: {e}")))?;
        shopkit_s3::create_bucket(&s3, &config.s3_bucket)
            .await
            .map_err(|e| StartError::Database(format!("s3: {e}")))?;
        tracing::info!(table = %config.dynamodb_table, bucket = %config.s3_bucket, "AWS resources ready");
    }
    let s3_config = S3Config {
        cdn_base_url: config.cdn_base_url.clone(),
        ..S3Config::new(config.s3_bucket.clone())
    };
    let media =
        S3MediaStore::new(s3, s3_config).map_err(|e| StartError::Database(format!("s3: {e}")))?;
    let media = Arc::new(media);
    let mut storage = Storage {
        products: Arc::new(DynamoProducts::new(dynamo.clone(), &table)),
        search: Arc::new(store.search()),
        carts: Arc::new(DynamoCarts::new(dynamo.clone(), &table)),
        promotions: Arc::new(store.promotions()),
        inventory: Arc::new(DynamoInventory::new(dynamo, &table)),
        orders: Arc::new(store.orders()),
        outbox: Arc::new(store.outbox()),
        idempotency: Arc::new(store.idempotency()),
        checkout_journal: Arc::new(store.checkout_journal()),
        customers: Arc::new(store.customers()),
        media: Some(media.clone()),
        readiness: vec![Arc::new(store.readiness()), media],
        rate_limiter: None,
    };
    with_redis(config, &mut storage)?;
    persistent(config, storage).await
}

/// AWS SDK clients from the environment (region, credentials, `AWS_ENDPOINT_URL`); S3 with
/// path-style addressing when an endpoint is overridden (emulators serve no bucket DNS).
async fn aws_clients() -> (aws_sdk_dynamodb::Client, aws_sdk_s3::Client) {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let path_style = std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let s3 = aws_sdk_s3::config::Builder::from(&shared).force_path_style(path_style).build();
    (aws_sdk_dynamodb::Client::new(&shared), aws_sdk_s3::Client::from_conf(s3))
}

/// Everything after the storage: services, identity, HTTP state, seed, subscribers. The
/// ports with no role in the storage (payments, notifications, recommendations, and media
/// unless given) stay on the embedded adapters.
async fn persistent(config: &ShopConfig, storage: Storage) -> Result<Wiring, StartError> {
    use shopkit_core::ids::LocationId;
    use shopkit_core::services::subscribers::{
        AnalyticsSubscriber, CrmSubscriber, LedgerSubscriber, NotificationSubscriber,
        RecommenderSubscriber, RestockSubscriber,
    };
    let world = InMemory::new();
    let shop = Shop::builder()
        .products(storage.products.clone())
        .search(storage.search)
        .carts(storage.carts)
        .promotions(storage.promotions.clone())
        .inventory(storage.inventory.clone())
        .payments(world.payments.clone())
        .orders(storage.orders.clone())
        .outbox(storage.outbox.clone())
        .idempotency(storage.idempotency.clone())
        .checkout_journal(storage.checkout_journal.clone())
        .customers(storage.customers.clone())
        .clock(world.clock.clone())
        .ids(world.ids.clone())
        .build()
        .map_err(|e| StartError::Http(e.to_string()))?;
    let key = config.jwt_signing_key_or_random()?;
    let key = SigningKey::new(key.expose().as_bytes().to_vec())
        .map_err(|e| StartError::Identity(e.to_string()))?;
    let identity_config = LocalIdentityConfig::new(config.public_base_url.clone(), "shopkit", key);
    let identity = LocalIdentity::new(identity_config, world.clock.clone())
        .map_err(|e| StartError::Identity(e.to_string()))?;
    let media: Arc<dyn MediaStore> = storage.media.unwrap_or_else(|| world.media.clone());
    let state = app_state(AppParts {
        shop: shop.clone(),
        identity: Arc::new(identity),
        promotions: storage.promotions.clone(),
        events: EventLogService::new(storage.outbox, world.clock.clone()),
        recommendations: RecommendationService::new(
            world.recommender.clone(),
            storage.products.clone(),
            world.clock.clone(),
        ),
        media: MediaService::new(media, Duration::hours(1)),
        idempotency: storage.idempotency,
        readiness: storage.readiness,
        clock: world.clock.clone(),
        http: http_config(config),
        rate_limiter: storage.rate_limiter,
    })?;
    let seeded = seed(config, &state, &storage.promotions).await?;
    let subscribers = Subscribers::new(vec![
        // Cancelled orders and restocking refunds put their units back from the outbox.
        Arc::new(RestockSubscriber::new(storage.inventory, LocationId::main())),
        Arc::new(NotificationSubscriber::new(
            world.notifier.clone(),
            storage.customers,
            "shopkit demo shop",
        )),
        Arc::new(LedgerSubscriber::new(world.ledger.clone(), storage.orders)),
        Arc::new(CrmSubscriber::new(world.crm.clone())),
        Arc::new(AnalyticsSubscriber::new(world.analytics.clone())),
        Arc::new(RecommenderSubscriber::new(world.recommender.clone(), storage.products)),
    ]);
    Ok(Wiring { shop, state, subscribers, clock: world.clock.clone(), memory: Some(world), seeded })
}

/// `shop create-tables`: creates what the configured profile stores data in (the database
/// schema and its migrations; in the aws profile also the DynamoDB table and the S3
/// bucket), then returns. Safe to repeat. The embedded profile keeps nothing.
///
/// # Errors
/// [`StartError`] naming what to fix.
pub async fn create_tables(config: &ShopConfig) -> Result<(), StartError> {
    let config = ShopConfig { migrate: true, ..config.clone() };
    match config.profile {
        Profile::Embedded => {
            tracing::info!("the embedded profile keeps everything in memory: nothing to create");
        }
        Profile::Postgres => {
            connect_postgres(&config).await?;
        }
        Profile::Aws => {
            connect_postgres(&config).await?;
            let (dynamo, s3) = aws_clients().await;
            let table = DynamoConfig::new(config.dynamodb_table.clone())
                .map_err(|e| StartError::Database(format!("dynamodb table: {e}")))?;
            shopkit_dynamodb::create_tables(&dynamo, &table)
                .await
                .map_err(|e| StartError::Database(format!("dynamodb: {e}")))?;
            shopkit_s3::create_bucket(&s3, &config.s3_bucket)
                .await
                .map_err(|e| StartError::Database(format!("s3: {e}")))?;
        }
    }
    Ok(())
}

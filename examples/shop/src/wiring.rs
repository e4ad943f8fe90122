//! Profiles: each is one composition function from the configuration to the ports.
//!
//! A profile decides where each port lives; everything after it (services, HTTP, workers)
//! is the same for every profile: [`embedded`] (no service at all) and [`postgres`]
//! (PostgreSQL, optionally Redis). The `aws` profile will be a third function, not a fork.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use shopkit_core::ports::{
    Clock, IdempotencyStore, IdentityProvider, PromotionRepository, Readiness,
};
use shopkit_core::services::{
    EventLogService, MediaService, PromotionService, RecommendationService, Registration, Shop,
};
use shopkit_http::{AppState, HttpConfig};
use shopkit_local_identity::{LocalIdentity, LocalIdentityConfig, SigningKey};
use shopkit_memory::InMemory;

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
        // Loading the configuration already refuses this; kept for a config built by hand.
        other => Err(StartError::Config(ConfigError::ProfileNotAvailable {
            profile: other,
            origin: "the configuration".into(),
        })),
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
    rate_limiter: Option<Arc<dyn shopkit_core::ports::RateLimiter>>,
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
    use shopkit_core::ports::{ProductRepository, RateLimiter};
    use shopkit_core::services::subscribers::{
        AnalyticsSubscriber, CrmSubscriber, LedgerSubscriber, NotificationSubscriber,
        RecommenderSubscriber,
    };
    use shopkit_postgres::{PgConfig, PgStore};
    use shopkit_redis::{
        CachedProducts, CatalogCacheConfig, RedisConfig, RedisConnection, RedisRateLimiter,
    };

    let url = config.database_url.as_ref().ok_or_else(|| {
        StartError::Config(ConfigError::Invalid {
            setting: "database_url",
            origin: "the configuration".into(),
            reason: "the postgres profile needs SHOPKIT_DATABASE_URL".into(),
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
    // The embedded adapters for the ports PostgreSQL does not hold.
    let world = InMemory::new();
    let mut readiness: Vec<Arc<dyn Readiness>> = vec![Arc::new(store.readiness())];
    let mut shared_limiter: Option<Arc<dyn RateLimiter>> = None;
    let source: Arc<dyn ProductRepository> = Arc::new(store.products());
    let products: Arc<dyn ProductRepository> = match &config.redis_url {
        Some(redis_url) => {
            // Shops on different schemas may share a Redis: their keys must not meet.
            let prefix =
                format!("shopkit:{}", config.database_schema.as_deref().unwrap_or("public"));
            let redis_config =
                RedisConfig { key_prefix: prefix, ..RedisConfig::new(redis_url.expose()) };
            let redis = RedisConnection::open(&redis_config)
                .map_err(|e| StartError::Database(format!("redis: {e}")))?;
            readiness.push(Arc::new(redis.clone()));
            shared_limiter = Some(Arc::new(RedisRateLimiter::new(redis.clone())));
            Arc::new(CachedProducts::new(source, redis, CatalogCacheConfig::default()))
        }
        None => source,
    };
    let customers = Arc::new(store.customers());
    let orders = Arc::new(store.orders());
    let shop = Shop::builder()
        .products(products.clone())
        .search(Arc::new(store.search()))
        .carts(Arc::new(store.carts()))
        .promotions(Arc::new(store.promotions()))
        .inventory(Arc::new(store.inventory()))
        .payments(world.payments.clone())
        .orders(orders.clone())
        .outbox(Arc::new(store.outbox()))
        .idempotency(Arc::new(store.idempotency()))
        .customers(customers.clone())
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
    let promotions: Arc<dyn PromotionRepository> = Arc::new(store.promotions());
    let state = app_state(AppParts {
        shop: shop.clone(),
        identity: Arc::new(identity),
        promotions: promotions.clone(),
        events: EventLogService::new(Arc::new(store.outbox()), world.clock.clone()),
        recommendations: RecommendationService::new(
            world.recommender.clone(),
            products.clone(),
            world.clock.clone(),
        ),
        media: MediaService::new(world.media.clone(), Duration::hours(1)),
        idempotency: Arc::new(store.idempotency()),
        readiness,
        clock: world.clock.clone(),
        http: http_config(config),
        rate_limiter: shared_limiter,
    })?;
    let seeded = seed(config, &state, &promotions).await?;
    let subscribers = Subscribers::new(vec![
        Arc::new(NotificationSubscriber::new(
            world.notifier.clone(),
            customers.clone(),
            "shopkit demo shop",
        )),
        Arc::new(LedgerSubscriber::new(world.ledger.clone(), orders)),
        Arc::new(CrmSubscriber::new(world.crm.clone())),
        Arc::new(AnalyticsSubscriber::new(world.analytics.clone())),
        Arc::new(RecommenderSubscriber::new(world.recommender.clone(), products)),
    ]);
    Ok(Wiring { shop, state, subscribers, clock: world.clock.clone(), memory: Some(world), seeded })
}

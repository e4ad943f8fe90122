//! Profiles: each is one composition function from the configuration to the ports.
//!
//! A profile decides where each port lives; everything after it (services, HTTP, workers)
//! is the same for every profile. Later profiles (`postgres`, `aws`) are further functions
//! beside [`embedded`], not forks of the shop.

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
    /// The memory backend, in the embedded profile (tests read what it recorded).
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
        // Loading the configuration already refuses these; kept for a config built by hand.
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

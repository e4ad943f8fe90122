//! [`AppState`]: what every handler can reach (services, the identity verifier, the HTTP
//! idempotency store, readiness checks, the clock, the settings).

use std::sync::Arc;

use shopkit_core::ports::{
    Clock, IdempotencyStore, IdentityProvider, IdentityVerifier, RateLimiter, Readiness,
};
use shopkit_core::services::{
    AccountService, EventLogService, MediaService, PromotionService, RecommendationService, Shop,
};

use tokio_util::task::TaskTracker;

use crate::config::{HttpConfig, InvalidConfig};

/// The state of every router: services (never ports: handlers only call services) plus the
/// few ports the HTTP layer itself needs. Cheap to clone (one `Arc`).
///
/// Build it with [`AppState::builder`].
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    shop: Shop,
    accounts: AccountService,
    promotions: PromotionService,
    events: EventLogService,
    recommendations: RecommendationService,
    media: MediaService,
    verifier: Arc<dyn IdentityVerifier>,
    idempotency: Arc<dyn IdempotencyStore>,
    readiness: Vec<Arc<dyn Readiness>>,
    rate_limiter: Option<Arc<dyn RateLimiter>>,
    clock: Arc<dyn Clock>,
    config: HttpConfig,
    /// Work that outlives the request that started it (checkouts).
    detached: TaskTracker,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("shop", &self.inner.shop)
            .field("readiness", &self.inner.readiness.iter().map(|r| r.name()).collect::<Vec<_>>())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Starts a builder; see [`AppStateBuilder`] for what is required.
    pub fn builder() -> AppStateBuilder {
        AppStateBuilder::default()
    }

    /// Catalog, carts, checkout, orders, refunds, customers, inventory.
    pub fn shop(&self) -> &Shop {
        &self.inner.shop
    }
    /// Sign-up, sign-in (with guest cart merge), refresh, sign-out.
    pub fn accounts(&self) -> &AccountService {
        &self.inner.accounts
    }
    /// Promotions and pricing settings (back office).
    pub fn promotions(&self) -> &PromotionService {
        &self.inner.promotions
    }
    /// The outbox's event log (back office).
    pub fn events(&self) -> &EventLogService {
        &self.inner.events
    }
    /// Similar items and "for you".
    pub fn recommendations(&self) -> &RecommendationService {
        &self.inner.recommendations
    }
    /// Media URLs and uploads.
    pub fn media(&self) -> &MediaService {
        &self.inner.media
    }
    /// Verifies bearer tokens (used by the auth extractors; handlers need not call it).
    pub fn verifier(&self) -> &Arc<dyn IdentityVerifier> {
        &self.inner.verifier
    }
    /// Stores the first response of each idempotent HTTP request (scope `http`).
    pub fn idempotency(&self) -> &Arc<dyn IdempotencyStore> {
        &self.inner.idempotency
    }
    /// The rate limiter shared by every instance (Redis), when one was given; otherwise
    /// each instance limits on its own.
    pub fn rate_limiter(&self) -> Option<&Arc<dyn RateLimiter>> {
        self.inner.rate_limiter.as_ref()
    }

    /// The readiness checks `/readyz` runs.
    pub fn readiness(&self) -> &[Arc<dyn Readiness>] {
        &self.inner.readiness
    }
    /// The time.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }
    /// The HTTP settings.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// Runs `work` on its own task, out of reach of the request's timeout and of a client
    /// that disconnects: work that must finish or compensate once started (a checkout)
    /// runs this way. [`drain`](Self::drain) waits for it at shutdown.
    pub fn detach<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.detached.spawn(work)
    }

    /// Waits up to `grace` for detached work to finish (call it after the server stopped
    /// accepting requests). Returns how many tasks were still running at the deadline
    /// (0: everything finished). Work started afterwards is still accepted.
    pub async fn drain(&self, grace: std::time::Duration) -> usize {
        let tracker = &self.inner.detached;
        tracker.close();
        let _ = tokio::time::timeout(grace, tracker.wait()).await;
        let left = tracker.len();
        tracker.reopen();
        left
    }
}

/// What [`AppStateBuilder::build`] can refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppStateError {
    /// A required part was not given.
    #[error("AppState::builder() is missing {part}: call .{part}(..) before build()")]
    Missing {
        /// The builder method to call.
        part: &'static str,
    },
    /// The HTTP settings cannot work.
    #[error(transparent)]
    Config(#[from] InvalidConfig),
}

/// Collects the parts of an [`AppState`].
///
/// Required: [`shop`](Self::shop), [`identity`](Self::identity),
/// [`promotions`](Self::promotions), [`events`](Self::events),
/// [`recommendations`](Self::recommendations), [`media`](Self::media),
/// [`idempotency`](Self::idempotency), [`clock`](Self::clock). Optional:
/// [`verifier`](Self::verifier) (defaults to the identity provider),
/// [`readiness`](Self::readiness) (none), [`config`](Self::config) (defaults).
///
/// ```no_run
/// # use std::sync::Arc;
/// # use shopkit_core::ports::*;
/// # use shopkit_core::services::*;
/// # fn wire(shop: Shop, identity: Arc<dyn IdentityProvider>, promotions: Arc<dyn PromotionRepository>,
/// #   outbox: Arc<dyn OutboxStore>, recommender: Arc<dyn Recommender>, products: Arc<dyn ProductRepository>,
/// #   media: Arc<dyn MediaStore>, idempotency: Arc<dyn IdempotencyStore>, clock: Arc<dyn Clock>,
/// #   postgres: Arc<dyn Readiness>) -> Result<(), Box<dyn std::error::Error>> {
/// use shopkit_http::{AppState, HttpConfig};
/// let state = AppState::builder()
///     .shop(shop)
///     .identity(identity)
///     .promotions(PromotionService::new(promotions))
///     .events(EventLogService::new(outbox, clock.clone()))
///     .recommendations(RecommendationService::new(recommender, products, clock.clone()))
///     .media(MediaService::new(media, chrono::Duration::minutes(15)))
///     .idempotency(idempotency)
///     .clock(clock)
///     .readiness(postgres)
///     .config(HttpConfig::default())
///     .build()?;
/// let app = shopkit_http::router(state);
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
pub struct AppStateBuilder {
    shop: Option<Shop>,
    identity: Option<Arc<dyn IdentityProvider>>,
    verifier: Option<Arc<dyn IdentityVerifier>>,
    promotions: Option<PromotionService>,
    events: Option<EventLogService>,
    recommendations: Option<RecommendationService>,
    media: Option<MediaService>,
    idempotency: Option<Arc<dyn IdempotencyStore>>,
    clock: Option<Arc<dyn Clock>>,
    readiness: Vec<Arc<dyn Readiness>>,
    rate_limiter: Option<Arc<dyn RateLimiter>>,
    config: HttpConfig,
}

impl std::fmt::Debug for AppStateBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppStateBuilder").field("config", &self.config).finish_non_exhaustive()
    }
}

fn need<T>(part: Option<T>, name: &'static str) -> Result<T, AppStateError> {
    part.ok_or(AppStateError::Missing { part: name })
}

impl AppStateBuilder {
    /// The shop's services.
    #[must_use]
    pub fn shop(mut self, shop: Shop) -> Self {
        self.shop = Some(shop);
        self
    }

    /// The identity provider: accounts go through it ([`Shop::accounts`]) and, unless
    /// [`verifier`](Self::verifier) is given, it verifies bearer tokens too.
    #[must_use]
    pub fn identity(mut self, identity: Arc<dyn IdentityProvider>) -> Self {
        self.identity = Some(identity);
        self
    }

    /// A separate bearer-token verifier (e.g. a JWKS verifier in front of a hosted
    /// provider).
    #[must_use]
    pub fn verifier(mut self, verifier: Arc<dyn IdentityVerifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Promotions (back office).
    #[must_use]
    pub fn promotions(mut self, promotions: PromotionService) -> Self {
        self.promotions = Some(promotions);
        self
    }

    /// The event log (back office).
    #[must_use]
    pub fn events(mut self, events: EventLogService) -> Self {
        self.events = Some(events);
        self
    }

    /// Recommendations.
    #[must_use]
    pub fn recommendations(mut self, recommendations: RecommendationService) -> Self {
        self.recommendations = Some(recommendations);
        self
    }

    /// Media URLs and uploads.
    #[must_use]
    pub fn media(mut self, media: MediaService) -> Self {
        self.media = Some(media);
        self
    }

    /// The store for HTTP idempotency records (it may be the checkout's store: the HTTP
    /// layer uses its own scope, `http`).
    #[must_use]
    pub fn idempotency(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.idempotency = Some(store);
        self
    }

    /// The time (idempotency leases).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Adds a backend `/readyz` checks; call once per adapter.
    #[must_use]
    pub fn readiness(mut self, check: Arc<dyn Readiness>) -> Self {
        self.readiness.push(check);
        self
    }

    /// A rate limiter shared by every instance of the shop (e.g. `shopkit-redis`'s), used
    /// with the configured quota instead of the in-process limiter.
    #[must_use]
    pub fn rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// The HTTP settings (default: [`HttpConfig::default`]).
    #[must_use]
    pub fn config(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// Builds the state.
    ///
    /// # Errors
    /// [`AppStateError::Missing`] naming the first required part not given;
    /// [`AppStateError::Config`] when the settings fail [`HttpConfig::validate`].
    pub fn build(self) -> Result<AppState, AppStateError> {
        let shop = need(self.shop, "shop")?;
        let identity = need(self.identity, "identity")?;
        let promotions = need(self.promotions, "promotions")?;
        let events = need(self.events, "events")?;
        let recommendations = need(self.recommendations, "recommendations")?;
        let media = need(self.media, "media")?;
        let idempotency = need(self.idempotency, "idempotency")?;
        let clock = need(self.clock, "clock")?;
        self.config.validate()?;
        let verifier: Arc<dyn IdentityVerifier> = match self.verifier {
            Some(verifier) => verifier,
            None => identity.clone(),
        };
        Ok(AppState {
            inner: Arc::new(Inner {
                accounts: shop.accounts(identity),
                shop,
                promotions,
                events,
                recommendations,
                media,
                verifier,
                idempotency,
                readiness: self.readiness,
                rate_limiter: self.rate_limiter,
                clock,
                config: self.config,
                detached: TaskTracker::new(),
            }),
        })
    }
}

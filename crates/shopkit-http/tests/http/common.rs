//! The harness: an [`App`] over fresh in-memory adapters, known bearer tokens, a tiny
//! identity provider, and request helpers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::Duration;
use http_body_util::BodyExt;
use serde_json::Value;
use shopkit_core::catalog::{Product, ProductStatus};
use shopkit_core::ids::{CustomerId, Email, LocationId, Sku};
use shopkit_core::inventory::BackorderPolicy;
use shopkit_core::money::{Currency, Money};
use shopkit_core::ports::{
    AccountError, Clock, IdentityError, IdentityProvider, IdentityVerifier, Password, Principal,
    Readiness, Role, StoreError, TokenPair,
};
use shopkit_core::services::{
    EventLogService, MediaService, ProductDraft, PromotionService, RecommendationService,
    VariantDraft,
};
use shopkit_http::{AppState, HttpConfig};
use shopkit_memory::{InMemory, ManualClock, RandomIds, StaticIdentityVerifier};
use tower::ServiceExt;
use uuid::Uuid;

pub(crate) const CUSTOMER_TOKEN: &str = "customer-token";
pub(crate) const OTHER_CUSTOMER_TOKEN: &str = "other-customer-token";
pub(crate) const ADMIN_TOKEN: &str = "admin-token";
pub(crate) const EXPIRED_TOKEN: &str = "expired-token";

pub(crate) fn customer_id() -> CustomerId {
    CustomerId::from_uuid(Uuid::from_u128(0xC1))
}

/// An account: who it is, its password, its roles.
type Account = (CustomerId, String, Vec<Role>);

/// A minimal identity provider: accounts in a map, opaque tokens verified by a
/// [`StaticIdentityVerifier`], single-use refresh tokens.
pub(crate) struct TestIdentity {
    verifier: StaticIdentityVerifier,
    clock: Arc<dyn Clock>,
    accounts: Mutex<HashMap<String, Account>>,
    refresh_tokens: Mutex<HashMap<String, (CustomerId, Vec<Role>)>>,
    issued: AtomicU64,
}

impl TestIdentity {
    fn new(clock: Arc<dyn Clock>) -> Self {
        TestIdentity {
            verifier: StaticIdentityVerifier::new(clock.clone()),
            clock,
            accounts: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
            issued: AtomicU64::new(0),
        }
    }

    /// Accepts `token` for a principal with `roles` for an hour (or already expired).
    pub(crate) fn grant(&self, token: &str, customer: CustomerId, roles: Vec<Role>, expired: bool) {
        let expiry = if expired { Duration::seconds(-1) } else { Duration::hours(1) };
        let principal = Principal { customer, email: None, roles };
        self.verifier.insert(token, principal, self.clock.now() + expiry);
    }

    /// Makes every verification `Unavailable` (the provider is down) or normal again.
    pub(crate) fn set_down(&self, down: bool) {
        self.verifier.set_down(down);
    }

    fn issue(&self, customer: CustomerId, roles: Vec<Role>) -> TokenPair {
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        let access = format!("access-{n}");
        let refresh = format!("refresh-{n}");
        self.grant(&access, customer, roles.clone(), false);
        self.refresh_tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(refresh.clone(), (customer, roles.clone()));
        TokenPair {
            access_token: access,
            refresh_token: refresh,
            expires_in: 3600,
            customer,
            roles,
        }
    }
}

#[async_trait]
impl IdentityVerifier for TestIdentity {
    async fn verify(&self, bearer_token: &str) -> Result<Principal, IdentityError> {
        self.verifier.verify(bearer_token).await
    }
}

#[async_trait]
impl IdentityProvider for TestIdentity {
    async fn create_account(
        &self,
        customer: CustomerId,
        email: &Email,
        password: &Password,
        roles: &[Role],
    ) -> Result<(), AccountError> {
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        let key = email.as_str().to_ascii_lowercase();
        if accounts.contains_key(&key) {
            return Err(AccountError::EmailTaken);
        }
        accounts.insert(key, (customer, password.expose().to_owned(), roles.to_vec()));
        Ok(())
    }

    async fn sign_in(&self, email: &Email, password: &Password) -> Result<TokenPair, AccountError> {
        let account = self
            .accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&email.as_str().to_ascii_lowercase())
            .cloned();
        match account {
            Some((customer, stored, roles)) if stored == password.expose() => {
                Ok(self.issue(customer, roles))
            }
            _ => Err(AccountError::InvalidCredentials),
        }
    }

    async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AccountError> {
        let spent = self
            .refresh_tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(refresh_token);
        let (customer, roles) = spent.ok_or(AccountError::SessionEnded)?;
        Ok(self.issue(customer, roles))
    }

    async fn sign_out(&self, refresh_token: &str) -> Result<(), AccountError> {
        self.refresh_tokens.lock().unwrap_or_else(PoisonError::into_inner).remove(refresh_token);
        Ok(())
    }
}

/// A readiness check with a scripted outcome.
pub(crate) enum Check {
    Ok(&'static str),
    Failing(&'static str),
    Hanging(&'static str),
}

#[async_trait]
impl Readiness for Check {
    fn name(&self) -> &str {
        match self {
            Check::Ok(n) | Check::Failing(n) | Check::Hanging(n) => n,
        }
    }
    async fn check(&self) -> Result<(), StoreError> {
        match self {
            Check::Ok(_) => Ok(()),
            Check::Failing(_) => Err(StoreError::Unavailable {
                message: "connection refused by 10.0.0.7".into(),
                source: None,
            }),
            Check::Hanging(_) => std::future::pending().await,
        }
    }
}

/// A shop over fresh in-memory adapters, its state and router.
pub(crate) struct App {
    pub backend: InMemory,
    pub identity: Arc<TestIdentity>,
    /// The time of every adapter, the identity provider and the idempotency store.
    pub clock: ManualClock,
    pub state: AppState,
    pub router: Router,
}

impl App {
    pub(crate) fn new() -> Self {
        App::with(HttpConfig::default(), Vec::new())
    }

    pub(crate) fn with_config(config: HttpConfig) -> Self {
        App::with(config, Vec::new())
    }

    pub(crate) fn with(config: HttpConfig, checks: Vec<Arc<dyn Readiness>>) -> Self {
        App::assemble(config, checks, |_, test_identity| test_identity)
    }

    /// An app whose accounts and tokens go through `provider` (made from the shared
    /// clock) instead of the [`TestIdentity`] (which still answers `grant`ed tokens only
    /// when it is the provider).
    pub(crate) fn assemble(
        config: HttpConfig,
        checks: Vec<Arc<dyn Readiness>>,
        provider: impl FnOnce(Arc<dyn Clock>, Arc<TestIdentity>) -> Arc<dyn IdentityProvider>,
    ) -> Self {
        let clock = ManualClock::default();
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let backend = InMemory::with(shared.clone(), Arc::new(RandomIds::new()));
        let identity = Arc::new(TestIdentity::new(shared.clone()));
        identity.grant(CUSTOMER_TOKEN, customer_id(), vec![Role::Customer], false);
        identity.grant(
            OTHER_CUSTOMER_TOKEN,
            CustomerId::from_uuid(Uuid::from_u128(0xC2)),
            vec![Role::Customer],
            false,
        );
        identity.grant(
            ADMIN_TOKEN,
            CustomerId::from_uuid(Uuid::from_u128(0xAD)),
            vec![Role::Customer, Role::Admin],
            false,
        );
        identity.grant(EXPIRED_TOKEN, customer_id(), vec![Role::Customer, Role::Admin], true);
        let mut builder = AppState::builder()
            .shop(backend.shop().expect("every port is set"))
            .identity(provider(shared.clone(), identity.clone()))
            .promotions(PromotionService::new(backend.promotions.clone()))
            .events(EventLogService::new(backend.outbox.clone(), shared.clone()))
            .recommendations(RecommendationService::new(
                backend.recommender.clone(),
                backend.products.clone(),
                shared.clone(),
            ))
            .media(MediaService::new(backend.media.clone(), Duration::minutes(15)))
            .idempotency(backend.idempotency.clone())
            .clock(shared)
            .config(config);
        for check in checks {
            builder = builder.readiness(check);
        }
        let state = builder.build().expect("a complete state");
        let router = shopkit_http::router(state.clone());
        App { backend, identity, clock, state, router }
    }

    /// Delivers every outbox event once to the shop's subscribers (restock, emails...),
    /// as the shop's outbox worker would, and checks none died.
    pub(crate) async fn deliver_events(&self) {
        let subscribers = self.backend.subscribers("Test Shop");
        let report = self.state.shop().dispatcher(subscribers).run_once().await.unwrap();
        assert_eq!(report.dead, 0, "{report:?}");
    }

    /// Sends a request through the whole router.
    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        send(&self.router, request).await
    }

    /// An active (or other status) product with one variant per SKU, priced in EUR and
    /// USD, created through the catalog service.
    pub(crate) async fn product(
        &self,
        title: &str,
        skus: &[&str],
        status: ProductStatus,
    ) -> Product {
        let variants = skus
            .iter()
            .map(|sku| {
                VariantDraft::new(
                    Sku::new(sku).unwrap(),
                    *sku,
                    vec![
                        Money::from_minor(19_90, Currency::EUR),
                        Money::from_minor(21_90, Currency::USD),
                    ],
                )
            })
            .collect();
        let draft = ProductDraft::new(title, variants).with_status(status);
        self.state.shop().catalog().create_product(draft).await.unwrap()
    }

    /// Sets the on-hand stock of a SKU at the main location.
    pub(crate) async fn stock(&self, sku: &str, on_hand: i64) {
        self.state
            .shop()
            .inventory()
            .set_stock(&Sku::new(sku).unwrap(), &LocationId::main(), on_hand, BackorderPolicy::Deny)
            .await
            .unwrap();
    }
}

/// A response, read to the end.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The problem document, checking the media type and the standard members.
    pub(crate) fn problem(&self) -> Value {
        assert_eq!(
            self.headers.get(CONTENT_TYPE).map(|v| v.to_str().unwrap()),
            Some("application/problem+json"),
            "status {} body {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        let problem = self.json();
        assert_eq!(problem["status"], self.status.as_u16(), "{problem}");
        let code = problem["code"].as_str().expect("a code");
        assert_eq!(problem["type"], format!("https://shopkit.dev/problems/{code}"));
        assert!(problem["title"].is_string() && problem["detail"].is_string(), "{problem}");
        problem
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

pub(crate) async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply { status, headers, body }
}

pub(crate) fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

pub(crate) fn get_with(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

/// A JSON request with extra headers.
pub(crate) fn json(
    method: Method,
    uri: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> Request<Body> {
    raw(method, uri, body.to_string(), "application/json", headers)
}

/// A request with any body and content type.
pub(crate) fn raw(
    method: Method,
    uri: &str,
    body: impl Into<Body>,
    content_type: &str,
    headers: &[(&str, &str)],
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri).header(CONTENT_TYPE, content_type);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).unwrap()
}

pub(crate) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A valid body for `POST /api/admin/v1/products`.
pub(crate) fn new_product(title: &str, sku: &str) -> Value {
    serde_json::json!({
        "title": title,
        "status": "active",
        "variants": [{"sku": sku, "title": "One size",
                      "prices": [{"amount": "19.90", "currency": "EUR"}]}]
    })
}

//! The HTTP test harness: the real reference shop (`shop::start`, embedded profile) on
//! `127.0.0.1:0`, driven by a real HTTP client, as `spawn_app()` does in
//! zero-to-production's `tests/api/helpers.rs`.
//!
//! Every test gets its own shop (its own memory backend, port and signing key use), so
//! tests run in parallel. The shop starts with `--no-seed` and a small fixture catalog
//! created through the admin API ([`FIXTURE`]), a rate limit high enough never to
//! interfere, and a known JWT signing key ([`JWT_SIGNING_KEY`]) so the security tests can
//! mint tokens the shop would issue (expired ones included).
//!
//! Helpers panic with the response body when the shop refuses a step that is only
//! arrangement; the behaviour under test is asserted by the tests themselves.

use std::time::Duration;

use clap::Parser;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use shop::{Cli, RunningShop, ShopConfig};
use shopkit::memory::{InMemory, SentMessage};
use tokio::net::TcpListener;

/// The key the test shops sign access tokens with (HS256, at least 32 characters).
pub(crate) const JWT_SIGNING_KEY: &str = "shopkit-http-tests-signing-key-0123456789";

/// The password of every customer the harness signs up.
pub(crate) const PASSWORD: &str = "correct horse battery";

/// The request body limit of the test shops (the oversized-body test sends one byte more).
pub(crate) const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The back-office account the shop creates at start.
pub(crate) const ADMIN_EMAIL: &str = "admin@shopkit.local";

/// A product of the fixture catalog.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FixtureProduct {
    /// The one variant's SKU.
    pub sku: &'static str,
    /// The product title.
    pub title: &'static str,
    /// The URL handle.
    pub slug: &'static str,
    /// The description (what search finds besides the title).
    pub description: &'static str,
    /// The USD price.
    pub price_usd: &'static str,
    /// Units on hand at start.
    pub stock: i64,
}

/// The catalog every test shop starts with.
pub(crate) const FIXTURE: [FixtureProduct; 3] = [TEE, MUG, CAP];

/// 25.00 USD, 10 units.
pub(crate) const TEE: FixtureProduct = FixtureProduct {
    sku: "TEE-BLACK-M",
    title: "Black Tee",
    slug: "black-tee",
    description: "A soft organic cotton tee",
    price_usd: "25.00",
    stock: 10,
};

/// 12.50 USD, 20 units.
pub(crate) const MUG: FixtureProduct = FixtureProduct {
    sku: "MUG-WHITE",
    title: "White Mug",
    slug: "white-mug",
    description: "A stoneware mug for coffee",
    price_usd: "12.50",
    stock: 20,
};

/// 18.00 USD, 5 units.
pub(crate) const CAP: FixtureProduct = FixtureProduct {
    sku: "CAP-NAVY",
    title: "Navy Cap",
    slug: "navy-cap",
    description: "A cotton cap with a curved brim",
    price_usd: "18.00",
    stock: 5,
};

/// Who makes a request.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Who<'a> {
    /// No credentials at all.
    Anonymous,
    /// A guest holding a cart's `X-Cart-Token`.
    Guest(&'a str),
    /// A signed-in user's access token.
    Bearer(&'a str),
}

impl Who<'_> {
    fn apply(self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Who::Anonymous => request,
            Who::Guest(token) => request.header("x-cart-token", token),
            Who::Bearer(token) => request.bearer_auth(token),
        }
    }
}

/// A response, read to the end.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("the response body can be read");
        Reply { status, headers, text }
    }

    /// A header's value, if present and text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text))
    }

    /// The body of a success, after checking the status is `expected`.
    pub(crate) fn expect(&self, expected: StatusCode) -> Value {
        assert_eq!(self.status, expected, "unexpected status; body: {}", self.text);
        self.json()
    }

    /// The problem document, after checking the status and that it is
    /// `application/problem+json` whose `status` member agrees.
    pub(crate) fn problem(&self, expected: StatusCode) -> Value {
        assert_eq!(self.status, expected, "unexpected status; body: {}", self.text);
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/problem+json"),
            "a {} answered {content_type:?}, not problem+json: {}",
            self.status,
            self.text
        );
        let problem = self.json();
        assert_eq!(problem["status"], expected.as_u16(), "{problem}");
        assert!(problem["code"].is_string(), "a problem without a code: {problem}");
        problem
    }

    /// The problem's `code`, after checking as [`Reply::problem`] does.
    pub(crate) fn code(&self, expected: StatusCode) -> String {
        self.problem(expected)["code"].as_str().unwrap_or_default().to_owned()
    }
}

/// A signed-up customer.
#[derive(Clone, Debug)]
pub(crate) struct Customer {
    /// Their email.
    pub email: String,
    /// An access token.
    pub token: String,
}

/// A guest cart and its secret.
#[derive(Clone, Debug)]
pub(crate) struct GuestCart {
    /// The cart id.
    pub id: String,
    /// Its `X-Cart-Token`.
    pub token: String,
}

impl GuestCart {
    /// The guest, as a caller.
    pub(crate) fn who(&self) -> Who<'_> {
        Who::Guest(&self.token)
    }
}

/// What a request must not change when it fails: orders, stock, events and payments.
#[derive(Debug, PartialEq)]
pub(crate) struct Snapshot {
    /// Every order, as the back office sees it.
    pub orders: Vec<Value>,
    /// The stock (levels and active reservations) of every fixture SKU.
    pub stock: Vec<Value>,
    /// Every event id in the outbox.
    pub events: Vec<Value>,
    /// Authorizations the payment gateway received.
    pub authorizations: usize,
}

/// A running shop and a client for it.
pub(crate) struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The shop's memory backend: what the fake gateway and notifier recorded.
    pub memory: InMemory,
    /// An access token of the demo back-office admin.
    pub admin_token: String,
    /// The shop's configuration.
    pub config: ShopConfig,
    running: Option<RunningShop>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// The test shop's configuration: the embedded profile on port 0, no demo catalog, a rate
/// limit far above anything a test sends, a known signing key.
pub(crate) fn test_config() -> ShopConfig {
    test_config_with(&[])
}

/// [`test_config`] with more flags (e.g. `["--checkout-wait", "1"]`).
pub(crate) fn test_config_with(flags: &[&str]) -> ShopConfig {
    let body_limit = BODY_LIMIT_BYTES.to_string();
    let cli = Cli::try_parse_from(
        [
            "shop",
            "--listen",
            "127.0.0.1:0",
            "--no-seed",
            "--rate-limit-per-second",
            "1000000",
            "--rate-limit-burst",
            "1000000",
            "--body-limit-bytes",
            body_limit.as_str(),
            "--request-timeout",
            "30",
            "--shutdown-grace",
            "5",
        ]
        .into_iter()
        .chain(flags.iter().copied()),
    )
    .expect("the test flags parse");
    let mut env = vec![("SHOPKIT_JWT_SIGNING_KEY".to_owned(), JWT_SIGNING_KEY.to_owned())];
    env.extend(profile_env());
    ShopConfig::load_from(&cli, env).expect("the test configuration is valid")
}

/// The profile under test: embedded by default; `SHOPKIT_E2E_PROFILE=postgres` runs the
/// same tests on PostgreSQL (`SHOPKIT_TEST_POSTGRES_URL`, a fresh schema per app, migrated
/// at start) and, when `SHOPKIT_TEST_REDIS_URL` is set, with the Redis catalog cache and
/// rate limiter; `SHOPKIT_E2E_PROFILE=aws` adds a fresh DynamoDB table and S3 bucket per
/// app (AWS_ENDPOINT_URL pointing at moto). CI runs all three.
fn profile_env() -> Vec<(String, String)> {
    match std::env::var("SHOPKIT_E2E_PROFILE").as_deref() {
        Err(_) | Ok("") | Ok("embedded") => Vec::new(),
        Ok("postgres") => {
            let url = std::env::var("SHOPKIT_TEST_POSTGRES_URL")
                .expect("SHOPKIT_E2E_PROFILE=postgres needs SHOPKIT_TEST_POSTGRES_URL");
            let schema = format!("e2e_{}", uuid::Uuid::new_v4().simple());
            let mut env = vec![
                ("SHOPKIT_PROFILE".to_owned(), "postgres".to_owned()),
                ("SHOPKIT_DATABASE_URL".to_owned(), url),
                ("SHOPKIT_DATABASE_SCHEMA".to_owned(), schema),
                ("SHOPKIT_MIGRATE".to_owned(), "true".to_owned()),
            ];
            if let Ok(redis) = std::env::var("SHOPKIT_TEST_REDIS_URL") {
                env.push(("SHOPKIT_REDIS_URL".to_owned(), redis));
            }
            env
        }
        Ok("aws") => {
            // DynamoDB and S3 through the AWS SDK's own settings (AWS_ENDPOINT_URL etc.,
            // set by the caller, e.g. to moto); PostgreSQL as for the postgres profile.
            let url = std::env::var("SHOPKIT_TEST_POSTGRES_URL")
                .expect("SHOPKIT_E2E_PROFILE=aws needs SHOPKIT_TEST_POSTGRES_URL");
            let id = uuid::Uuid::new_v4().simple().to_string();
            let mut env = vec![
                ("SHOPKIT_PROFILE".to_owned(), "aws".to_owned()),
                ("SHOPKIT_DATABASE_URL".to_owned(), url),
                ("SHOPKIT_DATABASE_SCHEMA".to_owned(), format!("e2e_{id}")),
                ("SHOPKIT_DYNAMODB_TABLE".to_owned(), format!("e2e-{id}")),
                ("SHOPKIT_S3_BUCKET".to_owned(), format!("e2e-{id}")),
                ("SHOPKIT_MIGRATE".to_owned(), "true".to_owned()),
            ];
            if let Ok(redis) = std::env::var("SHOPKIT_TEST_REDIS_URL") {
                env.push(("SHOPKIT_REDIS_URL".to_owned(), redis));
            }
            env
        }
        Ok(other) => panic!("SHOPKIT_E2E_PROFILE={other}: use embedded, postgres or aws"),
    }
}

/// Starts a shop with the [`FIXTURE`] catalog and signs the admin in.
pub(crate) async fn spawn_app() -> TestApp {
    let app = spawn_empty_app().await;
    for product in FIXTURE {
        app.create_product(product).await;
    }
    app
}

/// Starts a shop without any product, and signs the admin in.
pub(crate) async fn spawn_empty_app() -> TestApp {
    spawn_empty_app_with(test_config()).await
}

/// Starts a shop with `config` (see [`test_config_with`]) without any product, signs the
/// admin in, and sets free `standard` shipping everywhere in USD (no tax).
pub(crate) async fn spawn_empty_app_with(config: ShopConfig) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port on loopback");
    let running = shop::start(config.clone(), listener).await.expect("the shop starts");
    let base_url = format!("http://{}", running.addr());
    let memory = running.memory().expect("the profile exposes its embedded adapters").clone();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client");
    let mut app = TestApp {
        base_url,
        client,
        memory,
        admin_token: String::new(),
        config,
        running: Some(running),
    };
    let password = app.config.admin_password.expose().to_owned();
    app.admin_token = app.sign_in(ADMIN_EMAIL, &password, None).await;
    let free_shipping = json!({
        "taxes": {"prices_include_tax": false, "tax_shipping": false, "rates": []},
        "shipping": {"rates": [{"method": "standard", "name": "Standard", "regions": [],
            "price": {"type": "flat", "amount": {"amount": "0.00", "currency": "USD"}},
            "free_over": null}]},
        "rounding": "half_up"
    });
    app.send_json(Method::PUT, "/api/admin/v1/settings/pricing", app.admin(), &free_shipping)
        .await
        .expect(StatusCode::OK);
    app
}

impl TestApp {
    /// A request to `path` (which starts with `/`).
    pub(crate) fn request(&self, method: Method, path: &str, who: Who<'_>) -> RequestBuilder {
        who.apply(self.client.request(method, format!("{}{path}", self.base_url)))
    }

    /// Sends a request and reads the response.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Reply {
        Reply::read(request.send().await.expect("the shop answers")).await
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str, who: Who<'_>) -> Reply {
        self.send(self.request(Method::GET, path, who)).await
    }

    /// `method path` with a JSON body.
    pub(crate) async fn send_json(
        &self,
        method: Method,
        path: &str,
        who: Who<'_>,
        body: &Value,
    ) -> Reply {
        self.send(self.request(method, path, who).json(body)).await
    }

    /// `POST path` with a JSON body.
    pub(crate) async fn post(&self, path: &str, who: Who<'_>, body: &Value) -> Reply {
        self.send_json(Method::POST, path, who, body).await
    }

    /// `POST path` with a JSON body and an `Idempotency-Key`.
    pub(crate) async fn post_idempotent(
        &self,
        path: &str,
        who: Who<'_>,
        key: &str,
        body: &Value,
    ) -> Reply {
        self.send(self.request(Method::POST, path, who).header("idempotency-key", key).json(body))
            .await
    }

    /// `POST path` with an `Idempotency-Key` and no body.
    pub(crate) async fn post_idempotent_empty(&self, path: &str, who: Who<'_>, key: &str) -> Reply {
        self.send(self.request(Method::POST, path, who).header("idempotency-key", key)).await
    }

    /// The admin, as a caller.
    pub(crate) fn admin(&self) -> Who<'_> {
        Who::Bearer(&self.admin_token)
    }

    // -----------------------------------------------------------------------------------
    // Accounts

    /// Signs a customer up (first name Ann) with [`PASSWORD`].
    pub(crate) async fn sign_up(&self, email: &str) -> Customer {
        let body = json!({
            "email": email, "password": PASSWORD, "first_name": "Ann", "last_name": "Lee"
        });
        let reply = self.post("/api/v1/auth/sign-up", Who::Anonymous, &body).await;
        let signed_up = reply.expect(StatusCode::CREATED);
        Customer {
            email: text(&signed_up["customer"]["email"]),
            token: text(&signed_up["tokens"]["access_token"]),
        }
    }

    /// Signs in, merging the guest cart of `guest_cart_token` if given; the access token.
    pub(crate) async fn sign_in(
        &self,
        email: &str,
        password: &str,
        guest_cart_token: Option<&str>,
    ) -> String {
        let body = json!({"email": email, "password": password});
        let who = guest_cart_token.map_or(Who::Anonymous, Who::Guest);
        let reply = self.post("/api/v1/auth/sign-in", who, &body).await;
        text(&reply.expect(StatusCode::OK)["access_token"])
    }

    // -----------------------------------------------------------------------------------
    // Catalog and stock

    /// Creates an active product with one variant priced in USD, and sets its stock.
    pub(crate) async fn create_product(&self, product: FixtureProduct) -> Value {
        let body = json!({
            "slug": product.slug,
            "title": product.title,
            "description": product.description,
            "status": "active",
            "variants": [{
                "sku": product.sku,
                "title": "One size",
                "prices": [{"amount": product.price_usd, "currency": "USD"}],
            }],
        });
        let reply = self.post("/api/admin/v1/products", self.admin(), &body).await;
        let created = reply.expect(StatusCode::CREATED);
        self.set_stock(product.sku, product.stock).await;
        created
    }

    /// Sets a SKU's on-hand count at the main location.
    pub(crate) async fn set_stock(&self, sku: &str, on_hand: i64) {
        let path = format!("/api/admin/v1/inventory/{sku}");
        let reply =
            self.send_json(Method::PUT, &path, self.admin(), &json!({"on_hand": on_hand})).await;
        reply.expect(StatusCode::OK);
    }

    /// A SKU's stock at the main location: `(on_hand, reserved, available)`.
    pub(crate) async fn stock(&self, sku: &str) -> (i64, i64, i64) {
        let inventory = self.inventory(sku).await;
        let level = inventory["levels"]
            .as_array()
            .and_then(|levels| levels.iter().find(|l| l["location"] == "main"))
            .unwrap_or_else(|| panic!("{sku} has no stock at main: {inventory}"));
        let number = |name: &str| level[name].as_i64().unwrap_or_else(|| panic!("{level}"));
        (number("on_hand"), number("reserved"), number("available"))
    }

    /// The back office's view of a SKU's stock: levels and active reservations.
    pub(crate) async fn inventory(&self, sku: &str) -> Value {
        let path = format!("/api/admin/v1/inventory/{sku}");
        self.get(&path, self.admin()).await.expect(StatusCode::OK)
    }

    // -----------------------------------------------------------------------------------
    // Carts and checkout

    /// A new guest cart in USD.
    pub(crate) async fn guest_cart(&self) -> GuestCart {
        let reply = self.post("/api/v1/carts", Who::Anonymous, &json!({"currency": "USD"})).await;
        let created = reply.expect(StatusCode::CREATED);
        GuestCart { id: text(&created["cart"]["id"]), token: text(&created["cart_token"]) }
    }

    /// The signed-in customer's open cart (a new one in USD if they have none).
    pub(crate) async fn customer_cart(&self, token: &str) -> Value {
        let reply =
            self.post("/api/v1/carts", Who::Bearer(token), &json!({"currency": "USD"})).await;
        reply.expect(StatusCode::OK)["cart"].clone()
    }

    /// `POST /carts/{cart}/lines`, as sent (the test asserts the outcome).
    pub(crate) async fn add_line(
        &self,
        cart: &str,
        who: Who<'_>,
        sku: &str,
        quantity: u32,
    ) -> Reply {
        let path = format!("/api/v1/carts/{cart}/lines");
        self.post(&path, who, &json!({"sku": sku, "quantity": quantity})).await
    }

    /// The cart, read by `who`.
    pub(crate) async fn cart(&self, cart: &str, who: Who<'_>) -> Reply {
        self.get(&format!("/api/v1/carts/{cart}"), who).await
    }

    /// Chooses delivery for the cart as `who`: a Californian address and the `standard`
    /// method (goods to ship need both before checkout).
    pub(crate) async fn ship(&self, cart: &str, who: Who<'_>) {
        let address = json!({"name": "Ann Lee", "line1": "1 Main St", "city": "Sacramento",
                             "postal_code": "95814", "region": "US-CA"});
        let delivery = json!({"address": address, "shipping_method": "standard"});
        let path = format!("/api/v1/carts/{cart}/delivery");
        self.send_json(Method::PUT, &path, who, &delivery).await.expect(StatusCode::OK);
    }

    /// `POST /checkout` with `key`, paying with `pm_card_visa` and confirming to `email`.
    ///
    /// As a client should, it follows a checkout that is still running (`202 Accepted`, or
    /// `409 idempotency_in_progress` on a retry) by sending the same request with the same
    /// key after `Retry-After`, and returns the final answer.
    pub(crate) async fn checkout(&self, cart: &str, who: Who<'_>, key: &str, email: &str) -> Reply {
        let body = json!({"cart_id": cart, "email": email, "payment_method": "pm_card_visa"});
        // Bounded: a checkout that never settles is a defect, reported below.
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        loop {
            let reply = self.post_idempotent("/api/v1/checkout", who, key, &body).await;
            let running = reply.status == StatusCode::ACCEPTED
                || (reply.status == StatusCode::CONFLICT
                    && reply.json()["code"] == "idempotency_in_progress");
            if !running {
                return reply;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the checkout under key {key} still runs after 300 s: {}",
                reply.text
            );
            let wait = reply.header("retry-after").and_then(|s| s.parse().ok()).unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    /// A guest order of `quantity` units of `sku`, shipped by [`TestApp::ship`]: the
    /// order's JSON.
    pub(crate) async fn guest_order(&self, sku: &str, quantity: u32, email: &str) -> Value {
        let cart = self.guest_cart().await;
        self.add_line(&cart.id, cart.who(), sku, quantity).await.expect(StatusCode::OK);
        self.ship(&cart.id, cart.who()).await;
        let key = format!("guest-order-{}", cart.id);
        self.checkout(&cart.id, cart.who(), &key, email).await.expect(StatusCode::CREATED)
    }

    // -----------------------------------------------------------------------------------
    // Back office

    /// Every order, newest first, read page by page through the back office.
    pub(crate) async fn admin_orders(&self) -> Vec<Value> {
        self.every_page("/api/admin/v1/orders").await
    }

    /// Every outbox event, newest first, read page by page through the back office.
    pub(crate) async fn events(&self) -> Vec<Value> {
        self.every_page("/api/admin/v1/events").await
    }

    async fn every_page(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        // Bounded: a cursor that never ends is a bug the assertion below reports.
        for _ in 0..1000 {
            let url = match &cursor {
                Some(c) => format!("{path}?limit=100&cursor={}", percent_encode(c)),
                None => format!("{path}?limit=100"),
            };
            let page = self.get(&url, self.admin()).await.expect(StatusCode::OK);
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
        panic!("{path} did not reach its last page in 1000 pages");
    }

    /// What a failed request must leave as it was.
    pub(crate) async fn snapshot(&self) -> Snapshot {
        let mut stock = Vec::new();
        for product in FIXTURE {
            stock.push(self.inventory(product.sku).await);
        }
        Snapshot {
            orders: self.admin_orders().await,
            stock,
            events: self.events().await.iter().map(|e| e["id"].clone()).collect(),
            authorizations: self.memory.payments.authorizations(),
        }
    }

    // -----------------------------------------------------------------------------------
    // Asynchronous effects

    /// Waits (polling every 50 ms, at most 5 s) until `email` has been sent a message whose
    /// subject contains each of `subjects`; the messages sent to `email`.
    ///
    /// # Panics
    /// When one is still missing after 5 s, listing what was sent.
    pub(crate) async fn wait_for_emails(&self, email: &str, subjects: &[&str]) -> Vec<SentMessage> {
        let all_sent = |sent: &[SentMessage]| {
            subjects.iter().all(|s| sent.iter().any(|m| m.message.subject.contains(s)))
        };
        let mut sent = self.memory.notifier.sent_to(email);
        for _ in 0..100 {
            if all_sent(&sent) {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            sent = self.memory.notifier.sent_to(email);
        }
        let got: Vec<&str> = sent.iter().map(|m| m.message.subject.as_str()).collect();
        panic!("after 5 s, {email} was sent {got:?}; expected subjects containing {subjects:?}");
    }

    /// Stops the shop gracefully (in-flight requests finish, the outbox is drained).
    pub(crate) async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("the shop stops cleanly");
        }
    }
}

/// `raw` as a query-string value: every byte but the unreserved ones percent-encoded.
pub(crate) fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A JSON string member, which must be there.
pub(crate) fn text(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("expected a string, got {value}")).to_owned()
}

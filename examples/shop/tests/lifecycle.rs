//! The shop binary's life: start on port 0 with the embedded profile, serve, shut down
//! gracefully with the outbox drained.
//!
//! Run with: `cargo test -p shop --test lifecycle`

use clap::Parser;
use serde_json::{Value, json};
use shop::{Cli, ShopConfig};
use tokio::net::TcpListener;

fn config(seed: bool) -> ShopConfig {
    let mut args = vec!["shop", "--listen", "127.0.0.1:0", "--seed-products", "50"];
    if !seed {
        args.push("--no-seed");
    }
    let cli = Cli::parse_from(args);
    ShopConfig::load_from(&cli, Vec::<(String, String)>::new()).expect("a valid configuration")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_serves_its_seeded_catalog_and_drains_the_outbox_on_shutdown() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = shop::start(config(true), listener).await.unwrap();
    let base = format!("http://{}", running.addr());
    let client = reqwest::Client::new();

    let health: Value =
        client.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let page: Value = client
        .get(format!("{base}/api/v1/products?limit=10&currency=EUR"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 10);
    assert!(page["next_cursor"].is_string(), "50 seeded products span several pages");

    // A sign-up writes CustomerRegistered to the outbox; shutting down right away must
    // still deliver its welcome email (the drain), and in-flight work completes.
    let signup = client
        .post(format!("{base}/api/v1/auth/sign-up"))
        .json(&json!({
            "email": "dee@example.com", "password": "correct horse battery",
            "first_name": "Dee", "last_name": "Park"
        }))
        .send()
        .await
        .unwrap();
    assert!(signup.status().is_success(), "{}", signup.text().await.unwrap());
    let memory = running.memory().unwrap().clone();
    running.shutdown().await.unwrap();
    let welcome = memory.notifier.sent_to("dee@example.com");
    assert_eq!(welcome.len(), 1, "the welcome email went out before the shop stopped");
    assert!(client.get(format!("{base}/healthz")).send().await.is_err(), "no longer listening");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_admin_can_sign_in_without_a_seeded_catalog() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = config(false);
    let password = config.admin_password.expose().to_owned();
    let running = shop::start(config, listener).await.unwrap();
    let base = format!("http://{}", running.addr());
    let client = reqwest::Client::new();
    let tokens: Value = client
        .post(format!("{base}/api/v1/auth/sign-in"))
        .json(&json!({"email": "admin@shopkit.local", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().expect("an access token");
    let events = client
        .get(format!("{base}/api/admin/v1/products"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_ne!(events.status(), 401);
    assert_ne!(events.status(), 403);
    running.shutdown().await.unwrap();
}

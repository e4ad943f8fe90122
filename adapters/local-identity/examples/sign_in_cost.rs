//! Measures what a sign-in costs at the default argon2id cost (19 MiB, 2 passes, 1 lane):
//! the right password, a wrong one, and an unknown email (checked against the decoy hash,
//! so it should cost the same as a wrong password).
//!
//! Run with: `cargo run --release -p shopkit-local-identity --example sign_in_cost`
//! (a debug build works too, and shows why the tests use a cheaper cost).

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shopkit_core::ids::{CustomerId, Email};
use shopkit_core::ports::{IdentityProvider, Password, Role};
use shopkit_local_identity::{LocalIdentity, LocalIdentityConfig};
use shopkit_memory::SystemClock;

const ROUNDS: u32 = 20;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let config = LocalIdentityConfig::generate("https://shop.example", "shop-web")?;
    println!("cost: {:?}", config.password_hashing);
    let identity = LocalIdentity::new(config, Arc::new(SystemClock))?;
    let right = Password::new("correct horse battery staple")?;
    let wrong = Password::new("not the right password")?;

    let started = Instant::now();
    for i in 0..ROUNDS {
        let email = Email::new(&format!("shopper{i}@example.com"))?;
        identity
            .create_account(
                CustomerId::from_uuid(uuid::Uuid::new_v4()),
                &email,
                &right,
                &[Role::Customer],
            )
            .await?;
    }
    report("create_account", started.elapsed());

    // Each email once per measure: the throttle would lock one after five failures.
    let measure = async |label: &str, password: &Password, prefix: &str| {
        let started = Instant::now();
        for i in 0..ROUNDS {
            let email = Email::new(&format!("{prefix}{i}@example.com"))?;
            let _ = identity.sign_in(&email, password).await;
        }
        report(label, started.elapsed());
        Ok::<(), Box<dyn Error>>(())
    };
    measure("sign_in, right password", &right, "shopper").await?;
    measure("sign_in, wrong password", &wrong, "shopper").await?;
    measure("sign_in, unknown email", &right, "nobody").await?;
    Ok(())
}

fn report(label: &str, total: Duration) {
    println!("{label:<26} {:>8.1} ms each", total.as_secs_f64() * 1000.0 / f64::from(ROUNDS));
}

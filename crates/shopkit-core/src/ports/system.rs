//! Time and identity generation, as ports so tests control them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ids::CartToken;

/// The current time. Services never read the system clock directly.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// Fresh ids and secrets.
///
/// # Contract
/// - `uuid` MUST NOT repeat within a process (v4 or v7 UUIDs satisfy this).
/// - `cart_token` MUST be unguessable: at least 128 bits from a CSPRNG.
pub trait IdGenerator: Send + Sync + 'static {
    /// A fresh UUID; wrap it in the id newtype you need.
    fn uuid(&self) -> Uuid;
    /// A fresh guest cart token.
    fn cart_token(&self) -> CartToken;
}

/// A backend the shop depends on, as `/readyz` sees it.
///
/// # Contract
/// - `check` MUST answer within a short time (adapters use a timeout of about a second)
///   and MUST NOT change anything; `Err` means "do not send traffic here now".
#[async_trait::async_trait]
pub trait Readiness: Send + Sync + 'static {
    /// A stable name for the report (`"postgres"`, `"memory"`).
    fn name(&self) -> &str;
    /// Whether the backend answers.
    async fn check(&self) -> Result<(), super::StoreError>;
}

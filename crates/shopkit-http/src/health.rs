//! Probes: `/healthz` (liveness: the process answers) and `/readyz` (readiness: every
//! backend answers). Not rate limited; never cached. Failing checks are logged with their
//! error; the response names them without the error text.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Liveness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthDto {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

/// The outcome of one readiness check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// The backend answered.
    Ok,
    /// The backend answered with an error.
    Failed,
    /// The backend did not answer in time.
    TimedOut,
}

/// One backend's readiness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckDto {
    /// The backend (`postgres`, `redis`, `memory`).
    pub name: String,
    /// Its outcome.
    pub status: CheckStatus,
    /// How long it took.
    pub latency_ms: u64,
}

/// Readiness of every backend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadinessDto {
    /// `ready` when every check is ok, else `unavailable`.
    #[schema(example = "ready")]
    pub status: String,
    /// Each check, in registration order.
    pub checks: Vec<CheckDto>,
}

/// The probe routes (at the root, outside `/api`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// Liveness: answers while the process can serve requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "The process is alive", body = HealthDto))
)]
pub async fn healthz() -> Json<HealthDto> {
    Json(HealthDto { status: "ok".to_owned() })
}

/// Readiness: runs every backend check concurrently, each with `readiness_timeout`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Every backend answers", body = ReadinessDto),
        (status = 503, description = "A backend does not answer: take this instance out of rotation", body = ReadinessDto),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let limit = state.config().readiness_timeout;
    let checks = futures::future::join_all(state.readiness().iter().map(|check| async move {
        let started = Instant::now();
        let status = match tokio::time::timeout(limit, check.check()).await {
            Ok(Ok(())) => CheckStatus::Ok,
            Ok(Err(e)) => {
                tracing::warn!(check = check.name(), error = %e, "readiness check failed");
                CheckStatus::Failed
            }
            Err(_) => {
                tracing::warn!(
                    check = check.name(),
                    timeout_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                    "readiness check timed out"
                );
                CheckStatus::TimedOut
            }
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        CheckDto { name: check.name().to_owned(), status, latency_ms }
    }))
    .await;
    let ready = checks.iter().all(|c| c.status == CheckStatus::Ok);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body =
        ReadinessDto { status: if ready { "ready" } else { "unavailable" }.to_owned(), checks };
    (status, Json(body)).into_response()
}

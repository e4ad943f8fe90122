//! Refund decisions: read, approve, reject, process (pays back through the gateway) and
//! approve-and-process. Processing takes an `Idempotency-Key`; the gateway call itself is
//! keyed by the refund, so even a new key never pays twice.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use shopkit_core::ids::RefundId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::NoBody;
use crate::auth::AdminAuth;
use crate::dto::{AdminRefundDto, AdminRejectRefundRequest, ProblemDto};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::idempotency::{IdempotencyKeyHeader, Idempotent};
use crate::state::AppState;

/// The refund routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_refund))
        .routes(routes!(approve_refund))
        .routes(routes!(reject_refund))
        .routes(routes!(process_refund))
        .routes(routes!(approve_and_process_refund))
}

fn refund_json(refund: &shopkit_core::orders::Refund) -> Json<AdminRefundDto> {
    Json(AdminRefundDto::from(refund))
}

/// A refund.
#[utoipa::path(
    get,
    path = "/refunds/{refund_id}",
    operation_id = "admin_get_refund",
    tag = "admin-refunds",
    security(("bearer" = [])),
    params(("refund_id" = uuid::Uuid, Path, description = "The refund id")),
    responses(
        (status = 200, description = "The refund", body = AdminRefundDto),
        (status = 404, description = "No such refund (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn get_refund(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<RefundId>,
) -> Result<Json<AdminRefundDto>, ApiError> {
    let refund = state.shop().refunds().get(&admin.caller(), id).await?;
    Ok(refund_json(&refund))
}

/// Approves a requested refund; an approved one is returned as it is.
#[utoipa::path(
    post,
    path = "/refunds/{refund_id}/approve",
    operation_id = "admin_approve_refund",
    tag = "admin-refunds",
    security(("bearer" = [])),
    params(("refund_id" = uuid::Uuid, Path, description = "The refund id")),
    responses(
        (status = 200, description = "The approved refund", body = AdminRefundDto),
        (status = 404, description = "No such refund (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The refund is past approval (`illegal_transition`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn approve_refund(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<RefundId>,
) -> Result<Json<AdminRefundDto>, ApiError> {
    let refund = state.shop().refunds().approve(&admin.caller(), id).await?;
    Ok(refund_json(&refund))
}

/// Turns a requested or approved refund down; its amount and units are free again.
#[utoipa::path(
    post,
    path = "/refunds/{refund_id}/reject",
    operation_id = "admin_reject_refund",
    tag = "admin-refunds",
    security(("bearer" = [])),
    params(("refund_id" = uuid::Uuid, Path, description = "The refund id")),
    request_body = AdminRejectRefundRequest,
    responses(
        (status = 200, description = "The rejected refund", body = AdminRefundDto),
        (status = 404, description = "No such refund (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The refund is processed, failed or rejected already (`illegal_transition`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn reject_refund(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<RefundId>,
    ApiJson(request): ApiJson<AdminRejectRefundRequest>,
) -> Result<Json<AdminRefundDto>, ApiError> {
    let refund = state.shop().refunds().reject(&admin.caller(), id, request.reason).await?;
    Ok(refund_json(&refund))
}

/// Pays an approved refund back through the gateway: `processed` (units restocked if it
/// restocks), or `failed` when the gateway refuses (returned with that status). A
/// processed refund is returned as it is. No body (or `{}`).
#[utoipa::path(
    post,
    path = "/refunds/{refund_id}/process",
    operation_id = "admin_process_refund",
    tag = "admin-refunds",
    security(("bearer" = [])),
    params(("refund_id" = uuid::Uuid, Path, description = "The refund id"), IdempotencyKeyHeader),
    responses(
        (status = 200, description = "The refund, `processed` or `failed`", body = AdminRefundDto),
        (status = 404, description = "No such refund (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The refund is not approved (`illegal_transition`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 503, description = "The gateway did not answer (`payment_gateway_unavailable`): the refund stays approved, retry with the same key", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn process_refund(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<RefundId>,
    Idempotent { body: _, guard }: Idempotent<Option<NoBody>>,
) -> Response {
    let result = async {
        let refund = state.shop().refunds().process(&admin.caller(), id).await?;
        Ok::<_, ApiError>(refund_json(&refund))
    }
    .await;
    guard.finish(result).await
}

/// Approves and pays back in one step (the back office's "refund now"). No body (or `{}`).
#[utoipa::path(
    post,
    path = "/refunds/{refund_id}/approve-and-process",
    operation_id = "admin_approve_and_process_refund",
    tag = "admin-refunds",
    security(("bearer" = [])),
    params(("refund_id" = uuid::Uuid, Path, description = "The refund id"), IdempotencyKeyHeader),
    responses(
        (status = 200, description = "The refund, `processed` or `failed`", body = AdminRefundDto),
        (status = 404, description = "No such refund (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "The refund was rejected or already failed (`illegal_transition`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 503, description = "The gateway did not answer (`payment_gateway_unavailable`): the refund stays approved, retry with the same key", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn approve_and_process_refund(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<RefundId>,
    Idempotent { body: _, guard }: Idempotent<Option<NoBody>>,
) -> Response {
    let result = async {
        let refund = state.shop().refunds().approve_and_process(&admin.caller(), id).await?;
        Ok::<_, ApiError>(refund_json(&refund))
    }
    .await;
    guard.finish(result).await
}

//! The event log (the outbox): `GET /events` with delivery attempts and the last error,
//! `POST /events/{event_id}/redeliver` to send a delivered or dead event again.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shopkit_core::ids::EventId;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminAuth;
use crate::dto::{AdminEventDto, AdminEventStatusDto, PageDto, PageLimit, ProblemDto, cursor};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// The event log routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events)).routes(routes!(redeliver_event))
}

/// Filter and paging of the event log (newest first).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminEventListQuery {
    /// Only events in this delivery state (`dead` lists what needs a human).
    #[param(inline)]
    pub status: Option<AdminEventStatusDto>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The event log, newest first, with delivery attempts and the last error.
#[utoipa::path(
    get,
    path = "/events",
    operation_id = "admin_list_events",
    tag = "admin-events",
    security(("bearer" = [])),
    params(AdminEventListQuery),
    responses((status = 200, description = "A page of events", body = PageDto<AdminEventDto>))
)]
pub async fn list_events(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiQuery(query): ApiQuery<AdminEventListQuery>,
) -> Result<Json<PageDto<AdminEventDto>>, ApiError> {
    let limit = PageLimit::new(query.limit)?.get();
    let status = query.status.map(Into::into);
    let page = state.events().list(&admin.caller(), status, cursor(query.cursor), limit).await?;
    Ok(Json(PageDto::from_page(page, |e| AdminEventDto::from(&e))))
}

/// Puts a delivered or dead event back for delivery now (subscribers deduplicate by
/// event id, so one that already handled it does nothing).
#[utoipa::path(
    post,
    path = "/events/{event_id}/redeliver",
    operation_id = "admin_redeliver_event",
    tag = "admin-events",
    security(("bearer" = [])),
    params(("event_id" = uuid::Uuid, Path, description = "The event id")),
    responses(
        (status = 202, description = "Queued for delivery"),
        (status = 404, description = "No such event (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "The event is being delivered right now (`validation_failed`): wait for the outcome", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn redeliver_event(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<EventId>,
) -> Result<StatusCode, ApiError> {
    state.events().redeliver(&admin.caller(), id).await?;
    Ok(StatusCode::ACCEPTED)
}

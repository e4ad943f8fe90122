//! Checkout: `POST /checkout`, through the
//! [`CheckoutService`](shopkit_core::services::CheckoutService), with a required
//! `Idempotency-Key`.
//!
//! - A retry with the same key and body gets the first `201` back (`Idempotent-Replayed:
//!   true`), and the service places one order and makes at most one authorization per key
//!   (the HTTP key is passed on as the checkout's idempotency key).
//! - A refusal that changed nothing (declined card, out of stock, a coupon that no longer
//!   applies, a bad cart or field) frees the key, as the checkout itself does: fix the
//!   problem and retry with the same key or a new one.
//! - A gateway timeout or outage (`503`) also frees the HTTP key, while the checkout keeps
//!   its own until its lease ends: retry with the SAME key, the service then resumes and
//!   never charges twice.
//!
//! - The checkout runs **detached** from the request: a request timeout or a client that
//!   disconnects cannot cut the saga between two steps (which would leave stock reserved
//!   with no order). The request waits up to [`HttpConfig::checkout_wait`](crate::HttpConfig::checkout_wait) for the result;
//!   a slower checkout answers `202 Accepted` with `Retry-After`, runs on to its end, and
//!   stores its final answer under the key, refusals included, so a retry with the same
//!   key gets it (`409 idempotency_in_progress` until then).
//!
//! Guests check out with their cart's `X-Cart-Token`, and read their order (and start a
//! return) under `GET /orders/{order_id}` with that same token; the confirmation goes to
//! `email`. Signed-in customers find the order there with their bearer token. Either way
//! the `201` carries the order's URL in `Location`.

use axum::Json;
use axum::extract::State;
use axum::http::header::{LOCATION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use shopkit_core::services::CartAccess;
use tokio::sync::oneshot;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CartAuth;
use crate::dto::{CheckoutPendingDto, OrderDto, PlaceOrderRequest, ProblemDto};
use crate::error::{ApiError, ProblemCode};
use crate::idempotency::{IdempotencyGuard, IdempotencyKeyHeader, Idempotent};
use crate::state::AppState;

/// The checkout route.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(checkout))
}

/// Frees the idempotency key of a refusal that changed nothing (every client error but a
/// reused key), so the client can correct the request and send it again; a reused key
/// stays answered the same way.
pub(crate) fn refusal_frees_key(error: ApiError) -> ApiError {
    if error.status().is_client_error() && error.code() != ProblemCode::IdempotencyKeyReused {
        error.retryable(true)
    } else {
        error
    }
}

/// Places an order from a cart: prices it (the server's quote; nothing the client sends is
/// a price), reserves the stock, authorizes the payment and closes the cart.
///
/// The order's URL is in `Location`: a guest reads it with the cart's `X-Cart-Token`, a
/// customer with their bearer token. A refusal that changed nothing (declined card, out of
/// stock...) frees the `Idempotency-Key` for a corrected retry.
#[utoipa::path(
    post,
    path = "/checkout",
    tag = "checkout",
    security(("bearer" = []), ("cart_token" = [])),
    params(IdempotencyKeyHeader),
    request_body = PlaceOrderRequest,
    responses(
        (status = 201, description = "The order, its URL in `Location` (a guest opens it with the cart's `X-Cart-Token`). A retry with the same key replays this response", body = OrderDto),
        (status = 202, description = "The checkout is still running (slow gateway or storage) and will finish by itself: retry the same request with the SAME key after `Retry-After` seconds to get its result", body = CheckoutPendingDto),
        (status = 400, description = "No `Idempotency-Key` (`idempotency_key_required`) or a malformed one (`invalid_header`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 402, description = "The payment method was declined (`payment_declined` with `decline_code`): use another one. Nothing was charged and no stock is held", body = ProblemDto, content_type = "application/problem+json"),
        (status = 404, description = "No cart the caller may use has this id (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 409, description = "Not enough stock (`out_of_stock` with `sku`, `requested`, `available`), a closed or expired cart (`cart_closed`, `cart_expired`), a cart that no longer costs the `expected_total` sent (`price_changed` with the new `quote`; nothing taken), a promotion used up meanwhile (`promotion_used_up`), or the same key still running (`idempotency_in_progress`, see `Retry-After`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "Goods to ship without a delivery address (`shipping_address_required`) or method (`shipping_method_required`), a method that does not serve the address (`shipping_unavailable`), an empty cart (`cart_empty`), a coupon that no longer applies (`coupon_rejected`), an unusable payment method (`invalid_payment_method`), a bad field (`validation_failed`), or the key used for another request (`idempotency_key_reused`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 503, description = "The payment gateway did not answer (`payment_gateway_unavailable`): retry with the SAME key; you are never charged twice", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn checkout(
    State(state): State<AppState>,
    CartAuth(access): CartAuth,
    Idempotent { body, guard }: Idempotent<PlaceOrderRequest>,
) -> Response {
    let wait = state.config().checkout_wait();
    let (answer, answered) = oneshot::channel();
    // Detached: dropping this handler (timeout, disconnect) cannot cut the saga.
    let _running = state.detach(place_order(state.clone(), access, body, guard, answer));
    match tokio::time::timeout(wait, answered).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => {
            // The saga panicked: the key stays in progress until its lease ends, then a
            // retry resumes the checkout.
            ApiError::internal("the checkout task failed").into_response()
        }
        Err(_still_running) => {
            let retry_after = 1;
            let mut response =
                (StatusCode::ACCEPTED, Json(CheckoutPendingDto::processing(retry_after)))
                    .into_response();
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after));
            response
        }
    }
}

/// The checkout proper, on its own task: places the order (or is refused) and records the
/// answer under the HTTP key. A client still waiting gets the answer through `answer`
/// (a refusal frees the key, see [`refusal_frees_key`]); a client that was told `202` or
/// went away gets it on its retry with the same key, refusals included
/// ([`IdempotencyGuard::finish_unattended`]).
async fn place_order(
    state: AppState,
    access: CartAccess,
    body: PlaceOrderRequest,
    guard: IdempotencyGuard,
    answer: oneshot::Sender<Response>,
) {
    let result = async {
        let request = body.into_checkout(access, guard.key().clone())?;
        let order = state.shop().checkout().checkout(request).await?;
        let dto = OrderDto::from(&order);
        let mut response = (StatusCode::CREATED, Json(dto)).into_response();
        let location = HeaderValue::from_str(&format!("/api/v1/orders/{}", order.id()))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        response.headers_mut().insert(LOCATION, location);
        Ok::<_, ApiError>(response)
    }
    .await;
    if answer.is_closed() {
        guard.finish_unattended(result).await;
    } else {
        let response = guard.finish(result.map_err(refusal_frees_key)).await;
        // The client may have gone since: its retry then re-runs the checkout, which
        // resumes under the same key (one order, one charge).
        let _ = answer.send(response);
    }
}

//! Request ids: `X-Request-Id` is taken from the request when it is sane, generated
//! otherwise, echoed on the response, recorded in the request's span, and put in every
//! problem body (through a task-local, so errors need no access to the request).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The header carrying the request id.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being handled; also a request extension, so handlers can take
/// `Extension<RequestId>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request this task is handling, if any.
pub(crate) fn current() -> Option<String> {
    CURRENT.try_with(|id| id.0.clone()).ok()
}

/// A client-supplied id is kept when it is 1 to 128 visible ASCII characters (so it
/// cannot inject anything into logs); anything else is replaced.
fn sane(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| s.to_owned())
}

/// The outermost middleware: sets the id, runs the request in its scope, echoes it.
pub(crate) async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(sane)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let header = HeaderValue::from_str(&id).ok();
    if let Some(header) = &header {
        req.headers_mut().insert(X_REQUEST_ID, header.clone());
    }
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = CURRENT.scope(RequestId(id), next.run(req)).await;
    if let Some(header) = header {
        response.headers_mut().insert(X_REQUEST_ID, header);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_visible_ids_are_kept() {
        assert_eq!(sane(&HeaderValue::from_static("abc-123")).as_deref(), Some("abc-123"));
        assert_eq!(sane(&HeaderValue::from_static("has space")), None);
        assert_eq!(sane(&HeaderValue::from_str(&"a".repeat(129)).unwrap()), None);
    }
}

//! The session events (logins, refreshes, logouts, CSRF rejections), logged
//! on the `session` target (the `audit-log` feature would also store them in
//! a tamper-evident table).

use axum::extract::Request;

/// What an event says about the request it happened in.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    request_id: Option<String>,
    path: String,
}

impl RequestMeta {
    pub fn from_request(request: &Request) -> Self {
        Self {
            request_id: request
                .headers()
                .get("x-request-id")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
            path: request.uri().path().to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Login,
    SessionRefresh,
    Logout,
    CsrfRejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl super::Sessions {
    /// Records a session event: who (`subject` and `roles`, when known), what
    /// (`action`), and how it went.
    pub async fn record(
        &self,
        meta: &RequestMeta,
        event_type: EventType,
        outcome: Outcome,
        subject: Option<&str>,
        roles: &[String],
        action: &str,
    ) {
        tracing::info!(
            target: "session",
            event = ?event_type,
            outcome = ?outcome,
            subject,
            ?roles,
            action,
            request_id = meta.request_id.as_deref(),
            path = meta.path,
            "session event"
        );
    }
}

//! Health checks for orchestrators and load balancers. Public, no `/api` prefix.
//!
//! - `GET /health/live`: the process is up and serving HTTP. Always 200; a
//!   failing liveness probe gets the process restarted, so it must not depend
//!   on anything outside the process.
//! - `GET /health/ready`: the service can do useful work (the database answers).
//!   503 otherwise, so traffic is routed elsewhere until it recovers.

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::db;
use crate::error::{ApiError, ErrorChain};
use crate::state::AppState;

/// Probes run every few seconds; a slow database is as good as a dead one.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let unavailable = || ApiError::ServiceUnavailable("the database is not available".to_owned());
    match tokio::time::timeout(READY_TIMEOUT, db::ping(&state.db)).await {
        Ok(Ok(())) => Ok(Json(json!({ "status": "ok" }))),
        Ok(Err(error)) => {
            tracing::warn!(error = %ErrorChain(&error), "readiness check failed");
            Err(unavailable())
        }
        Err(_elapsed) => {
            tracing::warn!("readiness check timed out");
            Err(unavailable())
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[tokio::test]
    async fn readiness_fails_with_503_when_the_database_is_gone() {
        let pool = db::Pool::connect_lazy("sqlite::memory:").unwrap();
        pool.close().await;

        let error = ready(State(AppState { db: pool })).await.unwrap_err();

        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}

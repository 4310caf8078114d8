//! Health checks for orchestrators and load balancers. Public, no `/api` prefix.
//!
//! - `GET /health/live`: the process is up and serving HTTP. Always 200; a
//!   failing liveness probe gets the process restarted, so it must not depend
//!   on anything outside the process.
//! - `GET /health/ready`: the service can do useful work: the identity
//!   provider's signing keys are loaded and the database answers. 503 otherwise,
//!   so traffic is routed elsewhere until it recovers.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::db;
use crate::error::{ApiError, ErrorChain};
use crate::routes::access::{Routes, public};
use crate::state::AppState;

/// Probes run every few seconds; a slow database is as good as a dead one.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Public on purpose: probes carry no token.
pub fn routes() -> Routes {
    Routes::new()
        .get("/health/live", public(), live)
        .get("/health/ready", public(), ready)
}

async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    // Without keys every /api request would fail. Keys loaded once stay in use
    // even when a later refresh fails, so this only waits for the first load.
    if !state.verifier.keys().is_loaded() {
        return Err(ApiError::ServiceUnavailable(
            "the identity provider's signing keys are not loaded yet".to_owned(),
        ));
    }
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
    use std::sync::Arc;

    use axum::http::StatusCode;

    use super::*;
    use crate::auth::Verifier;
    use crate::auth::keys::{KeySet, KeyStore};
    use crate::config::AuthSettings;

    async fn state(keys: KeyStore, database_up: bool) -> AppState {
        let pool = db::Pool::lazy_for_tests();
        if !database_up {
            pool.close().await;
        }
        let settings = AuthSettings::new("http://127.0.0.1:9/", "test");
        AppState {
            db: pool,
            verifier: Arc::new(Verifier::new(&settings, Arc::new(keys))),
            policy: Arc::new(crate::rbac::Policy::embedded().unwrap()),
        }
    }

    fn loaded() -> KeyStore {
        KeyStore::loaded_for_tests(KeySet::default())
    }

    #[tokio::test]
    async fn readiness_answers_200_with_keys_and_a_database() {
        assert!(ready(State(state(loaded(), true).await)).await.is_ok());
    }

    #[tokio::test]
    async fn readiness_fails_with_503_when_the_database_is_gone() {
        let error = ready(State(state(loaded(), false).await))
            .await
            .unwrap_err();

        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn readiness_fails_with_503_until_the_keys_are_loaded() {
        let settings = AuthSettings::new("http://127.0.0.1:9/", "test");
        let not_loaded = KeyStore::new(&settings).unwrap();

        let error = ready(State(state(not_loaded, true).await))
            .await
            .unwrap_err();

        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}

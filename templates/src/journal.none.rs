//! What a request records about the data it touched. This service keeps no
//! audit log (feature `audit-log`), so there is nothing to record beyond the
//! log lines the repository writes itself; a [`Journal`] is handed to the
//! repository anyway, so that handlers read the same with or without one.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::db::{Pool, Tx};

/// Records nothing: there is no audit log.
#[derive(Debug, Clone, Copy, Default)]
pub struct Journal;

impl<S: Send + Sync> FromRequestParts<S> for Journal {
    type Rejection = Infallible;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self)
    }
}

impl Journal {
    /// With an audit log, records the change in its transaction `tx`.
    pub async fn record_change(&self, _tx: &mut Tx, _resource: String) -> Result<(), sqlx::Error> {
        Ok(())
    }

    /// With an audit log, records an unreadable stored value.
    pub async fn integrity_failure(&self, _pool: &Pool, _resource: String) {}
}

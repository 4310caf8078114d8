//! What a request records about the data it touched, in the audit log
//! (`audit`): its changes, each in the transaction of the change, and the
//! stored values it found unreadable.
//!
//! Handlers take a [`Journal`] and hand it to the repository, which calls
//! [`Journal::record_change`] inside the transaction that writes the change:
//! if either the change or its record fails, neither is committed, so the
//! trail cannot miss a change that happened nor show one that did not.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::audit::{self, AuditEvent, EventType, Journaled, Outcome, RequestMeta};
use crate::auth::Principal;
use crate::db::{Pool, Tx};

/// The request's caller and context, for the events it records.
#[derive(Debug, Clone)]
pub struct Journal {
    meta: RequestMeta,
    principal: Option<Principal>,
    /// Set by `audit::record_changes` around the routes that change data.
    journaled: Option<Journaled>,
}

impl<S: Send + Sync> FromRequestParts<S> for Journal {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            meta: RequestMeta::from_parts(parts),
            principal: parts.extensions.get::<Principal>().cloned(),
            journaled: parts.extensions.get::<Journaled>().cloned(),
        })
    }
}

impl Journal {
    fn event(&self, event_type: EventType, outcome: Outcome, resource: String) -> AuditEvent {
        let mut event = AuditEvent::new(event_type, outcome, &self.meta);
        if let Some(principal) = &self.principal {
            event = event.by(principal);
        }
        event.resource = resource;
        event
    }

    /// Records the successful change of `resource` (`items/{id}`) in `tx`, the
    /// transaction that makes the change; the action (create, update, delete)
    /// is the request's. An error here must abort the change: return it.
    pub async fn record_change(&self, tx: &mut Tx, resource: String) -> Result<(), sqlx::Error> {
        let event = self.event(EventType::DataChange, Outcome::Success, resource);
        let recorded = audit::append_in(tx, &event).await?;
        let line = audit::log_line(&event, Some(&recorded));
        match &self.journaled {
            // Logged by `record_changes` once the handler has answered.
            Some(journaled) => journaled.put(line),
            None => tracing::info!(target: audit::TARGET, "{line}"),
        }
        Ok(())
    }

    /// Records that a stored value of `resource` did not read back as written
    /// (the repository has logged which and why). The answer goes out anyway.
    pub async fn integrity_failure(&self, pool: &Pool, resource: String) {
        let mut event = self.event(EventType::IntegrityFailure, Outcome::Failure, resource);
        event.action = "read".to_owned();
        audit::record_or_log(pool, &event).await;
    }
}

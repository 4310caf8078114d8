//! The session events (logins, refreshes, logouts, CSRF rejections) go to
//! the audit log: its log line and its tamper-evident table (`audit`).

use crate::audit::{AuditEvent, record_or_log};
pub use crate::audit::{EventType, Outcome, RequestMeta};

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
        let mut event = AuditEvent::new(event_type, outcome, meta);
        event.subject = subject.map(str::to_owned);
        event.roles = roles.to_vec();
        event.action = action.to_owned();
        record_or_log(&self.db, &event).await;
    }
}

//! Operational alerts: a source's health changed (`failing`, `parsing_nothing`, `recovered`;
//! see [`crate::store::HealthEvent`]). They go to the same sinks as hit alerts, in each sink's
//! own shape, and carry their own idempotency key, so they are delivered exactly once too.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{EmailSink, JsonlSink, SinkError, WebhookSink};
use crate::alert::Format;
use crate::store::HealthEvent;

/// What an operational alert says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthAlert {
    /// Always `source_health`: tells these apart from hit alerts in one file or endpoint.
    pub kind: &'static str,
    /// Receivers drop repeats with it.
    pub idempotency_key: String,
    /// The source id (`kind:url`).
    pub source: String,
    /// `failing`, `parsing_nothing` or `recovered`.
    pub state: String,
    /// The error, the page that parsed to nothing, or what recovered.
    pub detail: String,
    /// When the state changed (RFC 3339, JST).
    pub at: String,
}

impl HealthAlert {
    /// The alert of `event` for the sink named `sink`.
    pub fn new(event: &HealthEvent, sink: &str) -> HealthAlert {
        let key = format!(
            "health\n{}\n{}\n{}\n{}\n{sink}",
            event.id, event.source_id, event.state, event.at
        );
        let at = chrono::DateTime::parse_from_rfc3339(&event.at)
            .map(|t| t.with_timezone(&crate::model::jst()).to_rfc3339())
            .unwrap_or_else(|_| event.at.clone());
        HealthAlert {
            kind: "source_health",
            idempotency_key: hex::encode(Sha256::digest(key.as_bytes())),
            source: event.source_id.clone(),
            state: event.state.clone(),
            detail: event.detail.clone(),
            at,
        }
    }

    /// One line of text for chat and e-mail.
    pub fn line(&self) -> String {
        let what = match self.state.as_str() {
            "failing" => "is failing",
            "parsing_nothing" => "parses no posts (has the site's layout changed?)",
            "recovered" => "has recovered",
            other => other,
        };
        format!(
            "[mimamori] source {} {what} — {} (at {})",
            self.source, self.detail, self.at
        )
    }
}

/// The operational half of a sink (every [`super::Sink`] is one).
#[async_trait::async_trait]
pub trait HealthSink: Send + Sync {
    /// Delivers one operational alert; `Ok` only once the destination has it.
    async fn send_health(&self, alert: &HealthAlert) -> Result<(), SinkError>;
}

#[async_trait::async_trait]
impl HealthSink for JsonlSink {
    async fn send_health(&self, alert: &HealthAlert) -> Result<(), SinkError> {
        let line = serde_json::to_string(alert).map_err(|e| SinkError::Io {
            path: self.path.clone(),
            what: "cannot serialize the alert",
            source: std::io::Error::other(e),
        })?;
        self.append(vec![(alert.idempotency_key.clone(), line)])
    }
}

#[async_trait::async_trait]
impl HealthSink for WebhookSink {
    async fn send_health(&self, alert: &HealthAlert) -> Result<(), SinkError> {
        let body = match self.format {
            Format::Generic => serde_json::json!({ "source_health": alert }),
            Format::Slack => crate::alert::format::slack_health(alert),
            Format::Discord => crate::alert::format::discord_health(alert),
        };
        self.post_json(body.to_string(), &alert.idempotency_key)
            .await
    }
}

#[async_trait::async_trait]
impl HealthSink for EmailSink {
    async fn send_health(&self, alert: &HealthAlert) -> Result<(), SinkError> {
        let subject = crate::alert::format::email_health_subject(alert);
        let body = crate::text::control::escape_controls(&alert.line()).into_owned();
        self.send_text(subject, body, &alert.idempotency_key).await
    }
}

//! Where alerts go: one [`Sink`] per `[[alert]]` table.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use super::{Alert, Format};

/// Longest a webhook may take to answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a delivery failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The JSONL file could not be written.
    #[error("{path}: {what}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The webhook did not answer 2xx.
    #[error("{url}: {message}")]
    Webhook {
        /// The endpoint.
        url: String,
        /// What happened.
        message: String,
    },
}

/// A destination for alerts. `send` returns `Ok` only once the destination has them.
#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    /// Delivers `alerts` (one, or a digest) or fails as a whole.
    async fn send(&self, alerts: &[Alert]) -> Result<(), SinkError>;
}

/// Appends one JSON line per alert to a file, skipping idempotency keys it already holds —
/// so a crash between writing and marking the row sent does not write the alert twice.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    written: Mutex<HashSet<String>>,
}

impl JsonlSink {
    /// Opens the sink, reading the keys already in the file.
    pub fn open(path: PathBuf) -> Result<JsonlSink, SinkError> {
        let mut written = HashSet::new();
        match std::fs::File::open(&path) {
            Ok(f) => {
                for line in BufReader::new(f).lines() {
                    let line = line.map_err(|source| SinkError::Io {
                        path: path.clone(),
                        what: "cannot read the alert file",
                        source,
                    })?;
                    if let Some(k) = serde_json::from_str::<serde_json::Value>(&line)
                        .ok()
                        .and_then(|v| v["idempotency_key"].as_str().map(str::to_string))
                    {
                        written.insert(k);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(SinkError::Io {
                    path,
                    what: "cannot read the alert file",
                    source,
                });
            }
        }
        Ok(JsonlSink {
            path,
            written: Mutex::new(written),
        })
    }
}

#[async_trait::async_trait]
impl Sink for JsonlSink {
    async fn send(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        let mut written = match self.written.lock() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        let mut text = String::new();
        let mut keys = Vec::new();
        for a in alerts {
            if written.contains(&a.idempotency_key) {
                continue;
            }
            if let Ok(line) = serde_json::to_string(a) {
                text.push_str(&line);
                text.push('\n');
                keys.push(a.idempotency_key.clone());
            }
        }
        if text.is_empty() {
            return Ok(());
        }
        let io = |what| {
            let path = self.path.clone();
            move |source| SinkError::Io { path, what, source }
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io("cannot create the alert directory"))?;
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io("cannot open the alert file"))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(io("cannot write the alert file"))?;
        written.extend(keys);
        Ok(())
    }
}

/// POSTs alerts as JSON: generic (`{"alerts":[…]}`), Slack (`{"text"}`) or Discord
/// (`{"content"}`), with the `Idempotency-Key` header (one alert: its key; a digest: the
/// SHA-256 of its keys).
#[derive(Debug)]
pub struct WebhookSink {
    url: url::Url,
    format: Format,
    client: reqwest::Client,
}

impl WebhookSink {
    /// A sink posting to `url`.
    pub fn new(url: url::Url, format: Format) -> Result<WebhookSink, SinkError> {
        let client = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mimamori/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SinkError::Webhook {
                url: url.to_string(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(WebhookSink {
            url,
            format,
            client,
        })
    }
}

/// The idempotency key of a delivery of `alerts`.
pub fn delivery_key(alerts: &[Alert]) -> String {
    match alerts {
        [one] => one.idempotency_key.clone(),
        many => {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            for a in many {
                h.update(a.idempotency_key.as_bytes());
                h.update(b"\n");
            }
            hex::encode(h.finalize())
        }
    }
}

#[async_trait::async_trait]
impl Sink for WebhookSink {
    async fn send(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        let text = || {
            alerts
                .iter()
                .map(Alert::line)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let body = match self.format {
            Format::Generic => serde_json::json!({ "alerts": alerts }),
            Format::Slack => serde_json::json!({ "text": text() }),
            Format::Discord => {
                let mut t = text();
                // Discord rejects content over 2,000 characters.
                if t.chars().count() > 1990 {
                    t = t.chars().take(1990).collect::<String>() + "…";
                }
                serde_json::json!({ "content": t })
            }
        };
        let fail = |message: String| SinkError::Webhook {
            url: self.url.to_string(),
            message,
        };
        let resp = self
            .client
            .post(self.url.clone())
            .header("Idempotency-Key", delivery_key(alerts))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| fail(format!("cannot deliver: {e}")))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(fail(format!("answered {status}")))
        }
    }
}

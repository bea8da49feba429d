//! Where alerts go: one [`Sink`] per `[[alert]]` table.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::Write;
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

mod health;
pub use health::{HealthAlert, HealthSink};

/// A destination for alerts (and, through [`HealthSink`], for operational alerts about
/// sources). `send` returns `Ok` only once the destination has them.
#[async_trait::async_trait]
pub trait Sink: Send + Sync + HealthSink {
    /// Delivers `alerts` (one, or a digest) or fails as a whole.
    async fn send(&self, alerts: &[Alert]) -> Result<(), SinkError>;
}

/// Appends one JSON line per alert to a file, skipping idempotency keys it already holds —
/// so a crash between writing and marking the row sent does not write the alert twice.
///
/// A crash part-way through a write can leave a partial last line (possibly ending inside a
/// multibyte character). On open and before every append, such a tail is set aside into
/// `<file>.<offset>.torn` beside it (see [`crate::durable`]) and logged: its alert was never
/// marked sent, so it is written again whole, and no line is ever glued onto a partial one.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    written: Mutex<HashSet<String>>,
}

impl JsonlSink {
    /// Opens the sink: sets aside a torn last line and reads the keys already in the file.
    pub fn open(path: PathBuf) -> Result<JsonlSink, SinkError> {
        let read_err = |source| SinkError::Io {
            path: path.clone(),
            what: "cannot read the alert file",
            source,
        };
        let mut written = HashSet::new();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(read_err(source)),
        };
        let whole = crate::durable::whole_lines(&bytes);
        if whole < bytes.len() {
            set_aside_torn(&path, whole as u64)?;
        }
        for (i, line) in bytes[..whole].split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(v) => {
                    if let Some(k) = v["idempotency_key"].as_str() {
                        written.insert(k.to_string());
                    }
                }
                Err(e) => tracing::warn!(
                    file = %path.display(),
                    line = i + 1,
                    error = %e,
                    "alert file line is not JSON; left as it is"
                ),
            }
        }
        Ok(JsonlSink {
            path,
            written: Mutex::new(written),
        })
    }
}

/// Sets aside the bytes of the alert file past `from` (a partial line) and logs where.
fn set_aside_torn(path: &std::path::Path, from: u64) -> Result<(), SinkError> {
    let torn = crate::durable::set_aside(path, from).map_err(|source| SinkError::Io {
        path: path.to_path_buf(),
        what: "cannot set aside the torn last line",
        source,
    })?;
    if let Some(t) = torn {
        tracing::warn!(
            file = %path.display(),
            offset = t.from,
            bytes = t.bytes.len(),
            kept_in = %t.path.display(),
            "alert file ended in a partial line (a crash mid-write): set aside, its alert is written again"
        );
    }
    Ok(())
}

/// Where the last complete line of the file ends, when the file does not end in a newline
/// (`None` when it does, is empty or is missing).
fn torn_from(path: &std::path::Path) -> std::io::Result<Option<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8; 1];
    f.seek(SeekFrom::Start(len - 1))?;
    f.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    // Rare (a write failed part-way in this process): find the last newline.
    let mut bytes = Vec::new();
    f.seek(SeekFrom::Start(0))?;
    f.read_to_end(&mut bytes)?;
    Ok(Some(crate::durable::whole_lines(&bytes) as u64))
}

impl JsonlSink {
    /// Appends the `(idempotency key, JSON line)` pairs whose keys the file does not hold yet,
    /// synced before it returns; never after a partial line.
    fn append(&self, lines: Vec<(String, String)>) -> Result<(), SinkError> {
        let mut written = match self.written.lock() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        let mut text = String::new();
        let mut keys = Vec::new();
        for (key, line) in lines {
            if written.contains(&key) || keys.contains(&key) {
                continue;
            }
            text.push_str(&line);
            text.push('\n');
            keys.push(key);
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
        // A write of this process that failed part-way left a partial line: never glue on it.
        if let Some(from) = torn_from(&self.path).map_err(io("cannot read the alert file"))? {
            set_aside_torn(&self.path, from)?;
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

#[async_trait::async_trait]
impl Sink for JsonlSink {
    async fn send(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        let lines = alerts
            .iter()
            .filter_map(|a| {
                serde_json::to_string(a)
                    .ok()
                    .map(|l| (a.idempotency_key.clone(), l))
            })
            .collect();
        self.append(lines)
    }
}

/// POSTs alerts as JSON: generic (`{"alerts":[…]}`), Slack (`{"text"}`) or Discord
/// (`{"content"}`), each escaped for its format ([`super::format`]), with the `Idempotency-Key` header (one alert: its key; a digest: the
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
        let body = match self.format {
            Format::Generic => serde_json::json!({ "alerts": alerts }),
            Format::Slack => super::format::slack(alerts),
            Format::Discord => super::format::discord(alerts),
        };
        self.post_json(body.to_string(), &delivery_key(alerts))
            .await
    }
}

impl WebhookSink {
    /// POSTs one JSON body with its idempotency key; `Ok` on a 2xx answer.
    async fn post_json(&self, body: String, key: &str) -> Result<(), SinkError> {
        let fail = |message: String| SinkError::Webhook {
            url: self.url.to_string(),
            message,
        };
        let resp = self
            .client
            .post(self.url.clone())
            .header("Idempotency-Key", key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
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

/// How an e-mail sink talks to its SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP upgraded with STARTTLS (required), port 587 by default.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS), port 465 by default.
    Tls,
    /// No TLS (a relay on localhost), port 25 by default.
    None,
}

/// Sends alerts as one plain-text e-mail per delivery (a digest: one e-mail for all), with
/// the idempotency key in an `X-Mimamori-Idempotency-Key` header.
pub struct EmailSink {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
    to: Vec<lettre::message::Mailbox>,
    server: String,
}

impl std::fmt::Debug for EmailSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSink")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// The settings of an e-mail sink (credentials come from environment variables).
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// SMTP host.
    pub host: String,
    /// Port (default by `tls`).
    pub port: Option<u16>,
    /// TLS mode.
    pub tls: SmtpTls,
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, String)>,
}

impl EmailSink {
    /// A sink for `settings`; addresses are checked here.
    pub fn new(settings: EmailSettings) -> Result<EmailSink, String> {
        use lettre::AsyncSmtpTransport;
        let parse = |a: &str| {
            a.parse::<lettre::message::Mailbox>()
                .map_err(|e| format!("{a:?} is not an e-mail address: {e}"))
        };
        let from = parse(&settings.from).map_err(|e| format!("from: {e}"))?;
        if settings.to.is_empty() {
            return Err("to: an email sink needs at least one recipient".into());
        }
        let to = settings
            .to
            .iter()
            .map(|a| parse(a))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("to: {e}"))?;
        let host = settings.host.as_str();
        let mut builder = match settings.tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<lettre::Tokio1Executor>::starttls_relay(host)
                .map_err(|e| format!("smtp_host: {e}"))?,
            SmtpTls::Tls => AsyncSmtpTransport::<lettre::Tokio1Executor>::relay(host)
                .map_err(|e| format!("smtp_host: {e}"))?,
            SmtpTls::None => AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(host),
        };
        let port = settings.port.unwrap_or(match settings.tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        });
        builder = builder.port(port).timeout(Some(WEBHOOK_TIMEOUT));
        if let Some((user, pass)) = settings.credentials {
            builder = builder.credentials(
                lettre::transport::smtp::authentication::Credentials::new(user, pass),
            );
        }
        Ok(EmailSink {
            transport: builder.build(),
            from,
            to,
            server: format!("smtp://{host}:{port}"),
        })
    }
}

#[async_trait::async_trait]
impl Sink for EmailSink {
    async fn send(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        let subject = super::format::email_subject(alerts);
        let body = super::format::email_body(alerts);
        self.send_text(subject, body, &delivery_key(alerts)).await
    }
}

impl EmailSink {
    /// Sends one plain-text e-mail to every recipient with its idempotency key in the
    /// `X-Mimamori-Idempotency-Key` header.
    async fn send_text(&self, subject: String, body: String, key: &str) -> Result<(), SinkError> {
        use lettre::AsyncTransport;
        let fail = |message: String| SinkError::Webhook {
            url: self.server.clone(),
            message,
        };
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let mut message = builder
            .body(body)
            .map_err(|e| fail(format!("cannot build the message: {e}")))?;
        message
            .headers_mut()
            .insert_raw(lettre::message::header::HeaderValue::new(
                lettre::message::header::HeaderName::new_from_ascii_str(
                    "X-Mimamori-Idempotency-Key",
                ),
                key.to_string(),
            ));
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| fail(format!("cannot send the e-mail: {e}")))
    }
}

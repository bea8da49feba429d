//! Alerts: the outbox in `state.sqlite` delivered to the configured sinks.
//!
//! A hit's outbox row is written in the same transaction as the hit (see
//! [`Store::commit_poll`]), so an alert can never be lost between "found" and "queued". The
//! [`Dispatcher`] expands each queued row into one row per configured sink, delivers the due
//! rows, and marks a row sent **only after the sink accepted it**; a failure schedules a retry
//! with exponential backoff and jitter (capped), so a sink that is down for an hour loses
//! nothing. The one gap left is a crash after the sink accepted and before the row is marked:
//! the alert is sent again on restart. Every delivery therefore carries the row's idempotency
//! key (SHA-256 of post key and target): webhooks get it as the `Idempotency-Key` header and in
//! the body, and the JSONL sink skips a key it already wrote — that makes it exactly once.
//!
//! Configured as `[[alert]]` tables (README "Alerts"): `name`, `kind` (`jsonl` | `webhook` |
//! `email`), `path`, `url` or the SMTP settings, `format` (`generic` | `slack` | `discord`),
//! `targets`, `min_severity`,
//! `digest` (send queued alerts together every so often), `operational`. An alert never holds
//! a watched personal value in clear: match texts are stored masked.
//!
//! Operational alerts — a source's health changed (see [`crate::store::HealthEvent`]) — go
//! to the same sinks through [`HealthSink`], each event once per sink, retried the same way.

pub mod format;
pub mod sinks;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Watchlist;
use crate::store::{Hit, OutboxRow, Store, StoreError};
pub use sinks::{HealthAlert, HealthSink, Sink, SinkError};

/// First retry delay.
const BACKOFF_BASE: Duration = Duration::from_secs(2);
/// Longest retry delay.
const BACKOFF_CAP: Duration = Duration::from_secs(600);
/// Rows delivered per round.
const BATCH: usize = 200;
/// How far back operational alerts are delivered (a sink added later is not sent a source's
/// old history).
const HEALTH_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// What went wrong with alerting.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// An `[[alert]]` table is wrong: `file:line:col: [[alert]] #n (name): field: what`.
    #[error("{0}")]
    Config(String),
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The webhook payload shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The [`Alert`] objects as JSON.
    #[default]
    Generic,
    /// Slack incoming webhook: `{"text": …}`.
    Slack,
    /// Discord webhook: `{"content": …}`.
    Discord,
}

/// One `[[alert]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Sink name (unique; the outbox rows refer to it). Defaults to `<kind>-<n>`.
    #[serde(default)]
    pub name: Option<String>,
    /// `jsonl` or `webhook`.
    pub kind: String,
    /// JSONL file (`jsonl`).
    #[serde(default)]
    pub path: Option<std::path::PathBuf>,
    /// Endpoint (`webhook`).
    #[serde(default)]
    pub url: Option<String>,
    /// Payload shape (`webhook`).
    #[serde(default)]
    pub format: Format,
    /// Only these targets (all when empty).
    #[serde(default)]
    pub targets: Vec<String>,
    /// Only hits at least this severe.
    #[serde(default)]
    pub min_severity: u8,
    /// Send what is queued together at most this often (`10m`); immediately when absent.
    #[serde(default)]
    pub digest: Option<String>,
    /// SMTP server (`email`).
    #[serde(default)]
    pub smtp_host: Option<String>,
    /// SMTP port (`email`; 587, 465 or 25 by `tls`).
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls` or `none` (`email`).
    #[serde(default)]
    pub tls: sinks::SmtpTls,
    /// Sender (`email`).
    #[serde(default)]
    pub from: Option<String>,
    /// Recipients (`email`).
    #[serde(default)]
    pub to: Vec<String>,
    /// Name of the environment variable holding the SMTP user (`email`, optional).
    #[serde(default)]
    pub username_env: Option<String>,
    /// Name of the environment variable holding the SMTP password (`email`).
    #[serde(default)]
    pub password_env: Option<String>,
    /// Also send operational alerts: a source started failing, parses nothing, recovered
    /// (default true; `targets` and `min_severity` do not apply to them).
    #[serde(default = "yes")]
    pub operational: bool,
}

fn yes() -> bool {
    true
}

/// What an alert says: enough to act on, never a watched value in clear.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Receivers drop repeats with it.
    pub idempotency_key: String,
    /// The hit id (`mimamori hits`, `mimamori evidence show`).
    pub hit_id: i64,
    /// The target id.
    pub target: String,
    /// Categories.
    pub categories: Vec<String>,
    /// Severity 0–100.
    pub severity: u8,
    /// Personal-data kinds leaked.
    pub pii: Vec<String>,
    /// The matches in context (`mention: 「山田商事」`, `defamation: 「詐欺」`), personal
    /// values masked.
    pub matched: Vec<String>,
    /// The post's URL.
    pub url: String,
    /// Posted-at as recorded.
    pub posted_at: Option<String>,
    /// Access-log red line: posted-at + 90 days (RFC 3339), when the posting time is known.
    pub deadline: Option<String>,
}

impl Alert {
    /// The alert for a hit and its outbox row.
    pub fn new(hit: &Hit, row: &OutboxRow) -> Alert {
        let deadline = hit
            .posted_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| {
                (t + chrono::Duration::days(crate::evidence::deadlines::ACCESS_LOG_DAYS))
                    .to_rfc3339()
            });
        Alert {
            idempotency_key: row.idempotency_key.clone(),
            hit_id: hit.id,
            target: hit.target.clone(),
            categories: hit.categories.clone(),
            severity: hit.severity,
            pii: hit.pii.clone(),
            matched: hit
                .matches
                .iter()
                .map(|m| format!("{}: 「{}」", m.label, m.text))
                .collect(),
            url: hit.url.clone(),
            posted_at: hit.posted_at.clone(),
            deadline,
        }
    }

    /// One line of plain text (the e-mail sink): the URL and the matched texts, which come
    /// from the crawled post, with their control and bidi characters shown as `<U+XXXX>`.
    pub fn line(&self) -> String {
        let plain = |s: &str| crate::text::control::escape_controls_line(s).into_owned();
        self.line_with(&plain, &plain)
    }

    /// One line with every part that is not ours (target id, URL, matched texts) passed
    /// through `text`, and the URL through `url` (chat formats escape and link each their
    /// way: [`format`]).
    pub fn line_with(&self, text: &dyn Fn(&str) -> String, url: &dyn Fn(&str) -> String) -> String {
        let mut s = format!(
            "[mimamori] {} severity {} {} — {}",
            text(&self.target),
            self.severity,
            self.categories.join(","),
            url(&self.url)
        );
        if !self.pii.is_empty() {
            s.push_str(&format!(" (personal data: {})", self.pii.join(",")));
        }
        if let Some(d) = &self.deadline {
            s.push_str(&format!(" · log deadline {}", &d[..d.len().min(10)]));
        }
        if !self.matched.is_empty() {
            let matched: Vec<String> = self.matched.iter().map(|m| text(m)).collect();
            s.push_str(&format!(" · {}", matched.join(" ")));
        }
        s
    }
}

/// A configured sink with its filters.
pub struct Route {
    /// The sink name.
    pub name: String,
    /// Where it goes.
    pub sink: Box<dyn Sink>,
    targets: Vec<String>,
    min_severity: u8,
    digest: Option<Duration>,
    operational: bool,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Route {
    fn wants(&self, hit: &Hit) -> bool {
        (self.targets.is_empty() || self.targets.contains(&hit.target))
            && hit.severity >= self.min_severity
    }
}

/// The `[[alert]]` tables of a watchlist as routes (none when there are none).
pub fn routes(watchlist: &Watchlist) -> Result<Vec<Route>, AlertError> {
    let Some(value) = watchlist.extra.get("alert") else {
        return Ok(Vec::new());
    };
    let count = match value {
        toml::Value::Array(a) => a.len(),
        _ => 1,
    };
    let mut out: Vec<Route> = Vec::new();
    for i in 0..count {
        let index = i + 1;
        let err = |name: &Option<String>, message: String| {
            let label = match name {
                Some(n) => format!("[[alert]] #{index} ({n})"),
                None => format!("[[alert]] #{index}"),
            };
            AlertError::Config(watchlist.located("alert", i, &label, &message))
        };
        let Some(cfg) = watchlist
            .section::<AlertConfig>("alert", i, &format!("[[alert]] #{index}"))
            .map_err(AlertError::Config)?
        else {
            continue;
        };
        let name = cfg
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-{index}", cfg.kind));
        if name == crate::store::ANY_SINK || out.iter().any(|r| r.name == name) {
            return Err(err(
                &cfg.name,
                format!("name: duplicate or reserved sink name {name:?}"),
            ));
        }
        let digest = cfg
            .digest
            .as_deref()
            .map(crate::config::parse_duration)
            .transpose()
            .map_err(|e| err(&cfg.name, format!("digest: {e}")))?;
        let sink: Box<dyn Sink> = match cfg.kind.as_str() {
            "jsonl" => {
                let path = cfg
                    .path
                    .clone()
                    .ok_or_else(|| err(&cfg.name, "path: a jsonl sink needs a path".into()))?;
                Box::new(sinks::JsonlSink::open(path).map_err(|e| err(&cfg.name, e.to_string()))?)
            }
            "webhook" => {
                let url = cfg
                    .url
                    .clone()
                    .ok_or_else(|| err(&cfg.name, "url: a webhook sink needs a url".into()))?;
                let url = url::Url::parse(&url)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| err(&cfg.name, format!("url: {url:?} is not an http(s) URL")))?;
                Box::new(
                    sinks::WebhookSink::new(url, cfg.format)
                        .map_err(|e| err(&cfg.name, e.to_string()))?,
                )
            }
            "email" => {
                let host = cfg.smtp_host.clone().ok_or_else(|| {
                    err(
                        &cfg.name,
                        "smtp_host: an email sink needs a smtp_host".into(),
                    )
                })?;
                let from = cfg.from.clone().ok_or_else(|| {
                    err(&cfg.name, "from: an email sink needs a from address".into())
                })?;
                let credentials = match (&cfg.username_env, &cfg.password_env) {
                    (None, None) => None,
                    (user_env, Some(pass_env)) => {
                        let get = |v: &str| {
                            std::env::var(v).map_err(|_| {
                                err(&cfg.name, format!("environment variable {v} is not set (named by username_env/password_env)"))
                            })
                        };
                        let user = match user_env {
                            Some(u) => get(u)?,
                            None => from.clone(),
                        };
                        Some((user, get(pass_env)?))
                    }
                    (Some(_), None) => {
                        return Err(err(
                            &cfg.name,
                            "password_env: username_env needs password_env".into(),
                        ));
                    }
                };
                Box::new(
                    sinks::EmailSink::new(sinks::EmailSettings {
                        host,
                        port: cfg.smtp_port,
                        tls: cfg.tls,
                        from,
                        to: cfg.to.clone(),
                        credentials,
                    })
                    .map_err(|e| err(&cfg.name, e))?,
                )
            }
            other => {
                return Err(err(
                    &cfg.name,
                    format!("kind: unknown sink kind {other:?} (use jsonl, webhook or email)"),
                ));
            }
        };
        out.push(Route {
            name,
            sink,
            targets: cfg.targets,
            min_severity: cfg.min_severity,
            digest,
            operational: cfg.operational,
        });
    }
    Ok(out)
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Alerts accepted by a sink.
    pub sent: u64,
    /// Rows a sink's filters left out (marked done).
    pub filtered: u64,
    /// Failed attempts (retried later).
    pub failed: u64,
}

/// Delivers the outbox to the routes.
pub struct Dispatcher {
    store: Arc<Store>,
    routes: Vec<Route>,
    /// Rings when new hits are committed, so they go out now rather than at the next tick.
    wake: tokio::sync::Notify,
    /// Sinks whose last delivery failed, with the error (cleared by the next success).
    failing: std::sync::Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

/// The retry delay after `attempts` failures: base × 2^attempts, capped, with ±25 % jitter.
pub fn backoff(attempts: i64, seed: i64) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << attempts.clamp(0, 16));
    let d = exp.min(BACKOFF_CAP);
    // Jitter from the row id and attempt (deterministic, spreads rows apart).
    let spread =
        ((seed.wrapping_mul(2_654_435_761).wrapping_add(attempts)) & 0x3ff) as f64 / 1023.0;
    d.mul_f64(0.75 + 0.5 * spread)
}

impl Dispatcher {
    /// A dispatcher over `routes`.
    pub fn new(store: Arc<Store>, routes: Vec<Route>) -> Dispatcher {
        Dispatcher {
            store,
            routes,
            wake: tokio::sync::Notify::new(),
            failing: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// Sinks whose last delivery failed, with the error: their alerts wait in the outbox and
    /// are retried (`watch --once` reports them and exits 3).
    pub fn failing(&self) -> BTreeMap<String, String> {
        match self.failing.lock() {
            Ok(f) => f.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Remembers how `sink`'s last delivery went (and counts it for `/metrics`).
    fn set_failing(&self, sink: &str, error: Option<String>) {
        let outcome = if error.is_some() { "failed" } else { "sent" };
        crate::metrics::inc(
            "mimamori_alert_deliveries_total",
            &[("sink", sink), ("outcome", outcome)],
        );
        let mut f = match self.failing.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        match error {
            Some(e) => f.insert(sink.to_string(), e),
            None => f.remove(sink),
        };
    }

    /// Starts a delivery round now (call it after committing hits): [`Dispatcher::run`]
    /// otherwise looks at the outbox once a second.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// True when no sink is configured.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// One round at `now`: expand queued rows to the sinks, deliver what is due.
    pub async fn deliver(&self, now: DateTime<Utc>) -> Result<DeliveryStats, AlertError> {
        let mut stats = DeliveryStats::default();
        if self.routes.is_empty() {
            return Ok(stats);
        }
        let names: Vec<String> = self.routes.iter().map(|r| r.name.clone()).collect();
        let store = Arc::clone(&self.store);
        let due = blocking(move || {
            store.outbox_expand(&names, now)?;
            store.outbox_due(now, BATCH)
        })
        .await?;
        let mut per_sink: BTreeMap<&str, Vec<(OutboxRow, Hit)>> = BTreeMap::new();
        for row in due {
            let Some(route) = self.routes.iter().find(|r| r.name == row.sink) else {
                continue; // a sink removed from the config: its rows wait for it
            };
            let store = Arc::clone(&self.store);
            let id = row.hit_id;
            let Some(hit) = blocking(move || store.hit(id)).await? else {
                continue;
            };
            if !route.wants(&hit) {
                self.mark_sent(row.id, now).await?;
                stats.filtered += 1;
                continue;
            }
            per_sink
                .entry(route.name.as_str())
                .or_default()
                .push((row, hit));
        }
        for (name, rows) in per_sink {
            let Some(route) = self.routes.iter().find(|r| r.name == name) else {
                continue;
            };
            if let Some(every) = route.digest {
                let oldest = rows
                    .iter()
                    .filter_map(|(r, _)| DateTime::parse_from_rfc3339(&r.created_at).ok())
                    .min();
                let wait = chrono::Duration::from_std(every).unwrap_or_default();
                if oldest.is_some_and(|t| now - t.with_timezone(&Utc) < wait) {
                    continue;
                }
                let alerts: Vec<Alert> = rows.iter().map(|(r, h)| Alert::new(h, r)).collect();
                match route.sink.send(&alerts).await {
                    Ok(()) => {
                        for (r, _) in &rows {
                            self.mark_sent(r.id, now).await?;
                        }
                        stats.sent += rows.len() as u64;
                        self.set_failing(name, None);
                    }
                    Err(e) => {
                        tracing::warn!(sink = %name, error = %e, alerts = rows.len(), "digest failed; retrying later");
                        self.set_failing(name, Some(e.to_string()));
                        for (r, _) in &rows {
                            self.retry(r, now).await?;
                        }
                        stats.failed += rows.len() as u64;
                    }
                }
                continue;
            }
            for (row, hit) in &rows {
                let alert = Alert::new(hit, row);
                match route.sink.send(std::slice::from_ref(&alert)).await {
                    Ok(()) => {
                        self.mark_sent(row.id, now).await?;
                        stats.sent += 1;
                        self.set_failing(name, None);
                    }
                    Err(e) => {
                        tracing::warn!(sink = %name, hit = hit.id, attempts = row.attempts + 1, error = %e, "alert failed; retrying later");
                        self.set_failing(name, Some(e.to_string()));
                        self.retry(row, now).await?;
                        stats.failed += 1;
                    }
                }
            }
        }
        self.deliver_health(now, &mut stats).await?;
        Ok(stats)
    }

    /// Delivers the source-health events each operational sink has not accepted (events of
    /// the last [`HEALTH_WINDOW`] only: a sink added later is not sent old history).
    async fn deliver_health(
        &self,
        now: DateTime<Utc>,
        stats: &mut DeliveryStats,
    ) -> Result<(), AlertError> {
        let since = now - chrono::Duration::from_std(HEALTH_WINDOW).unwrap_or_default();
        for route in self.routes.iter().filter(|r| r.operational) {
            let (store, name) = (Arc::clone(&self.store), route.name.clone());
            let due = blocking(move || store.health_due(&name, since, now)).await?;
            for d in due {
                let alert = HealthAlert::new(&d.event, &route.name);
                let next = match route.sink.send_health(&alert).await {
                    Ok(()) => {
                        stats.sent += 1;
                        self.set_failing(&route.name, None);
                        None
                    }
                    Err(e) => {
                        tracing::warn!(sink = %route.name, source = %d.event.source_id, error = %e, "operational alert failed; retrying later");
                        self.set_failing(&route.name, Some(e.to_string()));
                        stats.failed += 1;
                        let wait = backoff(d.attempts, d.event.id);
                        Some(now + chrono::Duration::from_std(wait).unwrap_or_default())
                    }
                };
                let (store, name, id) = (Arc::clone(&self.store), route.name.clone(), d.event.id);
                blocking(move || store.health_delivered(id, &name, now, next)).await?;
            }
        }
        Ok(())
    }

    async fn mark_sent(&self, id: i64, now: DateTime<Utc>) -> Result<(), AlertError> {
        let store = Arc::clone(&self.store);
        blocking(move || store.outbox_sent(id, now)).await
    }

    async fn retry(&self, row: &OutboxRow, now: DateTime<Utc>) -> Result<(), AlertError> {
        let next =
            now + chrono::Duration::from_std(backoff(row.attempts, row.id)).unwrap_or_default();
        let (store, id) = (Arc::clone(&self.store), row.id);
        blocking(move || store.outbox_retry(id, next)).await
    }

    /// Delivers every second, and at once when woken ([`Dispatcher::wake`]), until `stop`
    /// turns true, then once more.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.deliver(Utc::now()).await {
                tracing::warn!(error = %e, "alert delivery round failed");
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = self.wake.notified() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        if let Err(e) = self.deliver(Utc::now()).await {
            tracing::warn!(error = %e, "last alert delivery round failed");
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, AlertError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(AlertError::Store(StoreError::Task(e.to_string()))),
    }
}

//! The 送付先 capture of new hits' sites: after a commit, the RDAP record of each hit's site is
//! asked in the background and kept as evidence, once per site per UTC day (and not at all
//! when the evidence directory already holds today's record).

use std::sync::Arc;

use chrono::Utc;

use super::Watcher;

impl Watcher {
    /// Keeps the RDAP record of each new hit's site (one per site per UTC day) as evidence,
    /// asked with `client` in the background after the commit (needs evidence).
    pub fn with_rdap(mut self, client: crate::rdap::Rdap) -> Watcher {
        self.rdap = Some((Arc::new(client), Arc::default()));
        self
    }

    /// Starts the background 送付先 capture of the site of `url`, unless asked today already.
    pub(super) fn capture_site(&self, url: &str) {
        let (Some(evidence), Some((client, asked))) = (&self.evidence, &self.rdap) else {
            return;
        };
        let Ok(query) = crate::evidence::sendto::query_of_url(url) else {
            return;
        };
        if query.unanswerable().is_some() {
            return;
        }
        let key = (query.subject(), Utc::now().format("%Y%m%d").to_string());
        if !asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone())
        {
            return;
        }
        let (evidence, client) = (Arc::clone(evidence), Arc::clone(client));
        tokio::spawn(async move {
            let subject = key.0;
            let kept = {
                let (evidence, subject) = (Arc::clone(&evidence), subject.clone());
                tokio::task::spawn_blocking(move || {
                    crate::evidence::sendto::kept_today(&evidence, &subject)
                })
                .await
            };
            if matches!(kept, Ok(Ok(Some(_)))) {
                return;
            }
            let answer = match client.lookup(&query).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::info!(site = %subject, error = %e, "no RDAP record kept for the site");
                    return;
                }
            };
            let saved = tokio::task::spawn_blocking(move || {
                crate::evidence::sendto::save_rdap(&evidence, &answer)
            })
            .await;
            match saved {
                Ok(Ok(e)) => tracing::debug!(site = %subject, path = %e.path, "RDAP record kept"),
                Ok(Err(e)) => {
                    tracing::warn!(site = %subject, error = %e, "cannot keep the RDAP record")
                }
                Err(e) => tracing::warn!(site = %subject, error = %e, "RDAP capture task failed"),
            }
        });
    }
}

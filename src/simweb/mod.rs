//! The simulated web: boards, a review site, a feed, a suggest API and SNS search served on
//! 127.0.0.1, with posts arriving over time from a seeded script, and fault modes per path.
//! `mimamori demo` and the integration tests run the real pipeline against it; nothing here
//! touches the internet.
//!
//! Each site is one module implementing [`SimSite`] (its own state and axum router) and is
//! served on its own port, so per-host pacing applies per site as it would on the real web.
//! The [`Script`] turns generated posts (the benchmark's seeded board-style generator, ~1 %
//! about the watched targets plus scripted hits) into arrivals; [`Faults`] wraps every router.

pub mod bluesky;
pub mod corpus;
pub mod faults;
pub mod fivech;
pub mod mastodon;
pub mod review;
pub mod rss;
pub mod shitaraba;
pub mod sitekit;
pub mod suggest;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::Watchlist;
use crate::simweb::corpus::{Generator, SplitMix64};
pub use faults::{Fault, FaultRule, Faults};

/// One post arriving on the simulated web.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPost {
    /// Arrival number (1, 2, …), unique across sites.
    pub seq: u64,
    /// Body text (one or more lines).
    pub text: String,
    /// Poster name.
    pub author: String,
    /// Poster ID or handle.
    pub author_id: String,
    /// Which thread / page / feed of the site (0-based, below `SimConfig::threads`).
    pub thread: usize,
    /// The watched target it is about, if any (for tests to check hits).
    pub target: Option<String>,
    /// Whether it was generated to be a hit (risky or leaking).
    pub risky: bool,
    /// When it arrived.
    pub at: DateTime<Utc>,
}

/// A site of the simulated web.
pub trait SimSite: Send + Sync + 'static {
    /// Short name (`5ch`, `shitaraba`, `review`, `rss`, `suggest`, `bluesky`, `mastodon`).
    fn name(&self) -> &'static str;
    /// The site's routes (its robots.txt included).
    fn router(self: Arc<Self>) -> axum::Router;
    /// A new post arrives on this site.
    fn add_post(&self, post: &SimPost);
    /// Deletes a post (a dat that shrinks, an entry removed from a feed); false if unsupported.
    fn delete_post(&self, _seq: u64) -> bool {
        false
    }
    /// The base URL a `[[source]]` should use for this site, given where it is served.
    fn source_url(&self, addr: SocketAddr) -> String;
    /// The source kind that reads it.
    fn source_kind(&self) -> &'static str;
}

/// Settings of a simulated web.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of the script: same seed, same posts.
    pub seed: u64,
    /// Threads (or pages, feeds) per board-like site.
    pub threads: usize,
    /// Posts created before the first poll.
    pub initial_posts: usize,
    /// Faults to inject, by site and path.
    pub faults: Faults,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 7,
            threads: 4,
            initial_posts: 40,
            faults: Faults::default(),
        }
    }
}

/// A running site.
#[derive(Clone)]
pub struct RunningSite {
    /// Its name.
    pub name: &'static str,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The base URL for a `[[source]]`.
    pub url: String,
    /// The source kind that reads it.
    pub kind: &'static str,
    site: Arc<dyn SimSite>,
}

/// Why the simulated web could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A port could not be bound.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    /// The script could not be built.
    #[error("simulated web script: {0}")]
    Script(String),
}

/// The running simulated web. Dropping it stops the servers.
pub struct SimWeb {
    /// The sites, with their addresses.
    pub sites: Vec<RunningSite>,
    script: Mutex<Script>,
    servers: Vec<JoinHandle<()>>,
}

impl Drop for SimWeb {
    fn drop(&mut self) {
        for s in &self.servers {
            s.abort();
        }
    }
}

impl SimWeb {
    /// Starts every given site on its own 127.0.0.1 port and creates the initial posts.
    pub async fn start(
        config: SimConfig,
        watchlist: &Watchlist,
        sites: Vec<Arc<dyn SimSite>>,
    ) -> Result<SimWeb, SimError> {
        let mut running = Vec::new();
        let mut servers = Vec::new();
        for site in sites {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(SimError::Bind)?;
            let addr = listener.local_addr().map_err(SimError::Bind)?;
            let router = config.faults.wrap(site.name(), site.clone().router());
            servers.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::warn!(error = %e, "simulated site stopped");
                }
            }));
            running.push(RunningSite {
                name: site.name(),
                addr,
                url: site.source_url(addr),
                kind: site.source_kind(),
                site,
            });
        }
        let script = Script::new(&config, watchlist)?;
        let web = SimWeb {
            sites: running,
            script: Mutex::new(script),
            servers,
        };
        web.advance(config.initial_posts);
        Ok(web)
    }

    /// Creates `n` new posts now, spread over the sites; returns them.
    pub fn advance(&self, n: usize) -> Vec<SimPost> {
        let mut script = match self.script.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let (site_index, post) = script.next(self.sites.len());
            if let Some(site) = self.sites.get(site_index) {
                site.site.add_post(&post);
            }
            out.push(post);
        }
        out
    }

    /// Adds a given post text to one site (tests and scripted hits).
    pub fn post_to(&self, site: &str, thread: usize, text: &str) -> Option<SimPost> {
        let mut script = match self.script.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let s = self.sites.iter().find(|s| s.name == site)?;
        let post = script.make(text.to_string(), thread, None, true);
        s.site.add_post(&post);
        Some(post)
    }

    /// Deletes a post on the site that holds it.
    pub fn delete(&self, seq: u64) -> bool {
        self.sites.iter().any(|s| s.site.delete_post(seq))
    }

    /// The running site with this name.
    pub fn site(&self, name: &str) -> Option<&RunningSite> {
        self.sites.iter().find(|s| s.name == name)
    }

    /// A TOML `[[source]]` block for every site, polling every `every`.
    pub fn sources_toml(&self, every: &str) -> String {
        self.sites
            .iter()
            .map(|s| {
                format!(
                    "[[source]]\nkind = \"{}\"\nurl = \"{}\"\nevery = \"{every}\"\n\n",
                    s.kind, s.url
                )
            })
            .collect()
    }

    /// Spawns a task that adds `per_tick` posts every `tick` until the web is dropped.
    pub fn run_script(self: &Arc<Self>, tick: Duration, per_tick: usize) -> JoinHandle<()> {
        let web = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            interval.tick().await;
            loop {
                interval.tick().await;
                match web.upgrade() {
                    Some(w) => {
                        w.advance(per_tick);
                    }
                    None => break,
                }
            }
        })
    }
}

/// The seeded arrival script.
pub struct Script {
    rng: SplitMix64,
    generator: Generator,
    target_ids: Vec<String>,
    threads: usize,
    seq: u64,
}

const AUTHORS: &[&str] = &[
    "名無しさん",
    "名無しさん@お腹いっぱい。",
    "風吹けば名無し",
    "匿名希望",
    "通りすがり",
];

impl Script {
    fn new(config: &SimConfig, watchlist: &Watchlist) -> Result<Self, SimError> {
        let generator =
            Generator::new(config.seed, watchlist).map_err(|e| SimError::Script(e.to_string()))?;
        Ok(Script {
            rng: SplitMix64::new(config.seed ^ 0x5EED),
            generator,
            target_ids: watchlist.targets.iter().map(|t| t.id.clone()).collect(),
            threads: config.threads.max(1),
            seq: 0,
        })
    }

    fn make(
        &mut self,
        text: String,
        thread: usize,
        target: Option<String>,
        risky: bool,
    ) -> SimPost {
        self.seq += 1;
        let author = AUTHORS[self.rng.below(AUTHORS.len())].to_string();
        let id: String = (0..8)
            .map(|_| {
                char::from(
                    b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789"
                        [self.rng.below(58)],
                )
            })
            .collect();
        SimPost {
            seq: self.seq,
            text,
            author,
            author_id: id,
            thread,
            target,
            risky,
            at: Utc::now(),
        }
    }

    /// The next post and the index of the site it goes to.
    fn next(&mut self, sites: usize) -> (usize, SimPost) {
        let g = self.generator.post();
        let thread = self.rng.below(self.threads);
        let target = g.target.and_then(|i| self.target_ids.get(i).cloned());
        let site = self.rng.below(sites.max(1));
        (site, self.make(g.text, thread, target, g.risky))
    }
}

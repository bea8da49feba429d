//! `mimamori watchlist hash VALUE --kind K` and `mimamori watchlist check FILE`.

use std::path::PathBuf;

use super::Outcome;
use mimamori::analyze::pii::{self, PiiKind, WatchedValue};
use mimamori::config::{self, TargetKind};

/// Watchlist subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the `sha256:` form of a personal value, to keep it out of the watchlist in clear.
    Hash {
        /// The value (phone, e-mail, address, My Number, card or bank account number).
        value: String,
        /// What it is.
        #[arg(long, value_enum)]
        kind: KindArg,
    },
    /// Validate a watchlist file or directory and print a summary (personal values masked).
    Check {
        /// File or directory (default: watchlists/).
        file: Option<PathBuf>,
    },
}

/// The personal-value kinds, as command-line words.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    Phone,
    Email,
    Address,
    MyNumber,
    Card,
    BankAccount,
}

impl From<KindArg> for PiiKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Phone => PiiKind::Phone,
            KindArg::Email => PiiKind::Email,
            KindArg::Address => PiiKind::Address,
            KindArg::MyNumber => PiiKind::MyNumber,
            KindArg::Card => PiiKind::CreditCard,
            KindArg::BankAccount => PiiKind::BankAccount,
        }
    }
}

pub fn run(cmd: &Command) -> anyhow::Result<Outcome> {
    match cmd {
        Command::Hash { value, kind } => {
            let kind = PiiKind::from(*kind);
            let normalized = pii::normalize_value(kind, value).map_err(|why| {
                anyhow::anyhow!(
                    "cannot hash {:?} as {}: {why}",
                    pii::mask(kind, value),
                    kind.as_str()
                )
            })?;
            outln!("sha256:{}", pii::hash_value(&normalized));
            Ok(Outcome::Ok)
        }
        Command::Check { file } => {
            let path = file.clone().unwrap_or_else(|| PathBuf::from("watchlists"));
            let wl = config::load(&path)?;
            outln!(
                "{}: ok — {} targets, {} sources",
                path.display(),
                wl.targets.len(),
                wl.sources.len()
            );
            for t in &wl.targets {
                let kind = match t.kind {
                    TargetKind::Business => "business",
                    TargetKind::Person => "person",
                };
                outln!("  {} ({kind}): names {}", t.id, t.names.join(" / "));
                if !t.aliases.is_empty() {
                    outln!("    aliases: {}", t.aliases.join(" / "));
                }
                if !t.readings.is_empty() {
                    outln!("    readings: {}", t.readings.join(" / "));
                }
                if !t.exclude.is_empty() {
                    outln!("    exclude: {}", t.exclude.join(" / "));
                }
                for p in &t.personal {
                    let shown = match &p.value {
                        WatchedValue::Clear(v) => pii::mask(p.kind, v),
                        WatchedValue::Hashed(h) => format!("sha256:{}…", &h[..8.min(h.len())]),
                    };
                    outln!("    {}: {shown}", p.kind.as_str());
                }
            }
            for s in &wl.sources {
                mimamori::sources::build(s)?;
                outln!(
                    "  source {} {} every {:?} ({})",
                    s.kind,
                    s.url,
                    s.every,
                    s.origin
                );
            }
            // The other tables are read by `watch`; check them here too, so a mistake is found
            // before the service starts.
            mimamori::watch::fetch_config(&wl)?;
            let shots = mimamori::evidence::screenshot::ShotConfig::from_watchlist(&wl)?;
            let recheck = mimamori::recheck::RecheckConfig::from_watchlist(&wl)?;
            mimamori::rdap::WhoisConfig::from_watchlist(&wl)?;
            for r in mimamori::alert::routes(&wl)? {
                outln!("  alert {}", r.name);
            }
            outln!(
                "  screenshots {}; re-checks {}",
                if shots.enabled { "on" } else { "off" },
                if recheck.enabled {
                    format!(
                        "every {} for {} days",
                        humantime(recheck.every),
                        recheck.for_days
                    )
                } else {
                    "off".to_string()
                }
            );
            Ok(Outcome::Ok)
        }
    }
}

/// `1d`, `6h`, `90m` or `45s`: the largest unit that divides `d`.
fn humantime(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= n && secs.is_multiple_of(n) {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

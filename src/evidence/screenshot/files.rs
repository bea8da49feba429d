//! Writing a capture: its files under `shots/<YYYYMMDD>/`, each create-new with one ledger
//! entry naming the hit, and finding a hit's entries again.

use chrono::{DateTime, Utc};

use super::stamp::{jst_time, png_size, utc_time};
use super::{
    Captured, KIND_META, KIND_NOTE, KIND_PDF, KIND_PNG, KIND_STAMPED, KINDS, SHOTS_DIR, ShotError,
    ShotTarget,
};
use crate::evidence::ledger::{Entry, NewEntry};
use crate::evidence::{Evidence, EvidenceError};

/// The base name of a hit's files captured at `at`: `shots/<YYYYMMDD>/hit-<id>-<time>`.
pub fn base_name(hit_id: i64, at: DateTime<Utc>) -> String {
    format!(
        "{SHOTS_DIR}/{}/hit-{hit_id}-{}",
        at.format("%Y%m%d"),
        at.format("%Y%m%dT%H%M%S%.3fZ")
    )
}

/// Writes a capture's PNG, stamped PNG, PDF and JSON description (create-new, one ledger
/// entry each). Blocking.
pub fn save(evidence: &Evidence, t: &ShotTarget, c: &Captured) -> Result<Vec<Entry>, ShotError> {
    let base = base_name(t.hit_id, c.captured_at);
    let entry = |kind: &str| NewEntry {
        captured_at: crate::model::timestamp(c.captured_at),
        kind: kind.to_string(),
        url: c.url.clone(),
        post_keys: vec![t.post_key.clone()],
        hit_id: Some(t.hit_id),
        ..NewEntry::default()
    };
    let mut out = Vec::new();
    let mut files = serde_json::Map::new();
    for (suffix, kind, bytes) in [
        (".png", KIND_PNG, &c.png),
        ("-stamped.png", KIND_STAMPED, &c.stamped),
        (".pdf", KIND_PDF, &c.pdf),
    ] {
        let e = evidence.add_file(&format!("{base}{suffix}"), bytes, entry(kind))?;
        let mut file = serde_json::json!({
            "path": e.path, "size": e.length, "sha256": e.sha256, "ledger_seq": e.seq,
        });
        if let Some((w, h)) = png_size(bytes) {
            file["width"] = w.into();
            file["height"] = h.into();
        }
        files.insert(kind.to_string(), file);
        out.push(e);
    }
    let mut meta = c.facts.clone();
    meta["software"] = format!("mimamori/{}", env!("CARGO_PKG_VERSION")).into();
    meta["files"] = files.into();
    let bytes = serde_json::to_vec_pretty(&meta).map_err(|e| EvidenceError::Json {
        what: "the screenshot description",
        source: e,
    })?;
    out.push(evidence.add_file(&format!("{base}.json"), &bytes, entry(KIND_META))?);
    Ok(out)
}

/// Writes the note that no screenshot of `t` was taken, and why (create-new, one ledger
/// entry). Blocking.
pub fn save_note(
    evidence: &Evidence,
    t: &ShotTarget,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Entry, ShotError> {
    let text = format!(
        "mimamori/{}\nスクリーンショット未取得 / no screenshot taken\nhit: {}\npost: {}\nurl: {}\nat: {} ({})\nreason: {}\n",
        env!("CARGO_PKG_VERSION"),
        t.hit_id,
        t.post_key,
        t.url,
        utc_time(at),
        jst_time(at),
        reason
    );
    Ok(evidence.add_file(
        &format!("{}.note.txt", base_name(t.hit_id, at)),
        text.as_bytes(),
        NewEntry {
            captured_at: crate::model::timestamp(at),
            kind: KIND_NOTE.into(),
            url: t.url.clone(),
            post_keys: vec![t.post_key.clone()],
            hit_id: Some(t.hit_id),
            ..NewEntry::default()
        },
    )?)
}

/// The ledger entries this module wrote for hit `hit_id`, in ledger order.
pub fn entries_of_hit(entries: &[Entry], hit_id: i64) -> Vec<&Entry> {
    entries
        .iter()
        .filter(|e| e.hit_id == Some(hit_id) && KINDS.contains(&e.kind.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::ledger;

    #[test]
    fn notes_and_files_are_written_once_with_the_hit_in_the_ledger() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ev = Evidence::open(dir.path()).expect("evidence");
        let t = ShotTarget {
            hit_id: 7,
            post_key: "5ch:a/1/2".into(),
            url: "http://127.0.0.1:1/test/read.cgi/a/1/2".into(),
            fallback_url: None,
        };
        let at = Utc::now();
        let e = save_note(&ev, &t, "Chromium not found", at).expect("note");
        assert_eq!(
            (e.kind.as_str(), e.hit_id, e.offset),
            (KIND_NOTE, Some(7), 0)
        );
        assert!(e.path.starts_with("shots/") && e.path.ends_with(".note.txt"));
        let again = save_note(&ev, &t, "again", at).expect_err("create-new");
        assert!(again.to_string().contains("never overwritten"), "{again}");
        let all = ledger::entries(ev.dir()).expect("ledger");
        assert_eq!(entries_of_hit(&all, 7).len(), 1);
        assert!(entries_of_hit(&all, 8).is_empty());
        let report = ledger::verify(ev.dir()).expect("verify");
        assert_eq!((report.entries, report.first_break), (1, None));
    }
}

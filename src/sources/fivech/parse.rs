//! Pure parsers of the 5ch formats (`subject.txt`, dat lines) and the differential-fetch
//! decision: what to do with a dat response given what the cursor asked for.

use super::board::{name_text, parse_date, split_title_count, trip};
use chrono::{DateTime, FixedOffset};

/// Keys at or above this are operator notices pinned to the top of `subject.txt`.
pub const NOTICE_KEY: u64 = 9_000_000_000;

/// One thread listed in `subject.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectEntry {
    /// Thread key (its creation time in Unix seconds, as digits).
    pub key: String,
    /// Title, entities decoded.
    pub title: String,
    /// Post count as listed.
    pub count: u64,
}

/// Parses a 5ch `subject.txt` (`<key>.dat<>title (n)` per line). Operator notices (keys
/// ≥ [`NOTICE_KEY`], or more than a year after `now_unix`) are skipped silently; malformed
/// lines are skipped with a note.
pub fn parse_subject(text: &str, now_unix: i64) -> (Vec<SubjectEntry>, Vec<String>) {
    let mut entries: Vec<SubjectEntry> = Vec::new();
    let mut notes = Vec::new();
    let future = u64::try_from(now_unix)
        .unwrap_or(0)
        .saturating_add(366 * 24 * 3600);
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = line.split_once("<>").and_then(|(file, rest)| {
            let key = file.strip_suffix(".dat")?;
            let n: u64 = key.parse().ok().filter(|_| (9..=10).contains(&key.len()))?;
            let (title, count) = split_title_count(rest)?;
            Some((
                n,
                SubjectEntry {
                    key: key.to_string(),
                    title,
                    count,
                },
            ))
        });
        match parsed {
            Some((n, _)) if n >= NOTICE_KEY || n > future => {}
            Some((_, e)) if entries.iter().any(|x| x.key == e.key) => {}
            Some((_, e)) => entries.push(e),
            None => notes.push(format!(
                "subject.txt line {}: not `<key>.dat<>title (n)`; skipped",
                i + 1
            )),
        }
    }
    (entries, notes)
}

/// One post parsed from a dat line.
#[derive(Debug, Clone, PartialEq)]
pub struct DatPost {
    /// Poster name as plain text.
    pub name: String,
    /// Mail field (`sage`).
    pub mail: String,
    /// The date part of the date field, as written (ID and BE removed).
    pub date_raw: String,
    /// The date parsed as JST.
    pub date: Option<DateTime<FixedOffset>>,
    /// `ID:xxxx` value, else the trip from the name.
    pub author_id: Option<String>,
    /// Body HTML as in the dat.
    pub body_html: String,
    /// Title (line 1 only), entities decoded.
    pub title: Option<String>,
}

/// What one dat line holds.
#[derive(Debug, Clone, PartialEq)]
pub enum DatLine {
    /// A post.
    Post(DatPost),
    /// A deleted post (`あぼーん<>あぼーん<>…`): its number is taken but it has no text.
    Deleted,
    /// The `Over 1000 Thread` line of a full thread: no more posts will come.
    Full,
    /// A line that could not be parsed (why); its number is still taken.
    Malformed(String),
}

/// Parses one dat line: `name<>mail<>date ID:xxx<>body<>title`, or the old comma format
/// `name,mail,date,body,title` where `＠｀` stands for a comma.
pub fn parse_dat_line(line: &str) -> DatLine {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields: Vec<String> = line.split("<>").map(str::to_string).collect();
    if fields.len() < 4 && !line.contains("<>") && line.matches(',').count() >= 3 {
        fields = line.split(',').map(|f| f.replace("＠｀", ",")).collect();
    }
    if fields.len() < 4 {
        let shown: String = line.chars().take(40).collect();
        return DatLine::Malformed(format!(
            "{} field(s) instead of 4–5: {shown:?}",
            fields.len()
        ));
    }
    let (name, mail, date_field, body) = (&fields[0], &fields[1], &fields[2], &fields[3]);
    if date_field.starts_with("Over ") && date_field.trim_end().ends_with("Thread") {
        return DatLine::Full;
    }
    if [name, mail, date_field, body]
        .iter()
        .filter(|f| f.trim() == "あぼーん")
        .count()
        >= 3
    {
        return DatLine::Deleted;
    }
    let (date_raw, id) = split_date_id(date_field);
    let name = name_text(name);
    let author_id = id.or_else(|| trip(&name));
    let title = fields
        .get(4)
        .map(|t| super::board::decode_entities(t.trim()))
        .filter(|t| !t.is_empty());
    DatLine::Post(DatPost {
        date: parse_date(&date_raw),
        name,
        mail: mail.clone(),
        date_raw,
        author_id,
        body_html: body.clone(),
        title,
    })
}

/// Splits `2024/01/15(月) 12:34:56.78 ID:AbCd1234 BE:123-2BP(1000)` into the date as written
/// and `ID:AbCd1234`.
pub fn split_date_id(field: &str) -> (String, Option<String>) {
    let field = field.trim();
    let (date, id) = match field.find("ID:") {
        Some(i) => {
            let id = field[i..]
                .split_whitespace()
                .next()
                .filter(|t| t.len() > 3)
                .map(str::to_string);
            (&field[..i], id)
        }
        None => (field, None),
    };
    let date = date.split(" BE:").next().unwrap_or(date);
    (date.trim().to_string(), id)
}

/// The complete lines of a dat body: the bytes up to and including the last `\n` (a trailing
/// partial line is left for the next fetch) and those bytes split into lines.
pub fn complete_lines(body: &[u8]) -> (usize, Vec<&[u8]>) {
    let Some(end) = body.iter().rposition(|&b| b == b'\n') else {
        return (0, Vec::new());
    };
    (end + 1, body[..end].split(|&b| b == b'\n').collect())
}

/// The `kako/` path of a thread gone to dat落ち, relative to the board:
/// `kako/<key[0..4]>/<key[0..5]>/<key>.dat` for 10-digit keys and `kako/<key[0..3]>/<key>.dat`
/// for the old 9-digit ones.
pub fn kako_path(key: &str) -> String {
    match (key.get(..4), key.get(..5), key.len()) {
        (Some(a), Some(b), 10) => format!("kako/{a}/{b}/{key}.dat"),
        _ => format!("kako/{}/{key}.dat", key.get(..3).unwrap_or(key)),
    }
}

/// What to do with a dat response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatAction {
    /// A 206 starting with `\n`: the bytes after it are new lines.
    Append,
    /// A 200 dat: the whole thread, replacing what we had.
    Replace,
    /// 304: nothing new.
    NotModified,
    /// The thread changed under us (206 not starting with `\n`, 416): fetch it whole.
    RefetchWhole,
    /// 301/302/303/307/308/404/410: the dat is gone (dat落ち).
    Gone,
    /// 403, or an HTML page instead of a dat: read the thread through read.cgi instead.
    UseReadCgi,
    /// Anything else: an error for this thread this poll.
    Unexpected(u16),
}

/// Decides what a dat response means. `ranged` says whether the request had
/// `Range: bytes=<len-1>-`; `body` is the response body.
pub fn decide(ranged: bool, status: u16, body: &[u8]) -> DatAction {
    match status {
        206 if ranged && body.first() == Some(&b'\n') => DatAction::Append,
        206 | 416 if ranged => DatAction::RefetchWhole,
        200 if looks_like_html(body) => DatAction::UseReadCgi,
        200 => DatAction::Replace,
        304 if ranged => DatAction::NotModified,
        301 | 302 | 303 | 307 | 308 | 404 | 410 => DatAction::Gone,
        403 => DatAction::UseReadCgi,
        other => DatAction::Unexpected(other),
    }
}

/// Whether a body is an HTML page (an error or login page served instead of a dat).
pub fn looks_like_html(body: &[u8]) -> bool {
    let head = &body[..body.len().min(512)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    lower.windows(9).any(|w| w == b"<!doctype") || lower.windows(5).any(|w| w == b"<html")
}

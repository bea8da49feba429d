//! The layering guard: every `crate::…` path in `src/**/*.rs` must point at the importing
//! module's own top-level module, at a module of a lower layer, or at a module listed before
//! it in its own group. Until the crate is split into a workspace (one crate per group below,
//! where Cargo forbids such arrows), this test is what keeps import cycles from coming back.
//!
//! Test code may import anything: `#[cfg(test)]` items and the files they declare are skipped.
//! The binary (`src/main.rs`, `src/cli/`) is the top layer and is not checked. Only `crate::`
//! paths are read: a `super::super::…` that climbed out of a top-level module would not be seen
//! (write `crate::…` instead).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::root;

/// The layers, bottom to top. Each layer holds groups (the future crates); a group lists its
/// modules bottom to top. A module may use its own module, any module of a lower layer, and the
/// modules listed before it in its group; never another group of its own layer.
const LAYERS: &[&[(&str, &[&str])]] = &[
    // 0. Text (normalization, readings, tokenizer, personal-value forms, HTML escaping),
    //    append-only files that survive a crash, and the process-wide metrics registry.
    &[
        ("text", &["text"]),
        ("durable", &["durable"]),
        ("metrics", &["metrics"]),
    ],
    // 1. Plain data shared by everyone, and the watchlist.
    &[("model", &["model", "config"])],
    // 2. Pure analysis, copy sketches, and the one HTTP client.
    &[
        ("analyze", &["analyze"]),
        ("spread", &["spread"]),
        ("fetch", &["fetch"]),
    ],
    // 3. One file per source kind behind the `Source` trait.
    &[("sources", &["sources"])],
    // 4. State.
    &[("store", &["store"])],
    // 5. What is built on the state: search, evidence and who to send it to.
    &[("index", &["index"]), ("evidence", &["rdap", "evidence"])],
    // 6. The service, and the simulated web it is tried against.
    &[
        ("service", &["recheck", "alert", "watch", "serve"]),
        ("simweb", &["simweb"]),
    ],
    // 7. Benchmarks, which drive all of the above.
    &[("bench", &["bench"])],
];

/// Where a top-level module sits: (layer, group, position in the group).
fn place(module: &str) -> Option<(usize, usize, usize)> {
    LAYERS.iter().enumerate().find_map(|(l, groups)| {
        groups.iter().enumerate().find_map(|(g, (_, modules))| {
            modules.iter().position(|m| *m == module).map(|p| (l, g, p))
        })
    })
}

/// Whether `from` may use `to` (both top-level modules).
fn allowed(from: (usize, usize, usize), to: (usize, usize, usize)) -> bool {
    to.0 < from.0 || (to.0 == from.0 && to.1 == from.1 && to.2 <= from.2)
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: cannot read: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Whether `c` can be part of an identifier.
fn ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The source with comments, string and char literals blanked out: every byte of them becomes
/// a space (newlines stay), so offsets and line numbers are those of the source.
fn code_only(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, c: char| {
        if c == '\n' {
            out.push('\n');
        } else {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                blank(&mut out, b[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && match i {
                0 => true,
                1 => !ident(b[0]) || b[0] == 'b',
                _ => !ident(b[i - 1]) || (b[i - 1] == 'b' && !ident(b[i - 2])),
            }
        {
            // A raw string: r"…", r#"…"#, br"…".
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let mut k = j + 1;
            loop {
                if k >= b.len() {
                    break;
                }
                if b[k] == '"' && (0..hashes).all(|h| b.get(k + 1 + h) == Some(&'#')) {
                    k += 1 + hashes;
                    break;
                }
                k += 1;
            }
            for &ch in &b[i..k.min(b.len())] {
                blank(&mut out, ch);
            }
            i = k;
        } else if c == '"' {
            blank(&mut out, c);
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    blank(&mut out, b[i]);
                    i += 1;
                }
                if i < b.len() {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
            if i < b.len() {
                blank(&mut out, b[i]);
                i += 1;
            }
        } else if c == '\'' && (b.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A char literal ('x', '\n', '\u{…}'); a lifetime has no closing quote.
            let mut k = i + 1;
            while k < b.len() && !(b[k] == '\'' && k > i + 1 && b[k - 1] != '\\') {
                k += 1;
            }
            if next == Some('\\') && b.get(i + 2) == Some(&'\\') {
                k = i + 3;
            }
            for &ch in &b[i..(k + 1).min(b.len())] {
                blank(&mut out, ch);
            }
            i = k + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// A module declared without a body under `#[cfg(test)]`: its file name, and whether a
/// `#[path]` gave it (then it is relative to the declaring file's directory).
struct TestFile {
    name: String,
    by_path: bool,
}

/// The byte ranges of `#[cfg(test)]` items in `code` (already [`code_only`] of `raw`), and the
/// modules among them declared without a body (`mod tests;`, `#[path = "x.rs"] mod tests;`).
fn test_items(code: &str, raw: &str) -> (Vec<std::ops::Range<usize>>, Vec<TestFile>) {
    let mut ranges = Vec::new();
    let mut files = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(test)]") {
        let start = from + at;
        let mut i = start + "#[cfg(test)]".len();
        let mut path_attr = None;
        // Further attributes (`#[path = "…"]`) before the item.
        loop {
            let rest = &code[i..];
            let trimmed = rest.trim_start();
            i += rest.len() - trimmed.len();
            if !trimmed.starts_with("#[") {
                break;
            }
            let end = i + trimmed.find(']').map_or(trimmed.len(), |e| e + 1);
            if let Some(p) = raw[i..end].strip_prefix("#[path") {
                path_attr = p.split('"').nth(1).map(str::to_string);
            }
            i = end;
        }
        let item = &code[i..];
        let end = match (item.find(';'), item.find('{')) {
            (Some(semi), brace) if brace.is_none_or(|b| semi < b) => {
                let decl = item[..semi].trim();
                let name = ["mod ", "pub mod ", "pub(crate) mod "]
                    .iter()
                    .find_map(|p| decl.strip_prefix(p));
                if let Some(name) = name {
                    files.push(match path_attr {
                        Some(p) => TestFile {
                            name: p,
                            by_path: true,
                        },
                        None => TestFile {
                            name: format!("{}.rs", name.trim()),
                            by_path: false,
                        },
                    });
                }
                i + semi + 1
            }
            (_, Some(brace)) => {
                let mut depth = 0;
                let mut end = code.len();
                for (k, ch) in code[i + brace..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = i + brace + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            _ => code.len(),
        };
        ranges.push(start..end);
        from = end.max(start + 1);
    }
    (ranges, files)
}

/// One `crate::…` path: its byte offset, the top-level module it names and the path as written.
/// `crate::{a, b::c}` gives one per top-level module named.
struct CratePath {
    offset: usize,
    module: String,
    written: String,
}

/// Every `crate::…` path in `code` (already [`code_only`]).
fn crate_paths(code: &str) -> Vec<CratePath> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at;
        from = start + "crate::".len();
        // `mycrate::…`, or `$crate::…` in a macro.
        if code[..start]
            .chars()
            .next_back()
            .is_some_and(|c| ident(c) || c == '$')
        {
            continue;
        }
        let rest = &code[from..];
        let modules: Vec<String> = match rest.strip_prefix('{') {
            Some(group) => {
                let mut depth = 1;
                let mut parts = vec![String::new()];
                for ch in group.chars() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => parts.push(String::new()),
                        _ if depth == 1 => parts.last_mut().expect("one part").push(ch),
                        _ => {}
                    }
                }
                parts
                    .iter()
                    .map(|p| p.split("::").next().unwrap_or("").trim().to_string())
                    .collect()
            }
            None => vec![rest.chars().take_while(|c| ident(*c)).collect()],
        };
        let written = path_as_written(&code[start..]);
        for module in modules {
            if !module.is_empty() && module != "self" {
                out.push(CratePath {
                    offset: start,
                    module,
                    written: written.clone(),
                });
            }
        }
    }
    out
}

/// The path at the start of `code`: `a::b::C`, or `a::{b, c::D}` with its group.
fn path_as_written(code: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in code.chars() {
        if c == '{' && (depth > 0 || out.ends_with("::")) {
            depth += 1;
        } else if c == '}' && depth > 0 {
            depth -= 1;
            if depth == 0 {
                out.push(c);
                break;
            }
        } else if depth == 0 && !(ident(c) || c == ':') {
            break;
        }
        out.push(c);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The top-level module a file under `src/` belongs to (`None` for the crate root and the
/// binary).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let first = file.strip_prefix(src).ok()?.components().next()?;
    let first = first.as_os_str().to_string_lossy();
    let module = first.strip_suffix(".rs").unwrap_or(&first);
    match module {
        "lib" | "main" | "cli" => None,
        m => Some(m.to_string()),
    }
}

/// The files that only tests compile: those declared under `#[cfg(test)]`, and everything in
/// their directories.
fn is_test_file(test_files: &BTreeSet<PathBuf>, file: &Path) -> bool {
    test_files
        .iter()
        .any(|t| file == t || file.starts_with(t.with_extension("")))
}

#[test]
fn modules_import_only_from_lower_layers() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut test_files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut parsed = Vec::new();
    for file in files {
        let raw = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: cannot read: {e}", file.display()));
        let code = code_only(&raw);
        let (ranges, declared) = test_items(&code, &raw);
        let here = file.parent().expect("a directory").to_path_buf();
        // `a/b.rs` declares its children in `a/b/`; `mod.rs` and `lib.rs` in their own directory.
        let children = match file.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs" | "lib.rs" | "main.rs") => here.clone(),
            _ => file.with_extension(""),
        };
        for t in declared {
            if t.by_path {
                test_files.insert(here.join(&t.name));
            } else {
                test_files.insert(children.join(&t.name));
                test_files.insert(children.join(t.name.trim_end_matches(".rs")).join("mod.rs"));
            }
        }
        parsed.push((file, code, ranges));
    }
    let mut errors = Vec::new();
    let mut unplaced = BTreeSet::new();
    for (file, code, ranges) in &parsed {
        let Some(module) = top_module(&src, file) else {
            continue;
        };
        if is_test_file(&test_files, file) {
            continue;
        }
        let Some(from) = place(&module) else {
            unplaced.insert(module);
            continue;
        };
        let shown = file.strip_prefix(root()).unwrap_or(file).display();
        for p in crate_paths(code) {
            if p.module == module || ranges.iter().any(|r| r.contains(&p.offset)) {
                continue;
            }
            let Some(to) = place(&p.module) else {
                unplaced.insert(p.module);
                continue;
            };
            if !allowed(from, to) {
                let line = code[..p.offset].matches('\n').count() + 1;
                errors.push(format!(
                    "{shown}:{line}: `{module}` (layer {}, {}) must not use `{}` (layer {}, {}): \
                     move what both need down to a lower layer",
                    from.0, LAYERS[from.0][from.1].0, p.written, to.0, LAYERS[to.0][to.1].0
                ));
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS in tests/layers.rs (add each to its layer): {unplaced:?}"
    );
    assert!(
        errors.is_empty(),
        "{} upward import(s):\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn the_guard_sees_paths_and_skips_comments_strings_and_tests() {
    let src = "use crate::a::B; // crate::zz\nfn f() { let s = \"crate::yy\"; crate::c::d(); }\n\
               use crate::{e::F, g};\nlet c = '\"'; let r = r#\"crate::xx\"#; $crate::w::v();\n\
               #[cfg(test)]\nmod tests { use crate::h::I; }\n";
    let code = code_only(src);
    assert_eq!(code.len(), src.len());
    let (ranges, files) = test_items(&code, src);
    let found: Vec<(usize, String)> = crate_paths(&code)
        .into_iter()
        .filter(|p| !ranges.iter().any(|r| r.contains(&p.offset)))
        .map(|p| (code[..p.offset].matches('\n').count() + 1, p.module))
        .collect();
    let want = [(1, "a"), (2, "c"), (3, "e"), (3, "g")];
    assert_eq!(found, want.map(|(l, m)| (l, m.to_string())), "in:\n{code}");
    assert!(files.is_empty());
    assert_eq!(
        path_as_written("crate::a::{b, c::D};"),
        "crate::a::{b, c::D}"
    );
    assert_eq!(path_as_written("crate::a::B { x: 1 }"), "crate::a::B");
    let decl = "#[cfg(test)]\n#[path = \"x_tests.rs\"]\nmod tests;\n";
    let (_, files) = test_items(&code_only(decl), decl);
    assert!(files.len() == 1 && files[0].name == "x_tests.rs" && files[0].by_path);
    assert!(allowed((2, 0, 0), (1, 0, 1)));
    assert!(allowed((1, 0, 1), (1, 0, 0)));
    assert!(!allowed((1, 0, 0), (1, 0, 1)));
    assert!(!allowed((2, 0, 0), (2, 1, 0)));
    assert!(!allowed((1, 0, 0), (2, 0, 0)));
}

//! Measuring the process around an ingest: its CPU time from `/proc/self/stat`, pinning it to
//! one CPU with `taskset`, and the size of an index on disk.

use std::path::Path;
use std::process::Command;

/// CPU seconds (user + system) used so far by this process, every thread (Linux only).
pub(super) fn process_cpu_seconds() -> Option<f64> {
    const TICKS: f64 = 100.0; // USER_HZ on Linux
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest: Vec<&str> = stat
        .get(stat.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    let ut: f64 = rest.get(11)?.parse().ok()?;
    let st: f64 = rest.get(12)?.parse().ok()?;
    Some((ut + st) / TICKS)
}

/// Bytes of the files under `dir`.
pub(super) fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// Pins every thread of this process (and so the threads it starts) to CPU 0 with
/// `taskset`; returns the previous mask, or why it could not.
pub(super) fn pin_to_one_cpu() -> Result<String, String> {
    let pid = std::process::id().to_string();
    let out = Command::new("taskset")
        .args(["-p", &pid])
        .output()
        .map_err(|e| format!("taskset: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mask = text
        .trim()
        .rsplit(' ')
        .next()
        .filter(|m| out.status.success() && !m.is_empty())
        .ok_or_else(|| format!("taskset -p: unexpected output {text:?}"))?
        .to_string();
    set_affinity(&pid, "1")?;
    Ok(mask)
}

/// Sets the CPU mask of every thread of process `pid` with `taskset`.
pub(super) fn set_affinity(pid: &str, mask: &str) -> Result<(), String> {
    let status = Command::new("taskset")
        .args(["-a", "-p", mask, pid])
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("taskset: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("taskset -a -p {mask} {pid} failed: {status}"))
    }
}

//! No browser outlives its owner. Each shooter's Chromium runs with a profile directory of its
//! own (`<tmp>/mimamori-chromium-*`) that holds the owner's pid (`owner.pid`). Closing or
//! dropping a shooter kills every process started with that profile — the browser and the
//! helpers it forked, which a kill of the browser alone can leave behind — and each launch
//! first sweeps browsers whose owner is gone (a `watch` killed with SIGKILL, or ended by a
//! second Ctrl-C before it could close them), removing their profiles.
//!
//! Processes are found by their command line in `/proc` (Linux); elsewhere this does nothing.

use std::path::{Path, PathBuf};

/// The prefix of a shooter's profile directory name.
pub const PROFILE_PREFIX: &str = "mimamori-chromium-";
/// The file in a profile holding the owner's pid.
const OWNER_FILE: &str = "owner.pid";

/// Writes this process's pid into `profile`, so a later sweep knows whose browser it is.
pub fn claim(profile: &Path) -> std::io::Result<()> {
    std::fs::write(profile.join(OWNER_FILE), std::process::id().to_string())
}

/// Kills every process whose command line gives `profile` as its `--user-data-dir`; returns
/// how many.
pub fn kill_profile(profile: &Path) -> usize {
    let flag = format!("--user-data-dir={}", profile.display());
    let pids: Vec<u32> = processes()
        .into_iter()
        .filter(|(_, args)| args.iter().any(|a| a == &flag))
        .map(|(pid, _)| pid)
        .collect();
    for pid in &pids {
        kill(*pid);
    }
    pids.len()
}

/// Kills the browsers of shooters whose owner process is gone and removes their profiles —
/// found both among running processes and in the temporary directory (a profile left by an
/// owner killed after its browser ended); returns how many processes were killed.
pub fn sweep() -> usize {
    let mut profiles: Vec<PathBuf> = Vec::new();
    for (_, args) in processes() {
        for a in &args {
            if let Some(dir) = a.strip_prefix("--user-data-dir=") {
                profiles.push(PathBuf::from(dir));
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) {
        profiles.extend(dir.flatten().map(|e| e.path()));
    }
    profiles.retain(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(PROFILE_PREFIX))
    });
    profiles.sort();
    profiles.dedup();
    let mut killed = 0;
    for profile in profiles {
        let owner = std::fs::read_to_string(profile.join(OWNER_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        // A profile without an owner file is being set up right now, or is not ours.
        if owner.is_none_or(alive) {
            continue;
        }
        let n = kill_profile(&profile);
        if n > 0 {
            tracing::warn!(profile = %profile.display(), processes = n, "killed a browser left behind by an earlier run");
        }
        killed += n;
        let _ = std::fs::remove_dir_all(&profile);
    }
    killed
}

/// Whether `pid` is a running mimamori process (not a reused pid of something else).
fn alive(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains("mimamori"))
        .unwrap_or(false)
}

/// Every process with its arguments (empty on systems without `/proc`).
fn processes() -> Vec<(u32, Vec<String>)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args = raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            Some((pid, args))
        })
        .collect()
}

/// SIGKILL to `pid` (through `kill(1)`: no unsafe code for a signal).
fn kill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in browser: a shell whose command line names a profile as Chromium's does.
    fn fake_browser(profile: &Path) -> std::process::Child {
        std::process::Command::new("sh")
            .arg("-c")
            .arg("sleep 30; true")
            .arg(format!("--user-data-dir={}", profile.display()))
            .spawn()
            .expect("spawn sh")
    }

    #[test]
    fn a_profile_kills_its_processes_and_a_sweep_only_the_orphans() {
        if !Path::new("/proc/self/cmdline").exists() {
            eprintln!("SKIPPED orphan test: no /proc on this system");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        // An orphan: its owner pid is not a running mimamori.
        let orphan = tmp.path().join(format!("{PROFILE_PREFIX}orphan"));
        std::fs::create_dir(&orphan).expect("dir");
        std::fs::write(orphan.join(OWNER_FILE), "999999999").expect("owner");
        // A live one: owned by this test process (its name contains "mimamori").
        let live = tmp.path().join(format!("{PROFILE_PREFIX}live"));
        std::fs::create_dir(&live).expect("dir");
        claim(&live).expect("claim");
        let mut a = fake_browser(&orphan);
        let mut b = fake_browser(&live);
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(sweep() >= 1);
        assert!(
            a.wait().expect("wait").code().is_none(),
            "the orphan was killed"
        );
        assert!(!orphan.exists(), "its profile removed");
        assert!(
            b.try_wait().expect("try_wait").is_none(),
            "the live one runs on"
        );
        assert_eq!(kill_profile(&live), 1);
        assert!(b.wait().expect("wait").code().is_none());
    }
}

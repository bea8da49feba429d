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

/// Kills every process whose command line names `profile` (the browser's
/// `--user-data-dir`, and helpers such as the crash handler that keep files in it); returns
/// how many.
pub fn kill_profile(profile: &Path) -> usize {
    let dir = profile.display().to_string();
    let names = |a: &String| {
        a.find(&dir).is_some_and(|at| {
            // The path itself or a file below it, not a longer sibling name.
            matches!(a[at + dir.len()..].chars().next(), None | Some('/'))
        })
    };
    let all = processes();
    let mut pids: Vec<u32> = all
        .iter()
        .filter(|(_, args)| args.iter().any(names))
        .map(|(pid, _)| *pid)
        .collect();
    // And their descendants: the network service and renderers do not name the profile, but
    // write into it until they notice the browser is gone.
    let parents: Vec<(u32, u32)> = all
        .iter()
        .filter_map(|(pid, _)| parent_of(*pid).map(|pp| (*pid, pp)))
        .collect();
    loop {
        let more: Vec<u32> = parents
            .iter()
            .filter(|(pid, pp)| pids.contains(pp) && !pids.contains(pid))
            .map(|(pid, _)| *pid)
            .collect();
        if more.is_empty() {
            break;
        }
        pids.extend(more);
    }
    for pid in &pids {
        kill(*pid);
    }
    // Until they are gone a dying process may still write into the profile.
    for _ in 0..40 {
        if pids.iter().all(|p| !running(*p)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    pids.len()
}

/// The parent pid of `pid` (`/proc/<pid>/stat`, the field after the state).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` exists and is not a zombie.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name in parentheses: `pid (comm) S …`.
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    })
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
        match owner {
            Some(pid) if alive(pid) => continue,
            Some(_) => {}
            // Without an owner file: being set up right now — or what a dying browser wrote
            // back after an earlier removal; left a minute, it is garbage.
            None => {
                let old = std::fs::metadata(&profile)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > std::time::Duration::from_secs(60));
                if !old {
                    continue;
                }
            }
        }
        let n = kill_profile(&profile);
        if n > 0 {
            tracing::warn!(profile = %profile.display(), processes = n, "killed a browser left behind by an earlier run");
        }
        killed += n;
        remove_profile(&profile);
    }
    killed
}

/// Removes a profile directory, again a few times while its killed processes finish dying.
fn remove_profile(profile: &Path) {
    for _ in 0..10 {
        if std::fs::remove_dir_all(profile).is_ok() || !profile.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    tracing::warn!(profile = %profile.display(), "cannot remove a left-behind browser profile");
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
        assert!(
            kill_profile(&live) >= 1,
            "the shell and the sleep it started"
        );
        assert!(b.wait().expect("wait").code().is_none());
    }
}

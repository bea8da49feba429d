//! The API against its own OpenAPI description: schemathesis (from PyPI; `.ci/run` installs
//! it) runs every check over every operation of a `mimamori serve` on a seeded data
//! directory — no 5xx, no answer outside the schema, schema-valid input accepted and
//! schema-violating input refused. The one documented exception is in
//! `tests/fixtures/schemathesis.toml`. Skipped, loudly, only when schemathesis is not
//! installed.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::serve::{seeded, start};
use crate::support::fixture;

/// Test cases per operation: enough for the coverage and fuzzing phases to reach every
/// parameter, few enough to finish in well under a minute.
const MAX_EXAMPLES: &str = "40";
/// Longest the run may take before the test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(300);

/// The schemathesis command on PATH, if it runs.
fn schemathesis() -> Option<&'static str> {
    ["schemathesis", "st"].into_iter().find(|cmd| {
        Command::new(cmd)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

#[test]
fn the_api_keeps_to_its_openapi_description() {
    let Some(cmd) = schemathesis() else {
        eprintln!(
            "SKIPPED the_api_keeps_to_its_openapi_description: schemathesis is not installed (python3 -m pip install schemathesis, or run .ci/run)"
        );
        return;
    };
    let dir = seeded();
    let server = start(dir.path(), &["--config", "wl.toml"]);
    let work = tempfile::tempdir().expect("tempdir");
    let config = fixture("schemathesis.toml");
    let mut child = Command::new(cmd)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/api/openapi.json", server.base)])
        .args([
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            "1",
        ])
        .args(["--workers", "1", "--request-timeout", "20"])
        .env("NO_COLOR", "1")
        .current_dir(work.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run schemathesis");
    // Read the output while it runs, so a long report cannot fill the pipe and stall it.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for schemathesis") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("schemathesis ran for more than {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stdout = stdout.join().expect("stdout");
    let stderr = stderr.join().expect("stderr");
    assert!(
        status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("Tested: 6") && stdout.contains("No issues found"),
        "not every operation was tested:\n{stdout}"
    );
}

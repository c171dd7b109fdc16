//! Browser tests: Node.js scripts in `tests/browser/` drive Debian's Chromium with
//! playwright-core, and print one `RESULT {json}` line; [`run_scenario`] runs one and returns
//! that JSON. `cargo xtask test` installs what they need (Chromium, the npm packages) and says
//! where they are: `BROWSER_TESTS_DIR`, `BROWSER_TESTS_CHROMIUM`. Screenshots go to
//! `target/screenshots/` ([`screenshots_dir`]). Missing tools fail a test, never skip it.
//!
//! These names stay out of `BELLHOP_*`: the server reads every such variable as a setting and
//! refuses unknown ones, and the servers these tests start inherit the environment.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a scenario may run before it is killed and its test fails.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// `tests/browser/`: the scripts and their npm packages.
pub fn scripts_dir() -> PathBuf {
    std::env::var_os("BROWSER_TESTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("browser"))
}

/// The browser the scenarios drive.
pub fn chromium() -> PathBuf {
    std::env::var_os("BROWSER_TESTS_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Where scenarios save screenshots: `BROWSER_TESTS_SCREENSHOTS`, else the workspace's
/// `target/screenshots/`.
pub fn screenshots_dir() -> PathBuf {
    std::env::var_os("BROWSER_TESTS_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_dir().join("target").join("screenshots"))
}

fn workspace_dir() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests.parent().unwrap_or(tests).to_path_buf()
}

/// Runs `node <scripts_dir>/<script>` with `env` added, its stderr passed through as it comes,
/// and returns the JSON of its `RESULT` line. Fails the test if a tool is missing, the script
/// exits non-zero, prints no `RESULT`, or runs longer than [`SCENARIO_TIMEOUT`].
pub fn run_scenario(script: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let dir = scripts_dir();
    let browser = chromium();
    assert!(
        browser.exists(),
        "Chromium is not at {} (set BROWSER_TESTS_CHROMIUM); `cargo xtask test` installs it",
        browser.display()
    );
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "the browser tests' npm packages are not installed in {}; `cargo xtask test` installs them",
        dir.display()
    );

    let mut child = Command::new("node")
        .arg(dir.join(script))
        .current_dir(&dir)
        .env("BROWSER_TESTS_CHROMIUM", &browser)
        .env("BROWSER_TESTS_SCREENSHOTS", screenshots_dir())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout ends the browser it started too.
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("running node (Node.js 20 must be installed): {e}"));

    // Both streams, as they came (for a failure's message); stdout alone (for the RESULT).
    let output = Arc::new(Mutex::new(String::new()));
    let results = Arc::new(Mutex::new(String::new()));
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let readers = [
        pass_through(
            stdout,
            script,
            Arc::clone(&output),
            Some(Arc::clone(&results)),
        ),
        pass_through(stderr, script, Arc::clone(&output), None),
    ];

    let status = wait_or_kill(&mut child, SCENARIO_TIMEOUT);
    for reader in readers {
        reader.join().expect("output reader");
    }
    let output = output.lock().expect("output").clone();
    let Some(status) = status else {
        panic!(
            "{script} ran longer than {SCENARIO_TIMEOUT:?} and was killed; its output:\n{output}"
        );
    };
    assert!(
        status.success(),
        "{script} failed ({status}); its output:\n{output}"
    );
    let results = results.lock().expect("stdout").clone();
    let line = results
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("{script} printed no RESULT line; its output:\n{output}"));
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{script}'s RESULT is not JSON ({e}): {line}"))
}

/// Copies each line of `stream` to the test's stderr and into `output`, prefixed with the
/// script's name, and as it is into `raw` if given.
fn pass_through(
    stream: impl std::io::Read + Send + 'static,
    script: &str,
    output: Arc<Mutex<String>>,
    raw: Option<Arc<Mutex<String>>>,
) -> std::thread::JoinHandle<()> {
    let prefix = format!("[{script}] ");
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            eprintln!("{prefix}{line}");
            output
                .lock()
                .expect("output")
                .push_str(&format!("{prefix}{line}\n"));
            if let Some(raw) = &raw {
                raw.lock().expect("stdout").push_str(&format!("{line}\n"));
            }
        }
    })
}

/// The child's exit status, or `None` after killing its process group at the deadline.
fn wait_or_kill(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for node") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs a browser scenario off the async runtime (the server and the agent's side keep
/// running meanwhile), prints its outcome and fails the test if the scenario did.
pub async fn scenario(
    backend: crate::Backend,
    script: &'static str,
    env: Vec<(&'static str, String)>,
) -> serde_json::Value {
    let outcome = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_scenario(script, &env)
    })
    .await
    .expect("the scenario");
    println!("{backend:?}: {outcome:#}");
    assert!(
        outcome["failure"].is_null(),
        "the scenario failed: {}",
        outcome["failure"]
    );
    outcome
}

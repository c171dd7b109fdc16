//! Project tasks, run as `cargo xtask <task>`:
//!
//! - `run [ARGS...]` — build the widget, then build and run the server (`bellhop serve
//!   ARGS...`) on embedded SQLite.
//! - `bench [ARGS...]` — the load generator against a release build (docs/benchmarks.md).
//! - `widget` — build the visitor's widget into `target/widget-dist/` (see [`widget`]).
//! - `console` — build the agent console into `target/console-dist/` (see [`console`]).
//! - `test` — everything CI checks: formatting, the Wasm build of the crates the browser runs
//!   (protocol, client core), the widget, clippy, the module docs' links, and every test (unit,
//!   property, store suite, black-box tests against SQLite and PostgreSQL, browser tests in
//!   Chromium).
//!
//! Tools a task needs (the Wasm target, the wasm-bindgen CLI, the npm tools, Chromium) are
//! installed when missing ([`tools`]). Each task prints the commands it runs, so any step can be
//! repeated by hand.

mod cmd;
mod console;
mod tools;
mod wasm_names;
mod widget;

use std::ffi::OsStr;
use std::process::ExitCode;

use cmd::{cargo, cargo_with_env};
use tools::WASM_TARGET;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench(&args[1..]),
        Some("widget") => widget::ensure_tools_and_build().map(drop),
        Some("console") => console::ensure_tools_and_build().map(drop),
        _ => {
            eprintln!(
                "usage: cargo xtask run [SERVE ARGS...] | cargo xtask test | cargo xtask widget \
                 | cargo xtask console | cargo xtask bench [ARGS...]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The product on embedded SQLite (`./bellhop.db`), release build, with the widget built
/// first (the server embeds it).
fn run(extra: &[String]) -> anyhow::Result<()> {
    let dist = widget::ensure_tools_and_build()?;
    let console = console::build()?;
    let mut args = vec![
        "run",
        "--release",
        "--package",
        "bellhop-server",
        "--bin",
        "bellhop",
        "--",
        "serve",
    ];
    // The demo shop page, on another port (another origin), unless the caller chose.
    if !extra.iter().any(|a| a.starts_with("--demo-host")) {
        args.extend(["--demo-host", "127.0.0.1:8081"]);
    }
    args.extend(extra.iter().map(String::as_str));
    cargo_with_env(
        &args,
        &[widget::dist_env(&dist), console::dist_env(&console)],
    )
}

/// The load generator against a release build of the server; prints figures beside their
/// baseline (see docs/benchmarks.md).
fn bench(extra: &[String]) -> anyhow::Result<()> {
    let dist = widget::ensure_tools_and_build()?;
    let console = console::build()?;
    cargo_with_env(
        &[
            "build",
            "--release",
            "--package",
            "bellhop-server",
            "--bin",
            "bellhop",
        ],
        &[widget::dist_env(&dist), console::dist_env(&console)],
    )?;
    let mut args = vec![
        "run",
        "--release",
        "--package",
        "bellhop-loadgen",
        "--",
        "--server",
        "target/release/bellhop",
    ];
    args.extend(extra.iter().map(String::as_str));
    cargo(&args)
}

fn test() -> anyhow::Result<()> {
    check_services();
    cargo(&["fmt", "--all", "--check"])?;
    // The protocol crate and the client core are shared with the Wasm widget and console:
    // they must build for Wasm.
    tools::ensure_wasm_target()?;
    cargo(&[
        "build",
        "--package",
        "bellhop-protocol",
        "--package",
        "bellhop-client",
        "--target",
        WASM_TARGET,
    ])?;
    tools::ensure_wasm_bindgen()?;
    tools::ensure_node_tools()?;
    tools::ensure_chromium()?;
    let dist = widget::build()?;
    let console = console::build()?;
    // Every cargo step sees the same widget and console folders, so the server is not rebuilt
    // between them.
    let dist_env = widget::dist_env(&dist);
    let console_env = console::dist_env(&console);
    cargo_with_env(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[dist_env, console_env],
    )?;
    // Module docs describe how the parts fit; a link that no longer resolves is a stale doc.
    cargo_with_env(
        &[
            "doc",
            "--no-deps",
            "--document-private-items",
            "--package",
            "bellhop-server",
            "--package",
            "bellhop-protocol",
            "--package",
            "bellhop-client",
        ],
        &[
            (
                "RUSTDOCFLAGS",
                OsStr::new("-D warnings -A rustdoc::private_intra_doc_links"),
            ),
            dist_env,
            console_env,
        ],
    )?;
    let browser = tools::browser_dir();
    cargo_with_env(
        &["test", "--workspace", "--all-targets"],
        &[
            dist_env,
            console_env,
            ("BROWSER_TESTS_DIR", browser.as_os_str()),
            ("BROWSER_TESTS_CHROMIUM", OsStr::new(tools::CHROMIUM)),
        ],
    )
}

/// Says early, and how to fix it, when a service the tests need is down. The tests themselves
/// also fail (never skip) without them.
fn check_services() {
    let postgres = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let address = host_port(&postgres, 5432);
    if std::net::TcpStream::connect(&address).is_err() {
        eprintln!(
            "warning: PostgreSQL is not reachable at {address}; the PostgreSQL tests will fail. \
             Start it (e.g. `pg_ctlcluster 15 main start`) or set TEST_DATABASE_URL."
        );
    }
}

/// `host:port` of a URL like `scheme://user@host:port/db`.
fn host_port(url: &str, default_port: u16) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:{default_port}")
    }
}

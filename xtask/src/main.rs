//! Project tasks, run as `cargo xtask <task>`:
//!
//! - `run [ARGS...]` — build and run the server (`bellhop serve ARGS...`) on embedded SQLite.
//! - `bench [ARGS...]` — the load generator against a release build (docs/benchmarks.md).
//! - `test` — everything CI checks: formatting, the Wasm build of the crates the browser runs
//!   (protocol, client core), clippy, the module docs' links, and every test (unit, property,
//!   store suite and black-box tests against SQLite and PostgreSQL).
//!
//! Each task prints the commands it runs, so any step can be repeated by hand.

use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask run [SERVE ARGS...] | cargo xtask test | cargo xtask bench [ARGS...]"
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

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    cargo_with_env(args, &[])
}

fn cargo_with_env(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v:?} ")).collect();
    eprintln!("+ {}cargo {}", shown.concat(), args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("running {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The product on embedded SQLite (`./bellhop.db`), release build.
fn run(extra: &[String]) -> anyhow::Result<()> {
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
    args.extend(extra.iter().map(String::as_str));
    cargo(&args)
}

/// The load generator against a release build of the server; prints figures beside their
/// baseline (see docs/benchmarks.md).
fn bench(extra: &[String]) -> anyhow::Result<()> {
    cargo(&[
        "build",
        "--release",
        "--package",
        "bellhop-server",
        "--bin",
        "bellhop",
    ])?;
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
    ensure_wasm_target()?;
    cargo(&[
        "build",
        "--package",
        "bellhop-protocol",
        "--package",
        "bellhop-client",
        "--target",
        WASM_TARGET,
    ])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
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
        &[(
            "RUSTDOCFLAGS",
            "-D warnings -A rustdoc::private_intra_doc_links",
        )],
    )?;
    cargo(&["test", "--workspace", "--all-targets"])
}

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Installs the Wasm target with rustup when it is missing (fresh machines lack it).
fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|t| t.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    eprintln!("+ rustup target add {WASM_TARGET}");
    let status = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .status()
        .context("running rustup")?;
    if !status.success() {
        bail!("`rustup target add {WASM_TARGET}` failed ({status})");
    }
    Ok(())
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

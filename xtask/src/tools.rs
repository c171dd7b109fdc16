//! The tools the widget build and the browser tests need, installed when missing and left
//! alone when present, so a fresh clone on a fresh machine needs nothing but Rust, Node.js and
//! (for Chromium) root:
//!
//! - the Wasm target, with `rustup`;
//! - the wasm-bindgen CLI, exactly the version of the `wasm-bindgen` crate in `Cargo.lock`,
//!   with `cargo install` into `target/tools/`;
//! - binaryen's `wasm-opt`, terser, playwright-core and axe-core, pinned in `tests/browser/package.json`
//!   and installed with `npm` into `tests/browser/node_modules/`;
//! - Chromium, Debian's package, with `apt-get`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cmd::{self, root, target_dir};

pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Where the browser tests and the browser drive them expect Chromium (Debian's package).
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";

/// The npm packages `tests/browser/package.json` pins.
const NODE_TOOLS: [&str; 4] = ["binaryen", "terser", "playwright-core", "axe-core"];

/// Installs the Wasm target with rustup when it is missing (fresh machines lack it).
pub(crate) fn ensure_wasm_target() -> anyhow::Result<()> {
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
    cmd::run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// The wasm-bindgen CLI the widget build runs.
pub(crate) fn wasm_bindgen() -> PathBuf {
    tools_dir().join("bin").join("wasm-bindgen")
}

fn tools_dir() -> PathBuf {
    target_dir().join("tools")
}

/// Installs the wasm-bindgen CLI into `target/tools/` unless the one there already has the
/// version of the `wasm-bindgen` crate in `Cargo.lock` (they must match exactly).
pub(crate) fn ensure_wasm_bindgen() -> anyhow::Result<()> {
    let lock_path = root().join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .with_context(|| format!("reading {}", lock_path.display()))?;
    let version = locked_version(&lock, "wasm-bindgen")?;
    let wanted = format!("wasm-bindgen {version}");
    let installed = Command::new(wasm_bindgen()).arg("--version").output();
    if let Ok(out) = &installed
        && out.status.success()
        && String::from_utf8_lossy(&out.stdout).trim() == wanted
    {
        return Ok(());
    }
    // Not `--locked`: the CLI's own lockfile can name crate versions a registry mirror lacks;
    // a fresh resolution within its semver ranges builds the same tool.
    cmd::run_timed(
        &format!("installing wasm-bindgen-cli {version}"),
        Command::new(cmd::cargo_program())
            .args([
                "install",
                "wasm-bindgen-cli",
                "--version",
                &version,
                "--root",
            ])
            .arg(tools_dir()),
    )
}

/// The one version of `package` in a `Cargo.lock`.
fn locked_version(lock: &str, package: &str) -> anyhow::Result<String> {
    let mut versions = Vec::new();
    let mut in_package = false;
    for line in lock.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = false;
        } else if line == format!("name = \"{package}\"") {
            in_package = true;
        } else if in_package && let Some(rest) = line.strip_prefix("version = \"") {
            versions.push(rest.trim_end_matches('"').to_owned());
            in_package = false;
        }
    }
    match versions.as_slice() {
        [version] => Ok(version.clone()),
        [] => bail!("Cargo.lock has no `{package}` package"),
        several => bail!("Cargo.lock has several `{package}` versions: {several:?}"),
    }
}

/// `tests/browser/`: the pinned npm tools and the browser-test scripts.
pub(crate) fn browser_dir() -> PathBuf {
    root().join("tests").join("browser")
}

/// binaryen's `wasm-opt`, from npm.
pub(crate) fn wasm_opt() -> PathBuf {
    browser_dir()
        .join("node_modules")
        .join(".bin")
        .join("wasm-opt")
}

/// terser, the JavaScript minifier, from npm.
pub(crate) fn terser() -> PathBuf {
    browser_dir()
        .join("node_modules")
        .join(".bin")
        .join("terser")
}

/// Runs `npm install` in `tests/browser/` unless every pinned package is installed at its
/// pinned version.
pub(crate) fn ensure_node_tools() -> anyhow::Result<()> {
    let dir = browser_dir();
    let pinned = read_json(&dir.join("package.json"))?;
    let mut missing = Vec::new();
    for name in NODE_TOOLS {
        let wanted = pinned["dependencies"][name]
            .as_str()
            .with_context(|| format!("tests/browser/package.json does not pin {name}"))?;
        let installed = read_json(&dir.join("node_modules").join(name).join("package.json"))
            .ok()
            .and_then(|p| p["version"].as_str().map(str::to_owned));
        if installed.as_deref() != Some(wanted) {
            missing.push(format!("{name}@{wanted}"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: npm tools missing or not at their pinned version: {missing:?}");
    cmd::run_timed(
        "npm install",
        Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&dir)
            .args(["--no-audit", "--no-fund"]),
    )
    .context("installing the npm tools (Node.js 20 and npm must be installed)")
}

fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Installs Debian's Chromium with apt-get when it is missing (needs root).
pub(crate) fn ensure_chromium() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    if uid != "0" {
        bail!(
            "Chromium is missing ({CHROMIUM}) and installing it needs root: run \
             `apt-get update && apt-get install -y chromium` as root, then this again"
        );
    }
    cmd::run_timed("apt-get update", Command::new("apt-get").arg("update"))?;
    cmd::run_timed(
        "installing Chromium",
        Command::new("apt-get")
            .args(["install", "-y", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    if !Path::new(CHROMIUM).exists() {
        bail!("apt-get installed chromium but {CHROMIUM} is still missing");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::locked_version;

    #[test]
    fn reads_the_locked_version() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n\
                    \n[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").ok().as_deref(),
            Some("0.2.130")
        );
        assert!(locked_version(lock, "js-sys").is_err());
    }
}

//! Running commands the way every task does: print the command, run it, fail on a non-zero
//! exit. Paths the tasks share.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

/// The workspace root (the folder of the top-level `Cargo.toml`).
pub(crate) fn root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// Cargo's target folder: `CARGO_TARGET_DIR` if set, else `target/` in the workspace.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir().map_or(dir.clone(), |cwd| cwd.join(dir))
            }
        }
        _ => root().join("target"),
    }
}

/// The cargo that runs this task (so a `rustup` override carries over).
pub(crate) fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub(crate) fn cargo(args: &[&str]) -> anyhow::Result<()> {
    cargo_with_env(args, &[])
}

pub(crate) fn cargo_with_env(args: &[&str], env: &[(&str, &OsStr)]) -> anyhow::Result<()> {
    run(Command::new(cargo_program())
        .args(args)
        .envs(env.iter().copied()))
}

/// Prints `cmd` (with the environment it sets) and runs it; an error if it fails.
pub(crate) fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = show(cmd);
    eprintln!("+ {shown}");
    let status = cmd.status().with_context(|| format!("running `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Like [`run`], then says how long it took: for the one-off installs.
pub(crate) fn run_timed(what: &str, cmd: &mut Command) -> anyhow::Result<()> {
    let started = Instant::now();
    run(cmd)?;
    eprintln!(
        "xtask: {what} took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cmd` as it could be typed in a shell.
fn show(cmd: &Command) -> String {
    let mut words = Vec::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            words.push(format!(
                "{}={}",
                key.to_string_lossy(),
                quote(&value.to_string_lossy())
            ));
        }
    }
    let program = cmd.get_program();
    if program == OsStr::new(&cargo_program()) {
        words.push("cargo".into());
    } else {
        words.push(quote(&program.to_string_lossy()));
    }
    words.extend(cmd.get_args().map(|arg| quote(&arg.to_string_lossy())));
    words.join(" ")
}

fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

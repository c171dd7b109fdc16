//! Embeds the built widget (`cargo xtask widget` writes it to `target/widget-dist`, or where
//! `WIDGET_DIST_DIR` says) and the built agent console (`cargo xtask console`:
//! `target/console-dist`, or `CONSOLE_DIST_DIR`) into the server binary, each file with a
//! gzipped copy, so one binary serves the whole product. Without them the server still
//! builds; their paths then answer that they were not built.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    embed("WIDGET_DIST_DIR", "widget-dist", "ASSETS", "assets.rs");
    embed(
        "CONSOLE_DIST_DIR",
        "console-dist",
        "CONSOLE_ASSETS",
        "console_assets.rs",
    );
}

/// Writes `OUT_DIR/out_file` with `static NAME: &[Asset]`: every file of the folder that the
/// environment variable `env` names (default `target/<default_dir>`).
fn embed(env: &str, default_dir: &str, name: &str, out_file: &str) {
    println!("cargo:rerun-if-env-changed={env}");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir.join("../target").join(default_dir));
    // Watching a folder that does not exist would rebuild the server every time.
    let _ = std::fs::create_dir_all(&dist);
    println!("cargo:rerun-if-changed={}", dist.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let mut code = format!("pub(crate) static {name}: &[Asset] = &[\n");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dist)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for path in &files {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // `NAME.gz` beside an asset is its gzipped copy (the widget build writes them with
        // Zopfli, and its size budget counts them): served as it is.
        if name.ends_with(".gz") {
            continue;
        }
        let Ok(body) = std::fs::read(path) else {
            continue;
        };
        let built = path.with_file_name(format!("{name}.gz"));
        let gz = if files.contains(&built) {
            built
        } else {
            let gz = out.join(format!("{name}.gz"));
            write_gzip(&gz, &body);
            gz
        };
        let _ = writeln!(
            code,
            "    Asset {{ name: {name:?}, body: include_bytes!({:?}), gzip: include_bytes!({:?}) }},",
            absolute(path),
            absolute(&gz),
        );
    }
    code.push_str("];\n");
    let _ = std::fs::write(out.join(out_file), code);
}

fn write_gzip(path: &Path, body: &[u8]) {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = encoder.write_all(body);
    let _ = std::fs::write(path, encoder.finish().unwrap_or_default());
}

fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

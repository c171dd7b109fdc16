//! The widget's size budget, from the manifest `cargo xtask widget` writes: what a visitor
//! downloads is counted in gzip bytes, deterministically (no timing).

use std::path::{Path, PathBuf};

/// The loader every page of a site loads, whether or not the visitor chats.
const LOADER_GZIP_BUDGET: u64 = 6 * 1024;
/// Everything fetched to open the chat: loader, panel page, module, glue and styles.
const OPEN_CHAT_GZIP_BUDGET: u64 = 60 * 1024;
/// (asset, whether every build has it): the panel's page and styles are optional in the build.
const OPEN_CHAT: [(&str, bool); 5] = [
    ("widget.js", true),
    ("panel.html", false),
    ("panel.wasm", true),
    ("panel.js", true),
    ("panel.css", false),
];

fn dist_dir() -> PathBuf {
    std::env::var_os("WIDGET_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
            tests.parent().unwrap_or(tests).join("target/widget-dist")
        })
}

fn gzip_bytes(manifest: &serde_json::Value, asset: &str, required: bool) -> u64 {
    match manifest.get(asset) {
        None if !required => 0,
        entry => entry
            .and_then(|entry| entry["gzip_bytes"].as_u64())
            .unwrap_or_else(|| panic!("manifest.json has no gzip size for {asset}: {manifest}")),
    }
}

#[test]
fn widget_fits_its_size_budget() {
    let path = dist_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {} ({e}): build the widget first with `cargo xtask widget` \
             (`cargo xtask test` does)",
            path.display()
        )
    });
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest.json is JSON");

    let loader = gzip_bytes(&manifest, "widget.js", true);
    assert!(
        loader <= LOADER_GZIP_BUDGET,
        "the loader is {loader} bytes gzipped, over its budget of {LOADER_GZIP_BUDGET}"
    );
    let sizes: Vec<(&str, u64)> = OPEN_CHAT
        .iter()
        .map(|&(asset, required)| (asset, gzip_bytes(&manifest, asset, required)))
        .collect();
    let total: u64 = sizes.iter().map(|(_, size)| size).sum();
    assert!(
        total <= OPEN_CHAT_GZIP_BUDGET,
        "opening the chat downloads {total} bytes gzipped, over its budget of \
         {OPEN_CHAT_GZIP_BUDGET}: {sizes:?}"
    );
}

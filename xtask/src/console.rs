//! `cargo xtask console`: the agent console, built into `target/console-dist/`, which the
//! server embeds and serves at `/console/`.
//!
//! 1. `bellhop-console` for wasm32 with the size profile (`wasm-release`);
//! 2. `wasm-bindgen --target web` writes the glue and the module into `target/console-build/`;
//! 3. binaryen's `wasm-opt -Oz` shrinks the module (the widget's flags);
//! 4. terser minifies the glue, which gets a call of its init function appended, so the page
//!    starts the app with a plain `<script type="module" src>` (no inline script: the page's
//!    content policy allows none);
//! 5. the dist folder gets the assets under content-hashed names (`console-<hash8>.wasm`,
//!    `.js`, `.css`; cached forever), `index.html` with `{{CONSOLE_JS}}`, `{{CONSOLE_CSS}}` and
//!    `{{CONSOLE_WASM}}` replaced, a Zopfli `.gz` beside each, and `manifest.json`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::cmd::{root, target_dir};
use crate::tools;
use crate::widget::{Manifest, compile_module, hashed, minify, optional, read, recreate};

/// What a first visit to the console downloads: what its size budget counts.
pub(crate) const FIRST_LOAD: [&str; 4] =
    ["index.html", "console.js", "console.wasm", "console.css"];

pub(crate) fn dist_dir() -> PathBuf {
    target_dir().join("console-dist")
}

/// Installs what the build needs, if missing, then builds the console.
pub(crate) fn ensure_tools_and_build() -> anyhow::Result<PathBuf> {
    tools::ensure_wasm_target()?;
    tools::ensure_wasm_bindgen()?;
    tools::ensure_node_tools()?;
    build()
}

pub(crate) fn build() -> anyhow::Result<PathBuf> {
    // `erase_components`: Leptos type-erases every component's view, so each view's rendering
    // code is not stamped out again for every distinct nesting of types.
    let (build, optimized) = compile_module(
        "bellhop-console",
        "console",
        "console-build",
        &["--cfg", "erase_components"],
    )?;

    let dist = dist_dir();
    recreate(&dist)?;
    let mut manifest = Manifest::default();
    let wasm = read(&optimized)?;
    let wasm_name = hashed("console", "wasm", &wasm);
    manifest.write(&dist, "console.wasm", wasm_name.clone(), &wasm)?;

    let glue = String::from_utf8(read(&build.join("console.js"))?)
        .context("wasm-bindgen's glue is not UTF-8")?;
    if glue.matches("console_bg.wasm").count() != 1 || !glue.contains("__wbg_init as default") {
        bail!(
            "wasm-bindgen's glue changed shape (one reference to console_bg.wasm and an \
             exported __wbg_init expected): update the console build"
        );
    }
    let mut glue = glue.replace("console_bg.wasm", &wasm_name);
    glue.push_str("__wbg_init();\n");
    let glue = minify(&build, "console", glue.as_bytes(), true)?;
    let glue_name = hashed("console", "js", &glue);
    manifest.write(&dist, "console.js", glue_name.clone(), &glue)?;

    let source = root().join("agent-console/static");
    let css = read(&source.join("console.css"))?;
    let css_name = hashed("console", "css", &css);
    manifest.write(&dist, "console.css", css_name.clone(), &css)?;
    let html = optional(&source.join("index.html"))?
        .context("agent-console/static/index.html is missing")?;
    let html = String::from_utf8(html)
        .context("index.html is not UTF-8")?
        .replace("{{CONSOLE_JS}}", &glue_name)
        .replace("{{CONSOLE_CSS}}", &css_name)
        .replace("{{CONSOLE_WASM}}", &wasm_name);
    manifest.write(&dist, "index.html", "index.html".into(), html.as_bytes())?;

    let json = serde_json::to_string_pretty(&manifest.to_json())?;
    std::fs::write(dist.join("manifest.json"), json + "\n").context("writing manifest.json")?;
    manifest.print_total(&FIRST_LOAD, "first load");
    eprintln!("xtask: console built into {}", dist.display());
    Ok(dist)
}

/// `CONSOLE_DIST_DIR=<dist>`: where the server's build finds the built console.
pub(crate) fn dist_env(dist: &Path) -> (&'static str, &OsStr) {
    ("CONSOLE_DIST_DIR", dist.as_os_str())
}

//! `cargo xtask widget`: the visitor's widget, built into `target/widget-dist/`, which the
//! server embeds.
//!
//! 1. `bellhop-widget` for wasm32 with the size profile (`wasm-release`), dependencies' file
//!    paths made independent of the machine ([`remap_flags`]);
//! 2. `wasm-bindgen --target web` writes the ES-module glue and the module into
//!    `target/widget-build/`;
//! 3. binaryen's `wasm-opt -Oz` (npm's, see [`WASM_OPT_FLAGS`]) shrinks the module;
//! 4. the module's imports and exports get short names in it and in the glue
//!    ([`wasm_names`](crate::wasm_names)), and terser minifies the glue ([`minify`]);
//! 5. the dist folder gets the loader (`widget.js`, a stable name: sites paste its URL)
//!    minified by terser,
//!    the panel's assets under content-hashed names (`panel-<hash8>.wasm`, `.js`, `.css`, so
//!    they can be cached forever; the `.js` is the glue, starting the panel when loaded),
//!    `panel.html` with `{{PANEL_JS}}`, `{{PANEL_CSS}}` and `{{PANEL_WASM}}` replaced by those
//!    names, and `manifest.json`: each logical name with its file name, raw and gzip bytes.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::cmd::{self, root, target_dir};
use crate::tools::{self, WASM_TARGET};
use crate::wasm_names;

/// `-Oz` and the Wasm features rustc's wasm32 output uses: the ones LLVM enables by default,
/// as the module's `target_features` section lists them. wasm-opt reads that section when it
/// is there; naming them keeps the build right if a tool ever drops it, since without them
/// wasm-opt refuses the module (the code has bulk-memory instructions, and wasm-bindgen's
/// externref table needs reference types). Every current browser has all of them. After
/// optimising, the two custom sections no browser reads (the toolchain's `producers` and
/// `target_features`) are dropped: they are a few hundred bytes of every download.
pub(crate) const WASM_OPT_FLAGS: &[&str] = &[
    "-Oz",
    "--strip-producers",
    "--strip-target-features",
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-call-indirect-overlong",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
];

/// The built widget: `target/widget-dist/`.
pub(crate) fn dist_dir() -> PathBuf {
    target_dir().join("widget-dist")
}

/// Installs what the build needs, if missing, then builds the widget.
pub(crate) fn ensure_tools_and_build() -> anyhow::Result<PathBuf> {
    tools::ensure_wasm_target()?;
    tools::ensure_wasm_bindgen()?;
    tools::ensure_node_tools()?;
    build()
}

/// A Wasm package built for the browser: `package` compiled with the size profile (and
/// `rustflags` besides the path remapping), bound by wasm-bindgen as `out_name` into
/// `target/<build_dir>/` (recreated), and optimised by wasm-opt. Returns that folder and the
/// optimised module's path; the glue is `<out_name>.js` in the folder.
pub(crate) fn compile_module(
    package: &str,
    out_name: &str,
    build_dir: &str,
    rustflags: &[&str],
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let mut flags = vec![remap_flags()];
    flags.extend(rustflags.iter().map(|f| (*f).to_owned()));
    flags.retain(|f| !f.is_empty());
    let flags = flags.join("\x1f");
    cmd::cargo_with_env(
        &[
            "build",
            "--package",
            package,
            "--target",
            WASM_TARGET,
            "--profile",
            "wasm-release",
        ],
        &[("CARGO_ENCODED_RUSTFLAGS", OsStr::new(&flags))],
    )?;
    let compiled = target_dir()
        .join(WASM_TARGET)
        .join("wasm-release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    let build = target_dir().join(build_dir);
    recreate(&build)?;
    cmd::run(
        Command::new(tools::wasm_bindgen())
            .args(["--target", "web", "--no-typescript", "--out-name", out_name])
            .arg("--out-dir")
            .arg(&build)
            .arg(&compiled),
    )?;
    let optimized = build.join(format!("{out_name}_bg.opt.wasm"));
    cmd::run(
        Command::new(tools::wasm_opt())
            .args(WASM_OPT_FLAGS)
            .arg(build.join(format!("{out_name}_bg.wasm")))
            .arg("-o")
            .arg(&optimized),
    )?;
    Ok((build, optimized))
}

/// Builds the widget into [`dist_dir`] (the tools must be installed); returns that folder.
pub(crate) fn build() -> anyhow::Result<PathBuf> {
    let (build, optimized) = compile_module("bellhop-widget", "panel", "widget-build", &[])?;

    let dist = dist_dir();
    recreate(&dist)?;
    let mut manifest = Manifest::default();

    let loader = minify(
        &build,
        "widget",
        &read(&root().join("widget/loader/widget.js"))?,
        false,
    )?;
    manifest.write(&dist, "widget.js", "widget.js".into(), &loader)?;

    let glue = String::from_utf8(read(&build.join("panel.js"))?)
        .context("wasm-bindgen's glue is not UTF-8")?;
    let (wasm, glue) = wasm_names::shorten(&read(&optimized)?, &glue)
        .context("giving the panel module's imports and exports short names")?;
    let wasm_name = hashed("panel", "wasm", &wasm);
    manifest.write(&dist, "panel.wasm", wasm_name.clone(), &wasm)?;

    // The glue finds the module next to itself by its wasm-bindgen name; point it at the
    // hashed one.
    let references = glue.matches("panel_bg.wasm").count();
    if references != 1 {
        bail!(
            "expected one reference to panel_bg.wasm in wasm-bindgen's glue, found \
             {references}: its output changed; update the widget build"
        );
    }
    let mut glue = glue.replace("panel_bg.wasm", &wasm_name);
    // The web glue only exports its init function; call it, so the panel page loads the
    // module with a plain `<script type="module" src>` and needs no inline script (the
    // panel's content policy allows none). Calling init again later returns the same promise.
    if !glue.contains("__wbg_init as default") {
        bail!(
            "wasm-bindgen's glue no longer exports `__wbg_init as default`: its output \
             changed; update how the widget build starts the panel"
        );
    }
    glue.push_str("__wbg_init();\n");
    let glue = minify(&build, "panel", glue.as_bytes(), true)?;
    let glue_name = hashed("panel", "js", &glue);
    manifest.write(&dist, "panel.js", glue_name.clone(), &glue)?;

    let panel = root().join("widget/panel");
    let css_name = match optional(&panel.join("panel.css"))? {
        Some(css) => {
            let name = hashed("panel", "css", &css);
            manifest.write(&dist, "panel.css", name.clone(), &css)?;
            Some(name)
        }
        None => None,
    };

    if let Some(html) = optional(&panel.join("panel.html"))? {
        let mut html = String::from_utf8(html).context("widget/panel/panel.html is not UTF-8")?;
        html = html
            .replace("{{PANEL_JS}}", &glue_name)
            .replace("{{PANEL_WASM}}", &wasm_name);
        match &css_name {
            Some(css) => html = html.replace("{{PANEL_CSS}}", css),
            None if html.contains("{{PANEL_CSS}}") => {
                bail!(
                    "widget/panel/panel.html refers to {{{{PANEL_CSS}}}} but there is no panel.css"
                )
            }
            None => {}
        }
        manifest.write(&dist, "panel.html", "panel.html".into(), html.as_bytes())?;
    }

    let json = serde_json::to_string_pretty(&manifest.to_json())?;
    std::fs::write(dist.join("manifest.json"), json + "\n").context("writing manifest.json")?;
    manifest.print();
    eprintln!("xtask: widget built into {}", dist.display());
    Ok(dist)
}

/// The assets needed to open the chat: what the size budget counts.
const TO_OPEN_THE_CHAT: [&str; 5] = [
    "widget.js",
    "panel.html",
    "panel.wasm",
    "panel.js",
    "panel.css",
];

#[derive(Default)]
pub(crate) struct Manifest {
    /// Logical name → (file name, raw bytes, gzip bytes).
    assets: BTreeMap<&'static str, (String, usize, usize)>,
}

impl Manifest {
    /// Writes `bytes` as `dist/file` and records it under `logical`.
    pub(crate) fn write(
        &mut self,
        dist: &Path,
        logical: &'static str,
        file: String,
        bytes: &[u8],
    ) -> anyhow::Result<()> {
        std::fs::write(dist.join(&file), bytes).with_context(|| format!("writing {file}"))?;
        let gzipped = gzip(bytes)?;
        let gz = file.clone() + ".gz";
        std::fs::write(dist.join(&gz), &gzipped).with_context(|| format!("writing {gz}"))?;
        self.assets
            .insert(logical, (file, bytes.len(), gzipped.len()));
        Ok(())
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        let assets: serde_json::Map<String, serde_json::Value> = self
            .assets
            .iter()
            .map(|(logical, (file, bytes, gzip))| {
                (
                    (*logical).to_owned(),
                    serde_json::json!({ "file": file, "bytes": bytes, "gzip_bytes": gzip }),
                )
            })
            .collect();
        serde_json::Value::Object(assets)
    }

    pub(crate) fn print(&self) {
        self.print_total(&TO_OPEN_THE_CHAT, "to open the chat");
    }

    /// The table of `logical` assets and their total, named `total`.
    pub(crate) fn print_total(&self, logical: &[&str], total: &str) {
        eprintln!(
            "{:<12} {:<22} {:>9} {:>9}",
            "asset", "file", "bytes", "gzip"
        );
        for logical in logical {
            if let Some((file, bytes, gzip)) = self.assets.get(logical) {
                eprintln!("{logical:<12} {file:<22} {bytes:>9} {gzip:>9}");
            }
        }
        let (bytes, gzip) = logical
            .iter()
            .filter_map(|logical| self.assets.get(logical))
            .fold((0, 0), |(b, g), (_, bytes, gzip)| (b + bytes, g + gzip));
        eprintln!("{total:<35} {bytes:>9} {gzip:>9}");
    }
}

/// `stem-<first 8 hex digits of the SHA-256>.ext`.
pub(crate) fn hashed(stem: &str, ext: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{stem}-{hex}.{ext}")
}

/// Size after gzip at its best compression: what a browser downloads from a server that
/// precompresses.
/// `bytes` gzipped with Zopfli: a gzip stream any browser reads, some 5 % smaller than
/// zlib's best. The server sends these very bytes (its build embeds the `.gz` files of the
/// dist folder), so the manifest counts what a visitor downloads.
pub(crate) fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        bytes,
        &mut out,
    )
    .context("gzip with zopfli")?;
    Ok(out)
}

pub(crate) fn recreate(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

pub(crate) fn optional(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// `WIDGET_DIST_DIR=<dist>`: where the server's build finds the built widget. Not a
/// `BELLHOP_*` name: cargo passes it on to what it runs, and the server reads every
/// `BELLHOP_*` variable as a setting and refuses unknown ones.
pub(crate) fn dist_env(dist: &Path) -> (&'static str, &OsStr) {
    ("WIDGET_DIST_DIR", dist.as_os_str())
}

/// Rust flags for the module: the panic locations of dependencies name their files relative
/// to the registry (`index.crates.io-…/js-sys-…/src/…`) rather than under this machine's
/// `CARGO_HOME`, so the module is the same bytes, and the same size, wherever it is built.
/// (Sources of this workspace are named relative to it already.) In the form
/// `CARGO_ENCODED_RUSTFLAGS` takes, which replaces any `RUSTFLAGS` for this one build.
fn remap_flags() -> String {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    cargo_home
        .map(|home| {
            format!(
                "--remap-path-prefix={}=",
                home.join("registry").join("src").join("").display()
            )
        })
        .unwrap_or_default()
}

/// JavaScript minified with terser (compressed, local names mangled; `module` for an ES
/// module, whose exports keep their names). `name` names the files it works on in `build`.
pub(crate) fn minify(
    build: &Path,
    name: &str,
    source: &[u8],
    module: bool,
) -> anyhow::Result<Vec<u8>> {
    let input = build.join(name.to_owned() + ".src.js");
    let output = build.join(name.to_owned() + ".out.js");
    std::fs::write(&input, source).with_context(|| format!("writing {}", input.display()))?;
    let mut terser = Command::new(tools::terser());
    terser
        .arg(&input)
        .args(["--compress", "--mangle", "--comments", "false", "--output"])
        .arg(&output);
    if module {
        terser.arg("--module");
    }
    cmd::run(&mut terser)?;
    read(&output)
}

#[cfg(test)]
mod tests {
    use super::hashed;

    #[test]
    fn names_carry_the_content_hash() {
        // SHA-256 of the empty input starts e3b0c442.
        assert_eq!(hashed("panel", "wasm", b""), "panel-e3b0c442.wasm");
    }
}

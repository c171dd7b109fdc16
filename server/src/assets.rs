//! The built widget and console, embedded in the binary at build time (see
//! `server/build.rs`): the widget's loader (`widget.js`), the panel page (`panel.html`) and its
//! content-hashed assets (`panel-<hash>.wasm`, `.js`, `.css`); the console's page
//! (`index.html`) and its assets (`console-<hash>.wasm`, `.js`, `.css`). Each file is kept with a gzipped copy, sent to
//! clients that accept it.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

/// One embedded file.
pub(crate) struct Asset {
    pub name: &'static str,
    pub body: &'static [u8],
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));
include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

/// The embedded widget file of this name.
pub(crate) fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

/// The embedded console file of this name.
pub(crate) fn find_console(name: &str) -> Option<&'static Asset> {
    CONSOLE_ASSETS.iter().find(|asset| asset.name == name)
}

/// The media type for a file name.
pub(crate) fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// The file as a response: gzipped when the client accepts it, with `cache` as its
/// `Cache-Control`.
pub(crate) fn respond(req: &HttpRequest, asset: &Asset, cache: &'static str) -> HttpResponse {
    let gzip_ok = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut response = HttpResponse::Ok();
    response
        .content_type(content_type(asset.name))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, "Accept-Encoding"));
    if gzip_ok && !asset.gzip.is_empty() {
        response
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(asset.gzip)
    } else {
        response.body(asset.body)
    }
}

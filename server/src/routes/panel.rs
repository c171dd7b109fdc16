//! What the widget is made of, served by the server itself: the loader a site pastes in
//! (`/widget.js`), the chat panel page that the loader frames (`/widget/panel`), and the
//! panel's content-hashed assets (`/widget/assets/...`).
//!
//! The panel page may only be framed by the site's allowed origins (`frame-ancestors`), and
//! it runs under a strict policy of its own: scripts, styles and connections only from this
//! server. The host page's policy never needs more than `script-src` and `frame-src` for
//! Bellhop: the Wasm runs in the panel's origin.

use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::{Path, Query};
use bellhop_protocol::ErrorCode;
use serde::Deserialize;

use super::{Reply, State};
use crate::assets;
use crate::auth::origin::{Origin, allows};
use crate::error::HttpError;

/// The loader changes with every release but keeps its name: a short cache.
const LOADER_CACHE: &str = "public, max-age=300";
/// Hashed names change with their content.
pub(crate) const HASHED_CACHE: &str = "public, max-age=31536000, immutable";

fn not_built() -> HttpError {
    HttpError::with_status(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal,
        "this server was built without the widget: build it with `cargo xtask widget` first",
    )
}

/// `GET /widget.js`: the loader.
pub(crate) async fn loader(req: HttpRequest) -> Reply {
    let asset = assets::find("widget.js").ok_or_else(not_built)?;
    Ok(assets::respond(&req, asset, LOADER_CACHE))
}

/// `GET /widget/assets/{name}`: a content-hashed panel asset.
pub(crate) async fn asset(req: HttpRequest, name: Path<String>) -> Reply {
    let name = name.into_inner();
    // Only the hashed panel files are served here (not the loader or the page template).
    if !name.starts_with("panel-") {
        return Err(HttpError::not_found("asset"));
    }
    let asset = assets::find(&name).ok_or_else(|| HttpError::not_found("asset"))?;
    Ok(assets::respond(&req, asset, HASHED_CACHE))
}

#[derive(Debug, Deserialize)]
pub(crate) struct PanelQuery {
    /// The site's widget key.
    key: String,
    /// The origin of the page that frames the panel: the only one the panel talks to.
    origin: String,
}

/// `GET /widget/panel?key=&origin=`: the chat panel page, frameable by the site's allowed
/// origins only. `origin` must be one of them.
pub(crate) async fn panel(req: HttpRequest, state: State, query: Query<PanelQuery>) -> Reply {
    let site = state
        .store
        .site_by_widget_key(&query.key)
        .await?
        .ok_or_else(|| HttpError::not_found("widget key"))?;
    let origin = Origin::parse(&query.origin)
        .ok()
        .filter(|origin| allows(&site.allowed_origins, &origin.to_string()))
        .ok_or_else(|| {
            HttpError::new(
                ErrorCode::OriginNotAllowed,
                format!("origin {:?} is not allowed for this site", query.origin),
            )
        })?;
    let page = assets::find("panel.html").ok_or_else(not_built)?;
    let ancestors = frame_ancestors(&site.allowed_origins);
    let sockets = socket_sources(&req);
    let policy = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: blob:; connect-src 'self' {sockets}; frame-ancestors {ancestors}; \
         base-uri 'none'; form-action 'none'"
    );
    tracing::debug!(site = %site.id, %origin, "panel served");
    let mut response = assets::respond(&req, page, "no-cache");
    let headers = response.headers_mut();
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

/// The CSP `frame-ancestors` sources for an allow-list: its valid origins, `*` as any
/// http(s) page, and `'none'` when nothing is left.
fn frame_ancestors(allowed: &[String]) -> String {
    let mut sources: Vec<String> = Vec::new();
    for entry in allowed {
        if entry.trim() == "*" {
            sources.push("http: https:".into());
        } else if let Ok(origin) = Origin::parse(entry) {
            sources.push(origin.to_string());
        }
    }
    if sources.is_empty() {
        "'none'".into()
    } else {
        sources.join(" ")
    }
}

/// This server's WebSocket origin, for `connect-src` (`'self'` covers `ws:` only in newer
/// browsers).
pub(crate) fn socket_sources(req: &HttpRequest) -> String {
    let info = req.connection_info();
    let scheme = if info.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    format!("{scheme}://{}", info.host())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ancestors_follow_the_allow_list() {
        let list = |e: &[&str]| e.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            frame_ancestors(&list(&["https://Shop.Example", "not an origin"])),
            "https://shop.example"
        );
        assert_eq!(frame_ancestors(&list(&["*"])), "http: https:");
        assert_eq!(frame_ancestors(&[]), "'none'");
    }
}

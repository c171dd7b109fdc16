//! The agent console, served by the server itself: its page at `/console/` (and `/`, which
//! leads there) and its content-hashed assets at `/console/assets/...`.
//!
//! The page runs under a strict policy: scripts, styles and connections from this server only,
//! no inline script, and no framing by any page (`frame-ancestors 'none'`), so another site
//! cannot overlay the console to trick an agent's clicks. The session is the HttpOnly cookie
//! the login sets; the agent socket accepts it from this origin only.

use actix_web::http::header;
use actix_web::web::Path;
use actix_web::{HttpRequest, HttpResponse};
use bellhop_protocol::ErrorCode;

use super::Reply;
use super::panel::{HASHED_CACHE, socket_sources};
use crate::assets;
use crate::error::HttpError;

fn not_built() -> HttpError {
    HttpError::with_status(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal,
        "this server was built without the agent console: build it with `cargo xtask console` first",
    )
}

/// `GET /` and `GET /console`: to the console's page.
pub(crate) async fn to_console() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/console/"))
        .finish()
}

/// `GET /console/`: the console's page.
pub(crate) async fn page(req: HttpRequest) -> Reply {
    let page = assets::find_console("index.html").ok_or_else(not_built)?;
    let sockets = socket_sources(&req);
    let policy = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' {sockets}; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    );
    let mut response = assets::respond(&req, page, "no-cache");
    let headers = response.headers_mut();
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

/// `GET /console/assets/{name}`: a content-hashed console asset.
pub(crate) async fn asset(req: HttpRequest, name: Path<String>) -> Reply {
    let name = name.into_inner();
    if !name.starts_with("console-") {
        return Err(HttpError::not_found("asset"));
    }
    let asset = assets::find_console(&name).ok_or_else(|| HttpError::not_found("asset"))?;
    Ok(assets::respond(&req, asset, HASHED_CACHE))
}

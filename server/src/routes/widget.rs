//! The widget's entry: `POST /api/v1/widget/session` exchanges a site's public widget key for a
//! visitor token (or confirms the one the browser holds). The page's `Origin` must be on the
//! site's allow-list, here and at the WebSocket upgrade, so another site cannot act for the
//! visitor (cross-site WebSocket hijacking).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use bellhop_protocol::api::{SiteSettings, WidgetSessionRequest, WidgetSessionResponse};
use bellhop_protocol::{ErrorCode, VisitorId};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::visitor_token::VisitorClaims;
use crate::clock::now_millis;
use crate::error::HttpError;

/// Normalises an origin for comparison: lower case, no trailing slash.
fn normalise(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Whether a site lets pages of `origin` use its widget.
pub fn origin_allowed(site: &SiteSettings, origin: &str) -> bool {
    let origin = normalise(origin);
    site.allowed_origins
        .iter()
        .any(|allowed| allowed == "*" || normalise(allowed) == origin)
}

/// The request's `Origin`, if the site allows it; otherwise a 403 `origin_not_allowed`.
/// A request without `Origin` is refused too: browsers always send one here.
pub fn check_origin(req: &HttpRequest, site: &SiteSettings) -> Result<String, HttpError> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !origin.is_empty() && origin_allowed(site, origin) {
        Ok(origin.to_owned())
    } else {
        Err(HttpError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::OriginNotAllowed,
            format!("origin {origin:?} is not allowed for this site"),
        ))
    }
}

pub async fn session(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<WidgetSessionRequest>,
) -> Result<HttpResponse, HttpError> {
    let body = body.into_inner();
    let site = state
        .store
        .site_by_widget_key(&body.widget_key)
        .await?
        .ok_or_else(|| HttpError::not_found("widget key"))?;
    let origin = check_origin(&req, &site)?;
    // Keep the browser's visitor if its token is valid for this site; else a new visitor.
    let kept = body
        .token
        .as_deref()
        .and_then(|t| state.signer.verify(t).ok())
        .filter(|claims| claims.site_id == site.id);
    let (visitor_id, token) = match kept {
        Some(claims) => (claims.visitor_id, body.token.unwrap_or_default()),
        None => {
            let claims = VisitorClaims {
                site_id: site.id,
                visitor_id: VisitorId::from_uuid(Uuid::now_v7()),
                issued_at: now_millis(),
            };
            (claims.visitor_id, state.signer.sign(&claims))
        }
    };
    state
        .store
        .ensure_visitor(visitor_id, site.id, now_millis())
        .await?;
    let mut response = HttpResponse::Ok().json(WidgetSessionResponse {
        visitor_id,
        site_id: site.id,
        token,
    });
    allow_cors(&mut response, &origin);
    Ok(response)
}

/// CORS preflight: the actual request is origin-checked against the site it names.
pub async fn preflight(req: HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::NoContent().finish();
    if let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        allow_cors(&mut response, origin);
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
}

fn allow_cors(response: &mut HttpResponse, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bellhop_protocol::SiteId;

    fn site(origins: &[&str]) -> SiteSettings {
        SiteSettings {
            id: SiteId::from_uuid(Uuid::nil()),
            name: "s".into(),
            widget_key: "k".into(),
            allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            auto_reply: String::new(),
        }
    }

    #[test]
    fn origins_match_exactly_ignoring_case_and_trailing_slash() {
        let s = site(&["https://shop.example", "http://localhost:8080/"]);
        assert!(origin_allowed(&s, "https://SHOP.example"));
        assert!(origin_allowed(&s, "http://localhost:8080"));
        assert!(!origin_allowed(&s, "https://shop.example.evil.test"));
        assert!(!origin_allowed(&s, "http://shop.example"));
        assert!(!origin_allowed(&s, "null"));
        assert!(origin_allowed(&site(&["*"]), "https://anywhere.test"));
    }
}

//! The widget's entry: `POST /api/v1/widget/session` exchanges a site's public widget key for a
//! visitor token (or confirms the one the browser holds). The page's `Origin` must be on the
//! site's allow-list, here and at the WebSocket upgrade, so another site cannot act for the
//! visitor (cross-site WebSocket hijacking).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use bellhop_protocol::api::{
    LeadSubmission, SiteSettings, WidgetConfig, WidgetDepartment, WidgetSessionRequest,
    WidgetSessionResponse,
};
use bellhop_protocol::{ErrorCode, VisitorId};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::visitor_token::VisitorClaims;
use crate::clock::now_millis;
use crate::error::HttpError;
use crate::routes::session::Caller;

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
            HeaderValue::from_static("GET, POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
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
            default_department_id: bellhop_protocol::DepartmentId::from_uuid(Uuid::nil()),
            config: Default::default(),
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

#[derive(serde::Deserialize)]
pub struct ConfigQuery {
    key: String,
}

/// `GET /api/v1/widget/config?key=WIDGET_KEY`: departments, forms and whether a chat can start
/// now (else the widget offers the offline form).
pub async fn config(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ConfigQuery>,
) -> Result<HttpResponse, HttpError> {
    let site = state
        .store
        .site_by_widget_key(&query.key)
        .await?
        .ok_or_else(|| HttpError::not_found("widget key"))?;
    let origin = check_origin(&req, &site)?;
    let mut departments = Vec::new();
    let mut availability = None;
    for department in state.store.departments(site.id).await? {
        let now = state.chat.availability(&site, &department).await?;
        if department.id == site.default_department_id {
            availability = Some(now.clone());
        }
        departments.push(WidgetDepartment {
            id: department.id,
            name: department.name,
            availability: now,
        });
    }
    let availability = availability.ok_or_else(HttpError::internal)?;
    let mut response = HttpResponse::Ok().json(WidgetConfig {
        site_id: site.id,
        site_name: site.name,
        availability,
        departments,
        default_department_id: site.default_department_id,
        prechat_form: site.config.prechat_form,
        offline_form: site.config.offline_form,
    });
    allow_cors(&mut response, &origin);
    Ok(response)
}

/// `POST /api/v1/widget/leads` with the visitor token: stores a filled-in pre-chat or offline
/// form as a lead, with the page context and the landing page's UTM parameters.
pub async fn submit_lead(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<LeadSubmission>,
) -> Result<HttpResponse, HttpError> {
    let Caller::Visitor(visitor) = caller else {
        return Err(HttpError::forbidden("leads come from visitors"));
    };
    let site = state
        .store
        .site(visitor.site_id)
        .await?
        .ok_or_else(|| HttpError::not_found("site"))?;
    let origin = check_origin(&req, &site)?;
    let submission = body.into_inner();
    if let Some(department) = submission.department_id {
        let on_site = state.store.department(department).await?.map(|d| d.site_id);
        if on_site != Some(site.id) {
            return Err(HttpError::invalid("no such department on this site"));
        }
    }
    let lead = crate::leads::from_submission(&site, visitor.visitor_id, submission, now_millis())
        .map_err(HttpError::invalid)?;
    let lead = state
        .store
        .create_lead(crate::store::NewLead { lead })
        .await?;
    tracing::info!(lead = %lead.id, site = %site.id, kind = lead.kind.as_str(), "lead captured");
    let mut response = HttpResponse::Created().json(lead);
    allow_cors(&mut response, &origin);
    Ok(response)
}

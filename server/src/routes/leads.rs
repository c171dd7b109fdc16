//! Leads for supervisors, admins and marketers: a filtered list and a CSV export.

use actix_web::{HttpResponse, web};
use bellhop_protocol::SiteId;
use bellhop_protocol::api::{LeadKind, LeadList, Role};
use bellhop_protocol::frames::Millis;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::HttpError;
use crate::routes::session::AgentSession;
use crate::store::LeadFilter;

#[derive(Deserialize)]
pub struct LeadQuery {
    /// Only this site.
    #[serde(default)]
    site: Option<SiteId>,
    /// `prechat` or `offline`.
    #[serde(default)]
    kind: Option<String>,
    /// Created at or after (ms since the epoch).
    #[serde(default)]
    from: Option<Millis>,
    /// Created before (ms since the epoch).
    #[serde(default)]
    to: Option<Millis>,
}

/// The filter a caller may use: supervisors see their sites' leads, admins every site's.
fn filter(session: &AgentSession, query: &LeadQuery) -> Result<LeadFilter, HttpError> {
    let agent = &session.agent;
    if agent.role < Role::Supervisor {
        return Err(HttpError::forbidden(
            "only supervisors and admins read leads",
        ));
    }
    let kind = match query.kind.as_deref() {
        None => None,
        Some(kind) => Some(
            LeadKind::parse(kind)
                .ok_or_else(|| HttpError::invalid(format!("unknown lead kind {kind:?}")))?,
        ),
    };
    let sites = match query.site {
        Some(site) if agent.reaches(site) => Some(vec![site]),
        Some(_) => return Err(HttpError::not_found("site")),
        None if agent.role == Role::Admin => None,
        None => Some(agent.sites.clone()),
    };
    Ok(LeadFilter {
        sites,
        kind,
        from: query.from,
        to: query.to,
    })
}

pub async fn list(
    state: web::Data<AppState>,
    session: AgentSession,
    query: web::Query<LeadQuery>,
) -> Result<HttpResponse, HttpError> {
    let leads = state.store.leads(&filter(&session, &query)?).await?;
    Ok(HttpResponse::Ok().json(LeadList { leads }))
}

pub async fn csv(
    state: web::Data<AppState>,
    session: AgentSession,
    query: web::Query<LeadQuery>,
) -> Result<HttpResponse, HttpError> {
    let leads = state.store.leads(&filter(&session, &query)?).await?;
    let body = crate::leads::to_csv(&leads).map_err(|e| {
        tracing::error!(error = %e, "CSV export failed");
        HttpError::internal()
    })?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8; header=present")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"leads.csv\"",
        ))
        .body(body))
}

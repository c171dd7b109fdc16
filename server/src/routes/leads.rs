//! Leads for supervisors, admins and marketers: a filtered list (site, kind, department, the
//! landing page's `utm_source`, time), paged newest first by a keyset cursor, and a CSV
//! export of every matching lead.

use actix_web::HttpResponse;
use actix_web::web::Query;
use bellhop_protocol::api::{LeadCursor, LeadList, LeadQuery, Role};

use super::{Reply, State};
use crate::error::HttpError;
use crate::routes::session::AgentSession;
use crate::store::LeadFilter;

/// The filter a caller may use: supervisors see their sites' leads, admins every site's.
fn filter(session: &AgentSession, query: &LeadQuery) -> Result<LeadFilter, HttpError> {
    let agent = session.require(Role::Supervisor)?;
    let sites = match query.site {
        Some(site) if agent.reaches(site) => Some(vec![site]),
        Some(_) => return Err(HttpError::not_found("site")),
        None if agent.role == Role::Admin => None,
        None => Some(agent.sites.clone()),
    };
    Ok(LeadFilter {
        sites,
        kind: query.kind,
        department: query.department,
        source: query
            .source
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        visitor: None,
        from: query.from,
        to: query.to,
        before: None,
        limit: None,
    })
}

/// Leads on a page when the query names no `limit`.
const DEFAULT_PAGE: u32 = 50;
/// The most leads on a page.
const MAX_PAGE: u32 = 500;

pub(crate) async fn list(state: State, session: AgentSession, query: Query<LeadQuery>) -> Reply {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let filter = LeadFilter {
        before: query.before,
        // One more than the page tells whether another page follows.
        limit: Some(limit + 1),
        ..filter(&session, &query)?
    };
    let mut leads = state.store.leads(&filter).await?;
    let next_before = if leads.len() > limit as usize {
        leads.truncate(limit as usize);
        leads.last().map(LeadCursor::of)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(LeadList { leads, next_before }))
}

pub(crate) async fn csv(state: State, session: AgentSession, query: Query<LeadQuery>) -> Reply {
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

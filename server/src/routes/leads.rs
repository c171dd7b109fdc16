//! Leads for supervisors, admins and marketers: a filtered list and a CSV export.

use actix_web::HttpResponse;
use actix_web::web::Query;
use bellhop_protocol::api::{LeadList, LeadQuery, Role};

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
        from: query.from,
        to: query.to,
    })
}

pub(crate) async fn list(state: State, session: AgentSession, query: Query<LeadQuery>) -> Reply {
    let leads = state.store.leads(&filter(&session, &query)?).await?;
    Ok(HttpResponse::Ok().json(LeadList { leads }))
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

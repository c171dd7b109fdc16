//! Reports for supervisors and admins of a site: its chats of a range of local dates, grouped
//! by day, agent or department, as JSON or as a CSV file. The figures are grouped from the
//! stored facts by [`crate::reports`].

use actix_web::HttpResponse;
use actix_web::web::Query;
use bellhop_protocol::api::Role;
use bellhop_protocol::console::{Report, ReportQuery};

use super::{Reply, State};
use crate::error::HttpError;
use crate::reports::{ReportScope, build, parse_range, range_bounds, site_zone};
use crate::routes::session::AgentSession;

/// The report a query asks for: another site's is `not_found`, a plain agent's `forbidden`,
/// a range that is not one of 1 to 366 real dates `invalid_request`.
async fn report_for(
    state: &State,
    session: &AgentSession,
    query: &ReportQuery,
) -> Result<Report, HttpError> {
    let site = session.reach(query.site)?;
    session.require(Role::Supervisor)?;
    let settings = state
        .store
        .site(site)
        .await?
        .ok_or_else(|| HttpError::not_found("site"))?;
    let (from, to) =
        parse_range(&query.from, &query.to).map_err(|e| HttpError::invalid(e.to_string()))?;
    let tz = site_zone(&settings);
    let (start, end) = range_bounds(tz, from, to);
    let facts = state.store.chat_facts(site, start, end).await?;
    let departments = state.store.departments(site).await?;
    let scope = ReportScope {
        site,
        tz,
        from,
        to,
        group: query.group,
        departments: &departments,
    };
    Ok(build(&scope, &facts))
}

/// `GET /api/v1/reports`.
pub(crate) async fn json(state: State, session: AgentSession, query: Query<ReportQuery>) -> Reply {
    let report = report_for(&state, &session, &query).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// `GET /api/v1/reports.csv`: the same report for spreadsheets.
pub(crate) async fn csv(state: State, session: AgentSession, query: Query<ReportQuery>) -> Reply {
    let report = report_for(&state, &session, &query).await?;
    let body = crate::reports::to_csv(&report).map_err(|e| {
        tracing::error!(error = %e, "report CSV failed");
        HttpError::internal()
    })?;
    let filename = format!(
        "report-{}-{}-{}.csv",
        report.group.as_str(),
        report.from,
        report.to
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8; header=present")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body))
}

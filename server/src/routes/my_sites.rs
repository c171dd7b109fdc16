//! `GET /api/v1/me/sites`: what the console needs to know of the caller's sites (admins:
//! every site) and of the colleagues who work on them.

use std::collections::HashSet;

use actix_web::HttpResponse;
use bellhop_protocol::api::Role;
use bellhop_protocol::console::{Colleague, DepartmentRef, MySites, SiteSummary};
use bellhop_protocol::{DepartmentId, SiteId};

use super::{Reply, State};
use crate::reports::site_zone;
use crate::routes::session::AgentSession;

pub(crate) async fn my_sites(state: State, session: AgentSession) -> Reply {
    let me = &session.agent;
    let only = (me.role != Role::Admin).then_some(me.sites.as_slice());
    let mut sites = Vec::new();
    let mut departments: HashSet<DepartmentId> = HashSet::new();
    for site in state.store.sites(only).await? {
        let site_departments = state.store.departments(site.id).await?;
        departments.extend(site_departments.iter().map(|d| d.id));
        sites.push(SiteSummary {
            id: site.id,
            name: site.name.clone(),
            answer_target_secs: site.config.answer_target_secs,
            retention_days: site.config.retention_days,
            time_zone: site_zone(&site).name().to_owned(),
            departments: site_departments
                .into_iter()
                .map(|d| DepartmentRef {
                    id: d.id,
                    name: d.name,
                })
                .collect(),
            attachment_types: site.config.attachments.allowed_types.clone(),
            attachment_max_bytes: site.config.attachments.max_bytes,
        });
    }
    sites.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    let visible: HashSet<SiteId> = sites.iter().map(|s| s.id).collect();
    // Colleagues are the active agents of those sites, with only what the caller may see of
    // them: their memberships of these sites.
    let mut agents: Vec<Colleague> = state
        .store
        .agents()
        .await?
        .into_iter()
        .filter(|agent| agent.active)
        .filter_map(|agent| {
            let sites: Vec<SiteId> = agent
                .sites
                .iter()
                .copied()
                .filter(|s| visible.contains(s))
                .collect();
            if sites.is_empty() && agent.id != me.id {
                return None;
            }
            Some(Colleague {
                id: agent.id,
                display_name: agent.display_name.clone(),
                role: agent.role,
                status: agent.status(),
                sites,
                departments: agent
                    .departments
                    .iter()
                    .copied()
                    .filter(|d| departments.contains(d))
                    .collect(),
            })
        })
        .collect();
    agents.sort_by(|a, b| (&a.display_name, a.id).cmp(&(&b.display_name, b.id)));
    Ok(HttpResponse::Ok().json(MySites { sites, agents }))
}

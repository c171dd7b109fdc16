//! Agent accounts (admins): list and create. `bellhop agent add` does the same from a shell.

use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use bellhop_protocol::AgentId;
use bellhop_protocol::api::{AgentUpdate, NewAgentRequest, Role};

use super::{Reply, State};
use crate::error::HttpError;
use crate::routes::auth::profile;
use crate::routes::session::AgentSession;
use crate::store::StoreError;

pub(crate) async fn list(state: State, session: AgentSession) -> Reply {
    let caller = session.require(Role::Supervisor)?;
    let agents = state.store.agents().await?;
    let visible: Vec<_> = agents
        .iter()
        .filter(|a| caller.role == Role::Admin || a.sites.iter().any(|s| caller.sites.contains(s)))
        .map(profile)
        .collect();
    Ok(HttpResponse::Ok().json(visible))
}

pub(crate) async fn create(
    state: State,
    session: AgentSession,
    body: Json<NewAgentRequest>,
) -> Reply {
    session.require(Role::Admin)?;
    let body = body.into_inner();
    let agent = crate::accounts::create_agent(
        state.store.as_ref(),
        &state.config,
        crate::accounts::AgentSpec {
            email: body.email,
            display_name: body.display_name,
            password: body.password,
            role: body.role,
            max_chats: body.max_chats,
            sites: body.sites,
        },
    )
    .await
    .map_err(|e| match e {
        crate::accounts::AccountError::Invalid(why) => HttpError::invalid(why),
        crate::accounts::AccountError::Store(StoreError::Duplicate) => {
            HttpError::conflict("an agent with this email exists")
        }
        crate::accounts::AccountError::Store(e) => e.into(),
        crate::accounts::AccountError::Hash(e) => {
            tracing::error!(error = %e, "password hashing failed");
            HttpError::internal()
        }
    })?;
    Ok(HttpResponse::Created().json(profile(&agent)))
}

/// Changes an agent's chat cap or departments; routing runs again for their sites, since a
/// higher cap or a new department may let a waiting chat through.
pub(crate) async fn update(
    state: State,
    session: AgentSession,
    path: Path<AgentId>,
    body: Json<AgentUpdate>,
) -> Reply {
    session.require(Role::Admin)?;
    let update = body.into_inner();
    let agent = state
        .store
        .agent(path.into_inner())
        .await?
        .ok_or_else(|| HttpError::not_found("agent"))?;
    if let Some(departments) = &update.departments {
        for department in departments {
            let site = state
                .store
                .department(*department)
                .await?
                .map(|d| d.site_id);
            if !site.is_some_and(|s| agent.sites.contains(&s)) {
                return Err(HttpError::invalid(format!(
                    "department {department} is not on one of the agent's sites"
                )));
            }
        }
        state
            .store
            .set_agent_departments(agent.id, departments)
            .await?;
    }
    if let Some(max_chats) = update.max_chats {
        state.store.set_agent_cap(agent.id, max_chats.get()).await?;
    }
    for site in &agent.sites {
        state.chat.routing_changed(*site);
    }
    let agent = state
        .store
        .agent(agent.id)
        .await?
        .ok_or_else(|| HttpError::not_found("agent"))?;
    Ok(HttpResponse::Ok().json(profile(&agent)))
}

//! Agent accounts (admins): list, create, change (cap, departments, role, sites, active,
//! display name), reset a password and lift a login lock. `bellhop agent add` creates from a
//! shell.

use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use bellhop_protocol::AgentId;
use bellhop_protocol::api::{AgentUpdate, NewAgentRequest, PasswordReset, Role};

use super::{Reply, State};
use crate::auth::limits::Throttle;
use crate::error::HttpError;
use crate::routes::auth::{check_new_password, end_sessions, profile, set_password};
use crate::routes::session::AgentSession;
use crate::store::{AccessChange, StoreError};

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
        &state.login.hasher,
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
        crate::accounts::AccountError::Busy => {
            HttpError::rate_limited("password hashing", std::time::Duration::from_secs(1))
        }
    })?;
    Ok(HttpResponse::Created().json(profile(&agent)))
}

/// Changes an agent's chat cap, departments, role, sites, whether they are active and whether
/// they may pick chats from the queue.
///
/// Cap, departments and picking apply to the live sessions. A new role, a removed site or
/// deactivation end every session of the agent (their sockets close with `4004`), since the
/// sessions were granted under the old rights; chats of removed sites (all chats, on
/// deactivation) go back to the front of their queues. Routing runs again for the agent's
/// sites, since a higher cap or a new department may let a waiting chat through.
pub(crate) async fn update(
    state: State,
    session: AgentSession,
    path: Path<AgentId>,
    body: Json<AgentUpdate>,
) -> Reply {
    let agent = administered(&state, &session, path.into_inner()).await?;
    let update = body.into_inner();
    let sites_after = update.sites.clone().unwrap_or_else(|| agent.sites.clone());
    if let Some(sites) = &update.sites {
        for site in sites {
            if state.store.site(*site).await?.is_none() {
                return Err(HttpError::invalid(format!("no site {site}")));
            }
        }
    }
    if let Some(departments) = &update.departments {
        for department in departments {
            let site = state
                .store
                .department(*department)
                .await?
                .map(|d| d.site_id);
            if !site.is_some_and(|s| sites_after.contains(&s)) {
                return Err(HttpError::invalid(format!(
                    "department {department} is not on one of the agent's sites"
                )));
            }
        }
    }
    let change = AccessChange {
        role: update.role.filter(|role| *role != agent.role),
        sites: update.sites.clone().filter(|sites| {
            let mut before = agent.sites.clone();
            let mut after = sites.clone();
            before.sort();
            after.sort();
            after.dedup();
            before != after
        }),
        active: update.active.filter(|active| *active != agent.active),
        password_hash: None,
    };
    let demoted = change.role.is_some_and(|role| role != Role::Admin);
    let deactivated = change.active == Some(false);
    if agent.role == Role::Admin && agent.active && (demoted || deactivated) {
        let other_admins = state
            .store
            .agents()
            .await?
            .iter()
            .filter(|a| a.id != agent.id && a.role == Role::Admin && a.active)
            .count();
        if other_admins == 0 {
            return Err(HttpError::conflict(
                "this is the last active admin: make another admin first",
            ));
        }
    }
    let removed_sites = change
        .sites
        .as_ref()
        .is_some_and(|after| agent.sites.iter().any(|s| !after.contains(s)));
    let ends_sessions = change.role.is_some() || deactivated || removed_sites;
    if ends_sessions {
        end_sessions(&state, agent.id, &change).await?;
    } else if change.sites.is_some() || change.active.is_some() {
        // Only additions (or reactivation): nothing granted before is taken away.
        state.store.change_access(agent.id, &change, false).await?;
    }
    if let Some(departments) = &update.departments {
        state
            .store
            .set_agent_departments(agent.id, departments)
            .await?;
    }
    if let Some(max_chats) = update.max_chats {
        state.store.set_agent_cap(agent.id, max_chats.get()).await?;
    }
    if let Some(name) = &update.display_name {
        state
            .store
            .set_agent_display_name(agent.id, name.as_str())
            .await?;
    }
    if let Some(may_pick) = update.may_pick {
        state.store.set_agent_may_pick(agent.id, may_pick).await?;
    }
    let notice = &state.config.routing.requeue_notice;
    if deactivated {
        state.chat.requeue_agent(agent.id, None, notice).await?;
        tracing::info!(agent = %agent.id, "agent deactivated");
    } else if removed_sites {
        state
            .chat
            .requeue_agent(agent.id, Some(&sites_after), notice)
            .await?;
    }
    for site in agent.sites.iter().chain(&sites_after) {
        state.chat.routing_changed(*site);
    }
    let agent = state
        .store
        .agent(agent.id)
        .await?
        .ok_or_else(|| HttpError::not_found("agent"))?;
    Ok(HttpResponse::Ok().json(profile(&agent)))
}

/// `POST /api/v1/agents/{id}/password` (admins): sets the agent's password, ends every
/// session of theirs and lifts a login lock on the account.
pub(crate) async fn reset_password(
    state: State,
    session: AgentSession,
    path: Path<AgentId>,
    body: Json<PasswordReset>,
) -> Reply {
    let agent = administered(&state, &session, path.into_inner()).await?;
    let PasswordReset { new_password } = body.into_inner();
    check_new_password(&new_password)?;
    set_password(&state, agent.id, new_password).await?;
    lift_login_lock(&state, &agent);
    tracing::info!(agent = %agent.id, by = %session.agent.id, "password reset by an admin");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/agents/{id}/unlock` (admins): lifts a login lock on the account before it
/// expires.
pub(crate) async fn unlock(state: State, session: AgentSession, path: Path<AgentId>) -> Reply {
    let agent = administered(&state, &session, path.into_inner()).await?;
    lift_login_lock(&state, &agent);
    tracing::info!(agent = %agent.id, by = %session.agent.id, "login lock lifted by an admin");
    Ok(HttpResponse::NoContent().finish())
}

/// The agent an admin acts on: `403` for a caller who is not an admin, `404` for no such
/// agent.
async fn administered(
    state: &State,
    session: &AgentSession,
    id: AgentId,
) -> Result<crate::store::Agent, HttpError> {
    session.require(Role::Admin)?;
    state
        .store
        .agent(id)
        .await?
        .ok_or_else(|| HttpError::not_found("agent"))
}

fn lift_login_lock(state: &State, agent: &crate::store::Agent) {
    state
        .login
        .throttle
        .accounts
        .clear(&Throttle::account_key(&agent.email));
}

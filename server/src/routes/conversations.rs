//! Conversations over REST: an agent's list, one conversation, its transcript paged by `seq`,
//! and closing it. Visitors may read their own transcripts with their visitor token.

use actix_web::{HttpResponse, web};
use bellhop_protocol::ConversationId;
use bellhop_protocol::api::{ConversationList, Role, RoutingAudit, TranscriptPage};
use bellhop_protocol::frames::Conversation;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::HttpError;
use crate::routes::session::{AgentSession, Caller};
use crate::store::ConversationFilter;

#[derive(Deserialize)]
pub struct ListQuery {
    /// `open` (default) or `all`.
    #[serde(default)]
    status: Option<String>,
    /// `mine` (default for agents) or `site` (every conversation of the agent's sites;
    /// supervisors and admins only).
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

pub async fn list(
    state: web::Data<AppState>,
    session: AgentSession,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, HttpError> {
    let agent = &session.agent;
    let open_only = match query.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => return Err(HttpError::invalid(format!("unknown status {other:?}"))),
    };
    let mut filter = ConversationFilter {
        open_only,
        limit: query.limit.unwrap_or(100).clamp(1, 1000),
        ..ConversationFilter::default()
    };
    match query.scope.as_deref() {
        None | Some("mine") => filter.agent = Some(agent.id),
        Some("site") if agent.role >= Role::Supervisor => {
            if agent.role != Role::Admin {
                filter.sites = Some(agent.sites.clone());
            }
        }
        Some("site") => return Err(HttpError::forbidden("only supervisors see every chat")),
        Some(other) => return Err(HttpError::invalid(format!("unknown scope {other:?}"))),
    }
    let conversations = state.store.conversations(&filter).await?;
    Ok(HttpResponse::Ok().json(ConversationList { conversations }))
}

async fn readable(
    state: &AppState,
    caller: &Caller,
    id: ConversationId,
) -> Result<Conversation, HttpError> {
    match state.store.conversation(id).await? {
        // Not telling a stranger whether the conversation exists.
        Some(conversation) if caller.may_read(&conversation) => Ok(conversation),
        _ => Err(HttpError::not_found("conversation")),
    }
}

pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ConversationId>,
) -> Result<HttpResponse, HttpError> {
    let conversation = readable(&state, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(conversation))
}

#[derive(Deserialize)]
pub struct TranscriptQuery {
    #[serde(default)]
    after: u64,
    #[serde(default)]
    limit: Option<u32>,
}

pub async fn transcript(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ConversationId>,
    query: web::Query<TranscriptQuery>,
) -> Result<HttpResponse, HttpError> {
    let conversation = readable(&state, &caller, path.into_inner()).await?;
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let messages = state
        .store
        .messages_after(conversation.id, query.after, limit)
        .await?;
    let next_after = messages
        .last()
        .map(|m| m.seq)
        .filter(|&last| last < conversation.last_seq);
    Ok(HttpResponse::Ok().json(TranscriptPage {
        conversation_id: conversation.id,
        messages,
        next_after,
    }))
}

pub async fn close(
    state: web::Data<AppState>,
    session: AgentSession,
    path: web::Path<ConversationId>,
) -> Result<HttpResponse, HttpError> {
    let closed = state.chat.close(&session.agent, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(closed))
}

/// The routing audit: every assignment and hand-off of the conversation, with the candidates
/// considered. Supervisors and admins of the conversation's site.
pub async fn routing(
    state: web::Data<AppState>,
    session: AgentSession,
    path: web::Path<ConversationId>,
) -> Result<HttpResponse, HttpError> {
    let agent = session.agent;
    let is_supervisor = agent.role >= Role::Supervisor;
    let conversation = readable(&state, &Caller::Agent(agent), path.into_inner()).await?;
    if !is_supervisor {
        return Err(HttpError::forbidden(
            "only supervisors and admins read the routing audit",
        ));
    }
    let decisions = state.store.routing_decisions(conversation.id).await?;
    Ok(HttpResponse::Ok().json(RoutingAudit {
        conversation_id: conversation.id,
        decisions,
    }))
}

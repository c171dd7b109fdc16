//! Conversations over REST: an agent's list, one conversation, its transcript paged by `seq`
//! (forwards, or back from the newest), its notes (agents only), its visitor (profile and the
//! console's visitor panel), and closing it. Visitors may read their own transcripts with
//! their visitor token.

use actix_web::HttpResponse;
use actix_web::web::{Path, Query};
use bellhop_protocol::ConversationId;
use bellhop_protocol::api::{
    ConversationList, ConversationQuery, ConversationScope, Role, RoutingAudit, StatusFilter,
    TranscriptPage, TranscriptQuery, VisitorProfile,
};
use bellhop_protocol::console::NoteList;
use bellhop_protocol::frames::Conversation;

use super::{Reply, State};
use crate::app::AppState;
use crate::error::HttpError;
use crate::routes::session::{self, AgentSession, Caller};
use crate::store::{ConversationFilter, LeadFilter};

pub(crate) async fn list(
    state: State,
    session: AgentSession,
    query: Query<ConversationQuery>,
) -> Reply {
    let agent = &session.agent;
    let mut filter = ConversationFilter {
        open_only: query.status.unwrap_or_default() == StatusFilter::Open,
        limit: query.limit.unwrap_or(100).clamp(1, 1000),
        ..ConversationFilter::default()
    };
    match query.scope.unwrap_or_default() {
        ConversationScope::Mine => filter.agent = Some(agent.id),
        ConversationScope::Site => {
            if session.require(Role::Supervisor)?.role != Role::Admin {
                filter.sites = Some(agent.sites.clone());
            }
        }
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

pub(crate) async fn get(state: State, caller: Caller, path: Path<ConversationId>) -> Reply {
    let conversation = readable(&state, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(conversation))
}

/// `GET /api/v1/conversations/{id}/visitor`: who the conversation's visitor is, for whoever
/// may read the conversation.
pub(crate) async fn visitor(state: State, caller: Caller, path: Path<ConversationId>) -> Reply {
    let conversation = readable(&state, &caller, path.into_inner()).await?;
    let row = state
        .store
        .visitor_profile(conversation.visitor_id)
        .await?
        .ok_or_else(|| HttpError::not_found("visitor"))?;
    let map = |text: &str| serde_json::from_str(text).unwrap_or_default();
    Ok(HttpResponse::Ok().json(VisitorProfile {
        visitor_id: conversation.visitor_id,
        user_id: row.user_id,
        verified_attributes: map(&row.attributes),
        page_attributes: map(&row.page_attributes),
    }))
}

/// `GET /api/v1/conversations/{id}/context`: the visitor panel beside the chat (see
/// [`crate::visitor_context`]), for whoever may read the conversation.
pub(crate) async fn context(state: State, caller: Caller, path: Path<ConversationId>) -> Reply {
    let conversation = readable(&state, &caller, path.into_inner()).await?;
    let visitor = conversation.visitor_id;
    let row = state
        .store
        .visitor_profile(visitor)
        .await?
        .ok_or_else(|| HttpError::not_found("visitor"))?;
    let latest_lead = state
        .store
        .leads(&LeadFilter {
            visitor: Some(visitor),
            sites: Some(vec![conversation.site_id]),
            limit: Some(1),
            ..LeadFilter::default()
        })
        .await?
        .pop();
    let conversations = state
        .store
        .conversations(&ConversationFilter {
            visitor: Some(visitor),
            sites: Some(vec![conversation.site_id]),
            // This one and the most the panel lists.
            limit: u32::try_from(crate::visitor_context::MAX_PAST_CONVERSATIONS + 1)
                .unwrap_or(u32::MAX),
            ..ConversationFilter::default()
        })
        .await?;
    Ok(HttpResponse::Ok().json(crate::visitor_context::context(
        visitor,
        conversation.id,
        row,
        latest_lead,
        conversations,
    )))
}

pub(crate) async fn transcript(
    state: State,
    caller: Caller,
    path: Path<ConversationId>,
    query: Query<TranscriptQuery>,
) -> Reply {
    let conversation = readable(&state, &caller, path.into_inner()).await?;
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let messages = match query.before {
        Some(before) => {
            state
                .store
                .messages_before(conversation.id, query.after, before, limit)
                .await?
        }
        None => {
            state
                .store
                .messages_after(conversation.id, query.after, limit)
                .await?
        }
    };
    let next_after = messages
        .last()
        .map(|m| m.seq)
        .filter(|&last| last < conversation.last_seq);
    // Seqs are gapless from 1: older messages exist when the page starts above `after + 1`.
    let prev_before = query
        .before
        .and(messages.first())
        .map(|m| m.seq)
        .filter(|&first| first > query.after.saturating_add(1));
    Ok(HttpResponse::Ok().json(TranscriptPage {
        conversation_id: conversation.id,
        messages,
        next_after,
        prev_before,
    }))
}

/// `GET /api/v1/conversations/{id}/notes`: the conversation's notes and whispers, oldest
/// first, for the agents who may read it (never a visitor: their token is no agent session).
pub(crate) async fn notes(
    state: State,
    session: AgentSession,
    path: Path<ConversationId>,
) -> Reply {
    let caller = Caller::Agent(session.agent);
    let conversation = readable(&state, &caller, path.into_inner()).await?;
    let notes = state.store.notes(conversation.id).await?;
    Ok(HttpResponse::Ok().json(NoteList { notes }))
}

pub(crate) async fn close(
    state: State,
    session: AgentSession,
    path: Path<ConversationId>,
) -> Reply {
    let closed = state.chat.close(&session.agent, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(closed))
}

/// The routing audit: every assignment and hand-off of the conversation, with the candidates
/// considered. Supervisors and admins of the conversation's site.
pub(crate) async fn routing(
    state: State,
    session: AgentSession,
    path: Path<ConversationId>,
) -> Reply {
    let caller = Caller::Agent(session.agent);
    // A stranger to the conversation's site learns nothing, not even that it needs a role.
    let conversation = readable(&state, &caller, path.into_inner()).await?;
    if let Caller::Agent(agent) = &caller {
        session::require(agent, Role::Supervisor)?;
    }
    let decisions = state.store.routing_decisions(conversation.id).await?;
    Ok(HttpResponse::Ok().json(RoutingAudit {
        conversation_id: conversation.id,
        decisions,
    }))
}

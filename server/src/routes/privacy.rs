//! The privacy tools (admins only, on any site): export everything stored about one visitor,
//! erase it, and read the audit log those actions (and the retention sweeper) write.
//!
//! An erasure deletes the visitor's conversations with their messages, files (their bytes
//! too), ratings and read marks, their leads, queued mails and attributes, and the visitor
//! itself; tokens issued to them until then stop working (a widget session with one gets a
//! fresh visitor) and their open sockets close. After it nothing of theirs is readable
//! through any route.

use actix_web::HttpResponse;
use actix_web::web::{Path, Query};
use bellhop_protocol::VisitorId;
use bellhop_protocol::api::Role;
use bellhop_protocol::console::{AuditList, AuditQuery, ExportedConversation, VisitorExport};
use bellhop_protocol::frames::AgentRef;

use super::{Reply, State};
use crate::clock::now_millis;
use crate::error::HttpError;
use crate::events::Event;
use crate::routes::session::AgentSession;
use crate::store::{Agent, ConversationFilter, LeadFilter, NewAudit};

/// Messages read per query while exporting a conversation.
const EXPORT_PAGE: u32 = 500;

fn actor(agent: &Agent) -> Option<AgentRef> {
    Some(AgentRef {
        id: agent.id,
        display_name: agent.display_name.clone(),
    })
}

/// `GET /api/v1/visitors/{id}/export` (admins): everything stored about the visitor, as a
/// JSON download. Audited as `visitor_exported`.
pub(crate) async fn export(state: State, session: AgentSession, path: Path<VisitorId>) -> Reply {
    let admin = session.require(Role::Admin)?;
    let visitor = path.into_inner();
    let row = state
        .store
        .visitor_profile(visitor)
        .await?
        .ok_or_else(|| HttpError::not_found("visitor"))?;
    let mut conversations = state
        .store
        .conversations(&ConversationFilter {
            visitor: Some(visitor),
            ..ConversationFilter::default()
        })
        .await?;
    // Oldest first, as the chats happened.
    conversations.reverse();
    let mut exported = Vec::with_capacity(conversations.len());
    for conversation in conversations {
        let mut messages = Vec::new();
        loop {
            let after = messages
                .last()
                .map_or(0, |m: &bellhop_protocol::frames::Message| m.seq);
            let page = state
                .store
                .messages_after(conversation.id, after, EXPORT_PAGE)
                .await?;
            let done = page.len() < EXPORT_PAGE as usize;
            messages.extend(page);
            if done {
                break;
            }
        }
        let attachments = state.store.attachments_of(conversation.id).await?;
        let notes = state.store.notes(conversation.id).await?;
        exported.push(ExportedConversation {
            conversation,
            messages,
            notes,
            attachments,
        });
    }
    let leads = state
        .store
        .leads(&LeadFilter {
            visitor: Some(visitor),
            ..LeadFilter::default()
        })
        .await?;
    let now = now_millis();
    let map = |text: &str| serde_json::from_str(text).unwrap_or_default();
    let body = VisitorExport {
        visitor_id: visitor,
        site_id: row.site_id,
        exported_at: now,
        user_id: row.user_id,
        verified_attributes: map(&row.attributes),
        page_attributes: map(&row.page_attributes),
        page: bellhop_protocol::api::PageContext {
            landing_page: row.landing_page,
            current_page: row.current_page,
            referrer: row.referrer,
        },
        user_agent: row.user_agent,
        time_zone: row.time_zone,
        conversations: exported,
        leads,
    };
    state
        .store
        .record_audit(&NewAudit {
            at: now,
            actor: actor(admin),
            action: "visitor_exported",
            site: Some(row.site_id),
            subject: visitor.to_string(),
        })
        .await?;
    tracing::info!(%visitor, by = %admin.id, "visitor exported");
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"visitor-{visitor}.json\""),
        ))
        .json(body))
}

/// `DELETE /api/v1/visitors/{id}` (admins): erases the visitor (see the module's docs);
/// `204`. Audited as `visitor_erased`.
pub(crate) async fn erase(state: State, session: AgentSession, path: Path<VisitorId>) -> Reply {
    let admin = session.require(Role::Admin)?;
    let visitor = path.into_inner();
    let site = state
        .store
        .visitor_profile(visitor)
        .await?
        .ok_or_else(|| HttpError::not_found("visitor"))?
        .site_id;
    let audit = NewAudit {
        at: now_millis(),
        actor: actor(admin),
        action: "visitor_erased",
        site: Some(site),
        subject: visitor.to_string(),
    };
    let erased = state
        .store
        .erase_visitor(visitor, &audit)
        .await?
        .ok_or_else(|| HttpError::not_found("visitor"))?;
    // The records are gone; now their bytes. One that fails stays an orphan, logged.
    for key in &erased.blob_keys {
        if let Err(e) = state.files.delete(key).await {
            tracing::warn!(error = %e, key, "an erased visitor's file could not be deleted");
        }
    }
    let freed = !erased.open.is_empty();
    state.chat.emit(Event::VisitorErased {
        visitor,
        open: erased.open,
    });
    if freed {
        // Their open chat freed an agent's slot, or left its queue.
        state.chat.routing_changed(site);
    }
    tracing::info!(
        %visitor,
        by = %admin.id,
        conversations = erased.conversations,
        files = erased.blob_keys.len(),
        "visitor erased"
    );
    Ok(HttpResponse::NoContent().finish())
}

/// Audit entries on a page when the query names no `limit`, and the most on one.
const DEFAULT_AUDIT_PAGE: u32 = 200;
const MAX_AUDIT_PAGE: u32 = 1000;

/// `GET /api/v1/audit?site=&limit=` (admins): the audit log, newest first.
pub(crate) async fn audit(state: State, session: AgentSession, query: Query<AuditQuery>) -> Reply {
    session.require(Role::Admin)?;
    let limit = query
        .limit
        .unwrap_or(DEFAULT_AUDIT_PAGE)
        .clamp(1, MAX_AUDIT_PAGE);
    let entries = state.store.audit_entries(query.site, limit).await?;
    Ok(HttpResponse::Ok().json(AuditList { entries }))
}

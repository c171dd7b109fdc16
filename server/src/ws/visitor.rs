//! Frames a visitor's widget sends after `hello`.

use std::net::IpAddr;
use std::time::Instant;

use bellhop_protocol::frames::{AuthorKind, VisitorFrame};
use bellhop_protocol::{ConversationId, ErrorCode, SiteId, VisitorId};

use super::live::Live;
use super::peek::Offer;
use super::transport::Gone;
use crate::store::StoreError;

/// The visitor on the socket, and the address the limits count them under.
#[derive(Clone, Copy)]
pub(super) struct Who {
    pub(super) visitor: VisitorId,
    pub(super) site: SiteId,
    pub(super) address: IpAddr,
}

pub(super) async fn handle(live: &mut Live, who: Who, frame: VisitorFrame) -> Result<(), Gone> {
    let Who { visitor, site, .. } = who;
    match frame {
        VisitorFrame::Hello { .. } => Ok(()),
        VisitorFrame::Peek {
            conversation_id,
            text,
        } => relay_peek(live, visitor, conversation_id, &text).await,
        VisitorFrame::Read {
            conversation_id,
            seq,
        } => {
            if !live.read_marks.advances(conversation_id, seq) {
                return Ok(());
            }
            let result = live
                .state
                .chat
                .visitor_read(visitor, conversation_id, seq)
                .await;
            if result.is_ok() {
                live.read_marks.marked(conversation_id, seq);
            }
            live.report(result).await
        }
        VisitorFrame::Send {
            client_id,
            conversation_id,
            department_id,
            body,
        } => {
            if let Err(wait) = live.state.limits.visitor_messages.check(&visitor) {
                let secs = crate::limits::retry_after_secs(wait);
                live.refuse(
                    client_id,
                    ErrorCode::RateLimited,
                    format!("too many messages; wait {secs} s and resend with the same client_id"),
                );
                return Ok(());
            }
            // Prepared here, in frame order, so sends are committed in the order they came.
            let prepared = live
                .state
                .chat
                .visitor_send(
                    visitor,
                    site,
                    client_id.clone(),
                    conversation_id,
                    department_id,
                    body,
                )
                .await;
            if let Ok(send) = &prepared
                && send.opens()
                && let Err(wait) = may_open(live, who)
            {
                let secs = crate::limits::retry_after_secs(wait);
                live.refuse(
                    client_id,
                    ErrorCode::RateLimited,
                    format!(
                        "too many new conversations; wait {secs} s and resend with the same client_id"
                    ),
                );
                return Ok(());
            }
            live.submit(client_id, prepared);
            Ok(())
        }
        VisitorFrame::Typing {
            conversation_id,
            typing,
        } => relay_typing(live, visitor, conversation_id, typing).await,
        VisitorFrame::Close { conversation_id } => {
            let result = live
                .state
                .chat
                .close_by_visitor(visitor, conversation_id)
                .await;
            live.report(result).await
        }
    }
}

/// Whether the visitor may open one more conversation now, counted per visitor, then per
/// address (so a visitor over their own limit uses none of their address's).
fn may_open(live: &Live, who: Who) -> Result<(), std::time::Duration> {
    let limits = &live.state.limits;
    limits.visitor_conversations.check(&who.visitor)?;
    limits.address_conversations.check(&who.address)
}

/// Passes the visitor's masked draft to the serving agent, coalesced (see `peek`); a
/// visitor learns nothing about conversations that are not theirs.
async fn relay_peek(
    live: &mut Live,
    visitor: VisitorId,
    conversation_id: ConversationId,
    text: &str,
) -> Result<(), Gone> {
    let text = super::peek::clean(text);
    if live.peeks.offer(conversation_id, &text, Instant::now()) != Offer::Now {
        return Ok(());
    }
    match pass_peek(live, visitor, conversation_id, text).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            live.transport
                .error(ErrorCode::NotFound, "no such conversation of yours", None)
                .await
        }
        Err(e) => {
            // Peeks are ephemeral: dropping one is fine.
            tracing::error!(error = ?e, "peek lookup failed");
            Ok(())
        }
    }
}

/// Relays a peek if the conversation is the visitor's (to nobody while it is queued), and
/// remembers it as passed on; `false` when the conversation is not theirs.
pub(super) async fn pass_peek(
    live: &mut Live,
    visitor: VisitorId,
    conversation_id: ConversationId,
    text: String,
) -> Result<bool, StoreError> {
    match live.state.store.conversation(conversation_id).await? {
        Some(conversation) if conversation.visitor_id == visitor => {
            live.state.chat.peek(&conversation, text.clone());
            live.peeks.relayed(conversation_id, text, Instant::now());
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Passes the visitor's typing to the serving agent; a visitor learns nothing about
/// conversations that are not theirs.
async fn relay_typing(
    live: &mut Live,
    visitor: VisitorId,
    conversation_id: ConversationId,
    typing: bool,
) -> Result<(), Gone> {
    // Coalesced (see `typing`); dropped frames cost no lookup.
    let limits = &live.state.limits;
    if !live.typing.should_pass(conversation_id, typing, || {
        limits.visitor_typing.check(&visitor).is_ok()
    }) {
        return Ok(());
    }
    match live.state.store.conversation(conversation_id).await {
        Ok(Some(conversation)) if conversation.visitor_id == visitor => {
            live.typing.relayed(conversation_id, typing);
            live.state
                .chat
                .typing(&conversation, AuthorKind::Visitor, typing);
            Ok(())
        }
        Ok(_) => {
            live.transport
                .error(
                    bellhop_protocol::ErrorCode::NotFound,
                    "no such conversation of yours",
                    None,
                )
                .await
        }
        Err(e) => {
            // Typing is ephemeral: dropping one is fine.
            tracing::error!(error = ?e, "typing lookup failed");
            Ok(())
        }
    }
}

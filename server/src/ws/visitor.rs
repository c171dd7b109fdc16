//! Frames a visitor's widget sends after `hello`.

use bellhop_protocol::frames::{AuthorKind, VisitorFrame};
use bellhop_protocol::{ConversationId, ErrorCode, SiteId, VisitorId};

use super::live::Live;
use super::transport::Gone;

pub(super) async fn handle(
    live: &mut Live,
    visitor: VisitorId,
    site: SiteId,
    frame: VisitorFrame,
) -> Result<(), Gone> {
    match frame {
        VisitorFrame::Hello { .. } => Ok(()),
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

/// Passes the visitor's typing to the serving agent; a visitor learns nothing about
/// conversations that are not theirs.
async fn relay_typing(
    live: &mut Live,
    visitor: VisitorId,
    conversation_id: ConversationId,
    typing: bool,
) -> Result<(), Gone> {
    // Coalesced: a repeat of the state last passed on is dropped; a start over the rate is
    // dropped; a stop passes whenever a start was passed on, so the agent never sees a visitor
    // typing forever. Dropped frames cost no lookup.
    let last = live.typing_relayed;
    if last == Some((conversation_id, typing)) {
        return Ok(());
    }
    let stop_after_start = !typing && last == Some((conversation_id, true));
    if !stop_after_start && live.state.limits.visitor_typing.check(&visitor).is_err() {
        return Ok(());
    }
    match live.state.store.conversation(conversation_id).await {
        Ok(Some(conversation)) if conversation.visitor_id == visitor => {
            live.typing_relayed = Some((conversation_id, typing));
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

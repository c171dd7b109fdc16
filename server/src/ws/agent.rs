//! Frames the agent console sends after `hello`.

use bellhop_protocol::frames::{AgentFrame, AuthorKind, ServerFrame};
use bellhop_protocol::{ConversationId, ErrorCode};

use super::live::Live;
use super::transport::Gone;
use super::watch;
use crate::store::Agent;

pub(super) async fn handle(live: &mut Live, agent: &Agent, frame: AgentFrame) -> Result<(), Gone> {
    let chat = live.state.chat.clone();
    match frame {
        AgentFrame::Hello { .. } => Ok(()),
        AgentFrame::Read {
            conversation_id,
            seq,
        } => {
            if !live.read_marks.advances(conversation_id, seq) {
                return Ok(());
            }
            let result = chat.agent_read(agent, conversation_id, seq).await;
            if result.is_ok() {
                live.read_marks.marked(conversation_id, seq);
            }
            live.report(result).await
        }
        AgentFrame::Send {
            client_id,
            conversation_id,
            body,
        } => {
            let prepared = chat.agent_send(agent, client_id.clone(), conversation_id, body);
            live.submit_agent(client_id, Ok(prepared), agent.clone(), conversation_id);
            Ok(())
        }
        AgentFrame::Typing {
            conversation_id,
            typing,
        } => relay_typing(live, agent, conversation_id, typing).await,
        AgentFrame::Close { conversation_id } => {
            let result = chat.close(agent, conversation_id).await;
            live.report(result).await
        }
        AgentFrame::SetStatus { status } => {
            let result = chat.set_status(agent, status).await;
            live.report(result).await
        }
        AgentFrame::Transfer {
            conversation_id,
            to,
            note,
        } => {
            let result = chat.transfer(agent, conversation_id, to, note).await;
            live.report(result).await
        }
        AgentFrame::SetPriority {
            conversation_id,
            priority,
        } => {
            let result = chat.set_priority(agent, conversation_id, priority).await;
            live.report(result).await
        }
        AgentFrame::Note {
            client_id,
            conversation_id,
            body,
        } => match chat
            .note(agent, client_id.clone(), conversation_id, body)
            .await
        {
            // A resend: told to nobody again, answered here.
            Ok(added) if added.duplicate => {
                live.transport
                    .frame(&ServerFrame::NoteAdded { note: added.note })
                    .await
            }
            // The `note_added` reaches this socket through the author's topic.
            Ok(_) => Ok(()),
            Err(e) => {
                live.transport
                    .error(e.code(), e.public_message(), Some(client_id))
                    .await
            }
        },
        AgentFrame::Watch {
            conversation_id,
            after_seq,
        } => watch::watch(live, agent, conversation_id, after_seq).await,
        AgentFrame::Pick { conversation_id } => {
            let result = chat.pick(agent, conversation_id).await;
            live.report(result).await
        }
        AgentFrame::Subscribe { feed } => super::feeds::subscribe(live, agent, feed).await,
        AgentFrame::Unsubscribe { feed } => {
            super::feeds::unsubscribe(live, feed);
            Ok(())
        }
    }
}

/// Passes the agent's typing to the visitor of a conversation the agent serves.
async fn relay_typing(
    live: &mut Live,
    agent: &Agent,
    conversation_id: ConversationId,
    typing: bool,
) -> Result<(), Gone> {
    // Coalesced as the visitor's is (see `typing`), before the lookup, so a flood costs the
    // store nothing and never leaves the visitor seeing the agent typing.
    let limits = &live.state.limits;
    if !live.typing.should_pass(conversation_id, typing, || {
        limits.agent_typing.check(&agent.id).is_ok()
    }) {
        return Ok(());
    }
    match live.state.store.conversation(conversation_id).await {
        Ok(Some(conversation)) if conversation.agent.as_ref().map(|a| a.id) == Some(agent.id) => {
            live.typing.relayed(conversation_id, typing);
            live.state
                .chat
                .typing(&conversation, AuthorKind::Agent, typing);
            Ok(())
        }
        // Another agent's conversation of the agent's sites: the agent is told it does not
        // serve it.
        Ok(Some(conversation)) if agent.reaches(conversation.site_id) => {
            live.transport
                .error(ErrorCode::Forbidden, "not a conversation you serve", None)
                .await
        }
        // Another site's conversation is answered like an id that does not exist.
        Ok(_) => {
            live.transport
                .error(ErrorCode::NotFound, "no such conversation of yours", None)
                .await
        }
        Err(e) => {
            tracing::error!(error = ?e, "typing lookup failed");
            Ok(())
        }
    }
}

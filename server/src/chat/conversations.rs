//! What agents and visitors do to a conversation besides writing in it: close it, transfer
//! it, change its priority, take it from the queue — each checked against who may, committed,
//! then told as one event.

use bellhop_protocol::api::Role;
use bellhop_protocol::frames::{
    AgentRef, Conversation, ConversationStatus, Priority, TransferTarget,
};
use bellhop_protocol::{ConversationId, TransferNote, VisitorId};

use super::{Chat, ChatError};
use crate::clock::now_millis;
use crate::events::Event;
use crate::store::{Agent, AppendRejection, HandoverNote};

impl Chat {
    /// Closes a conversation on an agent's behalf. Agents close their own chats; supervisors
    /// and admins any chat of a site they reach.
    pub async fn close(
        &self,
        agent: &Agent,
        conversation: ConversationId,
    ) -> Result<Conversation, ChatError> {
        // The store's close is conditional: an already closed chat answers `AlreadyClosed`.
        self.handled_by(agent, conversation).await?;
        self.close_now(conversation).await
    }

    /// A visitor ends their own chat.
    pub async fn close_by_visitor(
        &self,
        visitor: VisitorId,
        conversation: ConversationId,
    ) -> Result<Conversation, ChatError> {
        match self.store.conversation(conversation).await? {
            Some(c) if c.visitor_id == visitor => {}
            _ => return Err(AppendRejection::NotFound.into()),
        }
        self.close_now(conversation).await
    }

    /// Closes an open conversation (the caller checked who may) and tells both sides.
    async fn close_now(&self, conversation: ConversationId) -> Result<Conversation, ChatError> {
        let Some(closed) = self
            .store
            .close_conversation(conversation, now_millis())
            .await?
        else {
            return Err(ChatError::AlreadyClosed);
        };
        self.closed(&closed);
        Ok(closed)
    }

    /// Tells both sides a conversation closed, and lets its queue move.
    pub(super) fn closed(&self, closed: &Conversation) {
        self.emit(Event::ConversationClosed {
            conversation: closed.clone(),
        });
        self.assigner.kick(closed.site_id);
    }

    /// The conversation, if this agent may act on it: their own, or any of their sites' for
    /// supervisors and admins. Others get `not_found` (another site) or `forbidden`.
    async fn handled_by(
        &self,
        agent: &Agent,
        conversation: ConversationId,
    ) -> Result<Conversation, ChatError> {
        let Some(current) = self.store.conversation(conversation).await? else {
            return Err(AppendRejection::NotFound.into());
        };
        let own = current.agent.as_ref().map(|a| a.id) == Some(agent.id);
        let oversees = agent.role >= Role::Supervisor && agent.reaches(current.site_id);
        if own || oversees {
            Ok(current)
        } else if agent.reaches(current.site_id) {
            Err(AppendRejection::Forbidden.into())
        } else {
            Err(AppendRejection::NotFound.into())
        }
    }

    /// Like [`Chat::handled_by`], but any agent of the site may flag a waiting conversation.
    async fn handled_by_or_site(
        &self,
        agent: &Agent,
        conversation: ConversationId,
    ) -> Result<Conversation, ChatError> {
        match self.store.conversation(conversation).await? {
            Some(c) if c.status == ConversationStatus::Queued && agent.reaches(c.site_id) => Ok(c),
            _ => self.handled_by(agent, conversation).await,
        }
    }

    /// Hands a conversation to a colleague or a department. The new agent gets the whole
    /// history (and the note); the visitor hears who serves them now; the previous agent is
    /// told it is no longer theirs.
    pub async fn transfer(
        &self,
        agent: &Agent,
        conversation: ConversationId,
        to: TransferTarget,
        note: Option<String>,
    ) -> Result<Conversation, ChatError> {
        let note = TransferNote::parse_optional(note.unwrap_or_default())
            .map_err(|_| ChatError::Invalid("a transfer note has at most 2000 characters"))?
            .map(|n| n.as_str().to_owned());
        self.handled_by(agent, conversation).await?;
        let handover = note.as_deref().map(|text| HandoverNote {
            author: agent.id,
            text,
        });
        let transferred = self
            .store
            .transfer(conversation, &to, handover, now_millis())
            .await??;
        let from = match transferred.from {
            Some(id) => Some(AgentRef {
                id,
                display_name: self
                    .store
                    .agent(id)
                    .await?
                    .map(|a| a.display_name)
                    .unwrap_or_default(),
            }),
            None => None,
        };
        let conversation = transferred.conversation;
        self.emit(Event::ConversationTransferred {
            conversation: conversation.clone(),
            from,
            note,
        });
        // The note joins the conversation's timeline, for the receiver and whoever watches.
        if let Some(note) = transferred.note {
            self.emit(Event::NoteAdded {
                conversation: conversation.clone(),
                note,
            });
        }
        // The previous agent's slot is free (and a department transfer waits in a queue).
        self.assigner.kick(conversation.site_id);
        Ok(conversation)
    }

    /// An agent takes a waiting conversation from the queue view: an assignment like the
    /// router's (the same conditional update: still queued, the agent under their cap), for
    /// agents who may pick, supervisors and admins of its site. The agent receives it with
    /// its history, the visitor hears who serves them, the rest of the queue moves up.
    pub async fn pick(
        &self,
        agent: &Agent,
        conversation: ConversationId,
    ) -> Result<Conversation, ChatError> {
        let picked = self
            .store
            .try_pick(conversation, agent.id, now_millis())
            .await??;
        tracing::info!(conversation = %picked.id, agent = %agent.id, "picked from the queue");
        self.emit(Event::ConversationAssigned {
            conversation: picked.clone(),
        });
        self.assigner.kick(picked.site_id);
        Ok(picked)
    }

    /// Marks a conversation urgent or normal; the queue reorders at once.
    pub async fn set_priority(
        &self,
        agent: &Agent,
        conversation: ConversationId,
        priority: Priority,
    ) -> Result<Conversation, ChatError> {
        let current = self.handled_by_or_site(agent, conversation).await?;
        let Some(changed) = self.store.set_priority(current.id, priority).await? else {
            return Err(ChatError::AlreadyClosed);
        };
        self.emit(Event::PriorityChanged {
            conversation: changed.clone(),
        });
        self.assigner.kick(changed.site_id);
        Ok(changed)
    }
}

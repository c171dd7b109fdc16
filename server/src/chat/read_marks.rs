//! Read marks and sneak peeks: what one side tells the other about the conversation without
//! writing in it. A read mark is stored (it survives a reload) and told only when it moved; a
//! peek is never stored.

use bellhop_protocol::frames::{AuthorKind, Conversation, ConversationStatus};
use bellhop_protocol::{ConversationId, VisitorId};

use super::{Chat, ChatError};
use crate::events::{Draft, Event};
use crate::store::{Agent, AppendRejection};

impl Chat {
    /// The visitor has read their conversation up to `seq`.
    pub async fn visitor_read(
        &self,
        visitor: VisitorId,
        conversation: ConversationId,
        seq: u64,
    ) -> Result<(), ChatError> {
        match self.store.conversation(conversation).await? {
            Some(c) if c.visitor_id == visitor => self.mark_read(c, AuthorKind::Visitor, seq).await,
            _ => Err(AppendRejection::NotFound.into()),
        }
    }

    /// The agent serving the conversation has read it up to `seq`. Only the serving agent
    /// moves the agent side's mark: a colleague or supervisor looking on does not.
    pub async fn agent_read(
        &self,
        agent: &Agent,
        conversation: ConversationId,
        seq: u64,
    ) -> Result<(), ChatError> {
        match self.store.conversation(conversation).await? {
            Some(c) if c.agent.as_ref().map(|a| a.id) == Some(agent.id) => {
                self.mark_read(c, AuthorKind::Agent, seq).await
            }
            Some(c) if agent.reaches(c.site_id) => Err(AppendRejection::Forbidden.into()),
            _ => Err(AppendRejection::NotFound.into()),
        }
    }

    /// Stores the mark if it moves the reader's position and tells both parties; a mark that
    /// does not move it is neither stored nor told.
    async fn mark_read(
        &self,
        mut conversation: Conversation,
        reader: AuthorKind,
        seq: u64,
    ) -> Result<(), ChatError> {
        let current = match reader {
            AuthorKind::Visitor => conversation.visitor_read_seq,
            _ => conversation.agent_read_seq,
        };
        if seq <= current {
            return Ok(());
        }
        let Some(moved) = self.store.mark_read(conversation.id, reader, seq).await? else {
            return Ok(());
        };
        match reader {
            AuthorKind::Visitor => conversation.visitor_read_seq = moved,
            _ => conversation.agent_read_seq = moved,
        }
        self.emit(Event::ReadMarked {
            conversation,
            reader,
            seq: moved,
        });
        Ok(())
    }

    /// Relays the visitor's masked draft to the agent serving the conversation and to the
    /// agents watching it (while it is queued, only those; nobody once it is closed). Never
    /// stored.
    pub fn peek(&self, conversation: &Conversation, text: String) {
        if conversation.status == ConversationStatus::Closed {
            return;
        }
        self.emit(Event::Peek {
            conversation: conversation.clone(),
            text: Draft(text),
        });
    }
}

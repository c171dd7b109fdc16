//! Private notes and whispers: agents write beside a conversation for agents only. Who writes
//! decides the kind ([`note_kind`]); the note is stored apart from the messages and told to the
//! author, the serving agent and the agents watching — never to the visitor.

use bellhop_protocol::api::Role;
use bellhop_protocol::console::NoteKind;
use bellhop_protocol::frames::Conversation;
use bellhop_protocol::{ClientMessageId, ConversationId, MessageBody};

use super::{Chat, ChatError};
use crate::clock::now_millis;
use crate::events::Event;
use crate::store::{AddedNote, Agent, AppendRejection, NewNote};

/// What a note by `agent` in `conversation` is: the serving agent's (or anyone's of the site
/// while nobody serves it) a note, a supervisor's or admin's of the site a whisper to the
/// serving agent. A plain agent of the site who does not serve it may not; anyone else is
/// told the conversation does not exist.
pub(crate) fn note_kind(
    conversation: &Conversation,
    agent: &Agent,
) -> Result<NoteKind, AppendRejection> {
    if !agent.reaches(conversation.site_id) {
        return Err(AppendRejection::NotFound);
    }
    match &conversation.agent {
        None => Ok(NoteKind::Note),
        Some(serving) if serving.id == agent.id => Ok(NoteKind::Note),
        Some(_) if agent.role >= Role::Supervisor => Ok(NoteKind::Whisper),
        Some(_) => Err(AppendRejection::Forbidden),
    }
}

impl Chat {
    /// Stores an agent's note (or whisper) and tells the agents concerned. A resend of the same
    /// client id answers the stored note and tells nobody again.
    pub async fn note(
        &self,
        agent: &Agent,
        client_id: ClientMessageId,
        conversation: ConversationId,
        body: MessageBody,
    ) -> Result<AddedNote, ChatError> {
        let Some(current) = self.store.conversation(conversation).await? else {
            return Err(AppendRejection::NotFound.into());
        };
        let kind = note_kind(&current, agent)?;
        let added = self
            .store
            .add_note(&NewNote {
                conversation,
                kind,
                author: agent.id,
                client_id: Some(client_id),
                body: body.as_str().to_owned(),
                now: now_millis(),
            })
            .await??;
        if !added.duplicate {
            self.emit(Event::NoteAdded {
                conversation: current,
                note: added.note.clone(),
            });
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bellhop_protocol::frames::{AgentRef, ConversationStatus, Priority};
    use bellhop_protocol::{AgentId, SiteId, VisitorId};
    use uuid::Uuid;

    fn agent(n: u128, role: Role, site: u128) -> Agent {
        Agent {
            id: AgentId::from_uuid(Uuid::from_u128(n)),
            email: format!("{n}@example.test"),
            display_name: format!("agent {n}"),
            password_hash: String::new(),
            role,
            max_chats: 3,
            sites: vec![SiteId::from_uuid(Uuid::from_u128(site))],
            departments: Vec::new(),
            online: true,
            away: false,
            active: true,
            may_pick: true,
            preferences: Default::default(),
        }
    }

    fn conversation(serving: Option<u128>) -> Conversation {
        Conversation {
            id: ConversationId::from_uuid(Uuid::from_u128(1)),
            site_id: SiteId::from_uuid(Uuid::from_u128(100)),
            visitor_id: VisitorId::from_uuid(Uuid::from_u128(2)),
            department_id: None,
            priority: Priority::Normal,
            status: if serving.is_some() {
                ConversationStatus::Assigned
            } else {
                ConversationStatus::Queued
            },
            agent: serving.map(|n| AgentRef {
                id: AgentId::from_uuid(Uuid::from_u128(n)),
                display_name: format!("agent {n}"),
            }),
            last_seq: 2,
            created_at: 0,
            assigned_at: None,
            closed_at: None,
            missed: false,
            visitor_read_seq: 0,
            agent_read_seq: 0,
            rating: None,
        }
    }

    #[test]
    fn the_writer_decides_the_kind() {
        let served = conversation(Some(10));
        assert_eq!(
            note_kind(&served, &agent(10, Role::Agent, 100)),
            Ok(NoteKind::Note)
        );
        assert_eq!(
            note_kind(&served, &agent(20, Role::Supervisor, 100)),
            Ok(NoteKind::Whisper)
        );
        // An admin reaches every site.
        assert_eq!(
            note_kind(&served, &agent(30, Role::Admin, 999)),
            Ok(NoteKind::Whisper)
        );
        assert_eq!(
            note_kind(&served, &agent(40, Role::Agent, 100)),
            Err(AppendRejection::Forbidden)
        );
        assert_eq!(
            note_kind(&served, &agent(50, Role::Supervisor, 999)),
            Err(AppendRejection::NotFound)
        );
        // Nobody serves a waiting chat: whoever of the site writes, it is a note.
        let waiting = conversation(None);
        assert_eq!(
            note_kind(&waiting, &agent(40, Role::Agent, 100)),
            Ok(NoteKind::Note)
        );
        assert_eq!(
            note_kind(&waiting, &agent(20, Role::Supervisor, 100)),
            Ok(NoteKind::Note)
        );
    }
}

//! Helpers for the console's staff frames: supervisors, notes, watching, picking, and what a
//! socket received of them.

use std::time::Duration;

use bellhop_protocol::api::{AgentUpdate, NewAgentRequest, Role};
use bellhop_protocol::console::Note;
use bellhop_protocol::frames::{AgentFrame, AgentRef, Conversation, ServerFrame};
use bellhop_protocol::{ChatCap, ClientMessageId, ConversationId, MessageBody, SiteId};

use crate::{AGENT_PASSWORD, Client, TestAgent, WsClient};

impl Client {
    /// Creates an account of `role` on `sites` and logs it in.
    pub async fn create_staff(
        &self,
        name: &str,
        role: Role,
        max_chats: u32,
        sites: &[SiteId],
    ) -> TestAgent {
        let email = format!(
            "{}-{}@example.test",
            name.to_lowercase().replace(' ', "."),
            uuid::Uuid::new_v4().simple()
        );
        let request = NewAgentRequest {
            email: email.parse().expect("a valid test email"),
            display_name: name.parse().expect("a valid test name"),
            password: AGENT_PASSWORD.into(),
            role,
            max_chats: Some(ChatCap::new(max_chats).expect("a valid test cap")),
            sites: sites.to_vec(),
        };
        let response = self
            .post("/api/v1/agents", &self.admin_token, &request)
            .await;
        assert_eq!(response.status(), 201, "create {role:?} {name}");
        let login = self.login(&email, AGENT_PASSWORD).await;
        TestAgent {
            profile: login.agent,
            token: login.token,
        }
    }

    /// A supervisor of the demo site (who takes no chats), online on their own socket.
    pub async fn online_supervisor(&self, name: &str) -> (TestAgent, WsClient) {
        let supervisor = self
            .create_staff(name, Role::Supervisor, 0, &[self.demo_site.id])
            .await;
        let ws = self.connect_agent(&supervisor).await;
        (supervisor, ws)
    }

    /// Changes an agent as an admin; asserts it worked.
    pub async fn update_agent(&self, agent: &TestAgent, update: &AgentUpdate) {
        let response = self
            .patch(&format!("/api/v1/agents/{}", agent.id()), update)
            .await;
        assert_eq!(response.status(), 200, "update agent");
    }

    /// The conversation's notes, as `token` reads them.
    pub async fn notes(&self, conversation: ConversationId, token: &str) -> Vec<Note> {
        let list: bellhop_protocol::console::NoteList = self
            .get_json(
                &format!("/api/v1/conversations/{conversation}/notes"),
                token,
            )
            .await;
        list.notes
    }
}

/// A `note` frame.
pub fn note(client_id: &str, conversation_id: ConversationId, body: &str) -> AgentFrame {
    AgentFrame::Note {
        client_id: ClientMessageId::parse(client_id.into()).expect("client id"),
        conversation_id,
        body: MessageBody::parse(body.into()).expect("body"),
    }
}

/// A `watch` frame.
pub fn watch(conversation_id: Option<ConversationId>, after_seq: u64) -> AgentFrame {
    AgentFrame::Watch {
        conversation_id,
        after_seq,
    }
}

/// A `pick` frame.
pub fn pick(conversation_id: ConversationId) -> AgentFrame {
    AgentFrame::Pick { conversation_id }
}

/// Waits for a `note_added` frame and returns its note.
pub async fn next_note(ws: &mut WsClient) -> Note {
    match ws
        .expect("a note", |f| matches!(f, ServerFrame::NoteAdded { .. }))
        .await
    {
        ServerFrame::NoteAdded { note } => note,
        _ => unreachable!(),
    }
}

/// Waits for a `viewers` frame and returns the viewers' names.
pub async fn next_viewers(ws: &mut WsClient) -> Vec<String> {
    match ws
        .expect("viewers", |f| matches!(f, ServerFrame::Viewers { .. }))
        .await
    {
        ServerFrame::Viewers { viewers, .. } => names(&viewers),
        _ => unreachable!(),
    }
}

/// Waits for a `conversation_updated` frame and returns the conversation.
pub async fn next_update(ws: &mut WsClient) -> Conversation {
    match ws
        .expect("a conversation update", |f| {
            matches!(f, ServerFrame::ConversationUpdated { .. })
        })
        .await
    {
        ServerFrame::ConversationUpdated { conversation } => conversation,
        _ => unreachable!(),
    }
}

pub fn names(agents: &[AgentRef]) -> Vec<String> {
    agents.iter().map(|a| a.display_name.clone()).collect()
}

/// Every frame the socket holds (skipped ones) and receives within `wait`, as the server
/// sent them.
pub async fn drain(ws: &mut WsClient, wait: Duration) -> Vec<ServerFrame> {
    let mut frames: Vec<ServerFrame> = ws.skipped().cloned().collect();
    ws.clear_skipped();
    while let Some(Ok(frame)) = ws.try_next_frame(wait).await {
        frames.push(frame);
    }
    frames
}

/// Whether a frame is one only agents may receive about the console's views.
pub fn is_staff_frame(frame: &ServerFrame) -> bool {
    matches!(
        frame,
        ServerFrame::NoteAdded { .. }
            | ServerFrame::Viewers { .. }
            | ServerFrame::ConversationUpdated { .. }
            | ServerFrame::Queue { .. }
            | ServerFrame::Wallboard { .. }
    )
}

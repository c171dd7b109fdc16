//! The outbox: sends not yet confirmed, in the order the user made them.
//!
//! A send leaves the outbox on its `ack`, on the `message` that echoes its `client_id`, or on
//! a final `error` naming its `client_id`. Everything else keeps it, and every `welcome` sends
//! the whole outbox again, in order, under the same client ids: the server stores a resend
//! once and answers it with the first `ack` (protocol rule 7).

use bellhop_protocol::frames::Millis;
use bellhop_protocol::{ClientMessageId, ConversationId, DepartmentId, MessageBody};
use serde::{Deserialize, Serialize};

/// One unconfirmed send, exactly as it goes on the wire each time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSend {
    pub client_id: ClientMessageId,
    /// None: a visitor's send to their open conversation (opening one if there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<ConversationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    pub body: MessageBody,
    /// When the user sent it, as the caller's clock said.
    pub queued_at: Millis,
}

#[derive(Clone, Debug, Default)]
pub struct Outbox {
    entries: Vec<PendingSend>,
}

impl Outbox {
    pub fn new(entries: Vec<PendingSend>) -> Self {
        Self { entries }
    }

    pub fn push(&mut self, send: PendingSend) {
        self.entries.push(send);
    }

    pub fn contains(&self, client_id: &ClientMessageId) -> bool {
        self.entries.iter().any(|s| &s.client_id == client_id)
    }

    pub fn remove(&mut self, client_id: &ClientMessageId) -> Option<PendingSend> {
        let i = self
            .entries
            .iter()
            .position(|s| &s.client_id == client_id)?;
        Some(self.entries.remove(i))
    }

    pub fn entries(&self) -> &[PendingSend] {
        &self.entries
    }
}

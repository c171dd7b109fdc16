//! Notes: what agents write beside a conversation for agents only — the serving agent's
//! notes, a supervisor's whispers to them, and the notes transfers carry.
//!
//! Notes are not messages. They live in their own table, take no `seq` (`after_seq` places a
//! note after the conversation's last message when it was written), and no query that reads
//! messages (a socket's replay, a transcript page, the transcript mail) touches them, so
//! nothing a visitor can reach carries one. They go with their conversation when it is
//! deleted. A note written from a socket carries its author's `client_id`: a resend with the
//! same id and body answers the stored note, with another body a conflict.

use async_trait::async_trait;
use bellhop_protocol::console::{Note, NoteKind};
use bellhop_protocol::frames::Millis;
use bellhop_protocol::ids::NoteId;
use bellhop_protocol::{AgentId, ClientMessageId, ConversationId};
use uuid::Uuid;

use super::dialect::Conn;
use super::rows::{NOTE_SELECT, NoteRow, converted};
use super::{SqlStore, StoreResult, vanished};

/// A note to store: its conversation, kind (the caller decided it from who writes), author,
/// the author's client id when written from a socket, and its text.
#[derive(Clone, Debug)]
pub struct NewNote {
    pub conversation: ConversationId,
    pub kind: NoteKind,
    pub author: AgentId,
    pub client_id: Option<ClientMessageId>,
    pub body: String,
    pub now: Millis,
}

/// A stored note, and whether it was stored before (a resend of the same client id).
#[derive(Clone, Debug)]
pub struct AddedNote {
    pub note: Note,
    pub duplicate: bool,
}

/// Why a note was not stored; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteRejection {
    #[error("this client id was already used for a different note")]
    ClientIdConflict,
    #[error("no such conversation")]
    NotFound,
}

#[async_trait]
pub trait NoteStore: Send + Sync + 'static {
    /// Stores a note after the conversation's last message, or answers the stored one for a
    /// resend of the author's client id (same conversation and body).
    async fn add_note(&self, note: &NewNote) -> StoreResult<Result<AddedNote, NoteRejection>>;
    /// Every note of the conversation, oldest first.
    async fn notes(&self, conversation: ConversationId) -> StoreResult<Vec<Note>>;
}

/// Stores a note in the caller's transaction, after the conversation's last message; `None`
/// when its client id is taken (by a resend, or a different note: the caller tells which).
pub(super) async fn insert_note(
    conn: &mut Conn<'_>,
    note: &NewNote,
) -> StoreResult<Option<NoteId>> {
    let id = NoteId::from(Uuid::now_v7());
    let inserted = conn
        .conn()
        .execute(
            "INSERT INTO notes (id, conversation_id, kind, author_id, client_id, body, \
             after_seq, created_at) \
             SELECT $1, c.id, $3, $4, $5, $6, c.last_seq, $7 FROM conversations c \
             WHERE c.id = $2 \
             ON CONFLICT (author_id, client_id) WHERE client_id IS NOT NULL DO NOTHING",
            (
                id,
                note.conversation,
                note.kind.as_str(),
                note.author,
                note.client_id.as_ref().map(ClientMessageId::as_str),
                note.body.as_str(),
                note.now,
            ),
        )
        .await?;
    Ok((inserted == 1).then_some(id))
}

/// One stored note with its author's name.
pub(super) async fn load_note(conn: &mut Conn<'_>, id: NoteId) -> StoreResult<Note> {
    let sql = format!("{NOTE_SELECT} WHERE n.id = $1");
    conn.conn()
        .row_optional::<NoteRow>(&sql, (id,))
        .await?
        .ok_or_else(|| vanished("note"))?
        .try_into()
}

#[async_trait]
impl NoteStore for SqlStore {
    async fn add_note(&self, note: &NewNote) -> StoreResult<Result<AddedNote, NoteRejection>> {
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        let exists: Option<ConversationId> = conn
            .conn()
            .scalar_optional(
                "SELECT id FROM conversations WHERE id = $1",
                (note.conversation,),
            )
            .await?;
        if exists.is_none() {
            return Ok(Err(NoteRejection::NotFound));
        }
        if let Some(id) = insert_note(&mut conn, note).await? {
            let stored = load_note(&mut conn, id).await?;
            tx.commit().await?;
            return Ok(Ok(AddedNote {
                note: stored,
                duplicate: false,
            }));
        }
        // The author used this client id before: the same note again, or a conflict.
        let sql = format!("{NOTE_SELECT} WHERE n.author_id = $1 AND n.client_id = $2");
        let client_id = note.client_id.as_ref().map(ClientMessageId::as_str);
        let previous: Note = conn
            .conn()
            .row_optional::<NoteRow>(&sql, (note.author, client_id))
            .await?
            .ok_or_else(|| vanished("note with this client id"))?
            .try_into()?;
        if previous.conversation_id != note.conversation || previous.body != note.body {
            return Ok(Err(NoteRejection::ClientIdConflict));
        }
        Ok(Ok(AddedNote {
            note: previous,
            duplicate: true,
        }))
    }

    async fn notes(&self, conversation: ConversationId) -> StoreResult<Vec<Note>> {
        let sql = format!("{NOTE_SELECT} WHERE n.conversation_id = $1 ORDER BY n.created_at, n.id");
        let rows = self.read.get().rows::<NoteRow>(&sql, (conversation,));
        converted(rows.await?)
    }
}

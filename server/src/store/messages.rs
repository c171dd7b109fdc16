//! Messages: the batched, idempotent append behind every send, and reading them back.
//!
//! [`MessageStore::append_batch`] runs a whole batch in one write transaction. Each item is
//! decided before it writes anything (a resend, a refusal, or a new message), so a refused
//! item leaves no trace and its neighbours go on; a database error fails the whole batch and
//! nothing of it is committed (the group committer then retries its items one by one).
//!
//! An append may carry a file ([`NewAttachment`], its bytes already in the blob store): its
//! record goes into `attachments` in the same transaction, and the message points at it.

use async_trait::async_trait;
use bellhop_protocol::frames::{
    AuthorKind, Conversation, ConversationStatus, Message, Millis, Priority,
};
use bellhop_protocol::ids::AttachmentId;
use bellhop_protocol::{
    AgentId, ClientMessageId, ConversationId, DepartmentId, MessageBody, SiteId, VisitorId,
};
use uuid::Uuid;

use super::conversations::{load_conversation, reload_conversation};
use super::dialect::Conn;
use super::leads::claim_prechat_leads;
use super::rows::{MESSAGE_SELECT, MessageRow, converted, to_db};
use super::{SqlStore, StoreError, StoreResult};

/// Who appends a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Author {
    Visitor(VisitorId),
    Agent(AgentId),
}

/// Where a message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// An existing conversation the author takes part in.
    Conversation(ConversationId),
    /// The visitor's open conversation on the site; one is opened (queued in `department_id`,
    /// or the site's default department, with the site's automatic acknowledgement appended
    /// after the message) if there is none.
    VisitorOpen {
        site_id: SiteId,
        department_id: Option<DepartmentId>,
        /// The priority of a conversation this message opens.
        priority: Priority,
    },
}

/// One message to append. `client_id` makes a resend idempotent: the same author with the
/// same id and body gets the stored message back; with another body, a conflict.
#[derive(Clone, Debug)]
pub struct Append {
    pub author: Author,
    pub target: Target,
    pub client_id: ClientMessageId,
    pub body: MessageBody,
    pub now: Millis,
    /// The file this message carries (its name is the body), already in the blob store.
    pub attachment: Option<NewAttachment>,
}

/// A file whose bytes are stored under `blob_key`, to be recorded with the message that
/// carries it. A resend that turns out to be a duplicate records nothing: the caller then
/// deletes the blob it stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAttachment {
    pub id: AttachmentId,
    /// The type found in the file's first bytes.
    pub content_type: String,
    pub size: u64,
    pub blob_key: String,
}

/// The outcome of one committed [`Append`].
#[derive(Clone, Debug)]
pub struct Appended {
    pub message: Message,
    /// The conversation after the append.
    pub conversation: Conversation,
    /// True when this was a resend of an already stored message: nothing new was stored.
    pub duplicate: bool,
    /// True when this message opened the conversation.
    pub opened: bool,
    /// Messages the server appended after it in the same transaction (the automatic
    /// acknowledgement of a new conversation).
    pub follow_ups: Vec<Message>,
}

/// Why an [`Append`] was refused; none of these store anything.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppendRejection {
    #[error("this client id was already used for a different message")]
    ClientIdConflict,
    #[error("the conversation is closed")]
    ConversationClosed,
    #[error("no such conversation")]
    NotFound,
    #[error("no such department on this site")]
    UnknownDepartment,
    #[error("the author does not take part in this conversation")]
    Forbidden,
}

pub type AppendOutcome = Result<Appended, AppendRejection>;

impl Author {
    fn kind(self) -> AuthorKind {
        match self {
            Author::Visitor(_) => AuthorKind::Visitor,
            Author::Agent(_) => AuthorKind::Agent,
        }
    }

    /// The author's id as the `author_id` column keeps it (visitors and agents share it).
    fn uuid(self) -> Uuid {
        match self {
            Author::Visitor(id) => id.into(),
            Author::Agent(id) => id.into(),
        }
    }
}

#[async_trait]
pub trait MessageStore: Send + Sync + 'static {
    /// Appends every item in one transaction and commits before returning. Items are
    /// independent: each is refused (storing nothing) or stored, whatever the others do. The
    /// outer error means nothing of the batch was committed.
    async fn append_batch(&self, batch: &[Append]) -> StoreResult<Vec<AppendOutcome>>;
    /// Messages with `seq > after`, in order, at most `limit`.
    async fn messages_after(
        &self,
        conversation: ConversationId,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// The last `limit` messages with `after < seq < before`, in order: paging back from the
    /// newest.
    async fn messages_before(
        &self,
        conversation: ConversationId,
        after: u64,
        before: u64,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
}

async fn load_message(
    conn: &mut Conn<'_>,
    conversation: ConversationId,
    seq: i64,
) -> StoreResult<Message> {
    let sql = format!("{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.seq = $2");
    conn.conn()
        .row::<MessageRow>(&sql, (conversation, seq))
        .await?
        .try_into()
}

/// Stores one message (carrying `attachment`, already recorded in this transaction) with the
/// next seq of its conversation; returns it.
#[expect(
    clippy::too_many_arguments,
    reason = "one column each; the two callers name them all"
)]
pub(super) async fn insert_message(
    conn: &mut Conn<'_>,
    conversation: ConversationId,
    kind: AuthorKind,
    author: Option<Uuid>,
    client_id: Option<&str>,
    body: &str,
    now: Millis,
    attachment: Option<AttachmentId>,
) -> StoreResult<Message> {
    let seq: i64 = conn
        .conn()
        .scalar(
            "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
            (conversation,),
        )
        .await?;
    conn.conn()
        .execute(
            "INSERT INTO messages (conversation_id, seq, author_kind, author_id, client_id, \
             body, created_at, attachment_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            (
                conversation,
                seq,
                kind.as_str(),
                author,
                client_id,
                body,
                now,
                attachment,
            ),
        )
        .await?;
    load_message(conn, conversation, seq).await
}

/// Stores a message from the server itself (`AuthorKind::System`), e.g. a notice for the
/// visitor.
pub(super) async fn system_notice(
    conn: &mut Conn<'_>,
    conversation: ConversationId,
    body: &str,
    now: Millis,
) -> StoreResult<Message> {
    insert_message(
        conn,
        conversation,
        AuthorKind::System,
        None,
        None,
        body,
        now,
        None,
    )
    .await
}

/// The visitor's open conversation (id and site), and whether this call opened it; `None`
/// when the department asked for is not one of the site's.
async fn open_conversation_for(
    conn: &mut Conn<'_>,
    visitor: VisitorId,
    site: SiteId,
    department: Option<DepartmentId>,
    priority: Priority,
    now: Millis,
) -> StoreResult<Option<(ConversationId, SiteId, bool)>> {
    let open_one = "SELECT id, site_id FROM conversations WHERE visitor_id = $1 \
                    AND status <> 'closed'";
    let existing = conn.conn().row_optional(open_one, (visitor,)).await?;
    if let Some((id, site_id)) = existing {
        return Ok(Some((id, site_id, false)));
    }
    // The chosen department must be one of this site's; none means the default.
    let department = match department {
        Some(d) => {
            conn.conn()
                .scalar_optional(
                    "SELECT id FROM departments WHERE id = $1 AND site_id = $2",
                    (d, site),
                )
                .await?
        }
        None => conn
            .conn()
            .scalar_optional::<Option<DepartmentId>>(
                "SELECT default_department_id FROM sites WHERE id = $1",
                (site,),
            )
            .await?
            .flatten(),
    };
    let Some(department) = department else {
        return Ok(None);
    };
    let id = ConversationId::from(Uuid::now_v7());
    // Another node may open one at the same moment: the partial unique index decides, and the
    // loser uses the winner's conversation.
    let inserted = conn
        .conn()
        .execute(
            "INSERT INTO conversations (id, site_id, visitor_id, department_id, status, \
             created_at, queued_at, priority) VALUES ($1, $2, $3, $4, 'queued', $5, $5, $6) \
             ON CONFLICT (visitor_id) WHERE status <> 'closed' DO NOTHING",
            (id, site, visitor, department, now, priority.as_i64()),
        )
        .await?;
    if inserted == 1 {
        // A pre-chat form sent just before belongs to the chat it opened.
        claim_prechat_leads(conn, visitor, id, now).await?;
        return Ok(Some((id, site, true)));
    }
    let (id, site_id) = conn.conn().row(open_one, (visitor,)).await?;
    Ok(Some((id, site_id, false)))
}

/// One append inside the batch transaction. Every rejection is decided before anything is
/// written, so a rejected item leaves no trace.
async fn append_one(conn: &mut Conn<'_>, item: &Append) -> StoreResult<AppendOutcome> {
    let author = item.author.uuid();
    let previous: Option<(ConversationId, i64, String, Option<AttachmentId>)> = conn
        .conn()
        .row_optional(
            "SELECT conversation_id, seq, body, attachment_id FROM messages \
             WHERE author_id = $1 AND client_id = $2",
            (author, item.client_id.as_str()),
        )
        .await?;
    if let Some((conversation, seq, body, attachment)) = previous {
        let same_target = match &item.target {
            Target::Conversation(id) => *id == conversation,
            Target::VisitorOpen { .. } => true,
        };
        // A file and a text never answer for each other, whatever their names.
        let same_kind = attachment.is_some() == item.attachment.is_some();
        if body != item.body.as_str() || !same_target || !same_kind {
            return Ok(Err(AppendRejection::ClientIdConflict));
        }
        let message = load_message(conn, conversation, seq).await?;
        let conversation = load_conversation(conn, conversation)
            .await?
            .ok_or_else(|| StoreError::Corrupt("message without conversation".into()))?;
        return Ok(Ok(Appended {
            message,
            conversation,
            duplicate: true,
            opened: false,
            follow_ups: Vec::new(),
        }));
    }

    let (conversation, opened) = match (&item.target, item.author) {
        (Target::Conversation(id), _) => {
            let Some(conversation) = load_conversation(conn, *id).await? else {
                return Ok(Err(AppendRejection::NotFound));
            };
            let takes_part = match item.author {
                Author::Visitor(visitor) => conversation.visitor_id == visitor,
                Author::Agent(agent) => conversation.agent.as_ref().map(|a| a.id) == Some(agent),
            };
            if !takes_part {
                return Ok(Err(match item.author {
                    // A visitor learns nothing about conversations that are not theirs.
                    Author::Visitor(_) => AppendRejection::NotFound,
                    Author::Agent(_) => AppendRejection::Forbidden,
                }));
            }
            if conversation.status == ConversationStatus::Closed {
                return Ok(Err(AppendRejection::ConversationClosed));
            }
            (*id, false)
        }
        (
            Target::VisitorOpen {
                site_id,
                department_id,
                priority,
            },
            Author::Visitor(visitor),
        ) => {
            let Some((id, site, opened)) =
                open_conversation_for(conn, visitor, *site_id, *department_id, *priority, item.now)
                    .await?
            else {
                return Ok(Err(AppendRejection::UnknownDepartment));
            };
            if site != *site_id {
                return Ok(Err(AppendRejection::Forbidden));
            }
            (id, opened)
        }
        (Target::VisitorOpen { .. }, Author::Agent(_)) => {
            return Ok(Err(AppendRejection::Forbidden));
        }
    };

    if let Some(file) = &item.attachment {
        conn.conn()
            .execute(
                "INSERT INTO attachments (id, conversation_id, uploader_kind, uploader_id, name, \
                 content_type, size, blob_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                (
                    file.id,
                    conversation,
                    item.author.kind().as_str(),
                    author,
                    item.body.as_str(),
                    file.content_type.as_str(),
                    to_db(file.size),
                    file.blob_key.as_str(),
                    item.now,
                ),
            )
            .await?;
    }
    let message = insert_message(
        conn,
        conversation,
        item.author.kind(),
        Some(author),
        Some(item.client_id.as_str()),
        item.body.as_str(),
        item.now,
        item.attachment.as_ref().map(|f| f.id),
    )
    .await?;
    // Inactivity counts from the visitor's last word; an agent's first word means the chat
    // was answered (not missed).
    match item.author {
        Author::Visitor(_) => {
            conn.conn()
                .execute(
                    "UPDATE conversations SET last_visitor_at = $2 WHERE id = $1",
                    (conversation, item.now),
                )
                .await?
        }
        Author::Agent(_) => {
            conn.conn()
                .execute(
                    "UPDATE conversations SET agent_replied = TRUE WHERE id = $1",
                    (conversation,),
                )
                .await?
        }
    };
    let mut follow_ups = Vec::new();
    if opened {
        let auto_reply: String = conn
            .conn()
            .scalar(
                "SELECT s.auto_reply FROM sites s JOIN conversations c ON c.site_id = s.id \
                 WHERE c.id = $1",
                (conversation,),
            )
            .await?;
        if !auto_reply.trim().is_empty() {
            follow_ups.push(system_notice(conn, conversation, &auto_reply, item.now).await?);
        }
    }
    let conversation = reload_conversation(conn, conversation).await?;
    Ok(Ok(Appended {
        message,
        conversation,
        duplicate: false,
        opened,
        follow_ups,
    }))
}

#[async_trait]
impl MessageStore for SqlStore {
    async fn append_batch(&self, batch: &[Append]) -> StoreResult<Vec<AppendOutcome>> {
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        let mut outcomes = Vec::with_capacity(batch.len());
        for item in batch {
            outcomes.push(append_one(&mut conn, item).await?);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn messages_after(
        &self,
        conversation: ConversationId,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let sql = format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3"
        );
        let rows = self
            .read
            .get()
            .rows::<MessageRow>(&sql, (conversation, to_db(after), i64::from(limit)));
        converted(rows.await?)
    }

    async fn messages_before(
        &self,
        conversation: ConversationId,
        after: u64,
        before: u64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let sql = format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.seq > $2 AND m.seq < $3 \
             ORDER BY m.seq DESC LIMIT $4"
        );
        let binds = (conversation, to_db(after), to_db(before), i64::from(limit));
        let rows = self.read.get().rows::<MessageRow>(&sql, binds);
        let mut messages: Vec<Message> = converted(rows.await?)?;
        messages.reverse();
        Ok(messages)
    }
}

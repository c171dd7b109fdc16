//! Row types shared by both stores (their column types decode the same on SQLite and
//! PostgreSQL) and their conversion into protocol types.

use bellhop_protocol::api::{Role, SiteSettings};
use bellhop_protocol::frames::{AgentRef, AuthorKind, Conversation, ConversationStatus, Message};
use bellhop_protocol::{AgentId, ClientMessageId, ConversationId, SiteId, VisitorId};
use uuid::Uuid;

use super::{Agent, Candidate, StoreError, StoreResult};

/// Columns: see [`CONVERSATION_COLUMNS`].
#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRow {
    id: Uuid,
    site_id: Uuid,
    visitor_id: Uuid,
    status: String,
    agent_id: Option<Uuid>,
    agent_name: Option<String>,
    last_seq: i64,
    created_at: i64,
    assigned_at: Option<i64>,
    closed_at: Option<i64>,
}

/// `SELECT {CONVERSATION_COLUMNS} FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id`
pub(crate) const CONVERSATION_SELECT: &str = "SELECT c.id, c.site_id, c.visitor_id, c.status, \
     c.agent_id, a.display_name AS agent_name, c.last_seq, c.created_at, c.assigned_at, \
     c.closed_at FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id";

impl TryFrom<ConversationRow> for Conversation {
    type Error = StoreError;

    fn try_from(row: ConversationRow) -> StoreResult<Self> {
        let status = ConversationStatus::parse(&row.status)
            .ok_or_else(|| StoreError::Corrupt(format!("conversation status {:?}", row.status)))?;
        Ok(Conversation {
            id: ConversationId::from_uuid(row.id),
            site_id: SiteId::from_uuid(row.site_id),
            visitor_id: VisitorId::from_uuid(row.visitor_id),
            status,
            agent: row.agent_id.map(|id| AgentRef {
                id: AgentId::from_uuid(id),
                display_name: row.agent_name.unwrap_or_default(),
            }),
            last_seq: seq(row.last_seq)?,
            created_at: row.created_at,
            assigned_at: row.assigned_at,
            closed_at: row.closed_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    conversation_id: Uuid,
    seq: i64,
    author_kind: String,
    author_name: Option<String>,
    client_id: Option<String>,
    body: String,
    created_at: i64,
}

pub(crate) const MESSAGE_SELECT: &str = "SELECT m.conversation_id, m.seq, m.author_kind, \
     a.display_name AS author_name, m.client_id, m.body, m.created_at FROM messages m \
     LEFT JOIN agents a ON m.author_kind = 'agent' AND a.id = m.author_id";

impl TryFrom<MessageRow> for Message {
    type Error = StoreError;

    fn try_from(row: MessageRow) -> StoreResult<Self> {
        let author = AuthorKind::parse(&row.author_kind)
            .ok_or_else(|| StoreError::Corrupt(format!("author kind {:?}", row.author_kind)))?;
        let client_id = row
            .client_id
            .map(ClientMessageId::parse)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("client id: {e}")))?;
        Ok(Message {
            conversation_id: ConversationId::from_uuid(row.conversation_id),
            seq: seq(row.seq)?,
            author,
            author_name: row.author_name,
            client_id,
            body: row.body,
            sent_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SiteRow {
    id: Uuid,
    name: String,
    widget_key: String,
    allowed_origins: String,
    auto_reply: String,
}

pub(crate) const SITE_SELECT: &str =
    "SELECT id, name, widget_key, allowed_origins, auto_reply FROM sites";

impl TryFrom<SiteRow> for SiteSettings {
    type Error = StoreError;

    fn try_from(row: SiteRow) -> StoreResult<Self> {
        let allowed_origins = serde_json::from_str(&row.allowed_origins)
            .map_err(|e| StoreError::Corrupt(format!("allowed origins: {e}")))?;
        Ok(SiteSettings {
            id: SiteId::from_uuid(row.id),
            name: row.name,
            widget_key: row.widget_key,
            allowed_origins,
            auto_reply: row.auto_reply,
        })
    }
}

pub(crate) fn origins_json(origins: &[String]) -> String {
    serde_json::Value::from(origins.to_vec()).to_string()
}

#[derive(sqlx::FromRow)]
pub(crate) struct AgentRow {
    pub(crate) id: Uuid,
    email: String,
    display_name: String,
    password_hash: String,
    role: String,
    max_chats: i64,
}

pub(crate) const AGENT_SELECT: &str =
    "SELECT id, email, display_name, password_hash, role, max_chats FROM agents";

impl AgentRow {
    pub(crate) fn into_agent(self, sites: Vec<Uuid>) -> StoreResult<Agent> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| StoreError::Corrupt(format!("role {:?}", self.role)))?;
        Ok(Agent {
            id: AgentId::from_uuid(self.id),
            email: self.email,
            display_name: self.display_name,
            password_hash: self.password_hash,
            role,
            max_chats: count(self.max_chats)?,
            sites: sites.into_iter().map(SiteId::from_uuid).collect(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CandidateRow {
    id: Uuid,
    open_chats: i64,
    max_chats: i64,
    idle_since: i64,
}

impl TryFrom<CandidateRow> for Candidate {
    type Error = StoreError;

    fn try_from(row: CandidateRow) -> StoreResult<Self> {
        Ok(Candidate {
            agent_id: AgentId::from_uuid(row.id),
            open_chats: count(row.open_chats)?,
            max_chats: count(row.max_chats)?,
            idle_since: row.idle_since,
        })
    }
}

fn seq(value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative seq {value}")))
}

fn count(value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("count out of range {value}")))
}

/// Seq and counts go to the database as `i64`; they never come near the limit.
pub(crate) fn to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

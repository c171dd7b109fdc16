//! Row types shared by both stores (their column types decode the same on SQLite and
//! PostgreSQL) and their conversion into protocol types.

use bellhop_protocol::api::{
    Department, Lead, LeadKind, PageContext, Role, RoutingCandidate, RoutingDecision, RoutingRule,
    SiteSettings, Utm,
};
use bellhop_protocol::console::{Note, NoteKind};
use bellhop_protocol::frames::{
    AgentRef, Attachment, AuthorKind, Conversation, ConversationStatus, Message, Priority, Rating,
};
use bellhop_protocol::ids::{AttachmentId, NoteId};
use bellhop_protocol::{
    AgentId, ClientMessageId, ConversationId, DepartmentId, LeadId, SiteId, VisitorId,
};

use super::{Agent, Candidate, StoreError, StoreResult};

/// Rows as read (`Option<R>` or `Vec<R>`) turned into what they stand for, for every row type
/// `R` that converts into `T`.
pub(crate) trait Converted<T> {
    fn converted(self) -> StoreResult<T>;
}

impl<R, T: TryFrom<R, Error = StoreError>> Converted<Option<T>> for Option<R> {
    fn converted(self) -> StoreResult<Option<T>> {
        self.map(T::try_from).transpose()
    }
}

impl<R, T: TryFrom<R, Error = StoreError>> Converted<Vec<T>> for Vec<R> {
    fn converted(self) -> StoreResult<Vec<T>> {
        self.into_iter().map(T::try_from).collect()
    }
}

/// `rows.converted()`, where the caller's type says what the rows become.
pub(crate) fn converted<T>(rows: impl Converted<T>) -> StoreResult<T> {
    rows.converted()
}

/// A row of [`CONVERSATION_SELECT`].
#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRow {
    id: ConversationId,
    site_id: SiteId,
    visitor_id: VisitorId,
    department_id: Option<DepartmentId>,
    priority: i64,
    status: String,
    agent_id: Option<AgentId>,
    agent_name: Option<String>,
    last_seq: i64,
    created_at: i64,
    assigned_at: Option<i64>,
    closed_at: Option<i64>,
    missed: bool,
    rating_score: Option<i64>,
    rating_comment: Option<String>,
    rated_at: Option<i64>,
    visitor_read_seq: i64,
    agent_read_seq: i64,
}

/// A conversation with its agent's display name; callers append `WHERE` and `ORDER BY`.
pub(crate) const CONVERSATION_SELECT: &str = "SELECT c.id, c.site_id, c.visitor_id, \
     c.department_id, c.priority, c.status, \
     c.agent_id, a.display_name AS agent_name, c.last_seq, c.created_at, c.assigned_at, \
     c.closed_at, c.missed, c.visitor_read_seq, c.agent_read_seq, \
     c.rating_score, c.rating_comment, c.rated_at \
     FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id";

impl TryFrom<ConversationRow> for Conversation {
    type Error = StoreError;

    fn try_from(row: ConversationRow) -> StoreResult<Self> {
        let status = known(
            "conversation status",
            &row.status,
            ConversationStatus::parse,
        )?;
        Ok(Conversation {
            id: row.id,
            site_id: row.site_id,
            visitor_id: row.visitor_id,
            department_id: row.department_id,
            priority: Priority::from_i64(row.priority),
            status,
            agent: row.agent_id.map(|id| AgentRef {
                id,
                display_name: row.agent_name.unwrap_or_default(),
            }),
            last_seq: seq(row.last_seq)?,
            created_at: row.created_at,
            assigned_at: row.assigned_at,
            closed_at: row.closed_at,
            missed: row.missed,
            visitor_read_seq: seq(row.visitor_read_seq)?,
            agent_read_seq: seq(row.agent_read_seq)?,
            rating: rating(row.rating_score, row.rating_comment, row.rated_at)?,
        })
    }
}

/// The rating columns of a conversation: all three set once rated, all NULL before.
fn rating(
    score: Option<i64>,
    comment: Option<String>,
    rated_at: Option<i64>,
) -> StoreResult<Option<Rating>> {
    match (score, rated_at) {
        (Some(score), Some(rated_at)) => Ok(Some(Rating {
            score: u8::try_from(score)
                .map_err(|_| StoreError::Corrupt(format!("rating score {score}")))?,
            comment,
            rated_at,
        })),
        (None, None) => Ok(None),
        _ => Err(StoreError::Corrupt(
            "a rating without its score or time".into(),
        )),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    conversation_id: ConversationId,
    seq: i64,
    author_kind: String,
    author_name: Option<String>,
    client_id: Option<String>,
    body: String,
    created_at: i64,
    attachment_id: Option<AttachmentId>,
    attachment_name: Option<String>,
    attachment_type: Option<String>,
    attachment_size: Option<i64>,
}

/// A message with its author's display name and the file it carries, if any; callers append
/// `WHERE` and `ORDER BY`.
pub(crate) const MESSAGE_SELECT: &str = "SELECT m.conversation_id, m.seq, m.author_kind, \
     a.display_name AS author_name, m.client_id, m.body, m.created_at, \
     f.id AS attachment_id, f.name AS attachment_name, f.content_type AS attachment_type, \
     f.size AS attachment_size FROM messages m \
     LEFT JOIN agents a ON m.author_kind = 'agent' AND a.id = m.author_id \
     LEFT JOIN attachments f ON f.id = m.attachment_id";

impl TryFrom<MessageRow> for Message {
    type Error = StoreError;

    fn try_from(row: MessageRow) -> StoreResult<Self> {
        let author = known("author kind", &row.author_kind, AuthorKind::parse)?;
        let client_id = row
            .client_id
            .map(ClientMessageId::parse)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("client id: {e}")))?;
        let attachment = match row.attachment_id {
            Some(id) => Some(Attachment {
                id,
                name: row.attachment_name.unwrap_or_default(),
                content_type: row.attachment_type.unwrap_or_default(),
                size: u64::try_from(row.attachment_size.unwrap_or_default())
                    .map_err(|_| StoreError::Corrupt("negative attachment size".into()))?,
            }),
            None => None,
        };
        Ok(Message {
            conversation_id: row.conversation_id,
            seq: seq(row.seq)?,
            author,
            author_name: row.author_name,
            client_id,
            body: row.body,
            sent_at: row.created_at,
            attachment,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct NoteRow {
    id: NoteId,
    conversation_id: ConversationId,
    kind: String,
    author_id: AgentId,
    author_name: String,
    client_id: Option<String>,
    body: String,
    after_seq: i64,
    created_at: i64,
}

/// A note with its author's display name; callers append `WHERE` and `ORDER BY`.
pub(crate) const NOTE_SELECT: &str = "SELECT n.id, n.conversation_id, n.kind, n.author_id, \
     a.display_name AS author_name, n.client_id, n.body, n.after_seq, n.created_at \
     FROM notes n JOIN agents a ON a.id = n.author_id";

impl TryFrom<NoteRow> for Note {
    type Error = StoreError;

    fn try_from(row: NoteRow) -> StoreResult<Self> {
        let client_id = row
            .client_id
            .map(ClientMessageId::parse)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("note client id: {e}")))?;
        Ok(Note {
            id: row.id,
            conversation_id: row.conversation_id,
            kind: known("note kind", &row.kind, NoteKind::parse)?,
            author: AgentRef {
                id: row.author_id,
                display_name: row.author_name,
            },
            body: row.body,
            client_id,
            after_seq: seq(row.after_seq)?,
            created_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SiteRow {
    id: SiteId,
    name: String,
    widget_key: String,
    allowed_origins: String,
    auto_reply: String,
    default_department_id: Option<DepartmentId>,
    config: String,
}

pub(crate) const SITE_SELECT: &str = "SELECT id, name, widget_key, allowed_origins, auto_reply, \
     default_department_id, config FROM sites";

impl TryFrom<SiteRow> for SiteSettings {
    type Error = StoreError;

    fn try_from(row: SiteRow) -> StoreResult<Self> {
        let allowed_origins = from_json("allowed origins", &row.allowed_origins)?;
        Ok(SiteSettings {
            id: row.id,
            name: row.name,
            widget_key: row.widget_key,
            allowed_origins,
            auto_reply: row.auto_reply,
            default_department_id: row
                .default_department_id
                .ok_or_else(|| StoreError::Corrupt("site without a default department".into()))?,
            config: from_json("site config", &row.config)?,
        })
    }
}

pub(crate) fn origins_json(origins: &[String]) -> String {
    serde_json::Value::from(origins.to_vec()).to_string()
}

#[derive(sqlx::FromRow)]
pub(crate) struct AgentRow {
    pub(crate) id: AgentId,
    email: String,
    display_name: String,
    password_hash: String,
    role: String,
    max_chats: i64,
    online: bool,
    away: bool,
    active: bool,
    preferences: String,
    may_pick: bool,
}

pub(crate) const AGENT_SELECT: &str = "SELECT id, email, display_name, password_hash, role, \
     max_chats, online, away, active, preferences, may_pick FROM agents";

impl AgentRow {
    pub(crate) fn into_agent(
        self,
        sites: Vec<SiteId>,
        departments: Vec<DepartmentId>,
    ) -> StoreResult<Agent> {
        let role = known("role", &self.role, Role::parse)?;
        Ok(Agent {
            id: self.id,
            email: self.email,
            display_name: self.display_name,
            password_hash: self.password_hash,
            role,
            max_chats: count(self.max_chats)?,
            sites,
            departments,
            online: self.online,
            away: self.away,
            active: self.active,
            preferences: from_json("agent preferences", &self.preferences)?,
            may_pick: self.may_pick,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CandidateRow {
    id: AgentId,
    open_chats: i64,
    max_chats: i64,
    idle_since: i64,
    sticky: bool,
}

impl TryFrom<CandidateRow> for Candidate {
    type Error = StoreError;

    fn try_from(row: CandidateRow) -> StoreResult<Self> {
        Ok(Candidate {
            agent_id: row.id,
            open_chats: count(row.open_chats)?,
            max_chats: count(row.max_chats)?,
            idle_since: row.idle_since,
            sticky: row.sticky,
        })
    }
}

impl From<&Candidate> for RoutingCandidate {
    fn from(c: &Candidate) -> Self {
        RoutingCandidate {
            agent_id: c.agent_id,
            open_chats: c.open_chats,
            max_chats: c.max_chats,
            idle_since: c.idle_since,
            sticky: c.sticky,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DepartmentRow {
    id: DepartmentId,
    site_id: SiteId,
    name: String,
    fallback_id: Option<DepartmentId>,
    hours: Option<String>,
}

pub(crate) const DEPARTMENT_SELECT: &str =
    "SELECT id, site_id, name, fallback_id, hours FROM departments";

impl TryFrom<DepartmentRow> for Department {
    type Error = StoreError;

    fn try_from(row: DepartmentRow) -> StoreResult<Self> {
        Ok(Department {
            id: row.id,
            site_id: row.site_id,
            name: row.name,
            fallback_id: row.fallback_id,
            hours: row
                .hours
                .map(|h| from_json("department hours", &h))
                .transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LeadRow {
    id: LeadId,
    site_id: SiteId,
    visitor_id: Option<VisitorId>,
    kind: String,
    department_id: Option<DepartmentId>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    message: Option<String>,
    custom: String,
    consent: bool,
    landing_page: Option<String>,
    current_page: Option<String>,
    referrer: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    utm_term: Option<String>,
    utm_content: Option<String>,
    created_at: i64,
    conversation_id: Option<ConversationId>,
}

pub(crate) const LEAD_SELECT: &str = "SELECT id, site_id, visitor_id, kind, department_id, name, \
     email, phone, message, custom, consent, landing_page, current_page, referrer, utm_source, \
     utm_medium, utm_campaign, utm_term, utm_content, created_at, conversation_id FROM leads";

impl TryFrom<LeadRow> for Lead {
    type Error = StoreError;

    fn try_from(row: LeadRow) -> StoreResult<Self> {
        Ok(Lead {
            id: row.id,
            site_id: row.site_id,
            visitor_id: row.visitor_id,
            kind: known("lead kind", &row.kind, LeadKind::parse)?,
            department_id: row.department_id,
            name: row.name,
            email: row.email,
            phone: row.phone,
            message: row.message,
            custom: from_json("lead custom fields", &row.custom)?,
            consent: row.consent,
            page: PageContext {
                landing_page: row.landing_page,
                current_page: row.current_page,
                referrer: row.referrer,
            },
            utm: Utm {
                source: row.utm_source,
                medium: row.utm_medium,
                campaign: row.utm_campaign,
                term: row.utm_term,
                content: row.utm_content,
            },
            created_at: row.created_at,
            conversation_id: row.conversation_id,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DecisionRow {
    decided_at: i64,
    agent_id: Option<AgentId>,
    department_id: Option<DepartmentId>,
    rule: String,
    candidates: String,
    note: Option<String>,
}

impl TryFrom<DecisionRow> for RoutingDecision {
    type Error = StoreError;

    fn try_from(row: DecisionRow) -> StoreResult<Self> {
        Ok(RoutingDecision {
            decided_at: row.decided_at,
            agent_id: row.agent_id,
            department_id: row.department_id,
            rule: known("routing rule", &row.rule, RoutingRule::parse)?,
            candidates: from_json("routing candidates", &row.candidates)?,
            note: row.note,
        })
    }
}

/// A settings value as the database keeps it (JSON text).
pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// The candidates as the audit stores them.
pub(crate) fn candidates_json(candidates: &[Candidate]) -> String {
    let list: Vec<RoutingCandidate> = candidates.iter().map(RoutingCandidate::from).collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}

/// A stored name (status, kind, role, rule) as `parse` reads it; one it does not know means
/// the stored data is corrupt.
fn known<T>(what: &str, stored: &str, parse: impl FnOnce(&str) -> Option<T>) -> StoreResult<T> {
    parse(stored).ok_or_else(|| StoreError::Corrupt(format!("{what} {stored:?}")))
}

/// Stored JSON text decoded; text that does not decode means the stored data is corrupt.
fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn seq(value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative seq {value}")))
}

pub(crate) fn count(value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("count out of range {value}")))
}

/// Seq and counts go to the database as `i64`; they never come near the limit.
pub(crate) fn to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

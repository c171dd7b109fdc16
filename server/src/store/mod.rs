//! Storage: the database is the source of truth for everything that must survive a restart.
//!
//! [`Store`] is the seam; [`sqlite::SqliteStore`] (default, embedded, WAL with
//! `synchronous=FULL`) and [`postgres::PostgresStore`] (`synchronous_commit=on`) implement it,
//! and one shared test suite (`tests/`) runs against both. [`commit::GroupCommit`] sits in
//! front of [`Store::append_batch`] and turns concurrent sends into shared transactions.
//!
//! Timestamps are milliseconds since the Unix epoch; ids are UUIDs.

pub mod commit;
pub mod postgres;
mod rows;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use bellhop_protocol::api::{
    BusinessHours, Department, Lead, LeadKind, Role, RoutingDecision, SiteSettings,
    SiteSettingsUpdate,
};
use bellhop_protocol::frames::{
    AgentStatus, AuthorKind, Conversation, Message, Millis, Priority, TransferTarget,
};
use bellhop_protocol::{
    AgentId, ClientMessageId, ConversationId, DepartmentId, MessageBody, SiteId, VisitorId,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unique constraint violated")]
    Duplicate,
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://...")]
    UnsupportedUrl(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Opens the store a URL names and runs its migrations.
pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            sqlite::SqliteStore::connect(url, max_connections).await?,
        ))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(
            postgres::PostgresStore::connect(url, max_connections).await?,
        ))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

/// An agent account as stored.
#[derive(Clone, Debug)]
pub struct Agent {
    pub id: AgentId,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub max_chats: u32,
    pub sites: Vec<SiteId>,
    pub departments: Vec<DepartmentId>,
    /// Connected (on some node).
    pub online: bool,
    /// Keeps current chats, takes no new ones.
    pub away: bool,
}

impl Agent {
    pub fn status(&self) -> AgentStatus {
        match (self.online, self.away) {
            (false, _) => AgentStatus::Offline,
            (true, true) => AgentStatus::Away,
            (true, false) => AgentStatus::Online,
        }
    }

    /// Whether the agent works on this site (admins reach every site).
    pub fn reaches(&self, site: SiteId) -> bool {
        self.role == Role::Admin || self.sites.contains(&site)
    }
}

#[derive(Clone, Debug)]
pub struct NewAgent {
    pub id: AgentId,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub max_chats: u32,
    pub sites: Vec<SiteId>,
    pub now: Millis,
}

#[derive(Clone, Debug)]
pub struct NewSite {
    pub id: SiteId,
    /// The site's first department ("General"), its default queue.
    pub default_department_id: DepartmentId,
    pub name: String,
    pub widget_key: String,
    pub allowed_origins: Vec<String>,
    pub auto_reply: String,
    pub now: Millis,
}

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

/// An agent who could take a conversation, as the router sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub agent_id: AgentId,
    pub open_chats: u32,
    pub max_chats: u32,
    /// When the agent was last given a conversation (or came online), for longest-idle order.
    pub idle_since: Millis,
    /// This agent served the visitor's previous conversation.
    pub sticky: bool,
}

/// What the router decided, for [`Store::try_assign`] to apply and record.
#[derive(Clone, Debug)]
pub struct Assignment {
    pub conversation: ConversationId,
    pub agent: AgentId,
    /// The department whose agents were considered: the conversation's own, or its fallback.
    pub via_department: DepartmentId,
    pub rule: &'static str,
    pub candidates: Vec<Candidate>,
}

/// A waiting conversation and its place in its department's queue (1 = next).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    pub conversation_id: ConversationId,
    pub visitor_id: VisitorId,
    pub department_id: DepartmentId,
    pub position: u32,
}

#[derive(Clone, Debug)]
pub struct NewDepartment {
    pub id: DepartmentId,
    pub site_id: SiteId,
    pub name: String,
    pub fallback_id: Option<DepartmentId>,
    pub hours: Option<BusinessHours>,
    pub now: Millis,
}

/// Which leads to list.
#[derive(Clone, Debug, Default)]
pub struct LeadFilter {
    /// Only these sites (`None`: any).
    pub sites: Option<Vec<SiteId>>,
    pub kind: Option<LeadKind>,
    /// Created at or after.
    pub from: Option<Millis>,
    /// Created before.
    pub to: Option<Millis>,
}

/// A chat closed for inactivity, with the message stored for the visitor.
#[derive(Clone, Debug)]
pub struct ClosedInactive {
    pub conversation: Conversation,
    pub notice: Message,
}

/// A conversation put back in the queue because its agent stayed away past the grace period,
/// with the notice stored for the visitor.
#[derive(Clone, Debug)]
pub struct Requeued {
    pub conversation: Conversation,
    pub previous_agent: AgentId,
    pub notice: Message,
}

/// A transfer that happened.
#[derive(Clone, Debug)]
pub struct Transferred {
    pub conversation: Conversation,
    pub from: Option<AgentId>,
}

/// Why a transfer was refused; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransferRejection {
    #[error("no such conversation")]
    NotFound,
    #[error("the conversation is closed")]
    Closed,
    #[error("that agent is not online and available")]
    AgentUnavailable,
    #[error("that agent has no room under their chat cap")]
    AgentFull,
    #[error("no such department on this site")]
    DepartmentNotFound,
    #[error("the conversation is already with that agent")]
    SameAgent,
}

/// Filters for listing conversations.
#[derive(Clone, Debug, Default)]
pub struct ConversationFilter {
    /// Only these sites (`None`: any).
    pub sites: Option<Vec<SiteId>>,
    pub agent: Option<AgentId>,
    pub visitor: Option<VisitorId>,
    /// Only conversations not closed.
    pub open_only: bool,
    pub limit: u32,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs.
    fn backend(&self) -> &'static str;

    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> StoreResult<()>;

    /// The named secret, storing `fresh` first if there is none yet.
    async fn secret(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>>;

    async fn agent_count(&self) -> StoreResult<u64>;

    // --- sites ---
    async fn create_site(&self, site: NewSite) -> StoreResult<SiteSettings>;
    async fn site(&self, id: SiteId) -> StoreResult<Option<SiteSettings>>;
    async fn site_by_widget_key(&self, key: &str) -> StoreResult<Option<SiteSettings>>;
    /// `None` lists every site.
    async fn sites(&self, only: Option<&[SiteId]>) -> StoreResult<Vec<SiteSettings>>;
    async fn update_site(
        &self,
        id: SiteId,
        update: SiteSettingsUpdate,
    ) -> StoreResult<Option<SiteSettings>>;

    // --- agents and sessions ---
    /// Fails with [`StoreError::Duplicate`] if the email is taken.
    async fn create_agent(&self, agent: NewAgent) -> StoreResult<Agent>;
    async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>>;
    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<Agent>>;
    async fn agents(&self) -> StoreResult<Vec<Agent>>;
    async fn create_session(
        &self,
        token_hash: &[u8],
        agent: AgentId,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// The agent whose unexpired session this is.
    async fn session_agent(&self, token_hash: &[u8], now: Millis) -> StoreResult<Option<AgentId>>;
    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()>;

    // --- presence ---
    /// The agent's first connection: online, grace period over.
    async fn agent_connected(&self, agent: AgentId, now: Millis) -> StoreResult<()>;
    /// The agent's last connection ended: offline; their chats stay theirs until the grace
    /// period after `now` runs out.
    async fn agent_disconnected(&self, agent: AgentId, now: Millis) -> StoreResult<()>;
    async fn set_agent_away(&self, agent: AgentId, away: bool) -> StoreResult<()>;
    /// Marks every agent offline, starting their grace period now (at start-up of a single
    /// node: nobody is connected yet, and agents who were get the grace period to return).
    async fn reset_presence(&self, now: Millis) -> StoreResult<()>;
    /// Puts every chat of agents offline since before `cutoff` back at the front of its queue,
    /// storing `notice` for each visitor.
    async fn requeue_abandoned(
        &self,
        cutoff: Millis,
        now: Millis,
        notice: &str,
    ) -> StoreResult<Vec<Requeued>>;

    // --- agents' settings ---
    async fn set_agent_cap(&self, agent: AgentId, max_chats: u32) -> StoreResult<()>;
    /// Replaces the agent's departments.
    async fn set_agent_departments(
        &self,
        agent: AgentId,
        departments: &[DepartmentId],
    ) -> StoreResult<()>;

    // --- departments ---
    async fn create_department(&self, department: NewDepartment) -> StoreResult<Department>;
    async fn department(&self, id: DepartmentId) -> StoreResult<Option<Department>>;
    async fn departments(&self, site: SiteId) -> StoreResult<Vec<Department>>;

    // --- visitors ---
    async fn ensure_visitor(&self, id: VisitorId, site: SiteId, now: Millis) -> StoreResult<()>;
    /// Records a verified identity: the site's user id and attributes (JSON object).
    async fn set_visitor_identity(
        &self,
        id: VisitorId,
        user_id: &str,
        attributes: &str,
    ) -> StoreResult<()>;
    /// The verified attributes of a visitor (JSON object text; `{}` when none).
    async fn visitor_attributes(&self, id: VisitorId) -> StoreResult<Option<String>>;

    // --- messages ---
    /// Appends every item in one transaction (each isolated in a savepoint, so one rejection
    /// does not undo the others) and commits before returning. The outer error means nothing
    /// was committed.
    async fn append_batch(&self, batch: &[Append]) -> StoreResult<Vec<AppendOutcome>>;
    /// Messages with `seq > after`, in order, at most `limit`.
    async fn messages_after(
        &self,
        conversation: ConversationId,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;

    // --- conversations ---
    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>>;
    async fn conversations(&self, filter: &ConversationFilter) -> StoreResult<Vec<Conversation>>;
    /// Closes an open conversation; `None` if it was not open.
    async fn close_conversation(
        &self,
        id: ConversationId,
        now: Millis,
    ) -> StoreResult<Option<Conversation>>;

    // --- routing ---
    /// For each department of the site with a waiting conversation, the one to serve next:
    /// urgent before normal, re-queued before new, then arrival order.
    async fn queue_heads(&self, site: SiteId) -> StoreResult<Vec<Conversation>>;
    /// The department's agents who take new chats now (online, not away), with their loads,
    /// and whether each served this visitor's previous conversation.
    async fn candidates(
        &self,
        department: DepartmentId,
        visitor: VisitorId,
    ) -> StoreResult<Vec<Candidate>>;
    /// Applies an assignment if, at commit time, the conversation is still queued, the agent
    /// still online, not away, a member of `via_department` (the conversation's department or
    /// its fallback) and under their cap; records the decision. Returns the assigned
    /// conversation, or `None` when any condition no longer held.
    async fn try_assign(
        &self,
        assignment: &Assignment,
        now: Millis,
    ) -> StoreResult<Option<Conversation>>;
    /// Every queued conversation of the site, in queue order, numbered per department.
    async fn queue(&self, site: SiteId) -> StoreResult<Vec<QueueEntry>>;
    /// When the department's most recent automatic assignments happened (newest first).
    async fn recent_assignments(
        &self,
        department: DepartmentId,
        limit: u32,
    ) -> StoreResult<Vec<Millis>>;
    /// The routing audit of a conversation, oldest first.
    async fn routing_decisions(
        &self,
        conversation: ConversationId,
    ) -> StoreResult<Vec<RoutingDecision>>;
    /// Moves an open conversation to a colleague (if online, available and under their cap)
    /// or to a department's queue (front of it), recording who and why.
    async fn transfer(
        &self,
        conversation: ConversationId,
        to: &TransferTarget,
        note: Option<&str>,
        now: Millis,
    ) -> StoreResult<Result<Transferred, TransferRejection>>;
    async fn set_priority(
        &self,
        conversation: ConversationId,
        priority: Priority,
    ) -> StoreResult<Option<Conversation>>;

    // --- leads and inactivity ---
    async fn create_lead(&self, lead: Lead) -> StoreResult<Lead>;
    /// Leads, newest first.
    async fn leads(&self, filter: &LeadFilter) -> StoreResult<Vec<Lead>>;
    /// Closes the site's open chats whose visitor has been silent since before `cutoff`,
    /// storing `notice` in each; a chat no agent answered counts as missed.
    async fn close_inactive(
        &self,
        site: SiteId,
        cutoff: Millis,
        now: Millis,
        notice: &str,
    ) -> StoreResult<Vec<ClosedInactive>>;
}

/// What a message row needs besides its conversation, shared by both stores' row mapping.
pub(crate) fn author_kind(author: Author) -> AuthorKind {
    match author {
        Author::Visitor(_) => AuthorKind::Visitor,
        Author::Agent(_) => AuthorKind::Agent,
    }
}

pub(crate) fn author_uuid(author: Author) -> uuid::Uuid {
    match author {
        Author::Visitor(id) => *id.as_uuid(),
        Author::Agent(id) => *id.as_uuid(),
    }
}

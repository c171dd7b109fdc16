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
use bellhop_protocol::api::{Role, SiteSettings, SiteSettingsUpdate};
use bellhop_protocol::frames::{AuthorKind, Conversation, Message, Millis};
use bellhop_protocol::{AgentId, ClientMessageId, ConversationId, MessageBody, SiteId, VisitorId};

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
}

impl Agent {
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
    /// The visitor's open conversation on the site; one is opened (queued, with the site's
    /// automatic acknowledgement appended after the message) if there is none.
    VisitorOpen { site_id: SiteId },
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
}

/// A queued conversation and the agents who could take it.
#[derive(Clone, Debug)]
pub struct RoutingSnapshot {
    pub conversation: Conversation,
    pub candidates: Vec<Candidate>,
}

/// A waiting conversation and its place in its site's queue (1 = next).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    pub conversation_id: ConversationId,
    pub visitor_id: VisitorId,
    pub position: u32,
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
    /// Marks an agent online (accepting chats) or offline.
    async fn set_agent_online(&self, agent: AgentId, online: bool, now: Millis) -> StoreResult<()>;
    /// Marks every agent offline (at start-up of a single node: nobody is connected yet).
    async fn reset_presence(&self) -> StoreResult<()>;

    // --- visitors ---
    async fn ensure_visitor(&self, id: VisitorId, site: SiteId, now: Millis) -> StoreResult<()>;

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
    /// The site's oldest queued conversation and the online agents of the site with their
    /// loads, or `None` when nothing waits.
    async fn routing_snapshot(&self, site: SiteId) -> StoreResult<Option<RoutingSnapshot>>;
    /// Assigns a queued conversation to an agent if, at commit time, it is still queued, the
    /// agent is still online and a member of the site, and under their cap. Returns the
    /// assigned conversation, or `None` when any condition no longer held.
    async fn try_assign(
        &self,
        conversation: ConversationId,
        agent: AgentId,
        now: Millis,
    ) -> StoreResult<Option<Conversation>>;
    /// Every queued conversation of the site, in queue order.
    async fn queue(&self, site: SiteId) -> StoreResult<Vec<QueueEntry>>;
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

//! Storage: the database is the source of truth for everything that must survive a restart.
//!
//! [`Store`] is the seam every caller holds (`Arc<dyn Store>`). It is the sum of one trait per
//! aggregate, each in its own file with the types it speaks: [`ServerStore`] (health, server
//! secrets), [`SiteStore`] (sites and their departments), [`AgentStore`] (accounts, settings),
//! [`PresenceStore`] (nodes and who is connected to them), [`SessionStore`], [`VisitorStore`],
//! [`ConversationStore`], [`MessageStore`], [`RoutingStore`] (queues, assignment, the audit),
//! [`TransferStore`] (transfers, re-queues after the grace period), [`LeadStore`],
//! [`RatingStore`] (visitors' ratings of closed chats), [`MailOutboxStore`] (mails waiting
//! to be sent), [`ReadMarkStore`] (how far each side has read), [`AttachmentStore`]
//! (the records of stored files; their bytes are in [`crate::files`]), [`NoteStore`]
//! (agents' private notes and whispers, kept apart from the messages), [`CannedReplyStore`]
//! (agents' prepared answers), [`PrivacyStore`] (erasing a visitor, retention sweeps, the
//! audit log), [`FeedStore`] (what the console's live queue and wallboard show of a site) and
//! [`ReportStore`] (the stored facts reports are grouped from). A new
//! feature adds one trait and one file; callers import the aggregate traits whose methods they
//! call.
//!
//! One implementation, [`SqlStore`], serves both databases: SQLite (`sqlite.rs`, default,
//! embedded, WAL with `synchronous=FULL`) and PostgreSQL (`postgres.rs`,
//! `synchronous_commit=on`). The SQL is shared; what differs is the dialect contract in
//! [`dialect`]. One shared test suite (`tests/`) runs against both. [`commit::GroupCommit`]
//! sits in front of [`MessageStore::append_batch`] and turns concurrent sends into shared
//! transactions.
//!
//! The aggregate files hold SQL and decisions; what every one of them needs is written once:
//! - `query.rs`: the typed query methods (`execute`, `scalar`, `scalars`, `row_optional`, …)
//!   that take SQL and a tuple of binds and run on either database, a pool or a connection.
//! - `rows.rs`: row types, their conversion into protocol types (`converted` for an optional
//!   row or a list), and `known`/`from_json`, which report a stored value that does not parse
//!   as [`StoreError::Corrupt`].
//! - [`SqlStore`]'s `lock_agent`, the one statement that serialises presence changes,
//!   assignments and transfers to an agent; `conversations.rs`'s `load_conversation` and
//!   `reload_conversation`, and `messages.rs`'s `insert_message` and `system_notice`, used by
//!   every aggregate that changes a conversation or writes in it.
//!
//! Every write transaction takes the database's write lock when it begins (`BEGIN IMMEDIATE`
//! on SQLite), so another process writing the same database (`bellhop agent add`, a second
//! node) makes it wait, up to the busy timeout, instead of failing.
//!
//! Timestamps are milliseconds since the Unix epoch; ids are UUIDs, bound and decoded as the
//! protocol's typed ids.

mod agents;
mod attachments;
mod canned;
pub mod commit;
mod conversations;
pub(crate) mod dialect;
mod feeds;
mod leads;
mod messages;
mod notes;
mod outbox;
pub mod postgres;
mod presence;
mod privacy;
mod query;
mod ratings;
mod read_marks;
mod reports;
mod routing;
mod rows;
mod server;
mod sessions;
mod sites;
pub mod sqlite;
mod transfers;
mod visitors;

use std::sync::Arc;

pub use agents::{AccessChange, Agent, AgentStore, NewAgent};
pub use attachments::{AttachmentStore, StoredAttachment};
pub use canned::CannedReplyStore;
pub use conversations::{ClosedInactive, ConversationFilter, ConversationStore};
pub use feeds::{AgentLoad, DepartmentStaff, FeedStore, LAST_TEXT_CHARS, WaitingChat};
pub use leads::{LeadFilter, LeadStore};
pub use messages::{
    Append, AppendOutcome, AppendRejection, Appended, Author, MessageStore, NewAttachment, Target,
};
pub use notes::{AddedNote, NewNote, NoteRejection, NoteStore};
pub use outbox::{MailOutboxStore, NewMail, OutboxMail};
pub use presence::{NodeId, PresenceStore, keep_lease};
pub use privacy::{Erased, NewAudit, PrivacyStore, Swept};
pub use ratings::{Rated, RatingStore};
pub use read_marks::ReadMarkStore;
pub use reports::{ChatFacts, ReportStore};
pub use routing::{Assignment, Candidate, PickRejection, QueueEntry, RoutingStore};
pub use server::ServerStore;
pub use sessions::SessionStore;
pub use sites::{NewDepartment, NewSite, SiteStore};
pub use transfers::{HandoverNote, Requeued, TransferRejection, TransferStore, Transferred};
pub use visitors::{VisitorRow, VisitorSession, VisitorStore};

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

/// Every aggregate's store: the one handle callers keep.
pub trait Store:
    ServerStore
    + SiteStore
    + AgentStore
    + PresenceStore
    + SessionStore
    + VisitorStore
    + ConversationStore
    + MessageStore
    + RoutingStore
    + TransferStore
    + LeadStore
    + RatingStore
    + MailOutboxStore
    + ReadMarkStore
    + AttachmentStore
    + CannedReplyStore
    + PrivacyStore
    + NoteStore
    + FeedStore
    + ReportStore
{
}

impl Store for SqlStore {}

/// Opens the store a URL names and runs its migrations.
pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::connect(url, max_connections).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::connect(url, max_connections).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

/// The store over either database: writes go through `write`, reads through `read` (on
/// SQLite, a single writer connection beside a read-only pool; on PostgreSQL, one pool).
pub struct SqlStore {
    write: dialect::Pool,
    read: dialect::Pool,
}

impl SqlStore {
    /// Locks the agent's row for this write transaction (see `Dialect::LOCK_AGENT`), so
    /// assignments to the agent and changes to their presence, from any node, apply one after
    /// the other: two assignments cannot both see a free slot, and each presence change sees
    /// the others' rows.
    async fn lock_agent(
        &self,
        conn: &mut dialect::Conn<'_>,
        agent: bellhop_protocol::AgentId,
    ) -> StoreResult<()> {
        conn.conn()
            .execute(self.write.lock_agent(), (agent,))
            .await?;
        Ok(())
    }
}

/// A unique-constraint violation becomes [`StoreError::Duplicate`]; anything else stays itself.
fn duplicate_or_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate,
        _ => e.into(),
    }
}

/// "Vanished" rows: the transaction that read them still holds them, so this means corruption.
fn vanished(what: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} vanished"))
}

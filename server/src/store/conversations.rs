//! Conversations: reading, listing, closing (by hand or for inactivity), priority.

use async_trait::async_trait;
use bellhop_protocol::frames::{Conversation, Message, Millis, Priority};
use bellhop_protocol::{AgentId, ConversationId, SiteId, VisitorId};

use super::dialect::{Conn, sql};
use super::messages::system_notice;
use super::query::{Binds, placeholders};
use super::rows::{CONVERSATION_SELECT, ConversationRow};
use super::{SqlStore, StoreResult, vanished};

/// A chat closed for inactivity, with the message stored for the visitor.
#[derive(Clone, Debug)]
pub struct ClosedInactive {
    pub conversation: Conversation,
    pub notice: Message,
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

/// Ids bound in one statement by [`ConversationStore::conversations_by_ids`]; longer lists
/// take one statement per this many.
const IDS_PER_STATEMENT: usize = 500;

#[async_trait]
pub trait ConversationStore: Send + Sync + 'static {
    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>>;
    /// The conversations of `ids` that exist, each once, in no particular order: one query
    /// for up to 500 distinct ids (a `hello`'s resume points).
    async fn conversations_by_ids(&self, ids: &[ConversationId]) -> StoreResult<Vec<Conversation>>;
    async fn conversations(&self, filter: &ConversationFilter) -> StoreResult<Vec<Conversation>>;
    /// Closes an open conversation; `None` if it was not open.
    async fn close_conversation(
        &self,
        id: ConversationId,
        now: Millis,
    ) -> StoreResult<Option<Conversation>>;
    /// Sets the priority of an open conversation; `None` if it was not open.
    async fn set_priority(
        &self,
        conversation: ConversationId,
        priority: Priority,
    ) -> StoreResult<Option<Conversation>>;
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

pub(super) async fn load_conversation(
    conn: &mut Conn<'_>,
    id: ConversationId,
) -> StoreResult<Option<Conversation>> {
    let sql = format!("{CONVERSATION_SELECT} WHERE c.id = $1");
    conn.conn()
        .row_optional::<ConversationRow>(&sql, (id,))
        .await?
        .map(Conversation::try_from)
        .transpose()
}

/// The conversation a transaction has just changed; a missing one means corruption.
pub(super) async fn reload_conversation(
    conn: &mut Conn<'_>,
    id: ConversationId,
) -> StoreResult<Conversation> {
    load_conversation(conn, id)
        .await?
        .ok_or_else(|| vanished("conversation"))
}

/// Closes the conversation (`$1`) at `$2` if it is open: `missed` when no agent ever answered.
const CLOSE: &str = "UPDATE conversations SET status = 'closed', closed_at = $2, \
                     missed = NOT agent_replied WHERE id = $1 AND status <> 'closed'";

impl SqlStore {
    /// Runs `sql`, a change to the open conversation `id`, in a write transaction; returns the
    /// conversation after it, or `None` (nothing changed) when it was not open.
    async fn change_open<'q>(
        &self,
        id: ConversationId,
        sql: &'q str,
        binds: impl Binds<'q>,
    ) -> StoreResult<Option<Conversation>> {
        let mut tx = self.write.begin_write().await?;
        if tx.conn().execute(sql, binds).await? == 0 {
            return Ok(None);
        }
        let conversation = load_conversation(&mut tx.conn(), id).await?;
        tx.commit().await?;
        Ok(conversation)
    }
}

#[async_trait]
impl ConversationStore for SqlStore {
    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        let mut pooled = self.read.acquire().await?;
        load_conversation(&mut pooled.conn(), id).await
    }

    async fn conversations_by_ids(&self, ids: &[ConversationId]) -> StoreResult<Vec<Conversation>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "{CONVERSATION_SELECT} WHERE c.id IN ({})",
                placeholders(1, chunk.len())
            );
            let rows = sql!(self.read.get(), |c| {
                let mut query = sqlx::query_as::<_, ConversationRow>(&sql);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.fetch_all(c).await
            })?;
            for row in rows {
                out.push(Conversation::try_from(row)?);
            }
        }
        Ok(out)
    }

    async fn conversations(&self, filter: &ConversationFilter) -> StoreResult<Vec<Conversation>> {
        // Fixed SQL with optional filters bound as NULL, so no SQL is built from input.
        let sql = format!(
            "{CONVERSATION_SELECT} WHERE ($1 IS NULL OR c.agent_id = $1) \
             AND ($2 IS NULL OR c.visitor_id = $2) AND ($3 = FALSE OR c.status <> 'closed') \
             ORDER BY c.created_at DESC, c.id DESC"
        );
        let rows: Vec<ConversationRow> = self
            .read
            .get()
            .rows(&sql, (filter.agent, filter.visitor, filter.open_only))
            .await?;
        let mut out = Vec::new();
        for row in rows {
            let conversation = Conversation::try_from(row)?;
            if let Some(sites) = &filter.sites
                && !sites.contains(&conversation.site_id)
            {
                continue;
            }
            out.push(conversation);
            if filter.limit > 0 && out.len() >= filter.limit as usize {
                break;
            }
        }
        Ok(out)
    }

    async fn close_conversation(
        &self,
        id: ConversationId,
        now: Millis,
    ) -> StoreResult<Option<Conversation>> {
        self.change_open(id, CLOSE, (id, now)).await
    }

    async fn set_priority(
        &self,
        conversation: ConversationId,
        priority: Priority,
    ) -> StoreResult<Option<Conversation>> {
        let sql = "UPDATE conversations SET priority = $2 WHERE id = $1 AND status <> 'closed'";
        self.change_open(conversation, sql, (conversation, priority.as_i64()))
            .await
    }

    async fn close_inactive(
        &self,
        site: SiteId,
        cutoff: Millis,
        now: Millis,
        notice: &str,
    ) -> StoreResult<Vec<ClosedInactive>> {
        let mut tx = self.write.begin_write().await?;
        let silent: Vec<ConversationId> = tx
            .conn()
            .scalars(
                "SELECT id FROM conversations WHERE site_id = $1 AND status <> 'closed' \
                 AND last_visitor_at <= $2 ORDER BY last_visitor_at, id",
                (site, cutoff),
            )
            .await?;
        let mut closed = Vec::with_capacity(silent.len());
        for id in silent {
            let mut conn = tx.conn();
            let notice = system_notice(&mut conn, id, notice, now).await?;
            conn.conn().execute(CLOSE, (id, now)).await?;
            let conversation = reload_conversation(&mut conn, id).await?;
            closed.push(ClosedInactive {
                conversation,
                notice,
            });
        }
        tx.commit().await?;
        Ok(closed)
    }
}

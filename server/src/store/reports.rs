//! What reports are made of: the stored facts of each conversation a site opened in a time
//! range. Grouping them by local date, agent or department is a pure function of these facts
//! (`crate::reports`), so the SQL stays the same on both databases and the figures can be
//! checked without a database.

use async_trait::async_trait;
use bellhop_protocol::frames::{AgentRef, Millis};
use bellhop_protocol::{AgentId, ConversationId, DepartmentId, SiteId};

use super::{SqlStore, StoreError, StoreResult};

/// One conversation's timestamps and outcome, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatFacts {
    pub conversation_id: ConversationId,
    /// Its opening (the visitor's first message).
    pub created_at: Millis,
    pub department_id: Option<DepartmentId>,
    /// Who served it (last): kept after closing.
    pub agent: Option<AgentRef>,
    /// The first routing decision that gave it to an agent (else its `assigned_at`).
    pub first_assigned_at: Option<Millis>,
    pub first_agent_message_at: Option<Millis>,
    pub closed_at: Option<Millis>,
    /// Closed before any agent answered.
    pub missed: bool,
    /// The visitor's score, 1 to 5.
    pub rating: Option<u8>,
}

#[async_trait]
pub trait ReportStore: Send + Sync + 'static {
    /// The conversations of the site opened in `[from, to)`, oldest first.
    async fn chat_facts(
        &self,
        site: SiteId,
        from: Millis,
        to: Millis,
    ) -> StoreResult<Vec<ChatFacts>>;
}

#[derive(sqlx::FromRow)]
struct FactsRow {
    id: ConversationId,
    created_at: i64,
    department_id: Option<DepartmentId>,
    agent_id: Option<AgentId>,
    agent_name: Option<String>,
    first_assigned_at: Option<i64>,
    first_agent_message_at: Option<i64>,
    closed_at: Option<i64>,
    missed: bool,
    rating_score: Option<i64>,
}

#[async_trait]
impl ReportStore for SqlStore {
    async fn chat_facts(
        &self,
        site: SiteId,
        from: Millis,
        to: Millis,
    ) -> StoreResult<Vec<ChatFacts>> {
        let rows: Vec<FactsRow> = self
            .read
            .get()
            .rows(
                "SELECT c.id, c.created_at, c.department_id, c.agent_id, \
                 a.display_name AS agent_name, \
                 COALESCE((SELECT MIN(r.decided_at) FROM routing_decisions r \
                           WHERE r.conversation_id = c.id AND r.agent_id IS NOT NULL), \
                          c.assigned_at) AS first_assigned_at, \
                 (SELECT MIN(m.created_at) FROM messages m WHERE m.conversation_id = c.id \
                  AND m.author_kind = 'agent') AS first_agent_message_at, \
                 c.closed_at, c.missed, c.rating_score \
                 FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id \
                 WHERE c.site_id = $1 AND c.created_at >= $2 AND c.created_at < $3 \
                 ORDER BY c.created_at, c.id",
                (site, from, to),
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let rating = row
                    .rating_score
                    .map(|score| {
                        u8::try_from(score)
                            .map_err(|_| StoreError::Corrupt(format!("rating score {score}")))
                    })
                    .transpose()?;
                Ok(ChatFacts {
                    conversation_id: row.id,
                    created_at: row.created_at,
                    department_id: row.department_id,
                    agent: row.agent_id.map(|id| AgentRef {
                        id,
                        display_name: row.agent_name.unwrap_or_default(),
                    }),
                    first_assigned_at: row.first_assigned_at,
                    first_agent_message_at: row.first_agent_message_at,
                    closed_at: row.closed_at,
                    missed: row.missed,
                    rating,
                })
            })
            .collect()
    }
}

//! Routing: department queues, the candidates for a conversation, assignment (the router's,
//! and agents' picks from the queue, through one conditional update), and the audit of every
//! decision (transfers and re-queues, which also record decisions, are in `transfers.rs`).

use async_trait::async_trait;
use bellhop_protocol::api::{Role, RoutingDecision, RoutingRule};
use bellhop_protocol::frames::{Conversation, ConversationStatus, Millis};
use bellhop_protocol::{AgentId, ConversationId, DepartmentId, SiteId, VisitorId};

use super::conversations::{load_conversation, reload_conversation};
use super::dialect::{Conn, sql};
use super::query::placeholders;
use super::rows::{
    CONVERSATION_SELECT, CandidateRow, ConversationRow, DecisionRow, candidates_json, converted,
};
use super::{SqlStore, StoreResult};

/// Queue order: urgent first, then conversations put back in the queue, then arrival.
pub(super) const QUEUE_ORDER: &str = "c.priority DESC, c.requeued DESC, c.queued_at, c.id";

/// An agent who could take a conversation, as the assigner sees them.
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

/// What the assigner decided, for [`RoutingStore::try_assign`] to apply and record.
#[derive(Clone, Debug)]
pub struct Assignment {
    pub conversation: ConversationId,
    pub agent: AgentId,
    /// The department whose agents were considered: the conversation's own, or its fallback.
    pub via_department: DepartmentId,
    pub rule: RoutingRule,
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

#[async_trait]
pub trait RoutingStore: Send + Sync + 'static {
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
    /// An agent takes a waiting conversation from the queue: applied with the router's
    /// conditional update (still queued, the agent under their cap) when the agent reaches
    /// its site and may pick, and recorded with the rule `picked`. Refusals say why; another
    /// site's conversation is `NotFound`.
    async fn try_pick(
        &self,
        conversation: ConversationId,
        agent: AgentId,
        now: Millis,
    ) -> StoreResult<Result<Conversation, PickRejection>>;
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
}

/// The one statement that gives a queued conversation (`$1`) to an agent (`$2`) at `$3`,
/// followed by the caller's own conditions. It changes nothing unless, when it runs, the
/// conversation is still queued and the agent active and under their cap: two assignments
/// racing for one conversation (the router's, a pick, on any node) cannot both apply, and the
/// agent's row lock taken before it keeps two of theirs from both seeing a free slot.
macro_rules! assign_queued {
    ($conditions:literal) => {
        concat!(
            "UPDATE conversations SET status = 'assigned', agent_id = $2, assigned_at = $3, \
             requeued = FALSE WHERE id = $1 AND status = 'queued' \
             AND EXISTS (SELECT 1 FROM agents a WHERE a.id = $2 AND a.active \
                         AND a.max_chats > (SELECT COUNT(*) FROM conversations o \
                                            WHERE o.agent_id = $2 AND o.status = 'assigned'))",
            $conditions
        )
    };
}

/// The router's assignment: the department it considered (`$4`) is the conversation's or its
/// fallback, and the agent is online, not away, and serves that department.
const ROUTER_ASSIGN: &str = assign_queued!(
    " AND ($4 = department_id OR $4 = (SELECT d.fallback_id FROM departments d \
                                      WHERE d.id = conversations.department_id)) \
     AND EXISTS (SELECT 1 FROM agents a JOIN agent_departments m ON m.agent_id = a.id \
                 WHERE a.id = $2 AND a.online AND NOT a.away AND m.department_id = $4)"
);

/// An agent's pick: the agent may pick and reaches the conversation's site (any of its
/// departments).
const PICK_ASSIGN: &str = assign_queued!(
    " AND EXISTS (SELECT 1 FROM agents a WHERE a.id = $2 \
                 AND (a.role <> 'agent' OR a.may_pick) \
                 AND (a.role = 'admin' OR EXISTS (SELECT 1 FROM agent_sites s \
                      WHERE s.agent_id = $2 AND s.site_id = conversations.site_id)))"
);

/// After an assignment applied: the agent's idle time restarts, and the decision is recorded
/// (in the conversation's department). Returns the conversation as it is now.
async fn assigned(
    conn: &mut Conn<'_>,
    conversation: ConversationId,
    now: Millis,
    decision: Decision<'_>,
) -> StoreResult<Conversation> {
    if let Some(agent) = decision.agent {
        conn.conn()
            .execute(
                "UPDATE agents SET idle_since = $2 WHERE id = $1",
                (agent, now),
            )
            .await?;
    }
    let conversation = reload_conversation(conn, conversation).await?;
    let decision = Decision {
        department: conversation.department_id,
        ..decision
    };
    record_decision(conn, conversation.id, now, decision).await?;
    Ok(conversation)
}

/// Why a pick was refused; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PickRejection {
    #[error("no such conversation")]
    NotFound,
    #[error("you may not take chats from the queue")]
    Forbidden,
    #[error("the conversation is not waiting in the queue (someone may have taken it)")]
    NotQueued,
    #[error("you have no room under your chat cap")]
    AgentFull,
}

/// One row of the routing audit.
pub(super) struct Decision<'a> {
    pub(super) agent: Option<AgentId>,
    pub(super) department: Option<DepartmentId>,
    pub(super) rule: RoutingRule,
    pub(super) candidates: &'a [Candidate],
    pub(super) note: Option<&'a str>,
}

/// Records a routing decision in the deciding transaction.
pub(super) async fn record_decision(
    conn: &mut Conn<'_>,
    conversation: ConversationId,
    now: Millis,
    decision: Decision<'_>,
) -> StoreResult<()> {
    conn.conn()
        .execute(
            "INSERT INTO routing_decisions (conversation_id, decided_at, agent_id, \
             department_id, rule, candidates, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            (
                conversation,
                now,
                decision.agent,
                decision.department,
                decision.rule.as_str(),
                candidates_json(decision.candidates),
                decision.note,
            ),
        )
        .await?;
    Ok(())
}

#[async_trait]
impl RoutingStore for SqlStore {
    async fn queue_heads(&self, site: SiteId) -> StoreResult<Vec<Conversation>> {
        let mut pooled = self.read.acquire().await?;
        let mut conn = pooled.conn();
        let departments: Vec<DepartmentId> = conn
            .conn()
            .scalars(
                "SELECT DISTINCT department_id FROM conversations \
                 WHERE site_id = $1 AND status = 'queued' AND department_id IS NOT NULL",
                (site,),
            )
            .await?;
        let sql = format!(
            "{CONVERSATION_SELECT} WHERE c.department_id = $1 AND c.status = 'queued' \
             ORDER BY {QUEUE_ORDER} LIMIT 1"
        );
        let mut heads = Vec::with_capacity(departments.len());
        for department in departments {
            let head = conn
                .conn()
                .row_optional::<ConversationRow>(&sql, (department,));
            if let Some(row) = head.await? {
                heads.push(Conversation::try_from(row)?);
            }
        }
        Ok(heads)
    }

    async fn candidates(
        &self,
        department: DepartmentId,
        visitor: VisitorId,
    ) -> StoreResult<Vec<Candidate>> {
        let rows = self.read.get().rows::<CandidateRow>(
            "SELECT a.id, a.max_chats, a.idle_since, \
             (SELECT COUNT(*) FROM conversations c WHERE c.agent_id = a.id \
              AND c.status = 'assigned') AS open_chats, \
             EXISTS (SELECT 1 FROM conversations p WHERE p.id = \
                     (SELECT q.id FROM conversations q WHERE q.visitor_id = $2 \
                      AND q.agent_id IS NOT NULL AND q.status = 'closed' \
                      ORDER BY q.closed_at DESC, q.id DESC LIMIT 1) \
                     AND p.agent_id = a.id) AS sticky \
             FROM agents a JOIN agent_departments d ON d.agent_id = a.id \
             WHERE d.department_id = $1 AND a.online AND NOT a.away AND a.active \
             ORDER BY a.id",
            (department, visitor),
        );
        converted(rows.await?)
    }

    async fn try_assign(
        &self,
        assignment: &Assignment,
        now: Millis,
    ) -> StoreResult<Option<Conversation>> {
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        let agent = assignment.agent;
        // Serialise assignments to this agent, so two of them cannot both see a free slot.
        self.lock_agent(&mut conn, agent).await?;
        let binds = (
            assignment.conversation,
            agent,
            now,
            assignment.via_department,
        );
        if conn.conn().execute(ROUTER_ASSIGN, binds).await? == 0 {
            return Ok(None);
        }
        let decision = Decision {
            agent: Some(agent),
            department: None,
            rule: assignment.rule,
            candidates: &assignment.candidates,
            note: None,
        };
        let conversation = assigned(&mut conn, assignment.conversation, now, decision).await?;
        tx.commit().await?;
        Ok(Some(conversation))
    }

    async fn try_pick(
        &self,
        conversation: ConversationId,
        agent: AgentId,
        now: Millis,
    ) -> StoreResult<Result<Conversation, PickRejection>> {
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        // As for the router: assignments to one agent apply one after the other.
        self.lock_agent(&mut conn, agent).await?;
        let Some(current) = load_conversation(&mut conn, conversation).await? else {
            return Ok(Err(PickRejection::NotFound));
        };
        let picker: Option<(String, bool, bool, i64, i64)> = conn
            .conn()
            .row_optional(
                "SELECT a.role, a.may_pick, \
                 (a.role = 'admin' OR EXISTS (SELECT 1 FROM agent_sites s \
                  WHERE s.agent_id = a.id AND s.site_id = $2)), \
                 a.max_chats, (SELECT COUNT(*) FROM conversations o WHERE o.agent_id = a.id \
                  AND o.status = 'assigned') \
                 FROM agents a WHERE a.id = $1 AND a.active",
                (agent, current.site_id),
            )
            .await?;
        let Some((role, may_pick, reaches, cap, open)) = picker else {
            return Ok(Err(PickRejection::NotFound));
        };
        if !reaches {
            return Ok(Err(PickRejection::NotFound));
        }
        if role == Role::Agent.as_str() && !may_pick {
            return Ok(Err(PickRejection::Forbidden));
        }
        if current.status != ConversationStatus::Queued {
            return Ok(Err(PickRejection::NotQueued));
        }
        if open >= cap {
            return Ok(Err(PickRejection::AgentFull));
        }
        // The same conditional update as the router's: a pick that raced another (on any
        // node) and lost changes nothing.
        if conn
            .conn()
            .execute(PICK_ASSIGN, (conversation, agent, now))
            .await?
            == 0
        {
            return Ok(Err(PickRejection::NotQueued));
        }
        let decision = Decision {
            agent: Some(agent),
            department: None,
            rule: RoutingRule::Picked,
            candidates: &[],
            note: None,
        };
        let conversation = assigned(&mut conn, conversation, now, decision).await?;
        tx.commit().await?;
        Ok(Ok(conversation))
    }

    async fn queue(&self, site: SiteId) -> StoreResult<Vec<QueueEntry>> {
        let sql = format!(
            "SELECT c.id, c.visitor_id, c.department_id FROM conversations c \
             WHERE c.site_id = $1 AND c.status = 'queued' AND c.department_id IS NOT NULL \
             ORDER BY c.department_id, {QUEUE_ORDER}"
        );
        let rows: Vec<(ConversationId, VisitorId, DepartmentId)> =
            self.read.get().rows(&sql, (site,)).await?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut position = 0;
        let mut current = None;
        for (conversation_id, visitor_id, department_id) in rows {
            if current != Some(department_id) {
                current = Some(department_id);
                position = 0;
            }
            position += 1;
            entries.push(QueueEntry {
                conversation_id,
                visitor_id,
                department_id,
                position,
            });
        }
        Ok(entries)
    }

    async fn recent_assignments(
        &self,
        department: DepartmentId,
        limit: u32,
    ) -> StoreResult<Vec<Millis>> {
        // Only what served a queue measures throughput (the assigner's choices and agents'
        // picks): not transfers or re-queues.
        let automatic: Vec<&str> = RoutingRule::ALL
            .into_iter()
            .filter(|rule| rule.takes_from_queue())
            .map(RoutingRule::as_str)
            .collect();
        let sql = format!(
            "SELECT decided_at FROM routing_decisions WHERE department_id = $1 \
             AND agent_id IS NOT NULL AND rule IN ({}) \
             ORDER BY decided_at DESC, id DESC LIMIT $2",
            placeholders(3, automatic.len())
        );
        Ok(sql!(self.read.get(), |c| {
            let mut query = sqlx::query_scalar::<_, Millis>(&sql)
                .bind(department)
                .bind(i64::from(limit));
            for rule in &automatic {
                query = query.bind(*rule);
            }
            query.fetch_all(c).await
        })?)
    }

    async fn routing_decisions(
        &self,
        conversation: ConversationId,
    ) -> StoreResult<Vec<RoutingDecision>> {
        let rows = self.read.get().rows::<DecisionRow>(
            "SELECT decided_at, agent_id, department_id, rule, candidates, note \
             FROM routing_decisions WHERE conversation_id = $1 ORDER BY id",
            (conversation,),
        );
        converted(rows.await?)
    }
}

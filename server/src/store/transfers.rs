//! Moving a conversation off its agent: transfers (to a colleague or a department's queue) and
//! re-queueing the chats of an agent who stayed away past the grace period. Each records its
//! routing decision in the same transaction (a transfer, its note too).

use async_trait::async_trait;
use bellhop_protocol::api::RoutingRule;
use bellhop_protocol::console::{Note, NoteKind};
use bellhop_protocol::frames::{Conversation, ConversationStatus, Message, Millis, TransferTarget};
use bellhop_protocol::{AgentId, ConversationId, DepartmentId, SiteId};

use super::conversations::{load_conversation, reload_conversation};
use super::dialect::Conn;
use super::messages::system_notice;
use super::notes::{NewNote, insert_note, load_note};
use super::routing::{Decision, record_decision};
use super::{SqlStore, StoreResult, vanished};

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
    /// The transfer's note, stored as a note of kind `transfer`.
    pub note: Option<Note>,
}

/// A transfer's note and who wrote it (the agent who transfers): kept in the routing audit,
/// and as a note of kind `transfer` in the conversation, for the receiver and later readers.
#[derive(Clone, Copy, Debug)]
pub struct HandoverNote<'a> {
    pub author: AgentId,
    pub text: &'a str,
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

#[async_trait]
pub trait TransferStore: Send + Sync + 'static {
    /// Moves an open conversation to a colleague (if online, available and under their cap)
    /// or to a department's queue (front of it), recording who and why; the note, if any,
    /// is stored with it.
    async fn transfer(
        &self,
        conversation: ConversationId,
        to: &TransferTarget,
        note: Option<HandoverNote<'_>>,
        now: Millis,
    ) -> StoreResult<Result<Transferred, TransferRejection>>;
    /// Puts every chat of agents offline since before `cutoff` back at the front of its queue,
    /// storing `notice` for each visitor.
    async fn requeue_abandoned(
        &self,
        cutoff: Millis,
        now: Millis,
        notice: &str,
    ) -> StoreResult<Vec<Requeued>>;
    /// Puts the agent's assigned chats back at the front of their queues (only those of sites
    /// not in `keep_sites`, when given): the agent was deactivated or removed from sites.
    async fn requeue_agent(
        &self,
        agent: AgentId,
        keep_sites: Option<&[SiteId]>,
        now: Millis,
        notice: &str,
    ) -> StoreResult<Vec<Requeued>>;
}

/// The agent's availability on a site: online, away, cap and open chats (`None`: not theirs).
async fn agent_load(
    conn: &mut Conn<'_>,
    agent: AgentId,
    site: SiteId,
) -> StoreResult<Option<(bool, bool, i64, i64)>> {
    Ok(conn
        .conn()
        .row_optional(
            "SELECT a.online, a.away, a.max_chats, \
             (SELECT COUNT(*) FROM conversations o WHERE o.agent_id = a.id \
              AND o.status = 'assigned') FROM agents a JOIN agent_sites s \
             ON s.agent_id = a.id WHERE a.id = $1 AND s.site_id = $2 AND a.active",
            (agent, site),
        )
        .await?)
}

#[async_trait]
impl TransferStore for SqlStore {
    async fn transfer(
        &self,
        conversation: ConversationId,
        to: &TransferTarget,
        handover: Option<HandoverNote<'_>>,
        now: Millis,
    ) -> StoreResult<Result<Transferred, TransferRejection>> {
        let note = handover.map(|h| h.text);
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        let Some(current) = load_conversation(&mut conn, conversation).await? else {
            return Ok(Err(TransferRejection::NotFound));
        };
        if current.status == ConversationStatus::Closed {
            return Ok(Err(TransferRejection::Closed));
        }
        let from = current.agent.as_ref().map(|a| a.id);
        let decision = match to {
            TransferTarget::Agent { agent_id } => {
                if from == Some(*agent_id) {
                    return Ok(Err(TransferRejection::SameAgent));
                }
                self.lock_agent(&mut conn, *agent_id).await?;
                match agent_load(&mut conn, *agent_id, current.site_id).await? {
                    Some((true, false, cap, open)) if open < cap => {}
                    Some((true, false, _, _)) => return Ok(Err(TransferRejection::AgentFull)),
                    _ => return Ok(Err(TransferRejection::AgentUnavailable)),
                }
                conn.conn()
                    .execute(
                        "UPDATE conversations SET status = 'assigned', agent_id = $2, \
                         assigned_at = $3, requeued = FALSE WHERE id = $1",
                        (conversation, agent_id, now),
                    )
                    .await?;
                Decision {
                    agent: Some(*agent_id),
                    department: current.department_id,
                    rule: RoutingRule::TransferToAgent,
                    candidates: &[],
                    note,
                }
            }
            TransferTarget::Department { department_id } => {
                let same_site: Option<DepartmentId> = conn
                    .conn()
                    .scalar_optional(
                        "SELECT id FROM departments WHERE id = $1 AND site_id = $2",
                        (department_id, current.site_id),
                    )
                    .await?;
                if same_site.is_none() {
                    return Ok(Err(TransferRejection::DepartmentNotFound));
                }
                conn.conn()
                    .execute(
                        "UPDATE conversations SET status = 'queued', agent_id = NULL, \
                         assigned_at = NULL, department_id = $2, requeued = TRUE WHERE id = $1",
                        (conversation, department_id),
                    )
                    .await?;
                Decision {
                    agent: None,
                    department: Some(*department_id),
                    rule: RoutingRule::TransferToDepartment,
                    candidates: &[],
                    note,
                }
            }
        };
        record_decision(&mut conn, conversation, now, decision).await?;
        let note = match handover {
            Some(handover) => {
                let note = NewNote {
                    conversation,
                    kind: NoteKind::Transfer,
                    author: handover.author,
                    client_id: None,
                    body: handover.text.to_owned(),
                    now,
                };
                let id = insert_note(&mut conn, &note)
                    .await?
                    .ok_or_else(|| vanished("transfer note"))?;
                Some(load_note(&mut conn, id).await?)
            }
            None => None,
        };
        let conversation = reload_conversation(&mut conn, conversation).await?;
        tx.commit().await?;
        Ok(Ok(Transferred {
            conversation,
            from,
            note,
        }))
    }

    async fn requeue_abandoned(
        &self,
        cutoff: Millis,
        now: Millis,
        notice: &str,
    ) -> StoreResult<Vec<Requeued>> {
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        let abandoned: Vec<(ConversationId, AgentId)> = conn
            .conn()
            .rows(
                "SELECT c.id, c.agent_id FROM conversations c JOIN agents a ON a.id = c.agent_id \
                 WHERE c.status = 'assigned' AND NOT a.online AND a.disconnected_at IS NOT NULL \
                 AND a.disconnected_at <= $1 ORDER BY c.assigned_at, c.id",
                (cutoff,),
            )
            .await?;
        let requeue = Requeue {
            rule: RoutingRule::RequeuedAfterGrace,
            note: "the agent stayed offline past the grace period",
            notice,
            now,
        };
        let mut requeued = Vec::with_capacity(abandoned.len());
        for (conversation, previous_agent) in abandoned {
            requeued.push(requeue_one(&mut conn, conversation, previous_agent, requeue).await?);
        }
        tx.commit().await?;
        Ok(requeued)
    }

    async fn requeue_agent(
        &self,
        agent: AgentId,
        keep_sites: Option<&[SiteId]>,
        now: Millis,
        notice: &str,
    ) -> StoreResult<Vec<Requeued>> {
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        let open: Vec<(ConversationId, SiteId)> = conn
            .conn()
            .rows(
                "SELECT id, site_id FROM conversations WHERE agent_id = $1 \
                 AND status = 'assigned' ORDER BY assigned_at, id",
                (agent,),
            )
            .await?;
        let requeue = Requeue {
            rule: RoutingRule::RequeuedAgentRemoved,
            note: "the agent was deactivated or removed from the site",
            notice,
            now,
        };
        let mut requeued = Vec::with_capacity(open.len());
        for (conversation, site) in open {
            if keep_sites.is_some_and(|keep| keep.contains(&site)) {
                continue;
            }
            requeued.push(requeue_one(&mut conn, conversation, agent, requeue).await?);
        }
        tx.commit().await?;
        Ok(requeued)
    }
}

/// Why and when a conversation goes back to its queue, and what its visitor is told.
#[derive(Clone, Copy)]
struct Requeue<'a> {
    rule: RoutingRule,
    note: &'a str,
    notice: &'a str,
    now: Millis,
}

/// Puts one assigned conversation back at the front of its queue, recording the decision and
/// storing the notice for the visitor.
async fn requeue_one(
    conn: &mut Conn<'_>,
    conversation: ConversationId,
    previous_agent: AgentId,
    requeue: Requeue<'_>,
) -> StoreResult<Requeued> {
    let Requeue {
        rule,
        note,
        notice,
        now,
    } = requeue;

    conn.conn()
        .execute(
            "UPDATE conversations SET status = 'queued', agent_id = NULL, \
             assigned_at = NULL, requeued = TRUE WHERE id = $1 AND status = 'assigned'",
            (conversation,),
        )
        .await?;
    let department: Option<DepartmentId> = conn
        .conn()
        .scalar(
            "SELECT department_id FROM conversations WHERE id = $1",
            (conversation,),
        )
        .await?;
    let decision = Decision {
        agent: None,
        department,
        rule,
        candidates: &[],
        note: Some(note),
    };
    record_decision(conn, conversation, now, decision).await?;
    let notice = system_notice(conn, conversation, notice, now).await?;
    let conversation = reload_conversation(conn, conversation).await?;
    Ok(Requeued {
        conversation,
        previous_agent,
        notice,
    })
}

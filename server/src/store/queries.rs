// The `Store` implementation shared by the SQLite and PostgreSQL stores.
//
// Both dialects accept the same SQL here (`$N` placeholders, `RETURNING`, partial-index upserts),
// so the logic is written once and compiled twice: `sqlite.rs` and `postgres.rs` each
// `include!` this file after defining `Db` (the sqlx database), `Conn` (its connection),
// `ThisStore` (their store type, with `write` and `read` pools) and `LOCK_AGENT` (the
// statement that serialises assignments to one agent). Generic code over `sqlx::Database`
// would need a dozen trait bounds per function for the same effect.

use async_trait::async_trait;
use bellhop_protocol::api::{
    Department, Lead, RoutingDecision, SiteConfig, SiteSettings, SiteSettingsUpdate,
};
use bellhop_protocol::frames::{
    AuthorKind, Conversation, ConversationStatus, Message, Millis, Priority, TransferTarget,
};
use bellhop_protocol::{AgentId, ConversationId, DepartmentId, SiteId, VisitorId};
use uuid::Uuid;

use super::rows::{
    LEAD_SELECT, LeadRow, AGENT_SELECT, AgentRow, CONVERSATION_SELECT, CandidateRow, ConversationRow, DEPARTMENT_SELECT,
    DecisionRow, DepartmentRow, MESSAGE_SELECT, MessageRow, SITE_SELECT, SiteRow, candidates_json,
    origins_json, to_db,
};
use super::{
    Agent, Append, AppendOutcome, AppendRejection, Appended, Assignment, Author, Candidate,
    ClosedInactive, ConversationFilter, LeadFilter, NewAgent, NewDepartment, NewSite, QueueEntry, Requeued, Store, StoreError,
    StoreResult, Target, TransferRejection, Transferred, author_kind, author_uuid,
};

/// Queue order: urgent first, then conversations put back in the queue, then arrival.
const QUEUE_ORDER: &str = "c.priority DESC, c.requeued DESC, c.queued_at, c.id";

/// A settings value as the database keeps it (JSON text).
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// A unique-constraint violation becomes [`StoreError::Duplicate`]; anything else stays itself.
fn duplicate_or_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate,
        _ => e.into(),
    }
}

async fn load_conversation(conn: &mut Conn, id: Uuid) -> StoreResult<Option<Conversation>> {
    let sql = format!("{CONVERSATION_SELECT} WHERE c.id = $1");
    sqlx::query_as::<_, ConversationRow>(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .map(Conversation::try_from)
        .transpose()
}

async fn load_message(conn: &mut Conn, conversation: Uuid, seq: i64) -> StoreResult<Message> {
    let sql = format!("{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.seq = $2");
    sqlx::query_as::<_, MessageRow>(&sql)
        .bind(conversation)
        .bind(seq)
        .fetch_one(&mut *conn)
        .await?
        .try_into()
}

/// The agent's sites and departments.
async fn agent_memberships(conn: &mut Conn, agent: Uuid) -> StoreResult<(Vec<Uuid>, Vec<Uuid>)> {
    let sites = sqlx::query_scalar::<_, Uuid>(
        "SELECT site_id FROM agent_sites WHERE agent_id = $1 ORDER BY site_id",
    )
    .bind(agent)
    .fetch_all(&mut *conn)
    .await?;
    let departments = sqlx::query_scalar::<_, Uuid>(
        "SELECT department_id FROM agent_departments WHERE agent_id = $1 ORDER BY department_id",
    )
    .bind(agent)
    .fetch_all(&mut *conn)
    .await?;
    Ok((sites, departments))
}

/// One row of the routing audit.
struct Decision<'a> {
    agent: Option<Uuid>,
    department: Option<Uuid>,
    rule: &'a str,
    candidates: &'a [Candidate],
    note: Option<&'a str>,
}

/// Records a routing decision in the deciding transaction.
async fn record_decision(
    conn: &mut Conn,
    conversation: Uuid,
    now: Millis,
    decision: Decision<'_>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO routing_decisions (conversation_id, decided_at, agent_id, department_id, \
         rule, candidates, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(conversation)
    .bind(now)
    .bind(decision.agent)
    .bind(decision.department)
    .bind(decision.rule)
    .bind(candidates_json(decision.candidates))
    .bind(decision.note)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores one message with the next seq of its conversation; returns it.
async fn insert_message(
    conn: &mut Conn,
    conversation: Uuid,
    kind: AuthorKind,
    author: Option<Uuid>,
    client_id: Option<&str>,
    body: &str,
    now: Millis,
) -> StoreResult<Message> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(conversation)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO messages (conversation_id, seq, author_kind, author_id, client_id, body, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(conversation)
    .bind(seq)
    .bind(kind.as_str())
    .bind(author)
    .bind(client_id)
    .bind(body)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    load_message(conn, conversation, seq).await
}

/// The visitor's open conversation, opened now if there is none. Returns it and whether it
/// was opened by this call.
async fn open_conversation_for(
    conn: &mut Conn,
    visitor: VisitorId,
    site: SiteId,
    department: Option<DepartmentId>,
    priority: Priority,
    now: Millis,
) -> StoreResult<Option<(Uuid, SiteId, bool)>> {
    let existing: Option<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, site_id FROM conversations WHERE visitor_id = $1 AND status <> 'closed'",
    )
    .bind(visitor.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((id, site_id)) = existing {
        return Ok(Some((id, SiteId::from_uuid(site_id), false)));
    }
    // The chosen department must be one of this site's; none means the default.
    let department: Option<Uuid> = match department {
        Some(d) => {
            sqlx::query_scalar("SELECT id FROM departments WHERE id = $1 AND site_id = $2")
                .bind(d.as_uuid())
                .bind(site.as_uuid())
                .fetch_optional(&mut *conn)
                .await?
        }
        None => sqlx::query_scalar::<_, Option<Uuid>>(
            "SELECT default_department_id FROM sites WHERE id = $1",
        )
        .bind(site.as_uuid())
        .fetch_optional(&mut *conn)
        .await?
        .flatten(),
    };
    let Some(department) = department else {
        return Ok(None);
    };
    let id = Uuid::now_v7();
    // Another node may open one at the same moment: the partial unique index decides, and the
    // loser uses the winner's conversation.
    let inserted = sqlx::query(
        "INSERT INTO conversations (id, site_id, visitor_id, department_id, status, created_at, \
         queued_at, priority) VALUES ($1, $2, $3, $4, 'queued', $5, $5, $6) \
         ON CONFLICT (visitor_id) WHERE status <> 'closed' DO NOTHING",
    )
    .bind(id)
    .bind(site.as_uuid())
    .bind(visitor.as_uuid())
    .bind(department)
    .bind(now)
    .bind(priority.as_i64())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Some((id, site, true)));
    }
    let (id, site_id): (Uuid, Uuid) = sqlx::query_as(
        "SELECT id, site_id FROM conversations WHERE visitor_id = $1 AND status <> 'closed'",
    )
    .bind(visitor.as_uuid())
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some((id, SiteId::from_uuid(site_id), false)))
}

/// One append inside the batch transaction. Every rejection is decided before anything is
/// written, so a rejected item leaves no trace.
async fn append_one(conn: &mut Conn, item: &Append) -> StoreResult<AppendOutcome> {
    let author = author_uuid(item.author);
    let previous: Option<(Uuid, i64, String)> = sqlx::query_as(
        "SELECT conversation_id, seq, body FROM messages WHERE author_id = $1 AND client_id = $2",
    )
    .bind(author)
    .bind(item.client_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((conversation, seq, body)) = previous {
        let same_target = match &item.target {
            Target::Conversation(id) => *id.as_uuid() == conversation,
            Target::VisitorOpen { .. } => true,
        };
        if body != item.body.as_str() || !same_target {
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
            let Some(conversation) = load_conversation(conn, *id.as_uuid()).await? else {
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
            (*id.as_uuid(), false)
        }
        (
            Target::VisitorOpen {
                site_id,
                department_id,
                priority,
            },
            Author::Visitor(visitor),
        ) => {
            let Some((id, site, opened)) = open_conversation_for(
                conn,
                visitor,
                *site_id,
                *department_id,
                *priority,
                item.now,
            )
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

    let message = insert_message(
        conn,
        conversation,
        author_kind(item.author),
        Some(author),
        Some(item.client_id.as_str()),
        item.body.as_str(),
        item.now,
    )
    .await?;
    // Inactivity counts from the visitor's last word; an agent's first word means the chat
    // was answered (not missed).
    match item.author {
        Author::Visitor(_) => {
            sqlx::query("UPDATE conversations SET last_visitor_at = $2 WHERE id = $1")
                .bind(conversation)
                .bind(item.now)
                .execute(&mut *conn)
                .await?
        }
        Author::Agent(_) => {
            sqlx::query("UPDATE conversations SET agent_replied = TRUE WHERE id = $1")
                .bind(conversation)
                .execute(&mut *conn)
                .await?
        }
    };
    let mut follow_ups = Vec::new();
    if opened {
        let auto_reply: String = sqlx::query_scalar(
            "SELECT s.auto_reply FROM sites s JOIN conversations c ON c.site_id = s.id \
             WHERE c.id = $1",
        )
        .bind(conversation)
        .fetch_one(&mut *conn)
        .await?;
        if !auto_reply.trim().is_empty() {
            follow_ups.push(
                insert_message(
                    conn,
                    conversation,
                    AuthorKind::System,
                    None,
                    None,
                    &auto_reply,
                    item.now,
                )
                .await?,
            );
        }
    }
    let conversation = load_conversation(conn, conversation)
        .await?
        .ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))?;
    Ok(Ok(Appended {
        message,
        conversation,
        duplicate: false,
        opened,
        follow_ups,
    }))
}

#[async_trait]
impl Store for ThisStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn secret(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .execute(&self.write)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&self.write)
                .await?,
        )
    }

    async fn agent_count(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM agents")
            .fetch_one(&self.read)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn create_site(&self, site: NewSite) -> StoreResult<SiteSettings> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO sites (id, name, widget_key, allowed_origins, auto_reply, created_at, \
             config) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(site.id.as_uuid())
        .bind(&site.name)
        .bind(&site.widget_key)
        .bind(origins_json(&site.allowed_origins))
        .bind(&site.auto_reply)
        .bind(site.now)
        .bind(json(&SiteConfig::default()))
        .execute(&mut *tx)
        .await
        .map_err(duplicate_or_error)?;
        sqlx::query(
            "INSERT INTO departments (id, site_id, name, created_at) VALUES ($1, $2, 'General', $3)",
        )
        .bind(site.default_department_id.as_uuid())
        .bind(site.id.as_uuid())
        .bind(site.now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE sites SET default_department_id = $2 WHERE id = $1")
            .bind(site.id.as_uuid())
            .bind(site.default_department_id.as_uuid())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(SiteSettings {
            id: site.id,
            name: site.name,
            widget_key: site.widget_key,
            allowed_origins: site.allowed_origins,
            auto_reply: site.auto_reply,
            default_department_id: site.default_department_id,
            config: SiteConfig::default(),
        })
    }

    async fn site(&self, id: SiteId) -> StoreResult<Option<SiteSettings>> {
        let sql = format!("{SITE_SELECT} WHERE id = $1");
        sqlx::query_as::<_, SiteRow>(&sql)
            .bind(id.as_uuid())
            .fetch_optional(&self.read)
            .await?
            .map(SiteSettings::try_from)
            .transpose()
    }

    async fn site_by_widget_key(&self, key: &str) -> StoreResult<Option<SiteSettings>> {
        let sql = format!("{SITE_SELECT} WHERE widget_key = $1");
        sqlx::query_as::<_, SiteRow>(&sql)
            .bind(key)
            .fetch_optional(&self.read)
            .await?
            .map(SiteSettings::try_from)
            .transpose()
    }

    async fn sites(&self, only: Option<&[SiteId]>) -> StoreResult<Vec<SiteSettings>> {
        let sql = format!("{SITE_SELECT} ORDER BY created_at, id");
        let all = sqlx::query_as::<_, SiteRow>(&sql)
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(SiteSettings::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(match only {
            Some(ids) => all.into_iter().filter(|s| ids.contains(&s.id)).collect(),
            None => all,
        })
    }

    async fn update_site(
        &self,
        id: SiteId,
        update: SiteSettingsUpdate,
    ) -> StoreResult<Option<SiteSettings>> {
        let mut tx = self.write.begin().await?;
        let sql = format!("{SITE_SELECT} WHERE id = $1");
        let Some(row) = sqlx::query_as::<_, SiteRow>(&sql)
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let mut site = SiteSettings::try_from(row)?;
        if let Some(name) = update.name {
            site.name = name;
        }
        if let Some(origins) = update.allowed_origins {
            site.allowed_origins = origins;
        }
        if let Some(auto_reply) = update.auto_reply {
            site.auto_reply = auto_reply;
        }
        if let Some(config) = update.config {
            site.config = config;
        }
        sqlx::query(
            "UPDATE sites SET name = $2, allowed_origins = $3, auto_reply = $4, config = $5 \
             WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(&site.name)
        .bind(origins_json(&site.allowed_origins))
        .bind(&site.auto_reply)
        .bind(json(&site.config))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(site))
    }

    async fn create_agent(&self, agent: NewAgent) -> StoreResult<Agent> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO agents (id, email, display_name, password_hash, role, max_chats, \
             idle_since, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(agent.id.as_uuid())
        .bind(&agent.email)
        .bind(&agent.display_name)
        .bind(&agent.password_hash)
        .bind(agent.role.as_str())
        .bind(i64::from(agent.max_chats))
        .bind(agent.now)
        .execute(&mut *tx)
        .await
        .map_err(duplicate_or_error)?;
        for site in &agent.sites {
            sqlx::query(
                "INSERT INTO agent_sites (agent_id, site_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(agent.id.as_uuid())
            .bind(site.as_uuid())
            .execute(&mut *tx)
            .await?;
            // A new agent serves their sites' default queues.
            sqlx::query(
                "INSERT INTO agent_departments (agent_id, department_id) \
                 SELECT $1, default_department_id FROM sites \
                 WHERE id = $2 AND default_department_id IS NOT NULL ON CONFLICT DO NOTHING",
            )
            .bind(agent.id.as_uuid())
            .bind(site.as_uuid())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.agent(agent.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("agent vanished after creation".into()))
    }

    async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        let mut conn = self.read.acquire().await?;
        let sql = format!("{AGENT_SELECT} WHERE id = $1");
        let Some(row) = sqlx::query_as::<_, AgentRow>(&sql)
            .bind(id.as_uuid())
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Ok(None);
        };
        let (sites, departments) = agent_memberships(&mut conn, *id.as_uuid()).await?;
        row.into_agent(sites, departments).map(Some)
    }

    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<Agent>> {
        let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM agents WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.read)
            .await?;
        match id {
            Some(id) => self.agent(AgentId::from_uuid(id)).await,
            None => Ok(None),
        }
    }

    async fn agents(&self) -> StoreResult<Vec<Agent>> {
        let mut conn = self.read.acquire().await?;
        let sql = format!("{AGENT_SELECT} ORDER BY created_at, id");
        let rows = sqlx::query_as::<_, AgentRow>(&sql)
            .fetch_all(&mut *conn)
            .await?;
        let mut agents = Vec::with_capacity(rows.len());
        for row in rows {
            let (sites, departments) = agent_memberships(&mut conn, row.id).await?;
            agents.push(row.into_agent(sites, departments)?);
        }
        Ok(agents)
    }

    async fn create_session(
        &self,
        token_hash: &[u8],
        agent: AgentId,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO agent_sessions (token_hash, agent_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(agent.as_uuid())
        .bind(now)
        .bind(expires_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn session_agent(&self, token_hash: &[u8], now: Millis) -> StoreResult<Option<AgentId>> {
        let id: Option<Uuid> = sqlx::query_scalar(
            "SELECT agent_id FROM agent_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await?;
        Ok(id.map(AgentId::from_uuid))
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM agent_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn agent_connected(&self, agent: AgentId, now: Millis) -> StoreResult<()> {
        // Coming online counts as the start of idleness; a return within the grace period
        // keeps every chat.
        sqlx::query(
            "UPDATE agents SET idle_since = CASE WHEN online THEN idle_since ELSE $2 END, \
             online = TRUE, disconnected_at = NULL WHERE id = $1",
        )
        .bind(agent.as_uuid())
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn agent_disconnected(&self, agent: AgentId, now: Millis) -> StoreResult<()> {
        sqlx::query("UPDATE agents SET online = FALSE, disconnected_at = $2 WHERE id = $1")
            .bind(agent.as_uuid())
            .bind(now)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn set_agent_away(&self, agent: AgentId, away: bool) -> StoreResult<()> {
        sqlx::query("UPDATE agents SET away = $2 WHERE id = $1")
            .bind(agent.as_uuid())
            .bind(away)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn reset_presence(&self, now: Millis) -> StoreResult<()> {
        sqlx::query("UPDATE agents SET online = FALSE, disconnected_at = $1 WHERE online")
            .bind(now)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn requeue_abandoned(
        &self,
        cutoff: Millis,
        now: Millis,
        notice: &str,
    ) -> StoreResult<Vec<Requeued>> {
        let mut tx = self.write.begin().await?;
        let abandoned: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT c.id, c.agent_id FROM conversations c JOIN agents a ON a.id = c.agent_id \
             WHERE c.status = 'assigned' AND NOT a.online AND a.disconnected_at IS NOT NULL \
             AND a.disconnected_at <= $1 ORDER BY c.assigned_at, c.id",
        )
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
        let mut requeued = Vec::with_capacity(abandoned.len());
        for (conversation, agent) in abandoned {
            sqlx::query(
                "UPDATE conversations SET status = 'queued', agent_id = NULL, \
                 assigned_at = NULL, requeued = TRUE WHERE id = $1 AND status = 'assigned'",
            )
            .bind(conversation)
            .execute(&mut *tx)
            .await?;
            let department: Option<Uuid> =
                sqlx::query_scalar("SELECT department_id FROM conversations WHERE id = $1")
                    .bind(conversation)
                    .fetch_one(&mut *tx)
                    .await?;
            record_decision(
                &mut tx,
                conversation,
                now,
                Decision {
                    agent: None,
                    department,
                    rule: "requeued_after_grace",
                    candidates: &[],
                    note: Some("the agent stayed offline past the grace period"),
                },
            )
            .await?;
            let notice =
                insert_message(&mut tx, conversation, AuthorKind::System, None, None, notice, now)
                    .await?;
            let conversation = load_conversation(&mut tx, conversation)
                .await?
                .ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))?;
            requeued.push(Requeued {
                conversation,
                previous_agent: AgentId::from_uuid(agent),
                notice,
            });
        }
        tx.commit().await?;
        Ok(requeued)
    }

    async fn set_agent_cap(&self, agent: AgentId, max_chats: u32) -> StoreResult<()> {
        sqlx::query("UPDATE agents SET max_chats = $2 WHERE id = $1")
            .bind(agent.as_uuid())
            .bind(i64::from(max_chats))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn set_agent_departments(
        &self,
        agent: AgentId,
        departments: &[DepartmentId],
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM agent_departments WHERE agent_id = $1")
            .bind(agent.as_uuid())
            .execute(&mut *tx)
            .await?;
        for department in departments {
            sqlx::query(
                "INSERT INTO agent_departments (agent_id, department_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(agent.as_uuid())
            .bind(department.as_uuid())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_department(&self, department: NewDepartment) -> StoreResult<Department> {
        sqlx::query(
            "INSERT INTO departments (id, site_id, name, fallback_id, created_at, hours) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(department.id.as_uuid())
        .bind(department.site_id.as_uuid())
        .bind(&department.name)
        .bind(department.fallback_id.map(Uuid::from))
        .bind(department.now)
        .bind(department.hours.as_ref().map(json))
        .execute(&self.write)
        .await
        .map_err(duplicate_or_error)?;
        Ok(Department {
            id: department.id,
            site_id: department.site_id,
            name: department.name,
            fallback_id: department.fallback_id,
            hours: department.hours,
        })
    }

    async fn department(&self, id: DepartmentId) -> StoreResult<Option<Department>> {
        let sql = format!("{DEPARTMENT_SELECT} WHERE id = $1");
        sqlx::query_as::<_, DepartmentRow>(&sql)
            .bind(id.as_uuid())
            .fetch_optional(&self.read)
            .await?
            .map(Department::try_from)
            .transpose()
    }

    async fn departments(&self, site: SiteId) -> StoreResult<Vec<Department>> {
        let sql = format!("{DEPARTMENT_SELECT} WHERE site_id = $1 ORDER BY created_at, id");
        sqlx::query_as::<_, DepartmentRow>(&sql)
            .bind(site.as_uuid())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(Department::try_from)
            .collect()
    }

    async fn ensure_visitor(&self, id: VisitorId, site: SiteId, now: Millis) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO visitors (id, site_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.as_uuid())
        .bind(site.as_uuid())
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn set_visitor_identity(
        &self,
        id: VisitorId,
        user_id: &str,
        attributes: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE visitors SET user_id = $2, attributes = $3 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(user_id)
            .bind(attributes)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn visitor_attributes(&self, id: VisitorId) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT attributes FROM visitors WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn append_batch(&self, batch: &[Append]) -> StoreResult<Vec<AppendOutcome>> {
        let mut tx = self.write.begin().await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for item in batch {
            outcomes.push(append_one(&mut tx, item).await?);
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
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(conversation.as_uuid())
            .bind(to_db(after))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(Message::try_from)
            .collect()
    }

    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        let mut conn = self.read.acquire().await?;
        load_conversation(&mut conn, *id.as_uuid()).await
    }

    async fn conversations(&self, filter: &ConversationFilter) -> StoreResult<Vec<Conversation>> {
        // Fixed SQL with optional filters bound as NULL, so no SQL is built from input.
        let sql = format!(
            "{CONVERSATION_SELECT} WHERE ($1 IS NULL OR c.agent_id = $1) \
             AND ($2 IS NULL OR c.visitor_id = $2) AND ($3 = FALSE OR c.status <> 'closed') \
             ORDER BY c.created_at DESC, c.id DESC"
        );
        let rows = sqlx::query_as::<_, ConversationRow>(&sql)
            .bind(filter.agent.map(Uuid::from))
            .bind(filter.visitor.map(Uuid::from))
            .bind(filter.open_only)
            .fetch_all(&self.read)
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
        let mut tx = self.write.begin().await?;
        let closed = sqlx::query(
            "UPDATE conversations SET status = 'closed', closed_at = $2, \
             missed = NOT agent_replied WHERE id = $1 AND status <> 'closed'",
        )
        .bind(id.as_uuid())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if closed == 0 {
            return Ok(None);
        }
        let conversation = load_conversation(&mut tx, *id.as_uuid()).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    async fn queue_heads(&self, site: SiteId) -> StoreResult<Vec<Conversation>> {
        let mut conn = self.read.acquire().await?;
        let departments: Vec<Uuid> = sqlx::query_scalar(
            "SELECT DISTINCT department_id FROM conversations \
             WHERE site_id = $1 AND status = 'queued' AND department_id IS NOT NULL",
        )
        .bind(site.as_uuid())
        .fetch_all(&mut *conn)
        .await?;
        let sql = format!(
            "{CONVERSATION_SELECT} WHERE c.department_id = $1 AND c.status = 'queued' \
             ORDER BY {QUEUE_ORDER} LIMIT 1"
        );
        let mut heads = Vec::with_capacity(departments.len());
        for department in departments {
            if let Some(row) = sqlx::query_as::<_, ConversationRow>(&sql)
                .bind(department)
                .fetch_optional(&mut *conn)
                .await?
            {
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
        sqlx::query_as::<_, CandidateRow>(
            "SELECT a.id, a.max_chats, a.idle_since, \
             (SELECT COUNT(*) FROM conversations c WHERE c.agent_id = a.id \
              AND c.status = 'assigned') AS open_chats, \
             EXISTS (SELECT 1 FROM conversations p WHERE p.id = \
                     (SELECT q.id FROM conversations q WHERE q.visitor_id = $2 \
                      AND q.agent_id IS NOT NULL AND q.status = 'closed' \
                      ORDER BY q.closed_at DESC, q.id DESC LIMIT 1) \
                     AND p.agent_id = a.id) AS sticky \
             FROM agents a JOIN agent_departments d ON d.agent_id = a.id \
             WHERE d.department_id = $1 AND a.online AND NOT a.away ORDER BY a.id",
        )
        .bind(department.as_uuid())
        .bind(visitor.as_uuid())
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    async fn try_assign(
        &self,
        assignment: &Assignment,
        now: Millis,
    ) -> StoreResult<Option<Conversation>> {
        let mut tx = self.write.begin().await?;
        let agent = assignment.agent;
        // Serialise assignments to this agent, so two of them cannot both see a free slot.
        sqlx::query(LOCK_AGENT)
            .bind(agent.as_uuid())
            .execute(&mut *tx)
            .await?;
        let assigned = sqlx::query(
            "UPDATE conversations SET status = 'assigned', agent_id = $2, assigned_at = $3, \
             requeued = FALSE \
             WHERE id = $1 AND status = 'queued' \
             AND ($4 = department_id OR $4 = (SELECT d.fallback_id FROM departments d \
                                               WHERE d.id = conversations.department_id)) \
             AND EXISTS (SELECT 1 FROM agents a JOIN agent_departments m ON m.agent_id = a.id \
                         WHERE a.id = $2 AND a.online AND NOT a.away AND m.department_id = $4 \
                         AND a.max_chats > (SELECT COUNT(*) FROM conversations o \
                                            WHERE o.agent_id = $2 AND o.status = 'assigned'))",
        )
        .bind(assignment.conversation.as_uuid())
        .bind(agent.as_uuid())
        .bind(now)
        .bind(assignment.via_department.as_uuid())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if assigned == 0 {
            return Ok(None);
        }
        sqlx::query("UPDATE agents SET idle_since = $2 WHERE id = $1")
            .bind(agent.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let conversation = load_conversation(&mut tx, *assignment.conversation.as_uuid())
            .await?
            .ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))?;
        record_decision(
                &mut tx,
                *conversation.id.as_uuid(),
                now,
                Decision {
                    agent: Some(*agent.as_uuid()),
                    department: conversation.department_id.map(Uuid::from),
                    rule: assignment.rule,
                    candidates: &assignment.candidates,
                    note: None,
                },
            )
        .await?;
        tx.commit().await?;
        Ok(Some(conversation))
    }

    async fn queue(&self, site: SiteId) -> StoreResult<Vec<QueueEntry>> {
        let sql = format!(
            "SELECT c.id, c.visitor_id, c.department_id FROM conversations c \
             WHERE c.site_id = $1 AND c.status = 'queued' AND c.department_id IS NOT NULL \
             ORDER BY c.department_id, {QUEUE_ORDER}"
        );
        let rows: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(&sql)
            .bind(site.as_uuid())
            .fetch_all(&self.read)
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut position = 0;
        let mut current = None;
        for (id, visitor, department) in rows {
            if current != Some(department) {
                current = Some(department);
                position = 0;
            }
            position += 1;
            entries.push(QueueEntry {
                conversation_id: ConversationId::from_uuid(id),
                visitor_id: VisitorId::from_uuid(visitor),
                department_id: DepartmentId::from_uuid(department),
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
        Ok(sqlx::query_scalar(
            "SELECT decided_at FROM routing_decisions WHERE department_id = $1 \
             AND agent_id IS NOT NULL AND rule NOT LIKE 'transfer%' \
             ORDER BY decided_at DESC, id DESC LIMIT $2",
        )
        .bind(department.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?)
    }

    async fn routing_decisions(
        &self,
        conversation: ConversationId,
    ) -> StoreResult<Vec<RoutingDecision>> {
        sqlx::query_as::<_, DecisionRow>(
            "SELECT decided_at, agent_id, department_id, rule, candidates, note \
             FROM routing_decisions WHERE conversation_id = $1 ORDER BY id",
        )
        .bind(conversation.as_uuid())
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(RoutingDecision::try_from)
        .collect()
    }

    async fn transfer(
        &self,
        conversation: ConversationId,
        to: &TransferTarget,
        note: Option<&str>,
        now: Millis,
    ) -> StoreResult<Result<Transferred, TransferRejection>> {
        let mut tx = self.write.begin().await?;
        let Some(current) = load_conversation(&mut tx, *conversation.as_uuid()).await? else {
            return Ok(Err(TransferRejection::NotFound));
        };
        if current.status == ConversationStatus::Closed {
            return Ok(Err(TransferRejection::Closed));
        }
        let from = current.agent.as_ref().map(|a| a.id);
        match to {
            TransferTarget::Agent { agent_id } => {
                if from == Some(*agent_id) {
                    return Ok(Err(TransferRejection::SameAgent));
                }
                sqlx::query(LOCK_AGENT)
                    .bind(agent_id.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                let target: Option<(bool, bool, i64, i64)> = sqlx::query_as(
                    "SELECT a.online, a.away, a.max_chats, \
                     (SELECT COUNT(*) FROM conversations o WHERE o.agent_id = a.id \
                      AND o.status = 'assigned') FROM agents a JOIN agent_sites s \
                     ON s.agent_id = a.id WHERE a.id = $1 AND s.site_id = $2",
                )
                .bind(agent_id.as_uuid())
                .bind(current.site_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
                match target {
                    Some((true, false, cap, open)) if open < cap => {}
                    Some((true, false, _, _)) => return Ok(Err(TransferRejection::AgentFull)),
                    _ => return Ok(Err(TransferRejection::AgentUnavailable)),
                }
                sqlx::query(
                    "UPDATE conversations SET status = 'assigned', agent_id = $2, \
                     assigned_at = $3, requeued = FALSE WHERE id = $1",
                )
                .bind(conversation.as_uuid())
                .bind(agent_id.as_uuid())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                record_decision(
                &mut tx,
                *conversation.as_uuid(),
                now,
                Decision {
                    agent: Some(*agent_id.as_uuid()),
                    department: current.department_id.map(Uuid::from),
                    rule: "transfer_to_agent",
                    candidates: &[],
                    note,
                },
            )
                .await?;
            }
            TransferTarget::Department { department_id } => {
                let same_site: Option<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM departments WHERE id = $1 AND site_id = $2",
                )
                .bind(department_id.as_uuid())
                .bind(current.site_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
                if same_site.is_none() {
                    return Ok(Err(TransferRejection::DepartmentNotFound));
                }
                sqlx::query(
                    "UPDATE conversations SET status = 'queued', agent_id = NULL, \
                     assigned_at = NULL, department_id = $2, requeued = TRUE WHERE id = $1",
                )
                .bind(conversation.as_uuid())
                .bind(department_id.as_uuid())
                .execute(&mut *tx)
                .await?;
                record_decision(
                &mut tx,
                *conversation.as_uuid(),
                now,
                Decision {
                    agent: None,
                    department: Some(*department_id.as_uuid()),
                    rule: "transfer_to_department",
                    candidates: &[],
                    note,
                },
            )
                .await?;
            }
        }
        let conversation = load_conversation(&mut tx, *conversation.as_uuid())
            .await?
            .ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))?;
        tx.commit().await?;
        Ok(Ok(Transferred { conversation, from }))
    }

    async fn set_priority(
        &self,
        conversation: ConversationId,
        priority: Priority,
    ) -> StoreResult<Option<Conversation>> {
        let mut tx = self.write.begin().await?;
        let changed = sqlx::query(
            "UPDATE conversations SET priority = $2 WHERE id = $1 AND status <> 'closed'",
        )
        .bind(conversation.as_uuid())
        .bind(priority.as_i64())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let conversation = load_conversation(&mut tx, *conversation.as_uuid()).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    async fn create_lead(&self, lead: Lead) -> StoreResult<Lead> {
        sqlx::query(
            "INSERT INTO leads (id, site_id, visitor_id, kind, department_id, name, email, phone, \
             message, custom, consent, landing_page, current_page, referrer, utm_source, \
             utm_medium, utm_campaign, utm_term, utm_content, created_at) VALUES ($1, $2, $3, $4, \
             $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .bind(lead.id.as_uuid())
        .bind(lead.site_id.as_uuid())
        .bind(lead.visitor_id.map(Uuid::from))
        .bind(lead.kind.as_str())
        .bind(lead.department_id.map(Uuid::from))
        .bind(&lead.name)
        .bind(&lead.email)
        .bind(&lead.phone)
        .bind(&lead.message)
        .bind(json(&lead.custom))
        .bind(lead.consent)
        .bind(&lead.page.landing_page)
        .bind(&lead.page.current_page)
        .bind(&lead.page.referrer)
        .bind(&lead.utm.source)
        .bind(&lead.utm.medium)
        .bind(&lead.utm.campaign)
        .bind(&lead.utm.term)
        .bind(&lead.utm.content)
        .bind(lead.created_at)
        .execute(&self.write)
        .await?;
        Ok(lead)
    }

    async fn leads(&self, filter: &LeadFilter) -> StoreResult<Vec<Lead>> {
        let sql = format!(
            "{LEAD_SELECT} WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR created_at >= $2) \
             AND ($3 IS NULL OR created_at < $3) ORDER BY created_at DESC, id DESC"
        );
        let rows = sqlx::query_as::<_, LeadRow>(&sql)
            .bind(filter.kind.map(|k| k.as_str()))
            .bind(filter.from)
            .bind(filter.to)
            .fetch_all(&self.read)
            .await?;
        let mut leads = Vec::with_capacity(rows.len());
        for row in rows {
            let lead = Lead::try_from(row)?;
            if filter.sites.as_ref().is_none_or(|s| s.contains(&lead.site_id)) {
                leads.push(lead);
            }
        }
        Ok(leads)
    }

    async fn close_inactive(
        &self,
        site: SiteId,
        cutoff: Millis,
        now: Millis,
        notice: &str,
    ) -> StoreResult<Vec<ClosedInactive>> {
        let mut tx = self.write.begin().await?;
        let silent: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM conversations WHERE site_id = $1 AND status <> 'closed' \
             AND last_visitor_at <= $2 ORDER BY last_visitor_at, id",
        )
        .bind(site.as_uuid())
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
        let mut closed = Vec::with_capacity(silent.len());
        for id in silent {
            let notice =
                insert_message(&mut tx, id, AuthorKind::System, None, None, notice, now).await?;
            sqlx::query(
                "UPDATE conversations SET status = 'closed', closed_at = $2, \
                 missed = NOT agent_replied WHERE id = $1 AND status <> 'closed'",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let conversation = load_conversation(&mut tx, id)
                .await?
                .ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))?;
            closed.push(ClosedInactive {
                conversation,
                notice,
            });
        }
        tx.commit().await?;
        Ok(closed)
    }
}

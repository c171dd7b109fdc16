// The `Store` implementation shared by the SQLite and PostgreSQL stores.
//
// Both dialects accept the same SQL here (`$N` placeholders, `RETURNING`, partial-index upserts),
// so the logic is written once and compiled twice: `sqlite.rs` and `postgres.rs` each
// `include!` this file after defining `Db` (the sqlx database), `Conn` (its connection),
// `ThisStore` (their store type, with `write` and `read` pools) and `LOCK_AGENT` (the
// statement that serialises assignments to one agent). Generic code over `sqlx::Database`
// would need a dozen trait bounds per function for the same effect.

use async_trait::async_trait;
use bellhop_protocol::api::{SiteSettings, SiteSettingsUpdate};
use bellhop_protocol::frames::{AuthorKind, Conversation, ConversationStatus, Message, Millis};
use bellhop_protocol::{AgentId, ConversationId, SiteId, VisitorId};
use uuid::Uuid;

use super::rows::{
    AGENT_SELECT, AgentRow, CONVERSATION_SELECT, CandidateRow, ConversationRow, MESSAGE_SELECT,
    MessageRow, SITE_SELECT, SiteRow, origins_json, to_db,
};
use super::{
    Agent, Append, AppendOutcome, AppendRejection, Appended, Author, ConversationFilter, NewAgent,
    NewSite, QueueEntry, RoutingSnapshot, Store, StoreError, StoreResult, Target, author_kind,
    author_uuid,
};

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

async fn agent_sites(conn: &mut Conn, agent: Uuid) -> StoreResult<Vec<Uuid>> {
    Ok(
        sqlx::query_scalar::<_, Uuid>(
            "SELECT site_id FROM agent_sites WHERE agent_id = $1 ORDER BY site_id",
        )
        .bind(agent)
        .fetch_all(&mut *conn)
        .await?,
    )
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
    now: Millis,
) -> StoreResult<(Uuid, SiteId, bool)> {
    let existing: Option<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, site_id FROM conversations WHERE visitor_id = $1 AND status <> 'closed'",
    )
    .bind(visitor.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((id, site_id)) = existing {
        return Ok((id, SiteId::from_uuid(site_id), false));
    }
    let id = Uuid::now_v7();
    // Another node may open one at the same moment: the partial unique index decides, and the
    // loser uses the winner's conversation.
    let inserted = sqlx::query(
        "INSERT INTO conversations (id, site_id, visitor_id, status, created_at, queued_at) \
         VALUES ($1, $2, $3, 'queued', $4, $4) \
         ON CONFLICT (visitor_id) WHERE status <> 'closed' DO NOTHING",
    )
    .bind(id)
    .bind(site.as_uuid())
    .bind(visitor.as_uuid())
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok((id, site, true));
    }
    let (id, site_id): (Uuid, Uuid) = sqlx::query_as(
        "SELECT id, site_id FROM conversations WHERE visitor_id = $1 AND status <> 'closed'",
    )
    .bind(visitor.as_uuid())
    .fetch_one(&mut *conn)
    .await?;
    Ok((id, SiteId::from_uuid(site_id), false))
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
        (Target::VisitorOpen { site_id }, Author::Visitor(visitor)) => {
            let (id, site, opened) =
                open_conversation_for(conn, visitor, *site_id, item.now).await?;
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
        sqlx::query(
            "INSERT INTO sites (id, name, widget_key, allowed_origins, auto_reply, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(site.id.as_uuid())
        .bind(&site.name)
        .bind(&site.widget_key)
        .bind(origins_json(&site.allowed_origins))
        .bind(&site.auto_reply)
        .bind(site.now)
        .execute(&self.write)
        .await
        .map_err(duplicate_or_error)?;
        Ok(SiteSettings {
            id: site.id,
            name: site.name,
            widget_key: site.widget_key,
            allowed_origins: site.allowed_origins,
            auto_reply: site.auto_reply,
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
        sqlx::query(
            "UPDATE sites SET name = $2, allowed_origins = $3, auto_reply = $4 WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(&site.name)
        .bind(origins_json(&site.allowed_origins))
        .bind(&site.auto_reply)
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
            sqlx::query("INSERT INTO agent_sites (agent_id, site_id) VALUES ($1, $2)")
                .bind(agent.id.as_uuid())
                .bind(site.as_uuid())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let mut sites = agent.sites;
        sites.sort();
        sites.dedup();
        Ok(Agent {
            id: agent.id,
            email: agent.email,
            display_name: agent.display_name,
            password_hash: agent.password_hash,
            role: agent.role,
            max_chats: agent.max_chats,
            sites,
        })
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
        let sites = agent_sites(&mut conn, *id.as_uuid()).await?;
        row.into_agent(sites).map(Some)
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
            let sites = agent_sites(&mut conn, row.id).await?;
            agents.push(row.into_agent(sites)?);
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

    async fn set_agent_online(&self, agent: AgentId, online: bool, now: Millis) -> StoreResult<()> {
        // Coming online counts as the start of idleness; going offline keeps the old value.
        sqlx::query(
            "UPDATE agents SET online = $2, \
             idle_since = CASE WHEN $2 AND NOT online THEN $3 ELSE idle_since END WHERE id = $1",
        )
        .bind(agent.as_uuid())
        .bind(online)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn reset_presence(&self) -> StoreResult<()> {
        sqlx::query("UPDATE agents SET online = FALSE WHERE online")
            .execute(&self.write)
            .await?;
        Ok(())
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
            "UPDATE conversations SET status = 'closed', closed_at = $2 \
             WHERE id = $1 AND status <> 'closed'",
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

    async fn routing_snapshot(&self, site: SiteId) -> StoreResult<Option<RoutingSnapshot>> {
        let mut conn = self.read.acquire().await?;
        let sql = format!(
            "{CONVERSATION_SELECT} WHERE c.site_id = $1 AND c.status = 'queued' \
             ORDER BY c.queued_at, c.id LIMIT 1"
        );
        let Some(row) = sqlx::query_as::<_, ConversationRow>(&sql)
            .bind(site.as_uuid())
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Ok(None);
        };
        let conversation = Conversation::try_from(row)?;
        let candidates = sqlx::query_as::<_, CandidateRow>(
            "SELECT a.id, a.max_chats, a.idle_since, \
             (SELECT COUNT(*) FROM conversations c WHERE c.agent_id = a.id \
              AND c.status = 'assigned') AS open_chats \
             FROM agents a JOIN agent_sites s ON s.agent_id = a.id \
             WHERE s.site_id = $1 AND a.online ORDER BY a.id",
        )
        .bind(site.as_uuid())
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(RoutingSnapshot {
            conversation,
            candidates,
        }))
    }

    async fn try_assign(
        &self,
        conversation: ConversationId,
        agent: AgentId,
        now: Millis,
    ) -> StoreResult<Option<Conversation>> {
        let mut tx = self.write.begin().await?;
        // Serialise assignments to this agent, so two of them cannot both see a free slot.
        sqlx::query(LOCK_AGENT)
            .bind(agent.as_uuid())
            .execute(&mut *tx)
            .await?;
        let assigned = sqlx::query(
            "UPDATE conversations SET status = 'assigned', agent_id = $2, assigned_at = $3 \
             WHERE id = $1 AND status = 'queued' \
             AND EXISTS (SELECT 1 FROM agents a JOIN agent_sites s ON s.agent_id = a.id \
                         WHERE a.id = $2 AND a.online AND s.site_id = conversations.site_id \
                         AND a.max_chats > (SELECT COUNT(*) FROM conversations o \
                                            WHERE o.agent_id = $2 AND o.status = 'assigned'))",
        )
        .bind(conversation.as_uuid())
        .bind(agent.as_uuid())
        .bind(now)
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
        let conversation = load_conversation(&mut tx, *conversation.as_uuid()).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    async fn queue(&self, site: SiteId) -> StoreResult<Vec<QueueEntry>> {
        let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT id, visitor_id FROM conversations WHERE site_id = $1 AND status = 'queued' \
             ORDER BY queued_at, id",
        )
        .bind(site.as_uuid())
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .zip(1u32..)
            .map(|((id, visitor), position)| QueueEntry {
                conversation_id: ConversationId::from_uuid(id),
                visitor_id: VisitorId::from_uuid(visitor),
                position,
            })
            .collect())
    }
}

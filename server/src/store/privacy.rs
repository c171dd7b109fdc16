//! Privacy: erasing one visitor with everything stored about them, deleting closed
//! conversations past their site's retention, and the audit log of such actions.
//!
//! A conversation is deleted with its messages, attachments' records and routing audit (its
//! rating and read marks are its own columns; tables added later hang off it with
//! `ON DELETE CASCADE`). The attachments' bytes are not in the database: every deletion
//! answers their blob keys, and the caller deletes them from the blob store after the commit,
//! so a crash in between leaves at worst an orphan blob, never a record without its file.

use async_trait::async_trait;
use bellhop_protocol::console::AuditEntry;
use bellhop_protocol::frames::{AgentRef, Conversation, Millis};
use bellhop_protocol::{AgentId, ConversationId, SiteId, VisitorId};
use uuid::Uuid;

use super::conversations::load_conversation;
use super::dialect::Conn;
use super::{SqlStore, StoreResult};

/// An action to record in the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAudit {
    pub at: Millis,
    /// `None` for the server's own actions.
    pub actor: Option<AgentRef>,
    /// `visitor_exported`, `visitor_erased`, `retention_swept`, …
    pub action: &'static str,
    pub site: Option<SiteId>,
    pub subject: String,
}

/// What erasing a visitor removed.
#[derive(Clone, Debug, Default)]
pub struct Erased {
    /// The conversations that were still open, as they were: their agents must let go.
    pub open: Vec<Conversation>,
    /// How many conversations went.
    pub conversations: usize,
    /// The attachments' bytes to delete from the blob store.
    pub blob_keys: Vec<String>,
}

/// What one retention sweep of a site removed.
#[derive(Clone, Debug, Default)]
pub struct Swept {
    pub conversations: Vec<ConversationId>,
    pub blob_keys: Vec<String>,
}

#[async_trait]
pub trait PrivacyStore: Send + Sync + 'static {
    async fn record_audit(&self, entry: &NewAudit) -> StoreResult<()>;
    /// At most `limit` entries (of one site, or all), newest first.
    async fn audit_entries(&self, site: Option<SiteId>, limit: u32)
    -> StoreResult<Vec<AuditEntry>>;
    /// Deletes the visitor and everything of theirs (conversations with their messages,
    /// files, ratings and read marks; leads; queued mails; attributes), voids their tokens
    /// issued until `audit.at`, and records `audit`, in one transaction. `None`: no such
    /// visitor (nothing changes).
    async fn erase_visitor(
        &self,
        visitor: VisitorId,
        audit: &NewAudit,
    ) -> StoreResult<Option<Erased>>;
    /// Deletes up to `limit` of the site's conversations closed before `cutoff`, oldest
    /// first, in one transaction.
    async fn sweep_closed(&self, site: SiteId, cutoff: Millis, limit: u32) -> StoreResult<Swept>;
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    at: i64,
    actor_id: Option<AgentId>,
    actor_name: Option<String>,
    action: String,
    site_id: Option<SiteId>,
    subject: String,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        AuditEntry {
            at: row.at,
            actor: row.actor_id.map(|id| AgentRef {
                id,
                display_name: row.actor_name.unwrap_or_default(),
            }),
            action: row.action,
            site_id: row.site_id,
            subject: row.subject,
        }
    }
}

async fn insert_audit(conn: &mut Conn<'_>, entry: &NewAudit) -> StoreResult<()> {
    let actor = entry.actor.as_ref();
    conn.conn()
        .execute(
            "INSERT INTO audit_log (id, at, actor_id, actor_name, action, site_id, subject) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            (
                Uuid::now_v7(),
                entry.at,
                actor.map(|a| a.id),
                actor.map(|a| a.display_name.as_str()),
                entry.action,
                entry.site,
                entry.subject.as_str(),
            ),
        )
        .await?;
    Ok(())
}

/// Deletes one conversation and what hangs off it; answers its attachments' blob keys, or
/// `None` when another transaction deleted it first.
async fn delete_conversation(
    conn: &mut Conn<'_>,
    conversation: ConversationId,
) -> StoreResult<Option<Vec<String>>> {
    let blob_keys = conn
        .conn()
        .scalars(
            "SELECT blob_key FROM attachments WHERE conversation_id = $1",
            (conversation,),
        )
        .await?;
    // Messages before the attachments they point at; the rest cascades from the row.
    for sql in [
        "DELETE FROM messages WHERE conversation_id = $1",
        "DELETE FROM attachments WHERE conversation_id = $1",
        "DELETE FROM routing_decisions WHERE conversation_id = $1",
    ] {
        conn.conn().execute(sql, (conversation,)).await?;
    }
    let deleted = conn
        .conn()
        .execute("DELETE FROM conversations WHERE id = $1", (conversation,))
        .await?;
    Ok((deleted == 1).then_some(blob_keys))
}

#[async_trait]
impl PrivacyStore for SqlStore {
    async fn record_audit(&self, entry: &NewAudit) -> StoreResult<()> {
        let mut tx = self.write.begin_write().await?;
        insert_audit(&mut tx.conn(), entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_entries(
        &self,
        site: Option<SiteId>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = self
            .read
            .get()
            .rows(
                "SELECT at, actor_id, actor_name, action, site_id, subject FROM audit_log \
                 WHERE ($1 IS NULL OR site_id = $1) ORDER BY at DESC, id DESC LIMIT $2",
                (site, i64::from(limit)),
            )
            .await?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }

    async fn erase_visitor(
        &self,
        visitor: VisitorId,
        audit: &NewAudit,
    ) -> StoreResult<Option<Erased>> {
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        let exists: Option<VisitorId> = conn
            .conn()
            .scalar_optional("SELECT id FROM visitors WHERE id = $1", (visitor,))
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let conversations: Vec<(ConversationId, String)> = conn
            .conn()
            .rows(
                "SELECT id, status FROM conversations WHERE visitor_id = $1",
                (visitor,),
            )
            .await?;
        let mut erased = Erased {
            conversations: conversations.len(),
            ..Erased::default()
        };
        for (id, status) in conversations {
            if status != "closed"
                && let Some(open) = load_conversation(&mut conn, id).await?
            {
                erased.open.push(open);
            }
            erased.blob_keys.extend(
                delete_conversation(&mut conn, id)
                    .await?
                    .unwrap_or_default(),
            );
        }
        for sql in [
            "DELETE FROM leads WHERE visitor_id = $1",
            "DELETE FROM mail_outbox WHERE visitor_id = $1",
            "DELETE FROM visitors WHERE id = $1",
        ] {
            conn.conn().execute(sql, (visitor,)).await?;
        }
        conn.conn()
            .execute(
                "INSERT INTO erased_visitors (id, erased_at) VALUES ($1, $2) \
                 ON CONFLICT (id) DO UPDATE SET erased_at = excluded.erased_at",
                (visitor, audit.at),
            )
            .await?;
        insert_audit(&mut conn, audit).await?;
        tx.commit().await?;
        Ok(Some(erased))
    }

    async fn sweep_closed(&self, site: SiteId, cutoff: Millis, limit: u32) -> StoreResult<Swept> {
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        let expired: Vec<ConversationId> = conn
            .conn()
            .scalars(
                "SELECT id FROM conversations WHERE site_id = $1 AND status = 'closed' \
                 AND closed_at < $2 ORDER BY closed_at, id LIMIT $3",
                (site, cutoff, i64::from(limit)),
            )
            .await?;
        let mut swept = Swept::default();
        for id in expired {
            // One another node's sweep took first is not counted twice.
            if let Some(blob_keys) = delete_conversation(&mut conn, id).await? {
                swept.blob_keys.extend(blob_keys);
                swept.conversations.push(id);
            }
        }
        tx.commit().await?;
        Ok(swept)
    }
}

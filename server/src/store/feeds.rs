//! What the console's live feeds read of one site: its waiting chats (the queue view, and the
//! wallboard's queue depths) and the load of its departments and agents. Today's figures on
//! the wallboard are read as reports are, with [`super::ReportStore::chat_facts`].

use async_trait::async_trait;
use bellhop_protocol::frames::{AgentRef, AgentStatus, Millis, Priority};
use bellhop_protocol::{AgentId, ConversationId, DepartmentId, SiteId};

use super::routing::QUEUE_ORDER;
use super::rows::count;
use super::{SqlStore, StoreResult};

/// A waiting conversation, numbered in its department's queue as the router serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingChat {
    pub conversation_id: ConversationId,
    pub department_id: DepartmentId,
    pub priority: Priority,
    /// 1 = next in its department's queue.
    pub position: u32,
    /// Its opening, or its latest return to the queue (a transfer to a department, a
    /// re-queue).
    pub waiting_since: Millis,
    /// The name in the visitor's latest pre-chat form.
    pub lead_name: Option<String>,
    /// The `name` of the visitor's verified attributes, when it is a string.
    pub verified_name: Option<String>,
    /// The start (at most [`LAST_TEXT_CHARS`] characters) of the visitor's last message
    /// that is text, not a file.
    pub last_text: Option<String>,
}

/// How much of the visitor's last message the store reads for a preview.
pub const LAST_TEXT_CHARS: u32 = 200;

/// One department's staffing: how many of its agents take new chats now (online, not away,
/// with a cap above 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepartmentStaff {
    pub department_id: DepartmentId,
    pub name: String,
    /// Online, not away, active, with room for chats at all (a cap above 0).
    pub agents_online: u32,
}

/// One agent of a site and their chats there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentLoad {
    pub agent: AgentRef,
    pub status: AgentStatus,
    /// Assigned conversations of this site.
    pub open_chats: u32,
    pub max_chats: u32,
}

#[async_trait]
pub trait FeedStore: Send + Sync + 'static {
    /// Every queued conversation of the site, by department, in queue order.
    async fn waiting_chats(&self, site: SiteId) -> StoreResult<Vec<WaitingChat>>;
    /// Every department of the site (by name) with its agents who take chats now.
    async fn department_staff(&self, site: SiteId) -> StoreResult<Vec<DepartmentStaff>>;
    /// Every active agent of the site (by name) with their status and open chats there.
    async fn agent_loads(&self, site: SiteId) -> StoreResult<Vec<AgentLoad>>;
}

#[derive(sqlx::FromRow)]
struct WaitingRow {
    id: ConversationId,
    department_id: DepartmentId,
    priority: i64,
    queued_at: i64,
    returned_at: Option<i64>,
    lead_name: Option<String>,
    attributes: String,
    last_text: Option<String>,
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: DepartmentId,
    name: String,
    agents_online: i64,
}

#[derive(sqlx::FromRow)]
struct LoadRow {
    id: AgentId,
    display_name: String,
    online: bool,
    away: bool,
    max_chats: i64,
    open_chats: i64,
}

/// The `name` attribute of a visitor's verified attributes (a JSON object), if it is a
/// non-empty string. Attributes that do not parse name nobody.
fn verified_name(attributes: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(attributes).ok()?;
    let name = value.get("name")?.as_str()?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

#[async_trait]
impl FeedStore for SqlStore {
    async fn waiting_chats(&self, site: SiteId) -> StoreResult<Vec<WaitingChat>> {
        // A conversation back in the queue waits since its latest decision without an agent
        // (a transfer to a department or a re-queue); `queued_at` keeps its first arrival,
        // which orders the queue.
        let sql = format!(
            "SELECT c.id, c.department_id, c.priority, c.queued_at, \
             (SELECT MAX(r.decided_at) FROM routing_decisions r \
              WHERE r.conversation_id = c.id AND r.agent_id IS NULL) AS returned_at, \
             (SELECT l.name FROM leads l WHERE l.visitor_id = c.visitor_id \
              AND l.kind = 'prechat' AND l.name IS NOT NULL \
              ORDER BY l.created_at DESC LIMIT 1) AS lead_name, \
             v.attributes, \
             (SELECT SUBSTR(m.body, 1, {LAST_TEXT_CHARS}) FROM messages m \
              WHERE m.conversation_id = c.id AND m.author_kind = 'visitor' \
              AND m.attachment_id IS NULL ORDER BY m.seq DESC LIMIT 1) AS last_text \
             FROM conversations c JOIN visitors v ON v.id = c.visitor_id \
             WHERE c.site_id = $1 AND c.status = 'queued' AND c.department_id IS NOT NULL \
             ORDER BY c.department_id, {QUEUE_ORDER}"
        );
        let rows: Vec<WaitingRow> = self.read.get().rows(&sql, (site,)).await?;
        let mut chats = Vec::with_capacity(rows.len());
        let mut current = None;
        let mut position = 0;
        for row in rows {
            if current != Some(row.department_id) {
                current = Some(row.department_id);
                position = 0;
            }
            position += 1;
            chats.push(WaitingChat {
                conversation_id: row.id,
                department_id: row.department_id,
                priority: Priority::from_i64(row.priority),
                position,
                waiting_since: row
                    .returned_at
                    .map_or(row.queued_at, |r| r.max(row.queued_at)),
                lead_name: row.lead_name.filter(|name| !name.trim().is_empty()),
                verified_name: verified_name(&row.attributes),
                last_text: row.last_text,
            });
        }
        Ok(chats)
    }

    async fn department_staff(&self, site: SiteId) -> StoreResult<Vec<DepartmentStaff>> {
        let rows: Vec<StaffRow> = self
            .read
            .get()
            .rows(
                "SELECT d.id, d.name, \
                 (SELECT COUNT(*) FROM agent_departments m JOIN agents a ON a.id = m.agent_id \
                  WHERE m.department_id = d.id AND a.online AND NOT a.away AND a.active \
                  AND a.max_chats > 0) \
                  AS agents_online \
                 FROM departments d WHERE d.site_id = $1 ORDER BY d.name, d.id",
                (site,),
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(DepartmentStaff {
                    department_id: row.id,
                    name: row.name,
                    agents_online: count(row.agents_online)?,
                })
            })
            .collect()
    }

    async fn agent_loads(&self, site: SiteId) -> StoreResult<Vec<AgentLoad>> {
        let rows: Vec<LoadRow> = self
            .read
            .get()
            .rows(
                "SELECT a.id, a.display_name, a.online, a.away, a.max_chats, \
                 (SELECT COUNT(*) FROM conversations c WHERE c.agent_id = a.id \
                  AND c.status = 'assigned' AND c.site_id = $1) AS open_chats \
                 FROM agents a JOIN agent_sites s ON s.agent_id = a.id \
                 WHERE s.site_id = $1 AND a.active ORDER BY a.display_name, a.id",
                (site,),
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let status = match (row.online, row.away) {
                    (false, _) => AgentStatus::Offline,
                    (true, true) => AgentStatus::Away,
                    (true, false) => AgentStatus::Online,
                };
                Ok(AgentLoad {
                    agent: AgentRef {
                        id: row.id,
                        display_name: row.display_name,
                    },
                    status,
                    open_chats: count(row.open_chats)?,
                    max_chats: count(row.max_chats)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_non_empty_string_name_attribute_names_the_visitor() {
        assert_eq!(
            verified_name(r#"{"name": " Ada Lovelace ", "vip": true}"#).as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(verified_name(r#"{"name": 42}"#), None);
        assert_eq!(verified_name(r#"{"name": "  "}"#), None);
        assert_eq!(verified_name("{}"), None);
        assert_eq!(verified_name("not json"), None);
    }
}

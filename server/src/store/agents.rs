//! Agent accounts and their settings (cap, departments). Presence is in `presence.rs`.

use async_trait::async_trait;
use bellhop_protocol::api::Role;
use bellhop_protocol::console::AgentPreferences;
use bellhop_protocol::frames::{AgentStatus, Millis};
use bellhop_protocol::{AgentId, DepartmentId, SiteId};

use super::dialect::Conn;
use super::rows::{AGENT_SELECT, AgentRow, json};
use super::{SqlStore, StoreResult, duplicate_or_error, vanished};

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
    pub departments: Vec<DepartmentId>,
    /// Connected (on some node).
    pub online: bool,
    /// Keeps current chats, takes no new ones.
    pub away: bool,
    /// A deactivated agent cannot log in (and so gets no chats).
    pub active: bool,
    /// What the agent chose for their console.
    pub preferences: AgentPreferences,
    /// May take waiting chats from the queue view (supervisors and admins always may).
    pub may_pick: bool,
}

impl Agent {
    pub fn status(&self) -> AgentStatus {
        match (self.online, self.away) {
            (false, _) => AgentStatus::Offline,
            (true, true) => AgentStatus::Away,
            (true, false) => AgentStatus::Online,
        }
    }

    /// Whether the agent works on this site (admins reach every site).
    pub fn reaches(&self, site: SiteId) -> bool {
        self.role == Role::Admin || self.sites.contains(&site)
    }

    /// Whether the agent may take waiting chats from the queue: supervisors and admins, and
    /// agents an admin lets.
    pub fn picks(&self) -> bool {
        self.role >= Role::Supervisor || self.may_pick
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

/// Changes to what an agent is and may reach. Taking rights away ends every session of the
/// agent in the same transaction ([`AgentStore::change_access`]): a session's rights were
/// granted under the old ones.
#[derive(Clone, Debug, Default)]
pub struct AccessChange {
    pub role: Option<Role>,
    /// Replaces the agent's sites; departments of sites no longer theirs are dropped, and a
    /// new site's default department is added.
    pub sites: Option<Vec<SiteId>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
}

#[async_trait]
pub trait AgentStore: Send + Sync + 'static {
    async fn agent_count(&self) -> StoreResult<u64>;
    /// Fails with [`super::StoreError::Duplicate`] if the email is taken.
    async fn create_agent(&self, agent: NewAgent) -> StoreResult<Agent>;
    async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>>;
    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<Agent>>;
    async fn agents(&self) -> StoreResult<Vec<Agent>>;

    async fn set_agent_cap(&self, agent: AgentId, max_chats: u32) -> StoreResult<()>;
    /// The name colleagues and visitors see (every conversation shows it from here).
    async fn set_agent_display_name(&self, agent: AgentId, name: &str) -> StoreResult<()>;
    /// Replaces the agent's console settings.
    async fn set_agent_preferences(
        &self,
        agent: AgentId,
        preferences: &AgentPreferences,
    ) -> StoreResult<()>;
    /// Whether the agent may take waiting chats from the queue view.
    async fn set_agent_may_pick(&self, agent: AgentId, may_pick: bool) -> StoreResult<()>;
    /// Replaces the agent's departments.
    async fn set_agent_departments(
        &self,
        agent: AgentId,
        departments: &[DepartmentId],
    ) -> StoreResult<()>;
    /// Applies `change` and, with `end_sessions`, deletes every session of the agent, in one
    /// transaction; returns how many sessions ended.
    async fn change_access(
        &self,
        agent: AgentId,
        change: &AccessChange,
        end_sessions: bool,
    ) -> StoreResult<u64>;
}

/// The agent's sites and departments.
async fn agent_memberships(
    conn: &mut Conn<'_>,
    agent: AgentId,
) -> StoreResult<(Vec<SiteId>, Vec<DepartmentId>)> {
    let sites = conn
        .conn()
        .scalars(
            "SELECT site_id FROM agent_sites WHERE agent_id = $1 ORDER BY site_id",
            (agent,),
        )
        .await?;
    let departments = conn
        .conn()
        .scalars(
            "SELECT department_id FROM agent_departments WHERE agent_id = $1 \
             ORDER BY department_id",
            (agent,),
        )
        .await?;
    Ok((sites, departments))
}

#[async_trait]
impl AgentStore for SqlStore {
    async fn agent_count(&self) -> StoreResult<u64> {
        let n: i64 = self
            .read
            .get()
            .scalar("SELECT COUNT(*) FROM agents", ())
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn create_agent(&self, agent: NewAgent) -> StoreResult<Agent> {
        let mut tx = self.write.begin_write().await?;
        tx.conn()
            .execute(
                "INSERT INTO agents (id, email, display_name, password_hash, role, max_chats, \
                 idle_since, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                (
                    agent.id,
                    &agent.email,
                    &agent.display_name,
                    &agent.password_hash,
                    agent.role.as_str(),
                    i64::from(agent.max_chats),
                    agent.now,
                ),
            )
            .await
            .map_err(duplicate_or_error)?;
        for site in &agent.sites {
            tx.conn()
                .execute(
                    "INSERT INTO agent_sites (agent_id, site_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                    (agent.id, site),
                )
                .await?;
            // A new agent serves their sites' default queues.
            tx.conn()
                .execute(
                    "INSERT INTO agent_departments (agent_id, department_id) \
                     SELECT $1, default_department_id FROM sites \
                     WHERE id = $2 AND default_department_id IS NOT NULL ON CONFLICT DO NOTHING",
                    (agent.id, site),
                )
                .await?;
        }
        tx.commit().await?;
        self.agent(agent.id)
            .await?
            .ok_or_else(|| vanished("agent after creation"))
    }

    async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        let mut pooled = self.read.acquire().await?;
        let mut conn = pooled.conn();
        let sql = format!("{AGENT_SELECT} WHERE id = $1");
        let Some(row) = conn.conn().row_optional::<AgentRow>(&sql, (id,)).await? else {
            return Ok(None);
        };
        let (sites, departments) = agent_memberships(&mut conn, id).await?;
        row.into_agent(sites, departments).map(Some)
    }

    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<Agent>> {
        let id = self
            .read
            .get()
            .scalar_optional("SELECT id FROM agents WHERE email = $1", (email,))
            .await?;
        match id {
            Some(id) => self.agent(id).await,
            None => Ok(None),
        }
    }

    async fn agents(&self) -> StoreResult<Vec<Agent>> {
        let mut pooled = self.read.acquire().await?;
        let mut conn = pooled.conn();
        let sql = format!("{AGENT_SELECT} ORDER BY created_at, id");
        let rows: Vec<AgentRow> = conn.conn().rows(&sql, ()).await?;
        let mut agents = Vec::with_capacity(rows.len());
        for row in rows {
            let (sites, departments) = agent_memberships(&mut conn, row.id).await?;
            agents.push(row.into_agent(sites, departments)?);
        }
        Ok(agents)
    }

    async fn set_agent_cap(&self, agent: AgentId, max_chats: u32) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "UPDATE agents SET max_chats = $2 WHERE id = $1",
                (agent, i64::from(max_chats)),
            )
            .await?;
        Ok(())
    }

    async fn set_agent_display_name(&self, agent: AgentId, name: &str) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "UPDATE agents SET display_name = $2 WHERE id = $1",
                (agent, name),
            )
            .await?;
        Ok(())
    }

    async fn set_agent_preferences(
        &self,
        agent: AgentId,
        preferences: &AgentPreferences,
    ) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "UPDATE agents SET preferences = $2 WHERE id = $1",
                (agent, json(preferences)),
            )
            .await?;
        Ok(())
    }

    async fn set_agent_may_pick(&self, agent: AgentId, may_pick: bool) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "UPDATE agents SET may_pick = $2 WHERE id = $1",
                (agent, may_pick),
            )
            .await?;
        Ok(())
    }

    async fn set_agent_departments(
        &self,
        agent: AgentId,
        departments: &[DepartmentId],
    ) -> StoreResult<()> {
        let mut tx = self.write.begin_write().await?;
        tx.conn()
            .execute(
                "DELETE FROM agent_departments WHERE agent_id = $1",
                (agent,),
            )
            .await?;
        for department in departments {
            tx.conn()
                .execute(
                    "INSERT INTO agent_departments (agent_id, department_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                    (agent, department),
                )
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
    async fn change_access(
        &self,
        agent: AgentId,
        change: &AccessChange,
        end_sessions: bool,
    ) -> StoreResult<u64> {
        let mut tx = self.write.begin_write().await?;
        if let Some(role) = change.role {
            tx.conn()
                .execute(
                    "UPDATE agents SET role = $2 WHERE id = $1",
                    (agent, role.as_str()),
                )
                .await?;
        }
        if let Some(active) = change.active {
            tx.conn()
                .execute(
                    "UPDATE agents SET active = $2 WHERE id = $1",
                    (agent, active),
                )
                .await?;
        }
        if let Some(hash) = &change.password_hash {
            tx.conn()
                .execute(
                    "UPDATE agents SET password_hash = $2 WHERE id = $1",
                    (agent, hash),
                )
                .await?;
        }
        if let Some(sites) = &change.sites {
            tx.conn()
                .execute("DELETE FROM agent_sites WHERE agent_id = $1", (agent,))
                .await?;
            for site in sites {
                tx.conn()
                    .execute(
                        "INSERT INTO agent_sites (agent_id, site_id) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                        (agent, site),
                    )
                    .await?;
            }
            tx.conn()
                .execute(
                    "DELETE FROM agent_departments WHERE agent_id = $1 AND department_id NOT IN \
                     (SELECT d.id FROM departments d JOIN agent_sites s ON s.site_id = d.site_id \
                      WHERE s.agent_id = $1)",
                    (agent,),
                )
                .await?;
            // A site the agent had no department of: they serve its default queue.
            tx.conn()
                .execute(
                    "INSERT INTO agent_departments (agent_id, department_id) \
                     SELECT s.agent_id, t.default_department_id FROM agent_sites s \
                     JOIN sites t ON t.id = s.site_id WHERE s.agent_id = $1 \
                     AND t.default_department_id IS NOT NULL AND NOT EXISTS \
                     (SELECT 1 FROM agent_departments ad JOIN departments d \
                      ON d.id = ad.department_id WHERE ad.agent_id = $1 AND d.site_id = s.site_id) \
                     ON CONFLICT DO NOTHING",
                    (agent,),
                )
                .await?;
        }
        let ended = if end_sessions {
            tx.conn()
                .execute("DELETE FROM agent_sessions WHERE agent_id = $1", (agent,))
                .await?
        } else {
            0
        };
        tx.commit().await?;
        Ok(ended)
    }
}

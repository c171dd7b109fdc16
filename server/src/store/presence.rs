//! Presence per node: which agents are connected, and to which server process.
//!
//! Each process is a node ([`NodeId`], a UUID v7) with a lease row it renews ([`keep_lease`]).
//! An agent is online while some node holds a presence row for them; `agents.online` is kept
//! in step in the same transactions, so routing reads one column. A node that starts marks
//! nobody offline, so nodes can share one database. A node that dies without shutting down
//! stops renewing; once its lease has run out, any node's sweep removes its presence rows and
//! marks the agents who had no other connection offline as of the lease's end, which starts
//! their grace period then.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bellhop_protocol::AgentId;
use bellhop_protocol::frames::Millis;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::dialect::Conn;
use super::{SqlStore, Store, StoreResult};

/// One server process sharing the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(transparent)]
pub struct NodeId(Uuid);

impl NodeId {
    /// A fresh id for this process.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for NodeId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[async_trait]
pub trait PresenceStore: Send + Sync + 'static {
    /// Records a node that starts, holding its lease until `lease_until`.
    async fn register_node(
        &self,
        node: NodeId,
        now: Millis,
        lease_until: Millis,
    ) -> StoreResult<()>;
    /// Extends the node's lease. `false` when the node had already been swept as expired (its
    /// presence rows are gone); it is registered again.
    async fn renew_node(&self, node: NodeId, now: Millis, lease_until: Millis)
    -> StoreResult<bool>;
    /// Removes the nodes whose lease ended before `now` with their presence rows; returns the
    /// agents who thereby went offline (as of their node's lease end).
    async fn release_expired_nodes(&self, now: Millis) -> StoreResult<Vec<AgentId>>;
    /// The agent's first connection on this node: online, grace period over.
    async fn agent_connected(&self, agent: AgentId, node: NodeId, now: Millis) -> StoreResult<()>;
    /// The agent's last connection on this node ended. With no connection on any other node
    /// they are offline; their chats stay theirs until the grace period after `now` runs out.
    async fn agent_disconnected(
        &self,
        agent: AgentId,
        node: NodeId,
        now: Millis,
    ) -> StoreResult<()>;
    async fn set_agent_away(&self, agent: AgentId, away: bool) -> StoreResult<()>;
}

/// Marks the agent offline as of `at` unless some node still holds a presence row for them.
/// Returns whether they went offline. The caller holds the agent's lock.
async fn offline_unless_present(
    conn: &mut Conn<'_>,
    agent: AgentId,
    at: Millis,
) -> StoreResult<bool> {
    let changed = conn
        .conn()
        .execute(
            "UPDATE agents SET online = FALSE, disconnected_at = $2 WHERE id = $1 AND online \
             AND NOT EXISTS (SELECT 1 FROM agent_presence p WHERE p.agent_id = $1)",
            (agent, at),
        )
        .await?;
    Ok(changed > 0)
}

#[async_trait]
impl PresenceStore for SqlStore {
    async fn register_node(
        &self,
        node: NodeId,
        now: Millis,
        lease_until: Millis,
    ) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "INSERT INTO nodes (id, started_at, lease_until) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET lease_until = $3",
                (node, now, lease_until),
            )
            .await?;
        Ok(())
    }

    async fn renew_node(
        &self,
        node: NodeId,
        now: Millis,
        lease_until: Millis,
    ) -> StoreResult<bool> {
        let renewed = self
            .write
            .get()
            .execute(
                "UPDATE nodes SET lease_until = $2 WHERE id = $1",
                (node, lease_until),
            )
            .await?;
        if renewed > 0 {
            return Ok(true);
        }
        self.register_node(node, now, lease_until).await?;
        Ok(false)
    }

    async fn release_expired_nodes(&self, now: Millis) -> StoreResult<Vec<AgentId>> {
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        let expired: Vec<(NodeId, Millis)> = conn
            .conn()
            .rows(
                "SELECT id, lease_until FROM nodes WHERE lease_until < $1 ORDER BY id",
                (now,),
            )
            .await?;
        let mut released = Vec::new();
        for (node, lease_until) in expired {
            let agents: Vec<AgentId> = conn
                .conn()
                .scalars(
                    "SELECT agent_id FROM agent_presence WHERE node_id = $1 ORDER BY agent_id",
                    (node,),
                )
                .await?;
            for &agent in &agents {
                self.lock_agent(&mut conn, agent).await?;
            }
            conn.conn()
                .execute("DELETE FROM agent_presence WHERE node_id = $1", (node,))
                .await?;
            conn.conn()
                .execute("DELETE FROM nodes WHERE id = $1", (node,))
                .await?;
            for agent in agents {
                if offline_unless_present(&mut conn, agent, lease_until).await? {
                    released.push(agent);
                }
            }
        }
        tx.commit().await?;
        Ok(released)
    }

    async fn agent_connected(&self, agent: AgentId, node: NodeId, now: Millis) -> StoreResult<()> {
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        self.lock_agent(&mut conn, agent).await?;
        conn.conn()
            .execute(
                "INSERT INTO agent_presence (agent_id, node_id, connected_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (agent_id, node_id) DO NOTHING",
                (agent, node, now),
            )
            .await?;
        // Coming online counts as the start of idleness; a return within the grace period
        // keeps every chat.
        conn.conn()
            .execute(
                "UPDATE agents SET idle_since = CASE WHEN online THEN idle_since ELSE $2 END, \
                 online = TRUE, disconnected_at = NULL WHERE id = $1",
                (agent, now),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn agent_disconnected(
        &self,
        agent: AgentId,
        node: NodeId,
        now: Millis,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin_write().await?;
        let mut conn = tx.conn();
        self.lock_agent(&mut conn, agent).await?;
        conn.conn()
            .execute(
                "DELETE FROM agent_presence WHERE agent_id = $1 AND node_id = $2",
                (agent, node),
            )
            .await?;
        offline_unless_present(&mut conn, agent, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_agent_away(&self, agent: AgentId, away: bool) -> StoreResult<()> {
        self.write
            .get()
            .execute("UPDATE agents SET away = $2 WHERE id = $1", (agent, away))
            .await?;
        Ok(())
    }
}

/// Renews the node's lease every third of `lease` and sweeps nodes whose lease ran out, until
/// `stop` is cancelled.
pub fn keep_lease(
    store: Arc<dyn Store>,
    node: NodeId,
    lease: Duration,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval((lease / 3).max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => return,
            }
            let now = crate::clock::now_millis();
            match store
                .renew_node(node, now, now.saturating_add(lease_ms))
                .await
            {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    %node,
                    "this node's lease had run out and its presence was released; agents \
                     connected here show offline until they reconnect"
                ),
                Err(e) => tracing::error!(error = ?e, %node, "could not renew the node's lease"),
            }
            match store.release_expired_nodes(now).await {
                Ok(released) => {
                    for agent in released {
                        tracing::info!(%agent, "offline: their node's lease ran out");
                    }
                }
                Err(e) => tracing::error!(error = ?e, "could not release expired nodes"),
            }
        }
    })
}

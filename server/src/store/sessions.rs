//! Agents' login sessions, kept by the hash of their token.

use async_trait::async_trait;
use bellhop_protocol::AgentId;
use bellhop_protocol::frames::Millis;

use super::{SqlStore, StoreResult};

#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    async fn create_session(
        &self,
        token_hash: &[u8],
        agent: AgentId,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// The agent whose unexpired session this is, if it was used after `idle_cutoff`, and
    /// when it was last used.
    async fn session_agent(
        &self,
        token_hash: &[u8],
        now: Millis,
        idle_cutoff: Millis,
    ) -> StoreResult<Option<(AgentId, Millis)>>;
    /// Records that the session was used at `now`.
    async fn touch_session(&self, token_hash: &[u8], now: Millis) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()>;
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(
        &self,
        token_hash: &[u8],
        agent: AgentId,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "INSERT INTO agent_sessions (token_hash, agent_id, created_at, expires_at, \
                 last_used_at) VALUES ($1, $2, $3, $4, $3)",
                (token_hash, agent, now, expires_at),
            )
            .await?;
        Ok(())
    }

    async fn session_agent(
        &self,
        token_hash: &[u8],
        now: Millis,
        idle_cutoff: Millis,
    ) -> StoreResult<Option<(AgentId, Millis)>> {
        Ok(self
            .read
            .get()
            .row_optional(
                "SELECT agent_id, last_used_at FROM agent_sessions WHERE token_hash = $1 \
                 AND expires_at > $2 AND last_used_at > $3",
                (token_hash, now, idle_cutoff),
            )
            .await?)
    }

    async fn touch_session(&self, token_hash: &[u8], now: Millis) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "UPDATE agent_sessions SET last_used_at = $2 WHERE token_hash = $1",
                (token_hash, now),
            )
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "DELETE FROM agent_sessions WHERE token_hash = $1",
                (token_hash,),
            )
            .await?;
        Ok(())
    }
}

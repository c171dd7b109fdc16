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
    /// The agent whose unexpired session this is.
    async fn session_agent(&self, token_hash: &[u8], now: Millis) -> StoreResult<Option<AgentId>>;
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
                "INSERT INTO agent_sessions (token_hash, agent_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
                (token_hash, agent, now, expires_at),
            )
            .await?;
        Ok(())
    }

    async fn session_agent(&self, token_hash: &[u8], now: Millis) -> StoreResult<Option<AgentId>> {
        Ok(self
            .read
            .get()
            .scalar_optional(
                "SELECT agent_id FROM agent_sessions WHERE token_hash = $1 AND expires_at > $2",
                (token_hash, now),
            )
            .await?)
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

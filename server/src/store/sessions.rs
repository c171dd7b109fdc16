//! Agents' login sessions, kept by the hash of their token.

use async_trait::async_trait;
use bellhop_protocol::AgentId;
use bellhop_protocol::frames::Millis;

use super::dialect::{affected, sql};
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
        sql!(self.write.get(), |c| {
            sqlx::query(
                "INSERT INTO agent_sessions (token_hash, agent_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(agent)
            .bind(now)
            .bind(expires_at)
            .execute(c)
            .await
            .map(affected)
        })?;
        Ok(())
    }

    async fn session_agent(&self, token_hash: &[u8], now: Millis) -> StoreResult<Option<AgentId>> {
        Ok(sql!(self.read.get(), |c| {
            sqlx::query_scalar::<_, AgentId>(
                "SELECT agent_id FROM agent_sessions WHERE token_hash = $1 AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(c)
            .await
        })?)
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sql!(self.write.get(), |c| {
            sqlx::query("DELETE FROM agent_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(c)
                .await
                .map(affected)
        })?;
        Ok(())
    }
}

//! The server's own rows: health checks and the secrets it keeps in the database.

use async_trait::async_trait;

use super::{SqlStore, StoreResult};

#[async_trait]
pub trait ServerStore: Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs.
    fn backend(&self) -> &'static str;

    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> StoreResult<()>;

    /// The named secret, storing `fresh` first if there is none yet.
    async fn secret(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>>;
}

#[async_trait]
impl ServerStore for SqlStore {
    fn backend(&self) -> &'static str {
        self.write.backend()
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read.get().execute("SELECT 1", ()).await?;
        Ok(())
    }

    async fn secret(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        let mut tx = self.write.begin_write().await?;
        tx.conn()
            .execute(
                "INSERT INTO server_secrets (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING",
                (name, fresh),
            )
            .await?;
        let value = tx
            .conn()
            .scalar("SELECT value FROM server_secrets WHERE name = $1", (name,))
            .await?;
        tx.commit().await?;
        Ok(value)
    }
}

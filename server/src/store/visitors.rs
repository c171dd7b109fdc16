//! Visitors of a site, and the identity a site vouched for.

use async_trait::async_trait;
use bellhop_protocol::frames::Millis;
use bellhop_protocol::{SiteId, VisitorId};

use super::dialect::{affected, sql};
use super::{SqlStore, StoreResult};

#[async_trait]
pub trait VisitorStore: Send + Sync + 'static {
    async fn ensure_visitor(&self, id: VisitorId, site: SiteId, now: Millis) -> StoreResult<()>;
    /// Records a verified identity: the site's user id and attributes (JSON object).
    async fn set_visitor_identity(
        &self,
        id: VisitorId,
        user_id: &str,
        attributes: &str,
    ) -> StoreResult<()>;
    /// The verified attributes of a visitor (JSON object text; `{}` when none).
    async fn visitor_attributes(&self, id: VisitorId) -> StoreResult<Option<String>>;
}

#[async_trait]
impl VisitorStore for SqlStore {
    async fn ensure_visitor(&self, id: VisitorId, site: SiteId, now: Millis) -> StoreResult<()> {
        sql!(self.write.get(), |c| {
            sqlx::query(
                "INSERT INTO visitors (id, site_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(site)
            .bind(now)
            .execute(c)
            .await
            .map(affected)
        })?;
        Ok(())
    }

    async fn set_visitor_identity(
        &self,
        id: VisitorId,
        user_id: &str,
        attributes: &str,
    ) -> StoreResult<()> {
        sql!(self.write.get(), |c| {
            sqlx::query("UPDATE visitors SET user_id = $2, attributes = $3 WHERE id = $1")
                .bind(id)
                .bind(user_id)
                .bind(attributes)
                .execute(c)
                .await
                .map(affected)
        })?;
        Ok(())
    }

    async fn visitor_attributes(&self, id: VisitorId) -> StoreResult<Option<String>> {
        Ok(sql!(self.read.get(), |c| {
            sqlx::query_scalar::<_, String>("SELECT attributes FROM visitors WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await
        })?)
    }
}

//! Visitors of a site, and the identity a site vouched for.

use async_trait::async_trait;
use bellhop_protocol::frames::Millis;
use bellhop_protocol::{SiteId, VisitorId};

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
    /// Replaces the attributes the site's page set (JSON object text).
    async fn set_page_attributes(&self, id: VisitorId, attributes: &str) -> StoreResult<()>;
    /// What an agent sees of a visitor: the verified user id, the verified attributes and
    /// the page's attributes (JSON object texts).
    async fn visitor_profile(&self, id: VisitorId) -> StoreResult<Option<VisitorRow>>;
}

/// A visitor's identity and attributes as stored.
#[derive(sqlx::FromRow)]
pub struct VisitorRow {
    pub user_id: Option<String>,
    pub attributes: String,
    pub page_attributes: String,
}

#[async_trait]
impl VisitorStore for SqlStore {
    async fn ensure_visitor(&self, id: VisitorId, site: SiteId, now: Millis) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "INSERT INTO visitors (id, site_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO NOTHING",
                (id, site, now),
            )
            .await?;
        Ok(())
    }

    async fn set_visitor_identity(
        &self,
        id: VisitorId,
        user_id: &str,
        attributes: &str,
    ) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "UPDATE visitors SET user_id = $2, attributes = $3 WHERE id = $1",
                (id, user_id, attributes),
            )
            .await?;
        Ok(())
    }

    async fn visitor_attributes(&self, id: VisitorId) -> StoreResult<Option<String>> {
        Ok(self
            .read
            .get()
            .scalar_optional("SELECT attributes FROM visitors WHERE id = $1", (id,))
            .await?)
    }

    async fn set_page_attributes(&self, id: VisitorId, attributes: &str) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "UPDATE visitors SET page_attributes = $2 WHERE id = $1",
                (id, attributes),
            )
            .await?;
        Ok(())
    }

    async fn visitor_profile(&self, id: VisitorId) -> StoreResult<Option<VisitorRow>> {
        Ok(self
            .read
            .get()
            .row_optional(
                "SELECT user_id, attributes, page_attributes FROM visitors WHERE id = $1",
                (id,),
            )
            .await?)
    }
}

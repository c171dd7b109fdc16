//! Visitors of a site: the identity a site vouched for, the attributes its page set, what the
//! widget's session told of the visitor's page, browser and time zone, and whether a visitor
//! was erased (their tokens then stop working).

use async_trait::async_trait;
use bellhop_protocol::api::PageContext;
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
    /// the page's attributes (JSON object texts), and what the widget's session told.
    async fn visitor_profile(&self, id: VisitorId) -> StoreResult<Option<VisitorRow>>;
    /// Records what the widget's session told: each page given replaces the one stored (one
    /// not given stays), as do the browser and time zone when given.
    async fn set_visitor_session(&self, id: VisitorId, session: &VisitorSession)
    -> StoreResult<()>;
    /// When the visitor was erased, if they were: their tokens issued until then are void.
    async fn visitor_erased_at(&self, id: VisitorId) -> StoreResult<Option<Millis>>;
}

/// A visitor's identity and attributes as stored.
#[derive(sqlx::FromRow)]
pub struct VisitorRow {
    pub site_id: SiteId,
    pub user_id: Option<String>,
    pub attributes: String,
    pub page_attributes: String,
    pub landing_page: Option<String>,
    pub current_page: Option<String>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub time_zone: Option<String>,
}

/// What a widget session tells about its visitor, already bounded and checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VisitorSession {
    pub page: PageContext,
    pub user_agent: Option<String>,
    pub time_zone: Option<String>,
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
                "SELECT site_id, user_id, attributes, page_attributes, landing_page, current_page, \
                 referrer, user_agent, time_zone FROM visitors WHERE id = $1",
                (id,),
            )
            .await?)
    }

    async fn set_visitor_session(
        &self,
        id: VisitorId,
        session: &VisitorSession,
    ) -> StoreResult<()> {
        let page = &session.page;
        self.write
            .get()
            .execute(
                "UPDATE visitors SET landing_page = COALESCE($2, landing_page), \
                 current_page = COALESCE($3, current_page), referrer = COALESCE($4, referrer), \
                 user_agent = COALESCE($5, user_agent), time_zone = COALESCE($6, time_zone) \
                 WHERE id = $1",
                (
                    id,
                    &page.landing_page,
                    &page.current_page,
                    &page.referrer,
                    &session.user_agent,
                    &session.time_zone,
                ),
            )
            .await?;
        Ok(())
    }

    async fn visitor_erased_at(&self, id: VisitorId) -> StoreResult<Option<Millis>> {
        Ok(self
            .read
            .get()
            .scalar_optional("SELECT erased_at FROM erased_visitors WHERE id = $1", (id,))
            .await?)
    }
}

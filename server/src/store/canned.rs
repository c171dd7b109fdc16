//! Canned replies: prepared answers of a site (or of one of its departments) that agents
//! insert by their shortcut. A shortcut is unique among a site's site-wide replies and among
//! one department's; a second one is [`StoreError::Duplicate`](super::StoreError::Duplicate).

use async_trait::async_trait;
use bellhop_protocol::console::CannedReply;
use bellhop_protocol::frames::Millis;
use bellhop_protocol::{CannedReplyId, DepartmentId, SiteId};

use super::dialect::sql;
use super::query::placeholders;
use super::{SqlStore, StoreResult, duplicate_or_error};

#[async_trait]
pub trait CannedReplyStore: Send + Sync + 'static {
    async fn create_canned_reply(&self, reply: &CannedReply, now: Millis) -> StoreResult<()>;
    async fn canned_reply(&self, id: CannedReplyId) -> StoreResult<Option<CannedReply>>;
    /// The replies of these sites (`None`: of every site), by shortcut.
    async fn canned_replies(&self, sites: Option<&[SiteId]>) -> StoreResult<Vec<CannedReply>>;
    /// Writes the reply's shortcut and body; `false` when there is no such reply.
    async fn update_canned_reply(&self, reply: &CannedReply, now: Millis) -> StoreResult<bool>;
    /// `false` when there was no such reply.
    async fn delete_canned_reply(&self, id: CannedReplyId) -> StoreResult<bool>;
}

#[derive(sqlx::FromRow)]
struct CannedRow {
    id: CannedReplyId,
    site_id: SiteId,
    department_id: Option<DepartmentId>,
    shortcut: String,
    body: String,
}

impl From<CannedRow> for CannedReply {
    fn from(row: CannedRow) -> Self {
        CannedReply {
            id: row.id,
            site_id: row.site_id,
            department_id: row.department_id,
            shortcut: row.shortcut,
            body: row.body,
        }
    }
}

const CANNED_SELECT: &str = "SELECT id, site_id, department_id, shortcut, body FROM canned_replies";

#[async_trait]
impl CannedReplyStore for SqlStore {
    async fn create_canned_reply(&self, reply: &CannedReply, now: Millis) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "INSERT INTO canned_replies (id, site_id, department_id, shortcut, body, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                (
                    reply.id,
                    reply.site_id,
                    reply.department_id,
                    &reply.shortcut,
                    &reply.body,
                    now,
                ),
            )
            .await
            .map_err(duplicate_or_error)?;
        Ok(())
    }

    async fn canned_reply(&self, id: CannedReplyId) -> StoreResult<Option<CannedReply>> {
        let sql = format!("{CANNED_SELECT} WHERE id = $1");
        let row: Option<CannedRow> = self.read.get().row_optional(&sql, (id,)).await?;
        Ok(row.map(CannedReply::from))
    }

    async fn canned_replies(&self, sites: Option<&[SiteId]>) -> StoreResult<Vec<CannedReply>> {
        let clause = match sites {
            Some([]) => return Ok(Vec::new()),
            Some(sites) => format!(" WHERE site_id IN ({})", placeholders(1, sites.len())),
            None => String::new(),
        };
        let sql = format!("{CANNED_SELECT}{clause} ORDER BY shortcut, id");
        let rows = sql!(self.read.get(), |c| {
            let mut query = sqlx::query_as::<_, CannedRow>(&sql);
            for site in sites.unwrap_or_default() {
                query = query.bind(*site);
            }
            query.fetch_all(c).await
        })?;
        Ok(rows.into_iter().map(CannedReply::from).collect())
    }

    async fn update_canned_reply(&self, reply: &CannedReply, now: Millis) -> StoreResult<bool> {
        let changed = self
            .write
            .get()
            .execute(
                "UPDATE canned_replies SET shortcut = $2, body = $3, updated_at = $4 \
                 WHERE id = $1",
                (reply.id, &reply.shortcut, &reply.body, now),
            )
            .await
            .map_err(duplicate_or_error)?;
        Ok(changed == 1)
    }

    async fn delete_canned_reply(&self, id: CannedReplyId) -> StoreResult<bool> {
        let deleted = self
            .write
            .get()
            .execute("DELETE FROM canned_replies WHERE id = $1", (id,))
            .await?;
        Ok(deleted == 1)
    }
}

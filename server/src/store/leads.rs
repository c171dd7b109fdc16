//! Leads captured by the pre-chat and offline forms, and the conversation each belongs to.
//!
//! A lead sent while its visitor has a chat open belongs to that chat. A pre-chat form is sent
//! before the chat exists: its lead is tied to the visitor's first conversation opened within
//! [`PRECHAT_WINDOW_MS`] after it, by the transaction that opens the conversation
//! (`messages.rs`, [`claim_prechat_leads`]), and keeps it.

use async_trait::async_trait;
use bellhop_protocol::api::{Lead, LeadCursor, LeadKind};
use bellhop_protocol::frames::Millis;
use bellhop_protocol::{ConversationId, DepartmentId, SiteId, VisitorId};

use super::dialect::{Conn, sql};
use super::query::placeholders;
use super::rows::{LEAD_SELECT, LeadRow, json};
use super::{SqlStore, StoreResult};

/// How long after a pre-chat form the conversation it opens may begin.
pub(crate) const PRECHAT_WINDOW_MS: Millis = 3_600_000;

/// Which leads to list.
#[derive(Clone, Debug, Default)]
pub struct LeadFilter {
    /// Only these sites (`None`: any).
    pub sites: Option<Vec<SiteId>>,
    pub kind: Option<LeadKind>,
    pub department: Option<DepartmentId>,
    /// Only leads whose landing page's `utm_source` is this, ignoring case.
    pub source: Option<String>,
    pub visitor: Option<VisitorId>,
    /// Created at or after.
    pub from: Option<Millis>,
    /// Created before.
    pub to: Option<Millis>,
    /// Only the leads listed after this one (keyset paging: created earlier, or in the same
    /// millisecond with a smaller id).
    pub before: Option<LeadCursor>,
    /// At most this many (`None`: every matching lead).
    pub limit: Option<u32>,
}

/// A UTM source as the filter compares it.
pub(crate) fn source_key(source: &str) -> String {
    source.trim().to_lowercase()
}

#[async_trait]
pub trait LeadStore: Send + Sync + 'static {
    /// Stores the lead; one sent while its visitor has a conversation open belongs to it
    /// (the answer says so in `conversation_id`).
    async fn create_lead(&self, lead: Lead) -> StoreResult<Lead>;
    /// Leads, newest first (ties by id, descending), so that paging by [`LeadFilter::before`]
    /// meets each lead once.
    async fn leads(&self, filter: &LeadFilter) -> StoreResult<Vec<Lead>>;
}

/// Ties the visitor's pre-chat leads of the last [`PRECHAT_WINDOW_MS`] that belong to no
/// conversation yet to `conversation`, which the visitor opened at `now`.
pub(super) async fn claim_prechat_leads(
    conn: &mut Conn<'_>,
    visitor: VisitorId,
    conversation: ConversationId,
    now: Millis,
) -> StoreResult<()> {
    conn.conn()
        .execute(
            "UPDATE leads SET conversation_id = $1 WHERE visitor_id = $2 \
             AND conversation_id IS NULL AND kind = 'prechat' \
             AND created_at >= $3 AND created_at <= $4",
            (
                conversation,
                visitor,
                now.saturating_sub(PRECHAT_WINDOW_MS),
                now,
            ),
        )
        .await?;
    Ok(())
}

#[async_trait]
impl LeadStore for SqlStore {
    async fn create_lead(&self, mut lead: Lead) -> StoreResult<Lead> {
        let mut tx = self.write.begin_write().await?;
        if lead.conversation_id.is_none()
            && let Some(visitor) = lead.visitor_id
        {
            lead.conversation_id = tx
                .conn()
                .scalar_optional(
                    "SELECT id FROM conversations WHERE visitor_id = $1 AND status <> 'closed'",
                    (visitor,),
                )
                .await?;
        }
        let (page, utm) = (&lead.page, &lead.utm);
        tx.conn()
            .execute(
                "INSERT INTO leads (id, site_id, visitor_id, kind, department_id, name, email, \
                 phone, message, custom, consent, landing_page, current_page, referrer, \
                 utm_source, utm_medium, utm_campaign, utm_term, utm_content, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18, $19, $20)",
                (
                    lead.id,
                    lead.site_id,
                    lead.visitor_id,
                    lead.kind.as_str(),
                    lead.department_id,
                    &lead.name,
                    &lead.email,
                    &lead.phone,
                    &lead.message,
                    json(&lead.custom),
                    lead.consent,
                    &page.landing_page,
                    &page.current_page,
                    &page.referrer,
                    &utm.source,
                    &utm.medium,
                    &utm.campaign,
                    &utm.term,
                    &utm.content,
                    lead.created_at,
                ),
            )
            .await?;
        // Past the twenty binds one statement takes.
        tx.conn()
            .execute(
                "UPDATE leads SET conversation_id = $2, utm_source_key = $3 WHERE id = $1",
                (
                    lead.id,
                    lead.conversation_id,
                    lead.utm.source.as_deref().map(source_key),
                ),
            )
            .await?;
        tx.commit().await?;
        Ok(lead)
    }

    async fn leads(&self, filter: &LeadFilter) -> StoreResult<Vec<Lead>> {
        // The site filter is in the SQL, so that a page's limit counts only matching leads;
        // only the number of sites shapes the statement.
        let sites = filter.sites.as_deref().unwrap_or_default();
        if filter.sites.is_some() && sites.is_empty() {
            return Ok(Vec::new());
        }
        let site_clause = if sites.is_empty() {
            String::new()
        } else {
            format!(" AND site_id IN ({})", placeholders(10, sites.len()))
        };
        let sql = format!(
            "{LEAD_SELECT} WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR created_at >= $2) \
             AND ($3 IS NULL OR created_at < $3) \
             AND ($4 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5)) \
             AND ($7 IS NULL OR department_id = $7) AND ($8 IS NULL OR utm_source_key = $8) \
             AND ($9 IS NULL OR visitor_id = $9){site_clause} \
             ORDER BY created_at DESC, id DESC LIMIT $6"
        );
        let kind = filter.kind.map(|k| k.as_str());
        let (before_at, before_id) = filter.before.map(|c| (c.created_at, c.id)).unzip();
        let limit = filter.limit.map_or(i64::MAX, i64::from);
        let source = filter.source.as_deref().map(source_key);
        let rows = sql!(self.read.get(), |c| {
            let mut query = sqlx::query_as::<_, LeadRow>(&sql)
                .bind(kind)
                .bind(filter.from)
                .bind(filter.to)
                .bind(before_at)
                .bind(before_id)
                .bind(limit)
                .bind(filter.department)
                .bind(source.as_deref())
                .bind(filter.visitor);
            for site in sites {
                query = query.bind(*site);
            }
            query.fetch_all(c).await
        })?;
        rows.into_iter().map(Lead::try_from).collect()
    }
}

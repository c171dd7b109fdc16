//! Leads captured by the pre-chat and offline forms.

use async_trait::async_trait;
use bellhop_protocol::SiteId;
use bellhop_protocol::api::{Lead, LeadCursor, LeadKind};
use bellhop_protocol::frames::Millis;

use super::dialect::sql;
use super::query::placeholders;
use super::rows::{LEAD_SELECT, LeadRow, json};
use super::{SqlStore, StoreResult};

/// Which leads to list.
#[derive(Clone, Debug, Default)]
pub struct LeadFilter {
    /// Only these sites (`None`: any).
    pub sites: Option<Vec<SiteId>>,
    pub kind: Option<LeadKind>,
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

#[async_trait]
pub trait LeadStore: Send + Sync + 'static {
    async fn create_lead(&self, lead: Lead) -> StoreResult<Lead>;
    /// Leads, newest first (ties by id, descending), so that paging by [`LeadFilter::before`]
    /// meets each lead once.
    async fn leads(&self, filter: &LeadFilter) -> StoreResult<Vec<Lead>>;
}

#[async_trait]
impl LeadStore for SqlStore {
    async fn create_lead(&self, lead: Lead) -> StoreResult<Lead> {
        let (page, utm) = (&lead.page, &lead.utm);
        self.write
            .get()
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
            format!(" AND site_id IN ({})", placeholders(7, sites.len()))
        };
        let sql = format!(
            "{LEAD_SELECT} WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR created_at >= $2) \
             AND ($3 IS NULL OR created_at < $3) \
             AND ($4 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5)){site_clause} \
             ORDER BY created_at DESC, id DESC LIMIT $6"
        );
        let kind = filter.kind.map(|k| k.as_str());
        let (before_at, before_id) = filter.before.map(|c| (c.created_at, c.id)).unzip();
        let limit = filter.limit.map_or(i64::MAX, i64::from);
        let rows = sql!(self.read.get(), |c| {
            let mut query = sqlx::query_as::<_, LeadRow>(&sql)
                .bind(kind)
                .bind(filter.from)
                .bind(filter.to)
                .bind(before_at)
                .bind(before_id)
                .bind(limit);
            for site in sites {
                query = query.bind(*site);
            }
            query.fetch_all(c).await
        })?;
        rows.into_iter().map(Lead::try_from).collect()
    }
}

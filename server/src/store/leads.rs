//! Leads captured by the pre-chat and offline forms.

use async_trait::async_trait;
use bellhop_protocol::SiteId;
use bellhop_protocol::api::{Lead, LeadKind};
use bellhop_protocol::frames::Millis;

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
}

#[async_trait]
pub trait LeadStore: Send + Sync + 'static {
    async fn create_lead(&self, lead: Lead) -> StoreResult<Lead>;
    /// Leads, newest first.
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
        let sql = format!(
            "{LEAD_SELECT} WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR created_at >= $2) \
             AND ($3 IS NULL OR created_at < $3) ORDER BY created_at DESC, id DESC"
        );
        let kind = filter.kind.map(|k| k.as_str());
        let rows: Vec<LeadRow> = self
            .read
            .get()
            .rows(&sql, (kind, filter.from, filter.to))
            .await?;
        let mut leads = Vec::with_capacity(rows.len());
        for row in rows {
            let lead = Lead::try_from(row)?;
            if filter
                .sites
                .as_ref()
                .is_none_or(|s| s.contains(&lead.site_id))
            {
                leads.push(lead);
            }
        }
        Ok(leads)
    }
}

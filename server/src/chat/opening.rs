//! Whether a chat can start: business hours (the department's, else the site's), whether
//! anyone could serve it, and the priority a new chat earns (urgent for a verified visitor
//! whose attributes carry the site's urgent flag).

use bellhop_protocol::api::{Availability, ClosedReason, Department, SiteSettings};
use bellhop_protocol::frames::Priority;
use bellhop_protocol::{DepartmentId, SiteId, VisitorId};

use super::{Chat, ChatError};
use crate::availability::availability;
use crate::hours::Schedule;
use crate::store::AppendRejection;

impl Chat {
    /// Whether a new chat can start in this department now (its hours, else the site's; and
    /// whether any agent of it, or of its fallback, is online).
    pub async fn availability(
        &self,
        site: &SiteSettings,
        department: &Department,
    ) -> Result<Availability, ChatError> {
        let hours = department
            .hours
            .as_ref()
            .or(site.config.business_hours.as_ref())
            .and_then(|hours| match Schedule::parse(hours) {
                Ok(schedule) => Some(schedule),
                Err(e) => {
                    tracing::error!(error = %e, site = %site.id, "stored business hours do not parse; treating as always open");
                    None
                }
            });
        let nobody = VisitorId::from_uuid(uuid::Uuid::nil());
        let mut anyone_online = !self
            .store
            .candidates(department.id, nobody)
            .await?
            .is_empty();
        if !anyone_online && let Some(fallback) = department.fallback_id {
            anyone_online = !self.store.candidates(fallback, nobody).await?.is_empty();
        }
        Ok(availability(
            hours.as_ref(),
            anyone_online,
            chrono::Utc::now(),
        ))
    }

    /// Decides on a visitor's message that may open a chat: refused outside business hours
    /// (the widget then offers the offline form); otherwise the priority the chat would get
    /// (urgent for a visitor whose verified attributes carry the site's urgent flag). A visitor
    /// with an open chat can always write into it: `None`, the message opens nothing.
    pub(super) async fn prepare_open(
        &self,
        visitor: VisitorId,
        site: SiteId,
        department: Option<DepartmentId>,
    ) -> Result<Option<Priority>, ChatError> {
        let open = self
            .store
            .conversations(&crate::store::ConversationFilter {
                visitor: Some(visitor),
                open_only: true,
                limit: 1,
                ..Default::default()
            })
            .await?;
        if !open.is_empty() {
            return Ok(None);
        }
        let Some(site) = self.store.site(site).await? else {
            return Err(AppendRejection::NotFound.into());
        };
        let department = department.unwrap_or(site.default_department_id);
        let Some(department) = self
            .store
            .department(department)
            .await?
            .filter(|d| d.site_id == site.id)
        else {
            // The append refuses it with `not_found`.
            return Ok(Some(Priority::Normal));
        };
        let now = self.availability(&site, &department).await?;
        if now.reason == Some(ClosedReason::OutsideHours) {
            return Err(ChatError::Offline);
        }
        let Some(flag) = &site.config.urgent_attribute else {
            return Ok(Some(Priority::Normal));
        };
        let attributes = self.store.visitor_attributes(visitor).await?;
        let urgent = attributes
            .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok())
            .is_some_and(|a| a.get(flag) == Some(&serde_json::Value::Bool(true)));
        Ok(Some(if urgent {
            Priority::Urgent
        } else {
            Priority::Normal
        }))
    }
}

//! Sites (the websites that embed the widget) and their departments.

use async_trait::async_trait;
use bellhop_protocol::api::{
    BusinessHours, Department, SiteConfig, SiteSettings, SiteSettingsUpdate,
};
use bellhop_protocol::frames::Millis;
use bellhop_protocol::{DepartmentId, SiteId};

use super::rows::{
    DEPARTMENT_SELECT, DepartmentRow, SITE_SELECT, SiteRow, converted, json, origins_json,
};
use super::{SqlStore, StoreResult, duplicate_or_error};

#[derive(Clone, Debug)]
pub struct NewSite {
    pub id: SiteId,
    /// The site's first department ("General"), its default queue.
    pub default_department_id: DepartmentId,
    pub name: String,
    pub widget_key: String,
    pub allowed_origins: Vec<String>,
    pub auto_reply: String,
    pub now: Millis,
}

#[derive(Clone, Debug)]
pub struct NewDepartment {
    pub id: DepartmentId,
    pub site_id: SiteId,
    pub name: String,
    pub fallback_id: Option<DepartmentId>,
    pub hours: Option<BusinessHours>,
    pub now: Millis,
}

#[async_trait]
pub trait SiteStore: Send + Sync + 'static {
    /// Creates the site with its default department. Fails with [`super::StoreError::Duplicate`]
    /// if the widget key is taken.
    async fn create_site(&self, site: NewSite) -> StoreResult<SiteSettings>;
    async fn site(&self, id: SiteId) -> StoreResult<Option<SiteSettings>>;
    async fn site_by_widget_key(&self, key: &str) -> StoreResult<Option<SiteSettings>>;
    /// `None` lists every site.
    async fn sites(&self, only: Option<&[SiteId]>) -> StoreResult<Vec<SiteSettings>>;
    async fn update_site(
        &self,
        id: SiteId,
        update: SiteSettingsUpdate,
    ) -> StoreResult<Option<SiteSettings>>;

    async fn create_department(&self, department: NewDepartment) -> StoreResult<Department>;
    async fn department(&self, id: DepartmentId) -> StoreResult<Option<Department>>;
    async fn departments(&self, site: SiteId) -> StoreResult<Vec<Department>>;
}

#[async_trait]
impl SiteStore for SqlStore {
    async fn create_site(&self, site: NewSite) -> StoreResult<SiteSettings> {
        let mut tx = self.write.begin_write().await?;
        tx.conn()
            .execute(
                "INSERT INTO sites (id, name, widget_key, allowed_origins, auto_reply, \
                 created_at, config) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                (
                    site.id,
                    &site.name,
                    &site.widget_key,
                    origins_json(&site.allowed_origins),
                    &site.auto_reply,
                    site.now,
                    json(&SiteConfig::default()),
                ),
            )
            .await
            .map_err(duplicate_or_error)?;
        tx.conn()
            .execute(
                "INSERT INTO departments (id, site_id, name, created_at) \
                 VALUES ($1, $2, 'General', $3)",
                (site.default_department_id, site.id, site.now),
            )
            .await?;
        tx.conn()
            .execute(
                "UPDATE sites SET default_department_id = $2 WHERE id = $1",
                (site.id, site.default_department_id),
            )
            .await?;
        tx.commit().await?;
        Ok(SiteSettings {
            id: site.id,
            name: site.name,
            widget_key: site.widget_key,
            allowed_origins: site.allowed_origins,
            auto_reply: site.auto_reply,
            default_department_id: site.default_department_id,
            config: SiteConfig::default(),
        })
    }

    async fn site(&self, id: SiteId) -> StoreResult<Option<SiteSettings>> {
        let sql = format!("{SITE_SELECT} WHERE id = $1");
        let row: Option<SiteRow> = self.read.get().row_optional(&sql, (id,)).await?;
        converted(row)
    }

    async fn site_by_widget_key(&self, key: &str) -> StoreResult<Option<SiteSettings>> {
        let sql = format!("{SITE_SELECT} WHERE widget_key = $1");
        let row: Option<SiteRow> = self.read.get().row_optional(&sql, (key,)).await?;
        converted(row)
    }

    async fn sites(&self, only: Option<&[SiteId]>) -> StoreResult<Vec<SiteSettings>> {
        let sql = format!("{SITE_SELECT} ORDER BY created_at, id");
        let rows: Vec<SiteRow> = self.read.get().rows(&sql, ()).await?;
        let all: Vec<SiteSettings> = converted(rows)?;
        Ok(match only {
            Some(ids) => all.into_iter().filter(|s| ids.contains(&s.id)).collect(),
            None => all,
        })
    }

    async fn update_site(
        &self,
        id: SiteId,
        update: SiteSettingsUpdate,
    ) -> StoreResult<Option<SiteSettings>> {
        let mut tx = self.write.begin_write().await?;
        let sql = format!("{SITE_SELECT} WHERE id = $1");
        let Some(row) = tx.conn().row_optional::<SiteRow>(&sql, (id,)).await? else {
            return Ok(None);
        };
        let mut site = SiteSettings::try_from(row)?;
        if let Some(name) = update.name {
            site.name = name;
        }
        if let Some(origins) = update.allowed_origins {
            site.allowed_origins = origins;
        }
        if let Some(auto_reply) = update.auto_reply {
            site.auto_reply = auto_reply;
        }
        if let Some(config) = update.config {
            site.config = config;
        }
        tx.conn()
            .execute(
                "UPDATE sites SET name = $2, allowed_origins = $3, auto_reply = $4, config = $5 \
                 WHERE id = $1",
                (
                    id,
                    &site.name,
                    origins_json(&site.allowed_origins),
                    &site.auto_reply,
                    json(&site.config),
                ),
            )
            .await?;
        tx.commit().await?;
        Ok(Some(site))
    }

    async fn create_department(&self, department: NewDepartment) -> StoreResult<Department> {
        self.write
            .get()
            .execute(
                "INSERT INTO departments (id, site_id, name, fallback_id, created_at, hours) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                (
                    department.id,
                    department.site_id,
                    &department.name,
                    department.fallback_id,
                    department.now,
                    department.hours.as_ref().map(json),
                ),
            )
            .await
            .map_err(duplicate_or_error)?;
        Ok(Department {
            id: department.id,
            site_id: department.site_id,
            name: department.name,
            fallback_id: department.fallback_id,
            hours: department.hours,
        })
    }

    async fn department(&self, id: DepartmentId) -> StoreResult<Option<Department>> {
        let sql = format!("{DEPARTMENT_SELECT} WHERE id = $1");
        let row: Option<DepartmentRow> = self.read.get().row_optional(&sql, (id,)).await?;
        converted(row)
    }

    async fn departments(&self, site: SiteId) -> StoreResult<Vec<Department>> {
        let sql = format!("{DEPARTMENT_SELECT} WHERE site_id = $1 ORDER BY created_at, id");
        let rows: Vec<DepartmentRow> = self.read.get().rows(&sql, (site,)).await?;
        converted(rows)
    }
}

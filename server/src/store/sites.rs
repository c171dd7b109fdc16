//! Sites (the websites that embed the widget) and their departments.

use async_trait::async_trait;
use bellhop_protocol::api::{
    BusinessHours, Department, SiteConfig, SiteSettings, SiteSettingsUpdate,
};
use bellhop_protocol::frames::Millis;
use bellhop_protocol::{DepartmentId, SiteId};

use super::dialect::{affected, sql};
use super::rows::{DEPARTMENT_SELECT, DepartmentRow, SITE_SELECT, SiteRow, json, origins_json};
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
        sql!(tx.conn(), |c| {
            sqlx::query(
                "INSERT INTO sites (id, name, widget_key, allowed_origins, auto_reply, \
                 created_at, config) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(site.id)
            .bind(&site.name)
            .bind(&site.widget_key)
            .bind(origins_json(&site.allowed_origins))
            .bind(&site.auto_reply)
            .bind(site.now)
            .bind(json(&SiteConfig::default()))
            .execute(c)
            .await
            .map(affected)
        })
        .map_err(duplicate_or_error)?;
        sql!(tx.conn(), |c| {
            sqlx::query(
                "INSERT INTO departments (id, site_id, name, created_at) \
                 VALUES ($1, $2, 'General', $3)",
            )
            .bind(site.default_department_id)
            .bind(site.id)
            .bind(site.now)
            .execute(c)
            .await
            .map(affected)
        })?;
        sql!(tx.conn(), |c| {
            sqlx::query("UPDATE sites SET default_department_id = $2 WHERE id = $1")
                .bind(site.id)
                .bind(site.default_department_id)
                .execute(c)
                .await
                .map(affected)
        })?;
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
        sql!(self.read.get(), |c| {
            sqlx::query_as::<_, SiteRow>(&sql)
                .bind(id)
                .fetch_optional(c)
                .await
        })?
        .map(SiteSettings::try_from)
        .transpose()
    }

    async fn site_by_widget_key(&self, key: &str) -> StoreResult<Option<SiteSettings>> {
        let sql = format!("{SITE_SELECT} WHERE widget_key = $1");
        sql!(self.read.get(), |c| {
            sqlx::query_as::<_, SiteRow>(&sql)
                .bind(key)
                .fetch_optional(c)
                .await
        })?
        .map(SiteSettings::try_from)
        .transpose()
    }

    async fn sites(&self, only: Option<&[SiteId]>) -> StoreResult<Vec<SiteSettings>> {
        let sql = format!("{SITE_SELECT} ORDER BY created_at, id");
        let all = sql!(self.read.get(), |c| {
            sqlx::query_as::<_, SiteRow>(&sql).fetch_all(c).await
        })?
        .into_iter()
        .map(SiteSettings::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
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
        let Some(row) = sql!(tx.conn(), |c| {
            sqlx::query_as::<_, SiteRow>(&sql)
                .bind(id)
                .fetch_optional(c)
                .await
        })?
        else {
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
        sql!(tx.conn(), |c| {
            sqlx::query(
                "UPDATE sites SET name = $2, allowed_origins = $3, auto_reply = $4, config = $5 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(&site.name)
            .bind(origins_json(&site.allowed_origins))
            .bind(&site.auto_reply)
            .bind(json(&site.config))
            .execute(c)
            .await
            .map(affected)
        })?;
        tx.commit().await?;
        Ok(Some(site))
    }

    async fn create_department(&self, department: NewDepartment) -> StoreResult<Department> {
        sql!(self.write.get(), |c| {
            sqlx::query(
                "INSERT INTO departments (id, site_id, name, fallback_id, created_at, hours) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(department.id)
            .bind(department.site_id)
            .bind(&department.name)
            .bind(department.fallback_id)
            .bind(department.now)
            .bind(department.hours.as_ref().map(json))
            .execute(c)
            .await
            .map(affected)
        })
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
        sql!(self.read.get(), |c| {
            sqlx::query_as::<_, DepartmentRow>(&sql)
                .bind(id)
                .fetch_optional(c)
                .await
        })?
        .map(Department::try_from)
        .transpose()
    }

    async fn departments(&self, site: SiteId) -> StoreResult<Vec<Department>> {
        let sql = format!("{DEPARTMENT_SELECT} WHERE site_id = $1 ORDER BY created_at, id");
        sql!(self.read.get(), |c| {
            sqlx::query_as::<_, DepartmentRow>(&sql)
                .bind(site)
                .fetch_all(c)
                .await
        })?
        .into_iter()
        .map(Department::try_from)
        .collect()
    }
}

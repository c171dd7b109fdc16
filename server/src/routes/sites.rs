//! Site settings: members read them, admins create and change them.

use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use bellhop_protocol::api::{
    DepartmentList, NewDepartmentRequest, NewSiteRequest, Role, SiteConfig, SiteList, SiteSettings,
    SiteSettingsUpdate,
};
use bellhop_protocol::{DepartmentId, SiteId};
use uuid::Uuid;

use super::{Reply, State};
use crate::auth::origin::Allowed;
use crate::auth::random_alphanumeric;
use crate::clock::now_millis;
use crate::error::HttpError;
use crate::hours::Schedule;
use crate::routes::session::AgentSession;
use crate::store::{Agent, NewDepartment, NewSite, StoreError};

/// A fresh public widget key: 24 random characters.
pub(crate) fn new_widget_key() -> String {
    random_alphanumeric(24)
}

/// Every entry must be `*` or an origin (see [`crate::auth::origin`]).
fn validate_origins(origins: &[String]) -> Result<(), HttpError> {
    for origin in origins {
        Allowed::parse(origin).map_err(|e| HttpError::invalid(e.to_string()))?;
    }
    Ok(())
}

fn validate_text(field: &str, value: &str, max: usize) -> Result<(), HttpError> {
    if value.chars().count() > max {
        return Err(HttpError::invalid(format!(
            "{field} must be at most {max} characters"
        )));
    }
    Ok(())
}

pub(crate) async fn list(state: State, session: AgentSession) -> Reply {
    let agent = &session.agent;
    let only = (agent.role != Role::Admin).then_some(agent.sites.as_slice());
    let sites = state
        .store
        .sites(only)
        .await?
        .into_iter()
        .map(|site| visible_to(agent, site))
        .collect();
    Ok(HttpResponse::Ok().json(SiteList { sites }))
}

pub(crate) async fn get(state: State, session: AgentSession, path: Path<SiteId>) -> Reply {
    let id = session.reach(path.into_inner())?;
    let site = state
        .store
        .site(id)
        .await?
        .ok_or_else(|| HttpError::not_found("site"))?;
    Ok(HttpResponse::Ok().json(visible_to(&session.agent, site)))
}

/// Only admins see the identity secret.
fn visible_to(agent: &Agent, mut site: SiteSettings) -> SiteSettings {
    if agent.role != Role::Admin {
        site.config.identity_secret = None;
    }
    site
}

pub(crate) async fn create(
    state: State,
    session: AgentSession,
    body: Json<NewSiteRequest>,
) -> Reply {
    session.require(Role::Admin)?;
    let body = body.into_inner();
    if body.name.trim().is_empty() {
        return Err(HttpError::invalid("name must not be empty"));
    }
    validate_text("name", &body.name, 200)?;
    validate_origins(&body.allowed_origins)?;
    let auto_reply = body
        .auto_reply
        .unwrap_or_else(|| state.config.routing.default_auto_reply.clone());
    validate_text("auto_reply", &auto_reply, 1000)?;
    let site: SiteSettings = state
        .store
        .create_site(NewSite {
            id: SiteId::from_uuid(Uuid::now_v7()),
            default_department_id: DepartmentId::from_uuid(Uuid::now_v7()),
            name: body.name,
            widget_key: new_widget_key(),
            allowed_origins: body.allowed_origins,
            auto_reply,
            now: now_millis(),
        })
        .await?;
    Ok(HttpResponse::Created().json(site))
}

pub(crate) async fn update(
    state: State,
    session: AgentSession,
    path: Path<SiteId>,
    body: Json<SiteSettingsUpdate>,
) -> Reply {
    session.require(Role::Admin)?;
    let update = body.into_inner();
    if let Some(name) = &update.name {
        if name.trim().is_empty() {
            return Err(HttpError::invalid("name must not be empty"));
        }
        validate_text("name", name, 200)?;
    }
    if let Some(origins) = &update.allowed_origins {
        validate_origins(origins)?;
    }
    if let Some(text) = &update.auto_reply {
        validate_text("auto_reply", text, 1000)?;
    }
    if let Some(config) = &update.config {
        validate_config(config)?;
    }
    let site = state
        .store
        .update_site(path.into_inner(), update)
        .await?
        .ok_or_else(|| HttpError::not_found("site"))?;
    Ok(HttpResponse::Ok().json(site))
}

pub(crate) async fn departments(state: State, session: AgentSession, path: Path<SiteId>) -> Reply {
    let site = session.reach(path.into_inner())?;
    let departments = state.store.departments(site).await?;
    Ok(HttpResponse::Ok().json(DepartmentList { departments }))
}

pub(crate) async fn create_department(
    state: State,
    session: AgentSession,
    path: Path<SiteId>,
    body: Json<NewDepartmentRequest>,
) -> Reply {
    session.require(Role::Admin)?;
    let site = path.into_inner();
    let body = body.into_inner();
    let name = body.name.trim().to_owned();
    if name.is_empty() {
        return Err(HttpError::invalid("name must not be empty"));
    }
    validate_text("name", &name, 100)?;
    if let Some(hours) = &body.hours {
        Schedule::parse(hours).map_err(|e| HttpError::invalid(format!("hours: {e}")))?;
    }
    if state.store.site(site).await?.is_none() {
        return Err(HttpError::not_found("site"));
    }
    if let Some(fallback) = body.fallback_id {
        let same_site = state.store.department(fallback).await?.map(|d| d.site_id);
        if same_site != Some(site) {
            return Err(HttpError::invalid(
                "the fallback must be a department of the same site",
            ));
        }
    }
    let department = state
        .store
        .create_department(NewDepartment {
            id: DepartmentId::from_uuid(Uuid::now_v7()),
            site_id: site,
            name,
            fallback_id: body.fallback_id,
            hours: body.hours,
            now: now_millis(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Duplicate => HttpError::conflict("the site has a department of that name"),
            other => other.into(),
        })?;
    Ok(HttpResponse::Created().json(department))
}

/// Checks a site configuration before it is stored.
fn validate_config(config: &SiteConfig) -> Result<(), HttpError> {
    crate::files::validate_policy(&config.attachments)
        .map_err(|e| HttpError::invalid(format!("attachments: {e}")))?;
    if let Some(hours) = &config.business_hours {
        Schedule::parse(hours).map_err(|e| HttpError::invalid(format!("business_hours: {e}")))?;
    }
    for (which, form) in [
        ("prechat_form", &config.prechat_form),
        ("offline_form", &config.offline_form),
    ] {
        if form.fields.len() > 20 {
            return Err(HttpError::invalid(format!(
                "{which} has more than 20 fields"
            )));
        }
        let mut names = std::collections::HashSet::new();
        for field in &form.fields {
            let ok = !field.name.is_empty()
                && field.name.len() <= 40
                && field
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok {
                return Err(HttpError::invalid(format!(
                    "{which}: {:?} is not a field name (letters, digits, _)",
                    field.name
                )));
            }
            if !names.insert(field.name.as_str()) {
                return Err(HttpError::invalid(format!(
                    "{which}: field {:?} appears twice",
                    field.name
                )));
            }
            validate_text("a field label", &field.label, 200)?;
        }
        if let Some(text) = &form.consent_text {
            validate_text("consent_text", text, 1000)?;
        }
    }
    validate_text("inactivity_message", &config.inactivity_message, 1000)?;
    if let Some(secret) = &config.identity_secret
        && secret.chars().count() < 16
    {
        return Err(HttpError::invalid(
            "identity_secret must be at least 16 characters (a guessable key lets anyone pose \
             as any user)",
        ));
    }
    if config.inactivity_timeout_secs > 0 && config.inactivity_message.trim().is_empty() {
        return Err(HttpError::invalid(
            "inactivity_message must not be empty while inactivity_timeout_secs is set",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_port_only() {
        assert!(validate_origins(&["https://shop.example".into()]).is_ok());
        assert!(validate_origins(&["http://localhost:8080".into()]).is_ok());
        assert!(validate_origins(&["*".into()]).is_ok());
        assert!(validate_origins(&["shop.example".into()]).is_err());
        assert!(validate_origins(&["https://shop.example/path".into()]).is_err());
    }

    #[test]
    fn widget_keys_are_random() {
        assert_ne!(new_widget_key(), new_widget_key());
        assert_eq!(new_widget_key().len(), 24);
    }
}

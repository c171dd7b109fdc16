//! Site settings: members read them, admins create and change them. Supervisors see who is
//! on a site's pages now and may invite one of them to chat.

use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use bellhop_protocol::api::{
    DepartmentList, GreetingRule, LiveVisitorList, NewDepartmentRequest, NewSiteRequest, Role,
    SiteConfig, SiteList, SiteSettings, SiteSettingsUpdate, WidgetLook,
};
use bellhop_protocol::console::{Invite, InviteRequest};
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
use crate::widget_texts;

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

/// `GET /api/v1/sites/{id}/visitors` (supervisors and admins of the site): who is on the
/// site's pages now, most recently heard from first (see [`crate::live_visitors`]).
pub(crate) async fn live_visitors(
    state: State,
    session: AgentSession,
    path: Path<SiteId>,
) -> Reply {
    let site = session.reach(path.into_inner())?;
    session.require(Role::Supervisor)?;
    if state.store.site(site).await?.is_none() {
        return Err(HttpError::not_found("site"));
    }
    let visitors = state.live_visitors.list(site, now_millis());
    Ok(HttpResponse::Ok().json(LiveVisitorList { visitors }))
}

/// The longest invitation text, in characters.
const MAX_INVITE_CHARS: usize = 500;

/// `POST /api/v1/sites/{id}/visitors/{browser_id}/invite` (supervisors and admins of the
/// site): keeps an invitation to chat for a browser on the site now; the answer to its next
/// presence beat carries it (see [`crate::live_visitors`]). `202` with the invitation; `404`
/// when the browser is not on the site.
pub(crate) async fn invite(
    state: State,
    session: AgentSession,
    path: Path<(SiteId, String)>,
    body: Json<InviteRequest>,
) -> Reply {
    let (site, browser) = path.into_inner();
    let site = session.reach(site)?;
    let agent = session.require(Role::Supervisor)?;
    let text = body.into_inner().text.trim().to_owned();
    if text.is_empty() || text.chars().count() > MAX_INVITE_CHARS {
        return Err(HttpError::invalid(format!(
            "text must be 1 to {MAX_INVITE_CHARS} characters"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(HttpError::invalid(
            "text must not contain control characters",
        ));
    }
    let invite = Invite {
        text,
        agent_name: agent.display_name.clone(),
    };
    if !state
        .live_visitors
        .invite(site, &browser, invite.clone(), now_millis())
    {
        return Err(HttpError::not_found("visitor on the site now"));
    }
    tracing::info!(%site, by = %agent.id, "live visitor invited to chat");
    Ok(HttpResponse::Accepted().json(invite))
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

/// The answer targets a site may set, in seconds.
const ANSWER_TARGET_SECS: std::ops::RangeInclusive<u32> = 5..=3600;

/// Checks a site configuration before it is stored.
/// The longest retention a site may set: ten years.
pub(crate) const MAX_RETENTION_DAYS: u32 = 3650;

fn validate_config(config: &SiteConfig) -> Result<(), HttpError> {
    if config.retention_days > MAX_RETENTION_DAYS {
        return Err(HttpError::invalid(format!(
            "retention_days must be 0 (keep for ever) to {MAX_RETENTION_DAYS}"
        )));
    }
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
    if !ANSWER_TARGET_SECS.contains(&config.answer_target_secs) {
        return Err(HttpError::invalid(format!(
            "answer_target_secs must be {} to {}",
            ANSWER_TARGET_SECS.start(),
            ANSWER_TARGET_SECS.end()
        )));
    }
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
    validate_look(&config.widget)?;
    validate_greetings(&config.greetings)
}

/// The most greetings a site may have.
const MAX_GREETINGS: usize = 20;

/// The widget's colour, language and texts: `#rrggbb`, a language the widget speaks, and known
/// keys with texts of at most 500 characters.
fn validate_look(look: &WidgetLook) -> Result<(), HttpError> {
    let hex = look.color.strip_prefix('#').unwrap_or_default();
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(HttpError::invalid(format!(
            "widget.color must be #rrggbb, not {:?}",
            look.color
        )));
    }
    let languages = widget_texts::LANGUAGES.join(", ");
    if !widget_texts::LANGUAGES.contains(&look.language.as_str()) {
        return Err(HttpError::invalid(format!(
            "widget.language must be one of {languages}, not {:?}",
            look.language
        )));
    }
    for (language, texts) in &look.texts {
        if !widget_texts::LANGUAGES.contains(&language.as_str()) {
            return Err(HttpError::invalid(format!(
                "widget.texts: {language:?} is not a language the widget speaks ({languages})"
            )));
        }
        for (key, text) in texts {
            if !widget_texts::is_key(key) {
                return Err(HttpError::invalid(format!(
                    "widget.texts.{language}: {key:?} is not a widget text (see docs/widget.md)"
                )));
            }
            validate_text(
                &format!("widget.texts.{language}.{key}"),
                text,
                widget_texts::MAX_TEXT_CHARS,
            )?;
        }
    }
    Ok(())
}

fn validate_greetings(greetings: &[GreetingRule]) -> Result<(), HttpError> {
    if greetings.len() > MAX_GREETINGS {
        return Err(HttpError::invalid(format!(
            "greetings: at most {MAX_GREETINGS}"
        )));
    }
    for (i, greeting) in greetings.iter().enumerate() {
        let length = greeting.text.chars().count();
        if greeting.text.trim().is_empty() || length > 500 {
            return Err(HttpError::invalid(format!(
                "greetings[{i}].text must be 1 to 500 characters"
            )));
        }
        if let Some(part) = &greeting.url_contains {
            validate_text(&format!("greetings[{i}].url_contains"), part, 200)?;
        }
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
    fn the_widgets_look_is_checked_field_by_field() {
        let refused = |config: SiteConfig| match validate_config(&config) {
            Err(e) => e.to_string(),
            Ok(()) => String::new(),
        };
        assert!(validate_config(&SiteConfig::default()).is_ok());
        let mut config = SiteConfig::default();
        config.widget.color = "#12345g".into();
        assert!(refused(config).contains("widget.color"));
        let mut config = SiteConfig::default();
        config.widget.language = "de".into();
        assert!(refused(config).contains("widget.language"));
        let mut config = SiteConfig::default();
        config.widget.texts.insert(
            "ru".into(),
            [("no_such_key".to_owned(), "x".to_owned())].into(),
        );
        assert!(refused(config).contains("no_such_key"));
        let mut config = SiteConfig::default();
        config
            .widget
            .texts
            .insert("en".into(), [("title".to_owned(), "x".repeat(501))].into());
        assert!(refused(config).contains("widget.texts.en.title"));
        let greeting = |text: &str| GreetingRule {
            text: text.into(),
            url_contains: None,
            after_secs: 0,
            audience: Default::default(),
        };
        let config = SiteConfig {
            greetings: vec![greeting("Hi"), greeting("")],
            ..SiteConfig::default()
        };
        assert!(refused(config).contains("greetings[1].text"));
        let config = SiteConfig {
            greetings: (0..21).map(|_| greeting("Hi")).collect(),
            ..SiteConfig::default()
        };
        assert!(refused(config).contains("greetings"));
        for secs in [4, 3601, 0] {
            let config = SiteConfig {
                answer_target_secs: secs,
                ..SiteConfig::default()
            };
            assert!(refused(config).contains("answer_target_secs"), "{secs}");
        }
        for secs in [5, 30, 3600] {
            let config = SiteConfig {
                answer_target_secs: secs,
                ..SiteConfig::default()
            };
            assert!(validate_config(&config).is_ok(), "{secs}");
        }
    }

    #[test]
    fn widget_keys_are_random() {
        assert_ne!(new_widget_key(), new_widget_key());
        assert_eq!(new_widget_key().len(), 24);
    }
}

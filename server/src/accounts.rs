//! Creating agent accounts, shared by `POST /api/v1/agents` and `bellhop agent add`.

use bellhop_protocol::api::Role;
use bellhop_protocol::{AgentId, SiteId};
use uuid::Uuid;

use crate::auth::password;
use crate::clock::now_millis;
use crate::config::Config;
use crate::store::{Agent, NewAgent, Store, StoreError};

pub struct AgentSpec {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub max_chats: Option<u32>,
    pub sites: Vec<SiteId>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] password::HashError),
}

pub const MIN_PASSWORD_CHARS: usize = 8;

pub async fn create_agent(
    store: &dyn Store,
    config: &Config,
    spec: AgentSpec,
) -> Result<Agent, AccountError> {
    let email = spec.email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace) {
        return Err(AccountError::Invalid(format!(
            "{email:?} is not an email address"
        )));
    }
    let display_name = spec.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(AccountError::Invalid(
            "display_name must be 1 to 100 characters".into(),
        ));
    }
    if spec.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::Invalid(format!(
            "the password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let max_chats = spec.max_chats.unwrap_or(config.routing.default_agent_cap);
    if max_chats > 100 {
        return Err(AccountError::Invalid(
            "max_chats must be at most 100".into(),
        ));
    }
    for site in &spec.sites {
        if store.site(*site).await?.is_none() {
            return Err(AccountError::Invalid(format!("no site {site}")));
        }
    }
    let password = spec.password;
    let password_hash = tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| AccountError::Invalid(format!("hashing task failed: {e}")))??;
    Ok(store
        .create_agent(NewAgent {
            id: AgentId::from_uuid(Uuid::now_v7()),
            email,
            display_name,
            password_hash,
            role: spec.role,
            max_chats,
            sites: spec.sites,
            now: now_millis(),
        })
        .await?)
}

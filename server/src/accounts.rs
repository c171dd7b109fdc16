//! Creating agent accounts, shared by `POST /api/v1/agents` and `bellhop agent add`.

use bellhop_protocol::api::Role;
use bellhop_protocol::{AgentId, ChatCap, DisplayName, Email, Password, SiteId};
use uuid::Uuid;

use crate::auth::limits::Hasher;
use crate::auth::password;
use crate::clock::now_millis;
use crate::config::Config;
use crate::store::{Agent, NewAgent, Store, StoreError};

/// A new account, its fields already parsed (by the REST body, the command line or the
/// configuration); only the password's length and the sites are checked here.
pub(crate) struct AgentSpec {
    pub email: Email,
    pub display_name: DisplayName,
    pub password: Password,
    pub role: Role,
    /// Absent: the configuration's `routing.default_agent_cap`.
    pub max_chats: Option<ChatCap>,
    pub sites: Vec<SiteId>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] password::HashError),
    #[error("password hashing is busy; try again")]
    Busy,
}

pub(crate) const MIN_PASSWORD_CHARS: usize = 8;

/// What a new password must be: long enough.
pub(crate) fn check_password_rules(password: &Password) -> Result<(), String> {
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must be at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    Ok(())
}

/// Creates the account; its password is hashed on `hasher`'s bounded threads, like a login's.
pub(crate) async fn create_agent(
    store: &dyn Store,
    config: &Config,
    hasher: &Hasher,
    spec: AgentSpec,
) -> Result<Agent, AccountError> {
    check_password_rules(&spec.password).map_err(AccountError::Invalid)?;
    let max_chats = match spec.max_chats {
        Some(cap) => cap,
        None => ChatCap::new(config.routing.default_agent_cap)
            .map_err(|e| AccountError::Invalid(format!("routing.default_agent_cap: {e}")))?,
    };
    for site in &spec.sites {
        if store.site(*site).await?.is_none() {
            return Err(AccountError::Invalid(format!("no site {site}")));
        }
    }
    let password_hash = hasher
        .hash(spec.password)
        .await
        .map_err(|_| AccountError::Busy)??;
    Ok(store
        .create_agent(NewAgent {
            id: AgentId::from_uuid(Uuid::now_v7()),
            email: spec.email.into_inner(),
            display_name: spec.display_name.into_inner(),
            password_hash,
            role: spec.role,
            max_chats: max_chats.get(),
            sites: spec.sites,
            now: now_millis(),
        })
        .await?)
}

//! Request extractors that say who is calling: an agent (session token in the
//! `Authorization: Bearer` header or the session cookie) or a visitor (visitor token as bearer),
//! and the role guard every supervisor and admin route goes through
//! ([`AgentSession::require`]).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use bellhop_protocol::SiteId;
use bellhop_protocol::api::Role;
use bellhop_protocol::frames::Conversation;
use secrecy::SecretString;

use crate::app::AppState;
use crate::auth::session::{COOKIE_NAME, looks_like_token, token_hash};
use crate::auth::visitor_token::VisitorClaims;
use crate::clock::now_millis;
use crate::error::HttpError;
use crate::store::Agent;

/// The bearer token of a request, from the header or else the session cookie.
pub(crate) fn bearer(req: &HttpRequest) -> Option<String> {
    if let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        return value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
    }
    req.cookie(COOKIE_NAME).map(|c| c.value().to_owned())
}

/// Looks up the (active) agent a live session token belongs to, and records the use.
pub(crate) async fn agent_for_token(state: &AppState, token: &str) -> Result<Agent, HttpError> {
    if !looks_like_token(token) {
        return Err(HttpError::unauthorized());
    }
    let hash = token_hash(token);
    let now = now_millis();
    let Some((agent_id, last_used)) = state
        .store
        .session_agent(&hash, now, state.config.auth.idle_cutoff(now))
        .await?
    else {
        return Err(HttpError::unauthorized());
    };
    let agent = state
        .store
        .agent(agent_id)
        .await?
        .filter(|agent| agent.active)
        .ok_or_else(HttpError::unauthorized)?;
    // A busy console does not write on every request.
    if last_used < now.saturating_sub(state.config.auth.touch_every_ms()) {
        state.store.touch_session(&hash, now).await?;
    }
    Ok(agent)
}

/// Whether the session is still live (for a socket that authenticated with it a moment ago or
/// long ago); records the use as [`agent_for_token`] does.
pub(crate) async fn session_alive(state: &AppState, hash: &[u8; 32]) -> Result<bool, HttpError> {
    let now = now_millis();
    let found = state
        .store
        .session_agent(hash, now, state.config.auth.idle_cutoff(now))
        .await?;
    if let Some((_, last_used)) = found
        && last_used < now.saturating_sub(state.config.auth.touch_every_ms())
    {
        state.store.touch_session(hash, now).await?;
    }
    Ok(found.is_some())
}

/// Runs an extractor's lookup with the app state and the request's bearer token; no token is
/// `401`.
fn with_bearer<T, Fut>(
    req: &HttpRequest,
    lookup: impl FnOnce(web::Data<AppState>, String) -> Fut + 'static,
) -> Pin<Box<dyn Future<Output = Result<T, HttpError>>>>
where
    Fut: Future<Output = Result<T, HttpError>> + 'static,
{
    let req = req.clone();
    Box::pin(async move {
        let state = state_of(&req)?;
        let token = bearer(&req).ok_or_else(HttpError::unauthorized)?;
        lookup(state, token).await
    })
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, HttpError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(HttpError::internal)
}

/// A logged-in agent. The token is kept secret (`Debug` redacts it) for logout.
pub(crate) struct AgentSession {
    pub agent: Agent,
    pub token: SecretString,
}

impl AgentSession {
    /// `Ok` if the agent's role is `role` or above (roles include the ones below them), else
    /// `forbidden` naming the role needed.
    pub(crate) fn require(&self, role: Role) -> Result<&Agent, HttpError> {
        require(&self.agent, role)
    }

    /// `Ok(site)` if the agent works on it; another site answers `not_found`, as if it did not
    /// exist.
    pub(crate) fn reach(&self, site: SiteId) -> Result<SiteId, HttpError> {
        if self.agent.reaches(site) {
            Ok(site)
        } else {
            Err(HttpError::not_found("site"))
        }
    }
}

/// `Ok` if `agent` holds `role` or a higher one, else `forbidden`.
pub(crate) fn require(agent: &Agent, role: Role) -> Result<&Agent, HttpError> {
    if agent.role >= role {
        Ok(agent)
    } else {
        Err(HttpError::forbidden(match role {
            Role::Agent => "this needs an agent account",
            Role::Supervisor => "this needs a supervisor or admin",
            Role::Admin => "this needs an admin",
        }))
    }
}

impl FromRequest for AgentSession {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        with_bearer(req, |state, token| async move {
            let agent = agent_for_token(&state, &token).await?;
            Ok(AgentSession {
                agent,
                token: token.into(),
            })
        })
    }
}

/// An agent or a visitor.
pub(crate) enum Caller {
    Agent(Agent),
    Visitor(VisitorClaims),
}

impl Caller {
    /// Whether the caller may read this conversation: a visitor only their own; an agent the
    /// conversations of their sites (admins: all).
    pub(crate) fn may_read(&self, conversation: &Conversation) -> bool {
        match self {
            Caller::Visitor(claims) => {
                claims.visitor_id == conversation.visitor_id
                    && claims.site_id == conversation.site_id
            }
            Caller::Agent(agent) => agent.reaches(conversation.site_id),
        }
    }
}

impl FromRequest for Caller {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        with_bearer(req, |state, token| async move {
            if looks_like_token(&token) {
                return Ok(Caller::Agent(agent_for_token(&state, &token).await?));
            }
            let claims = state
                .signer
                .verify(&token)
                .map_err(|_| HttpError::unauthorized())?;
            if !visitor_token_alive(&state, &claims).await? {
                return Err(HttpError::unauthorized());
            }
            Ok(Caller::Visitor(claims))
        })
    }
}

/// Whether a (correctly signed) visitor token still works: not once its visitor was erased
/// after it was issued.
pub(crate) async fn visitor_token_alive(
    state: &AppState,
    claims: &VisitorClaims,
) -> Result<bool, HttpError> {
    let erased_at = state.store.visitor_erased_at(claims.visitor_id).await?;
    Ok(erased_at.is_none_or(|erased_at| claims.issued_at > erased_at))
}

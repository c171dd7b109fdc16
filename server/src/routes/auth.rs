//! Agent login and logout, and the agent's own account (`/api/v1/me`: profile, password,
//! console preferences). A login returns a bearer token and also sets it as an HttpOnly,
//! SameSite=Strict cookie for the browser console.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::web::Json;
use std::net::IpAddr;
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse};
use bellhop_protocol::AgentId;
use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::{AgentProfile, LoginRequest, LoginResponse, PasswordChange};
use bellhop_protocol::console::AgentPreferences;

use super::{Reply, State};
use crate::auth::limits::{LoginGuard, RetryAfter, Throttle};
use crate::auth::session;
use crate::clock::now_millis;
use crate::error::HttpError;
use crate::events::Event;
use crate::routes::session::AgentSession;
use crate::store::{AccessChange, Agent};
use secrecy::ExposeSecret;

pub(crate) fn profile(agent: &Agent) -> AgentProfile {
    AgentProfile {
        id: agent.id,
        email: agent.email.clone(),
        display_name: agent.display_name.clone(),
        role: agent.role,
        max_chats: agent.max_chats,
        sites: agent.sites.clone(),
        departments: agent.departments.clone(),
        status: agent.status(),
        active: agent.active,
        may_pick: agent.may_pick,
        preferences: agent.preferences.clone(),
    }
}

/// The client address login failures are counted under: the one the abuse limits use (the
/// trusted proxy's header when configured, else the TCP peer).
fn login_client_ip(req: &HttpRequest, state: &State) -> Option<IpAddr> {
    let header = state.config.limits.client_ip_header.as_deref();
    Some(crate::limits::client_ip::client_ip(req, header))
}

fn throttled(state: &State, retry: RetryAfter, why: &'static str) -> HttpError {
    let total = LoginGuard::count(&state.login.throttled);
    tracing::warn!(
        reason = why,
        retry_after = retry.0,
        throttled_total = total,
        "login throttled"
    );
    HttpError::rate_limited("login attempts", std::time::Duration::from_secs(retry.0))
}

pub(crate) async fn login(req: HttpRequest, state: State, body: Json<LoginRequest>) -> Reply {
    let LoginRequest {
        email,
        password: given,
    } = body.into_inner();
    let guard = &state.login;
    let account = Throttle::account_key(&email);
    let address = login_client_ip(&req, &state);
    let now = Instant::now();
    // The same answer whether or not the account exists: locks are kept by email.
    if let Some(ip) = address
        && let Err(retry) = guard.throttle.addresses.check(&ip, now)
    {
        return Err(throttled(&state, retry, "client address locked"));
    }
    if let Err(retry) = guard.throttle.accounts.check(&account, now) {
        return Err(throttled(&state, retry, "account locked"));
    }
    let agent = state.store.agent_by_email(email.trim()).await?;
    let hash = agent.as_ref().map(|agent| agent.password_hash.clone());
    let verified = match guard.hasher.verify(given, hash).await {
        Ok(verified) => verified,
        Err(retry) => return Err(throttled(&state, retry, "password hashing busy")),
    };
    let Some(agent) = agent.filter(|_| verified) else {
        let now = Instant::now();
        let account_lock = guard.throttle.accounts.fail(&account, now);
        let address_lock = address.and_then(|ip| guard.throttle.addresses.fail(&ip, now));
        let total = LoginGuard::count(&guard.failed);
        tracing::warn!(
            client = ?address,
            account_locked_for = account_lock.map(|r| r.0),
            address_locked_for = address_lock.map(|r| r.0),
            failed_total = total,
            "login failed"
        );
        return Err(HttpError::new(
            ErrorCode::InvalidCredentials,
            "unknown email or wrong password",
        ));
    };
    guard.throttle.accounts.clear(&account);
    // Only someone who knows the password learns that the account is deactivated.
    if !agent.active {
        tracing::warn!(agent = %agent.id, "login refused: the account is deactivated");
        return Err(HttpError::forbidden("this account is deactivated"));
    }
    tracing::info!(agent = %agent.id, "agent logged in");
    start_session(&state, &agent).await
}

/// Opens a new session for `agent`: the token in the body and as the session cookie.
async fn start_session(state: &State, agent: &Agent) -> Reply {
    let token = session::new_token();
    let now = now_millis();
    let ttl = i64::try_from(state.config.session_ttl_hours)
        .unwrap_or(24)
        .saturating_mul(3_600_000);
    let expires_at = now.saturating_add(ttl);
    state
        .store
        .create_session(&session::token_hash(&token), agent.id, now, expires_at)
        .await?;
    let cookie = Cookie::build(session::COOKIE_NAME, token.clone())
        .path("/")
        .http_only(true)
        .secure(served_over_https(state))
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::hours(
            i64::try_from(state.config.session_ttl_hours).unwrap_or(24),
        ))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(LoginResponse {
        token,
        expires_at,
        agent: profile(agent),
    }))
}

/// Whether the public URL is https, so the session cookie must only travel over TLS.
fn served_over_https(state: &State) -> bool {
    state
        .config
        .public_url
        .as_deref()
        .is_some_and(|url| url.trim().to_ascii_lowercase().starts_with("https://"))
}

/// Ends this session: the token stops working and the sockets opened with it close with
/// `4004` (on every node).
pub(crate) async fn logout(state: State, session: AgentSession) -> Reply {
    let hash = session::token_hash(session.token.expose_secret());
    state.store.delete_session(&hash).await?;
    state.chat.emit(Event::SessionsEnded {
        agent: session.agent.id,
        session: Some(hash),
    });
    tracing::info!(agent = %session.agent.id, "agent logged out");
    let mut gone = Cookie::build(session::COOKIE_NAME, "")
        .path("/")
        .secure(served_over_https(&state))
        .finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// `POST /api/v1/me/password`: with the current password, sets a new one. Every session of
/// the agent ends (their sockets close with `4004`); the caller gets a fresh one. A wrong
/// current password counts as a failed login for the account.
pub(crate) async fn change_password(
    req: HttpRequest,
    state: State,
    session: AgentSession,
    body: Json<PasswordChange>,
) -> Reply {
    let PasswordChange {
        current_password,
        new_password,
    } = body.into_inner();
    let agent = &session.agent;
    let guard = &state.login;
    let account = Throttle::account_key(&agent.email);
    let address = login_client_ip(&req, &state);
    let now = Instant::now();
    if let Err(retry) = guard.throttle.accounts.check(&account, now) {
        return Err(throttled(&state, retry, "account locked"));
    }
    check_new_password(&new_password)?;
    let verified = match guard
        .hasher
        .verify(current_password, Some(agent.password_hash.clone()))
        .await
    {
        Ok(verified) => verified,
        Err(retry) => return Err(throttled(&state, retry, "password hashing busy")),
    };
    if !verified {
        let now = Instant::now();
        guard.throttle.accounts.fail(&account, now);
        if let Some(ip) = address {
            guard.throttle.addresses.fail(&ip, now);
        }
        let total = LoginGuard::count(&guard.failed);
        tracing::warn!(agent = %agent.id, failed_total = total, "password change: wrong current password");
        return Err(HttpError::new(
            ErrorCode::InvalidCredentials,
            "the current password is wrong",
        ));
    }
    set_password(&state, agent.id, new_password).await?;
    tracing::info!(agent = %agent.id, "password changed; every session of the agent ended");
    start_session(&state, agent).await
}

/// `400` unless the new password follows the rules.
pub(crate) fn check_new_password(password: &bellhop_protocol::Password) -> Result<(), HttpError> {
    crate::accounts::check_password_rules(password).map_err(HttpError::invalid)
}

/// Sets the agent's password (checked by [`check_new_password`]) and ends every session of
/// theirs.
pub(crate) async fn set_password(
    state: &State,
    agent: AgentId,
    password: bellhop_protocol::Password,
) -> Result<(), HttpError> {
    let hash = hash_password(state, password).await?;
    end_sessions(
        state,
        agent,
        &AccessChange {
            password_hash: Some(hash),
            ..AccessChange::default()
        },
    )
    .await
}

/// Hashes a new password on the bounded hashing threads.
pub(crate) async fn hash_password(
    state: &State,
    password: bellhop_protocol::Password,
) -> Result<String, HttpError> {
    match state.login.hasher.hash(password).await {
        Ok(Ok(hash)) => Ok(hash),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "password hashing failed");
            Err(HttpError::internal())
        }
        Err(retry) => Err(throttled(state, retry, "password hashing busy")),
    }
}

/// Applies `change` to the agent, ending every session of theirs, and closes their live
/// sockets (on every node).
pub(crate) async fn end_sessions(
    state: &State,
    agent: AgentId,
    change: &AccessChange,
) -> Result<(), HttpError> {
    let ended = state.store.change_access(agent, change, true).await?;
    state.chat.emit(Event::SessionsEnded {
        agent,
        session: None,
    });
    tracing::info!(%agent, sessions = ended, "sessions of the agent ended");
    Ok(())
}

pub(crate) async fn me(session: AgentSession) -> HttpResponse {
    HttpResponse::Ok().json(profile(&session.agent))
}

/// The longest auto-away delay an agent may choose, in minutes (eight hours).
pub(crate) const MAX_AUTO_AWAY_MINUTES: u32 = 480;

/// `GET /api/v1/me/preferences`: the caller's console settings.
pub(crate) async fn preferences(session: AgentSession) -> HttpResponse {
    HttpResponse::Ok().json(&session.agent.preferences)
}

/// `PUT /api/v1/me/preferences`: replaces the caller's console settings (absent fields take
/// their defaults); answers them as stored.
pub(crate) async fn set_preferences(
    state: State,
    session: AgentSession,
    body: Json<AgentPreferences>,
) -> Reply {
    let preferences = body.into_inner();
    if preferences.auto_away_minutes > MAX_AUTO_AWAY_MINUTES {
        return Err(HttpError::invalid(format!(
            "auto_away_minutes must be 0 to {MAX_AUTO_AWAY_MINUTES}"
        )));
    }
    state
        .store
        .set_agent_preferences(session.agent.id, &preferences)
        .await?;
    Ok(HttpResponse::Ok().json(preferences))
}

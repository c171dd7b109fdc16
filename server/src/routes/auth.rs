//! Agent login and logout. A login returns a bearer token and also sets it as an HttpOnly,
//! SameSite=Strict cookie for the browser console.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::web::Json;
use actix_web::{HttpResponse, web};
use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::{AgentProfile, LoginRequest, LoginResponse};

use super::{Reply, State};
use crate::auth::{password, session};
use crate::clock::now_millis;
use crate::error::HttpError;
use crate::routes::session::AgentSession;
use crate::store::Agent;
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
    }
}

pub(crate) async fn login(state: State, body: Json<LoginRequest>) -> Reply {
    let LoginRequest {
        email,
        password: given,
    } = body.into_inner();
    let agent = state.store.agent_by_email(email.trim()).await?;
    let verified = match &agent {
        Some(agent) => {
            let hash = agent.password_hash.clone();
            let given = given.clone();
            // Argon2 is deliberately slow: keep it off the async workers.
            web::block(move || password::verify(given.expose(), &hash))
                .await
                .unwrap_or(false)
        }
        None => {
            let _ = web::block(move || password::verify_dummy(given.expose())).await;
            false
        }
    };
    let Some(agent) = agent.filter(|_| verified) else {
        return Err(HttpError::new(
            ErrorCode::InvalidCredentials,
            "unknown email or wrong password",
        ));
    };
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
    tracing::info!(agent = %agent.id, "agent logged in");
    let cookie = Cookie::build(session::COOKIE_NAME, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::hours(
            i64::try_from(state.config.session_ttl_hours).unwrap_or(24),
        ))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(LoginResponse {
        token,
        expires_at,
        agent: profile(&agent),
    }))
}

pub(crate) async fn logout(state: State, session: AgentSession) -> Reply {
    state
        .store
        .delete_session(&session::token_hash(session.token.expose_secret()))
        .await?;
    let mut gone = Cookie::build(session::COOKIE_NAME, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

pub(crate) async fn me(session: AgentSession) -> HttpResponse {
    HttpResponse::Ok().json(profile(&session.agent))
}

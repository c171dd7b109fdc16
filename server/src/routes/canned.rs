//! Canned replies over REST: every agent reads the replies of their sites; supervisors and
//! admins of a site write them. Another site's reply answers `not_found`, as if it did not
//! exist; a plain agent's write, `forbidden`.

use actix_web::HttpResponse;
use actix_web::web::{Json, Path, Query};
use bellhop_protocol::api::Role;
use bellhop_protocol::console::{
    CannedReply, CannedReplyList, CannedReplyQuery, CannedReplyUpdate, NewCannedReply,
};
use bellhop_protocol::{CannedReplyId, SiteId};
use uuid::Uuid;

use super::{Reply, State};
use crate::clock::now_millis;
use crate::error::HttpError;
use crate::routes::session::{AgentSession, require};
use crate::store::StoreError;

/// The longest shortcut and body, in characters.
const MAX_SHORTCUT_CHARS: usize = 32;
const MAX_BODY_CHARS: usize = 4000;

/// A shortcut as stored: trimmed and lower-cased, 1 to 32 of `a-z 0-9 _ -`.
fn parse_shortcut(shortcut: &str) -> Result<String, HttpError> {
    let shortcut = shortcut.trim().to_lowercase();
    let valid = (1..=MAX_SHORTCUT_CHARS).contains(&shortcut.len())
        && shortcut
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(shortcut)
    } else {
        Err(HttpError::invalid(format!(
            "shortcut must be 1 to {MAX_SHORTCUT_CHARS} of a-z 0-9 _ -"
        )))
    }
}

/// A body as stored: trimmed, 1 to 4000 characters, no control characters but line breaks
/// and tabs.
fn parse_body(body: &str) -> Result<String, HttpError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
        return Err(HttpError::invalid(format!(
            "body must be 1 to {MAX_BODY_CHARS} characters"
        )));
    }
    if body
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(HttpError::invalid(
            "body must not contain control characters",
        ));
    }
    Ok(body.to_owned())
}

/// A duplicate shortcut is `409`; anything else stays itself.
fn conflict(e: StoreError) -> HttpError {
    match e {
        StoreError::Duplicate => {
            HttpError::conflict("a reply with this shortcut exists for this site and department")
        }
        other => other.into(),
    }
}

/// `GET /api/v1/canned-replies?site=`: the replies of the caller's sites (admins: of every
/// site), or of one of them, by shortcut.
pub(crate) async fn list(
    state: State,
    session: AgentSession,
    query: Query<CannedReplyQuery>,
) -> Reply {
    let agent = &session.agent;
    let only: Option<Vec<SiteId>> = match query.site {
        Some(site) => Some(vec![session.reach(site)?]),
        None if agent.role == Role::Admin => None,
        None => Some(agent.sites.clone()),
    };
    let replies = state.store.canned_replies(only.as_deref()).await?;
    Ok(HttpResponse::Ok().json(CannedReplyList { replies }))
}

/// `POST /api/v1/canned-replies` (supervisors and admins of the site): `201` with the reply.
pub(crate) async fn create(
    state: State,
    session: AgentSession,
    body: Json<NewCannedReply>,
) -> Reply {
    let new = body.into_inner();
    // A stranger to the site learns nothing, not even that writing needs a role.
    let site = session.reach(new.site_id)?;
    session.require(Role::Supervisor)?;
    if let Some(department) = new.department_id {
        let on_site = state.store.department(department).await?.map(|d| d.site_id);
        if on_site != Some(site) {
            return Err(HttpError::invalid(format!(
                "department {department} is not one of the site's"
            )));
        }
    }
    let reply = CannedReply {
        id: CannedReplyId::from_uuid(Uuid::now_v7()),
        site_id: site,
        department_id: new.department_id,
        shortcut: parse_shortcut(&new.shortcut)?,
        body: parse_body(&new.body)?,
    };
    state
        .store
        .create_canned_reply(&reply, now_millis())
        .await
        .map_err(conflict)?;
    Ok(HttpResponse::Created().json(reply))
}

/// The reply a supervisor or admin of its site may change: `404` for a stranger to the site
/// (or no such reply), `403` for a plain agent of it.
async fn writable(
    state: &State,
    session: &AgentSession,
    id: CannedReplyId,
) -> Result<CannedReply, HttpError> {
    let reply = state
        .store
        .canned_reply(id)
        .await?
        .filter(|reply| session.agent.reaches(reply.site_id))
        .ok_or_else(|| HttpError::not_found("canned reply"))?;
    require(&session.agent, Role::Supervisor)?;
    Ok(reply)
}

/// `PATCH /api/v1/canned-replies/{id}`: changes the shortcut or the body.
pub(crate) async fn update(
    state: State,
    session: AgentSession,
    path: Path<CannedReplyId>,
    body: Json<CannedReplyUpdate>,
) -> Reply {
    let mut reply = writable(&state, &session, path.into_inner()).await?;
    let update = body.into_inner();
    if let Some(shortcut) = &update.shortcut {
        reply.shortcut = parse_shortcut(shortcut)?;
    }
    if let Some(body) = &update.body {
        reply.body = parse_body(body)?;
    }
    let found = state
        .store
        .update_canned_reply(&reply, now_millis())
        .await
        .map_err(conflict)?;
    if !found {
        return Err(HttpError::not_found("canned reply"));
    }
    Ok(HttpResponse::Ok().json(reply))
}

/// `DELETE /api/v1/canned-replies/{id}`: `204`.
pub(crate) async fn delete(
    state: State,
    session: AgentSession,
    path: Path<CannedReplyId>,
) -> Reply {
    let reply = writable(&state, &session, path.into_inner()).await?;
    if !state.store.delete_canned_reply(reply.id).await? {
        return Err(HttpError::not_found("canned reply"));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_are_lower_cased_and_bounded() {
        assert_eq!(
            parse_shortcut(" Hello_World-2 ").ok().as_deref(),
            Some("hello_world-2")
        );
        for bad in ["", "   ", "two words", "привет", "a/b", &"x".repeat(33)] {
            assert!(parse_shortcut(bad).is_err(), "{bad:?}");
        }
        assert!(parse_shortcut(&"x".repeat(32)).is_ok());
    }

    #[test]
    fn bodies_are_trimmed_text_of_at_most_4000_characters() {
        assert_eq!(
            parse_body("  Здравствуйте!\n ").ok().as_deref(),
            Some("Здравствуйте!")
        );
        assert!(parse_body(" \n ").is_err());
        assert!(parse_body(&"я".repeat(4000)).is_ok());
        assert!(parse_body(&"я".repeat(4001)).is_err());
        assert!(parse_body("bell\u{7}").is_err());
        assert!(parse_body("<script>alert(1)</script>").is_ok());
    }
}

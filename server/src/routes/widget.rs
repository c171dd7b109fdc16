//! The widget's entry: `POST /api/v1/widget/session` exchanges a site's public widget key for a
//! visitor token (or confirms the one the browser holds). The page's `Origin` must be on the
//! site's allow-list, here and at the WebSocket upgrade, so another site cannot act for the
//! visitor (cross-site WebSocket hijacking).
//!
//! The session also keeps what the widget tells of its page, browser and time zone, for the
//! agents' visitor panel (see [`crate::visitor_context`]). A token whose visitor was erased
//! since it was issued is not kept: the browser gets a fresh visitor.
//!
//! With the visitor token, the widget also sends forms (leads), rates a closed chat
//! ([`rate`]) and asks for a chat's transcript by email ([`email_transcript`]). Presence beats
//! need no token; their answer carries a supervisor's invitation to chat.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::{Json, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use std::collections::BTreeMap;

use bellhop_protocol::api::{
    LeadSubmission, PageAttributes, PresenceBeat, RatingRequest, SiteSettings, TranscriptRequest,
    VisitorIdentity, WidgetConfig, WidgetDepartment, WidgetKeyQuery, WidgetSessionRequest,
    WidgetSessionResponse,
};
use bellhop_protocol::console::PresenceAnswer;
use bellhop_protocol::frames::{Conversation, Rating};
use bellhop_protocol::{ConversationId, ErrorCode, VisitorId};
use uuid::Uuid;

use super::{Reply, State};
use crate::app::AppState;
use crate::auth::visitor_token::VisitorClaims;
use crate::clock::now_millis;
use crate::error::HttpError;
use crate::routes::session::{Caller, visitor_token_alive};
use crate::store::VisitorSession;

/// The request's `Origin`, if the site allows it or it is this server's own (the widget's
/// panel, which the site's allowed pages frame); otherwise a 403 `origin_not_allowed` (see
/// [`crate::auth::origin`]).
pub(crate) fn check_origin(
    state: &AppState,
    req: &HttpRequest,
    site: &SiteSettings,
) -> Result<(), HttpError> {
    if crate::auth::origin::from_own_origin(req, state.config.public_url.as_deref()) {
        return Ok(());
    }
    crate::auth::origin::require_allowed(req, site).map(drop)
}

/// The site a widget key names, provided the request comes from one of its allowed origins.
pub(crate) async fn widget_site(
    state: &AppState,
    req: &HttpRequest,
    key: &str,
) -> Result<SiteSettings, HttpError> {
    let site = state
        .store
        .site_by_widget_key(key)
        .await?
        .ok_or_else(|| HttpError::not_found("widget key"))?;
    check_origin(state, req, &site)?;
    Ok(site)
}

pub(crate) async fn session(
    req: HttpRequest,
    state: State,
    body: Json<WidgetSessionRequest>,
) -> Reply {
    let mut body = body.into_inner();
    let ip = crate::limits::client_ip(&req, state.limits.client_ip_header.as_deref());
    state
        .limits
        .widget_sessions
        .check(&ip)
        .map_err(|wait| HttpError::rate_limited("widget sessions from this address", wait))?;
    let site = widget_site(&state, &req, &body.widget_key).await?;
    let told = crate::visitor_context::session_of(
        std::mem::take(&mut body.page),
        body.time_zone.take(),
        req.headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    if let Some(identity) = &body.identity {
        return verified_session(&state, &site, identity, &told).await;
    }
    // Keep the browser's visitor if its token is valid for this site (and its visitor was not
    // erased since); else a new visitor.
    let kept = match body
        .token
        .as_deref()
        .and_then(|t| state.signer.verify(t).ok())
        .filter(|claims| claims.site_id == site.id)
    {
        Some(claims) if visitor_token_alive(&state, &claims).await? => Some(claims),
        _ => None,
    };
    let (visitor_id, token) = match kept {
        Some(claims) => (claims.visitor_id, body.token.unwrap_or_default()),
        None => {
            let claims = VisitorClaims {
                site_id: site.id,
                visitor_id: VisitorId::from_uuid(Uuid::now_v7()),
                issued_at: now_millis(),
            };
            (claims.visitor_id, state.signer.sign(&claims))
        }
    };
    state
        .store
        .ensure_visitor(visitor_id, site.id, now_millis())
        .await?;
    remember_session(&state, visitor_id, &told).await?;
    Ok(HttpResponse::Ok().json(WidgetSessionResponse {
        visitor_id,
        site_id: site.id,
        token,
    }))
}

/// A session for the site's logged-in user: the signature must match the site's identity
/// secret; the visitor is the same on every device and carries the verified attributes.
async fn verified_session(
    state: &AppState,
    site: &SiteSettings,
    identity: &VisitorIdentity,
    told: &VisitorSession,
) -> Reply {
    let Some(secret) = site.config.identity_secret.as_deref() else {
        return Err(HttpError::invalid(
            "identity verification is not enabled for this site",
        ));
    };
    crate::auth::identity::verify(secret, identity).map_err(|e| match e {
        crate::auth::identity::IdentityError::BadSignature => HttpError::forbidden(e.to_string()),
        other => HttpError::invalid(other.to_string()),
    })?;
    let visitor_id =
        crate::auth::identity::visitor_for(state.signer.key(), site.id, &identity.user_id);
    let now = now_millis();
    state.store.ensure_visitor(visitor_id, site.id, now).await?;
    let attributes = serde_json::to_string(&identity.attributes).unwrap_or_else(|_| "{}".into());
    state
        .store
        .set_visitor_identity(visitor_id, &identity.user_id, &attributes)
        .await?;
    remember_session(state, visitor_id, told).await?;
    let token = state.signer.sign(&VisitorClaims {
        site_id: site.id,
        visitor_id,
        issued_at: now,
    });
    Ok(HttpResponse::Ok().json(WidgetSessionResponse {
        visitor_id,
        site_id: site.id,
        token,
    }))
}

/// Keeps what the widget's session told about its visitor's page, browser and time zone.
async fn remember_session(
    state: &AppState,
    visitor: VisitorId,
    told: &VisitorSession,
) -> Result<(), HttpError> {
    if *told != VisitorSession::default() {
        state.store.set_visitor_session(visitor, told).await?;
    }
    Ok(())
}

/// Middleware for the widget's endpoints: echoes the page's origin so the browser lets the
/// widget read every answer, errors included. Access itself is decided by each handler
/// against the site's allow-list; these answers carry no cookies or credentials.
pub(crate) async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut response = next.call(req).await?;
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    Ok(response)
}

/// Anything else under `/api/v1/widget`: a CORS preflight (`OPTIONS`), or `not_found`.
pub(crate) async fn preflight_or_not_found(req: HttpRequest) -> Reply {
    if req.method() == actix_web::http::Method::OPTIONS {
        Ok(preflight(req))
    } else {
        Err(HttpError::not_found("endpoint"))
    }
}

/// CORS preflight (`OPTIONS`) for the widget's endpoints; the actual request is
/// origin-checked against the site it names.
fn preflight(req: HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::NoContent().finish();
    if req.headers().contains_key(header::ORIGIN) {
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
}

/// `GET /api/v1/widget/config?key=WIDGET_KEY&lang=LANG`: departments, forms, whether a chat can
/// start now (else the widget offers the offline form), and the widget's look and texts in the
/// page's language if the widget speaks it (else the site's; see [`crate::widget_texts`]).
pub(crate) async fn config(req: HttpRequest, state: State, query: Query<WidgetKeyQuery>) -> Reply {
    let site = widget_site(&state, &req, &query.key).await?;
    let mut departments = Vec::new();
    let mut availability = None;
    for department in state.store.departments(site.id).await? {
        let now = state.chat.availability(&site, &department).await?;
        if department.id == site.default_department_id {
            availability = Some(now.clone());
        }
        departments.push(WidgetDepartment {
            id: department.id,
            name: department.name,
            availability: now,
        });
    }
    let availability = availability.ok_or_else(HttpError::internal)?;
    let look = &site.config.widget;
    let language = crate::widget_texts::language(query.lang.as_deref(), &look.language);
    let texts = crate::widget_texts::texts(language, &look.texts);
    Ok(HttpResponse::Ok().json(WidgetConfig {
        site_id: site.id,
        site_name: site.name,
        availability,
        departments,
        default_department_id: site.default_department_id,
        prechat_form: site.config.prechat_form,
        offline_form: site.config.offline_form,
        color: site.config.widget.color,
        position: site.config.widget.position,
        language: language.to_owned(),
        texts,
        greetings: site.config.greetings,
        attachment_types: site.config.attachments.allowed_types,
        attachment_max_bytes: site.config.attachments.max_bytes,
        transcript_email: state.mail.is_some(),
        sound: site.config.widget.sound,
    }))
}

/// `POST /api/v1/widget/presence` (no token): a page view or heartbeat of a browser on one of
/// the site's allowed pages, kept in memory (see [`crate::live_visitors`]). Answered `200`
/// with the invitation to chat waiting for this browser, if any (`{}` when none).
pub(crate) async fn presence(req: HttpRequest, state: State, body: Json<PresenceBeat>) -> Reply {
    let ip = crate::limits::client_ip(&req, state.limits.client_ip_header.as_deref());
    state
        .limits
        .presence_beats
        .check(&ip)
        .map_err(|wait| HttpError::rate_limited("presence beats from this address", wait))?;
    let beat = body.into_inner();
    let site = widget_site(&state, &req, &beat.widget_key).await?;
    crate::live_visitors::check(&beat).map_err(|e| HttpError::invalid(e.to_string()))?;
    let invite = state.live_visitors.beat(site.id, beat, now_millis());
    Ok(HttpResponse::Ok().json(PresenceAnswer { invite }))
}

/// `POST /api/v1/widget/leads` with the visitor token: stores a filled-in pre-chat or offline
/// form as a lead, with the page context and the landing page's UTM parameters.
pub(crate) async fn submit_lead(
    req: HttpRequest,
    state: State,
    caller: Caller,
    body: Json<LeadSubmission>,
) -> Reply {
    let (visitor, site) = visitors_site(&state, &req, caller, "leads come from visitors").await?;
    let ip = crate::limits::client_ip(&req, state.limits.client_ip_header.as_deref());
    state
        .limits
        .leads
        .check(&ip)
        .map_err(|wait| HttpError::rate_limited("form submissions from this address", wait))?;
    let submission = body.into_inner();
    if let Some(department) = submission.department_id {
        let on_site = state.store.department(department).await?.map(|d| d.site_id);
        if on_site != Some(site.id) {
            return Err(HttpError::not_found("department on this site"));
        }
    }
    let lead = crate::leads::from_submission(&site, visitor.visitor_id, submission, now_millis())
        .map_err(HttpError::invalid)?;
    let lead = state.store.create_lead(lead).await?;
    tracing::info!(lead = %lead.id, site = %site.id, kind = lead.kind.as_str(), "lead captured");
    state
        .chat
        .emit(crate::events::Event::LeadCaptured { lead: lead.clone() });
    Ok(HttpResponse::Created().json(lead))
}

/// `POST /api/v1/widget/attributes` with the visitor token: merges the page's attributes of
/// its visitor (`Bellhop.setAttributes`); `null` removes a key. Answers every page attribute.
pub(crate) async fn set_page_attributes(
    req: HttpRequest,
    state: State,
    caller: Caller,
    body: Json<PageAttributes>,
) -> Reply {
    let (visitor, _) =
        visitors_site(&state, &req, caller, "page attributes come from visitors").await?;
    state
        .limits
        .visitor_messages
        .check(&visitor.visitor_id)
        .map_err(|wait| HttpError::rate_limited("updates from this visitor", wait))?;
    let stored = state
        .store
        .visitor_profile(visitor.visitor_id)
        .await?
        .ok_or_else(|| HttpError::not_found("visitor"))?;
    let mut attributes: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&stored.page_attributes).unwrap_or_default();
    for (key, value) in body.into_inner().attributes {
        check_page_attribute(&key, &value).map_err(HttpError::invalid)?;
        if value.is_null() {
            attributes.remove(&key);
        } else {
            attributes.insert(key, value);
        }
    }
    if attributes.len() > MAX_PAGE_ATTRIBUTES {
        return Err(HttpError::invalid(format!(
            "at most {MAX_PAGE_ATTRIBUTES} page attributes per visitor"
        )));
    }
    let json = serde_json::to_string(&attributes).map_err(|_| HttpError::internal())?;
    state
        .store
        .set_page_attributes(visitor.visitor_id, &json)
        .await?;
    Ok(HttpResponse::Ok().json(PageAttributes { attributes }))
}

/// The most page attributes one visitor has, and the longest text value.
const MAX_PAGE_ATTRIBUTES: usize = 50;
const MAX_PAGE_ATTRIBUTE_CHARS: usize = 500;

fn check_page_attribute(key: &str, value: &serde_json::Value) -> Result<(), String> {
    let key_ok = (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !key_ok {
        return Err(format!(
            "attribute name {key:?} must be 1 to 64 of A-Z a-z 0-9 _ - ."
        ));
    }
    match value {
        serde_json::Value::String(text) if text.chars().count() > MAX_PAGE_ATTRIBUTE_CHARS => Err(
            format!("attribute {key} must be at most {MAX_PAGE_ATTRIBUTE_CHARS} characters"),
        ),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => Err(format!(
            "attribute {key} must be a string, a number, a boolean or null"
        )),
        _ => Ok(()),
    }
}

/// The longest rating comment, in characters (after trimming).
pub(crate) const MAX_RATING_COMMENT_CHARS: usize = 2000;

/// The most messages a transcript mail carries, and the most bytes of their text; a longer
/// chat's mail says it is cut.
const MAX_TRANSCRIPT_MESSAGES: usize = 2_000;
const MAX_TRANSCRIPT_BYTES: usize = 512 * 1024;

/// The visitor's own conversation, from a page the site allows (or the widget's panel);
/// anyone else's, or none, is `404`; an agent's token is `403`.
async fn visitors_conversation(
    state: &AppState,
    req: &HttpRequest,
    caller: Caller,
    id: ConversationId,
    what: &str,
) -> Result<(VisitorClaims, SiteSettings, Conversation), HttpError> {
    let (visitor, site) =
        visitors_site(state, req, caller, &format!("{what} come from visitors")).await?;
    match state.store.conversation(id).await? {
        Some(c) if c.visitor_id == visitor.visitor_id && c.site_id == visitor.site_id => {
            Ok((visitor, site, c))
        }
        // Not telling a stranger whether the conversation exists.
        _ => Err(HttpError::not_found("conversation")),
    }
}

/// The visitor a widget call comes from and their site, from a page the site allows (or the
/// widget's panel); an agent's token is `403` with `not_a_visitor` as its message.
pub(crate) async fn visitors_site(
    state: &AppState,
    req: &HttpRequest,
    caller: Caller,
    not_a_visitor: &str,
) -> Result<(VisitorClaims, SiteSettings), HttpError> {
    let Caller::Visitor(visitor) = caller else {
        return Err(HttpError::forbidden(not_a_visitor.to_owned()));
    };
    let site = state
        .store
        .site(visitor.site_id)
        .await?
        .ok_or_else(|| HttpError::not_found("site"))?;
    check_origin(state, req, &site)?;
    Ok((visitor, site))
}

/// The rating a request asks for, checked: a score of 1 to 5, a comment trimmed (empty: none)
/// of at most [`MAX_RATING_COMMENT_CHARS`].
fn parse_rating(request: RatingRequest, now: i64) -> Result<Rating, HttpError> {
    if !(1..=5).contains(&request.score) {
        return Err(HttpError::invalid("score must be 1 to 5"));
    }
    let comment = request
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if let Some(comment) = &comment {
        if comment.chars().count() > MAX_RATING_COMMENT_CHARS {
            return Err(HttpError::invalid(format!(
                "comment must be at most {MAX_RATING_COMMENT_CHARS} characters"
            )));
        }
        if comment
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(HttpError::invalid(
                "comment must not contain control characters",
            ));
        }
    }
    Ok(Rating {
        score: request.score,
        comment,
        rated_at: now,
    })
}

/// `POST /api/v1/widget/conversations/{id}/rating` with the visitor token: the visitor rates
/// their closed chat, once. The agent who served it hears `conversation_rated`.
pub(crate) async fn rate(
    req: HttpRequest,
    state: State,
    caller: Caller,
    path: Path<ConversationId>,
    body: Json<RatingRequest>,
) -> Reply {
    let id = path.into_inner();
    let (visitor, _, _) = visitors_conversation(&state, &req, caller, id, "ratings").await?;
    let rating = parse_rating(body.into_inner(), now_millis())?;
    let conversation = match state
        .store
        .rate_conversation(id, visitor.visitor_id, &rating)
        .await?
    {
        crate::store::Rated::Stored(conversation) => conversation,
        crate::store::Rated::NotFound => return Err(HttpError::not_found("conversation")),
        crate::store::Rated::StillOpen => {
            return Err(HttpError::conflict(
                "the conversation is still open: rate it once it is closed",
            ));
        }
        crate::store::Rated::AlreadyRated => {
            return Err(HttpError::conflict("the conversation is already rated"));
        }
    };
    tracing::info!(conversation = %id, score = rating.score, "conversation rated");
    state.chat.emit(crate::events::Event::ConversationRated {
        conversation: *conversation,
    });
    Ok(HttpResponse::Ok().json(rating))
}

/// `POST /api/v1/widget/conversations/{id}/transcript` with the visitor token: queues a mail
/// of the chat's transcript (open or closed) to the address given; `202` once queued. Without
/// an SMTP server, `404`.
pub(crate) async fn email_transcript(
    req: HttpRequest,
    state: State,
    caller: Caller,
    path: Path<ConversationId>,
    body: Json<TranscriptRequest>,
) -> Reply {
    let Some(mailer) = state.mail.clone() else {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            "transcripts by email are not configured",
        ));
    };
    let (visitor, site, conversation) =
        visitors_conversation(&state, &req, caller, path.into_inner(), "transcripts").await?;
    let recipient = body.into_inner().email;
    if recipient.as_str().parse::<lettre::Address>().is_err() {
        return Err(HttpError::invalid(
            "email is not an address mail can be sent to",
        ));
    }
    state
        .limits
        .transcripts
        .check(&visitor.visitor_id)
        .map_err(|wait| HttpError::rate_limited("transcripts by email", wait))?;
    // A mail of a bounded size: the outbox and the recipient's mailbox are not for
    // megabytes of chat.
    let mut messages = Vec::new();
    let (mut after, mut bytes, mut cut) = (0, 0, false);
    'pages: loop {
        let page = state
            .store
            .messages_after(conversation.id, after, 500)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for message in page {
            bytes += message.body.len();
            if messages.len() >= MAX_TRANSCRIPT_MESSAGES || bytes > MAX_TRANSCRIPT_BYTES {
                cut = true;
                break 'pages;
            }
            messages.push(message);
        }
    }
    let mut mail = crate::mail::transcript::transcript_mail(
        recipient.as_str(),
        &site.name,
        &conversation,
        &messages,
    );
    if cut {
        mail.body
            .push_str("\n(The chat goes on; this mail shows its first messages only.)\n");
    }
    mailer.queue(state.store.as_ref(), &mail).await?;
    Ok(HttpResponse::Accepted().finish())
}

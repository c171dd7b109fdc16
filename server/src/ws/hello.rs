//! A connection before and during `hello`: the only frame it accepts is `hello`, within the
//! hello timeout. A good `hello` registers the connection with the hub, answers `welcome`,
//! replays what the client missed and hands over a [`Live`] connection.
//!
//! A `hello` naming more resume points than `limits.resume_points_per_hello` (after merging
//! duplicates) is answered `invalid_request` and the socket waits for a better one. A `hello`
//! whose visitor or agent already has the most sockets they may is answered `rate_limited`
//! and closed with `4029`; the socket's place in its address's count is kept by a visitor's
//! live connection and given back once an agent is known.
//!
//! Registration comes before any store read: anything committed from then on reaches the
//! connection's outbox, anything before is in the store, and seq tracking drops the overlap.
//! A store failure during `hello` is `error internal` and close `1011`, so the client retries;
//! it is never answered with a `welcome` that lists nothing.

use std::collections::HashMap;
use std::net::IpAddr;

use actix_web::web;
use bellhop_protocol::frames::{
    AgentFrame, Conversation, ConversationStatus, Identity, ResumePoint, ServerFrame, VisitorFrame,
    decode,
};
use bellhop_protocol::{
    ConversationId, ErrorCode, PROTOCOL_VERSION, SiteId, VisitorId, close_code,
};
use tokio::time::{Instant, sleep};

use super::delivery::{clamp, merge_resume_points};
use super::live::{CatchUpFailed, Live, Peer};
use super::transport::{End, Gone, Incoming, Transport};
use crate::app::AppState;
use crate::auth::session::token_hash;
use crate::clock::now_millis;
use crate::hub::Topic;
use crate::limits::SocketSlot;
use crate::routes::session::{agent_for_token, session_alive, visitor_token_alive};
use crate::store::{Agent, ConversationFilter, StoreError};

/// Close code for a server-side failure: the client should retry.
const INTERNAL_ERROR: u16 = 1011;

/// Which endpoint the socket came in on, with what its upgrade established.
pub(crate) enum SocketKind {
    Visitor {
        site: SiteId,
    },
    /// `cookie_agent` is set when the upgrade carried a valid session cookie: the agent and
    /// the hash of the cookie's token.
    Agent {
        cookie_agent: Option<(Agent, [u8; 32])>,
    },
}

/// Where the socket came from: the client's address as the limits count it, and the
/// socket's place in that address's count.
pub(crate) struct Address {
    pub(crate) ip: IpAddr,
    pub(crate) slot: SocketSlot,
}

/// Why a `hello` did not lead to a live connection.
enum Refusal {
    /// Said and done: close this way.
    End(End),
    /// Reading what the client needs failed (logged with its cause): tell it to retry.
    Internal,
}

impl From<Gone> for Refusal {
    fn from(gone: Gone) -> Self {
        Refusal::End(gone.into())
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = ?e, "store failed during hello");
        Refusal::Internal
    }
}

impl From<CatchUpFailed> for Refusal {
    fn from(failed: CatchUpFailed) -> Self {
        match failed {
            CatchUpFailed::Gone(gone) => gone.into(),
            CatchUpFailed::Store(e) => e.into(),
        }
    }
}

/// Runs a new socket: waits for `hello`, then the live connection.
pub(crate) async fn run(
    state: web::Data<AppState>,
    mut transport: Transport,
    kind: SocketKind,
    address: Address,
) {
    let deadline = sleep(state.config.ws.hello_timeout());
    tokio::pin!(deadline);
    let shutdown = state.shutdown.clone();
    let end = loop {
        let incoming = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break End::Close(close_code::GOING_AWAY, "server shutting down"),
            _ = &mut deadline => break End::Close(close_code::UNAUTHORIZED, "no hello in time"),
            incoming = transport.recv() => incoming,
        };
        let text = match incoming {
            Incoming::Text(text) => text,
            Incoming::Binary => {
                match transport
                    .error(ErrorCode::BinaryNotSupported, "frames are JSON text", None)
                    .await
                {
                    Ok(()) => continue,
                    Err(gone) => break gone.into(),
                }
            }
            Incoming::Heard => continue,
            Incoming::End(end) => break end,
        };
        let hello = match read_hello(&state, transport, &kind, &text).await {
            Err(answered) => answered,
            Ok((transport, hello)) => match &kind {
                SocketKind::Visitor { site } => {
                    accept_visitor(&state, transport, *site, address.ip, hello).await
                }
                SocketKind::Agent { cookie_agent } => {
                    accept_agent(&state, transport, cookie_agent.clone(), hello).await
                }
            },
        };
        match hello {
            Accepted::Live(mut live) => {
                // A visitor's socket counts against its address for as long as it is open; an
                // agent's only until now, so that an office of agents behind one address is
                // bounded per agent instead.
                match live.peer {
                    Peer::Visitor { .. } => live.hold(address.slot),
                    Peer::Agent(_) => drop(address.slot),
                }
                return live.run(Instant::now()).await;
            }
            Accepted::NotYet(back) => transport = back,
            Accepted::Refused(back, Refusal::End(end)) => {
                transport = back;
                break end;
            }
            Accepted::Refused(mut back, Refusal::Internal) => {
                let _ = back
                    .error(
                        ErrorCode::Internal,
                        "the server could not load your conversations; retry",
                        None,
                    )
                    .await;
                transport = back;
                break End::Close(INTERNAL_ERROR, "internal error: retry");
            }
        }
    };
    transport.close(end).await;
}

/// What one frame before `hello` led to.
enum Accepted {
    Live(Box<Live>),
    /// Not a hello (answered with an error): keep waiting.
    NotYet(Transport),
    Refused(Transport, Refusal),
}

/// What a `hello` says, on either socket.
struct Hello {
    token: Option<String>,
    resume: Vec<ResumePoint>,
}

/// Decodes a frame that should be this socket's `hello` and checks its protocol version and
/// the number of its resume points (which it merges). Anything else is answered here, as the
/// returned [`Accepted`] says.
async fn read_hello(
    state: &AppState,
    mut transport: Transport,
    kind: &SocketKind,
    text: &str,
) -> Result<(Transport, Hello), Accepted> {
    let decoded = match kind {
        SocketKind::Visitor { .. } => decode::<VisitorFrame>(text).map(|frame| match frame {
            VisitorFrame::Hello { v, token, resume } => Some((v, Some(token), resume)),
            _ => None,
        }),
        SocketKind::Agent { .. } => decode::<AgentFrame>(text).map(|frame| match frame {
            AgentFrame::Hello { v, token, resume } => Some((v, token, resume)),
            _ => None,
        }),
    };
    let (v, token, resume) = match decoded {
        Ok(Some(hello)) => hello,
        Ok(None) => return Err(not_a_hello(transport, None).await),
        Err(e) => return Err(not_a_hello(transport, Some((e.code, e.message))).await),
    };
    if v == PROTOCOL_VERSION {
        let resume = merge_resume_points(resume);
        if let Err(max) = state.limits.resume_points.check(resume.len()) {
            let message = format!("too many resume points (max {max})");
            return Err(not_a_hello(transport, Some((ErrorCode::InvalidRequest, message))).await);
        }
        return Ok((transport, Hello { token, resume }));
    }
    let refusal = match transport
        .error(
            ErrorCode::UnsupportedVersion,
            format!("this server speaks protocol version {PROTOCOL_VERSION}"),
            None,
        )
        .await
    {
        Ok(()) => Refusal::End(End::Close(
            close_code::UNSUPPORTED_VERSION,
            "unsupported protocol version",
        )),
        Err(gone) => gone.into(),
    };
    Err(Accepted::Refused(transport, refusal))
}

async fn refuse(transport: &mut Transport, why: &'static str) -> Refusal {
    match transport.error(ErrorCode::Unauthorized, why, None).await {
        Ok(()) => Refusal::End(End::Close(close_code::UNAUTHORIZED, why)),
        Err(gone) => gone.into(),
    }
}

/// Refuses a socket whose visitor or agent already has the most sockets they may.
async fn too_many_sockets(transport: &mut Transport, whose: &str, max: u32) -> Refusal {
    let message = format!("too many connections for this {whose} (max {max}); close one");
    match transport.error(ErrorCode::RateLimited, message, None).await {
        Ok(()) => Refusal::End(End::Close(close_code::TOO_MANY_SOCKETS, "too many sockets")),
        Err(gone) => gone.into(),
    }
}

/// Answers a frame that is not a valid `hello` (the socket stays open).
async fn not_a_hello(mut transport: Transport, error: Option<(ErrorCode, String)>) -> Accepted {
    let (code, message) =
        error.unwrap_or((ErrorCode::HelloRequired, "send hello first".to_owned()));
    match transport.error(code, message, None).await {
        Ok(()) => Accepted::NotYet(transport),
        Err(gone) => Accepted::Refused(transport, gone.into()),
    }
}

async fn accept_visitor(
    state: &web::Data<AppState>,
    mut transport: Transport,
    site: SiteId,
    address: IpAddr,
    hello: Hello,
) -> Accepted {
    let Hello { token, resume } = hello;
    let claims = match state.signer.verify(token.as_deref().unwrap_or_default()) {
        Ok(claims) if claims.site_id == site => claims,
        _ => {
            let refusal = refuse(&mut transport, "invalid visitor token for this site").await;
            return Accepted::Refused(transport, refusal);
        }
    };
    let visitor = claims.visitor_id;
    let limits = &state.limits;
    let Some(slot) = limits.visitor_sockets.acquire(&visitor) else {
        let max = state.config.limits.sockets_per_visitor;
        let refusal = too_many_sockets(&mut transport, "visitor", max).await;
        return Accepted::Refused(transport, refusal);
    };
    let (registration, outbox) = state.chat.hub().register(Topic::Visitor(visitor));
    // Checked once registered: an erasure committed before this is seen here, and one
    // committed after it closes the registered socket.
    match visitor_token_alive(state, &claims).await {
        Ok(true) => {}
        Ok(false) => {
            let refusal = refuse(&mut transport, "this visitor was erased").await;
            return Accepted::Refused(transport, refusal);
        }
        Err(_) => return Accepted::Refused(transport, Refusal::Internal),
    }
    let peer = Peer::Visitor {
        visitor,
        site,
        address,
    };
    let mut live = Live::new(state.clone(), transport, peer, registration, outbox);
    live.hold(slot);
    let filter = ConversationFilter {
        visitor: Some(visitor),
        open_only: true,
        ..ConversationFilter::default()
    };
    let identity = Identity::Visitor {
        visitor_id: visitor,
        site_id: site,
    };
    let owns = |c: &Conversation| c.visitor_id == visitor;
    match welcome(&mut live, identity, filter, resume, owns).await {
        Ok(open) => {
            if open.iter().any(|c| c.status == ConversationStatus::Queued)
                && let Err(refusal) = send_queue_positions(&mut live, site, visitor).await
            {
                return Accepted::Refused(live.transport, refusal);
            }
            Accepted::Live(Box::new(live))
        }
        Err(refusal) => Accepted::Refused(live.transport, refusal),
    }
}

async fn accept_agent(
    state: &web::Data<AppState>,
    mut transport: Transport,
    cookie_agent: Option<(Agent, [u8; 32])>,
    hello: Hello,
) -> Accepted {
    let Hello { token, resume } = hello;
    let agent = match token {
        Some(token) => match agent_for_token(state, &token).await {
            Ok(agent) => Some((agent, token_hash(&token))),
            // Logged where it failed.
            Err(e) if e.code() == ErrorCode::Internal => {
                return Accepted::Refused(transport, Refusal::Internal);
            }
            Err(_) => None,
        },
        None => cookie_agent,
    };
    let Some((agent, session)) = agent else {
        let refusal = refuse(&mut transport, "invalid or expired session").await;
        return Accepted::Refused(transport, refusal);
    };
    tracing::Span::current().record("agent", tracing::field::display(agent.id));
    let Some(slot) = state.limits.agent_sockets.acquire(&agent.id) else {
        let max = state.config.limits.sockets_per_agent;
        let refusal = too_many_sockets(&mut transport, "agent", max).await;
        return Accepted::Refused(transport, refusal);
    };
    let (registration, outbox) = state.chat.hub().register(Topic::Agent(agent.id));
    // A session that ended between the lookup and the registration was announced before
    // this socket could hear it: ask once more, now that any later end reaches the outbox.
    match session_alive(state, &session).await {
        Ok(true) => {}
        Ok(false) => {
            let refusal = refuse(&mut transport, "invalid or expired session").await;
            return Accepted::Refused(transport, refusal);
        }
        Err(_) => return Accepted::Refused(transport, Refusal::Internal),
    }
    state.chat.agent_connected(&agent).await;
    let me = agent.id;
    let away = agent.away;
    let identity = Identity::Agent {
        agent_id: agent.id,
        display_name: agent.display_name.clone(),
    };
    let mut live = Live::new(
        state.clone(),
        transport,
        Peer::Agent(agent),
        registration,
        outbox,
    );
    live.session = Some(session);
    live.hold(slot);
    let filter = ConversationFilter {
        agent: Some(me),
        open_only: true,
        ..ConversationFilter::default()
    };
    let serves = |c: &Conversation| c.agent.as_ref().map(|a| a.id) == Some(me);
    let result = match welcome(&mut live, identity, filter, resume, serves).await {
        // Away survives reconnects: say so, so the console shows the right switch.
        Ok(_) if away => live
            .transport
            .frame(&ServerFrame::AgentStatus {
                status: bellhop_protocol::frames::AgentStatus::Away,
            })
            .await
            .map_err(Refusal::from),
        Ok(_) => Ok(()),
        Err(refusal) => Err(refusal),
    };
    match result {
        Ok(()) => Accepted::Live(Box::new(live)),
        Err(refusal) => {
            // The live connection that counted the agent in never runs: count them out.
            let Live {
                state, transport, ..
            } = live;
            state.chat.agent_disconnected(me).await;
            Accepted::Refused(transport, refusal)
        }
    }
}

/// Loads the open conversations and the resume points' conversations (merged already, in one
/// query), sends `welcome`, then replays: after each resume point the client may read, and
/// every open conversation it did not name, from the start. Returns the open conversations.
async fn welcome(
    live: &mut Live,
    identity: Identity,
    filter: ConversationFilter,
    resume: Vec<ResumePoint>,
    allowed: impl Fn(&Conversation) -> bool,
) -> Result<Vec<Conversation>, Refusal> {
    let open = live.state.store.conversations(&filter).await?;
    let named: Vec<ConversationId> = resume.iter().map(|p| p.conversation_id).collect();
    let found: HashMap<ConversationId, Conversation> = if named.is_empty() {
        HashMap::new()
    } else {
        let found = live.state.store.conversations_by_ids(&named).await?;
        found.into_iter().map(|c| (c.id, c)).collect()
    };
    let mut points = Vec::new();
    let mut refused = Vec::new();
    let mut clamped = Vec::new();
    for point in resume {
        match found.get(&point.conversation_id) {
            Some(conversation) if allowed(conversation) => {
                let (from, was_clamped) = clamp(&point, conversation.last_seq);
                if was_clamped {
                    clamped.push(ResumePoint {
                        conversation_id: conversation.id,
                        last_seq: from,
                    });
                }
                points.push((conversation.id, from));
            }
            _ => refused.push(point.conversation_id),
        }
    }
    live.transport
        .frame(&ServerFrame::Welcome {
            v: PROTOCOL_VERSION,
            identity,
            conversations: open.clone(),
            heartbeat_secs: live.state.config.ws.heartbeat_interval().as_secs().max(1),
            clamped,
        })
        .await?;
    for conversation in refused {
        live.transport
            .error(
                ErrorCode::NotFound,
                format!("no conversation {conversation} of yours"),
                None,
            )
            .await?;
    }
    for (conversation, from) in points {
        live.tracker.follow(conversation, from);
        live.try_catch_up(conversation).await?;
    }
    for conversation in &open {
        if live.tracker.follow(conversation.id, 0) {
            live.try_catch_up(conversation.id).await?;
        }
    }
    Ok(open)
}

async fn send_queue_positions(
    live: &mut Live,
    site: SiteId,
    visitor: VisitorId,
) -> Result<(), Refusal> {
    let queue = live.state.store.queue(site).await?;
    for entry in queue.into_iter().filter(|e| e.visitor_id == visitor) {
        let recent = live
            .state
            .store
            .recent_assignments(entry.department_id, 20)
            .await?;
        live.transport
            .frame(&ServerFrame::QueueStatus {
                conversation_id: entry.conversation_id,
                position: entry.position,
                estimated_wait_secs: crate::assignment::estimate_wait(
                    entry.position,
                    &recent,
                    now_millis(),
                ),
            })
            .await?;
    }
    Ok(())
}

//! One socket's life: a single `select!` over incoming frames, the hub's outgoing frames,
//! finished commits, the heartbeat and shutdown.
//!
//! Delivery guarantee per connection: for every conversation the connection follows, it
//! remembers the last `seq` it sent. A message with that `seq + 1` goes out; an older one is a
//! duplicate and is skipped; a newer one means something was missed (or the conversation is
//! new to this connection), and the gap is filled from the store first. So the client sees
//! each message exactly once and in order, whatever order the hub and the store produce them
//! in.
//!
//! Sends are pipelined: up to `max_in_flight` await their commit at once, and their acks go
//! out in the order the sends came in.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::web;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use bellhop_protocol::frames::{
    AgentFrame, AuthorKind, Conversation, ConversationStatus, Identity, ResumePoint, ServerFrame,
    VisitorFrame, decode,
};
use bellhop_protocol::{
    ClientMessageId, ConversationId, ErrorCode, PROTOCOL_VERSION, SiteId, VisitorId, close_code,
};
use bytestring::ByteString;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use tokio::time::{Instant, interval_at, sleep};

use crate::app::AppState;
use crate::chat::{Chat, ChatError};
use crate::clock::now_millis;
use crate::hub::{Delivery, DeliveryKind, Outbox, Registration, Topic};
use crate::routes::session::agent_for_token;
use crate::store::{Agent, Append, Appended, Author, ConversationFilter, Target};

/// Messages fetched from the store per round when filling a gap.
const CATCH_UP_PAGE: u32 = 500;
/// How long a closing socket waits for the client's close frame.
const CLOSE_HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(2);

pub enum SocketKind {
    Visitor {
        site: SiteId,
    },
    /// `cookie_agent` is set when the upgrade carried a valid session cookie.
    Agent {
        cookie_agent: Option<Agent>,
    },
}

enum Peer {
    Visitor { visitor: VisitorId, site: SiteId },
    Agent(Agent),
}

type SendResult = (ClientMessageId, Result<Appended, ChatError>);
type PendingSend = Pin<Box<dyn Future<Output = SendResult>>>;

/// Why the loop ended, and what to tell the client.
enum End {
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// The client closed, or the socket is gone: nothing more to say.
    Quiet,
}

/// Why a frame could not be written.
enum Gone {
    /// The socket is closed.
    Closed,
    /// The client stopped reading: the write waited longer than the client timeout.
    Stuck,
}

impl Gone {
    fn end(self) -> End {
        match self {
            Gone::Closed => End::Quiet,
            Gone::Stuck => End::Close(close_code::TOO_SLOW, "too slow: reconnect and resume"),
        }
    }
}

/// Bounds a write: a peer that does not read must not hold this socket's loop (and with it its
/// heartbeat) forever.
async fn within(
    limit: std::time::Duration,
    write: impl Future<Output = Result<(), actix_ws::Closed>>,
) -> Result<(), Gone> {
    match tokio::time::timeout(limit, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(actix_ws::Closed)) => Err(Gone::Closed),
        Err(_) => Err(Gone::Stuck),
    }
}

pub struct Connection {
    state: web::Data<AppState>,
    session: Session,
    kind: SocketKind,
    peer: Option<Peer>,
    registration: Option<Registration>,
    /// Last `seq` sent, per conversation this connection follows.
    delivered: HashMap<ConversationId, u64>,
}

impl Connection {
    pub fn new(state: web::Data<AppState>, session: Session, kind: SocketKind) -> Self {
        Self {
            state,
            session,
            kind,
            peer: None,
            registration: None,
            delivered: HashMap::new(),
        }
    }

    pub async fn run(mut self, mut stream: AggregatedMessageStream) {
        let ws = self.state.config.ws.clone();
        let shutdown = self.state.shutdown.clone();
        let mut outbox: Option<Outbox> = None;
        let mut pending: FuturesOrdered<PendingSend> = FuturesOrdered::new();
        let mut heartbeat = interval_at(
            Instant::now() + ws.heartbeat_interval(),
            ws.heartbeat_interval(),
        );
        let mut last_heard = Instant::now();
        let hello_deadline = sleep(ws.hello_timeout());
        tokio::pin!(hello_deadline);

        let end = loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break End::Close(close_code::GOING_AWAY, "server shutting down"),
                Some((client_id, result)) = pending.next(), if !pending.is_empty() => {
                    if let Err(gone) = self.finish_send(client_id, result).await {
                        break gone.end();
                    }
                }
                delivery = next_delivery(&mut outbox) => match delivery {
                    Some(delivery) => {
                        if let Err(gone) = self.deliver(&delivery).await {
                            break gone.end();
                        }
                    }
                    None => break End::Close(close_code::TOO_SLOW, "too slow: reconnect and resume"),
                },
                message = stream.recv(), if pending.len() < ws.max_in_flight => {
                    last_heard = Instant::now();
                    match message {
                        Some(Ok(AggregatedMessage::Text(text))) => {
                            match self.on_text(&text, &mut outbox, &mut pending).await {
                                Ok(None) => {}
                                Ok(Some(end)) => break end,
                                Err(gone) => break gone.end(),
                            }
                        }
                        Some(Ok(AggregatedMessage::Binary(_))) => {
                            if let Err(gone) = self.error(ErrorCode::BinaryNotSupported, "frames are JSON text", None).await {
                                break gone.end();
                            }
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            if let Err(gone) = within(ws.client_timeout(), self.session.pong(&bytes)).await {
                                break gone.end();
                            }
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => {}
                        Some(Ok(AggregatedMessage::Close(_))) | None => break End::Quiet,
                        Some(Err(e)) => break protocol_error_end(&e),
                    }
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > ws.client_timeout() {
                        break End::Close(close_code::TIMED_OUT, "no heartbeat");
                    }
                    if let Err(gone) = within(ws.client_timeout(), self.session.ping(b"")).await {
                        break gone.end();
                    }
                }
                _ = &mut hello_deadline, if self.peer.is_none() => {
                    break End::Close(close_code::UNAUTHORIZED, "no hello in time");
                }
            }
        };

        // Unregister before anything else, so the hub stops queueing for us.
        self.registration = None;
        let reason = match end {
            End::Close(code, why) => Some(CloseReason {
                code: CloseCode::Other(code),
                description: Some(why.into()),
            }),
            End::Quiet => None,
        };
        let _ = within(CLOSE_HANDSHAKE, self.session.clone().close(reason)).await;
        // Finish the closing handshake: read (and discard) until the client's close arrives,
        // so the client reads our close frame instead of a reset connection.
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE, async {
            while let Some(Ok(message)) = stream.recv().await {
                if matches!(message, AggregatedMessage::Close(_)) {
                    break;
                }
            }
        })
        .await;
        // Sends already taken in are committed even though nobody hears the ack; their
        // clients will resend under the same ids and get the same acks.
        while pending.next().await.is_some() {}
        if let Some(Peer::Agent(agent)) = &self.peer {
            self.state.chat.agent_disconnected(agent.id).await;
        }
    }

    async fn send_frame(&mut self, frame: &ServerFrame) -> Result<(), Gone> {
        let json = serde_json::to_string(frame).map_err(|e| {
            tracing::error!(error = %e, "server frame did not serialise");
            Gone::Closed
        })?;
        self.write(json.into()).await
    }

    async fn write(&mut self, text: ByteString) -> Result<(), Gone> {
        let limit = self.state.config.ws.client_timeout();
        within(limit, self.session.text(text)).await
    }

    async fn error(
        &mut self,
        code: ErrorCode,
        message: impl Into<String>,
        client_id: Option<ClientMessageId>,
    ) -> Result<(), Gone> {
        self.send_frame(&ServerFrame::Error {
            code,
            message: message.into(),
            client_id,
        })
        .await
    }

    /// Sends a hub delivery, keeping each conversation in `seq` order.
    async fn deliver(&mut self, delivery: &Delivery) -> Result<(), Gone> {
        match delivery.kind {
            DeliveryKind::Plain => self.write(delivery.json.clone()).await,
            DeliveryKind::CatchUp { conversation_id } => {
                self.write(delivery.json.clone()).await?;
                self.catch_up(conversation_id).await
            }
            DeliveryKind::Message {
                conversation_id,
                seq,
            } => {
                let last = self.delivered.get(&conversation_id).copied().unwrap_or(0);
                if seq <= last {
                    Ok(())
                } else if seq == last + 1 {
                    self.delivered.insert(conversation_id, seq);
                    self.write(delivery.json.clone()).await
                } else {
                    self.catch_up(conversation_id).await
                }
            }
        }
    }

    /// Sends every stored message of the conversation after the last one this connection sent.
    async fn catch_up(&mut self, conversation: ConversationId) -> Result<(), Gone> {
        let mut last = self.delivered.get(&conversation).copied().unwrap_or(0);
        loop {
            let page = match self
                .state
                .store
                .messages_after(conversation, last, CATCH_UP_PAGE)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    // The next message event retries the gap; the client can also resume.
                    tracing::error!(error = ?e, %conversation, "catch-up read failed");
                    return Ok(());
                }
            };
            let full = page.len() == CATCH_UP_PAGE as usize;
            for message in page {
                last = message.seq;
                self.delivered.insert(conversation, last);
                self.send_frame(&ServerFrame::Message { message }).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    async fn finish_send(
        &mut self,
        client_id: ClientMessageId,
        result: Result<Appended, ChatError>,
    ) -> Result<(), Gone> {
        match result {
            Ok(appended) => {
                self.send_frame(&ServerFrame::Ack {
                    client_id,
                    conversation_id: appended.message.conversation_id,
                    seq: appended.message.seq,
                    sent_at: appended.message.sent_at,
                })
                .await
            }
            Err(e) => {
                self.error(e.code(), e.public_message(), Some(client_id))
                    .await
            }
        }
    }

    /// Handles one text frame; `Some(end)` ends the connection.
    async fn on_text(
        &mut self,
        text: &str,
        outbox: &mut Option<Outbox>,
        pending: &mut FuturesOrdered<PendingSend>,
    ) -> Result<Option<End>, Gone> {
        match &self.kind {
            SocketKind::Visitor { .. } => match decode::<VisitorFrame>(text) {
                Err(e) => self.error(e.code, e.message, None).await.map(|()| None),
                Ok(VisitorFrame::Hello { v, token, resume }) => {
                    self.visitor_hello(v, &token, resume, outbox).await
                }
                Ok(frame) => {
                    let Some(Peer::Visitor { visitor, site }) = self.peer else {
                        return self.hello_required().await;
                    };
                    self.visitor_frame(visitor, site, frame, pending).await?;
                    Ok(None)
                }
            },
            SocketKind::Agent { .. } => match decode::<AgentFrame>(text) {
                Err(e) => self.error(e.code, e.message, None).await.map(|()| None),
                Ok(AgentFrame::Hello { v, token, resume }) => {
                    self.agent_hello(v, token, resume, outbox).await
                }
                Ok(frame) => {
                    let Some(Peer::Agent(agent)) = &self.peer else {
                        return self.hello_required().await;
                    };
                    let agent = agent.clone();
                    self.agent_frame(agent, frame, pending).await?;
                    Ok(None)
                }
            },
        }
    }

    /// Turns a refused action into an `error` frame; success is told by the frames the action
    /// publishes.
    async fn report(&mut self, result: Result<(), ChatError>) -> Result<(), Gone> {
        match result {
            Ok(()) => Ok(()),
            Err(e) => self.error(e.code(), e.public_message(), None).await,
        }
    }

    async fn hello_required(&mut self) -> Result<Option<End>, Gone> {
        self.error(ErrorCode::HelloRequired, "send hello first", None)
            .await
            .map(|()| None)
    }

    /// Checks the protocol version; `Some(end)` refuses the hello.
    async fn precheck_hello(&mut self, v: u32) -> Result<Option<End>, Gone> {
        if v != PROTOCOL_VERSION {
            self.error(
                ErrorCode::UnsupportedVersion,
                format!("this server speaks protocol version {PROTOCOL_VERSION}"),
                None,
            )
            .await?;
            return Ok(Some(End::Close(
                close_code::UNSUPPORTED_VERSION,
                "unsupported protocol version",
            )));
        }
        Ok(None)
    }

    async fn refuse(&mut self, why: &'static str) -> Result<Option<End>, Gone> {
        self.error(ErrorCode::Unauthorized, why, None).await?;
        Ok(Some(End::Close(close_code::UNAUTHORIZED, why)))
    }

    async fn visitor_hello(
        &mut self,
        v: u32,
        token: &str,
        resume: Vec<ResumePoint>,
        outbox: &mut Option<Outbox>,
    ) -> Result<Option<End>, Gone> {
        if self.peer.is_some() {
            return self.already_authenticated().await;
        }
        if let Some(end) = self.precheck_hello(v).await? {
            return Ok(Some(end));
        }
        let SocketKind::Visitor { site } = self.kind else {
            return Ok(None);
        };
        let claims = match self.state.signer.verify(token) {
            Ok(claims) if claims.site_id == site => claims,
            _ => return self.refuse("invalid visitor token for this site").await,
        };
        let visitor = claims.visitor_id;
        // Register before reading the store: anything committed from here on reaches the
        // outbox, and anything before is in the store; seq tracking drops the overlap.
        let (registration, rx) = self.state.chat.hub().register(Topic::Visitor(visitor));
        self.registration = Some(registration);
        *outbox = Some(rx);
        self.peer = Some(Peer::Visitor { visitor, site });
        let open = self
            .load_conversations(ConversationFilter {
                visitor: Some(visitor),
                open_only: true,
                ..ConversationFilter::default()
            })
            .await;
        self.send_frame(&ServerFrame::Welcome {
            v: PROTOCOL_VERSION,
            identity: Identity::Visitor {
                visitor_id: visitor,
                site_id: site,
            },
            conversations: open.clone(),
            heartbeat_secs: self.state.config.ws.heartbeat_interval().as_secs().max(1),
        })
        .await?;
        let owns = |c: &Conversation| c.visitor_id == visitor;
        self.replay(resume, &open, owns).await?;
        if open.iter().any(|c| c.status == ConversationStatus::Queued) {
            self.send_queue_positions(site, visitor).await?;
        }
        Ok(None)
    }

    async fn already_authenticated(&mut self) -> Result<Option<End>, Gone> {
        self.error(
            ErrorCode::AlreadyAuthenticated,
            "this socket already said hello",
            None,
        )
        .await
        .map(|()| None)
    }

    async fn agent_hello(
        &mut self,
        v: u32,
        token: Option<String>,
        resume: Vec<ResumePoint>,
        outbox: &mut Option<Outbox>,
    ) -> Result<Option<End>, Gone> {
        if self.peer.is_some() {
            return self.already_authenticated().await;
        }
        if let Some(end) = self.precheck_hello(v).await? {
            return Ok(Some(end));
        }
        let SocketKind::Agent { cookie_agent } = &self.kind else {
            return Ok(None);
        };
        let agent = match token {
            Some(token) => agent_for_token(&self.state, &token).await.ok(),
            None => cookie_agent.clone(),
        };
        let Some(agent) = agent else {
            return self.refuse("invalid or expired session").await;
        };
        let (registration, rx) = self.state.chat.hub().register(Topic::Agent(agent.id));
        self.registration = Some(registration);
        *outbox = Some(rx);
        self.state.chat.agent_connected(&agent).await;
        let me = agent.id;
        let away = agent.away;
        let identity = Identity::Agent {
            agent_id: agent.id,
            display_name: agent.display_name.clone(),
        };
        self.peer = Some(Peer::Agent(agent));
        let open = self
            .load_conversations(ConversationFilter {
                agent: Some(me),
                open_only: true,
                ..ConversationFilter::default()
            })
            .await;
        self.send_frame(&ServerFrame::Welcome {
            v: PROTOCOL_VERSION,
            identity,
            conversations: open.clone(),
            heartbeat_secs: self.state.config.ws.heartbeat_interval().as_secs().max(1),
        })
        .await?;
        let serves = |c: &Conversation| c.agent.as_ref().map(|a| a.id) == Some(me);
        self.replay(resume, &open, serves).await?;
        // Away survives reconnects: say so, so the console shows the right switch.
        if away {
            self.send_frame(&ServerFrame::AgentStatus {
                status: bellhop_protocol::frames::AgentStatus::Away,
            })
            .await?;
        }
        Ok(None)
    }

    async fn load_conversations(&self, filter: ConversationFilter) -> Vec<Conversation> {
        match self.state.store.conversations(&filter).await {
            Ok(list) => list,
            Err(e) => {
                tracing::error!(error = ?e, "could not list conversations for hello");
                Vec::new()
            }
        }
    }

    /// Sends what the client missed: after each resume point it is allowed to read, and every
    /// open conversation it did not mention, from the start.
    async fn replay(
        &mut self,
        resume: Vec<ResumePoint>,
        open: &[Conversation],
        allowed: impl Fn(&Conversation) -> bool,
    ) -> Result<(), Gone> {
        for point in resume {
            let found = self
                .state
                .store
                .conversation(point.conversation_id)
                .await
                .ok()
                .flatten();
            match found {
                Some(conversation) if allowed(&conversation) => {
                    self.delivered.insert(conversation.id, point.last_seq);
                    self.catch_up(conversation.id).await?;
                }
                _ => {
                    self.error(
                        ErrorCode::NotFound,
                        format!("no conversation {} of yours", point.conversation_id),
                        None,
                    )
                    .await?;
                }
            }
        }
        for conversation in open {
            if let Entry::Vacant(entry) = self.delivered.entry(conversation.id) {
                entry.insert(0);
                self.catch_up(conversation.id).await?;
            }
        }
        Ok(())
    }

    async fn send_queue_positions(&mut self, site: SiteId, visitor: VisitorId) -> Result<(), Gone> {
        let queue = match self.state.store.queue(site).await {
            Ok(queue) => queue,
            Err(e) => {
                tracing::error!(error = ?e, "could not read the queue");
                return Ok(());
            }
        };
        for entry in queue.into_iter().filter(|e| e.visitor_id == visitor) {
            let recent = self
                .state
                .store
                .recent_assignments(entry.department_id, 20)
                .await
                .unwrap_or_default();
            self.send_frame(&ServerFrame::QueueStatus {
                conversation_id: entry.conversation_id,
                position: entry.position,
                estimated_wait_secs: crate::router::estimate_wait(
                    entry.position,
                    &recent,
                    now_millis(),
                ),
            })
            .await?;
        }
        Ok(())
    }

    async fn visitor_frame(
        &mut self,
        visitor: VisitorId,
        site: SiteId,
        frame: VisitorFrame,
        pending: &mut FuturesOrdered<PendingSend>,
    ) -> Result<(), Gone> {
        match frame {
            VisitorFrame::Hello { .. } => Ok(()),
            VisitorFrame::Send {
                client_id,
                conversation_id,
                department_id,
                body,
            } => {
                let target = match conversation_id {
                    Some(id) => Target::Conversation(id),
                    None => {
                        let priority = match self
                            .state
                            .chat
                            .prepare_open(visitor, site, department_id)
                            .await
                        {
                            Ok(priority) => priority,
                            Err(e) => {
                                // Answered in turn with the acks of earlier sends.
                                pending.push_back(Box::pin(async move { (client_id, Err(e)) }));
                                return Ok(());
                            }
                        };
                        Target::VisitorOpen {
                            site_id: site,
                            department_id,
                            priority,
                        }
                    }
                };
                pending.push_back(submit(
                    self.state.chat.clone(),
                    client_id.clone(),
                    Append {
                        author: Author::Visitor(visitor),
                        target,
                        client_id,
                        body,
                        now: now_millis(),
                    },
                ));
                Ok(())
            }
            VisitorFrame::Typing {
                conversation_id,
                typing,
            } => self.relay_typing(conversation_id, typing).await,
            VisitorFrame::Close { conversation_id } => {
                let result = self
                    .state
                    .chat
                    .close_by_visitor(visitor, conversation_id)
                    .await;
                self.report(result.map(drop)).await
            }
        }
    }

    /// Passes a typing indicator to the other side, if this peer takes part in the
    /// conversation.
    async fn relay_typing(
        &mut self,
        conversation_id: ConversationId,
        typing: bool,
    ) -> Result<(), Gone> {
        let conversation = match self.state.store.conversation(conversation_id).await {
            Ok(found) => found,
            Err(e) => {
                // Typing is ephemeral: dropping one is fine.
                tracing::error!(error = ?e, "typing lookup failed");
                return Ok(());
            }
        };
        let from = match (&self.peer, &conversation) {
            (Some(Peer::Visitor { visitor, .. }), Some(c)) if c.visitor_id == *visitor => {
                AuthorKind::Visitor
            }
            (Some(Peer::Agent(agent)), Some(c))
                if c.agent.as_ref().map(|a| a.id) == Some(agent.id) =>
            {
                AuthorKind::Agent
            }
            // A visitor learns nothing about other conversations; an agent is told it does
            // not serve this one.
            (Some(Peer::Agent(_)), Some(_)) => {
                return self
                    .error(ErrorCode::Forbidden, "not a conversation you serve", None)
                    .await;
            }
            _ => {
                return self
                    .error(ErrorCode::NotFound, "no such conversation of yours", None)
                    .await;
            }
        };
        if let Some(conversation) = conversation {
            self.state.chat.typing(&conversation, from, typing);
        }
        Ok(())
    }

    async fn agent_frame(
        &mut self,
        agent: Agent,
        frame: AgentFrame,
        pending: &mut FuturesOrdered<PendingSend>,
    ) -> Result<(), Gone> {
        match frame {
            AgentFrame::Hello { .. } => Ok(()),
            AgentFrame::Send {
                client_id,
                conversation_id,
                body,
            } => {
                pending.push_back(submit(
                    self.state.chat.clone(),
                    client_id.clone(),
                    Append {
                        author: Author::Agent(agent.id),
                        target: Target::Conversation(conversation_id),
                        client_id,
                        body,
                        now: now_millis(),
                    },
                ));
                Ok(())
            }
            AgentFrame::Typing {
                conversation_id,
                typing,
            } => self.relay_typing(conversation_id, typing).await,
            AgentFrame::Close { conversation_id } => {
                let result = self.state.chat.close(&agent, conversation_id).await;
                self.report(result.map(drop)).await
            }
            AgentFrame::SetStatus { status } => {
                let result = self.state.chat.set_status(&agent, status).await;
                self.report(result).await
            }
            AgentFrame::Transfer {
                conversation_id,
                to,
                note,
            } => {
                let result = self
                    .state
                    .chat
                    .transfer(&agent, conversation_id, to, note)
                    .await;
                self.report(result.map(drop)).await
            }
            AgentFrame::SetPriority {
                conversation_id,
                priority,
            } => {
                let result = self
                    .state
                    .chat
                    .set_priority(&agent, conversation_id, priority)
                    .await;
                self.report(result.map(drop)).await
            }
        }
    }
}

/// A send waiting for its commit.
fn submit(chat: Arc<Chat>, client_id: ClientMessageId, append: Append) -> PendingSend {
    Box::pin(async move {
        let result = chat.send(append).await;
        (client_id, result)
    })
}

async fn next_delivery(outbox: &mut Option<Outbox>) -> Option<Arc<Delivery>> {
    match outbox {
        Some(rx) => rx.recv().await,
        // Not registered yet (no hello): nothing to deliver, ever.
        None => std::future::pending().await,
    }
}

/// Maps a broken incoming frame to its close code: too big (1009), not UTF-8 (1007), else a
/// protocol error (1002).
fn protocol_error_end(error: &actix_ws::ProtocolError) -> End {
    use actix_ws::ProtocolError;
    match error {
        ProtocolError::Overflow => End::Close(close_code::TOO_BIG, "frame too large"),
        ProtocolError::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            End::Close(close_code::INVALID_PAYLOAD, "text frame is not valid UTF-8")
        }
        _ => End::Close(1002, "WebSocket protocol error"),
    }
}

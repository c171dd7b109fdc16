//! An authenticated connection's life: one `select!` over incoming frames, the hub's outgoing
//! frames, finished commits, the heartbeat and shutdown.
//!
//! Sends are pipelined: up to `max_in_flight` await their commit at once, and their acks go
//! out in the order the sends came in. On shutdown the connection stops reading, lets the sends
//! it took in finish and acknowledges them, then closes with `1001`.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::web;
use bellhop_protocol::frames::{AgentFrame, AuthorKind, ServerFrame, VisitorFrame, decode};
use bellhop_protocol::{ClientMessageId, ConversationId, ErrorCode, SiteId, VisitorId, close_code};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use tokio::time::{Instant, interval_at};

/// Sleeps until `due` (a std instant); forever when there is none.
async fn sleep_until(due: Option<std::time::Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(Instant::from_std(due)).await,
        None => std::future::pending().await,
    }
}

use super::delivery::{Step, Tracker};
use super::feeds::FeedSubscriptions;
use super::peek::PeekRelay;
use super::read_marks::ReadMarks;
use super::transport::{End, Gone, Incoming, Transport};
use super::typing::TypingRelayed;
use super::watch::{self, Watching};
use super::{agent, visitor};
use crate::app::AppState;
use crate::chat::{ChatError, PreparedSend};
use crate::hub::{Delivery, DeliveryKind, Joined, Outbox, Registration, Topic};
use crate::limits::SocketSlot;
use crate::store::{Agent, AppendRejection, Appended, StoreError};

/// Messages fetched from the store per round when filling a gap.
const CATCH_UP_PAGE: u32 = 500;

/// Who is on the other end, once `hello` proved it.
pub(super) enum Peer {
    /// `address` is the client's, as the limits count it.
    Visitor {
        visitor: VisitorId,
        site: SiteId,
        address: IpAddr,
    },
    Agent(Agent),
}

type SendResult = (ClientMessageId, Result<Appended, Refusal>);

/// Why a send was not stored, as its `error` frame says it.
pub(super) struct Refusal {
    code: ErrorCode,
    message: String,
}

impl From<ChatError> for Refusal {
    fn from(e: ChatError) -> Self {
        Self {
            code: e.code(),
            message: e.public_message(),
        }
    }
}
type PendingSend = Pin<Box<dyn Future<Output = SendResult>>>;

/// A connection after a successful `hello`.
pub(super) struct Live {
    pub(super) state: web::Data<AppState>,
    pub(super) transport: Transport,
    pub(super) peer: Peer,
    pub(super) tracker: Tracker,
    /// Keeps the connection in the hub; dropped first when the connection ends.
    registration: Option<Registration>,
    outbox: Outbox,
    pending: FuturesOrdered<PendingSend>,
    /// The typing states this socket passed on, to coalesce typing frames.
    pub(super) typing: TypingRelayed,
    /// The sneak peeks this (visitor's) socket passed on or holds back.
    pub(super) peeks: PeekRelay,
    /// How far this socket marked conversations read.
    pub(super) read_marks: ReadMarks,
    /// The connection's places in the socket limits' counts, given back when it ends.
    slots: Vec<SocketSlot>,
    /// The hash of the session token an agent socket authenticated with: when that session
    /// ends, the socket closes.
    pub(super) session: Option<[u8; 32]>,
    /// The conversation this (agent's) socket watches, if any.
    pub(super) watching: Watching,
    /// The live feeds (queue, wallboard) an agent socket subscribed to.
    pub(super) feeds: FeedSubscriptions,
}

impl Live {
    pub(super) fn new(
        state: web::Data<AppState>,
        transport: Transport,
        peer: Peer,
        registration: Registration,
        outbox: Outbox,
    ) -> Self {
        let peeks = PeekRelay::new(state.config.limits.visitor_peeks_per_second);
        Self {
            state,
            transport,
            peer,
            tracker: Tracker::default(),
            registration: Some(registration),
            outbox,
            pending: FuturesOrdered::new(),
            typing: TypingRelayed::default(),
            peeks,
            read_marks: ReadMarks::default(),
            slots: Vec::new(),
            session: None,
            watching: Watching::default(),
            feeds: FeedSubscriptions::default(),
        }
    }

    /// This connection also hears `topic` until the guard is dropped; `None` once the
    /// connection is ending.
    pub(super) fn join(&self, topic: Topic) -> Option<Joined> {
        self.registration.as_ref().map(|r| r.join(topic))
    }

    /// Keeps `slot` until the connection ends.
    pub(super) fn hold(&mut self, slot: SocketSlot) {
        self.slots.push(slot);
    }

    pub(super) async fn run(mut self, mut last_heard: Instant) {
        let ws = self.state.config.ws.clone();
        let shutdown = self.state.shutdown.clone();
        let mut heartbeat = interval_at(
            Instant::now() + ws.heartbeat_interval(),
            ws.heartbeat_interval(),
        );
        let mut draining = false;
        let end = loop {
            if draining && self.pending.is_empty() {
                break End::Close(close_code::GOING_AWAY, "server shutting down");
            }
            let peek_due = self.peeks.next_due();
            tokio::select! {
                biased;
                _ = shutdown.cancelled(), if !draining => {
                    // Stop taking sends; the ones taken in finish and are acknowledged first.
                    draining = true;
                }
                Some((client_id, result)) = self.pending.next(), if !self.pending.is_empty() => {
                    if let Err(gone) = self.finish_send(client_id, result).await {
                        break gone.into();
                    }
                }
                delivery = self.outbox.recv() => match delivery {
                    Some(delivery) if self.ends_session(&delivery) => break End::session_ended(),
                    Some(delivery) => {
                        if let Err(gone) = self.deliver(&delivery).await {
                            break gone.into();
                        }
                    }
                    None => break End::too_slow(),
                },
                pushed = self.feeds.next(), if self.feeds.any() => match pushed.delivery {
                    Some(delivery) => {
                        if self.feeds.is_new(pushed.feed, &delivery)
                            && let Err(gone) = self.transport.text(delivery.json.clone()).await
                        {
                            break gone.into();
                        }
                    }
                    None => break End::too_slow(),
                },
                incoming = self.transport.recv(), if !draining && self.pending.len() < ws.max_in_flight => {
                    last_heard = Instant::now();
                    match incoming {
                        Incoming::Text(text) => {
                            if let Err(gone) = self.on_text(&text).await {
                                break gone.into();
                            }
                        }
                        Incoming::Binary => {
                            if let Err(gone) = self.transport.error(ErrorCode::BinaryNotSupported, "frames are JSON text", None).await {
                                break gone.into();
                            }
                        }
                        Incoming::Heard => {}
                        Incoming::End(end) => break end,
                    }
                }
                () = sleep_until(peek_due), if peek_due.is_some() && !draining => {
                    self.flush_peeks().await;
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > ws.client_timeout() {
                        break End::Close(close_code::TIMED_OUT, "no heartbeat");
                    }
                    if !self.session_alive().await {
                        break End::session_ended();
                    }
                    if let Err(gone) = self.transport.ping().await {
                        break gone.into();
                    }
                }
            }
        };

        // Unregister before anything else, so the hub stops queueing for us.
        self.registration = None;
        let watched = self.watching.take();
        self.feeds = FeedSubscriptions::default();
        let Live {
            state,
            transport,
            peer,
            mut pending,
            ..
        } = self;
        transport.close(end).await;
        // Those still looking at the conversation hear this socket left.
        watch::left(&state, watched).await;
        // Sends already taken in are committed even though nobody hears the ack; their
        // clients will resend under the same ids and get the same acks.
        while pending.next().await.is_some() {}
        if let Peer::Agent(agent) = &peer {
            state.chat.agent_disconnected(agent.id).await;
        }
    }

    /// Passes on the sneak peeks held back whose turn has come.
    async fn flush_peeks(&mut self) {
        let Peer::Visitor { visitor, .. } = self.peer else {
            return;
        };
        for (conversation, text) in self.peeks.take_due(std::time::Instant::now()) {
            if let Err(e) = visitor::pass_peek(self, visitor, conversation, text).await {
                tracing::error!(error = ?e, "peek lookup failed");
            }
        }
    }

    /// Which side of a conversation this socket is.
    fn side(&self) -> AuthorKind {
        match self.peer {
            Peer::Visitor { .. } => AuthorKind::Visitor,
            Peer::Agent(_) => AuthorKind::Agent,
        }
    }

    /// Handles one text frame after `hello`.
    async fn on_text(&mut self, text: &str) -> Result<(), Gone> {
        match &self.peer {
            Peer::Visitor {
                visitor,
                site,
                address,
            } => {
                let who = visitor::Who {
                    visitor: *visitor,
                    site: *site,
                    address: *address,
                };
                match decode::<VisitorFrame>(text) {
                    Err(e) => self.transport.error(e.code, e.message, None).await,
                    Ok(VisitorFrame::Hello { .. }) => self.already_authenticated().await,
                    Ok(frame) => visitor::handle(self, who, frame).await,
                }
            }
            Peer::Agent(agent) => {
                let agent = agent.clone();
                match decode::<AgentFrame>(text) {
                    Err(e) => self.transport.error(e.code, e.message, None).await,
                    Ok(AgentFrame::Hello { .. }) => self.already_authenticated().await,
                    Ok(frame) => agent::handle(self, &agent, frame).await,
                }
            }
        }
    }

    async fn already_authenticated(&mut self) -> Result<(), Gone> {
        self.transport
            .error(
                ErrorCode::AlreadyAuthenticated,
                "this socket already said hello",
                None,
            )
            .await
    }

    /// Queues a checked send for its commit; its ack (or error) goes out in turn.
    pub(super) fn submit(
        &mut self,
        client_id: ClientMessageId,
        prepared: Result<PreparedSend, ChatError>,
    ) {
        let chat = self.state.chat.clone();
        self.pending.push_back(Box::pin(async move {
            let result = match prepared {
                Ok(send) => chat.commit(send).await,
                Err(e) => Err(e),
            };
            (client_id, result.map_err(Refusal::from))
        }));
    }

    /// Refuses a send without storing anything; the `error` goes out in turn with the acks of
    /// the sends before it.
    pub(super) fn refuse(&mut self, client_id: ClientMessageId, code: ErrorCode, message: String) {
        self.pending.push_back(Box::pin(async move {
            (client_id, Err(Refusal { code, message }))
        }));
    }

    /// Like [`Live::submit`] for an agent's send into `conversation`: a refusal because the
    /// conversation belongs to another site says `not_found`, as for an id that does not
    /// exist, so an agent cannot learn that another site's conversation exists.
    pub(super) fn submit_agent(
        &mut self,
        client_id: ClientMessageId,
        prepared: Result<PreparedSend, ChatError>,
        agent: Agent,
        conversation: ConversationId,
    ) {
        let chat = self.state.chat.clone();
        self.pending.push_back(Box::pin(async move {
            let result = match prepared {
                Ok(send) => chat.commit(send).await,
                Err(e) => Err(e),
            };
            let result = match result {
                Err(ChatError::Rejected(AppendRejection::Forbidden)) => {
                    let same_site = matches!(
                        chat.store().conversation(conversation).await,
                        Ok(Some(c)) if agent.reaches(c.site_id)
                    );
                    Err(ChatError::Rejected(if same_site {
                        AppendRejection::Forbidden
                    } else {
                        AppendRejection::NotFound
                    }))
                }
                other => other,
            };
            (client_id, result.map_err(Refusal::from))
        }));
    }

    async fn finish_send(
        &mut self,
        client_id: ClientMessageId,
        result: Result<Appended, Refusal>,
    ) -> Result<(), Gone> {
        match result {
            Ok(appended) => {
                self.transport
                    .frame(&ServerFrame::Ack {
                        client_id,
                        conversation_id: appended.message.conversation_id,
                        seq: appended.message.seq,
                        sent_at: appended.message.sent_at,
                    })
                    .await
            }
            Err(refusal) => {
                self.transport
                    .error(refusal.code, refusal.message, Some(client_id))
                    .await
            }
        }
    }

    /// Turns a refused action into an `error` frame; success is told by the frames the action
    /// publishes.
    pub(super) async fn report<T>(&mut self, result: Result<T, ChatError>) -> Result<(), Gone> {
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                self.transport
                    .error(e.code(), e.public_message(), None)
                    .await
            }
        }
    }

    /// Whether the delivery says this socket's session ended: for an agent socket, the
    /// session it authenticated with (or all of the agent's); for a visitor socket, any (its
    /// visitor was erased, so its token no longer works).
    fn ends_session(&self, delivery: &Delivery) -> bool {
        match delivery.kind {
            DeliveryKind::EndSession { session } => match (&self.peer, self.session) {
                (Peer::Visitor { .. }, _) => true,
                (_, Some(own)) => session.is_none_or(|ended| ended == own),
                (_, None) => false,
            },
            _ => false,
        }
    }

    /// For an agent socket, whether its session still holds (it may have expired, idled out
    /// or been ended on a node that could not reach this one); records the socket's use.
    /// A store failure keeps the socket: the next heartbeat asks again.
    async fn session_alive(&self) -> bool {
        let Some(hash) = &self.session else {
            return true;
        };
        match crate::routes::session::session_alive(&self.state, hash).await {
            Ok(alive) => alive,
            Err(e) => {
                tracing::warn!(error = ?e, "session check failed");
                true
            }
        }
    }

    /// Sends a hub delivery, keeping each conversation in `seq` order.
    async fn deliver(&mut self, delivery: &Arc<Delivery>) -> Result<(), Gone> {
        match delivery.kind {
            DeliveryKind::Plain => self.transport.text(delivery.json.clone()).await,
            // The socket that sent the mark knows it already.
            DeliveryKind::Read {
                conversation_id,
                reader,
                seq,
            } if reader == self.side() && !self.read_marks.advances(conversation_id, seq) => Ok(()),
            DeliveryKind::Read { .. } => self.transport.text(delivery.json.clone()).await,
            // Handled by the loop before delivery.
            DeliveryKind::EndSession { .. } => Ok(()),
            // The agent's own typing, heard on a conversation they watch.
            DeliveryKind::FromAgent { agent } => match &self.peer {
                Peer::Agent(me) if me.id == agent => Ok(()),
                _ => self.transport.text(delivery.json.clone()).await,
            },
            DeliveryKind::CatchUp { conversation_id } => {
                self.transport.text(delivery.json.clone()).await?;
                self.catch_up(conversation_id).await
            }
            DeliveryKind::Message {
                conversation_id,
                seq,
            } => match self.tracker.on_message(conversation_id, seq) {
                Step::Skip => Ok(()),
                Step::Send => self.transport.text(delivery.json.clone()).await,
                Step::FillGap => self.catch_up(conversation_id).await,
            },
        }
    }

    /// Sends every stored message of the conversation after the last one this connection sent.
    /// A store failure is logged: the next message event retries the gap, and the client can
    /// also resume.
    pub(super) async fn catch_up(&mut self, conversation: ConversationId) -> Result<(), Gone> {
        match self.try_catch_up(conversation).await {
            Ok(()) => Ok(()),
            Err(CatchUpFailed::Gone(gone)) => Err(gone),
            Err(CatchUpFailed::Store(e)) => {
                tracing::error!(error = ?e, %conversation, "catch-up read failed");
                Ok(())
            }
        }
    }

    /// Like [`Live::catch_up`], telling the caller when the store failed.
    pub(super) async fn try_catch_up(
        &mut self,
        conversation: ConversationId,
    ) -> Result<(), CatchUpFailed> {
        loop {
            let last = self.tracker.last(conversation);
            let page = self
                .state
                .store
                .messages_after(conversation, last, CATCH_UP_PAGE)
                .await
                .map_err(CatchUpFailed::Store)?;
            let full = page.len() == CATCH_UP_PAGE as usize;
            for message in page {
                self.tracker.sent(conversation, message.seq);
                self.transport
                    .frame(&ServerFrame::Message { message })
                    .await
                    .map_err(CatchUpFailed::Gone)?;
            }
            if !full {
                return Ok(());
            }
        }
    }
}

/// Why a catch-up stopped.
pub(super) enum CatchUpFailed {
    Gone(Gone),
    Store(StoreError),
}

//! The state machine: [`ClientCore::handle`] takes an [`Event`] and returns [`Action`]s.

use bellhop_protocol::frames::{
    AgentFrame, Message, Millis, ResumePoint, ServerFrame, VisitorFrame,
};
use bellhop_protocol::{
    ClientMessageId, ConversationId, DepartmentId, ErrorCode, MessageBody, PROTOCOL_VERSION,
    close_code,
};
use serde::{Deserialize, Serialize};

use crate::backoff::Backoff;
use crate::delivery::{Delivery, Inbox};
use crate::outbox::{Outbox, PendingSend};
use crate::rng::Rng;

/// Who the client speaks for; decides the socket's `hello` and `send` frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A visitor, with the token from `POST /api/v1/widget/session`.
    Visitor { token: String },
    /// An agent, with the session token from login, or none when the upgrade carries the
    /// session cookie.
    Agent { token: Option<String> },
}

/// Tuning. The defaults suit browsers; tests shorten the backoff.
#[derive(Clone, Debug)]
pub struct Config {
    /// Ceiling of the first reconnect delay; it doubles per failed attempt.
    pub backoff_base_ms: u64,
    /// The most any reconnect delay can be.
    pub backoff_cap_ms: u64,
    /// How long to wait for `welcome` after `hello` before giving up on the socket.
    pub handshake_timeout_ms: u64,
    /// How long a live connection may make no progress while something is due (a message
    /// behind a gap or known to exist, an `ack`) before the core gives up on the socket and
    /// reconnects, which resumes and resends.
    pub stall_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            backoff_base_ms: 500,
            backoff_cap_ms: 30_000,
            handshake_timeout_ms: 10_000,
            stall_timeout_ms: 15_000,
        }
    }
}

/// Where the connection stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Not connected and not trying (before [`ClientCore::connect`], after
    /// [`ClientCore::disconnect`]).
    Idle,
    /// [`Action::Connect`] was asked for; waiting for [`Event::Opened`].
    Connecting,
    /// `hello` is sent; waiting for `welcome`.
    Handshaking,
    /// Welcomed: sends go out at once.
    Live,
    /// The socket closed; [`Event::Tick`] at or after `at` reconnects.
    Waiting { at: Millis },
    /// The server refused the credentials (close code 4001) or ended the session they
    /// belonged to (4004): call
    /// [`ClientCore::set_credentials`] with new ones.
    NeedsCredentials,
    /// Reconnecting cannot help; only an explicit [`ClientCore::connect`] tries again.
    Stopped(StopReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Close code 4002: this build is too old for the server.
    UnsupportedVersion,
    /// Close code 1002, 1007 or 1009: the client sent something invalid (a bug to fix).
    ClientError { code: u16 },
}

/// What happened outside the core. `now` is the caller's clock in milliseconds (any epoch,
/// as long as it never goes backwards).
#[expect(
    clippy::large_enum_variant,
    reason = "events live for one call to `handle`; boxing the frame would cost every frame an allocation"
)]
#[derive(Clone, Debug)]
pub enum Event {
    /// The socket asked for by [`Action::Connect`] is open.
    Opened { now: Millis },
    /// A text frame arrived and decoded.
    Frame { frame: ServerFrame, now: Millis },
    /// The socket closed (or could not be opened), with the close code if there was one.
    Closed { code: Option<u16>, now: Millis },
    /// Time passed; call it now and then (e.g. when a [`State::Waiting`] deadline is due).
    Tick { now: Millis },
}

/// What the caller should do, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Open a socket to the endpoint, then report [`Event::Opened`] or [`Event::Closed`].
    Connect,
    /// Close the socket, then report [`Event::Closed`] as for any close. After
    /// [`ClientCore::disconnect`] nothing follows; after a handshake or stall timeout the core
    /// reconnects.
    Disconnect,
    /// Write this frame to the socket.
    Send(ClientFrame),
    /// Show this message: per conversation, every message once, in `seq` order.
    Show(Message),
    /// A send is committed (by its `ack` or its echo), once per send.
    Confirmed {
        client_id: ClientMessageId,
        conversation_id: ConversationId,
        seq: u64,
        sent_at: Millis,
    },
    /// The server refused a send for good; it left the outbox.
    Refused {
        send: PendingSend,
        code: ErrorCode,
        message: String,
    },
    /// A message that was already shown arrived again and was dropped.
    Duplicate {
        conversation_id: ConversationId,
        seq: u64,
    },
    /// A message arrived ahead of ones not yet seen; it is held until they come.
    Gap {
        conversation_id: ConversationId,
        last_shown: u64,
        received: u64,
    },
    /// Any other server frame (`welcome`, conversation changes, typing, queue status, agent
    /// status, errors not about a pending send), for the UI.
    Frame(ServerFrame),
    /// The connection state changed.
    State(State),
}

/// A frame the client writes: visitor and agent sockets take different frame types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ClientFrame {
    Visitor(VisitorFrame),
    Agent(AgentFrame),
}

impl ClientFrame {
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// A message the user wants to send.
#[derive(Clone, Debug)]
pub struct Draft {
    pub body: MessageBody,
    /// Required for agents; a visitor without one writes to their open conversation.
    pub conversation_id: Option<ConversationId>,
    /// Visitors only: the queue of a conversation this message opens.
    pub department_id: Option<DepartmentId>,
    /// The caller's own id for it; by default the core makes a UUID.
    pub client_id: Option<ClientMessageId>,
}

impl Draft {
    pub fn new(body: MessageBody) -> Self {
        Self {
            body,
            conversation_id: None,
            department_id: None,
            client_id: None,
        }
    }

    pub fn to(mut self, conversation_id: ConversationId) -> Self {
        self.conversation_id = Some(conversation_id);
        self
    }
}

/// Why a send (or a restored outbox entry) was refused before reaching the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// An agent's send must name its conversation.
    ConversationRequired,
    /// Only a visitor's first message picks a department.
    DepartmentNotAllowed,
    /// This client id is already waiting in the outbox.
    DuplicateClientId(ClientMessageId),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::ConversationRequired => {
                f.write_str("an agent's send must name a conversation")
            }
            SendError::DepartmentNotAllowed => {
                f.write_str("only a visitor's send may name a department")
            }
            SendError::DuplicateClientId(id) => {
                write!(f, "client id {id} is already in the outbox")
            }
        }
    }
}

impl std::error::Error for SendError {}

/// What survives a page reload: where the client left off and what it has not got confirmed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last `seq` shown in each followed conversation: the next `hello.resume`.
    pub resume: Vec<ResumePoint>,
    /// Conversations no longer followed (closed, released), still de-duplicated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finished: Vec<ResumePoint>,
    /// Unconfirmed sends, in order.
    pub outbox: Vec<PendingSend>,
}

/// The client core for one visitor or agent. See the crate docs for the guarantees.
#[derive(Clone, Debug)]
pub struct ClientCore {
    credentials: Credentials,
    state: State,
    inbox: Inbox,
    outbox: Outbox,
    backoff: Backoff,
    rng: Rng,
    config: Config,
    /// When to give up on the current socket (no `welcome`, or no progress while waiting).
    deadline: Option<Millis>,
    /// A [`Action::Disconnect`] is out; the socket's close is still to come.
    abandoning: bool,
}

impl ClientCore {
    /// A client with no history. `seed` drives jitter and generated client ids: give every
    /// session a fresh random one.
    pub fn new(credentials: Credentials, config: Config, seed: u64) -> Self {
        Self {
            credentials,
            state: State::Idle,
            inbox: Inbox::default(),
            outbox: Outbox::default(),
            backoff: Backoff::new(config.backoff_base_ms, config.backoff_cap_ms),
            rng: Rng::new(seed),
            config,
            deadline: None,
            abandoning: false,
        }
    }

    /// A client that carries on from a [`Snapshot`] (e.g. after a page reload). Give it a
    /// seed other than the previous session's, or generated client ids repeat.
    pub fn restore(
        snapshot: Snapshot,
        credentials: Credentials,
        config: Config,
        seed: u64,
    ) -> Result<Self, SendError> {
        let mut core = Self::new(credentials, config, seed);
        for send in &snapshot.outbox {
            core.check(send.conversation_id, send.department_id)?;
            if core.outbox.contains(&send.client_id) {
                return Err(SendError::DuplicateClientId(send.client_id.clone()));
            }
            core.outbox.push(send.clone());
        }
        core.inbox = Inbox::from_points(&snapshot.resume, &snapshot.finished);
        Ok(core)
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            resume: self.inbox.points(true),
            finished: self.inbox.points(false),
            outbox: self.outbox.entries().to_vec(),
        }
    }

    /// Unconfirmed sends, in the order they were made.
    pub fn outbox(&self) -> &[PendingSend] {
        self.outbox.entries()
    }

    /// What the next `hello` will resume.
    pub fn resume_points(&self) -> Vec<ResumePoint> {
        self.inbox.points(true)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The last `seq` shown in a conversation (0: none).
    pub fn last_shown(&self, conversation_id: ConversationId) -> u64 {
        self.inbox.last_shown(conversation_id)
    }

    /// The caller holds every message of `conversation_id` up to `seq` by other means (a
    /// transcript page fetched over REST): later ones continue from there, without waiting
    /// for the earlier ones as a gap. Never moves a conversation back.
    pub fn start_from(&mut self, conversation_id: ConversationId, seq: u64) {
        if seq > self.inbox.last_shown(conversation_id) {
            self.inbox.clamp(conversation_id, seq);
        }
    }

    /// Duplicates dropped so far.
    pub fn duplicates(&self) -> u64 {
        self.inbox.duplicates()
    }

    /// Conversations with messages held behind a gap: (conversation, last shown, first held).
    pub fn gaps(&self) -> Vec<(ConversationId, u64, u64)> {
        self.inbox.gaps()
    }

    /// Consecutive failed connection attempts since the last `welcome`.
    pub fn failures(&self) -> u32 {
        self.backoff.failures()
    }

    /// When the caller should next send [`Event::Tick`] (a reconnect is due, or a timeout
    /// runs out), if ever.
    pub fn next_wakeup(&self) -> Option<Millis> {
        match self.state {
            State::Waiting { at } => Some(at),
            State::Handshaking | State::Live if !self.abandoning => self.deadline,
            _ => None,
        }
    }

    /// Start connecting (again), whatever the state, unless already connecting or connected.
    /// While [`State::Waiting`] this skips the rest of the backoff (say, when the browser
    /// reports it is online again).
    pub fn connect(&mut self) -> Vec<Action> {
        match self.state {
            State::Connecting | State::Handshaking | State::Live => Vec::new(),
            _ => self.enter(State::Connecting, vec![Action::Connect]),
        }
    }

    /// Stop: close the socket and do not reconnect. The outbox and resume points stay.
    pub fn disconnect(&mut self) -> Vec<Action> {
        let open = matches!(
            self.state,
            State::Connecting | State::Handshaking | State::Live
        );
        let actions = if open {
            vec![Action::Disconnect]
        } else {
            Vec::new()
        };
        self.enter(State::Idle, actions)
    }

    /// New credentials (a fresh visitor token, a new login). After a 4001 close this also
    /// reconnects.
    pub fn set_credentials(&mut self, credentials: Credentials) -> Vec<Action> {
        self.credentials = credentials;
        if self.state == State::NeedsCredentials {
            self.connect()
        } else {
            Vec::new()
        }
    }

    /// The user sends a message: it joins the outbox and, when live, goes out at once.
    /// Returns the client id it goes under.
    pub fn send(
        &mut self,
        draft: Draft,
        now: Millis,
    ) -> Result<(ClientMessageId, Vec<Action>), SendError> {
        self.check(draft.conversation_id, draft.department_id)?;
        let client_id = match draft.client_id {
            Some(id) => id,
            None => self.fresh_client_id(),
        };
        if self.outbox.contains(&client_id) {
            return Err(SendError::DuplicateClientId(client_id));
        }
        let send = PendingSend {
            client_id: client_id.clone(),
            conversation_id: draft.conversation_id,
            department_id: draft.department_id,
            body: draft.body,
            queued_at: now,
        };
        let mut actions = Vec::new();
        if self.state == State::Live {
            actions.push(Action::Send(self.send_frame(&send)));
            if self.deadline.is_none() {
                self.deadline = Some(self.after(now, self.config.stall_timeout_ms));
            }
        }
        self.outbox.push(send);
        Ok((client_id, actions))
    }

    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        match event {
            Event::Opened { now } => {
                self.abandoning = false;
                self.deadline = Some(self.after(now, self.config.handshake_timeout_ms));
                self.opened()
            }
            Event::Frame { frame, now } => {
                let actions = self.frame(frame);
                self.watch(now, &actions);
                actions
            }
            Event::Closed { code, now } => {
                self.abandoning = false;
                self.deadline = None;
                self.closed(code, now)
            }
            Event::Tick { now } => match self.state {
                State::Waiting { at } if now >= at => self.connect(),
                State::Handshaking | State::Live
                    if !self.abandoning && self.deadline.is_some_and(|d| now >= d) =>
                {
                    // No welcome, or nothing arrives that is due: this socket is not working.
                    self.abandoning = true;
                    self.deadline = None;
                    vec![Action::Disconnect]
                }
                _ => Vec::new(),
            },
        }
    }

    /// Keeps the stall deadline: set while something is due, pushed back by progress.
    fn watch(&mut self, now: Millis, actions: &[Action]) {
        if self.state != State::Live {
            return;
        }
        if !self.inbox.waiting() && self.outbox.entries().is_empty() {
            self.deadline = None;
        } else if self.deadline.is_none()
            || actions
                .iter()
                .any(|a| matches!(a, Action::Show(_) | Action::Confirmed { .. }))
        {
            self.deadline = Some(self.after(now, self.config.stall_timeout_ms));
        }
    }

    fn after(&self, now: Millis, ms: u64) -> Millis {
        now.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    fn opened(&mut self) -> Vec<Action> {
        // The server replays everything after the resume points, held messages included.
        self.inbox.forget_held();
        let resume = self.inbox.points(true);
        let hello = match &self.credentials {
            Credentials::Visitor { token } => ClientFrame::Visitor(VisitorFrame::Hello {
                v: PROTOCOL_VERSION,
                token: token.clone(),
                resume,
            }),
            Credentials::Agent { token } => ClientFrame::Agent(AgentFrame::Hello {
                v: PROTOCOL_VERSION,
                token: token.clone(),
                resume,
            }),
        };
        self.enter(State::Handshaking, vec![Action::Send(hello)])
    }

    fn frame(&mut self, frame: ServerFrame) -> Vec<Action> {
        let mut actions = Vec::new();
        match frame {
            ServerFrame::Welcome { .. } => {
                self.backoff.reset();
                self.deadline = None;
                if let ServerFrame::Welcome {
                    conversations,
                    clamped,
                    ..
                } = &frame
                {
                    for point in clamped {
                        self.inbox.clamp(point.conversation_id, point.last_seq);
                    }
                    let open: Vec<ConversationId> = conversations.iter().map(|c| c.id).collect();
                    self.inbox.follow_only(&open);
                    for conversation in conversations {
                        self.inbox.expect(conversation.id, conversation.last_seq);
                    }
                }
                if self.state != State::Live {
                    self.state = State::Live;
                    actions.push(Action::State(State::Live));
                }
                actions.push(Action::Frame(frame));
                // Everything unconfirmed again, in order, under the same client ids.
                for send in self.outbox.entries() {
                    actions.push(Action::Send(self.send_frame(send)));
                }
            }
            ServerFrame::Ack {
                client_id,
                conversation_id,
                seq,
                sent_at,
            } => {
                // The message exists, so its echo is due (or was shown already).
                self.inbox.expect(conversation_id, seq);
                if self.outbox.remove(&client_id).is_some() {
                    actions.push(Action::Confirmed {
                        client_id,
                        conversation_id,
                        seq,
                        sent_at,
                    });
                }
            }
            ServerFrame::Message { message } => self.message(message, &mut actions),
            ServerFrame::Error {
                code,
                message,
                client_id: Some(client_id),
            } if code != ErrorCode::Internal && self.outbox.contains(&client_id) => {
                if let Some(send) = self.outbox.remove(&client_id) {
                    actions.push(Action::Refused {
                        send,
                        code,
                        message,
                    });
                }
            }
            ServerFrame::ConversationOpened { ref conversation }
            | ServerFrame::ConversationAssigned { ref conversation }
            | ServerFrame::ConversationTransferred {
                ref conversation, ..
            } => {
                self.inbox.follow(conversation.id);
                self.inbox.expect(conversation.id, conversation.last_seq);
                actions.push(Action::Frame(frame));
            }
            ServerFrame::ConversationReleased { ref conversation } => {
                // Its messages no longer come to us.
                self.inbox.expect_nothing_more(conversation.id);
                actions.push(Action::Frame(frame));
            }
            // `internal` errors keep the send in the outbox: it goes again after the next
            // welcome, which is safe under the same client id.
            other => actions.push(Action::Frame(other)),
        }
        actions
    }

    fn message(&mut self, message: Message, actions: &mut Vec<Action>) {
        // The echo of our own send confirms it, whether or not its ack arrives first.
        if let Some(client_id) = &message.client_id
            && self.outbox.remove(client_id).is_some()
        {
            actions.push(Action::Confirmed {
                client_id: client_id.clone(),
                conversation_id: message.conversation_id,
                seq: message.seq,
                sent_at: message.sent_at,
            });
        }
        let (conversation_id, seq) = (message.conversation_id, message.seq);
        match self.inbox.accept(message) {
            Delivery::Shown(messages) => actions.extend(messages.into_iter().map(Action::Show)),
            Delivery::Duplicate { .. } => actions.push(Action::Duplicate {
                conversation_id,
                seq,
            }),
            Delivery::Gap { last_shown } => actions.push(Action::Gap {
                conversation_id,
                last_shown,
                received: seq,
            }),
        }
    }

    fn closed(&mut self, code: Option<u16>, now: Millis) -> Vec<Action> {
        // Already closed: a second report of the same close changes nothing.
        if matches!(
            self.state,
            State::Idle | State::Stopped(_) | State::NeedsCredentials | State::Waiting { .. }
        ) {
            return Vec::new();
        }
        self.inbox.forget_held();
        let next = match code {
            Some(close_code::UNSUPPORTED_VERSION) => State::Stopped(StopReason::UnsupportedVersion),
            Some(code @ (1002 | close_code::INVALID_PAYLOAD | close_code::TOO_BIG)) => {
                State::Stopped(StopReason::ClientError { code })
            }
            Some(close_code::UNAUTHORIZED | close_code::SESSION_ENDED) => State::NeedsCredentials,
            // 1001 going away, 1006 lost, 4003 timed out, 4008 too slow, and anything else.
            _ => {
                let delay = self.backoff.next_delay_ms(&mut self.rng);
                State::Waiting {
                    at: self.after(now, delay),
                }
            }
        };
        self.enter(next, Vec::new())
    }

    fn enter(&mut self, state: State, mut actions: Vec<Action>) -> Vec<Action> {
        if self.state != state {
            self.state = state.clone();
            actions.insert(0, Action::State(state));
        }
        actions
    }

    fn check(
        &self,
        conversation_id: Option<ConversationId>,
        department_id: Option<DepartmentId>,
    ) -> Result<(), SendError> {
        match self.credentials {
            Credentials::Agent { .. } if conversation_id.is_none() => {
                Err(SendError::ConversationRequired)
            }
            Credentials::Agent { .. } if department_id.is_some() => {
                Err(SendError::DepartmentNotAllowed)
            }
            _ => Ok(()),
        }
    }

    fn fresh_client_id(&mut self) -> ClientMessageId {
        loop {
            // `encode_lower`, not `to_string`: the Wasm clients then carry no formatting code
            // for UUIDs.
            let id = self
                .rng
                .uuid_v4()
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer())
                .to_owned();
            // A hyphenated UUID always parses; the loop only satisfies the type.
            if let Ok(id) = ClientMessageId::parse(id)
                && !self.outbox.contains(&id)
            {
                return id;
            }
        }
    }

    fn send_frame(&self, send: &PendingSend) -> ClientFrame {
        match (&self.credentials, send.conversation_id) {
            (Credentials::Agent { .. }, Some(conversation_id)) => {
                ClientFrame::Agent(AgentFrame::Send {
                    client_id: send.client_id.clone(),
                    conversation_id,
                    body: send.body.clone(),
                })
            }
            // Only visitor sends lack a conversation (`check` refuses agent ones); should
            // credentials change role, the visitor frame is what the entry describes.
            _ => ClientFrame::Visitor(VisitorFrame::Send {
                client_id: send.client_id.clone(),
                conversation_id: send.conversation_id,
                department_id: send.department_id,
                body: send.body.clone(),
            }),
        }
    }
}

//! A WebSocket test client that speaks Bellhop frames and fails loudly on timeouts.
//!
//! It rides on the client core (`bellhop-client`), as the widget and console do, without
//! hiding anything from the test:
//!
//! - Every frame the server sends is returned to the test exactly as it came, and is also
//!   fed to the core. A duplicate or out-of-order `message` is a server bug (each connection
//!   gets every message once, in order, after its resume points), so the core's report of one
//!   fails the test at once; a test that probes such behaviour calls
//!   [`WsClient::allow_disorder`] and reads [`WsClient::disorder`] instead.
//! - Raw abilities stay: [`WsClient::send`] writes any frame (malformed ones through
//!   [`WsClient::send_raw`]), untouched by the core.
//! - Typed sends go through the core ([`WsClient::send_message`]): a client id, a place in the
//!   outbox until confirmed, a resend after every `welcome`.
//! - [`WsClient::hello`] says hello with the core's resume points, and
//!   [`WsClient::reconnect`] reconnects as a real client does: after the core's backoff, with
//!   its resume points, resending its outbox.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bellhop_client::{Action, ClientCore, Config, Credentials, Draft, Event, Snapshot, State};
use bellhop_protocol::frames::{
    AgentFrame, AgentStatus, Conversation, Message, ResumePoint, ServerFrame,
};
use bellhop_protocol::{ClientMessageId, ConversationId, ErrorCode};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::FRAME_TIMEOUT;

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Frames skipped by [`WsClient::expect`] are kept, in order, for later calls: a test can wait
/// for an ack and then for an assignment without caring which came first.
pub struct WsClient {
    stream: Stream,
    url: String,
    dial: Dial,
    skipped: std::collections::VecDeque<ServerFrame>,
    core: ClientCore,
    clock: Instant,
    strict: bool,
    disorder: Vec<Action>,
    shown: Vec<Message>,
    confirmed: Vec<(ClientMessageId, ConversationId, u64)>,
}

/// What the server did instead of sending a frame.
#[derive(Debug)]
pub enum Ended {
    Closed(Option<CloseFrame>),
    Error(tungstenite::Error),
}

/// Short backoff, and timeouts the tests never reach: they wait with [`FRAME_TIMEOUT`].
fn core_config() -> Config {
    Config {
        backoff_base_ms: 50,
        backoff_cap_ms: 1_000,
        handshake_timeout_ms: 600_000,
        stall_timeout_ms: 600_000,
    }
}

/// A fresh seed per client, so that generated client ids never repeat across clients.
fn seed() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

/// How a client reaches the server: the page's `Origin`, the local address it dials from
/// (any of 127.0.0.0/8 on loopback, so tests can speak as several client addresses), and any
/// further upgrade headers (such as a proxy's `X-Forwarded-For`).
#[derive(Clone, Debug, Default)]
pub struct Dial {
    pub origin: Option<String>,
    pub local: Option<IpAddr>,
    pub headers: Vec<(String, String)>,
}

impl Dial {
    pub fn origin(origin: Option<&str>) -> Self {
        Self {
            origin: origin.map(str::to_owned),
            ..Self::default()
        }
    }
}

async fn open(url: &str, dial: &Dial) -> Result<Stream, tungstenite::Error> {
    let mut request = url.into_client_request()?;
    let headers = dial
        .origin
        .iter()
        .map(|origin| ("Origin", origin.as_str()))
        .chain(dial.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("header name");
        request
            .headers_mut()
            .insert(name, HeaderValue::from_str(value).expect("header value"));
    }
    let Some(local) = dial.local else {
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        return Ok(stream);
    };
    let uri = request.uri();
    let host = uri.host().unwrap_or("127.0.0.1");
    let server: SocketAddr = format!("{host}:{}", uri.port_u16().unwrap_or(80))
        .parse()
        .expect("tests dial servers by IP address");
    let socket = if local.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }?;
    socket.bind(SocketAddr::new(local, 0))?;
    let tcp = socket.connect(server).await?;
    let (stream, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp)).await?;
    Ok(stream)
}

impl WsClient {
    /// Upgrades to a WebSocket, with an `Origin` header when given. Nothing is sent yet: call
    /// [`WsClient::hello`], or send a raw `hello` with [`WsClient::send`].
    pub async fn connect(url: &str, origin: Option<&str>) -> Result<Self, tungstenite::Error> {
        Self::connect_with(url, Dial::origin(origin)).await
    }

    /// Like [`WsClient::connect`], dialled as `dial` says; reconnects dial the same way.
    pub async fn connect_with(url: &str, dial: Dial) -> Result<Self, tungstenite::Error> {
        let stream = open(url, &dial).await?;
        // Until `hello` names who we are, the core knows nobody; it still follows what the
        // server sends.
        let core = ClientCore::new(Credentials::Agent { token: None }, core_config(), seed());
        Ok(Self {
            stream,
            url: url.to_owned(),
            dial,
            skipped: std::collections::VecDeque::new(),
            core,
            clock: Instant::now(),
            strict: true,
            disorder: Vec::new(),
            shown: Vec::new(),
            confirmed: Vec::new(),
        })
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Says hello as `credentials`, resuming from `resume` (the client has seen those
    /// messages). Does not wait for the `welcome`.
    pub async fn hello(&mut self, credentials: Credentials, resume: Vec<ResumePoint>) {
        let snapshot = Snapshot {
            resume,
            ..Snapshot::default()
        };
        self.core = ClientCore::restore(snapshot, credentials, core_config(), seed())
            .expect("an empty outbox restores");
        let mut actions = self.core.connect();
        actions.extend(self.core.handle(Event::Opened { now: self.now() }));
        self.carry_out(actions).await;
    }

    /// Sends a message through the core: it gets a client id (unless the draft has one) and
    /// stays in the outbox until confirmed, and is resent after every `welcome`.
    pub async fn send_message(&mut self, draft: Draft) -> ClientMessageId {
        let (client_id, actions) = self
            .core
            .send(draft, self.now())
            .unwrap_or_else(|e| panic!("the client core refused the send: {e}"));
        self.carry_out(actions).await;
        client_id
    }

    /// The client core, for its outbox, resume points and counters.
    pub fn core(&self) -> &ClientCore {
        &self.core
    }

    /// Messages the core has shown, in the order it showed them.
    pub fn shown(&self) -> &[Message] {
        &self.shown
    }

    /// Sends the core confirmed: (client id, conversation, seq), in order.
    pub fn confirmed(&self) -> &[(ClientMessageId, ConversationId, u64)] {
        &self.confirmed
    }

    /// Duplicates and gaps are recorded (see [`WsClient::disorder`]) instead of failing the
    /// test.
    pub fn allow_disorder(&mut self) {
        self.strict = false;
    }

    /// The duplicates ([`Action::Duplicate`]) and gaps ([`Action::Gap`]) seen so far.
    pub fn disorder(&self) -> &[Action] {
        &self.disorder
    }

    /// Reconnects to the same endpoint as a real client does; see [`WsClient::reconnect_to`].
    pub async fn reconnect(&mut self) -> Vec<Conversation> {
        let url = self.url.clone();
        self.reconnect_to(&url).await
    }

    /// Reconnects to `url` (a restarted server may listen elsewhere) as a real client does:
    /// closes the current socket if it is still open, waits out the core's backoff, says hello
    /// with the core's resume points, and returns the `welcome`'s conversations. The core
    /// resends its outbox right after the `welcome`.
    pub async fn reconnect_to(&mut self, url: &str) -> Vec<Conversation> {
        if !matches!(self.core.state(), State::Waiting { .. }) {
            let _ = self.stream.close(None).await;
            let actions = self.core.handle(Event::Closed {
                code: None,
                now: self.now(),
            });
            self.carry_out(actions).await;
        }
        let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "could not reconnect within {FRAME_TIMEOUT:?}"
            );
            let at = match self.core.state() {
                State::Waiting { at } => *at,
                State::Connecting => self.now(),
                other => panic!("the client core will not reconnect: {other:?}"),
            };
            let wait = u64::try_from(at - self.now()).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            let actions = self.core.handle(Event::Tick { now: self.now() });
            if self.core.state() != &State::Connecting {
                continue;
            }
            debug_assert!(actions.contains(&Action::Connect));
            match open(url, &self.dial).await {
                Ok(stream) => {
                    self.stream = stream;
                    self.url = url.to_owned();
                    let actions = self.core.handle(Event::Opened { now: self.now() });
                    self.carry_out(actions).await;
                    break;
                }
                Err(_) => {
                    let actions = self.core.handle(Event::Closed {
                        code: None,
                        now: self.now(),
                    });
                    self.carry_out(actions).await;
                }
            }
        }
        match self
            .expect("welcome", |f| matches!(f, ServerFrame::Welcome { .. }))
            .await
        {
            ServerFrame::Welcome { conversations, .. } => conversations,
            _ => unreachable!(),
        }
    }

    /// Does what the core asks; a duplicate or gap fails the test unless allowed.
    async fn carry_out(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send(frame) => {
                    let text = frame.to_json().expect("frame serialises");
                    // A failed write means the connection is gone; the next read says how.
                    let _ = self.stream.send(WsMessage::text(text)).await;
                }
                Action::Show(message) => self.shown.push(message),
                Action::Confirmed {
                    client_id,
                    conversation_id,
                    seq,
                    ..
                } => self.confirmed.push((client_id, conversation_id, seq)),
                Action::Duplicate { .. } | Action::Gap { .. } => {
                    assert!(
                        !self.strict,
                        "the server broke in-order, exactly-once delivery: {action:?} \
                         (resume points {:?})",
                        self.core.resume_points()
                    );
                    self.disorder.push(action);
                }
                Action::Disconnect => {
                    let _ = self.stream.close(None).await;
                }
                Action::Connect | Action::Refused { .. } | Action::Frame(_) | Action::State(_) => {}
            }
        }
    }

    pub async fn send<T: Serialize>(&mut self, frame: &T) {
        let text = serde_json::to_string(frame).expect("frame serialises");
        self.send_raw(WsMessage::text(text)).await;
    }

    /// Sends a frame; an error means the connection is gone.
    pub async fn try_send<T: Serialize>(&mut self, frame: &T) -> Result<(), tungstenite::Error> {
        let text = serde_json::to_string(frame).expect("frame serialises");
        self.stream.send(WsMessage::text(text)).await
    }

    pub async fn send_raw(&mut self, message: WsMessage) {
        self.stream.send(message).await.expect("send to server");
    }

    /// The next frame, or how the connection ended.
    pub async fn try_next_frame(&mut self, wait: Duration) -> Option<Result<ServerFrame, Ended>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()?;
            let result: Result<ServerFrame, Ended> = match next {
                Some(Ok(WsMessage::Text(text))) => Ok(serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("server sent an undecodable frame {text}: {e}"))),
                Some(Ok(WsMessage::Close(frame))) => Err(Ended::Closed(frame)),
                Some(Ok(_)) => continue,
                Some(Err(e)) => Err(Ended::Error(e)),
                None => Err(Ended::Closed(None)),
            };
            let event = match &result {
                Ok(frame) => Event::Frame {
                    frame: frame.clone(),
                    now: self.now(),
                },
                Err(ended) => Event::Closed {
                    code: match ended {
                        Ended::Closed(frame) => frame.as_ref().map(|f| u16::from(f.code)),
                        Ended::Error(_) => None,
                    },
                    now: self.now(),
                },
            };
            let actions = self.core.handle(event);
            self.carry_out(actions).await;
            return Some(result);
        }
    }

    /// The next frame (skipped ones first); fails the test on timeout or disconnect.
    pub async fn next_frame(&mut self) -> ServerFrame {
        if let Some(frame) = self.skipped.pop_front() {
            return frame;
        }
        match self.try_next_frame(FRAME_TIMEOUT).await {
            Some(Ok(frame)) => frame,
            Some(Err(ended)) => panic!("connection ended while a frame was expected: {ended:?}"),
            None => panic!("no frame within {FRAME_TIMEOUT:?}"),
        }
    }

    /// The first frame (earlier skipped ones included) that matches; others are kept.
    pub async fn expect<F: Fn(&ServerFrame) -> bool>(
        &mut self,
        what: &str,
        matches: F,
    ) -> ServerFrame {
        if let Some(i) = self.skipped.iter().position(&matches) {
            return self.skipped.remove(i).unwrap_or_else(|| unreachable!());
        }
        let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_next_frame(left).await {
                Some(Ok(frame)) if matches(&frame) => return frame,
                Some(Ok(frame)) => self.skipped.push_back(frame),
                Some(Err(ended)) => panic!(
                    "connection ended while waiting for {what}: {ended:?}; skipped {:#?}",
                    self.skipped
                ),
                None => panic!(
                    "no {what} within {FRAME_TIMEOUT:?}; skipped {:#?}",
                    self.skipped
                ),
            }
        }
    }

    /// Waits for an `error` frame; returns its code and the client id it names, if any.
    pub async fn expect_error(&mut self) -> (ErrorCode, Option<String>) {
        let is_error = |f: &ServerFrame| matches!(f, ServerFrame::Error { .. });
        error_parts(self.expect("an error", is_error).await)
    }

    /// Like [`WsClient::expect_error`], but the very next frame must be the error.
    pub async fn next_error(&mut self) -> (ErrorCode, Option<String>) {
        error_parts(self.next_frame().await)
    }

    /// Sets this agent's status and waits until the server confirms it.
    pub async fn set_status(&mut self, status: AgentStatus) {
        self.send(&AgentFrame::SetStatus { status }).await;
        self.expect(
            "the status",
            |f| matches!(f, ServerFrame::AgentStatus { status: s } if *s == status),
        )
        .await;
    }

    /// Forgets frames skipped so far.
    pub fn clear_skipped(&mut self) {
        self.skipped.clear();
    }

    /// Frames skipped so far and not yet taken.
    pub fn skipped(&self) -> impl Iterator<Item = &ServerFrame> {
        self.skipped.iter()
    }

    /// Asserts that no new frame but ephemeral ones arrives for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.try_next_frame(left).await {
                None => return,
                Some(Ok(ServerFrame::Typing { .. } | ServerFrame::QueueStatus { .. })) => {}
                Some(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Waits for the server to close the connection; returns the close code.
    pub async fn expect_close(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_next_frame(left).await {
                Some(Ok(_)) => continue,
                Some(Err(Ended::Closed(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Err(Ended::Error(_))) => return None,
                None => panic!("the server did not close within {FRAME_TIMEOUT:?}"),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// The code and client id of an `error` frame; any other frame fails the test.
fn error_parts(frame: ServerFrame) -> (ErrorCode, Option<String>) {
    match frame {
        ServerFrame::Error {
            code, client_id, ..
        } => (code, client_id.map(|c| c.as_str().to_owned())),
        other => panic!("expected an error, got {other:?}"),
    }
}

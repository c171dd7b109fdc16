//! Property tests against a model server: over random interleavings of user sends, messages
//! from the other side, dropped sockets, server restarts, lost, duplicated and reordered
//! frames, reconnects and client restarts (a page reload from a snapshot), the application
//! sees every message exactly once and in `seq` order per conversation, every acknowledged
//! message among them, and every unconfirmed send is retried under its client id.
//!
//! The model server keeps its store across restarts and loses only connection state, as the
//! real one does; it follows the protocol's delivery rules (replay after the resume points,
//! idempotent resends, fan-out that fills gaps).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet, VecDeque};

use bellhop_client::{Action, ClientCore, ClientFrame, Config, Credentials, Draft, Event, State};
use bellhop_protocol::frames::{
    AuthorKind, Conversation, ConversationStatus, Message, ResumePoint, ServerFrame, VisitorFrame,
};
use bellhop_protocol::{ClientMessageId, ConversationId, ErrorCode, MessageBody, close_code};
use proptest::prelude::*;
use uuid::Uuid;

mod fixtures;

const CONVERSATIONS: usize = 2;

#[derive(Clone, Debug)]
enum Op {
    /// The user sends into a conversation.
    UserSend(usize),
    /// The other side (an agent) writes into a conversation.
    OtherWrites(usize),
    /// The server reads the next frame the client wrote.
    ServerReads,
    /// The next server frame reaches the client.
    Deliver,
    /// A later server frame overtakes the others.
    DeliverOutOfOrder(usize),
    /// A server frame is delivered twice.
    Duplicate(usize),
    /// A server frame is lost (an ack, a message, anything).
    Lose(usize),
    /// The socket drops (1006), or the server evicts a slow client (4008).
    Drop { too_slow: bool },
    /// The server restarts: 1001, connection state lost, store kept.
    ServerRestart,
    /// Time passes.
    Tick(u16),
    /// The page reloads: the client carries on from its serialised snapshot.
    ClientRestart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..CONVERSATIONS).prop_map(Op::UserSend),
        2 => (0..CONVERSATIONS).prop_map(Op::OtherWrites),
        6 => Just(Op::ServerReads),
        8 => Just(Op::Deliver),
        2 => any::<usize>().prop_map(Op::DeliverOutOfOrder),
        2 => any::<usize>().prop_map(Op::Duplicate),
        1 => any::<usize>().prop_map(Op::Lose),
        1 => any::<bool>().prop_map(|too_slow| Op::Drop { too_slow }),
        1 => Just(Op::ServerRestart),
        3 => (0..4000u16).prop_map(Op::Tick),
        1 => Just(Op::ClientRestart),
    ]
}

fn conversation_id(i: usize) -> ConversationId {
    ConversationId::from_uuid(Uuid::from_u128(i as u128 + 1))
}

fn index_of(id: ConversationId) -> usize {
    (0..CONVERSATIONS)
        .find(|i| conversation_id(*i) == id)
        .expect("a known conversation")
}

fn conversation(i: usize, last_seq: u64) -> Conversation {
    fixtures::conversation(conversation_id(i), ConversationStatus::Assigned, last_seq)
}

/// One connection's server-side state; all of it is lost when the socket goes.
#[derive(Default)]
struct Connection {
    to_server: VecDeque<ClientFrame>,
    to_client: Vec<ServerFrame>,
    welcomed: bool,
    /// The last seq sent on this connection, per conversation.
    last_sent: [u64; CONVERSATIONS],
}

struct World {
    /// The server's store: it survives everything.
    store: [Vec<Message>; CONVERSATIONS],
    stored_ids: HashMap<ClientMessageId, (usize, u64, String)>,
    connection: Option<Connection>,
    core: ClientCore,
    now: i64,
    seed: u64,
    /// What the application was shown, per conversation (kept across page reloads, as a
    /// browser keeps the transcript it rendered).
    shown: [Vec<Message>; CONVERSATIONS],
    /// Every send the user made: client id → (conversation, body).
    sends: HashMap<ClientMessageId, (usize, String)>,
    confirmed: HashSet<ClientMessageId>,
    next_body: u64,
}

fn credentials() -> Credentials {
    Credentials::Visitor {
        token: "token".into(),
    }
}

fn config() -> Config {
    Config {
        backoff_base_ms: 100,
        backoff_cap_ms: 5_000,
        handshake_timeout_ms: 3_000,
        stall_timeout_ms: 3_000,
    }
}

impl World {
    fn new(seed: u64) -> Self {
        let mut world = World {
            store: Default::default(),
            stored_ids: HashMap::new(),
            connection: None,
            core: ClientCore::new(credentials(), config(), seed),
            now: 0,
            seed,
            shown: Default::default(),
            sends: HashMap::new(),
            confirmed: HashSet::new(),
            next_body: 0,
        };
        let actions = world.core.connect();
        world.apply(actions);
        world
    }

    /// Carries out the core's actions, checking each against the model.
    fn apply(&mut self, actions: Vec<Action>) {
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Connect => {
                    assert!(self.connection.is_none(), "connect while connected");
                    self.connection = Some(Connection::default());
                    queue.extend(self.core.handle(Event::Opened { now: self.now }));
                }
                Action::Send(frame) => {
                    if let ClientFrame::Visitor(VisitorFrame::Hello { resume, .. }) = &frame {
                        self.check_resume(resume);
                    }
                    if let ClientFrame::Visitor(VisitorFrame::Send {
                        client_id,
                        conversation_id,
                        body,
                        ..
                    }) = &frame
                    {
                        let (conversation, original) = &self.sends[client_id];
                        assert_eq!(
                            (*conversation, original.as_str()),
                            (index_of(conversation_id.expect("named")), body.as_str()),
                            "a resend changed"
                        );
                    }
                    self.connection
                        .as_mut()
                        .expect("a frame written without a socket")
                        .to_server
                        .push_back(frame);
                }
                Action::Show(message) => {
                    let i = index_of(message.conversation_id);
                    assert_eq!(
                        message.seq,
                        self.shown[i].len() as u64 + 1,
                        "shown out of order or twice"
                    );
                    assert_eq!(message, self.store[i][message.seq as usize - 1]);
                    self.shown[i].push(message);
                }
                Action::Confirmed { client_id, seq, .. } => {
                    let (i, stored_seq, _) = &self.stored_ids[&client_id];
                    assert_eq!(seq, *stored_seq);
                    assert_eq!(*i, self.sends[&client_id].0);
                    assert!(
                        self.confirmed.insert(client_id.clone()),
                        "{client_id} confirmed twice"
                    );
                }
                Action::Refused { send, code, .. } => {
                    panic!("the model never refuses, yet {} got {code}", send.client_id)
                }
                Action::Disconnect => {
                    // A handshake or stall timeout: the core gives up on this socket.
                    assert!(
                        self.connection.take().is_some(),
                        "disconnect without a socket"
                    );
                    queue.extend(self.core.handle(Event::Closed {
                        code: Some(1000),
                        now: self.now,
                    }));
                }
                Action::Duplicate { .. }
                | Action::Gap { .. }
                | Action::Frame(_)
                | Action::State(_) => {}
            }
        }
    }

    /// A resume point must be exactly what the application has been shown.
    fn check_resume(&self, resume: &[ResumePoint]) {
        for point in resume {
            let i = index_of(point.conversation_id);
            assert_eq!(point.last_seq, self.shown[i].len() as u64, "{resume:?}");
        }
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::UserSend(i) => {
                self.next_body += 1;
                let body = format!("message {}", self.next_body);
                let draft =
                    Draft::new(MessageBody::parse(body.clone()).unwrap()).to(conversation_id(i));
                let (client_id, actions) = self.core.send(draft, self.now).unwrap();
                assert!(
                    self.sends.insert(client_id, (i, body)).is_none(),
                    "a client id was reused"
                );
                self.apply(actions);
            }
            Op::OtherWrites(i) => {
                self.next_body += 1;
                let body = format!("reply {}", self.next_body);
                self.store_message(i, AuthorKind::Agent, None, body);
                self.fan_out();
            }
            Op::ServerReads => self.server_reads(),
            Op::Deliver => self.deliver(0),
            Op::DeliverOutOfOrder(n) => {
                let len = self.to_client_len();
                if len > 0 {
                    self.deliver(n % len);
                }
            }
            Op::Duplicate(n) => {
                if let Some(connection) = &mut self.connection
                    && !connection.to_client.is_empty()
                {
                    let i = n % connection.to_client.len();
                    let copy = connection.to_client[i].clone();
                    connection.to_client.insert(i + 1, copy);
                }
            }
            Op::Lose(n) => {
                if let Some(connection) = &mut self.connection
                    && !connection.to_client.is_empty()
                {
                    let i = n % connection.to_client.len();
                    connection.to_client.remove(i);
                }
            }
            Op::Drop { too_slow } => {
                let code = too_slow.then_some(close_code::TOO_SLOW);
                self.close(code);
            }
            Op::ServerRestart => self.close(Some(close_code::GOING_AWAY)),
            Op::Tick(ms) => {
                self.now += i64::from(ms);
                let actions = self.core.handle(Event::Tick { now: self.now });
                self.apply(actions);
            }
            Op::ClientRestart => {
                let json = serde_json::to_string(&self.core.snapshot()).unwrap();
                self.connection = None;
                self.seed = self.seed.wrapping_add(0x1234_5678_9abc_def1);
                self.core = ClientCore::restore(
                    serde_json::from_str(&json).unwrap(),
                    credentials(),
                    config(),
                    self.seed,
                )
                .unwrap();
                let actions = self.core.connect();
                self.apply(actions);
            }
        }
    }

    fn to_client_len(&self) -> usize {
        self.connection.as_ref().map_or(0, |c| c.to_client.len())
    }

    fn close(&mut self, code: Option<u16>) {
        if self.connection.take().is_some() {
            let actions = self.core.handle(Event::Closed {
                code,
                now: self.now,
            });
            self.apply(actions);
        }
    }

    fn deliver(&mut self, index: usize) {
        let Some(connection) = &mut self.connection else {
            return;
        };
        if index >= connection.to_client.len() {
            return;
        }
        let frame = connection.to_client.remove(index);
        let welcome = matches!(frame, ServerFrame::Welcome { .. });
        let outbox: Vec<ClientMessageId> = self
            .core
            .outbox()
            .iter()
            .map(|s| s.client_id.clone())
            .collect();
        let actions = self.core.handle(Event::Frame {
            frame,
            now: self.now,
        });
        if welcome {
            // Every unconfirmed send goes again after a welcome, in order, same client id.
            let resent: Vec<ClientMessageId> = actions
                .iter()
                .filter_map(|a| match a {
                    Action::Send(ClientFrame::Visitor(VisitorFrame::Send {
                        client_id, ..
                    })) => Some(client_id.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(resent, outbox, "the outbox was not resent in order");
        }
        self.apply(actions);
    }

    fn store_message(
        &mut self,
        i: usize,
        author: AuthorKind,
        client_id: Option<ClientMessageId>,
        body: String,
    ) -> u64 {
        let seq = self.store[i].len() as u64 + 1;
        self.store[i].push(Message {
            conversation_id: conversation_id(i),
            seq,
            author,
            author_name: None,
            client_id,
            body,
            sent_at: self.now,
            attachment: None,
        });
        seq
    }

    /// Live delivery: the connection gets everything after what it was sent, in order.
    fn fan_out(&mut self) {
        let Some(connection) = &mut self.connection else {
            return;
        };
        if !connection.welcomed {
            return;
        }
        for i in 0..CONVERSATIONS {
            while connection.last_sent[i] < self.store[i].len() as u64 {
                connection.last_sent[i] += 1;
                let message = self.store[i][connection.last_sent[i] as usize - 1].clone();
                connection.to_client.push(ServerFrame::Message { message });
            }
        }
    }

    fn server_reads(&mut self) {
        let Some(frame) = self
            .connection
            .as_mut()
            .and_then(|c| c.to_server.pop_front())
        else {
            return;
        };
        match frame {
            ClientFrame::Visitor(VisitorFrame::Hello { resume, .. }) => {
                let connection = self.connection.as_mut().expect("connected");
                connection.last_sent = [0; CONVERSATIONS];
                for point in &resume {
                    connection.last_sent[index_of(point.conversation_id)] = point.last_seq;
                }
                connection.welcomed = true;
                connection.to_client.push(fixtures::welcome(
                    (0..CONVERSATIONS)
                        .map(|i| conversation(i, self.store[i].len() as u64))
                        .collect(),
                    Vec::new(),
                ));
                self.fan_out();
            }
            ClientFrame::Visitor(VisitorFrame::Send {
                client_id,
                conversation_id,
                body,
                ..
            }) => {
                let i = index_of(conversation_id.expect("named"));
                let answer = match self.stored_ids.get(&client_id) {
                    // Idempotent resend: the first ack again, nothing stored, no message.
                    Some((j, seq, stored)) if *j == i && stored == body.as_str() => {
                        ServerFrame::Ack {
                            client_id,
                            conversation_id: conversation_id.expect("named"),
                            seq: *seq,
                            sent_at: self.store[i][*seq as usize - 1].sent_at,
                        }
                    }
                    Some(_) => ServerFrame::Error {
                        code: ErrorCode::ClientIdConflict,
                        message: "conflict".into(),
                        client_id: Some(client_id),
                    },
                    None => {
                        let seq = self.store_message(
                            i,
                            AuthorKind::Visitor,
                            Some(client_id.clone()),
                            body.as_str().to_owned(),
                        );
                        self.stored_ids
                            .insert(client_id.clone(), (i, seq, body.into_string()));
                        ServerFrame::Ack {
                            client_id,
                            conversation_id: conversation_id.expect("named"),
                            seq,
                            sent_at: self.now,
                        }
                    }
                };
                if let Some(connection) = &mut self.connection {
                    connection.to_client.push(answer);
                }
                self.fan_out();
            }
            other => panic!("the core wrote an unexpected frame: {other:?}"),
        }
    }

    /// No more faults: time passes and everything drains. Whatever faults left behind (a lost
    /// welcome, ack or message) only the core's own timeouts can notice. A lost message with
    /// nothing after it cannot be noticed by any client, so the other side writes once more in
    /// each conversation, as life goes on, which turns such a loss into a gap.
    fn settle(&mut self) {
        for i in 0..CONVERSATIONS {
            self.step(Op::OtherWrites(i));
        }
        for _ in 0..10_000 {
            if self
                .connection
                .as_ref()
                .is_some_and(|c| !c.to_server.is_empty())
            {
                self.server_reads();
            } else if self.to_client_len() > 0 {
                self.deliver(0);
            } else if let Some(at) = self.core.next_wakeup() {
                self.now = self.now.max(at);
                let actions = self.core.handle(Event::Tick { now: self.now });
                self.apply(actions);
            } else {
                return;
            }
        }
        panic!("the world did not settle");
    }

    fn check_final(&self) {
        assert_eq!(self.core.state(), &State::Live);
        assert!(self.core.outbox().is_empty(), "{:?}", self.core.outbox());
        for i in 0..CONVERSATIONS {
            assert_eq!(
                self.shown[i], self.store[i],
                "conversation {i}: the application saw something other than the store"
            );
        }
        let sent: HashSet<&ClientMessageId> = self.sends.keys().collect();
        let stored: HashSet<&ClientMessageId> = self.stored_ids.keys().collect();
        assert_eq!(sent, stored, "every send is stored once");
        assert_eq!(
            self.confirmed.len(),
            self.sends.len(),
            "every send confirmed once"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_message_once_in_order_and_every_send_retried(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..150),
    ) {
        let mut world = World::new(seed);
        for op in ops {
            world.step(op);
        }
        world.settle();
        world.check_final();
    }
}

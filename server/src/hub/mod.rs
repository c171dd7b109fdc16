//! The hub: who is connected to this node, and delivery of frames to them. The frames come
//! from [`crate::events::fan_out`], which the bus runs for every event; the hub only knows
//! topics and queues.
//!
//! One task owns the registry (topic → connections); everyone else holds a cheap, cloneable
//! [`Hub`] handle whose methods post commands to it. A connection registers under one
//! [`Topic`] (its visitor or its agent) and gets a bounded outbound queue; an agent socket may
//! also join a conversation's topic while its console shows that conversation, and registers
//! once more, under a feed's topic with a queue of its own, for each live feed it subscribes
//! to. One event's frames are published together, so a connection under several of their
//! topics gets each frame once. Publishing never
//! waits: a connection whose queue is full is dropped from the registry, which closes its
//! queue; its socket then closes with [`close_code::TOO_SLOW`] and the client resumes from its
//! last sequence number. One slow client never stalls the others.
//!
//! Registration is an RAII guard ([`Registration`]): dropping it unregisters from every topic,
//! and empty topics are removed; a joined topic has its own guard ([`Joined`]).
//!
//! [`close_code::TOO_SLOW`]: bellhop_protocol::close_code::TOO_SLOW

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bellhop_protocol::frames::ServerFrame;
use bellhop_protocol::{AgentId, ConversationId, VisitorId};
use bytestring::ByteString;
use tokio::sync::mpsc;

/// Whom a frame is for: every connection of one visitor, or of one agent, every connection
/// watching one conversation, or every socket subscribed to one scope of a live feed (see
/// [`crate::feeds`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Visitor(VisitorId),
    Agent(AgentId),
    /// The agent sockets whose console shows the conversation now (`watch`). A connection
    /// joins it beside its own topic ([`Registration::join`]).
    Conversation(ConversationId),
    Feed(crate::feeds::FeedKey),
}

/// A frame on its way to connections, serialised once for all of them (the text is shared,
/// not copied, per connection).
#[derive(Debug)]
pub struct Delivery {
    pub json: ByteString,
    pub kind: DeliveryKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    /// A stored message: the socket sends it only in `seq` order, exactly once.
    Message {
        conversation_id: ConversationId,
        seq: u64,
    },
    /// The receiver must hold the whole conversation: after this frame, the socket sends
    /// every message of it that the connection has not had yet.
    CatchUp { conversation_id: ConversationId },
    /// A read mark: `reader` has read `conversation_id` up to `seq`. A socket of the reader's
    /// side that sent this mark (or a later one) itself skips it.
    Read {
        conversation_id: ConversationId,
        reader: bellhop_protocol::frames::AuthorKind,
        seq: u64,
    },
    /// A frame about something this agent did (their typing): their own sockets skip it.
    FromAgent { agent: AgentId },
    /// Any other frame.
    Plain,
    /// Not a frame: the agent's session with this token hash (`None`: every session of the
    /// agent) ended, and a socket that authenticated with it closes.
    EndSession { session: Option<[u8; 32]> },
}

impl Delivery {
    pub fn new(frame: &ServerFrame, kind: DeliveryKind) -> Arc<Self> {
        let json = serde_json::to_string(frame).unwrap_or_else(|e| {
            tracing::error!(error = %e, "server frame did not serialise");
            String::from("{}")
        });
        Arc::new(Self {
            json: json.into(),
            kind,
        })
    }

    pub fn message(message: &bellhop_protocol::frames::Message) -> Arc<Self> {
        Self::new(
            &ServerFrame::Message {
                message: message.clone(),
            },
            DeliveryKind::Message {
                conversation_id: message.conversation_id,
                seq: message.seq,
            },
        )
    }

    pub fn plain(frame: &ServerFrame) -> Arc<Self> {
        Self::new(frame, DeliveryKind::Plain)
    }

    pub fn end_session(session: Option<[u8; 32]>) -> Arc<Self> {
        Arc::new(Self {
            json: ByteString::new(),
            kind: DeliveryKind::EndSession { session },
        })
    }
}

pub type Outbox = mpsc::Receiver<Arc<Delivery>>;

enum Command {
    Register {
        id: u64,
        topic: Topic,
        tx: mpsc::Sender<Arc<Delivery>>,
    },
    /// The connection also hears `topic`.
    Join {
        id: u64,
        topic: Topic,
    },
    Leave {
        id: u64,
        topic: Topic,
    },
    /// The connection leaves every topic.
    Unregister {
        id: u64,
    },
    /// One event's frames: a connection under several of their topics gets each frame once.
    Publish {
        deliveries: Vec<(Topic, Arc<Delivery>)>,
    },
    Count {
        reply: tokio::sync::oneshot::Sender<usize>,
    },
}

/// Handle to the hub task.
#[derive(Clone)]
pub struct Hub {
    commands: mpsc::UnboundedSender<Command>,
    next_id: Arc<AtomicU64>,
    queue_len: usize,
}

impl Hub {
    /// Starts the hub task. It ends when every handle is gone.
    pub fn start(queue_len: usize) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(rx));
        Self {
            commands,
            next_id: Arc::new(AtomicU64::new(1)),
            queue_len: queue_len.max(1),
        }
    }

    /// Registers a connection under `topic`; frames published to it arrive in the returned
    /// outbox until the registration is dropped (or the connection proves too slow).
    pub fn register(&self, topic: Topic) -> (Registration, Outbox) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.queue_len);
        let _ = self.commands.send(Command::Register { id, topic, tx });
        (
            Registration {
                hub: self.clone(),
                id,
                topic,
            },
            rx,
        )
    }

    /// Sends a frame to every connection of `topic` (none is fine).
    pub fn publish(&self, topic: Topic, delivery: Arc<Delivery>) {
        self.publish_all(vec![(topic, delivery)]);
    }

    /// Sends one event's frames, each to its topic's connections. A connection under several
    /// of these topics (an agent watching the conversation they serve) gets each frame once.
    pub fn publish_all(&self, deliveries: Vec<(Topic, Arc<Delivery>)>) {
        if !deliveries.is_empty() {
            let _ = self.commands.send(Command::Publish { deliveries });
        }
    }

    /// How many connections are registered (for tests and metrics).
    pub async fn connection_count(&self) -> usize {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let _ = self.commands.send(Command::Count { reply });
        answer.await.unwrap_or(0)
    }
}

/// Keeps a connection registered; dropping it unregisters (from every topic it joined too).
pub struct Registration {
    hub: Hub,
    id: u64,
    topic: Topic,
}

impl Registration {
    pub fn topic(&self) -> Topic {
        self.topic
    }

    /// The connection also hears `topic`, into the same outbox, until the returned guard is
    /// dropped (or the connection unregisters).
    pub fn join(&self, topic: Topic) -> Joined {
        let _ = self.hub.commands.send(Command::Join { id: self.id, topic });
        Joined {
            hub: self.hub.clone(),
            id: self.id,
            topic,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = self.hub.commands.send(Command::Unregister { id: self.id });
    }
}

/// A connection's place under a further topic; dropping it leaves the topic.
pub struct Joined {
    hub: Hub,
    id: u64,
    topic: Topic,
}

impl Drop for Joined {
    fn drop(&mut self) {
        let _ = self.hub.commands.send(Command::Leave {
            id: self.id,
            topic: self.topic,
        });
    }
}

type Sender = mpsc::Sender<Arc<Delivery>>;

/// The hub task's state: the connections of each topic, and the topics of each connection
/// (its own first), so a connection dropped as too slow leaves all of them at once and its
/// outbox closes.
#[derive(Default)]
struct Registry {
    topics: HashMap<Topic, HashMap<u64, Sender>>,
    connections: HashMap<u64, Vec<Topic>>,
}

impl Registry {
    fn register(&mut self, id: u64, topic: Topic, tx: Sender) {
        self.topics.entry(topic).or_default().insert(id, tx);
        self.connections.insert(id, vec![topic]);
    }

    fn join(&mut self, id: u64, topic: Topic) {
        let Some(joined) = self.connections.get_mut(&id) else {
            return;
        };
        let Some(tx) = joined
            .first()
            .and_then(|own| self.topics.get(own))
            .and_then(|connections| connections.get(&id))
            .cloned()
        else {
            return;
        };
        if !joined.contains(&topic) {
            joined.push(topic);
        }
        self.topics.entry(topic).or_default().insert(id, tx);
    }

    /// Takes the connection out of `topic`; the last connection of a topic removes it.
    fn remove(&mut self, id: u64, topic: Topic) {
        if let Entry::Occupied(mut entry) = self.topics.entry(topic) {
            entry.get_mut().remove(&id);
            if entry.get().is_empty() {
                entry.remove();
            }
        }
    }

    fn leave(&mut self, id: u64, topic: Topic) {
        let Some(joined) = self.connections.get_mut(&id) else {
            return;
        };
        // A connection never leaves its own topic but by unregistering.
        if joined.first() == Some(&topic) {
            return;
        }
        joined.retain(|t| *t != topic);
        self.remove(id, topic);
    }

    fn unregister(&mut self, id: u64) {
        for topic in self.connections.remove(&id).unwrap_or_default() {
            self.remove(id, topic);
        }
    }

    fn publish(&mut self, deliveries: &[(Topic, Arc<Delivery>)]) {
        // (connection, frame) pairs already queued: only needed when frames share topics.
        let mut queued: HashSet<(u64, *const Delivery)> = HashSet::new();
        let mut evicted = Vec::new();
        for (topic, delivery) in deliveries {
            let Some(connections) = self.topics.get(topic) else {
                continue;
            };
            for (id, tx) in connections {
                if deliveries.len() > 1 && !queued.insert((*id, Arc::as_ptr(delivery))) {
                    continue;
                }
                if evicted.contains(id) {
                    continue;
                }
                match tx.try_send(delivery.clone()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::info!(
                            connection = id,
                            ?topic,
                            "disconnecting a client too slow to keep up"
                        );
                        evicted.push(*id);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => evicted.push(*id),
                }
            }
        }
        for id in evicted {
            self.unregister(id);
        }
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Command>) {
    let mut registry = Registry::default();
    while let Some(command) = rx.recv().await {
        match command {
            Command::Register { id, topic, tx } => registry.register(id, topic, tx),
            Command::Join { id, topic } => registry.join(id, topic),
            Command::Leave { id, topic } => registry.leave(id, topic),
            Command::Unregister { id } => registry.unregister(id),
            Command::Publish { deliveries } => registry.publish(&deliveries),
            Command::Count { reply } => {
                let _ = reply.send(registry.connections.len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn frame(n: u32) -> Arc<Delivery> {
        Delivery::plain(&ServerFrame::QueueStatus {
            conversation_id: ConversationId::from_uuid(Uuid::nil()),
            position: n,
            estimated_wait_secs: None,
        })
    }

    #[tokio::test]
    async fn publishes_to_every_connection_of_a_topic_only() {
        let hub = Hub::start(8);
        let visitor = Topic::Visitor(VisitorId::from_uuid(Uuid::now_v7()));
        let other = Topic::Visitor(VisitorId::from_uuid(Uuid::now_v7()));
        let (_a, mut a) = hub.register(visitor);
        let (_b, mut b) = hub.register(visitor);
        let (_c, mut c) = hub.register(other);
        hub.publish(visitor, frame(1));
        assert_eq!(
            a.recv().await.map(|d| d.json.clone()),
            Some(frame(1).json.clone())
        );
        assert!(b.recv().await.is_some());
        assert_eq!(hub.connection_count().await, 3);
        assert!(c.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_full_queue_disconnects_only_that_connection() {
        let hub = Hub::start(2);
        let topic = Topic::Agent(AgentId::from_uuid(Uuid::now_v7()));
        let (_slow, mut slow) = hub.register(topic);
        let (_fast, mut fast) = hub.register(topic);
        for n in 0..3 {
            hub.publish(topic, frame(n));
            // The fast connection drains as it goes.
            assert!(fast.recv().await.is_some());
        }
        // The slow one got two frames, then its queue was closed.
        assert!(slow.recv().await.is_some());
        assert!(slow.recv().await.is_some());
        assert!(slow.recv().await.is_none());
        hub.publish(topic, frame(9));
        assert!(fast.recv().await.is_some());
        assert_eq!(hub.connection_count().await, 1);
    }

    #[tokio::test]
    async fn a_joined_topic_reaches_the_same_outbox_once_per_frame() {
        let hub = Hub::start(8);
        let agent = Topic::Agent(AgentId::from_uuid(Uuid::now_v7()));
        let watched = Topic::Conversation(ConversationId::from_uuid(Uuid::now_v7()));
        let (registration, mut outbox) = hub.register(agent);
        let joined = registration.join(watched);
        // One frame for both topics (the agent serves and watches): once.
        let both = frame(1);
        hub.publish_all(vec![(agent, both.clone()), (watched, both)]);
        // Two frames of one event: both.
        hub.publish_all(vec![(agent, frame(2)), (watched, frame(3))]);
        hub.publish(watched, frame(4));
        for n in [1, 2, 3, 4] {
            assert_eq!(
                outbox.recv().await.map(|d| d.json.clone()),
                Some(frame(n).json.clone())
            );
        }
        assert_eq!(hub.connection_count().await, 1);
        drop(joined);
        hub.publish(watched, frame(5));
        hub.publish(agent, frame(6));
        assert_eq!(
            outbox.recv().await.map(|d| d.json.clone()),
            Some(frame(6).json.clone())
        );
    }

    #[tokio::test]
    async fn a_slow_connection_leaves_every_topic_it_joined() {
        let hub = Hub::start(1);
        let agent = Topic::Agent(AgentId::from_uuid(Uuid::now_v7()));
        let watched = Topic::Conversation(ConversationId::from_uuid(Uuid::now_v7()));
        let (registration, mut outbox) = hub.register(agent);
        let _joined = registration.join(watched);
        hub.publish(watched, frame(1));
        hub.publish(watched, frame(2));
        // Full after one: dropped from both topics, so its outbox closes.
        assert_eq!(hub.connection_count().await, 0);
        assert!(outbox.recv().await.is_some());
        assert!(outbox.recv().await.is_none());
    }

    #[tokio::test]
    async fn dropping_the_registration_unregisters() {
        let hub = Hub::start(2);
        let topic = Topic::Agent(AgentId::from_uuid(Uuid::now_v7()));
        let (registration, _rx) = hub.register(topic);
        assert_eq!(hub.connection_count().await, 1);
        drop(registration);
        assert_eq!(hub.connection_count().await, 0);
    }
}

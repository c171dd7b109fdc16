//! The chat service: what happens when someone sends, closes, types or comes online. It ties
//! the store (truth), the group committer (durability), the bus (events to every node's
//! connections and subscribers) and the assigner (queues and caps) together, so the sockets
//! and REST handlers stay thin.
//!
//! Each action checks who may do it, commits through the store, then emits one
//! [`Event`] per change. Parts: sends here; [`conversations`] (close,
//! transfer, priority, picking from the queue); [`notes`] (agents' notes and whispers);
//! [`presence`] (agent status and connections); [`opening`] (business
//! hours and the priority of a new chat); [`sweepers`] (grace period and inactivity);
//! [`read_marks`] (read positions and sneak peeks).
//!
//! Ordering: messages are emitted by the committer in commit order, before the sender's ack
//! is released; sockets additionally deliver each conversation strictly in `seq` order.

mod conversations;
mod notes;
mod opening;
mod presence;
mod read_marks;
mod sweepers;

use std::collections::HashMap;
use std::sync::Arc;

use bellhop_protocol::frames::{AuthorKind, Conversation, Priority};
use bellhop_protocol::{
    AgentId, ClientMessageId, ConversationId, DepartmentId, ErrorCode, MessageBody, SiteId,
    VisitorId,
};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::assignment::Assigner;
use crate::bus::Bus;
use crate::clock::now_millis;
use crate::events::Event;
use crate::hub::Hub;
use crate::store::commit::{CommitFailed, GroupCommit};
use crate::store::{
    Agent, Append, AppendRejection, Appended, Author, NewAttachment, NodeId, NoteRejection,
    PickRejection, Store, StoreError, Target, TransferRejection,
};

/// Why a chat action failed, with the code the client gets.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Rejected(#[from] AppendRejection),
    #[error(transparent)]
    Transfer(#[from] TransferRejection),
    #[error(transparent)]
    Pick(#[from] PickRejection),
    #[error(transparent)]
    Note(#[from] NoteRejection),
    #[error("{0}")]
    Invalid(&'static str),
    #[error("outside business hours: leave a message with the offline form")]
    Offline,
    #[error("the conversation is already closed")]
    AlreadyClosed,
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("the commit failed")]
    Commit(#[from] CommitFailed),
}

impl ChatError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ChatError::Rejected(AppendRejection::ClientIdConflict) => ErrorCode::ClientIdConflict,
            ChatError::Rejected(AppendRejection::ConversationClosed) | ChatError::AlreadyClosed => {
                ErrorCode::ConversationClosed
            }
            ChatError::Rejected(AppendRejection::NotFound | AppendRejection::UnknownDepartment) => {
                ErrorCode::NotFound
            }
            ChatError::Rejected(AppendRejection::Forbidden) => ErrorCode::Forbidden,
            ChatError::Transfer(rejection) => match rejection {
                TransferRejection::NotFound | TransferRejection::DepartmentNotFound => {
                    ErrorCode::NotFound
                }
                TransferRejection::Closed => ErrorCode::ConversationClosed,
                TransferRejection::AgentUnavailable => ErrorCode::AgentUnavailable,
                TransferRejection::AgentFull => ErrorCode::AgentAtCapacity,
                TransferRejection::SameAgent => ErrorCode::InvalidRequest,
            },
            ChatError::Pick(rejection) => match rejection {
                PickRejection::NotFound => ErrorCode::NotFound,
                PickRejection::Forbidden => ErrorCode::Forbidden,
                PickRejection::NotQueued => ErrorCode::Conflict,
                PickRejection::AgentFull => ErrorCode::AgentAtCapacity,
            },
            ChatError::Note(NoteRejection::ClientIdConflict) => ErrorCode::ClientIdConflict,
            ChatError::Note(NoteRejection::NotFound) => ErrorCode::NotFound,
            ChatError::Invalid(_) => ErrorCode::InvalidRequest,
            ChatError::Offline => ErrorCode::Offline,
            ChatError::Store(_) | ChatError::Commit(_) => ErrorCode::Internal,
        }
    }

    /// The text a client may see: internal causes stay in the logs.
    pub fn public_message(&self) -> String {
        match self {
            ChatError::Store(_) | ChatError::Commit(_) => {
                "the server could not store this; retrying with the same client_id is safe".into()
            }
            other => other.to_string(),
        }
    }
}

/// A send checked by the chat service and turned into its store write; committing it is
/// [`Chat::commit`]. Sockets prepare sends in the order they arrive and commit them pipelined.
#[derive(Debug)]
pub struct PreparedSend {
    append: Append,
    opens: bool,
}

impl PreparedSend {
    /// Whether committing it opens a conversation: a visitor's send naming none while the
    /// visitor has none open. (Two such sends pipelined before the first commits both say so;
    /// the second joins the conversation the first opened.)
    pub fn opens(&self) -> bool {
        self.opens
    }

    /// The same send carrying a stored file (the body being its name).
    pub fn carrying(mut self, file: NewAttachment) -> Self {
        self.append.attachment = Some(file);
        self
    }
}

pub struct Chat {
    store: Arc<dyn Store>,
    /// This node's connections (sockets register here).
    hub: Hub,
    bus: Arc<dyn Bus>,
    commits: GroupCommit,
    assigner: Assigner,
    /// Live agent connections on this node; the first connects an agent, the last disconnects
    /// them. Held across the presence update so connect and disconnect cannot interleave.
    presence: Mutex<HashMap<AgentId, usize>>,
    /// This process, as presence rows name it.
    node: NodeId,
}

impl Chat {
    /// Starts the committer; returns its task so shutdown can wait for in-flight commits.
    pub fn start(
        store: Arc<dyn Store>,
        hub: Hub,
        bus: Arc<dyn Bus>,
        assigner: Assigner,
        max_batch: usize,
        node: NodeId,
    ) -> (Arc<Self>, JoinHandle<()>) {
        let publish_bus = bus.clone();
        let publish_assigner = assigner.clone();
        let (commits, task) = GroupCommit::start(
            store.clone(),
            max_batch,
            Box::new(move |appended| committed(publish_bus.as_ref(), &publish_assigner, appended)),
        );
        let chat = Arc::new(Self {
            store,
            hub,
            bus,
            commits,
            assigner,
            presence: Mutex::new(HashMap::new()),
            node,
        });
        (chat, task)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// Hands a committed change (or an ephemeral signal) to the bus.
    pub fn emit(&self, event: Event) {
        self.bus.publish(event);
    }

    /// Relays a typing indicator to the other side of the conversation (never stored).
    pub fn typing(&self, conversation: &Conversation, author: AuthorKind, typing: bool) {
        self.emit(Event::Typing {
            conversation: conversation.clone(),
            author,
            typing,
        });
    }

    /// Something that affects who may serve the site changed (caps, departments): route again.
    pub fn routing_changed(&self, site: SiteId) {
        self.assigner.kick(site);
    }

    /// Turns a visitor's `send` into its store write: into the named conversation, or into
    /// the visitor's open one, opening it (with the priority it earns) if there is none —
    /// refused outside business hours.
    pub async fn visitor_send(
        &self,
        visitor: VisitorId,
        site: SiteId,
        client_id: ClientMessageId,
        conversation: Option<ConversationId>,
        department: Option<DepartmentId>,
        body: MessageBody,
    ) -> Result<PreparedSend, ChatError> {
        let (target, opens) = match conversation {
            Some(id) => (Target::Conversation(id), false),
            None => {
                let opening = self.prepare_open(visitor, site, department).await?;
                let target = Target::VisitorOpen {
                    site_id: site,
                    department_id: department,
                    priority: opening.unwrap_or(Priority::Normal),
                };
                (target, opening.is_some())
            }
        };
        Ok(PreparedSend {
            append: Append {
                author: Author::Visitor(visitor),
                target,
                client_id,
                body,
                now: now_millis(),
                attachment: None,
            },
            opens,
        })
    }

    /// Turns an agent's `send` into its store write; the store checks at commit time that the
    /// agent serves the conversation.
    pub fn agent_send(
        &self,
        agent: &Agent,
        client_id: ClientMessageId,
        conversation: ConversationId,
        body: MessageBody,
    ) -> PreparedSend {
        PreparedSend {
            append: Append {
                author: Author::Agent(agent.id),
                target: Target::Conversation(conversation),
                client_id,
                body,
                now: now_millis(),
                attachment: None,
            },
            opens: false,
        }
    }

    /// Shutdown: no more commits are taken; those queued finish.
    pub fn close_commits(&self) {
        self.commits.close();
    }

    /// Stores a prepared send (idempotently) and returns it once it is durable.
    pub async fn commit(&self, send: PreparedSend) -> Result<Appended, ChatError> {
        Ok(self.commits.append(send.append).await??)
    }
}

/// After-commit hook, in commit order: the opening (if this message opened the conversation),
/// then each stored message; a new conversation asks for routing.
fn committed(bus: &dyn Bus, assigner: &Assigner, appended: &Appended) {
    let conversation = &appended.conversation;
    if appended.opened {
        bus.publish(Event::ConversationOpened {
            conversation: conversation.clone(),
        });
    }
    for message in std::iter::once(&appended.message).chain(&appended.follow_ups) {
        bus.publish(Event::MessageStored {
            conversation: conversation.clone(),
            message: message.clone(),
        });
    }
    if appended.opened {
        assigner.kick(conversation.site_id);
    }
}

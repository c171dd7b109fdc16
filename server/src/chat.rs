//! The chat service: what happens when someone sends, closes, types or comes online. It ties
//! the store (truth), the group committer (durability), the hub (fan-out) and the router
//! (assignment) together, so the sockets and REST handlers stay thin.
//!
//! Ordering: messages are published by the committer in commit order, before the sender's ack
//! is released; sockets additionally deliver each conversation strictly in `seq` order.

use std::collections::HashMap;
use std::sync::Arc;

use bellhop_protocol::api::Role;
use bellhop_protocol::frames::{AuthorKind, Conversation, ConversationStatus, ServerFrame};
use bellhop_protocol::{AgentId, ConversationId, ErrorCode};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::clock::now_millis;
use crate::hub::{Delivery, Hub, Topic};
use crate::router::Router;
use crate::store::commit::{CommitFailed, GroupCommit};
use crate::store::{Agent, Append, AppendRejection, Appended, Store, StoreError};

/// Why a chat action failed, with the code the client gets.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Rejected(#[from] AppendRejection),
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
            ChatError::Rejected(AppendRejection::NotFound) => ErrorCode::NotFound,
            ChatError::Rejected(AppendRejection::Forbidden) => ErrorCode::Forbidden,
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

pub struct Chat {
    store: Arc<dyn Store>,
    hub: Hub,
    commits: GroupCommit,
    router: Router,
    /// Live agent connections on this node; the first connects an agent, the last disconnects
    /// them. Held across the presence update so connect and disconnect cannot interleave.
    presence: Mutex<HashMap<AgentId, usize>>,
}

impl Chat {
    /// Starts the committer; returns its task so shutdown can wait for in-flight commits.
    pub fn start(
        store: Arc<dyn Store>,
        hub: Hub,
        router: Router,
        max_batch: usize,
    ) -> (Arc<Self>, JoinHandle<()>) {
        let publish_hub = hub.clone();
        let publish_router = router.clone();
        let (commits, task) = GroupCommit::start(
            store.clone(),
            max_batch,
            Box::new(move |appended| publish(&publish_hub, &publish_router, appended)),
        );
        let chat = Arc::new(Self {
            store,
            hub,
            commits,
            router,
            presence: Mutex::new(HashMap::new()),
        });
        (chat, task)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Stores a message (idempotently) and returns it once it is durable.
    pub async fn send(&self, append: Append) -> Result<Appended, ChatError> {
        Ok(self.commits.append(append).await??)
    }

    /// Closes a conversation on an agent's behalf. Agents close their own chats; supervisors
    /// and admins any chat of a site they reach.
    pub async fn close(
        &self,
        agent: &Agent,
        conversation: ConversationId,
    ) -> Result<Conversation, ChatError> {
        let Some(current) = self.store.conversation(conversation).await? else {
            return Err(AppendRejection::NotFound.into());
        };
        let own = current.agent.as_ref().map(|a| a.id) == Some(agent.id);
        let oversees = agent.role >= Role::Supervisor && agent.reaches(current.site_id);
        if !own && !oversees {
            return Err(if agent.reaches(current.site_id) {
                AppendRejection::Forbidden.into()
            } else {
                AppendRejection::NotFound.into()
            });
        }
        if current.status == ConversationStatus::Closed {
            return Err(ChatError::AlreadyClosed);
        }
        let Some(closed) = self
            .store
            .close_conversation(conversation, now_millis())
            .await?
        else {
            return Err(ChatError::AlreadyClosed);
        };
        let delivery = Delivery::plain(&ServerFrame::ConversationClosed {
            conversation: closed.clone(),
        });
        self.hub
            .publish(Topic::Visitor(closed.visitor_id), delivery.clone());
        if let Some(served_by) = &closed.agent {
            self.hub.publish(Topic::Agent(served_by.id), delivery);
        }
        self.router.kick(closed.site_id);
        Ok(closed)
    }

    /// Relays a typing indicator to the other side of the conversation (never stored).
    pub fn typing(&self, conversation: &Conversation, from: AuthorKind, typing: bool) {
        let frame = Delivery::plain(&ServerFrame::Typing {
            conversation_id: conversation.id,
            author: from,
            typing,
        });
        match from {
            AuthorKind::Visitor => {
                if let Some(agent) = &conversation.agent {
                    self.hub.publish(Topic::Agent(agent.id), frame);
                }
            }
            AuthorKind::Agent | AuthorKind::System => {
                self.hub
                    .publish(Topic::Visitor(conversation.visitor_id), frame);
            }
        }
    }

    /// An agent connection authenticated; the first one makes the agent available.
    pub async fn agent_connected(&self, agent: &Agent) {
        let mut presence = self.presence.lock().await;
        let count = presence.entry(agent.id).or_insert(0);
        *count += 1;
        if *count == 1 {
            if let Err(e) = self
                .store
                .set_agent_online(agent.id, true, now_millis())
                .await
            {
                tracing::error!(error = ?e, agent = %agent.id, "could not mark agent online");
            }
            for site in &agent.sites {
                self.router.kick(*site);
            }
        }
    }

    /// An agent connection ended; the last one makes the agent unavailable for new chats
    /// (their open chats stay theirs).
    pub async fn agent_disconnected(&self, agent: AgentId) {
        let mut presence = self.presence.lock().await;
        let Some(count) = presence.get_mut(&agent) else {
            return;
        };
        *count = count.saturating_sub(1);
        if *count == 0 {
            presence.remove(&agent);
            if let Err(e) = self
                .store
                .set_agent_online(agent, false, now_millis())
                .await
            {
                tracing::error!(error = ?e, %agent, "could not mark agent offline");
            }
        }
    }
}

/// After-commit hook: tell both sides, in commit order; a new conversation asks for routing.
fn publish(hub: &Hub, router: &Router, appended: &Appended) {
    let conversation = &appended.conversation;
    let visitor = Topic::Visitor(conversation.visitor_id);
    let agent = conversation.agent.as_ref().map(|a| Topic::Agent(a.id));
    if appended.opened {
        hub.publish(
            visitor,
            Delivery::plain(&ServerFrame::ConversationOpened {
                conversation: conversation.clone(),
            }),
        );
    }
    for message in std::iter::once(&appended.message).chain(&appended.follow_ups) {
        let delivery = Delivery::message(message);
        if let Some(agent) = agent {
            hub.publish(agent, delivery.clone());
        }
        hub.publish(visitor, delivery);
    }
    if appended.opened {
        router.kick(conversation.site_id);
    }
}

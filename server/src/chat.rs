//! The chat service: what happens when someone sends, closes, types or comes online. It ties
//! the store (truth), the group committer (durability), the hub (fan-out) and the router
//! (assignment) together, so the sockets and REST handlers stay thin.
//!
//! Ordering: messages are published by the committer in commit order, before the sender's ack
//! is released; sockets additionally deliver each conversation strictly in `seq` order.

use std::collections::HashMap;
use std::sync::Arc;

use bellhop_protocol::api::Role;
use bellhop_protocol::api::{Availability, ClosedReason, Department, SiteSettings};
use bellhop_protocol::frames::{
    AgentRef, AgentStatus, AuthorKind, Conversation, ConversationStatus, Priority, ServerFrame,
    TransferTarget,
};
use bellhop_protocol::{AgentId, ConversationId, DepartmentId, ErrorCode, SiteId, VisitorId};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::availability::availability;
use crate::clock::now_millis;
use crate::hours::Schedule;
use crate::hub::{Delivery, DeliveryKind, Hub, Topic};
use crate::router::Router;
use crate::store::commit::{CommitFailed, GroupCommit};
use crate::store::{
    Agent, Append, AppendRejection, Appended, NodeId, Store, StoreError, TransferRejection,
};

/// Why a chat action failed, with the code the client gets.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Rejected(#[from] AppendRejection),
    #[error(transparent)]
    Transfer(#[from] TransferRejection),
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

pub struct Chat {
    store: Arc<dyn Store>,
    hub: Hub,
    commits: GroupCommit,
    router: Router,
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
        router: Router,
        max_batch: usize,
        node: NodeId,
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

    /// Something that affects who may serve the site changed (caps, departments): route again.
    pub fn routing_changed(&self, site: SiteId) {
        self.router.kick(site);
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
        // The store's close is conditional: an already closed chat answers `AlreadyClosed`.
        self.handled_by(agent, conversation).await?;
        self.close_now(conversation).await
    }

    /// The conversation, if this agent may act on it: their own, or any of their sites' for
    /// supervisors and admins. Others get `not_found` (another site) or `forbidden`.
    async fn handled_by(
        &self,
        agent: &Agent,
        conversation: ConversationId,
    ) -> Result<Conversation, ChatError> {
        let Some(current) = self.store.conversation(conversation).await? else {
            return Err(AppendRejection::NotFound.into());
        };
        let own = current.agent.as_ref().map(|a| a.id) == Some(agent.id);
        let oversees = agent.role >= Role::Supervisor && agent.reaches(current.site_id);
        if own || oversees {
            Ok(current)
        } else if agent.reaches(current.site_id) {
            Err(AppendRejection::Forbidden.into())
        } else {
            Err(AppendRejection::NotFound.into())
        }
    }

    /// Hands a conversation to a colleague or a department. The new agent gets the whole
    /// history (and the note); the visitor hears who serves them now; the previous agent is
    /// told it is no longer theirs.
    pub async fn transfer(
        &self,
        agent: &Agent,
        conversation: ConversationId,
        to: TransferTarget,
        note: Option<String>,
    ) -> Result<Conversation, ChatError> {
        if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return Err(ChatError::Invalid(
                "a transfer note has at most 2000 characters",
            ));
        }
        let note = note.filter(|n| !n.trim().is_empty());
        self.handled_by(agent, conversation).await?;
        let transferred = self
            .store
            .transfer(conversation, &to, note.as_deref(), now_millis())
            .await??;
        let conversation = transferred.conversation;
        if let Some(from) = transferred.from {
            self.hub.publish(
                Topic::Agent(from),
                Delivery::plain(&ServerFrame::ConversationReleased {
                    conversation: conversation.clone(),
                }),
            );
        }
        match to {
            TransferTarget::Agent { agent_id } => {
                let from = match transferred.from {
                    Some(id) => self.store.agent(id).await?.map(|a| AgentRef {
                        id: a.id,
                        display_name: a.display_name,
                    }),
                    None => None,
                };
                self.hub.publish(
                    Topic::Agent(agent_id),
                    Delivery::new(
                        &ServerFrame::ConversationTransferred {
                            conversation: conversation.clone(),
                            from,
                            note,
                        },
                        DeliveryKind::CatchUp {
                            conversation_id: conversation.id,
                        },
                    ),
                );
                self.hub.publish(
                    Topic::Visitor(conversation.visitor_id),
                    Delivery::plain(&ServerFrame::ConversationAssigned {
                        conversation: conversation.clone(),
                    }),
                );
            }
            TransferTarget::Department { .. } => {}
        }
        // The previous agent's slot is free (and a department transfer waits in a queue).
        self.router.kick(conversation.site_id);
        Ok(conversation)
    }

    /// Marks a conversation urgent or normal; the queue reorders at once.
    pub async fn set_priority(
        &self,
        agent: &Agent,
        conversation: ConversationId,
        priority: Priority,
    ) -> Result<Conversation, ChatError> {
        let current = self.handled_by_or_site(agent, conversation).await?;
        let Some(changed) = self.store.set_priority(current.id, priority).await? else {
            return Err(ChatError::AlreadyClosed);
        };
        self.router.kick(changed.site_id);
        Ok(changed)
    }

    /// Like [`Chat::handled_by`], but any agent of the site may flag a waiting conversation.
    async fn handled_by_or_site(
        &self,
        agent: &Agent,
        conversation: ConversationId,
    ) -> Result<Conversation, ChatError> {
        match self.store.conversation(conversation).await? {
            Some(c) if c.status == ConversationStatus::Queued && agent.reaches(c.site_id) => Ok(c),
            _ => self.handled_by(agent, conversation).await,
        }
    }

    /// An agent switches between `online` (new chats welcome) and `away` (current chats only).
    pub async fn set_status(&self, agent: &Agent, status: AgentStatus) -> Result<(), ChatError> {
        let away = match status {
            AgentStatus::Online => false,
            AgentStatus::Away => true,
            AgentStatus::Offline => {
                return Err(ChatError::Invalid(
                    "offline is not a status to set: close the connection",
                ));
            }
        };
        self.store.set_agent_away(agent.id, away).await?;
        self.hub.publish(
            Topic::Agent(agent.id),
            Delivery::plain(&ServerFrame::AgentStatus { status }),
        );
        if !away {
            for site in &agent.sites {
                self.router.kick(*site);
            }
        }
        Ok(())
    }

    /// Every `period`, puts the chats of agents offline longer than `grace` back at the front
    /// of their queues and tells their visitors. Ends with the chat service.
    pub fn start_grace_sweeper(
        self: &Arc<Self>,
        grace: std::time::Duration,
        period: std::time::Duration,
        notice: String,
    ) -> JoinHandle<()> {
        let chat = Arc::downgrade(self);
        let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(chat) = chat.upgrade() else {
                    return;
                };
                let now = now_millis();
                match chat
                    .store
                    .requeue_abandoned(now.saturating_sub(grace_ms), now, &notice)
                    .await
                {
                    Ok(requeued) => {
                        for r in requeued {
                            tracing::info!(conversation = %r.conversation.id, agent = %r.previous_agent, "re-queued after the grace period");
                            chat.hub.publish(
                                Topic::Visitor(r.conversation.visitor_id),
                                Delivery::message(&r.notice),
                            );
                            chat.hub.publish(
                                Topic::Agent(r.previous_agent),
                                Delivery::plain(&ServerFrame::ConversationReleased {
                                    conversation: r.conversation.clone(),
                                }),
                            );
                            chat.router.kick(r.conversation.site_id);
                        }
                    }
                    Err(e) => tracing::error!(error = ?e, "grace sweep failed"),
                }
            }
        })
    }

    /// Whether a new chat can start in this department now (its hours, else the site's; and
    /// whether any agent of it, or of its fallback, is online).
    pub async fn availability(
        &self,
        site: &SiteSettings,
        department: &Department,
    ) -> Result<Availability, ChatError> {
        let hours = department
            .hours
            .as_ref()
            .or(site.config.business_hours.as_ref())
            .and_then(|hours| match Schedule::parse(hours) {
                Ok(schedule) => Some(schedule),
                Err(e) => {
                    tracing::error!(error = %e, site = %site.id, "stored business hours do not parse; treating as always open");
                    None
                }
            });
        let nobody = VisitorId::from_uuid(uuid::Uuid::nil());
        let mut anyone_online = !self
            .store
            .candidates(department.id, nobody)
            .await?
            .is_empty();
        if !anyone_online && let Some(fallback) = department.fallback_id {
            anyone_online = !self.store.candidates(fallback, nobody).await?.is_empty();
        }
        Ok(availability(
            hours.as_ref(),
            anyone_online,
            chrono::Utc::now(),
        ))
    }

    /// Decides on a visitor's message that may open a chat: refused outside business hours
    /// (the widget then offers the offline form); otherwise the priority the chat would get
    /// (urgent for a visitor whose verified attributes carry the site's urgent flag). A visitor
    /// with an open chat can always write into it.
    pub async fn prepare_open(
        &self,
        visitor: VisitorId,
        site: SiteId,
        department: Option<DepartmentId>,
    ) -> Result<Priority, ChatError> {
        let open = self
            .store
            .conversations(&crate::store::ConversationFilter {
                visitor: Some(visitor),
                open_only: true,
                limit: 1,
                ..Default::default()
            })
            .await?;
        if !open.is_empty() {
            return Ok(Priority::Normal);
        }
        let Some(site) = self.store.site(site).await? else {
            return Err(AppendRejection::NotFound.into());
        };
        let department = department.unwrap_or(site.default_department_id);
        let Some(department) = self
            .store
            .department(department)
            .await?
            .filter(|d| d.site_id == site.id)
        else {
            // The append refuses it with `not_found`.
            return Ok(Priority::Normal);
        };
        let now = self.availability(&site, &department).await?;
        if now.reason == Some(ClosedReason::OutsideHours) {
            return Err(ChatError::Offline);
        }
        let Some(flag) = &site.config.urgent_attribute else {
            return Ok(Priority::Normal);
        };
        let attributes = self.store.visitor_attributes(visitor).await?;
        let urgent = attributes
            .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok())
            .is_some_and(|a| a.get(flag) == Some(&serde_json::Value::Bool(true)));
        Ok(if urgent {
            Priority::Urgent
        } else {
            Priority::Normal
        })
    }

    /// Every `period`, closes chats whose visitor has been silent longer than their site's
    /// inactivity timeout, telling both sides. Ends with the chat service.
    pub fn start_inactivity_sweeper(
        self: &Arc<Self>,
        period: std::time::Duration,
    ) -> JoinHandle<()> {
        let chat = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(chat) = chat.upgrade() else {
                    return;
                };
                if let Err(e) = chat.close_inactive().await {
                    tracing::error!(error = ?e, "inactivity sweep failed");
                }
            }
        })
    }

    async fn close_inactive(&self) -> Result<(), StoreError> {
        let now = now_millis();
        for site in self.store.sites(None).await? {
            let timeout = site.config.inactivity_timeout_secs;
            if timeout == 0 {
                continue;
            }
            let cutoff =
                now.saturating_sub(i64::try_from(timeout.saturating_mul(1000)).unwrap_or(i64::MAX));
            let closed = self
                .store
                .close_inactive(site.id, cutoff, now, &site.config.inactivity_message)
                .await?;
            for c in &closed {
                tracing::info!(conversation = %c.conversation.id, missed = c.conversation.missed, "closed for inactivity");
                to_parties(&self.hub, &c.conversation, Delivery::message(&c.notice));
                self.publish_closed(&c.conversation);
            }
        }
        Ok(())
    }

    /// A visitor ends their own chat.
    pub async fn close_by_visitor(
        &self,
        visitor: VisitorId,
        conversation: ConversationId,
    ) -> Result<Conversation, ChatError> {
        match self.store.conversation(conversation).await? {
            Some(c) if c.visitor_id == visitor => {}
            _ => return Err(AppendRejection::NotFound.into()),
        }
        self.close_now(conversation).await
    }

    /// Closes an open conversation (the caller checked who may) and tells both sides.
    async fn close_now(&self, conversation: ConversationId) -> Result<Conversation, ChatError> {
        let Some(closed) = self
            .store
            .close_conversation(conversation, now_millis())
            .await?
        else {
            return Err(ChatError::AlreadyClosed);
        };
        self.publish_closed(&closed);
        Ok(closed)
    }

    /// Tells both sides a conversation closed, and lets its queue move.
    fn publish_closed(&self, closed: &Conversation) {
        let delivery = Delivery::plain(&ServerFrame::ConversationClosed {
            conversation: closed.clone(),
        });
        to_parties(&self.hub, closed, delivery);
        self.router.kick(closed.site_id);
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
                .agent_connected(agent.id, self.node, now_millis())
                .await
            {
                tracing::error!(error = ?e, agent = %agent.id, "could not mark agent online");
            }
            for site in &agent.sites {
                self.router.kick(*site);
            }
        }
    }

    /// An agent connection ended; the last one makes the agent offline: no new chats, and
    /// their open chats stay theirs for the grace period (see [`Chat::start_grace_sweeper`]).
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
                .agent_disconnected(agent, self.node, now_millis())
                .await
            {
                tracing::error!(error = ?e, %agent, "could not mark agent offline");
            }
        }
    }
}

/// Sends a frame to the conversation's visitor and, if one serves it, its agent.
fn to_parties(hub: &Hub, conversation: &Conversation, delivery: Arc<Delivery>) {
    if let Some(agent) = &conversation.agent {
        hub.publish(Topic::Agent(agent.id), delivery.clone());
    }
    hub.publish(Topic::Visitor(conversation.visitor_id), delivery);
}

/// After-commit hook: tell both sides, in commit order; a new conversation asks for routing.
fn publish(hub: &Hub, router: &Router, appended: &Appended) {
    let conversation = &appended.conversation;
    let visitor = Topic::Visitor(conversation.visitor_id);
    if appended.opened {
        hub.publish(
            visitor,
            Delivery::plain(&ServerFrame::ConversationOpened {
                conversation: conversation.clone(),
            }),
        );
    }
    for message in std::iter::once(&appended.message).chain(&appended.follow_ups) {
        to_parties(hub, conversation, Delivery::message(message));
    }
    if appended.opened {
        router.kick(conversation.site_id);
    }
}

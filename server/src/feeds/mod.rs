//! The console's live feeds over the agent socket: the `queue` (every waiting chat of the
//! subscriber's sites) and the `wallboard` (queue depths, agents' load and today's figures).
//!
//! One task owns the feeds' state; sockets hold a cheap [`Feeds`] handle. The task reads every
//! [`Event`] from the bus (the one event path: whatever changed chat state was committed and
//! published there), marks the sites an event touches as dirty, and recomputes from the store
//! only what is subscribed. Subscribers are grouped by *scope* (a feed and a set of sites:
//! an admin's is every site, anyone else's their own), and each scope is one hub topic
//! ([`Topic::Feed`]), so one computed frame is serialised once and shared by every socket of
//! that scope. Frames are pushed, never polled, and coalesced: a scope is recomputed at once
//! after a quiet spell, then at most once per `wallboard.interval_ms` while events keep
//! coming, and its frame goes out only when its content changed. A site's part of a feed is
//! computed once per change and shared by every scope that shows it.
//!
//! A socket's [`Subscription`] is an RAII guard: dropping it (unsubscribe, or the socket
//! closing) leaves the hub topic and the scope; a scope nobody subscribes to any more is
//! forgotten, and nothing is computed for it.

pub mod view;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bellhop_protocol::api::{Role, SiteSettings};
use bellhop_protocol::console::{Feed, QueueEntry, QueueView, Wallboard};
use bellhop_protocol::frames::{AuthorKind, ConversationStatus, ServerFrame};
use bellhop_protocol::{AgentId, SiteId};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;

use crate::events::Event;
use crate::hub::{Delivery, Hub, Outbox, Registration, Topic};
use crate::store::{Agent, Store, StoreResult};
use view::BoardPart;

/// How often the wallboards are recomputed with no event: "today" rolls over at local
/// midnight, and changes that publish no event (a cap, a new department) show up.
const BOARD_REFRESH: Duration = Duration::from_secs(30);

/// The hub topic of one scope: a feed for one set of sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FeedKey(u64);

/// Whose sites a scope shows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Sites {
    /// Every site (admins), including sites created later.
    All,
    /// These, sorted.
    Only(Vec<SiteId>),
}

impl Sites {
    fn includes(&self, site: SiteId) -> bool {
        match self {
            Sites::All => true,
            Sites::Only(sites) => sites.binary_search(&site).is_ok(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Scope {
    feed: Feed,
    sites: Sites,
}

impl Scope {
    fn of(feed: Feed, agent: &Agent) -> Self {
        let sites = if agent.role == Role::Admin {
            Sites::All
        } else {
            let mut sites = agent.sites.clone();
            sites.sort();
            sites.dedup();
            Sites::Only(sites)
        };
        Self { feed, sites }
    }
}

/// Whether the agent may have the feed: the queue, anyone; the wallboard, supervisors and
/// admins.
pub fn allowed(feed: Feed, agent: &Agent) -> bool {
    match feed {
        Feed::Queue => true,
        Feed::Wallboard => agent.role >= Role::Supervisor,
    }
}

enum Command {
    /// A socket subscribes to a scope: answers its topic.
    Join {
        scope: Scope,
        reply: oneshot::Sender<FeedKey>,
    },
    /// A subscription was dropped.
    Leave { key: FeedKey },
    /// The frame a new subscriber gets at once: the one pushed last (or, for a scope without
    /// one yet, computed now).
    Current {
        key: FeedKey,
        reply: oneshot::Sender<Option<Arc<Delivery>>>,
    },
}

/// Handle to the feeds task.
#[derive(Clone)]
pub struct Feeds {
    commands: mpsc::UnboundedSender<Command>,
    hub: Hub,
}

/// One socket's subscription to one feed; dropping it unsubscribes.
pub struct Subscription {
    feeds: Feeds,
    key: FeedKey,
    /// Frames pushed to the scope.
    pub outbox: Outbox,
    _registration: Registration,
    /// The frame this socket sent last, so a push it already has (the current state it got
    /// on subscribing) is not sent twice.
    last_sent: Option<Arc<Delivery>>,
}

impl Subscription {
    /// Whether `delivery` is new to this socket; remembers it as sent.
    pub fn is_new(&mut self, delivery: &Arc<Delivery>) -> bool {
        if self
            .last_sent
            .as_ref()
            .is_some_and(|last| Arc::ptr_eq(last, delivery))
        {
            return false;
        }
        self.last_sent = Some(delivery.clone());
        true
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = self.feeds.commands.send(Command::Leave { key: self.key });
    }
}

impl Feeds {
    /// Starts the feeds task over the bus's `events`; it pushes through `hub` and ends when
    /// every handle is gone.
    pub(crate) fn start(
        store: Arc<dyn Store>,
        hub: Hub,
        events: broadcast::Receiver<Arc<Event>>,
        interval: Duration,
    ) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        let service = Service {
            store,
            hub: hub.clone(),
            interval,
            scopes: HashMap::new(),
            keys: HashMap::new(),
            next_key: 1,
            queue_parts: HashMap::new(),
            board_parts: HashMap::new(),
        };
        tokio::spawn(service.run(rx, events));
        Self { commands, hub }
    }

    /// Subscribes to `feed` for the agent's sites (see [`allowed`] first). Returns the
    /// subscription and the feed's current frame, to send at once; `None` if the feeds task
    /// is gone (shutting down).
    pub async fn subscribe(
        &self,
        feed: Feed,
        agent: &Agent,
    ) -> Option<(Subscription, Option<Arc<Delivery>>)> {
        let (reply, key) = oneshot::channel();
        self.commands
            .send(Command::Join {
                scope: Scope::of(feed, agent),
                reply,
            })
            .ok()?;
        let key = key.await.ok()?;
        // Registered before the current frame is read, so no push after it is missed.
        let (registration, outbox) = self.hub.register(Topic::Feed(key));
        let mut subscription = Subscription {
            feeds: self.clone(),
            key,
            outbox,
            _registration: registration,
            last_sent: None,
        };
        let (reply, current) = oneshot::channel();
        self.commands.send(Command::Current { key, reply }).ok()?;
        let current = current.await.ok()?;
        if let Some(current) = &current {
            subscription.is_new(current);
        }
        Some((subscription, current))
    }
}

/// What a scope showed last, to tell whether a recomputed frame changed.
#[derive(Clone, Debug, PartialEq)]
enum Content {
    Queue(QueueView),
    /// With `generated_at` zeroed.
    Board(Wallboard),
}

struct ScopeState {
    scope: Scope,
    subscribers: usize,
    /// The frame pushed last, and what it showed.
    last: Option<(Arc<Delivery>, Content)>,
    dirty: bool,
    /// The earliest the scope may be recomputed again.
    next_allowed: Instant,
}

struct Service {
    store: Arc<dyn Store>,
    hub: Hub,
    interval: Duration,
    scopes: HashMap<FeedKey, ScopeState>,
    keys: HashMap<Scope, FeedKey>,
    next_key: u64,
    /// Each site's part of the queue view / wallboard, while valid.
    queue_parts: HashMap<SiteId, Vec<QueueEntry>>,
    board_parts: HashMap<SiteId, BoardPart>,
}

/// What an event invalidates: a feed of one site, or the wallboards of an agent's sites.
#[derive(Debug, PartialEq, Eq)]
enum Touched {
    Site(Feed, SiteId),
    AgentOf(AgentId),
    Everything,
}

/// The parts of the feeds an event changes, if any.
fn touched(event: &Event) -> Vec<Touched> {
    let both = |site| {
        vec![
            Touched::Site(Feed::Queue, site),
            Touched::Site(Feed::Wallboard, site),
        ]
    };
    match event {
        Event::MessageStored {
            conversation,
            message,
        } => match message.author {
            // The preview of a waiting chat.
            AuthorKind::Visitor if conversation.status == ConversationStatus::Queued => {
                vec![Touched::Site(Feed::Queue, conversation.site_id)]
            }
            // A first response, on today's figures.
            AuthorKind::Agent => vec![Touched::Site(Feed::Wallboard, conversation.site_id)],
            _ => Vec::new(),
        },
        Event::ConversationOpened { conversation }
        | Event::ConversationAssigned { conversation }
        | Event::ConversationTransferred { conversation, .. }
        | Event::ConversationRequeued { conversation, .. }
        | Event::PriorityChanged { conversation }
        | Event::ConversationClosed { conversation } => both(conversation.site_id),
        // A pre-chat form names the visitor.
        Event::LeadCaptured { lead } => vec![Touched::Site(Feed::Queue, lead.site_id)],
        Event::AgentStatusSet { agent, .. } | Event::AgentPresence { agent, .. } => {
            vec![Touched::AgentOf(*agent)]
        }
        // An erased visitor's open chats leave the queues and the agents' loads.
        Event::VisitorErased { open, .. } => open.iter().flat_map(|c| both(c.site_id)).collect(),
        // Today's figures may lose chats deleted past their retention.
        Event::ConversationsDeleted { site, .. } => vec![Touched::Site(Feed::Wallboard, *site)],
        Event::ConversationRated { .. }
        | Event::NoteAdded { .. }
        | Event::ViewersChanged { .. }
        | Event::Peek { .. }
        | Event::ReadMarked { .. }
        | Event::Typing { .. }
        | Event::SessionsEnded { .. }
        | Event::QueuePosition { .. } => Vec::new(),
    }
}

impl Service {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut events: broadcast::Receiver<Arc<Event>>,
    ) {
        let mut events_open = true;
        let mut refresh = tokio::time::interval_at(Instant::now() + BOARD_REFRESH, BOARD_REFRESH);
        loop {
            let due = self.next_due();
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command).await,
                    None => break,
                },
                event = events.recv(), if events_open => match event {
                    Ok(event) => {
                        if !self.scopes.is_empty() {
                            for touched in touched(&event) {
                                self.mark(touched).await;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "the feeds fell behind the bus; recomputing all");
                        self.mark(Touched::Everything).await;
                    }
                    Err(broadcast::error::RecvError::Closed) => events_open = false,
                },
                () = sleep_until(due), if due.is_some() => self.flush_due().await,
                _ = refresh.tick() => {
                    self.board_parts.clear();
                    for state in self.scopes.values_mut() {
                        if state.scope.feed == Feed::Wallboard {
                            state.dirty = true;
                        }
                    }
                }
            }
        }
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Join { scope, reply } => {
                let key = match self.keys.get(&scope) {
                    Some(key) => *key,
                    None => {
                        let key = FeedKey(self.next_key);
                        self.next_key += 1;
                        self.keys.insert(scope.clone(), key);
                        self.scopes.insert(
                            key,
                            ScopeState {
                                scope,
                                subscribers: 0,
                                last: None,
                                dirty: false,
                                next_allowed: Instant::now(),
                            },
                        );
                        key
                    }
                };
                if let Some(state) = self.scopes.get_mut(&key) {
                    state.subscribers += 1;
                }
                let _ = reply.send(key);
            }
            Command::Leave { key } => {
                let Some(state) = self.scopes.get_mut(&key) else {
                    return;
                };
                state.subscribers = state.subscribers.saturating_sub(1);
                if state.subscribers == 0
                    && let Some(state) = self.scopes.remove(&key)
                {
                    self.keys.remove(&state.scope);
                    self.forget_unwatched_parts();
                }
            }
            Command::Current { key, reply } => {
                let current = match self.scopes.get(&key).map(|s| s.last.clone()) {
                    Some(Some((delivery, _))) => Some(delivery),
                    Some(None) => self.recompute(key).await,
                    None => None,
                };
                let _ = reply.send(current);
            }
        }
    }

    /// Drops the cached parts of sites no scope shows any more.
    fn forget_unwatched_parts(&mut self) {
        let watched = |feed: Feed, site: SiteId| {
            self.scopes
                .values()
                .any(|s| s.scope.feed == feed && s.scope.sites.includes(site))
        };
        let queue: HashSet<SiteId> = self
            .queue_parts
            .keys()
            .copied()
            .filter(|site| watched(Feed::Queue, *site))
            .collect();
        let boards: HashSet<SiteId> = self
            .board_parts
            .keys()
            .copied()
            .filter(|site| watched(Feed::Wallboard, *site))
            .collect();
        self.queue_parts.retain(|site, _| queue.contains(site));
        self.board_parts.retain(|site, _| boards.contains(site));
    }

    /// Invalidates what an event touched and marks the scopes that show it.
    async fn mark(&mut self, touched: Touched) {
        match touched {
            Touched::Site(feed, site) => self.mark_site(feed, site),
            Touched::AgentOf(agent) => match self.store.agent(agent).await {
                Ok(Some(agent)) => {
                    for site in agent.sites {
                        self.mark_site(Feed::Wallboard, site);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = ?e, "agent lookup for the feeds failed");
                    self.mark_everything();
                }
            },
            Touched::Everything => self.mark_everything(),
        }
    }

    fn mark_everything(&mut self) {
        self.queue_parts.clear();
        self.board_parts.clear();
        for state in self.scopes.values_mut() {
            state.dirty = true;
        }
    }

    fn mark_site(&mut self, feed: Feed, site: SiteId) {
        match feed {
            Feed::Queue => {
                self.queue_parts.remove(&site);
            }
            Feed::Wallboard => {
                self.board_parts.remove(&site);
            }
        }
        for state in self.scopes.values_mut() {
            if state.scope.feed == feed && state.scope.sites.includes(site) {
                state.dirty = true;
            }
        }
    }

    /// When the next dirty scope may be recomputed.
    fn next_due(&self) -> Option<Instant> {
        self.scopes
            .values()
            .filter(|s| s.dirty)
            .map(|s| s.next_allowed)
            .min()
    }

    async fn flush_due(&mut self) {
        let now = Instant::now();
        let due: Vec<FeedKey> = self
            .scopes
            .iter()
            .filter(|(_, s)| s.dirty && s.next_allowed <= now)
            .map(|(key, _)| *key)
            .collect();
        for key in due {
            self.recompute(key).await;
        }
    }

    /// Recomputes a scope's frame and pushes it if it changed; returns the frame it shows.
    async fn recompute(&mut self, key: FeedKey) -> Option<Arc<Delivery>> {
        let scope = self.scopes.get(&key)?.scope.clone();
        let computed = self.compute(&scope).await;
        let state = self.scopes.get_mut(&key)?;
        state.next_allowed = Instant::now() + self.interval;
        let (frame, content) = match computed {
            Ok(computed) => computed,
            Err(e) => {
                // Tried again after the interval.
                tracing::error!(error = ?e, feed = ?scope.feed, "computing a feed failed");
                return state.last.as_ref().map(|(delivery, _)| delivery.clone());
            }
        };
        state.dirty = false;
        if let Some((delivery, last)) = &state.last
            && *last == content
        {
            return Some(delivery.clone());
        }
        let delivery = Delivery::plain(&frame);
        state.last = Some((delivery.clone(), content));
        self.hub.publish(Topic::Feed(key), delivery.clone());
        Some(delivery)
    }

    /// The frame of a scope now, from its sites' parts (computing the invalid ones).
    async fn compute(&mut self, scope: &Scope) -> StoreResult<(ServerFrame, Content)> {
        let sites = self.sites_of(&scope.sites).await?;
        match scope.feed {
            Feed::Queue => {
                let mut entries = Vec::new();
                for site in &sites {
                    if !self.queue_parts.contains_key(&site.id) {
                        let waiting = self.store.waiting_chats(site.id).await?;
                        self.queue_parts
                            .insert(site.id, view::queue_part(site.id, &waiting));
                    }
                    if let Some(part) = self.queue_parts.get(&site.id) {
                        entries.extend(part.iter().cloned());
                    }
                }
                let queue = QueueView { entries };
                Ok((
                    ServerFrame::Queue {
                        queue: queue.clone(),
                    },
                    Content::Queue(queue),
                ))
            }
            Feed::Wallboard => {
                let now = crate::clock::now_millis();
                for site in &sites {
                    if !self.board_parts.contains_key(&site.id) {
                        let part = self.board_part(site, now).await?;
                        self.board_parts.insert(site.id, part);
                    }
                }
                let parts: Vec<&BoardPart> = sites
                    .iter()
                    .filter_map(|site| self.board_parts.get(&site.id))
                    .collect();
                let board = view::board(&parts, now);
                let content = Content::Board(Wallboard {
                    generated_at: 0,
                    ..board.clone()
                });
                Ok((ServerFrame::Wallboard { board }, content))
            }
        }
    }

    async fn board_part(&self, site: &SiteSettings, now: i64) -> StoreResult<BoardPart> {
        let tz = crate::reports::site_zone(site);
        let date = crate::reports::local_date(tz, now);
        let (start, end) = crate::reports::range_bounds(tz, date, date);
        let staff = self.store.department_staff(site.id).await?;
        let waiting = self.store.waiting_chats(site.id).await?;
        let agents = self.store.agent_loads(site.id).await?;
        let facts = self.store.chat_facts(site.id, start, end).await?;
        let today = crate::reports::today(site.id, &site.name, tz, now, &facts);
        Ok(view::board_part(site.id, &staff, &waiting, agents, today))
    }

    /// The sites a scope shows, by name.
    async fn sites_of(&self, sites: &Sites) -> StoreResult<Vec<SiteSettings>> {
        let mut found = match sites {
            Sites::All => self.store.sites(None).await?,
            Sites::Only(ids) => self.store.sites(Some(ids.as_slice())).await?,
        };
        found.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        Ok(found)
    }
}

/// Sleeps until `due`; forever when there is none.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bellhop_protocol::frames::{Conversation, Message, Priority};
    use bellhop_protocol::{ConversationId, VisitorId};
    use uuid::Uuid;

    fn conversation(status: ConversationStatus) -> Conversation {
        Conversation {
            id: ConversationId::from_uuid(Uuid::from_u128(1)),
            site_id: SiteId::from_uuid(Uuid::from_u128(2)),
            visitor_id: VisitorId::from_uuid(Uuid::from_u128(3)),
            department_id: None,
            priority: Priority::Normal,
            status,
            agent: None,
            last_seq: 1,
            created_at: 0,
            assigned_at: None,
            closed_at: None,
            missed: false,
            visitor_read_seq: 0,
            agent_read_seq: 0,
            rating: None,
        }
    }

    fn stored(status: ConversationStatus, author: AuthorKind) -> Event {
        let conversation = conversation(status);
        Event::MessageStored {
            message: Message {
                conversation_id: conversation.id,
                seq: 2,
                author,
                author_name: None,
                client_id: None,
                body: "hi".into(),
                sent_at: 0,
                attachment: None,
            },
            conversation,
        }
    }

    #[test]
    fn each_event_touches_only_the_feeds_it_changes() {
        let site = SiteId::from_uuid(Uuid::from_u128(2));
        assert_eq!(
            touched(&stored(ConversationStatus::Queued, AuthorKind::Visitor)),
            vec![Touched::Site(Feed::Queue, site)]
        );
        assert!(touched(&stored(ConversationStatus::Assigned, AuthorKind::Visitor)).is_empty());
        assert_eq!(
            touched(&stored(ConversationStatus::Assigned, AuthorKind::Agent)),
            vec![Touched::Site(Feed::Wallboard, site)]
        );
        assert_eq!(
            touched(&Event::ConversationClosed {
                conversation: conversation(ConversationStatus::Closed)
            }),
            vec![
                Touched::Site(Feed::Queue, site),
                Touched::Site(Feed::Wallboard, site)
            ]
        );
        let agent = AgentId::from_uuid(Uuid::from_u128(9));
        assert_eq!(
            touched(&Event::AgentPresence {
                agent,
                online: false
            }),
            vec![Touched::AgentOf(agent)]
        );
        assert!(
            touched(&Event::Typing {
                conversation: conversation(ConversationStatus::Queued),
                author: AuthorKind::Visitor,
                typing: true
            })
            .is_empty()
        );
    }

    #[test]
    fn scopes_include_their_sites_and_admins_every_site() {
        let a = SiteId::from_uuid(Uuid::from_u128(1));
        let b = SiteId::from_uuid(Uuid::from_u128(2));
        let only = Sites::Only(vec![a]);
        assert!(only.includes(a));
        assert!(!only.includes(b));
        assert!(Sites::All.includes(b));
    }
}

//! The router: who gets a waiting conversation, and the queue that waits.
//!
//! [`choose`] is the decision, a plain function over the candidates' loads. [`Router`] is the
//! task around it: when something may free or need a slot (a conversation opens or closes, an
//! agent comes online) the site is "kicked"; the task then assigns queued conversations in
//! arrival order while an agent has room, each assignment a conditional update that the store
//! re-checks at commit time, and finally tells every still-waiting visitor their position.
//!
//! Kicks for one site coalesce, and one task per node does the work, so a burst of events costs
//! one pass.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bellhop_protocol::frames::ServerFrame;
use bellhop_protocol::{AgentId, ConversationId, SiteId};
use tokio::sync::mpsc;

use crate::clock::now_millis;
use crate::hub::{Delivery, DeliveryKind, Hub, Topic};
use crate::store::{Candidate, Store, StoreResult};

/// The agent who should take the next conversation: among those under their cap, the least
/// loaded; on a tie, the one idle longest; on a tie, the lowest id (so the choice is stable).
pub fn choose(candidates: &[Candidate]) -> Option<AgentId> {
    candidates
        .iter()
        .filter(|c| c.open_chats < c.max_chats)
        .min_by_key(|c| (c.open_chats, c.idle_since, c.agent_id))
        .map(|c| c.agent_id)
}

/// Handle to the routing task.
#[derive(Clone)]
pub struct Router {
    kicks: mpsc::UnboundedSender<SiteId>,
}

impl Router {
    pub fn start(store: Arc<dyn Store>, hub: Hub) -> Self {
        let (kicks, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, hub, rx));
        Self { kicks }
    }

    /// Asks for a routing pass over the site's queue.
    pub fn kick(&self, site: SiteId) {
        let _ = self.kicks.send(site);
    }
}

async fn run(store: Arc<dyn Store>, hub: Hub, mut kicks: mpsc::UnboundedReceiver<SiteId>) {
    // The positions each site's waiting visitors were last told, to announce only changes.
    let mut announced: HashMap<SiteId, HashMap<ConversationId, u32>> = HashMap::new();
    let mut sites = Vec::new();
    while kicks.recv_many(&mut sites, 1024).await > 0 {
        let unique: HashSet<SiteId> = sites.drain(..).collect();
        for site in unique {
            let told = announced.entry(site).or_default();
            if let Err(e) = pass(store.as_ref(), &hub, site, told).await {
                tracing::error!(error = ?e, %site, "routing pass failed");
            }
            if told.is_empty() {
                announced.remove(&site);
            }
        }
    }
}

/// Assigns while someone waits and someone has room, then announces queue positions.
async fn pass(
    store: &dyn Store,
    hub: &Hub,
    site: SiteId,
    announced: &mut HashMap<ConversationId, u32>,
) -> StoreResult<()> {
    // Each failed attempt means the data moved under us (another node, a close); re-read.
    // The bound only guards against a livelock; the next kick resumes.
    let mut attempts = 0;
    while attempts < 1000 {
        attempts += 1;
        let Some(snapshot) = store.routing_snapshot(site).await? else {
            break;
        };
        let Some(agent) = choose(&snapshot.candidates) else {
            break;
        };
        if let Some(conversation) = store
            .try_assign(snapshot.conversation.id, agent, now_millis())
            .await?
        {
            tracing::info!(conversation = %conversation.id, %agent, "assigned");
            let frame = ServerFrame::ConversationAssigned {
                conversation: conversation.clone(),
            };
            hub.publish(
                Topic::Visitor(conversation.visitor_id),
                Delivery::plain(&frame),
            );
            hub.publish(
                Topic::Agent(agent),
                Delivery::new(
                    &frame,
                    DeliveryKind::CatchUp {
                        conversation_id: conversation.id,
                    },
                ),
            );
        }
    }
    let queue = store.queue(site).await?;
    let mut now_told = HashMap::with_capacity(queue.len());
    for entry in queue {
        if announced.get(&entry.conversation_id) != Some(&entry.position) {
            hub.publish(
                Topic::Visitor(entry.visitor_id),
                Delivery::plain(&ServerFrame::QueueStatus {
                    conversation_id: entry.conversation_id,
                    position: entry.position,
                    estimated_wait_secs: None,
                }),
            );
        }
        now_told.insert(entry.conversation_id, entry.position);
    }
    *announced = now_told;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn agent(n: u128) -> AgentId {
        AgentId::from_uuid(Uuid::from_u128(n))
    }

    fn candidate(n: u128, open: u32, max: u32, idle_since: i64) -> Candidate {
        Candidate {
            agent_id: agent(n),
            open_chats: open,
            max_chats: max,
            idle_since,
        }
    }

    #[test]
    fn nobody_online_or_everybody_full_means_wait() {
        assert_eq!(choose(&[]), None);
        assert_eq!(
            choose(&[candidate(1, 3, 3, 0), candidate(2, 2, 2, 0)]),
            None
        );
        assert_eq!(choose(&[candidate(1, 0, 0, 0)]), None);
    }

    #[test]
    fn least_loaded_first() {
        let candidates = [
            candidate(1, 2, 3, 0),
            candidate(2, 1, 3, 50),
            candidate(3, 2, 5, 0),
        ];
        assert_eq!(choose(&candidates), Some(agent(2)));
    }

    #[test]
    fn ties_go_to_the_longest_idle_then_lowest_id() {
        let candidates = [candidate(1, 1, 3, 200), candidate(2, 1, 3, 100)];
        assert_eq!(choose(&candidates), Some(agent(2)));
        let tied = [candidate(5, 0, 3, 100), candidate(4, 0, 3, 100)];
        assert_eq!(choose(&tied), Some(agent(4)));
    }

    #[test]
    fn a_full_agent_is_skipped_even_when_least_idle() {
        let candidates = [candidate(1, 2, 2, 0), candidate(2, 2, 3, 999)];
        assert_eq!(choose(&candidates), Some(agent(2)));
    }
}

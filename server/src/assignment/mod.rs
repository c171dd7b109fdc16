//! Assignment: who gets a waiting conversation, and what waiting visitors are told.
//!
//! The decisions are plain functions over plain data: [`choose`] picks an agent among a
//! department's candidates (sticky, then least loaded, then longest idle), and
//! [`estimate_wait`] turns a department's recent assignments into an honest wait estimate.
//! [`Assigner`] is the task around them: when something may free or need a slot (a conversation
//! opens, closes or is transferred, an agent comes online or back from away, an agent's chats
//! are re-queued) the site is "kicked"; the task then serves each department's queue head
//! (urgent first, then re-queued, then arrival order) while an agent has room, and tells every
//! still-waiting visitor their position and estimate whenever either changes.
//!
//! Every assignment is a conditional update the store re-checks at commit time, under a lock on
//! the agent's row, and records with the candidates it considered: caps and single assignment
//! hold however many routers race, on one node or many.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bellhop_protocol::api::RoutingRule;
use bellhop_protocol::frames::{Conversation, Millis};
use bellhop_protocol::{AgentId, ConversationId, SiteId};
use tokio::sync::mpsc;

use crate::bus::Bus;
use crate::clock::now_millis;
use crate::events::Event;
use crate::store::{Assignment, Candidate, Store, StoreResult};

/// The chosen agent and the rule that chose them (recorded in the routing audit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub agent: AgentId,
    pub rule: RoutingRule,
}

/// The agent who should take the next conversation. Only agents under their cap count; among
/// them the one who served this visitor before (sticky), else the least loaded, else (equal
/// load) the one idle longest, else the lowest id, so the choice is stable.
pub fn choose(candidates: &[Candidate]) -> Option<Choice> {
    let with_room: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.open_chats < c.max_chats)
        .collect();
    if let Some(sticky) = with_room.iter().find(|c| c.sticky) {
        return Some(Choice {
            agent: sticky.agent_id,
            rule: RoutingRule::Sticky,
        });
    }
    let best = with_room
        .iter()
        .min_by_key(|c| (c.open_chats, c.idle_since, c.agent_id))?;
    let rule = if with_room.len() == 1 {
        RoutingRule::OnlyCandidate
    } else if with_room
        .iter()
        .filter(|c| c.open_chats == best.open_chats)
        .count()
        == 1
    {
        RoutingRule::LeastLoaded
    } else {
        RoutingRule::LongestIdle
    };
    Some(Choice {
        agent: best.agent_id,
        rule,
    })
}

/// How far back assignments count towards the estimate.
const ESTIMATE_WINDOW_MS: Millis = 60 * 60 * 1000;
/// Estimates are rounded up to this many seconds, so they do not flicker.
const ESTIMATE_STEP_SECS: u64 = 5;

/// The wait at `position` (1 = next), from the department's recent throughput: the average
/// interval between its recent assignments (`recent`, newest first) times the position.
/// `None` when there is too little recent history to say anything honest.
pub fn estimate_wait(position: u32, recent: &[Millis], now: Millis) -> Option<u64> {
    let recent: Vec<Millis> = recent
        .iter()
        .copied()
        .filter(|&t| now.saturating_sub(t) <= ESTIMATE_WINDOW_MS)
        .collect();
    let (&newest, &oldest) = (recent.first()?, recent.last()?);
    let intervals = i64::try_from(recent.len().checked_sub(1)?).ok()?;
    if intervals == 0 || newest <= oldest {
        return None;
    }
    let per_position_ms = u64::try_from((newest - oldest) / intervals).ok()?;
    let ms = per_position_ms.saturating_mul(u64::from(position));
    let secs = ms.div_ceil(1000).max(1);
    Some(secs.div_ceil(ESTIMATE_STEP_SECS) * ESTIMATE_STEP_SECS)
}

/// Handle to the routing task.
#[derive(Clone)]
pub struct Assigner {
    kicks: mpsc::UnboundedSender<SiteId>,
}

impl Assigner {
    pub fn start(store: Arc<dyn Store>, bus: Arc<dyn Bus>) -> Self {
        let (kicks, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, bus, rx));
        Self { kicks }
    }

    /// Asks for a routing pass over the site's queues.
    pub fn kick(&self, site: SiteId) {
        let _ = self.kicks.send(site);
    }
}

/// What each waiting visitor was last told, to announce only changes.
pub type Announced = HashMap<ConversationId, (u32, Option<u64>)>;

async fn run(store: Arc<dyn Store>, bus: Arc<dyn Bus>, mut kicks: mpsc::UnboundedReceiver<SiteId>) {
    let mut announced: HashMap<SiteId, Announced> = HashMap::new();
    let mut sites = Vec::new();
    while kicks.recv_many(&mut sites, 1024).await > 0 {
        let unique: HashSet<SiteId> = sites.drain(..).collect();
        for site in unique {
            let told = announced.entry(site).or_default();
            if let Err(e) = pass(store.as_ref(), bus.as_ref(), site, told).await {
                tracing::error!(error = ?e, %site, "routing pass failed");
            }
            if told.is_empty() {
                announced.remove(&site);
            }
        }
    }
}

/// Assigns while someone waits and someone has room, then announces queue positions.
pub async fn pass(
    store: &dyn Store,
    bus: &dyn Bus,
    site: SiteId,
    announced: &mut Announced,
) -> StoreResult<()> {
    // Each round serves at most one conversation per department and re-reads the heads; a
    // failed attempt means the data moved under us (another node, a close). The bound only
    // guards against a livelock; the next kick resumes.
    for _ in 0..10_000 {
        let mut progress = false;
        for head in store.queue_heads(site).await? {
            if let Some(conversation) = serve(store, &head).await? {
                bus.publish(Event::ConversationAssigned { conversation });
                progress = true;
            }
        }
        if !progress {
            break;
        }
    }
    announce_queue(store, bus, site, announced).await
}

/// Tries to assign one queued conversation: its department's available agents, or, when none
/// of them is online, its fallback department's.
async fn serve(store: &dyn Store, head: &Conversation) -> StoreResult<Option<Conversation>> {
    let Some(department) = head.department_id else {
        return Ok(None);
    };
    let mut via = department;
    let mut candidates = store.candidates(department, head.visitor_id).await?;
    let mut fallback = false;
    if candidates.is_empty()
        && let Some(other) = store
            .department(department)
            .await?
            .and_then(|d| d.fallback_id)
    {
        via = other;
        candidates = store.candidates(other, head.visitor_id).await?;
        fallback = true;
    }
    let Some(choice) = choose(&candidates) else {
        return Ok(None);
    };
    let assignment = Assignment {
        conversation: head.id,
        agent: choice.agent,
        via_department: via,
        rule: if fallback {
            RoutingRule::FallbackDepartment
        } else {
            choice.rule
        },
        candidates,
    };
    let assigned = store.try_assign(&assignment, now_millis()).await?;
    if let Some(conversation) = &assigned {
        tracing::info!(conversation = %conversation.id, agent = %choice.agent, rule = %assignment.rule, "assigned");
    }
    Ok(assigned)
}

/// Sends each waiting visitor their position and estimate when either changed.
async fn announce_queue(
    store: &dyn Store,
    bus: &dyn Bus,
    site: SiteId,
    announced: &mut Announced,
) -> StoreResult<()> {
    let queue = store.queue(site).await?;
    let now = now_millis();
    let mut history = HashMap::new();
    let mut now_told = HashMap::with_capacity(queue.len());
    for entry in queue {
        let recent = match history.get(&entry.department_id) {
            Some(recent) => recent,
            None => {
                let recent = store.recent_assignments(entry.department_id, 20).await?;
                history.entry(entry.department_id).or_insert(recent)
            }
        };
        let estimate = estimate_wait(entry.position, recent, now);
        let told = (entry.position, estimate);
        if announced.get(&entry.conversation_id) != Some(&told) {
            bus.publish(Event::QueuePosition {
                visitor: entry.visitor_id,
                conversation_id: entry.conversation_id,
                position: entry.position,
                estimated_wait_secs: estimate,
            });
        }
        now_told.insert(entry.conversation_id, told);
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
            sticky: false,
        }
    }

    fn chosen(candidates: &[Candidate]) -> Option<(AgentId, RoutingRule)> {
        choose(candidates).map(|c| (c.agent, c.rule))
    }

    #[test]
    fn nobody_online_or_everybody_full_means_wait() {
        assert_eq!(chosen(&[]), None);
        assert_eq!(
            chosen(&[candidate(1, 3, 3, 0), candidate(2, 2, 2, 0)]),
            None
        );
        assert_eq!(chosen(&[candidate(1, 0, 0, 0)]), None);
    }

    #[test]
    fn least_loaded_first() {
        let candidates = [
            candidate(1, 2, 3, 0),
            candidate(2, 1, 3, 50),
            candidate(3, 2, 5, 0),
        ];
        assert_eq!(
            chosen(&candidates),
            Some((agent(2), RoutingRule::LeastLoaded))
        );
    }

    #[test]
    fn ties_go_to_the_longest_idle_then_lowest_id() {
        let candidates = [candidate(1, 1, 3, 200), candidate(2, 1, 3, 100)];
        assert_eq!(
            chosen(&candidates),
            Some((agent(2), RoutingRule::LongestIdle))
        );
        let tied = [candidate(5, 0, 3, 100), candidate(4, 0, 3, 100)];
        assert_eq!(chosen(&tied), Some((agent(4), RoutingRule::LongestIdle)));
    }

    #[test]
    fn a_full_agent_is_skipped_even_when_least_idle() {
        let candidates = [candidate(1, 2, 2, 0), candidate(2, 2, 3, 999)];
        assert_eq!(
            chosen(&candidates),
            Some((agent(2), RoutingRule::OnlyCandidate))
        );
    }

    #[test]
    fn the_previous_agent_wins_while_they_have_room() {
        let mut sticky = candidate(1, 2, 3, 0);
        sticky.sticky = true;
        let candidates = [sticky.clone(), candidate(2, 0, 3, 0)];
        assert_eq!(chosen(&candidates), Some((agent(1), RoutingRule::Sticky)));
        // Full: the least loaded colleague takes it instead.
        sticky.open_chats = 3;
        assert_eq!(
            chosen(&[sticky, candidate(2, 0, 3, 0)]),
            Some((agent(2), RoutingRule::OnlyCandidate))
        );
    }

    #[test]
    fn no_history_means_no_estimate() {
        assert_eq!(estimate_wait(1, &[], 1_000_000), None);
        assert_eq!(estimate_wait(1, &[999_000], 1_000_000), None);
        // Two assignments at the same instant say nothing about throughput.
        assert_eq!(estimate_wait(1, &[999_000, 999_000], 1_000_000), None);
    }

    #[test]
    fn the_estimate_follows_recent_throughput_and_position() {
        let now = 10_000_000;
        // One assignment every 30 s.
        let recent = [now - 10_000, now - 40_000, now - 70_000];
        assert_eq!(estimate_wait(1, &recent, now), Some(30));
        assert_eq!(estimate_wait(3, &recent, now), Some(90));
        // Rounded up to 5 s steps.
        let recent = [now, now - 12_000];
        assert_eq!(estimate_wait(1, &recent, now), Some(15));
    }

    #[test]
    fn stale_history_is_ignored() {
        let now = 10 * ESTIMATE_WINDOW_MS;
        let old = [
            now - ESTIMATE_WINDOW_MS - 1,
            now - ESTIMATE_WINDOW_MS - 30_000,
        ];
        assert_eq!(estimate_wait(1, &old, now), None);
    }
}

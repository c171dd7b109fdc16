//! Who has each conversation open now: the agents with a socket on this node watching it
//! (`watch`), for the console's "who is viewing" notice. Memory only, one node's view: with
//! several nodes, each knows the watchers connected to it.
//!
//! A socket takes a [`Seat`] when it watches a conversation and gives it back when it watches
//! another or closes. An agent with several sockets on one conversation is one viewer. Taking
//! and giving back a seat say whether the set of viewers changed, and the caller tells the
//! conversation's watchers and serving agent through the bus (`Event::ViewersChanged`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bellhop_protocol::ConversationId;
use bellhop_protocol::frames::AgentRef;

/// The registry; clones share it.
#[derive(Clone, Default)]
pub struct Viewers {
    inner: Arc<Mutex<Seats>>,
}

#[derive(Default)]
struct Seats {
    next: u64,
    /// Per conversation, its seats in the order they were taken.
    by_conversation: HashMap<ConversationId, Vec<(u64, AgentRef)>>,
}

/// The distinct agents of `seats`, in the order of their earliest seat now held.
fn distinct(seats: &[(u64, AgentRef)]) -> Vec<AgentRef> {
    let mut agents: Vec<AgentRef> = Vec::with_capacity(seats.len());
    for (_, agent) in seats {
        if !agents.iter().any(|a| a.id == agent.id) {
            agents.push(agent.clone());
        }
    }
    agents
}

/// Whether two lists of viewers name different agents (whatever their order).
fn differ(before: &[AgentRef], after: &[AgentRef]) -> bool {
    before.len() != after.len() || before.iter().any(|b| !after.iter().any(|a| a.id == b.id))
}

impl Viewers {
    fn lock(&self) -> MutexGuard<'_, Seats> {
        // The map stays consistent whatever panicked while holding it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `agent` opens the conversation on one more socket. Returns the seat and, when the set
    /// of viewers changed (the agent was not viewing it yet), the new set.
    pub fn take_seat(
        &self,
        conversation: ConversationId,
        agent: AgentRef,
    ) -> (Seat, Option<Vec<AgentRef>>) {
        let mut seats = self.lock();
        seats.next += 1;
        let id = seats.next;
        let list = seats.by_conversation.entry(conversation).or_default();
        let before = distinct(list);
        list.push((id, agent));
        let after = distinct(list);
        let changed = differ(&before, &after).then_some(after);
        let seat = Seat {
            viewers: self.clone(),
            conversation,
            id,
            given_back: false,
        };
        (seat, changed)
    }

    /// Who views the conversation now.
    pub fn of(&self, conversation: ConversationId) -> Vec<AgentRef> {
        self.lock()
            .by_conversation
            .get(&conversation)
            .map(|seats| distinct(seats))
            .unwrap_or_default()
    }

    /// Gives seat `id` back; the new set when it changed.
    fn give_back(&self, conversation: ConversationId, id: u64) -> Option<Vec<AgentRef>> {
        let mut seats = self.lock();
        let list = seats.by_conversation.get_mut(&conversation)?;
        let before = distinct(list);
        list.retain(|(seat, _)| *seat != id);
        let after = distinct(list);
        if list.is_empty() {
            seats.by_conversation.remove(&conversation);
        }
        differ(&before, &after).then_some(after)
    }
}

/// One socket's place among a conversation's viewers. Give it back with [`Seat::give_back`]
/// to learn whether the viewers changed; dropping it gives it back silently (a socket that
/// ended without its cleanup, whose leaving the others then hear of at the next change).
pub struct Seat {
    viewers: Viewers,
    conversation: ConversationId,
    id: u64,
    given_back: bool,
}

impl Seat {
    pub fn conversation(&self) -> ConversationId {
        self.conversation
    }

    /// Leaves the conversation; returns the remaining viewers when they changed.
    pub fn give_back(mut self) -> Option<Vec<AgentRef>> {
        self.given_back = true;
        self.viewers.give_back(self.conversation, self.id)
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        if !self.given_back {
            self.viewers.give_back(self.conversation, self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bellhop_protocol::AgentId;
    use uuid::Uuid;

    fn agent(n: u128) -> AgentRef {
        AgentRef {
            id: AgentId::from_uuid(Uuid::from_u128(n)),
            display_name: format!("agent {n}"),
        }
    }

    fn conversation(n: u128) -> ConversationId {
        ConversationId::from_uuid(Uuid::from_u128(n))
    }

    #[test]
    fn the_set_changes_when_an_agent_first_opens_and_last_closes() {
        let viewers = Viewers::default();
        let c = conversation(1);
        let (maya, changed) = viewers.take_seat(c, agent(1));
        assert_eq!(changed, Some(vec![agent(1)]));
        let (olga, changed) = viewers.take_seat(c, agent(2));
        assert_eq!(changed, Some(vec![agent(1), agent(2)]));
        // Maya's second tab: still two viewers, nobody is told.
        let (maya_again, changed) = viewers.take_seat(c, agent(1));
        assert_eq!(changed, None);
        assert_eq!(viewers.of(c), vec![agent(1), agent(2)]);
        // Maya closes one tab: she still views it.
        assert_eq!(maya.give_back(), None);
        assert_eq!(viewers.of(c), vec![agent(2), agent(1)]);
        assert_eq!(olga.give_back(), Some(vec![agent(1)]));
        assert_eq!(maya_again.give_back(), Some(Vec::new()));
        assert!(viewers.of(c).is_empty());
        assert!(viewers.lock().by_conversation.is_empty());
    }

    #[test]
    fn conversations_are_apart_and_a_dropped_seat_is_given_back() {
        let viewers = Viewers::default();
        let (a, _) = viewers.take_seat(conversation(1), agent(1));
        let (_b, _) = viewers.take_seat(conversation(2), agent(1));
        assert_eq!(viewers.of(conversation(1)), vec![agent(1)]);
        drop(a);
        assert!(viewers.of(conversation(1)).is_empty());
        assert_eq!(viewers.of(conversation(2)), vec![agent(1)]);
    }
}

//! Agents' availability: the status they choose (`online` / `away`) and the presence their
//! connections make (the first connection on this node makes them online, the last one
//! offline, which starts their grace period).

use bellhop_protocol::frames::AgentStatus;
use bellhop_protocol::{AgentId, SiteId};

use super::{Chat, ChatError};
use crate::clock::now_millis;
use crate::events::Event;
use crate::store::Agent;

impl Chat {
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
        self.emit(Event::AgentStatusSet {
            agent: agent.id,
            status,
        });
        if !away {
            for site in &agent.sites {
                self.assigner.kick(*site);
            }
        }
        Ok(())
    }

    /// The agent was deactivated (`keep_sites` `None`) or removed from sites (`keep_sites`:
    /// the ones left): their chats elsewhere go back to the front of their queues at once, as
    /// after the grace period, and their visitors get `notice`.
    pub async fn requeue_agent(
        &self,
        agent: AgentId,
        keep_sites: Option<&[SiteId]>,
        notice: &str,
    ) -> Result<(), ChatError> {
        let requeued = self
            .store
            .requeue_agent(agent, keep_sites, now_millis(), notice)
            .await?;
        self.announce_requeued(requeued, "re-queued: the agent was deactivated or removed");
        Ok(())
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
            self.emit(Event::AgentPresence {
                agent: agent.id,
                online: true,
            });
            for site in &agent.sites {
                self.assigner.kick(*site);
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
            self.emit(Event::AgentPresence {
                agent,
                online: false,
            });
        }
    }
}

//! The in-process bus: one node, no network. Publishing fans the event out to the hub at once,
//! then offers it to subscribers.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::Bus;
use crate::events::{Event, fan_out};
use crate::hub::Hub;

/// Events kept for a subscriber that is momentarily behind.
const SUBSCRIBER_BACKLOG: usize = 4096;

pub struct LocalBus {
    hub: Hub,
    subscribers: broadcast::Sender<Arc<Event>>,
}

impl LocalBus {
    pub fn new(hub: Hub) -> Self {
        let (subscribers, _) = broadcast::channel(SUBSCRIBER_BACKLOG);
        Self { hub, subscribers }
    }
}

impl Bus for LocalBus {
    fn publish(&self, event: Event) {
        self.hub.publish_all(fan_out(&event));
        if self.subscribers.receiver_count() > 0 {
            // No subscriber is fine.
            let _ = self.subscribers.send(Arc::new(event));
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.subscribers.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Topic;
    use bellhop_protocol::AgentId;
    use bellhop_protocol::frames::AgentStatus;
    use uuid::Uuid;

    #[tokio::test]
    async fn an_event_reaches_the_hub_and_every_subscriber() {
        let hub = Hub::start(8);
        let bus = LocalBus::new(hub.clone());
        let agent = AgentId::from_uuid(Uuid::now_v7());
        let (_registration, mut outbox) = hub.register(Topic::Agent(agent));
        let mut subscriber = bus.subscribe();
        bus.publish(Event::AgentStatusSet {
            agent,
            status: AgentStatus::Away,
        });
        let delivered = outbox.recv().await.map(|d| d.json.to_string());
        assert_eq!(
            delivered.as_deref(),
            Some(r#"{"type":"agent_status","status":"away"}"#)
        );
        let heard = subscriber.recv().await.ok();
        assert!(matches!(
            heard.as_deref(),
            Some(Event::AgentStatusSet {
                status: AgentStatus::Away,
                ..
            })
        ));
    }
}

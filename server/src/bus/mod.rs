//! The bus carries [`Event`]s from where a change is committed to every node's connections and
//! to in-process subscribers. The database stays the source of truth; the bus only notifies,
//! and a connection that misses a notification catches up from the store by sequence number.
//!
//! [`local::LocalBus`] is the single-node implementation: publishing fans the event out to this
//! node's hub at once. A multi-node implementation (Redis) publishes to the other nodes too,
//! each of which fans out to its own hub with the same [`fan_out`](crate::events::fan_out).

pub mod local;

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::events::Event;

pub trait Bus: Send + Sync + 'static {
    /// Delivers the event to every node's connections (this node's included). Never waits.
    fn publish(&self, event: Event);

    /// Every event published from now on, for in-process subscribers (webhooks, metrics,
    /// reports). A subscriber that falls behind misses events (`RecvError::Lagged`) and should
    /// reread what it needs from the store.
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>>;
}
